"""Device and host counts never change results: the chain axis sharded over 4 (forced) CPU devices, and two
processes on localhost joined by jax.distributed, give the single-device results bit for bit."""

import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from simcollapse.api import make_config, simulate

CONFIGS = [
    ("gaussian", dict(sampler="exact", n_samples=20)),
    ("gaussian", dict(sampler="sufficient", n_samples=20, policy="accumulate")),
    ("mvgaussian", dict(dim=2, sampler="exact", n_samples=20, policy="fresh_real", real_fraction=0.25)),
    ("categorical", dict(num_types=5, n_samples=20)),
    ("gmm", dict(n_samples=60, em_iters=50)),
]
COMMON = dict(generations=6, chains=70, seed=4)

SCRIPT = textwrap.dedent("""
    import json, sys
    import jax, numpy as np
    from simcollapse.api import make_config, simulate
    assert jax.local_device_count() == 4, jax.devices()
    out = {}
    for i, (family, extra) in enumerate(json.loads(sys.argv[1])):
        for name, values in simulate(make_config(family, **extra)).stats.items():
            out[f"{i}/{name}"] = values
    np.savez(sys.argv[2], **out)
""")


def test_four_devices_give_single_device_results_bit_for_bit(tmp_path):
    configs = [(family, {**extra, **COMMON}) for family, extra in CONFIGS]
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4"}
    subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(configs), str(tmp_path / "sharded.npz")], env=env,
                   check=True, timeout=600)
    with np.load(tmp_path / "sharded.npz") as sharded:
        for i, (family, extra) in enumerate(configs):
            for name, values in simulate(make_config(family, **extra)).stats.items():
                assert np.array_equal(sharded[f"{i}/{name}"], values, equal_nan=True), (family, name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


RUN = ["run", "gaussian", "--set=n_samples=15", "--set=generations=7", "--set=chains=9", "--set=seed=8",
       "--set=sampler=exact", "--quiet"]


@pytest.mark.slow
def test_two_processes_on_localhost_give_the_one_process_results(tmp_path):
    one = subprocess.run([sys.executable, "-m", "simcollapse", *RUN, "--out", str(tmp_path / "one")],
                         capture_output=True, text=True, timeout=600)
    assert one.returncode == 0, one.stderr
    port = _free_port()
    procs = [
        subprocess.Popen([sys.executable, "-m", "simcollapse", *RUN, "--out", str(tmp_path / "two"),
                          "--coordinator", f"localhost:{port}", "--num-processes", "2", "--process-id", str(i)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(2)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == ["config.json", "stats.npz", "theory.npz"]
    with np.load(tmp_path / "one" / "stats.npz") as a, np.load(tmp_path / "two" / "stats.npz") as b:
        assert a.files == b.files and b["mean"].shape == (8, 9)
        for name in a.files:
            assert np.array_equal(a[name], b[name]), name


@pytest.mark.parametrize("sampler", ["sufficient", "exact"])
@pytest.mark.parametrize("dim", [2, 3])
def test_mvgaussian_chain_alone_matches_it_among_1000_bit_for_bit(sampler, dim):
    """1000 chains pad to 1024 lanes and one chain to 64: XLA vectorises the two batches differently, which
    every statistic's arithmetic must not see."""
    config = make_config("mvgaussian", dim=dim, sampler=sampler, n_samples=10, generations=8, chains=1000, seed=3)
    among = simulate(config).stats
    for i in (0, 637, 999):
        alone = simulate(config, chain_indices=[i]).stats
        assert alone.keys() == among.keys()
        for name, values in among.items():
            assert np.array_equal(alone[name][:, 0], values[:, i]), (sampler, dim, i, name)
