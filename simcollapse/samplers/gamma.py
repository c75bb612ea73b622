"""Exact gamma, chi-square and Bartlett–Wishart draws, returned in log space.

`log_gamma` is Marsaglia & Tsang's method ("A simple method for generating gamma variables", ACM TOMS 26(3),
2000): with d = a − ⅓, c = 1/√(9d), propose v = (1 + c x)³ for x ~ N(0, 1) and accept when
log u < x²/2 + d − d v + d log v (u uniform); then G = d v ~ Gamma(a). Shapes a < 1 use the boost
G(a) = G(a + 1)·U^{1/a}. The first accepted candidate of an i.i.d. sequence is taken, so the law is exact.
Results are log G, so a χ²₁ draw near 0 never underflows.

A candidate is accepted with probability ≥ 0.95 for a ≥ 1 (≥ 0.999 for χ²₉₉/2); every element draws one,
and the rare rejections are redrawn by ``samplers.redraw``, which gathers them across the whole batch. Under
its key, element i reads its t-th candidate's proposal normal (the cosine of a Box–Muller pair) from the words
with counters (1 + t, 3i) and (1 + t, 3i + 1), its uniform at (1 + t, 3i + 2), and the boost's uniform at
(0, i), whichever elements run beside it. The sine of candidate 0's pair is left over: ``spare_normals`` returns
it, an N(0, 1) independent of G. The logs are ``samplers.vecmath``'s (vectorised).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from . import bits, redraw, vecmath

LOG2 = math.log(2.0)


def _shape_constants(a):
    """(valid, boosted, a, d, c) of Marsaglia–Tsang for shape a (a < 1 drawn as a + 1, then boosted)."""
    valid = a > 0  # Gamma(0) is the point mass at 0: log G = −inf, and no redraw may spin
    safe_a = jnp.where(valid, a, 1.0)
    boost = safe_a < 1.0
    d = jnp.where(boost, safe_a + 1.0, safe_a) - 1.0 / 3.0
    return valid, boost, safe_a, d, 1.0 / jnp.sqrt(9.0 * d)


def _candidate(hi, lo, index, tries, d, c):
    """(accepted?, log v) of the Marsaglia–Tsang candidate number `tries`: v = (1 + c x)³, accepted when
    log u < x²/2 + d − d v + d log v."""
    radius_word, angle_word, uniform_word = redraw.candidate_words(hi, lo, index, tries, 3)
    x = bits.to_normal_pair(radius_word, angle_word)[0]
    log_u = vecmath.log(bits.to_open_unit(uniform_word))
    cx = 1.0 + c * x
    positive = cx > 0
    cx = jnp.where(positive, cx, 1.0)
    log_v = 3.0 * vecmath.log(cx)
    return positive & (log_u < 0.5 * x * x + d - d * (cx * cx * cx) + d * log_v), log_v


_accepted = redraw.rejection(_candidate)


@redraw.whole_batch
def _boost(hi, lo, index, boost, a):
    """log U / a where `boost` (U at counter (0, i)), else 0; computed only when some element of the whole batch
    has a < 1 (a Gaussian chain's χ²_{M−1} does only for M ≤ 2), so the others never pay for its word."""
    def draw():
        return jnp.where(boost, vecmath.log(bits.to_open_unit(bits.words_at(bits.Key(hi, lo), index, 0))) / a, 0.0)

    return jax.lax.cond(jnp.any(boost), draw, lambda: jnp.zeros_like(a))


def log_gamma(key: bits.Key, shape_param, shape=(), spare_normals: bool = False):
    """log G with G ~ Gamma(shape_param, 1), `shape_param` broadcast to `shape` (shape 0 gives −inf).

    With `spare_normals`, also N(0, 1) of `shape`, independent of G: the sine of each element's first candidate's
    Box–Muller pair, whose cosine is that candidate's proposal, so a step that needs a normal beside each gamma
    (x̄ beside s² in a Gaussian refit) draws no more words for it. G is a function of the candidates' cosines
    and uniforms only, and the sine of a pair is independent of its cosine."""
    shape = tuple(shape)
    if 3 * math.prod(shape) >= 2**32:  # a candidate reads three words with counters below 3·size
        raise ValueError(f"a single gamma draw holds at most (2**32 - 1) // 3 values, asked for {math.prod(shape)}")
    a = jnp.broadcast_to(jnp.asarray(shape_param, dtype=jnp.float64), shape)
    index = jnp.arange(math.prod(shape), dtype=jnp.uint32).reshape(shape)
    hi, lo = (jnp.broadcast_to(w, shape) for w in key)
    valid, boost, safe_a, d, c = _shape_constants(a)
    log_g = vecmath.log(d) + _accepted(hi, lo, index, valid, d, c) + _boost(hi, lo, index, boost, safe_a)
    log_g = jnp.where(valid, log_g, -jnp.inf)
    if not spare_normals:
        return log_g
    radius_word, angle_word, _ = redraw.candidate_words(hi, lo, index, 0, 3)
    return log_g, bits.to_normal_pair(radius_word, angle_word)[1]


def log_chi2(key: bits.Key, dof, shape=(), spare_normals: bool = False):
    """log χ²_dof = log 2 + log Gamma(dof/2) (and `log_gamma`'s spare normals)."""
    out = log_gamma(key, jnp.asarray(dof, dtype=jnp.float64) / 2.0, shape, spare_normals)
    return (LOG2 + out[0], out[1]) if spare_normals else LOG2 + out


def bartlett(key: bits.Key, dof, dim: int, spare_normals: bool = False):
    """Bartlett factor of a standard Wishart: W = A Aᵀ ~ W_dim(dof, I), dof ≥ dim (Bartlett 1933).

    A is lower triangular with A_ii = √χ²_{dof−i} and A_ij ~ N(0, 1) for i > j. Returned as (log_diag, unit)
    with A = unit · diag(exp(log_diag)), `unit` unit lower triangular, so that products of many factors stay in
    range. In one dimension A is the single √χ²_dof and no normal is drawn. With `spare_normals`, also `dim`
    standard normals independent of A (the χ² draws' spare sines, see `log_gamma`)."""
    out = log_chi2(key if dim == 1 else bits.fold(key, 0), dof - jnp.arange(dim), (dim,), spare_normals)
    log_chi, spare = out if spare_normals else (out, None)
    log_diag = 0.5 * log_chi
    if dim == 1:
        unit = jnp.ones((1, 1))
    else:
        below = jnp.tril(bits.normal(bits.fold(key, 1), (dim, dim)), -1)
        unit = jnp.eye(dim) + below * jnp.exp(-log_diag)[None, :]
    return (log_diag, unit, spare) if spare_normals else (log_diag, unit)
