"""docs/theory.md holds every closed form the code cites: each ``docs/theory.md §X`` (and every bare ``§X.n``
section reference) in the code, tests and docs names a section of the file, each docs link ``theory.md#X`` an
anchor, and no citation of the former external notes (``theory.md §B.n``, "theory notes B.n") is left."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
THEORY = ROOT / "docs" / "theory.md"
SECTION = r"[A-Z](?:\.\d+)?"
# ## G Title {#G}  or  ### G.1 Title {#G.1}: the number and the anchor agree
HEADING = re.compile(rf"^(#{{2,3}}) ({SECTION}) .+ \{{#({SECTION})\}}$")
OLD_FORMS = re.compile(r"theory\.md §B|§B\.\d|theory notes|\(B\.\d|\bB\.\d+\b")


def _sections() -> set[str]:
    found = set()
    for line in THEORY.read_text(encoding="utf-8").splitlines():
        if line.startswith("## ") or line.startswith("### "):
            match = HEADING.match(line)
            assert match, f"theory.md heading without a section number and anchor: {line!r}"
            level, number, anchor = match.groups()
            assert number == anchor and ("." in number) == (level == "###"), line
            assert number not in found, f"section {number} appears twice"
            found.add(number)
    return found


def _files():
    for pattern in ("simcollapse/**/*.py", "tests/**/*.py", "docs/**/*.md", "experiments/**/*", "benchmarks/**/*",
                    "README.md"):
        for path in ROOT.glob(pattern):
            if path.is_file() and path.suffix in (".py", ".md", ".toml", ".yml", ".yaml", ".json", ".txt") \
                    and path != Path(__file__).resolve():
                yield path


def test_theory_sections_are_numbered_and_anchored():
    sections = _sections()
    for family in "GWPCNMKLTE":
        assert family in sections
    assert len(sections) > 40


def test_every_cited_section_exists():
    sections = _sections()
    cited = 0
    for path in _files():
        text = path.read_text(encoding="utf-8")
        name = path.relative_to(ROOT)
        for number in re.findall(rf"§({SECTION})\b", text):
            assert number in sections, f"{name} cites §{number}, which docs/theory.md does not have"
            cited += 1
        for anchor in re.findall(rf"theory\.md#({SECTION})\b", text):
            assert anchor in sections, f"{name} links theory.md#{anchor}, which is not an anchor"
    assert cited > 60


def test_code_cites_the_project_document():
    """Citations in code and tests name the file: ``docs/theory.md §X``."""
    for path in _files():
        if path.suffix != ".py":
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if "theory.md" in line:
                assert "docs/theory.md" in line, f"{path.relative_to(ROOT)}: {line.strip()}"


def test_no_citation_of_the_old_form_remains():
    for path in _files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            assert not OLD_FORMS.search(line), f"{path.relative_to(ROOT)}:{number}: {line.strip()}"


def test_the_checks_can_fail(tmp_path):
    assert OLD_FORMS.search("closed forms (theory.md §B.3)") and OLD_FORMS.search("(theory notes B.5)")
    assert not HEADING.match("### G.1 The transition")  # no anchor
    assert "Z.9" not in _sections()
