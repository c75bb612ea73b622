"""Theory curves for the count chains, ``poisson`` and ``bernoulli`` (docs/theory.md §N), keyed ``E_<metric>``,
shape (generations+1,), entry 0 the truth:

* Poisson: E Λ_k = λ_0 (``E_rate``), P(Λ_k ≠ 0) = 1 − e^{−n λ_0 g_k} (``E_alive``; Suresh et al. 2024, Thm 2) and
  Var Λ_k = λ_0 Σ_{t<k} 1/n_t (``Var_rate``) under ``replace``;
* Bernoulli, the two-type chain: E p = p_0, and under ``replace`` E 2p(1−p) = 2p_0q_0 Π(1 − 1/N_t) and P(lost /
  fixed by n) from the exact chain (constant N ≤ 3000).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from . import categorical as cat
from . import markov
from .categorical_config import MAX_DENSE_N
from .fields import RUN_FIELDS, USED, declared

__all__ = ["for_config"]

FIELDS = {**RUN_FIELDS, "rate0": USED, "p0": USED, "n_samples": USED, "sampler": USED, "policy": USED}


@declared(FIELDS)
def for_config(config) -> dict[str, np.ndarray]:
    """Every closed-form curve for a poisson or bernoulli `config`."""
    return _poisson(config) if config.family == "poisson" else _bernoulli(config)


def _poisson(config) -> dict[str, np.ndarray]:
    G, lam0 = config.generations, float(config.rate0)
    ones = np.ones(G + 1)
    out = {"E_rate": lam0 * ones}
    sizes = config.sizes()
    if config.sampler == "infinite":
        out["E_alive"] = float(lam0 > 0) * ones
        return out
    if config.policy == "replace":
        k = np.arange(G + 1)
        if np.all(sizes == sizes[0]):
            n = int(sizes[0])
            out["E_alive"] = cat.poisson_chain_survival(lam0, n, k) if lam0 > 0 else 0 * ones
        # Var Λ_{t+1} = Var Λ_t + E Λ_t / n_t (law of total variance with Poisson(n Λ)/n)
        out["Var_rate"] = lam0 * np.concatenate([[0.0], np.cumsum(1.0 / sizes)])
    return out


def _bernoulli(config) -> dict[str, np.ndarray]:
    G, p = config.generations, float(config.p0)
    ones = np.ones(G + 1)
    sizes = config.sizes()
    out = {"E_p": p * ones}
    if config.sampler == "infinite":
        out["E_het"] = 2 * p * (1 - p) * ones
        out["E_lost"] = float(p == 0) * ones
        out["E_fixed"] = float(p == 1) * ones
        return out
    if config.policy != "replace":
        return out
    out["E_het"] = 2 * p * (1 - p) * np.concatenate([[1.0], np.cumprod(1.0 - 1.0 / sizes)])
    if np.all(sizes == sizes[0]) and sizes[0] <= MAX_DENSE_N:
        N = int(sizes[0])
        P = markov.transition_matrix(N)
        first = stats.binom.pmf(np.arange(N + 1), N, p)
        dist = markov.count_distributions(P, first, G - 1)  # generations 1..G
        out["E_lost"] = np.concatenate([[float(p == 0)], dist[:, 0]])
        out["E_fixed"] = np.concatenate([[float(p == 1)], dist[:, N]])
    return out
