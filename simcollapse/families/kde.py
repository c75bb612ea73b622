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

Metrics: ``var``, the per-dimension variance of the model, tr Cov/d (for the KDE: ddof-0 variance of the centres
plus h²); ``test_nll``, the mean negative log-likelihood of ``test_size`` held-out truth points, drawn once per
chain at initialisation (generation 0: under the truth's exact density); ``bandwidth`` (h_t; 0 at generation 0).

Theory: the variance recursion of :mod:`simcollapse.theory.kde` (docs/theory.md §K.1).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

from .. import truths
from ..config import schedule
from ..config.kde import METRICS, RULES, SCALED_RULES, UNSCALED_RULES, KDEConfig
from ..core.batch_invariant import ordered_sum, tree_sum
from ..core.driver import Chain
from ..samplers import bits

__all__ = ["KDE", "METRICS", "RULES", "KDEConfig", "build", "log_kernel_sums", "rule_factor", "variances"]


class State(NamedTuple):
    t: jax.Array
    centres: jax.Array  # (N, d); unused at generation 0
    bandwidth: jax.Array
    test: jax.Array  # (test_size, d) held-out truth points
    truth_nll: jax.Array  # their mean negative log-likelihood under the truth (generation 0's test_nll)


def rule_factor(rule: str, n: int, d: int) -> float:
    """c of Scott's or Silverman's rule: h = c σ̂ (``scott``, ``silverman``) or h = c (``*_unscaled``)."""
    if rule.startswith("scott"):
        return n ** (-1.0 / (d + 4))
    return (n * (d + 2) / 4.0) ** (-1.0 / (d + 4))


def variances(x, ddof: int):
    """Per-column variance Σ_i (x_i − x̄)²/(N − ddof) of x (N, d), summed batch-invariantly."""
    n = x.shape[0]
    centred = x - tree_sum(x, axis=0) / n
    return tree_sum(centred * centred, axis=0) / (n - ddof)


def log_kernel_sums(x, centres, h):
    """log Σ_j exp(−‖x_i − c_j‖²/2h²) at every point x_i (x (M, d), centres (N, d)), in two passes over the
    centres in index order: the nearest centre's squared distance m_i, then log Σ_j exp(−(‖x_i − c_j‖² − m_i)/2h²)
    − m_i/2h² (no term overflows, the nearest is 1). No M × N array is formed: vmapped over 1000 chains it would
    leave the cache (the passes run 4× faster), and the sums are elementwise across chains (batch-invariant)."""

    def squared(c):
        return tree_sum((x - c) ** 2, axis=-1)

    nearest = jax.lax.fori_loop(0, centres.shape[0], lambda j, m: jnp.minimum(m, squared(centres[j])),
                                jnp.full(x.shape[0], jnp.inf))
    total = ordered_sum(centres, lambda c: jnp.exp(-0.5 * (squared(c) - nearest) / h**2))
    return jnp.log(total) - 0.5 * nearest / h**2


class KDE:
    def __init__(self, config: KDEConfig):
        self.config = config
        self.d = config.d
        self.n = int(schedule(config.n_samples, config.generations)[0])
        self.truth = dict(shape=config.truth, noise=config.truth_noise, mean0=float(config.mean0),
                          var0=float(config.var0))

    def _truth_sample(self, key, n):
        return truths.sample(key=key, n=n, dim=self.d, **self.truth)

    def init(self, key) -> State:
        test = self._truth_sample(key, self.config.test_size)
        truth_nll = -tree_sum(truths.log_density(x=test, **self.truth)) / self.config.test_size
        # strongly typed, as `step`'s state: a weakly typed start compiles the generation program twice
        return State(jnp.asarray(0, jnp.int32), jnp.zeros((self.n, self.d)), jnp.zeros(()), test, truth_nll)

    def step(self, key, state: State) -> State:
        pick = bits.below(bits.words(bits.fold(key, 0), (self.n,)), self.n)  # a centre uniformly
        z = bits.normal(bits.fold(key, 1), (self.n, self.d))
        from_kde = state.centres[pick] + state.bandwidth * z
        x = jnp.where(state.t == 0, self._truth_sample(bits.fold(key, 1), self.n), from_kde)
        bw = self.config.bandwidth
        if bw in SCALED_RULES:
            s2 = tree_sum(variances(x, ddof=1)) / self.d
            h = rule_factor(bw, self.n, self.d) * jnp.sqrt(s2)
        elif bw in UNSCALED_RULES:
            h = jnp.asarray(rule_factor(bw, self.n, self.d), float)
        else:
            h = jnp.asarray(float(bw), float)
        return State(state.t + 1, x, h, state.test, state.truth_nll)

    def observe(self, state: State) -> dict:
        d, h = self.d, state.bandwidth
        truth = state.t == 0
        var = jnp.where(truth, truths.variance(self.config.truth, d, self.config.truth_noise, self.config.var0),
                        tree_sum(variances(state.centres, ddof=0)) / d + h**2)
        # KDE log-density of the held-out points: log (1/N) Σ_j N(x; c_j, h² I)
        hs = jnp.where(truth, 1.0, h)
        log_kde = log_kernel_sums(state.test, state.centres, hs) - math.log(self.n) - d * jnp.log(hs) \
            - 0.5 * d * math.log(2 * math.pi)
        nll = jnp.where(truth, state.truth_nll, -tree_sum(log_kde) / self.config.test_size)
        out = {"var": var, "test_nll": nll, "bandwidth": h}
        return {name: out[name] for name in self.config.metrics}

    def chain(self) -> Chain:
        return Chain(self.init, self.step, self.observe)




def build(config: KDEConfig) -> Chain:
    return KDE(config).chain()
