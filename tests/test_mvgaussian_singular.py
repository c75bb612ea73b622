"""mvgaussian with no more samples than dimensions (M ≤ d): singular fitted covariances carried by a d × M factor,
log det = −∞, rank M − 1, and the trace and mean recursions that still hold (docs/theory.md §W.2), at 4 SE."""

import math

import numpy as np
import pytest

from simcollapse.api import make_config, simulate, theory
from simcollapse.config import ConfigError

METRICS = ["trace", "mean_sq_error", "rank", "logdet", "det_ratio", "w2sq", "kl", "cov"]


@pytest.mark.parametrize(("dim", "m", "ddof", "seed"), [
    (6, 4, 0, 1), (5, 5, 1, 2),
    pytest.param(10, 3, 1, 3, marks=pytest.mark.slow),
])
def test_singular_chain_follows_the_trace_recursion(dim, m, ddof, seed):
    config = make_config("mvgaussian", dim=dim, n_samples=m, ddof=ddof, sampler="exact", generations=6,
                         chains=3000, metrics=METRICS, seed=seed)
    s, curves = simulate(config).stats, theory(config)
    for name in ("trace", "mean_sq_error"):
        x = np.asarray(s[name])
        for t in (1, 3, 6):
            se = x[t].std() / math.sqrt(x.shape[1])
            assert abs(x[t].mean() - curves[f"E_{name}"][t]) <= 4 * se, (name, t, x[t].mean(), se)
    assert np.all(np.asarray(s["rank"])[1:] == m - 1) and np.all(np.asarray(s["rank"])[0] == dim)
    assert np.all(np.asarray(s["logdet"])[1:] == -np.inf) and np.all(np.asarray(s["det_ratio"])[1:] == 0)
    assert np.all(np.isinf(np.asarray(s["kl"])[1:])) and np.all(np.isfinite(np.asarray(s["w2sq"])))
    cov = np.asarray(s["cov"])[3]
    np.testing.assert_allclose(np.trace(cov, axis1=-2, axis2=-1), np.asarray(s["trace"])[3], rtol=1e-12)
    assert np.max(np.linalg.matrix_rank(cov[:50], tol=1e-10 * np.max(np.abs(cov[:50])))) <= m - 1


def test_full_rank_chain_records_its_rank():
    s = simulate(make_config("mvgaussian", dim=3, n_samples=10, generations=2, chains=4,
                             metrics=["rank", "logdet"])).stats
    assert np.all(np.asarray(s["rank"]) == 3) and np.all(np.isfinite(np.asarray(s["logdet"])))


@pytest.mark.parametrize("values", [dict(sampler="sufficient"), dict(policy="accumulate"), dict(fitter="sgd"),
                                    dict(n_samples=1), dict(n_samples={"linear": [3, 1]})])
def test_singular_settings_are_refused(values):
    with pytest.raises(ConfigError):
        make_config("mvgaussian", **({"dim": 5, "n_samples": 3, "sampler": "exact"} | values))
