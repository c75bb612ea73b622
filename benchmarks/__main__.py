"""Time simcollapse and hand-written baselines side by side in one process, and print the ratios.

    python -m benchmarks            # full sizes (a few minutes on 2 cores)
    python -m benchmarks --quick    # shrunk sizes (under 2 minutes)
    python -m benchmarks --write    # also write the report to docs/benchmarks.md

Every timing is the median of ``--repeats`` (≥ 3) runs, every side warmed first (JAX baselines compiled, the
scikit-learn import done), and the runs of the sides compared are interleaved (A, B, A, B, …) so that both meet
the same load on a shared machine. A simcollapse run is timed twice over: its first call, whose compile time is what JAX
reports for it (tracing, lowering, XLA), and then repeated calls of the same config, which reuse the compiled
program. Costs are per chain-generation, so baselines may run fewer chains than simcollapse; the GMM sides run the
same generations (early fits take more EM iterations than late ones). Ratios are what matter: the machine is shared
and absolute numbers are noisy.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import jax
import numpy as np

import simcollapse  # noqa: F401  (enables float64 in JAX before the baselines use it)
from simcollapse.api import make_config, simulate

from . import baselines, scaling
from .scaling import SECTION as SCALING_SECTION
from .scaling import replace_section

REPORT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"

# (full, quick) sizes
SIZES = {
    "gauss_chains": (10_000, 10_000),
    "gauss_M": (100, 100),
    "exact_generations": (200, 40),
    "prng_generations": (20, 10),
    "sufficient_generations": (1000, 200),
    "loop_chains": (100, 20),
    "loop_generations": (200, 100),
    "numpy_exact_chains": (10_000, 2_000),
    "numpy_exact_generations": (100, 40),
    "gmm_chains": (64, 64),
    "gmm_generations": (50, 10),
    "sklearn_generations": (50, 10),  # the same generations as simcollapse: early fits take more EM iterations
    "sklearn_threads_generations": (10, 3),
    "cat_types": (50_000, 50_000),
    "cat_samples": (100_000, 100_000),
    "cat_chains": (4, 4),
    "cat_generations": (10, 3),
    "numpy_cat_chains": (2, 1),
    "numpy_cat_generations": (10, 5),
}


def interleaved(fns, repeats: int) -> list[float]:
    """Median seconds of each function, timed round-robin (f1, f2, …, f1, f2, …) so that every side of a
    comparison meets the same load on a shared machine; the functions are warm (compiled, imported) already."""
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, t in zip(fns, times, strict=True):
            start = time.perf_counter()
            jax.block_until_ready(fn())
            t.append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]


class Group:
    """Measurements compared with each other: each is warmed once (a simulate config's first call, whose compile
    time JAX reports, or the baseline's compile and imports), then all are repeated round-robin."""

    def __init__(self, bench):
        self.bench, self.items, self.outputs = bench, [], {}

    def simulate(self, key, label, config):
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

    def run(self):
        compiles = [warm() for *_, warm in self.items]
        runs = interleaved([fn for _, _, _, fn, _ in self.items], self.bench.repeats)
        for (key, label, chain_gens, _, _), compile_s, run in zip(self.items, compiles, runs, strict=True):
            self.bench.add(key, label, chain_gens, run, compile_s)
        return self.outputs


class Bench:
    def __init__(self, repeats: int, verbose: bool = True):
        self.repeats = repeats
        self.rows = []  # dicts: key, label, chain_gens, run (s), compile (s or None), per (s per chain-generation)
        self.verbose = verbose

    def add(self, key, label, chain_gens, run, compile_s=None):
        per = run / chain_gens
        self.rows.append(dict(key=key, label=label, chain_gens=chain_gens, run=run, compile=compile_s, per=per))
        if self.verbose:
            extra = "" if compile_s is None else f", compile {compile_s:.2f} s"
            print(f"  {label}: {run:.3f} s for {chain_gens:,} chain-gens = {fmt_per(per)}{extra}", file=sys.stderr,
                  flush=True)

    def per(self, key):
        return next(r["per"] for r in self.rows if r["key"] == key)


def fmt_per(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def measure(quick: bool, repeats: int) -> tuple[Bench, dict]:
    s = {k: v[1 if quick else 0] for k, v in SIZES.items()}
    b = Bench(repeats)
    notes = {}
    chains, m = s["gauss_chains"], s["gauss_M"]

    # Gaussian, full sample
    g = s["exact_generations"]
    group = Group(b)
    group.simulate("sim_exact", f"simcollapse gaussian exact (M={m}, {chains:,} chains, {g} gens)",
                   make_config("gaussian", n_samples=m, sampler="exact", generations=g, chains=chains, record_every=g))
    group.baseline("jax_normals", f"jax.random normals only (M={m}, {chains:,} chains, {g} gens)", chains * g,
                   lambda: baselines.jax_normals(m, chains, g))
    group.baseline("unrolled_normals", f"the same normals, unrolled threefry (samplers.random; M={m}, "
                   f"{chains:,} chains, {g} gens)", chains * g, lambda: baselines.unrolled_normals(m, chains, g))
    nc, ng = s["numpy_exact_chains"], s["numpy_exact_generations"]
    group.baseline("numpy_exact", f"numpy vectorised, full sample (M={m}, {nc:,} chains, {ng} gens)", nc * ng,
                   lambda: baselines.gaussian_numpy(m, nc, ng), warm=lambda: baselines.gaussian_numpy(m, nc, 1))
    group.run()
    group = Group(b)
    pg = s["prng_generations"]
    for impl in ("rbg", "unsafe_rbg"):  # the other key implementations JAX offers (jax_default_prng_impl)
        group.baseline(f"jax_normals_{impl}", f"jax.random normals only, {impl} keys (M={m}, {chains:,} chains, "
                       f"{pg} gens)", chains * pg, lambda impl=impl: baselines.jax_normals(m, chains, pg, 0, impl))
    group.run()

    # Gaussian, sufficient statistics
    g = s["sufficient_generations"]
    group = Group(b)
    group.simulate("sim_sufficient", f"simcollapse gaussian sufficient (M={m}, {chains:,} chains, {g} gens)",
                   make_config("gaussian", n_samples=m, sampler="sufficient", generations=g, chains=chains,
                               record_every=g))
    group.simulate("sim_infinite", f"simcollapse gaussian infinite: the chain without draws (M={m}, {chains:,} "
                   f"chains, {g} gens)", make_config("gaussian", n_samples=m, sampler="infinite", generations=g,
                                                     chains=chains, record_every=g))
    group.baseline("numpy_sufficient", f"numpy vectorised, sufficient (M={m}, {chains:,} chains, {g} gens)",
                   chains * g, lambda: baselines.gaussian_numpy_sufficient(m, chains, g))
    group.baseline("jax_sufficient", f"jax.random normal + gamma draws only (M={m}, {chains:,} chains, {g} gens)",
                   chains * g, lambda: baselines.jax_sufficient_draws(m, chains, g))
    lc, lg = s["loop_chains"], s["loop_generations"]
    group.baseline("loop", f"per-chain Python loop, notebook style (M={m}, {lc} chains, {lg} gens)", lc * lg,
                   lambda: baselines.gaussian_loop(m, lc, lg), warm=lambda: baselines.gaussian_loop(m, 1, 1))
    group.run()

    # GMM (paper setting: N = 1000, d = 2, K' = 2, full, tol 1e-5), the same generations on both sides
    from threadpoolctl import threadpool_limits  # installed with scikit-learn

    gc, gg = s["gmm_chains"], s["gmm_generations"]
    sg, tg = s["sklearn_generations"], s["sklearn_threads_generations"]
    sk_iters = []

    def sk():
        # One thread per chain is how a user would run many chains side by side, and on a loaded machine it is
        # the faster and far steadier setting (OpenMP threads of k-means spin against other work): the baseline.
        with threadpool_limits(1):
            _, it = baselines.gmm_sklearn(sg)
        sk_iters.append(it)
        return 0

    group = Group(b)
    group.simulate("sim_gmm", f"simcollapse gmm (N=1000, d=2, K'=2, {gc} chains, {gg} gens)",
                   make_config("gmm", generations=gg, chains=gc, record_every=1))
    group.baseline("sklearn_gmm", f"scikit-learn GaussianMixture refit, 1 thread (1 chain, {sg} gens)", sg, sk,
                   warm=lambda: baselines.gmm_sklearn(1))
    traj = group.run()["sim_gmm"]
    notes["gmm_iters"] = float(traj.stats["em_iterations"][1:].mean())
    notes["sklearn_iters"] = float(np.mean(np.concatenate(sk_iters)))
    group = Group(b)
    group.baseline("sklearn_gmm_threads", f"scikit-learn GaussianMixture refit, default threads (1 chain, {tg} gens)",
                   tg, lambda: baselines.gmm_sklearn(tg), warm=lambda: baselines.gmm_sklearn(1))
    group.run()

    # Categorical Zipf
    k, n = s["cat_types"], s["cat_samples"]
    cc, cg = s["cat_chains"], s["cat_generations"]
    metrics = ["entropy", "surviving", "lost_mass", "tv", "kl", "t_collapse"]  # all but the (K,) probs
    nc, ng = s["numpy_cat_chains"], s["numpy_cat_generations"]
    group = Group(b)
    group.simulate("sim_cat", f"simcollapse categorical Zipf (K={k:,}, N={n:,}, {cc} chains, {cg} gens)",
                   make_config("categorical", truth="zipf", num_types=k, zipf_beta=1.0, n_samples=n, generations=cg,
                               chains=cc, record_every=cg, metrics=metrics))
    group.baseline("numpy_cat", f"numpy multinomial loop (K={k:,}, N={n:,}, {nc} chains, {ng} gens)", nc * ng,
                   lambda: baselines.categorical_numpy(k, n, nc, ng))
    group.run()
    return b, notes


# (description, numerator key, denominator key, kind, target): speedup = per(numerator) / per(denominator)
TARGETS = [
    ("Gaussian full-sample vs vectorised numpy (speed-up)", "numpy_exact", "sim_exact", "≥", 1.5),
    ("Gaussian full-sample time / jax normals-only time", "sim_exact", "jax_normals", "≤", 1.5),
    ("Gaussian sufficient vs per-chain Python loop (speed-up)", "loop", "sim_sufficient", "≥", 300),
    ("Gaussian sufficient vs numpy sufficient (speed-up)", "numpy_sufficient", "sim_sufficient", "≥", 1.0),
    ("Gaussian sufficient vs own full-sample (speed-up)", "sim_exact", "sim_sufficient", "≥", 20),
    ("GMM vs scikit-learn (1 thread), per chain-generation (speed-up)", "sklearn_gmm", "sim_gmm", "≥", 30),
    ("Categorical Zipf vs numpy multinomial loop (speed-up)", "numpy_cat", "sim_cat", "≥", 2),
]


# The same comparisons for draws that simcollapse.samplers computes bit for bit faster, measured beside the chains:
# what the chains would reach once the families call those functions.
AVAILABLE = [
    ("Gaussian normals: jax.random time / unrolled threefry time (same numbers)", "jax_normals", "unrolled_normals"),
    ("Vectorised numpy full-sample chain time / unrolled-threefry normals time", "numpy_exact", "unrolled_normals"),
]


def machine() -> str:
    devices = ", ".join(sorted({d.device_kind for d in jax.devices()}))
    return (f"{os.cpu_count()} CPU cores (os.cpu_count), JAX {jax.__version__} on {jax.default_backend()} "
            f"({devices}), NumPy {np.__version__}, Python {platform.python_version()}, {platform.machine()}")


def previous_ratios(old_report: str) -> dict[str, str]:
    """Measured ratio of each comparison in an earlier report's ratio table (description → "1.23×")."""
    found = {}
    for line in old_report.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[1].endswith("×"):
            found[cells[0]] = cells[1]
    return found


def state_bytes() -> list[tuple[str, int]]:
    """Bytes of one chain's carried state (the driver keeps only this between chunks), from its shapes."""
    from simcollapse import families

    configs = [
        ("gaussian, any sampler, replace", make_config("gaussian")),
        ("gaussian, accumulate", make_config("gaussian", policy="accumulate")),
        ("mvgaussian d=10, replace", make_config("mvgaussian", dim=10)),
        ("categorical Zipf K=50,000", make_config("categorical", truth="zipf", num_types=50_000, zipf_beta=1.0,
                                                  metrics=["entropy"])),
        ("gmm N=1000, d=2, K'=2", make_config("gmm")),
    ]
    out = []
    for label, config in configs:
        chain = families.get(config.family).build(config)
        shapes = jax.eval_shape(chain.init, jax.random.key(0))
        out.append((label, sum(leaf.size * leaf.dtype.itemsize for leaf in jax.tree.leaves(shapes))))
    return out


def report(b: Bench, notes: dict, quick: bool, repeats: int, previous: dict[str, str]) -> str:
    lines = ["# Benchmarks", "",
             "Produced by `python -m benchmarks --write" + (" --quick" if quick else "") + "`: simcollapse and the "
             "baselines a user would write (`benchmarks/baselines.py`), timed side by side in one process. Each time "
             f"is the median of {repeats} runs, the runs of the sides compared interleaved; compile time (as JAX "
             "reports it for the first call) is kept out of the run time. "
             "The machine is shared, so absolute times are noisy; the ratios are the result.", "",
             f"Machine: {machine()}.", "",
             "## Ratios", "",
             "| comparison | measured | previous report | target | status |", "|---|---|---|---|---|"]
    for desc, num, den, kind, target in TARGETS:
        ratio = b.per(num) / b.per(den)
        met = ratio >= target if kind == "≥" else ratio <= target
        lines.append(f"| {desc} | {ratio:.3g}× | {previous.get(desc, '—')} | {kind} {target:g}× | "
                     f"{'met' if met else 'not met'} |")
    lines += ["", "## Same draws through the unrolled threefry (bit for bit)", "",
              "Draws that `simcollapse.samplers.random` computes with the same numbers as the `jax.random` calls "
              "the families make today (JAX's threefry, unrolled), timed in the same run: what a family would gain "
              "by calling it.", "",
              "| comparison | measured |", "|---|---|"]
    for desc, num, den in AVAILABLE:
        lines.append(f"| {desc} | {b.per(num) / b.per(den):.3g}× |")
    lines += ["", "## Timings", "",
              "| run | chain-generations | compile (s) | run (s) | per chain-generation |", "|---|---|---|---|---|"]
    for r in b.rows:
        comp = "—" if r["compile"] is None else f"{r['compile']:.2f}"
        lines.append(f"| {r['label']} | {r['chain_gens']:,} | {comp} | {r['run']:.3f} | {fmt_per(r['per'])} |")
    lines += ["", "## State per chain", "",
              "Between chunks the driver keeps only each chain's state (recorded statistics go to the host chunk "
              "by chunk), so memory is this times the chains, whatever the number of generations.", "",
              "| chain | bytes per chain |", "|---|---|"]
    lines += [f"| {label} | {size:,} |" for label, size in notes["state_bytes"]]
    per = b.per
    lines += ["", "## What bounds each target", "",
              "* Gaussian full-sample vs numpy: the chain costs "
              f"{per('sim_exact') / per('jax_normals'):.2f}× its own normal draws (the jax normals-only row: the same "
              "per-chain, per-generation `fold_in` keys and M normals, only summed), so the draws bound it. A float64 "
              "`jax.random.normal` is a threefry word and an `erf_inv`: three dependent polynomial chains (≈ 60 FMAs) "
              "and a log per value. The same normals with the threefry unrolled (`samplers.random`, same numbers) "
              f"take {per('unrolled_normals') / per('jax_normals'):.2f}× the time: JAX's rolled CPU threefry costs "
              "≈ 25 ns per block on small blocks such as the per-generation `fold_in` (≈ 3 ns unrolled), but on 100 "
              "words per chain its loop overhead is amortised, so `erf_inv` bounds the draw. Reaching 1.5× numpy "
              "needs a cheaper exact normal than `erf_inv` in the family (a ziggurat, say: a different stream). "
              "numpy is single-threaded; XLA's CPU threads suffer more when other work shares the 2 cores.",
              "* Gaussian sufficient (vs the loop, numpy and the own full-sample chain): the same chain with the "
              f"`infinite` sampler, which draws nothing, costs {fmt_per(per('sim_infinite'))} per chain-generation "
              "(key derivation, model update, driver), already "
              f"{per('sim_infinite') / per('numpy_sufficient'):.2f} of the time of numpy's whole sufficient step; the draws add "
              f"{fmt_per(per('sim_sufficient') - per('sim_infinite'))}: the key `split`, the x̄ normal (a threefry "
              "word and an `erf_inv`) and the Marsaglia–Tsang χ² (5 threefry words; Box–Muller's log, sqrt, cos and "
              "sin; two acceptance logs, two `log v`, two `exp`; a rejection `while_loop` which under `vmap` is a "
              "separate computation whose condition is reduced over all chains every generation, although almost "
              "no chain re-enters it), all on arrays of one value per chain; the jax normal + gamma row (`jax.random`'s "
              "own gamma) is slower still. numpy's step is one ziggurat normal and one `standard_gamma` in C. The "
              "ratio to the own full-sample chain is M normals against these draws.",
              f"* GMM: {notes['gmm_iters']:.1f} EM iterations per fit in simcollapse, {notes['sklearn_iters']:.1f} "
              "in scikit-learn, over the same generations on both sides (the first ones need more). Chains run one "
              "after another (`lax.map`), each a `while_loop` of EM steps on 1000 points, so the cost is per EM "
              "iteration: a few small kernels (responsibilities, weighted moments, a 2×2 Cholesky per component).",
              "* Categorical Zipf: the counts are drawn by inversion, a binary search per token (17 dependent "
              "gathers at K = 5·10⁴, `jnp.searchsorted`) and a histogram. Measured apart, the search is most of a "
              "generation: XLA's CPU gathers of 10⁵ random indices cost ≈ 35 ns each (a guide table, which cuts "
              "the gathers per token to about two, gained only ≈ 1.2× and was not kept), while numpy's "
              "`multinomial` runs its conditional binomials in C. simcollapse also records entropy, "
              "survivors, lost mass, TV, KL and collapse time and refits all K log-probabilities; the numpy loop "
              "records nothing.",
              "* Key implementations: with `jax.config.update('jax_default_prng_impl', 'rbg')` (or `'unsafe_rbg'`) "
              "before the first key is made, every simcollapse key uses XLA's RngBitGenerator instead of threefry "
              "(different streams, same laws). On this CPU those normals-only rows are slower than threefry, so "
              "threefry stays the default; on GPU/TPU the bit generator may win, and the same rows measure it there.",
              ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shrunk sizes: the whole run takes under 2 minutes")
    parser.add_argument("--write", action="store_true", help="write the report to docs/benchmarks.md")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats per measurement (at least 3)")
    args = parser.parse_args(argv)
    repeats = max(3, args.repeats)
    start = time.perf_counter()
    b, notes = measure(args.quick, repeats)
    notes["state_bytes"] = state_bytes()
    old = REPORT.read_text(encoding="utf-8") if REPORT.exists() else ""
    text = report(b, notes, args.quick, repeats, previous_ratios(old.split(SCALING_SECTION)[0]))
    print(text)
    print(f"(total {time.perf_counter() - start:.0f} s)", file=sys.stderr)
    if args.write:
        REPORT.parent.mkdir(parents=True, exist_ok=True)
        # the scaling section (python -m benchmarks.scaling --write) is kept
        scaling = old[old.index(SCALING_SECTION):] if SCALING_SECTION in old else ""
        REPORT.write_text(replace_section(text, scaling) if scaling else text, encoding="utf-8")
        print("wrote docs/benchmarks.md", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
