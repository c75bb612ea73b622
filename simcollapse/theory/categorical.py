"""Closed forms for the categorical (multinomial) collapse chain: neutral Wright-Fisher and its modifications.

Model (docs/theory.md §C.1): p_{t+1} = counts/N with counts ~ Mult(N, p_t); generation 0 is the truth p_0.
Each type's count is itself a Bin(N, X/N) Markov chain (the marginal of a multinomial is binomial), which
makes per-type survival exactly computable for any number of types.  Sections of docs/theory.md covered:

* §C.1–§C.4  per-type loss and surviving types (exact), heterozygosity and moment eigenvalues (Ewens 2004;
  Feller 1951), published bounds (Suresh et al. 2024; Seddik et al. 2024), the Poisson chain
  (Suresh et al. Thm 2), diffusion approximations (Kimura 1955; Kimura & Ohta 1969; Littler 1975).
* §C.5–§C.7  smoothing, fresh real-data fraction and temperature.
* §C.10  one-generation tail loss and Good-Turing (Hutter 2021; Dohmatob et al. 2024).

Everything is numpy/scipy and deterministic.  Functions whose name ends in ``_approx`` are diffusion (or
other) approximations, not exact results.  The two-type Markov-chain solver lives in ``markov``.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse, special

from .binomial_pmf import binomial_pmf
from .markov import real_fraction_counts

__all__ = [
    "cats",
    "expected_product",
    "expected_surviving",
    "expected_types_seen",
    "galton_watson_g",
    "good_turing_singleton_rate",
    "heterozygosity",
    "kimura_ohta_times_approx",
    "kimura_segregating_approx",
    "littler_collapse_time_approx",
    "missing_mass",
    "moment_eigenvalues",
    "p_lost",
    "poisson_chain_survival",
    "real_fraction_fixed_point",
    "real_fraction_moments",
    "real_fraction_stationary_variance",
    "seddik_segregating_bounds",
    "smoothing_fixed_point",
    "smoothing_homozygosity",
    "smoothing_stationary_variance_approx",
    "suresh_unique_bounds",
    "temperature_probs",
    "uniform",
    "wright_island_variance_approx",
    "zipf",
    "zipf_mandelbrot",
]

# ----------------------------------------------------------------------------------------------------
# Truths
# ----------------------------------------------------------------------------------------------------


def cats() -> np.ndarray:
    """The Nature paper's two-type example: (yellow, blue) = (0.9, 0.1)."""
    return np.array([0.9, 0.1])


def uniform(K: int) -> np.ndarray:
    """Uniform law on K types."""
    if K < 1:
        raise ValueError("K must be >= 1")
    return np.full(K, 1.0 / K)


def zipf_mandelbrot(beta: float, q: float, K: int) -> np.ndarray:
    """Zipf-Mandelbrot law p_i proportional to (i + q)^{-beta}, i = 1..K."""
    if K < 1:
        raise ValueError("K must be >= 1")
    if q <= -1:
        raise ValueError("q must be > -1")
    logw = -beta * np.log(np.arange(1, K + 1) + q)
    w = np.exp(logw - logw.max())
    return w / w.sum()


def zipf(beta: float, K: int) -> np.ndarray:
    """Zipf law p_i proportional to i^{-beta}, i = 1..K."""
    return zipf_mandelbrot(beta, 0.0, K)


def _probs(probs) -> np.ndarray:
    p = np.asarray(probs, dtype=float)
    if p.ndim != 1 or p.size == 0:
        raise ValueError("probs must be a non-empty 1-D array")
    if np.any(~np.isfinite(p)) or np.any(p < 0) or np.any(p > 1):
        raise ValueError("probabilities must lie in [0, 1]")
    return p


# ----------------------------------------------------------------------------------------------------
# Exact per-type survival (docs/theory.md §C.2): K binomial chains
# ----------------------------------------------------------------------------------------------------

_LOG_TOL = 40.0  # truncation: neglected probabilities are below e^{-40} ~ 4e-18
_WINDOW_SD = 10.0  # binomial rows are kept within +-(10 sd + 15) of the mean (dropped mass < 1e-22)
_WINDOW_PAD = 15.0
_DENSE_MAX = 4_000_000
_SPARSE_MAX = 25_000_000


