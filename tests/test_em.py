"""EM for Gaussian mixtures: parity with scikit-learn, the exact M-step moment identity, EM properties."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

from simcollapse.families import em as E
from simcollapse.mixture import GMMParams
from simcollapse.samplers import bits

COV_TYPES = ["full", "diag", "spherical"]
N, D, K = 300, 3, 3
MAX_ITER = 300  # one static value keeps the number of compilations small
EPS = np.finfo(np.float64).eps


def _blobs(seed, spread):
    """N points in D dims from K unit-variance blobs with centres spread·(0, e1, e2)."""
    rng = np.random.default_rng(seed)
    centres = spread * np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0]])
    lab = np.arange(N) % K
    return centres[lab] + rng.normal(size=(N, D)) * np.array([1.0, 0.7, 1.3])


X = _blobs(0, 3.0)  # overlapping: EM needs tens of iterations
XSEP = _blobs(1, 20.0)  # well separated: every reasonable method finds the same partition


def _sk_precisions(covs, covariance_type):
    prec = np.linalg.inv(np.asarray(covs))
    if covariance_type == "diag":
        return np.diagonal(prec, axis1=1, axis2=2).copy()
    if covariance_type == "spherical":
        return prec[:, 0, 0].copy()
    return prec


def _sk_covs(gm):
    c = gm.covariances_
    if gm.covariance_type == "diag":
        return np.stack([np.diag(v) for v in c])
    if gm.covariance_type == "spherical":
        return c[:, None, None] * np.eye(gm.means_.shape[1])
    return c


def _sk_from(params, covariance_type, **kw):
    return GaussianMixture(
        K,
        covariance_type=covariance_type,
        weights_init=np.asarray(params.weights),
        means_init=np.asarray(params.means),
        precisions_init=_sk_precisions(params.covs, covariance_type),
        **kw,
    )


def _assert_params_close(p, weights, means, covs, rtol, atol=1e-12):
    np.testing.assert_allclose(p.weights, weights, rtol=rtol, atol=atol)
    np.testing.assert_allclose(p.means, means, rtol=rtol, atol=atol)
    np.testing.assert_allclose(p.covs, covs, rtol=rtol, atol=atol)


# --------------------------------------------------------------------------------------------------------
# parity with scikit-learn


@pytest.mark.parametrize("covariance_type", COV_TYPES)
@pytest.mark.parametrize("tol", [1e-3, 1e-5])
def test_sklearn_parity_from_same_init(covariance_type, tol):
    p0 = E.initialize(bits.seed_key(1), X, K, covariance_type=covariance_type)
    res = E.em(X, p0, covariance_type=covariance_type, tol=tol, max_iter=MAX_ITER)
    gm = _sk_from(p0, covariance_type, tol=tol, max_iter=MAX_ITER).fit(X)
    assert gm.converged_ and bool(res.converged)
    assert int(res.n_iter) == gm.n_iter_
    assert int(res.n_iter) > 2  # the comparison covers real iterations
    np.testing.assert_allclose(res.lower_bound, gm.lower_bound_, rtol=1e-12)
    if hasattr(gm, "lower_bounds_"):  # the whole trace, where this scikit-learn version records it
        np.testing.assert_allclose(res.log_likelihood[: int(res.n_iter)], gm.lower_bounds_, rtol=1e-12)
    _assert_params_close(res.params, gm.weights_, gm.means_, _sk_covs(gm), rtol=1e-6)


@pytest.mark.parametrize("covariance_type", COV_TYPES)
def test_sklearn_parity_log_likelihood_trace(covariance_type):
    """Each entry of the trace is scikit-learn's lower bound after the same number of single-iteration fits."""
    p0 = E.initialize(bits.seed_key(2), X, K, covariance_type=covariance_type, init="random")
    res = E.em(X, p0, covariance_type=covariance_type, tol=0.0, max_iter=MAX_ITER)
    assert int(res.n_iter) == MAX_ITER and not bool(res.converged)
    gm = _sk_from(p0, covariance_type, tol=0.0, max_iter=1, warm_start=True)
    sk_trace = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(12):
            gm.fit(X)
            sk_trace.append(gm.lower_bound_)
    np.testing.assert_allclose(res.log_likelihood[:12], sk_trace, rtol=1e-10)
    # scikit-learn now holds the parameters after 12 iterations; so do 12 explicit E/M steps
    p = p0
    for _ in range(12):
        _, log_resp = E.e_step(X, p, covariance_type=covariance_type)
        p = E.m_step(X, jnp.exp(log_resp), covariance_type=covariance_type)
    _assert_params_close(p, gm.weights_, gm.means_, _sk_covs(gm), rtol=1e-9)


