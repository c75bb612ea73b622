"""Config of the linear-regression chain `linreg` (Dohmatob, Feng & Kempe 2024; Gerstgrasser et al. 2024 §3);
the chain is `simcollapse.families.linreg`. Validated here, without importing JAX."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from . import ConfigError, RunConfig, check_int, check_metrics, check_number, choice

POLICIES = ("replace", "accumulate")
SAMPLERS = ("exact", "infinite")
FITTERS = ("exact", "sgd")
METRICS = ("w", "test_error", "trace_inv_gram")


@dataclasses.dataclass(frozen=True)
class LinRegConfig(RunConfig):
    """Linear-regression chain. Fields beyond the run fields:

    design_size: T rows of the fixed design (T > d′ + 1 for OLS, so E tr((X₁ᵀX₁)⁻¹) = d′/(T−d′−1) is finite).
    dim: d.   noise: σ of the label noise.   policy: replace | accumulate.   ridge: λ ≥ 0 (0 = OLS).
    w_star: the truth; None gives (1, …, 1)/√d, a number gives that value in every coordinate.
    sampler: exact | infinite (labels without noise: no statistical error).
    fit_dim: d′, the features the model uses (the first d′; None = all d).
    fitter: exact | sgd.   sgd_steps, lr: the gradient steps and their learning rate η (fitter sgd).
    warm_start: start the steps from the previous fit instead of 0 (fitter sgd).
    metrics: statistics recorded per generation.
    """

    family = "linreg"
    design_size: int = 50
    dim: int = 10
    noise: float = 1.0
    policy: str = choice("replace", POLICIES)
    ridge: float = 0.0
    w_star: Any = None
    sampler: str = choice("exact", SAMPLERS)
    fit_dim: Any = None
    fitter: str = choice("exact", FITTERS)
    sgd_steps: int = 20
    lr: float = 0.2
    warm_start: bool = False
    metrics: tuple = METRICS

    @property
    def fitted_dim(self) -> int:
        """d′: the number of features the model uses."""
        return self.dim if self.fit_dim is None else self.fit_dim

    def truth(self) -> np.ndarray:
        if self.w_star is None:
            return np.full(self.dim, 1.0 / np.sqrt(self.dim))
        return np.broadcast_to(np.asarray(self.w_star, float), (self.dim,)).copy()

    def validate(self) -> None:
        d = check_int("dim", self.dim, 1)
        check_number("noise", self.noise, low=0)
        ridge = check_number("ridge", self.ridge, low=0)
        if self.fit_dim is not None:
            check_int("fit_dim", self.fit_dim, 1)
            if self.fit_dim > d:
                raise ConfigError("fit_dim", f"must be ≤ dim = {d}, got {self.fit_dim}")
        fitted = self.fitted_dim
        check_int("sgd_steps", self.sgd_steps, 1)
        check_number("lr", self.lr, low=0, low_open=True)
        if not isinstance(self.warm_start, bool):
            raise ConfigError("warm_start", f"must be true or false, got {self.warm_start!r}")
        check_int("design_size", self.design_size, 1)
        if ridge == 0 and self.design_size <= fitted + 1:
            what = "dim" if self.fit_dim is None else "fit_dim"
            raise ConfigError("design_size", f"must be > {what} + 1 = {fitted + 1} for OLS (ridge = 0), "
                                             f"got {self.design_size}")
        try:
            w = self.truth()
        except (TypeError, ValueError):
            raise ConfigError("w_star", f"must be a number or {d} numbers, got {self.w_star!r}") from None
        if not np.all(np.isfinite(w)):
            raise ConfigError("w_star", "must be finite")
        check_metrics(self, METRICS)