def galton_watson_g(k) -> np.ndarray:
    """g_k of Suresh et al. (2024): g_0 = +inf, g_1 = 1, g_{j+1} = 1 - exp(-g_j); g_k lies in [1/k, 3/k].

    -log of the probability that a critical Poisson(1) Galton-Watson line of descent is extinct by
    generation k is g_k (per initial individual).  Vectorised over integer k >= 0.
    """
    k = np.asarray(k)
    if np.any(k < 0):
        raise ValueError("k must be >= 0")
    kmax = int(k.max()) if k.size else 0
    g = np.empty(kmax + 1)
    g[0] = np.inf
    for j in range(kmax):
        g[j + 1] = -np.expm1(-g[j])
    return g[k]


def _truncation(N: int, generations: int) -> int:
    """Largest count C worth tracking.

    Chernoff comparison with a Poisson Galton-Watson process: E[e^{-theta X'} | X] <= exp(-X(1-e^{-theta}))
    for X' ~ Bin(N, X/N), hence P(count hits 0 within n steps | count c) <= exp(-c g_n).  Counts above
    C contribute less than e^{-40}/generations per step.
    """
    if generations <= 1:
        return 0
    g = float(galton_watson_g(generations - 1))
    return int(min(N, np.ceil((_LOG_TOL + np.log(generations)) / g)))


def _binomial_windows(N: int, p: np.ndarray, C: int):
    """Sparse rows: for each p, the Bin(N, p) pmf on a window around N p, clipped to 0..C."""
    mean = N * p
    w = _WINDOW_SD * np.sqrt(mean * (1.0 - p)) + _WINDOW_PAD
    lo = np.maximum(0, np.floor(mean - w)).astype(np.int64)
    hi = np.minimum(C, np.ceil(mean + w)).astype(np.int64)
    length = np.maximum(hi - lo + 1, 0)
    nnz = int(length.sum())
    if nnz > _SPARSE_MAX:
        raise ValueError(
            f"exact per-type survival would need {nnz:.3g} stored transition probabilities "
            f"(limit {_SPARSE_MAX:.3g}); use fewer generations or a smaller N"
        )
    rows = np.repeat(np.arange(p.size), length)
    offsets = np.cumsum(length) - length
    cols = lo[rows] + (np.arange(nnz) - offsets[rows])
    vals = binomial_pmf(cols, N, p[rows])
    return sparse.csr_matrix((vals, (rows, cols)), shape=(p.size, C + 1))


def _loss_within(N: int, C: int, steps: int) -> np.ndarray:
    """L[c, n] = P(count = 0 after n steps | count c now) for c = 0..C, n = 0..steps (neutral chain)."""
    L = np.zeros((C + 1, steps + 1))
    L[0, :] = 1.0
    if steps == 0 or C == 0:
        return L
    c = np.arange(C + 1)
    if (C + 1) ** 2 <= _DENSE_MAX:
        P = binomial_pmf(c[None, :], N, c[:, None] / N)
    else:
        P = _binomial_windows(N, c / N, C)
    for n in range(steps):
        L[:, n + 1] = P @ L[:, n]
    return np.clip(L, 0.0, 1.0)


