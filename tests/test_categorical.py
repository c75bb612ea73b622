"""Categorical family: Monte Carlo against the exact theory (docs/theory.md §C), properties, bad input.

Tolerances: 4 standard errors (means) or 4 binomial standard errors (probabilities); seeds are fixed.
"""

import math

import numpy as np
import pytest
from conftest import close_mean, close_prob

from simcollapse.api import make_config, simulate, theory
from simcollapse.config import ConfigError
from simcollapse.families import categorical as fam
from simcollapse.theory import categorical as cat
from simcollapse.theory import categorical_config as tc

# ------------------------------------------------------------------------------------------------
# The exact draw of the counts (the samplers' laws: tests/test_discrete_samplers.py)
# ------------------------------------------------------------------------------------------------


def test_chain_draws_by_inversion_where_it_is_faster():
    big = make_config("categorical", zipf_beta=1.0, num_types=50_000, n_samples=100_000, metrics=["surviving"])
    assert fam.Categorical(big).by_inversion
    assert not fam.Categorical(make_config("categorical", probs0=[0.9, 0.1], n_samples=100)).by_inversion
    # and its chains stay bit-identical alone or among others (the chain is not lane-padded)
    config = make_config("categorical", zipf_beta=1.1, num_types=300, n_samples=1000, generations=4, chains=40,
                         seed=9, metrics=["probs", "surviving"])
    assert fam.Categorical(config).by_inversion
    many, alone = simulate(config), simulate(config, chain_indices=[29])
    np.testing.assert_array_equal(many.stats["probs"][:, 29], alone.stats["probs"][:, 0])


# ------------------------------------------------------------------------------------------------
# The neutral cats chain: MC against the exact chain (docs/theory.md §C.2)
# ------------------------------------------------------------------------------------------------

CATS_G = 1000


@pytest.fixture(scope="module")
def cats():
    config = make_config("categorical", probs0=[0.9, 0.1], n_samples=100, generations=CATS_G, chains=4000,
                         record_every=10, seed=1)
    return config, simulate(config), theory(config)


def test_cats_fixation_probability_is_initial_frequency(cats):
    config, run, _ = cats
    blue = run.stats["p_min_group"][-1]
    assert np.all(np.isin(blue, [0.0, 1.0]))  # all absorbed after 1000 generations (P(not) ~ 3e-5)
    close_prob(blue == 1.0, 0.1)
    np.testing.assert_allclose(tc.two_type_summary(config)["P_fix"], [0.9, 0.1], atol=1e-12)


def test_cats_loss_by_n_and_absorption_time(cats):
    config, run, th = cats
    gens = run.generation
    for n in (10, 50, 100, 200):
        row = int(np.flatnonzero(gens == n)[0])
        close_prob(run.stats["p_min_group"][row] == 0.0, th["P_lost"][n, 1])
        close_prob(run.stats["t_collapse"][-1] <= n, th["P_collapsed"][n])
    t_abs = run.stats["t_collapse"][-1]
    assert np.all(np.isfinite(t_abs))
    summary = tc.two_type_summary(config)
    assert abs(float(summary["E_T_abs"]) - 63.454) < 5e-4  # docs/theory.md §C.2
    close_mean(t_abs, float(summary["E_T_abs"]))
    close_mean(t_abs[run.stats["p_min_group"][-1] == 1], summary["E_T_given_fix"][1])


def test_cats_gini_simpson_and_martingale(cats):
    _, run, th = cats
    for row, n in enumerate(run.generation[:25]):
        if n in (10, 50, 100, 200):
            close_mean(run.stats["gini_simpson"][row], th["E_gini_simpson"][n])
            close_mean(run.stats["p_min_group"][row], 0.1)
            close_mean(run.stats["surviving"][row], th["E_surviving"][n])
            close_mean(run.stats["lost_mass"][row], th["E_lost_mass"][n])
    np.testing.assert_allclose(th["E_gini_simpson"], cat.heterozygosity([0.9, 0.1], 100, CATS_G), rtol=1e-12)


