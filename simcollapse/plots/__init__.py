"""Figures of a run: every scalar statistic over generations (median, 10–90 % band and mean over
chains) with its closed-form expectation dashed beside it; family modules in this package may add
their own figures through a ``figures(run, out_dir) -> list[Path]`` function."""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np

from ..core.summary import describe

LABELS = {
    "mean": "fitted mean μ_n",
    "var": "fitted variance σ²_n",
    "std": "fitted std σ_n",
    "logvar": "log σ²_n",
    "w2sq": "W2² to the truth",
    "kl": "KL(truth ‖ model)",
    "log_kl": "log KL(truth ‖ model)",
    "mean_sq_error": "‖μ_n − μ_0‖²",
    "second_moment": "μ²_n + σ²_n",
    "logdet": "log det Σ_n",
    "trace": "tr Σ_n",
    "det_ratio": "det Σ_n / det Σ_0",
    # the neural families (simcollapse.lm.loop.STATISTICS, simcollapse.vae.STATISTICS)
    "test_ppl": "test perplexity (batch mean)",
    "test_ppl_token": "test perplexity (per token)",
    "validation_ppl": "validation perplexity (batch mean)",
    "seq_ppl_median": "median training-row perplexity under gen 0",
    "seq_ppl_p95": "95 % training-row perplexity under gen 0",
    "distinct_2": "distinct bigrams of the training data",
    "repetition_4": "repeated 4-grams of the training data",
    "best_epoch": "epoch kept (best on validation)",
    "latent_std": "latent-mean std (gen-0 encoder)",
    "latent_std_pooled": "pooled latent-mean std (gen-0 encoder)",
    "latent_std_real": "latent-mean std of real test digits",
    "test_recon_bce": "reconstruction BCE of real test digits",
    "test_neg_elbo": "negative ELBO of real test digits",
    "sample_pixel_std": "pixel std of decoder samples",
    "train_loss": "last epoch's training loss",
}


def style():
    """The one matplotlib style of simcollapse figures (a context manager)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt.rc_context(
        {
            "figure.dpi": 110,
            "savefig.dpi": 140,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "font.size": 9,
            "legend.fontsize": 7.5,
            "legend.frameon": False,
        }
    )


def save(fig, out_dir, stem: str, dpi=None) -> list[Path]:
    """Write `fig` as ``stem.png`` and ``stem.pdf`` in `out_dir`, close it, return both paths."""
    import matplotlib.pyplot as plt

    paths = [Path(out_dir) / f"{stem}.png", Path(out_dir) / f"{stem}.pdf"]
    for path in paths:
        fig.savefig(path, dpi=dpi or "figure")
    plt.close(fig)
    return paths


def _wants_log(values: np.ndarray) -> bool:
    finite = values[np.isfinite(values)]
    if finite.size == 0 or np.any(finite <= 0):
        return False
    low, high = np.quantile(finite, [0.1, 0.9])
    return low > 0 and high / low > 50


def _overflows(values: np.ndarray) -> bool:
    """Whether a statistic (or its summaries) is ±inf after the truth, e.g. KL once σ² underflows."""
    return bool(np.isinf(np.asarray(values[1:], dtype=float)).any())


def draw_metric(ax, generation, values, expected=None, label=None, summary=False):
    """Median, 10–90 % band and mean over chains of one (generation, chain) array — or of its stored
    summaries (generation, 5) when `summary` — with the theory dashed."""
    d = describe(values, summary)
    ax.fill_between(generation, d["q10"], d["q90"], color="C0", alpha=0.2, lw=0, label="10–90 % of chains")
    ax.plot(generation, d["q50"], color="C0", lw=1.2, label="median")
    if summary or values.shape[1] > 1:
        ax.plot(generation, d["mean"], color="C1", lw=1.0, label="mean over chains")
    if expected is not None:
        ax.plot(np.arange(len(expected)), expected, "k--", lw=1.1, label="theory E[·]")
    if _wants_log(np.concatenate([d["q10"][1:], d["q90"][1:]])):  # row 0 is the truth, where distances are 0
        ax.set_yscale("log")
    ax.set_xlabel("generation n")
    ax.set_ylabel(label or "")


def summary_title(config, most: int = 7) -> str:
    """"family: key=value, …": the sample size, ddof, sampler and policy, then the fields set away from their defaults
    (at most `most` in all, long values shortened), then the chain count."""
    import dataclasses

    fields = config.to_dict()
    defaults = {f.name: f.default for f in dataclasses.fields(config)}
    quiet = {"family", "metrics", "seed", "record_every", "summary", "generations", "chains", "out", "progress"}
    always = [k for k in ("n_samples", "ddof", "sampler", "policy") if k in fields]
    changed = [k for k in fields if k not in quiet and k not in always and fields[k] != defaults.get(k)]

    def show(value) -> str:
        text = str(value)
        return text if len(text) <= 16 else text[:14] + "…"

    keep = (always + changed)[:most] + ["chains"] * ("chains" in fields)  # a neural run has one model, no chains
    return f"{config.family}: " + ", ".join(f"{k}={show(fields[k])}" for k in keep)


def scalar_statistics(run: dict) -> list[str]:
    """The run's statistics with one value per chain, (generation, chain) arrays, in the order of the config's
    ``metrics`` and then by name: the order of the overview figure's panels and of the report's table."""
    stats = run["stats"]
    order = list(getattr(run["config"], "metrics", ())) + sorted(stats)
    return [k for k in dict.fromkeys(order) if k in stats and stats[k].ndim == 2]


def panels(run: dict) -> list[str]:
    """The statistics the overview draws: :func:`scalar_statistics`, except ``kl`` where it overflows and
    ``log_kl`` (finite) is recorded to stand for it."""
    names = scalar_statistics(run)
    if "log_kl" in names and "kl" in names and _overflows(run["stats"]["kl"]):
        names.remove("kl")
    return names


def overview(run: dict, out_dir: Path) -> Path:
    import matplotlib.pyplot as plt

    stats, theory, generation = run["stats"], run["theory"], run["generation"]
    names = panels(run)
    cols = min(3, len(names))
    rows = int(np.ceil(len(names) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.1 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names):
        draw_metric(ax, generation, stats[name], theory.get(f"E_{name}"), LABELS.get(name, name),
                    summary=run["config"].summary)
        ax.set_xlim(0, generation[-1])
        ax.set_title(LABELS.get(name, name))
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    axes.flat[0].legend(loc="best")
    fig.suptitle(summary_title(run["config"]))
    fig.tight_layout()
    path = out_dir / "overview.png"
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_run(run, out_dir=None) -> list[Path]:
    """Draw every figure of a run (a run directory or the dict of `simcollapse.core.results.load`)."""
    from ..core import results

    if not isinstance(run, dict):
        out_dir = Path(out_dir or run)
        run = results.load(run)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with style():
        paths = [overview(run, out_dir)]
        module = f"{__name__}.{run['config'].family}"
        try:
            extra = importlib.import_module(module)
        except ModuleNotFoundError as err:
            if err.name != module:
                raise
            extra = None
        if extra is not None and hasattr(extra, "figures") and not run["config"].summary:  # they need each chain
            paths += extra.figures(run, out_dir)
    return paths
