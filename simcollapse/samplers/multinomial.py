"""Exact multinomial and multivariate hypergeometric counts on ``samplers.bits`` keys, never materialising the
n items (float64 counts, exact up to 2⁵³).

* :func:`multinomial`: Mult(n, p) as a nested sequence of conditional binomials, c_i ~ Bin(n − Σ_{j<i} c_j,
  p_i / Σ_{j≥i} p_j) (Devroye 1986, §XI.1.1), grouped in a b-ary tree (b ≤ 256, so K ≤ 65 536 takes two
  levels): O(K) work in O(√K) vectorised steps, independently of n.
* :func:`multinomial_by_inversion`: the histogram of n categorical draws by inversion (a binary search of
  U·F_K in the cumulative weights per item), O(n log K) work in log₂ K steps: faster when n log K ≪ K.
* :func:`multivariate_hypergeometric`: the counts of a uniformly random n-subset of a pool given by its
  counts, the same tree of conditional hypergeometric draws.

Level ℓ of the tree draws with key fold(key, ℓ), its i-th step (cell i of every group) with fold(that, i).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from ..core.batch_invariant import tree_sum
from . import bits
from .binomial import SMALL_MEAN, binomial, hypergeometric

MAX_BRANCH = 256


def layout(K: int) -> tuple[int, int]:
    """Depth d and branching b (b^d ≥ K, b ≤ 256) of the nested draw."""
    d = max(1, math.ceil(math.log(K) / math.log(MAX_BRANCH) - 1e-12))
    b = max(2, math.ceil(K ** (1.0 / d) - 1e-9))
    while b**d < K:
        b += 1
    return d, b


def _nested(key: bits.Key, n, weights, draw):
    """Split n items over K cells with conditional draws: ``draw(key, rem, w_i, tail_i)`` gives the share of
    cell i among `rem` items left for cells i, i+1, … whose weights sum to tail_i. Cells are grouped in a
    b-ary tree of depth d; each level is one `lax.scan` of b − 1 vectorised draws (the last cell of each
    group takes the remainder)."""
    K = weights.shape[-1]
    if K == 1:
        return jnp.reshape(jnp.asarray(n, jnp.float64), (1,))
    d, b = layout(K)
    sums = [jnp.pad(weights, (0, b**d - K))]
    for _ in range(d - 1):
        sums.append(tree_sum(sums[-1].reshape(-1, b), axis=1))
    counts = jnp.reshape(jnp.asarray(n, jnp.float64), (1,))
    for level in range(d):
        w = sums[d - 1 - level].reshape(-1, b)
        tail = jnp.flip(jnp.cumsum(jnp.flip(w, 1), 1), 1)
        level_key = bits.fold(key, level)

        def step(rem, xs, level_key=level_key):
            i, wi, ti = xs
            x = draw(bits.fold(level_key, i), rem, wi, ti)
            return rem - x, x

        rem, x = jax.lax.scan(step, counts, (jnp.arange(b - 1, dtype=jnp.uint32), w[:, :-1].T, tail[:, :-1].T))
        counts = jnp.concatenate([x.T, rem[:, None]], axis=1).reshape(-1)
    return counts[:K]


def multinomial(key: bits.Key, n, probs, small_mean: float = SMALL_MEAN, n_max: float | None = None):
    """Exact Mult(n, probs) counts (shape (K,)); `small_mean` and `n_max` as in ``binomial``."""

    def draw(k, rem, w, tail):
        return binomial(k, rem, jnp.clip(w / jnp.where(tail > 0, tail, 1.0), 0.0, 1.0), small_mean, n_max)

    return _nested(key, n, jnp.asarray(probs, jnp.float64), draw)


def multinomial_by_inversion(key: bits.Key, n, probs, n_max: int):
    """Exact Mult(n, probs) counts for n ≤ n_max as the histogram of n iid categorical draws.

    Each draw takes the first type whose cumulative weight F_i exceeds U·F_K (binary search), U uniform on
    [0, 1); U·F_K is kept below F_K so a type of probability 0 is never drawn. n_max uniforms are drawn and
    those beyond n are dropped, so n may be traced."""
    probs = jnp.asarray(probs, jnp.float64)
    cdf = jnp.cumsum(probs)
    total = cdf[-1]
    u = jnp.minimum(bits.uniform(key, (n_max,)) * total, jnp.nextafter(total, 0.0))
    types = jnp.searchsorted(cdf, u, side="right")
    types = jnp.where(jnp.arange(n_max) < n, types, probs.shape[-1])
    return jnp.zeros(probs.shape[-1]).at[types].add(1.0, mode="drop")


def multivariate_hypergeometric(key: bits.Key, n, pool, small_mean: float = SMALL_MEAN, n_max: float | None = None):
    """Counts of a uniformly random n-subset (without replacement) of a pool given by its counts (K,)."""

    def draw(k, rem, w, tail):
        return hypergeometric(k, rem, w, tail, small_mean, n_max)

    return _nested(key, n, jnp.asarray(pool, jnp.float64), draw)
