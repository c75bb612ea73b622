import math
import os
import tempfile

import jax
import numpy as np
import pytest

from simcollapse.testing import mc_mean_se

# The tests call internal JAX functions directly, outside simcollapse's float64 entry points: run the whole test
# process in float64, and its CPU computations in the calling thread (as the command line does).
jax.config.update("jax_enable_x64", True)
jax.config.update("jax_cpu_enable_async_dispatch", False)

# Test files run in separate processes and share many configs: keep compiled programs on disk between them.
jax.config.update("jax_compilation_cache_dir", os.environ.get(
    "SIMCOLLAPSE_TEST_JAX_CACHE", os.path.join(tempfile.gettempdir(), "simcollapse-test-jax-cache")))
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)


def assert_close_mc(samples, expected, n_se=4.0, what=""):
    """Monte Carlo mean within n_se standard errors of the expectation (SE from the samples)."""
    mean, se = mc_mean_se(samples)
    assert abs(mean - expected) <= n_se * se + 1e-12, f"{what}: MC {mean:.6g} ± {se:.2g} vs theory {expected:.6g}"


@pytest.fixture
def close_mc():
    return assert_close_mc


def close_mean(samples, exact, k=4.0):
    """Mean of samples within k standard errors of an exact expectation."""
    assert_close_mc(samples, exact, n_se=k)


def close_prob(hits, exact, k=4.0):
    """Frequency of 0/1 hits within k binomial standard errors of an exact probability."""
    hits = np.asarray(hits, dtype=float)
    n = hits.size
    se = math.sqrt(max(exact * (1 - exact), 1.0 / n) / n)
    assert abs(hits.mean() - exact) <= k * se, (hits.mean(), exact, se)


Z_SCORES = []  # (test, quantity, z) of every `close_z` check, printed in the terminal summary


def close_z(samples, exact, what, k=4.0):
    """Mean of samples within k standard errors of an exact expectation, the z-score kept for the summary."""
    mean, se = mc_mean_se(samples)
    z = (mean - exact) / se if se > 0 else (0.0 if abs(mean - exact) < 1e-12 else math.inf)
    test = os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0]
    Z_SCORES.append((test, what, z))
    assert abs(z) <= k, f"{what}: MC {mean:.6g} ± {se:.2g} vs theory {exact:.6g} (z = {z:.2f})"


def pytest_terminal_summary(terminalreporter, config):
    """The fuzz tests' tally (tests/test_fuzz.py): how many configs ran and how many were refused; the z-scores of
    the `close_z` checks (with -v)."""
    if Z_SCORES and config.getoption("verbose") > 0:
        for test, what, z in Z_SCORES:
            terminalreporter.write_line(f"z {z:+.2f}  {what}  ({test})")
    tally = config.__dict__.get("fuzz_outcomes")
    if tally:
        terminalreporter.write_line("fuzzed configs: " + ", ".join(f"{w} {o} {n}" for (w, o), n in sorted(tally.items())))
