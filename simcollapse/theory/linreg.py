"""Closed forms for the linear-regression chain (docs/theory.md §L; Dohmatob, Feng & Kempe 2024; Gerstgrasser et
al. 2024 §3), OLS only (ridge = 0).

With ξ_i = (XᵀX)⁻¹Xᵀε_i, E[‖ξ‖² | X] = σ² tr((XᵀX)⁻¹), and for x ~ N(0, I_d), E tr((XᵀX)⁻¹) = d/(T − d − 1)
(the inverse-Wishart mean, T > d + 1):

* replace: ŵ_n − w* = Σ_{i≤n} ξ_i, so E‖ŵ_n − w*‖² = n σ² d/(T − d − 1);
* accumulate: ŵ_n − w* = Σ_{i≤n} ξ_i/i, so E‖ŵ_n − w*‖² = σ² d/(T − d − 1) Σ_{i≤n} 1/i² ≤ (π²/6) × the
  one-generation error.

Given the design the same holds with d/(T − d − 1) replaced by tr((XᵀX)⁻¹): :func:`given_design`.

Functional expressivity (the model uses the first d′ of the d features, w* = (w*₁, w*₂)): the omitted features
X₂w*₂ ~ N(0, ‖w*₂‖² I_T) are independent of X₁ and enter generation 1's labels like extra noise, so with
q = d′/(T − d′ − 1) and c_n as above, for n ≥ 1

    E‖ŵ_n − w*‖² = ‖w*₂‖² + q (‖w*₂‖² + σ² c_n),

(ŵ_1 − w*₁ = (X₁ᵀX₁)⁻¹X₁ᵀ(X₂w*₂ + ε_1); later generations add ξ_i or ξ_i/i as before). With the infinite
sampler (σ → 0) it is constant from generation 1: the expressivity error acts once.
"""

from __future__ import annotations

import numpy as np

from .fields import IRRELEVANT, RUN_FIELDS, USED, Needs, declared

FIELDS = {
    **RUN_FIELDS,
    "design_size": USED, "dim": USED, "noise": USED, "w_star": USED, "sampler": USED, "fit_dim": USED,
    # accumulate_subsample: no closed form (docs/theory.md §L.4) but without label noise and with every feature
    # fitted, where every pair's label is x·w* and every subset refits w* exactly
    "policy": Needs(("replace", "accumulate", "synthetic_mix"),
                    exempt=lambda config: (config.sampler == "infinite" or config.noise == 0)
                    and config.fitted_dim == config.dim),
    # derived for least squares only: a ridge or gradient steps bias every generation's fit (docs/theory.md §L.1)
    "ridge": Needs((0.0,)),
    "fitter": Needs(("exact",)),
    "sgd_steps": IRRELEVANT, "lr": IRRELEVANT, "warm_start": IRRELEVANT,
    # strong collapse (docs/theory.md §S): read by the synthetic_mix policy only
    "synthetic_fraction": USED, "synthetic_shift": USED, "curriculum": USED,
}


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


def expected_test_error_omitted(generations: int, design_size: int, fit_dim: int, omitted_sq: float, noise: float,
                                policy: str) -> np.ndarray:
    """E‖ŵ_n − w*‖² when the model fits d′ = `fit_dim` features and ‖w*₂‖² = `omitted_sq` lies on the others
    (0 at n = 0); `omitted_sq` = 0 gives :func:`expected_test_error`."""
    q = fit_dim / (design_size - fit_dim - 1)
    error = omitted_sq + q * (omitted_sq + noise**2 * generation_factor(generations, policy))
    error[0] = 0.0
    return error


def underdetermined_test_error(generations: int, design_size: int, dim: int, truth_sq: float, noise: float,
                               policy: str) -> np.ndarray:
    """E‖ŵ_n − w*‖² for the minimum-norm fit with T < d − 1 rows (docs/theory.md §L.5):
    (1 − T/d)‖w*‖² + c_n σ² T/(d − T − 1), 0 at n = 0."""
    error = (1 - design_size / dim) * truth_sq + generation_factor(generations, policy) * noise**2 * design_size / (
        dim - design_size - 1)
    error[0] = 0.0
    return error


@declared(FIELDS)
def for_config(config) -> dict[str, np.ndarray]:
    """``E_test_error`` for OLS by the closed form (none for ridge > 0 or gradient steps: biased fitters, see
    `FIELDS`). The infinite sampler is σ = 0."""
    noise = config.noise if config.sampler == "exact" else 0.0
    if config.policy == "synthetic_mix":
        return synthetic_mix_curves(config, noise)
    T, fitted = config.design_size, config.fitted_dim
    if T <= fitted + 1:  # E tr((X₁ᵀX₁)⁻¹) is infinite for T ∈ {d′, d′ + 1}; below, the fit is under-determined
        if fitted < config.dim or T >= config.dim - 1:
            return {}
        w = config.truth()
        return {"E_test_error": underdetermined_test_error(config.generations, T, config.dim, float(w @ w), noise,
                                                           config.policy)}
    omitted = config.truth()[config.fitted_dim:]
    return {"E_test_error": expected_test_error_omitted(config.generations, config.design_size, config.fitted_dim,
                                                        float(omitted @ omitted), noise, config.policy)}


def synthetic_mix_curves(config, noise) -> dict[str, np.ndarray]:
    """Strong collapse (docs/theory.md §S): every generation n ≥ 1 is a fresh one-shot fit, so E_test_error is
    §S.1's mixed-data error (§S.2's real-only error with the curriculum) at every n. Derived with every feature
    fitted: none is returned for fit_dim < dim."""
    from .strong_collapse import curriculum_test_error, mixed_test_error

    if config.fitted_dim < config.dim:
        return {}
    n_synth = config.synthetic_rows
    n_real = config.design_size - n_synth
    shift = config.shift()
    if config.curriculum:
        error = curriculum_test_error(n_real, config.dim, noise)
    else:
        error = mixed_test_error(n_real, n_synth, config.dim, float(shift @ shift), noise)
    curve = np.full(config.generations + 1, float(error))
    curve[0] = 0.0
    return {"E_test_error": curve}