def test_cats_support_entropy_and_absorbing_states(cats):
    _, run, _ = cats
    s = run.stats
    assert np.all(np.diff(s["surviving"], axis=0) <= 0)  # support never grows
    d = np.diff(s["entropy"], axis=0)  # mean entropy is non-increasing (supermartingale)
    se = d.std(axis=1, ddof=1) / math.sqrt(d.shape[1]) + 1e-15
    assert np.all(d.mean(axis=1) <= 4 * se)
    probs = s["probs"]
    one = s["surviving"] == 1
    assert np.all(np.isin(probs[one], [0.0, 1.0])) and np.allclose(probs[one].sum(-1), 1.0)
    # once absorbed, nothing moves
    last = probs[-1]
    for row in range(probs.shape[0]):
        np.testing.assert_array_equal(probs[row][one[row]], last[one[row]])


# ------------------------------------------------------------------------------------------------
# Zipf truth: surviving types, lost mass (docs/theory.md §C.2, §C.10); chain identity
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def zipf():
    config = make_config("categorical", zipf_beta=1.2, num_types=50, n_samples=200, generations=30, chains=600, seed=2)
    return config, simulate(config), theory(config)


def test_chain_is_identical_alone_or_with_others(zipf):
    config, many, _ = zipf
    alone = simulate(config, chain_indices=[457])
    for name in ("probs", "surviving", "t_collapse"):  # the model itself: bit for bit
        np.testing.assert_array_equal(many.stats[name][:, 457], alone.stats[name][:, 0])
    for name in many.stats:  # sums over types may be reduced in another order for another batch shape
        np.testing.assert_allclose(many.stats[name][:, 457], alone.stats[name][:, 0], rtol=1e-13, atol=1e-15)
    assert many.stats["probs"].shape == (31, 600, 50)


def test_zipf_surviving_types_and_lost_mass(zipf):
    config, run, th = zipf
    assert abs(th["E_surviving"][30] - 7.966) < 2e-3  # docs/theory.md §C.2: 7.966 (MC 7.967)
    for n in (1, 5, 30):
        close_mean(run.stats["surviving"][n], th["E_surviving"][n])
        close_mean(run.stats["lost_mass"][n], th["E_lost_mass"][n])
        close_mean(run.stats["tv"][n], th["E_tv"][n])
        close_mean(run.stats["entropy"][n], th["E_entropy"][n])
    # one generation: missing mass of N draws (docs/theory.md §C.10)
    assert abs(th["E_lost_mass"][1] - cat.missing_mass(config.probs(), 200)) < 1e-12
    alive = run.stats["probs"] > 0
    assert not np.any(alive[1:] & ~alive[:-1])  # a lost type never returns
    assert np.all(np.isinf(run.stats["kl"][-1][run.stats["lost_mass"][-1] > 0]))


