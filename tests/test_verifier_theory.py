"""Verifier filtering (docs/theory.md §V): the kept law's variance factor against numerical integration and
scipy, the truncated-normal samplers against scipy (Kolmogorov–Smirnov), and plain-numpy chains that draw until
M points pass against the recursions at 4 standard errors."""

import jax
import numpy as np
import pytest
from conftest import close_z
from scipy import integrate, stats

from simcollapse.samplers import bits, truncnorm
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
    mean, chol = np.zeros((chains, dim)), np.broadcast_to(np.eye(dim), (chains, dim, dim)).copy()
    trace, mse = [np.full(chains, float(dim))], [np.zeros(chains)]
    for _ in range(generations):
        x = mean[:, None, :] + np.einsum("cij,cmj->cmi", chol, kept_points(rng, chains, m, dim, width, eps))
        mean = x.mean(1)
        centred = x - mean[:, None, :]
        cov = np.einsum("cmi,cmj->cij", centred, centred) / (m - ddof)
        chol = np.linalg.cholesky(cov)
        trace.append(np.trace(cov, axis1=1, axis2=2))
        mse.append((mean**2).sum(1))
    return np.stack(trace), np.stack(mse)


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
