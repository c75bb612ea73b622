"""Closed forms for the Gaussian chains (docs/theory.md §G, §W, §P).

Conventions: `sizes[t]` = M_t, the number of points drawn from model t to fit model t+1
(t = 0 … n−1); ddof δ ∈ {0, 1}; every curve has n+1 entries, entry 0 being the truth.
All results are exact expectations (derived from the Cochran decomposition
σ²_{t+1} = σ²_t χ²_{M_t−1}/(M_t − δ), μ_{t+1} = μ_t + σ_t Z/√M_t), unless named a bound.
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, gammaln, polygamma

from . import ecosystem, weighted_real
from .fields import IRRELEVANT, RUN_FIELDS, USED, Needs, declared


def _prepend(first, values):
    return np.concatenate([[first], values])


def _sizes(sizes) -> np.ndarray:
    return np.asarray(sizes, dtype=float)


def var_moment(sizes, ddof, var0, s):
    """E σ_n^{2s} = σ0^{2s} Π_t (2/(M_t−δ))^s Γ(k_t/2 + s)/Γ(k_t/2), k_t = M_t − 1, for s > −k_t/2.

    Nature Thm 3.1 / SI §3.1; infinite where some k_t/2 + s ≤ 0.
    """
    m = _sizes(sizes)
    k = m - 1.0
    with np.errstate(invalid="ignore"):
        log_terms = s * np.log(2.0 / (m - ddof)) + gammaln(k / 2 + s) - gammaln(k / 2)
    log_terms = np.where(k / 2 + s > 0, log_terms, np.inf)
    with np.errstate(over="ignore"):
        return var0**s * np.exp(_prepend(0.0, np.cumsum(log_terms)))


def expected_var(sizes, ddof, var0=1.0):
    """E σ_n² = σ0² Π (M_t−1)/(M_t−δ): constant for δ=1, σ0²(1−1/M)^n for the MLE."""
    m = _sizes(sizes)
    return var0 * _prepend(1.0, np.cumprod((m - 1) / (m - ddof)))


def expected_std(sizes, ddof, var0=1.0):
    """E σ_n = σ0 Π c_t, c_t = √(2/(M_t−δ)) Γ(M_t/2)/Γ((M_t−1)/2) (Bertrand et al. 2024 for δ=1)."""
    return var_moment(sizes, ddof, var0, 0.5)


def expected_logvar(sizes, ddof, var0=1.0):
    """E log σ_n² = log σ0² + Σ_t [ψ(k_t/2) + log(2/(M_t−δ))]: the a.s. collapse rate (Nature Thm 3.1)."""
    m = _sizes(sizes)
    return np.log(var0) + _prepend(0.0, np.cumsum(digamma((m - 1) / 2) + np.log(2.0 / (m - ddof))))


def var_logvar(sizes):
    """Var log σ_n² = Σ_t ψ′(k_t/2) (independent log-χ² increments)."""
    m = _sizes(sizes)
    return _prepend(0.0, np.cumsum(polygamma(1, (m - 1) / 2)))


def expected_mean_sq_error(sizes, ddof, var0=1.0):
    """E(μ_n−μ0)² = Σ_{t<n} E σ_t²/M_t: σ0²Σ1/M_t (δ=1, a random walk), σ0²(1−(1−1/M)^n) (MLE, bounded)."""
    m = _sizes(sizes)
    return _prepend(0.0, np.cumsum(expected_var(sizes, ddof, var0)[:-1] / m))


def expected_w2sq(sizes, ddof, var0=1.0):
    """E W2²(N(μ0,σ0²), N(μ_n,σ_n²)) = E(μ_n−μ0)² + E σ_n² − 2σ0 E σ_n + σ0².

    δ=1: σ0²[Σ1/M_t + 2 − 2Πc_t], unbounded for constant M (Nature SI eq. 6 is its first-order form
    (3/2)σ0²Σ1/M_t); bounded iff Σ 1/M_t < ∞. MLE: 2σ0²(1 − Πc_t) ≤ 2σ0².
    """
    return (
        expected_mean_sq_error(sizes, ddof, var0)
        + expected_var(sizes, ddof, var0)
        - 2.0 * np.sqrt(var0) * expected_std(sizes, ddof, var0)
        + var0
    )


def expected_kl(sizes, ddof, var0=1.0):
    """E KL(N(μ0,σ0²) ‖ N(μ_n,σ_n²)) = ½[σ0² E σ_n^{−2} + E((μ_n−μ0)²/σ_n²) − 1 + E log σ_n² − log σ0²].

    With r_t = σ²_{t+1}/σ²_t, E(1/r_t) = (M_t−δ)/(M_t−3) and Z_t independent of the later ratios:
    E((μ_n−μ0)²/σ_n²) = Σ_{t<n} (1/M_t) Π_{s=t}^{n−1} E(1/r_s). Finite only if every M_t > 3.
    """
    m = _sizes(sizes)
    if np.any(m <= 3):
        return np.full(len(m) + 1, np.inf)
    inv_r = (m - ddof) / (m - 3.0)
    mean_term = np.zeros(len(m) + 1)  # S_{n+1} = E(1/r_n)(S_n + 1/M_n)
    with np.errstate(over="ignore"):
        for n in range(len(m)):
            mean_term[n + 1] = inv_r[n] * (mean_term[n] + 1.0 / m[n])
        inv_var = var_moment(sizes, ddof, var0, -1.0)
        return 0.5 * (var0 * inv_var + mean_term - 1.0 + expected_logvar(sizes, ddof, var0) - np.log(var0))


def marginal_variance(sizes, ddof, var0=1.0):
    """Var of one point from generation n: E σ_n² + E(μ_n−μ0)² (δ=1: σ0²(1 + Σ_{t<n} 1/M_t), exact)."""
    return expected_var(sizes, ddof, var0) + expected_mean_sq_error(sizes, ddof, var0)


def suresh_tail_bound(n_samples, generations, eps, std0=1.0):
    """Suresh et al. Thm 3 (bound): P(σ_k > ε) ≤ (σ0/ε) exp(−k/(4n−1)) for k = 0 … generations."""
    k = np.arange(generations + 1)
    return np.minimum(1.0, std0 / eps * np.exp(-k / (4.0 * n_samples - 1.0)))


# --- d-dimensional (Wishart) chain, docs/theory.md §W.1 ---------------------------------------------------


def expected_trace(sizes, ddof, cov0):
    """E tr Σ_n = tr Σ0 Π (M_t−1)/(M_t−δ)."""
    return np.trace(np.asarray(cov0)) * expected_var(sizes, ddof)


def expected_det_ratio(sizes, ddof, dim):
    """E det Σ_n / det Σ0 = Π_t Π_{i<d} (M_t−1−i)/(M_t−δ)."""
    m = _sizes(sizes)[:, None]
    i = np.arange(dim)[None, :]
    return _prepend(1.0, np.cumprod(np.prod((m - 1 - i) / (m - ddof), axis=1)))


def expected_logdet(sizes, ddof, cov0):
    """E log det Σ_n = log det Σ0 + Σ_t [Σ_{i<d} ψ((M_t−1−i)/2) + d log(2/(M_t−δ))]."""
    cov0 = np.atleast_2d(cov0)
    d = cov0.shape[0]
    m = _sizes(sizes)[:, None]
    i = np.arange(d)[None, :]
    per_step = np.sum(digamma((m - 1 - i) / 2), axis=1) + d * np.log(2.0 / (m[:, 0] - ddof))
    return np.linalg.slogdet(cov0)[1] + _prepend(0.0, np.cumsum(per_step))


def expected_mean_sq_error_nd(sizes, ddof, cov0):
    """E‖μ_n−μ0‖² = tr Σ0 Σ_{t<n} Π_{s<t}((M_s−1)/(M_s−δ)) / M_t; also the Nature lower bound on E W2²."""
    return expected_mean_sq_error(sizes, ddof, np.trace(np.asarray(cov0)))


# --- policies that keep or mix in data, docs/theory.md §P -------------------------------------------------


def accumulate(sizes, ddof, var0=1.0):
    """All data kept (Gerstgrasser et al. 2024; Nature SI Fig. 5): pool n_t = Σ_{s<t} M_s.

    E σ²_1 = σ0²(M_0−1)/(M_0−δ); then E σ²_{t+1} = E σ²_t [n_t − δ + M_t − 1 + n_t/n_{t+1}]/(n_{t+1} − δ);
    E(μ_{t+1}−μ0)² = E(μ_t−μ0)² + M_t E σ²_t / n²_{t+1}. For constant N and δ=0 this is the Euler
    product σ0² Π_{k≤t}(1 − 1/(k²N)) → σ0² sin(π/√N)/(π/√N); the mean error stays ≤ (π²/6)σ0²/N.
    Returns (E σ², E(μ−μ0)²).
    """
    m = _sizes(sizes)
    pool = _prepend(0.0, np.cumsum(m))
    var = np.empty(len(m) + 1)
    mse = np.empty(len(m) + 1)
    var[0], mse[0] = var0, 0.0
    for t, size in enumerate(m):
        n, n_next = pool[t], pool[t + 1]
        if t == 0:
            var[1] = var0 * (size - 1) / (size - ddof)
        else:
            var[t + 1] = var[t] * (n - ddof + size - 1 + n / n_next) / (n_next - ddof)
        mse[t + 1] = mse[t] + size * var[t] / n_next**2
    return var, mse


def accumulate_limit(n_samples):
    """lim E σ_t²/σ0² under accumulate with δ=0 and constant N: sin(π/√N)/(π/√N) (Euler product)."""
    x = np.pi / np.sqrt(n_samples)
    return np.sin(x) / x


def fresh_real(sizes, n_real, ddof, var0=1.0):
    """n_r fresh real points from N(μ0,σ0²) plus n_s = M_t − n_r synthetic, pooled fit (a = n_s/n):

    E σ²_{t+1} = (n−1)/(n−δ)[(1−a)σ0² + a E σ²_t] + n a(1−a)/(n−δ) E(μ_t−μ0)²
    E(μ_{t+1}−μ0)² = a² E(μ_t−μ0)² + [(1−a)σ0² + a E σ²_t]/n.          Returns (E σ², E(μ−μ0)²).
    """
    m, r = _sizes(sizes), _sizes(n_real)
    var, mse = [var0], [0.0]
    for n, n_r in zip(m, r):
        a = (n - n_r) / n
        mix = (1 - a) * var0 + a * var[-1]
        var.append((n - 1) / (n - ddof) * mix + n * a * (1 - a) / (n - ddof) * mse[-1])
        mse.append(a * a * mse[-1] + mix / n)
    return np.asarray(var), np.asarray(mse)


def real_pool(sizes, n_real, ddof, pool_size, var0=1.0):
    """n_r points drawn without replacement from a fixed pool of P real points (mean μ̄, MLE variance v).

    Conditionally on the pool, with v_r = v(P−n_r)/(n_r(P−1)):
    E SS = n_r v − n(1−a)² v_r + (n_s−a)E σ²_t + n a(1−a) E(μ_t−μ̄)², σ²_{t+1} = SS/(n−δ),
    E(μ_{t+1}−μ̄)² = a² E(μ_t−μ̄)² + (1−a)² v_r + a E σ²_t/n.
    Everything is linear in v, so averaging over pools replaces v by E v = σ0²(P−1)/P, with
    E(μ_0−μ̄)² = σ0²/P; E(μ_t−μ0)² adds 2E[(μ_t−μ̄)(μ̄−μ0)] = −2a^t σ0²/P (product over t) and σ0²/P.
    Returns (E σ², E(μ−μ0)²), unconditional.
    """
    m, r = _sizes(sizes), _sizes(n_real)
    p = float(pool_size)
    v = var0 * (p - 1) / p
    var, dev, cross = [var0], [var0 / p], -var0 / p
    mse = [0.0]
    for n, n_r in zip(m, r):
        n_s = n - n_r
        a = n_s / n
        v_r = v * (p - n_r) / (n_r * (p - 1)) if n_r > 0 else 0.0
        ss = n_r * v - n * (1 - a) ** 2 * v_r + (n_s - a) * var[-1] + n * a * (1 - a) * dev[-1]
        var_next = ss / (n - ddof)
        dev.append(a * a * dev[-1] + (1 - a) ** 2 * v_r + a * var[-1] / n)
        var.append(var_next)
        cross *= a
        mse.append(dev[-1] + 2 * cross + var0 / p)
    return np.asarray(var), np.asarray(mse)


# --- per-config curves ------------------------------------------------------------------------------------

def _sgd_moves_nothing(config) -> bool:
    """With the infinite sampler (and no verifier) every training set has the previous model's own moments, where
    the gradient of the likelihood is 0: the sgd fitter then keeps the model, exactly like the closed-form fit
    (docs/theory.md §G.7)."""
    return config.sampler == "infinite" and config.verifier_width is None


def _replaces(config) -> bool:
    return config.policy == "replace"


def verified(config, sizes, cov0, one_d) -> dict[str, np.ndarray]:
    """Policy replace with a verifier of width a and false-accept rate ε (docs/theory.md §V.2): E tr Σ_n and
    E‖μ_n − μ_0‖²; the infinite sampler's deterministic chain Σ_n = τⁿ Σ_0, μ_n = μ_0 with every statistic."""
    from . import verifier

    d, g = cov0.shape[0], len(sizes)
    trace0, width, eps = np.trace(cov0), float(config.verifier_width), float(config.false_accept)
    if config.sampler != "infinite":
        trace = verifier.expected_trace(sizes, config.ddof, width, trace0, d, eps)
        mse = verifier.expected_mean_sq_error(sizes, config.ddof, width, trace0, d, eps)
        return {"E_mean_sq_error": mse} | ({"E_var": trace} if one_d else {"E_trace": trace})
    shrink = verifier.variance_factor(width, d, eps) ** np.arange(g + 1, dtype=float)  # Σ_n/Σ_0
    out = {"E_mean_sq_error": np.zeros(g + 1), "E_w2sq": trace0 * (1.0 - np.sqrt(shrink)) ** 2,
           "E_kl": 0.5 * d * (1.0 / shrink - 1.0 + np.log(shrink))}
    if one_d:
        return out | {"E_var": trace0 * shrink, "E_logvar": np.log(trace0 * shrink), "E_std": np.sqrt(trace0 * shrink)}
    return out | {"E_trace": trace0 * shrink, "E_logdet": np.linalg.slogdet(cov0)[1] + d * np.log(shrink),
                  "E_det_ratio": shrink**d}


