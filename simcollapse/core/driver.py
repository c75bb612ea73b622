"""The one driver: a loop over generations, `vmap` over chains, `jit` once per run.

A family supplies a :class:`Chain` of three pure functions (BlackJAX-style):

* ``init(key) -> state``: generation 0, the truth (key = fold_in(chain_key, 0), used e.g. to draw a real pool);
* ``step(key, state) -> state``: one generation, fit on data sampled from the current model;
* ``observe(state) -> dict[str, Array]``: the statistics recorded for that generation.

A family may also take ``params`` as a last argument of each (``init(key, params)``, ``step(key, state,
params)``, ``observe(state, params)``): a pytree of arrays holding the config fields that change no array
shape (its "batchable" fields), stored once per point and read by each lane from its point. They are traced
values, so chains with different values share one compiled program: :func:`run_points` runs several configs ("points") side by side, point g's chain j in lane
g·n + j, each point with its own seed and params.

Keys (``samplers.bits``): chain i uses ``fold(key(seed), i)`` and its generation t ``fold(chain_key, t)``
(generation 0, the truth, is ``init``'s), so a trajectory depends only on (seed, chain index, config), never on
how many chains or points run beside it or on chunking. Chain keys are hashed on the host (the same Threefry
in numpy), and the generations a call runs are traced values, so a run compiles exactly two programs: the
start (init and generation 0's statistics) and the call that advances the chains. Calls are sized to take
about a second (`CALL_SECONDS`), so the progress bar moves and Ctrl-C is answered within about that. Where the
store of traced programs is on (the command line's cache, :mod:`simcollapse.core.programs`) and the chains run
on one device, both programs run through their exports, so a later process neither traces nor compiles them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..samplers import bits
from . import programs
from .errors import NonFiniteError
from .summary import summarize

LANES = 64


class Chain(NamedTuple):
    init: Callable
    step: Callable
    observe: Callable
    lanes: int = LANES  # pad the chain axis to a multiple of this (1: the family's arithmetic is batch-exact)
    unbounded: tuple[str, ...] = ()  # statistics whose ±inf is a meaning, not an overflow (e.g. KL after a loss)
    sequential: bool = False  # chains one after another (lax.map), for data-dependent loops such as EM


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


def chain_keys(seed: int, indices) -> bits.Key:
    """Key of each chain, fold(key(seed), i), as numpy uint32 words (hashed on the host: nothing compiles)."""
    return bits.fold(bits.seed_key(seed), np.asarray(indices, np.uint32))


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


def _init(chain: Chain, keys, points, extra):
    return _over_chains(chain, lambda key, point: chain.init(bits.fold(key, 0), *_select(extra, point)))(
        keys, points)


def _observe(chain: Chain, states, points, extra):
    return _over_chains(chain, lambda state, point: chain.observe(state, *_select(extra, point)))(states, points)


def _start_body(chain: Chain, keys, points, extra):
    """Generation 0 of every lane: its state and statistics, in one program."""
    states = _init(chain, keys, points, extra)
    return states, _observe(chain, states, points, extra)


def _advance_body(chain: Chain, keys, states, points, extra, t0, t_end, record_every, generations, rows: int, layout):
    """Generations t0 + 1 … t_end (traced, so every call of a run is one program), observing after each recorded
    generation (a multiple of `record_every`, or the last of the run) into row k of a buffer of `rows` + 1 rows.

    The loop runs in segments that end at the next recorded generation or at t_end; each segment ends with an
    observation written at row k, and k advances only if that generation is recorded, so a call may stop at any
    generation (time-sized calls, a checkpoint anywhere) and its unrecorded last observation is overwritten or
    ignored. `layout` is ((statistic, shape, dtype), ...) of one lane's observation (known from the start, so
    it is not traced again). Returns the states, the buffer (lanes, rows + 1, ...) and the rows recorded."""

    def one_chain(key, state, point):
        # The lane's params are selected inside the loops: selected once outside, a schedule over generations
        # would be copied into every lane (lanes × generations numbers, growing with the run's length).
        def generation(t, state):
            return chain.step(bits.fold(key, t), state, *_select(extra, point))

        def segment(carry):
            t, state, buffer, k = carry
            stop = jnp.minimum((t // record_every + 1) * record_every, t_end)
            state = jax.lax.fori_loop(t + 1, stop + 1, generation, state)
            observed = chain.observe(state, *_select(extra, point))
            buffer = jax.tree.map(lambda b, o: jax.lax.dynamic_update_index_in_dim(b, o, k, 0), buffer, observed)
            recorded = (stop % record_every == 0) | (stop == generations)
            return stop, state, buffer, k + recorded.astype(k.dtype)

        buffer = {name: jnp.zeros((rows + 1, *shape), dtype) for name, shape, dtype in layout}
        _, state, buffer, k = jax.lax.while_loop(lambda c: c[0] < t_end, segment, (t0, state, buffer, jnp.int32(0)))
        return state, buffer, k

    return _over_chains(chain, one_chain)(keys, states, points)


_start = jax.jit(_start_body, static_argnums=0)
_advance = jax.jit(_advance_body, static_argnums=(0, 9, 10))


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


CALL_SECONDS = 1.0  # aim of each compiled call's duration: progress and Ctrl-C answer within about this
_GROWTH = 4  # a call runs at most this many times the previous one's generations


class _Pacer:
    """Where each compiled call stops: after `chunk` recorded generations when given, else after about
    CALL_SECONDS of work (from the previous call's speed; the first call, compiling, runs one generation), and
    never past `rows` recorded generations (the size of the call's buffer)."""

    def __init__(self, recorded: np.ndarray, rows: int, chunk: int | None):
        self.recorded, self.rows, self.chunk, self.steps = recorded, rows, chunk, 1

    def stop(self, t: int) -> int:
        recorded = self.recorded
        done = int(np.searchsorted(recorded, t, side="right"))  # recorded generations ≤ t
        last = int(recorded[min(done + (self.chunk or self.rows) - 1, len(recorded) - 1)])
        return last if self.chunk else min(last, t + self.steps)

    def update(self, steps: int, seconds: float) -> None:
        pace = steps * CALL_SECONDS / max(seconds, 1e-6)
        self.steps = max(1, min(int(pace), _GROWTH * steps))


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
    keys = bits.Key(*(np.concatenate(words) for words in zip(*keys, strict=True)))
    points = np.minimum(np.arange(len(keys.hi)) // max(n, 1), len(seeds) - 1).astype(np.int32)
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
    program_key: str | None = None,
) -> Trajectory:
    """Run `chains` chains (or those listed in `chain_indices`) for `generations` generations.

    Generations run in chunks, each one compiled call of about a second's work (or of `chunk` recorded
    generations when given), so only the carried state (O(parameters) per chain) lives between chunks and a
    progress bar can advance. A chunk may end at any generation. After each
    chunk the new rows are checked (:func:`check_finite`; row 0 is the truth, where "no fit yet" may be NaN)
    and `on_chunk` receives the :class:`Position` (also generation 0's, before the first chunk); a run given
    ``start=`` that position continues exactly
    where it stood, on any number of devices. With several local devices the chain axis is sharded over
    them; the results are bit-identical to one device. With ``summary=True`` each
    chunk is reduced to its mean, sd and quantiles over chains (``core.summary``) as it arrives; chunks hold at
    most ~2²¹ recorded numbers (16 MB), so memory stays flat in chains × generations.
    `params` (the chain's batchable values, see the module docstring) is given to every chain. `program_key`
    names the chain's programs in the store of traced programs (:mod:`simcollapse.core.programs`) when it is on:
    equal keys must mean the same chain.
    """
    wanted = np.arange(chains) if chain_indices is None else np.asarray(chain_indices)
    (records,) = _run(chain, [seed], [params], wanted, generations=generations, record_every=record_every,
                      chunk=chunk, progress=progress, start=start, on_chunk=on_chunk, summary=summary,
                      program_key=program_key)
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
                   summary=summary, program_key=None)
    recorded = recorded_generations(generations, record_every)
    return [Trajectory(recorded, point) for point in records]


def _run(chain, seeds, params, wanted, **options):
    """The generation loop of :func:`run` / :func:`run_points`, in float64 whatever the process's JAX default."""
    with jax.enable_x64(True):
        return _generations(chain, seeds, params, wanted, **options)


def _generations(chain, seeds, params, wanted, *, generations, record_every, chunk, progress, start, on_chunk,
                 summary, program_key):
    """One dict of records per point."""
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
    # through the store of traced programs where it is on (one device: a program there has no sharding)
    stored = program_key is not None and devices == 1 and programs.directory() is not None
    if stored:
        start_shapes = programs.call("start", program_key, partial(_start_body, chain), keys, points, extra)
    elif start is None:
        start_shapes = _start(chain, keys, points, extra)
    else:  # resuming: generation 0's shapes only
        start_shapes = jax.eval_shape(partial(_start, chain), keys, points, extra)
    layout = tuple((name, x.shape[1:], x.dtype) for name, x in sorted(start_shapes[1].items()))
    per_record = sum(math.prod(x.shape) for x in start_shapes[1].values())
    # recorded rows per call: at most ~2²¹ numbers (16 MB) of buffer, and `chunk` when given
    rows = max(1, min(chunk or len(recorded), 2**21 // max(per_record, 1), len(recorded) - 1))
    if start is None:
        t = 0
        states, observed = start_shapes  # the start's own arrays
        first = per_point({name: np.asarray(x)[None] for name, x in observed.items()})
        records = [{name: keep(x) for name, x in rows_.items()} for rows_ in first]
    else:
        t = start.generation
        template = start_shapes[0]
        leaves = [_fit_lanes(x, len(keys.hi)) for x in jax.tree.leaves(start.states)]
        states = jax.tree.unflatten(jax.tree.structure(template), leaves)
        states = jax.device_put(states, sharding)
        records = [dict(start.records)]

    bar = None
    if progress:
        from ..progress import tqdm

        bar = tqdm(total=generations, initial=t, unit="gen", desc="generations")
    pacer = _Pacer(recorded, rows, chunk)
    if start is None and on_chunk is not None:  # a run stopped during its first call can still be checkpointed
        on_chunk(Position(0, jax.tree.map(np.asarray, states), records[0]))
    try:
        while t < generations:
            stop = pacer.stop(t)
            began = time.perf_counter()
            if stored:
                body = partial(_advance_body, chain, rows=rows, layout=layout)
                states, buffer, k = programs.call(f"advance{rows}", program_key, body, keys, states, points, extra,
                                                  *map(np.int64, (t, stop, record_every, generations)))
            else:
                states, buffer, k = _advance(chain, keys, states, points, extra, t, stop, record_every, generations,
                                             rows, layout)
            # Rows go to the host call by call (this also waits for the call, so only one computation is ever in
            # flight): (lanes, rows + 1, ...) -> (k, lanes, ...), k the same for every lane.
            k = int(np.asarray(k)[0])
            new_rows = per_point({name: np.swapaxes(np.asarray(x)[:, :k], 0, 1) for name, x in buffer.items()})
            pacer.update(stop - t, time.perf_counter() - began)
            if k:  # a call that stopped between two recorded generations recorded nothing
                done = len(next(iter(records[0].values())))
                for g, new in enumerate(new_rows):
                    check_finite(new, recorded[done:], wanted, chain.unbounded, g if len(new_rows) > 1 else None)
                records = [{name: np.concatenate([point[name], keep(new[name])]) for name in point}
                           for point, new in zip(records, new_rows, strict=True)]
            if bar is not None:
                bar.update(stop - t)
            t = stop
            if on_chunk is not None:
                on_chunk(Position(t, jax.tree.map(np.asarray, states), records[0]))
    finally:
        if bar is not None:
            bar.close()
    return records
