"""Monte Carlo against the closed forms of docs/theory.md §G, §W, §P (fixed seeds, 4·SE tolerances, by
`simcollapse.testing.assert_matches_theory`)."""

import numpy as np
import pytest

from simcollapse.api import make_config, simulate, theory
from simcollapse.testing import assert_matches_theory
from simcollapse.theory import gaussian as th

GENS = (1, 5, 20)


def run(**kw):
    config = make_config("gaussian", **kw)
    return simulate(config).stats, theory(config)


def test_reference_values():
    m10 = [10] * 20
    assert th.expected_var(m10, 0)[-1] == pytest.approx(0.9**20)
    assert th.expected_std(m10, 1)[-1] == pytest.approx(0.5744, abs=5e-5)
    assert th.expected_logvar(m10, 1)[-1] == pytest.approx(-2.3041, abs=5e-5)
    assert th.var_logvar(m10)[-1] == pytest.approx(4.9745, abs=5e-4)
    assert th.expected_w2sq(m10, 1)[-1] == pytest.approx(2.851, abs=5e-4)
    assert th.expected_w2sq([100] * 11, 1)[-1] == pytest.approx(0.16479, abs=5e-6)
    assert th.expected_w2sq(m10, 0)[-1] == pytest.approx(1.5994, abs=5e-5)
    assert th.expected_mean_sq_error(m10, 0)[-1] == pytest.approx(0.8784, abs=5e-5)
    assert th.marginal_variance(m10, 1)[-1] == pytest.approx(3.0)
    # docs/theory.md §W.1: d=3, M=10, n=5
    assert th.expected_det_ratio([10] * 5, 0, 3)[-1] == pytest.approx(0.03252, abs=5e-6)
    assert th.expected_det_ratio([10] * 5, 1, 3)[-1] == pytest.approx(0.1579, abs=5e-5)
    assert th.expected_logdet([10] * 5, 0, np.eye(3))[-1] == pytest.approx(-5.4008, abs=5e-5)
    # docs/theory.md §P.1 accumulate: N=10
    var0, _ = th.accumulate([10] * 5, 0)
    var1, _ = th.accumulate([10] * 5, 1)
    assert var0[5] == pytest.approx(0.8589, abs=5e-5)
    assert var1[5] == pytest.approx(0.9524, abs=5e-5)
    assert th.accumulate([10] * 3000, 0)[0][-1] == pytest.approx(th.accumulate_limit(10), abs=1e-4)
    assert th.accumulate_limit(10) == pytest.approx(0.8434, abs=5e-5)
    # docs/theory.md §P.2 fresh real (n_r=20, n_s=80) and a fixed pool of P=200
    for ddof, (v, m) in [(0, (0.97283, 0.02717)), (1, (1.02286, 0.02829))]:
        var, mse = th.fresh_real([100] * 400, [20] * 400, ddof)
        assert var[-1] == pytest.approx(v, abs=5e-6) and mse[-1] == pytest.approx(m, abs=5e-6)


def test_suresh_bound_holds():
    stats, _ = run(n_samples=5, ddof=1, generations=40, chains=4000, metrics=["std"])
    bound = th.suresh_tail_bound(5, 40, eps=0.5)
    assert np.all((stats["std"] > 0.5).mean(axis=1) <= bound + 1e-12)


@pytest.mark.parametrize("sampler", ["sufficient", pytest.param("exact", marks=pytest.mark.slow)])
@pytest.mark.parametrize("ddof", [0, 1])
def test_replace_chain_matches_theory(sampler, ddof):
    stats, expected = run(
        n_samples=10, ddof=ddof, sampler=sampler, generations=20, chains=20000, seed=ddof,
        metrics=["std", "logvar", "w2sq", "mean_sq_error", "second_moment", "var", "kl"],
    )
    for name in ("std", "logvar", "w2sq", "mean_sq_error"):
        assert_matches_theory(stats, expected, name, GENS)
    for name in ("var", "second_moment", "kl"):  # heavier-tailed statistics only at small n (docs/theory.md §T.2)
        assert_matches_theory(stats, expected, name, [1, 5])
    logvar = stats["logvar"][20]
    se_var = np.sqrt((np.mean((logvar - logvar.mean()) ** 4) - logvar.var() ** 2) / logvar.size)
    assert abs(logvar.var() - expected["Var_logvar"][20]) < 4 * se_var


