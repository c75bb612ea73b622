"""The continuous chains in plain numpy, written as a user would: the yardsticks of "every family at least as fast
as a plain numpy version of the same chain".

Each function runs the same chain as the simcollapse family with that config (the same fit, the same recorded
statistics every generation, float64, ``default_rng``) and returns the recorded statistics, so nothing is
optimised away. Their numbers differ from simcollapse's (another generator); their laws are the same.

* :func:`gmm_numpy`: the paper's GMM chain (Shumailov et al., Nature 2024, SI §4.1), one chain after another:
  N points of the current mixture, then k-means (greedy k-means++ seeding, Lloyd) and full-covariance EM until
  the mean log-likelihood changes by less than ``tol`` (scikit-learn's algorithm, as `simcollapse.families.em`);
* :func:`kde_numpy`: the KDE chain, all chains at once: N centres resampled from the previous KDE, Scott's or a
  fixed bandwidth, the model variance and the held-out negative log-likelihood;
* :func:`linreg_numpy`: the linear-regression chain (replace policy, OLS), all chains at once: labels from the
  previous fit plus noise, refit by a batched solve of the normal equations, the test error ‖ŵ − w*‖².
"""

from __future__ import annotations

import math

import numpy as np


def _logsumexp(a, axis):
    top = np.max(a, axis=axis, keepdims=True)
    return np.squeeze(top, axis) + np.log(np.sum(np.exp(a - top), axis=axis))


# --- GMM by EM ---------------------------------------------------------------------------------------------


def _component_log_prob(x, means, covs):
    """(N, K) log N(x_n; μ_k, Σ_k) by Cholesky factors."""
    d = x.shape[1]
    chol = np.linalg.cholesky(covs)
    inv = np.linalg.inv(chol)
    y = np.einsum("kij,nkj->nki", inv, x[:, None, :] - means[None])
    half_logdet = np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(1)
    return -0.5 * (d * math.log(2 * math.pi) + (y * y).sum(-1)) - half_logdet


def _m_step(x, resp, reg):
    nk = np.maximum(resp.sum(0), 10 * np.finfo(float).eps)
    means = resp.T @ x / nk[:, None]
    diff = x[None] - means[:, None]
    covs = np.einsum("nk,kni,knj->kij", resp, diff, diff) / nk[:, None, None] + reg * np.eye(x.shape[1])
    return nk / nk.sum(), means, covs


def _kmeans(rng, x, k, max_iter=300, tol=1e-4):
    """Greedy k-means++ seeding (2 + ⌊log k⌋ trials), then Lloyd until the labels stop changing."""
    trials = 2 + int(math.log(k))
    centres = [x[rng.integers(len(x))]]
    closest = ((x - centres[0]) ** 2).sum(1)
    for _ in range(1, k):
        cand = np.searchsorted(np.cumsum(closest), rng.random(trials) * closest.sum(), side="right")
        cand = np.minimum(cand, len(x) - 1)
        pot = np.minimum(closest[None], ((x[None] - x[cand][:, None]) ** 2).sum(-1))
        best = np.argmin(pot.sum(1))
        centres.append(x[cand[best]])
        closest = pot[best]
    centres = np.array(centres)
    tol_abs = tol * x.var(0).mean()
    labels = np.full(len(x), -1)
    for _ in range(max_iter):
        new_labels = ((x[:, None] - centres[None]) ** 2).sum(-1).argmin(1)
        new = np.array([x[new_labels == j].mean(0) if np.any(new_labels == j) else centres[j] for j in range(k)])
        shift = ((new - centres) ** 2).sum()
        done = np.array_equal(new_labels, labels) or shift <= tol_abs
        centres, labels = new, new_labels
        if done:
            break
    return ((x[:, None] - centres[None]) ** 2).sum(-1).argmin(1)


def _em(x, params, tol, reg, max_iter):
    prev = -np.inf
    for it in range(1, max_iter + 1):
        lp = _component_log_prob(x, params[1], params[2]) + np.log(params[0])
        norm = _logsumexp(lp, 1)
        ll = norm.mean()
        params = _m_step(x, np.exp(lp - norm[:, None]), reg)
        if abs(ll - prev) < tol:
            break
        prev = ll
    return params, ll, it


