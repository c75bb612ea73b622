"""The Python API, mirroring the CLI: build a config, `simulate` it, ask for its `theory`."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from . import families
from .config import ConfigError, RunConfig, from_dict

if TYPE_CHECKING:
    from .core.driver import Position, Trajectory

_DRIVER_FIELDS = {"chains": 1, "record_every": 1, "summary": False}  # read by the driver, not by `build`


def make_config(family: str, **values) -> RunConfig:
    """A validated, fully resolved config: ``make_config("gaussian", n_samples=10, ddof=1)``."""
    return from_dict(family, values, families.config_class(family))


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
    from .core.driver import run

    return run(
        _chain(config),
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
        params=families.get(config.family).params(config),
        program_key=_program_key(config),
    )


def simulate_batch(configs: list[RunConfig], *, progress: bool = False, chunk: int | None = None) -> list[Trajectory]:
    """`simulate` each config, all in one compiled program: they must share a :func:`batch_key` (differ only in
    the seed and their family's batchable fields). Config g's chain j runs in lane g·chains + j with its own
    key and params, so each result is that config's `simulate`, bit for bit (tested for every batchable field)."""
    keys = {batch_key(config) for config in configs}
    if len(keys) != 1:
        raise ConfigError("configs", "a batch must differ only in the seed and batchable fields")
    from .core.driver import run_points

    first = configs[0]
    family = families.get(first.family)
    return run_points(
        _chain(first),
        [(config.seed, family.params(config)) for config in configs],
        generations=first.generations,
        chains=first.chains,
        record_every=first.record_every,
        chunk=chunk,
        progress=progress,
        summary=first.summary,
    )


def batch_key(config: RunConfig) -> str:
    """Equal for configs that can run as one compiled program: the config less its seed and batchable fields."""
    skip = {"seed", *families.get(config.family).batchable(config)}
    return json.dumps({k: v for k, v in config.to_dict().items() if k not in skip}, sort_keys=True)


def theory(config: RunConfig) -> dict:
    """Closed-form expected curves for `config`, keys ``E_<metric>``, shape (generations+1,)."""
    return families.get(config.family).theory(config)


def _program_key(config: RunConfig) -> str:
    """What the chain of `config` is built from: its batch key less the driver's fields (contract rule 1)."""
    return json.dumps({**json.loads(batch_key(config)), **_DRIVER_FIELDS}, sort_keys=True)


_CHAINS: dict[str, object] = {}
_MAX_CHAINS = 64


def _chain(config: RunConfig):
    """The chain of `config`, shared by every config with the same program (its batch key less the driver's
    fields), so compiled programs are reused; a family's `build` reads neither those fields nor the
    batchable ones (it takes them from `params`)."""
    key = _program_key(config)
    chain = _CHAINS.pop(key, None)  # least recently used first
    if chain is None:
        if len(_CHAINS) >= _MAX_CHAINS:
            del _CHAINS[next(iter(_CHAINS))]
        chain = families.get(config.family).build(config.replace(seed=0, **_DRIVER_FIELDS))
    _CHAINS[key] = chain
    return chain
