"""Configs of the Gaussian chains, `gaussian` (1-D) and `mvgaussian` (d dims); the chain is
`simcollapse.families.gaussian`. Validated here, without importing JAX."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ..policies import real_counts
from . import (
    ConfigError,
    Ecosystem,
    RealData,
    RunConfig,
    SampleSizes,
    check_metrics,
    check_number,
    choice,
    integer,
    number,
)

SAMPLERS = ("exact", "sufficient", "infinite", "plain_points")
FITTERS = ("exact", "sgd")
POLICIES = ("replace", "accumulate", "accumulate_subsample", "fresh_real", "real_pool", "weighted_real")
MAX_POOL_BYTES = 4 * 2**30

METRICS_1D = ("mean", "var", "logvar", "std", "w2sq", "kl", "log_kl", "mean_sq_error", "second_moment", "frozen")
METRICS_ND = ("mean", "cov", "logdet", "trace", "det_ratio", "w2sq", "kl", "log_kl", "mean_sq_error", "rank")
ECOSYSTEM_METRICS = ("trace_models", "mean_sq_error_models", "trace_mixture", "between_model_mean_sq_dist")


@dataclasses.dataclass(frozen=True)
class _GaussianChainConfig(SampleSizes, RealData, Ecosystem, RunConfig):
    """Fields shared by both Gaussian families (documented on `GaussianConfig`)."""

    n_samples: Any = 100
    ddof: int = choice(0, (0, 1))
    sampler: str = choice("sufficient", SAMPLERS)
    policy: str = choice("replace", POLICIES)
    mean0: Any = 0.0
    fitter: str = choice("exact", FITTERS)
    sgd_steps: int = integer(10, 1)
    lr: float = number(0.1, 0.0, low_open=True)
    real_weight: float = number(0.5, 0.0, 1.0)
    synthetic_samples: int = integer(100, 1)
    verifier_width: float | None = number(None, 0.0, low_open=True, optional=True)
    false_accept: float = number(0.0, 0.0, 1.0)
    ECOSYSTEM_METRICS = ECOSYSTEM_METRICS

    def counts(self) -> tuple[np.ndarray, np.ndarray]:
        """(real, synthetic) points per generation: n_samples real and synthetic_samples synthetic ones under
        weighted_real, else the split n_r = ⌊ρM_t + ½⌋ of M_t (``policies.real_counts``)."""
        sizes = self.sizes()
        if self.policy == "weighted_real":
            return sizes, np.full_like(sizes, self.synthetic_samples)
        return real_counts(self.policy, self.real_fraction, sizes)


@dataclasses.dataclass(frozen=True)
class GaussianConfig(_GaussianChainConfig):
    """1-D Gaussian chain (Nature Thm 3.1). Fields beyond the run fields:

    n_samples: M_t, an integer or a schedule (see `simcollapse.config.schedule`).
    ddof: 0 (MLE, the official code) or 1 (unbiased, the theorem).
    sampler: exact | sufficient | infinite | plain_points (the official code's arithmetic: the points
    x = μ + σz in plain float64 and the fit on them, so σ freezes at 0 once σz no longer changes μ in
    rounding; replace and the exact fitter only).   policy: replace | accumulate | accumulate_subsample |
    fresh_real | real_pool | weighted_real.   real_fraction: ρ for fresh_real / real_pool.   pool_size: P for
    real_pool.   real_weight: w for weighted_real, the weight of the n_samples fresh real points' fit against the
    fit to synthetic_samples points of the model (μ = w x̄_r + (1 − w) x̄_s, likewise the covariance).
    synthetic_samples: m for weighted_real.
    verifier_width: None (no verifier) or a: keep only the synthetic points x within Mahalanobis radius a of the
    model, ‖L_t⁻¹(x − μ_t)‖ ≤ a (|x − μ_t| ≤ aσ_t in 1-D), drawing until as many pass as the policy asks for; needs
    sampler exact or infinite.   false_accept: ε, the chance that the verifier passes a point outside the window.
    models: m ≥ 1 models evolving together (an ecosystem, docs/theory.md §I.2): model i is fitted to M_t points of
    the mixture Σ_j W_ij N(μ_j, Σ_j), W = s I + (1 − s)/(m − 1)(J − I); needs policy replace, sampler exact, fitter
    exact; its metrics are trace_models, mean_sq_error_models (means over models), trace_mixture (the uniform
    mixture's covariance trace) and between_model_mean_sq_dist (‖μ_i − μ_j‖², mean over pairs), the default then.
    own_share: s ∈ [0, 1], the weight of a model's own samples.
    fitter: exact | sgd (gradient steps from the previous model; needs ddof 0).   sgd_steps, lr: its steps and
    learning rate.
    mean0, var0: the truth N(mean0, var0).   metrics: statistics recorded per generation.
    """

    family = "gaussian"
    var0: float = number(1.0, 0.0, low_open=True)
    metrics: tuple = ("mean", "var", "logvar", "w2sq", "kl")

    @property
    def dim(self) -> int:
        return 1

    def covariance0(self) -> np.ndarray:
        return np.array([[self.var0]])

    def validate(self) -> None:
        check_number("mean0", self.mean0)
        _validate_common(self, METRICS_1D)


@dataclasses.dataclass(frozen=True)
class MvGaussianConfig(_GaussianChainConfig):
    """d-dimensional Gaussian chain (Wishart chain, docs/theory.md §W.1). As `gaussian`, with
    dim: d.   mean0: a number or d numbers.   cov0: None (identity), a number (times I) or a d×d SPD matrix."""

    family = "mvgaussian"
    dim: int = integer(2, 1)
    cov0: Any = None
    metrics: tuple = ("mean", "cov", "logdet", "trace", "w2sq", "kl", "mean_sq_error")

    @property
    def singular(self) -> bool:
        """Some generation has M_t ≤ d points: its fitted covariance has rank M_t − 1 < d (docs/theory.md §W.2)."""
        return bool(self.sizes().min() <= self.dim)

    def covariance0(self) -> np.ndarray:
        if self.cov0 is None:
            return np.eye(self.dim)
        cov = np.asarray(self.cov0, dtype=float)
        return cov * np.eye(self.dim) if cov.ndim == 0 else cov

    def validate(self) -> None:
        mean0 = np.asarray(self.mean0, dtype=object)
        if mean0.ndim == 0:
            check_number("mean0", self.mean0)
        elif mean0.shape != (self.dim,):
            raise ConfigError("mean0", f"must be a number or a list of dim={self.dim} numbers, got {self.mean0!r}")
        else:
            for v in self.mean0:
                check_number("mean0", v)
        try:
            cov = np.asarray(self.covariance0(), dtype=float)
        except (TypeError, ValueError):
            raise ConfigError("cov0", f"must be a number or a {self.dim}×{self.dim} matrix, got {self.cov0!r}") from None
        if cov.shape != (self.dim, self.dim) or not np.all(np.isfinite(cov)):
            raise ConfigError("cov0", f"must be a number or a finite {self.dim}×{self.dim} matrix, got {self.cov0!r}")
        if not np.allclose(cov, cov.T) or np.any(np.linalg.eigvalsh(cov) <= 0):
            raise ConfigError("cov0", "must be symmetric positive definite")
        _validate_common(self, METRICS_ND)


def _validate_common(c, known_metrics) -> None:
    if c.sampler == "plain_points" and (c.family != "gaussian" or c.policy != "replace" or c.fitter != "exact"):
        raise ConfigError("sampler", "'plain_points' reproduces the official 1-D code: family gaussian, policy "
                                     "replace and fitter exact")
    if c.sampler == "plain_points" and np.any(c.sizes() != c.sizes()[0]):
        raise ConfigError("n_samples", "sampler 'plain_points' needs a constant n_samples (NumPy's summation order "
                                       "is that of a fixed size)")
    if c.fitter == "sgd" and c.ddof != 0:
        raise ConfigError("ddof", "fitter 'sgd' maximises the likelihood, whose maximiser is the ddof-0 fit; use ddof=0")
    if c.verifier_width is not None and c.sampler == "sufficient":
        raise ConfigError("sampler", "a verifier keeps a truncated sample, whose mean and scatter have no "
                              "sufficient draw; use sampler='exact' (or 'infinite')")
    if c.false_accept > 0 and c.verifier_width is None:
        raise ConfigError("false_accept", "is the verifier's false-accept rate; set verifier_width too")
    if c.models > 1:
        for name, value, needed in (("policy", c.policy, "replace"), ("sampler", c.sampler, "exact"),
                                    ("fitter", c.fitter, "exact"), ("verifier_width", c.verifier_width, None)):
            if value != needed:
                raise ConfigError(name, f"an ecosystem (models > 1) draws its mixtures' points: needs {name}={needed!r}")
        known_metrics = ECOSYSTEM_METRICS
    check_metrics(c, known_metrics)
    sizes = c.sizes()
    d = c.dim
    need = d + 1
    bound = f"dim+1 = {need}" if c.family == "mvgaussian" else str(need)  # the 1-D family has no dim key
    if c.family == "mvgaussian" and c.singular:
        # M ≤ d: singular covariances (families._singular), in the setting the peers' sweeps run them
        if sizes.min() < 2:
            raise ConfigError("n_samples", f"must be ≥ 2 (from 2 to dim = {d} it fits a singular covariance), got "
                                           f"{sizes.min()}")
        for name, value, needed in (("policy", c.policy, "replace"), ("sampler", c.sampler, "exact"),
                                    ("fitter", c.fitter, "exact"), ("verifier_width", c.verifier_width, None),
                                    ("models", c.models, 1)):
            if value != needed:
                raise ConfigError(name, f"n_samples ≤ dim fits a singular covariance from the points: needs "
                                        f"{name}={needed!r}")
        if np.any(sizes != sizes[0]):
            raise ConfigError("n_samples", "n_samples ≤ dim needs a constant n_samples")
    elif c.policy in ("replace", "accumulate", "accumulate_subsample") and sizes.min() < need:
        raise ConfigError("n_samples", f"must be ≥ {bound} so each fit is non-degenerate, got {sizes.min()}")
    if c.policy in ("fresh_real", "real_pool"):
        real, synth = real_counts(c.policy, c.real_fraction, sizes)
        if sizes.min() < need:
            raise ConfigError("n_samples", f"must be ≥ {bound}, got {sizes.min()}")
        if c.sampler == "sufficient" and (np.any((real > 0) & (real < need)) or np.any((synth > 0) & (synth < need))):
            raise ConfigError(
                "real_fraction",
                f"gives a real or synthetic group smaller than {bound} samples; "
                f"the sufficient sampler needs each non-empty group ≥ {bound} (use sampler='exact')",
            )
        c.check_real_pool(real)
    if c.policy == "weighted_real":
        if c.fitter != "exact":
            raise ConfigError("fitter", "policy 'weighted_real' averages two closed-form fits; use fitter='exact'")
        if sizes.min() < need:
            raise ConfigError("n_samples", f"must be ≥ {bound} so the real group's fit is non-degenerate, got {sizes.min()}")
        if c.synthetic_samples < need:
            raise ConfigError("synthetic_samples",
                              f"must be ≥ {bound} so the synthetic group's fit is non-degenerate, got {c.synthetic_samples}")
    if c.policy == "accumulate_subsample":
        if c.sampler != "exact":
            raise ConfigError("sampler", "policy 'accumulate_subsample' stores the pool and needs sampler='exact'")
        if np.any(sizes != sizes[0]):
            raise ConfigError("n_samples", "policy 'accumulate_subsample' needs a constant n_samples")
        size = c.chains * int(sizes[0]) * c.generations * d * 8
        if size > MAX_POOL_BYTES:
            raise ConfigError(
                "chains",
                f"accumulate_subsample stores every sample: {size / 2**30:.1f} GiB for this run "
                f"(> {MAX_POOL_BYTES // 2**30} GiB); lower chains, generations or n_samples",
            )
    if c.ddof == 1 and sizes.min() < 2:
        raise ConfigError("n_samples", "ddof=1 needs n_samples ≥ 2")
