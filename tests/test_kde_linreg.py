"""KDE and linear-regression chains against their closed forms (docs/theory.md §L and §K.1)."""

import math

import numpy as np
import pytest

from simcollapse.api import make_config, simulate, theory
from simcollapse.config import ConfigError
from simcollapse.testing import assert_matches_theory
from simcollapse.theory import linreg as lr
from simcollapse.theory.kde import expected_var


def _se(x):
    x = np.asarray(x, float)
    return x.std(ddof=1) / np.sqrt(x.size)


# --- KDE ---------------------------------------------------------------------------------------------


def test_kde_variance_recursion_algebra():
    # E V_{t+1} = (1 − 1/N) E V_t + h²: fixed point N h², reached geometrically
    e = expected_var(10, 400, 1.0, 0.5)
    assert e[1] == pytest.approx(0.9 + 0.25)
    assert e[-1] == pytest.approx(10 * 0.25, rel=1e-9)


def test_kde_fixed_bandwidth_variance_and_nll():
    config = make_config("kde", n_samples=50, bandwidth=0.3, generations=20, chains=1024, test_size=100, seed=2)
    s = simulate(config).stats
    assert np.all(s["var"][0] == 1.0)
    assert_matches_theory(s, theory(config), "var", [1, 5, 20])
    # the variance grows by about h² per generation beyond the (1 − 1/N) shrinkage: visible at gen 20
    assert s["var"][20].mean() - 4 * _se(s["var"][20]) > 1.5
    nll = s["test_nll"]
    assert np.all(np.isfinite(nll))
    for a, b in ((0, 1), (1, 20)):
        gap = nll[b] - nll[a]  # paired per chain (same held-out points)
        assert gap.mean() > 4 * _se(gap), f"test_nll does not worsen from gen {a} to {b}"


@pytest.mark.slow
def test_kde_scott_rule_variance(close_mc):
    config = make_config("kde", n_samples=50, bandwidth="scott", generations=5, chains=512, test_size=10, seed=4,
                         metrics=("var", "bandwidth"))
    s = simulate(config).stats
    e = theory(config)["E_var"]
    for g in (1, 5):
        close_mc(s["var"][g], e[g], what=f"scott E var_{g}")
    assert np.all(s["bandwidth"][1:] > 0)


@pytest.mark.parametrize("bw", [0.0, -1.0, "normal_reference", math.inf])
def test_kde_bad_bandwidth(bw):
    with pytest.raises(ConfigError) as err:
        make_config("kde", bandwidth=bw)
    assert err.value.field == "bandwidth"


# --- linear regression ---------------------------------------------------------------------------


def test_linreg_theory_table():
    # docs/theory.md §L.1, T=50, d=10, σ=1
    base = lr.one_generation_error(50, 10, 1.0)
    assert base == pytest.approx(0.25641, abs=1e-5)
    rep = lr.expected_test_error(10, 50, 10, 1.0, "replace")
    acc = lr.expected_test_error(10, 50, 10, 1.0, "accumulate")
    np.testing.assert_allclose([rep[5], acc[5], rep[10], acc[10]], [1.2821, 0.3753, 2.5641, 0.3974], atol=1e-4)
    assert np.all(acc <= math.pi**2 / 6 * base)


@pytest.fixture(scope="module", params=["replace", "accumulate"])
def linreg_run(request):
    config = make_config("linreg", design_size=50, dim=10, noise=1.0, policy=request.param, generations=10,
                         chains=2048, seed=7)
    return config, simulate(config).stats


def test_linreg_matches_theory(linreg_run, close_mc):
    config, s = linreg_run
    err = s["test_error"]
    assert np.all(err[0] == 0)
    assert_matches_theory(s, theory(config), "test_error", [1, 5, 10])
    for g in (1, 5, 10):
        # conditional on the design: E[err | X] = c_g σ² tr((XᵀX)⁻¹), a sharper check
        cond = lr.given_design(s["trace_inv_gram"][0], config.generations, config.noise, config.policy)[g]
        close_mc(err[g] - cond, 0.0, what=f"{config.policy} error given X gen {g}")
    if config.policy == "accumulate":
        bound = math.pi**2 / 6 * err[1].mean()
        assert err[10].mean() <= bound
        assert err[10].mean() < 0.5 * theory(config.replace(policy="replace"))["E_test_error"][10]
    else:
        assert err[10].mean() > 8 * err[1].mean()


@pytest.mark.slow
def test_linreg_ridge_shrinks():
    config = make_config("linreg", ridge=1e6, generations=3, chains=8, design_size=5, dim=10)
    s = simulate(config).stats
    assert theory(config) == {}
    # a huge ridge drives ŵ towards 0, so the error tends to ‖w*‖² = 1
    np.testing.assert_allclose(s["test_error"][3], 1.0, atol=1e-3)


@pytest.mark.parametrize(
    "values, field",
    [
        (dict(design_size=0), "design_size"),
        (dict(dim=0), "dim"),
        (dict(noise=-1.0), "noise"),
        (dict(policy="mix"), "policy"),
        (dict(ridge=-0.1), "ridge"),
        (dict(w_star=[1.0, 2.0]), "w_star"),
        (dict(sampler="sufficient"), "sampler"),
        (dict(fit_dim=0), "fit_dim"),
        (dict(fit_dim=11, dim=10), "fit_dim"),
        (dict(fit_dim=2.5), "fit_dim"),
        (dict(fitter="adam"), "fitter"),
        (dict(sgd_steps=0), "sgd_steps"),
        (dict(lr=0.0), "lr"),
        (dict(warm_start="yes"), "warm_start"),
    ],
)
def test_linreg_bad_config(values, field):
    with pytest.raises(ConfigError) as err:
        make_config("linreg", **values)
    assert err.value.field == field
