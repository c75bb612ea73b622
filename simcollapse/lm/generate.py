"""Text generation for OPT: greedy search, beam search and sampling, jitted with fixed shapes and a KV cache.

In the language-model experiment of Shumailov et al. (Nature 631, 2024), each generation's training
data is produced by the previous generation's model from 64-token blocks of wikitext-2 with 5-way
beam search, 64 new tokens per block; the defaults of ``GenerationConfig`` reproduce that setting
(``num_beams=5``, ``min_new_tokens = max_new_tokens = 64``, so end-of-sequence is never emitted).

Semantics follow the Hugging Face ``generate`` conventions so that results can be compared token for
token with the reference implementation:

* prompts are left-padded (``attention_mask`` 0 on padding); positions come from the mask (OPT);
* logits processors: repetition penalty (``penalty != 1``: the score of every token already present
  in the row -- prompt and new tokens, left padding excluded -- is divided by the penalty if
  positive and multiplied by it if negative) and a minimum number of new tokens (end-of-sequence
  scores set to -inf before ``min_new_tokens``); greedy and sampling apply them to the logits, beam
  search (as HF does) to the log-softmax, where every score is negative;
* the numeric settings (penalties, temperature, top-k, top-p, ``min_new_tokens``) are traced
  arguments: changing them does not recompile;
* sampling then applies temperature, top-k and top-p (nucleus: keep the smallest set of most likely
  tokens whose probability reaches ``top_p``) before drawing from the softmax;
* beam search keeps ``2 * num_beams`` candidates per step (more with several EOS ids); candidates
  ending in EOS (or reaching ``max_new_tokens``) among the top ``num_beams`` become finished
  hypotheses scored ``sum log p / new_len ** length_penalty``; the rest continue. A batch row stops
  accepting hypotheses once no running beam can beat its worst finished one (``early_stopping``:
  False = HF's default heuristic, True = stop when ``num_beams`` are finished, "never").

All loops run under ``jax.jit`` as ``lax.while_loop`` with shapes fixed by (batch, prompt length,
``max_new_tokens``, ``num_beams``); output rows are padded with ``pad_token_id`` after EOS.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from simcollapse.lm.model import OPTConfig, OPTForCausalLM, init_cache

__all__ = [
    "GenerateOutput",
    "GenerationConfig",
    "beam_search",
    "generate",
    "greedy_search",
    "left_pad",
    "sample",
]

Array = jax.Array
_NEG = -1.0e9  # the "impossible" score used for bookkeeping, as in HF


@dataclasses.dataclass(frozen=True)
class GenerationConfig:
    """Decoding settings; the defaults are the Nature paper's (5 beams, exactly 64 new tokens).

    ``do_sample=True`` samples (``num_beams`` must then be 1); otherwise ``num_beams == 1`` is greedy
    search and ``num_beams > 1`` beam search. ``top_k=0`` and ``top_p=1.0`` disable those filters,
    ``repetition_penalty=1.0`` disables the penalty.
    """

    max_new_tokens: int = 64
    min_new_tokens: int = 64
    num_beams: int = 5
    length_penalty: float = 1.0
    early_stopping: bool | str = False
    repetition_penalty: float = 1.0
    do_sample: bool = False
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    num_return_sequences: int = 1

    def __post_init__(self):
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")
        if not 0 <= self.min_new_tokens <= self.max_new_tokens:
            raise ValueError(
                f"min_new_tokens must be in [0, max_new_tokens={self.max_new_tokens}], "
                f"got {self.min_new_tokens}"
            )
        if self.num_beams < 1:
            raise ValueError(f"num_beams must be >= 1, got {self.num_beams}")
        if self.do_sample and self.num_beams != 1:
            raise ValueError("beam sampling is not supported: use do_sample=True with num_beams=1")
        if self.repetition_penalty <= 0:
            raise ValueError(f"repetition_penalty must be > 0, got {self.repetition_penalty}")
        if self.temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")
        if self.top_k < 0 or not 0.0 < self.top_p <= 1.0:
            raise ValueError(
                f"need top_k >= 0 and 0 < top_p <= 1, got top_k={self.top_k}, top_p={self.top_p}"
            )
        if self.early_stopping not in (True, False, "never"):
            raise ValueError(f"early_stopping must be True, False or 'never', got {self.early_stopping!r}")
        limit = max(1, self.num_beams)
        if not 1 <= self.num_return_sequences <= limit:
            raise ValueError(f"num_return_sequences must be in [1, {limit}], got {self.num_return_sequences}")


class GenerateOutput(NamedTuple):
    """``sequences``: ``(batch * num_return_sequences, prompt_len + max_new_tokens)`` int32, the
    (left-padded) prompt followed by the new tokens, ``pad_token_id`` after an EOS.
    ``scores``: ``(batch * num_return_sequences,)`` float32. Beam search: the hypothesis score
    ``sum log p / new_len ** length_penalty`` (log-probs after the logits processors, as HF's
    ``sequences_scores``). Greedy and sampling: the sum of the model's unprocessed log-probabilities of
    the generated tokens up to and including EOS."""

    sequences: Array
    scores: Array


# ----------------------------------------------------------------------------------------------------
# helpers


def left_pad(token_lists: Sequence[Sequence[int]], pad_token_id: int, length: int | None = None):
    """Stack token lists into left-padded ``(input_ids, attention_mask)`` int32 arrays of width ``length``
    (default: the longest list). Lists longer than ``length`` raise ``ValueError``."""
    n = max((len(t) for t in token_lists), default=0) if length is None else length
    ids = np.full((len(token_lists), n), pad_token_id, np.int32)
    mask = np.zeros((len(token_lists), n), np.int32)
    for i, t in enumerate(token_lists):
        if len(t) > n:
            raise ValueError(f"token list {i} has {len(t)} tokens, more than length={n}")
        if len(t):
            ids[i, n - len(t) :] = t
            mask[i, n - len(t) :] = 1
    return jnp.asarray(ids), jnp.asarray(mask)


def _eos_mask(config: OPTConfig) -> Array:
    m = np.zeros((config.vocab_size,), bool)
    for e in config.eos_token_ids:
        m[e] = True
    return jnp.asarray(m)


class _Knobs(NamedTuple):
    """The numeric decoding settings, passed to the jitted loops as arrays so that changing them does
    not recompile (a penalty of 1, temperature 1, top_k 0 and top_p 1 are exact no-ops)."""

    min_new_tokens: Array
    repetition_penalty: Array
    temperature: Array
    top_k: Array
    top_p: Array
    length_penalty: Array


def _split(gen: GenerationConfig) -> tuple[GenerationConfig, _Knobs]:
    """(the static part of ``gen``, with the numeric knobs reset to neutral values; the knobs)."""
    knobs = _Knobs(
        jnp.int32(gen.min_new_tokens),
        jnp.float32(gen.repetition_penalty),
        jnp.float32(gen.temperature),
        jnp.int32(gen.top_k),
        jnp.float32(gen.top_p),
        jnp.float32(gen.length_penalty),
    )
    static = dataclasses.replace(
        gen, min_new_tokens=0, repetition_penalty=1.0, temperature=1.0, top_k=0, top_p=1.0, length_penalty=1.0
    )
    return static, knobs


def _process(scores, presence, step, config: OPTConfig, knobs: _Knobs):
    """Repetition penalty and min-new-tokens on ``scores`` ``(rows, vocab)``."""
    p = knobs.repetition_penalty
    penalised = jnp.where(scores < 0, scores * p, scores / p)
    scores = jnp.where(presence, penalised, scores)
    if config.eos_token_ids:
        scores = jnp.where(_eos_mask(config)[None, :] & (step < knobs.min_new_tokens), -jnp.inf, scores)
    return scores


def _warp(scores, knobs: _Knobs):
    """Temperature, then top-k, then top-p filtering of logits (filtered entries -> -inf)."""
    scores = scores / knobs.temperature
    v = scores.shape[-1]
    order = jnp.argsort(scores, axis=-1)  # ascending
    sorted_scores = jnp.take_along_axis(scores, order, axis=-1)
    # top-k: drop everything below the k-th largest score
    kth = jnp.where(knobs.top_k > 0, sorted_scores[:, jnp.clip(v - knobs.top_k, 0, v - 1)], -jnp.inf)
    sorted_scores = jnp.where(sorted_scores < kth[:, None], -jnp.inf, sorted_scores)
    # top-p: drop the least likely tokens whose total probability is at most 1 - top_p, keep the best
    cum = jnp.cumsum(jax.nn.softmax(sorted_scores, axis=-1), axis=-1)
    remove_sorted = (cum <= (1.0 - knobs.top_p)) | (sorted_scores == -jnp.inf)
    remove_sorted = remove_sorted.at[:, -1].set(False)
    remove = jnp.zeros_like(remove_sorted).at[jnp.arange(scores.shape[0])[:, None], order].set(remove_sorted)
    return jnp.where(remove, -jnp.inf, scores)


def _presence(input_ids, attention_mask, vocab_size):
    """``(rows, vocab)`` bool: which tokens occur in each prompt (padding excluded)."""
    rows = jnp.arange(input_ids.shape[0])[:, None]
    counts = jnp.zeros((input_ids.shape[0], vocab_size), jnp.int32).at[rows, input_ids].add(attention_mask)
    return counts > 0


def _prepare(config, input_ids, attention_mask, gen):
    """The jitted loops' inputs: ``input_ids`` and ``attention_mask`` checked and cast to int32, then ``gen``
    split into its static part and its knobs (``_split``)."""
    input_ids = jnp.asarray(input_ids)
    if input_ids.ndim != 2:
        raise ValueError(f"input_ids must be (batch, prompt_len), got shape {input_ids.shape}")
    if attention_mask is None:
        attention_mask = jnp.ones_like(input_ids)
    attention_mask = jnp.asarray(attention_mask)
    if attention_mask.shape != input_ids.shape:
        raise ValueError(f"attention_mask shape {attention_mask.shape} != input_ids shape {input_ids.shape}")
    total = input_ids.shape[1] + gen.max_new_tokens
    if total > config.max_position_embeddings:
        raise ValueError(
            f"prompt of {input_ids.shape[1]} tokens + max_new_tokens={gen.max_new_tokens} = {total} exceeds "
            f"max_position_embeddings={config.max_position_embeddings}"
        )
    try:
        right_padded = bool(jnp.any(attention_mask[:, -1] == 0))
    except jax.errors.ConcretizationTypeError:  # traced mask: cannot check
        right_padded = False
    if right_padded:
        raise ValueError("prompts must be left-padded: attention_mask[:, -1] must be 1 for every row")
    return input_ids.astype(jnp.int32), attention_mask.astype(jnp.int32), *_split(gen)


def _model(config, dtype, precision):
    return OPTForCausalLM(config, dtype=dtype, precision=precision)


# ----------------------------------------------------------------------------------------------------
# greedy search and sampling


@functools.partial(jax.jit, static_argnames=("config", "gen", "dtype", "precision"))
def _decode_one_path(params, input_ids, attention_mask, rng, knobs, config, gen, dtype, precision):
    model = _model(config, dtype, precision)
    b, t = input_ids.shape
    n = gen.max_new_tokens
    full_mask = jnp.concatenate([attention_mask, jnp.ones((b, n), jnp.int32)], axis=1)
    out = model.apply(
        {"params": params}, input_ids, full_mask, cache=init_cache(config, b, t + n, dtype), cache_index=0
    )
    eos = _eos_mask(config)
    pad = config.pad_token_id

    def body(state):
        step, cache, logits, seq, finished, presence, score = state
        raw_logp = jax.nn.log_softmax(logits, axis=-1)
        s = _process(logits, presence, step, config, knobs)
        if gen.do_sample:
            s = _warp(s, knobs)
            tok = jax.random.categorical(jax.random.fold_in(rng, step), s, axis=-1).astype(jnp.int32)
        else:
            tok = jnp.argmax(s, axis=-1).astype(jnp.int32)
        score = score + jnp.where(finished, 0.0, jnp.take_along_axis(raw_logp, tok[:, None], axis=1)[:, 0])
        tok = jnp.where(finished, pad, tok)
        seq = seq.at[:, step].set(tok)
        finished = finished | eos[tok]
        presence = presence.at[jnp.arange(b), tok].set(True)
        out = model.apply({"params": params}, tok[:, None], full_mask, cache=cache, cache_index=t + step)
        return step + 1, out.cache, out.logits[:, 0], seq, finished, presence, score

    def cond(state):
        step, finished = state[0], state[4]
        return (step < n) & ~jnp.all(finished)

    state = (
        jnp.int32(0),
        out.cache,
        out.logits[:, -1],
        jnp.full((b, n), pad, jnp.int32),
        jnp.zeros((b,), bool),
        _presence(input_ids, attention_mask, config.vocab_size),
        jnp.zeros((b,), jnp.float32),
    )
    state = jax.lax.while_loop(cond, body, state)
    return GenerateOutput(jnp.concatenate([input_ids, state[3]], axis=1), state[6])


def greedy_search(config: OPTConfig, params, input_ids, attention_mask=None, gen: GenerationConfig | None = None,
                  **options) -> GenerateOutput:
    """Greedy decoding: at each step the most likely token after the logits processors (``options``: ``dtype``,
    ``precision`` as for :func:`generate`)."""
    gen = dataclasses.replace(gen or GenerationConfig(), num_beams=1, do_sample=False, num_return_sequences=1)
    return generate(config, params, input_ids, attention_mask, gen, **options)


def sample(config: OPTConfig, params, input_ids, attention_mask=None, gen: GenerationConfig | None = None,
           **options) -> GenerateOutput:
    """Ancestral sampling with temperature / top-k / top-p (``options``: ``rng``, a ``jax.random`` key, and
    ``dtype``, ``precision`` as for :func:`generate`)."""
    gen = dataclasses.replace(gen or GenerationConfig(), num_beams=1, do_sample=True, num_return_sequences=1)
    return generate(config, params, input_ids, attention_mask, gen, **options)


# ----------------------------------------------------------------------------------------------------
# beam search


def _gather(x, idx):
    """``x[b, idx[b, j], ...]`` for ``x`` ``(B, K, ...)`` and ``idx`` ``(B, J)``."""
    return jnp.take_along_axis(x, idx.reshape(idx.shape + (1,) * (x.ndim - 2)), axis=1)


@functools.partial(jax.jit, static_argnames=("config", "gen", "dtype", "precision"))
def _beam_search(params, input_ids, attention_mask, knobs, config, gen, dtype, precision):
    model = _model(config, dtype, precision)
    b, t = input_ids.shape
    k, n = gen.num_beams, gen.max_new_tokens
    v = config.vocab_size
    pad = config.pad_token_id
    eos = _eos_mask(config)
    keep = max(2, 1 + len(config.eos_token_ids)) * k
    if keep > k * v:
        raise ValueError(f"num_beams={k} is too large for a vocabulary of {v}")
    lp = knobs.length_penalty

    # prompt once per row, then copy its cache to the K beams
    full_mask = jnp.concatenate([attention_mask, jnp.ones((b, n), jnp.int32)], axis=1)
    out = model.apply(
        {"params": params}, input_ids, full_mask, cache=init_cache(config, b, t + n, dtype), cache_index=0
    )
    cache = jax.tree_util.tree_map(lambda x: jnp.repeat(x, k, axis=0), out.cache)
    logits = jnp.repeat(out.logits[:, -1], k, axis=0)
    beam_mask = jnp.repeat(full_mask, k, axis=0)
    presence = jnp.repeat(_presence(input_ids, attention_mask, v), k, axis=0)
    top_slots = jnp.arange(keep) < k

    def body(state):
        (step, cache, logits, presence, run_seq, run_scores, fin_seq, fin_scores, fin_flag, unsat) = state
        logp = _process(jax.nn.log_softmax(logits, axis=-1), presence, step, config, knobs)
        acc = (logp.reshape(b, k, v) + run_scores[:, :, None]).reshape(b, k * v)
        top_vals, top_idx = jax.lax.top_k(acc, keep)
        src = top_idx // v
        tok = (top_idx % v).astype(jnp.int32)
        cand_seq = _gather(run_seq, src).at[:, :, step].set(tok)
        hits = eos[tok] | (step == n - 1)

        # the best num_beams candidates that did not just stop keep running
        run_vals = top_vals + hits.astype(jnp.float32) * _NEG
        nxt_vals, nxt = jax.lax.top_k(run_vals, k)
        run_seq = _gather(cand_seq, nxt)
        run_scores = nxt_vals
        new_tok = jnp.take_along_axis(tok, nxt, axis=1)
        row_src = (jnp.arange(b)[:, None] * k + jnp.take_along_axis(src, nxt, axis=1)).reshape(-1)

        # stopped candidates among the top num_beams join the finished hypotheses
        just = hits & top_slots[None, :]
        f_vals = top_vals / (step + 1).astype(jnp.float32) ** lp
        if gen.early_stopping is True:
            f_vals = f_vals + jnp.all(fin_flag, axis=1, keepdims=True).astype(jnp.float32) * _NEG
        f_vals = f_vals + (~unsat).astype(jnp.float32)[:, None] * _NEG
        f_vals = f_vals + (~just).astype(jnp.float32) * _NEG
        m_scores = jnp.concatenate([fin_scores, f_vals], axis=1)
        fin_scores, sel = jax.lax.top_k(m_scores, k)
        fin_seq = _gather(jnp.concatenate([fin_seq, cand_seq], axis=1), sel)
        fin_flag = _gather(jnp.concatenate([fin_flag, just], axis=1), sel)

        # can a running beam still beat the worst finished hypothesis?
        new_len = (step + 1).astype(jnp.float32)
        if gen.early_stopping == "never":
            new_len = jnp.where(lp > 0, jnp.float32(n), new_len)
        best_running = run_scores[:, :1] / new_len**lp
        worst = jnp.where(fin_flag, jnp.min(fin_scores, axis=1, keepdims=True), _NEG)
        unsat = unsat & jnp.any(best_running > worst, axis=1)

        # advance the beams: reorder cache and presence, then one decoding step
        cache = jax.tree_util.tree_map(lambda x: x[row_src], cache)
        flat_tok = new_tok.reshape(-1)
        presence = presence[row_src].at[jnp.arange(b * k), flat_tok].set(True)
        out = model.apply({"params": params}, flat_tok[:, None], beam_mask, cache=cache, cache_index=t + step)
        return (
            step + 1,
            out.cache,
            out.logits[:, 0],
            presence,
            run_seq,
            run_scores,
            fin_seq,
            fin_scores,
            fin_flag,
            unsat,
        )

    def cond(state):
        step, fin_flag, unsat = state[0], state[8], state[9]
        go = (step < n) & jnp.any(unsat)
        if gen.early_stopping is True:
            go = go & ~jnp.all(fin_flag)
        return go

    state = (
        jnp.int32(0),
        cache,
        logits,
        presence,
        jnp.full((b, k, n), pad, jnp.int32),
        jnp.tile(jnp.asarray([0.0] + [_NEG] * (k - 1), jnp.float32), (b, 1)),
        jnp.full((b, k, n), pad, jnp.int32),
        jnp.full((b, k), _NEG, jnp.float32),
        jnp.zeros((b, k), bool),
        jnp.ones((b,), bool),
    )
    state = jax.lax.while_loop(cond, body, state)
    fin_seq, fin_scores = state[6], state[7]
    r = gen.num_return_sequences
    new = fin_seq[:, :r].reshape(b * r, n)
    prompt = jnp.repeat(input_ids, r, axis=0)
    return GenerateOutput(jnp.concatenate([prompt, new], axis=1), fin_scores[:, :r].reshape(-1))


def beam_search(config: OPTConfig, params, input_ids, attention_mask=None, gen: GenerationConfig | None = None,
                dtype=jnp.float32, precision=None) -> GenerateOutput:
    """Beam search with ``gen.num_beams`` beams (HF semantics, see the module docstring), one beam included."""
    gen = dataclasses.replace(gen or GenerationConfig(), do_sample=False)
    input_ids, attention_mask, gen, knobs = _prepare(config, input_ids, attention_mask, gen)
    return _beam_search(params, input_ids, attention_mask, knobs, config, gen, dtype, precision)


def generate(
    config: OPTConfig,
    params,
    input_ids,
    attention_mask=None,
    gen: GenerationConfig | None = None,
    rng=None,
    dtype=jnp.float32,
    precision=None,
) -> GenerateOutput:
    """Dispatch on ``gen``: sampling if ``do_sample`` (``rng``, a ``jax.random`` key, is then required), greedy
    if ``num_beams == 1``, else beam search.

    ``input_ids``/``attention_mask``: ``(batch, prompt_len)``, left-padded (see ``left_pad``).
    ``dtype``: activation dtype (float32 or bfloat16); ``params`` are used as given.
    """
    gen = gen or GenerationConfig()
    if gen.do_sample and rng is None:
        raise ValueError("sampling needs an rng key (jax.random.PRNGKey)")
    if not gen.do_sample and gen.num_beams > 1:
        return beam_search(config, params, input_ids, attention_mask, gen, dtype, precision)
    gen = dataclasses.replace(gen, num_beams=1, num_return_sequences=1)
    input_ids, attention_mask, gen, knobs = _prepare(config, input_ids, attention_mask, gen)
    rng = jax.random.PRNGKey(0) if rng is None else rng  # greedy decoding reads no bits
    return _decode_one_path(params, input_ids, attention_mask, rng, knobs, config, gen, dtype, precision)
