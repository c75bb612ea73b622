"""`simcollapse decompose`: the paper's three error sources switched on and off, 2³ runs side by side.

Shumailov et al. (Nature 2024, "What is model collapse?") name three sources of error that compound over
generations: statistical approximation (finitely many samples), functional expressivity (the fitted family
cannot represent the truth) and functional approximation (the fitter does not find the best member of the
family). Each is a config switch (README, "error sources"); this command runs every on/off combination from one
base config and reports a metric for each:

    simcollapse decompose gmm --set generations=200 --set chains=64 --out out/decompose_gmm

Tables (``decompose.md``, ``decompose.csv``): per combination the metric's mean over chains at the last
generation, its standard error (std over chains / √chains), the median there, and the mean over chains and all
generations after the truth. Figure (``decompose.png``, ``decompose.pdf``): the mean over chains against the
generation for each combination.

Switches per decomposition (``gaussian`` and ``gmm`` run the ``gmm`` family's code, so that a mixture truth is
possible; ``linreg`` and ``categorical`` run their own families):

* ``gaussian`` (one 1-D Gaussian fitted in closed form, ``fit_family="gaussian"``): statistical = sampler
  ``exact`` vs ``infinite``; expressivity = truth ½N(−2, 1) + ½N(2, 1) (two components, as in the paper's
  text, SI §4.1) vs the single N(0, 1); approximation = the biased ``ddof=0`` fit vs the unbiased ``ddof=1``.
  ``ddof`` only matters with finite samples (the population fit is the moment match either way), so
  approximation alone changes nothing: it acts through the samples (docs/theory.md §G.7).
* ``gmm`` (truth the paper text's two components in 2-D): statistical as above; expressivity = one Gaussian
  (``fit_family="gaussian"``) vs K′ = 2 by EM; approximation = one EM iteration from a fresh k-means start
  (``warm_start=False, em_iters=1``) vs EM from the previous mixture run to its tolerance (``warm_start=True``),
  which on population data starts at the fixed point and stays there up to the quadrature error, the tolerance
  and reg_covar (the "none" row's floor). Neither setting changes the closed-form Gaussian fit, so with
  expressivity on the approximation switch has no effect.
* ``linreg`` (d = 10 features, T = 50 rows, σ = 1): statistical = label noise (``sampler``); expressivity =
  the model fits the first 5 features only (``fit_dim=5``) vs all 10; approximation = ``sgd_steps`` gradient
  steps from 0 (``fitter="sgd"``, early stopping: a shrinking filter) vs least squares. Metric
  ``test_error`` = ‖ŵ_n − w*‖².
* ``categorical`` (Zipf(1.1) over 100 types, N = 1000): statistical = multinomial counts (``sampler``);
  expressivity = the model keeps its 50 most likely types (``top_k=50``, a truncated vocabulary) vs all;
  approximation = temperature 0.9 (a sharpening learner) vs 1. Metric ``tv``, the total-variation distance to
  the truth.
"""

from __future__ import annotations

import csv
import itertools
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .cli import add_command, add_overwrite
from .config import ConfigError

SOURCES = ("statistical", "expressivity", "approximation")
METRIC_LABELS = {"l2_to_truth": "L2 distance to the truth", "loglik": "mean log-likelihood of the fit",
                 "em_iterations": "EM iterations", "test_error": "test error ‖ŵ_n − w*‖²",
                 "tv": "total variation to the truth", "lost_mass": "truth's mass on lost types",
                 "surviving": "surviving types", "entropy": "entropy (nats)", "gini_simpson": "Gini–Simpson index",
                 "p_min_group": "minority probability"}


class Switch(NamedTuple):
    off: dict
    on: dict


class Decomposition(NamedTuple):
    model: str  # the family that runs
    base: dict  # its config before --set and the switches
    switches: tuple  # one Switch per source, in the order of SOURCES
    metrics: tuple  # the scalar statistics that can be compared; the first is the default


GMM_METRICS = ("l2_to_truth", "trace", "mean_sq_error", "loglik", "em_iterations")
STATISTICAL = Switch(dict(sampler="infinite"), dict(sampler="exact"))

