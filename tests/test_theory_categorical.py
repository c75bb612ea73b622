"""Exact categorical-chain theory: reference values of docs/theory.md §C and brute-force checks."""

import itertools

import numpy as np
import pytest
from scipy import stats

from simcollapse.theory import categorical as cat
from simcollapse.theory import markov as mk


def assert_printed(value, printed: str):
    """``value`` agrees with a reference printed to its last digit (half a unit of that digit)."""
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    assert abs(float(value) - float(printed)) <= 0.5 * 10.0**-decimals + 1e-12, (value, printed)


@pytest.mark.parametrize("n", [1, 2, 15, 16, 60, 1000, 10_000])
def test_binomial_pmf_agrees_with_scipy(n):
    # the Wright–Fisher matrices' pmf (Loader's saddle-point form, theory/binomial_pmf.py) against scipy.stats'
    # (boost's), on every k, from the far tails to the mode; the ends and p ∈ {0, 1} exactly
    from simcollapse.theory.binomial_pmf import binomial_pmf

    k = np.arange(n + 1)
    # both work in log space from terms of size up to ~n, so their roundings differ by a few n·ε relative
    tolerance = 1e-13 + 4 * np.finfo(float).eps * n
    for p in (1e-9, 0.001, 0.15, 0.5, 0.85, 0.999):
        ours, ref = binomial_pmf(k, n, p), stats.binom.pmf(k, n, p)
        shown = ref > 1e-280
        assert np.all(np.abs(ours[shown] - ref[shown]) <= tolerance * ref[shown]), p
        assert np.all(ours[~shown] < 1e-270) and abs(ours.sum() - 1) < 1e-12
    assert np.array_equal(binomial_pmf(k, n, 0.0), k == 0) and np.array_equal(binomial_pmf(k, n, 1.0), k == n)
    assert binomial_pmf(-1, n, 0.5) == 0 and binomial_pmf(n + 1, n, 0.5) == 0


@pytest.fixture(scope="module")
def wf100():
    return mk.transition_matrix(100)


# ------------------------------------------------------------------------------------------------
# docs/theory.md §C.2 reference values: cats, N = 100, blue count 10
# ------------------------------------------------------------------------------------------------


def test_cats_absorption_reference(wf100):
    loss, fix = mk.absorption_probabilities(wf100)
    assert_printed(fix[10], "0.100000")
    np.testing.assert_allclose(fix, np.arange(101) / 100, atol=1e-13)  # martingale
    np.testing.assert_allclose(loss + fix, 1.0, atol=1e-13)
    assert_printed(mk.expected_absorption_time(wf100)[10], "63.454")
    t_loss, t_fix = mk.conditional_absorption_times(wf100)
    assert_printed(t_fix[10], "187.43")
    assert_printed(t_loss[10], "49.68")


def test_cats_loss_by_n_reference(wf100):
    lost, fixed = mk.absorption_by(wf100, 10, 200)
    for n, ref in zip((1, 10, 50, 100, 200), ("0.00003", "0.16205", "0.64796", "0.78569", "0.86369")):
        assert_printed(lost[n], ref)
    assert lost[1] == pytest.approx(0.9**100, rel=1e-12)
    assert_printed(1 - lost[200] - fixed[200], "0.0710")
    assert np.all(np.diff(lost) >= -1e-15) and np.all(np.diff(fixed) >= -1e-15)


def test_diffusion_approximations_reference():
    t_abs, t_fix, t_loss = cat.kimura_ohta_times_approx(0.1, 100)
    assert_printed(t_abs, "65.02")
    assert_printed(t_fix, "189.65")
    assert_printed(t_loss, "51.17")
    assert_printed(cat.kimura_segregating_approx(0.1, 100, 200), "0.0731")
    assert_printed(cat.littler_collapse_time_approx(cat.uniform(10), 100), "189.65")


def test_tiny_chain_reference():
    P = mk.transition_matrix(10)
    lost, _ = mk.absorption_by(P, 1, 5)
    for got, ref in zip(lost[1:], ("0.348678", "0.506253", "0.597701", "0.657820", "0.700468")):
        assert_printed(got, ref)
    assert_printed(mk.expected_absorption_time(P)[1], "5.7533")
    assert mk.absorption_probabilities(P)[1][1] == pytest.approx(0.1, abs=1e-14)


