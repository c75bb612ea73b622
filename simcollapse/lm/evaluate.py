"""Metrics of the language-model experiment: perplexities, text diversity, example continuations, figures.

* ``perplexity``: test perplexity two ways -- ``ppl_batch = exp(mean of per-batch mean losses)`` as
  the reference code reports it, and the token-weighted ``ppl_token = exp(total NLL / tokens)``;
* ``sequence_perplexities``: ``exp`` of each sequence's mean NLL (the paper's histograms evaluate each
  generation's training data under the generation-0 model);
* ``distinct_n`` / ``repetition_rate``: diversity of generated token sequences;
* ``continue_prompt``: the continuation of a fixed prompt, for the "Example 1" style comparison;
* ``plot_lm``: perplexity against generation and per-sequence perplexity histograms (PNG).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from simcollapse.lm.train import sequence_losses

__all__ = [
    "continue_prompt",
    "distinct_n",
    "perplexity",
    "plot_lm",
    "repetition_rate",
    "sequence_perplexities",
]


def _exp(x: float) -> float:
    return float(math.exp(min(x, 700.0)))


def perplexity(config, params, blocks, batch_size: int = 64, progress: bool = False) -> dict:
    """``{"loss_batch", "ppl_batch", "loss_token", "ppl_token", "tokens"}`` of ``blocks`` ``(n, T)``."""
    s, c = sequence_losses(config, params, blocks, batch_size, progress=progress, desc="perplexity")
    batch_losses = [
        s[i : i + batch_size].sum() / max(c[i : i + batch_size].sum(), 1.0)
        for i in range(0, len(s), batch_size)
    ]
    lb = float(np.mean(batch_losses))
    lt = float(s.sum() / max(c.sum(), 1.0))
    return {
        "loss_batch": lb,
        "ppl_batch": _exp(lb),
        "loss_token": lt,
        "ppl_token": _exp(lt),
        "tokens": int(c.sum()),
    }


def sequence_perplexities(config, params, blocks, batch_size: int = 64, progress: bool = False) -> np.ndarray:
    """``exp(mean NLL)`` of each row of ``blocks`` ``(n, T)``, float64 ``(n,)``."""
    s, c = sequence_losses(config, params, blocks, batch_size, progress=progress, desc="sequence ppl")
    return np.exp(np.minimum(s / np.maximum(c, 1.0), 700.0))


def _ngrams(seq, n):
    seq = list(seq)
    return [tuple(seq[i : i + n]) for i in range(len(seq) - n + 1)]


def distinct_n(seqs, n: int = 2) -> float:
    """Distinct ``n``-grams over all ``n``-grams of all sequences (1 = no n-gram repeats anywhere)."""
    grams = [g for s in seqs for g in _ngrams(s, n)]
    return len(set(grams)) / len(grams) if grams else float("nan")


def repetition_rate(seqs, n: int = 4) -> float:
    """Mean over sequences of the fraction of ``n``-grams that already occurred earlier in the same sequence."""
    rates = []
    for s in seqs:
        grams = _ngrams(s, n)
        if grams:
            rates.append(1.0 - len(set(grams)) / len(grams))
    return float(np.mean(rates)) if rates else float("nan")


def text_stats(seqs) -> dict:
    """distinct-1/2/3 and 4-gram repetition rate of token sequences ``(n, T)``."""
    seqs = [list(map(int, s)) for s in np.asarray(seqs)]
    return {
        "distinct_1": distinct_n(seqs, 1),
        "distinct_2": distinct_n(seqs, 2),
        "distinct_3": distinct_n(seqs, 3),
        "repetition_4": repetition_rate(seqs, 4),
    }


def continue_prompt(config, params, tokenizer, prompt: str, gen=None, length=None, batch: int = 1) -> str:
    """Decode the continuation of ``prompt`` (beam search with ``gen``; default the paper's setting).

    ``length``/``batch``: left-pad the prompt to ``length`` tokens (keeping its last ``length`` if
    longer) and repeat it ``batch`` times, so that a beam search already compiled for that shape is
    reused (the result does not depend on them).
    """
    from simcollapse.lm.generate import generate, left_pad

    ids = tokenizer.encode(prompt)
    if length is not None:
        ids = ids[-length:]
    x, m = left_pad([ids] * batch, config.pad_token_id, length)
    out = generate(config, params, x, m, gen)
    return tokenizer.decode(np.asarray(out.sequences[0, x.shape[1] :]))


def plot_lm(metrics: list[dict], seq_ppl: dict | None = None, path="lm_collapse.png", generations=None):
    """Test perplexity vs generation (left) and histograms of per-sequence perplexity under the
    generation-0 model (right, one per generation in ``seq_ppl`` ``{generation: array}``). Returns the path."""
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2 if seq_ppl else 1, figsize=(11 if seq_ppl else 5.5, 4), squeeze=False)
    ax = axes[0, 0]
    gens = [m["generation"] for m in metrics]
    for key, label in (("ppl_batch", "mean of batch losses"), ("ppl_token", "token-weighted")):
        ax.plot(gens, [m["test"][key] for m in metrics], marker="o", label=label)
    zs = [m["zero_shot"]["ppl_batch"] for m in metrics if m.get("zero_shot")]
    if zs:
        ax.axhline(zs[0], color="gray", ls="--", label="pretrained (zero-shot)")
    ax.set_xlabel("generation")
    ax.set_ylabel("test perplexity")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_title("real test data")
    ax.legend()
    if seq_ppl:
        ax = axes[0, 1]
        keys = sorted(seq_ppl) if generations is None else [g for g in generations if g in seq_ppl]
        all_v = np.concatenate([np.log10(np.asarray(seq_ppl[k])) for k in keys])
        bins = np.linspace(all_v.min(), all_v.max(), 50) if all_v.size else 10
        for k in keys:
            ax.hist(
                np.log10(np.asarray(seq_ppl[k])), bins=bins, histtype="step", density=True, label=f"gen {k}"
            )
        ax.set_xlabel("log10 perplexity of a training sequence under generation 0")
        ax.set_ylabel("density")
        ax.set_title("training data of each generation")
        ax.legend()
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
