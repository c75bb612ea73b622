"""GMM-by-EM chain: the moment recursion of docs/theory.md §M.1 by Monte Carlo, the K=1 chain against the ddof-0
Gaussian chain, parameter validity over a run, degenerate data, and bad configurations."""

import numpy as np
import pytest

from simcollapse.api import make_config, simulate, theory
from simcollapse.config import ConfigError
from simcollapse.testing import assert_matches_theory
from simcollapse.theory.gmm import expected_trace, suresh_tail_bound


def _se(x):
    x = np.asarray(x, float)
    return x.std(ddof=1) / np.sqrt(x.size)


@pytest.fixture(scope="module")
def k2_run():
    # docs/theory.md §M.1: d=2, K'=2, N=200 gives E tr C at gens 1/10/30 = 1.990/1.902/1.721
    config = make_config("gmm", components=1, fit_components=2, dim=2, n_samples=200, generations=30,
                         chains=128, tol=1e-3, em_iters=100, seed=3)
    return config, simulate(config)


def test_theory_quoted_values():
    e = expected_trace(np.full(30, 200), 2.0, 2, 0.0)
    np.testing.assert_allclose(e[[1, 10, 30]], [1.990, 1.902, 1.721], atol=5e-4)
    # the reg·I term: E tr C_1 = (1 − 1/N) tr C_0 + d·reg
    assert expected_trace([10], 2.0, 2, 0.5)[1] == pytest.approx(0.9 * 2.0 + 1.0)


def test_suresh_bound_values():
    b = suresh_tail_bound(10, 80, 2.0, std0=1.0)
    assert b.shape == (81,)
    np.testing.assert_allclose(b[[0, 40, 80]], [0.5, 0.5 * np.exp(-1.0), 0.5 * np.exp(-2.0)], rtol=1e-14)
    # σ0/ε > 1: capped at 1 until k = 4n·log(σ0/ε)
    b = suresh_tail_bound(1000, 8000, 0.5, std0=1.5)
    assert np.all(b[:4395] == 1.0) and b[4395] < 1.0  # 4000·log 3 = 4394.4
    np.testing.assert_allclose(b[8000], 3 * np.exp(-2.0), rtol=1e-14)


@pytest.mark.slow
def test_suresh_bound_holds_for_the_symmetric_two_component_chain():
    """Suresh et al. Thm 4 by Monte Carlo, as close to its setting as the family allows: truth ½N(−1, 1) + ½N(1, 1)
    in 1-D (σ0 = 1), K′ = 2, n = 10 points per generation, 120 generations, 200 chains; the empirical
    P(σ̄_k > ε), ε = 0.5, is at most the bound + 4·SE (SE = √(b(1 − b)/C), the binomial SE at the bound b) at
    generations 40, 80, 120, where b = 0.74, 0.27, 0.10.

    σ̄_k = Σ_j w_j σ_j, the weighted component standard deviation (the paper's figure): the theorem's σ_k is the
    common σ of two equal-weight components, which σ̄ equals when the fit has that form.

    The estimator is not the theorem's: EM fits free weights, means and per-component variances (k-means start,
    stopped at tol), not the symmetric model's approximate joint ML of (μ, σ), so the theorem does not apply as
    such. The check is nonetheless sound, by the M-step identity (docs/theory.md §M.1): Σ_j w_j σ_j² ≤ C_k (the fitted
    mixture's variance), so σ̄_k ≤ √C_k by Jensen, and Markov's inequality with E C_k (``expected_trace``) gives
    P(σ̄_k > ε) ≤ E C_k / ε², which lies below Suresh's bound at the generations checked (asserted). It fails for
    a fit that keeps more spread than its data (a wrong M-step, a covariance not refitted). Measured: no chain has
    σ̄ > 0.5 after generation 10 (P = 0 at every generation checked, against 0.74/0.27/0.10): unconstrained EM on
    10 points concentrates its components far faster than the symmetric fit the theorem bounds."""
    from simcollapse.plots.gmm import component_std

    n, eps, chains = 10, 0.5, 200
    config = make_config("gmm", dim=1, components=2, fit_components=2, means0=[[-1.0], [1.0]], covs0=[[1.0]],
                         n_samples=n, generations=120, chains=chains, tol=1e-3, em_iters=100, seed=1,
                         metrics=("weights", "covs"))
    s = simulate(config).stats
    spread = component_std(s["weights"], s["covs"])  # (generations + 1, chains)
    assert np.all(spread[0] == 1.0)
    bound = suresh_tail_bound(n, config.generations, eps, std0=1.0)
    markov = theory(config)["E_trace"] / eps**2
    for k in (40, 80, 120):
        assert bound[k] < 1 and markov[k] <= bound[k]
        p = np.mean(spread[k] > eps)
        se = np.sqrt(bound[k] * (1 - bound[k]) / chains)
        assert p <= bound[k] + 4 * se, f"generation {k}: P(σ > {eps}) = {p:.3f} > bound {bound[k]:.3f} + 4·{se:.3f}"
        # and below the sharper bound that makes the check sound
        assert p <= markov[k] + 4 * np.sqrt(markov[k] * (1 - markov[k]) / chains)


