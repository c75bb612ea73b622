"""Gaussian-mixture chain fitted by EM (`gmm`): the GMM experiment of Shumailov et al. (Nature 2024, SI §4.1).

Generation 0 is the truth, a K-component mixture in d dimensions (the official code: a single 2-D N(0, I) blob,
``components=1``). Each generation draws N = ``n_samples`` points from the current mixture and fits a
K′-component mixture (``fit_components``) by EM (:mod:`simcollapse.families.em`, scikit-learn's algorithm:
``covariance_type``, ``tol``, ``reg_covar``, ``em_iters`` = max_iter, ``init``).

Fitted family (``fit_family``):

* ``"gmm"`` (default): K′ = ``fit_components`` components by EM;
* ``"gaussian"``: one Gaussian in closed form, mean x̄ and covariance S/(N − ``ddof``) + ``reg_covar``·I (with
  ``ddof=0`` exactly what EM with K′ = 1 converges to in one M-step; needs ``fit_components=1``). Fitting it to
  a truth with K ≥ 2 components is the paper's functional-expressivity error: the truth lies outside the family.

The paper's three error sources (Nature 2024, "What is model collapse?") are the keys ``sampler``
(statistical approximation; ``infinite`` switches it off), ``fit_family``/``fit_components`` below the truth's
``components`` (functional expressivity) and the fitter (functional approximation: ``em_iters`` capped, or the
biased ``ddof=0`` Gaussian fit). With the infinite sampler and reg_covar = 0, the expressivity error of a
Gaussian fit acts once: generation 1 is the moment-matched Gaussian of the truth, and every later population fit
returns it unchanged (the quadrature below is moment-exact).

Initialisation of EM (``warm_start``):

* ``False`` (default, as the official code): every generation re-initialises with ``init`` (k-means by
  default) on the new data, as a fresh ``GaussianMixture`` does;
* ``True``: EM starts from the previous generation's mixture. At generation 1 this needs the truth to have
  K′ components; otherwise the first fit is initialised with ``init``. Under ``vmap`` both branches are
  evaluated, so warm starting saves EM iterations but not the initialisation cost.

Samplers:

* ``exact``: N i.i.d. points of the current mixture (a component by its weight, then Gaussian noise);
* ``infinite``: the population fit, no statistical-approximation error. The fit runs on a weighted
  Gauss–Hermite quadrature of the current mixture: a product rule for N(0, I_d) with m = min(⌊P^{1/d}⌋, 100)
  nodes per axis (P = ``quadrature_points``), exact for polynomials of degree ≤ 2m − 1 in each coordinate;
  component k contributes μ_k + L_k z at every node z with weight w_k·(node weight). The weighted training set
  therefore has exactly the mixture's mean and covariance, and by the M-step identity (docs/theory.md §M.1) the fitted
  mixture keeps them: C_{t+1} = C_t + reg·I deterministically. The responsibilities are smooth functions, so EM
  on the quadrature is population EM up to the quadrature error (small, and deterministic: no random nodes
  whose noise a refit would copy every generation); with ``warm_start`` and K′ = K the truth is then a fixed
  point up to that error, EM's tolerance and reg_covar.
  The population Gaussian fit is the moment match, so ``ddof`` is not used (as in the ``gaussian`` family).

Data policies (``policy``, :mod:`simcollapse.policies`; sampler exact): the training set is a weighted point set,
its unused rows of weight 0, and EM reads the weights (scikit-learn's ``sample_weight``). ``replace`` (default, the
paper): N fresh points of the current mixture; ``accumulate``: every point drawn so far (a buffer of Σ_t N_t rows,
so EM's cost grows with t); ``accumulate_subsample``: a uniform N_t-subset of them, without replacement;
``fresh_real``: n_r = ⌊ρN_t + ½⌋ fresh points of the truth and N_t − n_r of the model; ``real_pool``: the n_r real
points drawn without replacement from P = ``pool_size`` truth points drawn once. Keys: the data of
``fold(key, 0)`` (and ``fold(key, 1)`` for a policy's second draw); EM's initialisation ``fold(key, 1)`` under
replace, ``fold(key, 2)`` under the others, so replace draws what it always drew.

Every mixture in the state has max(K, K′) component slots; unused slots have weight 0 (mean 0, covariance I)
and contribute nothing to sampling, densities or moments. The component order of a fit is arbitrary.

Metrics (per generation): ``weights`` (K_max,), ``means`` (K_max, d), ``covs`` (K_max, d, d);
``component_std`` (K_max,), √(tr Σ_k/d) per component (0 for an empty slot), as the paper's notebook plots it;
``mix_mean`` (d,) and ``mix_cov`` (d, d), the mixture's mean and covariance; ``trace`` = tr ``mix_cov``;
``mean_sq_error`` = ‖mix_mean − m_0‖²; ``l2_to_truth`` = (∫(f − f_0)²)^{1/2} and ``l2_sq_to_truth`` = ∫(f − f_0)²
in closed form; ``l2_sq_to_first_fit`` = ∫(f − f_1)², the squared distance to generation 1's fit (the notebook's
"generation-0 model", fitted on real data; NaN at generation 0, 0 at generation 1);
``loglik``: EM's last mean per-sample log-likelihood (scikit-learn's ``lower_bound_``; NaN at generation 0);
``em_iterations``: EM iterations of the fit (0 at generation 0).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from numpy.polynomial.hermite_e import hermegauss

from .. import mixture, policies
from ..config.gmm import FIT_FAMILIES, METRICS, SAMPLERS, GMMConfig
from ..core.driver import Chain
from ..mixture import GMMParams
from ..policies import Sizes
from ..samplers import bits
from ..samplers.subset import random_subset
from .em import em, fit_gmm, initialize

__all__ = ["FIT_FAMILIES", "GMM", "METRICS", "SAMPLERS", "GMMConfig", "build", "hermite_grid"]

MAX_NODES_PER_AXIS = 100  # numpy's Gauss–Hermite nodes overflow far beyond this


class State(NamedTuple):
    t: jax.Array
    model: GMMParams  # K_max slots
    loglik: jax.Array
    n_iter: jax.Array
    first: GMMParams  # generation 1's fit (the truth until then)
    pool: Any  # what the policy keeps: a Pool, the real pool's Points, or None (replace, fresh_real)


class Points(NamedTuple):
    """A weighted training set: rows ``x`` (n, d) and weights ``w`` (n,), 0 on unused rows."""

    x: jax.Array
    w: jax.Array


class Pool(NamedTuple):
    """Every point kept so far: the first ``count`` rows of a buffer ``x`` (capacity, d), ``w`` 1 on them."""

    x: jax.Array
    w: jax.Array
    count: jax.Array


class Current(NamedTuple):
    """What the policies' draws and fits read: the chain's state and the key of EM's initialisation."""

    state: State
    init_key: bits.Key


