"""Checkpoint and resume: a run continued from any chunk boundary equals the uninterrupted run, bit for bit;
a foreign, truncated or corrupted checkpoint is refused with one clear line."""

import os
import random
import signal
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from simcollapse.api import make_config, simulate
from simcollapse.cli import main
from simcollapse.config import ConfigError
from simcollapse.core import checkpoint, driver
from simcollapse.samplers import bits

CONFIG = dict(n_samples=12, generations=30, chains=5, seed=3, record_every=2)


def _stats_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("family,extra", [("gaussian", dict(policy="real_pool", pool_size=30, sampler="exact")),
                                          ("categorical", dict(num_types=4, policy="accumulate"))])
def test_resuming_from_every_chunk_boundary_is_bit_identical(family, extra, tmp_path):
    config = make_config(family, **CONFIG, **extra)
    positions = []
    whole = simulate(config, chunk=3, on_chunk=positions.append)
    assert [p.generation for p in positions] == [0, 6, 12, 18, 24, 30]  # the start, then each chunk
    for position in positions[:-1]:
        checkpoint.save(tmp_path, position, config, checkpoint_every=6)
        loaded, every = checkpoint.load(tmp_path, config)
        assert every == 6 and loaded.generation == position.generation
        resumed = simulate(config, chunk=3, start=loaded)
        assert np.array_equal(resumed.generation, whole.generation)
        assert _stats_equal(resumed.stats, whole.stats), position.generation


def test_a_checkpoint_continues_with_another_lane_count():
    """A run checkpointed with more padding lanes (as on 4 devices) resumes on one device, and vice versa."""
    config = make_config("gaussian", **CONFIG, sampler="exact")
    positions = []
    whole = simulate(config, chunk=3, on_chunk=positions.append)
    states = positions[1].states
    wider = jax.tree.map(lambda x: np.concatenate([x, x[:7]] * 3), states)  # 64 → 213 lanes
    narrower = jax.tree.map(lambda x: x[: CONFIG["chains"]], states)  # 64 → 5 lanes
    for changed in (wider, narrower):
        resumed = simulate(config, chunk=3, start=positions[1]._replace(states=changed))
        assert _stats_equal(resumed.stats, whole.stats)


def _last_data_byte(path, member: str) -> int:
    """Offset in the file of the last byte of an (uncompressed) member of the npz archive."""
    import zipfile

    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(member)
    with open(path, "rb") as f:
        f.seek(info.header_offset + 26)
        name_length, extra_length = np.frombuffer(f.read(4), "<u2")
    return info.header_offset + 30 + int(name_length) + int(extra_length) + info.compress_size - 1


def _run_cli(out, *extra):
    sets = [f"--set={k}={v}" for k, v in CONFIG.items()]
    return main(["run", "gaussian", *sets, "--out", str(out), "--quiet", *extra])


