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

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from numpy.polynomial.hermite_e import hermegauss

from .. import mixture
from ..config import schedule
from ..config.gmm import FIT_FAMILIES, METRICS, SAMPLERS, GMMConfig
from ..core.driver import Chain
from ..mixture import GMMParams
from ..samplers import bits
from .em import em, fit_gmm, initialize

__all__ = ["FIT_FAMILIES", "GMM", "METRICS", "SAMPLERS", "GMMConfig", "build", "hermite_grid"]

MAX_NODES_PER_AXIS = 100  # numpy's Gauss–Hermite nodes overflow far beyond this


class State(NamedTuple):
    t: jax.Array
    model: GMMParams  # K_max slots
    loglik: jax.Array
    n_iter: jax.Array
    first: GMMParams  # generation 1's fit (the truth until then)


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

    def __init__(self, config: GMMConfig):
        self.config = config
        self.d = config.dim
        self.k_fit = config.fit_components
        self.k_max = max(config.components, config.fit_components)
        self.sizes = schedule(config.n_samples, config.generations)
        # numpy constants: traced, they take the driver's float64 whatever the process's JAX default
        self.truth0 = GMMParams(*config.truth())
        self.mean0 = self.truth0.weights @ self.truth0.means
        if config.sampler == "infinite":
            self.nodes, self.node_weights = hermite_grid(config.quadrature_points, self.d)

    def truth(self) -> GMMParams:
        """The truth in K_max slots (traced arrays)."""
        return _pad(GMMParams(*(jnp.asarray(a) for a in self.truth0)), self.k_max)

    # --- data -------------------------------------------------------------------------------------
    def data(self, key, state: State):
        """(x (rows, d), sample_weight (rows,)) of the training set drawn from the current model."""
        model = state.model
        if self.config.sampler == "infinite":
            chol = jnp.linalg.cholesky(model.covs)  # (K_max, d, d)
            x = model.means[:, None, :] + jnp.einsum("kij,pj->kpi", chol, jnp.asarray(self.nodes))
            w = model.weights[:, None] * jnp.asarray(self.node_weights)[None, :]
            return x.reshape(-1, self.d), w.reshape(-1)
        n_max = int(self.sizes.max())
        x = mixture.sample(key, model, n_max)
        if np.all(self.sizes == n_max):
            return x, jnp.ones(n_max)
        n = jnp.asarray(self.sizes)[state.t]
        return x, (jnp.arange(n_max) < n).astype(float)

    # --- chain ------------------------------------------------------------------------------------
    def init(self, key) -> State:
        # dtypes exactly those of `step`'s state (weak types included): a weakly typed start would compile the
        # generation program twice, once for generation 0's state and once for every later one
        truth = self.truth()
        return State(jnp.asarray(0, jnp.int32), truth, jnp.asarray(jnp.nan, float), jnp.asarray(0), truth)

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
        model, loglik, n_iter = self.fit(key, state)
        first = jax.tree.map(lambda new, old: jnp.where(state.t == 0, new, old), model, state.first)
        return State(state.t + 1, model, loglik, n_iter, first)

    def fit(self, key, state: State):
        """The next model (K_max slots), EM's last mean log-likelihood and its iteration count."""
        c = self.config
        k_data, k_init = bits.fold(key, 0), bits.fold(key, 1)
        x, w = self.data(k_data, state)
        if c.fit_family == "gaussian":
            params, loglik = self.fit_gaussian(x, w)
            return _pad(params, self.k_max), loglik, jnp.asarray(0)
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
        return _pad(result.params, self.k_max), result.lower_bound, result.n_iter

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