FAMILIES = {
    "gaussian": Decomposition(
        "gmm",
        dict(dim=1, fit_family="gaussian", fit_components=1, reg_covar=0.0, n_samples=100),
        (STATISTICAL, Switch(dict(components=1), dict(components=2)), Switch(dict(ddof=1), dict(ddof=0))),
        GMM_METRICS,
    ),
    "gmm": Decomposition(
        "gmm",
        dict(dim=2, components=2, n_samples=1000),
        (
            STATISTICAL,
            Switch(dict(fit_family="gmm", fit_components=2), dict(fit_family="gaussian", fit_components=1)),
            Switch(dict(warm_start=True), dict(warm_start=False, em_iters=1)),
        ),
        GMM_METRICS,
    ),
    "linreg": Decomposition(
        "linreg",
        dict(dim=10, design_size=50, noise=1.0),
        (STATISTICAL, Switch(dict(fit_dim=None), dict(fit_dim=5)), Switch(dict(fitter="exact"), dict(fitter="sgd"))),
        ("test_error",),
    ),
    "categorical": Decomposition(
        "categorical",
        dict(truth="zipf", num_types=100, zipf_beta=1.1, n_samples=1000),
        (STATISTICAL, Switch(dict(top_k=None), dict(top_k=50)),
         Switch(dict(temperature=1.0), dict(temperature=0.9))),
        ("tv", "lost_mass", "surviving", "entropy", "gini_simpson", "p_min_group"),
    ),
}


class Row(NamedTuple):
    switches: tuple  # one bool per source: True = that error is present
    generation: np.ndarray
    values: np.ndarray  # (recorded generations, chains)

    @property
    def label(self) -> str:
        on = [name for name, flag in zip(SOURCES, self.switches) if flag]
        return " + ".join(on) if on else "none"


def combinations():
    """The 2³ on/off patterns, from none to all three."""
    return sorted(itertools.product((False, True), repeat=len(SOURCES)), key=lambda s: (sum(s), s[::-1]))


def configs(family: str, sets: dict) -> list[tuple[tuple, object]]:
    """(switches, config) for every combination: the family's base, then `sets`, then the switches."""
    from .api import make_config

    if family not in FAMILIES:
        raise ConfigError("family", f"decompose supports {', '.join(FAMILIES)}; got {family!r}")
    model, base, switches, _ = FAMILIES[family]
    switched = {key for s in switches for key in (*s.off, *s.on)}
    fixed = sorted(switched & set(sets))
    if fixed:
        raise ConfigError(fixed[0], "is set by the error-source switches of decompose; leave it out of --set")
    out = []
    for pattern in combinations():
        values = {**base, **sets}
        for switch, flag in zip(switches, pattern):
            values |= switch.on if flag else switch.off
        try:
            out.append((pattern, make_config(model, **values)))
        except ConfigError as err:
            if err.field not in switched:
                raise
            label = Row(pattern, None, None).label
            raise ConfigError(err.field, f"{err.message} (the value decompose {family} sets for '{label}'; "
                                         "change the base config with --set)") from None
    return out


def decompose(family: str, sets: dict, metric: str | None = None, *, progress: bool = False) -> list[Row]:
    """Run the 2³ combinations; one :class:`Row` of the chosen scalar metric per combination."""
    from .api import simulate

    runs = configs(family, sets)
    metric = check_metric(family, metric)
    rows = []
    for pattern, config in runs:
        trajectory = simulate(config.replace(metrics=[metric]), progress=progress)
        rows.append(Row(pattern, trajectory.generation, trajectory.stats[metric]))
    return rows


def check_metric(family: str, metric: str | None) -> str:
    """The metric to compare: one of the decomposition's scalar statistics (its first when None)."""
    metrics = FAMILIES[family].metrics
    metric = metric or metrics[0]
    if metric not in metrics:
        raise ConfigError("--metric", f"must be one of {', '.join(metrics)}; got {metric!r}")
    return metric