def test_min_p_and_temperature_reference():
    P = mk.transition_matrix(100, mk.min_p_map(0.05))
    assert_printed(mk.absorption_probabilities(P)[1][10], "0.0721")
    assert_printed(mk.expected_absorption_time(P)[10], "37.18")
    P = mk.transition_matrix(100, mk.temperature_map(0.8))
    assert mk.absorption_probabilities(P)[1][10] < 1e-9
    assert_printed(mk.expected_absorption_time(P)[10], "4.13")
    t = mk.expected_absorption_time(mk.transition_matrix(100, mk.temperature_map(1.25)))[10]
    assert 10**10.5 < t < 10**11.5  # "the chain sits at 1/2, E T_abs ~ 1e11"


def test_seddik_bounds_reference(wf100):
    lost, fixed = mk.absorption_by(wf100, 1, 50)
    exact = 1 - lost[50] - fixed[50]
    assert_printed(exact, "0.0411")
    lo, hi = cat.seddik_segregating_bounds(0.01, 100, 50)
    assert_printed(lo, "0.0240")
    assert_printed(hi, "1.198")
    assert lo <= exact <= hi


# ------------------------------------------------------------------------------------------------
# Generic solver vs brute force
# ------------------------------------------------------------------------------------------------

MAPS = {
    "neutral": mk.identity_map(),
    "min_p": mk.min_p_map(0.2),
    "temperature": mk.temperature_map(0.7),
    "top_1": mk.top_k_map(1),
}


@pytest.mark.parametrize("name", sorted(MAPS))
def test_solver_matches_matrix_powers(name):
    N, steps = 8, 4000
    P = mk.transition_matrix(N, MAPS[name])
    np.testing.assert_allclose(P.sum(axis=1), 1.0, atol=1e-14)
    powers = [np.eye(N + 1)]
    for _ in range(steps):
        powers.append(powers[-1] @ P)
    Pinf = powers[-1]
    loss, fix = mk.absorption_probabilities(P)
    np.testing.assert_allclose(loss, Pinf[:, 0], atol=1e-12)
    np.testing.assert_allclose(fix, Pinf[:, N], atol=1e-12)
    # E T = sum_n P(T > n); E[T 1_fix] = sum_n sum_{j transient} (P^n)_ij h(j)
    transient = np.arange(1, N)
    alive = np.array([Pn[:, transient].sum(axis=1) for Pn in powers[:-1]])
    np.testing.assert_allclose(mk.expected_absorption_time(P), alive.sum(axis=0), rtol=1e-10, atol=1e-10)
    t_loss, t_fix = mk.conditional_absorption_times(P)
    for h, t in ((loss, t_loss), (fix, t_fix)):
        w = sum(Pn[:, transient] @ h[transient] for Pn in powers[:-1])
        ok = h > 1e-10
        np.testing.assert_allclose(t[ok], w[ok] / h[ok], rtol=1e-9)
        assert np.all(np.isnan(t[~ok]))
    for start in (1, 3, 5):
        lost, fixed = mk.absorption_by(P, start, 12)
        np.testing.assert_allclose(lost, [Pn[start, 0] for Pn in powers[:13]], atol=1e-14)
        np.testing.assert_allclose(fixed, [Pn[start, N] for Pn in powers[:13]], atol=1e-14)
        np.testing.assert_allclose(mk.count_distribution(P, start, 7), powers[7][start], atol=1e-14)


def test_maps_on_two_types():
    N = 100
    c = np.arange(N + 1)
    f = mk.min_p_map(0.05)(c / N)
    assert np.all(f[:5] == 0) and f[5] == 0.05 and np.all(f[96:] == 1) and f[95] == 0.95
    assert np.array_equal(mk.top_k_map(2)(c / N), c / N)
    top1 = mk.top_k_map(1)(c / N)
    assert np.all(top1[:50] == 0) and top1[50] == 0.5 and np.all(top1[51:] == 1)
    temp = mk.temperature_map(0.8)(np.array([0.0, 0.1, 0.5, 1.0]))
    np.testing.assert_allclose(temp, [0, 0.1**1.25 / (0.1**1.25 + 0.9**1.25), 0.5, 1], atol=1e-15)
    np.testing.assert_allclose(mk.smoothing_map(0.5, N, K=3)(c / N), (c + 0.5) / (N + 1.5))
    for fmap in (*MAPS.values(), mk.smoothing_map(0.5, N), mk.temperature_map(1.25)):
        np.testing.assert_allclose(mk.transition_matrix(N, fmap).sum(axis=1), 1.0, atol=1e-13)


