"""Exact gamma, chi-square and Bartlett-Wishart draws, returned in log space.

`log_gamma` uses the Marsaglia–Tsang (2000) squeeze-free rejection method. Its random numbers are the 64-bit
words of one `jax.random.bits` call per key (turned into uniforms on (0, 1] and into normals by Box–Muller),
computed bit for bit by the unrolled threefry of `simcollapse.samplers.random` (JAX's rolled CPU lowering is several
times slower on the few words per chain drawn here). The first call yields two candidates per element; a
`while_loop` draws two more per round only while some element has rejected both (for shape ≥ 1 a candidate is
accepted with probability ≥ 0.95, and for χ²_{99}/2 with ≥ 0.998, so the loop is rarely entered). The first accepted candidate of an iid sequence is taken, so the law is exact.
Shapes a < 1 use the boost G(a) = G(a+1)·U^{1/a}. Results are log G, so a χ²_1 draw near 0 never underflows.
"""

import math

import jax
import jax.numpy as jnp

from . import random

LOG2 = math.log(2.0)
_WORDS_PER_ROUND = 4  # two Box–Muller normals and two acceptance uniforms: two candidates


def uniform_open(words):
    """U in (0, 1] from uint64 words: (top 53 bits + 1)·2⁻⁵³, every value equally likely."""
    return ((words >> 11).astype(jnp.float64) + 1.0) * 2.0**-53


def box_muller(words_a, words_b):
    """Two independent N(0, 1) arrays from two arrays of uint64 words: √(−2 log U)·(cos 2πV, sin 2πV)."""
    radius = jnp.sqrt(-2.0 * jnp.log(uniform_open(words_a)))
    angle = 2.0 * math.pi * uniform_open(words_b)
    return radius * jnp.cos(angle), radius * jnp.sin(angle)


def _candidates(words, d, c):
    """Two Marsaglia–Tsang candidates from 4 word arrays: (accepted?, log G) for each, stacked first.

    Propose v = (1 + c x)³ with x ~ N(0,1); accept if log u < x²/2 + d − d·v + d·log v; then G = d·v.
    """
    x = jnp.stack(box_muller(words[0], words[1]))
    log_u = jnp.log(uniform_open(jnp.stack([words[2], words[3]])))
    cx = 1.0 + c * x
    positive = cx > 0
    log_v = 3.0 * jnp.log(jnp.where(positive, cx, 1.0))
    accept = positive & (log_u < 0.5 * x * x + d - d * jnp.exp(log_v) + d * log_v)
    return accept, jnp.log(d) + log_v


def _first_accepted(accept, value):
    """(any accepted, the first accepted value) over the two stacked candidates."""
    return accept[0] | accept[1], jnp.where(accept[0], value[0], value[1])


def log_gamma(key, shape_param, shape=()):
    """log G with G ~ Gamma(shape_param, 1); `shape_param` broadcasts to `shape` (shape 0 gives −inf)."""
    a_in = jnp.broadcast_to(jnp.asarray(shape_param, dtype=float), shape)
    valid = a_in > 0  # Gamma(0) is the point mass at 0: log G = −inf, and no rejection loop may spin
    a = jnp.where(valid, a_in, 1.0)
    boost = a < 1.0
    d = jnp.where(boost, a + 1.0, a) - 1.0 / 3.0
    c = 1.0 / jnp.sqrt(9.0 * d)

    words = random.words(key, shape, _WORDS_PER_ROUND + 1)
    done, log_g = _first_accepted(*_candidates(words[:_WORDS_PER_ROUND], d, c))

    def cond(carry):
        return ~jnp.all(carry[1])

    def body(carry):
        round_index, done, value = carry
        more = random.words(random.fold_in(key, round_index), shape, _WORDS_PER_ROUND)
        accepted, candidate = _first_accepted(*_candidates(more, d, c))
        return round_index + 1, done | accepted, jnp.where(done, value, candidate)

    _, _, log_g = jax.lax.while_loop(cond, body, (1, done, log_g))
    log_u_boost = jnp.log(uniform_open(words[_WORDS_PER_ROUND]))
    return jnp.where(valid, log_g + jnp.where(boost, log_u_boost / a, 0.0), -jnp.inf)


def log_chi2(key, dof, shape=()):
    """log χ²_dof = log 2 + log Gamma(dof/2)."""
    return LOG2 + log_gamma(key, jnp.asarray(dof, dtype=float) / 2.0, shape)


def bartlett(key, dof, dim):
    """Bartlett factor of a standard Wishart: W = A Aᵀ ~ W_dim(dof, I), dof ≥ dim.

    A is lower triangular with A_ii = √χ²_{dof−i} and A_ij ~ N(0,1) for i > j
    (Bartlett 1933). Returned as (log_diag, unit) with A = unit · diag(exp(log_diag)),
    `unit` unit-lower-triangular, so that products of many factors stay in range.
    In one dimension A is the single √χ²_dof and no normal is drawn.
    """
    if dim == 1:
        return 0.5 * log_chi2(key, dof, (1,)), jnp.ones((1, 1))
    k_diag, k_off = random.split(key)
    i = jnp.arange(dim)
    log_diag = 0.5 * log_chi2(k_diag, dof - i, (dim,))
    below = jnp.tril(random.normal(k_off, (dim, dim)), -1)
    unit = jnp.eye(dim) + below * jnp.exp(-log_diag)[None, :]
    return log_diag, unit
