"""Generation-0 truths for the point-set chains: one Gaussian, or the toy shapes of Kazdan et al.'s KDE sweeps.

Each truth is a population law (its draws are i.i.d.; scikit-learn's ``make_moons``/``make_circles`` instead put
their points on an even grid of angles before adding the noise, see docs/differences.md), with an exact sampler on
the project's counter-based bits, an exact log-density (for the test NLL of generation 0) and its per-dimension
variance tr Cov/d (which starts the variance recursions of docs/theory.md §K.1). s is the isotropic noise level.

* ``gaussian``: N(mean0, var0·I_d).
* ``blobs``: ⅓ Σ_k N(c_k, s² I_d), three centres on a circle of radius 4 in the first two axes.
* ``moons``: ½ arc (cos t, sin t) + ½ arc (1 − cos t, ½ − sin t), t ~ U[0, π], plus N(0, s² I_2).
* ``circles``: ½ ring of radius 1 + ½ ring of radius 0.8 (uniform angle), plus N(0, s² I_2).
* ``swiss_roll``: (t cos t, 21 v, t sin t), t = 3π(1 + 2u)/2, u, v ~ U(0, 1), plus N(0, s² I_3).

Densities (docs/theory.md §K.2): a ring of radius R has the closed form
(2πs²)⁻¹ exp(−(r − R)²/2s²) · I₀e(rR/s²) (the angular integral of the Gaussian kernel, I₀e the scaled Bessel
function); an arc is integrated over t by composite Gauss–Legendre quadrature with nodes at most s/4 apart along
the curve (relative error below 1e-10 at the default noise levels, tested against adaptive quadrature); the swiss
roll's height integrates in closed form, (Φ((21 − y)/s) − Φ(−y/s))/21.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from .config.kde import FIXED_DIM, SHAPES
from .core.batch_invariant import tree_sum
from .samplers import bits

DEFAULT_NOISE = {"blobs": 1.0, "moons": 0.1, "circles": 0.05, "swiss_roll": 0.5}
CIRCLES_FACTOR = 0.8
SWISS_T = (1.5 * math.pi, 4.5 * math.pi)
SWISS_HEIGHT = 21.0
_BLOB_ANGLES = np.deg2rad([90.0, 210.0, 330.0])
_PANEL = 8  # Gauss–Legendre nodes per panel

__all__ = ["DEFAULT_NOISE", "FIXED_DIM", "SHAPES", "blob_centres", "log_density", "noise_level", "sample",
           "variance"]


def noise_level(shape: str, noise) -> float:
    """The noise s of a shape: the given value, or the shape's default."""
    return float(DEFAULT_NOISE[shape] if noise is None else noise)


def blob_centres(dim: int) -> np.ndarray:
    """The three blob centres, (3, dim): radius 4 in the first two axes, 0 beyond."""
    c = np.zeros((3, dim))
    c[:, 0], c[:, 1] = 4 * np.cos(_BLOB_ANGLES), 4 * np.sin(_BLOB_ANGLES)
    return c


def _moon_arm(t, arm):
    """The point of moon `arm` (0 outer, 1 inner) at angle t."""
    c, s = jnp.cos(t), jnp.sin(t)
    return jnp.stack([jnp.where(arm == 0, c, 1 - c), jnp.where(arm == 0, s, 0.5 - s)], axis=-1)


def _swiss_curve(t):
    return jnp.stack([t * jnp.cos(t), t * jnp.sin(t)], axis=-1)


def sample(shape: str, key, n: int, dim: int, noise=None, mean0: float = 0.0, var0: float = 1.0):
    """n i.i.d. points, (n, dim), of the truth `shape`, drawn from `key`."""
    if shape == "gaussian":
        return mean0 + math.sqrt(var0) * bits.normal(key, (n, dim))
    z = bits.normal(bits.fold(key, 0), (n, dim))
    s = noise_level(shape, noise)
    pick = bits.words(bits.fold(key, 1), (n,))
    u = bits.uniform(bits.fold(key, 2), (n,))
    if shape == "blobs":
        return jnp.asarray(blob_centres(dim))[bits.below(pick, 3)] + s * z
    if shape == "moons":
        return _moon_arm(math.pi * u, bits.below(pick, 2)) + s * z
    if shape == "circles":
        radius = jnp.where(bits.below(pick, 2) == 0, 1.0, CIRCLES_FACTOR)
        angle = 2 * math.pi * u
        return (radius * jnp.stack([jnp.cos(angle), jnp.sin(angle)])).T + s * z
    if shape == "swiss_roll":
        lo, hi = SWISS_T
        t = lo + (hi - lo) * u
        v = bits.uniform(bits.fold(key, 3), (n,))
        return jnp.stack([t * jnp.cos(t), SWISS_HEIGHT * v, t * jnp.sin(t)], axis=-1) + s * z
    raise ValueError(f"unknown truth {shape!r}")


def _gauss_legendre(lo: float, hi: float, panels: int):
    """Composite Gauss–Legendre nodes and weights on [lo, hi] (weights sum to hi − lo)."""
    x, w = np.polynomial.legendre.leggauss(_PANEL)
    edges = np.linspace(lo, hi, panels + 1)
    half = np.diff(edges)[:, None] / 2
    nodes = (edges[:-1, None] + half * (x[None] + 1)).ravel()
    return nodes, (half * w[None]).ravel()


