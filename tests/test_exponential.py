"""The exponential chain, the worked example of docs/adding-a-family.md: Monte Carlo against the closed forms of
docs/theory.md §X at 4 standard errors, and the family contract."""

import numpy as np
import pytest

from simcollapse import contract, families
from simcollapse.api import make_config, simulate, theory
from simcollapse.config import ConfigError
from simcollapse.testing import assert_matches_theory


def test_it_is_registered_by_its_file_alone():
    assert "exponential" in families.names()
    config = make_config("exponential", generations=3, chains=2)
    assert contract.conforms(families.get("exponential"), config) == []


@pytest.mark.parametrize("values, field", [({"rate0": 0.0}, "rate0"), ({"policy": "real_pool"}, "policy"),
                                           ({"n_samples": 0}, "n_samples"), ({"metrics": ["var"]}, "metrics")])
def test_bad_values_name_their_field(values, field):
    with pytest.raises(ConfigError) as err:
        make_config("exponential", **values)
    assert err.value.field == field


def test_replace_matches_the_log_rate_rate_and_mean_recursions():
    # §X.1–X.3; M = 10 with 4000 chains: SE of the mean log-rate at n = 12 is √(12 ψ′(10))/√4000 ≈ 0.018
    config = make_config("exponential", rate0=2.0, n_samples=10, generations=12, chains=4000, seed=1)
    run, expected = simulate(config), theory(config)
    for metric in ("log_rate", "rate", "mean"):
        assert_matches_theory(run, expected, metric, generations=[1, 4, 12])
    assert expected["E_log_rate"][-1] > np.log(2.0)  # the drift log M − ψ(M) > 0


def test_accumulate_keeps_the_mean_and_returns_only_that_curve():
    config = make_config("exponential", policy="accumulate", n_samples={"linear": [5, 2]}, generations=10,
                         chains=4000, seed=2)
    expected = theory(config)
    assert set(expected) == {"E_mean"}
    assert_matches_theory(simulate(config), expected, "mean", generations=[1, 5, 10])


def test_the_infinite_sampler_stays_at_the_truth():
    config = make_config("exponential", sampler="infinite", rate0=0.5, generations=4, chains=3)
    assert np.all(simulate(config).stats["rate"] == 0.5)
    assert np.all(theory(config)["E_rate"] == 0.5)
