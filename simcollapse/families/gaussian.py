"""Gaussian chains, 1-D (`gaussian`) and d-dimensional (`mvgaussian`).

Shumailov et al. (Nature 2024), "Theoretical intuition" and SI §3.1: model t+1 is the Gaussian fitted
(mean, covariance with ddof δ) to M_t points drawn from model t. By Cochran's theorem the fit is exactly

    μ_{t+1} = μ_t + L_t z̄,   L_{t+1} = L_t A / √(M_t − δ),   z̄ ~ N(0, I/M_t),  A Aᵀ ~ W_d(M_t − 1, I),

with L the Cholesky factor of Σ and A lower triangular (Bartlett). Samplers:

* ``exact``: draw the M_t standardised points z and take their mean and Cholesky-factored scatter;
* ``sufficient``: draw z̄ and the Bartlett factor A directly (same law, O(d²) instead of O(M d)); z̄'s normals are
  the spare Box–Muller sines of A's χ² draws (``samplers.gamma.log_gamma``);
* ``infinite``: the population fit, no statistical-approximation error (the model never changes under
  ``replace``).

The model is carried as L = U·diag(exp(ℓ)) with U unit lower triangular and ℓ the log-scales, so
10⁵ generations of geometric collapse never underflow (the exact update of (U, ℓ) is in `_replace`).

Fitters (``fitter``): ``exact`` is the closed form above (ddof δ); ``sgd`` takes ``sgd_steps`` gradient steps
(optax SGD, learning rate ``lr``) on the mean log-likelihood, starting from the previous generation's model and
working in that model's standardised coordinates: with z = L_t⁻¹(x − μ_t) it fits N(a, B Bᵀ) to the z's, B =
V diag(e^β) (V unit lower triangular, β the log-scales, i.e. (μ, log σ) in 1-D), and maps back μ_{t+1} = μ_t +
L_t a, L_{t+1} = L_t B. The steps are therefore the same at every scale, however far the chain has collapsed.
Run to convergence it gives the ddof-0 fit; a few steps shrink every update towards the previous model.

The paper's three error sources (Nature 2024, "What is model collapse?") map onto the keys: statistical
approximation is the sampler (``infinite`` switches it off), functional approximation the fitter (``ddof=0``
is biased by the factor (1 − 1/M) per generation; ``sgd`` under-fits). The fitted family equals the truth's, so
there is no functional-expressivity error here (the ``gmm`` family with ``fit_family="gaussian"`` fits one
Gaussian to a mixture). Both fitters are exact on population data (the previous model is already the maximiser),
so functional approximation alone leaves the model unchanged: it acts only through the samples.

Policies (docs/theory.md §P): ``replace``; ``accumulate`` (pooled sufficient statistics of all data so
far); ``accumulate_subsample`` (a random M-subset of the whole pool, stored); ``fresh_real`` (a fraction ρ
of each training set drawn fresh from the truth); ``real_pool`` (ρ·M_t points drawn without replacement
from a fixed pool of P real points drawn once). Real counts are n_r = ⌊ρ·M_t + ½⌋. ``weighted_real``
(docs/theory.md §H): n = M_t fresh real points and m = ``synthetic_samples`` synthetic ones, fitted apart and
averaged with the real weight w.

Ecosystems (``models`` = m > 1, ``own_share`` = s; docs/theory.md §I.2): m models under ``replace`` with the
exact sampler, model i refitted to M_t points of the mixture Σ_j W_ij N(μ_j, Σ_j); metrics ``trace_models``,
``mean_sq_error_models``, ``trace_mixture``, ``between_model_mean_sq_dist``.

Batchable fields (`batchable`; they reach the step as traced :class:`Params`, so a sweep over them is one
compiled program): ``ddof`` and ``real_weight`` always; ``n_samples``, ``real_fraction`` and
``synthetic_samples`` unless the sampler is ``exact``, which draws M_t points (and ρ·M_t real ones) into arrays
of the largest count, a shape.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.linalg import solve_triangular

from ..config.gaussian import GaussianConfig
from ..core.batch_invariant import entry_sum, logsumexp
from ..core.driver import Chain
from ..policies import POLICIES, Sizes
from ..samplers import bits, truncnorm
from ..samplers.choice import proportional
from ..samplers.gamma import bartlett
from ..samplers.subset import random_subset
from ..theory import verifier
from ._gaussian_model import (
    Model,
    Moments,
    cholesky,
    combine,
    compose,
    covariance,
    fit,
    gradient_fit,
    model_from_cholesky,
    points_moments,
    standardise,
)


class State(NamedTuple):
    t: jax.Array
    model: Model
    pool: Any  # Moments (accumulate), points (accumulate_subsample, real_pool) or None


class Params(NamedTuple):
    """Per-chain settings: M_t, the real and synthetic counts per generation (int64, (generations,);
    `GaussianConfig.counts`: n_r = ⌊ρM_t + ½⌋ and M_t − n_r, or n and m under weighted_real), δ (0 for the infinite
    sampler) and the real weight w."""

    sizes: Any
    n_real: Any
    n_synth: Any
    ddof: Any
    real_weight: Any


def params(config) -> Params:
    real, synthetic = config.counts()
    ddof = 0.0 if config.sampler == "infinite" else float(config.ddof)
    return Params(config.sizes(), real, synthetic, np.float64(ddof), np.float64(config.real_weight))


def batchable(config) -> tuple[str, ...]:
    """Fields that enter only through `params`: the counts set array shapes under the exact sampler only."""
    if config.sampler == "exact":
        return ("ddof", "real_weight")
    return ("ddof", "real_weight", "n_samples", "real_fraction", "synthetic_samples")


class Gaussian:
    """Chain pieces for one resolved config: pure functions closed over its static settings, reading the
    batchable ones from `params` (this config's own when None)."""

    def __init__(self, config: GaussianConfig):
        self.config = config
        self.d = config.dim
        self.own = params(config)
        # largest counts: array shapes of the exact sampler (whose counts are therefore not batchable)
        self.n_max, self.n_max_real, self.n_max_synth = (int(x.max()) for x in self.own[:3])
        self.m_const = int(self.own.sizes[0])  # M under accumulate_subsample (constant, validated)
        self.policy = POLICIES[config.policy]
        mean0 = np.broadcast_to(np.asarray(config.mean0, dtype=float), (self.d,))
        cov0 = config.covariance0()
        chol0 = np.linalg.cholesky(cov0)
        self.truth = Model(np.array(mean0), chol0 / np.diagonal(chol0)[None, :], np.log(np.diagonal(chol0)))
        self.cov0 = cov0
        # a verifier filters the synthetic draws (docs/theory.md §V); τ: the kept law's variance per axis
        self.verified = config.verifier_width is not None
        self.tau = verifier.variance_factor(config.verifier_width, self.d, config.false_accept) if self.verified else 1.0
        self.models = config.models
        if config.models > 1:  # the ecosystem's mixing weights (docs/theory.md §I.2)
            from ..theory.ecosystem import mixing_matrix

            self.mixing = mixing_matrix(config.models, config.own_share)
        w, v = np.linalg.eigh(cov0)
        self.cov0_sqrt = (v * np.sqrt(w)) @ v.T

    # --- data -------------------------------------------------------------------------------------
    def standardised_points(self, key, n_max, verified):
        """n_max standardised points: N(0, I), or (`verified` with a verifier) the points it passes
        (docs/theory.md §V.3)."""
        shape = (n_max, self.d)
        if not (verified and self.verified):
            return bits.normal(key, shape)
        width, false_accept = float(self.config.verifier_width), float(self.config.false_accept)
        if self.d == 1:
            return truncnorm.verified(key, shape, width, false_accept)
        return truncnorm.verified_radial(key, shape, width, false_accept)

    def standard(self, key, n, n_max, factor, verified=False):
        """Mean z̄ and scatter of n standard normal points in d dims (of the points a verifier passes, if
        `verified`): the scatter itself, or (factor=True, needs n ≥ d+1) its lower-triangular factor A with
        scatter = A Aᵀ."""
        d, sampler = self.d, self.config.sampler
        if sampler == "infinite":  # the population: covariance I, or τ I once verified (docs/theory.md §V.2)
            scatter = n * (self.tau if verified else 1.0)
            return jnp.zeros(d), (jnp.sqrt(scatter) if factor else scatter) * jnp.eye(d)
        if sampler == "sufficient":
            log_diag, unit, z = bartlett(key, n - 1, d, spare_normals=True)  # z ⟂ A: the χ² draws' spare sines
            zbar = z / jnp.sqrt(jnp.maximum(n, 1))
            a = unit * jnp.exp(log_diag)[None, :]
            return zbar, a if factor else a @ a.T
        z = self.standardised_points(key, n_max, verified)
        m = points_moments(z, jnp.arange(n_max) < n)
        if not factor:
            return m.mean, m.scatter
        if d == 1:  # a 1×1 Cholesky factor is a square root; skip the batched LAPACK call
            return m.mean, jnp.sqrt(m.scatter)
        return m.mean, jnp.linalg.cholesky(m.scatter)

    def draw(self, key, model: Model, n, n_max, verified=False) -> Moments:
        """Moments of n points drawn from `model` (n = 0 gives an empty summary); `verified`: n points that
        pass the verifier."""
        zbar, scatter = self.standard(key, n, n_max, factor=False, verified=verified)
        chol = cholesky(model)
        empty = n == 0
        return Moments(
            jnp.asarray(n, float),
            jnp.where(empty, model.mean, model.mean + chol @ zbar),
            jnp.where(empty, 0.0, chol @ scatter @ chol.T),
        )

    def draw_points(self, key, model: Model, n_max, verified=False):
        return model.mean + self.standardised_points(key, n_max, verified) @ cholesky(model).T

    # --- the statistics the policies pool (simcollapse.policies.Data) ----------------------------------
    def init(self, key, params: Params | None = None) -> State:
        p = jax.tree.map(jnp.asarray, self.own if params is None else params)
        truth = self.truth if self.models == 1 else jax.tree.map(
            lambda x: jnp.broadcast_to(x, (self.models, *np.shape(x))), self.truth)
        return State(jnp.asarray(0, jnp.int32), truth, self.policy.start(GaussianData(self, p), key))

    def step(self, key, state: State, params: Params | None = None) -> State:
        p = jax.tree.map(jnp.asarray, self.own if params is None else params)
        if self.models > 1:
            return self.ecosystem_step(key, state, p)
        n = Sizes(state.t, p.sizes[state.t], p.n_real[state.t], p.n_synth[state.t])
        model, pool = self.policy.step(GaussianData(self, p), key, state.model, state.pool, n)
        return State(state.t + 1, model, pool)

    # --- ecosystems of models (docs/theory.md §I.2) ----------------------------------------------------
    def ecosystem_step(self, key, state: State, p: Params) -> State:
        """Model i is the ddof-δ fit to M_t points of Σ_j W_ij N(μ_j, Σ_j): each point's component drawn by its
        weight (fold(key_i, 0)), its standard normal from fold(key_i, 1), key_i = fold(key, i)."""
        n, n_max = p.sizes[state.t], self.n_max
        chol = jax.vmap(cholesky)(state.model)  # (m, d, d)

        def refit(i):
            model_key = bits.fold(key, i)
            component = proportional(bits.uniform(bits.fold(model_key, 0), (n_max,)), jnp.asarray(self.mixing)[i])
            z = bits.normal(bits.fold(model_key, 1), (n_max, self.d))
            x = state.model.mean[component] + jnp.einsum("kij,kj->ki", chol[component], z)
            return fit(points_moments(x, jnp.arange(n_max) < n), p.ddof)

        return State(state.t + 1, jax.vmap(refit)(jnp.arange(self.models)), state.pool)

    def observe_ecosystem(self, state: State) -> dict:
        """Means over the m models of tr Σ_i and ‖μ_i − μ_0‖², the uniform mixture's covariance trace
        mean_i(tr Σ_i + ‖μ_i − μ̄‖²), and the mean over pairs of ‖μ_i − μ_j‖² = 2m/(m − 1)(mean_i ‖μ_i − μ_0‖² −
        ‖μ̄ − μ_0‖²)."""
        m, model = self.models, state.model
        traces = jax.vmap(lambda unit, scale: entry_sum(unit**2 * jnp.exp(2.0 * scale)[None, :]))(model.unit, model.log_scale)
        diff = model.mean - self.truth.mean  # (m, d)
        errors = jax.vmap(lambda v: entry_sum(v * v))(diff)
        trace, error = (sum(x[i] for i in range(m)) / m for x in (traces, errors))  # unrolled: batch-invariant
        centre = sum(diff[i] for i in range(m)) / m
        pooled = entry_sum(centre * centre)
        out = {"trace_models": trace, "mean_sq_error_models": error, "trace_mixture": trace + error - pooled,
               "between_model_mean_sq_dist": 2.0 * m / (m - 1) * (error - pooled)}
        return {name: out[name] for name in self.config.metrics}

    # --- metrics ------------------------------------------------------------------------------------
    def observe(self, state: State, params: Params | None = None) -> dict:
        if self.models > 1:
            return self.observe_ecosystem(state)
        model, truth = state.model, self.truth
        d = self.d
        log_scale = model.log_scale
        logdet = 2.0 * entry_sum(log_scale)
        logdet0 = 2.0 * entry_sum(truth.log_scale)
        diff = model.mean - truth.mean
        cov = covariance(model)
        # KL(truth ‖ model) = ½[tr(Σ⁻¹Σ0) + Δᵀ Σ⁻¹ Δ − d + log det Σ − log det Σ0]
        inv_scale = jnp.exp(-log_scale)[:, None]
        w = solve_triangular(model.unit, cholesky(truth), lower=True, unit_diagonal=True)  # U⁻¹ L0
        v = solve_triangular(model.unit, diff, lower=True, unit_diagonal=True)  # U⁻¹ Δ
        x, y = inv_scale * w, inv_scale[:, 0] * v
        kl = 0.5 * (entry_sum(x * x) + entry_sum(y * y) - d + logdet - logdet0)
        # log KL from the log-scales: the quadratic terms Σ (w_ij e^{−ℓ_i})² + Σ (v_i e^{−ℓ_i})² overflow as σ → 0,
        # so their log q is a logsumexp of 2 log|·| − 2ℓ_i; then log(e^q + r), r = log det Σ − log det Σ0 − d,
        # as logaddexp(q, log r) for r > 0, else q + log1p(r e^{−q}) (≥ −1 since KL ≥ 0; clipped for rounding)
        terms = jnp.concatenate([(2.0 * (jnp.log(jnp.abs(w)) - log_scale[:, None])).reshape(-1),
                                 2.0 * (jnp.log(jnp.abs(v)) - log_scale)])
        log_quad = logsumexp(terms)
        rest = logdet - logdet0 - d
        log_kl = jnp.where(
            rest > 0, jnp.logaddexp(log_quad, jnp.log(jnp.where(rest > 0, rest, 1.0))),
            log_quad + jnp.log1p(jnp.maximum(jnp.where(rest < 0, rest * jnp.exp(-log_quad), 0.0), -1.0)),
        ) - np.log(2.0)
        # W2² = ‖Δ‖² + tr Σ + tr Σ0 − 2 tr (Σ0^½ Σ Σ0^½)^½   (Bures)
        trace = entry_sum(model.unit**2 * jnp.exp(2.0 * log_scale)[None, :])
        if d == 1:
            bures = (jnp.exp(log_scale[0]) - jnp.exp(truth.log_scale[0])) ** 2
        else:
            eig = jnp.linalg.eigvalsh(self.cov0_sqrt @ cov @ self.cov0_sqrt)
            bures = trace + np.trace(self.cov0) - 2.0 * entry_sum(jnp.sqrt(jnp.clip(eig, 0.0)))
        mse = entry_sum(diff * diff)
        out = {"w2sq": mse + bures, "kl": kl, "log_kl": log_kl, "mean_sq_error": mse}
        if self.config.sampler == "plain_points":  # a frozen σ = 0: KL(truth ‖ point mass) = ∞
            frozen = log_scale[0] == -jnp.inf
            out |= {"kl": jnp.where(frozen, jnp.inf, kl), "log_kl": jnp.where(frozen, jnp.inf, log_kl)}
        if self.config.family == "gaussian":
            out |= {
                "frozen": (log_scale[0] == -jnp.inf).astype(float),
                "mean": model.mean[0],
                "var": jnp.exp(logdet),
                "logvar": logdet,
                "std": jnp.exp(log_scale[0]),
                "second_moment": model.mean[0] ** 2 + jnp.exp(logdet),
            }
        else:
            out |= {"mean": model.mean, "cov": cov, "logdet": logdet, "trace": trace,
                    "det_ratio": jnp.exp(logdet - logdet0), "rank": jnp.asarray(float(d))}
        return {name: out[name] for name in self.config.metrics}

    def chain(self) -> Chain:
        # KL → ∞: collapse; log 0 = −∞; plain float64 points freeze σ at 0 (log σ² = −∞)
        unbounded = ("kl", "log_kl") + (("logvar",) if self.config.sampler == "plain_points" else ())
        return Chain(self.init, self.step, self.observe, unbounded=unbounded)


class GaussianData:
    """The Gaussian's statistics for the policies (:class:`simcollapse.policies.Data`): :class:`Moments` of the
    drawn points, or the points themselves where a policy subsamples them; `p` is the step's params."""

    split_keys = False

    def __init__(self, chain: Gaussian, p: Params):
        self.chain, self.p = chain, p

    def fit_fresh(self, key, model: Model, n) -> Model:
        """The fit in the model's standardised coordinates: a = z̄, B = A/√(n − δ) with A the Bartlett (Cholesky)
        factor of the standardised scatter, or gradient steps on the standardised data; under ``plain_points``
        the fit on the points themselves (the same draws as ``exact``)."""
        chain = self.chain
        if chain.config.sampler == "plain_points":
            from ._plain import plain_fit

            return plain_fit(chain.draw_points(key, model, chain.n_max), self.p.ddof)
        if chain.config.fitter == "sgd":
            zbar, scatter = chain.standard(key, n, chain.n_max, factor=False, verified=True)
            shift, unit, log_factor = gradient_fit(zbar, scatter, n, chain.config.sgd_steps, chain.config.lr)
        else:
            shift, a = chain.standard(key, n, chain.n_max, factor=True, verified=True)
            unit = a / jnp.diagonal(a)[None, :]
            log_factor = jnp.log(jnp.diagonal(a)) - 0.5 * jnp.log(n - self.p.ddof)
        return compose(model, shift, unit, log_factor)

    def synthetic(self, key, model: Model, n) -> Moments:
        return self.chain.draw(key, model, n, self.chain.n_max_synth, verified=True)

    def real(self, key, n) -> Moments:
        return self.chain.draw(key, self.chain.truth, n, self.chain.n_max_real)

    def combine(self, a: Moments, b: Moments) -> Moments:
        return combine(a, b)

    def weighted_fit(self, real: Moments, synthetic: Moments, model: Model) -> Model:
        """μ = w x̄_r + (1 − w) x̄_s, Σ = w S_r/(n − δ) + (1 − w) S_s/(m − δ) (docs/theory.md §H.1; fitter exact)."""
        w, ddof = self.p.real_weight, self.p.ddof
        cov = w * real.scatter / (real.count - ddof) + (1.0 - w) * synthetic.scatter / (synthetic.count - ddof)
        return model_from_cholesky(w * real.mean + (1.0 - w) * synthetic.mean, jnp.linalg.cholesky(cov))

    def empty(self) -> Moments:
        d = self.chain.d
        return Moments(jnp.asarray(0.0), jnp.zeros(d), jnp.zeros((d, d)))

    def fit(self, data: Moments, model: Model) -> Model:
        """The fitter on pooled data: closed form, or gradient steps from `model`."""
        config = self.chain.config
        if config.fitter == "exact":
            return fit(data, self.p.ddof)
        z = standardise(data, model)
        return compose(model, *gradient_fit(z.mean, z.scatter, z.count, config.sgd_steps, config.lr))

    # accumulate_subsample: the points of every generation, M (constant, validated) a generation
    def empty_store(self):
        return jnp.zeros((self.chain.m_const * self.chain.config.generations, self.chain.d))

    def store(self, points, key, model: Model, n, t):
        m = self.chain.m_const  # an array shape
        return jax.lax.dynamic_update_slice(points, self.chain.draw_points(key, model, m, verified=True), (t * m, jnp.zeros_like(t)))

    def subsample(self, key, points, n, t) -> Moments:
        m = self.chain.m_const
        chosen, _ = random_subset(key, (t + 1) * m, m, m, points.shape[0])
        return points_moments(points[chosen], jnp.ones(m))

    # real_pool: P points of the truth
    def real_pool(self, key):
        return self.chain.draw_points(key, self.chain.truth, self.chain.config.pool_size)

    def from_real_pool(self, key, pool, n) -> Moments:
        if self.chain.config.sampler == "infinite":  # the expected moments of the subset
            whole = points_moments(pool, jnp.ones(pool.shape[0]))
            return Moments(n.astype(float), whole.mean, whole.scatter * n / whole.count)
        size = pool.shape[0]
        # a static bound on n_r: this config's largest under the exact sampler (ρ is then no batchable field),
        # else the pool size, which bounds the n_r of every batched point (validated)
        most = self.chain.n_max_real if self.chain.config.sampler == "exact" else size
        chosen, valid = random_subset(key, size, n, most, size)
        return points_moments(pool[chosen], valid)


def build(config) -> Chain:
    if config.family == "mvgaussian" and config.singular:  # M ≤ d: no Cholesky factor exists
        from ._singular import build as build_singular

        return build_singular(config)
    return Gaussian(config).chain()
