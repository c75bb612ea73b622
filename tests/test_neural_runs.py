"""`lm` and `vae` runs are run directories like any other: `plot` and `report` read them, their config errors name
the field, and without flax the error is one line naming the extra to install."""

import json
import sys

import numpy as np
import pytest

from simcollapse.cli import main
from simcollapse.core import results


def _run(argv, capsys):
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.err.strip()


@pytest.mark.parametrize("family,sets,field", [
    ("lm", ["toy=true", "generations=-1"], "generations"),
    ("lm", ["toy=true", "real_fraction=2"], "real_fraction"),
    ("lm", ["toy=true", "init=\"random\""], "init"),
    ("lm", ["toy=true", "out=\"elsewhere\""], "out"),
    ("vae", ["epochs=0"], "epochs"),
    ("vae", ["data=\"mnist\""], "data_path"),
])
def test_config_errors_name_the_field_also_without_flax(family, sets, field, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "flax", None)  # as on an install without the extra: importing flax fails
    argv = ["run", family, "--out", str(tmp_path / "n"), "--quiet"] + [a for s in sets for a in ("--set", s)]
    code, err = _run(argv, capsys)
    assert code == 2 and "\n" not in err and err.startswith(f"simcollapse: error: {field}: "), err


@pytest.mark.parametrize("family", ["lm", "vae"])
def test_a_missing_extra_names_the_pip_command(family, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "flax", None)
    sets = ["--set", "toy=true"] if family == "lm" else []
    old = tmp_path / "n"
    old.mkdir()
    (old / "stats.npz").write_bytes(b"an earlier run")
    code, err = _run(["run", family, *sets, "--out", str(old), "--quiet", "--overwrite"], capsys)
    assert code == 2 and "\n" not in err, err
    assert err.startswith("simcollapse: error: family: ") and "flax" in err
    assert f"pip install 'simcollapse[{family}]'" in err
    assert (old / "stats.npz").is_file()  # nothing removed for a run that cannot start


TINY = {
    "vae": ["generations=1", "epochs=1", "latent=2", "hidden=8", "n_eval=50", "grid=2"],
    "lm": ["toy=true", "generations=1", "epochs=1", "block=16", "new_tokens=16", "batch_size=32",
           "max_train_blocks=32", "max_eval_blocks=32", "prompt=\"The cat\""],
}


@pytest.mark.parametrize("family", ["vae", "lm"])
def test_plot_and_report_read_a_neural_run(family, tmp_path, capsys):
    pytest.importorskip("flax")
    pytest.importorskip("sklearn" if family == "vae" else "tokenizers")
    out = tmp_path / family
    argv = ["run", family, "--out", str(out), "--quiet"] + [a for s in TINY[family] for a in ("--set", s)]
    code, err = _run(argv, capsys)
    assert code == 0, err
    run = results.load(out)
    assert run["config"].family == family and run["config"].generations == 1
    assert list(run["generation"]) == [0, 1]
    assert set(run["stats"]) == set(run["config"].metrics)
    for name, values in run["stats"].items():
        assert values.shape == (2, 1), name
    assert (out / "metrics.json").is_file()  # kept beside stats.npz
    headline = "test_ppl" if family == "lm" else "latent_std"
    assert np.all(np.isfinite(run["stats"][headline]))

    assert main(["plot", str(out)]) == 0
    assert (out / "overview.png").stat().st_size > 10_000
    assert main(["report", str(out)]) == 0
    page = (out / "report.html").read_text(encoding="utf-8")
    assert f"<td>{headline}</td>" in page and "1 chain ×" in page
    saved = json.loads((out / "config.json").read_text())
    assert saved["family"] == family and "_provenance" in saved
