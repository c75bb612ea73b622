"""Gaussian mixtures: parameters, density, sampling and distances between mixtures.

These serve the GMM experiment of Shumailov et al. (Nature 2024, SI §4.1): a 2-component mixture is fitted by EM
(:mod:`simcollapse.families.em`) on samples of the previous generation's mixture, and the drift from the
generation-0 mixture is measured by the L2 distance ∫(f−g)² (as in the paper's notebook), by W2 between the
moment-matched Gaussians, or by a Monte Carlo KL.

Shapes: K components in d dimensions. A mixture is a :class:`GMMParams` with ``weights`` (K,), ``means`` (K, d)
and ``covs`` (K, d, d); diagonal and spherical covariances are stored as full (diagonal) matrices so that every
mixture is the same pytree. All functions are pure and jitted (``n`` static in :func:`sample` and
:func:`kl_divergence_mc`); batch them with ``jax.vmap``.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.linalg import solve_triangular
from jax.scipy.special import logsumexp

from .samplers import bits
from .samplers.choice import proportional

__all__ = [
    "GMMParams",
    "MCEstimate",
    "component_log_prob",
    "gaussian_overlap",
    "gaussian_w2_sq",
    "kl_divergence_mc",
    "l2_distance",
    "l2_distance_sq",
    "log_prob",
    "moment_match",
    "sample",
    "w2_sq_moment_matched",
]


class GMMParams(NamedTuple):
    """Parameters of a K-component Gaussian mixture in d dimensions.

    Attributes:
        weights: (K,) mixing weights on the simplex.
        means: (K, d) component means.
        covs: (K, d, d) component covariances, symmetric positive definite.
    """

    weights: jax.Array
    means: jax.Array
    covs: jax.Array


class MCEstimate(NamedTuple):
    """A Monte Carlo estimate and its standard error (sample std / √n)."""

    value: jax.Array
    stderr: jax.Array


@jax.jit
def component_log_prob(x: jax.Array, means: jax.Array, covs: jax.Array) -> jax.Array:
    """log N(x_n; μ_k, Σ_k) for every sample and component, from Cholesky factors.

    With Σ_k = L_k L_kᵀ and y = L_k⁻¹(x − μ_k): log N = −½(d log 2π + ‖y‖²) − Σ_i log L_k,ii. L_k⁻¹ is formed
    once per component (a d×d triangular solve) and applied to all points as one matrix product, which is far
    faster than a triangular solve with N right-hand sides.

    Args:
        x: (N, d) points.
        means: (K, d).
        covs: (K, d, d) positive definite.

    Returns:
        (N, K) log-densities.
    """
    d = x.shape[-1]
    chol = jnp.linalg.cholesky(covs)  # (K, d, d)
    eye = jnp.broadcast_to(jnp.eye(d, dtype=chol.dtype), chol.shape)
    inv_chol = solve_triangular(chol, eye, lower=True)  # (K, d, d)
    y = jnp.einsum("kij,nkj->nki", inv_chol, x[:, None, :] - means[None, :, :])  # (N, K, d)
    half_logdet = jnp.sum(jnp.log(jnp.diagonal(chol, axis1=-2, axis2=-1)), axis=-1)  # (K,)
    return -0.5 * (d * math.log(2 * math.pi) + jnp.sum(y * y, axis=-1)) - half_logdet


@jax.jit
def log_prob(params: GMMParams, x: jax.Array) -> jax.Array:
    """Mixture log-density log Σ_k w_k N(x; μ_k, Σ_k) by log-sum-exp.

    Args:
        params: the mixture.
        x: (N, d) points.

    Returns:
        (N,) log-densities.
    """
    lp = component_log_prob(x, params.means, params.covs) + jnp.log(params.weights)
    return logsumexp(lp, axis=-1)


@functools.partial(jax.jit, static_argnames=("n", "return_components"))
def sample(key: bits.Key, params: GMMParams, n: int, *, return_components: bool = False):
    """Draw n i.i.d. points: a component c ~ Categorical(w), then x = μ_c + L_c z with z ~ N(0, I), Σ_c = L_c L_cᵀ.

    The component is the inversion of the cumulative weights on a uniform (`samplers.choice.proportional`,
    sub-key ``fold(key, 0)``; components of weight 0 are never drawn), z the normals of ``fold(key, 1)``.

    Args:
        key: a :class:`~simcollapse.samplers.bits.Key`.
        params: the mixture.
        n: number of points (static).
        return_components: also return the (n,) component labels.

    Returns:
        (n, d) samples, or ``(samples, labels)`` when ``return_components``.
    """
    d = params.means.shape[-1]
    comp = proportional(bits.uniform(bits.fold(key, 0), (n,)), params.weights)
    z = bits.normal(bits.fold(key, 1), (n, d))
    chol = jnp.linalg.cholesky(params.covs)
    x = params.means[comp] + jnp.einsum("nij,nj->ni", chol[comp], z)
    return (x, comp) if return_components else x


def _gaussian_log_overlap(m1, c1, m2, c2):
    """log ∫ N(x; m1, C1) N(x; m2, C2) dx = log N(m1; m2, C1 + C2)."""
    return component_log_prob(m1[None, :], m2[None, :], (c1 + c2)[None])[0, 0]


@jax.jit
def gaussian_overlap(m1: jax.Array, c1: jax.Array, m2: jax.Array, c2: jax.Array) -> jax.Array:
    """∫ N(x; m1, C1) N(x; m2, C2) dx = N(m1; m2, C1 + C2), for (d,) means and (d, d) covariances."""
    return jnp.exp(_gaussian_log_overlap(m1, c1, m2, c2))


ROUNDING_ULPS = 64  # the error of the overlap sums in l2_distance_sq, generously: a few ulps per term


def _cross_term(p: GMMParams, q: GMMParams) -> jax.Array:
    """∫ f g = Σ_ij w_i v_j N(μ_i; ν_j, Σ_i + S_j)."""
    pair = jax.vmap(jax.vmap(_gaussian_log_overlap, (None, None, 0, 0)), (0, 0, None, None))
    logo = pair(p.means, p.covs, q.means, q.covs)  # (K_p, K_q)
    return jnp.sum(p.weights[:, None] * q.weights[None, :] * jnp.exp(logo))


@jax.jit
def l2_distance_sq(p: GMMParams, q: GMMParams) -> jax.Array:
    """Squared L2 distance ∫(f − g)² dx between two mixtures, in closed form.

    ∫(f − g)² = ∫f² + ∫g² − 2∫fg, each a sum of pairwise Gaussian overlap integrals
    ∫N(x; μ_i, Σ_i)N(x; μ_j, Σ_j)dx = N(μ_i; μ_j, Σ_i + Σ_j). This is the distance to the generation-0 mixture
    plotted in the paper's GMM experiment (SI §4.1). The mixtures may have different numbers of components.

    For (nearly) equal mixtures the three terms cancel, and what is left is their rounding error, of either sign:
    a difference below ``ROUNDING_ULPS`` units in the last place of ∫f² + ∫g² is returned as 0. (Without that,
    a fit that equals the truth up to rounding showed a distance of ≈ 1e-9: the square root of 1e-18 of noise.)
    """
    own = _cross_term(p, p) + _cross_term(q, q)
    diff = own - 2.0 * _cross_term(p, q)
    return jnp.where(diff > ROUNDING_ULPS * jnp.finfo(diff.dtype).eps * own, diff, 0.0)


@jax.jit
def l2_distance(p: GMMParams, q: GMMParams) -> jax.Array:
    """L2 distance (∫(f − g)² dx)^{1/2} between two mixtures; see :func:`l2_distance_sq`."""
    return jnp.sqrt(l2_distance_sq(p, q))


@jax.jit
def moment_match(params: GMMParams) -> tuple[jax.Array, jax.Array]:
    """Mean and covariance of the mixture: m = Σ_k w_k μ_k, C = Σ_k w_k(Σ_k + μ_kμ_kᵀ) − m mᵀ.

    After every EM M-step these equal the sample mean and the ddof-0 sample covariance (+ reg·I) of the fitted
    data, so m is a martingale along a collapse chain and E C_{t+1} = (1 − 1/N) C_t + reg·I.

    Returns:
        ``(mean (d,), cov (d, d))``.
    """
    w = params.weights
    m = w @ params.means
    second = jnp.einsum("k,kij->ij", w, params.covs) + jnp.einsum(
        "k,ki,kj->ij", w, params.means, params.means
    )
    cov = second - jnp.outer(m, m)
    return m, 0.5 * (cov + cov.T)


def _psd_sqrt(c: jax.Array) -> jax.Array:
    """Symmetric square root of a PSD matrix by eigh, with tiny negative eigenvalues clipped to 0."""
    lam, v = jnp.linalg.eigh(0.5 * (c + c.T))
    return (v * jnp.sqrt(jnp.maximum(lam, 0.0))) @ v.T


@jax.jit
def gaussian_w2_sq(m1: jax.Array, c1: jax.Array, m2: jax.Array, c2: jax.Array) -> jax.Array:
    """Squared 2-Wasserstein distance between N(m1, C1) and N(m2, C2) (Bures formula).

    W2² = ‖m1 − m2‖² + tr C1 + tr C2 − 2 tr (C1^{1/2} C2 C1^{1/2})^{1/2}. Square roots are taken by eigh with
    negative rounding-level eigenvalues clipped to 0, so singular covariances are allowed; the result is
    clipped at 0.
    """
    s1 = _psd_sqrt(c1)
    mid = s1 @ c2 @ s1
    lam = jnp.linalg.eigvalsh(0.5 * (mid + mid.T))
    cross = jnp.sum(jnp.sqrt(jnp.maximum(lam, 0.0)))
    dm = m1 - m2
    return jnp.maximum(dm @ dm + jnp.trace(c1) + jnp.trace(c2) - 2.0 * cross, 0.0)


@jax.jit
def w2_sq_moment_matched(p: GMMParams, q: GMMParams) -> jax.Array:
    """W2² between the Gaussians with the same mean and covariance as mixtures p and q (see :func:`moment_match`).

    A lower bound on W2² between the mixtures themselves (Gelbrich bound).
    """
    return gaussian_w2_sq(*moment_match(p), *moment_match(q))


@functools.partial(jax.jit, static_argnames=("n",))
def kl_divergence_mc(key: bits.Key, p: GMMParams, q: GMMParams, n: int) -> MCEstimate:
    """Monte Carlo KL(p ‖ q) = E_{x~p}[log p(x) − log q(x)] from n samples of p (no closed form for mixtures).

    Returns:
        :class:`MCEstimate` with the sample mean of the log-ratio and its standard error.
    """
    x = sample(key, p, n)
    r = log_prob(p, x) - log_prob(q, x)
    return MCEstimate(jnp.mean(r), jnp.std(r, ddof=1) / jnp.sqrt(n))
