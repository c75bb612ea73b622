"""Config of the kernel-density-estimate chain `kde`; the chain is `simcollapse.families.kde`. Validated here,
without importing JAX."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from . import ConfigError, RunConfig, check_int, check_metrics, check_number, choice, schedule

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
    dim: Any = None
    bandwidth: Any = "scott"
    truth: str = choice("gaussian", SHAPES)
    truth_noise: Any = None
    mean0: float = 0.0
    var0: float = 1.0
    test_size: int = 500
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
            check_int("dim", self.dim, 1)
            if self.truth in FIXED_DIM and self.dim != FIXED_DIM[self.truth]:
                raise ConfigError("dim", f"the {self.truth} truth lives in {FIXED_DIM[self.truth]} dimensions; got "
                                         f"{self.dim} (leave dim unset)")
            if self.truth == "blobs" and self.dim < 2:
                raise ConfigError("dim", f"the blobs truth needs dim ≥ 2; got {self.dim}")
        if self.truth_noise is not None:
            if self.truth == "gaussian":
                raise ConfigError("truth_noise", "applies to the toy shapes; the gaussian truth takes var0")
            check_number("truth_noise", self.truth_noise, low=0, low_open=True)
        sizes = schedule(self.n_samples, self.generations)
        if np.any(sizes != sizes[0]):
            raise ConfigError("n_samples", "the kde family needs a constant n_samples")
        check_int("n_samples", int(sizes[0]), 2)
        if isinstance(self.bandwidth, str):
            if self.bandwidth not in RULES:
                raise ConfigError("bandwidth", f"must be a positive number or one of {RULES}; got {self.bandwidth!r}")
        else:
            check_number("bandwidth", self.bandwidth, low=0, low_open=True)
        check_number("mean0", self.mean0)
        check_number("var0", self.var0, low=0, low_open=True)
        check_int("test_size", self.test_size, 1)
        check_metrics(self, METRICS)
