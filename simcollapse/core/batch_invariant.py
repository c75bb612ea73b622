"""Sums whose floating-point result does not depend on how many chains run beside each other.

XLA vectorises a reduction differently for different batch sizes, so ``jnp.sum`` over the samples of one
chain can differ in the last ulp between a run of 64 chains and one of 1000. Elementwise operations do not, as
long as every element runs through the same vectorised loop: a scalar remainder loop may contract a·b + c into
a fused multiply-add differently and evaluate exp and log differently. The driver therefore pads the chain axis
(``Chain.lanes``) so that the loops over (chain, …) arrays have no remainder, and the sums here are built from
elementwise additions only, so every chain sees the same roundings whatever the batch:

* :func:`ordered_sum`: index order, a loop of vector additions across the chains (short axes: samples of a
  small generation, coordinates);
* :func:`entry_sum`: every entry of a small array in row-major order, unrolled (a chain's d log-scales: a
  ``jnp.sum`` over them rounded differently among 1024 chains than among 64);
* :func:`tree_sum`: pairwise halving, x[:h] + x[h:] on a zero-padded power-of-two axis (long axes: types,
  centres; log₂ n steps, error O(ε log n));
* :func:`tree_max` and :func:`logsumexp` likewise.

(``jnp.cumsum`` needs no replacement: it lowers to windowed pairwise additions in a fixed order.)

A reduction matters even where its result is exact (integer counts, a maximum): XLA may fuse it with the
elementwise code around it, and the fused loop can be vectorised differently for another batch size. So no
family reduces over a long axis inside its generation step or its statistics other than through these
functions (integer counts excepted where the result feeds no exp or log).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def ordered_sum(x, term=None, unroll: int = 10):
    """Σ_i term(x[i]) over axis 0, added in index order (error ≤ (n−1)·ε·Σ|term_i|); term defaults to x[i]."""
    term = term or (lambda row: row)
    zero = jnp.zeros_like(term(x[0]))
    return jax.lax.fori_loop(0, x.shape[0], lambda i, total: total + term(x[i]), zero, unroll=unroll)


def entry_sum(x):
    """Σ of the entries of a small array (a chain's d log-scales, a d × d matrix) in row-major order, one
    elementwise addition at a time, unrolled at trace time."""
    terms = [x[index] for index in np.ndindex(*x.shape)]
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


def _halving(x, axis: int, combine, fill):
    """combine over `axis` by pairwise halving, x[:h] ∘ x[h:], of the axis padded with `fill` to a power of two
    (sliced in place: moving the axis first would copy the array in a strided transpose)."""
    x = jnp.asarray(x)
    axis = axis % x.ndim
    size = 1 << max(0, (x.shape[axis] - 1).bit_length())
    if size != x.shape[axis]:
        pad = [(0, 0)] * x.ndim
        pad[axis] = (0, size - x.shape[axis])
        x = jnp.pad(x, pad, constant_values=fill)
    while x.shape[axis] > 1:
        half = x.shape[axis] // 2
        x = combine(jax.lax.slice_in_dim(x, 0, half, axis=axis), jax.lax.slice_in_dim(x, half, 2 * half, axis=axis))
    return jnp.squeeze(x, axis)


def tree_sum(x, axis: int = -1):
    """Σ over `axis` by pairwise halving of a zero-padded power-of-two axis (elementwise additions only)."""
    return _halving(x, axis, jnp.add, 0)


def tree_max(x, axis: int = -1):
    """The maximum over `axis` by pairwise halving (see the module docstring for why not ``jnp.max``)."""
    return _halving(x, axis, jnp.maximum, -jnp.inf)


def logsumexp(x, axis: int = -1):
    """log Σ exp x over `axis` (−inf when every term is −inf). The maximum too is taken by halving: a maximum is
    exact in any order, but an XLA reduce fused with the exponentials can change how they are vectorised, and
    XLA's vector and scalar exp/log may differ in the last ulp."""
    top = tree_max(x, axis)
    top = jnp.where(jnp.isfinite(top), top, 0.0)
    return top + jnp.log(tree_sum(jnp.exp(x - jnp.expand_dims(top, axis)), axis))

