"""CLI round trip and clean errors for bad input."""

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest

from simcollapse import families
from simcollapse.api import make_config
from simcollapse.cli import main
from simcollapse.config import ConfigError
from simcollapse.core import results


def test_run_then_plot_round_trip(tmp_path, capsys):
    out = tmp_path / "g"
    code = main(["run", "gaussian", "--set", "n_samples=[10,12,14,16,18]", "--set", "generations=5",
                 "--set", "chains=50", "--set", "ddof=1", "--set", "sampler=exact", "--out", str(out), "--quiet"])
    assert code == 0
    config = json.loads((out / "config.json").read_text())
    assert config["family"] == "gaussian" and config["n_samples"] == [10, 12, 14, 16, 18]
    assert config["policy"] == "replace" and "_provenance" in config  # every default filled in
    stats = np.load(out / "stats.npz")
    assert set(stats.files) == {"generation", "mean", "var", "logvar", "w2sq", "kl"}
    assert stats["var"].shape == (6, 50) and np.allclose(stats["var"][0], 1.0)
    theory = np.load(out / "theory.npz")
    for key in ("E_var", "E_logvar", "E_w2sq", "E_mean_sq_error", "E_std"):
        assert theory[key].shape == (6,)
    assert main(["plot", str(out)]) == 0
    png = out / "overview.png"
    assert png.stat().st_size > 20_000


def test_mvgaussian_run_writes_matrices(tmp_path):
    out = tmp_path / "mv"
    assert main(["run", "mvgaussian", "--set", "dim=3", "--set", "n_samples=8", "--set", "generations=4",
                 "--set", "chains=10", "--set", "cov0=[[1,0,0],[0,2,0],[0,0,3]]", "--out", str(out), "--quiet"]) == 0
    stats = np.load(out / "stats.npz")
    assert stats["cov"].shape == (5, 10, 3, 3) and stats["mean"].shape == (5, 10, 3)
    assert np.load(out / "theory.npz")["E_det_ratio"].shape == (5,)


@pytest.mark.parametrize(
    "sets,field",
    [
        (["ddof=1", "n_samples=1"], "n_samples"),
        (["n_samples=1"], "n_samples"),
        (["real_fraction=1.5", "policy=fresh_real"], "real_fraction"),
        (["var0=-1"], "var0"),
        (["policy=keep_all"], "policy"),
        (["sampler=magic"], "sampler"),
        (["ddof=2"], "ddof"),
        (["generations=0"], "generations"),
        (["n_samples=[10,10]"], "n_samples"),
        (["nsamples=10"], "nsamples"),
        (["policy=accumulate_subsample"], "sampler"),
        (["metrics=[\"kurtosis\"]"], "metrics"),
    ],
)
def test_bad_input_is_one_line_naming_the_field(sets, field, tmp_path, capsys):
    argv = ["run", "gaussian", "--out", str(tmp_path / "x"), "--quiet"]
    for s in sets:
        argv += ["--set", s]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith(f"simcollapse: error: {field}:"), err


def test_wishart_needs_more_samples_than_dimensions():
    with pytest.raises(ConfigError, match="n_samples"):
        make_config("mvgaussian", dim=4, n_samples=4)
    with pytest.raises(ConfigError, match="cov0"):
        make_config("mvgaussian", dim=2, cov0=[[1, 2], [2, 1]])


def test_out_pointing_at_a_file_is_refused(tmp_path, capsys):
    target = tmp_path / "file.txt"
    target.write_text("x")
    assert main(["run", "gaussian", "--out", str(target), "--quiet"]) == 2
    assert "--out" in capsys.readouterr().err


def test_console_script_and_theory_command():
    result = subprocess.run([sys.executable, "-m", "simcollapse", "theory", "gaussian", "--set", "n_samples=10",
                             "--set", "ddof=1", "--set", "generations=20", "--at", "20"],
                            capture_output=True, text=True, check=True)
    line = next(row for row in result.stdout.splitlines() if row.startswith("E_std "))
    assert float(line.split()[-1]) == pytest.approx(0.5744, abs=1e-4)


@pytest.mark.parametrize("family,sets,needle", [
    ("lm", [], "model_dir"),
    ("lm", ["model_dir=\"no/such/dir\"", "data_dir=\"no/such/data\""], "does not exist"),
    ("vae", ["bogus=1"], "bogus"),
])
def test_neural_families_report_bad_input_cleanly(family, sets, needle, tmp_path, capsys):
    argv = ["run", family, "--out", str(tmp_path / "n"), "--quiet"]
    for s in sets:
        argv += ["--set", s]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and needle in err, err


@pytest.mark.parametrize("family", families.names())
def test_config_json_is_the_whole_resolved_config_and_reloads_exactly(family, tmp_path):
    """Every field is saved (a later change of a default cannot change what an old run meant), with versions."""
    config = make_config(family, generations=3, chains=2)
    saved = json.loads(results.write_config(tmp_path, config).read_text())
    assert {f.name for f in dataclasses.fields(config)} | {"family", "_provenance"} == set(saved)
    assert {"simcollapse", "jax", "numpy", "python"} <= set(saved["_provenance"])
    assert saved["_provenance"]["float"] == "float64"
    assert results.load_config(tmp_path) == config


@pytest.mark.parametrize("family,sets,bound", [
    ("gaussian", {"n_samples": 1}, "≥ 2 so"),
    ("gaussian", {"n_samples": 1, "policy": "fresh_real"}, "≥ 2,"),
    ("mvgaussian", {"dim": 3, "n_samples": 1}, "≥ 2 (from 2 to dim = 3"),
])
def test_the_sample_size_bound_is_worded_for_the_family(family, sets, bound):
    with pytest.raises(ConfigError, match="n_samples") as info:
        make_config(family, **sets)
    assert bound in info.value.message
    assert ("dim" in info.value.message) == (family == "mvgaussian")
