"""Config of the kernel-density-estimate chain `kde`; the chain is `simcollapse.families.kde`. Validated here,
without importing JAX."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from . import ConfigError, RunConfig, check_int, check_metrics, check_number, schedule

RULES = ("scott", "silverman")
METRICS = ("var", "test_nll", "bandwidth")


@dataclasses.dataclass(frozen=True)
class KDEConfig(RunConfig):
    """KDE chain. Fields beyond the run fields:

    n_samples: N centres per generation (a constant integer).   dim: d.   bandwidth: h > 0, "scott" or
    "silverman".   mean0, var0: the truth N(mean0, var0·I).   test_size: held-out truth points for test_nll.
    metrics: statistics recorded per generation.
    """

    family = "kde"
    n_samples: Any = 100
    dim: int = 1
    bandwidth: Any = "scott"
    mean0: float = 0.0
    var0: float = 1.0
    test_size: int = 500
    metrics: tuple = METRICS

    def validate(self) -> None:
        check_int("dim", self.dim, 1)
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
