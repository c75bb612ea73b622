"""``simcollapse reproduce NAME``: run one experiment of ``simcollapse/experiments/`` at a scale and draw its figures.

    simcollapse reproduce --list
    simcollapse reproduce gaussian_collapse --scale small --out out/gaussian_collapse
    simcollapse reproduce opt --scale paper --set model_dir=ckpt/opt-125m --set data_dir=data/wikitext-2-raw

An experiment is a TOML file ``simcollapse/experiments/NAME.toml`` (package data, installed with
simcollapse) with

* ``title``, ``summary`` (one line, shown by ``--list``), ``about`` (a paragraph for the gallery);
* ``family`` (a simulation family, or a neural one: ``lm`` trains OPT (:mod:`simcollapse.lm.loop`), ``vae``
  the VAE (:mod:`simcollapse.vae`)) and ``figures`` (drawing functions of
  :mod:`simcollapse.plots.experiments`) with their options in ``[figure]``;
* ``[config]``: fields shared by every run; ``[[runs]]``: ``label``, optional ``group`` (one figure row per
  group) and the run's own fields; or instead of runs ``decompose = FAMILY``: the 2³ combinations of the
  three error sources of :mod:`simcollapse.decompose` built on ``[config]``;
* ``[small]`` and ``[paper]``: ``config`` (fields overriding every run at that scale), optional ``runs`` (the
  labels run at that scale) and ``figure`` (figure options at that scale); ``small_seconds`` is the measured
  wall time of the small scale on a 2-core laptop.

Each run's results (``config.json``, ``stats.npz``, ``theory.npz``) go to ``OUT/<run slug>/``; the figures
(PNG and PDF) to ``OUT/``.
"""

from __future__ import annotations

import dataclasses
import re
import time
import tomllib
from pathlib import Path

from .cli import add_command, add_overwrite
from .config import ConfigError

SCALES = ("small", "paper")
EXPERIMENTS_DIR = Path(__file__).resolve().parent / "experiments"  # package data: installed with simcollapse


@dataclasses.dataclass(frozen=True)
class Run:
    label: str
    group: str
    values: dict

    @property
    def slug(self) -> str:
        return re.sub(r"[^a-z0-9]+", "_", f"{self.group} {self.label}".lower()).strip("_")


@dataclasses.dataclass(frozen=True)
class Experiment:
    name: str
    title: str
    summary: str
    about: str
    family: str
    figures: tuple
    figure: dict
    runs: tuple
    small_seconds: float | None


def names() -> list[str]:
    return sorted(p.stem for p in EXPERIMENTS_DIR.glob("*.toml"))


def load(name: str, scale: str = "small", sets: dict | None = None) -> Experiment:
    """The experiment `name` resolved at `scale`: every run's fields (`sets` overriding them all) and the
    figure options of that scale."""
    if scale not in SCALES:
        raise ConfigError("--scale", f"must be one of {', '.join(SCALES)}; got {scale!r}")
    if name not in names():
        raise ConfigError("NAME", f"unknown experiment {name!r}; known: {', '.join(names())}")
    path = EXPERIMENTS_DIR / f"{name}.toml"
    spec = tomllib.loads(path.read_text())
    at_scale = spec.get(scale, {})
    keep = at_scale.get("runs")
    listed = spec.get("runs") or _decomposition(spec["decompose"], {**spec.get("config", {}), **at_scale.get("config", {})})
    runs = tuple(
        Run(r["label"], r.get("group", ""),
            {**spec.get("config", {}), **{k: v for k, v in r.items() if k not in ("label", "group")},
             **at_scale.get("config", {}), **(sets or {})})
        for r in listed
        if keep is None or r["label"] in keep
    )
    return Experiment(
        name=name,
        title=spec["title"],
        summary=spec["summary"],
        about=" ".join(spec["about"].split()),
        family=spec["family"],
        figures=tuple(spec["figures"]),
        figure={**spec.get("figure", {}), **at_scale.get("figure", {})},
        runs=runs,
        small_seconds=spec.get("small_seconds"),
    )