@pytest.mark.parametrize("N", [10, 40, 100])
def test_eigenvalues_are_moment_factors(N):
    ev = mk.transition_eigenvalues(mk.transition_matrix(N))
    lam = cat.moment_eigenvalues(N)
    assert ev.dtype.kind == "f" and ev.size == N + 1
    np.testing.assert_allclose(ev[:12], lam[:12], atol=1e-11)


def test_moment_eigenvalues_reference():
    for got, ref in zip(cat.moment_eigenvalues(100, 5), ("1", "1", "0.99", "0.9702", "0.941094", "0.90345")):
        assert_printed(got, ref)


def test_large_n_stability():
    N = 2000
    P = mk.transition_matrix(N)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, atol=1e-13)
    loss, fix = mk.absorption_probabilities(P)
    np.testing.assert_allclose(fix, np.arange(N + 1) / N, atol=1e-11)
    t = mk.expected_absorption_time(P)
    t_loss, t_fix = mk.conditional_absorption_times(P)
    inner = slice(1, N)
    np.testing.assert_allclose((fix * t_fix + loss * t_loss)[inner], t[inner], rtol=1e-10)
    assert t_loss[0] == 0 and np.isnan(t_fix[0]) and t_fix[N] == 0 and np.isnan(t_loss[N])
    approx = np.array(cat.kimura_ohta_times_approx(0.1, N))
    np.testing.assert_allclose([t[200], t_fix[200], t_loss[200]], approx, rtol=0.02)


def test_absorbing_and_stationary_guards(wf100):
    with pytest.raises(ValueError):
        mk.stationary_distribution(wf100)
    with pytest.raises(ValueError):
        mk.expected_absorption_time(mk.transition_matrix(20, mk.smoothing_map(0.5, 20)))


# ------------------------------------------------------------------------------------------------
# Multi-type moments: closed forms vs an exact multinomial chain
# ------------------------------------------------------------------------------------------------


def test_moments_vs_exact_multinomial_chain():
    N, p0, steps = 5, np.array([0.2, 0.3, 0.5]), 6
    states = np.array([s for s in itertools.product(range(N + 1), repeat=3) if sum(s) == N])
    P = np.array([stats.multinomial.pmf(states, N, s / N) for s in states])
    dist = stats.multinomial.pmf(states, N, p0)  # generation 1
    freq = states / N
    H = cat.heterozygosity(p0, N, steps)
    lam3 = cat.moment_eigenvalues(N, 3)[3]
    for n in range(1, steps + 1):
        assert dist @ (1 - (freq**2).sum(axis=1)) == pytest.approx(H[n], rel=1e-12)
        assert dist @ freq.prod(axis=1) == pytest.approx(cat.expected_product(p0, N, n), rel=1e-12)
        assert dist @ freq[:, :2].prod(axis=1) == pytest.approx(cat.expected_product(p0[:2], N, n), rel=1e-12)
        dist = dist @ P
    assert cat.expected_product(p0, N, 2) == pytest.approx(lam3**2 * 0.03)


def test_heterozygosity_reference():
    assert_printed(cat.heterozygosity(cat.cats(), 100, 50)[50], "0.10890")


# ------------------------------------------------------------------------------------------------
# Per-type survival
# ------------------------------------------------------------------------------------------------


def test_expected_surviving_reference():
    z = cat.zipf(1.2, 50)
    es = cat.expected_surviving(z, 200, 30)
    assert_printed(es[30], "7.967")
    assert es[0] == 50 and np.all(np.diff(es) <= 1e-12)


def test_p_lost_matches_dense_chain():
    N, G = 200, 30
    z = cat.zipf(1.2, 50)
    P = mk.transition_matrix(N)
    got = cat.p_lost(z, N, G)
    for i in (0, 7, 49):
        start = stats.binom.pmf(np.arange(N + 1), N, z[i])  # generation 1: Bin(N, p0), N p0 not an integer
        lost, _ = mk.absorption_by(P, start, G - 1)
        np.testing.assert_allclose(got[1:, i], lost, atol=1e-14)
    assert np.all(got[0] == 0)


