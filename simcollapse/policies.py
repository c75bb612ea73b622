"""Data policies: how each generation's training set is assembled, written once for every family.

A policy is one function over a family's sufficient statistics (docs/theory.md §P):

    policy(data, key, model, pool, n) -> (fitted model, pool)

* ``data``: the family's statistics, a :class:`Data` (moments for the Gaussians, counts for the categorical and
  count chains, Σ Xᵀy for linear regression, stored points where a fitter needs points): how to draw them from a
  model or from the truth, pool them and fit them;
* ``model``: what the draws read (the current model, or the sampling law derived from it);
* ``pool``: what the policy keeps from one generation to the next, made at generation 0 by its ``start``
  (None for a policy that keeps nothing);
* ``n``: the generation's :class:`Sizes` (M_t and its split into real and synthetic points).

It returns what ``data.fit`` returns and the new pool. A family's step is then
``POLICIES[config.policy].step(data, key, model, pool, n)`` whatever the policy, and a new policy is one
function here, registered with :func:`policy`, plus its name in the allowed values of each family config that
implements the :class:`Data` methods it calls. (Policies that reweight or filter the points, e.g. a real share
of weight w, verifier-filtered or curated samples, go here the same way, with the :class:`Data` method they need
added to the protocol and to the families that support them.)

Keys (from the step key of the generation, ``samplers.bits``): a policy drawing twice gives ``fold(key, 0)`` to
the synthetic draw and ``fold(key, 1)`` to the other (the real points, the subsample); a policy drawing once
passes the step key on unchanged, or ``fold(key, 0)`` for a family with ``data.split_keys`` (the categorical
chain), so that its synthetic draw has the same key under every policy. Real counts are n_r = ⌊ρM_t + ½⌋
(:func:`real_counts`), the synthetic ones M_t − n_r.

Importing this module does not import JAX (the configs validate against the same table); the keys are folded
when a policy runs, inside a traced step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

import numpy as np

from .config import real_count

__all__ = [
    "POLICIES",
    "Data",
    "Policy",
    "RealPool",
    "ShiftedMix",
    "Sizes",
    "Stored",
    "Weighted",
    "accumulate",
    "accumulate_subsample",
    "fresh_real",
    "policy",
    "real_counts",
    "real_pool",
    "replace",
    "synthetic_mix",
    "weighted_real",
]


class Sizes(NamedTuple):
    """The sizes of generation t's training set: ``total`` = M_t = ``real`` + ``synthetic`` (traced scalars)."""

    t: Any
    total: Any
    real: Any
    synthetic: Any


class Data(Protocol):
    """A family's sufficient statistics, as the policies use them (the methods every policy may call).

    ``split_keys``: give the synthetic draw ``fold(key, 0)`` also under a policy that draws once.
    ``fit_fresh(key, model, n)``: the fit to n fresh points of `model` (``replace``; a family may draw them in
    whatever form fits best, e.g. the Gaussian's Bartlett factor in the model's own coordinates).
    ``synthetic(key, model, n)``: the statistics of n points drawn from `model`.
    ``real(key, n)``: the statistics of n fresh points of the truth.
    ``combine(a, b)``: the statistics of the union of two data sets.
    ``empty()``: the statistics of no data.
    ``fit(stats, model)``: the fitted model (the fitter may start from `model`, e.g. gradient steps).
    """

    split_keys: bool

    def fit_fresh(self, key, model, n): ...

    def synthetic(self, key, model, n): ...

    def real(self, key, n): ...

    def combine(self, a, b): ...

    def empty(self): ...

    def fit(self, stats, model): ...


class Stored(Data, Protocol):
    """A family whose pool of past points can be subsampled (``accumulate_subsample``).

    ``empty_store()``: the store at generation 0.   ``store(store, key, model, n, t)``: the store with the n
    points of generation t added.   ``subsample(key, store, n, t)``: the statistics of a uniformly random n-subset,
    without replacement, of all points stored up to generation t.
    """

    def empty_store(self): ...

    def store(self, store, key, model, n, t): ...

    def subsample(self, key, store, n, t): ...


class RealPool(Data, Protocol):
    """A family with a fixed pool of real points (``real_pool``).

    ``real_pool(key)``: the P real points, drawn once with generation 0's key.   ``from_real_pool(key, pool, n)``:
    the statistics of n of them drawn without replacement.
    """

    def real_pool(self, key): ...

    def from_real_pool(self, key, pool, n): ...


class ShiftedMix(Data, Protocol):
    """A family with a fixed mix of truth-labelled and shifted-model-labelled data (``synthetic_mix``).

    ``mixed(key, model)``: the statistics of a fresh training set whose synthetic share comes from a fixed shifted
    model (not from the chain's current model).
    """

    def mixed(self, key, model): ...


