"""`simcollapse decompose`: the 2³ error-source combinations, their configs, tables, figure and CLI errors."""

import csv

import numpy as np
import pytest

from simcollapse import decompose as dc
from simcollapse import mixture
from simcollapse.cli import main
from simcollapse.config import ConfigError
from simcollapse.mixture import GMMParams


def test_combinations_are_the_eight_patterns_from_none_to_all():
    patterns = dc.combinations()
    assert len(set(patterns)) == 8
    assert patterns[0] == (False, False, False) and patterns[-1] == (True, True, True)
    assert [sum(p) for p in patterns] == sorted(sum(p) for p in patterns)


@pytest.mark.parametrize("family", sorted(dc.FAMILIES))
def test_each_switch_sets_its_keys_and_nothing_else(family):
    runs = dict(dc.configs(family, {"generations": 3, "chains": 2}))
    switches = dc.FAMILIES[family].switches
    for pattern, config in runs.items():
        assert config.generations == 3 and config.chains == 2
        for switch, flag in zip(switches, pattern):
            for key, value in (switch.on if flag else switch.off).items():
                assert getattr(config, key) == value
    # the statistical switch is the sampler in every decomposition
    assert runs[(False, False, False)].sampler == "infinite" and runs[(True, False, False)].sampler == "exact"


def test_a_switched_key_in_set_is_rejected():
    with pytest.raises(ConfigError) as err:
        dc.configs("gmm", {"sampler": "exact"})
    assert err.value.field == "sampler"


