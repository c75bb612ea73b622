"""Summary-only runs: the stored mean/sd/quantiles equal those of the full per-chain run, bit for bit, and
memory stays flat as generations grow."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from simcollapse.api import make_config, simulate
from simcollapse.cli import main
from simcollapse.core.summary import FIELDS, summarize


def test_summary_equals_the_summary_of_every_chain():
    config = make_config("mvgaussian", dim=2, n_samples=10, generations=30, chains=150, record_every=4)
    full = simulate(config).stats
    short = simulate(config.replace(summary=True), chunk=2).stats
    for name, values in full.items():
        assert short[name].shape == (values.shape[0], len(FIELDS), *values.shape[2:])
        assert np.array_equal(short[name], summarize(values)), name
    _, sd, q10, q50, q90 = np.moveaxis(short["trace"], 1, 0)
    assert np.all(q10 <= q50) and np.all(q50 <= q90) and np.all(sd >= 0)


def test_summary_run_plots_and_reports(tmp_path):
    out = tmp_path / "run"
    sets = ["--set=n_samples=10", "--set=generations=20", "--set=chains=40", "--set=summary=true"]
    assert main(["run", "gaussian", *sets, "--out", str(out), "--quiet", "--plot"]) == 0
    assert (out / "overview.png").stat().st_size > 10_000
    assert main(["report", str(out)]) == 0
    assert "theory" in (out / "report.html").read_text()


PEAK = textwrap.dedent("""
    import resource, sys
    from simcollapse.api import make_config, simulate
    config = make_config("gaussian", n_samples=10, generations=int(sys.argv[1]), chains=2048, summary=True)
    simulate(config)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)  # KiB
""")


@pytest.mark.slow
def test_peak_memory_is_flat_in_generations():
    peaks = [int(subprocess.run([sys.executable, "-c", PEAK, str(g)], capture_output=True, text=True, check=True,
                                timeout=600).stdout) for g in (1000, 8000)]
    # per-chain records would add 2048 chains × 7000 generations × 5 metrics × 8 B ≈ 570 MB; summaries ≈ 1 MB
    assert peaks[1] - peaks[0] < 60_000, peaks
