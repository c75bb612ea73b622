"""Multi-host runs: each process simulates its contiguous share of the chains and writes it; process 0 merges.

Start one process per host (or per accelerator group) with the same command plus ``--coordinator
HOST:PORT --num-processes N --process-id I``; `jax.distributed.initialize` connects them. Chain i's trajectory
depends only on (seed, i, config) (see ``core.driver``), so the merged result is bit-identical to one
process running every chain. Within a process the chain axis is sharded over its local devices.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..config import ConfigError
from .driver import Trajectory


def initialize(coordinator: str, num_processes: int, process_id: int) -> None:
    import jax

    if num_processes < 1 or not 0 <= process_id < num_processes:
        raise ConfigError("--process-id", f"must be in [0, {num_processes}), got {process_id}")
    jax.distributed.initialize(coordinator_address=coordinator, num_processes=num_processes, process_id=process_id)


def process() -> tuple[int, int]:
    """(index of this process, number of processes)."""
    import jax

    return jax.process_index(), jax.process_count()


def my_chains(chains: int) -> np.ndarray:
    """This process's chain indices: the I-th of N contiguous, near-equal shares of 0 … chains−1."""
    index, count = process()
    return np.array_split(np.arange(chains), count)[index]


def part_dir(out) -> Path:
    index, count = process()
    return Path(out) / f"part-{index}-of-{count}"


def barrier(name: str) -> None:
    """Wait until every process reaches this point."""
    from jax.experimental import multihost_utils

    multihost_utils.sync_global_devices(name)


def merge(out) -> Trajectory:
    """Concatenate the parts' statistics along the chain axis, in process order."""
    _, count = process()
    parts = []
    for index in range(count):
        with np.load(Path(out) / f"part-{index}-of-{count}" / "stats.npz") as f:
            parts.append({name: f[name] for name in f.files})
    generation = parts[0].pop("generation")
    for part in parts[1:]:
        part.pop("generation")
    stats = {name: np.concatenate([part[name] for part in parts], axis=1) for name in parts[0]}
    return Trajectory(generation, stats)
