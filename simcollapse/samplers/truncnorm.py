"""Truncated normals by inversion, on the counter-based bits (docs/theory.md §V.3).

* :func:`symmetric`: Z ~ N(0, 1) conditioned on |Z| ≤ a, as √2·erf⁻¹(A(2U − 1)) with A = erf(a/√2) = P(|Z| ≤ a):
  P(|Z| ≤ x) = erf(x/√2)/A for x ≤ a, the truncated law exactly (a = ∞ is `bits.to_normal`);
* :func:`verified`: the points a noisy verifier of width a and false-accept rate ε passes, the mixture of the
  inside law (weight A/(A + ε(1 − A))) and the outside one, drawn as ±Φ⁻¹(V·Φ(−a)) (V on (0, 1]: the lower tail
  by inversion, where ``ndtri`` keeps its relative accuracy).

Each element uses the words with its own counter in rounds round_ (value), round_ + 1 (inside or outside) and
round_ + 2 (the outside sign), so elements never depend on each other.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax.scipy.special import ndtr, ndtri

from . import bits


def _centred(w):
    """(2k + 1)·2⁻⁵² − 1 ∈ (−1, 1) from the top 52 bits k of w (as `bits.to_normal`)."""
    return 2.0 * bits.to_unit(w) - (1.0 - 2.0**-52)


def symmetric(key: bits.Key, shape, width, round_=0):
    """N(0, 1) truncated to [−a, a], a = `width` > 0 (may be traced)."""
    inside = jax.scipy.special.erf(width / math.sqrt(2.0))
    return math.sqrt(2.0) * jax.lax.erf_inv(inside * _centred(bits.words(key, shape, round_)))


def verified(key: bits.Key, shape, width, false_accept, round_=0):
    """N(0, 1) points that pass a verifier of width a with false-accept rate ε: density ∝ φ(z)(1{|z| ≤ a} +
    ε 1{|z| > a})."""
    inside = jax.scipy.special.erf(width / math.sqrt(2.0))
    share_inside = inside / (inside + false_accept * (1.0 - inside))
    value = bits.words(key, shape, round_)
    within = math.sqrt(2.0) * jax.lax.erf_inv(inside * _centred(value))
    beyond = -ndtri(bits.to_open_unit(value) * ndtr(-width))
    sign = jnp.where(bits.uniform(key, shape, round_ + 2) < 0.5, -1.0, 1.0)
    return jnp.where(bits.uniform(key, shape, round_ + 1) < share_inside, within, sign * beyond)
