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

* ``exact``: the training counts are drawn directly, c ~ Mult(N, q): never N tokens, only K counts
  (``samplers.multinomial``). The multinomial is a nested sequence of conditional binomials (a tree of
  branching ≤ 256, so K ≤ 65 536 takes two levels), each binomial drawn exactly by inversion (mean below 10,
  or 64 for K ≤ 16) or Stadlober's ratio-of-uniforms, so a draw costs O(K) work in O(√K) vectorised steps,
  independently of N. When N_max·log₂K ≤ 3·10⁴·√K and K > 256 (e.g. K = 5·10⁴, N = 10⁵) the counts are
  instead the histogram of N categorical draws by inversion (`multinomial_by_inversion`: a binary search per
  token, O(N log K) work in log₂K steps), which is faster there; the choice depends on the config only. The
  step's key gives fold(key, 0) to the synthetic draw and fold(key, 1) to the real one.
* ``infinite``: the counts are replaced by their expectations N_t q (no sampling noise: the statistical
  approximation error is switched off while smoothing, temperature, truncation and data shares keep their
  finite-N weights). With T ≠ 1 and no smoothing this is the exact map p_n ∝ p_0^{T^{−n}}, computed in log
  space so it never underflows.

Policies (:mod:`simcollapse.policies`, the same functions for every family, here over the counts):

* ``replace``: fit on the N_t fresh tokens;
* ``accumulate``: fit on the pooled counts of every generation so far;
* ``accumulate_subsample``: add the new counts to the pool, then fit on a uniformly random N_t-subset of the
  pool drawn without replacement (a multivariate hypergeometric draw on the counts: exact in law, no tokens);
* ``fresh_real``: n_r = ⌊ρ N_t + ½⌋ fresh tokens from the truth plus N_t − n_r synthetic ones
  (as ``theory.markov.real_fraction_counts``);
* ``real_pool``: a pool of P real tokens (counts ~ Mult(P, p_0)) is drawn once at generation 0 with the
  generation-0 key; each generation takes n_r of them without replacement, plus N_t − n_r synthetic tokens.

Curated resampling (``curation_k`` = K > 1, ``rewards`` r; Ferbach et al., NeurIPS 2024; docs/theory.md §R):
each synthetic training token is the Luce choice among K draws of the sampling law q, so the tokens are i.i.d.
from the curation map q̃(q) (``theory.curation.curated_probs``, a quadrature exact to ~10⁻¹³) and the counts are
Mult(N, q̃), drawn exactly; ``infinite`` follows the map itself. Real tokens are never curated.

Ecosystems (``models`` = m > 1, ``own_share`` = s; docs/theory.md §I): m models evolve together under
``replace``; model i is fitted to N_t tokens drawn from Σ_j W_ij q_j, W = s I + (1 − s)/(m − 1)(J − I), the
models' sampling laws mixed (its draw from fold(key, i)); the statistics are then ``gini_simpson_models``,
``gini_simpson_mixture`` and ``between_model_sq_dist``.

The model is carried as log-probabilities (−inf for a type the model gives probability 0).

Batchable fields (`batchable`; they reach the step as traced :class:`Params`, so a sweep over them is one
compiled program): ``temperature``, ``min_p``, ``real_fraction`` and the truth's ``zipf_beta``, ``zipf_q``
and ``probs0`` (the truth p_0 is computed on the host, as for a single run). Temperature and min-p are always
applied: p/1 and the cut at log 0 = −inf leave the model bit for bit unchanged.

Metrics per generation (``observe``):

* ``probs``: the model p (K,), recorded only when K ≤ ``probs_max_types`` (default 1000; raise it to record
  larger models, at 8·K bytes per chain and recorded generation);
* ``entropy``: −Σ p log p (nats);  ``gini_simpson``: 1 − Σ p²;
* ``surviving``: number of types with p > 0;  ``surviving_fraction`` (on request): the share of the types present
  in generation 1's shared sample (``shared_first_sample``), or in the truth, that have p > 0;
  ``lost_mass``: truth mass on the types with p = 0;
* ``tv``: ½ Σ |p − p_0|;
* ``kl``: KL(truth ‖ model) = Σ p_0 log(p_0/p). It is +inf as soon as the model gives 0 to a type the truth has,
  which the neutral chain does with probability → 1; average it over chains only together with ``lost_mass``
  (or use ``tv``);
