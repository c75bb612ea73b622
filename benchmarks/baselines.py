"""Baselines a user would write by hand, each returning its final state so nothing is optimised away.

* ``gaussian_loop``: one chain at a time in Python, as the paper's Gaussian notebook (numpy draws, np.mean, np.std);
* ``gaussian_numpy``: all chains at once in numpy (``default_rng``, float64), drawing the M points;
* ``gaussian_numpy_sufficient``: all chains at once, drawing x̄ and σ̂² in closed form (χ² via ``standard_gamma``);
* ``gmm_sklearn``: scikit-learn ``GaussianMixture`` refitted on its own samples each generation, one chain;
* ``categorical_numpy``: a ``multinomial`` loop for a categorical (Zipf) chain.

Only numpy and scikit-learn: importing this module costs no JAX import (the CLI rows run these in a subprocess).
The other families' numpy chains are in ``numpy_chains``.
"""

from __future__ import annotations

import numpy as np


def gaussian_loop(n_samples: int, chains: int, generations: int, seed: int = 0):
    """Per-chain Python loop: refit N(μ, σ²) with ddof 0 on M fresh points every generation."""
    rng = np.random.default_rng(seed)
    final = np.empty((chains, 2))
    for c in range(chains):
        mu, sigma = 0.0, 1.0
        for _ in range(generations):
            x = rng.normal(mu, sigma, n_samples)
            mu = np.mean(x)
            sigma = np.std(x)
        final[c] = mu, sigma
    return final


def gaussian_numpy(n_samples: int, chains: int, generations: int, seed: int = 0):
    """Hand-vectorised over chains: a (chains, M) block of normals per generation."""
    rng = np.random.default_rng(seed)
    mu = np.zeros(chains)
    sigma = np.ones(chains)
    for _ in range(generations):
        x = mu[:, None] + sigma[:, None] * rng.standard_normal((chains, n_samples))
        mu = x.mean(axis=1)
        sigma = x.std(axis=1)
    return mu, sigma


def gaussian_numpy_sufficient(n_samples: int, chains: int, generations: int, seed: int = 0):
    """Hand-vectorised, sufficient statistics: x̄ = μ + σ z/√M, M σ̂²/σ² ~ χ²_{M−1} = 2·Gamma((M−1)/2)."""
    rng = np.random.default_rng(seed)
    mu = np.zeros(chains)
    sigma = np.ones(chains)
    shape = (n_samples - 1) / 2
    for _ in range(generations):
        z = rng.standard_normal(chains)
        chi2 = 2.0 * rng.standard_gamma(shape, chains)
        mu = mu + sigma * z / np.sqrt(n_samples)
        sigma = sigma * np.sqrt(chi2 / n_samples)
    return mu, sigma


def gmm_sklearn(generations: int, n_samples: int = 1000, dim: int = 2, components: int = 2, seed: int = 0):
    """One chain: fit GaussianMixture (full, tol 1e-5, max_iter 2000) and sample the next data from it.

    Returns the final means and the EM iterations of each fit.
    """
    from sklearn.mixture import GaussianMixture

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_samples, dim))
    iterations = []
    model = None
    for g in range(generations):
        model = GaussianMixture(components, covariance_type="full", tol=1e-5, max_iter=2000, random_state=seed + g)
        model.fit(x)
        iterations.append(model.n_iter_)
        x, _ = model.sample(n_samples)
    return model.means_, np.asarray(iterations)


def zipf(num_types: int, beta: float):
    p = np.arange(1, num_types + 1, dtype=float) ** -beta
    return p / p.sum()


def categorical_numpy(num_types: int, n_samples: int, chains: int, generations: int, beta: float = 1.0,
                      seed: int = 0):
    """Each chain: counts ~ Multinomial(N, p_t), p_{t+1} = counts / N (maximum likelihood, no smoothing)."""
    rng = np.random.default_rng(seed)
    p0 = zipf(num_types, beta)
    surviving = np.empty(chains, dtype=int)
    for c in range(chains):
        p = p0
        for _ in range(generations):
            p = rng.multinomial(n_samples, p) / n_samples
        surviving[c] = np.count_nonzero(p)
    return surviving
