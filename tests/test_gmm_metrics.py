"""The GMM metrics of the paper's notebook: squared L2 distances to the truth and to the first fit, and the
per-component standard deviation, checked against independent numpy formulas and the exact population chain."""

import math

import numpy as np
import pytest
from scipy import stats

from simcollapse.api import make_config, simulate


def _l2_sq(p, q):
    """∫(f − g)² for mixtures given as (weights, means, covs), from the Gaussian overlap integrals
    ∫N(x; a, A)N(x; b, B) = N(a; b, A + B), written independently of simcollapse.mixture."""
    def cross(u, v):
        return sum(wi * wj * stats.multivariate_normal.pdf(mi, mj, ci + cj)
                   for wi, mi, ci in zip(*u) for wj, mj, cj in zip(*v) if wi > 0 and wj > 0)

    return cross(p, p) + cross(q, q) - 2 * cross(p, q)


@pytest.fixture(scope="module")
def run():
    config = make_config("gmm", n_samples=60, em_iters=40, generations=4, chains=3, seed=5)
    return simulate(config).stats


def test_squared_distances_match_an_independent_formula(run):
    w, m, c = (np.asarray(run[k]) for k in ("weights", "means", "covs"))
    np.testing.assert_allclose(run["l2_sq_to_truth"], np.asarray(run["l2_to_truth"]) ** 2, rtol=1e-12, atol=1e-15)
    assert np.all(np.isnan(run["l2_sq_to_first_fit"][0]))
    assert np.all(np.asarray(run["l2_sq_to_first_fit"][1]) == 0)
    for t in (0, 2, 4):
        for i in range(3):
            model, truth, first = ((w[s, i], m[s, i], c[s, i]) for s in (t, 0, 1))
            assert run["l2_sq_to_truth"][t, i] == pytest.approx(_l2_sq(model, truth), rel=1e-9, abs=1e-14)
            if t:
                assert run["l2_sq_to_first_fit"][t, i] == pytest.approx(_l2_sq(model, first), rel=1e-9, abs=1e-14)


def test_component_std_is_the_root_mean_variance(run):
    covs, weights = np.asarray(run["covs"]), np.asarray(run["weights"])
    expected = np.sqrt(np.trace(covs, axis1=-2, axis2=-1) / covs.shape[-1])
    np.testing.assert_allclose(run["component_std"], np.where(weights > 0, expected, 0.0), rtol=1e-13)


def test_population_gaussian_fit_stays_at_its_first_fit():
    """Infinite sampler, one Gaussian fitted to a two-component truth, no regularisation (docs/theory.md §M.1):
    generation 1 is the moment-matched Gaussian and every later fit returns it, so the distance to the first fit
    is 0 and the distance to the truth is that of the moment match, at every generation."""
    config = make_config("gmm", components=2, fit_components=1, fit_family="gaussian", sampler="infinite",
                         reg_covar=0.0, quadrature_points=400, generations=5, chains=2, seed=1)
    s = simulate(config).stats
    weights, means, covs = config.truth()
    mean = weights @ means
    cov = sum(wk * (ck + np.outer(mk - mean, mk - mean)) for wk, mk, ck in zip(weights, means, covs))
    expected = _l2_sq((weights, means, covs), ([1.0], [mean], [cov]))
    np.testing.assert_allclose(np.asarray(s["l2_sq_to_first_fit"])[1:], 0.0, atol=1e-12)
    np.testing.assert_allclose(np.asarray(s["l2_sq_to_truth"])[1:], expected, rtol=1e-9)
    np.testing.assert_allclose(np.asarray(s["component_std"])[1:, :, 0], math.sqrt(np.trace(cov) / 2), rtol=1e-9)
