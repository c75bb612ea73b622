"""Output directories of the commands that write runs (``run``, ``reproduce``, ``decompose``, ``sweep``): a
directory that already holds simcollapse results is refused, so a rerun cannot silently replace results and leave
figures and reports of the old run beside the new one. With ``--overwrite`` the old results are removed first:
the files and folders simcollapse writes (``written``), nothing else.

``plot``, ``report`` and ``demo`` write figures and pages derived from a run and replace their own earlier output.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from ..config import ConfigError

# every file name a run, plot, report, reproduce, decompose or sweep writes into its output directory
FILES = frozenset({
    "config.json", "stats.npz", "theory.npz", "checkpoint.npz", "metrics.json", "samples.npz", "report.html",
    "index.html", "sweep.npz", "summary.csv", "decompose.md", "decompose.csv",
})
FIGURES = re.compile(
    r"(overview|gmm_collapse|lm_collapse|vae_collapse|decompose|categorical_(frequencies|diversity|minority_loss)"
    r"|[a-z0-9_]+_(curves|frequencies|snapshots|perplexity|samples))\.(png|pdf)"
)
FOLDERS = re.compile(r"gen_\d+|toy")  # the lm loop's generations and toy world, written whole by it
PARTS = re.compile(r"part-\d+-of-\d+")  # the per-process parts of a multi-host run


def _is_run(path: Path) -> bool:
    """A folder holding results of its own: a run of a reproduce or sweep output, or a part of a multi-host run."""
    return path.is_dir() and any((path / name).exists() for name in ("config.json", "stats.npz", "checkpoint.npz"))


def written(directory, skip_parts: bool = False) -> list[Path]:
    """What simcollapse wrote directly in `directory` (results, figures, run folders; half-written ``.tmp``
    files), by name; `skip_parts` leaves out the parts of a multi-host run."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = []
    for path in sorted(directory.iterdir()):
        name = path.name.removesuffix(".tmp")
        if path.is_dir():
            if PARTS.fullmatch(name) and skip_parts:
                continue
            if FOLDERS.fullmatch(name) or PARTS.fullmatch(name) or _is_run(path):
                found.append(path)
        elif name in FILES or FIGURES.fullmatch(name):
            found.append(path)
    return found


def remove(paths) -> None:
    """Delete files written by simcollapse; in a folder, only what :func:`written` finds (recursively), then the
    folder if that emptied it; the lm loop's own folders whole."""
    for path in paths:
        if path.is_dir() and FOLDERS.fullmatch(path.name):
            shutil.rmtree(path, ignore_errors=True)
        elif path.is_dir():
            remove(written(path))
            if not any(path.iterdir()):
                path.rmdir()
        else:
            path.unlink(missing_ok=True)  # another process of a multi-host run may have removed it first


def claim(out, overwrite: bool = False, skip_parts: bool = False) -> Path:
    """Make `out` a directory ready for a new run: create it, refuse it (ConfigError naming --overwrite) when it
    holds simcollapse results, or with `overwrite` remove those first. Returns `out` as a Path."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError("--out", f"{str(out)!r} exists and is not a directory")
    old = written(out, skip_parts)
    if old and not overwrite:
        interrupted = (out / "checkpoint.npz").exists() and not (out / "stats.npz").exists()
        hint = f"continue it with `simcollapse resume {out}`, or give --overwrite" if interrupted else "give --overwrite"
        names = ", ".join(p.name for p in old[:4]) + (", …" if len(old) > 4 else "")
        raise ConfigError("--out", f"{str(out)!r} already holds results ({names}); {hint} to replace them "
                                   "(their files are removed first), or choose another --out")
    remove(old)
    out.mkdir(parents=True, exist_ok=True)
    return out
