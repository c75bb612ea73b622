"""One self-contained HTML page per classroom demo: the markup, style and scripts of this package inlined into
``page.html``, so the file works offline (from a USB stick) in any browser. Nothing in it is fetched.

Each page's body (``cats.html``, ``gaussian.html``) holds its own controls and canvases, and ``{{playback}}``
where the controls both pages share go (``playback.html``: the real fraction, the generation slider, play/step
buttons, speed, curves' horizon, seed, the link to the state and the keys)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

PAGES = {
    "cats": {
        "title": "Model collapse with cats",
        "real": "cats",
        "scripts": ("numeric.js", "random.js", "wright_fisher.js", "ui.js", "cats.js"),
    },
    "gaussian": {
        "title": "Model collapse of a bell curve",
        "real": "points",
        "scripts": ("numeric.js", "random.js", "gaussian_theory.js", "ui.js", "gaussian.js"),
    },
}


def source(name: str) -> str:
    """The text of one of this package's page sources (``numeric.js``, ``style.css``, …)."""
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def inline_scripts(names) -> str:
    """``<script>`` elements holding the named sources, in order."""
    blocks = []
    for name in names:
        text = source(name)
        if "</script" in text.lower():
            raise ValueError(f"{name} holds '</script', which would end its inline element")
        blocks.append(f"<script>\n{text}</script>")
    return "\n".join(blocks)


def render(name: str) -> str:
    """The page ``name`` (``cats`` or ``gaussian``) as one HTML string."""
    page = PAGES[name]
    parts = {
        "title": page["title"],
        "style": source("style.css"),
        "body": source(f"{name}.html").replace("{{playback}}", source("playback.html").replace("{{real}}", page["real"])),
        "scripts": inline_scripts(page["scripts"]),
    }
    html = source("page.html")
    for key, value in parts.items():
        html = html.replace("{{" + key + "}}", value)
    return html


def write(name: str, out) -> Path:
    """Write the page to ``out`` (under a temporary name, then renamed) and return its path."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    partial.write_text(render(name), encoding="utf-8")
    partial.replace(out)
    return out
