"""Gaussian-mixture density, sampling and distances, against scipy and numerical quadrature."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
from scipy import integrate, stats

from simcollapse import mixture as mx
from simcollapse.mixture import GMMParams
from simcollapse.samplers import bits


def _random_gmm(seed, k, d, scale=1.0):
    rng = np.random.default_rng(seed)
    w = rng.dirichlet(np.ones(k) * 2)
    mu = rng.normal(size=(k, d)) * 2 * scale
    a = rng.normal(size=(k, d, d)) * 0.6 * scale
    cov = a @ np.swapaxes(a, 1, 2) + 0.3 * scale**2 * np.eye(d)
    return GMMParams(jnp.asarray(w), jnp.asarray(mu), jnp.asarray(cov))


def _np_pdf(p, pts):
    """Mixture density with scipy, at (M, d) points."""
    return sum(
        float(w) * stats.multivariate_normal(np.asarray(m), np.asarray(c)).pdf(pts)
        for w, m, c in zip(p.weights, p.means, p.covs)
    )


P2, Q2 = _random_gmm(0, 2, 2), _random_gmm(1, 3, 2)
P1, Q1 = _random_gmm(2, 3, 1), _random_gmm(3, 3, 1)


# --------------------------------------------------------------------------------------------------------
# density


def test_log_prob_matches_scipy():
    p = _random_gmm(4, 3, 3)
    x = np.random.default_rng(5).normal(size=(50, 3)) * 3
    np.testing.assert_allclose(mx.log_prob(p, x), np.log(_np_pdf(p, x)), rtol=1e-12)
    comp = mx.component_log_prob(x, p.means, p.covs)
    for k in range(3):
        ref = stats.multivariate_normal(np.asarray(p.means[k]), np.asarray(p.covs[k])).logpdf(x)
        np.testing.assert_allclose(comp[:, k], ref, rtol=1e-12)


def test_log_prob_is_finite_far_in_the_tails():
    x = np.array([[1e3, -1e3]])  # every component density underflows to 0; log-sum-exp keeps the log finite
    lp = mx.log_prob(P2, x)
    assert np.isfinite(lp).all() and lp[0] < -1e4


def test_density_integrates_to_one_1d():
    grid = np.linspace(-40, 40, 160001)
    dens = np.exp(np.asarray(mx.log_prob(P1, grid[:, None])))
    assert integrate.trapezoid(dens, grid) == pytest.approx(1.0, abs=1e-10)


def test_log_prob_invariant_to_permuting_components():
    x = np.random.default_rng(6).normal(size=(20, 2))
    perm = np.array([2, 0, 1])
    np.testing.assert_allclose(
        mx.log_prob(GMMParams(*(a[perm] for a in Q2)), x), mx.log_prob(Q2, x), rtol=1e-13
    )


# --------------------------------------------------------------------------------------------------------
# sampling


def test_sample_moments_and_component_frequencies():
    """Sample mean, covariance and component shares within 4 standard errors of the mixture's values."""
    n = 40_000
    x, lab = mx.sample(bits.seed_key(0), P2, n, return_components=True)
    x, lab = np.asarray(x), np.asarray(lab)
    assert x.shape == (n, 2) and lab.shape == (n,)
    m, c = (np.asarray(a) for a in mx.moment_match(P2))
    # mean: SE_i = sqrt(C_ii / n)
    assert np.all(np.abs(x.mean(0) - m) < 4 * np.sqrt(np.diag(c) / n))
    # covariance entries: SE from the sample variance of the centred products
    xc = x - m
    prods = xc[:, :, None] * xc[:, None, :]
    se = prods.std(0, ddof=1) / np.sqrt(n)
    assert np.all(np.abs(prods.mean(0) - c) < 4 * se)
    # component shares: binomial SE
    w = np.asarray(P2.weights)
    share = np.bincount(lab, minlength=2) / n
    assert np.all(np.abs(share - w) < 4 * np.sqrt(w * (1 - w) / n))
    # each point comes from its labelled component: per-component sample means within 4 SE
    for k in range(2):
        xk = x[lab == k]
        se_k = np.sqrt(np.diag(np.asarray(P2.covs[k])) / len(xk))
        assert np.all(np.abs(xk.mean(0) - np.asarray(P2.means[k])) < 4 * se_k)


def test_sample_is_a_function_of_the_key():
    a, la = mx.sample(bits.seed_key(3), P2, 40_000, return_components=True)
    b, lb = mx.sample(bits.seed_key(3), P2, 40_000, return_components=True)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(la, lb)
    c, _ = mx.sample(bits.seed_key(4), P2, 40_000, return_components=True)
    assert not np.allclose(a, c)


# --------------------------------------------------------------------------------------------------------
# L2 distance


def test_gaussian_overlap_1d_quadrature():
    m1, s1, m2, s2 = 0.3, 0.7, -1.1, 1.4
    num, _ = integrate.quad(
        lambda t: stats.norm.pdf(t, m1, s1) * stats.norm.pdf(t, m2, s2), -30, 30, epsabs=1e-14, epsrel=1e-12
    )
    got = mx.gaussian_overlap(jnp.array([m1]), jnp.array([[s1**2]]), jnp.array([m2]), jnp.array([[s2**2]]))
    assert float(got) == pytest.approx(num, rel=1e-10)


