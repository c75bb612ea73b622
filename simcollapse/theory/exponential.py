"""Closed forms of the exponential chain (docs/theory.md §X).

λ_{t+1} = λ_t M_t / G_t with G_t ~ Gamma(M_t, 1) independent of the past (the MLE on M_t points of Exp(λ_t)), so

* E log λ_t = log λ_0 + Σ_{s<t} (log M_s − ψ(M_s))            (§X.1: the log-rate drifts up)
* Var log λ_t = Σ_{s<t} ψ'(M_s)                                (§X.1)
* E λ_t = λ_0 Π_{s<t} M_s/(M_s − 1)  for every M_s ≥ 2         (§X.2: E 1/G = 1/(M − 1))
* E θ_t = θ_0 = 1/λ_0 under ``replace`` and ``accumulate``     (§X.3: the mean is a martingale)

With the ``infinite`` sampler the chain stays at λ_0.
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, polygamma

from .fields import RUN_FIELDS, USED, Needs, declared

FIELDS = {**RUN_FIELDS, "rate0": USED, "n_samples": USED, "sampler": USED,
          "policy": Needs(("replace",), keep=("E_mean",), exempt=lambda c: c.sampler == "infinite")}


def _cumulative(per_step) -> np.ndarray:
    return np.concatenate([[0.0], np.cumsum(per_step)])


def expected_log_rate(sizes, rate0: float) -> np.ndarray:
    """E log λ_t, t = 0 … len(sizes) (§X.1)."""
    m = np.asarray(sizes, float)
    return np.log(rate0) + _cumulative(np.log(m) - digamma(m))


def var_log_rate(sizes) -> np.ndarray:
    """Var log λ_t, t = 0 … len(sizes) (§X.1)."""
    return _cumulative(polygamma(1, np.asarray(sizes, float)))


def expected_rate(sizes, rate0: float) -> np.ndarray:
    """E λ_t = λ_0 Π_{s<t} M_s/(M_s − 1), t = 0 … len(sizes); needs every M_s ≥ 2 (§X.2)."""
    m = np.asarray(sizes, float)
    return rate0 * np.exp(_cumulative(np.log(m) - np.log(m - 1)))


@declared(FIELDS)
def for_config(config) -> dict[str, np.ndarray]:
    """``E_mean`` always; ``E_log_rate`` and ``E_rate`` (every M_t ≥ 2) under ``replace``."""
    g = config.generations
    ones = np.ones(g + 1)
    if config.sampler == "infinite":
        return {"E_rate": config.rate0 * ones, "E_log_rate": np.log(config.rate0) * ones,
                "E_mean": ones / config.rate0}
    sizes = config.sizes()
    out = {"E_mean": ones / config.rate0, "E_log_rate": expected_log_rate(sizes, config.rate0)}
    if sizes.min() >= 2:
        out["E_rate"] = expected_rate(sizes, config.rate0)
    return out
