"""`simcollapse reproduce`: the experiment list, configs valid at both scales, every small run draws figures."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from simcollapse import reproduce
from simcollapse.cli import main

NAMES = reproduce.names()
SLOW = pytest.mark.slow


def assert_figure_drawn(path):
    """A PNG that is neither blank nor a single colour: grey-level variance and some non-white pixels."""
    import matplotlib.image

    image = matplotlib.image.imread(path)
    grey = image[..., :3].mean(axis=-1)
    assert grey.var() > 1e-3, f"{path.name} looks blank (grey variance {grey.var():.2e})"
    assert (grey < 0.9).mean() > 0.01, f"{path.name} is almost all white"


def test_list_shows_every_experiment(capsys):
    assert main(["reproduce", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(NAMES) >= 10
    for name in NAMES:
        line = next((line for line in lines if line.split()[0] == name), None)
        assert line is not None, f"{name} missing from --list"
        assert reproduce.load(name).summary in line
        assert "small:" in line


@pytest.mark.parametrize("argv", [["reproduce", "no_such_experiment"], ["reproduce", "linreg", "--scale", "huge"],
                                  ["reproduce"]])
def test_user_errors_are_one_line_exit_2(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("simcollapse: error:") and "\n" not in err


@pytest.mark.parametrize("scale", reproduce.SCALES)
@pytest.mark.parametrize("name", NAMES)
def test_every_run_config_is_valid(name, scale):
    """Both scales resolve to configs the families accept (nothing compiles here)."""
    local_files = {"model_dir": "opt-125m", "data_dir": "wikitext-2"}  # given with --set at the paper scale
    experiment = reproduce.load(name, scale, local_files if name == "opt" and scale == "paper" else None)
    assert experiment.runs and experiment.figures and experiment.about
    assert len({run.slug for run in experiment.runs}) == len(experiment.runs)
    reproduce.check(experiment)


def test_the_opt_paper_scale_asks_for_local_files(tmp_path, capsys):
    assert main(["reproduce", "opt", "--scale", "paper", "--out", str(tmp_path / "opt")]) == 2
    assert "model_dir: is required" in capsys.readouterr().err
    assert not (tmp_path / "opt").exists()  # checked before anything runs


def test_small_runs_lighter_than_paper():
    for name in NAMES:
        small, paper = reproduce.load(name, "small"), reproduce.load(name, "paper")
        work = lambda e: sum(r.values.get("chains", 1) * r.values.get("generations", 1) for r in e.runs)
        assert work(small) < work(paper), name


def test_pipeline_on_a_tiny_experiment(tmp_path, monkeypatch):
    """The whole path (run, results directory, figures) on a copy of `linreg` shrunk to one small run."""
    source = reproduce.EXPERIMENTS_DIR / "linreg.toml"
    text = source.read_text().replace("[small.config]\ngenerations = 50\nchains = 1024",
                                      '[small]\nruns = ["accumulate"]\n\n[small.config]\ngenerations = 6\nchains = 64')
    assert text != source.read_text()
    (tmp_path / "exp").mkdir()
    (tmp_path / "exp" / "tiny.toml").write_text(text)
    monkeypatch.setattr(reproduce, "EXPERIMENTS_DIR", tmp_path / "exp")
    paths = reproduce.reproduce("tiny", "small", tmp_path / "out")
    assert sorted(p.suffix for p in paths) == [".pdf", ".png"]
    assert {"config.json", "stats.npz", "theory.npz"} <= {p.name for p in (tmp_path / "out" / "accumulate").iterdir()}
    assert_figure_drawn(next(p for p in paths if p.suffix == ".png"))
    assert next(p for p in paths if p.suffix == ".pdf").stat().st_size > 5000


@SLOW
@pytest.mark.parametrize("name", NAMES)
def test_small_scale_draws_its_figures(name, tmp_path):
    if reproduce.load(name).family == "lm":
        pytest.importorskip("flax")
        pytest.importorskip("tokenizers")
    paths = reproduce.reproduce(name, "small", tmp_path)
    experiment = reproduce.load(name, "small")
    assert len(paths) == 2 * len(experiment.figures)
    for path in paths:
        assert path.is_file() and path.stat().st_size > 5000
        if path.suffix == ".png":
            assert_figure_drawn(path)
    shutil.rmtree(tmp_path)


def test_blank_image_fails_the_figure_check(tmp_path):
    """The pixel check can fail: a white PNG does not pass."""
    import matplotlib.image

    path = tmp_path / "blank.png"
    matplotlib.image.imsave(path, np.ones((50, 50, 3)))
    with pytest.raises(AssertionError):
        assert_figure_drawn(path)
