"""Wall time of the CLI as a user runs it: a new process each time (start, imports, compile, run, writing the
results), with a cold or a warm compilation cache, and the numpy baselines run the same way.

A cold run gets a fresh empty ``SIMCOLLAPSE_CACHE_DIR``; a warm run reuses the directory a cold run of the same
command filled, with another ``--set seed=`` (the same program, other numbers). Every run writes into a fresh
``--out`` directory, with ``--quiet``. The runs of the sides compared alternate (A, B, A, B, …) so that both meet
the same load on a shared machine; each time is the median of the repeats.
"""

from __future__ import annotations

import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

TINY = ["gaussian", "generations=10", "chains=10"]
CATS = ["categorical", "probs0=[0.85,0.15]", "n_samples=60", "chains=200", "generations=40"]
README_QUICK = ["gaussian", "n_samples=100", "generations=1000", "chains=10000", "record_every=10"]


def sufficient(quick: bool) -> tuple[list[str], tuple[int, int, int]]:
    """The sufficient Gaussian chain's CLI command and its (M, chains, generations)."""
    m, chains, generations = (100, 10_000, 500) if quick else (100, 100_000, 2000)
    return (["gaussian", f"n_samples={m}", f"generations={generations}", f"chains={chains}",
             f"record_every={generations}", 'metrics=["var"]'], (m, chains, generations))


def exact(quick: bool) -> tuple[list[str], tuple[int, int, int]]:
    """The exact-sampler Gaussian chain's CLI command and its (M, chains, generations)."""
    m, chains, generations = (100, 10_000, 50) if quick else (100, 10_000, 300)
    return (["gaussian", "sampler=exact", f"n_samples={m}", f"generations={generations}", f"chains={chains}",
             f"record_every={generations}", 'metrics=["var"]'], (m, chains, generations))


def readme_command() -> list[str] | None:
    """Family and --set values of the README's first ``simcollapse run gaussian`` command (None if not found)."""
    text = README.read_text(encoding="utf-8") if README.exists() else ""
    match = re.search(r"simcollapse run (gaussian[^\n&|`]*)", text)
    if not match:
        return None
    words = shlex.split(match.group(1))
    return [words[0]] + [words[i + 1] for i, w in enumerate(words[:-1]) if w == "--set"]


