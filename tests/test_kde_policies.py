"""The KDE chain under Kazdan et al.'s three settings — replace, accumulate, accumulate-subsample — against the
exact recursions of the pooled variances (docs/theory.md §K.3), several parameter sets at 4 SE."""

import math

import numpy as np
import pytest

from simcollapse.api import make_config, simulate, theory
from simcollapse.config import ConfigError
from simcollapse.theory.kde import expected_var, expected_var_policy


@pytest.mark.parametrize(("policy", "bandwidth", "truth", "n", "seed"), [
    ("accumulate", 0.3, "gaussian", 10, 1),
    pytest.param("accumulate", "scott", "gaussian", 8, 2, marks=pytest.mark.slow),
    pytest.param("accumulate", "scott_unscaled", "moons", 10, 3, marks=pytest.mark.slow),
    ("accumulate_subsample", "silverman", "gaussian", 10, 4),
    pytest.param("accumulate_subsample", 0.5, "circles", 12, 5, marks=pytest.mark.slow),
    pytest.param("accumulate_subsample", "silverman_unscaled", "blobs", 8, 6, marks=pytest.mark.slow),
])
def test_pooled_variance_follows_the_recursion(policy, bandwidth, truth, n, seed):
    config = make_config("kde", policy=policy, bandwidth=bandwidth, truth=truth, n_samples=n, generations=6,
                         chains=1500, test_size=10, seed=seed)
    run, expected = simulate(config), theory(config)["E_var"]
    var = np.asarray(run.stats["var"])
    for t in range(1, 7):
        se = var[t].std() / math.sqrt(var.shape[1])
        assert abs(var[t].mean() - expected[t]) <= 4 * se, (t, var[t].mean(), expected[t], se)
    assert np.all(np.isfinite(np.asarray(run.stats["test_nll"])))


def test_replace_recursion_is_the_closed_form():
    np.testing.assert_allclose(expected_var_policy("replace", 10, 30, 2.0, lambda count, p: 0.09),
                               expected_var(10, 30, 2.0, 0.3), rtol=1e-13)


def test_accumulating_slows_the_spread():
    """With a fixed h the replaced chain's variance climbs to N h² while accumulation damps every generation's
    step by its share 1/(t + 1) of the pool: the recursion must lie below replace's after generation 1."""
    replace = expected_var_policy("replace", 20, 50, 1.0, lambda count, p: 0.25)
    accumulate = expected_var_policy("accumulate", 20, 50, 1.0, lambda count, p: 0.25)
    assert accumulate[1] == pytest.approx(replace[1]) and np.all(accumulate[2:] < replace[2:])


def test_bad_policy_is_refused():
    with pytest.raises(ConfigError, match="policy"):
        make_config("kde", policy="fresh_real")
