"""Figures for the categorical family: the cats turning yellow, surviving types, lost mass, P(minority lost).

``figures(run, out_dir)`` takes ``run`` with keys ``config`` (the resolved config), ``generation`` (recorded
generation indices), ``stats`` (arrays with leading axes (generation, chain)) and ``theory`` (curves indexed
by generation 0..G, as ``simcollapse.theory.categorical_config.for_config`` returns), and writes PNGs:

* ``categorical_frequencies.png``: stacked type frequencies of chain 0 and of the mean over chains (needs the
  ``probs`` statistic; with many types the 9 most frequent are drawn and the rest pooled as "other");
* ``categorical_diversity.png``: surviving types, lost mass and Gini–Simpson index, Monte Carlo mean with a
  ±2 SE band, the exact expectation dashed where it exists;
* ``categorical_minority_loss.png``: P(minority group lost by generation n), Monte Carlo against the exact
  per-type chain (dashed) when the group is one type.

Only the object-oriented matplotlib API is used (no pyplot, no global backend change).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

__all__ = ["figures"]

_SHOWN_TYPES = 9
_CAT_COLOURS = ("#f2c12e", "#3a6fd8")  # yellow, blue


def _type_colours(k: int):
    if k == 2:
        return list(_CAT_COLOURS)
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    return [cmap(x) for x in np.linspace(0.05, 0.95, k)]


def _stack(probs: np.ndarray, order: np.ndarray):
    """Rows to stack (shown types, then 'other'), labels."""
    shown = order[:_SHOWN_TYPES] if probs.shape[-1] > _SHOWN_TYPES + 1 else order
    rows = [probs[:, i] for i in shown]
    labels = [f"type {i}" for i in shown]
    if shown.size < probs.shape[-1]:
        rows.append(probs.sum(axis=-1) - np.sum(rows, axis=0))
        labels.append(f"other {probs.shape[-1] - shown.size} types")
    return np.array(rows), labels


def _frequencies(run, out_dir: Path) -> Path | None:
    probs = run["stats"].get("probs")
    if probs is None:
        return None
    gens = np.asarray(run["generation"])
    config = run["config"]
    K = probs.shape[-1]
    mean = probs.mean(axis=1)
    order = np.argsort(-mean[0], kind="stable")
    if K == 2 and config.truth == "cats":
        labels_override = ["yellow", "blue"]
    else:
        labels_override = None
    fig = Figure(figsize=(11, 4.2), constrained_layout=True)
    axes = fig.subplots(1, 2, sharey=True)
    for ax, data, title in (
        (axes[0], probs[:, 0], "one chain (chain 0)"),
        (axes[1], mean, f"mean over {probs.shape[1]} chains"),
    ):
        rows, labels = _stack(data, order)
        if labels_override is not None:
            labels = [labels_override[i] for i in order]
        pooled = len(rows) < K  # the last row is "other"
        colours = _type_colours(len(rows) - 1) + ["lightgrey"] if pooled else _type_colours(len(rows))
        ax.stackplot(gens, rows, labels=labels, colors=colours, step="post" if gens.size < 60 else None)
        ax.set_xlim(gens[0], gens[-1])
        ax.set_ylim(0, 1)
        ax.set_xlabel("generation")
        ax.set_title(title)
    axes[0].set_ylabel("type frequency in the model")
    axes[1].legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, title="type")
    fig.suptitle(f"Categorical chain, N = {config.n_samples}, K = {K}" + (": the cats turning yellow" if labels_override else ""))
    path = out_dir / "categorical_frequencies.png"
    fig.savefig(path, dpi=120)
    return path


def _mc_band(ax, gens, values, label, colour):
    values = np.asarray(values, dtype=float)
    finite = np.isfinite(values).all(axis=1)
    mean = values.mean(axis=1)
    se = values.std(axis=1, ddof=1) / np.sqrt(values.shape[1]) if values.shape[1] > 1 else np.zeros_like(mean)
    ax.plot(gens[finite], mean[finite], color=colour, label=label)
    ax.fill_between(gens[finite], (mean - 2 * se)[finite], (mean + 2 * se)[finite], color=colour, alpha=0.25, lw=0)


def _diversity(run, out_dir: Path) -> Path | None:
    stats, theory = run["stats"], run.get("theory") or {}
    gens = np.asarray(run["generation"])
    panels = [(name, title) for name, title in (
        ("surviving", "surviving types (p > 0)"),
        ("lost_mass", "lost mass (truth mass on types with p = 0)"),
        ("gini_simpson", "Gini–Simpson index 1 − Σp²"),
    ) if name in stats]
    if not panels:
        return None
    fig = Figure(figsize=(4.2 * len(panels), 3.8), constrained_layout=True)
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    for ax, (name, title) in zip(axes, panels):
        _mc_band(ax, gens, stats[name], f"Monte Carlo mean ± 2 SE ({stats[name].shape[1]} chains)", "C0")
        exact = theory.get("E_" + name)
        if exact is not None:
            exact = np.asarray(exact)
            ax.plot(np.arange(exact.size), exact, "k--", lw=1.2, label="exact expectation")
        ax.set_xlabel("generation")
        ax.set_ylabel(name)
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=8)
    fig.suptitle(f"{run['config'].family}: diversity over generations")
    path = out_dir / "categorical_diversity.png"
    fig.savefig(path, dpi=120)
    return path


def _minority_loss(run, out_dir: Path) -> Path | None:
    stats, theory = run["stats"], run.get("theory") or {}
    if "p_min_group" not in stats:
        return None
    config = run["config"]
    gens = np.asarray(run["generation"])
    lost = (np.asarray(stats["p_min_group"]) == 0.0)
    chains = lost.shape[1]
    frac = lost.mean(axis=1)
    se = np.sqrt(np.maximum(frac * (1 - frac), 1.0 / chains) / chains)
    group = list(config.minority)
    name = "blue" if config.truth == "cats" and group == [1] else (
        f"type {group[0]}" if len(group) == 1 else f"types {group}")
    fig = Figure(figsize=(6.4, 4.2), constrained_layout=True)
    ax = fig.subplots()
    ax.plot(gens, frac, color="C0", label=f"Monte Carlo ({chains} chains)")
    ax.fill_between(gens, np.clip(frac - 2 * se, 0, 1), np.clip(frac + 2 * se, 0, 1), color="C0", alpha=0.25, lw=0)
    p_lost = theory.get("P_lost")
    if p_lost is not None and len(group) == 1:
        p_lost = np.asarray(p_lost)
        ax.plot(np.arange(p_lost.shape[0]), p_lost[:, group[0]], "k--", lw=1.2, label="exact chain")
    ax.set_xlabel("generation n")
    ax.set_ylabel(f"P({name} has p = 0 at n)")
    ax.set_ylim(0, 1)
    ax.set_title(f"P({name} lost by n)")
    ax.legend(fontsize=8)
    path = out_dir / "categorical_minority_loss.png"
    fig.savefig(path, dpi=120)
    return path


def figures(run: dict, out_dir) -> list[Path]:
    """Write the categorical figures for `run` under `out_dir`; return the paths written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [f(run, out_dir) for f in (_frequencies, _diversity, _minority_loss)]
    return [p for p in paths if p is not None]
