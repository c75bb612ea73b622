"""Config of the linear-regression chain `linreg` (Dohmatob, Feng & Kempe 2024; Gerstgrasser et al. 2024 §3);
the chain is `simcollapse.families.linreg`. Validated here, without importing JAX."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from . import ConfigError, RunConfig, check_metrics, choice, integer, number, real_count

POLICIES = ("replace", "accumulate", "accumulate_subsample", "synthetic_mix")
SAMPLERS = ("exact", "infinite")
FITTERS = ("exact", "sgd")
METRICS = ("w", "test_error", "trace_inv_gram")


@dataclasses.dataclass(frozen=True)
class LinRegConfig(RunConfig):
    """Linear-regression chain. Fields beyond the run fields:

    design_size: T rows of the fixed design (any T ≥ 1; with T < d′ OLS fits the minimum-norm solution X⁺y; the
    closed forms need T > d′ + 1, or T < d − 1 with every feature fitted).
    dim: d.   noise: σ of the label noise.   policy: replace | accumulate | accumulate_subsample | synthetic_mix.   ridge: λ ≥ 0 (0 = OLS).
    w_star: the truth; None gives (1, …, 1)/√d, a number gives that value in every coordinate.
    sampler: exact | infinite (labels without noise: no statistical error).
    fit_dim: d′, the features the model uses (the first d′; None = all d).
    fitter: exact | sgd.   sgd_steps, lr: the gradient steps and their learning rate η (fitter sgd).
    warm_start: start the steps from the previous fit instead of 0 (fitter sgd).
    synthetic_fraction: p₂ (policy synthetic_mix): n₂ = ⌊p₂T + ½⌋ of the T rows are labelled by the shifted
        w_s = w* + synthetic_shift, the others by w* (strong collapse, docs/theory.md §S.1).
    synthetic_shift: w_s − w*, a number (every coordinate) or d numbers.
    curriculum: fit on the synthetic rows, then refit on the real rows only (fitter exact: the real-only fit,
        docs/theory.md §S.2).
    metrics: statistics recorded per generation.
    """

    family = "linreg"
    design_size: int = integer(50, 1)
    dim: int = integer(10, 1)
    noise: float = number(1.0, 0.0)
    policy: str = choice("replace", POLICIES)
    ridge: float = number(0.0, 0.0)
    w_star: Any = None
    sampler: str = choice("exact", SAMPLERS)
    fit_dim: int | None = integer(None, 1, optional=True)
    fitter: str = choice("exact", FITTERS)
    sgd_steps: int = integer(20, 1)
    lr: float = number(0.2, 0.0, low_open=True)
    warm_start: bool = False
    synthetic_fraction: float = number(0.5, 0.0, 1.0)
    synthetic_shift: Any = 1.0
    curriculum: bool = False
    metrics: tuple = METRICS

    @property
    def fitted_dim(self) -> int:
        """d′: the number of features the model uses."""
        return self.dim if self.fit_dim is None else self.fit_dim

    @property
    def synthetic_rows(self) -> int:
        """n₂ = ⌊p₂T + ½⌋ under synthetic_mix (the last n₂ rows of the design; rows are exchangeable), else 0."""
        return int(real_count(self.synthetic_fraction, self.design_size)) if self.policy == "synthetic_mix" else 0

    def shift(self) -> np.ndarray:
        """Δ = w_s − w* (d,)."""
        return np.broadcast_to(np.asarray(self.synthetic_shift, float), (self.dim,)).copy()

    def truth(self) -> np.ndarray:
        if self.w_star is None:
            return np.full(self.dim, 1.0 / np.sqrt(self.dim))
        return np.broadcast_to(np.asarray(self.w_star, float), (self.dim,)).copy()

    def validate(self) -> None:
        d, ridge, fitted = self.dim, self.ridge, self.fitted_dim
        if fitted > d:
            raise ConfigError("fit_dim", f"must be ≤ dim = {d}, got {self.fit_dim}")
        if self.policy == "accumulate_subsample" and ridge == 0 and self.design_size < 4 * fitted:
            # a T-subset of the pooled pairs repeats design rows; OLS needs d distinct ones, which ≥ 4d draws
            # give but for a vanishing probability
            raise ConfigError("design_size", f"must be ≥ 4·{'fit_dim' if self.fit_dim else 'dim'} = {4 * fitted} "
                                             f"for OLS on subsamples of the pooled pairs, got {self.design_size}")
        try:
            w = self.truth()
        except (TypeError, ValueError):
            raise ConfigError("w_star", f"must be a number or {d} numbers, got {self.w_star!r}") from None
        if not np.all(np.isfinite(w)):
            raise ConfigError("w_star", "must be finite")
        try:
            shift = self.shift()
        except (TypeError, ValueError):
            raise ConfigError("synthetic_shift", f"must be a number or {d} numbers, got {self.synthetic_shift!r}") \
                from None
        if not np.all(np.isfinite(shift)):
            raise ConfigError("synthetic_shift", "must be finite")
        if self.curriculum:
            if self.policy != "synthetic_mix" or self.fitter != "exact":
                raise ConfigError("curriculum", "needs policy synthetic_mix and fitter exact (the two-stage fit ends "
                                                "at the closed-form fit on the real rows)")
            if ridge == 0 and self.design_size - self.synthetic_rows <= fitted + 1:
                raise ConfigError("synthetic_fraction", f"leaves {self.design_size - self.synthetic_rows} real rows;"
                                                        f" the curriculum's OLS fit needs more than {fitted + 1}")
        check_metrics(self, METRICS)
