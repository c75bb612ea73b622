"""Exponential chain (`exponential`): the worked example of docs/adding-a-family.md, one file.

Model t is Exp(λ_t) (rate λ, mean θ = 1/λ); generation t+1 is the MLE on M_t points drawn from it,
λ_{t+1} = M_t / Σ x_i. The sum of M exponential points of rate λ is Gamma(M, 1)/λ, so with the ``exact``
sampler the chain draws that sufficient statistic directly (``samplers.gamma``, in log space):

    log λ_{t+1} = log λ_t + log M_t − log G_t,   G_t ~ Gamma(M_t, 1)

(closed forms in :mod:`simcollapse.theory.exponential`, docs/theory.md §X). The ``infinite`` sampler is the
population fit, which returns λ_t: the chain stays at the truth. Policies (:mod:`simcollapse.policies`):
``replace`` and ``accumulate``, over the statistics (log Σ x, n).

Metrics: ``rate`` (λ), ``log_rate`` (log λ), ``mean`` (θ = 1/λ).

The config is validated without JAX; the chain imports JAX when it is built.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import numpy as np

from ..config import RunConfig, SampleSizes, check_metrics, check_number, choice, number
from ..contract import Family
from ..theory import exponential as theory

__all__ = ["FAMILY", "ExponentialConfig", "build"]

METRICS = ("rate", "log_rate", "mean")


@dataclasses.dataclass(frozen=True)
class ExponentialConfig(SampleSizes, RunConfig):
    """Exponential chain. rate0: λ_0 > 0.   n_samples: M_t, an integer or a schedule.   sampler: exact |
    infinite.   policy: replace | accumulate.   metrics: from rate, log_rate, mean."""

    family = "exponential"
    rate0: float = number(1.0, 0.0, low_open=True)
    n_samples: Any = 10
    sampler: str = choice("exact", ("exact", "infinite"))
    policy: str = choice("replace", ("replace", "accumulate"))
    metrics: tuple = METRICS

    def validate(self) -> None:
        check_number("n_samples", int(self.sizes().min()), low=1)
        check_metrics(self, METRICS)


class Sum(NamedTuple):
    """Sufficient statistic of n points: log Σ x and n."""

    log_total: Any
    count: Any


class ExponentialData:
    """The statistics for the policies (:class:`simcollapse.policies.Data`); the model is log λ."""

    split_keys = False

    def __init__(self):
        import jax.numpy as jnp

        from ..samplers.gamma import log_gamma

        self.jnp, self.log_gamma = jnp, log_gamma

    def synthetic(self, key, log_rate, n) -> Sum:
        return Sum(self.log_gamma(key, n) - log_rate, n)

    def fit_fresh(self, key, log_rate, n):
        return self.fit(self.synthetic(key, log_rate, n), log_rate)

    def combine(self, a: Sum, b: Sum) -> Sum:
        return Sum(self.jnp.logaddexp(a.log_total, b.log_total), a.count + b.count)

    def empty(self) -> Sum:
        return Sum(self.jnp.asarray(-np.inf, np.float64), self.jnp.asarray(0.0, np.float64))

    def fit(self, data: Sum, log_rate):
        """The MLE λ̂ = n / Σ x, in log space."""
        return self.jnp.log(data.count) - data.log_total


def build(config: ExponentialConfig):
    import jax.numpy as jnp

    from ..core.driver import Chain
    from ..policies import POLICIES, Sizes

    data, policy = ExponentialData(), POLICIES[config.policy]
    sizes = np.asarray(config.sizes(), float)  # host constants, traced in the driver's float64

    def init(key):  # strongly typed, as the step's state (a weakly typed one compiles the loop twice)
        return jnp.asarray(0, jnp.int32), jnp.asarray(np.log(config.rate0), jnp.float64), policy.start(data, key)

    def step(key, state):
        t, log_rate, pool = state
        if config.sampler == "infinite":  # the population fit returns the model itself
            return t + 1, log_rate, pool
        n = jnp.asarray(sizes)[t]
        log_rate, pool = policy.step(data, key, log_rate, pool, Sizes(t, n, 0.0, n))
        return t + 1, log_rate, pool

    def observe(state):
        log_rate = state[1]
        every = {"rate": jnp.exp(log_rate), "log_rate": log_rate, "mean": jnp.exp(-log_rate)}
        return {name: every[name] for name in config.metrics}

    return Chain(init, step, observe)


FAMILY = Family(ExponentialConfig, build, theory.for_config)
