"""The recursive fine-tuning loop of the Nature language-model experiment (Shumailov et al. 2024, Fig. 1).

Generation 0 is the pretrained model fine-tuned on the real training blocks. The training set of
generation ``k + 1`` has one row per real training block: the 64-token continuation of that block
produced by generation ``k`` with 5-way beam search (the block itself is not included), except for a
random ``real_fraction`` of rows (drawn afresh each generation) where the original block is kept --
paper settings: 0.0 (5 epochs) and 0.1 (10 epochs). Every generation is fine-tuned starting from the
pretrained checkpoint (``init="pretrained"``, the default) or from the previous generation
(``init="previous"``); in both cases the parameters kept are those best on the real validation set.

Output directory layout (``out``)::

    config.json              the LMLoopConfig (``family`` "lm") and the provenance, as every run directory
    gen_00/                  the generation's checkpoint (config.json, model.safetensors, tokenizer)
    gen_00/train_blocks.npy  its training data (int32, (n, T))
    gen_00/seq_ppl.npy       per-sequence perplexity of that data under the generation-0 model
    gen_00/metrics.json      written last: a generation with this file is finished and skipped on resume
    metrics.json             all generations' metrics;  lm_collapse.png  the figure
    stats.npz                written last: ``STATISTICS`` per generation, shape (generations+1, 1) (one
                             model per generation), read by ``simcollapse plot`` and ``simcollapse report``
    toy/                     with ``toy=true``: the toy model and corpus of :mod:`simcollapse.lm.toy`

A run interrupted inside a generation restarts that generation (reusing its generated training data
if it was saved).
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import ClassVar

import numpy as np

from ..config import AsDict, ConfigError, check_declared, choice, integer, number

__all__ = ["STATISTICS", "LMLoopConfig", "generate_continuations", "next_training_set", "run_lm"]

DEFAULT_PROMPT = (
    "Some of the most notable buildings of the period were designed by architects who had trained in"
)


# stats.npz of a run: name -> key path into a generation's metrics (see `core.results.metric_stats`)
STATISTICS = {
    "test_ppl": ("test", "ppl_batch"),
    "test_ppl_token": ("test", "ppl_token"),
    "validation_ppl": ("validation", "ppl_batch"),
    "seq_ppl_median": ("seq_ppl_under_gen0", "median"),
    "seq_ppl_p95": ("seq_ppl_under_gen0", "p95"),
    "distinct_2": ("data_text", "distinct_2"),
    "repetition_4": ("data_text", "repetition_4"),
    "best_epoch": ("best_epoch",),
}


@dataclasses.dataclass(frozen=True)
class LMLoopConfig(AsDict):
    """Settings of the recursive loop (defaults: the paper's setting (b), batch size of the runme script).

    model_dir: a local OPT checkpoint directory (config.json, weights, tokenizer).
    data_dir: a directory holding wikitext-2 raw (wiki.train.raw, wiki.valid.raw, wiki.test.raw).
    toy: true replaces model_dir and data_dir by a random tiny OPT and a grammar corpus built under out/toy
        (:mod:`simcollapse.lm.toy`).
    generations: fine-tuned generations after generation 0.
    epochs: fine-tuning epochs per generation.
    real_fraction: the share of each later generation's training rows that are original blocks (paper: 0 or 0.1).
    num_beams: beams of the search that writes the next generation's data.
    new_tokens: tokens generated per continuation.
    block: tokens per training block.
    repetition_penalty: null (off) or > 0 (the official code's setting: 3.0).
    batch_size: fine-tuning batch size.
    gen_batch_size: prompts per beam-search call (null: batch_size).
    eval_batch_size: blocks per evaluation batch (null: batch_size).
    lr, final_lr: AdamW's learning rate and the end of its cosine decay.
    weight_decay: AdamW's weight decay.
    seed: seeds the training order and the choice of kept real rows.
    init: pretrained | previous: the weights each generation starts from.
    max_train_blocks, max_eval_blocks: cap the training and evaluation blocks for quick runs (null: all).
    prompt: a text every generation continues, kept in metrics.json as an example ("" for none).
    out: the output directory.   progress: show progress bars.
    """

    family: ClassVar[str] = "lm"
    chains: ClassVar[int] = 1  # one model per generation
    summary: ClassVar[bool] = False
    metrics: ClassVar[tuple] = tuple(STATISTICS)  # the statistics in stats.npz, in figure order

    model_dir: str = ""
    data_dir: str = ""
    toy: bool = False
    out: str = "out/lm"
    generations: int = integer(10, 0)
    epochs: int = integer(5, 1)
    real_fraction: float = number(0.0, 0.0, 1.0)
    num_beams: int = integer(5, 1)
    new_tokens: int = integer(64, 1)
    block: int = integer(64, 2)
    repetition_penalty: float | None = number(None, 0.0, low_open=True, optional=True)
    batch_size: int = integer(16, 1)
    gen_batch_size: int | None = integer(None, 1, optional=True)
    eval_batch_size: int | None = integer(None, 1, optional=True)
    lr: float = number(2e-5, 0.0, low_open=True)
    final_lr: float = number(1e-6, 0.0)
    weight_decay: float = number(0.01, 0.0)
    seed: int = integer(0, 0)
    init: str = choice("pretrained", ("pretrained", "previous"))
    max_train_blocks: int | None = integer(None, 1, optional=True)
    max_eval_blocks: int | None = integer(None, 1, optional=True)
    prompt: str = DEFAULT_PROMPT
    progress: bool = True

    def __post_init__(self):
        check_declared(self)
        if self.toy:
            for name in ("model_dir", "data_dir"):
                if getattr(self, name):
                    raise ConfigError(name, "must be left out with toy=true, which builds its own model and corpus")
        elif not self.model_dir:
            raise ConfigError("model_dir", "is required (a local OPT checkpoint directory), or set toy=true")
        elif not self.data_dir:
            raise ConfigError("data_dir", "is required (a directory with wiki.train.raw, wiki.valid.raw, wiki.test.raw)")
        if self.new_tokens != self.block and self.real_fraction > 0:
            raise ConfigError("real_fraction", f"> 0 mixes real blocks ({self.block} tokens) with continuations "
                                               f"({self.new_tokens} tokens): give new_tokens = block")
        if not isinstance(self.prompt, str):
            raise ConfigError("prompt", f"must be a string, got {self.prompt!r}")

    def train_config(self, generation: int):
        from simcollapse.lm.train import TrainConfig

        return TrainConfig(
            epochs=self.epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            final_lr=self.final_lr,
            weight_decay=self.weight_decay,
            seed=self.seed * 1000 + generation,
        )

    def generation_config(self):
        from simcollapse.lm.generate import GenerationConfig

        return GenerationConfig(
            max_new_tokens=self.new_tokens,
            min_new_tokens=self.new_tokens,
            num_beams=self.num_beams,
            repetition_penalty=1.0 if self.repetition_penalty is None else float(self.repetition_penalty),
        )


def generate_continuations(
    config, params, blocks, gen, batch_size: int = 16, progress: bool = False, desc="generate"
):
    """``(n, gen.max_new_tokens)`` int32: each block's continuation (blocks are full, unpadded prompts).

    The last batch is filled up with copies of its first row so that every call has the same shape.
    """
    import jax.numpy as jnp

    from simcollapse.lm.generate import generate
    from simcollapse.progress import tqdm

    blocks = np.asarray(blocks, np.int32)
    n, t = blocks.shape
    outs = []
    for i in tqdm(
        range(0, n, batch_size), total=math.ceil(n / batch_size), disable=not progress, desc=desc, leave=False
    ):
        b = blocks[i : i + batch_size]
        k = len(b)
        if k < batch_size:
            b = np.concatenate([b, np.repeat(b[:1], batch_size - k, axis=0)])
        x = jnp.asarray(b)
        out = generate(config, params, x, jnp.ones_like(x), gen)
        outs.append(np.asarray(out.sequences[:k, t:], np.int32))
    return np.concatenate(outs)


def next_training_set(generated, real, real_fraction: float, rng: np.random.RandomState):
    """Generated rows with a random ``real_fraction`` of them replaced by the real block of the same index.

    Returns ``(blocks, kept_indices)``. Generated rows and real blocks must have the same width.
    """
    generated = np.asarray(generated, np.int32)
    real = np.asarray(real, np.int32)
    if generated.shape != real.shape:
        raise ValueError(f"generated data {generated.shape} and real blocks {real.shape} differ in shape")
    k = round(real_fraction * len(real))
    kept = np.sort(rng.choice(len(real), size=k, replace=False)) if k else np.zeros(0, np.int64)
    out = generated.copy()
    out[kept] = real[kept]
    return out, kept


def _write_json(path: Path, obj) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(obj, indent=2, default=float))
    tmp.replace(path)


def run_lm(cfg: LMLoopConfig) -> list[dict]:
    """Run (or resume) the loop; returns one metrics dict per generation (also written to ``cfg.out``)."""
    from simcollapse.core import results
    from simcollapse.lm.checkpoint import load_pretrained, save_pretrained
    from simcollapse.lm.data import check_lengths, find_split_files, load_blocks
    from simcollapse.lm.evaluate import (
        continue_prompt,
        perplexity,
        plot_lm,
        sequence_perplexities,
        text_stats,
    )
    from simcollapse.lm.train import train

    out = Path(cfg.out)
    if cfg.toy:
        from simcollapse.lm import toy

        model_dir, data_dir = toy.build(out / "toy", seed=cfg.seed)
    else:
        model_dir, data_dir = Path(cfg.model_dir), Path(cfg.data_dir)
    if not model_dir.is_dir():
        raise ConfigError("model_dir", f"model directory {str(model_dir)!r} does not exist")
    try:
        find_split_files(data_dir)  # fail early, naming missing corpus files
    except FileNotFoundError as err:
        raise ConfigError("data_dir", str(err)) from None
    pre = load_pretrained(model_dir)
    if pre.tokenizer is None:
        raise ConfigError(
            "model_dir", f"no tokenizer in {str(model_dir)!r} (need tokenizer.json, or vocab.json and merges.txt)"
        )
    config, tok = pre.config, pre.tokenizer
    try:
        check_lengths(config, cfg.block, cfg.new_tokens)
    except ValueError as err:
        raise ConfigError("block", str(err)) from None
    cap = None
    if cfg.max_train_blocks is not None or cfg.max_eval_blocks is not None:
        cap = {"train": cfg.max_train_blocks, "validation": cfg.max_eval_blocks, "test": cfg.max_eval_blocks}
    data = load_blocks(data_dir, tok, cfg.block, max_blocks=cap)
    real, val, test = data["train"], data["validation"], data["test"]
    ebs = cfg.eval_batch_size or cfg.batch_size
    gbs = cfg.gen_batch_size or cfg.batch_size
    gen = cfg.generation_config()

    results.write_config(out, cfg)

    zero_shot = None
    all_metrics, seq_ppl = [], {}
    prev_params = None  # the last finished generation's parameters (loaded lazily on resume)
    gen0_params = None
    for g in range(cfg.generations + 1):
        gdir = out / f"gen_{g:02d}"
        if (gdir / "metrics.json").is_file():
            all_metrics.append(json.loads((gdir / "metrics.json").read_text()))
            if (gdir / "seq_ppl.npy").is_file():
                seq_ppl[g] = np.load(gdir / "seq_ppl.npy")
            prev_params = None
            if cfg.progress:
                print(f"generation {g}: finished earlier, skipped")
            continue
        gdir.mkdir(parents=True, exist_ok=True)
        if g > 0 and prev_params is None:
            prev_params = load_pretrained(out / f"gen_{g - 1:02d}", tokenizer=False).params
        if g > 0 and gen0_params is None:
            gen0_params = load_pretrained(out / "gen_00", tokenizer=False).params

        # training data
        metrics: dict = {"generation": g}
        data_file = gdir / "train_blocks.npy"
        if g == 0:
            blocks = real
            zero_shot = perplexity(config, pre.params, test, ebs, progress=cfg.progress)
            metrics["zero_shot"] = zero_shot
        elif data_file.is_file():
            blocks = np.load(data_file)
        else:
            generated = generate_continuations(
                config, prev_params, real, gen, gbs, progress=cfg.progress, desc=f"gen {g} data"
            )
            blocks, kept = next_training_set(
                generated, real, cfg.real_fraction, np.random.RandomState(cfg.seed * 1000 + g)
            )
            np.save(gdir / "kept_real.npy", kept)
        np.save(data_file, blocks)
        if g > 0:
            kept_file = gdir / "kept_real.npy"
            kept = np.load(kept_file) if kept_file.is_file() else np.zeros(0, np.int64)
            metrics["real_rows"] = len(kept)
            gen_rows = np.setdiff1d(np.arange(len(blocks)), kept)
            metrics["generated_text"] = text_stats(blocks[gen_rows]) if len(gen_rows) else {}
        metrics["data_text"] = text_stats(blocks)

        # training
        init = pre.params if (cfg.init == "pretrained" or g == 0) else prev_params
        res = train(config, init, blocks, val, cfg.train_config(g), progress=cfg.progress, desc=f"gen {g}")
        params = res.params
        save_pretrained(gdir, config, params, tok)
        if g == 0:
            gen0_params = params
        metrics["best_epoch"] = res.best_epoch
        metrics["history"] = res.history
        metrics["validation"] = perplexity(config, params, val, ebs)
        metrics["test"] = perplexity(config, params, test, ebs, progress=cfg.progress)
        sp = sequence_perplexities(config, gen0_params, blocks, ebs, progress=cfg.progress)
        np.save(gdir / "seq_ppl.npy", sp)
        seq_ppl[g] = sp
        metrics["seq_ppl_under_gen0"] = {
            "mean": float(sp.mean()),
            "median": float(np.median(sp)),
            "p05": float(np.quantile(sp, 0.05)),
            "p95": float(np.quantile(sp, 0.95)),
        }
        if cfg.prompt:
            metrics["example"] = {
                "prompt": cfg.prompt,
                "continuation": continue_prompt(config, params, tok, cfg.prompt, gen, cfg.block, gbs),
            }
        _write_json(gdir / "metrics.json", metrics)
        all_metrics.append(metrics)
        prev_params = params
        if cfg.progress:
            print(
                f"generation {g}: test ppl {metrics['test']['ppl_batch']:.2f} (batch mean), "
                f"{metrics['test']['ppl_token']:.2f} (token-weighted)"
            )

    if zero_shot is None and all_metrics and "zero_shot" in all_metrics[0]:
        zero_shot = all_metrics[0]["zero_shot"]
    _write_json(out / "metrics.json", all_metrics)
    plot_lm(all_metrics, seq_ppl, out / "lm_collapse.png")
    # written last: a run directory with stats.npz is finished (`simcollapse plot` and `report` read it)
    results.save_stats(out, np.arange(len(all_metrics)), results.metric_stats(all_metrics, STATISTICS))
    return all_metrics
