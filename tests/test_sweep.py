"""Sweeps: every grid point is the run of its config, bit for bit; labels and summary; one-line errors."""

import csv
import json

import numpy as np
import pytest

from simcollapse import cli
from simcollapse.api import make_config, simulate
from simcollapse.core import results
from simcollapse.sweep import grid_points, parse_grid, run_sweep

BASE = {"generations": 6, "chains": 5, "seed": 3, "record_every": 2, "metrics": ["logvar", "mean"]}
GRID = {"n_samples": [4, 9], "ddof": [0, 1]}


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep")
    return out, run_sweep("gaussian", BASE, GRID, out)


def test_grid_order_and_parsing():
    assert parse_grid(["n_samples=10,100", "policy=replace,accumulate", "n_samples_list=[1,2],[3]"]) == {
        "n_samples": [10, 100], "policy": ["replace", "accumulate"], "n_samples_list": [[1, 2], [3]]}
    assert grid_points(GRID) == [{"n_samples": 4, "ddof": 0}, {"n_samples": 4, "ddof": 1},
                                 {"n_samples": 9, "ddof": 0}, {"n_samples": 9, "ddof": 1}]


def test_each_point_is_the_direct_run_bit_for_bit(swept):
    out, stacked = swept
    assert stacked["logvar"].shape == (4, 4, 5)  # points, recorded generations (0, 2, 4, 6), chains
    for i, point in enumerate(grid_points(GRID)):
        direct = simulate(make_config("gaussian", **BASE, **point))
        saved = results.load(out / f"point_{i:03d}")
        assert saved["config"] == make_config("gaussian", **BASE, **point)
        for name in ("logvar", "mean"):
            np.testing.assert_array_equal(stacked[name][i], direct.stats[name])
            np.testing.assert_array_equal(saved["stats"][name], direct.stats[name])
        np.testing.assert_array_equal(stacked["generation"][i], direct.generation)


