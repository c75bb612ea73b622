"""Suresh et al.'s convention for vocabularies: one first sample shared by every chain, survival counted among the
types present in it (`shared_first_sample`, `surviving_fraction`), against the exact per-type Wright–Fisher chains
given that sample (docs/theory.md §C.11), several parameter sets at 4 SE."""

import math

import numpy as np
import pytest

from simcollapse.api import make_config, simulate, theory
from simcollapse.config import ConfigError
from simcollapse.families.categorical import shared_first_counts


@pytest.mark.parametrize(("values", "seed"), [
    (dict(truth="zipf_mandelbrot", num_types=200, zipf_beta=1.1, zipf_q=2.7, n_samples=100), 4),
    (dict(truth="zipf", num_types=50, zipf_beta=1.5, n_samples=40), 5),
    pytest.param(dict(truth="uniform", num_types=30, n_samples=60), 6, marks=pytest.mark.slow),
])
def test_survival_follows_the_exact_chains_given_the_sample(values, seed):
    config = make_config("categorical", generations=30, chains=2000, shared_first_sample=True, seed=seed,
                         metrics=["surviving", "surviving_fraction", "probs"], **values)
    s, curves = simulate(config).stats, theory(config)
    probs = np.asarray(s["probs"])[1]
    assert np.all(probs == probs[0])  # generation 1 is one sample, the same in every chain
    np.testing.assert_allclose(probs[0] * config.sizes()[0], shared_first_counts(config), rtol=1e-12)
    for name in ("surviving", "surviving_fraction"):
        x = np.asarray(s[name])
        assert x[1, 0] == curves[f"E_{name}"][1]
        for t in (3, 10, 30):
            se = x[t].std() / math.sqrt(x.shape[1])
            assert abs(x[t].mean() - curves[f"E_{name}"][t]) <= 4 * se + 1e-12, (name, t, x[t].mean(), se)


def test_the_sample_is_the_seeds():
    base = dict(truth="zipf", num_types=40, zipf_beta=1.2, n_samples=30, shared_first_sample=True)
    a, b = (shared_first_counts(make_config("categorical", seed=s, **base)) for s in (1, 2))
    assert a.sum() == 30 and not np.array_equal(a, b)
    np.testing.assert_array_equal(a, shared_first_counts(make_config("categorical", seed=1, **base)))


def test_without_a_shared_sample_the_fraction_counts_from_the_truth():
    config = make_config("categorical", truth="uniform", num_types=20, n_samples=30, generations=3, chains=50,
                         metrics=["surviving", "surviving_fraction"], seed=3)
    s = simulate(config).stats
    np.testing.assert_allclose(s["surviving_fraction"], np.asarray(s["surviving"]) / 20, rtol=1e-15)


@pytest.mark.parametrize("values", [dict(policy="accumulate"), dict(sampler="infinite"),
                                    dict(shared_first_sample="yes")])
def test_shared_sample_settings_are_refused(values):
    with pytest.raises(ConfigError):
        make_config("categorical", **({"shared_first_sample": True} | values))
