"""Exact gamma, chi-square and Bartlett–Wishart draws, returned in log space.

`log_gamma` is Marsaglia & Tsang's method ("A simple method for generating gamma variables", ACM TOMS 26(3),
2000): with d = a − ⅓, c = 1/√(9d), propose v = (1 + c x)³ for x ~ N(0, 1) and accept when
log u < x²/2 + d − d v + d log v (u uniform); then G = d v ~ Gamma(a). Shapes a < 1 use the boost
G(a) = G(a + 1)·U^{1/a}. The first accepted candidate of an i.i.d. sequence is taken, so the law is exact.
Results are log G, so a χ²₁ draw near 0 never underflows.

Rejections are rare (a candidate is accepted with probability ≥ 0.95 for a ≥ 1, ≥ 0.999 for χ²₉₉/2), and no
element pays for another's. Every element draws two candidates at once (so a redraw is needed with
probability ≤ 0.0025, and ≈ 3·10⁻⁷ for χ²₉₉); the few elements that rejected both
are then gathered (a block of at most ~1/16 of the elements, a multiple of 64) and draw again, until none is
left. Under ``vmap`` (the driver's chain axis) a batching rule (``jax.custom_batching``) gathers over the whole
batch, so one chain's rejection costs one gathered candidate, not a candidate for every chain (XLA's CPU
gathers and scans cost far more per element than the draws, so the gathering must stay rare). Each element's
numbers have fixed counters under its key (its index i in rounds 0, 1: the proposal normals; 2, 3: the
acceptance uniforms; 4: the boost; 2i, 2i + 1 in round 5 + r: the r-th redraw), so which elements run beside
it changes nothing.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from . import bits

LOG2 = math.log(2.0)
_LANE_BLOCK = 64  # gathered blocks are multiples of this, so every element runs through the same vector loop


def _candidate(x, log_u, d, c):
    """(accepted?, log G) of the Marsaglia–Tsang candidate with proposal normal x and log-uniform log_u."""
    cx = 1.0 + c * x
    positive = cx > 0
    log_v = 3.0 * jnp.log(jnp.where(positive, cx, 1.0))
    accept = positive & (log_u < 0.5 * x * x + d - d * jnp.exp(log_v) + d * log_v)
    return accept, jnp.log(d) + log_v


def _redraw_block(size: int) -> int:
    return _LANE_BLOCK * max(1, math.ceil(size / (16 * _LANE_BLOCK)))


def _shape_constants(a):
    """(valid, boosted, d, c) of Marsaglia–Tsang for shape a (a < 1 drawn as a + 1, then boosted)."""
    valid = a > 0  # Gamma(0) is the point mass at 0: log G = −inf, and no redraw may spin
    safe_a = jnp.where(valid, a, 1.0)
    boost = safe_a < 1.0
    d = jnp.where(boost, safe_a + 1.0, safe_a) - 1.0 / 3.0
    return valid, boost, safe_a, d, 1.0 / jnp.sqrt(9.0 * d)


def _finish(hi, lo, index, a):
    """log Gamma(a) of every element, given its key words and counter index (arrays of one shape)."""
    shape = a.shape
    hi, lo, index, a = (jnp.ravel(v) for v in (hi, lo, index, a))
    size = a.shape[0]
    valid, boost, safe_a, d, c = _shape_constants(a)
    w = bits.words_at(bits.Key(hi[None], lo[None]), index[None], jnp.arange(5, dtype=jnp.uint32)[:, None])
    x = bits.to_normal(w[0]), bits.to_normal(w[1])
    first = _candidate(x[0], jnp.log(bits.to_open_unit(w[2])), d, c)
    second = _candidate(x[1], jnp.log(bits.to_open_unit(w[3])), d, c)
    accepted = first[0] | second[0]
    log_g = jnp.where(first[0], first[1], second[1])
    block = _redraw_block(size)

    def pending(carry):
        return jnp.any(~carry[0])

    def redraw(carry):
        done, log_g, rounds = carry
        # the j-th pending element is where the running count of pending ones first reaches j
        at = jnp.searchsorted(jnp.cumsum(~done, dtype=jnp.int32), jnp.arange(1, block + 1, dtype=jnp.int32))
        i = jnp.minimum(at, size - 1)
        key = bits.Key(hi[i][None], lo[i][None])
        w = bits.words_at(key, 2 * index[i][None] + jnp.arange(2, dtype=jnp.uint32)[:, None], 5 + rounds[i][None])
        _, _, _, d_i, c_i = _shape_constants(a[i])
        ok, value = _candidate(bits.to_normal(w[0]), jnp.log(bits.to_open_unit(w[1])), d_i, c_i)
        accepted_at = jnp.where(ok, at, size)
        return (done.at[accepted_at].set(True, mode="drop"), log_g.at[accepted_at].set(value, mode="drop"),
                rounds.at[at].add(1, mode="drop"))

    _, log_g, _ = jax.lax.while_loop(pending, redraw, (accepted | ~valid, log_g, jnp.zeros(size, jnp.uint32)))
    # The boost's uniform is drawn for every element: a branch on "any a < 1" costs more to compile than it saves.
    log_g = log_g + jnp.where(boost, jnp.log(bits.to_open_unit(w[4])) / safe_a, 0.0)
    return jnp.where(valid, log_g, -jnp.inf).reshape(shape)


@jax.custom_batching.custom_vmap
def _finish_elements(hi, lo, index, a):
    return _finish(hi, lo, index, a)


@_finish_elements.def_vmap
def _finish_batch(axis_size, in_batched, hi, lo, index, a):
    """The batch is one more axis of elements: gather the redraws of every chain together."""
    args = [v if batched else jnp.broadcast_to(v, (axis_size, *jnp.shape(v)))
            for v, batched in zip((hi, lo, index, a), in_batched, strict=True)]
    shape = jnp.broadcast_shapes(*(v.shape for v in args))
    return _finish(*(jnp.broadcast_to(v, shape) for v in args)), True


def log_gamma(key: bits.Key, shape_param, shape=()):
    """log G with G ~ Gamma(shape_param, 1), `shape_param` broadcast to `shape` (shape 0 gives −inf)."""
    shape = tuple(shape)
    a = jnp.broadcast_to(jnp.asarray(shape_param, dtype=jnp.float64), shape)
    index = jnp.arange(math.prod(shape), dtype=jnp.uint32).reshape(shape)
    hi, lo = (jnp.broadcast_to(w, shape) for w in key)
    return _finish_elements(hi, lo, index, a)


def log_chi2(key: bits.Key, dof, shape=()):
    """log χ²_dof = log 2 + log Gamma(dof/2)."""
    return LOG2 + log_gamma(key, jnp.asarray(dof, dtype=jnp.float64) / 2.0, shape)


def bartlett(key: bits.Key, dof, dim: int):
    """Bartlett factor of a standard Wishart: W = A Aᵀ ~ W_dim(dof, I), dof ≥ dim (Bartlett 1933).

    A is lower triangular with A_ii = √χ²_{dof−i} and A_ij ~ N(0, 1) for i > j. Returned as (log_diag, unit)
    with A = unit · diag(exp(log_diag)), `unit` unit lower triangular, so that products of many factors stay in
    range. In one dimension A is the single √χ²_dof and no normal is drawn."""
    if dim == 1:
        return 0.5 * log_chi2(key, dof, (1,)), jnp.ones((1, 1))
    log_diag = 0.5 * log_chi2(bits.fold(key, 0), dof - jnp.arange(dim), (dim,))
    below = jnp.tril(bits.normal(bits.fold(key, 1), (dim, dim)), -1)
    return log_diag, jnp.eye(dim) + below * jnp.exp(-log_diag)[None, :]

