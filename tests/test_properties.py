"""Hypothesis properties of the Gaussian chains."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from simcollapse.api import make_config, simulate

settings.register_profile("simcollapse", deadline=None, max_examples=4)
settings.load_profile("simcollapse")


@given(m=st.integers(2, 60), ddof=st.sampled_from([0, 1]), sampler=st.sampled_from(["sufficient", "exact"]),
       seed=st.integers(0, 10**6))
def test_variance_positive_finite_and_log_variance_drifts_down(m, ddof, sampler, seed):
    config = make_config("gaussian", n_samples=m, ddof=ddof, sampler=sampler, generations=30, chains=400, seed=seed,
                         metrics=["var", "logvar"])
    stats = simulate(config).stats
    assert np.all(np.isfinite(stats["logvar"])) and np.all(stats["var"] > 0)
    # E log σ_n² = n[ψ(k/2) + log(2/(M−δ))] < 0 (Jensen): ≥ 10 SE below 0 for these sizes
    assert stats["logvar"][30].mean() < 0


@settings(max_examples=3)
@given(m=st.integers(5, 50), ddof=st.sampled_from([0, 1]), seed=st.integers(0, 10**6))
def test_accumulate_keeps_the_typical_variance_above_replace(m, ddof, seed):
    kw = dict(n_samples=m, ddof=ddof, generations=40, chains=300, seed=seed, metrics=["logvar"])
    replace = simulate(make_config("gaussian", **kw)).stats["logvar"][40]
    accumulate = simulate(make_config("gaussian", policy="accumulate", **kw)).stats["logvar"][40]
    assert np.median(accumulate) > np.median(replace)


@settings(max_examples=25)  # each (d, n_samples, ddof) compiles its own chain
@given(d=st.integers(1, 4), extra=st.integers(0, 6), ddof=st.sampled_from([0, 1]), seed=st.integers(0, 10**6))
def test_wishart_covariances_stay_symmetric_positive_definite(d, extra, ddof, seed):
    config = make_config("mvgaussian", dim=d, n_samples=d + 1 + extra, ddof=ddof, generations=25, chains=20, seed=seed,
                         metrics=["cov", "logdet"])
    stats = simulate(config).stats
    cov, logdet = stats["cov"], stats["logdet"]
    assert np.all(np.isfinite(logdet))  # carried in log space: finite even where Σ underflows
    assert np.allclose(cov, np.swapaxes(cov, -1, -2))
    scale = np.trace(cov, axis1=-2, axis2=-1)[..., None]
    assert np.all(np.linalg.eigvalsh(cov) >= -1e-12 * scale)
    eig = np.linalg.eigvalsh(cov)
    representable = (logdet > -600) & (eig[..., 0] > 1e-8 * eig[..., -1])  # where float64 Σ still holds det
    assert np.allclose(np.linalg.slogdet(cov)[1][representable], logdet[representable], atol=1e-6)


def test_error_ordering_replace_subsample_accumulate():
    """docs/theory.md §P.4: replace ≥ accumulate-subsample ≥ accumulate in error (no closed form for the middle)."""
    kw = dict(n_samples=20, generations=30, chains=300, seed=1, sampler="exact", metrics=["w2sq"])
    errors = [simulate(make_config("gaussian", policy=p, **kw)).stats["w2sq"][30].mean()
              for p in ("replace", "accumulate_subsample", "accumulate")]
    assert errors[0] > errors[1] > errors[2]
