"""The neural families, which train one model per generation instead of simulating chains: ``lm`` (the OPT
fine-tuning loop, :mod:`simcollapse.lm.loop`) and ``vae`` (:mod:`simcollapse.vae`).

Their configs are built and validated without importing flax, so a bad field is reported as one line also on an
install without the extra they need; :func:`require_extra` then names the extra to install.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

from .config import ConfigError
from .families import NEURAL

CLI_FIELDS = ("out", "progress")  # set by `simcollapse run`'s --out and --quiet, not by --set


def config_class(family: str) -> type:
    """The frozen dataclass of a neural family's settings (registered in :mod:`simcollapse.families`)."""
    from . import families

    if family not in NEURAL:
        raise ConfigError("family", f"must be one of {', '.join(NEURAL)}; got {family!r}")
    return families.config_class(family)


def make_config(family: str, values: dict):
    """The validated config of `family` from ``{field: value}``; a bad or unknown field raises ConfigError."""
    return config_class(family).from_dict({k: v for k, v in values.items() if k not in ("family", "_provenance")})


def from_sets(family: str, sets: dict, out: str, progress: bool = True):
    """The config of ``simcollapse run FAMILY --set …  --out OUT``: `sets` may not hold the CLI's own fields."""
    for name in CLI_FIELDS:
        if name in sets:
            raise ConfigError(name, "is given by the command's --out and --quiet, not by --set")
    return make_config(family, {**sets, "out": out, "progress": progress})


def claim(out, config, overwrite: bool = False) -> bool:
    """Prepare `out` for training `config` (see :func:`simcollapse.core.outputs.claim`); True when it continues an
    unfinished lm run there instead: one with config.json but no stats.npz, with the same settings."""
    from .core import outputs
    from .core.results import jsonable

    out = Path(out)
    if not overwrite and config.family == "lm" and (out / "config.json").is_file() and not (out / "stats.npz").exists():
        try:
            saved = json.loads((out / "config.json").read_text())
        except (OSError, ValueError):
            saved = None
        ignore = {"_provenance", *CLI_FIELDS}
        if saved is not None and {k: v for k, v in saved.items() if k not in ignore} == {
                k: v for k, v in jsonable(config.to_dict()).items() if k not in ignore}:
            return True
        raise ConfigError("--out", f"{str(out)!r} holds an unfinished lm run with other settings; rerun it with the "
                                   "same --set to resume it, or give --overwrite to replace it")
    outputs.claim(out, overwrite)
    return False


def _required_modules(config) -> tuple[str, ...]:
    if config.family == "lm":
        return ("flax", "optax", "safetensors", "tokenizers")
    return ("flax", "optax") + (("sklearn",) if config.data == "digits" else ())  # digits come from scikit-learn


def require_extra(config) -> None:
    """Raise ConfigError naming the pip extra when a module the family trains with is not installed."""
    missing = []
    for module in _required_modules(config):
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise ConfigError("family", f"{config.family} needs {', '.join(missing)}, not installed here: "
                                    f"pip install 'simcollapse[{config.family}]'")


def train(config) -> list[dict]:
    """Train every generation of `config` into ``config.out`` (see :mod:`simcollapse.lm.loop`, :mod:`simcollapse.vae`);
    a missing extra, checkpoint, tokenizer or data file raises ConfigError."""
    require_extra(config)
    if config.family == "lm":
        from .lm.loop import run_lm as runner
    else:
        from .vae import run_vae as runner
    return runner(config)
