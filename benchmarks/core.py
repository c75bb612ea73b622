"""The in-process comparisons of the Gaussian, GMM and Zipf chains against the baselines a user would write
(`baselines`) and against their own draws alone (`limits`). Costs are per chain-generation, so baselines may run
fewer chains than simcollapse; the GMM sides run the same generations (early fits take more EM iterations)."""

from __future__ import annotations

import numpy as np

from simcollapse.api import make_config

from . import baselines, limits
from .timing import Bench, Group

# (full, quick) sizes
SIZES = {
    "gauss_chains": (10_000, 10_000),
    "gauss_M": (100, 100),
    "exact_generations": (200, 40),
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


def measure(b: Bench, quick: bool) -> dict:
    """Time the rows into `b`; returns notes (EM iterations of both GMM sides)."""
    s = {k: v[1 if quick else 0] for k, v in SIZES.items()}
    notes = {}
    chains, m = s["gauss_chains"], s["gauss_M"]

    # Gaussian, full sample
    g = s["exact_generations"]
    group = Group(b)
    group.simulate("sim_exact", f"simcollapse gaussian exact (M={m}, {chains:,} chains, {g} gens)",
                   make_config("gaussian", n_samples=m, sampler="exact", generations=g, chains=chains, record_every=g,
                               metrics=["var"]))
    group.baseline("bits_normals", f"its normals alone, samplers.bits (M={m}, {chains:,} chains, {g} gens)",
                   chains * g, lambda: limits.bits_normals(m, chains, g))
    nc, ng = s["numpy_exact_chains"], s["numpy_exact_generations"]
    group.baseline("numpy_exact", f"numpy vectorised, full sample (M={m}, {nc:,} chains, {ng} gens)", nc * ng,
                   lambda: baselines.gaussian_numpy(m, nc, ng), warm=lambda: baselines.gaussian_numpy(m, nc, 1))
    group.run()

    # Gaussian, sufficient statistics
    g = s["sufficient_generations"]
    group = Group(b)
    group.simulate("sim_sufficient", f"simcollapse gaussian sufficient (M={m}, {chains:,} chains, {g} gens)",
                   make_config("gaussian", n_samples=m, sampler="sufficient", generations=g, chains=chains,
                               record_every=g, metrics=["var"]))
    group.simulate("sim_infinite", f"simcollapse gaussian infinite: the chain without draws (M={m}, {chains:,} "
                   f"chains, {g} gens)", make_config("gaussian", n_samples=m, sampler="infinite", generations=g,
                                                     chains=chains, record_every=g, metrics=["var"]))
    group.baseline("bits_sufficient", f"its draws alone, samplers.bits normal + log χ² (M={m}, {chains:,} chains, "
                   f"{g} gens)", chains * g, lambda: limits.bits_sufficient_draws(m, chains, g))
    group.baseline("numpy_sufficient", f"numpy vectorised, sufficient (M={m}, {chains:,} chains, {g} gens)",
                   chains * g, lambda: baselines.gaussian_numpy_sufficient(m, chains, g))
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
    traj = group.run().get("sim_gmm")
    if traj is not None and "em_iterations" in traj.stats:
        notes["gmm_iters"] = float(traj.stats["em_iterations"][1:].mean())
    if sk_iters:
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
    return notes


# (description, numerator key, denominator key, kind, target): ratio = per(numerator) / per(denominator)
TARGETS = [
    ("Gaussian full-sample vs vectorised numpy (speed-up)", "numpy_exact", "sim_exact", "≥", 1.5),
    ("Gaussian full-sample time / its normals alone (samplers.bits)", "sim_exact", "bits_normals", "≤", 1.5),
    ("Gaussian sufficient vs per-chain Python loop (speed-up)", "loop", "sim_sufficient", "≥", 300),
    ("Gaussian sufficient vs numpy sufficient (speed-up)", "numpy_sufficient", "sim_sufficient", "≥", 1.0),
    ("Gaussian sufficient vs own full-sample (speed-up)", "sim_exact", "sim_sufficient", "≥", 20),
    ("GMM vs scikit-learn (1 thread), per chain-generation (speed-up)", "sklearn_gmm", "sim_gmm", "≥", 30),
    ("Categorical Zipf vs numpy multinomial loop (speed-up)", "numpy_cat", "sim_cat", "≥", 2),
]
