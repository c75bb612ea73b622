"""MkDocs hook: every notebook under ``docs/notebooks/`` becomes a page of the site, with the outputs stored in it.

``notebooks/NAME.ipynb`` is rendered as the page ``notebooks/NAME.md`` (markdown cells as they are, code cells as
Python blocks, text outputs as text blocks, figures inline as PNG data); the notebook itself is kept beside it for
download. A stored error output fails the build. The notebooks are stored with their outputs so that the site
shows them without running anything; the test suite executes them afresh (``tests/test_notebooks.py``).

To refresh the stored outputs after editing a notebook::

    python docs/hooks/notebooks.py          # executes every notebook in place (needs the test extra)
"""

from __future__ import annotations

from pathlib import Path

NOTEBOOKS = "notebooks/"


def _fence(language: str, text: str) -> str:
    return f"```{language}\n{text.rstrip()}\n```"


def _output(output: dict, name: str) -> str:
    kind = output["output_type"]
    if kind == "stream":
        return _fence("text", "".join(output["text"]))
    if kind == "error":
        raise ValueError(f"{name} holds an error output ({output['ename']}): run it again before building the docs")
    data = output.get("data", {})
    if "image/png" in data:
        png = "".join(data["image/png"]).replace("\n", "")
        return f"![figure](data:image/png;base64,{png})"
    if "text/plain" in data:
        return _fence("text", "".join(data["text/plain"]))
    return ""


def to_markdown(notebook: dict, name: str) -> str:
    """The notebook as one markdown page: its cells in order, each code cell followed by its stored outputs."""
    blocks = []
    for cell in notebook["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            blocks.append(source)
        elif cell["cell_type"] == "code":
            blocks.append(_fence("python", source))
            blocks.extend(filter(None, (_output(o, name) for o in cell.get("outputs", []))))
    if blocks and blocks[0].startswith("# "):  # the notebook's title, then where to get it
        title, _, rest = blocks[0].partition("\n")
        blocks[0] = title + f"\n\n*A notebook: [download {name}]({name}); the outputs shown were stored when it was last run.*\n" + rest
    return "\n\n".join(blocks) + "\n"


def on_files(files, config, **kwargs):
    import json

    from mkdocs.structure.files import File

    for file in list(files):
        if file.src_uri.startswith(NOTEBOOKS) and file.src_uri.endswith(".ipynb"):
            notebook = json.loads(Path(file.abs_src_path).read_text(encoding="utf-8"))
            name = Path(file.src_uri).name
            page = file.src_uri[: -len(".ipynb")] + ".md"
            files.append(File.generated(config, page, content=to_markdown(notebook, name)))
    return files


def execute_all(directory: Path) -> None:
    """Run every notebook in `directory` in a fresh kernel and store its outputs in place."""
    import nbclient
    import nbformat

    for path in sorted(directory.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3", record_timing=False,
                                resources={"metadata": {"path": str(directory)}}).execute()
        nbformat.write(notebook, path)
        print(f"executed {path}")


if __name__ == "__main__":
    execute_all(Path(__file__).resolve().parents[1] / NOTEBOOKS)