* ``expected_reward``: Σ p_i r_i under the config's ``rewards`` (curated resampling, docs/theory.md §R);
* ``p_min_group``: model mass of the ``minority`` types (default: the last type, the blue cats);
* ``t_collapse``: the first generation at which a single type was left (+inf while several remain); for two
  types without smoothing or real data this is the absorption time T_abs.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..config.categorical import CategoricalConfig
from ..core.batch_invariant import logsumexp, tree_max, tree_sum
from ..core.driver import LANES, Chain
from ..policies import POLICIES, Sizes
from ..samplers import bits
from ..samplers.binomial import SMALL_MEAN
from ..samplers.multinomial import MAX_BRANCH, multinomial, multinomial_by_inversion, multivariate_hypergeometric
from ..theory.curation import curated_probs

__all__ = ["Categorical", "CategoricalConfig", "build"]

# With few types the work is one narrow draw per chain, vmapped over many chains: compute-bound, so the cheap
# inversion steps are used further (a function of the config only, never of the number of chains, so a
# chain's trajectory does not depend on how many run).
FEW_TYPES_SMALL_MEAN = 64.0
FEW_TYPES = 16
INVERSION_WORK = 3e4  # inversion when N_max·log₂K ≤ this·√K (measured crossover of the two exact draws on CPU)


class State(NamedTuple):
    t: jax.Array  # generation index of the current model
    logp: jax.Array  # (K,) log-probabilities of the model, −inf for lost types
    pool: Any  # the policy's: Tokens (accumulate), pooled counts (accumulate_subsample), the real pool, None
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
    first_counts: Any  # (K,) generation 1's shared token counts (shared_first_sample), else zeros
    reference: Any  # (K,) 1.0 on the types surviving_fraction counts from: present in generation 1's shared
    # sample, else in the truth


SHARED_KEY = 2**32 - 1  # fold(key(seed), SHARED_KEY) draws the shared first sample; chains have indices below it


def shared_first_counts(config: CategoricalConfig) -> np.ndarray:
    """Generation 1's token counts under ``shared_first_sample`` (Suresh et al.'s convention), the same for
    every chain: Mult(N_1, p_0), N_1 tokens each drawn by inversion of the truth's distribution function from
    the uniforms of key fold(key(seed), 2³² − 1). Drawn on the host, before anything compiles."""
    p0 = config.probs()
    with jax.enable_x64(True):
        key = bits.fold(bits.seed_key(config.seed), np.uint32(SHARED_KEY))
        u = np.asarray(bits.uniform(key, (int(config.sizes()[0]),)))
    last = int(np.flatnonzero(p0 > 0)[-1])  # u beyond a cumulative sum that rounded below 1
    tokens = np.minimum(np.searchsorted(np.cumsum(p0), u, side="right"), last)
    return np.bincount(tokens, minlength=p0.size).astype(float)


