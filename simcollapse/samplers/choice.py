"""Discrete draws from uniform bits: an index with probability ∝ mass, and an ordered sample without replacement.

* :func:`proportional`: inversion of the cumulative sum, i = #{j : F_j ≤ U·F_last} for U uniform on [0, 1) and
  F_j = Σ_{l≤j} mass_l, so P(i = k) = mass_k / Σ mass (up to the rounding of the cumulative sum).
* :func:`ordered_sample`: k distinct indices among the marked ones, every ordered k-tuple equally likely (the law
  of drawing one at a time without replacement): Floyd's uniform k-subset (`samplers.subset`), put in a uniformly
  random order by sorting k uniform words.
"""

from __future__ import annotations

import jax.numpy as jnp

from . import bits
from .subset import random_subset


def proportional(u, mass):
    """Indices drawn with probability ∝ `mass` (n,) (≥ 0, positive sum) from uniforms `u` on [0, 1) (any shape).

    Entries of zero mass are never returned: a flat step of the cumulative sum is passed over (the count includes
    it), and a draw that rounds past the end goes to the last entry of positive mass. Every u is compared with
    every step (a few components or trial seeds: cheaper than a binary search)."""
    cdf = jnp.cumsum(mass)
    index = jnp.searchsorted(cdf, u * cdf[-1], side="right", method="compare_all")
    last = mass.shape[0] - 1 - jnp.argmax(mass[::-1] > 0)
    return jnp.minimum(index, last)


def ordered_sample(key: bits.Key, marked, size: int):
    """`size` distinct indices i with ``marked[i]`` (a bool (n,) with at least `size` True), each ordered tuple
    equally likely. A tie among the sorting words (probability below size²·2⁻⁶⁵) keeps Floyd's order."""
    n = marked.shape[0]
    ranks, _ = random_subset(bits.fold(key, 0), jnp.sum(marked), size, size, n)
    order = jnp.argsort(bits.words(bits.fold(key, 1), (size,)))
    rows = jnp.nonzero(marked, size=n, fill_value=n - 1)[0]  # the marked indices, in increasing order
    return rows[ranks[order]]
