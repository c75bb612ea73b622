"""Figures of the experiments in ``simcollapse/experiments/`` (several runs side by side), each saved as PNG and PDF.

``draw(experiment, run_dirs, out_dir)`` draws every figure the experiment names (``figures = [...]`` in its
TOML file), with the options of its ``[figure]`` table:

* ``curves``: one row per run group, one column per ``panels`` entry (``stat``, ``label``, ``log``, ``ylim``,
  ``summary`` = ``quantiles`` (median and 10–90 % band of the chains) or ``mean`` (mean ± 2 SE), ``bound``: a
  name in ``BOUNDS``, drawn dash-dotted in each run's colour); ``log_generations`` puts generations on a log axis.
  Where a closed form exists the mean over chains is drawn dotted and the theory dashed, in the run's colour;
* ``final``: the ``stat`` of the last recorded generation (mean ± 2 SE over chains, theory dashed) against the run
  field ``x``, one point per run, with the closed form ``line`` (a name in ``LINES``) drawn over the field's range;
* ``frequencies``: stacked type frequencies of one chain per run (categorical; the 9 largest types and the rest);
* ``snapshots``: one GMM chain's mixture at the ``snapshots`` generations (samples and 2σ ellipses);
* ``vae``: the VAE's decoder samples per generation and its latent-spread metric (:func:`simcollapse.vae.plot_vae`);
* ``lm``: the OPT loop's test perplexity per generation and its training data's perplexity histograms.

A ``stat`` is a recorded statistic or one of ``DERIVED``: ``abs_mean_error`` |μ_n − μ_0|, ``abs_std_error``
|σ_n − σ_0| (the panels of Nature SI Figs 3–5), ``minority_lost`` (the minority type has p = 0; its mean is
P(lost by n), theory: the exact chain).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np

from . import save, style

DPI = 100
SHOWN_TYPES = 9
CATS = ("#f2c12e", "#3a6fd8")  # yellow, blue


# --- statistics -------------------------------------------------------------------------------------------


def _abs_mean_error(run):
    return np.abs(run["stats"]["mean"] - float(run["config"].mean0)), None


def _abs_std_error(run):
    stats = run["stats"]
    std = stats["std"] if "std" in stats else np.sqrt(stats["var"])
    return np.abs(std - np.sqrt(run["config"].var0)), None


def _minority_lost(run):
    lost = (run["stats"]["p_min_group"] == 0.0).astype(float)
    p_lost = run["theory"].get("P_lost")
    minority = list(run["config"].minority)
    expected = p_lost[:, minority].sum(axis=1) if p_lost is not None and len(minority) == 1 else None
    return lost, expected


DERIVED = {"abs_mean_error": _abs_mean_error, "abs_std_error": _abs_std_error, "minority_lost": _minority_lost}


def statistic(run: dict, name: str):
    """(values (recorded generations, chains), expectation (generations+1,) or None) of a run."""
    if name in DERIVED:
        return DERIVED[name](run)
    return run["stats"][name], run["theory"].get(f"E_{name}")


# --- bounds drawn as horizontal lines ---------------------------------------------------------------------


def _w2_mle(config):
    """E W2² < 2σ0² under the MLE (ddof 0): σ_n → 0 while E(μ_n − μ_0)² ≤ σ0² (docs/theory.md §G.5)."""
    if config.policy == "replace" and config.ddof == 0:
        return 2.0 * config.var0, "bound 2σ₀² (ddof 0)"
    return None


def _gaussian_accumulate_mean(config):
    """E(μ_n − μ_0)² ≤ (π²/6)σ0²/N when all data are kept (docs/theory.md §P.1)."""
    if config.policy == "accumulate":
        return np.pi**2 / 6 * config.var0 / float(config.n_samples), "bound (π²/6)σ₀²/N"
    return None


def _linreg_accumulate(config):
    """E‖ŵ_n − w*‖² ≤ (π²/6)σ²d/(T−d−1) when all labels are kept (docs/theory.md §L.1)."""
    from ..theory.linreg import one_generation_error

    if config.policy == "accumulate" and config.ridge == 0:
        base = one_generation_error(config.design_size, config.dim, config.noise)
        return np.pi**2 / 6 * base, "bound (π²/6)σ²d/(T−d−1)"
    return None


def _strong_collapse_floor(config):
    """The floor p₂²c² that mixed synthetic labels leave as T → ∞ (docs/theory.md §S.1)."""
    if config.policy == "synthetic_mix" and not config.curriculum:
        shift = config.shift()
        return config.synthetic_fraction**2 * float(shift @ shift), "floor p₂²c² (T → ∞)"
    return None


def _weighted_real_stationary(config):
    """The stationary risk V*(w) of weighted fresh real data, δ = 1 (docs/theory.md §H.2)."""
    from ..theory.weighted_real import stationary_mean_sq_error

    if config.policy == "weighted_real" and config.ddof == 1:
        value = stationary_mean_sq_error(float(config.n_samples), config.synthetic_samples, config.real_weight,
                                         np.trace(config.covariance0()))
        return float(value), "stationary V*(w)"
    return None


BOUNDS = {"w2_mle": _w2_mle, "gaussian_accumulate_mean": _gaussian_accumulate_mean,
          "linreg_accumulate": _linreg_accumulate, "strong_collapse_floor": _strong_collapse_floor,
          "weighted_real_stationary": _weighted_real_stationary}


# --- drawing ----------------------------------------------------------------------------------------------


def _save(fig, out_dir: Path, stem: str) -> list[Path]:
    return save(fig, out_dir, stem, dpi=DPI)


def _runs(experiment, run_dirs):
    from ..core import results

    return [(run, results.load(d)) for run, d in zip(experiment.runs, run_dirs)]


def _draw_run(ax, panel: dict, run: dict, colour: str, log_generations: bool = False) -> None:
    values, expected = statistic(run, panel["stat"])
    gens = np.asarray(run["generation"])
    first = 1 if panel.get("log") or log_generations else 0  # row 0 is the truth, where errors are exactly 0
    gens, values = gens[first:], values[first:]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(values, axis=1)
        if panel.get("summary", "quantiles") == "mean":
            se = np.nanstd(values, axis=1, ddof=1) / np.sqrt(values.shape[1])
            ax.fill_between(gens, mean - 2 * se, mean + 2 * se, color=colour, alpha=0.2, lw=0)
            ax.plot(gens, mean, color=colour, lw=1.3)
        else:
            low, median, high = np.nanquantile(values, [0.1, 0.5, 0.9], axis=1)
            ax.fill_between(gens, low, high, color=colour, alpha=0.18, lw=0)
            ax.plot(gens, median, color=colour, lw=1.3)
            if expected is not None:
                ax.plot(gens, mean, color=colour, lw=1.0, ls=":")
    if expected is not None:
        ax.plot(gens, np.asarray(expected)[gens], color=colour, lw=1.1, ls="--", dashes=(5, 2.5), alpha=0.9)


def _style_handles(summary: str, with_theory: bool):
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    if summary == "mean":
        handles = [Line2D([], [], color="0.3", lw=1.3, label="mean over chains"),
                   Patch(color="0.3", alpha=0.2, label="± 2 standard errors")]
    else:
        handles = [Line2D([], [], color="0.3", lw=1.3, label="median of chains"),
                   Patch(color="0.3", alpha=0.18, label="10–90 % of chains")]
        if with_theory:
            handles.append(Line2D([], [], color="0.3", lw=1.0, ls=":", label="mean over chains"))
    if with_theory:
        handles.append(Line2D([], [], color="0.3", lw=1.1, ls="--", label="theory E[·] (exact)"))
    return handles


def curves(experiment, run_dirs, out_dir: Path) -> list[Path]:
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    runs = _runs(experiment, run_dirs)
    groups = list(dict.fromkeys(run.group for run, _ in runs))
    panels = experiment.figure["panels"]
    alone = len(panels) == 1  # one panel: the legend goes to its right
    fig, axes = plt.subplots(len(groups), len(panels), figsize=(4.4 * len(panels) + 3.0 * alone, 3.4 * len(groups) + 0.5),
                             squeeze=False)
    for row, group in zip(axes, groups):
        members = [(run, data) for run, data in runs if run.group == group]
        for ax, panel in zip(row, panels):
            with_theory = False
            bound_labels = []
            for i, (_, data) in enumerate(members):
                _draw_run(ax, panel, data, f"C{i}", experiment.figure.get("log_generations", False))
                with_theory |= statistic(data, panel["stat"])[1] is not None
                bound = BOUNDS[panel["bound"]](data["config"]) if "bound" in panel else None
                if bound is not None:
                    ax.axhline(bound[0], color=f"C{i}", lw=1.0, ls="-.")
                    bound_labels.append(bound[1])
            for label in dict.fromkeys(bound_labels):
                ax.plot([], [], color="0.35", lw=1.0, ls="-.", label=label)
            if panel.get("log"):
                ax.set_yscale("log")
            if "ylim" in panel:
                ax.set_ylim(*panel["ylim"])
            if experiment.figure.get("log_generations"):
                ax.set_xscale("log")
            ax.set_xlabel("generation n")
            ax.set_ylabel(panel["label"])
            ax.set_title(panel["label"] + (f" — {group}" if group else ""), fontsize=9)
            ax.set_xlim(1 if experiment.figure.get("log_generations") else 0,
                        max(data["generation"][-1] for _, data in members))
            extra = ax.get_legend_handles_labels()[0]  # the bounds
            if panel is panels[-1]:
                extra = _style_handles(panel.get("summary", "quantiles"), with_theory) + extra
            if panel is panels[0]:
                extra = [Line2D([], [], color=f"C{i}", lw=2, label=run.label)
                         for i, (run, _) in enumerate(members)] + extra
            if extra and alone:
                ax.legend(handles=extra, loc="upper left", bbox_to_anchor=(1.02, 1.0))
            elif extra:
                ax.legend(handles=extra, loc="best")
    fig.suptitle(experiment.title)
    fig.tight_layout()
    return _save(fig, out_dir, f"{experiment.name}_curves")


def _weighted_real_risk(config, weights):
    """V*(w) over `weights` (δ = 1) and the minimiser w* = (√(k² + 4k) − k)/2, k = n/m (docs/theory.md §H.2)."""
    from ..theory.weighted_real import optimal_weight, stationary_mean_sq_error

    n, m, trace0 = float(config.n_samples), config.synthetic_samples, np.trace(config.covariance0())
    best = optimal_weight(n, m)
    return stationary_mean_sq_error(n, m, weights, trace0), best, f"V*(w), minimum at w* = {best:.3f}"


LINES = {"weighted_real_risk": _weighted_real_risk}


def final(experiment, run_dirs, out_dir: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    runs = _runs(experiment, run_dirs)
    options = experiment.figure
    field, stat = options["x"], options["stat"]
    xs, means, ses, expected = [], [], [], []
    for _, data in runs:
        values, theory = statistic(data, stat)
        last = values[-1][np.isfinite(values[-1])]
        xs.append(float(getattr(data["config"], field)))
        means.append(last.mean())
        ses.append(last.std(ddof=1) / np.sqrt(last.size))
        expected.append(np.nan if theory is None else np.asarray(theory)[int(data["generation"][-1])])
    fig, ax = plt.subplots(figsize=(5.6, 3.8))
    ax.errorbar(xs, means, yerr=2 * np.asarray(ses), fmt="o", color="C0", ms=4, capsize=2,
                label=f"simulated, generation {int(runs[0][1]['generation'][-1])} (mean ± 2 SE)")
    ax.plot(xs, expected, "x", color="C3", ms=6, label="theory E[·] at that generation (exact)")
    if "line" in options:
        grid = np.linspace(min(xs), max(xs), 400)
        values, best, label = LINES[options["line"]](runs[0][1]["config"], grid)
        ax.plot(grid, values, color="0.3", lw=1.1, ls="--", label=label)
        ax.axvline(best, color="0.5", lw=0.9, ls=":")
    if options.get("log"):
        ax.set_yscale("log")
    ax.set_xlabel(options.get("x_label", field))
    ax.set_ylabel(options.get("label", stat))
    ax.legend(loc="best", fontsize=8)
    ax.set_title(experiment.title, fontsize=9)
    fig.tight_layout()
    return _save(fig, out_dir, f"{experiment.name}_final")


def _stack(probs: np.ndarray):
    """Rows to stack (the SHOWN_TYPES types largest at generation 0, then the rest pooled) and their labels."""
    k = probs.shape[-1]
    order = np.argsort(-probs[0], kind="stable")
    shown = order if k <= SHOWN_TYPES + 1 else order[:SHOWN_TYPES]
    rows = [probs[:, i] for i in shown]
    labels = [f"type {i + 1}" for i in shown]
    if len(shown) < k:
        rows.append(np.clip(probs.sum(axis=-1) - np.sum(rows, axis=0), 0.0, 1.0))
        labels.append(f"{k - len(shown)} other types")
    return np.asarray(rows), labels


def frequencies(experiment, run_dirs, out_dir: Path) -> list[Path]:
    import matplotlib.pyplot as plt
    from matplotlib import colormaps

    runs = _runs(experiment, run_dirs)
    chain = experiment.figure.get("chain", 0)
    fig, axes = plt.subplots(1, len(runs), figsize=(3.6 * len(runs) + 1.6, 3.4), squeeze=False, sharey=True)
    for ax, (run, data) in zip(axes[0], runs):
        probs = data["stats"]["probs"][:, chain]
        rows, labels = _stack(probs)
        if data["config"].truth == "cats":
            labels, colours = ["yellow cats", "blue cats"], list(CATS)
        else:
            colours = [colormaps["viridis"](x) for x in np.linspace(0.05, 0.95, SHOWN_TYPES)][: len(rows)]
            if len(rows) > SHOWN_TYPES:
                colours.append("lightgrey")
        ax.stackplot(data["generation"], rows, labels=labels, colors=colours)
        ax.set_xlim(0, data["generation"][-1])
        ax.set_ylim(0, 1)
        ax.set_xlabel("generation n")
        ax.set_title(run.label, fontsize=9)
    axes[0, 0].set_ylabel(f"type frequency in the model (chain {chain})")
    axes[0, -1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.suptitle(f"{experiment.title}: one chain's frequencies")
    fig.tight_layout()
    return _save(fig, out_dir, f"{experiment.name}_frequencies")


def _ellipse(mean, cov, scale=2.0, points=100):
    """Points of the scale·σ ellipse of N(mean, cov) in 2-D."""
    w, v = np.linalg.eigh(cov)
    angle = np.linspace(0, 2 * np.pi, points)
    circle = np.stack([np.cos(angle), np.sin(angle)])
    return (mean[:, None] + scale * (v * np.sqrt(np.clip(w, 0, None))) @ circle).T


def snapshots(experiment, run_dirs, out_dir: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    data = _runs(experiment, run_dirs)[0][1]
    stats, gens = data["stats"], list(data["generation"])
    chain = experiment.figure.get("chain", 0)
    wanted = [g for g in experiment.figure["snapshots"] if g in gens]
    rng = np.random.default_rng(0)
    fig, axes = plt.subplots(1, len(wanted), figsize=(2.3 * len(wanted), 3.0), squeeze=False, sharex=True, sharey=True,
                             layout="constrained")
    truth = (stats["means"][0, chain], stats["covs"][0, chain], stats["weights"][0, chain])
    for ax, g in zip(axes[0], wanted):
        row = gens.index(g)
        weights, means, covs = (stats[k][row, chain] for k in ("weights", "means", "covs"))
        component = rng.choice(len(weights), size=400, p=weights / weights.sum())
        noise = rng.standard_normal((400, 2))
        x = means[component] + np.einsum("nij,nj->ni", np.linalg.cholesky(covs[component]), noise)
        ax.scatter(x[:, 0], x[:, 1], s=2, color="0.45", alpha=0.5, lw=0)
        for k in np.flatnonzero(truth[2] > 0):
            ax.plot(*_ellipse(truth[0][k], truth[1][k]).T, color="k", lw=0.8, ls="--")
        for k in np.flatnonzero(weights > 0):
            ax.plot(*_ellipse(means[k], covs[k]).T, color=f"C{k}", lw=1.4, label=f"w = {weights[k]:.2f}")
        ax.set_title(f"generation {g}", fontsize=9)
        ax.set_xlabel("x₁")
        ax.set_aspect("equal")
        ax.legend(loc="lower left", fontsize=6.5, handlelength=1)
    axes[0, 0].set_ylabel("x₂")
    lim = experiment.figure.get("limit", 4.0)
    axes[0, 0].set_xlim(-lim, lim)
    axes[0, 0].set_ylim(-lim, lim)
    fig.suptitle(f"{experiment.title}: chain {chain}, 2σ ellipses of the fitted components "
                 "(truth dashed), 400 samples")
    return _save(fig, out_dir, f"{experiment.name}_snapshots")


def vae(experiment, run_dirs, out_dir: Path) -> list[Path]:
    from ..vae import plot_vae

    run_dir = run_dirs[0]
    metrics = json.loads((run_dir / "metrics.json").read_text())["generations"]
    with np.load(run_dir / "samples.npz") as f:
        grids, shape = f["grids"], tuple(f["image_shape"])
    return [plot_vae(list(grids), shape, metrics, out_dir / f"{experiment.name}_samples.{ext}")
            for ext in ("png", "pdf")]


def lm(experiment, run_dirs, out_dir: Path) -> list[Path]:
    """The OPT loop (Nature Fig. 1): real test perplexity per generation, one line per run (the pretrained
    model's zero-shot perplexity dotted), and per run the histograms of each generation's training sequences'
    perplexity under the generation-0 model (log10), whose tail grows as generations learn their own errors."""
    import matplotlib.pyplot as plt

    runs = [json.loads((d / "metrics.json").read_text()) for d in run_dirs]
    fig, axes = plt.subplots(1, 1 + len(runs), figsize=(4.2 * (1 + len(runs)), 3.6), squeeze=False)
    ax = axes[0, 0]
    for i, (run, metrics) in enumerate(zip(experiment.runs, runs)):
        ax.plot([m["generation"] for m in metrics], [m["test"]["ppl_token"] for m in metrics], marker="o",
                color=f"C{i}", label=run.label)
    zero_shot = runs[0][0].get("zero_shot")
    if zero_shot:
        ax.axhline(zero_shot["ppl_token"], color="grey", ls=":", label="before fine-tuning")
    ax.set(xlabel="generation", ylabel="test perplexity (real text, per token)", title="real test data")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend()
    for ax, run, run_dir in zip(axes[0, 1:], experiment.runs, run_dirs):
        log_ppl = {int(p.parent.name.split("_")[1]): np.log10(np.load(p)) for p in sorted(run_dir.glob("gen_*/seq_ppl.npy"))}
        values = np.concatenate(list(log_ppl.values()))
        bins = np.linspace(values.min(), values.max(), 40)
        colours = plt.cm.viridis(np.linspace(0, 0.9, len(log_ppl)))
        for colour, (generation, v) in zip(colours, log_ppl.items()):
            ax.hist(v, bins=bins, histtype="step", density=True, color=colour, label=f"generation {generation}")
        ax.set(xlabel="log10 perplexity under generation 0", ylabel="density", title=f"training data: {run.label}")
        ax.legend()
    fig.suptitle(experiment.title)
    fig.tight_layout()
    return _save(fig, out_dir, f"{experiment.name}_perplexity")


FIGURES = {"curves": curves, "final": final, "frequencies": frequencies, "snapshots": snapshots, "vae": vae, "lm": lm}


def draw(experiment, run_dirs, out_dir) -> list[Path]:
    """Every figure `experiment` names, drawn from its run directories into `out_dir` (PNG and PDF)."""
    out_dir = Path(out_dir)
    paths = []
    with style():
        for kind in experiment.figures:
            paths += FIGURES[kind](experiment, run_dirs, out_dir)
    return paths
