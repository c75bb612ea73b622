"""The documentation site builds with ``mkdocs build --strict`` (broken links or missing images fail it), every
family has a page, and the CLI reference holds every subcommand's help."""

import html
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mkdocs")

from simcollapse import families
from simcollapse.cli import NEURAL, build_parser
from simcollapse.keys import family_keys

ROOT = Path(__file__).resolve().parents[1]


def _build(root: Path, site: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
                          cwd=root, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    site = tmp_path_factory.mktemp("site")
    done = _build(ROOT, site)
    assert done.returncode == 0, done.stderr[-3000:]
    return site


def test_every_family_has_a_page(site):
    # a family's page is in docs/families, or (the example of the guide) is the guide to adding a family
    docs = ROOT / "docs"
    headings = {path.relative_to(docs): path.read_text(encoding="utf-8").splitlines()[0]
                for path in [*docs.glob("families/*.md"), docs / "adding-a-family.md"]}
    for name in families.names() + list(NEURAL):
        pages = [page for page, heading in headings.items() if heading.startswith("# ") and f"`{name}`" in heading]
        assert pages, f"no docs/families page has `{name}` in its title"
        assert (site / pages[0].with_suffix("") / "index.html").is_file()


def test_cli_reference_holds_every_subcommand(site):
    page = (site / "cli" / "index.html").read_text(encoding="utf-8")
    commands = next(a for a in build_parser()._actions if a.dest == "command").choices
    assert len(commands) >= 5
    for name, parser in commands.items():
        assert f"simcollapse {name}" in page
        for action in parser._actions:
            if action.help and action.help != "==SUPPRESS==":
                assert action.option_strings[0] in page if action.option_strings else action.dest in page
    for name in families.names() + list(NEURAL):  # the config keys, generated from the config classes
        assert f"config keys of {name}" in page
        for key in family_keys(name):
            assert f"  {key.name} ({html.escape(key.type)}, default" in page, (name, key.name)


def test_broken_link_fails_the_build(tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(ROOT / "docs", copy / "docs")
    shutil.copy(ROOT / "mkdocs.yml", copy / "mkdocs.yml")
    with open(copy / "docs" / "index.md", "a", encoding="utf-8") as page:
        page.write("\n![a figure that is not there](figures/missing.png)\n")
    done = _build(copy, tmp_path / "site")
    assert done.returncode != 0 and "missing.png" in done.stderr
