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

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..config.counts import BernoulliConfig, PoissonConfig
from ..core.driver import Chain
from ..policies import POLICIES, Sizes
from ..samplers import bits
from ..samplers.binomial import binomial
from ..samplers.poisson import poisson

__all__ = ["BernoulliConfig", "Counts", "PoissonConfig", "build"]

class State(NamedTuple):
    t: jax.Array
    param: jax.Array  # Λ or p
    pool: object  # the policy's: the pooled Sum (accumulate) or None


class Sum(NamedTuple):
    """Sufficient statistic of n samples: their sum and n (float64)."""

    total: jax.Array
    count: jax.Array


class Counts:
    """Chain pieces of a poisson or bernoulli config, and its statistics for the policies
    (:class:`simcollapse.policies.Data`: the sum of the samples and their number)."""

    split_keys = False

    def __init__(self, config):
        self.config = config
        sizes = config.sizes()
        # host arrays: the chain's functions are traced in float64 (the driver's), whatever the caller's default
        self.sizes = np.asarray(sizes, float)
        self.n_max = float(sizes.max())
        self.poisson = config.family == "poisson"
        self.param0 = float(config.rate0 if self.poisson else config.p0)
        self.policy = POLICIES[config.policy]

    # --- the statistics ---------------------------------------------------------------------------
    def _draw(self, key, param, n):
        if self.poisson:
            return poisson(key, n * param)
        return binomial(key, n, param, n_max=self.n_max)

    def fit_fresh(self, key, param, n):
        return self._draw(key, param, n) / n

    def synthetic(self, key, param, n) -> Sum:
        return Sum(self._draw(key, param, n), n)

    def combine(self, a: Sum, b: Sum) -> Sum:
        return Sum(a.total + b.total, a.count + b.count)

    def empty(self) -> Sum:
        return Sum(jnp.asarray(0.0, jnp.float64), jnp.asarray(0.0, jnp.float64))

    def fit(self, data: Sum, param):
        """The MLE: the sample mean."""
        return data.total / data.count

    # --- the chain --------------------------------------------------------------------------------
    def init(self, key: bits.Key) -> State:
        # strongly typed, as the step's: a weakly typed carry would compile the generation loop twice
        return State(jnp.asarray(0, jnp.int32), jnp.asarray(self.param0, jnp.float64), self.policy.start(self, key))

    def step(self, key: bits.Key, state: State) -> State:
        if self.config.sampler == "infinite":  # the population fit of the parameter is the parameter
            return State(state.t + 1, state.param, state.pool)
        n = jnp.asarray(self.sizes)[state.t]
        param, pool = self.policy.step(self, key, state.param, state.pool, Sizes(state.t, n, 0.0, n))
        return State(state.t + 1, param, pool)

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