def p_lost(probs0, N: int, generations: int) -> np.ndarray:
    """Exact P(type i lost by generation n), shape (generations+1, K), for the neutral multinomial chain.

    Type i's count is the binomial chain X_1 ~ Bin(N, p_{0,i}), X_{n+1} ~ Bin(N, X_n/N) (marginal of
    the multinomial; N p_{0,i} need not be an integer), and 0 is absorbing, so
    P(lost by n) = sum_c Bin(c; N, p_{0,i}) (P^{n-1})_{c,0}.  The vectors P^m e_0 are computed once and shared
    by all types (types with equal p_0 share everything).  Counts c with exp(-c g_{n-1}) < e^{-40}
    (a Galton-Watson bound, see ``galton_watson_g``) are dropped, so the cost depends on N only through
    C = min(N, ~20 n) tracked counts, and on K only through one sparse product.  K = 5e4 Zipf types with
    N = 1e5 take about 1 s for 100 generations and 10-40 s for 300-600.  Raises ValueError when the
    banded transition matrix would exceed 2.5e7 stored entries (N above ~1.5e4 together with more than
    ~650 generations).  Row 0 is 1 for types with p_0 = 0 and 0 otherwise.
    """
    p = _probs(probs0)
    if N < 1 or generations < 0:
        raise ValueError("need N >= 1 and generations >= 0")
    out = np.empty((generations + 1, p.size))
    out[0] = (p == 0).astype(float)
    if generations == 0:
        return out
    C = _truncation(N, generations)
    L = _loss_within(N, C, generations - 1)
    uniq, inverse = np.unique(p, return_inverse=True)
    W = _binomial_windows(N, uniq, C)  # law of X_1 restricted to 0..C
    lost = W @ L  # (U, generations): column m is P(lost by generation m+1)
    out[1:] = np.clip(lost, 0.0, 1.0).T[:, inverse]
    return out


def expected_surviving(probs0, N: int, generations: int) -> np.ndarray:
    """Expected number of surviving types, sum_i P(count_{i,n} > 0), for n = 0..generations (exact)."""
    return (1.0 - p_lost(probs0, N, generations)).sum(axis=1)


# ----------------------------------------------------------------------------------------------------
# Moments of the neutral chain (docs/theory.md §C.1)
# ----------------------------------------------------------------------------------------------------


def heterozygosity(probs0, N: int, generations: int) -> np.ndarray:
    """E[1 - sum_i p_{n,i}^2] = H_0 (1 - 1/N)^n (Gini-Simpson index; Ewens 2004, ch. 1-3), n = 0..G."""
    p = _probs(probs0)
    H0 = 1.0 - np.sum(p**2)
    return H0 * (1.0 - 1.0 / N) ** np.arange(generations + 1)


def moment_eigenvalues(N: int, jmax: int | None = None) -> np.ndarray:
    """lambda_j = prod_{i<j} (1 - i/N) for j = 0..jmax (default N).

    These are the factors of the product moments (``expected_product``) and the eigenvalues of the
    two-type neutral transition matrix (Feller 1951).  lambda_0 = lambda_1 = 1.
    """
    jmax = N if jmax is None else int(jmax)
    if jmax < 0:
        raise ValueError("jmax must be >= 0")
    i = np.arange(jmax)
    return np.concatenate([[1.0], np.cumprod(1.0 - i / N)])


def expected_product(probs_subset, N: int, n: int) -> float:
    """E prod_{i in S} p_{n,i} = lambda_{|S|}^n prod_{i in S} p_{0,i} for distinct types S (docs/theory.md §C.1)."""
    p = _probs(probs_subset)
    return float(moment_eigenvalues(N, p.size)[p.size] ** n * np.prod(p))


# ----------------------------------------------------------------------------------------------------
# Smoothing (docs/theory.md §C.5): Wright-Fisher with parent-independent mutation
# ----------------------------------------------------------------------------------------------------


def _smoothing_u(K: int, N: int, alpha: float) -> float:
    if alpha < 0 or K < 1 or N < 1:
        raise ValueError("need alpha >= 0, K >= 1, N >= 1")
    return K * alpha / (N + K * alpha)


def smoothing_homozygosity(probs0, N: int, alpha: float, generations: int) -> np.ndarray:
    """Homozygosity F_n = E sum_i p_{n,i}^2 of the smoothed model p' = (c + alpha)/(N + K alpha), n = 0..G.

    Exact recursion (derived; docs/theory.md §C.5) with u = K alpha/(N + K alpha) and F_0 = sum p_0^2:
    F_{t+1} = (1-u)^2 (1 - 1/N) F_t + (1-u)^2/N + (1 - (1-u)^2)/K.
    """
    p = _probs(probs0)
    K = p.size
    u = _smoothing_u(K, N, alpha)
    a = (1 - u) ** 2 * (1 - 1 / N)
    b = (1 - u) ** 2 / N + (1 - (1 - u) ** 2) / K
    F = np.empty(generations + 1)
    F[0] = np.sum(p**2)
    for t in range(generations):
        F[t + 1] = a * F[t] + b
    return F


