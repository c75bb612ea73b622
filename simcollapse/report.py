"""``simcollapse report DIR``: one self-contained HTML page for a run directory.

The page holds every figure of ``simcollapse plot`` (inline, base64 PNG), the resolved config, the provenance
recorded with the run, and a table of the statistics at chosen generations, in the order of the overview figure:
for each statistic s the mean over C chains ± its standard error SE = sd/√C (sd with ddof 1), the theory value
E_s where a closed form is known, and the difference z = (mean − theory)/SE in SE units (|z| ≲ 2 for most rows
when the simulation matches the theory; SE 0 and no z where all chains agree, as at generation 0; chains whose
value is not finite are left out and counted). Numbers have four significant digits, SEs two.

``report DIR`` on a directory of runs (a ``reproduce`` or ``sweep`` output) writes each run's ``report.html`` and
an ``index.html`` linking them.
"""

from __future__ import annotations

import base64
import html
import json
import tempfile
from pathlib import Path

import numpy as np

from .cli import add_command
from .config import ConfigError

DEFAULT_ROWS = 5
SPREAD_TOL = 1e-9  # an SE below this (relative) is rounding among identical chains, e.g. the truth at generation 0


def default_generations(generation: np.ndarray, count: int = DEFAULT_ROWS) -> list[int]:
    """`count` recorded generations spread evenly over the run, the first and the last included."""
    picks = np.unique(np.round(np.linspace(0, len(generation) - 1, count)).astype(int))
    return [int(generation[i]) for i in picks]


def comparison_rows(run: dict, at: list[int]) -> list[dict]:
    """One row per (statistic, generation), statistics in the overview figure's order: mean ± SE over chains, the
    theory (NaN where no closed form is known) and z. SE is 0 where every chain agrees up to rounding (there is no
    z then), NaN for a single chain."""
    from .plots import scalar_statistics

    generation = np.asarray(run["generation"])
    index = {int(g): i for i, g in enumerate(generation)}
    missing = [g for g in at if g not in index]
    if missing:
        raise ConfigError("--at", f"generations {missing} were not recorded; recorded: {_ranges(generation)}")
    rows = []
    for name in scalar_statistics(run):
        values = run["stats"][name]
        expected = run["theory"].get(f"E_{name}")
        curve = expected if expected is not None and np.ndim(expected) == 1 else None
        for g in at:
            column = values[index[g]]
            if run["config"].summary:  # stored (mean, sd, q10, q50, q90) over every chain
                mean, sd, n, left_out = column[0], column[1], run["config"].chains, 0
            else:
                finite = column[np.isfinite(column)]
                n, left_out = finite.size, column.size - finite.size
                mean = finite.mean() if n else np.nan
                sd = finite.std(ddof=1) if n > 1 else np.nan
            se = sd / np.sqrt(n) if n > 1 else np.nan
            theory = float(curve[g]) if curve is not None else np.nan
            if se <= SPREAD_TOL * max(1.0, abs(theory) if np.isfinite(theory) else abs(mean)):
                se = 0.0  # rounding among identical chains, not a spread
            z = (mean - theory) / se if se > 0 else np.nan
            rows.append({"statistic": name, "generation": g, "mean": mean, "se": se, "theory": theory, "z": z,
                         "chains": n, "left_out": left_out})
    return rows


def _ranges(generation: np.ndarray) -> str:
    step = int(generation[1] - generation[0]) if len(generation) > 1 else 1
    return f"{int(generation[0])} to {int(generation[-1])} every {step}"


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def format_number(value: float, digits: int = 4) -> str:
    """`value` to `digits` significant digits: positional from 10⁻³ to below 10⁶ (``1976``, ``0.01235``,
    ``123,457``), else as ``1.976 × 10⁶``; ``0`` for zero and ``—`` for NaN or ±inf."""
    value = float(value)
    if not np.isfinite(value):
        return "—"
    if value == 0:
        return "0"
    exponent = int(np.floor(np.log10(abs(value))))
    mantissa = round(value / 10.0**exponent, digits - 1)
    if abs(mantissa) >= 10:  # 9.9996 rounds up to 10.00
        exponent, mantissa = exponent + 1, mantissa / 10
    if -3 <= exponent < 6:
        return f"{value:,.{max(0, digits - 1 - exponent)}f}"
    return f"{mantissa:.{digits - 1}f} × 10{str(exponent).translate(_SUPERSCRIPT)}"


