"""MkDocs hook: the CLI reference page is generated from ``simcollapse.cli.build_parser()``.

``docs/cli.md`` holds the marker ``<!-- cli-reference -->``; at build time it is replaced by the help text of
the ``simcollapse`` parser and of every subcommand, then by every family's config keys (``simcollapse.keys``,
what ``simcollapse run FAMILY --help`` prints), so the reference is never written twice. The gallery page
joins the nav when ``docs/gallery.md`` exists.
"""

from __future__ import annotations

import argparse
from pathlib import Path

MARKER = "<!-- cli-reference -->"
WIDTH = 100


def _formatter(prog):
    return argparse.HelpFormatter(prog, width=WIDTH)


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def reference() -> str:
    """Markdown: the top-level help, then one section per subcommand with its full help."""
    from simcollapse import families
    from simcollapse.cli import build_parser
    from simcollapse.keys import describe
    from simcollapse.neural import NEURAL

    parser = build_parser()
    sections = [_help_block(parser)]
    for name, sub in _subcommands(parser).items():
        sections.append(f"## `simcollapse {name}`\n\n{_help_block(sub)}")
    sections.append("## Config keys\n\nThe `--set KEY=VALUE` keys of each family, with their types, defaults and "
                    "allowed values, as `simcollapse run FAMILY --help` prints them.")
    for family in families.names() + list(NEURAL):
        sections.append(f"### `{family}`\n\n```text\n{describe(family, WIDTH)}\n```")
    return "\n\n".join(sections) + "\n"


def _help_block(parser: argparse.ArgumentParser) -> str:
    parser.formatter_class = _formatter
    return "```text\n" + parser.format_help().rstrip() + "\n```"


def on_config(config, **kwargs):
    docs = Path(config["docs_dir"])
    if (docs / "gallery.md").is_file() and "gallery.md" not in str(config["nav"]):
        config["nav"].insert(len(config["nav"]) - 1, {"Gallery": "gallery.md"})
    return config


def on_page_markdown(markdown: str, page, **kwargs) -> str:
    if page.file.src_uri == "cli.md":
        if MARKER not in markdown:
            raise ValueError(f"docs/cli.md must contain {MARKER}")
        return markdown.replace(MARKER, reference())
    return markdown
