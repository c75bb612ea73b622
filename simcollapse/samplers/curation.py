"""Curated draws: each kept token is chosen among K draws of the model by a Bradley–Terry/Luce choice
(docs/theory.md §R.1; Ferbach et al., NeurIPS 2024).

:func:`curated_tokens` runs the procedure itself, so its law is the curation map of
`simcollapse.theory.curation` by construction rather than by computation (the tests compare the two): for each
kept token, K types are drawn from `probs` by inversion (`choice.proportional`, words in round 0, counter
kK + j for draw j of token k) and one of them is kept with probability ∝ e^{r} (round 1, counter k).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from . import bits
from .choice import proportional


def curated_tokens(key: bits.Key, probs, rewards, k: int, n: int):
    """n kept tokens (int32 type indices, shape (n,)) of a K-way curation of `probs` (types,) with `rewards`."""
    draws = proportional(bits.uniform(key, (n, k), 0), probs)  # (n, K)
    rewards = jnp.asarray(rewards)
    strength = jnp.exp(rewards[draws] - jnp.max(rewards))  # Luce weights, shifted: only differences matter
    pick = jax.vmap(proportional)(bits.uniform(key, (n,), 1), strength)
    return jnp.take_along_axis(draws, pick[:, None], axis=1)[:, 0].astype(jnp.int32)


def curated_counts(key: bits.Key, probs, rewards, k: int, n: int, n_used=None):
    """Type counts (types,) of the first `n_used` (default n; may be traced, ≤ n) of n curated tokens."""
    tokens = curated_tokens(key, probs, rewards, k, n)
    used = jnp.ones(n) if n_used is None else (jnp.arange(n) < n_used).astype(float)
    return jnp.zeros(probs.shape[-1]).at[tokens].add(used)
