"""Ecosystems of m models trained on each other's outputs (docs/theory.md §I.1–§I.3; the island model of
population genetics, Wright 1931, applied to model collapse as in arXiv 2503.08117 and 2505.21677).

Model i of generation t + 1 is fitted to n_t points drawn from the mixture q_i = Σ_j W_ij p_j of generation t's
models, with W = s I + (1 − s)/(m − 1)·(J − I) (s the own share; rows sum to 1, W J = J). Every model starts at
the truth. s = 1 gives m independent chains; s = 1/m has everyone train on the same uniform mixture.

Two numbers of W enter every second moment: a_2 = Σ_j W_ij² = s² + (1 − s)²/(m − 1) and, for i ≠ k,
b_2 = Σ_j W_ij W_kj = (1 − a_2)/(m − 1) (the rows of W² sum to 1). For any exchangeable matrix G with diagonal g_d
and off-diagonal g_o, W G Wᵀ has diagonal g_o + (g_d − g_o) a_2 and off-diagonal g_o + (g_d − g_o) b_2.

Categorical (§I.1): with F_t = E Σ_k p_{i,k}² (a model's homozygosity) and C_t = E Σ_k p_{i,k} p_{j,k} (i ≠ j),
counts Mult(n, q_i) independent across models given generation t give (derived, exact for any number of types)

    F_{t+1} = (1 − 1/n_t)[C_t + (F_t − C_t) a_2] + 1/n_t,   C_{t+1} = C_t + (F_t − C_t) b_2,

with F_0 = C_0 = Σ p_0². Recorded: a model's Gini–Simpson 1 − F, the uniform mixture's 1 − (F + (m − 1)C)/m and
the mean squared L2 distance between two models, 2(F − C). At s = 1/m (a_2 = b_2 = 1/m) the mixture's
heterozygosity is multiplied by exactly 1 − 1/(m n) per generation: a Wright–Fisher population of size m·n.

Gaussian (§I.2): with deviations from μ_0, P_d = E‖μ_i − μ_0‖², P_o = E(μ_i − μ_0)ᵀ(μ_j − μ_0) (i ≠ j) and
A = E[tr Σ_i + ‖μ_i − μ_0‖²], the mixture q_i has mean m_i = Σ_j W_ij μ_j and covariance
Σ_j W_ij(Σ_j + (μ_j − μ_0)(…)ᵀ) − (m_i − μ_0)(…)ᵀ; so with G_d = P_o + (P_d − P_o) a_2, G_o = P_o + (P_d − P_o) b_2
and c = (n − 1)/(n − δ) (derived):

    P_d′ = G_d + (A − G_d)/n,   P_o′ = G_o,   A′ = c (A − G_d) + P_d′.

Two types (§I.3): the counts (c_1, …, c_m) form a Markov chain on {0, …, n}^m with transition
Π_i Bin(c_i′; n, Σ_j W_ij c_j/n), solved exactly by `island_law` where (n + 1)^m is small.
"""

from __future__ import annotations

import itertools

import numpy as np


def share_moments(models: int, own_share: float) -> tuple[float, float]:
    """(a_2, b_2) = (Σ_j W_ij², Σ_j W_ij W_kj for i ≠ k)."""
    if models == 1:
        return 1.0, 0.0
    a2 = own_share**2 + (1.0 - own_share) ** 2 / (models - 1)
    return a2, (1.0 - a2) / (models - 1)


def mixing_matrix(models: int, own_share: float) -> np.ndarray:
    """W = s I + (1 − s)/(m − 1)(J − I)."""
    if models == 1:
        return np.ones((1, 1))
    off = (1.0 - own_share) / (models - 1)
    return np.full((models, models), off) + (own_share - off) * np.eye(models)


def homozygosity(sizes, models, own_share, homozygosity0):
    """(F_t, C_t), t = 0 … len(sizes): a model's E Σ p² and two models' E Σ p_i p_j (§I.1)."""
    a2, b2 = share_moments(models, own_share)
    f, c = [float(homozygosity0)], [float(homozygosity0)]
    for n in np.asarray(sizes, dtype=float):
        gap = f[-1] - c[-1]
        f.append((1.0 - 1.0 / n) * (c[-1] + gap * a2) + 1.0 / n)
        c.append(c[-1] + gap * b2)
    return np.array(f), np.array(c)