def gmm_numpy(generations: int, chains: int, n_samples: int = 1000, dim: int = 2, fit_components: int = 2,
              tol: float = 1e-5, reg_covar: float = 1e-6, max_iter: int = 2000, seed: int = 0):
    """The `gmm` family's defaults: truth N(0, I_2), K′ = 2, N = 1000, full covariances. Returns (weights,
    means, covs, loglik, EM iterations), each (generations, chains, ...)."""
    rng = np.random.default_rng(seed)
    k = fit_components
    out = (np.empty((generations, chains, k)), np.empty((generations, chains, k, dim)),
           np.empty((generations, chains, k, dim, dim)), np.empty((generations, chains)),
           np.empty((generations, chains), int))
    for c in range(chains):
        weights, means, covs = np.ones(1), np.zeros((1, dim)), np.eye(dim)[None]
        for t in range(generations):
            comp = rng.choice(len(weights), n_samples, p=weights)
            x = means[comp] + np.einsum("nij,nj->ni", np.linalg.cholesky(covs)[comp],
                                        rng.standard_normal((n_samples, dim)))
            resp = np.eye(k)[_kmeans(rng, x, k)]
            (weights, means, covs), ll, it = _em(x, _m_step(x, resp, reg_covar), tol, reg_covar, max_iter)
            for store, value in zip(out, (weights, means, covs, ll, it), strict=True):
                store[t, c] = value
    return out


# --- KDE ---------------------------------------------------------------------------------------------------


def kde_numpy(generations: int, chains: int, n_samples: int = 100, dim: int = 1, bandwidth="scott",
              test_size: int = 500, seed: int = 0, block: int = 50):
    """The `kde` family's defaults (truth N(0, 1), Scott's rule). Returns (var, test_nll, bandwidth), each
    (generations, chains). The held-out log-likelihood is computed `block` chains at a time (a (block,
    test_size, N) array) to bound memory."""
    rng = np.random.default_rng(seed)
    n, d = n_samples, dim
    test = rng.standard_normal((chains, test_size, d))
    centres = rng.standard_normal((chains, n, d))  # generation 1: N points of the truth
    factor = n ** (-1.0 / (d + 4))
    var, nll, bw = (np.empty((generations, chains)) for _ in range(3))
    h = None
    for t in range(generations):
        if t:  # a centre uniformly, plus kernel noise
            pick = rng.integers(0, n, (chains, n))
            centres = np.take_along_axis(centres, pick[..., None], 1) + h[:, None, None] * rng.standard_normal(
                (chains, n, d))
        h = (factor * np.sqrt(centres.var(1, ddof=1).mean(1)) if bandwidth == "scott"
             else np.full(chains, float(bandwidth)))
        var[t] = centres.var(1).mean(1) + h**2
        bw[t] = h
        for s in range(0, chains, block):
            sq = ((test[s:s + block, :, None, :] - centres[s:s + block, None, :, :]) ** 2).sum(-1)
            hs = h[s:s + block, None, None]
            log_kde = _logsumexp(-0.5 * sq / hs**2, 2) - math.log(n) - d * np.log(hs[..., 0]) \
                - 0.5 * d * math.log(2 * math.pi)
            nll[t, s:s + block] = -log_kde.mean(1)
    return var, nll, bw


# --- linear regression -------------------------------------------------------------------------------------


def linreg_numpy(generations: int, chains: int, design_size: int = 50, dim: int = 10, noise: float = 1.0,
                 seed: int = 0):
    """The `linreg` family's defaults (replace, OLS, w* = (1, …, 1)/√d). Returns (w (generations, chains, d),
    test_error (generations, chains), tr (XᵀX)⁻¹ (chains,))."""
    rng = np.random.default_rng(seed)
    w_star = np.full(dim, 1.0 / math.sqrt(dim))
    x = rng.standard_normal((chains, design_size, dim))
    gram = np.swapaxes(x, 1, 2) @ x
    trace_inv = np.trace(np.linalg.inv(gram), axis1=1, axis2=2)
    w = np.broadcast_to(w_star, (chains, dim))
    ws, errors = np.empty((generations, chains, dim)), np.empty((generations, chains))
    for t in range(generations):
        y = (x @ w[..., None])[..., 0] + noise * rng.standard_normal((chains, design_size))
        w = np.linalg.solve(gram, (np.swapaxes(x, 1, 2) @ y[..., None]))[..., 0]
        ws[t], errors[t] = w, ((w - w_star) ** 2).sum(1)
    return ws, errors, trace_inv
