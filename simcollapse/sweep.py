"""Sweeps: run every config of a grid (the cartesian product of the ``--grid`` values, and of seeds).

    simcollapse sweep gaussian --grid n_samples=10,100 --grid ddof=0,1 --seeds 3 --set generations=50 --out out/s

Writes, under the output directory:

* ``point_000/``, ``point_001/``, …: one run directory per grid point (config.json, stats.npz, theory.npz),
  exactly what ``simcollapse run`` writes for that config;
* ``sweep.npz``: every statistic stacked on a leading grid axis, shape (points, recorded generations,
  chains, …) (or (points, recorded generations, 5, …) for ``summary=true`` runs; NaN-padded where points record different shapes, e.g. a grid over generations), with the
  labels ``grid_keys``, ``grid_shape`` (values per key, the first key varying slowest), ``grid_values``
  (points × keys, each value as JSON) and ``grid_<key>`` (float, for keys whose values are all numbers),
  ``generation`` (points × records, −1 padded) and the theory curves as ``theory_<name>``;
* ``summary.csv``: per point, the grid values and, for each scalar statistic, the final recorded
  generation's mean over chains, its standard error and the closed-form expectation where there is one.

Points that differ only in the seed and their family's batchable fields (those that change no array shape,
``families.Family.batchable``: gaussian ``ddof``, and ``n_samples`` and ``real_fraction`` unless
``sampler=exact``; categorical ``temperature``, ``min_p``, ``real_fraction``, ``zipf_beta``, ``zipf_q``,
``probs0``) run as one compiled program (`api.simulate_batch`): the grid axis is folded into the chain axis,
point g's chain j in lane g·chains + j with that point's key fold_in(key(seed), j), reading the point's values
as traced parameters. The other points loop, one program each (``--no-batch`` loops over every point). Either
way every point is its config's `simulate`, bit for bit.
"""

from __future__ import annotations

import csv
import itertools
import json
import math

import numpy as np

from .cli import add_command, add_overwrite
from .config import ConfigError

SEED_KEY = "seed"


def parse_values(raw: str) -> list:
    """``v1,v2,…``: a JSON array without its brackets (``10,100``, ``[1,2],[3]``), else plain strings."""
    try:
        values = json.loads(f"[{raw}]")
    except json.JSONDecodeError:
        values = [v.strip() for v in raw.split(",")]
    if not values or any(v == "" for v in values):
        raise ConfigError("--grid", f"expected key=v1,v2,…, got values {raw!r}")
    return values


def parse_grid(pairs: list[str]) -> dict[str, list]:
    """``["key=v1,v2", …]`` → {key: [v1, v2]} in the order given."""
    grid = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise ConfigError("--grid", f"expected key=v1,v2,…, got {pair!r}")
        if key in grid:
            raise ConfigError("--grid", f"key {key!r} given twice")
        grid[key] = parse_values(raw)
    return grid


def grid_points(grid: dict[str, list]) -> list[dict]:
    """The cartesian product, first key varying slowest."""
    keys = list(grid)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(grid[k] for k in keys))]


def sweep_configs(family: str, base: dict, grid: dict[str, list], seeds: int | None = None):
    """(full grid with the seed axis if `seeds`, list of validated configs), all built before anything runs."""
    from .api import make_config

    if not grid and not seeds:
        raise ConfigError("--grid", "give at least one --grid key=v1,v2,… (or --seeds N)")
    for key in grid:
        if key in base:
            raise ConfigError("--grid", f"key {key!r} is also given with --set")
    grid = dict(grid)
    if seeds is not None:
        if not isinstance(seeds, int) or seeds < 1:
            raise ConfigError("--seeds", f"must be a positive integer, got {seeds!r}")
        if SEED_KEY in grid:
            raise ConfigError("--seeds", "the grid already has a 'seed' axis")
        first = base.get(SEED_KEY, 0)
        grid[SEED_KEY] = list(range(first, first + seeds))
    configs = []
    for point in grid_points(grid):
        try:
            configs.append(make_config(family, **{**base, **point}))
        except ConfigError as err:
            if err.field in point:  # say which grid key and value are at fault
                raise ConfigError(f"--grid {err.field}", f"value {point[err.field]!r}: {err.message}") from None
            raise
    return grid, configs


def _stack(arrays: list[np.ndarray], fill) -> np.ndarray:
    """Stack on a new leading axis, padding each to the largest shape with `fill`."""
    shape = tuple(max(sizes) for sizes in zip(*(a.shape for a in arrays), strict=True))
    out = np.full((len(arrays),) + shape, fill, dtype=np.result_type(*arrays, type(fill)))
    for i, a in enumerate(arrays):
        out[(i,) + tuple(slice(0, n) for n in a.shape)] = a
    return out


def _numeric(values) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def programs(configs, batch: bool = True) -> list[list[int]]:
    """Indices of the configs run by each compiled program: those with equal `api.batch_key` together when
    `batch`, else one each; in order of first appearance."""
    from .api import batch_key

    if not batch:
        return [[i] for i in range(len(configs))]
    groups: dict[str, list[int]] = {}
    for i, config in enumerate(configs):
        groups.setdefault(batch_key(config), []).append(i)
    return list(groups.values())


def simulate_points(configs, batch: bool = True, progress: bool = False) -> list:
    """The trajectory of every config, batched into as few compiled programs as `programs` allows."""
    from .api import simulate, simulate_batch
    from .core.driver import NonFiniteError

    runs = [None] * len(configs)
    for group in programs(configs, batch):
        if progress:
            print(f"point{'s' * (len(group) > 1)} {','.join(str(i + 1) for i in group)}/{len(configs)}", flush=True)
        try:
            done = simulate_batch([configs[i] for i in group]) if len(group) > 1 else [simulate(configs[group[0]])]
        except NonFiniteError as err:  # name the sweep's point (point_XXX), not the index within its program
            raise NonFiniteError(err.name, err.generation, err.chain, err.value, group[err.point or 0]) from None
        for i, trajectory in zip(group, done, strict=True):
            runs[i] = trajectory
    return runs


