"""The Gaussian model of the `gaussian` and `mvgaussian` chains and the moments of a data set: N(μ, L Lᵀ) carried
as L = U·diag(exp(ℓ)) (U unit lower triangular, ℓ the log-scales, so geometric collapse never underflows), the
closed-form fit to pooled moments, the gradient fit in standardised coordinates and the maps between them
(docs/theory.md §G.1, §P)."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.linalg import solve_triangular

from ..core.batch_invariant import ordered_sum
from .sgd import sgd


class Model(NamedTuple):
    """N(mean, L Lᵀ) with L = unit · diag(exp(log_scale)); shapes (d,), (d, d), (d,)."""

    mean: jax.Array
    unit: jax.Array
    log_scale: jax.Array


class Moments(NamedTuple):
    """Summary of a data set: count, mean (d,) and scatter Σ(x − x̄)(x − x̄)ᵀ (d, d)."""

    count: jax.Array
    mean: jax.Array
    scatter: jax.Array


def model_from_cholesky(mean, chol) -> Model:
    diag = jnp.diagonal(chol)
    return Model(mean, chol / diag[None, :], jnp.log(diag))


def cholesky(model: Model):
    return model.unit * jnp.exp(model.log_scale)[None, :]


def covariance(model: Model):
    chol = cholesky(model)
    return chol @ chol.T


def combine(a: Moments, b: Moments) -> Moments:
    """Pooled summary (Chan et al. parallel update); either side may be empty."""
    n = a.count + b.count
    share_b = jnp.where(n > 0, b.count / jnp.where(n > 0, n, 1.0), 0.0)
    delta = b.mean - a.mean
    return Moments(
        n,
        a.mean + share_b * delta,
        a.scatter + b.scatter + (a.count * share_b) * jnp.outer(delta, delta),
    )


def fit(data: Moments, ddof: float) -> Model:
    """Mean and covariance S/(n − δ) of the pooled data."""
    return model_from_cholesky(data.mean, jnp.linalg.cholesky(data.scatter / (data.count - ddof)))


def points_moments(x, mask) -> Moments:
    """Count, mean and scatter Σ (x − x̄)(x − x̄)ᵀ of the masked rows, summed batch-invariantly.

    The mean's sum stays a loop of at least two passes: its rows are then read from memory, where a sum unrolled
    whole lets XLA fuse the points' producer (a fresh draw) into every row's use and compute each point n_max
    times. One row has scatter exactly 0 (x̄ = x, or no point at all)."""
    n = jnp.sum(mask)
    if x.shape[0] == 1:
        return Moments(n.astype(float), (jnp.zeros(x.shape[1]) + x[0] * mask[0]) / jnp.maximum(n, 1),
                       jnp.zeros((x.shape[1], x.shape[1])))
    mean = ordered_sum(x * mask[:, None], unroll=max(1, min(10, x.shape[0] // 2))) / jnp.maximum(n, 1)
    centred = (x - mean) * mask[:, None]
    return Moments(n.astype(float), mean, ordered_sum(centred, lambda c: jnp.outer(c, c)))


def gradient_fit(zbar, scatter, n, steps: int, lr: float):
    """`steps` SGD steps on the mean negative log-likelihood of standardised data, from N(0, I).

    Data: count n, mean z̄ (d,), scatter S (d, d). Model N(a, B Bᵀ), B = V diag(e^β):
    −ℓ/n = ½ tr((B Bᵀ)⁻¹ (S/n + (z̄ − a)(z̄ − a)ᵀ)) + Σ β + const, maximised at a = z̄, B Bᵀ = S/n.
    Returns (a (d,), V (d, d) unit lower triangular, β (d,)).
    """
    d = zbar.shape[0]
    lower = jnp.tril(jnp.ones((d, d)), -1)

    def loss(params):
        a, v, beta = params
        b = (jnp.eye(d) + v * lower) * jnp.exp(beta)[None, :]
        second = scatter / n + jnp.outer(zbar - a, zbar - a)
        x = solve_triangular(b, second, lower=True)  # B⁻¹ M
        return 0.5 * jnp.trace(solve_triangular(b, x.T, lower=True)) + jnp.sum(beta)

    a, v, beta = sgd(jax.grad(loss), (jnp.zeros(d), jnp.zeros((d, d)), jnp.zeros(d)), steps, lr)
    return a, jnp.eye(d) + v * lower, beta


def compose(model: Model, shift, unit, log_factor) -> Model:
    """N(μ + L a, L B (L B)ᵀ) for B = V diag(e^β), in (U, ℓ) form: L B = (U W) diag(e^{ℓ+β}) with
    W_ij = V_ij e^{ℓ_i − ℓ_j} (i > j), which stays bounded as the lower scales collapse."""
    d = shift.shape[0]
    lower = jnp.tril(jnp.ones((d, d), bool), -1)
    gap = jnp.where(lower, model.log_scale[:, None] - model.log_scale[None, :], 0.0)
    w = jnp.where(lower, unit * jnp.exp(gap), jnp.eye(d))
    mean = model.mean + model.unit @ (jnp.exp(model.log_scale) * shift)
    return Model(mean, model.unit @ w, model.log_scale + log_factor)


def standardise(data: Moments, model: Model) -> Moments:
    """The same data in the model's standardised coordinates z = L⁻¹(x − μ)."""
    inv_scale = jnp.exp(-model.log_scale)[:, None]
    zbar = inv_scale[:, 0] * solve_triangular(model.unit, data.mean - model.mean, lower=True, unit_diagonal=True)
    x = inv_scale * solve_triangular(model.unit, data.scatter, lower=True, unit_diagonal=True)
    scatter = inv_scale * solve_triangular(model.unit, x.T, lower=True, unit_diagonal=True)
    return Moments(data.count, zbar, scatter)
