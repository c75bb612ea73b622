"""Curated resampling (docs/theory.md §R): the quadrature map against exact enumeration, its limits, the sampler
that runs the procedure itself against the map, and the finite two-type chain against plain-numpy Monte Carlo at
4 standard errors."""

import itertools

import jax
import numpy as np
import pytest
from conftest import close_prob, close_z
from scipy import stats

from simcollapse.samplers import bits
from simcollapse.samplers.curation import curated_counts
from simcollapse.theory import curation, markov


def enumerated_probs(probs, rewards, k):
    """The kept token's law by summing over all K-tuples of draws (independent of the quadrature)."""
    q = np.zeros(len(probs))
    strength = np.exp(rewards)
    for draws in itertools.product(range(len(probs)), repeat=k):
        weight = np.prod(probs[list(draws)]) / strength[list(draws)].sum()
        for j in draws:
            q[j] += weight * strength[j]
    return q


CASES = [  # (probs, rewards, K)
    ([0.9, 0.1], [0.0, 1.0], 1), ([0.9, 0.1], [0.0, 1.0], 2), ([0.9, 0.1], [0.0, 3.0], 7),
    ([0.5, 0.3, 0.2], [1.0, -2.0, 0.5], 4), ([0.1, 0.2, 0.3, 0.4], [0.0, 10.0, 20.0, 40.0], 5),
    ([0.25, 0.25, 0.25, 0.15, 0.1], [0.3, -0.3, 2.0, 0.0, -60.0], 3),
]


@pytest.mark.parametrize("probs, rewards, k", CASES)
def test_map_equals_enumeration(probs, rewards, k):
    probs, rewards = np.array(probs), np.array(rewards)
    q = curation.curated_probs(probs, rewards, k)
    assert np.abs(q - enumerated_probs(probs, rewards, k)).max() < 1e-13
    assert q.sum() == pytest.approx(1.0, abs=1e-15)


def test_limits_of_the_map():
    p, r = np.array([0.6, 0.3, 0.1]), np.array([0.0, 0.5, 2.0])
    assert np.abs(curation.curated_probs(p, r, 1) - p).max() < 1e-15  # K = 1: no curation
    tilt = p * np.exp(r) / np.sum(p * np.exp(r))
    gaps = [np.abs(curation.curated_probs(p, r, k) - tilt).max() for k in (10, 100, 1000)]
    assert gaps[0] > gaps[1] > gaps[2] and gaps[2] < 2e-3  # q_K → p e^r / E e^r, at rate 1/K
    # the K → ∞ chain: t applications of p ↦ p e^r / E e^r is p_0 e^{t r} normalised
    step = p
    for t in range(1, 6):
        step = step * np.exp(r) / np.sum(step * np.exp(r))
        assert np.abs(curation.tilted_probs(p, r, t)[0] - step).max() < 1e-15


def test_infinite_chain_raises_reward_and_is_held_by_real_data():
    p0, r = np.array([0.7, 0.2, 0.1]), np.array([0.0, 0.5, 1.0])
    path = curation.infinite_trajectory(p0, r, 4, 80)
    reward = curation.expected_reward(path, r)
    assert np.all(np.diff(reward) > 0) and reward[-1] > 0.99  # rises to max r
    held = curation.infinite_trajectory(p0, r, 4, 400, real_fraction=0.3)
    fixed = held[-1]
    assert np.abs(0.3 * p0 + 0.7 * curation.curated_probs(fixed, r, 4) - fixed).max() < 1e-14  # a fixed point
    assert curation.expected_reward(fixed, r) < 0.8


@pytest.mark.parametrize("probs, rewards, k", CASES[1:5])
def test_sampler_runs_the_procedure_with_the_law_of_the_map(probs, rewards, k):
    n = 100_000
    counts = jax.jit(curated_counts, static_argnums=(3, 4))(bits.seed_key(11), np.array(probs), np.array(rewards),
                                                             k, n)
    q = curation.curated_probs(np.array(probs), np.array(rewards), k)
    assert stats.chisquare(np.asarray(counts)[q > 1e-9], n * q[q > 1e-9]).pvalue > 1e-4


def numpy_curated_chain(rng, p0, rewards, k, n, generations, chains):
    """Plain-numpy two-type chain: each of the n kept tokens is a Luce choice among K draws of the model."""
    p = np.full(chains, p0)
    path = [p]
    strength = np.exp(np.asarray(rewards))
    for _ in range(generations):
        draws = rng.random((chains, n, k)) < p[:, None, None]  # True: the tracked type
        weight = np.where(draws, strength[1], strength[0])
        pick = (rng.random((chains, n, 1)) * weight.sum(-1, keepdims=True) < np.cumsum(weight, -1)).argmax(-1)
        p = np.take_along_axis(draws, pick[..., None], -1)[..., 0].mean(-1)
        path.append(p)
    return np.stack(path)


@pytest.mark.parametrize("p0, rewards, k, n", [(0.1, [0.0, 0.4], 2, 30), (0.3, [0.5, 0.0], 4, 20),
                                               (0.05, [0.0, 1.0], 3, 40)])
