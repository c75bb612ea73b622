"""The built wheel is enough: installed into a fresh virtual environment, `simcollapse reproduce --list` run outside
the checkout lists every experiment (they are package data)."""

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from simcollapse import reproduce

ROOT = Path(__file__).resolve().parents[1]


def _run(*command, cwd=None):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # nothing may point back at the checkout
    done = subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=env, timeout=600)
    assert done.returncode == 0, (command, done.stdout[-2000:], done.stderr[-2000:])
    return done.stdout


@pytest.mark.slow
def test_reproduce_list_from_an_installed_wheel(tmp_path):
    # build from a copy: setuptools writes build/ and *.egg-info next to the sources
    source = tmp_path / "source"
    shutil.copytree(ROOT / "simcollapse", source / "simcollapse", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path / "dist"), str(source))
    wheel = next((tmp_path / "dist").glob("simcollapse-*.whl"))

    # a fresh environment holding only the wheel; the dependencies come from this interpreter's environment
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", str(venv))
    python = venv / "bin" / "python"
    site = Path(_run(str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip())
    _run(sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target", str(site), str(wheel))
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = _run(str(python), "-c", "import simcollapse; print(simcollapse.__file__)", cwd=elsewhere)
    assert Path(where.strip()).is_relative_to(site), where  # the wheel's copy, not the checkout
    listed = _run(str(python), "-m", "simcollapse", "reproduce", "--list", cwd=elsewhere).splitlines()
    assert [line.split()[0] for line in listed] == reproduce.names() and len(listed) >= 10


def test_the_experiments_are_declared_package_data():
    # the quick half of the check above: the wheel ships what pyproject declares, and that covers every experiment
    import fnmatch
    import tomllib

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["simcollapse"]
    files = [p.relative_to(ROOT / "simcollapse").as_posix() for p in reproduce.EXPERIMENTS_DIR.glob("*.toml")]
    assert len(files) == len(reproduce.names()) >= 13
    assert all(any(fnmatch.fnmatch(f, pattern) for pattern in declared) for f in files)
