"""In-process timing: interleaved medians, a group of compared measurements, and the collected rows.

Every side is warmed first (a simcollapse config's first call, whose compile time JAX reports; a baseline's
imports and compile), then all sides of a group are repeated round-robin (A, B, A, B, …) so that they meet the
same load on a shared machine. A side that raises is recorded as failed with its error, and the rest go on:
a family being rewritten must not stop the run.
"""

from __future__ import annotations

import statistics
import sys
import time

import jax

from simcollapse.api import simulate

from . import scaling


def interleaved(fns, repeats: int) -> list[float]:
    """Median seconds of each function, timed round-robin (f1, f2, …, f1, f2, …); the functions are warm."""
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, t in zip(fns, times, strict=True):
            start = time.perf_counter()
            jax.block_until_ready(fn())
            t.append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]


def fmt_per(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def short_error(err: BaseException) -> str:
    text = " ".join(str(err).split()).replace("|", "/")  # kept inside a table cell
    return f"{type(err).__name__}: {text[:160]}"


class Bench:
    """The rows measured so far: key, label, chain_gens, run (s; None if failed), compile (s or None), per
    (s per chain-generation; None if failed), error (None or a one-line message)."""

    def __init__(self, repeats: int, verbose: bool = True):
        self.repeats = repeats
        self.rows = []
        self.verbose = verbose

    def add(self, key, label, chain_gens, run, compile_s=None):
        per = run / chain_gens
        self.rows.append(dict(key=key, label=label, chain_gens=chain_gens, run=run, compile=compile_s, per=per,
                              error=None))
        if self.verbose:
            extra = "" if compile_s is None else f", compile {compile_s:.2f} s"
            print(f"  {label}: {run:.3f} s for {chain_gens:,} chain-gens = {fmt_per(per)}{extra}", file=sys.stderr,
                  flush=True)

    def fail(self, key, label, chain_gens, error: str):
        self.rows.append(dict(key=key, label=label, chain_gens=chain_gens, run=None, compile=None, per=None,
                              error=error))
        if self.verbose:
            print(f"  {label}: FAILED ({error})", file=sys.stderr, flush=True)

    def per(self, key):
        """Seconds per chain-generation of row `key`; None when it failed or was not measured."""
        return next((r["per"] for r in self.rows if r["key"] == key), None)

    def compile_s(self, key):
        return next((r["compile"] for r in self.rows if r["key"] == key), None)


class Group:
    """Measurements compared with each other: each warmed once, then all repeated round-robin."""

    def __init__(self, bench: Bench):
        self.bench, self.items, self.outputs = bench, [], {}

    def simulate(self, key, label, config):
        """A simcollapse run of `config`; its first call's compile time is what JAX reports for it."""

        def call():
            self.outputs[key] = simulate(config)
            return 0

        def warm():
            scaling.compile_events.clear()
            call()
            return sum(scaling.compile_events.values())

        self.items.append((key, label, config.chains * config.generations, call, warm))

    def baseline(self, key, label, chain_gens, fn, warm=None):
        def warm_up():
            jax.block_until_ready((warm or fn)())

        self.items.append((key, label, chain_gens, fn, warm_up))

    def run(self) -> dict:
        """Time the group; returns the last output of each simcollapse side (its Trajectory)."""
        ready = []
        for key, label, chain_gens, fn, warm in self.items:
            try:
                ready.append((key, label, chain_gens, fn, warm()))
            except Exception as err:
                self.bench.fail(key, label, chain_gens, short_error(err))
        runs = interleaved([fn for _, _, _, fn, _ in ready], self.bench.repeats)
        for (key, label, chain_gens, _, compile_s), run in zip(ready, runs, strict=True):
            self.bench.add(key, label, chain_gens, run, compile_s)
        return self.outputs
