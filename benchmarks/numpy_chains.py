"""Each family's chain in plain numpy, vectorised over chains as a user would write it: the yardsticks of
"every family at least as fast as a plain numpy version of the same chain".

Each function runs the chain of the simcollapse family with the same config (the same fit, float64,
``default_rng``) and returns only the final model or statistic, which is all the simcollapse side records
besides the truth (``record_every=generations``). The numbers differ from simcollapse's (another generator);
the laws are the same.

* :func:`bernoulli_numpy`: p ← Binomial(n, p)/n;
* :func:`poisson_numpy`: λ ← Poisson(nλ)/n;
* :func:`categorical_numpy`: p ← Multinomial(N, p)/N (the cats: K = 2);
* :func:`mvgaussian_numpy`: the d-dimensional Gaussian refit (mean, ddof-0 covariance) on M points per
  generation, under each data policy;
* :func:`kde_numpy`: the KDE chain (centres resampled from the previous KDE, Scott's or a fixed bandwidth);
* :func:`linreg_numpy`: the linear-regression chain (fixed design, labels from the previous fit plus noise,
  OLS refit).
"""

from __future__ import annotations

import math

import numpy as np


def bernoulli_numpy(chains: int, generations: int, n: int = 100, p0: float = 0.2, seed: int = 0):
    """The final p of each chain."""
    rng = np.random.default_rng(seed)
    p = np.full(chains, p0)
    for _ in range(generations):
        p = rng.binomial(n, p) / n
    return p


def poisson_numpy(chains: int, generations: int, n: int = 100, rate0: float = 1.0, seed: int = 0):
    """The final rate λ of each chain."""
    rng = np.random.default_rng(seed)
    rate = np.full(chains, rate0)
    for _ in range(generations):
        rate = rng.poisson(n * rate) / n
    return rate


def categorical_numpy(chains: int, generations: int, n: int = 60, probs0=(0.85, 0.15), seed: int = 0):
    """The final model p (chains, K) of each chain; numpy's multinomial broadcasts over the rows of p."""
    rng = np.random.default_rng(seed)
    p = np.broadcast_to(np.asarray(probs0, float), (chains, len(probs0)))
    for _ in range(generations):
        p = rng.multinomial(n, p) / n
    return p


def _subset(rng, chains: int, size: int, k: int):
    """(chains, k) indices: a uniformly random k-subset of range(size) per chain, drawn without replacement."""
    if k >= size:
        return np.broadcast_to(np.arange(size), (chains, size))
    if k == 1:
        return rng.integers(0, size, (chains, 1))
    return np.argpartition(rng.random((chains, size)), k - 1, axis=1)[:, :k]


def _moments(x):
    """Mean (chains, d) and ddof-0 covariance (chains, d, d) of x (chains, n, d)."""
    mean = x.mean(1)
    centred = x - mean[:, None]
    return mean, np.einsum("cni,cnj->cij", centred, centred) / x.shape[1]


