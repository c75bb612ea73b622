"""Exact finite Markov-chain solver for the two-type categorical chain.

The state is the count ``i`` in ``0..N`` of one tracked type ("blue") in a sample of size N.  A fitting map
``f`` turns the sample frequency ``i/N`` into the model's probability for that type, and the next sample
is drawn from the model, so the chain has transition matrix

    P_ij = Binom(j; N, f(i/N))                         (Feller 1951; Ewens 2004, ch. 1-3)

With ``f`` the identity this is the neutral haploid Wright-Fisher chain (docs/theory.md §C.1).  Other
maps give the modifications of docs/theory.md §C.5–§C.8 (smoothing, temperature, min-p, top-k); a fresh real-data fraction is a
convolution of two binomials (``real_fraction_transition_matrix``).

From a transition matrix (any finite stochastic matrix whose absorbing states, if any, are 0 and N) the
functions below give the standard absorbing-chain quantities (Kemeny & Snell 1960):

* absorption probabilities   B = (I - Q)^{-1} R,
* expected absorption time   t = (I - Q)^{-1} 1,
* conditional times given the outcome, via the Doob h-transform,
* the count law at generation n and P(lost / fixed by n),
* eigenvalues, and the stationary law of a chain without absorption.

Every inverse is a linear solve (LU), never an explicit inverse; float64 throughout.  Dense matrices of
size (N+1)^2 are used, which is comfortable up to N of a few thousand.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.linalg
from scipy import special

from ..config import real_count
from .binomial_pmf import binomial_pmf

FitMap = Callable[[np.ndarray], np.ndarray]

__all__ = [
    "absorbing_states",
    "absorption_by",
    "absorption_probabilities",
    "conditional_absorption_times",
    "count_distribution",
    "count_distributions",
    "expected_absorption_time",
    "identity_map",
    "min_p_map",
    "real_fraction_counts",
    "real_fraction_transition_matrix",
    "smoothing_map",
    "stationary_distribution",
    "temperature_map",
    "top_k_map",
    "transition_eigenvalues",
    "transition_matrix",
]

# ----------------------------------------------------------------------------------------------------
# Fitting maps: vectorised callables from the sample frequency p = i/N in [0, 1] of the tracked type to
# the fitted model's probability of that type (two types: the other type gets 1 - f(p)).
# ----------------------------------------------------------------------------------------------------


def identity_map() -> FitMap:
    """Maximum-likelihood fit, f(p) = p: the neutral Wright-Fisher chain (docs/theory.md §C.1)."""
    return lambda p: np.asarray(p, dtype=float)


def smoothing_map(alpha: float, N: int, K: int = 2) -> FitMap:
    """Additive (Laplace/Dirichlet) smoothing, f(p) = (N p + alpha) / (N + K alpha).

    This is the fitted probability of the tracked type when the counts c = N p are smoothed by ``alpha``
    over K types; equivalently f(p) = (1-u) p + u/K with u = K alpha / (N + K alpha) (WF with
    parent-independent mutation, Ewens 2004).  Because the smoothed probability of one type depends only
    on its own count, the tracked type's count is an exact binomial chain for any K.  No state absorbs
    when alpha > 0.
    """
    if alpha < 0:
        raise ValueError("alpha must be >= 0")
    denom = N + K * alpha
    return lambda p: (N * np.asarray(p, dtype=float) + alpha) / denom


def temperature_map(T: float) -> FitMap:
    """Sampling at temperature T from the fitted two-type model: f(p) = p^{1/T} / (p^{1/T} + (1-p)^{1/T}).

    Computed on the logit scale, logit f(p) = logit(p) / T, so it is exact at p = 0 and 1 (which stay
    absorbing).  T < 1 sharpens towards the majority type, T > 1 flattens towards 1/2 (docs/theory.md §C.7).
    """
    if T <= 0:
        raise ValueError("T must be > 0")
    return lambda p: special.expit(special.logit(np.asarray(p, dtype=float)) / T)


def min_p_map(tau: float) -> FitMap:
    """Min-p truncation with two types: a type with probability p < tau * max(p, 1-p) is dropped and the
    rest renormalised, so f(p) = 0 if p < tau (1-p), f(p) = 1 if 1-p < tau p, and f(p) = p otherwise.
    """
    if not 0 <= tau <= 1:
        raise ValueError("tau must lie in [0, 1]")

    def f(p):
        p = np.asarray(p, dtype=float)
        q = 1.0 - p
        m = np.maximum(p, q)
        return np.where(p < tau * m, 0.0, np.where(q < tau * m, 1.0, p))

    return f


def top_k_map(k: int) -> FitMap:
    """Top-k truncation with two types.

    For k >= 2 both types are always kept, so top-k is the identity (neutral WF).  For k = 1 only the
    majority type survives: f(p) = 1 if p > 1/2, 0 if p < 1/2, and 1/2 at an exact tie (both kept).
    """
    if k < 1:
        raise ValueError("k must be >= 1")
    if k >= 2:
        return identity_map()
    return lambda p: np.sign(np.asarray(p, dtype=float) - 0.5) * 0.5 + 0.5


# ----------------------------------------------------------------------------------------------------
# Transition matrices
# ----------------------------------------------------------------------------------------------------


def _fitted(N: int, fit: FitMap | None) -> np.ndarray:
    freq = np.arange(N + 1) / N
    f = freq if fit is None else np.asarray(fit(freq), dtype=float)
    if f.shape != freq.shape:
        raise ValueError("the fitting map must be vectorised (same shape in and out)")
    if np.any(~np.isfinite(f)) or np.any(f < 0) or np.any(f > 1):
        raise ValueError("the fitting map must return probabilities in [0, 1]")
    return f


def transition_matrix(N: int, fit: FitMap | None = None) -> np.ndarray:
    """Two-type transition matrix P_ij = Binom(j; N, f(i/N)), shape (N+1, N+1); rows sum to 1.

    ``fit`` is a vectorised map of frequencies in [0, 1] (default: identity, i.e. neutral Wright-Fisher).
    """
    if N < 1:
        raise ValueError("N must be >= 1")
    f = _fitted(N, fit)
    j = np.arange(N + 1)
    return binomial_pmf(j[None, :], N, f[:, None])


def real_fraction_counts(N: int, rho: float) -> tuple[int, int]:
    """Split N draws into (n_real, n_synthetic) with n_real = floor(rho N + 1/2), i.e. rho N rounded to
    the nearest integer with halves rounded up (not Python's round-half-to-even)."""
    if not 0 <= rho <= 1:
        raise ValueError("rho must lie in [0, 1]")
    n_real = int(real_count(rho, N))
    return n_real, N - n_real


def real_fraction_transition_matrix(N: int, rho: float, p0: float, fit: FitMap | None = None) -> np.ndarray:
    """Transition matrix with a fresh real-data fraction (docs/theory.md §C.6).

    Each generation draws n_r real points from the truth (tracked-type probability ``p0``) and
    n_s = N - n_r synthetic points from the current model f(i/N); see ``real_fraction_counts`` for the
    rounding of n_r = rho N.  The next count is Bin(n_r, p0) + Bin(n_s, f(i/N)) (independent), so each
    row is the convolution of the two binomial laws.  With 0 < p0 < 1 and n_r > 0 no state absorbs.
    """
    if not 0 <= p0 <= 1:
        raise ValueError("p0 must lie in [0, 1]")
    n_r, n_s = real_fraction_counts(N, rho)
    f = _fitted(N, fit)
    synth = binomial_pmf(np.arange(n_s + 1)[None, :], n_s, f[:, None])  # (N+1, n_s+1)
    real = binomial_pmf(np.arange(n_r + 1), n_r, p0)  # (n_r+1,)
    # Convolution as a product with the banded matrix C[m, m + r] = real[r].
    conv = np.zeros((n_s + 1, N + 1))
    m = np.arange(n_s + 1)
    for r in range(n_r + 1):
        conv[m, m + r] = real[r]
    return synth @ conv


# ----------------------------------------------------------------------------------------------------
# Absorbing-chain quantities
# ----------------------------------------------------------------------------------------------------

_ABSORB_ATOL = 1e-14
_TINY_EVENT = 1e-10


def _check_stochastic(P: np.ndarray) -> np.ndarray:
    P = np.asarray(P, dtype=float)
    if P.ndim != 2 or P.shape[0] != P.shape[1]:
        raise ValueError("P must be a square matrix")
    return P


def absorbing_states(P: np.ndarray) -> np.ndarray:
    """Indices i with P_ii = 1 (to within 1e-14)."""
    P = _check_stochastic(P)
    return np.flatnonzero(np.abs(np.diag(P) - 1.0) <= _ABSORB_ATOL)


def _split(P: np.ndarray):
    P = _check_stochastic(P)
    S = P.shape[0]
    absorbing = absorbing_states(P)
    if absorbing.size == 0:
        raise ValueError("the chain has no absorbing state; use stationary_distribution instead")
    if not set(absorbing.tolist()) <= {0, S - 1}:
        raise ValueError("absorbing states other than 0 and N are not supported")
    transient = np.setdiff1d(np.arange(S), absorbing)
    return P, transient


def _lu_transient(P: np.ndarray, transient: np.ndarray):
    Q = P[np.ix_(transient, transient)]
    A = np.eye(transient.size) - Q
    return scipy.linalg.lu_factor(A, check_finite=False)


def _absorption(P: np.ndarray):
    """LU of (I - Q) and the absorption probabilities (loss, fix); shared by the public solvers."""
    P, transient = _split(P)
    S = P.shape[0]
    loss, fix = np.zeros(S), np.zeros(S)
    for vec, state in ((loss, 0), (fix, S - 1)):
        vec[state] = 1.0 if abs(P[state, state] - 1.0) <= _ABSORB_ATOL else 0.0
    lu = None
    if transient.size:
        lu = _lu_transient(P, transient)
        R = P[np.ix_(transient, [0, S - 1])] * np.array([loss[0], fix[S - 1]])[None, :]
        B = scipy.linalg.lu_solve(lu, R, check_finite=False)
        loss[transient], fix[transient] = B[:, 0], B[:, 1]
    return P, transient, lu, np.clip(loss, 0.0, 1.0), np.clip(fix, 0.0, 1.0)


def absorption_probabilities(P: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(loss, fix)``: P(absorbed at 0 | start i) and P(absorbed at N | start i), each of length N+1.

    Solves (I - Q) B = R for the transient block Q and transient-to-absorbing block R.  A state that is not
    absorbing gets probability 0 throughout.  For the neutral chain fix[i] = i/N (martingale).
    """
    _, _, _, loss, fix = _absorption(P)
    return loss, fix


def expected_absorption_time(P: np.ndarray) -> np.ndarray:
    """E[T_abs | start i], T_abs the number of generations until absorption: t = (I - Q)^{-1} 1 on transient
    states, 0 on absorbing ones.  Length N+1."""
    P, transient = _split(P)
    t = np.zeros(P.shape[0])
    if transient.size:
        lu = _lu_transient(P, transient)
        t[transient] = scipy.linalg.lu_solve(lu, np.ones(transient.size), check_finite=False)
    return t


def conditional_absorption_times(P: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(t_loss, t_fix)``: E[T_abs | lost, start i] and E[T_abs | fixed, start i].

    Doob h-transform: conditioning on the outcome with h(i) = P(outcome | i) gives the chain
    Q_h = D_h^{-1} Q D_h, whose expected absorption time is D_h^{-1} (I - Q)^{-1} h, i.e.
    E[T 1_outcome] / h, computed as one solve with right-hand side h (Ewens 2004, ch. 2; for the
    neutral chain h = 1 - i/N and i/N).  Where h < 1e-10 the ratio is numerically meaningless
    and NaN is returned; at an absorbing state the time is 0 if that state is the outcome.
    """
    P, transient, lu, loss, fix = _absorption(P)
    S = P.shape[0]
    out = []
    for h in (loss, fix):
        t = np.full(S, np.nan)
        ok = h >= _TINY_EVENT
        absorbing = np.setdiff1d(np.arange(S), transient)
        t[absorbing[ok[absorbing]]] = 0.0
        if transient.size:
            w = scipy.linalg.lu_solve(lu, h[transient], check_finite=False)
            sel = ok[transient]
            t[transient[sel]] = w[sel] / h[transient][sel]
        out.append(t)
    return out[0], out[1]


def _start_vector(S: int, start) -> np.ndarray:
    start_arr = np.asarray(start)
    if start_arr.ndim == 0:
        i = int(start_arr)
        if not 0 <= i < S:
            raise ValueError("start count out of range")
        v = np.zeros(S)
        v[i] = 1.0
        return v
    v = np.asarray(start, dtype=float)
    if v.shape != (S,) or np.any(v < 0) or abs(v.sum() - 1.0) > 1e-9:
        raise ValueError("start must be a count or a probability vector over the N+1 states")
    return v


def count_distributions(P: np.ndarray, start, generations: int) -> np.ndarray:
    """Law of the count at generations 0..G, shape (G+1, N+1): row n is e_start P^n.

    ``start`` is an initial count or a probability vector over the states (e.g. Bin(N, p0) when the
    truth's frequency p0 is not a multiple of 1/N).
    """
    P = _check_stochastic(P)
    out = np.empty((generations + 1, P.shape[0]))
    out[0] = _start_vector(P.shape[0], start)
    for n in range(generations):
        out[n + 1] = out[n] @ P
    return out


def count_distribution(P: np.ndarray, start, n: int) -> np.ndarray:
    """Law of the count at generation n, e_start P^n (length N+1)."""
    return count_distributions(P, start, n)[-1]


def absorption_by(P: np.ndarray, start, generations: int) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(lost_by, fixed_by)``, each of shape (G+1,): P(count = 0 at some generation <= n) and
    P(count = N at some generation <= n) for n = 0..G, i.e. (e_start P^n)_0 and (e_start P^n)_N.

    Only absorbing endpoints are meaningful; a non-absorbing endpoint gets zeros.
    P(segregating at n) = 1 - lost_by[n] - fixed_by[n].
    """
    P = _check_stochastic(P)
    S = P.shape[0]
    dist = count_distributions(P, start, generations)
    lost = dist[:, 0] if abs(P[0, 0] - 1.0) <= _ABSORB_ATOL else np.zeros(generations + 1)
    fixed = dist[:, S - 1] if abs(P[S - 1, S - 1] - 1.0) <= _ABSORB_ATOL else np.zeros(generations + 1)
    return lost.copy(), fixed.copy()


def transition_eigenvalues(P: np.ndarray) -> np.ndarray:
    """Eigenvalues of P sorted by decreasing real part (real if all imaginary parts are negligible).

    For the neutral chain they are lambda_j = prod_{i<j} (1 - i/N), j = 0..N (Feller 1951).  A
    non-symmetric eigensolver has absolute error ~ 1e-16 ||P||, so only the leading eigenvalues are
    accurate to relative precision; the smallest ones (near N!/N^N) are not resolved.
    """
    ev = np.linalg.eigvals(_check_stochastic(P))
    if np.all(np.abs(ev.imag) <= 1e-10):
        ev = ev.real
    return ev[np.argsort(-ev.real, kind="stable")]


def stationary_distribution(P: np.ndarray) -> np.ndarray:
    """Stationary law pi = pi P of an irreducible chain (e.g. smoothing alpha > 0 or a real-data fraction).

    Solved as the bordered linear system pi (I - P) = 0, sum(pi) = 1 (one balance equation replaced by
    the normalisation); tiny negative round-off is clipped and the result renormalised.
    """
    P = _check_stochastic(P)
    if absorbing_states(P).size:
        raise ValueError("the chain has an absorbing state; its stationary laws are the point masses there")
    S = P.shape[0]
    A = np.eye(S) - P.T
    # For an irreducible chain any one balance equation is redundant; the last is replaced by sum(pi) = 1.
    A[-1, :] = 1.0
    b = np.zeros(S)
    b[-1] = 1.0
    pi = scipy.linalg.solve(A, b, check_finite=False)
    pi = np.clip(pi, 0.0, None)
    return pi / pi.sum()
