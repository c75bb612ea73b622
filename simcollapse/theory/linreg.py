"""Closed forms for the linear-regression chain (theory.md §B.8; Dohmatob, Feng & Kempe 2024; Gerstgrasser et
al. 2024 §3), OLS only (ridge = 0).

With ξ_i = (XᵀX)⁻¹Xᵀε_i, E[‖ξ‖² | X] = σ² tr((XᵀX)⁻¹), and for x ~ N(0, I_d), E tr((XᵀX)⁻¹) = d/(T − d − 1)
(the inverse-Wishart mean, T > d + 1):

* replace: ŵ_n − w* = Σ_{i≤n} ξ_i, so E‖ŵ_n − w*‖² = n σ² d/(T − d − 1);
* accumulate: ŵ_n − w* = Σ_{i≤n} ξ_i/i, so E‖ŵ_n − w*‖² = σ² d/(T − d − 1) Σ_{i≤n} 1/i² ≤ (π²/6) × the
  one-generation error.

Given the design the same holds with d/(T − d − 1) replaced by tr((XᵀX)⁻¹): :func:`given_design`.
"""

from __future__ import annotations

import numpy as np


def generation_factor(generations: int, policy: str) -> np.ndarray:
    """c_n, n = 0 … generations: n (replace) or Σ_{i≤n} 1/i² (accumulate)."""
    n = np.arange(generations + 1, dtype=float)
    if policy == "replace":
        return n
    return np.concatenate([[0.0], np.cumsum(1.0 / n[1:] ** 2)])


def one_generation_error(design_size: int, dim: int, noise: float) -> float:
    """E‖ŵ_1 − w*‖² = σ² d/(T − d − 1)."""
    return noise**2 * dim / (design_size - dim - 1)


def expected_test_error(generations: int, design_size: int, dim: int, noise: float, policy: str) -> np.ndarray:
    return generation_factor(generations, policy) * one_generation_error(design_size, dim, noise)


def given_design(trace_inv_gram, generations: int, noise: float, policy: str) -> np.ndarray:
    """E[‖ŵ_n − w*‖² | X] = c_n σ² tr((XᵀX)⁻¹); shape (generations+1,) + shape of `trace_inv_gram`."""
    c = generation_factor(generations, policy)
    return c.reshape((-1,) + (1,) * np.ndim(trace_inv_gram)) * noise**2 * np.asarray(trace_inv_gram)


def for_config(config) -> dict[str, np.ndarray]:
    """``E_test_error`` for OLS (no closed form is given for ridge > 0, which is biased)."""
    if config.ridge != 0:
        return {}
    return {"E_test_error": expected_test_error(config.generations, config.design_size, config.dim,
                                                config.noise, config.policy)}