FIELDS = {
    **RUN_FIELDS,
    "n_samples": USED, "ddof": USED, "policy": USED, "real_fraction": USED, "pool_size": USED,
    # plain float64 points stop σ at μ's rounding (≈ 1e-16|μ|), then freeze it at 0: the curves of σ, σ², log σ²
    # and KL fail there; those dominated by μ (within ≈ 1e-16 of the exact law's) hold (docs/theory.md §G.8)
    "sampler": Needs(("exact", "sufficient", "infinite"),
                     keep=("E_mean", "E_w2sq", "E_mean_sq_error", "E_second_moment")),
    "mean0": USED, "var0": USED, "dim": USED, "cov0": USED, "real_weight": USED, "synthetic_samples": USED,
    # the curves are derived for the closed-form fit; gradient steps under-fit, so only the symmetry result
    # E μ_n = μ0 survives them (docs/theory.md §G.7)
    "fitter": Needs(("exact",), keep=("E_mean",), exempt=_sgd_moves_nothing),
    # a verifier's recursions are derived for replace (docs/theory.md §V.2); symmetry still gives E μ_n = μ0
    "verifier_width": Needs((None,), keep=("E_mean",), exempt=_replaces), "false_accept": USED,
    "models": USED, "own_share": USED,
    "sgd_steps": IRRELEVANT, "lr": IRRELEVANT,
}