def test_kmeans_matches_sklearn_on_separated_blobs():
    centres, labels, n_iter = E.kmeans(bits.seed_key(0), XSEP, K)
    km = KMeans(K, n_init=1, random_state=0).fit(XSEP)
    order = np.lexsort(np.asarray(centres).T)
    sk_order = np.lexsort(km.cluster_centers_.T)
    np.testing.assert_allclose(
        np.asarray(centres)[order], km.cluster_centers_[sk_order], rtol=1e-12, atol=1e-12
    )
    # the labels are the nearest-centre labels of the returned centres
    d2 = ((XSEP[:, None, :] - np.asarray(centres)[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(labels, d2.argmin(1))
    assert 1 <= int(n_iter) <= 300


@pytest.mark.parametrize("covariance_type", COV_TYPES)
def test_kmeans_init_is_one_m_step_on_kmeans_labels(covariance_type):
    """Like scikit-learn: one-hot responsibilities of the k-means labels, then an M-step with reg_covar."""
    reg = 1e-6
    p0 = E.initialize(bits.seed_key(0), XSEP, K, covariance_type=covariance_type)
    _, labels, _ = E.kmeans(bits.seed_key(0), XSEP, K)
    labels = np.asarray(labels)
    for k in range(K):
        xk = XSEP[labels == k]
        cov = np.cov(xk.T, ddof=0)
        if covariance_type == "diag":
            cov = np.diag(np.diag(cov))
        if covariance_type == "spherical":
            cov = np.eye(D) * np.mean(np.diag(cov))
        assert p0.weights[k] == pytest.approx(len(xk) / N, rel=1e-14)
        np.testing.assert_allclose(p0.means[k], xk.mean(0), rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(p0.covs[k], cov + reg * np.eye(D), rtol=1e-12, atol=1e-13)


def test_fit_gmm_reaches_sklearn_optimum_on_separated_blobs():
    res = E.fit_gmm(bits.seed_key(5), XSEP, K, tol=1e-12, max_iter=MAX_ITER)
    gm = GaussianMixture(K, tol=1e-12, max_iter=MAX_ITER, random_state=0).fit(XSEP)
    key = np.array([1.0, 2.0, 0.0])  # the blob centres 0, 20·e1, 20·e2 get distinct keys
    o, so = np.argsort(np.asarray(res.params.means) @ key), np.argsort(gm.means_ @ key)
    fitted = GMMParams(*(np.asarray(a)[o] for a in res.params))
    _assert_params_close(fitted, gm.weights_[so], gm.means_[so], gm.covariances_[so], rtol=1e-8)


# --------------------------------------------------------------------------------------------------------
# the exact M-step identity (docs/theory.md §M.1)


def _random_resp(seed, n=N, k=K):
    return np.random.default_rng(seed).dirichlet(np.ones(k), size=n)


@pytest.mark.parametrize("covariance_type", COV_TYPES)
@pytest.mark.parametrize("weighted", [False, True])
def test_m_step_moment_identity(covariance_type, weighted):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(N, D)) @ rng.normal(size=(D, D)) + rng.normal(size=D) * 3
    sw = rng.uniform(0, 2, size=N) if weighted else np.ones(N)
    reg = 1e-6
    p = E.m_step(
        x,
        _random_resp(4),
        covariance_type=covariance_type,
        reg_covar=reg,
        sample_weight=sw if weighted else None,
    )
    w, mu, cov = (np.asarray(a) for a in p)
    xbar = sw @ x / sw.sum()
    second = (sw[:, None] * x).T @ x / sw.sum() + reg * np.eye(D)
    model_second = np.einsum("k,kij->ij", w, cov) + np.einsum("k,ki,kj->ij", w, mu, mu)
    np.testing.assert_allclose(w @ mu, xbar, rtol=0, atol=1e-9)
    if covariance_type == "full":
        np.testing.assert_allclose(model_second, second, rtol=0, atol=1e-9)
    elif covariance_type == "diag":
        np.testing.assert_allclose(np.diag(model_second), np.diag(second), rtol=0, atol=1e-9)
    else:  # spherical: per-component variance is the mean over dimensions, so only the trace is preserved
        np.testing.assert_allclose(np.trace(model_second), np.trace(second), rtol=0, atol=1e-9)


def test_moment_identity_holds_after_em():
    res = E.fit_gmm(bits.seed_key(7), X, K, tol=1e-5, max_iter=MAX_ITER)
    w, mu, cov = (np.asarray(a) for a in res.params)
    np.testing.assert_allclose(w @ mu, X.mean(0), rtol=0, atol=1e-9)
    second = np.einsum("k,kij->ij", w, cov) + np.einsum("k,ki,kj->ij", w, mu, mu)
    np.testing.assert_allclose(second, X.T @ X / N + 1e-6 * np.eye(D), rtol=0, atol=1e-9)


# --------------------------------------------------------------------------------------------------------
# EM properties


@pytest.mark.parametrize("covariance_type", COV_TYPES)
def test_log_likelihood_non_decreasing(covariance_type):
    """EM ascent (Dempster, Laird & Rubin 1977) holds exactly for the unregularised M-step (reg_covar=0).

    Rounding in a mean of N log-densities allows a few ulps of apparent decrease; the tolerance is 64 ulps.
    """
    p0 = E.initialize(bits.seed_key(2), X, K, covariance_type=covariance_type, init="random", reg_covar=0.0)
    res = E.em(X, p0, covariance_type=covariance_type, tol=0.0, max_iter=MAX_ITER, reg_covar=0.0)
    tr = np.asarray(res.log_likelihood)
    assert np.all(np.isfinite(tr))
    assert np.diff(tr).min() >= -64 * EPS * np.abs(tr).max()
    assert tr[-1] - tr[0] > 1e-2  # it did climb


@pytest.mark.parametrize(
    "init, covariance_type",
    [("kmeans", c) for c in COV_TYPES]
    + [("random", c) for c in COV_TYPES]
    + [("k-means++", "full"), ("random_from_data", "full")],
)
def test_weights_on_simplex_and_covariances_pd(init, covariance_type):
    reg = 1e-6
    p0 = E.initialize(bits.seed_key(11), X, K, covariance_type=covariance_type, init=init)
    res = E.em(X, p0, covariance_type=covariance_type, tol=1e-5, max_iter=MAX_ITER)
    for p in (p0, res.params):
        w, mu, cov = (np.asarray(a) for a in p)
        assert w.shape == (K,) and mu.shape == (K, D) and cov.shape == (K, D, D)
        assert np.all(w >= 0) and abs(w.sum() - 1) < 1e-12
        np.testing.assert_array_equal(cov, np.swapaxes(cov, 1, 2))
        assert np.linalg.eigvalsh(cov).min() >= reg * (1 - 1e-6)
        if covariance_type != "full":
            assert np.all(cov * (1 - np.eye(D)) == 0)
        if covariance_type == "spherical":
            assert np.all(np.diagonal(cov, axis1=1, axis2=2) == cov[:, :1, 0])
    n = int(res.n_iter)
    assert np.all(np.isfinite(res.log_likelihood[:n])) and np.all(np.isnan(res.log_likelihood[n:]))
    assert res.lower_bound == res.log_likelihood[n - 1]


@pytest.mark.parametrize("covariance_type", COV_TYPES)
def test_permuting_components_permutes_the_fit(covariance_type):
    p0 = E.initialize(bits.seed_key(3), X, K, covariance_type=covariance_type, init="random")
    perm = np.array([2, 0, 1])
    res = E.em(X, p0, covariance_type=covariance_type, tol=1e-5, max_iter=MAX_ITER)
    res_p = E.em(
        X, GMMParams(*(a[perm] for a in p0)), covariance_type=covariance_type, tol=1e-5, max_iter=MAX_ITER
    )
    assert int(res.n_iter) == int(res_p.n_iter)
    np.testing.assert_allclose(res_p.log_likelihood, res.log_likelihood, rtol=1e-12)
    for a, b in zip(res_p.params, res.params):
        np.testing.assert_allclose(a, np.asarray(b)[perm], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("covariance_type", COV_TYPES)
def test_single_component_is_sample_mean_and_ddof0_covariance(covariance_type):
    """K=1: from any start, the first M-step gives x̄ and the ddof-0 covariance (+reg); later ones change nothing."""
    reg = 1e-6
    start = GMMParams(jnp.ones(1), jnp.full((1, D), 5.0), 3.0 * jnp.eye(D)[None])
    res = E.em(X, start, covariance_type=covariance_type, tol=1e-5, max_iter=MAX_ITER)
    cov = np.cov(X.T, ddof=0)
    if covariance_type == "diag":
        cov = np.diag(np.diag(cov))
    if covariance_type == "spherical":
        cov = np.eye(D) * np.trace(cov) / D
    assert float(res.params.weights[0]) == 1.0
    np.testing.assert_allclose(res.params.means[0], X.mean(0), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(res.params.covs[0], cov + reg * np.eye(D), rtol=1e-13, atol=1e-15)
    # iteration 2 starts from the sample moments and iteration 3 sees no change
    assert int(res.n_iter) == 3 and bool(res.converged)
    assert res.log_likelihood[2] == res.log_likelihood[1]


def test_vmap_over_datasets_equals_loop():
    """vmap(fit_gmm) over keys and datasets equals fitting each chain alone (initialize, then em)."""
    xs = np.stack([_blobs(s, 3.0) for s in range(4)])
    keys = bits.fold(bits.seed_key(9), jnp.arange(4))
    batched = jax.vmap(lambda k, x: E.fit_gmm(k, x, K, tol=1e-5, max_iter=MAX_ITER))(keys, xs)
    for i in range(4):
        one = E.em(xs[i], E.initialize(bits.Key(keys.hi[i], keys.lo[i]), xs[i], K), tol=1e-5, max_iter=MAX_ITER)
        assert int(batched.n_iter[i]) == int(one.n_iter)
        np.testing.assert_allclose(batched.log_likelihood[i], one.log_likelihood, rtol=1e-10)
        for a, b in zip(batched.params, one.params):
            np.testing.assert_allclose(a[i], b, rtol=1e-10, atol=1e-12)
    assert len(set(np.asarray(batched.n_iter).tolist())) > 1  # the chains stopped at different iterations


def test_mask_fits_first_rows_of_a_buffer():
    n = 200
    buf = X.copy()
    buf[n:] = np.nan  # padding is never read
    mask = (np.arange(N) < n).astype(float)
    p0 = E.initialize(bits.seed_key(4), X, K)
    res = E.em(buf, p0, tol=1e-5, max_iter=MAX_ITER, sample_weight=mask)
    ref = E.em(X[:n], p0, tol=1e-5, max_iter=MAX_ITER)
    assert int(res.n_iter) == int(ref.n_iter)
    for a, b in zip(res.params, ref.params):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    for init in ("kmeans", "random_from_data"):  # the inits that pick rows never pick padding
        p = E.initialize(bits.seed_key(4), buf, K, init=init, sample_weight=mask)
        assert all(np.all(np.isfinite(a)) for a in p)


def test_integer_weights_equal_repeated_rows():
    counts = np.random.default_rng(6).permutation(np.repeat([0, 1, 2], [60, 180, 60]))  # sums to N
    p0 = E.initialize(bits.seed_key(4), X, K, init="random")
    res = E.em(X, p0, tol=1e-5, max_iter=MAX_ITER, sample_weight=counts.astype(float))
    ref = E.em(np.repeat(X, counts, axis=0), p0, tol=1e-5, max_iter=MAX_ITER)
    assert int(res.n_iter) == int(ref.n_iter)
    for a, b in zip(res.params, ref.params):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("covariance_type", COV_TYPES)
def test_component_that_loses_all_points_stays_finite(covariance_type):
    reg = 1e-6
    p0 = GMMParams(
        jnp.array([0.45, 0.45, 0.1]),
        jnp.array([[0.0, 0, 0], [3.0, 0, 0], [1e4, 1e4, 1e4]]),  # the third component is far from every point
        jnp.broadcast_to(jnp.eye(D), (K, D, D)),
    )
    res = E.em(X, p0, covariance_type=covariance_type, tol=1e-5, max_iter=MAX_ITER)
    w, mu, cov = (np.asarray(a) for a in res.params)
    assert all(np.all(np.isfinite(a)) for a in (w, mu, cov))
    assert np.all(np.isfinite(res.log_likelihood[: int(res.n_iter)]))
    assert 0 <= w[2] < 1e-12 and abs(w.sum() - 1) < 1e-12
    np.testing.assert_allclose(cov[2], reg * np.eye(D), rtol=1e-12)


def test_fewer_distinct_points_than_components_stays_finite():
    """Two distinct rows, K=3: a k-means cluster must end empty; nothing becomes NaN and the fit is exact."""
    x = np.repeat(np.array([[0.0, 0, 0], [1.0, 2, 3]]), N // 2, axis=0)
    _, labels, _ = E.kmeans(bits.seed_key(0), x, K)
    assert np.count_nonzero(np.bincount(labels, minlength=K)) == 2
    res = E.em(x, E.initialize(bits.seed_key(0), x, K), tol=1e-5, max_iter=MAX_ITER)
    w, mu, cov = (np.asarray(a) for a in res.params)
    assert all(np.all(np.isfinite(a)) for a in (w, mu, cov)) and np.isfinite(res.lower_bound)
    np.testing.assert_allclose(w @ mu, x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(np.sort(w)[1:], [0.5, 0.5], rtol=1e-12)
    np.testing.assert_allclose(cov, np.broadcast_to(1e-6 * np.eye(D), cov.shape), rtol=1e-9, atol=1e-20)


def test_kmeans_plusplus_seeds_are_distinct_weighted_rows():
    mask = np.arange(N) % 2 == 0
    centres, idx = E.kmeans_plusplus(bits.seed_key(0), XSEP, K, sample_weight=mask)
    idx = np.asarray(idx)
    assert len(set(idx.tolist())) == K and np.all(mask[idx])
    np.testing.assert_array_equal(centres, XSEP[idx])
    # on well separated blobs the greedy D² seeding puts one seed in each blob
    assert sorted((idx % K).tolist()) == [0, 1, 2]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"covariance_type": "tied"}, "covariance_type"),
        ({"init": "kmeans+"}, "init"),
        ({"max_iter": 0}, "max_iter"),
    ],
)
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        E.fit_gmm(bits.seed_key(0), X, K, **kwargs)


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match="n_components"):
        E.fit_gmm(bits.seed_key(0), X, 0)
    with pytest.raises(ValueError, match="shape"):
        E.fit_gmm(bits.seed_key(0), X[:, 0], K)
    with pytest.raises(ValueError, match="sample_weight"):
        E.fit_gmm(bits.seed_key(0), X, K, sample_weight=np.ones(N - 1))
