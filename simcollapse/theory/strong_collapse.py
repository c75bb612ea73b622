"""Strong model collapse in linear regression (docs/theory.md §S.1–§S.2; Dohmatob, Feng, Subramonian & Kempe,
ICLR 2025, arXiv 2410.04840, §3).

A least-squares fit on T = n_1 + n_2 rows x ~ N(0, Σ): n_1 real rows labelled y = xᵀw* + ε and a uniformly
random set of n_2 synthetic rows labelled by a shifted w_s, y = xᵀw_s + ε (ε ~ N(0, σ²)); p_2 = n_2/T, Δ = w_s − w*,
c² = ‖Δ‖²_Σ. The test error E‖ŵ − w*‖²_Σ is (derived, §S.1; whitening x = Σ^{1/2}z reduces to Σ = I)

    E_test = σ² d/(T − d − 1) + p_2² c² + p_2(1 − p_2) c² [T g − 1]/(T − 1),
    g = (d + 2)(T − 2)/((T − d − 1)(T + 2)),   T > d + 1.

Sketch: with D the synthetic-row indicator, ŵ − w* = p_2 Δ + S⁻¹XᵀΛ(D − p_2) + S⁻¹Xᵀε, S = XᵀX,
Λ = diag(XΔ); Cov D = p_2(1 − p_2)(T I − J)/(T − 1) and S⁻¹XᵀΛ1 = Δ, so the middle term contributes
p_2(1 − p_2)(T E Σ_k (x_kᵀΔ)² x_kᵀS⁻²x_k − ‖Δ‖²)/(T − 1). Writing X = Q S^{1/2} (Q uniform on the Stiefel manifold,
independent of S), the rows of Q are the first d coordinates of uniform unit vectors in ℝ^T (fourth moments
(δδ + δδ + δδ)/(T(T + 2))), and E[ΔᵀSΔ tr S⁻¹] = ‖Δ‖²(dT − 2)/(T − d − 1) (Wishart: S_{11·rest} ~ χ²_{T−d+1} is
independent of the rest), which gives g. For d = 1 it is the Beta(n_2/2, n_1/2) moment n_2(n_2 + 2)/(T(T + 2)).

The error floor p_2² c² does not shrink as T → ∞ at a fixed share p_2 (the other terms are O(d/T)): the
strong collapse. The two-stage curriculum (fit on the synthetic rows, then refit on the real rows only) ends
with the real-only least-squares fit, E_test = σ² d/(n_1 − d − 1) (§S.2), which does go to 0.
"""

from __future__ import annotations

import numpy as np


def mixed_test_error(n_real, n_synth, dim, shift_sq, noise=1.0):
    """E‖ŵ − w*‖²_Σ of least squares on n_real real and n_synth shifted rows (c² = `shift_sq`, σ = `noise`)."""
    t = np.asarray(n_real, dtype=float) + np.asarray(n_synth, dtype=float)
    p2 = np.asarray(n_synth, dtype=float) / t
    g = (dim + 2.0) * (t - 2.0) / ((t - dim - 1.0) * (t + 2.0))
    return noise**2 * dim / (t - dim - 1.0) + p2**2 * shift_sq + p2 * (1.0 - p2) * shift_sq * (t * g - 1.0) / (t - 1.0)


def error_floor(synthetic_fraction, shift_sq):
    """lim_{T→∞} E_test at a fixed share p_2: p_2² c²."""
    return np.asarray(synthetic_fraction, dtype=float) ** 2 * shift_sq


def curriculum_test_error(n_real, dim, noise=1.0):
    """The two-stage curriculum's error, that of least squares on the real rows: σ² d/(n_1 − d − 1)."""
    return noise**2 * dim / (np.asarray(n_real, dtype=float) - dim - 1.0)
