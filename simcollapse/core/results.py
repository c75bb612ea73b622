"""Run directories: ``config.json`` (resolved config), ``stats.npz`` (per-generation statistics with
leading axes (generation, chain), plus ``generation``: the recorded generation indices) and
``theory.npz`` (closed-form curves ``E_<metric>``, shape (generations+1,)).

The neural families (``lm``, ``vae``) write the same ``config.json`` and ``stats.npz``, with one "chain" (the one
model of each generation). Each file is written to a temporary name and renamed, so a killed run never leaves a
half-written file under a result's name.
"""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

import numpy as np

from ..config import ConfigError


def provenance(precision: str = "float64") -> dict:
    """Versions behind a run (read from the installed metadata: no JAX import) and its float precision: float64
    for the chains (the driver runs inside ``jax.enable_x64``), float32 for the neural families."""
    from importlib.metadata import version

    from .. import __version__

    return {
        "simcollapse": __version__,
        "jax": version("jax"),
        "numpy": np.__version__,
        "python": platform.python_version(),
        "float": precision,
    }


def jsonable(value):
    """`value` with numpy arrays and scalars as lists and Python numbers, ready for JSON."""
    if isinstance(value, (tuple, list)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def prepare_dir(out) -> Path:
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError("--out", f"{str(out)!r} exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    return out


def atomic_write(path: Path, write) -> Path:
    """Call ``write(file)`` on a temporary file beside `path`, then rename it to `path`."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        write(f)
    os.replace(tmp, path)
    return path


def write_config(out, config) -> Path:
    """``config.json``: the resolved config (every field, defaults included) and the provenance."""
    out = prepare_dir(out)
    precision = "float32" if config.family in ("lm", "vae") else "float64"
    payload = {**jsonable(config.to_dict()), "_provenance": provenance(precision)}
    text = json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
    return atomic_write(out / "config.json", lambda f: f.write(text.encode()))


def save_stats(out, generation, stats: dict) -> Path:
    """``stats.npz``: the recorded generation indices and one array per statistic."""
    return atomic_write(prepare_dir(out) / "stats.npz", lambda f: np.savez(f, generation=generation, **stats))


def save(out, config, trajectory, theory: dict) -> Path:
    out = prepare_dir(out)
    write_config(out, config)
    if theory:
        atomic_write(out / "theory.npz", lambda f: np.savez(f, **theory))
    save_stats(out, trajectory.generation, trajectory.stats)  # last: a directory with stats.npz is finished
    return out


def metric_stats(metrics: list[dict], paths: dict[str, tuple]) -> dict[str, np.ndarray]:
    """Statistics of a run that trains one model per generation: for each name, the value at its key path in
    every generation's metrics dict, shape (generations, 1) (one chain); NaN where a generation lacks it."""

    def value(entry, path):
        for key in path:
            try:
                entry = entry[key]
            except (KeyError, IndexError, TypeError):
                return np.nan
        return float(entry) if isinstance(entry, (int, float)) else np.nan

    return {name: np.array([[value(m, path)] for m in metrics], dtype=float) for name, path in paths.items()}


def load_config(run_dir):
    """The config saved in ``run_dir/config.json``: a RunConfig, or a neural family's config."""
    from .. import neural
    from ..api import make_config

    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise ConfigError("run directory", f"{str(Path(run_dir))!r} has no config.json; is it the --out of a run?")
    values = json.loads(path.read_text())
    family = values.pop("family", None)
    if family is None:
        raise ConfigError("run directory", f"{str(path)!r} names no family; it was written by an older simcollapse")
    values = {k: v for k, v in values.items() if not k.startswith("_")}
    if family in neural.NEURAL:
        return neural.make_config(family, values)
    return make_config(family, **values)


def load(run_dir) -> dict:
    """{'config': RunConfig, 'generation': array, 'stats': {name: array}, 'theory': {name: array}}."""
    run_dir = Path(run_dir)
    config = load_config(run_dir)
    if not (run_dir / "stats.npz").is_file():
        raise ConfigError("run directory", f"{str(run_dir)!r} has no stats.npz; is it the --out of a finished run?")
    with np.load(run_dir / "stats.npz") as f:
        stats = {k: f[k] for k in f.files}
    theory = {}
    if (run_dir / "theory.npz").is_file():
        with np.load(run_dir / "theory.npz") as f:
            theory = {k: f[k] for k in f.files}
    return {"config": config, "generation": stats.pop("generation"), "stats": stats, "theory": theory}