def params(config: CategoricalConfig) -> Params:
    p0 = config.probs()
    with np.errstate(divide="ignore"):
        logp0 = np.log(p0)
    log_min_p = math.log(config.min_p) if config.min_p > 0 else -math.inf
    real, synth = config.real_counts()
    first = shared_first_counts(config) if config.shared_first_sample else np.zeros(p0.size)
    reference = ((first if config.shared_first_sample else p0) > 0).astype(float)
    return Params(p0, logp0, np.float64(config.temperature), np.float64(log_min_p), real.astype(float),
                  synth.astype(float), first, reference)


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
        # host arrays: the chain's functions are traced in float64 (the driver's), whatever the caller's default
        self.sizes = np.asarray(sizes, float)
        self.pooled = np.cumsum(self.sizes)  # pool size after generation t's tokens
        self.alpha = float(c.alpha)
        self.small_mean = FEW_TYPES_SMALL_MEAN if self.K <= FEW_TYPES else SMALL_MEAN
        self.n_max = int(sizes.max())
        self.by_inversion = self.K > MAX_BRANCH and (
            self.n_max * math.log2(self.K) <= INVERSION_WORK * math.sqrt(self.K))
        self.policy = POLICIES[c.policy]
        self.curated = c.curation_k > 1
        self.models = c.models
        if c.models > 1:  # the ecosystem's mixing weights (docs/theory.md §I.1)
            from ..theory.ecosystem import mixing_matrix

            self.mixing = mixing_matrix(c.models, c.own_share)
        self.rewards = np.zeros(self.K) if c.rewards is None else np.asarray(c.rewards, float)
        self.minority = np.zeros(self.K, bool)
        self.minority[list(c.minority)] = True
        self.metrics = tuple(m for m in c.metrics if m != "probs" or c.records_probs())
        if "probs" in c.metrics and "probs" not in self.metrics:
            warnings.warn(
                f"categorical: 'probs' is not recorded (K = {self.K} > probs_max_types = {c.probs_max_types}); "
                "raise probs_max_types to record it",
                stacklevel=3,
            )

    # --- the sampling law and the fit -----------------------------------------------------------
    def sampling_log_probs(self, logp, p: Params):
        """log q: temperature, then top-k, then min-p, renormalised; then curation."""
        c = self.config
        z = logp / p.temperature
        if c.top_k is not None and c.top_k < self.K:
            kth = jax.lax.top_k(z, c.top_k)[0][-1]
            z = jnp.where(z >= kth, z, -jnp.inf)
        z = jnp.where(z >= p.log_min_p + tree_max(z), z, -jnp.inf)
        z = z - logsumexp(z)
        if self.curated:  # each training token the Luce choice among K draws of that law (docs/theory.md §R.1)
            return jnp.log(curated_probs(jnp.exp(z), self.rewards, c.curation_k, jnp, tree_sum))
        return z

    def multinomial(self, key, n, q):
        """Mult(n, q) counts by whichever exact draw is faster for this config (module docstring)."""
        if self.by_inversion:
            return multinomial_by_inversion(key, n, q, self.n_max)
        return multinomial(key, n, q, self.small_mean, self.n_max)

    def subsample(self, key, n, pool):
        """The counts of a uniformly random n-subset of the pooled counts."""
        return multivariate_hypergeometric(key, n, pool, self.small_mean, self.n_max)

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
        p = self._params(params)
        alive = jnp.sum(p.p0 > 0)
        # strongly typed, as the step's: a weakly typed carry would compile the generation loop twice
        t_collapse = jnp.asarray(jnp.where(alive == 1, 0.0, jnp.inf), jnp.float64)
        logp = p.logp0 if self.models == 1 else jnp.broadcast_to(p.logp0, (self.models, self.K))
        return State(jnp.asarray(0, jnp.int32), logp, self.policy.start(CategoricalData(self, p), key), t_collapse)

    def step(self, key, state: State, params: Params | None = None) -> State:
        p = self._params(params)
        n = Sizes(state.t, jnp.asarray(self.sizes)[state.t], p.n_real[state.t], p.n_synth[state.t])
        if self.models > 1:
            return self.ecosystem_step(key, state, p, n)
        logq = self.sampling_log_probs(state.logp, p)
        logp, pool = self.policy.step(CategoricalData(self, p), key, logq, state.pool, n)
        if self.config.shared_first_sample:  # generation 1 is the one sample every chain shares
            logp = jnp.where(state.t == 0, self.fit(p.first_counts, self.sizes[0]), logp)
        t = state.t + 1
        single = jnp.sum(logp > -jnp.inf) == 1
        t_collapse = jnp.where(single & jnp.isinf(state.t_collapse), t.astype(float), state.t_collapse)
        return State(t, logp, pool, t_collapse)

    def ecosystem_step(self, key, state: State, p: Params, n: Sizes) -> State:
        """m models (policy replace): model i is fitted to N_t tokens of the mixture Σ_j W_ij q_j of the models'
        sampling laws (docs/theory.md §I.1), its draw from fold(key, i); t_collapse: one type left in every model."""
        q = jnp.exp(jax.vmap(lambda logp: self.sampling_log_probs(logp, p))(state.logp))  # (m, K)
        mixed = [sum(self.mixing[i, j] * q[j] for j in range(self.models)) for i in range(self.models)]  # unrolled
        logq = jnp.log(jnp.stack(mixed))  # −inf for a type no model gives mass
        keys = jax.vmap(lambda i: bits.fold(key, i))(jnp.arange(self.models))
        data = CategoricalData(self, p)
        logp = jax.vmap(lambda k, lq: self.policy.step(data, k, lq, state.pool, n)[0])(keys, logq)
        t = state.t + 1
        single = jnp.all(jnp.sum(logp > -jnp.inf, axis=-1) == 1)
        t_collapse = jnp.where(single & jnp.isinf(state.t_collapse), t.astype(float), state.t_collapse)
        return State(t, logp, state.pool, t_collapse)

    def observe_ecosystem(self, state: State) -> dict:
        """Gini–Simpson of each model (mean over models) and of the uniform mixture, and the mean over ordered
        pairs of ‖p_i − p_j‖² = 2m/(m − 1)·(mean_i ‖p_i‖² − ‖p̄‖²) (docs/theory.md §I.1)."""
        m = self.models
        p = jnp.exp(state.logp)
        squares = tree_sum(p * p, axis=-1)  # (m,)
        own = sum(squares[i] for i in range(m)) / m
        mixture = sum(p[i] for i in range(m)) / m
        pooled = tree_sum(mixture * mixture, axis=-1)
        out = {"gini_simpson_models": 1.0 - own, "gini_simpson_mixture": 1.0 - pooled,
               "between_model_sq_dist": 2.0 * m / (m - 1) * (own - pooled)}
        return {name: out[name] for name in self.metrics}

    # --- metrics ----------------------------------------------------------------------------------
    def observe(self, state: State, params: Params | None = None) -> dict:
        if self.models > 1:
            return self.observe_ecosystem(state)
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
            "expected_reward": lambda: p * self.rewards,
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
            elif name == "surviving_fraction":
                reference = self._params(params).reference
                out[name] = tree_sum(jnp.where(alive, reference, 0.0)) / tree_sum(reference)
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


