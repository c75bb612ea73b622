"""The Python API, mirroring the CLI: build a config, `simulate` it, ask for its `theory`."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable

from . import families
from .config import RunConfig, from_dict
from .core.driver import Position, Trajectory, run


def make_config(family: str, **values) -> RunConfig:
    """A validated, fully resolved config: ``make_config("gaussian", n_samples=10, ddof=1)``."""
    return from_dict(family, values, families.get(family).config)


def simulate(
    config: RunConfig,
    *,
    progress: bool = False,
    chunk: int | None = None,
    chain_indices=None,
    start: Position | None = None,
    on_chunk: Callable[[Position], None] | None = None,
) -> Trajectory:
    """Run the chains of `config`; statistics have shape (recorded generations, chains, ...), row 0 the truth.

    `chain_indices` runs only those chains: chain i's trajectory is the same whichever others run.
    `on_chunk` receives the :class:`Position` after each chunk; ``start=`` such a position continues the run
    from there, bit-identically (see ``simcollapse.core.checkpoint``).
    """
    chain = _build(_canonical(config))
    return run(
        chain,
        generations=config.generations,
        chains=config.chains,
        seed=config.seed,
        record_every=config.record_every,
        chunk=chunk,
        progress=progress,
        chain_indices=chain_indices,
        start=start,
        on_chunk=on_chunk,
        summary=config.summary,
    )


def theory(config: RunConfig) -> dict:
    """Closed-form expected curves for `config`, keys ``E_<metric>``, shape (generations+1,)."""
    return families.get(config.family).theory(config)


def _canonical(config: RunConfig) -> str:
    """The config less the fields only the driver reads (a family's `build` must not read them)."""
    return json.dumps({**config.to_dict(), "seed": 0, "chains": 1, "record_every": 1, "summary": False}, sort_keys=True)


@functools.lru_cache(maxsize=64)
def _build(canonical: str):
    """Equal configs share one chain object, so its compiled programs are reused."""
    values = json.loads(canonical)
    config = make_config(values.pop("family"), **values)
    return families.get(config.family).build(config)
