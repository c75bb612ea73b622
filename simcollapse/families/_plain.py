"""The official Gaussian notebook's arithmetic (``sampler="plain_points"``, docs/theory.md §G.8): the 1-D fit on
the float64 points themselves, rounded exactly as NumPy rounds it."""

from __future__ import annotations

import jax.numpy as jnp

from ._gaussian_model import Model


def numpy_sum(a):
    """Σ a in NumPy's order (its pairwise summation: 8 running sums over blocks of 128, halves above), so that
    sums of the same float64 numbers round exactly as NumPy's ``np.sum``/``np.mean`` do (tested bit for bit)."""
    n = a.shape[0]
    if n < 8:
        total = jnp.zeros((), a.dtype)
        for i in range(n):
            total = total + a[i]
        return total
    if n <= 128:
        r = [a[j] for j in range(8)]
        i = 8
        while i < n - n % 8:
            r = [r[j] + a[i + j] for j in range(8)]
            i += 8
        total = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        for k in range(i, n):
            total = total + a[k]
        return total
    half = n // 2 - (n // 2) % 8
    return numpy_sum(a[:half]) + numpy_sum(a[half:])


def _true_divide(a, b):
    """a / b correctly rounded, as NumPy divides: XLA compiles a division by a constant or by one scalar broadcast
    over the chains as a product with the reciprocal, which rounds differently (and then freezes fewer chains than
    the official code); a divisor b + 0·a, one per element, keeps it a division."""
    return a / (b + 0.0 * a)


def plain_fit(x, ddof) -> Model:
    """The 1-D fit in plain float64 arithmetic, as the official code computes it with NumPy: μ̂ = np.mean(x),
    σ̂ = np.std(x, ddof=δ) of the points x (M, 1) themselves, in NumPy's summation order. Once σ is so small that
    μ + σz rounds to μ for every draw (and their mean to μ), σ̂ = 0 and log σ = −∞ from then on
    (docs/differences.md)."""
    m = x.shape[0]
    mean = _true_divide(numpy_sum(x[:, 0]), m)
    centred = x[:, 0] - mean
    var = _true_divide(numpy_sum(centred * centred), m - ddof)
    return Model(mean[None], jnp.ones((1, 1)), 0.5 * jnp.log(var)[None])
