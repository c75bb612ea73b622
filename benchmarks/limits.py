"""What the Gaussian chains cannot beat: only their draws, from simcollapse's own generator (`samplers.bits`), with
the driver's per-chain, per-generation keys, summed so nothing is optimised away. The chain's time over these is
what it spends beyond drawing.

* :func:`bits_normals`: the exact sampler's M normals per chain and generation;
* :func:`bits_sufficient_draws`: the sufficient sampler's draws, one normal and one log χ²_{M−1}.
"""

from __future__ import annotations

from functools import lru_cache, partial

import jax
import jax.numpy as jnp
import numpy as np

from simcollapse.samplers import bits
from simcollapse.samplers.gamma import log_chi2


def _over_chains(draw, chains: int, generations: int, seed: int):
    """Σ_t draw(generation key) per chain, keys as the driver derives them."""
    keys = bits.fold(bits.seed_key(seed), jnp.arange(chains, dtype=jnp.uint32))

    def one_chain(key):
        def generation(t, total):
            return total + draw(bits.fold(key, t + 1))

        return jax.lax.fori_loop(0, generations, generation, jnp.zeros((), jnp.float64))

    return jax.vmap(one_chain)(keys)


# A sum that consumes the draws directly is, on CPU, a YNNPACK fusion in recent XLA: it takes the float64
# arithmetic and computes each input of it in a separate loop (the hash again in each). The chains' programs
# have no such fusion, so the yardsticks turn it off where this XLA knows the option.
_NO_LIBRARY_FUSION = {"xla_cpu_experimental_ynn_fusion_type": ""}


def _compiled(fn, *static):
    lowered = jax.jit(partial(fn, *static)).lower()
    try:
        return lowered.compile(_NO_LIBRARY_FUSION)
    except Exception:  # an XLA without YNNPACK fusion
        return lowered.compile()


def _normals(n_samples: int, chains: int, generations: int, seed: int):
    return _over_chains(lambda key: bits.normal(key, (n_samples, 1)).sum(), chains, generations, seed)


def _sufficient(n_samples: int, chains: int, generations: int, seed: int):
    def draw(key):
        z = bits.normal(bits.fold(key, 0), (1,))[0]
        return z + log_chi2(bits.fold(key, 1), np.float64(n_samples - 1), (1,))[0]

    return _over_chains(draw, chains, generations, seed)


@lru_cache
def _program(which, *static):
    with jax.enable_x64(True):  # as the driver: float64 whatever the process's default
        return _compiled(which, *static)


def bits_normals(n_samples: int, chains: int, generations: int, seed: int = 0):
    return jax.block_until_ready(_program(_normals, n_samples, chains, generations, seed)())


def bits_sufficient_draws(n_samples: int, chains: int, generations: int, seed: int = 0):
    return jax.block_until_ready(_program(_sufficient, n_samples, chains, generations, seed)())