class Tokens(NamedTuple):
    """Sufficient statistics of a token set: the counts c (K,) and their total (float64)."""

    counts: Any
    total: Any


class CategoricalData:
    """The categorical chain's statistics for the policies (:class:`simcollapse.policies.Data`): token counts,
    drawn exactly (``exact``) or replaced by their expectations (``infinite``); the model the draws read is the
    sampling law log q; `p` is the step's params."""

    split_keys = True

    def __init__(self, chain: Categorical, p: Params):
        self.chain, self.p = chain, p
        self.infinite = chain.config.sampler == "infinite"

    def _draw(self, key, q, n):
        return n * q if self.infinite else self.chain.multinomial(key, n, q)

    def fit_fresh(self, key, logq, n):
        chain = self.chain
        if self.infinite:  # in log space: with T ≠ 1 the map p_n ∝ p_0^{T^{−n}} never underflows
            return logq if chain.alpha == 0.0 else chain.fit_log(jnp.log(n) + logq, n)
        return chain.fit(self._draw(key, jnp.exp(logq), n), n)

    def synthetic(self, key, logq, n) -> Tokens:
        return Tokens(self._draw(key, jnp.exp(logq), n), n)

    def real(self, key, n) -> Tokens:
        return Tokens(self._draw(key, self.p.p0, n), n)

    def combine(self, a: Tokens, b: Tokens) -> Tokens:
        return Tokens(a.counts + b.counts, a.total + b.total)

    def empty(self) -> Tokens:
        return Tokens(jnp.zeros(self.chain.K), jnp.asarray(0.0))

    def fit(self, tokens: Tokens, logq):
        return self.chain.fit(tokens.counts, tokens.total)

    # accumulate_subsample: the pooled counts of every generation
    def empty_store(self):
        return jnp.zeros(self.chain.K)

    def store(self, pool, key, logq, n, t):
        return pool + self._draw(key, jnp.exp(logq), n)

    def subsample(self, key, pool, n, t) -> Tokens:
        """A multivariate hypergeometric draw on the counts (no tokens); its expectation n × pool frequencies."""
        if self.infinite:
            return Tokens(n * pool / jnp.asarray(self.chain.pooled)[t], n)
        return Tokens(self.chain.subsample(key, n, pool), n)

    # real_pool: the counts of P real tokens, Mult(P, p_0)
    def real_pool(self, key):
        size = self.chain.config.pool_size
        return multinomial(key, size, self.p.p0, self.chain.small_mean, size)

    def from_real_pool(self, key, pool, n) -> Tokens:
        if self.infinite:
            return Tokens(n * (pool / self.chain.config.pool_size), n)
        return Tokens(self.chain.subsample(key, n, pool), n)


def build(config: CategoricalConfig) -> Chain:
    """The chain of `config` (reads neither seed, chains nor record_every)."""
    return Categorical(config).chain()
