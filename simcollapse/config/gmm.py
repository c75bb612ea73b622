"""Config of the Gaussian-mixture chain `gmm` (Nature 2024, SI §4.1); the chain is `simcollapse.families.gmm`,
its EM `simcollapse.families.em`. Validated here, without importing JAX."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from . import ConfigError, RealData, RunConfig, SampleSizes, check_int, check_metrics, choice, integer, number

COVARIANCE_TYPES = ("full", "diag", "spherical")
INIT_METHODS = ("kmeans", "k-means++", "random", "random_from_data")
SAMPLERS = ("exact", "infinite")
FIT_FAMILIES = ("gmm", "gaussian")
POLICIES = ("replace", "accumulate", "accumulate_subsample", "fresh_real", "real_pool")
METRICS = ("weights", "means", "covs", "component_std", "mix_mean", "mix_cov", "trace", "mean_sq_error",
           "l2_to_truth", "l2_sq_to_truth", "l2_sq_to_first_fit", "loglik", "em_iterations")


@dataclasses.dataclass(frozen=True)
class GMMConfig(SampleSizes, RealData, RunConfig):
    """GMM-by-EM chain (Nature SI §4.1). Fields beyond the run fields:

    components: K of the truth.   dim: d.
    weights0, means0, covs0: the truth; None gives uniform weights, means 4·(k − (K−1)/2) on the first axis
        (a single N(0, I) for K = 1) and identity covariances; covs0 may be one d×d matrix for all components.
    fit_components: K′ fitted by EM each generation.   n_samples: N, an integer or a schedule.
    fit_family: gmm | gaussian (gmm: K′ components by EM; gaussian: one Gaussian in closed form, fit_components=1).   ddof: 0 | 1, the Gaussian
    fit's covariance divisor N − ddof (fit_family gaussian only).
    covariance_type: full | diag | spherical.   em_iters: EM max_iter.   tol: EM tolerance on the change of the
    mean log-likelihood.   reg_covar: added to every covariance diagonal.   init: kmeans | k-means++ | random |
    random_from_data.   warm_start: start EM from the previous fit (see `simcollapse.families.gmm`).
    sampler: exact | infinite.   quadrature_points: P, Gauss–Hermite nodes per component for sampler
        "infinite" (min(⌊P^{1/d}⌋, 100) per axis; at least 2 per axis).
    policy: replace | accumulate | accumulate_subsample | fresh_real | real_pool (the training set of each
        generation, see `simcollapse.families.gmm`; all but replace need sampler exact).
    real_fraction: ρ for fresh_real / real_pool.   pool_size: P, the real points of real_pool.
    metrics: statistics recorded per generation.
    Defaults follow the paper's code: K = 1 blob in 2-D, K′ = 2, N = 1000, full, tol 1e-5, max_iter 2000.
    """

    family = "gmm"
    components: int = integer(1, 1)
    fit_components: int = integer(2, 1)
    fit_family: str = choice("gmm", FIT_FAMILIES)
    ddof: int = choice(0, (0, 1))
    dim: int = integer(2, 1)
    weights0: Any = None
    means0: Any = None
    covs0: Any = None
    n_samples: Any = 1000
    covariance_type: str = choice("full", COVARIANCE_TYPES)
    em_iters: int = integer(2000, 1)
    tol: float = number(1e-5, 0.0)
    reg_covar: float = number(1e-6, 0.0)
    init: str = choice("kmeans", INIT_METHODS)
    warm_start: bool = False
    sampler: str = choice("exact", SAMPLERS)
    quadrature_points: int = 2000
    policy: str = choice("replace", POLICIES)
    metrics: tuple = METRICS

    def truth(self):
        """(weights (K,), means (K, d), covs (K, d, d)) as float arrays."""
        k, d = self.components, self.dim
        weights = np.full(k, 1.0 / k) if self.weights0 is None else np.asarray(self.weights0, float)
        if self.means0 is None:
            means = np.zeros((k, d))
            means[:, 0] = 4.0 * (np.arange(k) - (k - 1) / 2)
        else:
            means = np.asarray(self.means0, float).reshape(k, d) if np.size(self.means0) == k * d else None
        if self.covs0 is None:
            covs = np.broadcast_to(np.eye(d), (k, d, d)).copy()
        else:
            covs = np.asarray(self.covs0, float)
            covs = np.broadcast_to(covs, (k, d, d)).copy() if covs.shape == (d, d) else covs
        return weights, means, covs

    def validate(self) -> None:
        k, d = self.components, self.dim
        if self.fit_family == "gaussian" and self.fit_components != 1:
            raise ConfigError("fit_components", f"fit_family 'gaussian' fits one component; set 1, got {self.fit_components}")
        if self.fit_family == "gmm" and self.ddof != 0:
            raise ConfigError("ddof", "applies to fit_family 'gaussian' only (EM's covariances are ddof 0)")
        check_int("quadrature_points", self.quadrature_points, 2**d)
        sizes = self.sizes()
        if sizes.min() < 1:
            raise ConfigError("n_samples", f"must be ≥ 1, got {sizes.min()}")
        if self.sampler == "exact" and sizes.min() < self.fit_components:
            raise ConfigError("fit_components", f"must be ≤ n_samples ({sizes.min()}), got {self.fit_components}")
        if self.sampler == "exact" and self.ddof >= sizes.min():
            raise ConfigError("ddof", f"must be < n_samples ({sizes.min()}), got {self.ddof}")
        if self.policy != "replace" and self.sampler != "exact":
            raise ConfigError("sampler", f"policy {self.policy!r} draws its points: needs sampler='exact'")
        self.check_real_pool(self.real_counts()[0])
        check_metrics(self, METRICS)
        try:
            weights, means, covs = self.truth()
        except (TypeError, ValueError):
            raise ConfigError("means0", "weights0, means0 and covs0 must be numeric arrays") from None
        if weights.shape != (k,) or not np.all(np.isfinite(weights)) or np.any(weights < 0) \
                or not np.isclose(weights.sum(), 1.0):
            raise ConfigError("weights0", f"must be {k} non-negative numbers summing to 1, got {self.weights0!r}")
        if means is None or not np.all(np.isfinite(means)):
            raise ConfigError("means0", f"must be a finite components×dim = {k}×{d} array, got {self.means0!r}")
        if covs.shape != (k, d, d) or not np.all(np.isfinite(covs)):
            raise ConfigError("covs0", f"must be a {d}×{d} matrix or {k} of them, got {self.covs0!r}")
        if not np.allclose(covs, np.swapaxes(covs, 1, 2)) or np.any(np.linalg.eigvalsh(covs) <= 0):
            raise ConfigError("covs0", "every covariance must be symmetric positive definite")
