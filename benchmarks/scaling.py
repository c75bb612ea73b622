"""Scaling curves: time against the number of chains, of generations and of samples per generation M.

    python -m benchmarks.scaling            # measure and print the table
    python -m benchmarks.scaling --write    # also draw docs/figures/scaling.png and put the table in docs/benchmarks.md

Each point is a fresh config, so its first `simulate` call compiles. Compile time is what JAX itself reports
for that call (its tracing, lowering and XLA compilation events, `jax.monitoring`); run time is the median of the
repeated calls (one repeat when the first call takes over 10 s). The 1-D Gaussian chain, one recorded generation:

* chains 10² … 10⁶ (sufficient sampler, M = 100, 20 generations);
* generations 10 … 3000 (sufficient sampler, M = 100, 10⁴ chains);
* M 10 … 10⁴ (exact sampler: M normals per chain and generation, 10³ chains, 20 generations).
"""

from __future__ import annotations

import argparse
import collections
import statistics
import sys
import time
from pathlib import Path

import jax

from simcollapse.api import make_config, simulate

ROOT = Path(__file__).resolve().parent.parent
FIGURE = ROOT / "docs" / "figures" / "scaling.png"
REPORT = ROOT / "docs" / "benchmarks.md"
SECTION = "## Scaling"
SLOW_RUN_S = 10.0
COMPILE_EVENTS = ("/jax/core/compile/jaxpr_trace_duration", "/jax/core/compile/jaxpr_to_mlir_module_duration",
                  "/jax/core/compile/backend_compile_duration")
compile_events = collections.Counter()
jax.monitoring.register_event_duration_secs_listener(
    lambda event, seconds, **_: compile_events.update({event: seconds}) if event in COMPILE_EVENTS else None)

# (axis, config field varied, values, fixed fields)
CURVES = [
    ("chains", "chains", [100, 1_000, 10_000, 100_000, 1_000_000],
     dict(sampler="sufficient", n_samples=100, generations=20)),
    ("generations", "generations", [10, 100, 1_000, 3_000],
     dict(sampler="sufficient", n_samples=100, chains=10_000)),
    ("M (exact sampler)", "n_samples", [10, 100, 1_000, 10_000],
     dict(sampler="exact", chains=1_000, generations=20)),
]


def time_point(config, repeats: int) -> tuple[float, float]:
    """(compile seconds of the first `simulate` call, median seconds of the repeated calls)."""
    compile_events.clear()
    start = time.perf_counter()
    simulate(config)
    first = time.perf_counter() - start
    compile_s = sum(compile_events.values())
    runs = []
    for _ in range(repeats if first < SLOW_RUN_S else 1):
        start = time.perf_counter()
        simulate(config)
        runs.append(time.perf_counter() - start)
    return compile_s, statistics.median(runs)


def measure(quick: bool, repeats: int) -> list[dict]:
    rows = []
    for axis, field, values, fixed in CURVES:
        for value in values[:-1] if quick else values:
            fields = {**fixed, field: value}
            config = make_config("gaussian", **fields, record_every=fields["generations"], metrics=["logvar"])
            compile_s, run_s = time_point(config, repeats)
            chain_gens = config.chains * config.generations
            rows.append(dict(axis=axis, value=value, compile=compile_s, run=run_s, per=run_s / chain_gens))
            print(f"  {axis} = {value:,}: compile {compile_s:.2f} s, run {run_s:.3f} s "
                  f"({run_s / chain_gens * 1e9:.0f} ns per chain-generation)", file=sys.stderr, flush=True)
    return rows


def crossover(rows: list[dict], axis: str):
    """The first value along `axis` whose run time exceeds its compile time (None if none does)."""
    return next((r["value"] for r in rows if r["axis"] == axis and r["run"] > r["compile"]), None)


def table(rows: list[dict], repeats: int) -> str:
    lines = [SECTION, "",
             "Produced by `python -m benchmarks.scaling --write` (the 1-D Gaussian chain, one recorded generation; "
             "compile time as JAX reports it for the first call, run time the median of up to "
             f"{repeats} further calls; see `benchmarks/scaling.py`). "
             "Every point is a new config, so it compiles once: below the crossover the first call is mostly "
             "JIT compilation, above it the run itself dominates.", "",
             "![time against chains, generations and M, log–log](figures/scaling.png)", "",
             "| axis | value | compile (s) | run (s) | run per chain-generation |", "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['axis']} | {r['value']:,} | {r['compile']:.2f} | {r['run']:.3f} | "
                     f"{r['per'] * 1e9:.0f} ns |")
    lines.append("")
    for axis, field, _, fixed in CURVES:
        at = crossover(rows, axis)
        fixed_text = ", ".join(f"{k}={v:,}" if isinstance(v, int) else f"{k}={v}" for k, v in fixed.items())
        where = f"from {field} = {at:,} on" if at is not None else "at none of the sizes measured"
        lines.append(f"* {axis} ({fixed_text}): run time exceeds compile time {where}.")
    return "\n".join(lines) + "\n"


def draw(rows: list[dict], path: Path) -> None:
    import matplotlib.pyplot as plt

    from simcollapse.plots import style

    with style():
        fig, axes = plt.subplots(1, len(CURVES), figsize=(10, 3.2))
        for ax, (axis, _, _, fixed) in zip(axes, CURVES, strict=True):
            points = [r for r in rows if r["axis"] == axis]
            x = [r["value"] for r in points]
            ax.loglog(x, [r["run"] for r in points], "o-", label="run")
            ax.loglog(x, [r["compile"] for r in points], "s--", label="compile")
            ax.loglog(x, [r["run"] + r["compile"] for r in points], ":", color="grey", label="first call")
            ax.set_xlabel(axis)
            ax.set_ylabel("seconds")
            ax.set_title(", ".join(f"{k}={v}" for k, v in fixed.items()), fontsize=7.5)
            ax.legend()
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path)
        plt.close(fig)


def replace_section(report: str, section: str) -> str:
    """The report with its scaling section (from SECTION to the end) replaced by, or extended with, `section`."""
    head = report.split(SECTION)[0].rstrip("\n")
    return (head + "\n\n" if head else "") + section


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scaling", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="leave out the largest size of each curve")
    parser.add_argument("--write", action="store_true", help="draw docs/figures/scaling.png, update docs/benchmarks.md")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per point (at least 3)")
    args = parser.parse_args(argv)
    repeats = max(3, args.repeats)
    rows = measure(args.quick, repeats)
    text = table(rows, repeats)
    print(text)
    if args.write:
        draw(rows, FIGURE)
        old = REPORT.read_text(encoding="utf-8") if REPORT.exists() else ""
        REPORT.write_text(replace_section(old, text), encoding="utf-8")
        print("wrote docs/figures/scaling.png and the scaling section of docs/benchmarks.md", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
