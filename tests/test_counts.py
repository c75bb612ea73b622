"""Poisson and Bernoulli chains against their exact theory (Suresh et al. 2024 Thm 2; the two-type chain; docs/theory.md §N)."""


import numpy as np
import pytest
from conftest import close_mean, close_prob

from simcollapse.api import make_config, simulate, theory
from simcollapse.config import ConfigError
from simcollapse.theory import categorical as cat


def test_poisson_survival_is_the_galton_watson_law():
    config = make_config("poisson", rate0=1.0, n_samples=10, generations=20, chains=20000, seed=1)
    run = simulate(config)
    th = theory(config)
    assert abs(th["E_alive"][20] - 0.6001) < 1e-4  # docs/theory.md §N.1: 0.6001 (MC 0.6017)
    np.testing.assert_allclose(th["E_alive"], cat.poisson_chain_survival(1.0, 10, np.arange(21)))
    for k in (1, 5, 20):
        close_prob(run.stats["alive"][k], th["E_alive"][k])
        close_mean(run.stats["rate"][k], 1.0)
    # Var Λ_k = k λ0 / n: compare E Λ_k² = λ0² + k λ0/n
    close_mean(run.stats["rate"][20] ** 2, 1.0 + th["Var_rate"][20])
    alive = run.stats["alive"]
    assert np.all(np.diff(alive, axis=0) <= 0)  # 0 absorbs
    assert np.all(run.stats["rate"] * 10 == np.round(run.stats["rate"] * 10))  # counts / n


def test_bernoulli_fixation_and_loss_curve():
    config = make_config("bernoulli", p0=0.1, n_samples=20, generations=300, chains=20000, seed=2)
    run = simulate(config)
    th = theory(config)
    close_prob(run.stats["fixed"][-1], 0.1)  # fixation probability = p0 (martingale)
    assert np.all(run.stats["fixed"][-1] + run.stats["lost"][-1] == 1)  # all absorbed: P(not) ~ 1e-6
    for k in (1, 5, 20, 60):
        close_prob(run.stats["lost"][k], th["E_lost"][k])
        close_prob(run.stats["fixed"][k], th["E_fixed"][k])
        close_mean(run.stats["het"][k], th["E_het"][k])
        close_mean(run.stats["p"][k], 0.1)
    np.testing.assert_allclose(th["E_het"], cat.heterozygosity([0.9, 0.1], 20, 300))  # 2pq = 1 − p² − q²


def test_infinite_sampler_and_accumulate_theory():
    config = make_config("poisson", rate0=2.0, sampler="infinite", generations=5, chains=3)
    run = simulate(config)
    assert np.all(run.stats["rate"] == 2.0)
    th = theory(make_config("poisson", rate0=2.0, policy="accumulate", generations=5))
    assert np.all(th["E_rate"] == 2.0) and "E_alive" not in th
    th = theory(make_config("bernoulli", p0=0.3, n_samples={"linear": [10, 2]}, generations=4))
    sizes = np.array([10, 12, 14, 16])
    np.testing.assert_allclose(th["E_het"], 0.42 * np.concatenate([[1], np.cumprod(1 - 1 / sizes)]))


@pytest.mark.slow
def test_accumulate_is_a_martingale():
    for family, start, key in (("poisson", 1.0, "rate"), ("bernoulli", 0.3, "p")):
        values = {"rate0": start} if family == "poisson" else {"p0": start}
        config = make_config(family, policy="accumulate", n_samples=10, generations=50, chains=5000, seed=3, **values)
        run = simulate(config)
        close_mean(run.stats[key][-1], start)


@pytest.mark.parametrize(
    "family, values, field",
    [
        ("poisson", {"rate0": -1.0}, "rate0"),
        ("poisson", {"rate0": float("nan")}, "rate0"),
        ("poisson", {"n_samples": 0}, "n_samples"),
        ("poisson", {"sampler": "sufficient"}, "sampler"),
        ("bernoulli", {"p0": 1.5}, "p0"),
        ("bernoulli", {"policy": "fresh_real"}, "policy"),
        ("bernoulli", {"metrics": ["rate"]}, "metrics"),
    ],
)
def test_bad_input_names_the_field(family, values, field):
    with pytest.raises(ConfigError) as err:
        make_config(family, **values)
    assert err.value.field == field