def _figures(run: dict) -> list[tuple[str, str]]:
    """(file name, base64 PNG) of every figure `simcollapse.plots.plot_run` draws for the run."""
    from .plots import plot_run

    with tempfile.TemporaryDirectory() as tmp:
        paths = plot_run(run, tmp)
        return [(p.name, base64.b64encode(p.read_bytes()).decode("ascii")) for p in paths]


def _table(header: list[str], body: list[list[str]], numeric_from: int = 1) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    lines = []
    for row in body:
        cells = "".join(
            f'<td class="num">{html.escape(c)}</td>' if i >= numeric_from else f"<td>{html.escape(c)}</td>"
            for i, c in enumerate(row)
        )
        lines.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(lines)}</tbody></table>"


_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 72rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
table { border-collapse: collapse; font-size: 0.85rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1rem 0; } img { max-width: 100%; height: auto; }
figcaption, .note { font-size: 0.8rem; color: #555; }
pre { background: #f6f6f6; padding: 0.75rem; overflow-x: auto; font-size: 0.8rem; }
"""


def render(run_dir, at: list[int] | None = None) -> str:
    """The report of the run directory `run_dir` as one HTML string (figures inline)."""
    from .core import results

    run_dir = Path(run_dir)
    run = results.load(run_dir)
    provenance = json.loads((run_dir / "config.json").read_text()).get("_provenance", {})
    config = run["config"]
    at = default_generations(run["generation"]) if at is None else at
    rows = comparison_rows(run, at)
    esc = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>simcollapse report: {esc(config.family)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>simcollapse run: {esc(config.family)}</h1>",
        f'<p class="note">Run directory {esc(run_dir.name)}: {config.chains} chain{"s" * (config.chains != 1)} × '
        f"{config.generations} generations, seed {config.seed}.</p>",
        "<h2>Simulation against theory</h2>",
    ]
    if rows:
        known = any(np.isfinite(r["theory"]) for r in rows)
        parts.append(
            '<p class="note">Mean over chains ± its standard error (sd/√chains; 0 where every chain agrees), the '
            "closed-form expectation from simcollapse.theory (— where none is known), and their difference in "
            f"standard errors; four significant digits.{'' if known else ' No closed form is known for this configuration.'}</p>"
        )
        body = [
            [r["statistic"], str(r["generation"]), format_number(r["mean"]), format_number(r["se"], 2),
             format_number(r["theory"]), "—" if not np.isfinite(r["z"]) else f"{r['z']:+.2f}",
             str(r["chains"]) + (f" ({r['left_out']} not finite)" if r["left_out"] else "")]
            for r in rows
        ]
        parts.append(_table(["statistic", "generation", "mean", "SE", "theory", "(mean − theory)/SE", "chains"],
                            body, numeric_from=1))
    else:
        parts.append('<p class="note">The run records no statistic with one value per chain.</p>')
    missing = [n for n, v in sorted(run["stats"].items()) if v.ndim == 2 and np.ndim(run["theory"].get(f"E_{n}")) != 1]
    if rows and missing and any(np.isfinite(r["theory"]) for r in rows):
        parts.append(f'<p class="note">No closed form for {esc(", ".join(missing))} in this configuration.</p>')
    parts.append("<h2>Figures</h2>")
    for name, data in _figures(run):
        parts.append(f'<figure><img src="data:image/png;base64,{data}" alt="{esc(name)}">'
                     f"<figcaption>{esc(name)}</figcaption></figure>")
    parts.append("<h2>Configuration</h2>")
    parts.append(f"<pre>{esc(json.dumps(config.to_dict(), indent=2, ensure_ascii=False, default=str))}</pre>")
    parts.append("<h2>Provenance</h2>")
    parts.append(_table(["component", "version"], [[str(k), str(v)] for k, v in provenance.items()], numeric_from=2))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def run_directories(directory) -> list[Path]:
    """The run directories directly inside `directory` (those holding a config.json), by name: the runs of a
    ``simcollapse reproduce`` or ``sweep`` output."""
    return sorted(p for p in Path(directory).iterdir() if (p / "config.json").is_file())


def render_index(directory, run_dirs: list[Path]) -> str:
    """An HTML page linking the ``report.html`` of each run in `run_dirs` (inside `directory`), with the figures
    (PNG) that lie in `directory` itself, e.g. those of a ``simcollapse reproduce`` experiment."""
    from .core import results

    directory, esc = Path(directory), html.escape
    body = []
    for run_dir in run_dirs:
        config = results.load_config(run_dir)
        link = f'<a href="{esc(run_dir.name)}/report.html">{esc(run_dir.name)}</a>'
        body.append(f"<tr><td>{link}</td><td>{esc(config.family)}</td><td class=\"num\">{config.chains}</td>"
                    f'<td class="num">{config.generations}</td></tr>')
    head = "".join(f"<th>{h}</th>" for h in ("run", "family", "chains", "generations"))
    figures = [f'<figure><img src="{esc(p.name)}" alt="{esc(p.name)}"><figcaption>{esc(p.name)}</figcaption></figure>'
               for p in sorted(directory.glob("*.png"))]
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>simcollapse runs: {esc(directory.name)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>simcollapse runs: {esc(directory.name)}</h1>",
        f'<p class="note">{len(run_dirs)} run directories; each name links to its report.</p>',
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>",
        *(["<h2>Figures</h2>"] + figures if figures else []),
        "</body></html>",
    ]) + "\n"


def cmd_report(args) -> int:
    """write one self-contained HTML page for a run directory

    Write one self-contained HTML page for a run directory: its figures (inline), the resolved config,
    provenance, and simulated against theory values with their standard errors. Given a directory of runs (the
    --out of simcollapse reproduce or sweep), write each run's report.html and an index.html linking them."""
    directory = Path(args.run_dir)
    runs = run_directories(directory) if directory.is_dir() and not (directory / "config.json").exists() else []
    if runs:  # a directory of runs: one report each and an index page
        if args.out:
            raise ConfigError("--out", f"{str(directory)!r} holds several runs: their reports and index.html are "
                                       "written inside it; leave --out out")
        for run_dir in runs:
            (run_dir / "report.html").write_text(render(run_dir, args.at), encoding="utf-8")
            print(f"wrote {run_dir / 'report.html'}")
        (directory / "index.html").write_text(render_index(directory, runs), encoding="utf-8")
        print(f"wrote {directory / 'index.html'}")
        return 0
    out = Path(args.out) if args.out else directory / "report.html"
    if out.is_dir():
        raise ConfigError("--out", f"{str(out)!r} is a directory; give a file name")
    page = render(directory, args.at)
    out.write_text(page, encoding="utf-8")
    print(f"wrote {out}")
    return 0


def add_parser(subparsers) -> None:
    parser = add_command(subparsers, cmd_report)
    parser.add_argument("run_dir", help="a run directory (the --out of simcollapse run), or a directory of them")
    parser.add_argument("--out", default=None, help="HTML file to write (default: RUN_DIR/report.html)")
    parser.add_argument("--at", type=int, nargs="+", default=None, metavar="G",
                        help="recorded generations to tabulate (default: five spread over the run)")