def test_expected_trace_and_mean(k2_run, close_mc):
    config, result = k2_run
    th = theory(config)
    tr = result.stats["trace"]
    for g in (1, 10, 30):
        close_mc(tr[g], th["E_trace"][g], what=f"E tr C_{g}")
        close_mc(result.stats["mean_sq_error"][g], th["E_mean_sq_error"][g], what=f"E|m_{g} - m_0|^2")
        for i in range(2):
            close_mc(result.stats["mix_mean"][g, :, i], th["E_mix_mean"][g, i], what=f"E m_{g}[{i}]")
    # the decay itself is visible, so the check above can fail for a chain that does not collapse
    assert tr[30].mean() + 4 * _se(tr[30]) < 2.0


def test_parameters_valid_over_run(k2_run):
    _, result = k2_run
    s = result.stats
    for name, values in s.items():
        values = values[1:] if name in ("loglik", "l2_sq_to_first_fit") else values  # no fit at generation 0
        assert np.all(np.isfinite(values)), name
    w = s["weights"]
    assert np.all(w >= 0) and np.allclose(w.sum(-1), 1.0)
    assert np.all(np.linalg.eigvalsh(s["covs"]) > 0)
    assert np.all(np.linalg.eigvalsh(s["mix_cov"]) > 0)
    np.testing.assert_allclose(s["trace"], np.trace(s["mix_cov"], axis1=-2, axis2=-1))
    assert np.all(s["em_iterations"][0] == 0) and np.all(s["em_iterations"][1:] >= 1)
    assert np.all(s["l2_to_truth"][0] == 0) and np.all(s["l2_to_truth"][1:] > 0)


def test_single_component_matches_gaussian_chain(close_mc):
    """K = K' = 1: EM returns the sample mean and ddof-0 covariance (+reg), the law of the ddof-0 Gaussian chain."""
    common = dict(generations=20, chains=512, n_samples=20, seed=11)
    # init "random" gives all-ones responsibilities for K' = 1 (and skips compiling k-means)
    gmm = make_config("gmm", components=1, fit_components=1, dim=2, reg_covar=0.0, tol=1e-3, em_iters=10,
                      init="random", **common)
    gauss = make_config("mvgaussian", dim=2, ddof=0, sampler="exact", metrics=("trace", "logdet"), **common)
    a = simulate(gmm).stats
    b = simulate(gauss).stats
    e = theory(gmm)["E_trace"]
    for g in (5, 20):
        close_mc(a["trace"][g], e[g], what=f"gmm E tr C_{g}")
        close_mc(b["trace"][g], e[g], what=f"gaussian E tr C_{g}")
        # same law: the log-determinants agree in mean (two independent samples)
        logdet = np.linalg.slogdet(a["mix_cov"][g])[1]
        diff = logdet.mean() - b["logdet"][g].mean()
        assert abs(diff) <= 4 * np.hypot(_se(logdet), _se(b["logdet"][g])), f"gen {g}: E log det differs by {diff}"


def test_single_component_em_chain_equals_gaussian_chain_given_the_same_keys():
    """K = K′ = 1 with the same seed: EM and the ddof-0 closed-form fit see the same samples every generation (both
    draw them with the same data key), and EM's one M-step is the sample mean and ddof-0 covariance, so the two
    chains coincide. Not bit for bit in general: EM forms Σ r x / n_k and Σ r (x − μ)(x − μ)ᵀ / n_k with
    responsibilities r = 1 and n_k = Σ r (floored at 10·eps, as scikit-learn), which may sum in another order than
    the closed form. Attained: equal to the last bit over 10 generations here (an earlier random stream gave
    ≤ 6e-16 relative: a few rounding errors, not growing along the chain); 1e-12 leaves room for another summation
    order or BLAS while catching any real difference (another sample or divisor differs at ≥ 1e-3)."""
    common = dict(components=1, fit_components=1, dim=2, reg_covar=0.0, n_samples=20, generations=10, chains=4,
                  seed=7, metrics=("means", "covs"))
    # init "random" gives all-ones responsibilities for K′ = 1 (and skips compiling k-means)
    em = simulate(make_config("gmm", init="random", tol=1e-3, em_iters=10, **common)).stats
    gauss = simulate(make_config("gmm", fit_family="gaussian", ddof=0, **common)).stats
    for name in ("means", "covs"):
        a, b = em[name], gauss[name]  # (generations + 1, chains, 1, …)
        assert not np.allclose(b[1], b[0]) and not np.allclose(b[10], b[1])  # the chains move: a real comparison
        for g in range(11):
            for c in range(common["chains"]):
                scale = np.abs(b[g, c]).max()
                np.testing.assert_allclose(a[g, c], b[g, c], rtol=0, atol=1e-12 * scale,
                                           err_msg=f"{name}, generation {g}, chain {c}")


