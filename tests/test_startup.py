"""Start-up: importing simcollapse leaves JAX alone, a bad value is refused before JAX is imported, the command
line's compilation cache (on, moved, off, unwritable), and Ctrl-C answered with a checkpoint long before the
first --checkpoint-every interval."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from simcollapse.core import cache


def _python(code: str, **env):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **env})


def test_importing_simcollapse_changes_no_jax_setting_and_results_stay_float64():
    out = _python(
        "import jax, jax.numpy as jnp, simcollapse, simcollapse.api as api\n"
        "assert jnp.ones(2).dtype == jnp.float32, 'import turned float64 on'\n"
        "run = api.simulate(api.make_config('gaussian', generations=3, chains=5))\n"
        "assert run.stats['var'].dtype == 'float64' and run.stats['var'][1:].std() > 0\n"
        "assert jnp.ones(2).dtype == jnp.float32, 'simulate left float64 on'\n"
        "assert jax.config.jax_compilation_cache_dir is None\n"
        "print('ok')")
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr


@pytest.mark.parametrize("family", ["gaussian", "mvgaussian", "categorical", "poisson", "bernoulli"])
def test_a_bad_value_is_refused_before_jax_is_imported(family):
    out = _python(
        "import sys\nfrom simcollapse.cli import main\n"
        f"code = main(['run', '{family}', '--set', 'generations=-1', '--out', 'never-written'])\n"
        "assert code == 2 and 'jax' not in sys.modules, (code, 'jax' in sys.modules)\nprint('ok')")
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr
    assert out.stderr.strip().splitlines() == ["simcollapse: error: generations: must be ≥ 1, got -1"]


def test_cache_directory_follows_xdg_and_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv(cache.ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.default_dir() == tmp_path / "xdg" / "simcollapse" / "jax"
    monkeypatch.setenv(cache.ENV, str(tmp_path / "mine"))
    assert cache.default_dir() == tmp_path / "mine"
    for off in ("off", "0", ""):
        monkeypatch.setenv(cache.ENV, off)
        assert cache.default_dir() is None and cache.enable() is None


def test_the_command_line_fills_its_cache_and_an_unwritable_one_only_warns(tmp_path):
    run = [sys.executable, "-m", "simcollapse", "run", "gaussian", "--set", "generations=4", "--set", "chains=3",
           "--quiet"]
    where = tmp_path / "cache"
    first = subprocess.run([*run, "--out", str(tmp_path / "a")], capture_output=True, text=True, timeout=300,
                           env={**os.environ, cache.ENV: str(where)})
    assert first.returncode == 0, first.stderr
    assert any(where.iterdir()), "no compiled program was cached"
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    second = subprocess.run([*run, "--out", str(tmp_path / "b")], capture_output=True, text=True, timeout=300,
                            env={**os.environ, cache.ENV: str(blocker / "cache")})
    assert second.returncode == 0, second.stderr
    assert second.stderr.count("not writable") == 1
    assert np.array_equal(np.load(tmp_path / "a" / "stats.npz")["var"], np.load(tmp_path / "b" / "stats.npz")["var"])


def _interrupted(command, ready, after, env=None):
    """Run `command`, send SIGINT `after` seconds past `ready()`; (return code, stderr)."""
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 240
    while not ready() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(after)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)  # the runs take many minutes: they must stop at the next call
    return process.returncode, err


def test_ctrl_c_stops_soon_and_checkpoints_before_the_first_interval(tmp_path):
    out = tmp_path / "run"
    command = [sys.executable, "-m", "simcollapse", "--no-cache", "run", "gaussian", "--set", "generations=200000",
               "--set", "n_samples=2000", "--set", "sampler=exact", "--set", "chains=64", "--set", "record_every=200000",
               "--quiet", "--checkpoint-every", "199999", "--out", str(out)]
    code, err = _interrupted(command, (out / "config.json").exists, after=8)  # past compilation
    assert code == 130, err
    assert (out / "checkpoint.npz").exists() and "checkpoint written" in err


def test_ctrl_c_while_the_first_programs_compile_into_a_cold_cache_exits_cleanly(tmp_path):
    """Interrupts that land while XLA compiles and caches the first programs: exit 130 every time, never a
    crash of the interpreter's teardown (seen as a segmentation fault after the checkpoint was written,
    in about half the runs interrupted there), and a checkpoint whenever generation 0 was done."""
    written = 0
    for attempt, after in enumerate((2.0, 3.0, 4.0, 5.0)):
        out, where = tmp_path / f"run{attempt}", tmp_path / f"cache{attempt}"
        command = [sys.executable, "-m", "simcollapse", "run", "gaussian", "--set", "generations=100000",
                   "--set", "chains=100000", "--quiet", "--out", str(out)]
        code, err = _interrupted(command, (out / "config.json").exists, after, env={**os.environ, cache.ENV: str(where)})
        assert code == 130, err
        if "checkpoint written" in err:
            assert (out / "checkpoint.npz").exists()
            written += 1
    assert written, "no interrupt came after generation 0"
