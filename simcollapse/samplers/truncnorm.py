"""Truncated normals by inversion, on the counter-based bits (docs/theory.md §V.3).

* :func:`symmetric`: Z ~ N(0, 1) conditioned on |Z| ≤ a, as √2·erf⁻¹(A(2U − 1)) with A = erf(a/√2) = P(|Z| ≤ a):
  P(|Z| ≤ x) = erf(x/√2)/A for x ≤ a, the truncated law exactly (a = ∞ is `bits.to_normal`);
* :func:`verified`: the points a noisy verifier of width a and false-accept rate ε passes, the mixture of the
  inside law (weight A/(A + ε(1 − A))) and the outside one, drawn as ±Φ⁻¹(V·Φ(−a)) (V on (0, 1]: the lower tail
  by inversion, where ``ndtri`` keeps its relative accuracy);
* :func:`verified_radial`: the same in d dimensions with the Mahalanobis radius as the verifier's test: a uniform
  direction times a radius drawn by inverting the χ²_d distribution function (bisection) within or beyond a².

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


_BISECTIONS = 80  # halvings of a bracket at most c + 100 + 4d wide: below float64 resolution


def _solve_increasing(f, target, low, high):
    """x in [low, high] with f(x) = target for an increasing f, by bisection (elementwise, fixed steps)."""

    def halve(_, bracket):
        lo, hi = bracket
        mid = 0.5 * (lo + hi)
        below = f(mid) < target
        return jnp.where(below, mid, lo), jnp.where(below, hi, mid)

    lo, hi = jax.lax.fori_loop(0, _BISECTIONS, halve, (low, high))
    return 0.5 * (lo + hi)


def verified_radial(key: bits.Key, shape, width, false_accept):
    """Points z ∈ ℝ^d (`shape` = (..., d)) that pass a verifier of Mahalanobis width a with false-accept rate ε:
    density ∝ φ_d(z)(1{‖z‖ ≤ a} + ε 1{‖z‖ > a}) (docs/theory.md §V.3). A uniform direction (a normal vector
    over its norm, from ``fold(key, 0)``) times a radius whose square R² is χ²_d conditioned to the window, inside
    with probability F/(F + ε(1 − F)), F = F_d(a²): inside, F_d(R²) = U·F; outside, Q_d(R²) = U·Q_d(a²), Q = 1 − F
    (solved by bisection on the χ² distribution function, so the upper tail keeps its relative accuracy)."""
    d = shape[-1]
    direction = bits.normal(bits.fold(key, 0), shape)
    norm = jnp.sqrt(sum(direction[..., i] ** 2 for i in range(d)))  # unrolled: the same bits in any batch
    radius_key, rows = bits.fold(key, 1), shape[:-1]
    c, half = width**2, 0.5 * d
    inside = jax.scipy.special.gammainc(half, 0.5 * c)
    outside = jax.scipy.special.gammaincc(half, 0.5 * c)
    share_inside = inside / (inside + false_accept * outside)
    u = bits.open_uniform(radius_key, rows)
    within = _solve_increasing(lambda x: jax.scipy.special.gammainc(half, 0.5 * x), u * inside,
                               jnp.zeros(rows), jnp.full(rows, c))
    beyond = _solve_increasing(lambda x: -jax.scipy.special.gammaincc(half, 0.5 * x), -u * outside,
                               jnp.full(rows, c), jnp.full(rows, c + 100.0 + 4.0 * d))
    square = jnp.where(bits.uniform(radius_key, rows, 1) < share_inside, within, beyond)
    return direction * (jnp.sqrt(square) / norm)[..., None]
