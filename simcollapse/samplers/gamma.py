"""Exact gamma, chi-square and Bartlett-Wishart draws, returned in log space.

`log_gamma` uses the Marsaglia–Tsang (2000) squeeze-free rejection method,
vectorised over the whole array: every round proposes a candidate for every
element still waiting, so the loop count is the *maximum* number of rounds over
the batch (acceptance ≥ 0.95 per round for shape ≥ 1, so ≈ 5 rounds for 10⁶
draws) rather than a loop per element. Shapes a < 1 use the boost
G(a) = G(a+1)·U^{1/a}. Results are log G, so a χ²_1 draw near 0 never underflows.
"""

import jax
import jax.numpy as jnp

LOG2 = jnp.log(2.0)


def log_gamma(key, shape_param, shape=()):
    """log G with G ~ Gamma(shape_param, 1); `shape_param` broadcasts to `shape`.

    Marsaglia–Tsang: d = a − 1/3, c = 1/√(9d); propose v = (1 + c x)³ with
    x ~ N(0,1); accept if log u < x²/2 + d − d·v + d·log v. Then G = d·v.
    """
    a_in = jnp.broadcast_to(jnp.asarray(shape_param, dtype=float), shape)
    valid = a_in > 0  # Gamma(0) is the point mass at 0: log G = −inf, and no rejection loop may spin
    a = jnp.where(valid, a_in, 1.0)
    boost = a < 1.0
    a1 = jnp.where(boost, a + 1.0, a)
    d = a1 - 1.0 / 3.0
    c = 1.0 / jnp.sqrt(9.0 * d)
    key_boost, key_loop = jax.random.split(key)

    def propose(round_index):
        k_x, k_u = jax.random.split(jax.random.fold_in(key_loop, round_index))
        x = jax.random.normal(k_x, shape)
        log_u = jnp.log1p(-jax.random.uniform(k_u, shape))  # log of U in (0, 1]
        cx = 1.0 + c * x
        positive = cx > 0
        log_v = 3.0 * jnp.log(jnp.where(positive, cx, 1.0))
        v = jnp.exp(log_v)
        accept = positive & (log_u < 0.5 * x * x + d - d * v + d * log_v)
        return accept, jnp.log(d) + log_v

    def cond(carry):
        _, done, _ = carry
        return ~jnp.all(done)

    def body(carry):
        round_index, done, value = carry
        accept, candidate = propose(round_index)
        take = accept & ~done
        return round_index + 1, done | accept, jnp.where(take, candidate, value)

    start = (0, jnp.zeros(shape, bool), jnp.zeros(shape))
    _, _, log_g = jax.lax.while_loop(cond, body, start)
    log_u_boost = jnp.log1p(-jax.random.uniform(key_boost, shape))
    return jnp.where(valid, log_g + jnp.where(boost, log_u_boost / a, 0.0), -jnp.inf)


def log_chi2(key, dof, shape=()):
    """log χ²_dof = log 2 + log Gamma(dof/2)."""
    return LOG2 + log_gamma(key, jnp.asarray(dof, dtype=float) / 2.0, shape)


def bartlett(key, dof, dim):
    """Bartlett factor of a standard Wishart: W = A Aᵀ ~ W_dim(dof, I), dof ≥ dim.

    A is lower triangular with A_ii = √χ²_{dof−i} and A_ij ~ N(0,1) for i > j
    (Bartlett 1933). Returned as (log_diag, unit) with A = unit · diag(exp(log_diag)),
    `unit` unit-lower-triangular, so that products of many factors stay in range.
    """
    k_diag, k_off = jax.random.split(key)
    i = jnp.arange(dim)
    log_diag = 0.5 * log_chi2(k_diag, dof - i, (dim,))
    below = jnp.tril(jax.random.normal(k_off, (dim, dim)), -1)
    unit = jnp.eye(dim) + below * jnp.exp(-log_diag)[None, :]
    return log_diag, unit