def test_a_switched_value_the_base_config_makes_invalid_says_so():
    with pytest.raises(ConfigError) as err:
        dc.configs("linreg", {"dim": 3})  # the expressivity switch fits 5 features
    assert err.value.field == "fit_dim" and "decompose linreg sets" in str(err.value) and "--set" in str(err.value)


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert main(["decompose", "gmm", "--set", "sampler=exact", "--out", str(tmp_path)]) == 2
    assert main(["decompose", "gaussian", "--metric", "covs", "--out", str(tmp_path)]) == 2
    assert main(["decompose", "gaussian", "--set", "n_samples=0", "--out", str(tmp_path)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("simcollapse: error:") for line in lines)
    assert "sampler" in lines[0] and "--metric" in lines[1] and "n_samples" in lines[2]


def test_tables_and_figure(tmp_path):
    rng = np.random.default_rng(0)
    generation = np.arange(6)
    rows = [dc.Row(p, generation, rng.lognormal(size=(6, 5)) * (1 + i)) for i, p in enumerate(dc.combinations())]
    paths = dc.write_tables(rows, "l2_to_truth", tmp_path) + dc.figure(rows, "l2_to_truth", "test", tmp_path)
    assert all(p.is_file() and p.stat().st_size > 0 for p in paths)
    with open(tmp_path / "decompose.csv") as f:
        table = list(csv.DictReader(f))
    assert len(table) == 8 and table[0]["statistical"] == "off" and table[-1]["approximation"] == "on"
    last = rows[3].values[-1]
    np.testing.assert_allclose(float(table[3]["mean_last"]), last.mean())
    np.testing.assert_allclose(float(table[3]["se_last"]), last.std(ddof=1) / np.sqrt(5))
    np.testing.assert_allclose(float(table[3]["mean_all"]), rows[3].values[1:].mean())
    assert (tmp_path / "decompose.md").read_text().count("\n| ") == 9  # header and 8 rows


@pytest.mark.slow
def test_gaussian_decomposition_end_to_end(tmp_path):
    """Small gaussian table: no error → the truth stays; expressivity alone → the truth's moment-matched Gaussian
    from generation 1 on; approximation alone (ddof) → nothing; sampling → the model drifts away."""
    out = tmp_path / "dec"
    assert main(["decompose", "gaussian", "--set", "generations=4", "--set", "chains=64", "--set", "n_samples=50",
                 "--set", "quadrature_points=200", "--out", str(out), "--quiet"]) == 0
    table = _table(out)
    mean = {k: float(r["mean_last"]) for k, r in table.items()}
    assert mean[("off", "off", "off")] < 1e-6 and mean[("off", "off", "on")] < 1e-6
    truth = GMMParams(np.full(2, 0.5), np.array([[-2.0], [2.0]]), np.ones((2, 1, 1)))
    m, c = mixture.moment_match(truth)
    expected = float(mixture.l2_distance(GMMParams(np.ones(1), np.asarray(m)[None], np.asarray(c)[None]), truth))
    for approximation in ("off", "on"):
        np.testing.assert_allclose(mean[("off", "on", approximation)], expected, rtol=1e-8)
    se = float(table[("on", "off", "off")]["se_last"])
    assert mean[("on", "off", "off")] > 4 * se
    assert all((out / name).is_file() for name in ("decompose.md", "decompose.png", "decompose.pdf"))


@pytest.mark.slow
def test_gmm_decomposition_end_to_end(tmp_path):
    """Small gmm table (truth ½N((−2, 0), I) + ½N((2, 0), I), reg_covar 0, 10×10 quadrature nodes). With the
    infinite sampler every row is deterministic given the chain's key, and here the same in every chain:
    no error → EM warm-started at the truth stays there up to the quadrature error and EM's tol (measured L2
    4e-4 per generation, 1.3e-3 at generation 3); expressivity alone → the truth's moment-matched Gaussian from
    generation 1 on, whether approximation is on or not (the closed-form fit ignores the EM switches);
    approximation alone (one EM iteration from a fresh k-means start each generation) → a drift 5× the no-error
    floor (6.5e-3 at generation 3, the same in all 4 chains); sampling → the model drifts away."""
    out = tmp_path / "dec"
    sets = {"generations": 3, "chains": 4, "n_samples": 50, "quadrature_points": 100, "reg_covar": 0.0}
    assert main(["decompose", "gmm", *[a for k, v in sets.items() for a in ("--set", f"{k}={v}")], "--out", str(out),
                 "--quiet"]) == 0
    table = _table(out)
    mean = {k: float(r["mean_last"]) for k, r in table.items()}
    se = {k: float(r["se_last"]) for k, r in table.items()}
    none, approximation = ("off", "off", "off"), ("off", "off", "on")
    assert mean[none] < 2e-3 and se[none] < 1e-12
    # expressivity alone: the moment-matched Gaussian of the truth, constant from generation 1
    config = dict(dc.configs("gmm", sets))[(False, True, False)]
    truth = GMMParams(*(np.asarray(a) for a in config.truth()))
    m, c = mixture.moment_match(truth)
    expected = float(mixture.l2_distance(GMMParams(np.ones(1), np.asarray(m)[None], np.asarray(c)[None]), truth))
    for key in (("off", "on", "off"), ("off", "on", "on")):
        np.testing.assert_allclose(mean[key], expected, rtol=1e-8)
        np.testing.assert_allclose(float(table[key]["mean_all"]), expected, rtol=1e-8)
    assert mean[none] < expected / 50
    # approximation alone: deterministic here (SE ≈ 0) and well above the no-error floor
    assert se[approximation] < 1e-9 * mean[approximation]
    assert mean[approximation] > 3 * mean[none]
    assert float(table[approximation]["mean_all"]) < mean[approximation]  # it keeps moving away
    statistical = ("on", "off", "off")
    assert mean[statistical] > mean[none] + 4 * se[statistical]
    assert all((out / name).is_file() for name in ("decompose.md", "decompose.png", "decompose.pdf"))


def _table(out):
    with open(out / "decompose.csv") as f:
        return {(r["statistical"], r["expressivity"], r["approximation"]): r for r in csv.DictReader(f)}


def test_linreg_decomposition(tmp_path):
    """No error → w* stays (test error 0); expressivity alone → the omitted-variable fit, constant from generation
    1 (theory.linreg); approximation alone (early-stopped steps from 0) → shrinks towards 0; sampling → drifts."""
    out = tmp_path / "dec"
    assert main(["decompose", "linreg", "--set", "generations=6", "--set", "chains=400", "--out", str(out),
                 "--quiet"]) == 0
    table = _table(out)
    mean = {k: float(r["mean_last"]) for k, r in table.items()}
    se = {k: float(r["se_last"]) for k, r in table.items()}
    assert mean[("off", "off", "off")] < 1e-20
    expected = 0.5 * (1 + 5 / 44)  # ‖w*₂‖² (1 + d′/(T − d′ − 1)), w* = (1, …, 1)/√10, d′ = 5
    assert abs(mean[("off", "on", "off")] - expected) < 4 * se[("off", "on", "off")]
    for key in (("off", "off", "on"), ("on", "off", "off")):
        assert mean[key] > 4 * se[key]
    # mean over generations 1–6 equals the last generation when only expressivity acts
    np.testing.assert_allclose(float(table[("off", "on", "off")]["mean_all"]), mean[("off", "on", "off")], rtol=1e-10)


def test_categorical_decomposition(tmp_path):
    """No error → the truth stays (tv 0); truncation alone → the truth cut to its 50 largest types from generation
    1 on; temperature alone → the map p ∝ p^{1/T} compounding; sampling → drift."""
    out = tmp_path / "dec"
    assert main(["decompose", "categorical", "--set", "generations=5", "--set", "chains=200", "--out", str(out),
                 "--quiet"]) == 0
    table = _table(out)
    mean = {k: float(r["mean_last"]) for k, r in table.items()}
    assert mean[("off", "off", "off")] < 1e-12
    p = np.arange(1, 101) ** -1.1
    p /= p.sum()
    np.testing.assert_allclose(mean[("off", "on", "off")], p[50:].sum(), rtol=1e-9)  # tv of the renormalised cut
    q = p ** (0.9 ** -5)
    np.testing.assert_allclose(mean[("off", "off", "on")], 0.5 * np.abs(q / q.sum() - p).sum(), rtol=1e-9)
    se = float(table[("on", "off", "off")]["se_last"])
    assert mean[("on", "off", "off")] > 4 * se
