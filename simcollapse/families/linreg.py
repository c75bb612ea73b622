"""Linear-regression chain (`linreg`): Dohmatob, Feng & Kempe (2024); Gerstgrasser et al. (2024) §3.

A fixed design X ∈ ℝ^{T×d} (rows x ~ N(0, I_d)) is drawn once per chain at initialisation; generation 0 is the
truth w*. Generation n labels the design with the previous model, y_n = X ŵ_{n−1} + ε_n, ε_n ~ N(0, σ² I_T)
(σ = ``noise``), and refits by least squares (ridge λ = ``ridge``; 0 is OLS). Policies:

* ``replace``: ŵ_n = (XᵀX + λI)⁻¹ Xᵀ y_n;
* ``accumulate``: the design is stacked n times and every label kept, so only the running sufficient statistic
  b_n = Σ_{i≤n} Xᵀ y_i is carried: ŵ_n = (n XᵀX + λI)⁻¹ b_n. For OLS, with ξ_i = (XᵀX)⁻¹Xᵀ ε_i,
  n ŵ_n = Σ_{i≤n}(ŵ_{i−1} + ξ_i) gives ŵ_n = ŵ_{n−1} + ξ_n/n, so ŵ_n − w* = Σ_{i≤n} ξ_i/i;
* ``synthetic_mix`` (strong collapse, Dohmatob et al., ICLR 2025; docs/theory.md §S): every generation labels the
  design afresh, the last n₂ = ⌊p₂T + ½⌋ rows by a shifted model w_s = w* + Δ and the others by w*, and fits them
  all (or, with ``curriculum``, ends on the real rows only). The labels do not depend on the previous fit, so each
  generation is an independent draw of the one-shot experiment; the test error's mean is the same at every n;
* ``accumulate_subsample`` (Kazdan et al. 2024): every (x, y) pair generated so far is kept — the design reused
  every generation, the labels drawn afresh, generation 1's real labels included — and the fit is on a uniform
  T-subset of the nT pairs, drawn without replacement (its own Gram matrix: design rows may repeat in it). No
  closed form is known for its test error (docs/theory.md §L.4).

Each solve factors c XᵀX + λI by Cholesky (d × d; cheap, and far quicker to compile than an eigendecomposition).
With fewer rows than fitted features (T < d′) and no ridge, XᵀX is singular and the fit is the minimum-norm
least-squares solution X⁺y (the peers' ``pinv``), by an eigendecomposition.

The paper's three error sources (Shumailov et al. 2024, "What is model collapse?"), each a switch:

* statistical approximation: ``sampler``. ``exact`` draws the label noise; ``infinite`` labels the design with
  its conditional mean X ŵ_{n−1} (the fit to infinitely many label draws per row, whose noise averages out).
  With OLS and every feature the chain then stays at w*.
* functional expressivity: ``fit_dim`` = d′ ≤ d. The model regresses on the first d′ features only (the
  rest of ŵ is 0), while the truth w* uses all d. Without the other two errors this error acts in the first
  generation only: ŵ_1 = w*₁ + (X₁ᵀX₁)⁻¹X₁ᵀX₂w*₂ (omitted-variable bias) and ŵ_n = ŵ_1 after.
* functional approximation: ``fitter``. ``exact`` is the closed form; ``sgd`` takes ``sgd_steps`` full-batch
  gradient steps (optax SGD, learning rate ``lr``) on the mean squared loss
  L(w) = (w ᵀ(cXᵀX + λI) w − 2 wᵀb)/(2cT) (c the number of label sets pooled, b their Σ Xᵀ y_i), from 0
  (``warm_start=False``, a fresh model each generation) or from ŵ_{n−1} (``warm_start=True``). From 0,
  k steps give the spectral filter ŵ = (I − (I − ηA)^k) A⁻¹b/(cT), A = (cXᵀX + λI)/(cT): early stopping
  shrinks every generation's fit towards 0, so this error alone drives ŵ_n → 0 (test error → ‖w*‖²). Both
  the ridge λ > 0 and these steps are biased fitters.

Metrics: ``w`` (d,), ŵ_n; ``test_error`` = ‖ŵ_n − w*‖² (noiseless test error for Σ = I); ``trace_inv_gram`` =
tr((X₁ᵀX₁ + λI)⁻¹) of the fitted features' design (constant along the chain; the exact conditional error is
c_n σ² tr((XᵀX)⁻¹) when every feature is fitted, see :mod:`simcollapse.theory.linreg`).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .. import policies
from ..config.linreg import FITTERS, METRICS, POLICIES, SAMPLERS, LinRegConfig
from ..core.batch_invariant import tree_sum
from ..core.driver import Chain
from ..policies import Sizes
from ..samplers import bits
from ..samplers.subset import random_subset
from .sgd import sgd

__all__ = ["FITTERS", "METRICS", "POLICIES", "SAMPLERS", "LinReg", "LinRegConfig", "build"]


class State(NamedTuple):
    t: jax.Array
    w: jax.Array  # (d,)
    x: jax.Array  # (T, d) design
    gram: jax.Array  # (d, d) XᵀX
    pool: object  # the policy's: the pooled Labels (accumulate) or None
    trace_inv: jax.Array  # tr((XᵀX + λI)⁻¹), fixed with the design


class Labels(NamedTuple):
    """Sufficient statistic of c label sets of the design: b = Σ_i Xᵀ y_i and c (float64); ``gram``: the
    subsample's own Σ x xᵀ where the pairs are not whole label sets of the design (else None: c XᵀX)."""

    xty: jax.Array
    count: jax.Array
    gram: jax.Array | None = None