@declared(FIELDS)
def for_config(config) -> dict[str, np.ndarray]:
    """Every closed-form expectation that exists for this Gaussian config, keyed ``E_<metric>`` (docs/theory.md
    §G.7 lists which hold for which settings)."""
    from ..config import real_count, schedule

    g = config.generations
    sizes = schedule(config.n_samples, g)
    ddof, policy, sampler = config.ddof, config.policy, config.sampler
    cov0 = config.covariance0()
    d = cov0.shape[0]
    one_d = config.family == "gaussian"  # the metric names: var, logvar, … (1-D) or trace, logdet, … (mvgaussian)
    mean0 = np.broadcast_to(np.asarray(config.mean0, float), (d,))
    ones = np.ones(g + 1)
    if config.models > 1:  # replace, exact sampler and fitter, no verifier (validated): docs/theory.md §I.2
        return ecosystem.gaussian_curves(sizes, config.models, config.own_share, ddof, np.trace(cov0))
    if config.verifier_width is not None:  # policy replace (declared above)
        out = verified(config, sizes, cov0, one_d)
        if one_d:
            out["E_second_moment"] = mean0[0] ** 2 + out["E_var"] + out["E_mean_sq_error"]
        return _with_mean(out, mean0, one_d, ones)
    if sampler == "infinite" and policy != "real_pool":  # the model never moves (accumulate_subsample needs exact)
        out = {"E_mean_sq_error": 0 * ones, "E_w2sq": 0 * ones, "E_kl": 0 * ones}
        if one_d:
            out |= {"E_var": cov0[0, 0] * ones, "E_logvar": np.log(cov0[0, 0]) * ones, "E_std": np.sqrt(cov0[0, 0]) * ones,
                    "E_second_moment": (mean0[0] ** 2 + cov0[0, 0]) * ones}
        else:
            out |= {"E_trace": np.trace(cov0) * ones, "E_logdet": np.linalg.slogdet(cov0)[1] * ones,
                    "E_det_ratio": ones}
        return _with_mean(out, mean0, one_d, ones)

    out: dict[str, np.ndarray] = {}
    if not one_d and config.singular:  # M ≤ d (docs/theory.md §W.2): the trace recursion still holds
        det = np.zeros(g + 1)
        det[0] = 1.0
        out = {"E_trace": expected_trace(sizes, ddof, cov0), "E_det_ratio": det,
               "E_mean_sq_error": expected_mean_sq_error_nd(sizes, ddof, cov0), "E_rank": np.minimum(sizes[0] - 1, d)
               * ones}
        out["E_rank"][0] = d
        return _with_mean(out, mean0, one_d, ones)
    if policy == "replace" and one_d:
        var0 = cov0[0, 0]
        out = {
            "E_var": expected_var(sizes, ddof, var0),
            "E_std": expected_std(sizes, ddof, var0),
            "E_logvar": expected_logvar(sizes, ddof, var0),
            "Var_logvar": var_logvar(sizes),
            "E_mean_sq_error": expected_mean_sq_error(sizes, ddof, var0),
            "E_w2sq": expected_w2sq(sizes, ddof, var0),
            "E_second_moment": mean0[0] ** 2 + marginal_variance(sizes, ddof, var0),
        }
        if np.all(sizes > 3):
            out["E_kl"] = expected_kl(sizes, ddof, var0)
    elif policy == "replace":
        out = {
            "E_trace": expected_trace(sizes, ddof, cov0),
            "E_det_ratio": expected_det_ratio(sizes, ddof, d),
            "E_logdet": expected_logdet(sizes, ddof, cov0),
            "E_mean_sq_error": expected_mean_sq_error_nd(sizes, ddof, cov0),
        }
    elif policy == "weighted_real":
        real, synthetic = config.counts()
        trace, mse = weighted_real.moments(real, synthetic, config.real_weight, ddof, np.trace(cov0))
        out = {"E_mean_sq_error": mse}
        out |= {"E_var": trace, "E_second_moment": mean0[0] ** 2 + trace + mse} if one_d else {"E_trace": trace}
        if ddof == 1 and np.all(real == real[0]):  # §H.2: the stationary risk and the weight minimising it
            out["stationary_mean_sq_error"] = ones * weighted_real.stationary_mean_sq_error(
                real[0], synthetic[0], config.real_weight, np.trace(cov0))
            out["optimal_real_weight"] = ones * weighted_real.optimal_weight(real[0], synthetic[0])
    elif one_d and policy in ("accumulate", "fresh_real", "real_pool") and sampler != "infinite":
        var0 = cov0[0, 0]
        n_real = real_count(config.real_fraction, sizes)
        if policy == "accumulate":
            var, mse = accumulate(sizes, ddof, var0)
        elif policy == "fresh_real":
            var, mse = fresh_real(sizes, n_real, ddof, var0)
        else:
            var, mse = real_pool(sizes, n_real, ddof, config.pool_size, var0)
        out = {"E_var": var, "E_mean_sq_error": mse, "E_second_moment": mean0[0] ** 2 + var + mse}
    return _with_mean(out, mean0, one_d, ones)


def _with_mean(out, mean0, one_d, ones):
    """E μ_n = μ0 under every policy, sampler and fitter: the chain is equivariant under the reflection
    x ↦ 2μ0 − x, so the law of μ_n is symmetric about μ0 (docs/theory.md §G.7)."""
    if one_d:
        out["E_mean"] = mean0[0] * ones
    return out