def summary(row: Row) -> dict:
    last = row.values[-1]
    return {
        **{name: "on" if flag else "off" for name, flag in zip(SOURCES, row.switches)},
        "mean_last": float(np.mean(last)),
        "se_last": float(np.std(last, ddof=1) / np.sqrt(last.size)) if last.size > 1 else float("nan"),
        "median_last": float(np.median(last)),
        "mean_all": float(np.mean(row.values[1:])),
    }


def write_tables(rows: list[Row], metric: str, out: Path) -> list[Path]:
    table = [summary(r) for r in rows]
    columns = list(table[0])
    csv_path, md_path = out / "decompose.csv", out / "decompose.md"
    with open(csv_path, "w", newline="") as f:
        writer = csv.DictWriter(f, columns)
        writer.writeheader()
        writer.writerows(table)
    generation = rows[0].generation[-1]
    lines = [
        f"{metric} at generation {generation} ({rows[0].values.shape[1]} chains): mean ± standard error, median; "
        f"mean over generations 1–{generation}",
        "",
        "| " + " | ".join(columns) + " |",
        "|" + "---|" * len(columns),
    ]
    for entry in table:
        cells = [v if isinstance(v, str) else f"{v:.4g}" for v in entry.values()]
        lines.append("| " + " | ".join(cells) + " |")
    md_path.write_text("\n".join(lines) + "\n")
    return [md_path, csv_path]


def figure(rows: list[Row], metric: str, title: str, out: Path) -> list[Path]:
    from .plots import LABELS, save, style

    with style():
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        means = [np.mean(r.values, axis=1) for r in rows]
        largest = max(float(np.max(np.abs(m))) for m in means)
        # a combination that stays at 0 up to rounding (e.g. no error at all) is not allowed to set the log range
        zero = [float(np.max(np.abs(m[1:]))) <= 1e-9 * largest for m in means]
        later = np.concatenate([m[1:] for m, z in zip(means, zero) if not z] or [np.ones(1)])
        log = bool(np.all(later > 0) and later.max() / later.min() > 50)
        for row, mean, at_zero in zip(rows, means, zero):
            statistical, expressivity, approximation = row.switches
            keep = slice(1, None) if log else slice(None)  # generation 0 is the truth (distance 0)
            label = row.label + (" (≈ 0: below the axis)" if log and at_zero else "")
            # colour: statistical × expressivity; dashed: approximation on (coinciding curves stay visible)
            ax.plot(row.generation[keep], mean[keep], color=f"C{2 * statistical + expressivity}",
                    ls="--" if approximation else "-", lw=1.3, label=label)
        if log:
            ax.set_yscale("log")
            ax.set_ylim(later.min() / 2, later.max() * 2)
        ax.set_xlabel("generation n")
        ax.set_ylabel(f"{LABELS.get(metric, METRIC_LABELS.get(metric, metric))} (mean over chains)")
        ax.set_title(title)
        ax.legend(loc="best", title="errors switched on")
        fig.tight_layout()
        return save(fig, out, "decompose")


def cmd_decompose(args) -> int:
    """run the 2³ on/off combinations of the three error sources and tabulate a metric

    The paper's three error sources switched on and off, 2³ runs side by side."""
    from .cli import parse_sets
    from .core.outputs import claim

    sets = parse_sets(args.set)
    configs(args.family, sets)  # validate every combination and the metric before anything compiles
    metric = check_metric(args.family, args.metric)
    out = claim(args.out, args.overwrite)
    start = time.perf_counter()
    rows = decompose(args.family, sets, metric, progress=not args.quiet)
    elapsed = time.perf_counter() - start
    paths = write_tables(rows, metric, out)
    paths += figure(rows, metric, f"{args.family}: the three error sources", out)
    print(f"ran {len(rows)} combinations in {elapsed:.1f} s")
    print((out / "decompose.md").read_text(), end="")
    for path in paths:
        print(f"wrote {path}")
    return 0


def add_parser(subparsers) -> None:
    p = add_command(subparsers, cmd_decompose)
    p.add_argument("family", choices=sorted(FAMILIES), help="decomposition (see the module docstring)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="base config field (JSON value)")
    p.add_argument("--out", required=True, help="output directory")
    add_overwrite(p)
    p.add_argument("--metric", default=None,
                   help="scalar statistic to compare (default: l2_to_truth, test_error or tv)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
