"""Categorical chains: the cats of Shumailov et al. (Nature 2024) and every discrete truth after them.

Model t+1 is fitted to N_t tokens drawn from model t (docs/theory.md §C). The fitter is the empirical
frequency with optional additive (Laplace/Dirichlet) smoothing α,

    p_{t+1,i} = (c_i + α) / (Σ_j c_j + K α),

where c holds the counts of the training set. Without smoothing, real data or sampler modifiers this is the
neutral Wright–Fisher chain: E p_{t+1} = p_t, a type once lost never returns, and the chain ends on a single
type, type i with probability p_{0,i}.

Sampler modifiers compose in the order of common text generators: the model p is turned into the sampling law

    q ∝ p^{1/T}  (temperature T),  then keep the top_k largest (ties at the k-th value kept),
    then keep types with q_i ≥ min_p · max_j q_j,  then renormalise.

Samplers:

* ``exact``: the training counts are drawn directly, c ~ Mult(N, q): never N tokens, only K counts. The
  multinomial is a nested sequence of conditional binomials (a tree of branching ≤ 256, so K ≤ 65 536 takes
  two levels), each binomial drawn exactly by inversion (mean < 10) or Stadlober's ratio-of-uniforms (mean ≥ 10),
  so a draw costs O(K) work in O(√K) vectorised steps, independently of N. When N_max·log₂K ≤ 3·10⁴·√K
  and K > 256 (e.g. K = 5·10⁴, N = 10⁵) the counts are instead the histogram of N categorical draws by inversion
  (`multinomial_by_inversion`: a binary search per token, O(N log K) work in log₂K steps), which is faster
  there; the choice depends on the config only.
* ``infinite``: the counts are replaced by their expectations N_t q (no sampling noise: the statistical
  approximation error is switched off while smoothing, temperature, truncation and data shares keep their
  finite-N weights). With T ≠ 1 and no smoothing this is the exact map p_n ∝ p_0^{T^{−n}}, computed in log
  space so it never underflows.

Policies (same names as the Gaussian family):

* ``replace``: fit on the N_t fresh tokens;
* ``accumulate``: fit on the pooled counts of every generation so far;
* ``accumulate_subsample``: add the new counts to the pool, then fit on a uniformly random N_t-subset of the
  pool drawn without replacement (a multivariate hypergeometric draw on the counts: exact in law, no tokens);
* ``fresh_real``: n_r = ⌊ρ N_t + ½⌋ fresh tokens from the truth plus N_t − n_r synthetic ones
  (as ``theory.markov.real_fraction_counts``);
* ``real_pool``: a pool of P real tokens (counts ~ Mult(P, p_0)) is drawn once at generation 0 with the
  generation-0 key; each generation takes n_r of them without replacement, plus N_t − n_r synthetic tokens.

The model is carried as log-probabilities (−inf for a type the model gives probability 0).

Batchable fields (`batchable`; they reach the step as traced :class:`Params`, so a sweep over them is one
compiled program): ``temperature``, ``min_p``, ``real_fraction`` and the truth's ``zipf_beta``, ``zipf_q``
and ``probs0`` (the truth p_0 is computed on the host, as for a single run). Temperature and min-p are always
applied: p/1 and the cut at log 0 = −inf leave the model bit for bit unchanged.

Metrics per generation (``observe``):

* ``probs``: the model p (K,), recorded only when K ≤ ``probs_max_types`` (default 1000; raise it to record
  larger models, at 8·K bytes per chain and recorded generation);
* ``entropy``: −Σ p log p (nats);  ``gini_simpson``: 1 − Σ p²;
* ``surviving``: number of types with p > 0;  ``lost_mass``: truth mass on the types with p = 0;
* ``tv``: ½ Σ |p − p_0|;
* ``kl``: KL(truth ‖ model) = Σ p_0 log(p_0/p). It is +inf as soon as the model gives 0 to a type the truth has,
  which the neutral chain does with probability → 1; average it over chains only together with ``lost_mass``
  (or use ``tv``);
* ``p_min_group``: model mass of the ``minority`` types (default: the last type, the blue cats);
* ``t_collapse``: the first generation at which a single type was left (+inf while several remain); for two
  types without smoothing or real data this is the absorption time T_abs.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..config import ConfigError, RunConfig, _is_int, check_choice, check_int, check_number, schedule
from ..core.batch_invariant import logsumexp, tree_max, tree_sum
from ..core.driver import LANES, Chain

__all__ = [
    "Categorical",
    "CategoricalConfig",
    "binomial",
    "build",
    "hypergeometric",
    "multinomial",
    "multinomial_by_inversion",
    "multivariate_hypergeometric",
]

# ----------------------------------------------------------------------------------------------------
# Exact discrete samplers (counts as float64, exact integers up to 2^53)
# ----------------------------------------------------------------------------------------------------

_D1 = 2.0 * math.sqrt(2.0 / math.e)  # ratio-of-uniforms constants (Stadlober 1989)
_D2 = 3.0 - 2.0 * math.sqrt(3.0 / math.e)
_SMALL_MEAN = 10.0  # below this mean: inversion; above: ratio-of-uniforms
_FEW_TYPES_SMALL_MEAN = 64.0  # the same for chains of at most _FEW_TYPES types
_FEW_TYPES = 16
_CHUNK = 1024  # ratio-of-uniforms work is gathered into chunks of this many entries
_STIRLING_MIN = 10.0
_MAX_BRANCH = 256
_INVERSION_WORK = 3e4  # inversion when N_max·log₂K ≤ this·√K (measured crossover of the two exact draws on CPU)


def _stirling_tail(x):
    """lgamma(x) − [(x − ½) log x − x + ½ log 2π] for x ≥ 10 (error below 1e-16 there)."""
    r = 1.0 / x
    r2 = r * r
    return r * (1.0 / 12 - r2 * (1.0 / 360 - r2 * (1.0 / 1260 - r2 / 1680)))


def lgamma_diff(a, b):
    """lgamma(a) − lgamma(b) for a, b ≥ 1 (relative error ~1e-13), without cancelling two large lgamma values.

    Stirling's series for the difference, (b − ½) log(a/b) + (a − b) log a − (a − b) + tail(a) − tail(b);
    when an argument is below 10 both are first shifted up by 10 with lgamma(x) = lgamma(x + 10) −
    log(x (x+1) ⋯ (x+9)).
    """
    shift = jnp.where(jnp.minimum(a, b) < _STIRLING_MIN, 10.0, 0.0)
    big_a, big_b = a + shift, b + shift
    d = big_a - big_b
    out = (big_b - 0.5) * jnp.log1p(d / big_b) + d * jnp.log(big_a) - d + _stirling_tail(big_a) - _stirling_tail(big_b)
    rise_a, rise_b = jnp.ones_like(a), jnp.ones_like(b)
    for j in range(10):
        rise_a, rise_b = rise_a * (a + j), rise_b * (b + j)
    return out - jnp.where(shift > 0, jnp.log(rise_a / rise_b), 0.0)


def _chop_down(u, log_pmf0, ratio, cap, active):
    """Inversion: the smallest k with u ≤ Σ_{j≤k} pmf(j), pmf(0) = e^{log_pmf0}, pmf(k+1) = pmf(k)·ratio(k).

    k stops at `cap` (set ≥ 20 standard deviations above the mean), which only matters when rounding keeps
    the accumulated cdf below u.
    """
    pmf = jnp.exp(log_pmf0)
    k = jnp.zeros_like(u)
    go = active & (u > pmf) & (k < cap)

    def cond(carry):
        return jnp.any(carry[3])

    def body(carry):
        k, pmf, cdf, go = carry
        nxt = pmf * ratio(k)
        k = jnp.where(go, k + 1.0, k)
        pmf = jnp.where(go, nxt, pmf)
        cdf = jnp.where(go, cdf + nxt, cdf)
        return k, pmf, cdf, go & (u > cdf) & (k < cap)

    return jax.lax.while_loop(cond, body, (k, pmf, pmf, go))[0]


def _ratio_of_uniforms(key, mean, var, upper, log_ratio, active):
    """Stadlober's (1989) ratio-of-uniforms for a log-concave law on 0..upper with the given mean and variance.

    Propose Z = ⌊a + s(V − ½)/U⌋, a = mean + ½, s = D1 √(var + ½) + D2 (U, V uniform), accept when
    U² ≤ pmf(Z)/pmf(mode), i.e. 2 log U ≤ T = log_ratio(Z). Squeezes: accept when U(4 − U) − 3 ≤ T and
    reject when U(U − T) ≥ 1, valid because U − 1/U ≤ 2 log U ≤ U(4 − U) − 3 on (0, 1]. Exact whenever
    √(pmf(k)/pmf(mode))·|x − a| ≤ s/2 for x in [k, k+1), which the tests check on a grid of parameters.
    """
    a = mean + 0.5
    s = _D1 * jnp.sqrt(var + 0.5) + _D2

    def cond(carry):
        return ~jnp.all(carry[1])

    def body(carry):
        i, done, out = carry
        uv = jax.random.uniform(jax.random.fold_in(key, i), (2,) + mean.shape)
        u, v = 1.0 - uv[0], uv[1]  # u in (0, 1]
        w = a + s * (v - 0.5) / u
        inside = (w >= 0) & (w < upper + 1)
        z = jnp.floor(jnp.where(inside, w, 0.0))
        t = log_ratio(z)
        accept = inside & ((u * (4.0 - u) - 3.0 <= t) | ((u * (u - t) < 1.0) & (2.0 * jnp.log(u) <= t)))
        return i + 1, done | accept, jnp.where(accept & ~done, z, out)

    return jax.lax.while_loop(cond, body, (1, ~active, jnp.zeros_like(mean)))[2]


def _on_subset(key, active, fn, arrays):
    """``fn(key, active, *arrays)`` evaluated only on the `active` entries, gathered `_CHUNK` at a time."""
    width = active.shape[0]
    if width <= _CHUNK:
        return fn(key, active, *arrays)

    def cond(carry):
        return jnp.any(carry[1])

    def body(carry):
        i, remaining, out = carry
        idx = jnp.nonzero(remaining, size=_CHUNK, fill_value=width)[0]
        valid = idx < width
        safe = jnp.where(valid, idx, 0)
        vals = fn(jax.random.fold_in(key, 2**31 + i), valid, *[x[safe] for x in arrays])
        return i + 1, remaining.at[idx].set(False, mode="drop"), out.at[idx].set(vals, mode="drop")

    return jax.lax.while_loop(cond, body, (0, active, jnp.zeros(width)))[2]


def _flat(*xs):
    xs = jnp.broadcast_arrays(*(jnp.asarray(x, float) for x in xs))
    return xs[0].shape, [x.reshape(-1) for x in xs]


def binomial(key, n, p, small_mean=_SMALL_MEAN):
    """Exact Bin(n, p) draws (float64), broadcasting n and p; p > ½ is drawn as n − Bin(n, 1 − p).

    Mean n·min(p, 1−p) < `small_mean`: inversion from 0 with one uniform (a loop of about mean + 6 sd cheap
    steps); otherwise ratio-of-uniforms (about 10 costlier steps at 10⁵ entries), on the entries that need it
    only. A larger `small_mean` suits very wide batches (e.g. 10⁵ vmapped chains); the default suits narrow ones.
    n = 0 or p ∈ {0, 1} give the obvious value.
    """
    shape, (n, p) = _flat(n, p)
    flip = p > 0.5
    q = jnp.where(flip, 1.0 - p, p)
    live = (n > 0) & (q > 0)
    mean = n * q
    small = mean < small_mean

    qs = jnp.where(small & live, q, 0.0)
    r = qs / (1.0 - qs)
    cap = jnp.minimum(n, jnp.ceil(mean + 20.0 * jnp.sqrt(mean) + 30.0))
    u = jax.random.uniform(key, n.shape)
    x_small = _chop_down(u, n * jnp.log1p(-qs), lambda k: (n - k) / (k + 1.0) * r, cap, small & live)

    def large(key, active, n, q):
        n = jnp.where(active, n, 40.0)
        q = jnp.where(active, q, 0.5)
        mode = jnp.floor((n + 1.0) * q)
        logit = jnp.log(q) - jnp.log1p(-q)

        def log_ratio(z):  # log pmf(z) − log pmf(mode)
            return -lgamma_diff(z + 1.0, mode + 1.0) - lgamma_diff(n - z + 1.0, n - mode + 1.0) + (z - mode) * logit

        return _ratio_of_uniforms(key, n * q, n * q * (1.0 - q), n, log_ratio, active)

    x_large = _on_subset(key, live & ~small, large, (n, q))
    x = jnp.where(live, jnp.where(small, x_small, x_large), 0.0)
    return jnp.where(flip, n - x, x).reshape(shape)


def hypergeometric(key, n, good, total):
    """Exact hypergeometric draws: the number of `good` items among n drawn without replacement from `total`.

    Reduced first to m = min(n, total − n) draws and g = min(good, total − good) marked items, whose support
    starts at 0; then inversion (mean < 10) or ratio-of-uniforms, as `binomial`.
    """
    shape, (n, good, total) = _flat(n, good, total)
    bad = total - good
    swap_draws = n > total - n
    m = jnp.where(swap_draws, total - n, n)
    swap_good = good > bad
    g = jnp.where(swap_good, bad, good)
    live = (m > 0) & (g > 0)
    mean = m * g / jnp.where(total > 0, total, 1.0)
    small = mean < _SMALL_MEAN

    use = small & live
    ms, gs, ts = jnp.where(use, m, 1.0), jnp.where(use, g, 1.0), jnp.where(use, total, 4.0)
    # pmf(0) = C(T − g, m) / C(T, m)
    log_pmf0 = lgamma_diff(ts - gs + 1.0, ts + 1.0) - lgamma_diff(ts - gs - ms + 1.0, ts - ms + 1.0)
    cap = jnp.minimum(jnp.minimum(ms, gs), jnp.ceil(mean + 20.0 * jnp.sqrt(mean) + 30.0))
    u = jax.random.uniform(key, n.shape)
    x_small = _chop_down(
        u, log_pmf0, lambda k: (gs - k) * (ms - k) / ((k + 1.0) * (ts - gs - ms + k + 1.0)), cap, use
    )

    def large(key, active, m, g, t):
        m = jnp.where(active, m, 40.0)
        g = jnp.where(active, g, 40.0)
        t = jnp.where(active, t, 160.0)
        b = t - g
        mode = jnp.floor((m + 1.0) * (g + 1.0) / (t + 2.0))
        var = m * g * b * (t - m) / (t * t * (t - 1.0))

        def log_ratio(z):
            return -(
                lgamma_diff(z + 1.0, mode + 1.0)
                + lgamma_diff(g - z + 1.0, g - mode + 1.0)
                + lgamma_diff(m - z + 1.0, m - mode + 1.0)
                + lgamma_diff(b - m + z + 1.0, b - m + mode + 1.0)
            )

        return _ratio_of_uniforms(key, m * g / t, var, jnp.minimum(m, g), log_ratio, active)

    x_large = _on_subset(key, live & ~small, large, (m, g, total))
    z = jnp.where(live, jnp.where(small, x_small, x_large), 0.0)
    z = jnp.where(swap_good, m - z, z)
    return jnp.where(swap_draws, good - z, z).reshape(shape)


def _layout(K: int) -> tuple[int, int]:
    """Depth d and branching b (b^d ≥ K, b ≤ 256) of the nested draw."""
    d = max(1, math.ceil(math.log(K) / math.log(_MAX_BRANCH) - 1e-12))
    b = max(2, math.ceil(K ** (1.0 / d) - 1e-9))
    while b**d < K:
        b += 1
    return d, b


def _nested(key, n, weights, draw):
    """Split n items over K cells with conditional draws: ``draw(key, rem, w_i, tail_i)`` gives the share of
    cell i among `rem` items left for cells i, i+1, … whose weights sum to tail_i. Cells are grouped in a
    b-ary tree of depth d; each level is one `lax.scan` of b − 1 vectorised draws (the last cell of each
    group takes the remainder)."""
    K = weights.shape[-1]
    if K == 1:
        return jnp.reshape(jnp.asarray(n, float), (1,))
    d, b = _layout(K)
    sums = [jnp.pad(weights, (0, b**d - K))]
    for _ in range(d - 1):
        sums.append(tree_sum(sums[-1].reshape(-1, b), axis=1))
    counts = jnp.reshape(jnp.asarray(n, float), (1,))
    for level in range(d):
        w = sums[d - 1 - level].reshape(-1, b)
        tail = jnp.flip(jnp.cumsum(jnp.flip(w, 1), 1), 1)
        keys = jax.random.split(jax.random.fold_in(key, level), b - 1)

        def step(rem, xs):
            k, wi, ti = xs
            x = draw(k, rem, wi, ti)
            return rem - x, x

        rem, x = jax.lax.scan(step, counts, (keys, w[:, :-1].T, tail[:, :-1].T))
        counts = jnp.concatenate([x.T, rem[:, None]], axis=1).reshape(-1)
    return counts[:K]


def multinomial(key, n, probs, small_mean=_SMALL_MEAN):
    """Exact Mult(n, probs) counts (float64, shape (K,)) without materialising n tokens."""

    def draw(k, rem, w, tail):
        return binomial(k, rem, jnp.clip(w / jnp.where(tail > 0, tail, 1.0), 0.0, 1.0), small_mean)

    return _nested(key, n, jnp.asarray(probs, float), draw)


def multinomial_by_inversion(key, n, probs, n_max: int):
    """Exact Mult(n, probs) counts for n ≤ n_max as the histogram of n iid categorical draws.

    Each draw takes the first type whose cumulative weight F_i exceeds U·F_K (binary search), U uniform on
    [0, 1); U·F_K is kept below F_K so a type of probability 0 is never drawn. n_max uniforms are drawn and
    those beyond n are dropped, so n may be traced.
    """
    probs = jnp.asarray(probs, float)
    cdf = jnp.cumsum(probs)
    total = cdf[-1]
    u = jnp.minimum(jax.random.uniform(key, (n_max,)) * total, jnp.nextafter(total, 0.0))
    types = jnp.searchsorted(cdf, u, side="right")
    types = jnp.where(jnp.arange(n_max) < n, types, probs.shape[-1])
    return jnp.zeros(probs.shape[-1]).at[types].add(1.0, mode="drop")


def multivariate_hypergeometric(key, n, pool):
    """Counts of a uniformly random n-subset (without replacement) of a pool given by its counts (K,)."""

    def draw(k, rem, w, tail):
        return hypergeometric(k, rem, w, tail)

    return _nested(key, n, jnp.asarray(pool, float), draw)


# ----------------------------------------------------------------------------------------------------
# Configuration
# ----------------------------------------------------------------------------------------------------

TRUTHS = ("cats", "uniform", "zipf", "zipf_mandelbrot", "probs")
SAMPLERS = ("exact", "infinite")
POLICIES = ("replace", "accumulate", "accumulate_subsample", "fresh_real", "real_pool")
METRICS = ("probs", "entropy", "gini_simpson", "surviving", "lost_mass", "tv", "kl", "p_min_group", "t_collapse")
PROBS_TOL = 1e-6
MAX_TYPES = 10**7
MAX_POOL = 2**53


@dataclasses.dataclass(frozen=True)
class CategoricalConfig(RunConfig):
    """Categorical chain (docs/theory.md §C). Fields beyond the run fields:

    truth: cats | uniform | zipf | zipf_mandelbrot | probs. Left out it is inferred: ``probs`` when probs0 is
        given, ``zipf`` when zipf_beta is, ``uniform`` when num_types is, else ``cats`` = (0.9 yellow, 0.1 blue).
    probs0: the truth as a list of K probabilities (≥ 0, summing to 1 within 1e-6, then renormalised);
        giving it sets truth = "probs".
    num_types: K for uniform / zipf / zipf_mandelbrot (resolved to K for every truth).
    zipf_beta: β of p_i ∝ (i + zipf_q)^{−β}, i = 1..K.   zipf_q: the Mandelbrot offset (> −1).
    n_samples: N_t, an integer or a schedule (see `simcollapse.config.schedule`).
    alpha: additive smoothing α ≥ 0.
    temperature: T > 0.   top_k: None (off) or k ≥ 1.   min_p: in [0, 1), 0 = off.
    sampler: exact | infinite.
    policy: replace | accumulate | accumulate_subsample | fresh_real | real_pool.
    real_fraction: ρ for fresh_real / real_pool.   pool_size: P for real_pool.
    minority: type indices whose total mass is ``p_min_group`` (default: the last type).
    metrics: recorded statistics, from ``METRICS``.
    probs_max_types: ``probs`` is recorded only when K is at most this.
    """

    family = "categorical"
    truth: Any = None
    probs0: Any = None
    num_types: Any = None
    zipf_beta: Any = None
    zipf_q: float = 0.0
    n_samples: Any = 100
    alpha: float = 0.0
    temperature: float = 1.0
    top_k: Any = None
    min_p: float = 0.0
    sampler: str = "exact"
    policy: str = "replace"
    real_fraction: float = 0.1
    pool_size: int = 1000
    minority: Any = None
    metrics: tuple = METRICS
    probs_max_types: int = 1000

    def validate(self) -> None:
        set_ = lambda name, value: object.__setattr__(self, name, value)
        truth = self.truth
        if self.probs0 is not None:
            if truth not in (None, "cats", "probs"):
                raise ConfigError("truth", f"probs0 is given, so truth must be 'probs' (or left out); got {truth!r}")
            truth = "probs"
        elif truth is None:
            truth = "zipf" if self.zipf_beta is not None else "uniform" if self.num_types is not None else "cats"
        check_choice("truth", truth, TRUTHS)
        set_("truth", truth)
        if truth == "probs":
            p = _check_probs(self.probs0)
            set_("probs0", [float(x) for x in p])
            if self.num_types is not None and self.num_types != p.size:
                raise ConfigError("num_types", f"must equal len(probs0) = {p.size}, got {self.num_types!r}")
            set_("num_types", int(p.size))
        elif truth == "cats":
            if self.num_types not in (None, 2):
                raise ConfigError("num_types", f"truth 'cats' has 2 types, got {self.num_types!r}")
            set_("num_types", 2)
        else:
            if self.num_types is None:
                raise ConfigError("num_types", f"truth {truth!r} needs num_types (the number of types K)")
            set_("num_types", check_int("num_types", self.num_types, 1))
            if self.num_types > MAX_TYPES:
                raise ConfigError("num_types", f"must be ≤ {MAX_TYPES}, got {self.num_types}")
            if truth in ("zipf", "zipf_mandelbrot"):
                if self.zipf_beta is None:
                    raise ConfigError("zipf_beta", f"truth {truth!r} needs zipf_beta (the exponent β ≥ 0)")
                set_("zipf_beta", check_number("zipf_beta", self.zipf_beta, low=0.0))
        check_number("zipf_q", self.zipf_q, low=-1.0, low_open=True)
        K = self.num_types

        sizes = schedule(self.n_samples, self.generations)
        if sizes.min() < 1:
            raise ConfigError("n_samples", f"must be ≥ 1 in every generation, got {sizes.min()}")
        check_number("alpha", self.alpha, low=0.0)
        check_number("temperature", self.temperature, low=0.0, low_open=True)
        if self.top_k is not None:
            check_int("top_k", self.top_k, 1)
        check_number("min_p", self.min_p, 0.0, 1.0, high_open=True)
        check_choice("sampler", self.sampler, SAMPLERS)
        check_choice("policy", self.policy, POLICIES)
        check_number("real_fraction", self.real_fraction, 0.0, 1.0)
        check_int("pool_size", self.pool_size, 1)
        check_int("probs_max_types", self.probs_max_types, 0)
        if self.policy == "real_pool":
            n_real = np.floor(self.real_fraction * sizes + 0.5)
            if n_real.max() > self.pool_size:
                raise ConfigError(
                    "pool_size", f"must be ≥ the real tokens per generation ({int(n_real.max())}), got {self.pool_size}"
                )
        if self.policy in ("accumulate", "accumulate_subsample") and float(np.sum(sizes, dtype=float)) >= MAX_POOL:
            raise ConfigError("n_samples", "the pooled counts would exceed 2^53 tokens (float64 integers)")

        minority = [K - 1] if self.minority is None else self.minority
        if isinstance(minority, (int, np.integer)) and not isinstance(minority, bool):
            minority = [minority]
        if (
            not isinstance(minority, (list, tuple))
            or not minority
            or not all(_is_int(i) and 0 <= i < K for i in minority)
            or len(set(minority)) != len(minority)
        ):
            raise ConfigError("minority", f"must be a non-empty list of distinct type indices in [0, {K}), got {minority!r}")
        set_("minority", tuple(int(i) for i in minority))
        if isinstance(self.metrics, str) or not self.metrics or not all(m in METRICS for m in self.metrics):
            raise ConfigError("metrics", f"must be a non-empty list drawn from {', '.join(METRICS)}; got {self.metrics!r}")
        set_("metrics", tuple(self.metrics))

    # --- derived ------------------------------------------------------------------------------------
    def probs(self) -> np.ndarray:
        """The truth p_0 as a float64 array of length K."""
        from ..theory import categorical as theory

        if self.truth == "probs":
            p = np.asarray(self.probs0, dtype=float)
            return p / p.sum()
        if self.truth == "cats":
            return theory.cats()
        if self.truth == "uniform":
            return theory.uniform(self.num_types)
        q = 0.0 if self.truth == "zipf" else self.zipf_q
        return theory.zipf_mandelbrot(self.zipf_beta, q, self.num_types)

    def sizes(self) -> np.ndarray:
        return schedule(self.n_samples, self.generations)

    def real_counts(self) -> tuple[np.ndarray, np.ndarray]:
        """(n_real, n_synthetic) per generation; n_real = ⌊ρ N_t + ½⌋ under fresh_real / real_pool, else 0."""
        sizes = self.sizes()
        real = np.floor(self.real_fraction * sizes + 0.5).astype(np.int64)
        if self.policy not in ("fresh_real", "real_pool"):
            real = np.zeros_like(real)
        return real, sizes - real

    def records_probs(self) -> bool:
        """Whether ``probs`` is recorded (it is requested and K ≤ probs_max_types)."""
        return "probs" in self.metrics and self.num_types <= self.probs_max_types

    @property
    def neutral_sampler(self) -> bool:
        """No temperature, top-k or min-p: the sampling law is the model itself."""
        return (
            self.temperature == 1.0
            and (self.top_k is None or self.top_k >= self.num_types)
            and self.min_p == 0.0
        )


def _check_probs(values) -> np.ndarray:
    try:
        p = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ConfigError("probs0", f"must be a list of probabilities, got {values!r}") from None
    if p.ndim != 1 or p.size == 0:
        raise ConfigError("probs0", f"must be a non-empty flat list of probabilities, got {values!r}")
    if p.size > MAX_TYPES:
        raise ConfigError("probs0", f"must have at most {MAX_TYPES} entries, got {p.size}")
    if not np.all(np.isfinite(p)):
        raise ConfigError("probs0", "must hold finite numbers (no NaN or inf)")
    if np.any(p < 0):
        raise ConfigError("probs0", f"must be ≥ 0; entry {int(np.argmin(p))} is {p.min()}")
    total = float(p.sum())
    if abs(total - 1.0) > PROBS_TOL:
        raise ConfigError("probs0", f"must sum to 1 (within {PROBS_TOL}); sums to {total!r}")
    return p


# ----------------------------------------------------------------------------------------------------
# Chain
# ----------------------------------------------------------------------------------------------------


class State(NamedTuple):
    t: jax.Array  # generation index of the current model
    logp: jax.Array  # (K,) log-probabilities of the model, −inf for lost types
    pool: Any  # (K,) pooled counts (accumulate*), the real pool (real_pool), or None
    t_collapse: jax.Array  # first generation with a single type left (+inf before)


class Params(NamedTuple):
    """Per-chain settings: the truth p_0 and log p_0 (K,), T, log min_p (−inf when off), and the real and
    synthetic counts n_r = ⌊ρN_t + ½⌋, N_t − n_r per generation (float64, (generations,))."""

    p0: Any
    logp0: Any
    temperature: Any
    log_min_p: Any
    n_real: Any
    n_synth: Any


def params(config: CategoricalConfig) -> Params:
    p0 = config.probs()
    with np.errstate(divide="ignore"):
        logp0 = np.log(p0)
    log_min_p = math.log(config.min_p) if config.min_p > 0 else -math.inf
    real, synth = config.real_counts()
    return Params(p0, logp0, np.float64(config.temperature), np.float64(log_min_p), real.astype(float),
                  synth.astype(float))


def batchable(config: CategoricalConfig) -> tuple[str, ...]:
    """Fields that enter only through `params` (top_k, K and N_t set array shapes or loop bounds)."""
    return ("temperature", "min_p", "real_fraction", "zipf_beta", "zipf_q", "probs0")


class Categorical:
    """Chain pieces for one resolved config: pure functions closed over its static settings, reading the
    batchable ones from `params` (this config's own when None)."""

    def __init__(self, config: CategoricalConfig):
        self.config = c = config
        self.K = c.num_types
        self.own = params(c)
        sizes = c.sizes()
        self.sizes = jnp.asarray(sizes, float)
        self.pooled = jnp.asarray(np.cumsum(sizes), float)  # pool size after generation t's tokens
        self.alpha = float(c.alpha)
        # With few types the work is one narrow draw per chain, vmapped over many chains: compute-bound, so
        # the cheap inversion steps are used further. (A function of the config only, never of the number
        # of chains, so a chain's trajectory does not depend on how many run.)
        self.small_mean = _FEW_TYPES_SMALL_MEAN if self.K <= _FEW_TYPES else _SMALL_MEAN
        self.n_max = int(sizes.max())
        self.by_inversion = self.K > _MAX_BRANCH and (
            self.n_max * math.log2(self.K) <= _INVERSION_WORK * math.sqrt(self.K))
        mask = np.zeros(self.K, bool)
        mask[list(c.minority)] = True
        self.minority = jnp.asarray(mask)
        self.metrics = tuple(m for m in c.metrics if m != "probs" or c.records_probs())
        if "probs" in c.metrics and "probs" not in self.metrics:
            warnings.warn(
                f"categorical: 'probs' is not recorded (K = {self.K} > probs_max_types = {c.probs_max_types}); "
                "raise probs_max_types to record it",
                stacklevel=3,
            )

    # --- the sampling law and the fit -----------------------------------------------------------
    def sampling_log_probs(self, logp, p: Params):
        """log q: temperature, then top-k, then min-p, renormalised."""
        c = self.config
        z = logp / p.temperature
        if c.top_k is not None and c.top_k < self.K:
            kth = jax.lax.top_k(z, c.top_k)[0][-1]
            z = jnp.where(z >= kth, z, -jnp.inf)
        z = jnp.where(z >= p.log_min_p + tree_max(z), z, -jnp.inf)
        return z - logsumexp(z)

    def multinomial(self, key, n, q):
        """Mult(n, q) counts by whichever exact draw is faster for this config (module docstring)."""
        if self.by_inversion:
            return multinomial_by_inversion(key, n, q, self.n_max)
        return multinomial(key, n, q, self.small_mean)

    def fit(self, counts, total):
        """log of (c + α)/(total + Kα)."""
        if self.alpha == 0.0:
            return jnp.log(counts) - jnp.log(total)
        return jnp.log(counts + self.alpha) - jnp.log(total + self.K * self.alpha)

    def fit_log(self, log_counts, total):
        """As `fit`, from log-counts (infinite sampler: keeps the T^{−n} map in log space)."""
        if self.alpha == 0.0:
            return log_counts - jnp.log(total)
        return jnp.logaddexp(log_counts, math.log(self.alpha)) - jnp.log(total + self.K * self.alpha)

    # --- one generation ---------------------------------------------------------------------------
    def _params(self, params: Params | None) -> Params:
        return jax.tree.map(jnp.asarray, self.own if params is None else params)

    def init(self, key, params: Params | None = None) -> State:
        policy, c, p = self.config.policy, self.config, self._params(params)
        pool = None
        if policy in ("accumulate", "accumulate_subsample"):
            pool = jnp.zeros(self.K)
        elif policy == "real_pool":
            pool = multinomial(key, c.pool_size, p.p0)
        alive = jnp.sum(p.p0 > 0)
        return State(jnp.asarray(0, jnp.int32), p.logp0, pool, jnp.where(alive == 1, 0.0, jnp.inf))

    def _exact(self, key, state: State, logq, p: Params):
        policy, t = self.config.policy, state.t
        n, n_r, n_s = self.sizes[t], p.n_real[t], p.n_synth[t]
        q = jnp.exp(logq)
        k_synth, k_real = jax.random.split(key)
        pool = state.pool
        if policy == "replace":
            return self.fit(self.multinomial(k_synth, n, q), n), pool
        if policy == "accumulate":
            pool = pool + self.multinomial(k_synth, n, q)
            return self.fit(pool, self.pooled[t]), pool
        if policy == "accumulate_subsample":
            pool = pool + self.multinomial(k_synth, n, q)
            return self.fit(multivariate_hypergeometric(k_real, n, pool), n), pool
        if policy == "fresh_real":  # both draws in one vectorised call
            both = jax.vmap(self.multinomial)(
                jnp.stack([k_synth, k_real]), jnp.stack([n_s, n_r]), jnp.stack([q, p.p0])
            )
            return self.fit(both[0] + both[1], n), pool  # not .sum(axis=0): a fused reduce vectorises by batch
        counts = self.multinomial(k_synth, n_s, q) + multivariate_hypergeometric(k_real, n_r, pool)
        return self.fit(counts, n), pool

    def _infinite(self, state: State, logq, p: Params):
        policy, t = self.config.policy, state.t
        n, n_r, n_s = self.sizes[t], p.n_real[t], p.n_synth[t]
        pool = state.pool
        if policy == "replace":
            return (logq if self.alpha == 0.0 else self.fit_log(jnp.log(n) + logq, n)), pool
        q = jnp.exp(logq)
        if policy == "accumulate":
            pool = pool + n * q
            return self.fit(pool, self.pooled[t]), pool
        if policy == "accumulate_subsample":  # the subsample's expected counts: n × pool frequencies
            pool = pool + n * q
            return self.fit(n * pool / self.pooled[t], n), pool
        real = p.p0 if policy == "fresh_real" else pool / self.config.pool_size
        return self.fit(n_s * q + n_r * real, n), pool

    def step(self, key, state: State, params: Params | None = None) -> State:
        p = self._params(params)
        logq = self.sampling_log_probs(state.logp, p)
        if self.config.sampler == "infinite":
            logp, pool = self._infinite(state, logq, p)
        else:
            logp, pool = self._exact(key, state, logq, p)
        t = state.t + 1
        single = jnp.sum(logp > -jnp.inf) == 1
        t_collapse = jnp.where(single & jnp.isinf(state.t_collapse), t.astype(float), state.t_collapse)
        return State(t, logp, pool, t_collapse)

    # --- metrics ----------------------------------------------------------------------------------
    def observe(self, state: State, params: Params | None = None) -> dict:
        p0, logp0 = self._params(params)[:2]
        logp = state.logp
        alive = logp > -jnp.inf
        p = jnp.exp(logp)
        safe = jnp.where(alive, logp, 0.0)
        # the sums over types, one tree_sum for all of them (each would add its own log₂ K steps to compile)
        terms = {
            "entropy": lambda: -p * safe,
            "gini_simpson": lambda: p * p,
            "lost_mass": lambda: jnp.where(alive, 0.0, p0),
            "tv": lambda: 0.5 * jnp.abs(p - p0),
            "kl": lambda: jnp.where(p0 > 0, jnp.where(alive, p0 * (jnp.where(p0 > 0, logp0, 0.0) - safe), jnp.inf),
                                    0.0),
            "p_min_group": lambda: jnp.where(self.minority, p, 0.0),
        }
        summed = [name for name in self.metrics if name in terms]
        sums = dict(zip(summed, tree_sum(jnp.stack([terms[name]() for name in summed]), axis=-1))) if summed else {}
        out = {}
        for name in self.metrics:
            if name == "probs":
                out[name] = p
            elif name == "gini_simpson":
                out[name] = 1.0 - sums[name]
            elif name in sums:
                out[name] = sums[name]
            elif name == "surviving":
                out[name] = jnp.sum(alive).astype(float)
            elif name == "t_collapse":
                out[name] = state.t_collapse
        return out

    def chain(self) -> Chain:
        # Bit-exact in any batch: every float sum over types is batch-invariant (core.batch_invariant), and the
        # chain axis is padded so that chains × K, the length of the elementwise loops over (chain, type), is a
        # multiple of LANES (XLA then vectorises every element alike, with or without fused multiply-adds).
        # 64 lanes for any K would cost 16× at K = 5·10⁴ with a few chains; LANES / gcd(K, LANES) costs nothing.
        lanes = LANES // math.gcd(self.K, LANES)
        return Chain(self.init, self.step, self.observe, lanes=lanes, unbounded=("kl", "t_collapse"))


def build(config: CategoricalConfig) -> Chain:
    """The chain of `config` (reads neither seed, chains nor record_every)."""
    return Categorical(config).chain()
