"""The one driver: `lax.scan` over generations, `vmap` over chains, `jit` once per chunk shape.

A family supplies a :class:`Chain` of three pure functions (BlackJAX-style):

* ``init(key) -> state``: generation 0, the truth (key = fold_in(chain_key, 0), used e.g. to draw a real pool);
* ``step(key, state) -> state``: one generation, fit on data sampled from the current model;
* ``observe(state) -> dict[str, Array]``: the statistics recorded for that generation.

A family may also take ``params`` as a last argument of each (``init(key, params)``, ``step(key, state,
params)``, ``observe(state, params)``): a pytree of arrays holding the config fields that change no array
shape (its "batchable" fields), stored once per point and read by each lane from its point. They are traced
values, so chains with different values share one compiled program: :func:`run_points` runs several configs ("points") side by side, point g's chain j in lane
g·n + j, each point with its own seed and params.

Keys: chain i uses ``fold_in(key(seed), i)`` and its generation t uses ``fold_in(chain_key, t)``, so a
trajectory depends only on (seed, chain index, config), never on how many chains or points run beside it or
on chunking.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..samplers import random as fast_random
from .summary import summarize

LANES = 64


class Chain(NamedTuple):
    init: Callable
    step: Callable
    observe: Callable
    lanes: int = LANES  # pad the chain axis to a multiple of this (1: the family's arithmetic is batch-exact)
    unbounded: tuple[str, ...] = ()  # statistics whose ±inf is a meaning, not an overflow (e.g. KL after a loss)
    sequential: bool = False  # chains one after another (lax.map), for data-dependent loops such as EM


class NonFiniteError(ArithmeticError):
    """A recorded statistic became NaN (or ±inf where it must stay finite)."""

    def __init__(self, name: str, generation: int, chain: int, value: float, point: int | None = None):
        self.name, self.generation, self.chain, self.value, self.point = name, generation, chain, value, point
        at = f"chain {chain}" if point is None else f"chain {chain} of point {point}"
        super().__init__(
            f"statistic {name!r} is {value} at generation {generation} of {at}: the model left the range "
            "float64 can represent (a collapsing fit: try a larger n_samples, reg_covar or fewer generations; "
            "a diverging gradient fitter: a smaller lr)"
        )


class Position(NamedTuple):
    """Where a run stands between chunks, enough to continue it bit-identically (see ``core.checkpoint``).

    ``states`` is the carried state of every chain (padding included) on the host; ``records`` the rows
    recorded so far, ``records[name]`` of shape (rows, chains, ...)."""

    generation: int
    states: object
    records: dict[str, np.ndarray]


class Trajectory(NamedTuple):
    """Recorded statistics: ``stats[name]`` has shape (len(generation), chains, ...); row 0 is the truth."""

    generation: np.ndarray
    stats: dict[str, np.ndarray]


def chain_keys(seed: int, indices) -> jax.Array:
    """Key of each chain: fold_in(key(seed), i)."""
    return jax.vmap(lambda i: fast_random.fold_in(jax.random.key(seed), i))(jnp.asarray(indices))


def recorded_generations(generations: int, record_every: int) -> np.ndarray:
    """0, K, 2K, … and always the last generation."""
    kept = list(range(0, generations + 1, record_every))
    if kept[-1] != generations:
        kept.append(generations)
    return np.asarray(kept)


def _over_chains(chain: Chain, f):
    """`f` mapped over the chain axis: `vmap`, or for a `sequential` chain `lax.map`, which runs each chain
    alone (no chain waits for the slowest one's while_loop, and every chain is computed by the same code)."""
    if chain.sequential:
        return lambda *xs: jax.lax.map(lambda args: f(*args), xs)
    return jax.vmap(f)


def _select(extra, point):
    """The chain functions' extra arguments for one lane: () or (params of the lane's point,), from `extra`,
    () or (params stacked over points,) (held once, not per lane)."""
    return tuple(jax.tree.map(lambda x: x[point], params) for params in extra)


@partial(jax.jit, static_argnums=0)
def _init(chain: Chain, keys, points, extra):
    return _over_chains(chain, lambda key, point: chain.init(fast_random.fold_in(key, 0), *_select(extra, point)))(
        keys, points)


@partial(jax.jit, static_argnums=0)
def _observe(chain: Chain, states, points, extra):
    return _over_chains(chain, lambda state, point: chain.observe(state, *_select(extra, point)))(states, points)


@partial(jax.jit, static_argnums=(0, 6, 7))
def _advance(chain: Chain, keys, states, points, extra, t0, n_records: int, block: int):
    """Run n_records blocks of `block` generations from generation t0; observe after each block."""

    def one_chain(key, state, point):
        # The lane's params are selected inside the loops: selected once outside, a schedule over generations
        # would be copied into every lane (lanes × generations numbers, growing with the run's length).
        def record(state, r):
            def generation(j, state):
                t = t0 + r * block + j + 1
                return chain.step(fast_random.fold_in(key, t), state, *_select(extra, point))

            state = jax.lax.fori_loop(0, block, generation, state)
            return state, chain.observe(state, *_select(extra, point))

        return jax.lax.scan(record, state, jnp.arange(n_records))

    return _over_chains(chain, one_chain)(keys, states, points)


def _chain_sharding(n_devices: int):
    """Shard the chain axis over the local devices (None on one device)."""
    if n_devices == 1:
        return None
    mesh = jax.sharding.Mesh(np.asarray(jax.local_devices()), ("chains",))
    return jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("chains"))


