"""linreg with fewer design rows than features: the minimum-norm least-squares fit X⁺y (the peers' pinv), its
exact error (1 − T/d)‖w*‖² + c_n σ² T/(d − T − 1) (docs/theory.md §L.5) at 4 SE, and Pythagoras without noise."""

import math

import numpy as np
import pytest

from simcollapse.api import make_config, simulate, theory


@pytest.mark.parametrize(("policy", "design_size", "dim", "noise", "seed"), [
    ("replace", 4, 8, 0.5, 1),
    ("accumulate", 3, 7, 1.0, 2),
    pytest.param("replace", 6, 20, 1.0, 3, marks=pytest.mark.slow),
    pytest.param("accumulate", 10, 14, 0.3, 4, marks=pytest.mark.slow),
])
def test_minimum_norm_error_follows_the_closed_form(policy, design_size, dim, noise, seed):
    config = make_config("linreg", policy=policy, design_size=design_size, dim=dim, noise=noise, generations=5,
                         chains=3000, seed=seed)
    error, curve = np.asarray(simulate(config).stats["test_error"]), theory(config)["E_test_error"]
    for t in (1, 3, 5):
        se = error[t].std() / math.sqrt(error.shape[1])
        assert abs(error[t].mean() - curve[t]) <= 4 * se, (t, error[t].mean(), curve[t], se)


def test_noise_free_fit_is_the_projection_of_the_truth():
    """ŵ = P w*, P the projection on the design's row space: ‖ŵ‖² + ‖ŵ − w*‖² = ‖w*‖², at every generation."""
    config = make_config("linreg", design_size=3, dim=6, sampler="infinite", generations=4, chains=50, seed=5)
    s = simulate(config).stats
    w_sq = np.sum(np.asarray(s["w"]) ** 2, axis=-1)
    np.testing.assert_allclose(w_sq + np.asarray(s["test_error"]), np.sum(config.truth() ** 2), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(s["w"])[2:], np.broadcast_to(np.asarray(s["w"])[1], (3, 50, 6)),
                               rtol=1e-10, atol=1e-14)


def test_trace_of_the_pseudo_inverse_is_recorded():
    """tr((XᵀX)⁺) = tr((XXᵀ)⁻¹), whose mean over designs is T/(d − T − 1) (inverse Wishart), at 4 SE."""
    config = make_config("linreg", design_size=3, dim=9, generations=1, chains=4000, seed=6)
    trace = np.asarray(simulate(config).stats["trace_inv_gram"])[0]
    assert abs(trace.mean() - 3 / 5) <= 4 * trace.std() / math.sqrt(trace.size)


def test_no_curve_where_the_expectation_is_infinite():
    for design_size in (7, 8, 9):  # T ∈ {d − 1, d, d + 1}: E tr of the (pseudo-)inverse diverges
        assert theory(make_config("linreg", design_size=design_size, dim=8)) == {}
