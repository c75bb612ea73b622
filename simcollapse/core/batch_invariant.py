"""Reductions whose floating-point result does not depend on how many chains run beside each other.

XLA vectorises a reduction differently for different batch sizes, so ``jnp.sum`` over the samples of one
chain can differ in the last ulp between a run of 64 chains and one of 1000. Summing by halving uses only
elementwise additions, which are exact per element whatever the batch (and pairwise summation is also the
more accurate order: error O(log n · ε) instead of O(n · ε)).
"""

from __future__ import annotations

import jax.numpy as jnp


def pairwise_sum(x):
    """Σ over axis 0 by repeated halving (zero-padded to a power of two)."""
    n = x.shape[0]
    size = 1 << max(0, (n - 1).bit_length())
    if size > n:
        x = jnp.concatenate([x, jnp.zeros((size - n, *x.shape[1:]), x.dtype)])
    while x.shape[0] > 1:
        half = x.shape[0] // 2
        x = x[:half] + x[half:]
    return x[0]