def test_l2_matches_fine_grid_1d():
    grid = np.linspace(-40, 40, 160001)
    diff = np.exp(np.asarray(mx.log_prob(P1, grid[:, None]))) - np.exp(
        np.asarray(mx.log_prob(Q1, grid[:, None]))
    )
    num = integrate.trapezoid(diff**2, grid)
    assert float(mx.l2_distance_sq(P1, Q1)) == pytest.approx(num, rel=1e-9)


def test_l2_matches_dblquad_2d():
    def dens(p):
        """Scalar mixture density in plain floats (dblquad calls it ~10⁵ times)."""
        comps = []
        for w, mu, cov in zip(*(np.asarray(a) for a in p)):
            (a, b), (_, c) = np.linalg.inv(cov)
            comps.append((w / (2 * np.pi * np.sqrt(np.linalg.det(cov))), mu[0], mu[1], a, b, c))

        def f(x, y):
            return sum(
                nrm * math.exp(-0.5 * (a * (x - m0) ** 2 + 2 * b * (x - m0) * (y - m1) + c * (y - m1) ** 2))
                for nrm, m0, m1, a, b, c in comps
            )

        return f

    f, g = dens(P2), dens(Q2)
    num, err = integrate.dblquad(
        lambda y, x: (f(x, y) - g(x, y)) ** 2, -15, 15, -15, 15, epsabs=1e-12, epsrel=1e-10
    )
    assert err < 1e-9 * num  # the quadrature is accurate enough for the comparison below
    assert float(mx.l2_distance_sq(P2, Q2)) == pytest.approx(num, rel=1e-8)
    assert float(mx.l2_distance(P2, Q2)) == pytest.approx(np.sqrt(num), rel=1e-8)


def test_l2_properties():
    assert float(mx.l2_distance_sq(P2, P2)) < 1e-15
    assert float(mx.l2_distance_sq(P2, Q2)) == pytest.approx(float(mx.l2_distance_sq(Q2, P2)), rel=1e-13)
    perm = np.array([1, 2, 0])
    assert float(mx.l2_distance_sq(P2, GMMParams(*(a[perm] for a in Q2)))) == pytest.approx(
        float(mx.l2_distance_sq(P2, Q2)), rel=1e-12
    )
    # splitting a component into two identical halves does not change the density
    split = GMMParams(
        jnp.concatenate([P2.weights[:1] / 2, P2.weights[:1] / 2, P2.weights[1:]]),
        jnp.concatenate([P2.means[:1], P2.means]),
        jnp.concatenate([P2.covs[:1], P2.covs]),
    )
    assert float(mx.l2_distance_sq(P2, split)) < 1e-15


def test_l2_vmaps_over_a_batch_of_mixtures():
    batch = [_random_gmm(s, 2, 2) for s in range(10, 14)]
    stacked = GMMParams(*(jnp.stack(a) for a in zip(*batch)))
    got = jax.jit(jax.vmap(mx.l2_distance_sq, (0, None)))(stacked, P2)
    np.testing.assert_allclose(got, [mx.l2_distance_sq(b, P2) for b in batch], rtol=1e-12)


# --------------------------------------------------------------------------------------------------------
# moment matching and W2


def test_moment_match_formula():
    p = _random_gmm(7, 4, 3)
    w, mu, cov = (np.asarray(a) for a in p)
    m = sum(w[k] * mu[k] for k in range(4))
    c = sum(w[k] * (cov[k] + np.outer(mu[k], mu[k])) for k in range(4)) - np.outer(m, m)
    got_m, got_c = mx.moment_match(p)
    np.testing.assert_allclose(got_m, m, rtol=1e-13)
    np.testing.assert_allclose(got_c, c, rtol=1e-12)
    # a single component is its own moment match
    one = GMMParams(jnp.ones(1), p.means[:1], p.covs[:1])
    got_m, got_c = mx.moment_match(one)
    np.testing.assert_allclose(got_m, mu[0], rtol=1e-14)
    np.testing.assert_allclose(got_c, cov[0], rtol=1e-13, atol=1e-14)


def test_w2_1d_closed_form():
    got = mx.gaussian_w2_sq(jnp.array([0.3]), jnp.array([[0.49]]), jnp.array([-1.0]), jnp.array([[2.25]]))
    assert float(got) == pytest.approx(1.3**2 + (0.7 - 1.5) ** 2, rel=1e-13)


