"""JAX's persistent compilation cache for simcollapse's own processes (the CLI): a program compiled once is
read from disk by every later process, so a rerun with a new seed starts in about a second.

Where: ``$SIMCOLLAPSE_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/simcollapse/jax`` (``~/.cache/simcollapse/jax``
by default, the XDG base-directory convention). ``SIMCOLLAPSE_CACHE_DIR=off`` (or ``--no-cache``) turns it
off. A directory that cannot be written gives one warning and no cache, never an error. A process that
configured a cache of its own (``jax_compilation_cache_dir``) keeps it. With simcollapse's own cache on, the
traced programs are kept too, in its ``programs`` subdirectory (:mod:`simcollapse.core.programs`), so a rerun
skips tracing as well as compiling.
"""

from __future__ import annotations

import os
import sys
import tempfile
import warnings
from pathlib import Path

from . import programs

ENV = "SIMCOLLAPSE_CACHE_DIR"
PROGRAMS = "programs"  # the traced programs (core.programs), beside JAX's compiled ones
OFF = ("", "0", "off", "none", "false")


def default_dir() -> Path | None:
    """The cache directory these rules give, or None when turned off."""
    chosen = os.environ.get(ENV)
    if chosen is not None:
        return None if chosen.strip().lower() in OFF else Path(chosen).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "simcollapse" / "jax"


def _writable(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path):
            pass
        return True
    except OSError:
        return False


def enable(path: Path | None = None) -> Path | None:
    """Turn the cache on at `path` (default: :func:`default_dir`) for every program compiled from now on,
    small ones included; returns the directory used, or None. Before JAX is imported this only sets JAX's
    environment variables, so calling it costs nothing when the process ends up compiling nothing."""
    path = default_dir() if path is None else Path(path)
    if path is None:
        return None
    if not _writable(path):
        warnings.warn(f"simcollapse: compilation cache {str(path)!r} is not writable; compiling without it "
                      f"(set {ENV} to another directory, or to 'off')", stacklevel=2)
        return None
    settings = {"jax_compilation_cache_dir": str(path), "jax_persistent_cache_min_compile_time_secs": 0.0,
                "jax_persistent_cache_min_entry_size_bytes": 0}
    if "jax" in sys.modules:
        import jax

        if jax.config.jax_compilation_cache_dir:
            return Path(jax.config.jax_compilation_cache_dir)
        for name, value in settings.items():
            jax.config.update(name, value)
    else:
        if os.environ.get("JAX_COMPILATION_CACHE_DIR"):
            return Path(os.environ["JAX_COMPILATION_CACHE_DIR"])
        for name, value in settings.items():
            os.environ[name.upper()] = str(value)
    programs.enable(path / PROGRAMS)
    return path