def test_degenerate_data_no_nan():
    # two points for two components: each component sits on one point with covariance reg·I
    config = make_config("gmm", n_samples=2, fit_components=2, generations=15, chains=4, tol=1e-3, em_iters=50,
                         init="random_from_data")
    s = simulate(config).stats
    for name, values in s.items():
        values = values[1:] if name in ("loglik", "l2_sq_to_first_fit") else values  # no fit at generation 0
        assert np.all(np.isfinite(values)), name
    assert np.all(np.linalg.eigvalsh(s["covs"][1:]) >= 0.5e-6)


@pytest.mark.slow
def test_infinite_sampler_is_moment_exact():
    config = make_config("gmm", sampler="infinite", quadrature_points=200, generations=3, chains=2, tol=1e-3,
                         em_iters=50, reg_covar=1e-3)
    s = simulate(config).stats
    th = theory(config)
    np.testing.assert_allclose(s["trace"], np.broadcast_to(th["E_trace"][:, None], s["trace"].shape), rtol=1e-9)
    np.testing.assert_allclose(s["mix_mean"], 0.0, atol=1e-9)


@pytest.mark.slow
def test_warm_start_expected_trace(close_mc):
    config = make_config("gmm", components=2, fit_components=2, n_samples=100, generations=10, chains=128,
                         warm_start=True, tol=1e-3, em_iters=100, seed=5)
    s = simulate(config).stats
    e = theory(config)["E_trace"]
    close_mc(s["trace"][10], e[10], what="warm start E tr C_10")
    assert np.all(np.isfinite(s["trace"]))


@pytest.mark.parametrize(
    "values, field",
    [
        (dict(components=0), "components"),
        (dict(fit_components=0), "fit_components"),
        (dict(fit_components=5, n_samples=4), "fit_components"),
        (dict(covariance_type="tied"), "covariance_type"),
        (dict(init="best"), "init"),
        (dict(reg_covar=-1.0), "reg_covar"),
        (dict(em_iters=0), "em_iters"),
        (dict(weights0=[0.5, 0.6], components=2), "weights0"),
        (dict(covs0=[[1.0, 2.0], [2.0, 1.0]]), "covs0"),
        (dict(means0=[1.0, 2.0, 3.0]), "means0"),
        (dict(metrics=("nope",)), "metrics"),
        (dict(fit_family="kde"), "fit_family"),
        (dict(fit_family="gaussian"), "fit_components"),
        (dict(ddof=1), "ddof"),
        (dict(fit_family="gaussian", fit_components=1, ddof=2), "ddof"),
        (dict(n_samples=0), "n_samples"),
    ],
)
def test_bad_config(values, field):
    with pytest.raises(ConfigError) as err:
        make_config("gmm", **values)
    assert err.value.field == field


def test_gmm_figure_from_a_run(tmp_path):
    from simcollapse.plots import style
    from simcollapse.plots.gmm import component_std, figures

    rng = np.random.default_rng(0)
    weights = np.array([[0.25, 0.75]])
    covs = np.array([[np.diag([4.0, 0.0]), np.diag([1.0, 1.0])]])
    np.testing.assert_allclose(component_std(weights, covs), [0.25 * np.sqrt(2.0) + 0.75])
    w = rng.dirichlet([1, 1], size=(4, 3))
    c = np.broadcast_to(np.eye(2), (4, 3, 2, 2, 2)) * rng.uniform(0.1, 1, (4, 3, 2, 1, 1))
    run = {"config": make_config("gmm", generations=3, chains=3), "generation": np.arange(4),
           "stats": {"l2_to_truth": rng.uniform(0.01, 1, (4, 3)), "weights": w, "covs": c}, "theory": {}}
    with style():
        paths = figures(run, tmp_path)
    assert [p.name for p in paths] == ["gmm_collapse.png", "gmm_collapse.pdf"] and all(p.stat().st_size for p in paths)


def test_mean_error_of_the_unbiased_gaussian_fit():
    """m_{t+1} is the mean of N_t draws, so E‖m_n − m_0‖² = Σ_{t<n} E tr C_t/N_t for every fit (docs/theory.md
    §M.1). For the ddof-1 fit E tr C_t = tr C_0 + t·d·reg does not shrink, so the ddof-0 shortcut
    tr C_0 + n·d·reg − E tr C_n (which gave 0 here against chains at 6.3 ± 0.2) does not apply."""
    config = make_config("gmm", fit_family="gaussian", fit_components=1, ddof=1, components=2,
                         n_samples={"linear": [5, 1]}, reg_covar=0.1, generations=8, chains=4000, seed=1,
                         metrics=["trace", "mean_sq_error"])
    expected = theory(config)
    trace = 6.0 + 0.2 * np.arange(9)  # tr C_0 = 1 + 4 + 1 (means ±2 on the first axis), + d·reg per generation
    np.testing.assert_allclose(expected["E_trace"], trace, rtol=1e-12)
    np.testing.assert_allclose(expected["E_mean_sq_error"][8], np.sum(trace[:8] / (5 + np.arange(8))), rtol=1e-12)
    stats = simulate(config).stats
    for name in ("trace", "mean_sq_error"):
        assert_matches_theory(stats, expected, name, [1, 4, 8])
