"""Linear-regression chain (`linreg`): Dohmatob, Feng & Kempe (2024); Gerstgrasser et al. (2024) §3.

A fixed design X ∈ ℝ^{T×d} (rows x ~ N(0, I_d)) is drawn once per chain at initialisation; generation 0 is the
truth w*. Generation n labels the design with the previous model, y_n = X ŵ_{n−1} + ε_n, ε_n ~ N(0, σ² I_T)
(σ = ``noise``), and refits by least squares (ridge λ = ``ridge``; 0 is OLS). Policies:

* ``replace``: ŵ_n = (XᵀX + λI)⁻¹ Xᵀ y_n;
* ``accumulate``: the design is stacked n times and every label kept, so only the running sufficient statistic
  b_n = Σ_{i≤n} Xᵀ y_i is carried: ŵ_n = (n XᵀX + λI)⁻¹ b_n. For OLS, with ξ_i = (XᵀX)⁻¹Xᵀ ε_i,
  n ŵ_n = Σ_{i≤n}(ŵ_{i−1} + ξ_i) gives ŵ_n = ŵ_{n−1} + ξ_n/n, so ŵ_n − w* = Σ_{i≤n} ξ_i/i.

Each solve factors c XᵀX + λI by Cholesky (d × d; cheap, and far quicker to compile than an eigendecomposition).

Metrics: ``w`` (d,), ŵ_n; ``test_error`` = ‖ŵ_n − w*‖² (noiseless test error for Σ = I); ``trace_inv_gram`` =
tr((XᵀX + λI)⁻¹) of the chain's design (constant along the chain; the exact conditional error is
c_n σ² tr((XᵀX)⁻¹), see :mod:`simcollapse.theory.linreg`).
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..config import ConfigError, RunConfig, check_choice, check_int, check_number
from ..core.driver import Chain

POLICIES = ("replace", "accumulate")
METRICS = ("w", "test_error", "trace_inv_gram")


class State(NamedTuple):
    t: jax.Array
    w: jax.Array  # (d,)
    x: jax.Array  # (T, d) design
    gram: jax.Array  # (d, d) XᵀX
    xty: jax.Array  # (d,) Σ_i Xᵀ y_i (accumulate)
    trace_inv: jax.Array  # tr((XᵀX + λI)⁻¹), fixed with the design


class LinReg:
    def __init__(self, config: LinRegConfig):
        self.config = config
        self.d, self.T = config.dim, config.design_size
        self.w_star = jnp.asarray(config.truth())

    def init(self, key) -> State:
        x = jax.random.normal(key, (self.T, self.d))
        gram = x.T @ x
        return State(jnp.asarray(0, jnp.int32), self.w_star, x, gram, jnp.zeros(self.d), self._trace_inv(gram))

    def _solve(self, state: State, count, b):
        """(count·XᵀX + λI)⁻¹ b."""
        chol = jnp.linalg.cholesky(count * state.gram + self.config.ridge * jnp.eye(self.d))
        return jax.scipy.linalg.cho_solve((chol, True), b)

    def step(self, key, state: State) -> State:
        y = state.x @ state.w + self.config.noise * jax.random.normal(key, (self.T,))
        b = state.x.T @ y
        t = state.t + 1
        if self.config.policy == "replace":
            return state._replace(t=t, w=self._solve(state, 1.0, b))
        xty = state.xty + b
        return state._replace(t=t, w=self._solve(state, t.astype(float), xty), xty=xty)

    def _trace_inv(self, gram):
        """tr((XᵀX + λI)⁻¹) = ‖L⁻¹‖_F² with XᵀX + λI = L Lᵀ (computed once, at initialisation: a batched
        triangular solve inside the generation loop was seen to stall XLA's CPU runtime)."""
        eye = jnp.eye(self.d)
        chol = jnp.linalg.cholesky(gram + self.config.ridge * eye)
        inv = jax.scipy.linalg.solve_triangular(chol, eye, lower=True)
        return jnp.sum(inv * inv)

    def observe(self, state: State) -> dict:
        diff = state.w - self.w_star
        out = {
            "w": state.w,
            "test_error": diff @ diff,
            "trace_inv_gram": state.trace_inv,
        }
        return {name: out[name] for name in self.config.metrics}

    def chain(self) -> Chain:
        return Chain(self.init, self.step, self.observe)


@dataclasses.dataclass(frozen=True)
class LinRegConfig(RunConfig):
    """Linear-regression chain. Fields beyond the run fields:

    design_size: T rows of the fixed design (T > dim + 1 for OLS, so E tr((XᵀX)⁻¹) = d/(T−d−1) is finite).
    dim: d.   noise: σ of the label noise.   policy: replace | accumulate.   ridge: λ ≥ 0 (0 = OLS).
    w_star: the truth; None gives (1, …, 1)/√d, a number gives that value in every coordinate.
    metrics: statistics recorded per generation.
    """

    family = "linreg"
    design_size: int = 50
    dim: int = 10
    noise: float = 1.0
    policy: str = "replace"
    ridge: float = 0.0
    w_star: Any = None
    metrics: tuple = METRICS

    def truth(self) -> np.ndarray:
        if self.w_star is None:
            return np.full(self.dim, 1.0 / np.sqrt(self.dim))
        return np.broadcast_to(np.asarray(self.w_star, float), (self.dim,)).copy()

    def validate(self) -> None:
        d = check_int("dim", self.dim, 1)
        check_number("noise", self.noise, low=0)
        check_choice("policy", self.policy, POLICIES)
        ridge = check_number("ridge", self.ridge, low=0)
        check_int("design_size", self.design_size, 1)
        if ridge == 0 and self.design_size <= d + 1:
            raise ConfigError("design_size", f"must be > dim + 1 = {d + 1} for OLS (ridge = 0), got {self.design_size}")
        try:
            w = self.truth()
        except (TypeError, ValueError):
            raise ConfigError("w_star", f"must be a number or {d} numbers, got {self.w_star!r}") from None
        if not np.all(np.isfinite(w)):
            raise ConfigError("w_star", "must be finite")
        if isinstance(self.metrics, str) or not self.metrics or not all(m in METRICS for m in self.metrics):
            raise ConfigError("metrics", f"must be a non-empty list drawn from {', '.join(METRICS)}; got {self.metrics!r}")
        object.__setattr__(self, "metrics", tuple(self.metrics))


def build(config: LinRegConfig) -> Chain:
    return LinReg(config).chain()
