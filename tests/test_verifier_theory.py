"""Verifier filtering (docs/theory.md §V): the kept law's variance factor against numerical integration and
scipy, the truncated-normal samplers against scipy (Kolmogorov–Smirnov), and plain-numpy chains that draw until
M points pass against the recursions at 4 standard errors."""

import jax
import numpy as np
import pytest
from conftest import close_z
from scipy import integrate, stats

from simcollapse.samplers import bits, truncnorm
from simcollapse.testing.chains import gaussian_chain_moments, sample_moments
from simcollapse.theory import verifier

P_MIN = 1e-4


@pytest.mark.parametrize("width", [0.3, 1.0, 1.5, 2.5, 4.0])
def test_variance_factor_is_the_truncated_variance(width):
    phi, big_phi = stats.norm.pdf(width), stats.norm.cdf(width)
    tau = verifier.variance_factor(width)
    assert tau == pytest.approx(1.0 - 2.0 * width * phi / (2.0 * big_phi - 1.0), rel=1e-12)  # the τ(a)
    assert tau == pytest.approx(stats.truncnorm(-width, width).var(), rel=1e-10)


@pytest.mark.parametrize("width, dim, eps", [(1.0, 1, 0.2), (1.5, 1, 0.05), (2.0, 3, 0.0), (1.2, 2, 0.3),
                                             (3.0, 5, 0.1)])
def test_variance_factor_by_radial_integration(width, dim, eps):
    """E[z z^T] of the kept law = τ I: integrate r² against the χ_d radius density, weight 1 inside, ε outside."""
    radius = stats.chi(dim)

    def moment(power):
        inside = integrate.quad(lambda r: r**power * radius.pdf(r), 0, width, epsabs=0, epsrel=1e-13)[0]
        outside = integrate.quad(lambda r: r**power * radius.pdf(r), width, np.inf, epsabs=0, epsrel=1e-13)[0]
        return inside + eps * outside

    assert verifier.variance_factor(width, dim, eps) == pytest.approx(moment(2) / moment(0) / dim, rel=1e-10)
    assert verifier.acceptance_rate(width, dim, eps) == pytest.approx(moment(0), rel=1e-10)


@pytest.mark.parametrize("width", [0.2, 1.0, 2.0, 5.0])
def test_symmetric_sampler_has_the_truncated_law(width):
    z = np.asarray(jax.jit(truncnorm.symmetric, static_argnums=1)(bits.seed_key(3), (100_000,), width))
    assert np.abs(z).max() <= width
    assert stats.kstest(z, stats.truncnorm(-width, width).cdf).pvalue > P_MIN


@pytest.mark.parametrize("width, eps", [(1.0, 0.1), (1.5, 0.5), (0.5, 0.02), (2.0, 1.0)])
def test_noisy_verifier_sampler_has_the_mixture_law(width, eps):
    z = np.asarray(jax.jit(truncnorm.verified, static_argnums=1)(bits.seed_key(4), (100_000,), width, eps))
    inside = 2.0 * stats.norm.cdf(width) - 1.0
    total = inside + eps * (1.0 - inside)

    def cdf(x):  # ∫_{−∞}^x φ(z)(1{|z| ≤ a} + ε 1{|z| > a}) dz / total
        x = np.asarray(x)
        lower = eps * stats.norm.cdf(np.minimum(x, -width))
        middle = np.clip(stats.norm.cdf(np.clip(x, -width, width)) - stats.norm.cdf(-width), 0, None)
        upper = eps * np.clip(stats.norm.cdf(x) - stats.norm.cdf(width), 0, None)
        return (lower + middle + upper) / total

    assert stats.kstest(z, cdf).pvalue > P_MIN
    assert np.mean(np.abs(z) > width) == pytest.approx(eps * (1 - inside) / total, abs=4 * np.sqrt(0.25 / z.size))