class Store(NamedTuple):
    """Every (x, y) pair so far (accumulate_subsample): the design is fixed, so the design (T, d) once and the
    labels of each generation's set, (generations·T,), with their number."""

    x: jax.Array
    labels: jax.Array
    count: jax.Array


class LinReg:
    """Chain pieces of a linreg config, and its statistics for the policies (:class:`simcollapse.policies.Data`:
    :class:`Labels`, one label set of the fixed design per generation); the model the draws read is the state."""

    split_keys = False

    def __init__(self, config: LinRegConfig):
        self.config = config
        self.policy = policies.POLICIES[config.policy]
        self.d, self.T = config.dim, config.design_size
        # numpy constants: traced, they take the driver's float64 whatever the process's JAX default
        self.w_star = config.truth()
        self.fitted = np.arange(self.d) < config.fitted_dim  # the features the model uses
        self.underdetermined = config.ridge == 0 and self.T < config.fitted_dim  # XᵀX singular: min-norm fits
        # synthetic_mix: the shifted rows, and the rows the (last stage of the) fit uses
        self.synthetic_rows = np.arange(self.T) >= self.T - config.synthetic_rows
        self.fit_rows = (~self.synthetic_rows if config.curriculum else np.ones(self.T, bool)).astype(float)
        self.shifted_truth = config.shift()

    def init(self, key) -> State:
        x = bits.normal(key, (self.T, self.d))
        gram = x.T @ (self.fit_rows[:, None] * x)
        return State(jnp.asarray(0, jnp.int32), self.w_star, x, gram, self.policy.start(self, key),
                     self._trace_inv(gram))

    def _system(self, gram, count):
        """count·XᵀX + λI on the fitted features, the identity on the others (so their coefficients solve to 0)."""
        both = self.fitted[:, None] & self.fitted[None, :]
        return jnp.where(both, count * gram + self.config.ridge * jnp.eye(self.d), jnp.eye(self.d))

    def _fit(self, state: State, count, b, gram=None):
        """The fitter on `count` pooled label sets with Σ Xᵀ y_i = b (or on pairs with their own Σ x xᵀ = gram)."""
        b = jnp.where(self.fitted, b, 0.0)
        system = self._system(state.gram if gram is None else gram, count)
        if self.config.fitter == "exact":
            return self._solve(system, b)
        scale = count * self.T
        start = jnp.where(self.fitted, state.w, 0.0) if self.config.warm_start else jnp.zeros(self.d)
        return sgd(lambda w: jnp.where(self.fitted, (system @ w - b) / scale, 0.0), start,
                   self.config.sgd_steps, self.config.lr)

    def labels(self, key, state: State):
        """y = X ŵ + ε, the labels of the current model for the design (ε = 0 for the infinite sampler)."""
        y = state.x @ state.w
        if self.config.sampler == "exact":
            y = y + self.config.noise * bits.normal(key, (self.T,))
        return y

    def synthetic(self, key, state: State, n) -> Labels:
        """Xᵀy for the labels of the current model (n = 1 label set)."""
        return Labels(state.x.T @ self.labels(key, state), jnp.asarray(1.0))

    def mixed(self, key, state: State) -> Labels:
        """Xᵀy over the fitted rows for the strong-collapse labels: y = X w* + ε, plus X Δ on the synthetic rows."""
        y = state.x @ self.w_star + jnp.where(self.synthetic_rows, state.x @ self.shifted_truth, 0.0)
        if self.config.sampler == "exact":
            y = y + self.config.noise * bits.normal(key, (self.T,))
        return Labels(state.x.T @ (self.fit_rows * y), jnp.asarray(1.0))

    def fit_fresh(self, key, state: State, n):
        return self.fit(self.synthetic(key, state, n), state)

    def combine(self, a: Labels, b: Labels) -> Labels:
        return Labels(a.xty + b.xty, a.count + b.count)

    def empty(self) -> Labels:
        return Labels(jnp.zeros(self.d), jnp.asarray(0.0))

    def fit(self, data: Labels, state: State):
        return self._fit(state, data.count, data.xty, data.gram)

    # accumulate_subsample (Kazdan et al. 2024): every pair so far kept, the fit on a uniform T-subset of them
    def empty_store(self) -> Store:
        return Store(jnp.zeros((self.T, self.d)), jnp.zeros(self.config.generations * self.T),
                     jnp.asarray(0, jnp.int32))

    def store(self, store: Store, key, state: State, n, t) -> Store:
        labels = jax.lax.dynamic_update_slice(store.labels, self.labels(key, state), (store.count,))
        return Store(state.x, labels, store.count + self.T)

    def subsample(self, key, store: Store, n, t) -> Labels:
        """T of the stored pairs, drawn without replacement: pair k is design row k mod T with its label."""
        chosen, _ = random_subset(key, store.count, self.T, self.T, store.labels.shape[0])
        x = store.x[chosen % self.T]
        return Labels(x.T @ store.labels[chosen], jnp.asarray(1.0), x.T @ x)

    def step(self, key, state: State) -> State:
        w, pool = self.policy.step(self, key, state, state.pool, Sizes(state.t, 1.0, 0.0, 1.0))
        return state._replace(t=state.t + 1, w=w, pool=pool)

    def _pseudo_inverse(self, system):
        """The Moore–Penrose inverse of the symmetric system, by its eigendecomposition: eigenvalues below
        max(d, T)·ε times the largest count as 0 (numpy's lstsq rule)."""
        values, vectors = jnp.linalg.eigh(system)
        keep = values > max(self.d, self.T) * jnp.finfo(values.dtype).eps * values[-1]
        return (vectors * jnp.where(keep, 1.0 / jnp.where(keep, values, 1.0), 0.0)) @ vectors.T

    def _solve(self, system, b):
        """system⁻¹ b by Cholesky; where fewer rows than fitted features make XᵀX singular (OLS, T < d′), the
        minimum-norm least-squares solution (XᵀX)⁺ Xᵀy = X⁺y instead."""
        if self.underdetermined:
            return self._pseudo_inverse(system) @ b
        return jax.scipy.linalg.cho_solve((jnp.linalg.cholesky(system), True), b)

    def _trace_inv(self, gram):
        """tr((X₁ᵀX₁ + λI)⁻¹) = ‖L⁻¹‖_F² − (d − d′) with L Lᵀ the system (computed once, at initialisation: a
        batched triangular solve inside the generation loop was seen to stall XLA's CPU runtime); the trace of the
        pseudo-inverse, tr((X₁X₁ᵀ)⁻¹), where the fit is under-determined."""
        if self.underdetermined:
            return jnp.trace(self._pseudo_inverse(self._system(gram, 1.0))) - (self.d - self.config.fitted_dim)
        eye = jnp.eye(self.d)
        inv = jax.scipy.linalg.solve_triangular(jnp.linalg.cholesky(self._system(gram, 1.0)), eye, lower=True)
        return jnp.sum(inv * inv) - (self.d - self.config.fitted_dim)

    def observe(self, state: State) -> dict:
        diff = state.w - self.w_star
        out = {
            "w": state.w,
            "test_error": tree_sum(diff * diff),
            "trace_inv_gram": state.trace_inv,
        }
        return {name: out[name] for name in self.config.metrics}

    def chain(self) -> Chain:
        return Chain(self.init, self.step, self.observe)


def build(config: LinRegConfig) -> Chain:
    return LinReg(config).chain()
