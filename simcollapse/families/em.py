"""EM for Gaussian mixtures, in JAX, following scikit-learn's ``GaussianMixture``.

This is the fitter of the GMM experiment of Shumailov et al. (Nature 2024, SI §4.1): each generation fits a
2-component full-covariance mixture to N=1000 samples of the previous one (the paper's code: scikit-learn,
``tol=1e-5``, ``max_iter=2000``).

Everything here is a pure function of arrays with static shapes: ``lax.while_loop`` runs the iterations, so
:func:`em` and :func:`fit_gmm` can be jitted and vmapped over chains (a batch of datasets, keys or initial
parameters). Shapes: N samples, d dimensions, K components. A mixture is a
:class:`~simcollapse.mixture.GMMParams`: ``weights`` (K,), ``means`` (K, d), ``covs`` (K, d, d). For the
``"diag"`` and ``"spherical"`` covariance types the covariances are still (K, d, d), diagonal, so the pytree is
the same for every type.

What matches scikit-learn (facts of its documented algorithm, re-implemented here):

- E-step: log w_k + log N(x; μ_k, Σ_k) by Cholesky, normalised by log-sum-exp; the convergence criterion is the
  change of the mean per-sample log-likelihood, |ℓ_t − ℓ_{t−1}| < ``tol``, where ℓ_t is computed in the E-step of
  iteration t, i.e. with the parameters *before* that iteration's M-step. The first iteration compares with −∞,
  so at least two iterations run unless ``max_iter == 1``. The returned parameters are those after the last
  M-step; ``n_iter`` counts iterations as scikit-learn's ``n_iter_`` does.
- M-step: n_k = Σ_n r_nk (floored at 10·eps so an empty component gives no 0/0), w_k = n_k / Σ_j n_j,
  μ_k = Σ_n r_nk x_n / n_k, Σ_k = Σ_n r_nk (x_n − μ_k)(x_n − μ_k)ᵀ / n_k + ``reg_covar``·I; "diag" keeps the
  diagonal, "spherical" the mean of the diagonal (regularised) times I. With ``reg_covar = 0`` this is the exact
  maximiser of the expected complete-data log-likelihood, so the log-likelihood never decreases (Dempster, Laird
  & Rubin 1977); with ``reg_covar > 0`` it is not, and late iterations may decrease it slightly (by rounding
  level at the default 1e-6).
- Initialisation (``init``): ``"kmeans"`` (scikit-learn's default) runs k-means — k-means++ seeding with
  2 + ⌊log K⌋ greedy local trials, then Lloyd iterations until the labels stop changing or the squared centre
  shift falls below 1e-4 × the mean per-feature variance (at most 300; with ``sample_weight`` the variance is
  weighted) — and takes one-hot responsibilities
  of the final labels; ``"k-means++"`` and ``"random_from_data"`` put one-hot responsibilities on K seed points
  (k-means++ seeds, or K distinct points drawn uniformly without replacement); ``"random"`` draws responsibilities uniform on
  [0, 1) and normalises each row. In every case one M-step (with ``reg_covar``) turns responsibilities into
  initial parameters. Random bits come from :mod:`simcollapse.samplers.bits` (keys are its ``Key``s).
  Differences: random streams differ from NumPy's, so the same seed does not give the same
  initial parameters; an empty k-means cluster is re-seeded at the point farthest from its centre (as
  scikit-learn does) but the donor cluster's centre is recomputed at the next Lloyd step; initial weights are
  always normalised to sum to 1 (scikit-learn leaves them at K/N for the one-point inits, which only shifts the
  first log-likelihood entry); only one initialisation is run (scikit-learn's default ``n_init=1``).

``sample_weight`` (N,) gives each row a non-negative weight in every sum above (and in the mean log-likelihood).
A 0/1 mask fits on a subset of a fixed-size buffer, e.g. the first n rows; rows of weight 0 are never read
(they may hold NaN).
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax
from jax.scipy.special import logsumexp

from ..config.gmm import COVARIANCE_TYPES, INIT_METHODS
from ..mixture import GMMParams, component_log_prob
from ..samplers import bits
from ..samplers.choice import ordered_sample, proportional

__all__ = [
    "COVARIANCE_TYPES",
    "INIT_METHODS",
    "EMResult",
    "e_step",
    "em",
    "fit_gmm",
    "initialize",
    "kmeans",
    "kmeans_plusplus",
    "m_step",
]


class EMResult(NamedTuple):
    """Output of :func:`em` / :func:`fit_gmm`.

    Attributes:
        params: fitted :class:`GMMParams` (after the last M-step).
        log_likelihood: (max_iter,) mean per-sample log-likelihood computed at each iteration's E-step
            (scikit-learn's lower bound); entries from ``n_iter`` on are NaN.
        n_iter: number of iterations run (int scalar), as scikit-learn's ``n_iter_``.
        converged: whether |Δ log-likelihood| < tol was reached within ``max_iter``.
        lower_bound: the last log-likelihood entry, as scikit-learn's ``lower_bound_``.
    """

    params: GMMParams
    log_likelihood: jax.Array
    n_iter: jax.Array
    converged: jax.Array
    lower_bound: jax.Array


# ----------------------------------------------------------------------------------------------------------
# checks and data preparation (Python level: all arguments checked here are static)


def _check_covariance_type(covariance_type):
    if covariance_type not in COVARIANCE_TYPES:
        raise ValueError(f"covariance_type must be one of {COVARIANCE_TYPES}, got {covariance_type!r}")


def _check_positive_int(name, value):
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def _prepare(x, sample_weight):
    """Floating (N, d) data and (N,) weights (ones when None), checked; the same types with or without weights,
    so both share one compilation."""
    x = jnp.asarray(x)
    x = x.astype(jnp.result_type(x.dtype, float))
    if x.ndim != 2:
        raise ValueError(f"x must have shape (N, d), got shape {x.shape}")
    if sample_weight is None:
        return x, jnp.ones(x.shape[0], x.dtype)
    w = jnp.asarray(sample_weight, x.dtype)
    if w.shape != x.shape[:1]:
        raise ValueError(f"sample_weight must have shape ({x.shape[0]},), got {w.shape}")
    return x, w


def _as_params(params, dtype):
    return GMMParams(*(jnp.asarray(a, dtype) for a in params))


def _masked(x, w):
    """Rows of weight 0 are zeroed, so NaN padding cannot leak into 0·NaN."""
    return jnp.where(w[:, None] > 0, x, 0.0)


# ----------------------------------------------------------------------------------------------------------
# E and M steps


def _log_prob_components(x, params, covariance_type):
    """(N, K) log N(x_n; μ_k, Σ_k); diagonal types skip the Cholesky factorisation."""
    if covariance_type == "full":
        return component_log_prob(x, params.means, params.covs)
    var = jnp.diagonal(params.covs, axis1=-2, axis2=-1)  # (K, d)
    d = x.shape[-1]
    maha = jnp.sum((x[:, None, :] - params.means[None]) ** 2 / var[None], axis=-1)
    return -0.5 * (d * math.log(2 * math.pi) + maha + jnp.sum(jnp.log(var), axis=-1))


def _e_step(x, w, params, covariance_type):
    lp = _log_prob_components(x, params, covariance_type) + jnp.log(params.weights)
    norm = logsumexp(lp, axis=1)  # (N,) log p(x_n)
    mean_ll = jnp.sum(w * norm) / jnp.sum(w)
    return mean_ll, lp - norm[:, None]


def _m_step(x, w, resp, covariance_type, reg_covar):
    r = resp * w[:, None]  # (N, K)
    nk = jnp.maximum(jnp.sum(r, axis=0), 10 * jnp.finfo(x.dtype).eps)  # (K,)
    weights = nk / jnp.sum(nk)
    means = (r.T @ x) / nk[:, None]  # (K, d)
    diff = x[None, :, :] - means[:, None, :]  # (K, N, d)
    d = x.shape[-1]
    eye = jnp.eye(d, dtype=x.dtype)
    if covariance_type == "full":
        covs = jnp.einsum("nk,kni,knj->kij", r, diff, diff) / nk[:, None, None]
        # read both (i, j) and (j, i) from the upper triangle so the result is exactly symmetric
        i, j = jnp.triu_indices(d)
        covs = covs.at[:, j, i].set(covs[:, i, j]) + reg_covar * eye
    else:
        var = jnp.einsum("nk,kni->ki", r, diff * diff) / nk[:, None] + reg_covar  # (K, d)
        if covariance_type == "spherical":
            var = jnp.broadcast_to(jnp.mean(var, axis=1, keepdims=True), var.shape)
        covs = var[:, :, None] * eye
    return GMMParams(weights, means, covs)


@functools.partial(jax.jit, static_argnums=3)
def _e_step_jit(x, w, params, covariance_type):
    return _e_step(_masked(x, w), w, params, covariance_type)


@functools.partial(jax.jit, static_argnums=3)
def _m_step_jit(x, w, resp, covariance_type, reg_covar):
    return _m_step(_masked(x, w), w, resp, covariance_type, reg_covar)


def e_step(x, params: GMMParams, *, covariance_type: str = "full", sample_weight=None):
    """One E-step: responsibilities r_nk = w_k N(x_n; μ_k, Σ_k) / Σ_j w_j N(x_n; μ_j, Σ_j), in log space.

    Args:
        x: (N, d) data.
        params: current mixture.
        covariance_type: "full" (Cholesky) or "diag"/"spherical" (only the diagonals of ``covs`` are read).
        sample_weight: optional (N,) non-negative row weights.

    Returns:
        ``(mean_log_likelihood, log_resp)``: the weighted mean of log p(x_n), a scalar, and (N, K) log r_nk.
    """
    _check_covariance_type(covariance_type)
    x, w = _prepare(x, sample_weight)
    return _e_step_jit(x, w, _as_params(params, x.dtype), covariance_type)


def m_step(
    x, resp, *, covariance_type: str = "full", reg_covar: float = 1e-6, sample_weight=None
) -> GMMParams:
    """One M-step from (N, K) responsibilities (rows summing to 1), as in the module docstring.

    Whatever the responsibilities, a "full" M-step gives exactly Σ_k w_k μ_k = x̄ and
    Σ_k w_k(Σ_k + μ_kμ_kᵀ) = (1/N) Σ_n x_n x_nᵀ + reg·I (weighted versions with ``sample_weight``); for "diag"
    the diagonal of the second identity holds, for "spherical" its trace.
    """
    _check_covariance_type(covariance_type)
    x, w = _prepare(x, sample_weight)
    return _m_step_jit(x, w, jnp.asarray(resp, x.dtype), covariance_type, reg_covar)


# ----------------------------------------------------------------------------------------------------------
# initialisation


def _sq_dists(x, centers):
    """(N, K) squared Euclidean distances, computed from differences (no cancellation)."""
    return jnp.sum((x[:, None, :] - centers[None, :, :]) ** 2, axis=-1)


def _kmeans_plusplus(key, x, w, n_clusters):
    n_trials = 2 + int(math.log(n_clusters))
    # all the randomness in one draw: one uniform for the first seed, n_trials for each later one
    u = bits.uniform(key, (n_clusters, n_trials))
    first = proportional(u[0, 0], w)
    closest = _sq_dists(x, x[first][None])[:, 0]  # (N,)
    indices = jnp.zeros(n_clusters, dtype=first.dtype).at[0].set(first)

    def body(c, carry):
        indices, closest = carry
        mass = w * closest
        # D² sampling; if every point already sits on a centre, fall back to the weights alone.
        cand = proportional(u[c], jnp.where(jnp.sum(mass) > 0, mass, w))
        trial = jnp.minimum(closest[None, :], _sq_dists(x, x[cand]).T)  # (n_trials, N)
        best = jnp.argmin(trial @ w)
        return indices.at[c].set(cand[best]), trial[best]

    indices, _ = lax.fori_loop(1, n_clusters, body, (indices, closest))
    return x[indices], indices


@functools.partial(jax.jit, static_argnums=3)
def _kmeans_plusplus_jit(key, x, w, n_clusters):
    return _kmeans_plusplus(key, _masked(x, w), w, n_clusters)


def kmeans_plusplus(key, x, n_clusters: int, *, sample_weight=None):
    """Greedy k-means++ seeding (Arthur & Vassilvitskii 2007, with scikit-learn's 2 + ⌊log K⌋ local trials).

    The first centre is drawn with probability ∝ weight; each next one is the best, by the resulting potential
    Σ_n w_n min_c ‖x_n − c‖², of 2 + ⌊log K⌋ candidates drawn with probability ∝ w_n D(x_n)².

    Args:
        key: a :class:`~simcollapse.samplers.bits.Key`.
        x: (N, d) data.
        n_clusters: K (static).
        sample_weight: optional (N,) non-negative weights; rows of weight 0 are never chosen.

    Returns:
        ``(centers (K, d), indices (K,))``.
    """
    _check_positive_int("n_clusters", n_clusters)
    x, w = _prepare(x, sample_weight)
    return _kmeans_plusplus_jit(key, x, w, n_clusters)


def _farthest(values, k: int):
    """Indices of the k largest values, largest first, lower index first among ties (as ``lax.top_k``).

    k passes of argmax: for the few clusters of a mixture fit this is far cheaper on CPU than ``lax.top_k``,
    which sorts all N values in every Lloyd iteration."""

    def pick(masked, _):
        i = jnp.argmax(masked)
        return masked.at[i].set(-jnp.inf), i

    return lax.scan(pick, values, None, length=k)[1]


def _lloyd_update(x, w, centers, labels):
    """New centres from labels; an empty cluster is re-seeded at the point farthest from its own centre."""
    k = centers.shape[0]
    onehot = jax.nn.one_hot(labels, k, dtype=x.dtype) * w[:, None]
    counts = jnp.sum(onehot, axis=0)
    sums = onehot.T @ x
    empty = counts <= 0
    far_d = jnp.where(w > 0, jnp.take_along_axis(_sq_dists(x, centers), labels[:, None], axis=1)[:, 0], -1.0)
    far = _farthest(far_d, k)  # the K farthest points, farthest first
    pick = far[jnp.clip(jnp.cumsum(empty) - 1, 0, k - 1)]  # the r-th empty cluster takes the r-th farthest
    sums = jnp.where(empty[:, None], x[pick] * w[pick][:, None], sums)
    counts = jnp.where(empty, w[pick], counts)
    return jnp.where(counts[:, None] > 0, sums / jnp.where(counts > 0, counts, 1.0)[:, None], centers)


def _kmeans(key, x, w, n_clusters, max_iter, tol):
    centers, _ = _kmeans_plusplus(key, x, w, n_clusters)
    mean = (w @ x) / jnp.sum(w)
    tol_abs = tol * jnp.mean((w @ (x - mean) ** 2) / jnp.sum(w))

    def cond(state):
        _, _, it, done = state
        return (it < max_iter) & ~done

    def body(state):
        centers, labels_old, it, _ = state
        labels = jnp.argmin(_sq_dists(x, centers), axis=1)
        new = _lloyd_update(x, w, centers, labels)
        shift = jnp.sum((new - centers) ** 2)
        done = jnp.all(labels == labels_old) | (shift <= tol_abs)
        return new, labels, it + 1, done

    labels0 = jnp.full(x.shape[0], -1, dtype=int)
    state0 = (centers, labels0, jnp.asarray(0), jnp.asarray(False))
    centers, _, n_iter, _ = lax.while_loop(cond, body, state0)
    return centers, jnp.argmin(_sq_dists(x, centers), axis=1), n_iter


@functools.partial(jax.jit, static_argnums=(3, 4))
def _kmeans_jit(key, x, w, n_clusters, max_iter, tol):
    return _kmeans(key, _masked(x, w), w, n_clusters, max_iter, tol)


def kmeans(key, x, n_clusters: int, *, max_iter: int = 300, tol: float = 1e-4, sample_weight=None):
    """k-means: k-means++ seeding, then Lloyd iterations (scikit-learn's ``KMeans(n_init=1)`` algorithm).

    Lloyd stops when the labels no longer change or when Σ_k ‖c_k^new − c_k‖² ≤ tol × (mean per-feature
    variance of x), or after ``max_iter`` iterations; the returned labels are those of the returned centres.

    Returns:
        ``(centers (K, d), labels (N,), n_iter)``.
    """
    _check_positive_int("n_clusters", n_clusters)
    _check_positive_int("max_iter", max_iter)
    x, w = _prepare(x, sample_weight)
    return _kmeans_jit(key, x, w, n_clusters, max_iter, tol)


def _initial_resp(key, x, w, n_components, init):
    n = x.shape[0]
    if init == "kmeans":
        _, labels, _ = _kmeans(key, x, w, n_components, 300, 1e-4)
        return jax.nn.one_hot(labels, n_components, dtype=x.dtype)
    if init == "random":
        u = bits.uniform(key, (n, n_components))
        return u / jnp.sum(u, axis=1, keepdims=True)
    if init == "k-means++":
        _, idx = _kmeans_plusplus(key, x, w, n_components)
    else:  # random_from_data: K distinct rows of positive weight, each ordered K-tuple equally likely
        idx = ordered_sample(key, w > 0, n_components)
    return jnp.zeros((n, n_components), x.dtype).at[idx, jnp.arange(n_components)].set(1.0)


def _initialize(key, x, w, n_components, init, covariance_type, reg_covar):
    resp = _initial_resp(key, x, w, n_components, init)
    return _m_step(x, w, resp, covariance_type, reg_covar)


def _check_init(init):
    if init not in INIT_METHODS:
        raise ValueError(f"init must be one of {INIT_METHODS}, got {init!r}")


@functools.partial(jax.jit, static_argnums=(3, 4))
def _initial_resp_jit(key, x, w, n_components, init):
    return _initial_resp(key, _masked(x, w), w, n_components, init)


def initialize(
    key,
    x,
    n_components: int,
    *,
    init: str = "kmeans",
    covariance_type: str = "full",
    reg_covar: float = 1e-6,
    sample_weight=None,
) -> GMMParams:
    """Initial mixture: responsibilities from ``init`` (see the module docstring), then one M-step.

    Returns:
        :class:`GMMParams` with weights (K,) summing to 1, means (K, d), covs (K, d, d).
    """
    _check_positive_int("n_components", n_components)
    _check_init(init)
    _check_covariance_type(covariance_type)
    x, w = _prepare(x, sample_weight)
    # two compiled pieces, so that the responsibilities are compiled once for all covariance types
    resp = _initial_resp_jit(key, x, w, n_components, init)
    return _m_step_jit(x, w, resp, covariance_type, reg_covar)


# ----------------------------------------------------------------------------------------------------------
# the EM loop


def _em(x, w, params, covariance_type, tol, reg_covar, max_iter):
    trace0 = jnp.full(max_iter, jnp.nan, dtype=x.dtype)

    def cond(state):
        _, _, it, _, converged = state
        return (it < max_iter) & ~converged

    def body(state):
        params, prev, it, trace, _ = state
        ll, log_resp = _e_step(x, w, params, covariance_type)
        params = _m_step(x, w, jnp.exp(log_resp), covariance_type, reg_covar)
        return params, ll, it + 1, trace.at[it].set(ll), jnp.abs(ll - prev) < tol

    state0 = (params, jnp.asarray(-jnp.inf, x.dtype), jnp.asarray(0), trace0, jnp.asarray(False))
    params, last, n_iter, trace, converged = lax.while_loop(cond, body, state0)
    return EMResult(params, trace, n_iter, converged, last)


@functools.partial(jax.jit, static_argnums=(3, 6))
def _em_jit(x, w, params, covariance_type, tol, reg_covar, max_iter):
    return _em(_masked(x, w), w, params, covariance_type, tol, reg_covar, max_iter)


@functools.partial(jax.jit, static_argnums=(3, 4, 5, 8))
def _fit_gmm_jit(key, x, w, n_components, init, covariance_type, tol, reg_covar, max_iter):
    x = _masked(x, w)
    params = _initialize(key, x, w, n_components, init, covariance_type, reg_covar)
    return _em(x, w, params, covariance_type, tol, reg_covar, max_iter)


def em(
    x,
    init_params: GMMParams,
    *,
    covariance_type: str = "full",
    tol=1e-3,
    reg_covar=1e-6,
    max_iter: int = 100,
    sample_weight=None,
) -> EMResult:
    """Run EM from given initial parameters until |Δ mean log-likelihood| < tol or ``max_iter`` iterations.

    Args:
        x: (N, d) data.
        init_params: initial :class:`GMMParams`; weights (K,), means (K, d), covs (K, d, d) (only the
            diagonals are read for "diag"/"spherical").
        covariance_type: "full", "diag" or "spherical" (static).
        tol: convergence threshold on the change of the mean per-sample log-likelihood (scikit-learn default
            1e-3; the paper's code used 1e-5).
        reg_covar: added to the diagonal of every covariance in each M-step.
        max_iter: maximum number of iterations (static; the paper's code used 2000).
        sample_weight: optional (N,) non-negative row weights, e.g. a 0/1 mask of valid rows.

    Returns:
        :class:`EMResult`.
    """
    _check_covariance_type(covariance_type)
    _check_positive_int("max_iter", max_iter)
    x, w = _prepare(x, sample_weight)
    return _em_jit(x, w, _as_params(init_params, x.dtype), covariance_type, tol, reg_covar, max_iter)


def fit_gmm(
    key,
    x,
    n_components: int,
    *,
    covariance_type: str = "full",
    tol=1e-3,
    reg_covar=1e-6,
    max_iter: int = 100,
    init: str = "kmeans",
    sample_weight=None,
) -> EMResult:
    """Fit a K-component Gaussian mixture by EM: :func:`initialize` then :func:`em`.

    Defaults are scikit-learn's ``GaussianMixture`` defaults; the paper's GMM experiment (SI §4.1) used
    ``n_components=2, covariance_type="full", tol=1e-5, max_iter=2000``. Compiled once per data shape and
    (``n_components``, ``init``, ``covariance_type``, ``max_iter``), which are static; ``tol`` and ``reg_covar``
    may be traced. Callable inside ``jit``; ``jax.vmap`` over ``key``, ``x`` and ``sample_weight`` fits many
    chains at once.

    Args:
        key: a :class:`~simcollapse.samplers.bits.Key` for the initialisation.
        x: (N, d) data, N ≥ K rows of positive weight.
        n_components: K.
        sample_weight: optional (N,) non-negative row weights (0/1 mask to fit on part of a buffer).

    Returns:
        :class:`EMResult`; ``result.params`` is the fitted :class:`GMMParams`.
    """
    _check_positive_int("n_components", n_components)
    _check_init(init)
    _check_covariance_type(covariance_type)
    _check_positive_int("max_iter", max_iter)
    x, w = _prepare(x, sample_weight)
    return _fit_gmm_jit(key, x, w, n_components, init, covariance_type, tol, reg_covar, max_iter)