def kept_points(rng, chains, m, dim, width, eps):
    """m standardised points per chain that pass the verifier, by drawing until they do (plain numpy)."""
    out = np.empty((chains, m, dim))
    need = np.full(chains, m)
    while need.any():
        z = rng.standard_normal((chains, m, dim))
        passed = (np.linalg.norm(z, axis=-1) <= width) | (rng.random((chains, m)) < eps)
        for c in np.nonzero(need)[0]:
            good = z[c][passed[c]][: need[c]]
            out[c, m - need[c]: m - need[c] + len(good)] = good
            need[c] -= len(good)
    return out


def numpy_verified_chain(rng, m, dim, width, eps, ddof, generations, chains):
    """tr Σ_t and ‖μ_t − μ_0‖² of the verified Gaussian chain, truth N(0, I)."""

    def step(mean, chol):
        x = mean[:, None, :] + np.einsum("cij,cmj->cmi", chol, kept_points(rng, chains, m, dim, width, eps))
        return sample_moments(x, ddof)

    return gaussian_chain_moments(step, dim, generations, chains)


@pytest.mark.parametrize("m, dim, width, eps, ddof", [(10, 1, 1.5, 0.0, 0), (8, 1, 1.0, 0.0, 1), (12, 1, 1.2, 0.2, 1),
                                                      (10, 2, 2.0, 0.0, 1), (15, 3, 2.5, 0.1, 0)])
def test_verified_chain_matches_the_recursion(m, dim, width, eps, ddof):
    generations = 5
    trace, mse = numpy_verified_chain(np.random.default_rng(dim * 10 + m), m, dim, width, eps, ddof, generations,
                                      8000)
    e_trace = verifier.expected_trace([m] * generations, ddof, width, dim, dim, eps)
    e_mse = verifier.expected_mean_sq_error([m] * generations, ddof, width, dim, dim, eps)
    for t in (1, 3, 5):
        close_z(trace[t], e_trace[t], f"§V.2 E tr Σ_{t} (M={m}, d={dim}, a={width}, ε={eps}, δ={ddof})")
        close_z(mse[t], e_mse[t], f"§V.2 E‖μ_{t} − μ0‖² (M={m}, d={dim}, a={width}, ε={eps}, δ={ddof})")


def test_infinite_sampler_multiplies_by_tau():
    tau = verifier.variance_factor(1.5, 2, 0.1)
    assert np.allclose(verifier.infinite_trace(4, 1.5, 2.0, 2, 0.1), 2.0 * tau ** np.arange(5), rtol=1e-14)


@pytest.mark.parametrize("width, eps, dim", [(1.0, 0.0, 2), (2.0, 0.1, 3), (0.7, 0.3, 2), (3.0, 0.05, 5)])
def test_radial_verifier_sampler_has_the_kept_law(width, eps, dim):
    """The squared radius of the kept points against its law (χ²_d weighted 1 inside a², ε outside), and the
    direction uniform (the mean of z/‖z‖ is 0 and its second moment I/d)."""
    z = np.asarray(jax.jit(truncnorm.verified_radial, static_argnums=1)(bits.seed_key(5), (50_000, dim), width, eps))
    square = (z**2).sum(1)
    c, chi2 = width**2, stats.chi2(dim)
    total = chi2.cdf(c) + eps * chi2.sf(c)

    def cdf(x):
        x = np.asarray(x)
        return (chi2.cdf(np.minimum(x, c)) + eps * np.clip(chi2.cdf(x) - chi2.cdf(c), 0, None)) / total

    assert stats.kstest(square, cdf).pvalue > P_MIN
    u = z / np.sqrt(square)[:, None]
    for i in range(dim):
        close_z(u[:, i], 0.0, f"§V.3 E u_{i} (a={width}, ε={eps}, d={dim})")
        close_z(u[:, i] ** 2, 1.0 / dim, f"§V.3 E u_{i}² (a={width}, ε={eps}, d={dim})")


# --- the chain of the Gaussian families (verifier_width, false_accept) against the recursions -------------

