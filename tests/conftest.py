import math

import numpy as np
import pytest

import simcollapse  # noqa: F401  (float64 on)


def assert_close_mc(samples, expected, n_se=4.0, what=""):
    """Monte Carlo mean within n_se standard errors of the expectation (SE from the samples)."""
    samples = np.asarray(samples, dtype=float)
    mean = samples.mean()
    se = samples.std(ddof=1) / np.sqrt(samples.size)
    assert abs(mean - expected) <= n_se * se, f"{what}: MC {mean:.6g} ± {se:.2g} vs theory {expected:.6g}"


@pytest.fixture
def close_mc():
    return assert_close_mc


def close_mean(samples, exact, k=4.0):
    """Mean of samples within k standard errors of an exact expectation."""
    samples = np.asarray(samples, dtype=float)
    se = samples.std(ddof=1) / math.sqrt(samples.size)
    assert abs(samples.mean() - exact) <= k * se + 1e-12, (samples.mean(), exact, se)


def close_prob(hits, exact, k=4.0):
    """Frequency of 0/1 hits within k binomial standard errors of an exact probability."""
    hits = np.asarray(hits, dtype=float)
    n = hits.size
    se = math.sqrt(max(exact * (1 - exact), 1.0 / n) / n)
    assert abs(hits.mean() - exact) <= k * se, (hits.mean(), exact, se)
