"""Weighted fresh real data for the Gaussian chains (docs/theory.md §H.1–§H.2; He, Xu & Cheng 2025,
arXiv 2502.18049, §3).

Each generation draws n fresh real points from the truth N(μ_0, Σ_0) and m synthetic points from model t, and
fits μ_{t+1} = w x̄_r + (1 − w) x̄_s, Σ_{t+1} = w S_r/(n − δ) + (1 − w) S_s/(m − δ) (S the scatter, δ the
ddof), w the real weight. The two groups are independent given model t and E S = (count − 1)·Σ, so with
c_k = (k − 1)/(k − δ) (derived, §H.1):

    E tr Σ_{t+1} = w c_n tr Σ_0 + (1 − w) c_m E tr Σ_t,
    V_{t+1} = E‖μ_{t+1} − μ_0‖² = w² tr Σ_0/n + (1 − w)² (V_t + E tr Σ_t/m)

(the cross term vanishes: x̄_r − μ_0 has mean 0 and is independent of the synthetic group). For δ = 1,
E tr Σ_t = tr Σ_0 for every t, and V has the stationary value (w ∈ (0, 1])

    V* = tr Σ_0 (w²/n + (1 − w)²/m) / (1 − (1 − w)²),

minimised, for m = n/k, at w* = (√(k² + 4k) − k)/2 (§H.2: the root of w² + k w − k = 0; 1/φ = 0.618… at
k = 1), where V* = w*·tr Σ_0/n (w*² = k(1 − w*) makes the numerator k(1 − w*)(2 − w*)): below tr Σ_0/n, the
all-real risk, so synthetic data help when weighted down.
"""

from __future__ import annotations

import numpy as np


def _c(k, ddof):
    k = np.asarray(k, dtype=float)
    return (k - 1.0) / (k - ddof)


def moments(n_real, n_synth, weight, ddof, trace0=1.0):
    """(E tr Σ_t, E‖μ_t − μ_0‖²), t = 0 … len(n_real), for per-generation counts n_real[t], n_synth[t]."""
    n_real, n_synth = np.asarray(n_real, dtype=float), np.asarray(n_synth, dtype=float)
    w = float(weight)
    trace, mse = [float(trace0)], [0.0]
    for n, m in zip(n_real, n_synth, strict=True):
        trace_t, mse_t = trace[-1], mse[-1]
        trace.append(w * _c(n, ddof) * trace0 + (1.0 - w) * _c(m, ddof) * trace_t)
        mse.append(w * w * trace0 / n + (1.0 - w) ** 2 * (mse_t + trace_t / m))
    return np.array(trace), np.array(mse)


def stationary_mean_sq_error(n_real, n_synth, weight, trace0=1.0):
    """V* for δ = 1 (E tr Σ_t = tr Σ_0): tr Σ_0 (w²/n + (1 − w)²/m)/(1 − (1 − w)²); +∞ at w = 0."""
    w = np.asarray(weight, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = trace0 * (w**2 / n_real + (1.0 - w) ** 2 / n_synth) / (1.0 - (1.0 - w) ** 2)
    return np.where(w > 0, value, np.inf)


def optimal_weight(n_real, n_synth):
    """w* = (√(k² + 4k) − k)/2 with k = n/m: the weight that minimises V* (δ = 1)."""
    k = float(n_real) / float(n_synth)
    return 0.5 * (np.sqrt(k * k + 4.0 * k) - k)