def test_p_lost_truncation_and_sparse_path(monkeypatch):
    # truncated state space (C < N) against the full chain
    N, G = 1500, 20
    assert cat._truncation(N, G) < N
    probs = np.array([0.0005, 0.002, 0.01, 0.2, 0.7875, 0.0])
    got = cat.p_lost(probs, N, G)
    P = mk.transition_matrix(N)
    for i, p in enumerate(probs):
        lost, _ = mk.absorption_by(P, stats.binom.pmf(np.arange(N + 1), N, p), G - 1)
        np.testing.assert_allclose(got[1:, i], lost, atol=1e-14)
    assert np.all(got[:, -1] == 1) and got[0, 0] == 0
    # the sparse (banded) transition path agrees with the dense one
    dense = cat.p_lost(cat.zipf(1.2, 50), 200, 30)
    monkeypatch.setattr(cat, "_DENSE_MAX", 0)
    np.testing.assert_allclose(cat.p_lost(cat.zipf(1.2, 50), 200, 30), dense, atol=1e-15)


def test_p_lost_edge_cases():
    got = cat.p_lost([0.0, 1.0, 0.5, 0.5], 10, 5)
    assert np.all(got[:, 0] == 1) and np.all(got[:, 1] == 0)
    np.testing.assert_array_equal(got[:, 2], got[:, 3])
    P = mk.transition_matrix(10)
    np.testing.assert_allclose(got[:, 2], mk.absorption_by(P, 5, 5)[0], atol=1e-15)  # Bin(10, 1/2) = row 5


def test_large_vocabulary_is_fast():
    z = cat.zipf(1.2, 50_000)
    es = cat.expected_surviving(z, 100_000, 30)
    assert es[0] == 50_000
    assert es[1] == pytest.approx(cat.expected_types_seen(z, 100_000), rel=1e-12)
    assert np.all(np.diff(es) < 0)
    with pytest.raises(ValueError, match="generations"):
        cat.expected_surviving(z, 100_000, 1000)


def test_suresh_bounds_contain_exact():
    z = cat.zipf(1.2, 50)
    es = cat.expected_surviving(z, 200, 30)
    for k in range(1, 31):
        lo, hi = cat.suresh_unique_bounds(z, 200, k)
        assert lo <= es[k] <= hi


def test_poisson_chain():
    assert_printed(cat.poisson_chain_survival(1.0, 10, 20), "0.6001")
    k = np.arange(1, 200)
    g = cat.galton_watson_g(k)
    assert np.all((g >= 1 / k) & (g <= 3 / k))
    # truncated Poisson chain: X_1 ~ Poisson(10), X_{t+1} ~ Poisson(X_t)
    x = np.arange(400)
    P = stats.poisson.pmf(x[None, :], x[:, None])
    dist = stats.poisson.pmf(x, 10.0)
    for _ in range(19):
        dist = dist @ P
    assert 1 - dist[0] == pytest.approx(cat.poisson_chain_survival(1.0, 10, 20), rel=1e-12)


# ------------------------------------------------------------------------------------------------
# docs/theory.md §C.5–§C.7 smoothing, real-data fraction, temperature
# ------------------------------------------------------------------------------------------------


def test_smoothing_fixed_point_and_chain():
    N, alpha = 100, 0.5
    fstar = cat.smoothing_fixed_point(2, N, alpha)
    assert_printed(fstar, "0.66611")
    fmap = mk.smoothing_map(alpha, N)
    P = mk.transition_matrix(N, fmap)
    pi = mk.stationary_distribution(P)
    np.testing.assert_allclose(pi @ P, pi, atol=1e-14)
    f = fmap(np.arange(N + 1) / N)
    assert pi @ (f**2 + (1 - f) ** 2) == pytest.approx(fstar, rel=1e-11)
    var = pi @ (f - 0.5) ** 2
    assert_printed(var, "0.0831")
    assert_printed(cat.smoothing_stationary_variance_approx(2, N, alpha), "0.0839")
    # finite-t recursion vs the chain, starting from the truth (0.3, 0.7)
    F = cat.smoothing_homozygosity([0.3, 0.7], N, alpha, 40)
    dist = mk.count_distributions(P, stats.binom.pmf(np.arange(N + 1), N, 0.3), 39)
    np.testing.assert_allclose(dist @ (f**2 + (1 - f) ** 2), F[1:], rtol=1e-12)
    assert F[0] == pytest.approx(0.58)
    assert cat.smoothing_homozygosity([0.3, 0.7], N, alpha, 3000)[-1] == pytest.approx(fstar, rel=1e-12)