# ------------------------------------------------------------------------------------------------
# Temperature: infinite map and T < 1 (docs/theory.md §C.7)
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("T", [0.8, 1.25])
def test_infinite_sampler_is_the_temperature_map(T):
    p0 = [0.5, 0.3, 0.15, 0.05]
    config = make_config("categorical", probs0=p0, temperature=T, sampler="infinite", generations=60, chains=2)
    run = simulate(config)
    exact = cat.temperature_probs(p0, T, 60)
    np.testing.assert_allclose(run.stats["probs"][:, 0], exact, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(run.stats["probs"][:, 0], run.stats["probs"][:, 1])
    th = theory(config)
    np.testing.assert_allclose(run.stats["entropy"][:, 0], th["E_entropy"], atol=1e-10)
    if T < 1:
        assert run.stats["probs"][-1, 0, 0] == pytest.approx(1.0, abs=1e-12)
    else:
        assert np.allclose(run.stats["probs"][-1, 0], 0.25, atol=1e-3)


@pytest.mark.slow
def test_low_temperature_fixes_the_argmax():
    config = make_config("categorical", temperature=0.8, n_samples=100, generations=60, chains=2000, seed=4)
    run = simulate(config)
    summary = tc.two_type_summary(config)
    assert summary["P_fix"][1] < 1e-9 and abs(float(summary["E_T_abs"]) - 4.13) < 0.01  # docs/theory.md §C.7
    assert np.all(run.stats["p_min_group"][-1] == 0.0) and np.all(run.stats["surviving"][-1] == 1)
    close_mean(run.stats["t_collapse"][-1], float(summary["E_T_abs"]))
    th = theory(config)
    for n in (1, 3, 6):
        close_mean(run.stats["p_min_group"][n], th["E_p_min_group"][n])
        close_prob(run.stats["p_min_group"][n] == 0, th["P_lost"][n, 1])


# ------------------------------------------------------------------------------------------------
# Smoothing and a fresh real fraction: no absorption, stationary homozygosity (docs/theory.md §C.5, §C.6)
# ------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_smoothing_recursion_and_stationary_value():
    config = make_config("categorical", alpha=0.5, n_samples=100, generations=250, chains=2000, seed=6,
                         metrics=["gini_simpson", "p_min_group", "surviving"])
    run = simulate(config)
    th = theory(config)
    assert abs(cat.smoothing_fixed_point(2, 100, 0.5) - 0.66611) < 1e-5
    assert abs(1 - th["E_gini_simpson"][-1] - 0.66611) < 2e-4  # within 0.9705^250 of stationarity
    assert np.all(run.stats["surviving"] == 2)  # every p ≥ α/(N + Kα) > 0
    for n in (5, 50, 250):
        close_mean(run.stats["gini_simpson"][n], th["E_gini_simpson"][n])
        close_mean(run.stats["p_min_group"][n], th["E_p_min_group"][n])


@pytest.mark.slow
def test_real_fraction_recursion_and_stationary_value():
    config = make_config("categorical", policy="fresh_real", real_fraction=0.1, n_samples=100, generations=80,
                         chains=2000, seed=7, metrics=["gini_simpson", "p_min_group"])
    run = simulate(config)
    th = theory(config)
    assert abs(1 - th["E_gini_simpson"][-1] - 0.82905) < 1e-5
    for n in (5, 80):
        close_mean(run.stats["gini_simpson"][n], th["E_gini_simpson"][n])
        close_mean(run.stats["p_min_group"][n], 0.1)
    var = run.stats["p_min_group"][40:].var(axis=1, ddof=1).mean()
    assert abs(var - cat.real_fraction_stationary_variance([0.9, 0.1], 100, 0.1)[1]) < 0.15 * 0.004523


@pytest.mark.parametrize(
    "policy", ["accumulate", pytest.param("accumulate_subsample", marks=pytest.mark.slow),
               pytest.param("fresh_real", marks=pytest.mark.slow)]
)
def test_infinite_sampler_follows_the_mean_recursion(policy):
    config = make_config("categorical", probs0=[0.6, 0.3, 0.1], alpha=0.7, policy=policy, sampler="infinite",
                         n_samples={"linear": [20, 5]}, generations=30, chains=1)
    run = simulate(config)
    np.testing.assert_allclose(run.stats["probs"][:, 0], tc.mean_model(config), rtol=0, atol=1e-12)
    th = theory(config)
    for name in ("entropy", "gini_simpson", "tv", "kl", "p_min_group"):
        np.testing.assert_allclose(run.stats[name][:, 0], th["E_" + name], atol=1e-10)


# ------------------------------------------------------------------------------------------------
# Other policies and truncation (slow)
# ------------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("policy", ["accumulate", "accumulate_subsample", "real_pool"])
def test_policies_mean_model(policy):
    """E p_n from the affine recursions (smoothing α = 0.4), MC over chains."""
    config = make_config("categorical", probs0=[0.5, 0.3, 0.15, 0.05], alpha=0.4, policy=policy, n_samples=40,
                         real_fraction=0.25, pool_size=60, generations=25, chains=3000, seed=8, minority=[2, 3])
    run = simulate(config)
    m = tc.mean_model(config)
    for n in (1, 10, 25):
        close_mean(run.stats["p_min_group"][n], m[n, 2:].sum())
        for i in range(4):
            close_mean(run.stats["probs"][n, :, i], m[n, i])
    if policy == "real_pool":
        assert np.all(run.stats["surviving"] >= 1)


@pytest.mark.slow
def test_accumulate_without_smoothing_is_a_martingale_that_slows_down():
    config = make_config("categorical", probs0=[0.9, 0.1], policy="accumulate", n_samples=100, generations=200,
                         chains=3000, seed=9, metrics=["p_min_group", "gini_simpson"])
    run = simulate(config)
    close_mean(run.stats["p_min_group"][-1], 0.1)
    # pooled data: the Gini–Simpson index stays far above the replace chain's H_0 (1 − 1/N)^200
    assert run.stats["gini_simpson"][-1].mean() > 0.15 > cat.heterozygosity([0.9, 0.1], 100, 200)[-1] * 1.1


@pytest.mark.slow
def test_min_p_and_top_k_exact_two_type_chain():
    config = make_config("categorical", min_p=0.05, n_samples=100, generations=600, chains=4000, seed=10,
                         record_every=20, metrics=["p_min_group", "t_collapse"])
    run = simulate(config)
    th = theory(config)  # the exact two-type chain with the min-p map
    close_prob(run.stats["p_min_group"][-1] == 1.0, th["P_lost"][-1, 0])  # blue fixed by 600
    close_prob(run.stats["p_min_group"][-1] == 0.0, th["P_lost"][-1, 1])
    # E min(T_abs, G) = Σ_{n<G} P(T_abs > n); a few chains may still hold both types at G
    close_mean(np.minimum(run.stats["t_collapse"][-1], 600), np.sum(1 - th["P_collapsed"][:600]))
    top1 = make_config("categorical", top_k=1, probs0=[0.45, 0.55], n_samples=100, generations=3, chains=200)
    run = simulate(top1)
    assert np.all(run.stats["probs"][1:, :, 1] == 1.0)  # only the majority type is ever sampled


@pytest.mark.slow
def test_neutral_schedule_gini_simpson():
    config = make_config("categorical", zipf_beta=1.0, num_types=20, n_samples={"geometric": [10, 1.2]},
                         generations=15, chains=3000, seed=11, metrics=["gini_simpson", "p_min_group"])
    run = simulate(config)
    th = theory(config)
    for n in (1, 5, 15):
        close_mean(run.stats["gini_simpson"][n], th["E_gini_simpson"][n])
        close_mean(run.stats["p_min_group"][n], config.probs()[-1])


@pytest.mark.slow
def test_large_zipf_run():
    """K = 50 000 types, N = 100 000 tokens: the nested exact multinomial against the exact survival curve."""
    config = make_config("categorical", zipf_beta=1.2, num_types=50_000, n_samples=100_000, generations=5, chains=3,
                         seed=12, metrics=["surviving", "lost_mass", "p_min_group"])
    run = simulate(config)
    th = theory(config)
    for n in (1, 5):
        sd = math.sqrt(np.sum(th["P_lost"][n] * (1 - th["P_lost"][n])))  # types are nearly independent
        assert np.all(np.abs(run.stats["surviving"][n] - th["E_surviving"][n]) < 5 * sd + 50)


# ------------------------------------------------------------------------------------------------
# Theory wiring (no simulation)
# ------------------------------------------------------------------------------------------------


def test_theory_wiring_agrees_with_closed_forms():
    zipf = make_config("categorical", zipf_beta=1.2, num_types=50, n_samples=200, generations=30)
    th = theory(zipf)
    np.testing.assert_allclose(th["P_lost"], cat.p_lost(zipf.probs(), 200, 30), atol=1e-12)
    assert th["P_lost"].shape == (31, 50) and all(v.shape == (31,) for k, v in th.items() if k != "P_lost")
    big = make_config("categorical", zipf_beta=1.2, num_types=50_000, n_samples=100_000, generations=20)
    th = theory(big)  # too large for dense chains: sparse p_lost and the heterozygosity product
    assert th["P_lost"].shape == (21, 50_000) and th["E_surviving"][0] == 50_000
    sched = make_config("categorical", n_samples={"geometric": [10, 1.5]}, generations=8, alpha=0.3,
                        policy="accumulate")
    m = tc.mean_model(sched)
    assert m.shape == (9, 2) and np.allclose(m.sum(axis=1), 1.0)
    for policy in ("replace", "accumulate", "accumulate_subsample", "fresh_real", "real_pool"):
        c = make_config("categorical", probs0=[0.5, 0.3, 0.2], policy=policy, generations=5, n_samples=30)
        np.testing.assert_allclose(tc.mean_model(c), np.tile([0.5, 0.3, 0.2], (6, 1)), atol=1e-15)  # martingale
    smooth = make_config("categorical", alpha=0.5, n_samples=100, generations=40)
    np.testing.assert_allclose(
        tc.marginal_chain_curves(smooth)["E_gini_simpson"], theory(smooth)["E_gini_simpson"], atol=1e-12
    )
    minp = make_config("categorical", min_p=0.05, n_samples=100, generations=5)
    assert abs(tc.two_type_summary(minp)["P_fix"][1] - 0.0721) < 1e-4  # docs/theory.md §C.8: 0.0721


# ------------------------------------------------------------------------------------------------
# Configs and bad input
# ------------------------------------------------------------------------------------------------


def test_truth_resolution():
    assert make_config("categorical").truth == "cats"
    assert make_config("categorical").num_types == 2
    c = make_config("categorical", zipf_beta=1.5, num_types=10)
    assert c.truth == "zipf" and c.probs()[0] > c.probs()[-1]
    assert make_config("categorical", num_types=4).truth == "uniform"
    c = make_config("categorical", probs0=[0.2, 0.3, 0.5])
    assert c.truth == "probs" and c.minority == (2,) and c.num_types == 3
    c = make_config("categorical", truth="zipf_mandelbrot", zipf_beta=1.0, zipf_q=2.7, num_types=5)
    np.testing.assert_allclose(c.probs(), cat.zipf_mandelbrot(1.0, 2.7, 5))
    again = make_config("categorical", **{k: v for k, v in c.to_dict().items() if k != "family"})
    assert again == c


@pytest.mark.parametrize(
    "field, values",
    [
        ("probs0", {"probs0": [0.5, -0.1, 0.6]}),
        ("probs0", {"probs0": [0.5, float("nan"), 0.5]}),
        ("probs0", {"probs0": [0.5, 0.4]}),
        ("probs0", {"probs0": []}),
        ("probs0", {"probs0": "abc"}),
        ("temperature", {"temperature": 0.0}),
        ("temperature", {"temperature": -1.0}),
        ("top_k", {"top_k": 0}),
        ("min_p", {"min_p": 1.0}),
        ("min_p", {"min_p": -0.1}),
        ("n_samples", {"n_samples": 0}),
        ("alpha", {"alpha": -1.0}),
        ("truth", {"truth": "dogs"}),
        ("truth", {"truth": "zipf", "probs0": [0.5, 0.5]}),
        ("num_types", {"truth": "zipf", "zipf_beta": 1.0}),
        ("zipf_beta", {"truth": "zipf", "num_types": 5}),
        ("sampler", {"sampler": "sufficient"}),
        ("policy", {"policy": "keep"}),
        ("real_fraction", {"real_fraction": 1.5}),
        ("pool_size", {"policy": "real_pool", "real_fraction": 0.5, "n_samples": 100, "pool_size": 10}),
        ("minority", {"minority": [5]}),
        ("metrics", {"metrics": ["entropy", "perplexity"]}),
        ("colour", {"colour": "blue"}),
    ],
)
def test_bad_input_names_the_field(field, values):
    with pytest.raises(ConfigError) as err:
        make_config("categorical", **values)
    assert err.value.field == field


def test_probs_recorded_only_below_the_limit():
    assert make_config("categorical", chains=10, generations=5).records_probs()
    big = make_config("categorical", num_types=2000, chains=10, generations=5)
    assert not big.records_probs()
    assert big.replace(probs_max_types=2000).records_probs()


def test_figures_are_written(tmp_path):
    from simcollapse.plots.categorical import figures

    config = make_config("categorical", generations=40, chains=50, record_every=2)
    th = theory(config)
    gens = np.arange(0, 41, 2)
    rng = np.random.default_rng(0)
    blue = np.clip(0.1 + np.cumsum(rng.normal(0, 0.03, (gens.size, 50)), axis=0) * (gens[:, None] > 0), 0, 1)
    blue[blue < 0.02] = 0.0
    probs = np.stack([1 - blue, blue], axis=-1)
    stats = {
        "probs": probs,
        "p_min_group": blue,
        "surviving": (probs > 0).sum(-1).astype(float),
        "lost_mass": np.where(blue == 0, 0.1, 0.0),
        "gini_simpson": 1 - (probs**2).sum(-1),
    }
    paths = figures({"config": config, "generation": gens, "stats": stats, "theory": th}, tmp_path / "figs")
    assert [p.name for p in paths] == ["categorical_frequencies.png", "categorical_diversity.png",
                                       "categorical_minority_loss.png"]
    assert all(p.stat().st_size > 10_000 for p in paths)
    assert figures({"config": config, "generation": gens, "stats": {}, "theory": {}}, tmp_path / "none") == []