def test_w2_matches_sqrtm_formula():
    rng = np.random.default_rng(8)
    a, b = rng.normal(size=(2, 4, 4))
    c1, c2 = a @ a.T + 0.1 * np.eye(4), b @ b.T + 0.1 * np.eye(4)
    m1, m2 = rng.normal(size=(2, 4))
    s1 = scipy.linalg.sqrtm(c1).real
    ref = (
        np.sum((m1 - m2) ** 2)
        + np.trace(c1)
        + np.trace(c2)
        - 2 * np.trace(scipy.linalg.sqrtm(s1 @ c2 @ s1).real)
    )
    got = mx.gaussian_w2_sq(m1, c1, m2, c2)
    assert float(got) == pytest.approx(ref, rel=1e-10)
    assert float(mx.gaussian_w2_sq(m2, c2, m1, c1)) == pytest.approx(ref, rel=1e-10)  # symmetric
    # commuting (diagonal) covariances: Σ(√a − √b)²
    da, db = rng.uniform(0.1, 3, size=(2, 4))
    got = mx.gaussian_w2_sq(m1, np.diag(da), m1, np.diag(db))
    assert float(got) == pytest.approx(np.sum((np.sqrt(da) - np.sqrt(db)) ** 2), rel=1e-11)


def test_w2_singular_covariance_is_finite_and_near_zero_to_itself():
    v = np.array([1.0, 2.0, -0.5])
    c = np.outer(v, v)  # rank 1: eigh gives two rounding-level eigenvalues, possibly negative
    got = float(mx.gaussian_w2_sq(np.zeros(3), c, np.zeros(3), c))
    # square roots of rounding noise are O(√eps · scale)
    assert 0.0 <= got < 10 * np.sqrt(np.finfo(float).eps) * np.trace(c)
    far = float(mx.gaussian_w2_sq(np.zeros(3), c, np.ones(3), np.eye(3)))
    assert np.isfinite(far) and far > 0


def test_w2_moment_matched():
    assert float(mx.w2_sq_moment_matched(Q2, Q2)) < 1e-10
    got = mx.w2_sq_moment_matched(P2, Q2)
    assert float(got) == pytest.approx(float(mx.gaussian_w2_sq(*mx.moment_match(P2), *mx.moment_match(Q2))))


# --------------------------------------------------------------------------------------------------------
# Monte Carlo KL


def test_kl_mc_of_identical_mixtures_is_exactly_zero():
    est = mx.kl_divergence_mc(bits.seed_key(0), P1, P1, 20_000)
    assert float(est.value) == 0.0 and float(est.stderr) == 0.0


def test_kl_mc_gaussians_within_four_standard_errors_of_closed_form():
    p, q = _random_gmm(9, 1, 3), _random_gmm(10, 1, 3)
    m1, s1, m2, s2 = (np.asarray(a[0]) for a in (p.means, p.covs, q.means, q.covs))
    s2i = np.linalg.inv(s2)
    exact = 0.5 * (
        np.trace(s2i @ s1)
        + (m2 - m1) @ s2i @ (m2 - m1)
        - 3
        + np.linalg.slogdet(s2)[1]
        - np.linalg.slogdet(s1)[1]
    )
    est = mx.kl_divergence_mc(bits.seed_key(1), p, q, 20_000)
    assert abs(float(est.value) - exact) < 4 * float(est.stderr)
    assert float(est.stderr) < 0.05 * exact  # the check has power


def test_kl_mc_mixtures_1d_within_four_standard_errors_of_quadrature():
    grid = np.linspace(-40, 40, 160001)
    lp, lq = (np.asarray(mx.log_prob(m, grid[:, None])) for m in (P1, Q1))
    exact = integrate.trapezoid(np.exp(lp) * (lp - lq), grid)
    est = mx.kl_divergence_mc(bits.seed_key(2), P1, Q1, 20_000)
    assert abs(float(est.value) - exact) < 4 * float(est.stderr)
    assert float(est.stderr) < 0.05 * exact


def test_equal_mixtures_are_at_distance_zero_not_at_the_root_of_rounding():
    """The fit that equals the truth up to rounding (decompose's no-error row) is at L2 distance 0: before, the
    three overlap terms cancelled to ~1e-18 of noise and its square root showed as ~1e-9."""
    truth = GMMParams(np.ones(1), np.zeros((1, 1)), np.ones((1, 1, 1)))
    for scale in (1 + 2**-52, 1 - 2**-53, 1 + 2**-50):  # the covariance one rounding step or a few away
        fit = GMMParams(np.ones(1), np.full((1, 1), 1e-17), np.full((1, 1, 1), scale))
        assert float(mx.l2_distance(fit, truth)) == 0.0
    near = GMMParams(np.ones(1), np.full((1, 1), 1e-4), np.ones((1, 1, 1)))  # a real distance is kept
    assert float(mx.l2_distance_sq(near, truth)) == pytest.approx(1e-8 / (4 * np.sqrt(np.pi)), rel=1e-3)

    from simcollapse.api import make_config, simulate

    none = make_config("gmm", dim=1, fit_family="gaussian", fit_components=1, reg_covar=0.0, n_samples=100,
                       sampler="infinite", components=1, ddof=1, generations=3, chains=2, metrics=["l2_to_truth"])
    assert np.all(simulate(none).stats["l2_to_truth"] == 0.0)  # was 1.05e-8 at generation 2
