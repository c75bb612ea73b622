"""The one driver: `lax.scan` over generations, `vmap` over chains, `jit` once per chunk shape.

A family supplies a :class:`Chain` of three pure functions (BlackJAX-style):

* ``init(key) -> state``: generation 0, the truth (key = fold_in(chain_key, 0), used e.g. to draw a real pool);
* ``step(key, state) -> state``: one generation, fit on data sampled from the current model;
* ``observe(state) -> dict[str, Array]``: the statistics recorded for that generation.

Keys: chain i uses ``fold_in(key(seed), i)`` and its generation t uses ``fold_in(chain_key, t)``, so a
trajectory depends only on (seed, chain index, config), never on how many chains run or on chunking.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

LANES = 64


class Chain(NamedTuple):
    init: Callable
    step: Callable
    observe: Callable
    lanes: int = LANES  # pad the chain axis to a multiple of this (1: the family's arithmetic is batch-exact)


class Trajectory(NamedTuple):
    """Recorded statistics: ``stats[name]`` has shape (len(generation), chains, ...); row 0 is the truth."""

    generation: np.ndarray
    stats: dict[str, np.ndarray]


def chain_keys(seed: int, indices) -> jax.Array:
    """Key of each chain: fold_in(key(seed), i)."""
    return jax.vmap(lambda i: jax.random.fold_in(jax.random.key(seed), i))(jnp.asarray(indices))


def recorded_generations(generations: int, record_every: int) -> np.ndarray:
    """0, K, 2K, … and always the last generation."""
    kept = list(range(0, generations + 1, record_every))
    if kept[-1] != generations:
        kept.append(generations)
    return np.asarray(kept)


@partial(jax.jit, static_argnums=0)
def _init(chain: Chain, keys):
    return jax.vmap(lambda key: chain.init(jax.random.fold_in(key, 0)))(keys)


@partial(jax.jit, static_argnums=0)
def _observe(chain: Chain, states):
    return jax.vmap(chain.observe)(states)


@partial(jax.jit, static_argnums=(0, 4, 5))
def _advance(chain: Chain, keys, states, t0, n_records: int, block: int):
    """Run n_records blocks of `block` generations from generation t0; observe after each block."""

    def one_chain(key, state):
        def record(state, r):
            def generation(j, state):
                t = t0 + r * block + j + 1
                return chain.step(jax.random.fold_in(key, t), state)

            state = jax.lax.fori_loop(0, block, generation, state)
            return state, chain.observe(state)

        return jax.lax.scan(record, state, jnp.arange(n_records))

    return jax.vmap(one_chain)(keys, states)


def run(
    chain: Chain,
    *,
    generations: int,
    chains: int | None = None,
    seed: int = 0,
    record_every: int = 1,
    chunk: int | None = None,
    progress: bool = False,
    chain_indices=None,
) -> Trajectory:
    """Run `chains` chains (or those listed in `chain_indices`) for `generations` generations.

    Generations run in chunks of `chunk` recorded generations (default: about 20 chunks), so only the
    carried state (O(parameters) per chain) lives between chunks and a progress bar can advance.
    """
    wanted = np.arange(chains) if chain_indices is None else np.asarray(chain_indices)
    # Pad the chain axis to a multiple of chain.lanes (default 64): XLA then vectorises every chain the
    # same way, so a chain's floating-point trajectory is bit-identical however many chains run beside it.
    padding = -len(wanted) % chain.lanes
    indices = np.concatenate([wanted, wanted.max(initial=0) + 1 + np.arange(padding)])
    keys = chain_keys(seed, indices)
    states = _init(chain, keys)
    records = [jax.tree.map(lambda x: np.asarray(x)[None], _observe(chain, states))]

    full_blocks, remainder = divmod(generations, record_every)
    plan = []  # (number of records, generations per record)
    if full_blocks:
        size = chunk or max(1, math.ceil(full_blocks / 20))
        for start in range(0, full_blocks, size):
            plan.append((min(size, full_blocks - start), record_every))
    if remainder:
        plan.append((1, remainder))

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=generations, unit="gen", desc="generations")
    t = 0
    for n_records, block in plan:
        states, recorded = _advance(chain, keys, states, t, n_records, block)
        # Records go to the host chunk by chunk (this also waits for the chunk, so only one computation is
        # ever in flight); scan stacks them on axis 1 under vmap: (chains, records, ...) -> (records, ...).
        records.append(jax.tree.map(lambda x: np.swapaxes(np.asarray(x), 0, 1), recorded))
        t += n_records * block
        if bar is not None:
            bar.update(n_records * block)
    if bar is not None:
        bar.close()

    stats = {name: np.concatenate([r[name][:, : len(wanted)] for r in records]) for name in records[0]}
    return Trajectory(recorded_generations(generations, record_every), stats)
