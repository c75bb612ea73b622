"""Gaussian chains, 1-D (`gaussian`) and d-dimensional (`mvgaussian`).

Shumailov et al. (Nature 2024), "Theoretical intuition" and SI §3.1: model t+1 is the Gaussian fitted
(mean, covariance with ddof δ) to M_t points drawn from model t. By Cochran's theorem the fit is exactly

    μ_{t+1} = μ_t + L_t z̄,   L_{t+1} = L_t A / √(M_t − δ),   z̄ ~ N(0, I/M_t),  A Aᵀ ~ W_d(M_t − 1, I),

with L the Cholesky factor of Σ and A lower triangular (Bartlett). Samplers:

* ``exact``: draw the M_t standardised points z and take their mean and Cholesky-factored scatter;
* ``sufficient``: draw z̄ and the Bartlett factor A directly (same law, O(d²) instead of O(M d));
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

Policies (theory.md §B.3–B.4): ``replace``; ``accumulate`` (pooled sufficient statistics of all data so
far); ``accumulate_subsample`` (a random M-subset of the whole pool, stored); ``fresh_real`` (a fraction ρ
of each training set drawn fresh from the truth); ``real_pool`` (ρ·M_t points drawn without replacement
from a fixed pool of P real points drawn once). Real counts are n_r = ⌊ρ·M_t + ½⌋.

Batchable fields (`batchable`; they reach the step as traced :class:`Params`, so a sweep over them is one
compiled program): ``ddof`` always; ``n_samples`` and ``real_fraction`` unless the sampler is ``exact``, which
draws M_t points (and ρ·M_t real ones) into arrays of the largest count, a shape.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.linalg import solve_triangular

from ..config import ConfigError, RunConfig, check_choice, check_int, check_number, schedule
from ..core.batch_invariant import entry_sum, ordered_sum
from ..core.driver import Chain
from ..samplers import random as fast_random
from ..samplers.gamma import bartlett
from ..samplers.subset import random_subset
from .sgd import sgd

SAMPLERS = ("exact", "sufficient", "infinite")
FITTERS = ("exact", "sgd")
POLICIES = ("replace", "accumulate", "accumulate_subsample", "fresh_real", "real_pool")
MAX_POOL_BYTES = 4 * 2**30


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


class State(NamedTuple):
    t: jax.Array
    model: Model
    pool: Any  # Moments (accumulate), points (accumulate_subsample, real_pool) or None


class Params(NamedTuple):
    """Per-chain settings: M_t, n_r = ⌊ρM_t + ½⌋ (0 outside fresh_real / real_pool) and M_t − n_r per
    generation (int64, (generations,)), and δ (0 for the infinite sampler)."""

    sizes: Any
    n_real: Any
    n_synth: Any
    ddof: Any


def params(config) -> Params:
    sizes = schedule(config.n_samples, config.generations)
    real = np.floor(config.real_fraction * sizes + 0.5).astype(np.int64)
    if config.policy not in ("fresh_real", "real_pool"):
        real = np.zeros_like(real)
    ddof = 0.0 if config.sampler == "infinite" else float(config.ddof)
    return Params(sizes, real, sizes - real, np.float64(ddof))


def batchable(config) -> tuple[str, ...]:
    """Fields that enter only through `params`: M_t and ρ set array shapes under the exact sampler only."""
    return ("ddof",) if config.sampler == "exact" else ("ddof", "n_samples", "real_fraction")


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
    """Count, mean and scatter Σ (x − x̄)(x − x̄)ᵀ of the masked rows, summed batch-invariantly."""
    n = jnp.sum(mask)
    mean = ordered_sum(x * mask[:, None]) / jnp.maximum(n, 1)
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


class Gaussian:
    """Chain pieces for one resolved config: pure functions closed over its static settings, reading the
    batchable ones from `params` (this config's own when None)."""

    def __init__(self, config: GaussianConfig):
        self.config = config
        self.d = config.dim
        self.own = params(config)
        # largest counts: array shapes of the exact sampler (whose counts are therefore not batchable)
        self.n_max, self.n_max_real, self.n_max_synth = (int(x.max()) for x in self.own[:3])
        mean0 = np.broadcast_to(np.asarray(config.mean0, dtype=float), (self.d,))
        cov0 = config.covariance0()
        self.truth = model_from_cholesky(jnp.asarray(mean0), jnp.asarray(np.linalg.cholesky(cov0)))
        self.cov0 = cov0
        w, v = np.linalg.eigh(cov0)
        self.cov0_sqrt = jnp.asarray((v * np.sqrt(w)) @ v.T)

    # --- data -------------------------------------------------------------------------------------
    def standard(self, key, n, n_max, factor):
        """Mean z̄ and scatter of n standard normal points in d dims: the scatter itself, or (factor=True,
        needs n ≥ d+1) its lower-triangular factor A with scatter = A Aᵀ."""
        d, sampler = self.d, self.config.sampler
        if sampler == "infinite":
            return jnp.zeros(d), (jnp.sqrt(n) if factor else n) * jnp.eye(d)
        if sampler == "sufficient":
            k_mean, k_scatter = fast_random.split(key)
            zbar = fast_random.normal(k_mean, (d,)) / jnp.sqrt(jnp.maximum(n, 1))
            log_diag, unit = bartlett(k_scatter, n - 1, d)
            a = unit * jnp.exp(log_diag)[None, :]
            return zbar, a if factor else a @ a.T
        z = fast_random.normal(key, (n_max, d))
        m = points_moments(z, jnp.arange(n_max) < n)
        if not factor:
            return m.mean, m.scatter
        if d == 1:  # a 1×1 Cholesky factor is a square root; skip the batched LAPACK call
            return m.mean, jnp.sqrt(m.scatter)
        return m.mean, jnp.linalg.cholesky(m.scatter)

    def draw(self, key, model: Model, n, n_max) -> Moments:
        """Moments of n points drawn from `model` (n = 0 gives an empty summary)."""
        zbar, scatter = self.standard(key, n, n_max, factor=False)
        chol = cholesky(model)
        empty = n == 0
        return Moments(
            jnp.asarray(n, float),
            jnp.where(empty, model.mean, model.mean + chol @ zbar),
            jnp.where(empty, 0.0, chol @ scatter @ chol.T),
        )

    def draw_points(self, key, model: Model, n_max):
        return model.mean + fast_random.normal(key, (n_max, self.d)) @ cholesky(model).T

    # --- policies -----------------------------------------------------------------------------------
    def _replace(self, key, state: State, p: Params) -> State:
        """Exact fit: a = z̄, B = A/√(n − δ) with A the Bartlett (Cholesky) factor of the standardised scatter."""
        n = p.sizes[state.t]
        if self.config.fitter == "sgd":
            zbar, scatter = self.standard(key, n, self.n_max, factor=False)
            shift, unit, log_factor = gradient_fit(zbar, scatter, n, self.config.sgd_steps, self.config.lr)
        else:
            shift, a = self.standard(key, n, self.n_max, factor=True)
            unit = a / jnp.diagonal(a)[None, :]
            log_factor = jnp.log(jnp.diagonal(a)) - 0.5 * jnp.log(n - p.ddof)
        return State(state.t + 1, compose(state.model, shift, unit, log_factor), None)

    def _fit(self, data: Moments, model: Model, p: Params) -> Model:
        """The fitter on pooled data: closed form, or gradient steps from `model`."""
        if self.config.fitter == "exact":
            return fit(data, p.ddof)
        z = standardise(data, model)
        return compose(model, *gradient_fit(z.mean, z.scatter, z.count, self.config.sgd_steps, self.config.lr))

    def _accumulate(self, key, state: State, p: Params) -> State:
        pool = combine(state.pool, self.draw(key, state.model, p.sizes[state.t], self.n_max))
        return State(state.t + 1, self._fit(pool, state.model, p), pool)

    def _accumulate_subsample(self, key, state: State, p: Params) -> State:
        m = int(self.own.sizes[0])  # constant (validated), and an array shape
        k_draw, k_pick = fast_random.split(key)
        points = jax.lax.dynamic_update_slice(
            state.pool, self.draw_points(k_draw, state.model, m), (state.t * m, jnp.zeros_like(state.t))
        )
        chosen, _ = random_subset(k_pick, (state.t + 1) * m, m, m, points.shape[0])
        return State(state.t + 1, self._fit(points_moments(points[chosen], jnp.ones(m)), state.model, p), points)

    def _with_real(self, key, state: State, p: Params) -> State:
        k_synth, k_real = fast_random.split(key)
        n_r, n_s = p.n_real[state.t], p.n_synth[state.t]
        synthetic = self.draw(k_synth, state.model, n_s, self.n_max_synth)
        if self.config.policy == "fresh_real":
            real = self.draw(k_real, self.truth, n_r, self.n_max_real)
        elif self.config.sampler == "infinite":
            whole = points_moments(state.pool, jnp.ones(state.pool.shape[0]))
            real = Moments(n_r.astype(float), whole.mean, whole.scatter * n_r / whole.count)
        else:
            size = state.pool.shape[0]  # ≥ n_r of every batched point (validated), so a static bound
            chosen, valid = random_subset(k_real, size, n_r, size, size)
            real = points_moments(state.pool[chosen], valid)
        return State(state.t + 1, self._fit(combine(synthetic, real), state.model, p), state.pool)

    def init(self, key, params: Params | None = None) -> State:
        d, policy = self.d, self.config.policy
        pool = None
        if policy == "accumulate":
            pool = Moments(jnp.asarray(0.0), jnp.zeros(d), jnp.zeros((d, d)))
        elif policy == "accumulate_subsample":
            pool = jnp.zeros((int(self.own.sizes[0]) * self.config.generations, d))
        elif policy == "real_pool":
            pool = self.draw_points(key, self.truth, self.config.pool_size)
        return State(jnp.asarray(0, jnp.int32), self.truth, pool)

    def step(self, key, state: State, params: Params | None = None) -> State:
        p = jax.tree.map(jnp.asarray, self.own if params is None else params)
        policy = self.config.policy
        if policy == "replace":
            return self._replace(key, state, p)
        if policy == "accumulate":
            return self._accumulate(key, state, p)
        if policy == "accumulate_subsample":
            return self._accumulate_subsample(key, state, p)
        return self._with_real(key, state, p)

    # --- metrics ------------------------------------------------------------------------------------
    def observe(self, state: State, params: Params | None = None) -> dict:
        model, truth = state.model, self.truth
        d = self.d
        log_scale = model.log_scale
        logdet = 2.0 * entry_sum(log_scale)
        logdet0 = 2.0 * entry_sum(truth.log_scale)
        diff = model.mean - truth.mean
        cov = covariance(model)
        # KL(truth ‖ model) = ½[tr(Σ⁻¹Σ0) + Δᵀ Σ⁻¹ Δ − d + log det Σ − log det Σ0]
        inv_scale = jnp.exp(-log_scale)[:, None]
        x = inv_scale * solve_triangular(model.unit, cholesky(truth), lower=True, unit_diagonal=True)
        y = inv_scale[:, 0] * solve_triangular(model.unit, diff, lower=True, unit_diagonal=True)
        kl = 0.5 * (entry_sum(x * x) + entry_sum(y * y) - d + logdet - logdet0)
        # W2² = ‖Δ‖² + tr Σ + tr Σ0 − 2 tr (Σ0^½ Σ Σ0^½)^½   (Bures)
        trace = entry_sum(model.unit**2 * jnp.exp(2.0 * log_scale)[None, :])
        if d == 1:
            bures = (jnp.exp(log_scale[0]) - jnp.exp(truth.log_scale[0])) ** 2
        else:
            eig = jnp.linalg.eigvalsh(self.cov0_sqrt @ cov @ self.cov0_sqrt)
            bures = trace + np.trace(self.cov0) - 2.0 * entry_sum(jnp.sqrt(jnp.clip(eig, 0.0)))
        mse = entry_sum(diff * diff)
        out = {"w2sq": mse + bures, "kl": kl, "mean_sq_error": mse}
        if self.config.family == "gaussian":
            out |= {
                "mean": model.mean[0],
                "var": jnp.exp(logdet),
                "logvar": logdet,
                "std": jnp.exp(log_scale[0]),
                "second_moment": model.mean[0] ** 2 + jnp.exp(logdet),
            }
        else:
            out |= {"mean": model.mean, "cov": cov, "logdet": logdet, "trace": trace,
                    "det_ratio": jnp.exp(logdet - logdet0)}
        return {name: out[name] for name in self.config.metrics}

    def chain(self) -> Chain:
        return Chain(self.init, self.step, self.observe, unbounded=("kl",))  # KL → ∞ is the limit of collapse


METRICS_1D = ("mean", "var", "logvar", "std", "w2sq", "kl", "mean_sq_error", "second_moment")
METRICS_ND = ("mean", "cov", "logdet", "trace", "det_ratio", "w2sq", "kl", "mean_sq_error")


@dataclasses.dataclass(frozen=True)
class _GaussianChainConfig(RunConfig):
    """Fields shared by both Gaussian families (documented on `GaussianConfig`)."""

    n_samples: Any = 100
    ddof: int = 0
    sampler: str = "sufficient"
    policy: str = "replace"
    real_fraction: float = 0.1
    pool_size: int = 1000
    mean0: Any = 0.0
    fitter: str = "exact"
    sgd_steps: int = 10
    lr: float = 0.1


@dataclasses.dataclass(frozen=True)
class GaussianConfig(_GaussianChainConfig):
    """1-D Gaussian chain (Nature Thm 3.1). Fields beyond the run fields:

    n_samples: M_t, an integer or a schedule (see `simcollapse.config.schedule`).
    ddof: 0 (MLE, the official code) or 1 (unbiased, the theorem).
    sampler: exact | sufficient | infinite.   policy: replace | accumulate | accumulate_subsample |
    fresh_real | real_pool.   real_fraction: ρ for fresh_real / real_pool.   pool_size: P for real_pool.
    fitter: exact | sgd (gradient steps from the previous model; needs ddof 0).   sgd_steps, lr: its steps and
    learning rate.
    mean0, var0: the truth N(mean0, var0).   metrics: statistics recorded per generation.
    """

    family = "gaussian"
    var0: float = 1.0
    metrics: tuple = ("mean", "var", "logvar", "w2sq", "kl")

    @property
    def dim(self) -> int:
        return 1

    def covariance0(self) -> np.ndarray:
        return np.array([[self.var0]])

    def validate(self) -> None:
        check_number("mean0", self.mean0)
        check_number("var0", self.var0, low=0, low_open=True)
        _validate_common(self, METRICS_1D)


@dataclasses.dataclass(frozen=True)
class MvGaussianConfig(_GaussianChainConfig):
    """d-dimensional Gaussian chain (Wishart chain, theory.md §B.2). As `gaussian`, with
    dim: d.   mean0: a number or d numbers.   cov0: None (identity), a number (times I) or a d×d SPD matrix."""

    family = "mvgaussian"
    dim: int = 2
    cov0: Any = None
    metrics: tuple = ("mean", "cov", "logdet", "trace", "w2sq", "kl", "mean_sq_error")

    def covariance0(self) -> np.ndarray:
        if self.cov0 is None:
            return np.eye(self.dim)
        cov = np.asarray(self.cov0, dtype=float)
        return cov * np.eye(self.dim) if cov.ndim == 0 else cov

    def validate(self) -> None:
        check_int("dim", self.dim, 1)
        mean0 = np.asarray(self.mean0, dtype=object)
        if mean0.ndim == 0:
            check_number("mean0", self.mean0)
        elif mean0.shape != (self.dim,):
            raise ConfigError("mean0", f"must be a number or a list of dim={self.dim} numbers, got {self.mean0!r}")
        else:
            for v in self.mean0:
                check_number("mean0", v)
        try:
            cov = np.asarray(self.covariance0(), dtype=float)
        except (TypeError, ValueError):
            raise ConfigError("cov0", f"must be a number or a {self.dim}×{self.dim} matrix, got {self.cov0!r}") from None
        if cov.shape != (self.dim, self.dim) or not np.all(np.isfinite(cov)):
            raise ConfigError("cov0", f"must be a number or a finite {self.dim}×{self.dim} matrix, got {self.cov0!r}")
        if not np.allclose(cov, cov.T) or np.any(np.linalg.eigvalsh(cov) <= 0):
            raise ConfigError("cov0", "must be symmetric positive definite")
        _validate_common(self, METRICS_ND)


def _validate_common(c, known_metrics) -> None:
    check_choice("ddof", c.ddof, (0, 1))
    check_choice("sampler", c.sampler, SAMPLERS)
    check_choice("policy", c.policy, POLICIES)
    check_number("real_fraction", c.real_fraction, 0.0, 1.0)
    check_choice("fitter", c.fitter, FITTERS)
    check_int("sgd_steps", c.sgd_steps, 1)
    check_number("lr", c.lr, low=0, low_open=True)
    if c.fitter == "sgd" and c.ddof != 0:
        raise ConfigError("ddof", "fitter 'sgd' maximises the likelihood, whose maximiser is the ddof-0 fit; use ddof=0")
    check_int("pool_size", c.pool_size, 1)
    if isinstance(c.metrics, str) or not all(m in known_metrics for m in c.metrics) or not c.metrics:
        raise ConfigError("metrics", f"must be a non-empty list drawn from {', '.join(known_metrics)}; got {c.metrics!r}")
    object.__setattr__(c, "metrics", tuple(c.metrics))
    sizes = schedule(c.n_samples, c.generations)
    d = c.dim
    need = d + 1
    bound = f"dim+1 = {need}" if c.family == "mvgaussian" else str(need)  # the 1-D family has no dim key
    if c.policy in ("replace", "accumulate", "accumulate_subsample") and sizes.min() < need:
        raise ConfigError("n_samples", f"must be ≥ {bound} so each fit is non-degenerate, got {sizes.min()}")
    if c.policy in ("fresh_real", "real_pool"):
        real = np.floor(c.real_fraction * sizes + 0.5).astype(int)
        synth = sizes - real
        if sizes.min() < need:
            raise ConfigError("n_samples", f"must be ≥ {bound}, got {sizes.min()}")
        if c.sampler == "sufficient" and (np.any((real > 0) & (real < need)) or np.any((synth > 0) & (synth < need))):
            raise ConfigError(
                "real_fraction",
                f"gives a real or synthetic group smaller than {bound} samples; "
                f"the sufficient sampler needs each non-empty group ≥ {bound} (use sampler='exact')",
            )
        if c.policy == "real_pool" and real.max() > c.pool_size:
            raise ConfigError("pool_size", f"must be ≥ the real samples per generation ({real.max()}), got {c.pool_size}")
    if c.policy == "accumulate_subsample":
        if c.sampler != "exact":
            raise ConfigError("sampler", "policy 'accumulate_subsample' stores the pool and needs sampler='exact'")
        if np.any(sizes != sizes[0]):
            raise ConfigError("n_samples", "policy 'accumulate_subsample' needs a constant n_samples")
        size = c.chains * int(sizes[0]) * c.generations * d * 8
        if size > MAX_POOL_BYTES:
            raise ConfigError(
                "chains",
                f"accumulate_subsample stores every sample: {size / 2**30:.1f} GiB for this run "
                f"(> {MAX_POOL_BYTES // 2**30} GiB); lower chains, generations or n_samples",
            )
    if c.ddof == 1 and sizes.min() < 2:
        raise ConfigError("n_samples", "ddof=1 needs n_samples ≥ 2")


def build(config) -> Chain:
    return Gaussian(config).chain()
