"""Kernel-density-estimate chain (`kde`): recursive training of a non-parametric model.

Generation 0 is the truth N(mean0, var0·I_d). Model t ≥ 1 is the Gaussian KDE
f_t(x) = (1/N) Σ_j N(x; c_j, h_t² I) whose N centres c_j are the N = ``n_samples`` points drawn from model t−1.
Sampling model t: pick a centre uniformly, add N(0, h_t² I) kernel noise. Bandwidth (``bandwidth``):

* a positive number: fixed h;
* ``"scott"``: h = N^{−1/(d+4)} σ̂;   ``"silverman"``: h = (N(d+2)/4)^{−1/(d+4)} σ̂,
  with σ̂² = tr(S)/d, S the ddof-1 sample covariance of the centres (an isotropic kernel; scipy's
  ``gaussian_kde`` uses the full covariance S instead, which coincides for d = 1).

Metrics: ``var``, the per-dimension variance of the model, tr Cov/d (for the KDE: ddof-0 variance of the centres
plus h²); ``test_nll``, the mean negative log-likelihood of ``test_size`` held-out truth points, drawn once per
chain at initialisation (generation 0: under the truth itself); ``bandwidth`` (h_t; 0 at generation 0).

Theory: the variance recursion of :mod:`simcollapse.theory.kde` (docs/theory.md §K.1).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..config import ConfigError, RunConfig, check_int, check_number, schedule
from ..core.batch_invariant import logsumexp, tree_sum
from ..core.driver import Chain

RULES = ("scott", "silverman")
METRICS = ("var", "test_nll", "bandwidth")


class State(NamedTuple):
    t: jax.Array
    centres: jax.Array  # (N, d); unused at generation 0
    bandwidth: jax.Array
    test: jax.Array  # (test_size, d) held-out truth points


def rule_factor(rule: str, n: int, d: int) -> float:
    """c with h = c σ̂ for Scott's or Silverman's rule."""
    if rule == "scott":
        return n ** (-1.0 / (d + 4))
    return (n * (d + 2) / 4.0) ** (-1.0 / (d + 4))


def variances(x, ddof: int):
    """Per-column variance Σ_i (x_i − x̄)²/(N − ddof) of x (N, d), summed batch-invariantly."""
    n = x.shape[0]
    centred = x - tree_sum(x, axis=0) / n
    return tree_sum(centred * centred, axis=0) / (n - ddof)


class KDE:
    def __init__(self, config: KDEConfig):
        self.config = config
        self.d = config.dim
        self.n = int(schedule(config.n_samples, config.generations)[0])
        self.mean0 = float(config.mean0)
        self.var0 = float(config.var0)

    def init(self, key) -> State:
        test = self.mean0 + math.sqrt(self.var0) * jax.random.normal(key, (self.config.test_size, self.d))
        return State(jnp.asarray(0, jnp.int32), jnp.zeros((self.n, self.d)), jnp.asarray(0.0), test)

    def step(self, key, state: State) -> State:
        k_pick, k_noise = jax.random.split(key)
        pick = jax.random.randint(k_pick, (self.n,), 0, self.n)
        z = jax.random.normal(k_noise, (self.n, self.d))
        from_kde = state.centres[pick] + state.bandwidth * z
        from_truth = self.mean0 + math.sqrt(self.var0) * z
        x = jnp.where(state.t == 0, from_truth, from_kde)
        bw = self.config.bandwidth
        if isinstance(bw, str):
            s2 = tree_sum(variances(x, ddof=1)) / self.d
            h = rule_factor(bw, self.n, self.d) * jnp.sqrt(s2)
        else:
            h = jnp.asarray(float(bw))
        return State(state.t + 1, x, h, state.test)

    def observe(self, state: State) -> dict:
        d, h = self.d, state.bandwidth
        truth = state.t == 0
        var = jnp.where(truth, self.var0, tree_sum(variances(state.centres, ddof=0)) / d + h**2)
        # KDE log-density of the held-out points: log (1/N) Σ_j N(x; c_j, h² I)
        hs = jnp.where(truth, 1.0, h)
        sq = tree_sum((state.test[:, None, :] - state.centres[None, :, :]) ** 2, axis=-1)
        log_kde = logsumexp(-0.5 * sq / hs**2, axis=1) - math.log(self.n) - d * jnp.log(hs) \
            - 0.5 * d * math.log(2 * math.pi)
        log_truth = -0.5 * tree_sum((state.test - self.mean0) ** 2, axis=1) / self.var0 \
            - 0.5 * d * math.log(2 * math.pi * self.var0)
        nll = -tree_sum(jnp.where(truth, log_truth, log_kde)) / self.config.test_size
        out = {"var": var, "test_nll": nll, "bandwidth": h}
        return {name: out[name] for name in self.config.metrics}

    def chain(self) -> Chain:
        return Chain(self.init, self.step, self.observe)


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
        if isinstance(self.metrics, str) or not self.metrics or not all(m in METRICS for m in self.metrics):
            raise ConfigError("metrics", f"must be a non-empty list drawn from {', '.join(METRICS)}; got {self.metrics!r}")
        object.__setattr__(self, "metrics", tuple(self.metrics))


def build(config: KDEConfig) -> Chain:
    return KDE(config).chain()