def test_finite_chain_matches_the_exact_two_type_chain(p0, rewards, k, n):
    """E p_t, E_p_t[r] and P(tracked type lost by t) of the N-token chain (Wright–Fisher with fitting map q)."""
    generations, start = 8, round(p0 * n)
    path = numpy_curated_chain(np.random.default_rng(5), start / n, rewards, k, n, generations, 20_000)
    law = markov.count_distributions(markov.transition_matrix(n, curation.two_type_map(rewards, k)), start,
                                     generations)
    freq = np.arange(n + 1) / n
    reward = rewards[0] + (rewards[1] - rewards[0]) * freq
    for t in (1, 4, generations):
        close_z(path[t], law[t] @ freq, f"§R.2 E p_{t} (p0={p0}, r={rewards}, K={k}, N={n})")
        close_z(rewards[0] + (rewards[1] - rewards[0]) * path[t], law[t] @ reward, f"§R.2 E reward_{t} (K={k}, N={n})")
        close_prob(path[t] == 0, law[t, 0])


# --- the categorical family's curated chain (curation_k, rewards) against the closed forms -----------------

@pytest.mark.parametrize("probs0, rewards, k, policy", [([0.5, 0.3, 0.2], [0.0, 0.5, 1.0], 4, "replace"),
                                                        ([0.7, 0.2, 0.1], [0.0, 0.5, 1.0], 4, "fresh_real"),
                                                        ([0.25] * 4, [1.0, -1.0, 0.0, 2.0], 2, "replace"),
                                                        ([0.9, 0.1], [0.0, 3.0], 8, "fresh_real")])
def test_infinite_curated_chain_is_the_map(probs0, rewards, k, policy):
    """The infinite sampler follows p_{t+1} = (n_s q̃(p_t) + n_r p_0)/N exactly (§R.1, §R.3)."""
    from simcollapse.api import make_config, simulate, theory

    metrics = ["probs", "expected_reward", "gini_simpson", "entropy", "tv"]
    config = make_config("categorical", probs0=probs0, rewards=rewards, curation_k=k, policy=policy, real_fraction=0.3,
                         sampler="infinite", n_samples=100, generations=12, chains=2, metrics=metrics)
    stats, expected = simulate(config).stats, theory(config)
    share = 0.3 if policy == "fresh_real" else 0.0
    np.testing.assert_allclose(stats["probs"][:, 0], curation.infinite_trajectory(probs0, rewards, k, 12, share),
                               rtol=1e-12, atol=1e-15)
    for name in metrics[1:]:
        np.testing.assert_allclose(stats[name][:, 0], expected[f"E_{name}"], rtol=1e-12, atol=1e-14, err_msg=name)
    if policy == "replace":  # the expected reward rises towards max r
        assert np.all(np.diff(expected["E_expected_reward"]) > 0)


@pytest.mark.slow
@pytest.mark.parametrize("probs0, rewards, k, n, policy", [([0.9, 0.1], [0.0, 0.4], 2, 30, "replace"),
                                                           ([0.7, 0.3], [0.5, 0.0], 4, 20, "replace"),
                                                           ([0.95, 0.05], [0.0, 1.0], 3, 40, "replace"),
                                                           ([0.6, 0.4], [0.0, 0.8], 3, 25, "fresh_real")])
def test_two_type_curated_chain_matches_the_exact_chain(probs0, rewards, k, n, policy):
    """Two types, exact sampler: E p_t, E_p[r], Gini–Simpson and survival from the exact count chain (§R.2)."""
    from simcollapse.api import make_config, simulate, theory

    metrics = ["p_min_group", "expected_reward", "gini_simpson"]
    if policy == "replace":  # with fresh real tokens a type is lost with probability ~1e-9: no spread to test
        metrics.append("surviving")
    config = make_config("categorical", probs0=probs0, rewards=rewards, curation_k=k, n_samples=n, policy=policy,
                         real_fraction=0.2, generations=8, chains=20_000, seed=n + k, metrics=metrics)
    stats, expected = simulate(config).stats, theory(config)
    for t in (1, 4, 8):
        for name in metrics:
            close_z(stats[name][t], expected[f"E_{name}"][t],
                    f"§R.2 categorical E_{name}_{t} (p0={probs0}, r={rewards}, K={k}, N={n}, {policy})")


def test_curation_values_are_checked_and_leave_uncurated_chains_alone():
    from simcollapse.api import make_config, theory
    from simcollapse.config import ConfigError

    for values, field in [({"curation_k": 3}, "rewards"), ({"rewards": [0.0]}, "rewards"),
                          ({"rewards": [0.0, 100.0]}, "rewards"), ({"curation_k": 0, "rewards": [0, 1]}, "curation_k"),
                          ({"metrics": ["expected_reward"]}, "rewards")]:
        with pytest.raises(ConfigError) as err:
            make_config("categorical", **values)
        assert err.value.field == field
    # K = 1 is no curation: the rewards only enter the expected-reward statistic
    plain = make_config("categorical", n_samples=20, generations=3)
    rewarded = plain.replace(rewards=(0.0, 1.0), metrics=("gini_simpson", "expected_reward"))
    np.testing.assert_array_equal(theory(rewarded)["E_gini_simpson"], theory(plain)["E_gini_simpson"])
