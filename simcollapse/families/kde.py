"""Kernel-density-estimate chain (`kde`): recursive training of a non-parametric model.

Generation 0 is the truth: N(mean0, var0·I_d) or a toy shape of :mod:`simcollapse.truths`. Model t ≥ 1 is the
Gaussian KDE
f_t(x) = (1/N) Σ_j N(x; c_j, h_t² I) whose N centres c_j are the N = ``n_samples`` points drawn from model t−1.
Sampling model t: pick a centre uniformly, add N(0, h_t² I) kernel noise. Bandwidth (``bandwidth``):

* a positive number: fixed h;
* ``"scott"``: h = N^{−1/(d+4)} σ̂;   ``"silverman"``: h = (N(d+2)/4)^{−1/(d+4)} σ̂,
  with σ̂² = tr(S)/d, S the ddof-1 sample covariance of the centres (an isotropic kernel; scipy's
  ``gaussian_kde`` uses the full covariance S instead, which coincides for d = 1);
* ``"scott_unscaled"``, ``"silverman_unscaled"``: the same factors as a fixed h in data units, as scikit-learn's
  ``KernelDensity(bandwidth="scott")`` (docs/differences.md).

Policies (:mod:`simcollapse.policies`, Kazdan et al. 2024's settings): ``replace`` (the N new points are the
next centres), ``accumulate`` (every point so far: model t has tN centres, and a rule's factor reads tN) and
``accumulate_subsample`` (every point so far is kept, the next centres are a uniform N-subset of them, drawn
without replacement).

Metrics: ``var``, the per-dimension variance of the model, tr Cov/d (for the KDE: ddof-0 variance of the centres
plus h²); ``test_nll``, the mean negative log-likelihood of ``test_size`` held-out truth points, drawn once per
chain at initialisation (generation 0: under the truth's exact density); ``bandwidth`` (h_t; 0 at generation 0).

Theory: the variance recursion of :mod:`simcollapse.theory.kde` (docs/theory.md §K.1).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .. import policies, truths
from ..config import schedule
from ..config.kde import METRICS, RULES, SCALED_RULES, UNSCALED_RULES, KDEConfig
from ..core.batch_invariant import ordered_sum, tree_sum
from ..core.driver import Chain
from ..policies import Sizes
from ..samplers import bits
from ..samplers.subset import random_subset

__all__ = ["KDE", "METRICS", "RULES", "KDEConfig", "build", "log_kernel_sums", "rule_factor", "variances"]


class Points(NamedTuple):
    """A point set in a fixed-capacity array: the first ``count`` rows of ``x`` (capacity, d)."""

    x: jax.Array
    count: jax.Array


class Model(NamedTuple):
    """A KDE: its centres and its bandwidth h."""

    centres: Points
    bandwidth: jax.Array


class State(NamedTuple):
    t: jax.Array
    model: Model  # unused at generation 0 (the truth)
    pool: Any  # the policy's: every point so far (accumulate_subsample) or None
    test: jax.Array  # (test_size, d) held-out truth points
    truth_nll: jax.Array  # their mean negative log-likelihood under the truth (generation 0's test_nll)


def rule_factor(rule: str, n: int, d: int) -> float:
    """c of Scott's or Silverman's rule: h = c σ̂ (``scott``, ``silverman``) or h = c (``*_unscaled``)."""
    if rule.startswith("scott"):
        return n ** (-1.0 / (d + 4))
    return (n * (d + 2) / 4.0) ** (-1.0 / (d + 4))


def variances(x, ddof: int, count=None):
    """Per-column variance Σ_i (x_i − x̄)²/(N − ddof) of the first N = ``count`` rows of x (all rows if None),
    summed batch-invariantly."""
    if count is None:
        n = x.shape[0]
        centred = x - tree_sum(x, axis=0) / n
        return tree_sum(centred * centred, axis=0) / (n - ddof)
    valid = (jnp.arange(x.shape[0]) < count)[:, None]
    centred = jnp.where(valid, x - tree_sum(jnp.where(valid, x, 0.0), axis=0) / count, 0.0)
    return tree_sum(centred * centred, axis=0) / (count - ddof)


def log_kernel_sums(x, centres, h, count=None):
    """log Σ_j exp(−‖x_i − c_j‖²/2h²) at every point x_i (x (M, d), centres (N, d); only the first ``count``
    centres if given), in two passes over the centres in index order: the nearest centre's squared distance m_i,
    then log Σ_j exp(−(‖x_i − c_j‖² − m_i)/2h²) − m_i/2h² (no term overflows, the nearest is 1). No M × N array
    is formed: vmapped over 1000 chains it would leave the cache (the passes run 4× faster), and the sums are
    elementwise across chains (batch-invariant)."""

    def squared(c):
        return tree_sum((x - c) ** 2, axis=-1)

    if count is None:
        nearest = jax.lax.fori_loop(0, centres.shape[0], lambda j, m: jnp.minimum(m, squared(centres[j])),
                                    jnp.full(x.shape[0], jnp.inf))
        total = ordered_sum(centres, lambda c: jnp.exp(-0.5 * (squared(c) - nearest) / h**2))
    else:
        def nearer(j, m):
            return jnp.where(j < count, jnp.minimum(m, squared(centres[j])), m)

        def add(j, acc):
            return acc + jnp.where(j < count, jnp.exp(-0.5 * (squared(centres[j]) - nearest) / h**2), 0.0)

        nearest = jax.lax.fori_loop(0, centres.shape[0], nearer, jnp.full(x.shape[0], jnp.inf))
        total = jax.lax.fori_loop(0, centres.shape[0], add, jnp.zeros(x.shape[0]))
    return jnp.log(total) - 0.5 * nearest / h**2


class KDE:
    """Chain pieces of a kde config, and its statistics for the policies (:class:`simcollapse.policies.Data`,
    :class:`~simcollapse.policies.Stored`): :class:`Points`; the model the draws read is the state (generation 0
    draws from the truth)."""

    split_keys = False

    def __init__(self, config: KDEConfig):
        self.config = config
        self.policy = policies.POLICIES[config.policy]
        self.d = config.d
        self.n = int(schedule(config.n_samples, config.generations)[0])
        # accumulate fits on every point so far, up to n·generations; the other policies on n points
        self.grows = config.policy == "accumulate"
        self.capacity = self.n * config.generations if self.grows else self.n
        self.truth = dict(shape=config.truth, noise=config.truth_noise, mean0=float(config.mean0),
                          var0=float(config.var0))

    def _truth_sample(self, key, n):
        return truths.sample(key=key, n=n, dim=self.d, **self.truth)

    def _count(self, points: Points):
        """The number of points: traced (float64) where it grows, else the static n (the arithmetic of a fixed
        size, as it was before the pool could grow)."""
        return points.count.astype(float) if self.grows else self.n

    def init(self, key) -> State:
        test = self._truth_sample(key, self.config.test_size)
        truth_nll = -tree_sum(truths.log_density(x=test, **self.truth)) / self.config.test_size
        # strongly typed, as `step`'s state: a weakly typed start compiles the generation program twice
        model = Model(self.empty(), jnp.zeros(()))
        return State(jnp.asarray(0, jnp.int32), model, self.policy.start(self, key), test, truth_nll)

    # --- the policies' statistics ----------------------------------------------------------------
    def synthetic(self, key, state: State, n) -> Points:
        """n points of the current model: a centre uniformly, plus N(0, h² I) (the truth at generation 0)."""
        centres = state.model.centres
        size = jnp.maximum(centres.count, 1) if self.grows else self.n  # no model yet at generation 0
        pick = bits.below(bits.words(bits.fold(key, 0), (self.n,)), size)
        z = bits.normal(bits.fold(key, 1), (self.n, self.d))
        from_kde = centres.x[pick] + state.model.bandwidth * z
        x = jnp.where(state.t == 0, self._truth_sample(bits.fold(key, 1), self.n), from_kde)
        return Points(x, jnp.asarray(self.n, jnp.int32))

    def fit(self, points: Points, state: State) -> Model:
        """The KDE on `points`, with the configured bandwidth (a rule reads their number and spread)."""
        bw, count = self.config.bandwidth, self._count(points)
        if bw in SCALED_RULES:
            s2 = tree_sum(variances(points.x, 1, None if not self.grows else count)) / self.d
            h = rule_factor(bw, count, self.d) * jnp.sqrt(s2)
        elif bw in UNSCALED_RULES:
            h = jnp.asarray(rule_factor(bw, count, self.d), float)
        else:
            h = jnp.asarray(float(bw), float)
        return Model(points, h)

    def fit_fresh(self, key, state: State, n) -> Model:
        return self.fit(self.synthetic(key, state, n), state)

    def _no_points(self, capacity: int) -> Points:
        return Points(jnp.zeros((capacity, self.d)), jnp.asarray(0, jnp.int32))

    def empty(self) -> Points:
        return self._no_points(self.capacity)

    def combine(self, pool: Points, new: Points) -> Points:
        """`new` written after the pool's points (the pool has room for every generation's)."""
        x = jax.lax.dynamic_update_slice(pool.x, new.x, (pool.count, jnp.zeros_like(pool.count)))
        return Points(x, pool.count + new.count)

    def empty_store(self) -> Points:
        return self._no_points(self.n * self.config.generations)

    def store(self, store: Points, key, state: State, n, t) -> Points:
        return self.combine(store, self.synthetic(key, state, n))

    def subsample(self, key, store: Points, n, t) -> Points:
        chosen, _ = random_subset(key, store.count, self.n, self.n, store.x.shape[0])
        return Points(store.x[chosen], jnp.asarray(self.n, jnp.int32))

    # --- chain -----------------------------------------------------------------------------------
    def step(self, key, state: State) -> State:
        model, pool = self.policy.step(self, key, state, state.pool, Sizes(state.t, self.n, 0, self.n))
        return State(state.t + 1, model, pool, state.test, state.truth_nll)

    def observe(self, state: State) -> dict:
        d, h, centres = self.d, state.model.bandwidth, state.model.centres
        count = self._count(centres)
        grown = count if self.grows else None
        truth = state.t == 0
        var = jnp.where(truth, truths.variance(self.config.truth, d, self.config.truth_noise, self.config.var0),
                        tree_sum(variances(centres.x, 0, grown)) / d + h**2)
        # KDE log-density of the held-out points: log (1/N) Σ_j N(x; c_j, h² I)
        hs = jnp.where(truth, 1.0, h)
        log_count = jnp.log(jnp.maximum(count, 1.0)) if self.grows else math.log(self.n)
        log_kde = log_kernel_sums(state.test, centres.x, hs, grown) - log_count - d * jnp.log(hs) \
            - 0.5 * d * math.log(2 * math.pi)
        nll = jnp.where(truth, state.truth_nll, -tree_sum(log_kde) / self.config.test_size)
        out = {"var": var, "test_nll": nll, "bandwidth": h}
        return {name: out[name] for name in self.config.metrics}

    def chain(self) -> Chain:
        return Chain(self.init, self.step, self.observe)


def build(config: KDEConfig) -> Chain:
    return KDE(config).chain()
