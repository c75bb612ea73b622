"""Curated resampling of a categorical model (docs/theory.md §R.1–§R.3; Ferbach et al., NeurIPS 2024,
arXiv 2407.09499, §2–§3).

Each kept training token is chosen among K i.i.d. draws X_1 … X_K of the current model p by a
Bradley–Terry/Luce choice with per-type rewards r: P(keep draw j) = e^{r_{X_j}} / Σ_l e^{r_{X_l}}. The kept
token's law is (derived, §R.1)

    q_i = K p_i e^{r_i} E[1/(e^{r_i} + S)],   S = Σ_{j<K} e^{r_{X_j}} over K − 1 i.i.d. rivals,

and with 1/(a + S) = ∫_0^∞ e^{−(a+S)u} du and E e^{−uS} = φ(u)^{K−1}, φ(u) = Σ_j p_j e^{−u e^{r_j}},

    q_i = K p_i e^{r_i} ∫_0^∞ e^{−u e^{r_i}} φ(u)^{K−1} du,

a one-dimensional integral (Σ_i q_i = ∫ −d(φ^K) = 1). K = 1 is no curation (q = p); as K → ∞,
q → p e^{r}/E_p e^{r}, so the infinite-sample chain tends to p_t ∝ p_0 e^{t r} (Ferbach et al. Thm 2.1): it
concentrates on the types of largest reward. N kept tokens are i.i.d. from q, so the finite chain is
Wright–Fisher with the fitting map q(p) (§R.2). With a fresh real fraction ρ the training law is
ρ p_0 + (1 − ρ) q(p), and the chain no longer collapses (§R.3).

The integral is computed by the trapezoid rule in y = log u (spectrally accurate for this analytic,
doubly-exponentially decaying integrand), with the rewards shifted so that max r = 0 (the choice depends on reward differences only); the same
nodes serve numpy and ``jax.numpy`` (`curated_probs` takes the array module). Its accuracy is checked against
exact enumeration over the rivals' counts (tests).
"""

from __future__ import annotations

import numpy as np

from .markov import FitMap

_STEP = 0.25  # trapezoid step in y = log u: the integrand is analytic in |Im y| < π/2, so the rule's error is
# of order e^{−π²/STEP} (below 1e-15), and e^{y} covers reward spans up to MAX_SPAN nats with room for the decay
_Y_RANGE = (-37.0, 70.0)
MAX_SPAN = 65.0  # max r − min r the nodes integrate to 1e-15 (the configs refuse larger spans)


def _nodes():
    y = np.arange(_Y_RANGE[0], _Y_RANGE[1] + _STEP / 2, _STEP)
    u = np.exp(y)
    return u, _STEP * u


NODES, WEIGHTS = _nodes()


def curated_probs(probs, rewards, k, xp=np, total=None):
    """The law q of one kept token, given the model `probs` (…, types), `rewards` (types,) and K = `k` draws.

    ``xp`` is the array module (numpy, or ``jax.numpy`` inside a compiled chain); `k` may be traced; ``total(x,
    axis)`` sums over an axis (default ``xp.sum``; a chain passes its batch-invariant sum)."""
    total = total or (lambda x, axis: xp.sum(x, axis=axis))
    probs = xp.asarray(probs)
    rates = xp.exp(xp.asarray(rewards) - xp.max(xp.asarray(rewards)))  # e^{r − max r} ∈ (0, 1]
    decay = xp.exp(-NODES[:, None] * rates)  # (nodes, types): e^{−u e^{r_j}}
    phi = xp.clip(total(probs[..., None, :] * decay, -1), 0.0, 1.0)  # (…, nodes)
    integral = total((WEIGHTS * phi ** (k - 1))[..., :, None] * decay, -2)  # (…, types)
    q = k * probs * rates * integral
    return q / total(q, -1)[..., None]  # removes the quadrature's last ~1e-15


def tilted_probs(probs0, rewards, t):
    """The K → ∞ chain: p_t ∝ p_0 e^{t r} (computed in log space), for each t in `t` (shape (len(t), types))."""
    t = np.atleast_1d(np.asarray(t, dtype=float))
    with np.errstate(divide="ignore"):
        logits = np.log(np.asarray(probs0, dtype=float))[None, :] + t[:, None] * np.asarray(rewards)[None, :]
    logits -= np.max(logits, axis=1, keepdims=True)
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True)


def infinite_trajectory(probs0, rewards, k, generations, real_fraction=0.0):
    """The infinite-sample chain p_{t+1} = ρ p_0 + (1 − ρ) q(p_t), t = 0 … generations; shape (generations+1,
    types). For ρ = 0 and K → ∞ it is `tilted_probs`."""
    p0 = np.asarray(probs0, dtype=float)
    out = [p0]
    for _ in range(generations):
        out.append(real_fraction * p0 + (1.0 - real_fraction) * curated_probs(out[-1], rewards, k))
    return np.stack(out)


def expected_reward(probs, rewards):
    """E_p[r] = Σ_i p_i r_i for each model in `probs` (…, types)."""
    return np.asarray(probs) @ np.asarray(rewards, dtype=float)


def two_type_map(rewards, k) -> FitMap:
    """The curation map of the tracked type of two (rewards (r_other, r_tracked)) as a fitting map f(p) for
    `simcollapse.theory.markov` (the finite chain's transition Bin(N, f(i/N)), §R.2)."""
    rewards = np.asarray(rewards, dtype=float)

    def f(p):
        p = np.asarray(p, dtype=float)
        return curated_probs(np.stack([1.0 - p, p], axis=-1), rewards, k)[..., 1]

    return f
