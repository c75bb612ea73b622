"""A uniform random subset without replacement, by Floyd's algorithm: O(size) draws and O(slots) memory.

To choose k of {0, …, n−1}: for j = n−k, …, n−1 draw r uniform on {0, …, j}; take r unless it was taken
already, else take j. Every k-subset comes out with probability 1/C(n, k) (Bentley & Floyd, "A sample of
brilliance", CACM 30(9), 1987). Sorting n uniform keys does the same job in O(n log n) per draw, which made
the accumulate-subsample chain quadratic in the number of generations.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from . import bits


def random_subset(key: bits.Key, count, size, max_size: int, slots: int):
    """(indices (max_size,), valid (max_size,)): ``indices[valid]`` is a uniform `size`-subset of
    {0, …, count − 1}, for traced ``size ≤ max_size`` and ``count ≤ slots`` (static bounds)."""
    w = bits.words(key, (max_size,))
    count = jnp.asarray(count)
    size = jnp.asarray(size).astype(count.dtype)  # the counters' one integer type

    def take(i, carry):
        chosen, taken = carry
        j = count - size + i
        r = bits.below(w[i], jnp.maximum(j, 0) + 1)
        pick = jnp.where(taken[r], j, r)
        active = i < size
        return chosen.at[i].set(jnp.where(active, pick, 0)), taken.at[pick].set(taken[pick] | active)

    chosen, _ = jax.lax.fori_loop(0, max_size, take, (jnp.zeros(max_size, count.dtype), jnp.zeros(slots, bool)))
    return chosen, jnp.arange(max_size) < size
