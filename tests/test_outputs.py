"""A rerun into a directory that holds results is refused (one line naming --overwrite); --overwrite first removes
what simcollapse wrote there, and nothing else."""

import dataclasses
import shutil

import numpy as np
import pytest

from simcollapse import neural
from simcollapse.api import make_config
from simcollapse.cli import main
from simcollapse.config import ConfigError
from simcollapse.core import outputs, results
from simcollapse.lm.loop import LMLoopConfig

RUN = ["run", "gaussian", "--set", "n_samples=10", "--set", "generations=3", "--set", "chains=8", "--quiet"]


def _refused(argv, capsys):
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and "--overwrite" in err, err
    return err


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished run with its figure and report, and a file of the user's beside them."""
    out = tmp_path_factory.mktemp("finished") / "g"
    assert main([*RUN, "--out", str(out), "--plot"]) == 0
    assert main(["report", str(out)]) == 0
    (out / "notes.txt").write_text("mine")
    return out


@pytest.fixture
def old_run(finished, tmp_path):
    return shutil.copytree(finished, tmp_path / "g")


def test_rerun_is_refused_and_overwrite_replaces_the_whole_run(old_run, capsys):
    before = (old_run / "stats.npz").read_bytes()
    err = _refused([*RUN, "--set", "seed=1", "--out", str(old_run)], capsys)
    assert err.startswith("simcollapse: error: --out: ") and "already holds results" in err
    assert (old_run / "stats.npz").read_bytes() == before  # untouched

    assert main([*RUN, "--set", "seed=1", "--out", str(old_run), "--overwrite"]) == 0
    names = {p.name for p in old_run.iterdir()}
    assert names == {"config.json", "stats.npz", "theory.npz", "notes.txt"}  # no stale figure or report
    assert (old_run / "notes.txt").read_text() == "mine"
    assert results.load_config(old_run).seed == 1 and (old_run / "stats.npz").read_bytes() != before


@pytest.mark.parametrize("argv", [
    ["reproduce", "gaussian_collapse"],
    ["decompose", "gaussian", "--set", "generations=2"],
    ["sweep", "gaussian", "--grid", "ddof=0,1", "--set", "generations=2", "--set", "chains=2"],
])
def test_every_command_that_writes_runs_refuses_results(argv, old_run, capsys):
    _refused([*argv, "--out", str(old_run), "--quiet"], capsys)


def test_sweep_overwrite_replaces_the_old_points(tmp_path):
    out = tmp_path / "s"
    for i in range(3):  # an earlier sweep of three points
        results.write_config(out / f"point_{i:03d}", make_config("gaussian", seed=i))
    assert main(["sweep", "gaussian", "--set", "n_samples=10", "--set", "generations=3", "--set", "chains=8",
                 "--grid", "ddof=1", "--out", str(out), "--quiet", "--overwrite"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["point_000", "summary.csv", "sweep.npz"]


def test_an_interrupted_run_points_to_resume(tmp_path, capsys):
    out = tmp_path / "stopped"
    out.mkdir()
    (out / "config.json").write_text("{}")
    (out / "checkpoint.npz").write_bytes(b"")
    err = _refused([*RUN, "--out", str(out)], capsys)
    assert f"simcollapse resume {out}" in err


def test_overwrite_removes_only_what_simcollapse_wrote(tmp_path):
    root = tmp_path / "out"
    for name in ("config.json", "stats.npz.tmp", "overview.png", "opt_perplexity.pdf", "report.html", "index.html",
                 "gen_00/model.safetensors", "toy/corpus/wiki.train.raw", "run_a/config.json", "run_a/report.html",
                 "run_b/stats.npz", "run_b/mine.txt", "part-1-of-2/config.json", "mine.png", "data/config.toml"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("x")
    outputs.claim(root, overwrite=True)
    left = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert left == ["data/config.toml", "mine.png", "run_b/mine.txt"]


def test_processes_of_a_multi_host_run_ignore_each_others_parts(tmp_path):
    (tmp_path / "part-0-of-2").mkdir()
    (tmp_path / "part-0-of-2" / "config.json").write_text("{}")
    outputs.claim(tmp_path, skip_parts=True)
    with pytest.raises(ConfigError, match="--overwrite"):
        outputs.claim(tmp_path)


def test_an_unfinished_lm_run_resumes_only_with_the_same_settings(tmp_path):
    config = LMLoopConfig(toy=True, generations=2, out=str(tmp_path))
    results.write_config(tmp_path, config)
    (tmp_path / "gen_00").mkdir()
    assert neural.claim(tmp_path, dataclasses.replace(config, progress=False))  # the rerun continues the run
    with pytest.raises(ConfigError, match="unfinished lm run with other settings.*--overwrite"):
        neural.claim(tmp_path, dataclasses.replace(config, epochs=1))
    results.save_stats(tmp_path, np.arange(3), {})  # finished: a rerun would replace it
    with pytest.raises(ConfigError, match="already holds results.*--overwrite"):
        neural.claim(tmp_path, config)
    assert not neural.claim(tmp_path, config, overwrite=True)
    assert list(tmp_path.iterdir()) == []