def _decomposition(family: str, values: dict) -> list[dict]:
    """The 2³ error-source combinations of `simcollapse decompose FAMILY` as runs (``decompose = FAMILY``)."""
    from .decompose import Row, configs

    runs = []
    for pattern, config in configs(family, values):
        fields = config.to_dict()
        del fields["family"]
        runs.append({"label": Row(pattern, None, None).label, **fields})
    return runs


def check(experiment: Experiment) -> None:
    """Validate every run's config before anything runs (a bad field raises :class:`ConfigError`)."""
    from . import neural
    from .api import make_config

    for run in experiment.runs:
        if experiment.family in neural.NEURAL:
            neural.from_sets(experiment.family, run.values, "out")
        else:
            make_config(experiment.family, **run.values)


def run_one(family: str, values: dict, out: Path) -> None:
    """Simulate (or, for a neural family, train) one run and save its results directory."""
    from . import neural

    if family in neural.NEURAL:
        neural.train(neural.from_sets(family, values, str(out), progress=False))
        return
    from .api import make_config, simulate, theory
    from .core import results

    config = make_config(family, **values)
    results.save(out, config, simulate(config), theory(config))


def reproduce(name: str, scale: str = "small", out=None, progress: bool = False, sets: dict | None = None,
              overwrite: bool = False) -> list[Path]:
    """Run every run of experiment `name` at `scale` into ``out/<run>/`` and draw its figures into `out`;
    `sets` overrides fields of every run (e.g. the local checkpoint and corpus of the OPT experiment). An `out`
    holding results is refused unless `overwrite` (:func:`simcollapse.core.outputs.claim`).

    Returns the figure files written (PNG and PDF).
    """
    from . import neural
    from .core import outputs
    from .plots import experiments as figures

    experiment = load(name, scale, sets)
    check(experiment)
    if experiment.family in neural.NEURAL:  # before --overwrite removes anything
        neural.require_extra(neural.from_sets(experiment.family, experiment.runs[0].values, "out"))
    out = outputs.claim(out or Path("out") / name, overwrite)
    run_dirs = []
    for run in experiment.runs:
        start = time.perf_counter()
        run_one(experiment.family, run.values, out / run.slug)
        run_dirs.append(out / run.slug)
        if progress:
            print(f"{name}: {' '.join(filter(None, (run.group, run.label)))} in {time.perf_counter() - start:.1f} s", flush=True)
    return figures.draw(experiment, run_dirs, out)


def describe() -> str:
    """One line per experiment: name, summary, small-scale cost."""
    lines = []
    for name in names():
        e = load(name, "small")
        cost = f"≈ {e.small_seconds:.0f} s" if e.small_seconds is not None else "not measured"
        lines.append(f"{name:<24} {e.summary} [small: {len(e.runs)} run{'s' * (len(e.runs) != 1)}, {cost}]")
    return "\n".join(lines)


def cmd_reproduce(args) -> int:
    """run one of the paper's experiments (see --list) and draw its figures"""
    if args.list:
        print(describe())
        return 0
    if args.name is None:
        raise ConfigError("NAME", f"give an experiment name or --list; known: {', '.join(names())}")
    from .cli import parse_sets

    start = time.perf_counter()
    for path in reproduce(args.name, args.scale, args.out, progress=not args.quiet, sets=parse_sets(args.set),
                          overwrite=args.overwrite):
        print(f"wrote {path}")
    print(f"{args.name} ({args.scale}) in {time.perf_counter() - start:.1f} s")
    return 0


def add_parser(subparsers) -> None:
    p = add_command(subparsers, cmd_reproduce)
    p.add_argument("name", nargs="?", default=None, help="experiment name (see --list)")
    p.add_argument("--list", action="store_true", help="list the experiments with their small-scale cost")
    p.add_argument("--scale", default="small", help="small (≤ 2 minutes on a laptop) or paper (the paper's sizes)")
    p.add_argument("--out", default=None, help="output directory (default: out/NAME)")
    add_overwrite(p)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="field of every run (JSON value), e.g. the OPT experiment's model_dir and data_dir")
    p.add_argument("--quiet", action="store_true", help="no per-run timings")
