"""Exact draws of log-concave discrete laws on {0, 1, …}: inversion for small means, ratio-of-uniforms for large.

Values are float64 (exact integers up to 2⁵³). Under one key, element i of a draw of `size` elements reads the
words with counters (0, i) for inversion and (1 + r, 2i), (1 + r, 2i + 1) for its r-th ratio-of-uniforms
candidate, whichever elements run beside it.

* :func:`inversion` ("chop-down" sequential search, Kemp 1981; Devroye, *Non-Uniform Random Variate
  Generation*, 1986, §III.2): the smallest k with U ≤ F(k), accumulating pmf(k+1) = pmf(k)·ratio(k) from
  pmf(0), one uniform per element; about mean + a few standard deviations cheap steps.
* :func:`ratio_of_uniforms` (Stadlober, "The ratio of uniforms approach for generating discrete random
  variates", J. Comput. Appl. Math. 31, 1990): propose Z = ⌊a + s(V − ½)/U⌋ with a = mean + ½,
  s = D₁√(var + ½) + D₂, D₁ = 2√(2/e), D₂ = 3 − 2√(3/e), U ∈ (0, 1], V ∈ [0, 1), and accept when
  U² ≤ pmf(Z)/pmf(mode), i.e. 2 log U ≤ T = log_ratio(Z), with the squeezes U(4 − U) − 3 ≤ T (accept) and
  U(U − T) ≥ 1 (reject), valid because U − 1/U ≤ 2 log U ≤ U(4 − U) − 3 on (0, 1]. The first accepted
  candidate of an i.i.d. sequence is taken, so the law is exact whenever the table-mountain hat covers it,
  √(pmf(k)/pmf(mode))·|x − a| ≤ s/2 for x in [k, k+1) (the tests check it on a grid of each law).

A candidate is accepted with probability ≈ √(2π)/(2D₁) ≈ 0.73; the rejected ones draw again through
``samplers.redraw`` (passes over the whole batch while more than a quarter are pending, then over the pending
ones alone, gathered across the whole batch). An element's candidates depend only on its key, counter and law
parameters, so a chain's draws are the same alone or among many.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp

from . import bits, redraw, vecmath

D1 = 2.0 * math.sqrt(2.0 / math.e)
D2 = 3.0 - 2.0 * math.sqrt(3.0 / math.e)
_STIRLING_MIN = 10.0


def _stirling_tail(x):
    """lgamma(x) − [(x − ½) log x − x + ½ log 2π] for x ≥ 10: Stirling's series to its x⁻¹¹ term, whose first
    omitted term, 1/(156 x¹³), is below 7e-16 there."""
    r = 1.0 / x
    r2 = r * r
    return r * (1.0 / 12 - r2 * (1.0 / 360 - r2 * (1.0 / 1260 - r2 * (1.0 / 1680 - r2 * (1.0 / 1188 - r2 * 691.0 / 360360)))))


def lgamma_diff(a, b):
    """lgamma(a) − lgamma(b) for a, b in [1, 2⁵³] without cancelling two large lgamma values: within
    2e-15·max(1, |value|) for integer arguments (as the samplers pass them), about 2e-14 for others (the
    rounding of x + 10 below).

    With lo ≤ hi the two arguments, Stirling's series for lgamma(hi) − lgamma(lo) is
    (lo − ½) log1p((hi − lo)/lo) + (hi − lo) log hi − (hi − lo) + tail(hi) − tail(lo), taken from the smaller
    argument up so that 1 + (hi − lo)/lo never cancels, and negated when a < b; when an argument is below 10
    both are first shifted up by 10 with lgamma(x) = lgamma(x + 10) − log(x (x+1) ⋯ (x+9)).
    """
    smaller = jnp.minimum(a, b)
    shift = jnp.where(smaller < _STIRLING_MIN, 10.0, 0.0)
    lo, hi = smaller + shift, jnp.maximum(a, b) + shift
    d = hi - lo
    up = (lo - 0.5) * vecmath.log1p(d / lo) + d * vecmath.log(hi) - d + _stirling_tail(hi) - _stirling_tail(lo)
    rise_a, rise_b = jnp.ones_like(a), jnp.ones_like(b)
    for j in range(10):
        rise_a, rise_b = rise_a * (a + j), rise_b * (b + j)
    return jnp.where(a >= b, up, -up) - jnp.where(shift > 0, vecmath.log(rise_a / rise_b), 0.0)


def flat(*xs):
    """The broadcast shape of `xs` and each as a flat float64 array."""
    xs = jnp.broadcast_arrays(*(jnp.asarray(x, jnp.float64) for x in xs))
    return xs[0].shape, [x.reshape(-1) for x in xs]


def tail_cap(mean, limit):
    """Where inversion stops: ≥ 20 standard deviations above the mean, at most `limit`. It only matters when
    rounding keeps the accumulated cdf below u."""
    return jnp.minimum(limit, jnp.ceil(mean + 20.0 * jnp.sqrt(mean) + 30.0))


def _search(ratio: Callable) -> Callable:
    """The chop-down search of `inversion` on flat arrays, as an elementwise function for ``redraw.on_active``."""

    def search(active, hi, lo, index, log_pmf0, cap, *ratio_args):
        u = bits.to_unit(bits.words_at(bits.Key(hi, lo), index))
        pmf = jnp.exp(log_pmf0)
        k = jnp.zeros_like(u)
        go = active & (u > pmf) & (k < cap)

        def body(carry):
            k, pmf, cdf, go = carry
            nxt = pmf * ratio(k, *ratio_args)
            k = jnp.where(go, k + 1.0, k)
            pmf = jnp.where(go, nxt, pmf)
            cdf = jnp.where(go, cdf + nxt, cdf)
            return k, pmf, cdf, go & (u > cdf) & (k < cap)

        return jax.lax.while_loop(lambda carry: jnp.any(carry[3]), body, (k, pmf, pmf, go))[0]

    return redraw.on_active(search)


def inversion(key: bits.Key, log_pmf0, ratio: Callable, ratio_args, cap, active):
    """The smallest k with U ≤ Σ_{j≤k} pmf(j) for each `active` element of flat arrays (0 elsewhere),
    pmf(0) = e^{log_pmf0}, pmf(k+1) = pmf(k)·ratio(k, *ratio_args), U uniform on [0, 1) (counter (0, i));
    k stops at `cap`. The loop runs to the largest k of the batch, over the active elements alone when at
    most a quarter are active (``redraw.on_active``)."""
    hi, lo = (jnp.broadcast_to(jnp.asarray(w, jnp.uint32), active.shape) for w in key)
    index = jnp.arange(active.shape[0], dtype=jnp.uint32)
    return _search(ratio)(active, hi, lo, index, log_pmf0, cap, *ratio_args)


def _candidate(law, params, u, v):
    """(accepted?, Z) of the ratio-of-uniforms candidate (U, V) for the law with these parameters."""
    mean, var, upper, log_ratio = law(*params)
    w = mean + 0.5 + (D1 * jnp.sqrt(var + 0.5) + D2) * (v - 0.5) / u
    inside = (w >= 0) & (w < upper + 1)
    z = jnp.floor(jnp.where(inside, w, 0.0))
    t = log_ratio(z)
    accept = inside & ((u * (4.0 - u) - 3.0 <= t) | ((u * (u - t) < 1.0) & (2.0 * vecmath.log(u) <= t)))
    return accept, z


def rejection_sampler(law: Callable) -> Callable:
    """The ratio-of-uniforms sampler of a law, ``draw(key, active, *params)`` on flat arrays of parameters.

    ``law(*params) -> (mean, var, upper, log_ratio)`` gives the moments, the largest value (inf: unbounded)
    and ``log_ratio(z) = log pmf(z) − log pmf(mode)``; inactive elements must hold harmless parameters."""

    def candidate(hi, lo, index, tries, *params):
        u_word, v_word = redraw.candidate_words(hi, lo, index, tries)
        return _candidate(law, params, bits.to_open_unit(u_word), bits.to_unit(v_word))

    accepted = redraw.rejection(candidate, first_pass=False)

    def draw(key: bits.Key, active, *params):
        hi, lo = (jnp.broadcast_to(jnp.asarray(w, jnp.uint32), active.shape) for w in key)
        return accepted(hi, lo, jnp.arange(active.shape[0], dtype=jnp.uint32), active, *params)

    return draw