def smoothing_fixed_point(K: int, N: int, alpha: float) -> float:
    """Stationary homozygosity F* = [(1-u)^2/N + (1-(1-u)^2)/K] / [1 - (1-u)^2 (1-1/N)] (docs/theory.md §C.5).

    Reference: K = 2, N = 100, alpha = 0.5 gives 0.66611.  For alpha = 0 it is 1 (fixation).
    """
    u = _smoothing_u(K, N, alpha)
    a = (1 - u) ** 2 * (1 - 1 / N)
    b = (1 - u) ** 2 / N + (1 - (1 - u) ** 2) / K
    return float(b / (1 - a)) if a < 1 else 1.0


def smoothing_stationary_variance_approx(K: int, N: int, alpha: float) -> float:
    """Diffusion approximation: stationary law ~ Dirichlet(2Nu/K, ..., 2Nu/K), so each type has variance
    (1/K)(1 - 1/K)/(2Nu + 1) (Wright; Ewens 2004).  K = 2, N = 100, alpha = 0.5: 0.0839 (exact 0.0831).
    Approximation, not exact."""
    u = _smoothing_u(K, N, alpha)
    return (1 / K) * (1 - 1 / K) / (2 * N * u + 1)


# ----------------------------------------------------------------------------------------------------
# Fresh real-data fraction (docs/theory.md §C.6)
# ----------------------------------------------------------------------------------------------------


def _real_fraction_coeffs(N: int, rho: float, F0: float):
    n_r, n_s = real_fraction_counts(N, rho)
    r = n_r / N
    E_r = (1 - 1 / n_r) * F0 + 1 / n_r if n_r else 0.0
    aF = (1 - r) ** 2 * (1 - 1 / n_s) if n_s else 0.0
    bF = r**2 * E_r + ((1 - r) ** 2 / n_s if n_s else 0.0)
    return r, aF, bF


def real_fraction_moments(probs0, N: int, rho: float, generations: int, probs_start=None):
    """Return ``(F, G)``, each of shape (G+1,): F_n = E sum_i p_{n,i}^2 and G_n = E sum_i p_{0,i} p_{n,i}.

    Each generation fits on n_r real draws from p_0 plus n_s = N - n_r synthetic draws from p_n
    (n_r = rho N rounded as in ``markov.real_fraction_counts``; the recursion uses the exact share
    rho = n_r/N).  Exact recursions (derived; docs/theory.md §C.6), with F0 = sum p_0^2 and E_r = (1 - 1/n_r) F0 + 1/n_r:
    F_{t+1} = rho^2 E_r + 2 rho (1-rho) G_t + (1-rho)^2 [(1 - 1/n_s) F_t + 1/n_s],
    G_{t+1} = rho F0 + (1-rho) G_t.
    Generation 0 is ``probs_start`` (default p_0).
    """
    p0 = _probs(probs0)
    ps = p0 if probs_start is None else _probs(probs_start)
    if ps.shape != p0.shape:
        raise ValueError("probs_start must have the same length as probs0")
    F0 = float(np.sum(p0**2))
    r, aF, bF = _real_fraction_coeffs(N, rho, F0)
    F = np.empty(generations + 1)
    G = np.empty(generations + 1)
    F[0], G[0] = np.sum(ps**2), np.sum(p0 * ps)
    for t in range(generations):
        F[t + 1] = bF + 2 * r * (1 - r) * G[t] + aF * F[t]
        G[t + 1] = r * F0 + (1 - r) * G[t]
    return F, G


def real_fraction_fixed_point(probs0, N: int, rho: float) -> float:
    """Stationary homozygosity F* of the real-fraction chain (G* = F0); solves the recursion of
    ``real_fraction_moments`` at its fixed point.  Cats, N = 100, rho = 0.1: 0.82905."""
    p0 = _probs(probs0)
    F0 = float(np.sum(p0**2))
    r, aF, bF = _real_fraction_coeffs(N, rho, F0)
    if aF >= 1:  # no real data: the chain fixes
        return 1.0
    return float((bF + 2 * r * (1 - r) * F0) / (1 - aF))


