"""Plain-numpy reference chains for the tests (numpy only; not imported by :mod:`simcollapse.testing`)."""

from __future__ import annotations

import numpy as np

__all__ = ["gaussian_chain_moments", "sample_moments"]


def sample_moments(x, ddof):
    """Mean and covariance (divisor k − ddof) of each chain's k points, ``x`` ``(chains, k, d)``."""
    centred = x - x.mean(1, keepdims=True)
    return x.mean(1), np.einsum("cki,ckj->cij", centred, centred) / (x.shape[1] - ddof)


def gaussian_chain_moments(step, dim, generations, chains):
    """tr Σ_t and ‖μ_t − μ_0‖² for t = 0..generations, ``(generations + 1, chains)`` each, of Gaussian chains
    started at the truth N(0, I_d); ``step(mean, chol)`` maps the model (μ_t, L_t), L_t L_tᵀ = Σ_t, of shapes
    ``(chains, d)`` and ``(chains, d, d)``, to the next (μ, Σ)."""
    mean, chol = np.zeros((chains, dim)), np.broadcast_to(np.eye(dim), (chains, dim, dim)).copy()
    trace, mse = [np.full(chains, float(dim))], [np.zeros(chains)]
    for _ in range(generations):
        mean, cov = step(mean, chol)
        chol = np.linalg.cholesky(cov)
        trace.append(np.trace(cov, axis1=1, axis2=2))
        mse.append((mean**2).sum(1))
    return np.stack(trace), np.stack(mse)
