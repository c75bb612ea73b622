"""Checkpoints: a run's :class:`~simcollapse.core.driver.Position` on disk, so a killed run can continue.

One file, ``checkpoint.npz`` in the run directory, holding the carried state of every chain, the rows
recorded so far and a ``meta`` record: the generation reached, the SHA-256 of the resolved config (a
checkpoint only continues the config that wrote it) and the SHA-256 of every array (a truncated or altered
file is refused, never half-read). It is written to a temporary file, flushed to disk and renamed over the
old one, so a kill at any moment leaves either the previous checkpoint or the new one.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path

import jax
import numpy as np

from ..config import ConfigError
from ..samplers.bits import STREAM
from .driver import Position

FILENAME = "checkpoint.npz"
FORMAT = 1


def config_hash(config) -> str:
    """SHA-256 of the resolved config (every field, as saved in config.json)."""
    from .results import jsonable

    text = json.dumps(jsonable(config.to_dict()), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _digest(arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def save(run_dir, position: Position, config, checkpoint_every: int | None) -> Path:
    """Write `position` atomically to ``run_dir/checkpoint.npz``; `checkpoint_every` (None: only on
    interruption) is what a resumed run keeps doing."""
    path = Path(run_dir) / FILENAME
    arrays = {f"state/{i}": np.asarray(leaf) for i, leaf in enumerate(jax.tree.leaves(position.states))}
    arrays.update({f"record/{name}": values for name, values in position.records.items()})
    meta = {
        "format": FORMAT,
        "stream": STREAM,
        "generation": int(position.generation),
        "config_sha256": config_hash(config),
        "checkpoint_every": None if checkpoint_every is None else int(checkpoint_every),
        "arrays_sha256": _digest(arrays),
    }
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        np.savez(f, meta=np.asarray(json.dumps(meta)), **arrays)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def load(run_dir, config) -> tuple[Position, int | None]:
    """(position, checkpoint_every) of ``run_dir/checkpoint.npz``, checked against `config` and its checksum.

    Raises :class:`ConfigError` (field ``checkpoint``) for a missing, truncated, corrupted or foreign file.
    """
    path = Path(run_dir) / FILENAME
    if not path.is_file():
        raise ConfigError("checkpoint", f"{str(path)!r} does not exist: was the run started with --checkpoint-every?")
    try:
        with np.load(path, allow_pickle=False) as f:
            meta = json.loads(str(f["meta"]))
            arrays = {name: f[name] for name in f.files if name != "meta"}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        raise ConfigError("checkpoint", f"{str(path)!r} is unreadable (truncated or corrupted: {err})") from None
    if meta.get("format") != FORMAT:
        raise ConfigError("checkpoint", f"{str(path)!r} has format {meta.get('format')!r}, expected {FORMAT}")
    if meta.get("stream", 1) != STREAM:
        raise ConfigError("checkpoint", f"{str(path)!r} was written with random-number stream {meta.get('stream', 1)} "
                          f"and this simcollapse draws stream {STREAM}: a resumed run would mix the two; rerun it")
    if _digest(arrays) != meta.get("arrays_sha256"):
        raise ConfigError("checkpoint", f"{str(path)!r} is corrupted (its checksum does not match its contents)")
    if meta.get("config_sha256") != config_hash(config):
        raise ConfigError(
            "checkpoint", f"{str(path)!r} was written by a different config than this run's config.json; refusing to mix results"
        )
    n_leaves = sum(name.startswith("state/") for name in arrays)
    states = [arrays[f"state/{i}"] for i in range(n_leaves)]
    records = {name.removeprefix("record/"): a for name, a in arrays.items() if name.startswith("record/")}
    return Position(meta["generation"], states, records), meta["checkpoint_every"]


def remove(run_dir) -> None:
    (Path(run_dir) / FILENAME).unlink(missing_ok=True)