def test_real_fraction_reference_and_chain():
    N, rho = 100, 0.1
    p0 = cat.cats()
    fstar = cat.real_fraction_fixed_point(p0, N, rho)
    assert_printed(fstar, "0.82905")
    var = cat.real_fraction_stationary_variance(p0, N, rho)
    assert_printed(var[1], "0.004523")
    assert_printed(cat.wright_island_variance_approx(p0, N, rho)[1], "0.00429")
    P = mk.real_fraction_transition_matrix(N, rho, 0.1)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, atol=1e-13)
    pi = mk.stationary_distribution(P)
    x = np.arange(N + 1) / N
    assert pi @ x == pytest.approx(0.1, rel=1e-11)
    assert pi @ (x**2 + (1 - x) ** 2) == pytest.approx(fstar, rel=1e-11)
    assert pi @ (x - 0.1) ** 2 == pytest.approx(var[1], rel=1e-9)
    # finite-t recursion vs the chain: generation 1 is Bin(100, 0.1) = row 10, so start at count 10
    F, G = cat.real_fraction_moments(p0, N, rho, 30)
    dist = mk.count_distributions(P, 10, 30)
    np.testing.assert_allclose(dist @ (x**2 + (1 - x) ** 2), F, rtol=1e-12)
    np.testing.assert_allclose(G, np.sum(p0**2), rtol=1e-13)


def test_real_fraction_rounding_and_limits():
    assert mk.real_fraction_counts(10, 0.25) == (3, 7)  # 2.5 rounds up
    assert mk.real_fraction_counts(100, 0.1) == (10, 90)
    # no real data: the neutral chain; all real data: i.i.d. Bin(N, p0) rows
    np.testing.assert_allclose(mk.real_fraction_transition_matrix(30, 0.0, 0.3), mk.transition_matrix(30))
    P = mk.real_fraction_transition_matrix(30, 1.0, 0.3)
    np.testing.assert_allclose(P, np.tile(stats.binom.pmf(np.arange(31), 30, 0.3), (31, 1)), atol=1e-15)
    assert cat.real_fraction_fixed_point([0.3, 0.7], 30, 0.0) == pytest.approx(1.0, abs=1e-14)
    F, _ = cat.real_fraction_moments([0.3, 0.7], 30, 1.0, 3)
    assert F[1] == pytest.approx(0.58 * (1 - 1 / 30) + 1 / 30)


def test_temperature_map_reference():
    p = cat.temperature_probs(cat.cats(), 0.8, 3)
    for got, ref in zip(p[1:, 0], ("0.939717", "0.968725", "0.986500")):
        assert_printed(got, ref)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    far = cat.temperature_probs(cat.cats(), 0.8, 5000)[-1]
    np.testing.assert_array_equal(far, [1.0, 0.0])
    hot = cat.temperature_probs([0.5, 0.3, 0.2, 0.0], 1.25, 5000)[-1]
    np.testing.assert_allclose(hot, [1 / 3, 1 / 3, 1 / 3, 0.0], atol=1e-12)
    # finite-N temperature map at one step equals the infinite-sample map
    assert mk.temperature_map(0.8)(np.array([0.1]))[0] == pytest.approx(1 - p[1, 0], rel=1e-13)


# ------------------------------------------------------------------------------------------------
# docs/theory.md §C.10 tails and truths
# ------------------------------------------------------------------------------------------------


def test_missing_mass_reference():
    z = cat.zipf(1.5, 1000)
    for N, ref in zip((100, 1000, 10000), ("0.18094", "0.07096", "0.02036")):
        assert_printed(cat.missing_mass(z, N), ref)
        assert cat.good_turing_singleton_rate(z, N) > cat.missing_mass(z, N)
        assert cat.good_turing_singleton_rate(z, N) == pytest.approx(cat.missing_mass(z, N - 1))
    assert cat.missing_mass(z, 0) == pytest.approx(1.0)
    assert cat.expected_types_seen(z, 1) == pytest.approx(1.0)
    assert cat.expected_types_seen([0.5, 0.5, 0.0], 3) == pytest.approx(2 * (1 - 0.5**3))


def test_truths():
    np.testing.assert_array_equal(cat.cats(), [0.9, 0.1])
    np.testing.assert_allclose(cat.uniform(4), 0.25)
    z = cat.zipf(1.2, 50)
    assert z.sum() == pytest.approx(1.0) and z[0] / z[1] == pytest.approx(2**1.2)
    zm = cat.zipf_mandelbrot(1.5, 2.7, 100)
    assert zm.sum() == pytest.approx(1.0) and zm[0] / zm[1] == pytest.approx((4.7 / 3.7) ** 1.5)
