"""The report (docs/benchmarks.md): a table per kind of comparison with today's value beside the previous
report's, the timings, the state per chain, and the measured numbers the notes on each target need."""

from __future__ import annotations

import os
import platform

import jax
import numpy as np

from . import core, families
from .timing import Bench, fmt_per

TABLE_HEAD = ["| comparison | measured | previous report | target | status |", "|---|---|---|---|---|"]

# (description, wall key, kind, target) for wall seconds; (description, numpy key, CLI key, kind, target, aim)
CLI_SECONDS = [
    ("CLI tiny Gaussian, cold cache (wall time)", "wall_tiny_cold", "≤", 5.0),
    ("CLI tiny Gaussian, warm cache (wall time)", "wall_tiny_warm", "≤", 2.5),
    ("CLI cats, warm cache (wall time)", "wall_cats_warm", "≤", 2.5),
    ("import simcollapse.api beyond import jax", "wall_import_overhead", "≤", 0.5),
]
CLI_RATIOS = [
    ("CLI sufficient Gaussian vs numpy sufficient, everything included (speed-up)", "wall_sufficient_numpy",
     "wall_sufficient_warm", "≥", 1.0, 2.0),
    ("CLI exact Gaussian vs numpy full sample, everything included (speed-up)", "wall_exact_numpy",
     "wall_exact_warm", "≥", 1.0, 1.5),
]


def _device_kinds() -> str:
    return ", ".join(sorted({d.device_kind for d in jax.devices()}))


def machine() -> str:
    return (f"{os.cpu_count()} CPU cores (os.cpu_count), JAX {jax.__version__} on {jax.default_backend()} "
            f"({_device_kinds()}), NumPy {np.__version__}, Python {platform.python_version()}, {platform.machine()}")


def previous_ratios(old_report: str) -> dict[str, str]:
    """Measured value of each comparison in an earlier report's tables (description → "1.23×" or "2.1 s")."""
    found = {}
    for line in old_report.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and (cells[1].endswith("×") or cells[1].endswith(" s")):
            found[cells[0]] = cells[1]
    return found


def previous_quick(old_report: str) -> bool | None:
    """Whether an earlier report was a ``--quick`` run (None when it names no mode)."""
    for line in old_report.splitlines():
        if line.startswith("Produced by `python -m benchmarks"):
            return "--quick" in line.split("`")[1]
    return None


def _row(desc, value, unit, kind, target, previous, aim=None, error=None) -> str:
    goal = f"{kind} {target:g}{unit}" + ("" if aim is None else f" (aim {aim:g}{unit})")
    if value is None:
        return f"| {desc} | — | {previous.get(desc, '—')} | {goal} | failed: {error or 'not measured'} |"
    met = value >= target if kind == "≥" else value <= target
    status = "met" if met else "not met"
    if aim is not None and met and value >= aim:
        status += ", aim met"
    shown = f"{value:.3g}×" if unit == "×" else f"{value:.2f} s"
    return f"| {desc} | {shown} | {previous.get(desc, '—')} | {goal} | {status} |"


def _error(b: Bench, *keys):
    return next((r["error"] for r in b.rows if r["key"] in keys and r["error"]), None)


def _ratio(b: Bench, num, den):
    top, bottom = b.per(num), b.per(den)
    return None if top is None or bottom is None else top / bottom


def state_bytes() -> list[tuple[str, str]]:
    """Bytes of one chain's carried state (the driver keeps only this between chunks), from its shapes."""
    from simcollapse import families as registry
    from simcollapse.api import make_config
    from simcollapse.samplers import bits

    configs = [
        ("gaussian, any sampler, replace", make_config("gaussian")),
        ("gaussian, accumulate", make_config("gaussian", policy="accumulate")),
        ("mvgaussian d=10, replace", make_config("mvgaussian", dim=10)),
        ("categorical Zipf K=50,000", make_config("categorical", truth="zipf", num_types=50_000, zipf_beta=1.0,
                                                  metrics=["entropy"])),
        ("gmm N=1000, d=2, K'=2", make_config("gmm")),
    ]
    out = []
    key = bits.Key(np.uint32(0), np.uint32(0))
    for label, config in configs:
        try:
            chain = registry.get(config.family).build(config)
            with jax.enable_x64(True):  # the driver's dtypes
                shapes = jax.eval_shape(chain.init, key)
            out.append((label, f"{sum(leaf.size * leaf.dtype.itemsize for leaf in jax.tree.leaves(shapes)):,}"))
        except Exception as err:
            out.append((label, f"— ({type(err).__name__})"))
    return out


