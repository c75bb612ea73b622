"""Configs of the one-parameter count chains, ``poisson`` and ``bernoulli``; the chains are
`simcollapse.families.counts`. Validated here, without importing JAX."""

from __future__ import annotations

import dataclasses
from typing import Any

from . import ConfigError, RunConfig, SampleSizes, check_metrics, choice, number

SAMPLERS = ("exact", "infinite")
POLICIES = ("replace", "accumulate")
POISSON_METRICS = ("rate", "alive")
BERNOULLI_METRICS = ("p", "lost", "fixed", "het")
MAX_POOL = 2.0**53


@dataclasses.dataclass(frozen=True)
class _CountChainConfig(SampleSizes, RunConfig):
    """Fields of both count chains. sampler: exact | infinite.   policy: replace | accumulate."""

    sampler: str = choice("exact", SAMPLERS)
    policy: str = choice("replace", POLICIES)

    def validate(self) -> None:
        sizes = self.sizes()
        if sizes.min() < 1:
            raise ConfigError("n_samples", f"must be ≥ 1 in every generation, got {sizes.min()}")
        if self.policy == "accumulate" and float(sizes.sum(dtype=float)) >= MAX_POOL:
            raise ConfigError("n_samples", "the pooled sample size would exceed 2^53")
        check_metrics(self, type(self).metrics)  # the default records every statistic of the chain


@dataclasses.dataclass(frozen=True)
class PoissonConfig(_CountChainConfig):
    """Poisson rate chain. rate0: λ_0 ≥ 0.  n_samples: n_t (integer or schedule).  metrics: from rate, alive."""

    family = "poisson"
    rate0: float = number(1.0, 0.0)
    n_samples: Any = 10
    metrics: tuple = POISSON_METRICS


@dataclasses.dataclass(frozen=True)
class BernoulliConfig(_CountChainConfig):
    """Bernoulli chain. p0: in [0, 1].  n_samples: n_t (integer or schedule).  metrics: from p, lost, fixed, het."""

    family = "bernoulli"
    p0: float = number(0.1, 0.0, 1.0)
    n_samples: Any = 100
    metrics: tuple = BERNOULLI_METRICS
