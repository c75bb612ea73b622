"""The public testing toolkit: its strategies build (or reject) configs, its assertions pass on real runs
and fail on wrong theory curves."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simcollapse import families
from simcollapse.api import make_config, simulate, theory
from simcollapse.config import ConfigError, schedule
from simcollapse.testing import (
    assert_lost_mass_at_least,
    assert_matches_theory,
    assert_variance_shrinks_no_faster_than,
    categorical_truths,
    declared,
    gaussian_configs,
    invalid_gaussian_values,
    mc_mean_se,
    mvgaussian_configs,
    schedules,
    valid_config_values,
)

FAST = settings(max_examples=25, deadline=None)


# --- strategies (no simulation) ---------------------------------------------------------------------------


@FAST
@given(data=st.data(), g=st.integers(1, 12))
def test_schedules_expand_to_one_size_per_generation(data, g):
    spec = data.draw(schedules(g, min_size=3))
    sizes = schedule(spec, g)
    assert sizes.shape == (g,) and sizes.min() >= 3


@FAST
@given(values=gaussian_configs())
def test_generated_gaussian_configs_build(values):
    config = make_config("gaussian", **values)
    assert config.generations <= 8 and config.chains <= 16


@FAST
@given(values=mvgaussian_configs())
def test_generated_mvgaussian_configs_build(values):
    config = make_config("mvgaussian", **values)
    assert schedule(config.n_samples, config.generations).min() >= config.dim + 1


@settings(max_examples=10, deadline=None)
@given(values=gaussian_configs(policy="replace", ddof=1))
def test_fixed_values_are_kept(values):
    assert values["policy"] == "replace" and values["ddof"] == 1
    make_config("gaussian", **values)


@FAST
@given(values=gaussian_configs(valid=False))
def test_invalid_gaussian_configs_are_rejected(values):
    with pytest.raises(ConfigError):
        make_config("gaussian", **values)


@settings(max_examples=10, deadline=None)
@given(values=mvgaussian_configs(valid=False))
def test_invalid_mvgaussian_configs_are_rejected(values):
    with pytest.raises(ConfigError):
        make_config("mvgaussian", **values)


@FAST
@given(pair=invalid_gaussian_values())
def test_invalid_values_raise_naming_the_field(pair):
    field, values = pair
    with pytest.raises(ConfigError) as error:
        make_config("gaussian", **values)
    assert error.value.field == field and str(error.value).startswith(field)


@FAST
@given(p=categorical_truths(max_types=30))
def test_categorical_truths_are_probability_vectors(p):
    p = np.asarray(p)
    assert 1 <= p.size <= 30 and np.all(p >= 0) and abs(p.sum() - 1) < 1e-9
    assert make_config("categorical", probs0=p.tolist(), generations=2, chains=2).num_types == p.size


@pytest.mark.parametrize("family", families.names())
@FAST
@given(data=st.data())
def test_valid_config_values_build_for_every_family(family, data):
    values = data.draw(valid_config_values(family))
    config = make_config(family, **values)
    assert 1 <= config.generations <= 4 and 1 <= config.chains <= 4


@settings(max_examples=10, deadline=None)
@given(values=valid_config_values("gmm", sampler="infinite", generations=2))
def test_valid_config_values_keep_fixed_values(values):
    assert values["sampler"] == "infinite" and values["generations"] == 2
    make_config("gmm", **values)


@FAST
@given(data=st.data())
def test_declared_draws_stay_within_the_schema(data):
    """`declared` reads the bounds and choices of the config class: a window narrows them, never widens them."""
    from simcollapse.config.categorical import CategoricalConfig

    assert 0.0 < data.draw(declared(CategoricalConfig, "temperature")) <= 10.0  # > 0 declared, 10 beyond it
    assert 0.0 <= data.draw(declared(CategoricalConfig, "min_p")) < 1.0
    assert data.draw(declared(CategoricalConfig, "curation_k", high=3)) in (1, 2, 3)
    assert data.draw(declared(CategoricalConfig, "policy")) in CategoricalConfig.__dataclass_fields__["policy"].metadata["choices"]
    with pytest.raises(ValueError, match="reaches outside"):
        declared(CategoricalConfig, "min_p", 0.0, 1.5)
    with pytest.raises(ValueError, match="declares neither"):
        declared(CategoricalConfig, "rewards")


def test_valid_config_values_rejects_an_unknown_family():
    with pytest.raises(ValueError, match="unknown family"):
        valid_config_values("nope")


@pytest.mark.slow  # every config compiles its own program: 6–14 s per family
@pytest.mark.parametrize("family", families.names())
@settings(max_examples=2, deadline=None, derandomize=True)
@given(data=st.data())
def test_valid_configs_run_with_finite_statistics(family, data):
    """A short run of drawn configs (fixed draws): every statistic after the truth is finite, or ±inf where the
    family says an infinity has a meaning (e.g. KL after a lost type); generation 0 may hold NaN placeholders for
    statistics of a fit (gmm's loglik)."""
    config = make_config(family, **data.draw(valid_config_values(family)))
    trajectory = simulate(config)
    unbounded = families.get(family).build(config).unbounded
    for name, values in trajectory.stats.items():
        assert values.shape[:2] == (len(trajectory.generation), config.chains), name
        later = np.asarray(values[1:], dtype=float)
        assert not np.isnan(later).any(), name
        assert name in unbounded or np.isfinite(later).all(), name


# --- assertions on real runs (one compiled config per family) ---------------------------------------------

M, G, CHAINS = 10, 10, 2000


@pytest.fixture(scope="module")
def gaussian_run():
    config = make_config("gaussian", n_samples=M, ddof=1, generations=G, chains=CHAINS, seed=3,
                         metrics=["var", "logvar"])
    return config, simulate(config), theory(config)


def test_matches_theory_passes_on_a_real_run(gaussian_run):
    _, run, expected = gaussian_run
    assert_matches_theory(run, expected, "logvar")  # a Trajectory, every generation
    assert_matches_theory(run.stats, expected, "var", generations=[1, 5, G])  # a dict
    assert_matches_theory(run.stats["logvar"], expected, "logvar", generations=G)  # an array


def test_matches_theory_fails_on_a_wrong_curve(gaussian_run):
    config, run, expected = gaussian_run
    mle = theory(config.replace(ddof=0))  # E σ² = (1 − 1/M)^n instead of 1
    with pytest.raises(AssertionError, match=r"generation 10: MC .* ± .* vs theory"):
        assert_matches_theory(run, mle, "var", generations=G)
    shifted = {"E_logvar": expected["E_logvar"] + 0.3}
    with pytest.raises(AssertionError, match="logvar"):
        assert_matches_theory(run, shifted, "logvar", generations=G)


def test_variance_shrinkage_passes_for_the_unbiased_fit(gaussian_run):
    _, run, _ = gaussian_run
    assert_variance_shrinks_no_faster_than(run.stats["logvar"], M, ddof=1)
    assert_variance_shrinks_no_faster_than(run, [M] * G, ddof=1, generations=[G])
    # one-sided: the ddof=1 chain keeps more variance than the MLE chain, so it passes against ddof=0 too
    assert_variance_shrinks_no_faster_than(run, {"linear": [M, 0]}, ddof=0)


def test_variance_shrinkage_fails_for_a_faster_shrinking_fit(gaussian_run):
    _, run, _ = gaussian_run
    # a run fitted on M=10 points loses ≈ 0.115 log-variance per generation; M=50 allows only ≈ 0.021
    with pytest.raises(AssertionError, match="shrinks faster"):
        assert_variance_shrinks_no_faster_than(run.stats["logvar"], 50, ddof=1)


def test_unrecorded_generation_and_missing_metric_are_errors(gaussian_run):
    _, run, expected = gaussian_run
    thinned = {"generation": np.array([0, 5, 10]), "logvar": run.stats["logvar"][[0, 5, 10]]}
    assert_matches_theory(thinned, expected, "logvar")
    with pytest.raises(ValueError, match="not recorded"):
        assert_matches_theory(thinned, expected, "logvar", generations=3)
    with pytest.raises(KeyError):
        assert_matches_theory(run, expected, "w2sq")


def test_mc_mean_se():
    mean, se = mc_mean_se([1.0, 2.0, 3.0, 4.0])
    assert mean == 2.5 and np.isclose(se, np.std([1, 2, 3, 4], ddof=1) / 2)


def test_lost_mass_helper_on_a_categorical_run():
    config = make_config("categorical", num_types=6, n_samples=6, generations=8, chains=2000, seed=1,
                         metrics=["lost_mass"])
    run, expected = simulate(config), theory(config)
    assert_lost_mass_at_least(run, expected)
    too_high = {"E_lost_mass": np.minimum(expected["E_lost_mass"] + 0.2, 1.0)}
    with pytest.raises(AssertionError, match="lost tail mass"):
        assert_lost_mass_at_least(run, too_high, generations=[4, 8])