def test_growing_schedule_matches_theory():
    schedule = {"geometric": [10, 1.2]}
    stats, expected = run(n_samples=schedule, ddof=1, generations=15, chains=20000,
                          metrics=["std", "logvar", "w2sq", "mean_sq_error"])
    for name in ("std", "logvar", "w2sq", "mean_sq_error"):
        assert_matches_theory(stats, expected, name, 15)


@pytest.mark.parametrize("policy", ["accumulate", "fresh_real", "real_pool"])
@pytest.mark.parametrize("ddof", [0, 1])
@pytest.mark.parametrize("sampler", ["sufficient", pytest.param("exact", marks=pytest.mark.slow)])
def test_data_policies_match_theory(policy, ddof, sampler):
    n = 10 if policy == "accumulate" else 50
    stats, expected = run(
        n_samples=n, ddof=ddof, sampler=sampler, policy=policy, real_fraction=0.2, pool_size=100,
        generations=12, chains=8000, seed=3, metrics=["var", "mean_sq_error", "second_moment"],
    )
    for name in ("var", "mean_sq_error", "second_moment"):
        assert_matches_theory(stats, expected, name, [1, 4, 12])


@pytest.mark.parametrize("ddof", [0, 1])
def test_wishart_chain_matches_theory(ddof):
    config = make_config("mvgaussian", dim=3, n_samples=10, ddof=ddof, generations=5, chains=20000,
                         cov0=[[2.0, 0.3, 0.0], [0.3, 1.0, -0.2], [0.0, -0.2, 0.5]], mean0=[1.0, 0.0, -1.0],
                         metrics=["det_ratio", "logdet", "trace", "mean_sq_error"])
    stats, expected = simulate(config).stats, theory(config)
    for name in ("det_ratio", "logdet", "trace", "mean_sq_error"):
        assert_matches_theory(stats, expected, name, [1, 5])


def test_exact_wishart_sampler_matches_theory():
    config = make_config("mvgaussian", dim=2, n_samples=6, sampler="exact", generations=4, chains=20000,
                         metrics=["logdet", "trace"])
    stats, expected = simulate(config).stats, theory(config)
    for name in ("logdet", "trace"):
        assert_matches_theory(stats, expected, name, 4)


def test_infinite_sampler_switches_off_statistical_error():
    for policy in ("replace", "accumulate", "fresh_real"):
        stats, expected = run(sampler="infinite", policy=policy, n_samples=10, generations=5, chains=3,
                              mean0=0.5, var0=2.0)
        assert np.allclose(stats["var"], 2.0, rtol=1e-12) and np.allclose(stats["mean"], 0.5, rtol=1e-12)
        assert np.allclose(expected["E_var"], 2.0)


def test_sufficient_and_exact_samplers_have_the_same_law():
    from scipy.stats import ks_2samp

    finals = {}
    for sampler in ("sufficient", "exact"):
        stats, _ = run(sampler=sampler, n_samples=8, ddof=1, generations=10, chains=20000,
                       seed=11 if sampler == "exact" else 12, metrics=["logvar", "mean"])
        finals[sampler] = stats
    for name in ("logvar", "mean"):
        assert ks_2samp(finals["sufficient"][name][10], finals["exact"][name][10]).pvalue > 1e-4
    # and the test can fail: a biased estimator is told apart
    stats, _ = run(sampler="exact", n_samples=8, ddof=0, generations=10, chains=20000, seed=13, metrics=["logvar"])
    assert ks_2samp(finals["sufficient"]["logvar"][10], stats["logvar"][10]).pvalue < 1e-4


