"""The binomial pmf C(n, k) pᵏ qⁿ⁻ᵏ (q = 1 − p), to about 1e-15 relative, by Loader's saddle-point form
(C. Loader, "Fast and accurate computation of binomial probabilities", 2000), for 0 < k < n:

    log pmf = δ(n) − δ(k) − δ(n − k) − D(k, np) − D(n − k, nq) − ½ log(2π k (n − k)/n),

with δ(m) = log m! − log(√(2πm) (m/e)^m) (Stirling's error) and D(x, μ) = x log(x/μ) + μ − x ≥ 0 (the deviance
term), each computed without cancellation: δ from exact values up to m = 15 and its asymptotic series above,
D by its series in v = (x − μ)/(x + μ) when x is near μ. The ends are pmf(0) = qⁿ and pmf(n) = pⁿ.

The theory modules use it for the Wright–Fisher transition matrices: scipy.stats gives the same numbers but
costs about half a second to import, which every categorical run of the command line would pay.
"""

from __future__ import annotations

import math
from decimal import Decimal, localcontext

import numpy as np

_PI = Decimal("3.14159265358979323846264338327950288419716939937510")
_EXACT_UP_TO = 15


def _exact_stirling_errors() -> np.ndarray:
    """δ(m) for m = 0 … 15 from log m! in 40-digit decimal arithmetic (δ(0) = 0 by convention)."""
    with localcontext() as ctx:
        ctx.prec = 40
        half_log_two_pi = (2 * _PI).ln() / 2
        out = [0.0]
        for m in range(1, _EXACT_UP_TO + 1):
            dm = Decimal(m)
            out.append(float(Decimal(math.factorial(m)).ln() - (dm + Decimal("0.5")) * dm.ln() + dm - half_log_two_pi))
    return np.array(out)


_EXACT = _exact_stirling_errors()


def stirling_error(m):
    """δ(m) = log m! − log(√(2πm) (m/e)^m) for integers m ≥ 0: exact values to 15, then
    1/(12m) − 1/(360m³) + 1/(1260m⁵) − 1/(1680m⁷) + 1/(1188m⁹) (error below 1e-17 there)."""
    m = np.asarray(m, dtype=float)
    small = m <= _EXACT_UP_TO
    r = 1.0 / np.where(small, 1.0, m)
    r2 = r * r
    series = r * (1 / 12 - r2 * (1 / 360 - r2 * (1 / 1260 - r2 * (1 / 1680 - r2 / 1188))))
    return np.where(small, _EXACT[np.clip(m, 0, _EXACT_UP_TO).astype(int)], series)


def deviance(x, mu):
    """D(x, μ) = x log(x/μ) + μ − x for x ≥ 0, μ > 0: near μ (|x − μ| < (x + μ)/10) the series
    (x − μ)v + 2x Σ_{j≥1} v^{2j+1}/(2j + 1), v = (x − μ)/(x + μ), which converges in a few terms."""
    x, mu = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(mu, dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):
        direct = np.where(x > 0, x * np.log(x / mu), 0.0) + mu - x
        v = (x - mu) / (x + mu)
    near = np.abs(x - mu) < 0.1 * (x + mu)
    v = np.where(near, v, 0.0)
    total = (x - mu) * v
    term = 2.0 * x * v
    for j in range(1, 60):  # |v| < 0.1: each term is 100 times smaller than the last
        term = term * v * v
        grown = total + term / (2 * j + 1)
        if np.array_equal(grown, total):
            break
        total = grown
    return np.where(near, total, direct)


def binomial_pmf(k, n, p):
    """P(Bin(n, p) = k), broadcasting integer k, n and probabilities p ∈ [0, 1]; 0 outside 0 ≤ k ≤ n."""
    k, n, p = np.broadcast_arrays(np.asarray(k, dtype=float), np.asarray(n, dtype=float), np.asarray(p, dtype=float))
    q = 1.0 - p
    inner = (k > 0) & (k < n) & (p > 0) & (p < 1)
    ki, ni, pi, qi = (np.where(inner, a, b) for a, b in ((k, 1.0), (n, 2.0), (p, 0.5), (q, 0.5)))
    log_inner = (stirling_error(ni) - stirling_error(ki) - stirling_error(ni - ki) - deviance(ki, ni * pi)
                 - deviance(ni - ki, ni * qi) - 0.5 * (math.log(2 * math.pi) + np.log(ki) + np.log1p(-ki / ni)))
    with np.errstate(divide="ignore", invalid="ignore"):  # log 0, and 0·(−inf) at n = 0 (set below)
        ends = np.where(k == 0, np.exp(n * np.log1p(-p)), np.where(k == n, np.exp(n * np.log(p)), 0.0))
    out = np.where(inner, np.exp(log_inner), ends)
    out = np.where((k == 0) & (k == n), 1.0, out)  # n = 0
    return np.where((k < 0) | (k > n), 0.0, out)
