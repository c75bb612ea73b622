"""Verifier filtering of a Gaussian model's samples (docs/theory.md §V.1–§V.3; Feng et al., arXiv 2406.07515,
§3; Yi et al., arXiv 2510.16657).

A verifier of width a keeps a synthetic point x of model N(μ_t, Σ_t) when its Mahalanobis radius
‖L_t⁻¹(x − μ_t)‖ is at most a (in one dimension |x − μ_t| ≤ aσ_t), and points are drawn until M_t pass, so the
kept set is an i.i.d. sample of the truncated law. A noisy verifier also passes a point outside the window with
probability ε (its false-accept rate); a false-reject rate β inside the window changes only the number of draws,
not the kept law (the kept density is ∝ φ(z)[(1 − β)1{‖z‖ ≤ a} + ε 1{‖z‖ > a}], so only ε/(1 − β) enters; the
configs take β = 0).

In standardised coordinates the kept law is spherically symmetric, with mean 0 and covariance τ I (§V.1):

    τ_d(a, ε) = [F_{d+2}(a²) + ε(1 − F_{d+2}(a²))] / [F_d(a²) + ε(1 − F_d(a²))],

F_k the χ²_k distribution function (E[‖z‖² 1{‖z‖² ≤ c}] = d F_{d+2}(c) for z ~ N(0, I_d)). For d = 1 and ε = 0,
F_1(a²) = 2Φ(a) − 1 and F_3(a²) = 2Φ(a) − 1 − 2aφ(a), the issue's τ(a) = 1 − 2aφ(a)/(2Φ(a) − 1).

The fit is affine-equivariant, so (§V.2), with c_t = (M_t − 1)/(M_t − δ),

    E[Σ_{t+1} | model t] = τ c_t Σ_t,   E[(μ_{t+1} − μ_t)(…)ᵀ | model t] = τ Σ_t/M_t,

hence E tr Σ_n = tr Σ_0 Π_{t<n} τ c_t and E‖μ_n − μ_0‖² = Σ_{t<n} τ E tr Σ_t/M_t; the infinite sampler fits the
truncated population (δ = 0, c = 1): Σ_n = τⁿ Σ_0 exactly and μ_n = μ_0. The kept sample's mean and scatter are
not independent Gaussian/Wishart (the truncated law is not Gaussian), so there is no `sufficient` draw: the
chains draw the M_t kept points themselves (§V.3).
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammainc


def _chi2_cdf(x, dof):
    """F_dof(x) = P(dof/2, x/2), the regularised lower incomplete gamma (scipy.stats' own definition of
    chi2.cdf; scipy.special imports in a fraction of scipy.stats' time)."""
    return gammainc(dof / 2.0, x / 2.0)


def variance_factor(width, dim=1, false_accept=0.0):
    """τ_d(a, ε): the kept law's variance per axis in standardised units (1 for a = ∞)."""
    if np.isinf(width):
        return 1.0
    c = float(width) ** 2
    inner, inner_next = _chi2_cdf(c, dim), _chi2_cdf(c, dim + 2)
    eps = float(false_accept)
    return (inner_next + eps * (1.0 - inner_next)) / (inner + eps * (1.0 - inner))


def acceptance_rate(width, dim=1, false_accept=0.0):
    """P(a draw of the model passes): F_d(a²) + ε(1 − F_d(a²)); the expected number of draws per kept point is
    its inverse."""
    inner = _chi2_cdf(float(width) ** 2, dim)
    return inner + float(false_accept) * (1.0 - inner)


def _sizes(sizes):
    return np.asarray(sizes, dtype=float)


def expected_trace(sizes, ddof, width, trace0=1.0, dim=1, false_accept=0.0):
    """E tr Σ_n = tr Σ_0 Π_{t<n} τ (M_t − 1)/(M_t − δ), n = 0 … len(sizes) (E σ_n² in one dimension)."""
    m = _sizes(sizes)
    tau = variance_factor(width, dim, false_accept)
    return trace0 * np.concatenate([[1.0], np.cumprod(tau * (m - 1.0) / (m - ddof))])


def expected_mean_sq_error(sizes, ddof, width, trace0=1.0, dim=1, false_accept=0.0):
    """E‖μ_n − μ_0‖² = Σ_{t<n} τ E tr Σ_t/M_t."""
    m = _sizes(sizes)
    tau = variance_factor(width, dim, false_accept)
    trace = expected_trace(sizes, ddof, width, trace0, dim, false_accept)
    return np.concatenate([[0.0], np.cumsum(tau * trace[:-1] / m)])


def infinite_trace(generations, width, trace0=1.0, dim=1, false_accept=0.0):
    """The population fit: tr Σ_n = τⁿ tr Σ_0 exactly."""
    return trace0 * variance_factor(width, dim, false_accept) ** np.arange(generations + 1, dtype=float)
