"""Fine-tuning OPT with next-token cross-entropy, as in the Nature language-model experiment.

Settings of the reference code: AdamW, learning rate 2e-5 decayed with a cosine schedule (here to
``final_lr=1e-6`` over all steps), a few epochs per generation, and the parameters kept are those with
the best validation loss (checked after each epoch). Padding (``attention_mask == 0``) is masked out
of the loss: a target token counts only when it and the token before it are real. Dropout follows the
model config (OPT-125m: 0.1) during training.

All arrays are float32 (the package enables float64 globally; the optimizer updates are cast back to
the parameter dtype). Batches have a fixed size (the last one is padded with fully masked rows) so the
train step compiles once.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from simcollapse.lm.model import OPTConfig, OPTForCausalLM

__all__ = [
    "TrainConfig",
    "TrainResult",
    "cosine_lr",
    "make_optimizer",
    "sequence_losses",
    "token_nll",
    "train",
]


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """``epochs`` and ``batch_size`` per generation (paper: 5 epochs with 0 % real data, 10 with 10 %;
    reference code batch 128); ``lr`` peak learning rate, cosine-decayed to ``final_lr``."""

    epochs: int = 5
    batch_size: int = 128
    lr: float = 2e-5
    final_lr: float = 1e-6
    weight_decay: float = 0.01
    seed: int = 0
    dropout: bool = True  # use the config's dropout rates while training

    def __post_init__(self):
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError(f"epochs and batch_size must be >= 1, got {self.epochs}, {self.batch_size}")
        if not self.lr > 0 or not 0 <= self.final_lr <= self.lr:
            raise ValueError(f"need lr > 0 and 0 <= final_lr <= lr, got {self.lr}, {self.final_lr}")


@dataclasses.dataclass
class TrainResult:
    params: Any  # the parameters with the best validation loss
    best_epoch: int  # 1-based
    history: list  # one dict per epoch: epoch, train_loss, val_loss, val_ppl


def token_nll(config: OPTConfig, params, ids, mask, rng=None):
    """Negative log-likelihood of each next token ``(batch, T-1)`` and its validity mask (float32)."""
    kwargs = {}
    deterministic = rng is None
    if not deterministic:
        kwargs["rngs"] = {"dropout": rng}
    logits = (
        OPTForCausalLM(config)
        .apply({"params": params}, ids, mask, deterministic=deterministic, **kwargs)
        .logits
    )
    logp = jax.nn.log_softmax(logits[:, :-1].astype(jnp.float32), axis=-1)
    nll = -jnp.take_along_axis(logp, ids[:, 1:, None], axis=-1)[..., 0]
    valid = (mask[:, 1:] * mask[:, :-1]).astype(jnp.float32)
    return nll * valid, valid


@functools.partial(jax.jit, static_argnames=("config",))
def _seq_losses(params, ids, mask, config):
    nll, valid = token_nll(config, params, ids, mask)
    return nll.sum(1), valid.sum(1)


def _batches(blocks: np.ndarray, batch_size: int, order=None):
    """Yield fixed-size ``(ids, mask, n_real)`` batches; the last is padded with masked rows."""
    n, t = blocks.shape
    order = np.arange(n) if order is None else order
    for i in range(0, n, batch_size):
        idx = order[i : i + batch_size]
        ids = np.ones((batch_size, t), np.int32)
        mask = np.zeros((batch_size, t), np.int32)
        ids[: len(idx)] = blocks[idx]
        mask[: len(idx)] = 1
        yield jnp.asarray(ids), jnp.asarray(mask), len(idx)


def sequence_losses(
    config: OPTConfig, params, blocks, batch_size: int = 64, progress: bool = False, desc="eval"
):
    """Per-sequence summed NLL and token counts ``(n,), (n,)`` of ``blocks`` ``(n, T)`` (no padding inside)."""
    from simcollapse.progress import tqdm

    blocks = np.asarray(blocks, np.int32)
    sums, counts = [], []
    nb = math.ceil(len(blocks) / batch_size)
    for ids, mask, k in tqdm(
        _batches(blocks, batch_size), total=nb, disable=not progress, desc=desc, leave=False
    ):
        s, c = _seq_losses(params, ids, mask, config)
        sums.append(np.asarray(s)[:k])
        counts.append(np.asarray(c)[:k])
    return np.concatenate(sums).astype(np.float64), np.concatenate(counts).astype(np.float64)


def cosine_lr(tc: TrainConfig, step: int, total_steps: int) -> float:
    """Learning rate at optimizer step ``step`` (0-based): cosine from ``tc.lr`` to ``tc.final_lr``."""
    frac = min(step, total_steps) / max(1, total_steps)
    return tc.final_lr + 0.5 * (tc.lr - tc.final_lr) * (1.0 + math.cos(math.pi * frac))


def make_optimizer(weight_decay: float):
    """AdamW without its learning rate (``optax.adamw`` = this chain, then a scale by ``-lr``): the
    train step multiplies by the scheduled rate, passed as an argument so that the compiled step does
    not depend on the schedule."""
    import optax

    return optax.chain(optax.scale_by_adam(), optax.add_decayed_weights(weight_decay))


@functools.lru_cache(maxsize=16)
def _make_step(config: OPTConfig, weight_decay: float, use_dropout: bool):
    import optax

    optimizer = make_optimizer(weight_decay)

    def loss_fn(params, ids, mask, rng):
        nll, valid = token_nll(config, params, ids, mask, rng if use_dropout else None)
        return nll.sum() / jnp.maximum(valid.sum(), 1.0)

    @jax.jit
    def step(params, opt_state, ids, mask, rng, lr):
        loss, grads = jax.value_and_grad(loss_fn)(params, ids, mask, rng)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        updates = jax.tree_util.tree_map(lambda u, p: (-lr * u).astype(p.dtype), updates, params)
        params = optax.apply_updates(params, updates)
        return params, opt_state, loss

    return optimizer, step


def _cast_state(state, like_dtype=jnp.float32):
    return jax.tree_util.tree_map(
        lambda x: x.astype(like_dtype) if hasattr(x, "dtype") and x.dtype == jnp.float64 else x, state
    )


def train(
    config: OPTConfig,
    params,
    train_blocks,
    val_blocks,
    tc: TrainConfig | None = None,
    progress: bool = True,
    desc: str = "train",
) -> TrainResult:
    """Fine-tune ``params`` on ``train_blocks`` ``(n, T)``; return the parameters best on ``val_blocks``."""
    from simcollapse.progress import tqdm

    tc = tc or TrainConfig()
    train_blocks = np.asarray(train_blocks, np.int32)
    if train_blocks.ndim != 2 or len(train_blocks) == 0:
        raise ValueError(f"train_blocks must be a non-empty (n, T) array, got shape {train_blocks.shape}")
    if train_blocks.shape[1] > config.max_position_embeddings:
        raise ValueError(
            f"blocks of {train_blocks.shape[1]} tokens are longer than "
            f"max_position_embeddings={config.max_position_embeddings}"
        )
    params = jax.tree_util.tree_map(lambda x: jnp.asarray(x, jnp.float32), params)
    steps_per_epoch = math.ceil(len(train_blocks) / tc.batch_size)
    total_steps = steps_per_epoch * tc.epochs
    use_dropout = bool(tc.dropout and (config.dropout > 0 or config.attention_dropout > 0))
    optimizer, step = _make_step(config, float(tc.weight_decay), use_dropout)
    opt_state = _cast_state(optimizer.init(params))
    n_step = 0
    rs = np.random.RandomState(tc.seed)
    key = jax.random.PRNGKey(tc.seed)
    best, best_loss, best_epoch, history = params, math.inf, 0, []
    for epoch in range(1, tc.epochs + 1):
        order = rs.permutation(len(train_blocks))
        losses = []
        bar = tqdm(
            _batches(train_blocks, tc.batch_size, order),
            total=steps_per_epoch,
            disable=not progress,
            desc=f"{desc} epoch {epoch}/{tc.epochs}",
            leave=False,
        )
        for ids, mask, _ in bar:
            key, sub = jax.random.split(key)
            lr = jnp.float32(cosine_lr(tc, n_step, total_steps))
            params, opt_state, loss = step(params, opt_state, ids, mask, sub, lr)
            n_step += 1
            losses.append(loss)  # kept on device: no host sync every step
            if progress and n_step % 50 == 1:
                bar.set_postfix(loss=f"{float(loss):.3f}")
        s, c = sequence_losses(config, params, val_blocks, tc.batch_size)
        val_loss = float(s.sum() / max(c.sum(), 1.0))
        history.append(
            {
                "epoch": epoch,
                "train_loss": float(np.mean([float(x) for x in losses])),
                "val_loss": val_loss,
                "val_ppl": float(math.exp(min(val_loss, 700.0))),
            }
        )
        if val_loss < best_loss:
            best, best_loss, best_epoch = params, val_loss, epoch
    return TrainResult(best, best_epoch, history)
