"""Config of the kernel-density-estimate chain `kde`; the chain is `simcollapse.families.kde`. Validated here,
without importing JAX."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from . import ConfigError, RunConfig, check_int, check_metrics, check_number, choice, integer, number, schedule

# The shapes' names and fixed dimensions, without importing JAX (simcollapse.truths holds the laws).
SHAPES = ("gaussian", "blobs", "moons", "circles", "swiss_roll")
FIXED_DIM = {"moons": 2, "circles": 2, "swiss_roll": 3}

SCALED_RULES = ("scott", "silverman")  # h = c·σ̂: scipy's gaussian_kde convention
UNSCALED_RULES = ("scott_unscaled", "silverman_unscaled")  # h = c in data units: scikit-learn's KernelDensity
RULES = SCALED_RULES + UNSCALED_RULES
METRICS = ("var", "test_nll", "bandwidth")
POLICIES = ("replace", "accumulate", "accumulate_subsample")


@dataclasses.dataclass(frozen=True)
class KDEConfig(RunConfig):
    """KDE chain. Fields beyond the run fields:

    n_samples: N centres per generation (a constant integer).   dim: d (unset: the truth's own).
    bandwidth: h > 0, or a rule: "scott" (h = N^{−1/(d+4)} σ̂) or "silverman" (h = (N(d+2)/4)^{−1/(d+4)} σ̂), σ̂
    the sample's standard deviation, as scipy's gaussian_kde; "scott_unscaled" or "silverman_unscaled": the same
    factor as a fixed h in data units, as scikit-learn's KernelDensity(bandwidth="scott"/"silverman").
    truth: "gaussian" or one of the toy shapes of `simcollapse.truths` ("blobs", 2 dims unless set; "moons" and
    "circles" in 2 dims, "swiss_roll" in 3).   truth_noise: the shapes' noise level s (None: the shape's default).
    mean0, var0: the gaussian truth N(mean0, var0·I).   test_size: held-out truth points for test_nll.
    policy: replace | accumulate | accumulate_subsample (every point so far kept; the centres are all of them, or
    a uniform N-subset).   metrics: statistics recorded per generation.
    """

    family = "kde"
    n_samples: Any = 100
    dim: int | None = integer(None, 1, optional=True)
    bandwidth: Any = "scott"
    truth: str = choice("gaussian", SHAPES)
    truth_noise: float | None = number(None, 0.0, low_open=True, optional=True)
    mean0: float = number(0.0)
    var0: float = number(1.0, 0.0, low_open=True)
    test_size: int = integer(500, 1)
    policy: str = choice("replace", POLICIES)
    metrics: tuple = METRICS

    @property
    def d(self) -> int:
        """The dimension: `dim`, or where unset the truth's own (1 for gaussian, 2 for blobs)."""
        if self.dim is not None:
            return int(self.dim)
        return FIXED_DIM.get(self.truth, 2 if self.truth == "blobs" else 1)

    def validate(self) -> None:
        if self.dim is not None:
            if self.truth in FIXED_DIM and self.dim != FIXED_DIM[self.truth]:
                raise ConfigError("dim", f"the {self.truth} truth lives in {FIXED_DIM[self.truth]} dimensions; got "
                                         f"{self.dim} (leave dim unset)")
            if self.truth == "blobs" and self.dim < 2:
                raise ConfigError("dim", f"the blobs truth needs dim ≥ 2; got {self.dim}")
        if self.truth_noise is not None and self.truth == "gaussian":
            raise ConfigError("truth_noise", "applies to the toy shapes; the gaussian truth takes var0")
        sizes = schedule(self.n_samples, self.generations)
        if np.any(sizes != sizes[0]):
            raise ConfigError("n_samples", "the kde family needs a constant n_samples")
        check_int("n_samples", int(sizes[0]), 2)
        if isinstance(self.bandwidth, str):
            if self.bandwidth not in RULES:
                raise ConfigError("bandwidth", f"must be a positive number or one of {RULES}; got {self.bandwidth!r}")
        else:
            check_number("bandwidth", self.bandwidth, low=0, low_open=True)
        check_metrics(self, METRICS)