def test_cli_checkpoint_errors_are_one_clear_line(tmp_path, capsys):
    out = tmp_path / "run"
    assert _run_cli(out, "--checkpoint-every", "6") == 0
    assert not (out / checkpoint.FILENAME).exists()  # removed once the results are written
    capsys.readouterr()
    assert main(["resume", str(out)]) == 2
    assert "does not exist" in capsys.readouterr().err

    config = make_config("gaussian", **CONFIG)
    position = driver.Position(6, *_position_at_6(config))
    path = checkpoint.save(out, position, config, checkpoint_every=6)
    good = path.read_bytes()
    number = _last_data_byte(path, "record/w2sq.npy")  # a byte of a number, not of the zip's bookkeeping

    def refused(data: bytes, needle: str):
        path.write_bytes(data)
        code = main(["resume", str(out), "--quiet"])
        err = capsys.readouterr().err
        assert code == 2 and needle in err and err.count("\n") == 1, err

    refused(good[: len(good) // 2], "unreadable")
    flipped = bytearray(good)
    flipped[number] ^= 0xFF
    refused(bytes(flipped), "checkpoint")
    checkpoint.save(out, position, config.replace(n_samples=13), checkpoint_every=6)
    refused(path.read_bytes(), "different config")
    with pytest.raises(ConfigError, match="checkpoint"):
        checkpoint.load(out, config.replace(seed=4))


def test_an_interrupted_run_without_periodic_checkpoints_resumes_without_them(tmp_path, monkeypatch):
    """Ctrl-C without --checkpoint-every saves `checkpoint_every=None`: the resumed run keeps the default
    chunks and writes no checkpoint of its own, and equals the uninterrupted run."""
    whole, out = tmp_path / "whole", tmp_path / "stopped"
    assert _run_cli(whole) == 0
    assert _run_cli(out) == 0
    (out / "stats.npz").unlink()
    config = make_config("gaussian", **CONFIG)
    checkpoint.save(out, driver.Position(6, *_position_at_6(config)), config, checkpoint_every=None)
    monkeypatch.setattr(checkpoint, "save", lambda *a: pytest.fail("the resumed run wrote a checkpoint"))
    assert main(["resume", str(out), "--quiet"]) == 0
    with np.load(whole / "stats.npz") as a, np.load(out / "stats.npz") as b:
        assert _stats_equal(dict(a), dict(b))


def _position_at_6(config):
    positions = []
    simulate(config, chunk=3, on_chunk=positions.append)
    at_6 = next(p for p in positions if p.generation == 6)
    return at_6.states, at_6.records


def test_a_nan_names_its_generation_and_chain():
    def step(key, x):
        return jnp.where(bits.uniform(key) < 0.9, x + 1.0, jnp.nan)  # some chain fails early

    chain = driver.Chain(lambda key: jnp.asarray(0.0), step, lambda x: {"x": x})
    keys = driver.chain_keys(0, np.arange(8) + 100)
    u = np.array([[bits.uniform(bits.fold(bits.Key(hi, lo), t)) for hi, lo in zip(*keys, strict=True)]
                  for t in range(1, 41)])
    generation, column = np.argwhere(u >= 0.9)[0] + [1, 0]  # the first failure, generation-major
    with pytest.raises(driver.NonFiniteError, match=f"generation {generation} of chain {100 + column}") as info:
        driver.run(chain, generations=40, chains=8, chain_indices=np.arange(8) + 100)
    assert info.value.name == "x"
    unbounded = driver.Chain(chain.init, lambda k, x: jnp.full_like(x, jnp.inf), chain.observe, unbounded=("x",))
    assert np.isinf(driver.run(unbounded, generations=3, chains=2).stats["x"][1:]).all()


def test_a_nan_in_a_batched_program_names_its_point():
    chain = driver.Chain(lambda key, p: jnp.asarray(0.0), lambda key, x, p: x + p, lambda x, p: {"x": x})
    points = [(0, jnp.asarray(1.0)), (0, jnp.asarray(2.0)), (0, jnp.asarray(jnp.nan))]
    with pytest.raises(driver.NonFiniteError, match="generation 1 of chain 0 of point 2"):
        driver.run_points(chain, points, generations=3, chains=2)


KILL_CONFIG = ["--set=n_samples=2000", "--set=generations=6000", "--set=chains=64", "--set=seed=11",
               "--set=record_every=10", "--set=metrics=[\"mean\",\"logvar\",\"w2sq\"]"]


def _cli(*args):
    # SIGINT back to its default in the child: a test run started in the background inherits it ignored,
    # and Python installs its KeyboardInterrupt handler only where SIGINT is not ignored.
    return subprocess.Popen([sys.executable, "-m", "simcollapse", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _wait_for(path, proc, timeout=300.0):
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.005)


@pytest.mark.slow
@pytest.mark.parametrize("how", ["SIGKILL", "SIGINT"])
def test_killed_run_resumes_bit_identically(how, tmp_path):
    reference = _cli("run", "gaussian", *KILL_CONFIG, "--out", str(tmp_path / "ref"), "--quiet")
    assert reference.wait() == 0, reference.communicate()

    out = tmp_path / "killed"
    proc = _cli("run", "gaussian", *KILL_CONFIG, "--out", str(out), "--quiet", "--checkpoint-every", "100")
    _wait_for(out / checkpoint.FILENAME, proc)
    time.sleep(random.Random(how).uniform(0.0, 0.05))
    # Freeze the run first, so that a fast machine cannot finish it between this check and the signal.
    os.kill(proc.pid, signal.SIGSTOP)
    assert not (out / "stats.npz").exists(), "the run finished before it was stopped: the test tested nothing"
    os.kill(proc.pid, getattr(signal, how))
    os.kill(proc.pid, signal.SIGCONT)
    code = proc.wait()
    _, err = proc.communicate()
    assert not (out / "stats.npz").exists(), "the run finished before the signal took effect"
    if how == "SIGKILL":
        assert code == -signal.SIGKILL
    else:
        assert code == 130 and "checkpoint written" in err, err

    resumed = _cli("resume", str(out), "--quiet")
    assert resumed.wait() == 0, resumed.communicate()
    with np.load(tmp_path / "ref" / "stats.npz") as a, np.load(out / "stats.npz") as b:
        assert a.files == b.files
        for name in a.files:
            assert np.array_equal(a[name], b[name]), name
    assert not (out / checkpoint.FILENAME).exists()
