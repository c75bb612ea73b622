import math
import os
import tempfile

import jax
import pytest

from simcollapse.testing.assertions import assert_frequency_near, assert_mean_near, mc_mean_se

# The tests call internal JAX functions directly, outside simcollapse's float64 entry points: run the whole test
# process in float64, and its CPU computations in the calling thread (as the command line does).
jax.config.update("jax_enable_x64", True)
jax.config.update("jax_cpu_enable_async_dispatch", False)

# Test files run in separate processes and share many configs: keep compiled programs on disk between them.
jax.config.update("jax_compilation_cache_dir", os.environ.get(
    "SIMCOLLAPSE_TEST_JAX_CACHE", os.path.join(tempfile.gettempdir(), "simcollapse-test-jax-cache")))
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)


# the assertions of simcollapse.testing under the names the tests use
close_mean = assert_mean_near
close_prob = assert_frequency_near


@pytest.fixture
def close_mc():
    return assert_mean_near


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
