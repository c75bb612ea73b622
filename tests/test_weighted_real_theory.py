"""Weighted fresh real data (docs/theory.md §H): a plain-numpy chain (n real and m synthetic points per
generation, weighted fit) against the recursions at 4 standard errors, and the optimal weight against a numerical
minimisation."""

import numpy as np
import pytest
from conftest import close_z
from scipy.optimize import minimize_scalar

from simcollapse.testing.chains import gaussian_chain_moments, sample_moments
from simcollapse.theory import weighted_real


def numpy_weighted_chain(rng, n, m, weight, ddof, dim, generations, chains):
    """tr Σ_t and ‖μ_t − μ_0‖², truth N(0, I_d), drawing the points."""

    def step(mean, chol):
        real = rng.standard_normal((chains, n, dim))
        synth = mean[:, None, :] + np.einsum("cij,ckj->cki", chol, rng.standard_normal((chains, m, dim)))
        (mean_r, cov_r), (mean_s, cov_s) = sample_moments(real, ddof), sample_moments(synth, ddof)
        return weight * mean_r + (1 - weight) * mean_s, weight * cov_r + (1 - weight) * cov_s

    return gaussian_chain_moments(step, dim, generations, chains)


@pytest.mark.parametrize("n, m, weight, ddof, dim", [(10, 10, 0.618, 1, 1), (5, 20, 0.3, 0, 1), (20, 5, 0.9, 1, 1),
                                                     (8, 8, 0.1, 0, 2), (12, 6, 0.5, 1, 3)])
def test_weighted_chain_matches_the_recursion(n, m, weight, ddof, dim):
    generations = 12
    trace, mse = numpy_weighted_chain(np.random.default_rng(n + m + dim), n, m, weight, ddof, dim, generations, 20_000)
    e_trace, e_mse = weighted_real.moments([n] * generations, [m] * generations, weight, ddof, dim)
    for t in (1, 4, 12):
        close_z(trace[t], e_trace[t], f"§H.1 E tr Σ_{t} (n={n}, m={m}, w={weight}, δ={ddof}, d={dim})")
        close_z(mse[t], e_mse[t], f"§H.1 E‖μ_{t} − μ0‖² (n={n}, m={m}, w={weight}, δ={ddof}, d={dim})")


def test_unbiased_variance_is_constant_and_the_error_reaches_its_stationary_value():
    trace, mse = weighted_real.moments([10] * 400, [30] * 400, 0.4, 1, 2.0)
    assert np.allclose(trace, 2.0, rtol=1e-14)
    assert mse[-1] == pytest.approx(weighted_real.stationary_mean_sq_error(10, 30, 0.4, 2.0), rel=1e-12)


@pytest.mark.parametrize("n, m", [(10, 10), (20, 5), (5, 40), (100, 300)])
def test_optimal_weight_minimises_the_stationary_error(n, m):
    w = weighted_real.optimal_weight(n, m)
    best = minimize_scalar(lambda v: weighted_real.stationary_mean_sq_error(n, m, v), bounds=(1e-9, 1.0),
                           method="bounded", options={"xatol": 1e-12})
    assert w == pytest.approx(best.x, abs=1e-7)
    assert weighted_real.stationary_mean_sq_error(n, m, w) == pytest.approx(w / n, rel=1e-12)  # V* = w*·σ0²/n
    assert weighted_real.optimal_weight(10, 10) == pytest.approx((np.sqrt(5) - 1) / 2, rel=1e-15)  # 1/φ at k = 1


# --- the chain of the Gaussian families (policy weighted_real) against the recursions ---------------------

CHAIN_CASES = [  # family, n, m, w, δ, d, sampler
    ("gaussian", 10, 10, 0.618, 1, 1, "sufficient"), ("gaussian", 5, 20, 0.3, 0, 1, "sufficient"),
    ("gaussian", 20, 5, 0.9, 1, 1, "exact"), ("mvgaussian", 8, 8, 0.1, 0, 2, "sufficient"),
    ("mvgaussian", 12, 6, 0.5, 1, 3, "exact"),
]


