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
