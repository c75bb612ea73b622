"""Closed forms for the GMM-by-EM chain (docs/theory.md §M).

After any M-step whose responsibilities sum to 1 (whatever K′, the initialisation or EM's convergence),
Σ_k w_k μ_k = x̄ and Σ_k w_k(Σ_k + μ_kμ_kᵀ) = (1/N)Σ x xᵀ + reg·I, so the fitted mixture's mean is the sample mean
and its covariance is the ddof-0 sample covariance plus reg·I ("diag" keeps the diagonal of that identity and
"spherical" its trace, so the trace results below hold for every covariance type). Hence, with N_t points drawn
from mixture t (mean m_t, covariance C_t):

* E m_{t+1} = m_t: the mixture mean is a martingale, E m_n = m_0;
* E C_{t+1} = (1 − 1/N_t) C_t + reg·I, so E tr C_n = Π_{t<n}(1 − 1/N_t) tr C_0 + d·reg·Σ_{t<n} Π_{t<s<n}(1 − 1/N_s)
  (constant N: (1 − 1/N)^n tr C_0 + d·reg·Σ_{t<n}(1 − 1/N)^t);
* m_{t+1} is the mean of N_t draws from mixture t, so E‖m_n − m_0‖² = Σ_{t<n} E tr C_t / N_t (for the ddof-0 fits this
  is tr C_0 + n·d·reg − E tr C_n: E[m mᵀ + C] grows by reg·I per generation; not for the ddof-1 Gaussian fit).

The ``fit_family="gaussian"`` fit with ``ddof`` δ has covariance S/(N − δ) + reg·I, so the factor (1 − 1/N_t)
becomes (N_t − 1)/(N_t − δ) (1 for the unbiased fit).

These hold in expectation only, not in law. Sampler "infinite" (a moment-exact quadrature) gives
C_n = C_0 + n·reg·I and m_n = m_0 exactly.

:func:`suresh_tail_bound`: the tail bound of Suresh et al. (2024, Thm 4) on the component standard deviation of
the symmetric two-component chain.
"""

from __future__ import annotations

import numpy as np

from . import gaussian
from .fields import IRRELEVANT, RUN_FIELDS, USED, declared

# The M-step identity holds after any M-step, so nothing about how EM gets there (K′, covariance type, start,
# iterations, tolerance) enters the curves; fit_family only matters through ddof, which EM fixes at 0.
FIELDS = {
    **RUN_FIELDS,
    "components": USED, "dim": USED, "weights0": USED, "means0": USED, "covs0": USED, "n_samples": USED,
    "ddof": USED, "reg_covar": USED, "sampler": USED,
    "fit_components": IRRELEVANT, "fit_family": IRRELEVANT, "covariance_type": IRRELEVANT, "em_iters": IRRELEVANT,
    "tol": IRRELEVANT, "init": IRRELEVANT, "warm_start": IRRELEVANT,
    "quadrature_points": IRRELEVANT,  # ≥ 2 nodes per axis (validated): exact for the second moments
    "policy": USED, "real_fraction": USED, "pool_size": USED,
}
# the Gaussian chain's recursions for E tr C_t and E‖m_t − m_0‖² under each policy (docs/theory.md §M.1)
POLICY_CURVES = {
    "accumulate": lambda c, sizes, n_real, tr0: gaussian.accumulate(sizes, c.ddof, tr0),
    "fresh_real": lambda c, sizes, n_real, tr0: gaussian.fresh_real(sizes, n_real, c.ddof, tr0),
    "real_pool": lambda c, sizes, n_real, tr0: gaussian.real_pool(sizes, n_real, c.ddof, c.pool_size, tr0),
}


def expected_trace(sizes, trace0: float, dim: int, reg: float, ddof: int = 0) -> np.ndarray:
    """E tr C_n for n = 0 … len(sizes): the recursion E tr C_{t+1} = (N_t − 1)/(N_t − δ) E tr C_t + d·reg."""
    out = [float(trace0)]
    for n in np.asarray(sizes, float):
        out.append((n - 1.0) / (n - ddof) * out[-1] + dim * reg)
    return np.asarray(out)


@declared(FIELDS)
def for_config(config) -> dict[str, np.ndarray]:
    """``E_trace``, ``E_mix_mean`` ((n+1, d)) and ``E_mean_sq_error`` for a :class:`GMMConfig`.

    The fitted mixture has its training set's weighted mean and covariance (+ reg·I) whatever EM does (docs/theory.md
    §M.1), so E m_t = m_0 under every policy, and the second moments follow the Gaussian chain's recursions, which
    read only the first two moments of the law sampled: replace's with reg·I added each generation; accumulate's,
    fresh_real's and real_pool's with tr C_0 for σ_0² where reg_covar = 0 (their recursions have no reg term);
    none under accumulate_subsample.
    """
    from ..config import schedule

    g, d, reg = config.generations, config.dim, config.reg_covar
    weights, means, covs = config.truth()
    m0 = weights @ means
    c0 = np.einsum("k,kij->ij", weights, covs) + np.einsum("k,ki,kj->ij", weights, means, means) - np.outer(m0, m0)
    tr0 = float(np.trace(c0))
    steps = np.arange(g + 1)
    mix_mean = {"E_mix_mean": np.broadcast_to(m0, (g + 1, d)).copy()}
    if config.policy != "replace":  # sampler exact (validated)
        if config.policy not in POLICY_CURVES or reg != 0:
            return mix_mean
        sizes = config.sizes()
        e_trace, mse = POLICY_CURVES[config.policy](config, sizes, config.real_counts()[0], tr0)
        return {"E_trace": e_trace, **mix_mean, "E_mean_sq_error": mse}
    if config.sampler == "infinite":
        e_trace, mse = tr0 + d * reg * steps, np.zeros(g + 1)
    else:
        sizes = schedule(config.n_samples, g)
        e_trace = expected_trace(sizes, tr0, d, reg, config.ddof)
        mse = np.concatenate([[0.0], np.cumsum(e_trace[:-1] / sizes)])
    return {"E_trace": e_trace, **mix_mean, "E_mean_sq_error": mse}


def suresh_tail_bound(n_samples, generations, eps, std0=1.0):
    """Suresh et al. Thm 4 (bound): P(σ_k > ε) ≤ (σ0/ε) exp(−k/(4n)) for k = 0 … generations, capped at 1.

    σ_k is the common component standard deviation of the k-th fit of ½N(μ, σ²) + ½N(−μ, σ²) by approximate joint
    maximum likelihood of (μ, σ) on n samples per generation; σ0 that of the truth. Source: Suresh, Ananda
    Theertha et al. 2024, "Rate of model collapse in recursive training", Theorem 4.
    """
    k = np.arange(generations + 1)
    return np.minimum(1.0, std0 / eps * np.exp(-k / (4.0 * n_samples)))
