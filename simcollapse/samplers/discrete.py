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

A candidate is accepted with probability ≈ √(2π)/(2D₁) ≈ 0.73, so a batch-wide loop would run until the
unluckiest element of the whole batch is done (≈ log(size)/log(1/0.27) full passes). Instead the pending
elements are gathered (a cumulative count, blocks of about an eighth of the elements, multiples of 64) and only
they draw; under ``vmap`` (the driver's chain axis) a batching rule (``jax.custom_batching``) gathers across
the whole batch, as ``samplers.gamma`` does. An element's candidates depend only on its key, counter and law
parameters, so a chain's draws are the same alone or among many.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp

from . import bits

D1 = 2.0 * math.sqrt(2.0 / math.e)
D2 = 3.0 - 2.0 * math.sqrt(3.0 / math.e)
_LANE_BLOCK = 64  # gathered blocks are multiples of this, so every element runs through the same vector loop
_STIRLING_MIN = 10.0


def _stirling_tail(x):
    """lgamma(x) − [(x − ½) log x − x + ½ log 2π] for x ≥ 10 (error below 1e-16 there)."""
    r = 1.0 / x
    r2 = r * r
    return r * (1.0 / 12 - r2 * (1.0 / 360 - r2 * (1.0 / 1260 - r2 / 1680)))


def lgamma_diff(a, b):
    """lgamma(a) − lgamma(b) for a, b ≥ 1 (relative error ~1e-13), without cancelling two large lgamma values.

    Stirling's series for the difference, (b − ½) log(a/b) + (a − b) log a − (a − b) + tail(a) − tail(b);
    when an argument is below 10 both are first shifted up by 10 with lgamma(x) = lgamma(x + 10) −
    log(x (x+1) ⋯ (x+9)).
    """
    shift = jnp.where(jnp.minimum(a, b) < _STIRLING_MIN, 10.0, 0.0)
    big_a, big_b = a + shift, b + shift
    d = big_a - big_b
    out = (big_b - 0.5) * jnp.log1p(d / big_b) + d * jnp.log(big_a) - d + _stirling_tail(big_a) - _stirling_tail(big_b)
    rise_a, rise_b = jnp.ones_like(a), jnp.ones_like(b)
    for j in range(10):
        rise_a, rise_b = rise_a * (a + j), rise_b * (b + j)
    return out - jnp.where(shift > 0, jnp.log(rise_a / rise_b), 0.0)


def flat(*xs):
    """The broadcast shape of `xs` and each as a flat float64 array."""
    xs = jnp.broadcast_arrays(*(jnp.asarray(x, jnp.float64) for x in xs))
    return xs[0].shape, [x.reshape(-1) for x in xs]


def tail_cap(mean, limit):
    """Where inversion stops: ≥ 20 standard deviations above the mean, at most `limit`. It only matters when
    rounding keeps the accumulated cdf below u."""
    return jnp.minimum(limit, jnp.ceil(mean + 20.0 * jnp.sqrt(mean) + 30.0))


def inversion(key: bits.Key, log_pmf0, ratio: Callable, cap, active):
    """The smallest k with U ≤ Σ_{j≤k} pmf(j) for each `active` element (0 elsewhere), pmf(0) = e^{log_pmf0},
    pmf(k+1) = pmf(k)·ratio(k), U uniform on [0, 1) (counter (0, i)); k stops at `cap`."""
    u = bits.uniform(key, log_pmf0.shape)
    pmf = jnp.exp(log_pmf0)
    k = jnp.zeros_like(u)
    go = active & (u > pmf) & (k < cap)

    def cond(carry):
        return jnp.any(carry[3])

    def body(carry):
        k, pmf, cdf, go = carry
        nxt = pmf * ratio(k)
        k = jnp.where(go, k + 1.0, k)
        pmf = jnp.where(go, nxt, pmf)
        cdf = jnp.where(go, cdf + nxt, cdf)
        return k, pmf, cdf, go & (u > cdf) & (k < cap)

    return jax.lax.while_loop(cond, body, (k, pmf, pmf, go))[0]


def _block(size: int) -> int:
    return _LANE_BLOCK * max(1, math.ceil(size / (8 * _LANE_BLOCK)))


def _first(todo, block: int):
    """Positions of the first `block` True entries of `todo`, then `size` (= ``jnp.nonzero(todo, size=block,
    fill_value=size)``, which costs 2.5× more on CPU: a cumulative count and one scatter)."""
    size = todo.shape[0]
    slot = jnp.cumsum(todo.astype(jnp.int32)) - 1
    return jnp.full(block, size, jnp.int32).at[jnp.where(todo, slot, block)].set(
        jnp.arange(size, dtype=jnp.int32), mode="drop")


def _candidate(law, params, u, v):
    """(accepted?, Z) of the ratio-of-uniforms candidate (U, V) for the law with these parameters."""
    mean, var, upper, log_ratio = law(*params)
    w = mean + 0.5 + (D1 * jnp.sqrt(var + 0.5) + D2) * (v - 0.5) / u
    inside = (w >= 0) & (w < upper + 1)
    z = jnp.floor(jnp.where(inside, w, 0.0))
    t = log_ratio(z)
    accept = inside & ((u * (4.0 - u) - 3.0 <= t) | ((u * (u - t) < 1.0) & (2.0 * jnp.log(u) <= t)))
    return accept, z


def _gathered(law, hi, lo, index, active, *params):
    """Ratio-of-uniforms draws of the `active` elements of flat arrays (0 elsewhere), gathered while pending."""
    size = active.shape[0]
    block = _block(size)
    pair = jnp.arange(2, dtype=jnp.uint32)[:, None]

    def pending(carry):
        return jnp.any(carry[0])

    def attempt(carry):
        todo, out, tries = carry
        at = _first(todo, block)
        i = jnp.minimum(at, size - 1)
        w = bits.words_at(bits.Key(hi[i][None], lo[i][None]), 2 * index[i][None] + pair, 1 + tries[i][None])
        ok, z = _candidate(law, [p[i] for p in params], bits.to_open_unit(w[0]), bits.to_unit(w[1]))
        accepted_at = jnp.where(ok, at, size)
        return (todo.at[accepted_at].set(False, mode="drop"), out.at[accepted_at].set(z, mode="drop"),
                tries.at[at].add(1, mode="drop"))

    start = (active, jnp.zeros(size), jnp.zeros(size, jnp.uint32))
    return jax.lax.while_loop(pending, attempt, start)[1]


def rejection_sampler(law: Callable) -> Callable:
    """The ratio-of-uniforms sampler of a law, ``draw(key, active, *params)`` on flat arrays of parameters.

    ``law(*params) -> (mean, var, upper, log_ratio)`` gives the moments, the largest value (inf: unbounded)
    and ``log_ratio(z) = log pmf(z) − log pmf(mode)``; inactive elements must hold harmless parameters."""

    @jax.custom_batching.custom_vmap
    def elements(hi, lo, index, active, *params):
        return _gathered(law, hi, lo, index, active, *params)

    @elements.def_vmap
    def batch(axis_size, in_batched, *args):
        """The batch is one more axis of elements: gather the redraws of every chain together."""
        args = [a if batched else jnp.broadcast_to(a, (axis_size, *jnp.shape(a)))
                for a, batched in zip(args, in_batched, strict=True)]
        shape = jnp.broadcast_shapes(*(a.shape for a in args))
        flat_args = [jnp.broadcast_to(a, shape).reshape(-1) for a in args]
        return elements(*flat_args).reshape(shape), True  # nested vmaps flatten into the same gathering

    def draw(key: bits.Key, active, *params):
        hi, lo = (jnp.broadcast_to(jnp.asarray(w, jnp.uint32), active.shape) for w in key)
        index = jnp.arange(active.shape[0], dtype=jnp.uint32)
        return elements(hi, lo, index, active, *params)

    return draw