def _fit_lanes(leaf, lanes: int):
    """A saved state leaf cut or padded to `lanes` chains: padding lanes (copies of lane 0) are never recorded
    and never touch other lanes, so a checkpoint written on D devices continues on any other number."""
    leaf = np.asarray(leaf)
    if len(leaf) < lanes:
        leaf = np.concatenate([leaf, np.repeat(leaf[:1], lanes - len(leaf), axis=0)])
    return jnp.asarray(leaf[:lanes])


def plan_chunks(generations: int, record_every: int, start: int, chunk: int | None) -> list[tuple[int, int]]:
    """(records, generations per record) of each compiled call from generation `start` (a record boundary)."""
    full_blocks, remainder = divmod(generations - start, record_every)
    plan = []
    if full_blocks:
        size = chunk or max(1, math.ceil(full_blocks / 20))
        plan += [(min(size, full_blocks - s), record_every) for s in range(0, full_blocks, size)]
    if remainder:
        plan.append((1, remainder))
    return plan


def check_finite(rows: dict[str, np.ndarray], generations: np.ndarray, chains: np.ndarray, unbounded=(),
                 point: int | None = None) -> None:
    """Raise :class:`NonFiniteError` naming the first NaN (or ±inf outside `unbounded`) statistic (and the
    point of :func:`run_points` it belongs to)."""
    for name, values in rows.items():
        if not np.issubdtype(values.dtype, np.floating):
            continue
        bad = np.isnan(values) if name in unbounded else ~np.isfinite(values)
        if bad.any():
            row, column = np.argwhere(bad.reshape(len(bad), len(chains), -1).any(axis=2))[0]
            value = np.asarray(values[row, column])[np.asarray(bad[row, column])].flat[0]
            raise NonFiniteError(name, int(generations[row]), int(chains[column]), float(value), point)


def _lanes(chain: Chain, seeds, params, wanted, devices: int):
    """Key and point of every lane (point g's chain wanted[j] in lane g·n + j, then padding lanes: further
    chain indices of the last point, never recorded, up to a multiple of ``chain.lanes`` per device), and the
    chain functions' extra arguments: () or (params stacked over points,)."""
    n = len(wanted)
    padding = -(len(seeds) * n) % (chain.lanes * devices)
    keys = [chain_keys(seed, wanted) for seed in seeds]
    if padding:
        keys.append(chain_keys(seeds[-1], wanted.max(initial=0) + 1 + np.arange(padding)))
    keys = jnp.concatenate(keys)
    points = np.minimum(np.arange(len(keys)) // max(n, 1), len(seeds) - 1).astype(np.int32)
    extra = () if params[0] is None else (jax.tree.map(lambda *leaves: jnp.asarray(np.stack(leaves)), *params),)
    sharding = _chain_sharding(devices)
    return jax.device_put(keys, sharding), jax.device_put(points, sharding), extra, sharding


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
    start: Position | None = None,
    on_chunk: Callable[[Position], None] | None = None,
    summary: bool = False,
    params=None,
) -> Trajectory:
    """Run `chains` chains (or those listed in `chain_indices`) for `generations` generations.

    Generations run in chunks of `chunk` recorded generations (default: about 20 chunks), so only the
    carried state (O(parameters) per chain) lives between chunks and a progress bar can advance. After each
    chunk the new rows are checked (:func:`check_finite`; row 0 is the truth, where "no fit yet" may be NaN)
    and `on_chunk` receives the :class:`Position`; a run given ``start=`` that position continues exactly
    where it stood, on any number of devices. With several local devices the chain axis is sharded over
    them; the results are bit-identical to one device. With ``summary=True`` each
    chunk is reduced to its mean, sd and quantiles over chains (``core.summary``) as it arrives, and chunks
    hold at most ~2²¹ recorded numbers (16 MB), so memory stays flat in chains × generations.
    `params` (the chain's batchable values, see the module docstring) is given to every chain.
    """
    wanted = np.arange(chains) if chain_indices is None else np.asarray(chain_indices)
    (records,) = _run(chain, [seed], [params], wanted, generations=generations, record_every=record_every,
                      chunk=chunk, progress=progress, start=start, on_chunk=on_chunk, summary=summary)
    return Trajectory(recorded_generations(generations, record_every), records)


