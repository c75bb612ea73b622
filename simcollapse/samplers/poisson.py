"""Exact Poisson draws on ``samplers.bits`` keys (float64 counts, exact up to 2⁵³).

Mean μ < `small_mean`: inversion from 0, pmf(0) = e^{−μ}, pmf(k+1) = pmf(k)·μ/(k + 1). Otherwise Stadlober's
ratio-of-uniforms with mean = var = μ, mode ⌊μ⌋ and log pmf(z) − log pmf(mode) = (z − mode) log μ −
log(z!/mode!) (Stadlober 1990, the Poisson case; see ``samplers.discrete``).
"""

from __future__ import annotations

import jax.numpy as jnp

from . import bits, vecmath
from .discrete import flat, inversion, lgamma_diff, rejection_sampler, tail_cap

SMALL_MEAN = 10.0


def _poisson_law(mu):
    mode = jnp.floor(mu)
    log_mu = vecmath.log(mu)

    def log_ratio(z):
        return (z - mode) * log_mu - lgamma_diff(z + 1.0, mode + 1.0)

    return mu, mu, jnp.inf, log_ratio


_poisson_rou = rejection_sampler(_poisson_law)


def _ratio(k, mu):
    return mu / (k + 1.0)


def poisson(key: bits.Key, mean, small_mean: float = SMALL_MEAN):
    """Exact Poisson(mean) draws of the shape of `mean` (mean 0 gives 0)."""
    shape, (mu,) = flat(mean)
    live = mu > 0
    small = mu < small_mean
    ms = jnp.where(small & live, mu, 0.0)
    x = inversion(key, -ms, _ratio, (ms,), tail_cap(ms, jnp.inf), small & live)
    large = live & ~small
    x = jnp.where(small, x, _poisson_rou(key, large, jnp.where(large, mu, 40.0)))
    return jnp.where(live, x, 0.0).reshape(shape)