def report(b: Bench, walls: dict, notes: dict, quick: bool, repeats: int, previous: dict[str, str],
           previous_was_quick: bool | None = None) -> str:
    lines = ["# Benchmarks", "",
             "Produced by `python -m benchmarks --write" + (" --quick" if quick else "") + "`: simcollapse and the "
             "baselines a user would write (`benchmarks/baselines.py`, `benchmarks/numpy_chains.py`), timed side "
             f"by side in one run. Each time is the median of {repeats} runs, the runs of the sides compared "
             "interleaved; in-process compile time (as JAX reports it for the first call) is kept out of the run "
             "time, while the CLI rows time whole processes. The machine is shared, so absolute times are noisy; "
             "the ratios are the result.", "",
             f"Machine: {machine()}.", ""]
    if previous and previous_was_quick is not None and previous_was_quick != quick:
        lines += [f"The previous report's column comes from a {'`--quick`' if previous_was_quick else 'full-size'} "
                  "run, at other sizes: a rough guide, not a before-and-after.", ""]
    if b.rows and any(r["key"] in {t[1] for t in core.TARGETS} for r in b.rows):
        lines += ["## Ratios", ""] + TABLE_HEAD
        for desc, num, den, kind, target in core.TARGETS:
            lines.append(_row(desc, _ratio(b, num, den), "×", kind, target, previous, error=_error(b, num, den)))
        lines.append("")
    if walls:
        lines += ["## CLI wall time, as a user runs it", "",
                  "Each run is a new process (`python -m simcollapse run … --out NEW_DIR --quiet`): start, imports, "
                  "compile or cache read, the run and writing the results. Cold: a fresh empty "
                  "`SIMCOLLAPSE_CACHE_DIR`; warm: the directory a cold run of the same command filled, another "
                  "`--set seed=`. The numpy sides run as `python -c` processes too.", ""] + TABLE_HEAD
        for desc, key, kind, target in CLI_SECONDS:
            w = walls.get(key, {})
            lines.append(_row(desc, w.get("seconds"), " s", kind, target, previous, error=w.get("error")))
        for desc, num, den, kind, target, aim in CLI_RATIOS:
            top, bottom = walls.get(num, {}), walls.get(den, {})
            value = None if top.get("seconds") is None or bottom.get("seconds") is None else \
                top["seconds"] / bottom["seconds"]
            lines.append(_row(desc, value, "×", kind, target, previous, aim, top.get("error") or bottom.get("error")))
        lines += ["", "| process | median (s) | runs (s) |", "|---|---|---|"]
        for w in walls.values():
            if w.get("runs") or w.get("error"):
                runs = ", ".join(f"{r:.2f}" for r in w["runs"]) if w.get("runs") else f"failed: {w['error']}"
                median = "—" if w.get("seconds") is None else f"{w['seconds']:.2f}"
                lines.append(f"| {w['label']} | {median} | {runs} |")
        lines.append("")
    fam_rows = [r for r in families.comparisons(quick) if b.per(f"fam_numpy_{r['key']}") is not None
                or _error(b, f"fam_sim_{r['key']}", f"fam_numpy_{r['key']}")]
    if fam_rows:
        lines += ["## Every family against plain numpy", "",
                  "The same chain written in numpy as a user would (`benchmarks/numpy_chains.py`), vectorised over "
                  "chains, the same chains and generations on both sides; both record only the final model or "
                  "statistic (simcollapse: `record_every=generations` and the fewest metrics).", "",
                  "| comparison | measured | previous report | target | status | simcollapse compile (s) |",
                  "|---|---|---|---|---|---|"]
        for r in fam_rows:
            sim, ref = f"fam_sim_{r['key']}", f"fam_numpy_{r['key']}"
            desc = f"{r['label']} vs numpy (speed-up)"
            row = _row(desc, _ratio(b, ref, sim), "×", "≥", 1.0, previous, error=_error(b, sim, ref))
            comp = b.compile_s(sim)
            lines.append(row + (" — |" if comp is None else f" {comp:.2f} |"))
        lines.append("")
    if b.rows:
        lines += ["## Timings", "",
                  "| run | chain-generations | compile (s) | run (s) | per chain-generation |", "|---|---|---|---|---|"]
    for r in b.rows:
        if r["error"]:
            lines.append(f"| {r['label']} | {r['chain_gens']:,} | — | failed: {r['error']} | — |")
            continue
        comp = "—" if r["compile"] is None else f"{r['compile']:.2f}"
        lines.append(f"| {r['label']} | {r['chain_gens']:,} | {comp} | {r['run']:.3f} | {fmt_per(r['per'])} |")
    lines += ["", "## State per chain", "",
              "Between chunks the driver keeps only each chain's state (recorded statistics go to the host chunk "
              "by chunk), so memory is this times the chains, whatever the number of generations.", "",
              "| chain | bytes per chain |", "|---|---|"]
    lines += [f"| {label} | {size} |" for label, size in notes["state_bytes"]]
    lines += ["", "## What bounds each target", "", "Measured in this run (the notes on each target read these):", ""]
    lines += [f"* {fact}" for fact in measured_facts(b, walls, notes)]
    lines += ["", "What bounds them, from profiling the chains piece by piece (interleaved, in one process):", ""]
    lines += [f"* {why}" for why in BOUNDS]
    lines += ["", "## Accelerators", "", accelerators()]
    return "\n".join(lines) + "\n"


