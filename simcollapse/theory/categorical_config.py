"""Theory curves for categorical configs: every closed form that exists for the config.

``for_config(config)`` returns a dict of arrays of shape (generations+1,), entry 0 being the truth, keyed
``E_<metric>`` (the expectation of that recorded metric), plus:

* ``P_lost``, shape (generations+1, K): P(p_{n,i} = 0), the probability that the model gives type i no mass
  at generation n (for chains without smoothing or real data: lost by generation n, since 0 absorbs);
* ``P_collapsed`` (two types, absorbing chains): P(t_collapse ≤ n), one type left by generation n;

Sources (docs/theory.md §C) and when each applies (sampler ``exact`` unless said otherwise):

* E p_n for every policy and any n_samples schedule when the sampler is linear (T = 1, no top-k / min-p):
  with smoothing α the fit is affine in the counts, so E p_{t+1} is an affine recursion in E p_t
  (``mean_model``); without smoothing E p_n = p_0 (martingale). Gives ``E_p_min_group``.
* Per-type marginal chains (``replace`` or ``fresh_real``, constant N, N ≤ 3000): type i's count is an exact
  (N+1)-state Markov chain, Bin(N, f(c/N)) (plus Bin(n_r, p_{0,i}) real draws), when the sampler is linear
  (any K: the marginal of a multinomial is binomial, and additive smoothing of one type depends on its count
  only) or when K = 2 (then f may include temperature, top-k and min-p; ``theory.markov`` maps). Every metric
  that is a sum over types of a function of p_i has an exact expectation from these laws: E_gini_simpson,
  E_entropy, E_tv, E_surviving, E_lost_mass, E_p_min_group, E_kl (only where finite), P_lost.
* Closed forms, preferred where they apply: heterozygosity H_0 Π_t (1 − 1/N_t) (neutral ``replace``, any
  schedule); the smoothing and real-fraction homozygosity recursions (constant N); ``theory.categorical.p_lost``
  for neutral chains too large for dense marginal chains (sparse, any K).
* ``infinite`` sampler: the model is deterministic. Linear samplers follow ``mean_model``; temperature alone
  (``replace``, α = 0, no truncation) follows p_n ∝ p_0^{T^{−n}} (``temperature_probs``). Every metric is then
  that function of the deterministic model. (``real_pool`` draws its pool at random: E_p_min_group only.)

``two_type_summary(config)`` adds the scalar absorption quantities of a two-type chain (fixation
probabilities, E T_abs and conditional times).
"""

from __future__ import annotations

import numpy as np

from . import categorical as cat
from . import curation, ecosystem, markov
from .binomial_pmf import binomial_pmf
from .fields import IRRELEVANT, RUN_FIELDS, USED, declared

__all__ = ["for_config", "marginal_chain_curves", "mean_model", "two_type_summary"]

MAX_DENSE_N = 3000
MAX_WORK = 3e9  # unique types × (N+1)² × generations
MAX_PATH = 5e7  # K × (generations+1) for deterministic paths


FIELDS = {
    **RUN_FIELDS,
    # categorical
    "truth": USED, "probs0": USED, "num_types": USED, "zipf_beta": USED, "zipf_q": USED, "n_samples": USED,
    "alpha": USED, "temperature": USED, "top_k": USED, "min_p": USED, "sampler": USED, "policy": USED,
    "real_fraction": USED, "minority": USED, "curation_k": USED, "rewards": USED,
    "models": USED, "own_share": USED,
    # one first sample shared by every chain is drawn from the seed: the curves are conditional on it
    "shared_first_sample": USED, "seed": USED,
    "pool_size": IRRELEVANT,  # real_pool has E_p_min_group only, and E of the pool's frequencies is p_0 for any P
    "probs_max_types": IRRELEVANT,
}


@declared(FIELDS)
def for_config(config) -> dict[str, np.ndarray]:
    """Every closed-form curve for a categorical `config`; see the module docstring."""
    return _categorical(config)


