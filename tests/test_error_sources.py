"""The paper's three error sources as config switches (Nature 2024, "What is model collapse?"; issue 5 §5).

Statistical approximation = the sampler (``infinite`` turns it off); functional expressivity = fitting a family
that cannot hold the truth (``fit_family="gaussian"`` on a two-component mixture); functional approximation =
the fitter (``ddof=0``, ``fitter="sgd"``, ``em_iters``). The linear-regression chain has all three: ``sampler``,
``fit_dim`` and ``fitter``. Each test isolates one source, or pairs two runs that
differ in one source only (same seed, so the samples are shared and the comparison is paired).
"""

import numpy as np

from simcollapse import mixture
from simcollapse.api import make_config, simulate, theory
from simcollapse.mixture import GMMParams


def _se(x):
    return np.std(x, ddof=1) / np.sqrt(np.size(x))


def test_expressivity_alone_acts_in_the_first_generation_only():
    """Population fits of one Gaussian to a two-component truth: generation 1 is the truth's moment match,
    and every later generation returns it unchanged (docs/theory.md §M.2)."""
    config = make_config("gmm", components=2, dim=2, fit_family="gaussian", fit_components=1, sampler="infinite",
                         reg_covar=0.0, quadrature_points=300, generations=6, chains=2, seed=4,
                         metrics=["means", "covs", "l2_to_truth"])
    s = simulate(config).stats
    truth = GMMParams(*(np.asarray(a) for a in config.truth()))
    mean, cov = mixture.moment_match(truth)
    np.testing.assert_allclose(s["means"][1:, :, 0], np.broadcast_to(mean, (6, 2, 2)), atol=1e-12)
    np.testing.assert_allclose(s["covs"][1:, :, 0], np.broadcast_to(cov, (6, 2, 2, 2)), atol=1e-12)
    gaussian = GMMParams(np.ones(1), np.asarray(mean)[None], np.asarray(cov)[None])
    expected = float(mixture.l2_distance(gaussian, truth))
    assert expected > 0.05
    np.testing.assert_allclose(s["l2_to_truth"][1:], expected, rtol=1e-9)
    np.testing.assert_allclose(s["l2_to_truth"][0], 0.0, atol=1e-12)


def test_biased_fitter_alone_shrinks_the_expected_covariance(close_mc):
    """One Gaussian fitted to a two-component truth from N samples: E tr C_n = ((N − 1)/(N − δ))^n tr C_0, so the
    ddof-0 fit shrinks it by (1 − 1/N) per generation and the unbiased fit keeps it (docs/theory.md §M.2)."""
    common = dict(components=2, dim=2, fit_family="gaussian", fit_components=1, reg_covar=0.0, n_samples=10,
                  generations=10, chains=2000, seed=2, metrics=["trace"])
    for ddof in (0, 1):
        config = make_config("gmm", ddof=ddof, **common)
        trace = simulate(config).stats["trace"]
        expected = theory(config)["E_trace"]
        close_mc(trace[10], expected[10], what=f"ddof {ddof}: E tr C_10")
        if ddof == 0:
            assert expected[10] < 0.95 * expected[0]
        else:
            np.testing.assert_allclose(expected, expected[0], rtol=1e-12)


def test_gradient_fitter_alone_leaves_the_population_fit_unchanged():
    """With population data the previous model is already the maximiser, so gradient steps do not move it:
    functional approximation alone is zero in the Gaussian family."""
    config = make_config("gaussian", sampler="infinite", fitter="sgd", sgd_steps=3, lr=0.3, generations=5, chains=2,
                         mean0=1.5, var0=2.0, metrics=["mean", "logvar"])
    s = simulate(config).stats
    np.testing.assert_allclose(s["mean"], 1.5, atol=1e-12)
    np.testing.assert_allclose(s["logvar"], np.log(2.0), atol=1e-12)


def test_gradient_fitter_converges_to_the_closed_form_and_underfitting_slows_collapse():
    """Many steps reach the ddof-0 fit on the same samples (slowly where σ̂ ≫ σ_prev, as the mean's curvature in
    standardised coordinates is σ_prev²/σ̂²; stable while lr < σ_prev²/σ̂²); two steps only move part of the way from the previous
    model, so log σ² drifts down more slowly than under the closed form (paired: same seed, same samples)."""
    common = dict(n_samples=10, generations=12, chains=1000, seed=7, metrics=["logvar"])
    exact = simulate(make_config("gaussian", **common)).stats["logvar"]
    # a chain's trajectory does not depend on the chains beside it: converge on the first 64 only
    many = simulate(make_config("gaussian", fitter="sgd", sgd_steps=2000, lr=0.1, **common), chain_indices=range(64))
    np.testing.assert_allclose(many.stats["logvar"], exact[:, :64], atol=1e-9)
    few = simulate(make_config("gaussian", fitter="sgd", sgd_steps=2, lr=0.1, **common)).stats["logvar"]
    gap = few[12] - exact[12]
    assert np.mean(exact[12]) < -4 * _se(exact[12])  # the closed form collapses…
    assert np.mean(gap) > 4 * _se(gap)  # …and the under-fitted chain less


