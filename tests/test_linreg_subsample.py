"""linreg under accumulate-subsample (Kazdan et al. 2024): every (x, y) pair so far kept, the fit on a uniform
T-subset. No closed form is known (docs/theory.md §L.4): the chain is checked against an independent numpy
implementation of the rule (two-sample z at 4 SE, several parameter sets) and exactly where labels carry no noise."""

import math

import numpy as np
import pytest

from simcollapse.api import make_config, simulate, theory
from simcollapse.config import ConfigError


def numpy_chain(rng, chains, generations, design_size, dim, noise, w_star):
    """The rule written plainly: the design fixed, each generation's labels y = X ŵ + ε appended to the pool of
    pairs, the next fit OLS on T pairs drawn without replacement from all of them."""
    errors = np.zeros((generations + 1, chains))
    for c in range(chains):
        x = rng.normal(size=(design_size, dim))
        rows, labels, w = [], [], w_star
        for t in range(1, generations + 1):
            rows.append(np.arange(design_size))
            labels.append(x @ w + noise * rng.normal(size=design_size))
            pool_rows, pool_labels = np.concatenate(rows), np.concatenate(labels)
            pick = rng.choice(pool_rows.size, size=design_size, replace=False)
            w = np.linalg.lstsq(x[pool_rows[pick]], pool_labels[pick], rcond=None)[0]
            errors[t, c] = np.sum((w - w_star) ** 2)
    return errors


@pytest.mark.parametrize(("design_size", "dim", "noise", "seed"), [
    (12, 3, 1.0, 1),
    pytest.param(20, 5, 0.5, 2, marks=pytest.mark.slow),
    pytest.param(8, 2, 2.0, 3, marks=pytest.mark.slow),
])
def test_chain_matches_an_independent_implementation(design_size, dim, noise, seed):
    generations, chains = 6, 1500
    config = make_config("linreg", policy="accumulate_subsample", design_size=design_size, dim=dim, noise=noise,
                         generations=generations, chains=chains, seed=seed)
    ours = np.asarray(simulate(config).stats["test_error"])
    ref = numpy_chain(np.random.default_rng(seed), chains, generations, design_size, dim, noise, config.truth())
    for t in (1, 3, 6):
        se = math.hypot(ours[t].std(), ref[t].std()) / math.sqrt(chains)
        assert abs(ours[t].mean() - ref[t].mean()) <= 4 * se, (t, ours[t].mean(), ref[t].mean(), se)
    # subsampling the pool keeps the error far below replace's linear growth n σ² d/(T − d − 1)
    replace = theory(make_config("linreg", design_size=design_size, dim=dim, noise=noise,
                                 generations=generations))["E_test_error"]
    assert ours[generations].mean() < replace[generations]


def test_without_label_noise_every_subset_refits_the_truth():
    """No noise and every feature fitted: every stored label is x·w*, so every subset refits w* (rounding only),
    as the curve says; with an omitted feature the real labels carry what the model cannot fit, subsets mixing
    them with the model's labels refit differently, and no curve is claimed."""
    config = make_config("linreg", policy="accumulate_subsample", sampler="infinite", design_size=16, dim=3,
                         generations=5, chains=64, seed=4)
    assert np.max(np.asarray(simulate(config).stats["test_error"])) < 1e-24
    np.testing.assert_array_equal(theory(config)["E_test_error"], 0.0)
    omitted = make_config("linreg", policy="accumulate_subsample", sampler="infinite", design_size=16, dim=3,
                          fit_dim=2, generations=5)
    assert theory(omitted) == {}


def test_noisy_subsample_has_no_curve():
    assert theory(make_config("linreg", policy="accumulate_subsample", design_size=16, dim=3)) == {}


def test_small_design_is_refused():
    with pytest.raises(ConfigError, match="design_size"):
        make_config("linreg", policy="accumulate_subsample", design_size=10, dim=3)