class Runner:
    """Runs commands in new processes under one temporary directory (removed by `close`)."""

    def __init__(self, verbose: bool = True):
        self._tmp = tempfile.TemporaryDirectory(prefix="simcollapse-bench-")
        self.tmp = Path(self._tmp.name)
        self.verbose = verbose
        self._count = 0

    def close(self):
        self._tmp.cleanup()

    def fresh(self, what: str) -> Path:
        self._count += 1
        path = self.tmp / f"{what}-{self._count}"
        path.mkdir()
        return path

    def _env(self, cache: Path | None):
        env = dict(os.environ)
        env.pop("JAX_COMPILATION_CACHE_DIR", None)  # the CLI would keep a cache set there instead of ours
        env["SIMCOLLAPSE_CACHE_DIR"] = str(cache) if cache is not None else "off"
        return env

    def timed(self, argv: list[str], cache: Path | None = None) -> float:
        """Seconds from start to exit of `argv` run from the repository root; raises with its stderr's tail."""
        start = time.perf_counter()
        done = subprocess.run(argv, cwd=ROOT, env=self._env(cache), capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if done.returncode:
            tail = " ".join((done.stderr or done.stdout).strip().splitlines()[-1:])
            raise RuntimeError(f"exit {done.returncode}: {tail[:200]}")
        return seconds

    def cli(self, command: list[str], cache: Path, seed: int) -> float:
        family, *sets = command
        argv = [sys.executable, "-m", "simcollapse", "run", family]
        for value in [*sets, f"seed={seed}"]:
            argv += ["--set", value]
        return self.timed(argv + ["--out", str(self.fresh("out") / "run"), "--quiet"], cache)

    def python(self, code: str) -> float:
        return self.timed([sys.executable, "-c", code])


def measure(quick: bool, repeats: int, verbose: bool = True) -> dict[str, dict]:
    """key → dict(label, runs (seconds) or None, seconds (median) or None, error); keys as in the report."""
    out: dict[str, dict] = {}
    runner = Runner(verbose)

    def record(key, label, runs=None, error=None):
        seconds = statistics.median(runs) if runs else None
        out[key] = dict(label=label, runs=runs, seconds=seconds, error=error)
        if verbose:
            shown = f"FAILED ({error})" if error else f"{seconds:.2f} s (runs {', '.join(f'{r:.2f}' for r in runs)})"
            print(f"  {label}: {shown}", file=sys.stderr, flush=True)

    def cold_and_warm(key, label, command, warm_repeats, cold_repeats=1):
        """Cold runs, each into a fresh cache, alternating with warm runs of the cache the last one filled."""
        cold, warm = [], []
        try:
            for i in range(max(cold_repeats, warm_repeats)):
                if i < cold_repeats:
                    cache = runner.fresh("cache")
                    cold.append(runner.cli(command, cache, seed=0))
                if i < warm_repeats:
                    warm.append(runner.cli(command, cache, seed=i + 1))
        except RuntimeError as err:
            record(f"{key}_cold", f"{label}, cold cache", error=str(err))
            if warm_repeats:
                record(f"{key}_warm", f"{label}, warm cache", error=str(err))
            return None
        record(f"{key}_cold", f"{label}, cold cache", cold)
        if warm_repeats:
            record(f"{key}_warm", f"{label}, warm cache", warm)
        return cache

    def alternate(keys_labels, fns, n, warm_up=False):
        runs = [[] for _ in fns]
        try:
            for fn in fns if warm_up else ():  # untimed: the first process reads its files from disk
                fn()
            for _ in range(n):
                for fn, r in zip(fns, runs, strict=True):
                    r.append(fn())
        except RuntimeError as err:
            for key, label in keys_labels:
                record(key, label, error=str(err))
            return
        for (key, label), r in zip(keys_labels, runs, strict=True):
            record(key, label, r)

    try:
        cold_and_warm("wall_tiny", "CLI `run " + _show(TINY) + "`", TINY, repeats, cold_repeats=repeats)
        cold_and_warm("wall_cats", "CLI `run " + _show(CATS) + "`", CATS, repeats)

        alternate([("wall_import_jax", 'python -c "import jax"'),
                   ("wall_import_api", 'python -c "import jax, simcollapse.api"')],
                  [lambda: runner.python("import jax"), lambda: runner.python("import jax, simcollapse.api")],
                  repeats if quick else max(repeats, 5), warm_up=True)

        command = README_QUICK if quick else (readme_command() or README_QUICK)
        cold_and_warm("wall_readme", "CLI README command `run " + _show(command) + "`", command, 1)

        for name, build, baseline in (("sufficient", sufficient, "gaussian_numpy_sufficient"),
                                      ("exact", exact, "gaussian_numpy")):
            command, (m, chains, generations) = build(quick)
            label = f"CLI `run {_show(command)}`"
            cache = cold_and_warm(f"wall_{name}", label, command, 0)  # the cold run fills the cache
            code = f"from benchmarks.baselines import {baseline}; {baseline}({m}, {chains}, {generations})"
            numpy_label = f'python -c "{code}"'
            if cache is None:
                record(f"wall_{name}_numpy", numpy_label, error="not run: the CLI side failed")
                continue
            seeds = iter(range(1, 1000))
            alternate([(f"wall_{name}_warm", f"{label}, warm cache"), (f"wall_{name}_numpy", numpy_label)],
                      [lambda command=command, cache=cache, seeds=seeds: runner.cli(command, cache, next(seeds)),
                       lambda code=code: runner.python(code)], repeats)
    finally:
        runner.close()
    imports = out.get("wall_import_jax", {}), out.get("wall_import_api", {})
    if all(i.get("runs") for i in imports):
        out["wall_import_overhead"] = dict(label="import simcollapse.api beyond import jax (difference of medians)",
                                           runs=None, seconds=imports[1]["seconds"] - imports[0]["seconds"],
                                           error=None)
    return out


def _show(command: list[str]) -> str:
    family, *sets = command
    return " ".join([family] + [f"--set {shlex.quote(s)}" for s in sets])