class Fit(NamedTuple):
    """A fitted mixture (K_max slots), EM's last mean log-likelihood and its iteration count."""

    model: GMMParams
    loglik: jax.Array
    n_iter: jax.Array


def _pad(params: GMMParams, k_max: int) -> GMMParams:
    k, d = params.means.shape
    if k == k_max:
        return params
    extra = k_max - k
    return GMMParams(
        jnp.concatenate([params.weights, jnp.zeros(extra)]),
        jnp.concatenate([params.means, jnp.zeros((extra, d))]),
        jnp.concatenate([params.covs, jnp.broadcast_to(jnp.eye(d), (extra, d, d))]),
    )


def hermite_grid(points: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Hermite product rule for N(0, I_d) with min(⌊points^{1/d}⌋, 100) nodes per axis:
    (nodes (m^d, d), weights (m^d,) summing to 1)."""
    m = min(int(np.floor(points ** (1.0 / d) + 1e-9)), MAX_NODES_PER_AXIS)
    x, w = hermegauss(m)
    grids = np.meshgrid(*([np.arange(m)] * d), indexing="ij")
    index = np.stack([g.reshape(-1) for g in grids], axis=1)  # (m^d, d)
    weights = np.prod((w / w.sum())[index], axis=1)
    return x[index], weights


class GMM:
    """Chain pieces for one resolved :class:`GMMConfig`."""

    split_keys = False  # policies.Data: replace passes its step key on unchanged

    def __init__(self, config: GMMConfig):
        self.config = config
        self.policy = policies.POLICIES[config.policy]
        self.d = config.dim
        self.k_fit = config.fit_components
        self.k_max = max(config.components, config.fit_components)
        self.sizes = config.sizes()
        self.n_real, self.n_synthetic = config.real_counts()
        self.capacity = int(self.sizes.sum() + self.sizes.max())  # the pool's rows: a last write of max N rows fits
        # numpy constants: traced, they take the driver's float64 whatever the process's JAX default
        self.truth0 = GMMParams(*config.truth())
        self.mean0 = self.truth0.weights @ self.truth0.means
        if config.sampler == "infinite":
            self.nodes, self.node_weights = hermite_grid(config.quadrature_points, self.d)

    def truth(self) -> GMMParams:
        """The truth in K_max slots (traced arrays)."""
        return _pad(GMMParams(*(jnp.asarray(a) for a in self.truth0)), self.k_max)

    # --- data -------------------------------------------------------------------------------------
    def data(self, key, state: State) -> Points:
        """The replace policy's training set: N_t points of the current model (or its quadrature)."""
        model = state.model
        if self.config.sampler == "infinite":
            chol = jnp.linalg.cholesky(model.covs)  # (K_max, d, d)
            x = model.means[:, None, :] + jnp.einsum("kij,pj->kpi", chol, jnp.asarray(self.nodes))
            w = model.weights[:, None] * jnp.asarray(self.node_weights)[None, :]
            return Points(x.reshape(-1, self.d), w.reshape(-1))
        return self._drawn(key, model, self.sizes, jnp.asarray(self.sizes)[state.t])

    def _drawn(self, key, model: GMMParams, counts, n) -> Points:
        """n points of `model` in max(counts) rows (weight 1 on the first n)."""
        rows = int(np.max(counts))
        x = mixture.sample(key, model, rows)
        if np.all(counts == rows):
            return Points(x, jnp.ones(rows))
        return Points(x, (jnp.arange(rows) < n).astype(float))

    def _chosen(self, key, x, count, n, rows: int) -> Points:
        """A uniform n-subset, without replacement, of the first `count` rows of `x`, in `rows` rows."""
        chosen, valid = random_subset(key, count, n, rows, x.shape[0])
        return Points(x[chosen], valid.astype(float))

    # --- the policies' statistics (policies.Data) -------------------------------------------------
    def synthetic(self, key, current: Current, n) -> Points:
        return self._drawn(key, current.state.model, self.n_synthetic, n)

    def real(self, key, n) -> Points:
        return self._drawn(key, self.truth(), self.n_real, n)

    def fit_fresh(self, key, current: Current, n) -> Fit:
        return self._fit(self.data(bits.fold(key, 0), current.state), bits.fold(key, 1), current.state)

    def fit(self, points, current: Current) -> Fit:
        return self._fit(Points(points.x, points.w), current.init_key, current.state)

    def empty(self) -> Pool:
        return Pool(jnp.zeros((self.capacity, self.d)), jnp.zeros(self.capacity), jnp.asarray(0, jnp.int32))

    def combine(self, a, b: Points):
        """`b` after `a`: written into the pool's buffer after its points, or two point sets joined."""
        if isinstance(a, Pool):
            start = (a.count, jnp.zeros_like(a.count))
            x = jax.lax.dynamic_update_slice(a.x, b.x, start)
            w = jax.lax.dynamic_update_slice(a.w, b.w, start[:1])
            return Pool(x, w, a.count + jnp.sum(b.w).astype(jnp.int32))
        return Points(jnp.concatenate([a.x, b.x]), jnp.concatenate([a.w, b.w]))

    empty_store = empty

    def store(self, store: Pool, key, current: Current, n, t) -> Pool:
        return self.combine(store, self.synthetic(key, current, n))

    def subsample(self, key, store: Pool, n, t) -> Points:
        return self._chosen(key, store.x, store.count, n, int(self.sizes.max()))

    def real_pool(self, key) -> Points:
        return Points(mixture.sample(key, self.truth(), self.config.pool_size), jnp.ones(self.config.pool_size))

    def from_real_pool(self, key, pool: Points, n) -> Points:
        return self._chosen(key, pool.x, self.config.pool_size, n, int(self.n_real.max()))

    # --- chain ------------------------------------------------------------------------------------
    def init(self, key) -> State:
        # dtypes exactly those of `step`'s state (weak types included): a weakly typed start would compile the
        # generation program twice, once for generation 0's state and once for every later one
        truth = self.truth()
        pool = self.policy.start(self, key)
        return State(jnp.asarray(0, jnp.int32), truth, jnp.asarray(jnp.nan, float), jnp.asarray(0), truth, pool)

    def fit_gaussian(self, x, w):
        """One Gaussian: weighted mean and covariance S/(Σw − ddof) + reg·I; (params, mean log-likelihood)."""
        ddof = 0.0 if self.config.sampler == "infinite" else float(self.config.ddof)
        n = jnp.sum(w)
        mean = (w @ x) / n
        centred = (x - mean) * jnp.sqrt(w)[:, None]
        cov = centred.T @ centred / (n - ddof) + self.config.reg_covar * jnp.eye(self.d)
        params = GMMParams(jnp.ones(1), mean[None], cov[None])
        return params, (w @ mixture.log_prob(params, x)) / n

    def step(self, key, state: State) -> State:
        t = state.t
        n = Sizes(t, jnp.asarray(self.sizes)[t], jnp.asarray(self.n_real)[t], jnp.asarray(self.n_synthetic)[t])
        fit, pool = self.policy.step(self, key, Current(state, bits.fold(key, 2)), state.pool, n)
        first = jax.tree.map(lambda new, old: jnp.where(t == 0, new, old), fit.model, state.first)
        return State(t + 1, fit.model, fit.loglik, fit.n_iter, first, pool)

    def _fit(self, points: Points, k_init, state: State) -> Fit:
        """The next model fitted to the weighted `points` (EM initialised from `k_init`)."""
        c, (x, w) = self.config, points
        if c.fit_family == "gaussian":
            params, loglik = self.fit_gaussian(x, w)
            return Fit(_pad(params, self.k_max), loglik, jnp.asarray(0))
        options = dict(covariance_type=c.covariance_type, tol=c.tol, reg_covar=c.reg_covar, max_iter=c.em_iters,
                       sample_weight=w)
        if not c.warm_start:
            result = fit_gmm(k_init, x, self.k_fit, init=c.init, **options)
        else:
            previous = GMMParams(*(a[: self.k_fit] for a in state.model))
            if c.components != c.fit_components:
                # the truth has another component count: initialise the first fit with `init`
                fresh = initialize(k_init, x, self.k_fit, init=c.init, covariance_type=c.covariance_type,
                                   reg_covar=c.reg_covar, sample_weight=w)
                previous = jax.tree.map(lambda a, b: jnp.where(state.t == 0, a, b), fresh, previous)
            result = em(x, previous, **options)
        return Fit(_pad(result.params, self.k_max), result.lower_bound, result.n_iter)

    def observe(self, state: State) -> dict:
        model = state.model
        mean, cov = mixture.moment_match(model)
        diff = mean - self.mean0
        l2_sq = mixture.l2_distance_sq(model, self.truth())
        std = jnp.sqrt(jnp.trace(model.covs, axis1=1, axis2=2) / self.d)
        out = {
            "weights": model.weights,
            "means": model.means,
            "covs": model.covs,
            "component_std": jnp.where(model.weights > 0, std, 0.0),
            "mix_mean": mean,
            "mix_cov": cov,
            "trace": jnp.trace(cov),
            "mean_sq_error": diff @ diff,
            "l2_to_truth": jnp.sqrt(l2_sq),
            "l2_sq_to_truth": l2_sq,
            "l2_sq_to_first_fit": jnp.where(state.t == 0, jnp.nan, mixture.l2_distance_sq(model, state.first)),
            "loglik": state.loglik,
            "em_iterations": state.n_iter,
        }
        return {name: out[name] for name in self.config.metrics}

    def chain(self) -> Chain:
        # EM's iteration count differs per chain: run chains one after another rather than in lock-step
        # (6× faster for 64 chains at N = 1000), which also makes each chain's bits independent of the others.
        return Chain(self.init, self.step, self.observe, lanes=1, sequential=True)


def build(config: GMMConfig) -> Chain:
    return GMM(config).chain()
