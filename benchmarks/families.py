"""Every family against a plain numpy version of the same chain (`numpy_chains`), in one process.

Each comparison is its own group: simcollapse's `simulate` of the config (compiled by its first call, whose
compile time is reported apart) and the numpy chain, timed round-robin. Both sides run the same chains and
generations and record only the final model or statistic: simcollapse with ``record_every=generations`` and
the fewest metrics the family allows.
"""

from __future__ import annotations

from functools import partial

from simcollapse.api import make_config

from . import numpy_chains
from .timing import Bench, Group, short_error

MV_POLICIES = ("replace", "accumulate", "accumulate_subsample", "fresh_real", "real_pool")


def comparisons(quick: bool) -> list[dict]:
    """key, label, family, config fields, numpy function of (chains, generations), chains, generations."""
    counts = (20_000, 20 if quick else 200)
    rows = [
        dict(key="bernoulli", label="bernoulli (p0=0.2, n=100)", family="bernoulli",
             fields=dict(p0=0.2, n_samples=100, metrics=["p"]),
             numpy=partial(numpy_chains.bernoulli_numpy, n=100, p0=0.2), size=counts),
        dict(key="poisson", label="poisson (λ0=1, n=100)", family="poisson",
             fields=dict(rate0=1.0, n_samples=100, metrics=["rate"]),
             numpy=partial(numpy_chains.poisson_numpy, n=100, rate0=1.0), size=counts),
        dict(key="cats", label="categorical cats (probs0=[0.85,0.15], N=60)", family="categorical",
             fields=dict(probs0=[0.85, 0.15], n_samples=60, metrics=["probs"]),
             numpy=partial(numpy_chains.categorical_numpy, n=60, probs0=(0.85, 0.15)), size=(200, 40)),
    ]
    for policy in MV_POLICIES:
        rows.append(dict(key=f"mv_{policy}", label=f"mvgaussian d=5, M=10, exact, {policy}", family="mvgaussian",
                         fields=dict(dim=5, n_samples=10, sampler="exact", policy=policy, metrics=["mean", "cov"]),
                         numpy=partial(numpy_chains.mvgaussian_numpy, policy, n=10, dim=5),
                         size=(2000, 10 if quick else 50)))
    rows += [
        dict(key="kde", label="kde (defaults: N=100, d=1, Scott)", family="kde", fields=dict(metrics=["var"]),
             numpy=numpy_chains.kde_numpy, size=(1000, 30 if quick else 100)),
        dict(key="linreg", label="linreg (defaults: T=50, d=10, OLS, replace)", family="linreg",
             fields=dict(metrics=["test_error"]), numpy=numpy_chains.linreg_numpy, size=(1000, 30 if quick else 100)),
    ]
    return rows


def measure(bench: Bench, quick: bool) -> list[dict]:
    """Time every comparison into `bench` (keys fam_sim_<key>, fam_numpy_<key>); returns the comparisons."""
    rows = comparisons(quick)
    for row in rows:
        chains, generations = row["size"]
        size = f"{chains:,} chains × {generations} gens"
        group = Group(bench)
        try:
            config = make_config(row["family"], **row["fields"], chains=chains, generations=generations,
                                 record_every=generations)
        except Exception as err:
            bench.fail(f"fam_sim_{row['key']}", f"simcollapse {row['label']}, {size}", chains * generations,
                       short_error(err))
        else:
            group.simulate(f"fam_sim_{row['key']}", f"simcollapse {row['label']}, {size}", config)
        fn = partial(row["numpy"], chains, generations)
        group.baseline(f"fam_numpy_{row['key']}", f"numpy {row['label']}, {size}", chains * generations, fn,
                       warm=partial(row["numpy"], min(chains, 10), 2))
        group.run()
    return rows