def _arc_rule(length: float, lo: float, hi: float, s: float):
    """Nodes spaced at most s/4 along a curve of arc length `length` over the parameter interval [lo, hi]."""
    return _gauss_legendre(lo, hi, max(4, math.ceil(4 * length / s / _PANEL)))


def _log_curve_density(x, points, log_weights, s):
    """log Σ_q w_q N(x; c_q, s² I) at every row of x (n, d), for the quadrature points c_q (Q, d), summed in two
    passes (the largest term first, so no term overflows) without forming an n × Q array; every sum is
    elementwise across chains, so the result does not depend on how many chains run beside it."""
    d = x.shape[-1]

    def exponent(q):
        return log_weights[q] - 0.5 * tree_sum((x - points[q]) ** 2, axis=-1) / s**2

    top = jax.lax.fori_loop(0, points.shape[0], lambda q, m: jnp.maximum(m, exponent(q)),
                            jnp.full(x.shape[0], -jnp.inf))
    total = jax.lax.fori_loop(0, points.shape[0], lambda q, acc: acc + jnp.exp(exponent(q) - top),
                              jnp.zeros(x.shape[0]))
    return top + jnp.log(total) - 0.5 * d * math.log(2 * math.pi * s**2)


def _log_ring(r, radius, s):
    z = r * radius / s**2
    return -0.5 * (r - radius) ** 2 / s**2 + jnp.log(jax.scipy.special.i0e(z)) - math.log(2 * math.pi * s**2)


def log_density(shape: str, x, noise=None, mean0: float = 0.0, var0: float = 1.0):
    """log p(x) of the truth at every row of x (n, dim)."""
    d = x.shape[-1]
    if shape == "gaussian":
        return -0.5 * tree_sum((x - mean0) ** 2, axis=-1) / var0 - 0.5 * d * math.log(2 * math.pi * var0)
    s = noise_level(shape, noise)
    if shape == "blobs":
        centres = blob_centres(d)
        return _log_curve_density(x, jnp.asarray(centres), jnp.full(3, -math.log(3.0)), s)
    if shape == "circles":
        r = jnp.sqrt(tree_sum(x**2, axis=-1))
        both = jnp.stack([_log_ring(r, 1.0, s), _log_ring(r, CIRCLES_FACTOR, s)])
        return jnp.logaddexp(both[0], both[1]) - math.log(2.0)
    if shape == "moons":
        t, w = _arc_rule(math.pi, 0.0, math.pi, s)
        points = jnp.concatenate([_moon_arm(jnp.asarray(t), 0), _moon_arm(jnp.asarray(t), 1)])
        log_w = np.log(np.concatenate([w, w]) / (2 * math.pi))
        return _log_curve_density(x, points, jnp.asarray(log_w), s)
    if shape == "swiss_roll":
        lo, hi = SWISS_T
        length = 0.5 * (hi**2 - lo**2)  # ≥ the arc length of (t cos t, t sin t), √(1 + t²) ≤ t + 1/(2t)
        t, w = _arc_rule(length + math.log(hi / lo), lo, hi, s)
        plane = _log_curve_density(x[:, [0, 2]], _swiss_curve(jnp.asarray(t)), jnp.asarray(np.log(w / (hi - lo))), s)
        y = x[:, 1]
        cdf = jax.scipy.special.ndtr
        return plane + jnp.log(cdf((SWISS_HEIGHT - y) / s) - cdf(-y / s)) - math.log(SWISS_HEIGHT)
    raise ValueError(f"unknown truth {shape!r}")


def _swiss_moments():
    """(E, E²) of t cos t and of t sin t for t ~ U[3π/2, 9π/2], from the antiderivatives
    ∫ t cos t = cos t + t sin t, ∫ t sin t = sin t − t cos t, ∫ t² cos² t = t³/6 + (t²/4 − 1/8) sin 2t + (t/4) cos 2t
    and ∫ t² sin² t = t³/6 − (t²/4 − 1/8) sin 2t − (t/4) cos 2t."""
    lo, hi = SWISS_T

    def mean(antiderivative):
        return (antiderivative(hi) - antiderivative(lo)) / (hi - lo)

    def wave(t):
        return (t**2 / 4 - 1 / 8) * math.sin(2 * t) + t / 4 * math.cos(2 * t)

    cos_moments = (mean(lambda t: math.cos(t) + t * math.sin(t)), mean(lambda t: t**3 / 6 + wave(t)))
    sin_moments = (mean(lambda t: math.sin(t) - t * math.cos(t)), mean(lambda t: t**3 / 6 - wave(t)))
    return cos_moments, sin_moments


def variance(shape: str, dim: int, noise=None, var0: float = 1.0) -> float:
    """The truth's per-dimension variance tr Cov/d (docs/theory.md §K.2)."""
    if shape == "gaussian":
        return float(var0)
    s2 = noise_level(shape, noise) ** 2
    if shape == "blobs":
        c = blob_centres(dim)
        return float(np.sum((c - c.mean(axis=0)) ** 2) / (3 * dim)) + s2
    if shape == "moons":  # Var x = 3/4, Var y = 9/16 − 1/π (derived in §K.2)
        return (0.75 + 0.5625 - 1 / math.pi) / 2 + s2
    if shape == "circles":
        return (1 + CIRCLES_FACTOR**2) / 4 + s2
    if shape == "swiss_roll":
        (mx, qx), (mz, qz) = _swiss_moments()
        return (qx - mx**2 + SWISS_HEIGHT**2 / 12 + qz - mz**2) / 3 + s2
    raise ValueError(f"unknown truth {shape!r}")