@pytest.mark.slow
@pytest.mark.parametrize("ddof", [0, 1])
def test_hundred_thousand_generations_stay_finite(ddof):
    config = make_config("gaussian", n_samples=10, ddof=ddof, generations=100_000, chains=4,
                         record_every=10_000, metrics=["logvar", "mean"])
    stats = simulate(config).stats
    assert np.all(np.isfinite(stats["logvar"])) and np.all(stats["logvar"][-1] < -1000)
    config = make_config("mvgaussian", dim=3, n_samples=10, ddof=ddof, generations=100_000, chains=2,
                         record_every=50_000, metrics=["logdet", "mean"])
    logdet = simulate(config).stats["logdet"]
    assert np.all(np.isfinite(logdet)) and np.all(logdet[-1] < -1000)


@pytest.mark.parametrize("family", ["gaussian", "mvgaussian"])
def test_log_kl_is_the_log_of_kl(family):
    """Where the linear KL is finite and moderate the log-space one agrees with it to 1e-12 relative (on KL,
    i.e. |log_kl − log kl| ≤ 1e-12); at generation 0 (the truth) KL = 0 and log KL = −∞."""
    extra = dict(dim=3, cov0=[[2.0, 0.3, 0.0], [0.3, 1.0, -0.2], [0.0, -0.2, 0.5]], mean0=[1.0, 0.0, -1.0]) \
        if family == "mvgaussian" else dict(mean0=0.5, var0=2.0)
    config = make_config(family, n_samples=8, ddof=1, generations=40, chains=500, seed=9, metrics=["kl", "log_kl"],
                         **extra)
    stats = simulate(config).stats
    kl, log_kl = stats["kl"], stats["log_kl"]
    assert np.all(kl[0] == 0) and np.all(log_kl[0] == -np.inf)
    moderate = np.isfinite(kl) & (kl > 1e-3) & (kl < 1e100)
    assert moderate[1:].mean() > 0.9
    np.testing.assert_allclose(log_kl[moderate], np.log(kl[moderate]), rtol=0, atol=1e-12)


def test_log_kl_stays_finite_after_kl_overflows():
    """10⁵ generations at M = 3 (MLE): log σ² reaches about −10⁵, so σ0²/σ² overflows and the linear KL is +inf in
    every chain, while log KL stays finite and equals its dominant term log[(σ0² + (μ − μ0)²)/σ²] − log 2 (the
    rest, log σ² − log σ0² − 1, is a vanishing share of KL)."""
    config = make_config("gaussian", n_samples=3, generations=100_000, chains=2, record_every=1000, seed=1,
                         metrics=["kl", "log_kl", "logvar", "mean"])
    stats = simulate(config).stats
    log_kl = stats["log_kl"][1:]
    assert np.all(np.isfinite(log_kl))
    assert np.all(np.isinf(stats["kl"][-1])) and np.all(stats["logvar"][-1] < -5e4)
    dominant = np.log1p(stats["mean"][1:] ** 2) - stats["logvar"][1:] - np.log(2.0)
    late = stats["logvar"][1:] < -100
    np.testing.assert_allclose(log_kl[late], dominant[late], rtol=1e-12)


def test_overview_draws_log_kl_where_kl_overflows():
    from simcollapse.plots import panels

    config = make_config("gaussian", n_samples=3, generations=20, chains=2, metrics=["var", "kl", "log_kl"])
    stats = {"var": np.ones((21, 2)), "kl": np.ones((21, 2)), "log_kl": np.zeros((21, 2))}
    run = {"config": config, "stats": stats, "theory": {}, "generation": np.arange(21)}
    assert panels(run) == ["var", "kl", "log_kl"]
    stats["kl"][15:, 1] = np.inf
    assert panels(run) == ["var", "log_kl"]