def real_fraction_stationary_variance(probs0, N: int, rho: float) -> np.ndarray:
    """Exact stationary Var p_i for each type of the real-fraction chain (E p_i = p_{0,i} there).

    Type i alone is the two-type chain (p_{0,i}, 1 - p_{0,i}), whose homozygosity F*_i gives
    Var p_i = (F*_i - p_{0,i}^2 - (1 - p_{0,i})^2)/2.  Cats, N = 100, rho = 0.1: 0.004523 for blue.
    """
    p0 = _probs(probs0)
    out = np.empty(p0.size)
    for i, pi in enumerate(p0):
        two = np.array([pi, 1.0 - pi])
        out[i] = (real_fraction_fixed_point(two, N, rho) - np.sum(two**2)) / 2
    return out


def wright_island_variance_approx(probs0, N: int, rho: float) -> np.ndarray:
    """Wright's island/migration approximation: stationary p_i ~ Beta(2N rho p_0, 2N rho (1 - p_0)), so
    Var p_i = p_{0,i}(1 - p_{0,i})/(2 N rho + 1).  Cats, N = 100, rho = 0.1: 0.00429.  Approximation."""
    p0 = _probs(probs0)
    return p0 * (1 - p0) / (2 * N * rho + 1)


# ----------------------------------------------------------------------------------------------------
# Temperature (docs/theory.md §C.7): infinite-sample map
# ----------------------------------------------------------------------------------------------------


def temperature_probs(probs0, T: float, generations: int) -> np.ndarray:
    """p_n proportional to p_0^{T^{-n}}, n = 0..G, shape (G+1, K) (derived, exact for infinite samples).

    Sampling at temperature T multiplies the logits by 1/T each generation.  T < 1 collapses onto the
    argmax double-exponentially (cats, T = 0.8: p_yellow = 0.939717, 0.968725, 0.986500); T > 1 flattens
    towards uniform on the support.  Zero-probability types stay at zero; computed in log space.
    """
    p = _probs(probs0)
    if T <= 0:
        raise ValueError("T must be > 0")
    support = p > 0
    logp = np.log(np.where(support, p, 1.0))
    rel = logp - logp[support].max()  # <= 0 on the support, 0 at the argmax
    top = support & (rel == 0)
    rest = support & ~top
    z = np.full((generations + 1, p.size), -np.inf)
    z[:, top] = 0.0
    with np.errstate(over="ignore"):  # T^{-n} may overflow to inf for T < 1: the logit is then -inf
        scale = T ** -np.arange(generations + 1, dtype=float)
        z[:, rest] = scale[:, None] * rel[rest][None, :]
    return np.exp(z - special.logsumexp(z, axis=1, keepdims=True))


# ----------------------------------------------------------------------------------------------------
# Tails, one generation (docs/theory.md §C.10)
# ----------------------------------------------------------------------------------------------------


def _pow1m(p: np.ndarray, m: int) -> np.ndarray:
    """(1 - p)^m computed as exp(m log1p(-p))."""
    with np.errstate(divide="ignore"):
        return np.exp(m * np.log1p(-p))


def missing_mass(probs, N: int) -> float:
    """Expected probability mass of types absent from N draws: sum_i p_i (1 - p_i)^N (Hutter 2021).
    Zipf(1.5), K = 1000: 0.18094, 0.07096, 0.02036 at N = 100, 1000, 10000."""
    p = _probs(probs)
    return float(np.sum(p * _pow1m(p, N)))


def expected_types_seen(probs, N: int) -> float:
    """Expected number of distinct types in N draws: sum_i 1 - (1 - p_i)^N."""
    p = _probs(probs)
    with np.errstate(divide="ignore"):
        return float(np.sum(-np.expm1(N * np.log1p(-p))))


def good_turing_singleton_rate(probs, N: int) -> float:
    """E[N_1]/N = sum_i p_i (1 - p_i)^{N-1}, the Good-Turing estimate of the missing mass (N_1 = number of
    types seen exactly once in N draws)."""
    p = _probs(probs)
    return float(np.sum(p * _pow1m(p, N - 1)))