BOUNDS = (
    "XLA's CPU code for float64 `log`, `sin`, `cos` and `erf_inv` is not vectorised (≈ 8, 12, 11 and 10 ns a value "
    "in a generation loop, against ≈ 2.4 ns for `exp` and under 1 ns for `sqrt` or a multiply-add). "
    "`samplers/vecmath.py` computes log and cos/sin(2πu) as polynomials after an exact reduction, which XLA "
    "vectorises: ≈ 1.5 ns each, within 1–2 ulp. Three things keep them vectorised inside the fused loops that also "
    "hash: a division with a single user (XLA does not fuse a division into several users, so a shared one split "
    "the loop and each part hashed again), the exponent taken by a bitcast (an int64 → float64 conversion has no "
    "AVX2 instruction and makes the whole loop scalar), and each normal of a Box–Muller pair computed by its own "
    "element (interleaving the pair's halves is a concatenation that XLA runs element by element, 3× slower). A "
    "normal now costs one Threefry call, half a log and half a cos/sin pair, and the full-sample chain beats numpy.",
    "Where a sum consumes draws directly, recent XLA hands the float64 arithmetic to a YNNPACK fusion and computes "
    "each of its inputs in a separate loop, hashing again in each (≈ 90 ns a normal); the Gaussian chains' programs have no "
    "such fusion, and the `limits` yardsticks turn it off (`xla_cpu_experimental_ynn_fusion_type`).",
    "The sufficient chain (stream 5): per chain-generation it hashes four Threefry words (the generation key and "
    "the χ² candidate's three) and evaluates four vectorised logs, a square root and a cos/sin pair; x̄'s normal "
    "is the sine left over from the candidate's Box–Muller pair, and the boost's uniform (shapes below 1) is "
    "drawn only when some chain of the batch needs it (≈ 113 → 84 ns here, both changes). The chain itself (the "
    "infinite sampler's row) is ≈ 14 ns of that. numpy's step is one ziggurat normal and one gamma built on "
    "ziggurat normals: table lookups, which XLA would run as a gather per value. What would move it: fewer "
    "hash rounds (Salmon et al. find Threefry-2x32 free of detectable defects from 13 rounds; 20 is their safety "
    "margin, kept here), a new stream for a saving of about a third of the hashing.",
    "Sums over a generation's points: an ordered sum unrolled at trace time lets XLA fuse the points' draw into "
    "every row's use, so mvgaussian's exact step computed each normal once per point of its generation (≈ 8 µs a "
    "chain-generation at d = 5, M = 10). The mean's sum now stays a loop of at least two passes, whose input XLA "
    "writes once to memory (≈ 2 µs, numpy's speed), and one point's scatter is the constant 0 (fresh_real's real share: "
    "11 → 2.5 µs). real_pool draws its pool of 1000 points per chain at generation 0 (normals ≈ 14 ns against "
    "numpy's ≈ 8): with 10 generations that start is most of the run.",
    "Rejections (`samplers/redraw.py`): one candidate per element, then passes over the pending ones. What made "
    "rejection sampling slow here was not the redraws but XLA fusing each candidate into every one of its users: a "
    "loop carrying a pending mask, the values and a count of tries computed every candidate three times, and a "
    "second candidate per element doubled that again. Carrying only the values (NaN while pending) and the pass "
    "number took a χ²₉₉ draw at 10⁴ elements from ≈ 90 to ≈ 36 ns (one candidate alone: ≈ 13–16 ns; the rest is "
    "the redraw pass and the boost's uniform). Ratio-of-uniforms draws reject ≈ 27 %, so after the passes over "
    "all elements the pending ones are gathered into a quarter-size array: a Poisson(100) draw at 2·10⁴ "
    "elements went from ≈ 200 to ≈ 117 ns (≈ 85 ns with five levels of gathering, which compiled 2–3× longer).",
    "Counts (bernoulli, poisson, cats): below mean 10 the exact binomial and Poisson draws are inversion searches "
    "(a loop that runs to the largest count of the batch), above it Stadlober's ratio-of-uniforms (per candidate "
    "two Threefry words, a vectorised log and one to four log-gamma differences; ≈ 27 % rejected). Each path runs "
    "on the elements that need it alone when they are a quarter of the batch or fewer (`redraw.on_active`), and "
    "the laws' constants take vectorised logs (see the family rows above for today's figures against numpy's C "
    "samplers). What remains is many small kernels (the paths' conditions, gathers and loop passes, ≈ 2–3 ns an "
    "element each) besides the candidates' hashing. Hörmann's transformed rejection (BTRS/PTRS), tried in numpy at "
    "these means, quick-accepts only 35–80 % of its candidates and accepts 75–89 % overall, so vectorised it would "
    "not beat ratio-of-uniforms; fusing the paths into fewer kernels would move it. The cats chain (200 chains, "
    "N = 60) is bound by the narrow batch: ≈ 2 ms a call of fixed driver cost and ≈ 90 µs a generation of many "
    "small kernels over 256 lanes; taking the inversion's steps four to a loop pass cut its passes 4× but the "
    "time by only 4 %.",
    "GMM: a fit is a few dozen EM iterations over one chain's 1000 points (the count is measured above). Timed alone (d = 2, K′ = 2, 50 iterations "
    "at N = 1000 … 8000), an iteration costs ≈ 15 µs plus ≈ 50 ns a point: at N = 1000 it is mostly arithmetic "
    "(the E-step's log-densities and logsumexp, the M-step's weighted sums), not dispatch. Writing both steps as "
    "elementwise sums for small d made them 2.5–4× faster on their own at 2·10⁵ points and an iteration ≈ 40 % "
    "faster at N = 16 000, but no faster at N ≤ 4000, so it is not in. The chains run one after another "
    "(`lax.map`), so that each fit is computed alone, batch-invariantly, and none waits for the slowest one's EM; "
    "vmapped in lock-step every chain would run to the batch's largest iteration count.",
    "Categorical Zipf: a generation is K − 1 = 5·10⁴ conditional binomials per chain in a tree of 256-wide steps "
    "(`samplers/multinomial.py`), against numpy's sequential C loop (the timings above); the binomial "
    "sampler is the counts' (above), and most cells of a step take its inversion path, whose loop runs to the "
    "largest count among the step's cells. What would move it: a cheaper small-mean binomial; a binary tree "
    "would cut the 2 × 223 sequential steps to 16 levels but not the cost of each binomial.",
    "Compile time: the chain without draws (the infinite sampler's row) compiles in ≈ 0.7 s; the rest is the "
    "samplers' rejection loops, each of which holds its candidate once per pass kind (the first pass, the "
    "passes over the whole batch, the gathered passes). Compiled alone at 10⁴ elements, log χ² takes 1.2 s, "
    "Poisson 2.0 s and binomial 2.5 s; without the gathered level 0.6, 1.1 and 1.4 s, at the run-time cost the "
    "rejections note gives (a Poisson(100) draw ≈ 117 → 200 ns). What would move it: one loop kind that serves "
    "both a full batch and a few pending elements. The persistent compilation cache and the program store make "
    "it a cost of the first run of each config shape only (the CLI rows, cold against warm).",
    "Start-up: `import jax` is ≈ 1.3 s of a warm CLI run (≈ 0.6 s of it ml_dtypes); simcollapse.api imports no "
    "JAX, and a bad value is refused before JAX is imported. The command line keeps its traced programs "
    "(`core/programs.py`, jax.export) beside the compilation cache, so a warm run neither traces nor compiles: "
    "what remains is the imports, reading two programs and writing the results.",
)


