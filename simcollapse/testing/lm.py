"""Test helpers for the OPT model (need the ``lm`` extra; not imported by :mod:`simcollapse.testing`)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ..lm.model import init_params

__all__ = ["random_params"]


def random_params(cfg, seed: int = 0, scale: float = 0.3):
    """OPT's initial parameters plus N(0, scale²) noise on every leaf (float32), so that biases and LayerNorms are
    not trivially 0 or 1."""
    rs = np.random.RandomState(seed)
    return jax.tree_util.tree_map(
        lambda x: jnp.asarray(np.asarray(x) + scale * rs.standard_normal(x.shape), jnp.float32),
        init_params(cfg, jax.random.PRNGKey(seed)),
    )
