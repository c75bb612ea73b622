"""One-parameter count chains: ``poisson`` and ``bernoulli``.

* ``poisson`` (Suresh et al. 2024, Thm 2): each generation draws n_t samples from Poisson(Λ_t) and refits the
  rate, Λ_{t+1} = (sum of the samples)/n_t. The sum is Poisson(n_t Λ_t), drawn directly. With constant n this
  is a critical Poisson Galton–Watson process started from Poisson(n λ_0) individuals, so
  P(Λ_k ≠ 0) = 1 − e^{−n λ_0 g_k}, g_1 = 1, g_{j+1} = 1 − e^{−g_j}; E Λ_k = λ_0 (martingale).
* ``bernoulli``: p_{t+1} = Bin(n_t, p_t)/n_t, the two-type categorical chain of the Nature paper with the
  type of interest coded 1: E p_k = p_0, P(p eventually 1) = p_0, E 2p(1−p) = 2p_0q_0 Π(1 − 1/n_t).

Samplers: ``exact`` (the sufficient statistic drawn exactly) or ``infinite`` (the parameter never moves).
Policies: ``replace`` or ``accumulate`` (refit on the pooled samples of every generation so far).

Metrics: poisson ``rate`` (Λ), ``alive`` (1 if Λ > 0); bernoulli ``p``, ``lost`` (p = 0), ``fixed`` (p = 1),
``het`` (2p(1−p), the Gini–Simpson index of the two types).
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from ..config import ConfigError, RunConfig, check_choice, check_number, schedule
from ..core.driver import Chain
from .categorical import binomial

SAMPLERS = ("exact", "infinite")
POLICIES = ("replace", "accumulate")
POISSON_METRICS = ("rate", "alive")
BERNOULLI_METRICS = ("p", "lost", "fixed", "het")
MAX_POOL = 2.0**53


class State(NamedTuple):
    t: jax.Array
    param: jax.Array  # Λ or p
    pooled: jax.Array  # sum of all samples so far (accumulate)


def _validate(c, known) -> None:
    sizes = schedule(c.n_samples, c.generations)
    if sizes.min() < 1:
        raise ConfigError("n_samples", f"must be ≥ 1 in every generation, got {sizes.min()}")
    check_choice("sampler", c.sampler, SAMPLERS)
    check_choice("policy", c.policy, POLICIES)
    if c.policy == "accumulate" and float(sizes.sum(dtype=float)) >= MAX_POOL:
        raise ConfigError("n_samples", "the pooled sample size would exceed 2^53")
    if isinstance(c.metrics, str) or not c.metrics or not all(m in known for m in c.metrics):
        raise ConfigError("metrics", f"must be a non-empty list drawn from {', '.join(known)}; got {c.metrics!r}")
    object.__setattr__(c, "metrics", tuple(c.metrics))


@dataclasses.dataclass(frozen=True)
class PoissonConfig(RunConfig):
    """Poisson rate chain. rate0: λ_0 ≥ 0.  n_samples: n_t (integer or schedule).  sampler: exact | infinite.
    policy: replace | accumulate.  metrics: from rate, alive."""

    family = "poisson"
    rate0: float = 1.0
    n_samples: Any = 10
    sampler: str = "exact"
    policy: str = "replace"
    metrics: tuple = POISSON_METRICS

    def validate(self) -> None:
        check_number("rate0", self.rate0, low=0.0)
        _validate(self, POISSON_METRICS)

    def sizes(self):
        return schedule(self.n_samples, self.generations)


@dataclasses.dataclass(frozen=True)
class BernoulliConfig(RunConfig):
    """Bernoulli chain. p0: in [0, 1].  n_samples: n_t (integer or schedule).  sampler: exact | infinite.
    policy: replace | accumulate.  metrics: from p, lost, fixed, het."""

    family = "bernoulli"
    p0: float = 0.1
    n_samples: Any = 100
    sampler: str = "exact"
    policy: str = "replace"
    metrics: tuple = BERNOULLI_METRICS

    def validate(self) -> None:
        check_number("p0", self.p0, 0.0, 1.0)
        _validate(self, BERNOULLI_METRICS)

    def sizes(self):
        return schedule(self.n_samples, self.generations)


class Counts:
    """Chain pieces of a poisson or bernoulli config."""

    def __init__(self, config):
        self.config = config
        sizes = config.sizes()
        self.sizes = jnp.asarray(sizes, float)
        self.pooled_sizes = jnp.cumsum(self.sizes)
        self.poisson = config.family == "poisson"
        self.param0 = float(config.rate0 if self.poisson else config.p0)

    def init(self, key) -> State:
        return State(jnp.asarray(0, jnp.int32), jnp.asarray(self.param0), jnp.asarray(0.0))

    def step(self, key, state: State) -> State:
        if self.config.sampler == "infinite":
            return State(state.t + 1, state.param, state.pooled)
        n = self.sizes[state.t]
        if self.poisson:
            x = jax.random.poisson(key, n * state.param).astype(float)
        else:
            x = binomial(key, n, state.param)
        if self.config.policy == "replace":
            return State(state.t + 1, x / n, state.pooled)
        pooled = state.pooled + x
        return State(state.t + 1, pooled / self.pooled_sizes[state.t], pooled)

    def observe(self, state: State) -> dict:
        v = state.param
        every = {
            "rate": v,
            "alive": (v > 0).astype(float),
            "p": v,
            "lost": (v == 0).astype(float),
            "fixed": (v == 1).astype(float),
            "het": 2.0 * v * (1.0 - v),
        }
        return {name: every[name] for name in self.config.metrics}

    def chain(self) -> Chain:
        return Chain(self.init, self.step, self.observe)


def build(config) -> Chain:
    return Counts(config).chain()
