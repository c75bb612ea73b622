"""Time simcollapse and hand-written baselines side by side in one run, and print the ratios.

    python -m benchmarks                    # full sizes (the lead's run, on a quiet machine)
    python -m benchmarks --quick            # shrunk sizes (a few minutes on 2 cores)
    python -m benchmarks --write            # also write the report to docs/benchmarks.md
    python -m benchmarks --quick --write --report copy.md      # write (and compare with) another file
    python -m benchmarks --only cli families                  # some sections only

Three kinds of rows: in-process comparisons of the Gaussian, GMM and Zipf chains against baselines
(`core`), every family against a plain numpy chain (`families`), and the CLI's wall time as a user runs it,
in new processes (`wall`). In-process sides are warmed first (simcollapse compiled, baselines imported) and
their runs interleaved (A, B, A, B, …) so that both meet the same load on a shared machine; the CLI rows
interleave whole processes the same way. Ratios are what matter: absolute numbers on a shared machine are noisy.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import core, families, report, wall
from .scaling import SECTION as SCALING_SECTION
from .scaling import replace_section
from .timing import Bench

REPORT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
SECTIONS = ("core", "families", "cli")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shrunk sizes: the whole run takes a few minutes")
    parser.add_argument("--write", action="store_true", help="write the report (to --report)")
    parser.add_argument("--report", type=Path, default=REPORT,
                        help="the report to read the previous values from and to write (default docs/benchmarks.md)")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats per measurement (at least 3)")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=SECTIONS, help="measure only these sections")
    args = parser.parse_args(argv)
    repeats = max(3, args.repeats)
    start = time.perf_counter()
    bench, notes, walls = Bench(repeats), {}, {}
    if "core" in args.only:
        print("in-process comparisons:", file=sys.stderr)
        notes |= core.measure(bench, args.quick)
    if "families" in args.only:
        print("every family against numpy:", file=sys.stderr)
        families.measure(bench, args.quick)
    if "cli" in args.only:
        print("CLI wall time:", file=sys.stderr)
        walls = wall.measure(args.quick, repeats)
    notes["state_bytes"] = report.state_bytes()
    old = args.report.read_text(encoding="utf-8") if args.report.exists() else ""
    text = report.report(bench, walls, notes, args.quick, repeats,
                         report.previous_ratios(old.split(SCALING_SECTION)[0]), report.previous_quick(old))
    print(text)
    print(f"(total {time.perf_counter() - start:.0f} s)", file=sys.stderr)
    if args.write:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        # the scaling section (python -m benchmarks.scaling --write) is kept
        scaling = old[old.index(SCALING_SECTION):] if SCALING_SECTION in old else ""
        args.report.write_text(replace_section(text, scaling) if scaling else text, encoding="utf-8")
        print(f"wrote {args.report}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
