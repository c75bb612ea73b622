"""Run directories: ``config.json`` (resolved config), ``stats.npz`` (per-generation statistics with
leading axes (generation, chain), plus ``generation``: the recorded generation indices) and
``theory.npz`` (closed-form curves ``E_<metric>``, shape (generations+1,))."""

from __future__ import annotations

import json
import platform
from pathlib import Path

import numpy as np

from ..config import ConfigError


def provenance() -> dict:
    import jax

    from .. import __version__

    return {
        "simcollapse": __version__,
        "jax": jax.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "float": "float64" if jax.config.jax_enable_x64 else "float32",
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


def write_config(out, config) -> Path:
    """``config.json``: the resolved config (every field, defaults included) and the provenance."""
    out = prepare_dir(out)
    payload = {**jsonable(config.to_dict()), "_provenance": provenance()}
    (out / "config.json").write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    return out / "config.json"


def save(out, config, trajectory, theory: dict) -> Path:
    out = prepare_dir(out)
    write_config(out, config)
    np.savez(out / "stats.npz", generation=trajectory.generation, **trajectory.stats)
    if theory:
        np.savez(out / "theory.npz", **theory)
    return out


def load_config(run_dir):
    """The RunConfig saved in ``run_dir/config.json``."""
    from ..api import make_config

    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise ConfigError("run directory", f"{str(Path(run_dir))!r} has no config.json; is it the --out of a run?")
    values = json.loads(path.read_text())
    family = values.pop("family")
    return make_config(family, **{k: v for k, v in values.items() if not k.startswith("_")})


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