# ----------------------------------------------------------------------------------------------------
# Poisson chain and published bounds (docs/theory.md §N.1, §C.4)
# ----------------------------------------------------------------------------------------------------


def poisson_chain_survival(lam0, n: int, k) -> np.ndarray:
    """Exact P(Lambda_k != 0) = 1 - exp(-n lambda_0 g_k) for the Poisson chain (Suresh et al. 2024, Thm 2).

    Each generation draws Poisson(n Lambda) and refits Lambda = count/n: a critical Poisson Galton-Watson
    process started from Poisson(n lambda_0) individuals.  lambda_0 = 1, n = 10, k = 20: 0.6001.
    """
    lam0 = np.asarray(lam0, dtype=float)
    return -np.expm1(-n * lam0 * galton_watson_g(k))


def suresh_unique_bounds(probs, n: int, k: int) -> tuple[float, float]:
    """Suresh et al. (2024), Cor. 1: bounds on the expected number of distinct symbols at generation k with
    n samples per generation (quoted, not re-derived):
    sum_i (1 - e^{-n p_i g_k}) <= E uniq_k <= sum_i (1 - e^{-n p_i g_k} max(1 - 3 n p_i^2 - 3 k p_i, 0)).
    """
    p = _probs(probs)
    if k < 1:
        raise ValueError("k must be >= 1")
    e = np.exp(-n * p * float(galton_watson_g(k)))
    lower = np.sum(1 - e)
    upper = np.sum(1 - e * np.maximum(1 - 3 * n * p**2 - 3 * k * p, 0.0))
    return float(lower), float(upper)


def seddik_segregating_bounds(p0: float, n: int, k: int) -> tuple[float, float]:
    """Seddik et al. (2024) bounds on P(P_k not in {0, 1}) for the two-type chain with n samples:
    4 p0 q0 (1 - 1/n)^k <= P <= 2 n p0 q0 (1 - 1/n)^k (quoted).  p0 = 0.01, n = 100, k = 50 gives
    [0.0240, 1.198] around the exact 0.0411."""
    q0 = 1.0 - p0
    decay = (1 - 1 / n) ** k
    return 4 * p0 * q0 * decay, 2 * n * p0 * q0 * decay


# ----------------------------------------------------------------------------------------------------
# Diffusion approximations (docs/theory.md §C.3)
# ----------------------------------------------------------------------------------------------------


def _xlogx(x):
    x = np.asarray(x, dtype=float)
    return np.where(x > 0, x * np.log(np.where(x > 0, x, 1.0)), 0.0)


def kimura_ohta_times_approx(p: float, N: int) -> tuple[float, float, float]:
    """Diffusion approximation (Kimura & Ohta 1969), haploid population N, initial frequency p = 1 - q:
    E T_abs ~ -2N [p ln p + q ln q],  E[T | fix] ~ -2N q ln q / p,  E[T | loss] ~ -2N p ln p / q.
    Cats, N = 100, p = 0.1: 65.02, 189.65, 51.17 (exact chain: 63.454, 187.43, 49.68).  Approximation."""
    q = 1.0 - p
    t_abs = -2 * N * (_xlogx(p) + _xlogx(q))
    t_fix = -2 * N * _xlogx(q) / p if p > 0 else np.nan
    t_loss = -2 * N * _xlogx(p) / q if q > 0 else np.nan
    return float(t_abs), float(t_fix), float(t_loss)


def kimura_segregating_approx(p: float, N: int, n) -> np.ndarray:
    """Leading term of Kimura (1955): P(still segregating at n) ~ 6 p q e^{-n/N} (haploid, population N).
    Cats, N = 100, n = 200: 0.0731 (exact 0.0710).  Approximation, poor for small n."""
    return 6 * p * (1 - p) * np.exp(-np.asarray(n, dtype=float) / N)


def littler_collapse_time_approx(probs, N: int) -> float:
    """Littler (1975) diffusion approximation of the expected time until one type is left:
    E T ~ -2N sum_i (1 - p_i) ln(1 - p_i).  K = 10 uniform, N = 100: 189.65.  Approximation."""
    p = _probs(probs)
    return float(-2 * N * np.sum(_xlogx(1.0 - p)))