def mvgaussian_numpy(policy: str, chains: int, generations: int, n: int = 10, dim: int = 5,
                     real_fraction: float = 0.1, pool_size: int = 1000, seed: int = 0):
    """The `mvgaussian` chain from N(0, I_d) with the exact sampler and fitter (ddof 0). Policies:

    replace: fit the M points drawn from the model; accumulate: fit every point drawn so far (running sums);
    accumulate_subsample: fit M points drawn without replacement from every point so far; fresh_real:
    n_r = ⌊ρM + ½⌋ of the M points fresh from the truth; real_pool: n_r points drawn without replacement from
    P real points drawn once per chain. Returns the final (mean (chains, d), Cholesky factor of the covariance
    (chains, d, d))."""
    rng = np.random.default_rng(seed)
    d = dim
    n_real = math.floor(real_fraction * n + 0.5) if policy in ("fresh_real", "real_pool") else 0
    mean, chol = np.zeros((chains, d)), np.broadcast_to(np.eye(d), (chains, d, d))
    if policy == "real_pool":
        pool = rng.standard_normal((chains, pool_size, d))
    elif policy == "accumulate":
        count, total, products = 0, np.zeros((chains, d)), np.zeros((chains, d, d))
    elif policy == "accumulate_subsample":
        points = np.empty((chains, generations * n, d))
    for t in range(generations):
        if policy == "replace":
            # Drawn and fitted in the model's standardised coordinates, x = μ + L z: the fit of the x's is
            # μ + L z̄ and L·chol(cov z). Refitting the x's themselves fails here: within 50 generations at M = 10,
            # d = 5 the covariance's condition number passes 1/eps and np.linalg.cholesky raises.
            zbar, cov_z = _moments(rng.standard_normal((chains, n, d)))
            mean = mean + (chol @ zbar[..., None])[..., 0]
            chol = chol @ np.linalg.cholesky(cov_z)
            continue
        x = mean[:, None] + rng.standard_normal((chains, n - n_real, d)) @ np.swapaxes(chol, 1, 2)
        if policy == "fresh_real":
            x = np.concatenate([x, rng.standard_normal((chains, n_real, d))], 1)
        elif policy == "real_pool":
            pick = _subset(rng, chains, pool_size, n_real)
            x = np.concatenate([x, np.take_along_axis(pool, pick[..., None], 1)], 1)
        if policy == "accumulate":
            count += n
            total += x.sum(1)
            products += np.einsum("cni,cnj->cij", x, x)
            mean = total / count
            cov = products / count - mean[:, :, None] * mean[:, None, :]
        else:
            if policy == "accumulate_subsample":
                points[:, t * n:(t + 1) * n] = x
                pick = _subset(rng, chains, (t + 1) * n, n)
                x = np.take_along_axis(points[:, :(t + 1) * n], pick[..., None], 1)
            mean, cov = _moments(x)
        chol = np.linalg.cholesky(cov)
    return mean, chol


def kde_numpy(chains: int, generations: int, n: int = 100, dim: int = 1, bandwidth="scott", seed: int = 0):
    """The `kde` chain from N(0, I_d): generation 1's centres are N truth points, each later generation's N
    centres are drawn from the previous KDE (a centre uniformly, plus N(0, h² I) noise); h by Scott's rule,
    N^{−1/(d+4)} σ̂ with σ̂² the mean ddof-1 variance of the centres, or fixed. Returns the final model variance
    per dimension (ddof-0 variance of the centres plus h²)."""
    rng = np.random.default_rng(seed)

    def width(centres):
        if bandwidth == "scott":
            return n ** (-1.0 / (dim + 4)) * np.sqrt(centres.var(1, ddof=1).mean(1))
        return np.full(chains, float(bandwidth))

    centres = rng.standard_normal((chains, n, dim))
    h = width(centres)
    for _ in range(generations - 1):
        pick = rng.integers(0, n, (chains, n))
        centres = np.take_along_axis(centres, pick[..., None], 1) + h[:, None, None] * rng.standard_normal(
            (chains, n, dim))
        h = width(centres)
    return centres.var(1).mean(1) + h**2


def linreg_numpy(chains: int, generations: int, design_size: int = 50, dim: int = 10, noise: float = 1.0,
                 seed: int = 0):
    """The `linreg` chain (replace, OLS, w* = (1, …, 1)/√d): a design X (T, d) of standard normals per chain,
    then y = X ŵ + σ ε and ŵ ← (XᵀX)⁻¹ Xᵀ y each generation. Returns the final test error ‖ŵ − w*‖²."""
    rng = np.random.default_rng(seed)
    w_star = np.full(dim, 1.0 / math.sqrt(dim))
    x = rng.standard_normal((chains, design_size, dim))
    xt = np.swapaxes(x, 1, 2)
    gram = xt @ x
    w = np.broadcast_to(w_star, (chains, dim))
    for _ in range(generations):
        y = (x @ w[..., None])[..., 0] + noise * rng.standard_normal((chains, design_size))
        w = np.linalg.solve(gram, xt @ y[..., None])[..., 0]
    return ((w - w_star) ** 2).sum(1)