def test_labels_and_summary(swept):
    out, stacked = swept
    assert stacked["grid_keys"].tolist() == ["n_samples", "ddof"] and stacked["grid_shape"].tolist() == [2, 2]
    assert stacked["grid_n_samples"].tolist() == [4, 4, 9, 9] and stacked["grid_ddof"].tolist() == [0, 1, 0, 1]
    assert [json.loads(v) for v in stacked["grid_values"][3]] == [9, 1]
    with np.load(out / "sweep.npz") as f:
        np.testing.assert_array_equal(f["logvar"], stacked["logvar"])
        assert f["theory_E_logvar"].shape == (4, 7)
    with open(out / "summary.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4 and rows[2]["n_samples"] == "9" and rows[2]["generation"] == "6"
    np.testing.assert_allclose(float(rows[2]["logvar_mean"]), stacked["logvar"][2, -1].mean(), rtol=1e-5)
    np.testing.assert_allclose(float(rows[2]["logvar_theory"]), stacked["theory_E_logvar"][2, 6], rtol=1e-5)


def test_seeds_axis_shares_the_compiled_program(tmp_path):
    stacked = run_sweep("gaussian", {**BASE, "n_samples": 4}, {"ddof": [1]}, tmp_path, seeds=2)
    assert stacked["grid_keys"].tolist() == ["ddof", "seed"] and stacked["grid_seed"].tolist() == [3, 4]
    other = simulate(make_config("gaussian", **{**BASE, "seed": 4}, n_samples=4, ddof=1))
    np.testing.assert_array_equal(stacked["logvar"][1], other.stats["logvar"])


def test_summary_only_points(tmp_path):
    base = {**BASE, "n_samples": 4, "summary": True, "chains": 64}
    run_sweep("gaussian", base, {"ddof": [0, 1]}, tmp_path)
    direct = simulate(make_config("gaussian", **base, ddof=1))
    saved = results.load(tmp_path / "point_001")
    np.testing.assert_array_equal(saved["stats"]["logvar"], direct.stats["logvar"])
    with open(tmp_path / "summary.csv") as f:
        row = list(csv.DictReader(f))[1]
    mean, sd = direct.stats["logvar"][-1, :2]  # stored (mean, sd, q10, q50, q90) over chains
    np.testing.assert_allclose(float(row["logvar_mean"]), mean, rtol=1e-5)
    np.testing.assert_allclose(float(row["logvar_se"]), sd / 8, rtol=1e-5)


@pytest.mark.parametrize("argv, field", [
    (["--grid", "n_sample=4,9"], "--grid n_sample: value 4: unknown key"),
    (["--grid", "ddof=0,2"], "--grid ddof"),             # a bad value names the grid key
    (["--grid", "ddof"], "--grid"),                      # no values
    (["--grid", "ddof=0,1", "--set", "ddof=1"], "--grid"),
    (["--set", "ddof=1"], "--grid"),                     # nothing to sweep
    (["--grid", "ddof=0,1", "--seeds", "0"], "--seeds"),
])
def test_bad_grid_is_one_line_exit_2(tmp_path, capsys, argv, field):
    assert cli.main(["sweep", "gaussian", *argv, "--set", "chains=2", "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"simcollapse: error: {field}") and "\n" not in err and "Traceback" not in err
    assert not (tmp_path / "s").exists()  # nothing ran


def test_cli_sweep_writes_the_grid(tmp_path, capsys):
    argv = ["sweep", "gaussian", "--grid", "n_samples=4,9", "--set", "generations=2", "--set", "chains=3",
            "--out", str(tmp_path), "--quiet"]
    assert cli.main(argv) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["point_000", "point_001", "summary.csv", "sweep.npz"]
    assert "wrote 2 runs" in capsys.readouterr().out
    assert cli.main([*argv[:-3], "--out", str(tmp_path / "looped"), "--quiet", "--no-batch"]) == 0
    with np.load(tmp_path / "sweep.npz") as batched, np.load(tmp_path / "looped" / "sweep.npz") as looped:
        assert all(np.array_equal(batched[k], looped[k]) for k in looped.files)


# Batched sweeps: points differing only in batchable fields (and seeds) run as one compiled program, and give
# what the loop over `simulate` gives.
SMALL = {"generations": 5, "chains": 7, "seed": 1, "record_every": 2}
CATS = {**SMALL, "truth": "zipf", "zipf_beta": 1.1, "num_types": 30, "n_samples": 150}
ZIPF = {k: v for k, v in CATS.items() if k != "zipf_beta"}
BATCHED = [
    ("gaussian", {**SMALL, "sampler": "exact", "n_samples": 6}, "ddof", [0, 1]),
    ("gaussian", {**SMALL, "sampler": "sufficient"}, "n_samples", [4, 9, 30]),
    ("gaussian", {**SMALL, "sampler": "infinite", "policy": "accumulate"}, "n_samples", [4, 30]),
    ("gaussian", {**SMALL, "policy": "fresh_real", "n_samples": 40}, "real_fraction", [0.0, 0.25, 1.0]),
    ("gaussian", {**SMALL, "policy": "real_pool", "n_samples": 40, "pool_size": 50}, "real_fraction", [0.1, 0.5]),
    ("mvgaussian", {**SMALL, "dim": 2, "n_samples": 8}, "ddof", [0, 1]),
    ("gaussian", {**SMALL, "policy": "weighted_real", "n_samples": 10, "synthetic_samples": 5}, "real_weight", [0.2, 0.9]),
    ("mvgaussian", {**SMALL, "policy": "weighted_real", "n_samples": 8}, "synthetic_samples", [4, 12]),
    ("categorical", CATS, "temperature", [0.7, 1.0, 1.5]),
    ("categorical", ZIPF, "zipf_beta", [0.5, 1.1, 2.0]),
    ("categorical", {**CATS, "truth": "zipf_mandelbrot"}, "zipf_q", [0.0, 2.5]),
    ("categorical", {**CATS, "policy": "fresh_real"}, "real_fraction", [0.0, 0.3]),
    ("categorical", {**CATS, "sampler": "infinite"}, "min_p", [0.0, 0.01]),
    ("categorical", {**ZIPF, "truth": "probs", "num_types": None}, "probs0",
     [[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]]),
]


@pytest.mark.parametrize("family, base, key, values", BATCHED, ids=[f"{f}-{k}" for f, _, k, _ in BATCHED])
def test_batched_sweep_equals_looped(tmp_path, family, base, key, values):
    from simcollapse.sweep import programs, sweep_configs

    _, configs = sweep_configs(family, base, {key: values}, seeds=2)
    assert programs(configs) == [list(range(len(configs)))]  # one compiled program for the whole grid
    batched = run_sweep(family, base, {key: values}, tmp_path / "b", seeds=2)
    looped = run_sweep(family, base, {key: values}, tmp_path / "l", seeds=2, batch=False)
    assert batched.keys() == looped.keys()
    for name, value in looped.items():
        np.testing.assert_array_equal(batched[name], value, err_msg=name)  # bit for bit


def test_shape_changing_keys_loop():
    from simcollapse.sweep import programs, sweep_configs

    _, configs = sweep_configs("gaussian", {**SMALL, "sampler": "exact"}, {"n_samples": [4, 9], "ddof": [0, 1]})
    assert programs(configs) == [[0, 1], [2, 3]]  # M_t is an array shape for the exact sampler; ddof is not
    _, configs = sweep_configs("categorical", CATS, {"top_k": [2, 5]})
    assert programs(configs) == [[0], [1]]
    assert programs(configs[:1] * 3, batch=False) == [[0], [1], [2]]