def run_sweep(family: str, base: dict, grid: dict[str, list], out, seeds: int | None = None,
              progress: bool = False, batch: bool = True, overwrite: bool = False) -> dict:
    """Run the grid and write the point directories, ``sweep.npz`` and ``summary.csv`` under `out` (refused if it
    holds results, unless `overwrite`: :func:`simcollapse.core.outputs.claim`).

    `batch=False` runs every point as its own program. Returns the arrays written to ``sweep.npz``.
    """
    from .api import theory
    from .core import outputs, results

    grid, configs = sweep_configs(family, base, grid, seeds)
    out = outputs.claim(out, overwrite)
    keys = list(grid)
    points = grid_points(grid)
    runs = simulate_points(configs, batch, progress)
    curves = [theory(config) for config in configs]
    for i, (config, trajectory, expected) in enumerate(zip(configs, runs, curves, strict=True)):
        results.save(out / f"point_{i:03d}", config, trajectory, expected)

    stacked = {
        "grid_keys": np.asarray(keys),
        "grid_shape": np.asarray([len(grid[k]) for k in keys]),
        "grid_values": np.asarray([[json.dumps(p[k]) for k in keys] for p in points]),
        "generation": _stack([r.generation for r in runs], -1),
    }
    for k in keys:
        if _numeric(grid[k]):
            stacked[f"grid_{k}"] = np.asarray([p[k] for p in points], dtype=float)
    for name in runs[0].stats:
        stacked[name] = _stack([np.asarray(r.stats[name], dtype=float) for r in runs], np.nan)
    for name in set().union(*curves):
        if all(name in c for c in curves):
            stacked[f"theory_{name}"] = _stack([np.asarray(c[name], dtype=float) for c in curves], np.nan)
    results.atomic_write(out / "sweep.npz", lambda f: np.savez(f, **stacked))
    write_summary(out / "summary.csv", keys, points, configs, runs, curves)
    return stacked


def final_mean_se(final: np.ndarray, config) -> tuple[float, float]:
    """Mean over chains and its standard error, from one generation's per-chain values (chains,) or, for a
    ``summary=true`` run, from its stored (mean, sd, …) row."""
    if getattr(config, "summary", False):
        return float(final[0]), float(final[1]) / math.sqrt(config.chains)
    finite = final[np.isfinite(final)]  # e.g. an infinite KL once a type is lost
    n = finite.size
    return (finite.mean() if n else math.nan), (finite.std(ddof=1) / math.sqrt(n) if n > 1 else math.nan)


def summary_rows(keys, points, configs, runs, curves) -> list[dict]:
    """Final recorded generation of each scalar statistic: mean over chains, standard error, theory."""
    rows = []
    for point, config, run, expected in zip(points, configs, runs, curves, strict=True):
        row = {k: json.dumps(point[k]) for k in keys}
        last = int(run.generation[-1])
        row["generation"] = last
        for name, values in run.stats.items():
            final = np.asarray(values[-1], dtype=float)
            if final.ndim != 1:
                continue  # vectors and matrices per chain stay in sweep.npz
            row[f"{name}_mean"], row[f"{name}_se"] = final_mean_se(final, config)
            curve = expected.get(f"E_{name}")
            row[f"{name}_theory"] = float(np.asarray(curve)[last]) if curve is not None and np.ndim(curve) == 1 else ""
        rows.append(row)
    return rows


def write_summary(path, keys, points, configs, runs, curves) -> None:
    rows = summary_rows(keys, points, configs, runs, curves)
    fields = list(dict.fromkeys(f for row in rows for f in row))
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, restval="")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})


def cmd_sweep(args) -> int:
    """run a grid of configs (cartesian product, and seeds); one run directory per point plus sweep.npz

    Run every combination of the --grid values (first key varying slowest), each point as `simcollapse run`
    would, then stack the statistics with a labelled grid axis in sweep.npz and write summary.csv (final-
    generation mean, standard error and theory per point). Points that differ only in the seed and in fields
    that change no array shape (e.g. ddof, temperature) run as one compiled program."""
    from . import families
    from .cli import parse_sets

    if args.family not in families.names():
        raise ConfigError("family", f"sweeps run the chain families {', '.join(families.names())}")
    stacked = run_sweep(args.family, parse_sets(args.set), parse_grid(args.grid), args.out, seeds=args.seeds,
                        progress=not args.quiet, batch=not args.no_batch, overwrite=args.overwrite)
    points = len(stacked["grid_values"])
    print(f"wrote {points} runs, sweep.npz and summary.csv to {args.out}")
    return 0


def add_parser(subparsers) -> None:
    parser = add_command(subparsers, cmd_sweep)
    parser.add_argument("family", help="model family (a chain family: see `simcollapse run --help`)")
    parser.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2,…",
                        help="a config field and its values (JSON each, e.g. n_samples=10,100 or policy=replace,accumulate)")
    parser.add_argument("--seeds", type=int, default=None, metavar="N",
                        help="also run seeds s, s+1, …, s+N−1 (s from --set seed, default 0) as the last grid axis")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="fixed config field (JSON value)")
    parser.add_argument("--out", required=True, help="output directory")
    add_overwrite(parser)
    parser.add_argument("--no-batch", action="store_true",
                        help="run every point as its own compiled program (same results; less memory at once)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
