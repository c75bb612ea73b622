"""The `mvgaussian` chain with no more samples than dimensions (M ≤ d): singular covariances, as the peers' sweeps
run them (docs/theory.md §W.2).

With M points the scatter has rank M − 1 < d, so the fitted covariance Σ = S/(M − δ) is singular and no Cholesky
factor exists. Σ is carried instead by a d × M factor B = (X − x̄)ᵀ/√(M − δ) of the fitted points themselves:
Σ = B Bᵀ, and M points of N(μ, Σ) are x_j = μ + B w_j, w_j ~ N(0, I_M), an exact draw. The chain then lives in
the (M − 1)-dimensional affine span of its first sample for good. Policy ``replace``, the exact sampler and
fitter, and a constant M (validated by the config).

Metrics as in the regular chain: ``mean``, ``cov`` = B Bᵀ, ``trace`` = ‖B‖_F², ``logdet`` = −∞ (unbounded),
``det_ratio`` = 0, ``mean_sq_error``, ``w2sq`` (the Bures term from the singular values of Σ₀^½ B),
``kl`` = ``log_kl`` = +∞; and ``rank``, the numerical rank of Σ (the singular values of B above the rounding
floor of the points, max(d, M)·ε·(σ₁ + √M·max|μ|)).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..core.batch_invariant import entry_sum
from ..core.driver import Chain
from ..samplers import bits
from ._gaussian_model import points_moments

UNBOUNDED = ("kl", "log_kl", "logdet")


class State(NamedTuple):
    t: jax.Array
    mean: jax.Array  # (d,)
    factor: jax.Array  # (d, M): Σ = B Bᵀ (generation 0: the truth's Cholesky factor, padded with zeros)


class SingularGaussian:
    def __init__(self, config):
        self.config = config
        self.d = config.dim
        self.m = int(config.sizes()[0])
        self.ddof = float(config.ddof)
        self.mean0 = np.broadcast_to(np.asarray(config.mean0, dtype=float), (self.d,)).copy()
        self.cov0 = config.covariance0()
        chol0 = np.linalg.cholesky(self.cov0)
        self.chol0 = chol0
        w, v = np.linalg.eigh(self.cov0)
        self.cov0_sqrt = (v * np.sqrt(w)) @ v.T

    def init(self, key, params=None) -> State:
        return State(jnp.asarray(0, jnp.int32), jnp.asarray(self.mean0), jnp.zeros((self.d, self.m)))

    def step(self, key, state: State, params=None) -> State:
        # generation 0 draws from the truth's full-rank factor, later ones from the fitted d × M factor
        z = bits.normal(key, (self.m, max(self.d, self.m)))
        from_truth = state.mean + z[:, : self.d] @ jnp.asarray(self.chol0).T
        from_model = state.mean + z[:, : self.m] @ state.factor.T
        x = jnp.where(state.t == 0, from_truth, from_model)
        moments = points_moments(x, jnp.ones(self.m))
        ddof = self.ddof if params is None else params.ddof  # a batchable field (families.gaussian.params)
        factor = (x - moments.mean).T / jnp.sqrt(self.m - ddof)
        return State(state.t + 1, moments.mean, factor)

    def observe(self, state: State, params=None) -> dict:
        truth = state.t == 0
        diff = state.mean - self.mean0
        mse = entry_sum(diff * diff)
        cov = jnp.where(truth, jnp.asarray(self.cov0), state.factor @ state.factor.T)
        singular = jnp.linalg.svd(state.factor, compute_uv=False)
        # the points carry rounding errors ≈ ε(|μ| + σ) per coordinate, which the factor's null directions pick up:
        # count the singular values above that floor
        scale = singular[0] + jnp.max(jnp.abs(state.mean)) * np.sqrt(self.m)
        rank = jnp.sum(singular > max(self.d, self.m) * jnp.finfo(singular.dtype).eps * scale)
        overlap = jnp.linalg.svd(jnp.asarray(self.cov0_sqrt) @ state.factor, compute_uv=False)
        trace = entry_sum(state.factor * state.factor)
        bures = trace + np.trace(self.cov0) - 2.0 * entry_sum(overlap)
        logdet0 = float(np.linalg.slogdet(self.cov0)[1])
        out = {
            "mean": state.mean, "cov": cov, "mean_sq_error": mse,
            "trace": jnp.where(truth, np.trace(self.cov0), trace),
            "logdet": jnp.where(truth, logdet0, -jnp.inf),
            "det_ratio": jnp.where(truth, 1.0, 0.0),
            "w2sq": jnp.where(truth, 0.0, mse + bures),
            "kl": jnp.where(truth, 0.0, jnp.inf),
            "log_kl": jnp.where(truth, -jnp.inf, jnp.inf),
            "rank": jnp.where(truth, self.d, rank).astype(float),
        }
        return {name: out[name] for name in self.config.metrics}

    def chain(self) -> Chain:
        return Chain(self.init, self.step, self.observe, unbounded=UNBOUNDED)


def build(config) -> Chain:
    return SingularGaussian(config).chain()