def categorical_curves(sizes, models, own_share, probs0) -> dict:
    """The recorded ecosystem statistics' expectations: E_gini_simpson_models, E_gini_simpson_mixture,
    E_between_model_sq_dist (mean over pairs of ‖p_i − p_j‖²)."""
    f, c = homozygosity(sizes, models, own_share, float(np.sum(np.asarray(probs0) ** 2)))
    return {
        "E_gini_simpson_models": 1.0 - f,
        "E_gini_simpson_mixture": 1.0 - (f + (models - 1) * c) / models,
        "E_between_model_sq_dist": 2.0 * (f - c),
    }


def gaussian_moments(sizes, models, own_share, ddof, trace0=1.0):
    """(P_d, P_o, A) per generation (§I.2): E‖μ_i − μ_0‖², E(μ_i − μ_0)ᵀ(μ_j − μ_0), E[tr Σ_i + ‖μ_i − μ_0‖²]."""
    a2, b2 = share_moments(models, own_share)
    pd, po, a = [0.0], [0.0], [float(trace0)]
    for n in np.asarray(sizes, dtype=float):
        gd = po[-1] + (pd[-1] - po[-1]) * a2
        go = po[-1] + (pd[-1] - po[-1]) * b2
        pd_next = gd + (a[-1] - gd) / n
        a.append((n - 1.0) / (n - ddof) * (a[-1] - gd) + pd_next)
        pd.append(pd_next)
        po.append(go)
    return np.array(pd), np.array(po), np.array(a)


def gaussian_curves(sizes, models, own_share, ddof, trace0=1.0) -> dict:
    """E of a model's trace (var in 1-D) and squared mean error (means over models), of the uniform mixture's
    trace, and of the squared distance between two models' means."""
    pd, po, a = gaussian_moments(sizes, models, own_share, ddof, trace0)
    mixture_mse = (pd + (models - 1) * po) / models
    return {
        "E_trace_models": a - pd,
        "E_mean_sq_error_models": pd,
        "E_trace_mixture": a - mixture_mse,
        "E_between_model_mean_sq_dist": 2.0 * (pd - po),
    }


def island_transition_matrix(n: int, models: int, own_share: float) -> np.ndarray:
    """Two-type ecosystem chain on the count vectors {0 … n}^m (row-major state index), shape ((n+1)^m,)*2."""
    w = mixing_matrix(models, own_share)
    states = np.array(list(itertools.product(range(n + 1), repeat=models)), dtype=float)  # (S, m)
    q = np.clip(states @ w.T / n, 0.0, 1.0)  # (S, m): model i's mixture probability of the tracked type
    from scipy import stats  # here: scipy.stats costs ≈ 0.4 s to import, and most runs never need it
    per_model = stats.binom.pmf(np.arange(n + 1)[None, None, :], n, q[:, :, None])  # (S, m, n+1)
    matrix = per_model[:, 0, :]
    for i in range(1, models):
        matrix = (matrix[:, :, None] * per_model[:, i, None, :]).reshape(len(states), -1)
    return matrix


def island_law(n: int, models: int, own_share: float, start_count: int, generations: int) -> np.ndarray:
    """Law of the count vector at generations 0 … `generations`, every model starting at `start_count`
    (shape (generations+1, (n+1)^m))."""
    matrix = island_transition_matrix(n, models, own_share)
    law = np.zeros(matrix.shape[0])
    law[np.ravel_multi_index((start_count,) * models, (n + 1,) * models)] = 1.0
    out = [law]
    for _ in range(generations):
        out.append(out[-1] @ matrix)
    return np.stack(out)


def island_states(n: int, models: int) -> np.ndarray:
    """The count vectors in the state order of `island_transition_matrix`, shape ((n+1)^m, m)."""
    return np.array(list(itertools.product(range(n + 1), repeat=models)))