@pytest.mark.slow
@pytest.mark.parametrize("family, n, m, weight, ddof, dim, sampler", CHAIN_CASES)
def test_weighted_real_chain_matches_the_recursion(family, n, m, weight, ddof, dim, sampler):
    from simcollapse.api import make_config, simulate, theory

    spread = "var" if family == "gaussian" else "trace"
    extra = {} if family == "gaussian" else {"dim": dim, "cov0": [[1.0 + i * (i == j) + 0.3 * (i != j) for j in range(dim)]
                                                                  for i in range(dim)]}
    config = make_config(family, policy="weighted_real", n_samples=n, synthetic_samples=m, real_weight=weight, ddof=ddof,
                         sampler=sampler, generations=12, chains=20_000, seed=n + m + dim,
                         metrics=[spread, "mean_sq_error"], **extra)
    stats, expected = simulate(config).stats, theory(config)
    for t in (1, 4, 12):
        for name in (spread, "mean_sq_error"):
            close_z(stats[name][t], expected[f"E_{name}"][t],
                    f"§H.1 {family} E_{name}_{t} (n={n}, m={m}, w={weight}, δ={ddof}, d={dim}, {sampler})")


def test_infinite_sampler_keeps_the_truth_and_one_weight_is_all_real():
    from simcollapse.api import make_config, simulate, theory

    base = {"policy": "weighted_real", "n_samples": 10, "synthetic_samples": 5, "generations": 3, "chains": 4,
            "var0": 2.0, "mean0": 1.0, "metrics": ["mean", "var"]}
    stats = simulate(make_config("gaussian", sampler="infinite", **base)).stats
    np.testing.assert_allclose(stats["var"], 2.0, rtol=1e-13)
    np.testing.assert_allclose(stats["mean"], 1.0, rtol=1e-13)
    config = make_config("gaussian", real_weight=1.0, ddof=1, **base)
    curves = theory(config)
    np.testing.assert_allclose(curves["E_mean_sq_error"][1:], 2.0 / 10, rtol=1e-14)  # the all-real fit: σ0²/n
    assert curves["optimal_real_weight"][0] == pytest.approx(weighted_real.optimal_weight(10, 5), rel=1e-15)
    assert "stationary_mean_sq_error" not in theory(config.replace(ddof=0))  # V* and w* are derived for δ = 1


@pytest.mark.parametrize("values, field", [({"real_weight": 1.5}, "real_weight"), ({"synthetic_samples": 1}, "synthetic_samples"),
                                           ({"fitter": "sgd"}, "fitter"), ({"n_samples": 1}, "n_samples")])
def test_bad_weighted_real_values_name_their_field(values, field):
    from simcollapse.api import make_config
    from simcollapse.config import ConfigError

    with pytest.raises(ConfigError) as err:
        make_config("gaussian", policy="weighted_real", **values)
    assert err.value.field == field


def test_a_sweep_over_the_weight_writes_the_theory_columns(tmp_path):
    import csv

    from simcollapse.sweep import run_sweep

    base = {"policy": "weighted_real", "n_samples": 10, "synthetic_samples": 10, "ddof": 1, "generations": 4,
            "chains": 8, "metrics": ["mean_sq_error"]}
    stacked = run_sweep("gaussian", base, {"real_weight": [0.3, 0.9]}, tmp_path)
    for i, weight in enumerate((0.3, 0.9)):
        mse = weighted_real.moments([10] * 4, [10] * 4, weight, 1)[1]
        np.testing.assert_allclose(stacked["theory_E_mean_sq_error"][i], mse, rtol=1e-14)
        assert stacked["theory_stationary_mean_sq_error"][i, 0] == pytest.approx(
            weighted_real.stationary_mean_sq_error(10, 10, weight), rel=1e-14)
    with open(tmp_path / "summary.csv") as f:
        rows = list(csv.DictReader(f))
    assert [float(r["mean_sq_error_theory"]) for r in rows] == pytest.approx(
        [weighted_real.moments([10] * 4, [10] * 4, w, 1)[1][-1] for w in (0.3, 0.9)], rel=1e-5)