def test_statistical_error_alone_collapses_the_log_variance(close_mc):
    """Unbiased fitter, Gaussian truth (no approximation or expressivity error): E σ² stays σ0² while
    E log σ²_n = Σ [ψ(k/2) + ln(2/(M − 1))] < 0 (docs/theory.md §G.3)."""
    config = make_config("gaussian", n_samples=10, ddof=1, generations=20, chains=4000, seed=5,
                         metrics=["logvar"])
    logvar = simulate(config).stats["logvar"]
    expected = theory(config)["E_logvar"]
    assert expected[20] < 0
    close_mc(logvar[20], expected[20], what="E log σ²_20")
    assert np.mean(logvar[20]) < -4 * _se(logvar[20])


def test_categorical_expressivity_alone_acts_in_the_first_generation_only():
    """A model that keeps only its top_k types (a truncated vocabulary), population fits: generation 1 is the truth
    restricted to its k largest types and renormalised, and later generations keep it."""
    probs0 = np.array([0.2, 0.5, 0.3])
    config = make_config("categorical", probs0=probs0.tolist(), top_k=2, sampler="infinite", generations=4, chains=1,
                         metrics=["probs"])
    probs = simulate(config).stats["probs"][:, 0]
    kept = np.where(probs0 >= np.sort(probs0)[-2], probs0, 0.0)
    np.testing.assert_allclose(probs[0], probs0, atol=1e-12)
    np.testing.assert_allclose(probs[1:], np.broadcast_to(kept / kept.sum(), (4, 3)), atol=1e-12)


# --- linear regression: sampler, fit_dim, fitter -------------------------------------------------------------


def test_linreg_statistical_error_off_keeps_the_truth():
    """OLS on every feature with noiseless labels (the infinite sampler) refits w* itself, every generation."""
    config = make_config("linreg", sampler="infinite", generations=5, chains=8, seed=1)
    s = simulate(config).stats
    np.testing.assert_allclose(s["w"], np.broadcast_to(config.truth(), s["w"].shape), atol=1e-12)
    assert not np.any(theory(config)["E_test_error"])


def test_linreg_expressivity_alone_acts_in_the_first_generation_only(close_mc):
    """Fitting d′ = 4 of d = 10 features on noiseless labels: ŵ_1 = w*₁ + (X₁ᵀX₁)⁻¹X₁ᵀX₂w*₂, then constant; in
    expectation ‖w*₂‖²(1 + d′/(T − d′ − 1)) (theory.linreg)."""
    config = make_config("linreg", sampler="infinite", fit_dim=4, generations=5, chains=4000, seed=2)
    s = simulate(config).stats
    w, error = s["w"], s["test_error"]
    assert np.all(w[1:, :, 4:] == 0)
    np.testing.assert_allclose(w[2:], np.broadcast_to(w[1], w[2:].shape), atol=1e-12)
    expected = theory(config)["E_test_error"]
    np.testing.assert_allclose(expected[1:], 0.6 * (1 + 4 / 45), rtol=1e-12)
    close_mc(error[1], expected[1], what="E test error, generation 1")


def test_linreg_expressivity_with_sampling_matches_theory(close_mc):
    """With label noise too: E‖ŵ_n − w*‖² = ‖w*₂‖² + q(‖w*₂‖² + σ² c_n), c_n = n or Σ 1/i² (theory.linreg)."""
    for policy in ("replace", "accumulate"):
        config = make_config("linreg", fit_dim=6, policy=policy, generations=8, chains=3000, seed=3,
                             metrics=["test_error"])
        error = simulate(config).stats["test_error"]
        expected = theory(config)["E_test_error"]
        for g in (1, 8):
            close_mc(error[g], expected[g], what=f"{policy}, generation {g}")


def test_linreg_gradient_steps_converge_to_the_closed_form():
    """Enough full-batch steps (η below 2/λ_max) reach the least-squares fit on the same labels, for both policies
    and a fitted subset of features (same seed, so the same designs and noise)."""
    for policy in ("replace", "accumulate"):
        common = dict(policy=policy, fit_dim=7, ridge=0.5, generations=4, chains=16, seed=4, metrics=["w"])
        exact = simulate(make_config("linreg", **common)).stats["w"]
        steps = simulate(make_config("linreg", fitter="sgd", sgd_steps=4000, lr=0.3, **common)).stats["w"]
        np.testing.assert_allclose(steps, exact, atol=1e-10)


def test_linreg_gradient_steps_alone_shrink_by_the_spectral_filter():
    """Noiseless labels, one feature, k steps of size η from 0: ŵ_n = (1 − (1 − η a)^k)^n w* with a = Σx²/T =
    1/(T tr((XᵀX)⁻¹)) the chain's own curvature, so the approximation error alone drives ŵ_n → 0."""
    config = make_config("linreg", dim=1, design_size=30, sampler="infinite", fitter="sgd", sgd_steps=3, lr=0.2,
                         w_star=1.5, generations=12, chains=6, seed=5, metrics=["w", "trace_inv_gram"])
    s = simulate(config).stats
    a = 1.0 / (30 * s["trace_inv_gram"][0])
    factor = 1.0 - (1.0 - 0.2 * a) ** 3
    expected = 1.5 * factor[None, :] ** np.arange(13)[:, None]
    np.testing.assert_allclose(s["w"][..., 0], expected, rtol=1e-12)
    assert np.all(s["w"][12, :, 0] < 0.5 * 1.5)
