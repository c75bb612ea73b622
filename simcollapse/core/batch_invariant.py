"""Sums whose floating-point result does not depend on how many chains run beside each other.

XLA vectorises a reduction differently for different batch sizes, so ``jnp.sum`` over the samples of one
chain can differ in the last ulp between a run of 64 chains and one of 1000. Summing in index order with a
loop of elementwise additions gives every chain the same sequence of roundings whatever the batch, and on
this CPU it costs no more than ``jnp.sum`` (the loop body is a vector addition across all chains).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def ordered_sum(x, term=None, unroll: int = 10):
    """Σ_i term(x[i]) over axis 0, added in index order (error ≤ (n−1)·ε·Σ|term_i|); term defaults to x[i]."""
    term = term or (lambda row: row)
    zero = jnp.zeros_like(term(x[0]))
    return jax.lax.fori_loop(0, x.shape[0], lambda i, total: total + term(x[i]), zero, unroll=unroll)