CHAIN_CASES = [  # family, M, d, a, ε, δ
    ("gaussian", 10, 1, 1.5, 0.0, 0), ("gaussian", 8, 1, 1.0, 0.0, 1), ("gaussian", 12, 1, 1.2, 0.2, 1),
    ("mvgaussian", 10, 2, 2.0, 0.0, 1), ("mvgaussian", 15, 3, 2.5, 0.1, 0),
]


@pytest.mark.slow
@pytest.mark.parametrize("family, m, dim, width, eps, ddof", CHAIN_CASES)
def test_verified_family_chain_matches_the_recursion(family, m, dim, width, eps, ddof):
    from simcollapse.api import make_config, simulate, theory

    spread = "var" if family == "gaussian" else "trace"
    extra = {} if family == "gaussian" else {"dim": dim, "cov0": [[2.0 if i == j else 0.5 for j in range(dim)]
                                                                  for i in range(dim)]}
    config = make_config(family, n_samples=m, ddof=ddof, sampler="exact", verifier_width=width, false_accept=eps,
                         generations=5, chains=20_000, seed=m + dim, metrics=[spread, "mean_sq_error"], **extra)
    stats, expected = simulate(config).stats, theory(config)
    for t in (1, 3, 5):
        for name in (spread, "mean_sq_error"):
            close_z(stats[name][t], expected[f"E_{name}"][t],
                    f"§V.2 {family} E_{name}_{t} (M={m}, d={dim}, a={width}, ε={eps}, δ={ddof})")


@pytest.mark.parametrize("family, dim", [("gaussian", 1), ("mvgaussian", 3)])
def test_infinite_verified_chain_is_the_population_map(family, dim):
    """The infinite sampler fits the kept population: Σ_n = τⁿ Σ_0 and μ_n = μ_0, to rounding (§V.2)."""
    from simcollapse.api import make_config, simulate, theory

    names = ["var", "logvar", "w2sq", "kl", "mean_sq_error"] if family == "gaussian" else \
        ["trace", "logdet", "det_ratio", "w2sq", "kl", "mean_sq_error"]
    extra = {} if family == "gaussian" else {"dim": dim}
    config = make_config(family, sampler="infinite", verifier_width=1.3, false_accept=0.1, generations=6, chains=2,
                         metrics=names, **extra)
    stats, expected = simulate(config).stats, theory(config)
    tau = verifier.variance_factor(1.3, dim, 0.1)
    np.testing.assert_allclose(expected["E_trace" if dim > 1 else "E_var"], dim * tau ** np.arange(7), rtol=1e-14)
    for name in names:
        np.testing.assert_allclose(stats[name], np.broadcast_to(expected[f"E_{name}"][:, None], stats[name].shape),
                                   rtol=1e-10, atol=1e-12, err_msg=name)


def test_other_policies_keep_only_the_mean_and_bad_values_name_their_field():
    from simcollapse.api import make_config, theory
    from simcollapse.config import ConfigError

    config = make_config("gaussian", policy="fresh_real", sampler="exact", verifier_width=1.0, generations=3)
    assert set(theory(config)) == {"E_mean"}  # §V.2 is derived for replace
    for values, field in [({"verifier_width": 0}, "verifier_width"), ({"verifier_width": 1.0}, "sampler"),
                          ({"false_accept": 0.1}, "false_accept"),
                          ({"verifier_width": 1.0, "sampler": "exact", "false_accept": 2}, "false_accept")]:
        with pytest.raises(ConfigError) as err:
            make_config("gaussian", **values)
        assert err.value.field == field


def test_a_sweep_over_the_width_writes_the_theory_column(tmp_path):
    from simcollapse.sweep import run_sweep

    base = {"sampler": "exact", "n_samples": 6, "ddof": 1, "generations": 3, "chains": 4, "metrics": ["var"]}
    stacked = run_sweep("gaussian", base, {"verifier_width": [1.0, 2.0]}, tmp_path)
    for i, width in enumerate((1.0, 2.0)):
        np.testing.assert_allclose(stacked["theory_E_var"][i], verifier.expected_trace([6] * 3, 1, width), rtol=1e-14)
