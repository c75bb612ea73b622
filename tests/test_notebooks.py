"""The tutorial notebooks in docs/notebooks: valid, listed in the docs nav, stored with clean outputs, rendered by
the docs hook, and (slow) executed end to end in a fresh kernel, printing what is stored in them."""

import importlib.util
import shutil
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "docs" / "notebooks").glob("*.ipynb"))


def _hook():
    spec = importlib.util.spec_from_file_location("notebooks_hook", ROOT / "docs" / "hooks" / "notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _printed(notebook) -> list[str]:
    return ["".join(o["text"]) for cell in notebook.cells if cell.cell_type == "code"
            for o in cell.outputs if o["output_type"] == "stream" and o["name"] == "stdout"]


def test_every_notebook_is_valid_listed_in_the_nav_and_stored_with_clean_outputs():
    assert len(NOTEBOOKS) >= 2
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
        assert f"notebooks/{path.stem}.md" in nav, f"{path.name} is not in the docs nav"
        code = [cell for cell in notebook.cells if cell.cell_type == "code"]
        assert code and all(cell.execution_count is not None for cell in code), f"{path.name} is stored unexecuted"
        assert not any(o["output_type"] == "error" for cell in code for o in cell.outputs), path.name
        assert notebook.cells[0].source.startswith("# "), "the first cell is the page title"


def test_hook_renders_cells_and_outputs_and_refuses_a_stored_error():
    hook = _hook()
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Title\n\nSome text."),
        nbformat.v4.new_code_cell("print(1)", outputs=[nbformat.v4.new_output("stream", name="stdout", text="1\n")]),
        nbformat.v4.new_code_cell("x", outputs=[nbformat.v4.new_output(
            "execute_result", data={"text/plain": "2", "image/png": "iVBOR"}, execution_count=2)]),
    ])
    page = hook.to_markdown(notebook, "demo.ipynb")
    assert page.startswith("# Title\n\n*A notebook: [download demo.ipynb](demo.ipynb)")
    assert "```python\nprint(1)\n```\n\n```text\n1\n```" in page
    assert "![figure](data:image/png;base64,iVBOR)" in page and "```text\n2" not in page  # the figure wins
    notebook.cells[1].outputs = [nbformat.v4.new_output("error", ename="ValueError", evalue="x", traceback=[])]
    with pytest.raises(ValueError, match="error output"):
        hook.to_markdown(notebook, "demo.ipynb")


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_end_to_end_and_prints_what_it_stores(path, tmp_path):
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    copy = tmp_path / path.name
    shutil.copy(path, copy)
    stored = nbformat.read(copy, as_version=4)
    fresh = nbformat.read(copy, as_version=4)
    nbclient.NotebookClient(fresh, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert _printed(fresh) == _printed(stored), "the stored outputs are stale: run python docs/hooks/notebooks.py"