class Weighted(Data, Protocol):
    """A family whose fit can weigh a real and a synthetic group (``weighted_real``).

    ``weighted_fit(real, synthetic, model)``: the model whose parameters are w·(fit to `real`) + (1 − w)·(fit to
    `synthetic`), w the family's real weight (a traced parameter, so that a sweep over w is one program).
    """

    def weighted_fit(self, real, synthetic, model): ...


class Policy(NamedTuple):
    """A registered policy: its ``step``, the ``start(data, key)`` of its pool, and whether it ``mixes_real``
    data (then n_r = ⌊ρM_t + ½⌋ of each training set are real)."""

    step: Callable
    start: Callable
    mixes_real: bool


POLICIES: dict[str, Policy] = {}


def policy(name: str, *, start: Callable = lambda data, key: None, mixes_real: bool = False):
    """Register the decorated function as policy `name`."""

    def register(step):
        POLICIES[name] = Policy(step, start, mixes_real)
        return step

    return register


def real_counts(policy_name: str, fraction, sizes) -> tuple[np.ndarray, np.ndarray]:
    """(n_real, n_synthetic) per generation for the M_t of `sizes`: n_r = ⌊ρM_t + ½⌋ under a policy that mixes
    real data, else 0 (int64)."""
    sizes = np.asarray(sizes)
    real = real_count(fraction, sizes)
    if not POLICIES[policy_name].mixes_real:
        real = np.zeros_like(real)
    return real, sizes - real


def _fold(key, i):
    from .samplers import bits

    return bits.fold(key, i)


def _one_draw_key(data: Data, key):
    return _fold(key, 0) if data.split_keys else key


@policy("replace")
def replace(data: Data, key, model, pool, n: Sizes):
    """Fit on M_t fresh points of the current model (the setting of Shumailov et al., Nature 2024):
    θ_{t+1} = fit(x_1 … x_{M_t} ~ p_{θ_t})."""
    return data.fit_fresh(_one_draw_key(data, key), model, n.total), pool


@policy("accumulate", start=lambda data, key: data.empty())
def accumulate(data: Data, key, model, pool, n: Sizes):
    """Fit on every point drawn so far (Gerstgrasser et al. 2024): S_{t+1} = S_t ⊕ S(M_t points of p_{θ_t}),
    θ_{t+1} = fit(S_{t+1}), with S the sufficient statistics and ⊕ their pooling (``data.combine``)."""
    pool = data.combine(pool, data.synthetic(_one_draw_key(data, key), model, n.total))
    return data.fit(pool, model), pool


@policy("accumulate_subsample", start=lambda data, key: data.empty_store())
def accumulate_subsample(data: Stored, key, model, store, n: Sizes):
    """Keep every point drawn so far and fit on a uniformly random M_t-subset of them, drawn without replacement
    (the training set keeps its size while the pool grows)."""
    store = data.store(store, _fold(key, 0), model, n.total, n.t)
    return data.fit(data.subsample(_fold(key, 1), store, n.total, n.t), model), store


@policy("fresh_real", mixes_real=True)
def fresh_real(data: Data, key, model, pool, n: Sizes):
    """A real fraction ρ of every training set drawn fresh from the truth: S = S(M_t − n_r points of p_{θ_t}) ⊕
    S(n_r points of p_0), n_r = ⌊ρM_t + ½⌋."""
    train = data.combine(data.synthetic(_fold(key, 0), model, n.synthetic), data.real(_fold(key, 1), n.real))
    return data.fit(train, model), pool


@policy("real_pool", start=lambda data, key: data.real_pool(key), mixes_real=True)
def real_pool(data: RealPool, key, model, pool, n: Sizes):
    """A fixed pool of P real points, drawn once at generation 0; each training set is M_t − n_r points of
    p_{θ_t} and n_r = ⌊ρM_t + ½⌋ points of the pool, drawn without replacement."""
    train = data.combine(data.synthetic(_fold(key, 0), model, n.synthetic), data.from_real_pool(_fold(key, 1), pool, n.real))
    return data.fit(train, model), pool


@policy("synthetic_mix")
def synthetic_mix(data: ShiftedMix, key, model, pool, n: Sizes):
    """Strong collapse (Dohmatob et al., ICLR 2025; docs/theory.md §S): every training set is drawn afresh, a share
    p₂ labelled by a fixed shifted model and the rest by the truth; the fit never reads the previous model, so each
    generation repeats the one-shot experiment."""
    return data.fit(data.mixed(key, model), model), pool


@policy("weighted_real")
def weighted_real(data: Weighted, key, model, pool, n: Sizes):
    """Weighted fresh real data (He, Xu & Cheng 2025; docs/theory.md §H.1): n fresh real points and m synthetic
    ones, fitted separately and averaged with the real weight w, e.g. μ = w x̄_r + (1 − w) x̄_s; n = ``n.real``,
    m = ``n.synthetic`` (the family sets both from its own keys, not from ρ)."""
    synthetic = data.synthetic(_fold(key, 0), model, n.synthetic)
    return data.weighted_fit(data.real(_fold(key, 1), n.real), synthetic, model), pool