# ----------------------------------------------------------------------------------------------------
# Categorical
# ----------------------------------------------------------------------------------------------------


def _linear(config) -> bool:
    return config.neutral_sampler


def mean_model(config) -> np.ndarray:
    """E p_n, shape (generations+1, K), for a linear sampler (T = 1, no top-k / min-p), any policy and schedule.

    With c the training counts and the fit (c + α)/(total + Kα), the expectations follow affine recursions
    (m = E p, C = E pooled counts, M_t = N_0 + … + N_t):
    replace m' = (N m + α)/(N + Kα); fresh_real and real_pool m' = (n_s m + n_r p_0 + α)/(N + Kα);
    accumulate C' = C + N m, m' = (C' + α)/(M + Kα); accumulate_subsample m' = (N C'/M + α)/(N + Kα).
    For the infinite sampler these are the deterministic models themselves.
    """
    if not _linear(config):
        raise ValueError("mean_model needs a linear sampler (temperature 1, no top_k / min_p)")
    p0 = config.probs()
    K, a, policy = p0.size, float(config.alpha), config.policy
    sizes = config.sizes().astype(float)
    n_real, n_synth = (x.astype(float) for x in config.real_counts())
    m = np.empty((config.generations + 1, K))
    m[0] = p0
    pool = np.zeros(K)
    total = 0.0
    for t, n in enumerate(sizes):
        if policy == "replace":
            m[t + 1] = (n * m[t] + a) / (n + K * a)
        elif policy in ("fresh_real", "real_pool"):
            m[t + 1] = (n_synth[t] * m[t] + n_real[t] * p0 + a) / (n + K * a)
        else:
            pool = pool + n * m[t]
            total += n
            if policy == "accumulate":
                m[t + 1] = (pool + a) / (total + K * a)
            else:
                m[t + 1] = (n * pool / total + a) / (n + K * a)
    return m


def _two_type_sampling_map(config, tracked: int = 1):
    """Two types: the sampling law's probability of type `tracked` when its model probability is p (after
    curation, which tells the types apart by their rewards, docs/theory.md §R.2)."""
    maps = []
    if config.temperature != 1.0:
        maps.append(markov.temperature_map(config.temperature))
    if config.top_k is not None:
        maps.append(markov.top_k_map(config.top_k))
    if config.min_p > 0.0:
        maps.append(markov.min_p_map(config.min_p))
    if config.curation_k > 1:
        maps.append(curation.two_type_map(np.asarray(config.rewards)[[1 - tracked, tracked]], config.curation_k))

    def s(p):
        p = np.asarray(p, dtype=float)
        for f in maps:
            p = f(p)
        return p

    return s