def accelerators() -> str:
    """The report's accelerator section: what device the rows above ran on."""
    backend = jax.default_backend()
    if backend == "cpu":
        return ("JAX found no accelerator for this run, so there are no GPU figures yet; "
                "`python -m benchmarks` measures the same rows on whatever device JAX finds, and the chains run "
                "unchanged there (tests never assume a GPU).")
    return (f"The simcollapse rows of this report ran on {backend} ({_device_kinds()}); the numpy and scikit-learn baselines "
            "ran on the host CPU, so their ratios compare the accelerator with the CPU.")


def measured_facts(b: Bench, walls: dict, notes: dict) -> list[str]:
    """One line per measured quantity the notes need; those whose rows failed are left out."""
    per, facts = b.per, []

    def add(text, *values):
        if all(v is not None for v in values):
            facts.append(text)

    m = core.SIZES["gauss_M"][0]
    ratio = _ratio(b, "sim_exact", "bits_normals")
    add(f"Gaussian exact chain / its normals alone: {ratio:.2f}×; one normal from samplers.bits costs "
        f"{fmt_per((per('bits_normals') or 0) / m)} (M = {m} per chain-generation)" if ratio else "", ratio)
    inf, suf, num, draws = per("sim_infinite"), per("sim_sufficient"), per("numpy_sufficient"), per("bits_sufficient")
    add(f"Gaussian infinite sampler (the chain without draws): {fmt_per(inf or 1)} per chain-generation, "
        f"{(inf or 0) / (num or 1):.2f} of numpy's whole sufficient step ({fmt_per(num or 1)})", inf, num)
    add(f"Gaussian sufficient − infinite (what the draws add in the chain): {fmt_per(max((suf or 0) - (inf or 0), 1e-12))}"
        f" per chain-generation; the same draws alone (samplers.bits normal + log χ²): {fmt_per(draws or 1)}",
        suf, inf, draws)
    add(f"GMM EM iterations per fit: simcollapse {notes.get('gmm_iters', 0):.1f}, scikit-learn "
        f"{notes.get('sklearn_iters', 0):.1f}", notes.get("gmm_iters"), notes.get("sklearn_iters"))
    compiles = [(r["label"], r["compile"]) for r in b.rows if r["compile"] is not None]
    if compiles:
        facts.append("Compile seconds of each simcollapse row (first call, as JAX reports it): "
                     + "; ".join(f"{label}: {c:.2f}" for label, c in compiles))
    w = {k: v.get("seconds") for k, v in walls.items()}
    add(f"CLI tiny Gaussian, cold − warm cache: {(w.get('wall_tiny_cold') or 0) - (w.get('wall_tiny_warm') or 0):.2f} s "
        "(compilation the cache saves)", w.get("wall_tiny_cold"), w.get("wall_tiny_warm"))
    add(f"`python -c \"import jax\"`: {w.get('wall_import_jax') or 0:.2f} s; with simcollapse.api: "
        f"{w.get('wall_import_api') or 0:.2f} s; CLI tiny Gaussian warm beyond that: "
        f"{(w.get('wall_tiny_warm') or 0) - (w.get('wall_import_api') or 0):.2f} s",
        w.get("wall_import_jax"), w.get("wall_import_api"), w.get("wall_tiny_warm"))
    for name in ("sufficient", "exact"):
        add(f"CLI {name} Gaussian: cold cache {w.get(f'wall_{name}_cold') or 0:.2f} s, warm "
            f"{w.get(f'wall_{name}_warm') or 0:.2f} s, numpy process {w.get(f'wall_{name}_numpy') or 0:.2f} s",
            w.get(f"wall_{name}_cold"), w.get(f"wall_{name}_warm"), w.get(f"wall_{name}_numpy"))
    add(f"CLI README command: cold cache {w.get('wall_readme_cold') or 0:.2f} s, warm {w.get('wall_readme_warm') or 0:.2f} s",
        w.get("wall_readme_cold"), w.get("wall_readme_warm"))
    failed = [r["label"] for r in b.rows if r["error"]] + [v["label"] for v in walls.values() if v.get("error")]
    if failed:
        facts.append("Failed in this run: " + "; ".join(failed))
    return facts

