"""Exact binomial and hypergeometric draws on ``samplers.bits`` keys (float64 counts, exact up to 2⁵³).

Both are reduced to a law on {0, …} with mean ≤ half its range (p > ½ drawn as n − Bin(n, 1 − p); a
hypergeometric on the smaller of draws / non-draws and of marked / unmarked items), then drawn by inversion
below `small_mean` and by Stadlober's ratio-of-uniforms above (``samplers.discrete``, which cites the methods).
"""

from __future__ import annotations

import jax.numpy as jnp

from . import bits, vecmath
from .discrete import flat, inversion, lgamma_diff, rejection_sampler, tail_cap

SMALL_MEAN = 10.0  # below this mean: inversion; above: ratio-of-uniforms


def _binomial_law(n, q):
    """Bin(n, q), q ≤ ½: log pmf(z) − log pmf(mode) = −log[z!(n − z)!/(m!(n − m)!)] + (z − m) logit q."""
    mode = jnp.floor((n + 1.0) * q)
    logit = vecmath.log(q) - vecmath.log1p(-q)

    def log_ratio(z):
        return -lgamma_diff(z + 1.0, mode + 1.0) - lgamma_diff(n - z + 1.0, n - mode + 1.0) + (z - mode) * logit

    return n * q, n * q * (1.0 - q), n, log_ratio


def _hypergeometric_law(m, g, t):
    """m draws from t items of which g ≤ t/2 are marked, m ≤ t/2: pmf(z) ∝ 1/[z!(g − z)!(m − z)!(t − g − m + z)!]."""
    b = t - g
    mode = jnp.floor((m + 1.0) * (g + 1.0) / (t + 2.0))

    def log_ratio(z):
        return -(lgamma_diff(z + 1.0, mode + 1.0) + lgamma_diff(g - z + 1.0, g - mode + 1.0)
                 + lgamma_diff(m - z + 1.0, m - mode + 1.0) + lgamma_diff(b - m + z + 1.0, b - m + mode + 1.0))

    return m * g / t, m * g * b * (t - m) / (t * t * (t - 1.0)), jnp.minimum(m, g), log_ratio


_binomial_rou = rejection_sampler(_binomial_law)
_hypergeometric_rou = rejection_sampler(_hypergeometric_law)


def _binomial_ratio(k, n, r):
    """pmf(k + 1)/pmf(k) of Bin(n, q), r = q/(1 − q)."""
    return (n - k) / (k + 1.0) * r


def _hypergeometric_ratio(k, g, m, t):
    """pmf(k + 1)/pmf(k) of the hypergeometric of `_hypergeometric_law`."""
    return (g - k) * (m - k) / ((k + 1.0) * (t - g - m + k + 1.0))


def binomial(key: bits.Key, n, p, small_mean: float = SMALL_MEAN, n_max: float | None = None):
    """Exact Bin(n, p) draws, broadcasting n and p; n = 0 or p ∈ {0, 1} give the obvious value.

    Mean n·min(p, 1−p) < `small_mean`: inversion (a loop of about mean + 6 sd cheap steps); otherwise
    ratio-of-uniforms on the elements that need it. A larger `small_mean` suits wide vmapped batches of narrow
    draws. `n_max`, a static bound on n, leaves the ratio-of-uniforms out of the program when n_max/2 <
    `small_mean` (never needed: the mean is at most n/2)."""
    shape, (n, p) = flat(n, p)
    flip = p > 0.5
    q = jnp.where(flip, 1.0 - p, p)
    live = (n > 0) & (q > 0)
    mean = n * q
    small = mean < small_mean
    qs = jnp.where(small & live, q, 0.0)
    r = qs / (1.0 - qs)
    x = inversion(key, n * vecmath.log1p(-qs), _binomial_ratio, (n, r), tail_cap(mean, n), small & live)
    if n_max is None or n_max / 2 >= small_mean:
        large = live & ~small
        x = jnp.where(small, x, _binomial_rou(key, large, jnp.where(large, n, 40.0), jnp.where(large, q, 0.5)))
    x = jnp.where(live, x, 0.0)
    return jnp.where(flip, n - x, x).reshape(shape)


def hypergeometric(key: bits.Key, n, good, total, small_mean: float = SMALL_MEAN, n_max: float | None = None):
    """Exact hypergeometric draws: the number of `good` items among n drawn without replacement from `total`.

    Reduced to m = min(n, total − n) draws and g = min(good, total − good) marked items, whose support starts
    at 0; then inversion (mean < `small_mean`) or ratio-of-uniforms, as :func:`binomial` (the mean m·g/total
    is at most n/2 too)."""
    shape, (n, good, total) = flat(n, good, total)
    bad = total - good
    swap_draws = n > total - n
    m = jnp.where(swap_draws, total - n, n)
    swap_good = good > bad
    g = jnp.where(swap_good, bad, good)
    live = (m > 0) & (g > 0)
    mean = m * g / jnp.where(total > 0, total, 1.0)
    small = mean < small_mean

    use = small & live
    ms, gs, ts = jnp.where(use, m, 1.0), jnp.where(use, g, 1.0), jnp.where(use, total, 4.0)
    # pmf(0) = C(T − g, m) / C(T, m)
    log_pmf0 = lgamma_diff(ts - gs + 1.0, ts + 1.0) - lgamma_diff(ts - gs - ms + 1.0, ts - ms + 1.0)
    z = inversion(key, log_pmf0, _hypergeometric_ratio, (gs, ms, ts), tail_cap(mean, jnp.minimum(ms, gs)), use)
    if n_max is None or n_max / 2 >= small_mean:
        large = live & ~small
        z = jnp.where(small, z, _hypergeometric_rou(key, large, jnp.where(large, m, 40.0), jnp.where(large, g, 40.0),
                                                     jnp.where(large, total, 160.0)))
    z = jnp.where(live, z, 0.0)
    z = jnp.where(swap_good, m - z, z)
    return jnp.where(swap_draws, good - z, z).reshape(shape)