def run_points(
    chain: Chain,
    points,
    *,
    generations: int,
    chains: int,
    record_every: int = 1,
    chunk: int | None = None,
    progress: bool = False,
    summary: bool = False,
) -> list[Trajectory]:
    """Several points ``(seed, params)`` of one chain in one compiled program, `chains` chains each.

    Point g's chain j runs in lane g·chains + j with key fold_in(key(seed_g), j) and params_g, so each
    trajectory is the one :func:`run` gives for that seed and params alone, bit for bit (lane padding, or a
    family whose arithmetic is exact in any batch).
    """
    seeds, params = zip(*points, strict=True)
    records = _run(chain, list(seeds), list(params), np.arange(chains), generations=generations,
                   record_every=record_every, chunk=chunk, progress=progress, start=None, on_chunk=None,
                   summary=summary)
    recorded = recorded_generations(generations, record_every)
    return [Trajectory(recorded, point) for point in records]


def _run(chain, seeds, params, wanted, *, generations, record_every, chunk, progress, start, on_chunk, summary):
    """The generation loop of :func:`run` / :func:`run_points`: one dict of records per point."""
    devices = jax.local_device_count()
    # Pad the lane axis to a multiple of chain.lanes (default 64) per device: XLA then vectorises every chain
    # the same way, so a chain's floating-point trajectory is bit-identical however many chains run beside it
    # and however many devices share them.
    keys, points, extra, sharding = _lanes(chain, seeds, params, wanted, devices)
    n = len(wanted)

    def per_point(rows):  # (rows, lanes, ...) -> one dict per point, (rows, n, ...)
        return [{name: x[:, g * n:(g + 1) * n] for name, x in rows.items()} for g in range(len(seeds))]

    recorded = recorded_generations(generations, record_every)
    keep = summarize if summary else (lambda rows: rows)
    if summary and chunk is None:
        per_record = sum(math.prod(x.shape) for x in jax.tree.leaves(jax.eval_shape(
            lambda k, e: _observe(chain, _init(chain, k, points, e), points, e), keys, extra)))
        chunk = max(1, 2**21 // per_record)
    if start is None:
        t = 0
        states = _init(chain, keys, points, extra)
        first = per_point({name: np.asarray(x)[None] for name, x in _observe(chain, states, points, extra).items()})
        records = [{name: keep(x) for name, x in rows.items()} for rows in first]
    else:
        t = start.generation
        if t % record_every and t != generations:
            raise ValueError(f"a run can only continue from a recorded generation, not {t}")
        template = jax.eval_shape(partial(_init, chain), keys, points, extra)
        leaves = [_fit_lanes(x, len(keys)) for x in jax.tree.leaves(start.states)]
        states = jax.tree.unflatten(jax.tree.structure(template), leaves)
        states = jax.device_put(states, sharding)
        records = [dict(start.records)]

    bar = None
    if progress:
        from ..progress import tqdm

        bar = tqdm(total=generations, initial=t, unit="gen", desc="generations")
    try:
        for n_records, block in plan_chunks(generations, record_every, t, chunk):
            states, rows = _advance(chain, keys, states, points, extra, t, n_records, block)
            # Rows go to the host chunk by chunk (this also waits for the chunk, so only one computation is
            # ever in flight); scan stacks them on axis 1 under vmap: (lanes, records, ...) -> (records, ...).
            rows = per_point({name: np.swapaxes(np.asarray(x), 0, 1) for name, x in rows.items()})
            done = len(next(iter(records[0].values())))
            for g, new in enumerate(rows):
                check_finite(new, recorded[done:], wanted, chain.unbounded, g if len(rows) > 1 else None)
            records = [{name: np.concatenate([point[name], keep(new[name])]) for name in point}
                       for point, new in zip(records, rows, strict=True)]
            t += n_records * block
            if on_chunk is not None:
                on_chunk(Position(t, jax.tree.map(np.asarray, states), records[0]))
            if bar is not None:
                bar.update(n_records * block)
    finally:
        if bar is not None:
            bar.close()
    return records