def marginal_chain_curves(config) -> dict[str, np.ndarray] | None:
    """Exact curves from the per-type marginal count chains (see the module docstring), or None when they do
    not apply (policy, schedule, sampler) or would be too large."""
    p0 = config.probs()
    K = p0.size
    sizes = config.sizes()
    if config.sampler != "exact" or config.policy not in ("replace", "fresh_real") or np.any(sizes != sizes[0]):
        return None
    if not (_linear(config) or K == 2):
        return None
    N, G, a = int(sizes[0]), config.generations, float(config.alpha)
    curated = config.curation_k > 1  # the two types have different maps: one chain per type
    if curated:
        uniq, inverse, mult = p0, np.arange(K), np.ones(K, int)
    else:
        uniq, inverse, mult = np.unique(p0, return_inverse=True, return_counts=True)
    n_mats = uniq.size if config.policy == "fresh_real" or curated else 1
    if N > MAX_DENSE_N or uniq.size * (N + 1) ** 2 * G > MAX_WORK or n_mats * (N + 1) ** 2 > 5e7:
        return None

    identity = lambda p: np.asarray(p, dtype=float)
    maps = [_two_type_sampling_map(config, u if curated else 1) if K == 2 else identity for u in range(uniq.size)]
    g = (np.arange(N + 1) + a) / (N + K * a)  # the fitted model for each count
    fits = [lambda x, s=s: s(markov.smoothing_map(a, N, K)(x)) for s in maps]
    c = np.arange(N + 1)
    if config.policy == "replace":
        mats = [markov.transition_matrix(N, fit) for fit in (fits if curated else fits[:1])]
        first = np.stack([binomial_pmf(c, N, s(pu)) for s, pu in zip(maps, uniq)])
    else:
        n_r, n_s = markov.real_fraction_counts(N, config.real_fraction)
        mats = [markov.real_fraction_transition_matrix(N, config.real_fraction, pu, fit) for pu, fit in zip(uniq, fits)]
        first = np.stack(
            [np.convolve(binomial_pmf(np.arange(n_s + 1), n_s, s(pu)), binomial_pmf(np.arange(n_r + 1), n_r, pu))
             for s, pu in zip(maps, uniq)]
        )

    with np.errstate(divide="ignore", invalid="ignore"):
        logg = np.log(g)
        glogg = np.where(g > 0, g * logg, 0.0)
    absdev = np.abs(g[None, :] - uniq[:, None])  # (U, N+1)
    U = uniq.size
    Ep, Ep2, Eglogg, Eabs, Pzero, Elog = (np.empty((G + 1, U)) for _ in range(6))
    Ep[0], Ep2[0], Eabs[0], Pzero[0] = uniq, uniq**2, 0.0, (uniq == 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        Eglogg[0] = np.where(uniq > 0, uniq * np.log(uniq), 0.0)
        Elog[0] = np.log(uniq)
    D = first
    for n in range(1, G + 1):
        Ep[n], Ep2[n], Eglogg[n] = D @ g, D @ g**2, D @ glogg
        Eabs[n] = np.sum(D * absdev, axis=1)
        Pzero[n] = D[:, 0] if a == 0.0 else 0.0
        Elog[n] = D[:, 1:] @ logg[1:] + np.where(D[:, 0] > 0, -np.inf, 0.0) if a == 0.0 else D @ logg
        if n < G:
            D = D @ mats[0] if len(mats) == 1 else np.stack([D[u] @ mats[u] for u in range(U)])

    out = {
        "E_gini_simpson": 1.0 - Ep2 @ mult,
        "E_entropy": -(Eglogg @ mult),
        "E_tv": 0.5 * (Eabs @ mult),
        "P_lost": Pzero[:, inverse],
    }
    out["E_surviving"] = K - out["P_lost"].sum(axis=1)
    out["E_lost_mass"] = out["P_lost"] @ p0
    minority = np.zeros(K, bool)
    minority[list(config.minority)] = True
    out["E_p_min_group"] = Ep[:, inverse][:, minority].sum(axis=1)
    if config.rewards is not None:
        out["E_expected_reward"] = Ep[:, inverse] @ np.asarray(config.rewards)
    pos = uniq > 0  # KL(p_0 ‖ p) = Σ p_0 log p_0 − Σ p_0 E log p
    w = (mult * uniq)[pos]
    with np.errstate(invalid="ignore"):
        kl = w @ np.log(uniq[pos]) - Elog[:, pos] @ w
    if np.all(np.isfinite(kl)):
        out["E_kl"] = kl
    return out


def _curves_of_path(logp: np.ndarray, p0: np.ndarray, minority) -> dict[str, np.ndarray]:
    """Metric curves of a deterministic sequence of models given as log-probabilities (G+1, K)."""
    p = np.exp(logp)
    alive = logp > -np.inf
    safe = np.where(alive, logp, 0.0)
    with np.errstate(divide="ignore"):
        logp0 = np.log(p0)
    kl_terms = np.where(p0 > 0, np.where(alive, p0 * (np.where(p0 > 0, logp0, 0.0) - safe), np.inf), 0.0)
    return {
        "E_entropy": -np.sum(p * safe, axis=1),
        "E_gini_simpson": 1.0 - np.sum(p * p, axis=1),
        "E_surviving": alive.sum(axis=1).astype(float),
        "E_lost_mass": np.where(alive, 0.0, p0).sum(axis=1),
        "E_tv": 0.5 * np.abs(p - p0).sum(axis=1),
        "E_kl": kl_terms.sum(axis=1),
        "E_p_min_group": p[:, list(minority)].sum(axis=1),
        "P_lost": (~alive).astype(float),
    }


def _curated_path(config) -> np.ndarray | None:
    """The infinite sampler's deterministic curated chain p_{t+1} = (n_s q̃(p_t) + n_r p_0)/N (docs/theory.md §R.3;
    replace has n_r = 0), for α = 0, no temperature, top-k or min-p and a constant N; else None."""
    sizes = config.sizes()
    plain = config.temperature == 1.0 and config.top_k is None and config.min_p == 0.0 and config.alpha == 0.0
    if config.policy not in ("replace", "fresh_real") or not plain or np.any(sizes != sizes[0]):
        return None
    share = float(config.real_counts()[0][0]) / float(sizes[0])
    return curation.infinite_trajectory(config.probs(), config.rewards, config.curation_k, config.generations, share)


def _ecosystem(config) -> dict[str, np.ndarray]:
    """m models on each other's mixtures (docs/theory.md §I.1), for the neutral fit (α = 0, no sampler modifier):
    the island-model recursions (exact sampler), or the models staying at p_0 (infinite sampler)."""
    if not (_linear(config) and config.alpha == 0.0):
        return {}
    if config.sampler == "infinite":
        constant = np.ones(config.generations + 1)
        gini = 1.0 - float(np.sum(config.probs() ** 2))
        return {"E_gini_simpson_models": gini * constant, "E_gini_simpson_mixture": gini * constant,
                "E_between_model_sq_dist": 0.0 * constant}
    return ecosystem.categorical_curves(config.sizes(), config.models, config.own_share, config.probs())


def shared_sample_curves(config) -> dict[str, np.ndarray]:
    """E_surviving and E_surviving_fraction given generation 1's shared sample (docs/theory.md §C.11): a type with
    c tokens in it is alive at generation t ≥ 1 unless its neutral Wright–Fisher count chain, started at c, is
    absorbed at 0 within t − 1 generations; the expectation sums that over the types present. Needs the neutral
    plain chain (no smoothing, temperature, truncation or curation) and a constant N; else no curve."""
    from ..families.categorical import shared_first_counts  # the chain's own draw of the shared sample

    sizes = config.sizes()
    if not (_linear(config) and config.alpha == 0 and config.curation_k == 1 and np.all(sizes == sizes[0])):
        return {}
    N, G = int(sizes[0]), config.generations
    counts = shared_first_counts(config)
    present, mult = np.unique(counts[counts > 0].astype(int), return_counts=True)
    if N > MAX_DENSE_N or present.size * (N + 1) ** 2 * G > MAX_WORK:
        return {}
    P = markov.transition_matrix(N)
    D = np.zeros((present.size, N + 1))
    D[np.arange(present.size), present] = 1.0
    alive = np.empty(G + 1)
    alive[0] = np.sum(config.probs() > 0)
    for t in range(1, G + 1):
        alive[t] = mult @ (1.0 - D[:, 0])
        D = D @ P
    fraction = alive / mult.sum()
    fraction[0] = 1.0
    return {"E_surviving": alive, "E_surviving_fraction": fraction}


def _categorical(config) -> dict[str, np.ndarray]:
    if config.models > 1:
        return _ecosystem(config)
    if config.shared_first_sample:
        return shared_sample_curves(config)
    p0 = config.probs()
    K, G, policy = p0.size, config.generations, config.policy
    sizes = config.sizes()
    constant = bool(np.all(sizes == sizes[0]))
    N = int(sizes[0])
    linear = _linear(config)
    a = float(config.alpha)
    minority = list(config.minority)
    out: dict[str, np.ndarray] = {}

    if config.sampler == "infinite":
        if K * (G + 1) > MAX_PATH:
            return out
        if config.curation_k > 1:
            path = _curated_path(config)
            if path is not None:
                with np.errstate(divide="ignore"):
                    out.update(_curves_of_path(np.log(path), p0, minority))
                out["E_expected_reward"] = curation.expected_reward(path, config.rewards)
            return out
        if linear and policy != "real_pool":
            with np.errstate(divide="ignore"):
                out.update(_curves_of_path(np.log(mean_model(config)), p0, minority))
        elif linear:
            out["E_p_min_group"] = mean_model(config)[:, minority].sum(axis=1)
        elif policy == "replace" and a == 0.0 and config.top_k is None and config.min_p == 0.0:
            with np.errstate(divide="ignore"):
                out.update(_curves_of_path(np.log(cat.temperature_probs(p0, config.temperature, G)), p0, minority))
        return out

    if linear:
        out["E_p_min_group"] = mean_model(config)[:, minority].sum(axis=1)
    marginal = marginal_chain_curves(config)
    if marginal is not None:
        out.update(marginal)
    neutral = linear and a == 0.0 and policy == "replace"
    if neutral:
        H0 = 1.0 - np.sum(p0**2)
        out["E_gini_simpson"] = H0 * np.concatenate([[1.0], np.cumprod(1.0 - 1.0 / sizes)])
        if marginal is None and constant:
            try:
                out["P_lost"] = cat.p_lost(p0, N, G)
            except ValueError:  # too large for the sparse solver
                pass
            else:
                out["E_surviving"] = K - out["P_lost"].sum(axis=1)
                out["E_lost_mass"] = out["P_lost"] @ p0
    elif linear and constant and policy == "replace":
        out["E_gini_simpson"] = 1.0 - cat.smoothing_homozygosity(p0, N, a, G)
    elif linear and constant and policy == "fresh_real" and a == 0.0:
        F, _ = cat.real_fraction_moments(p0, N, config.real_fraction, G)
        out["E_gini_simpson"] = 1.0 - F
    if K == 2 and a == 0.0 and policy == "replace" and "P_lost" in out:
        out["P_collapsed"] = np.minimum(out["P_lost"].sum(axis=1), 1.0)  # the two losses are disjoint
    return out


def two_type_summary(config) -> dict[str, np.ndarray]:
    """Absorption quantities of a two-type chain (``replace``, no smoothing, constant N, exact sampler):
    ``P_fix`` (K,) (each type's probability of taking over), ``E_T_abs``, ``E_T_given_fix`` (K,)
    (E[T_abs | type i fixes]), from the exact (N+1)-state chain (``theory.markov``) started from the law of
    generation 1 (so p_0 need not be a multiple of 1/N). Temperature, top-k and min-p are included."""
    p0 = config.probs()
    sizes = config.sizes()
    if (p0.size != 2 or config.alpha != 0.0 or config.policy != "replace" or config.sampler != "exact"
            or np.any(sizes != sizes[0])):
        raise ValueError("two_type_summary needs K = 2, alpha = 0, policy 'replace', sampler 'exact', constant N")
    N = int(sizes[0])
    s = _two_type_sampling_map(config)
    P = markov.transition_matrix(N, s)
    _, fix = markov.absorption_probabilities(P)
    t = markov.expected_absorption_time(P)
    _, t_fix = markov.conditional_absorption_times(P)
    c = np.arange(N + 1)
    out = {"P_fix": np.empty(2), "E_T_given_fix": np.empty(2)}
    for i in range(2):  # count chain of type i; its law after generation 1 is Bin(N, s(p_{0,i}))
        first = binomial_pmf(c, N, s(p0[i]))
        out["P_fix"][i] = first @ fix
        ok = np.isfinite(t_fix) & (first * fix > 0)
        out["E_T_given_fix"][i] = 1.0 + (first[ok] * fix[ok] * t_fix[ok]).sum() / out["P_fix"][i] if out["P_fix"][i] > 0 else np.nan
        if i == 1:
            out["E_T_abs"] = np.asarray(1.0 + first @ t)
    return out
