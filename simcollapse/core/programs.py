"""Traced programs kept on disk (``jax.export``), so that a later process with the same program skips tracing.

JAX's persistent compilation cache (:mod:`simcollapse.core.cache`) saves the XLA compile, but every process still
traces and lowers the chain's Python code, about a second for a family's generation loop on a small CPU. Here the
lowered program is exported once, written beside that cache, and read back by any later process whose program
key matches; its compile is then a hit of the compilation cache. A program is always run through its export, in
the process that wrote it too, so every process compiles and runs the same module.

The key of a program is its name, the caller's key of the chain (``api`` passes the config less its seed and
batchable fields: what ``build`` may read, ``simcollapse.contract`` rule 1), the shapes and dtypes of its
arguments, and the versions it was traced with: jax, jaxlib, the platform, and a digest of simcollapse's own
source files, so any change of the code makes new programs. A file that cannot be read as a program is traced
anew and replaced; one that cannot be written is skipped: the store never makes a run fail.

On by default in the command line (with the compilation cache, and off with it), off in the Python API unless
:func:`enable` is called.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from pathlib import Path

_directory: Path | None = None
_loaded: dict[str, tuple] = {}  # file name -> (jitted call of the export, output treedef)
_source_digest: str | None = None


def enable(directory: Path | None) -> None:
    """Keep programs in `directory` from now on (None: stop)."""
    global _directory
    _directory = None if directory is None else Path(directory)


def directory() -> Path | None:
    return _directory


def _source() -> str:
    """A digest of every source file of the simcollapse package (read once per process)."""
    global _source_digest
    if _source_digest is None:
        root = Path(__file__).resolve().parent.parent
        digest = hashlib.sha256()
        for path in sorted(root.rglob("*.py")):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
        _source_digest = digest.hexdigest()
    return _source_digest


def _file_name(name: str, key: str, leaves) -> str:
    import jax
    import jaxlib

    shapes = [(tuple(x.shape), str(x.dtype)) for x in leaves]
    text = repr((name, key, shapes, jax.__version__, jaxlib.__version__, jax.default_backend(), _source()))
    return f"{name}-{hashlib.sha256(text.encode()).hexdigest()[:32]}.jaxexport"


def call(name: str, key: str, fn, *args):
    """``fn(*args)``, a pure function of arrays (NumPy scalars included), run through the exported program of
    (`name`, `key`) in the store (which must be on): read from its file, or exported and written there first."""
    import jax

    leaves, treedef = jax.tree.flatten(args)
    file = _file_name(name, key, leaves)
    if file not in _loaded:
        _loaded[file] = _load(_directory / file) or _export(_directory / file, fn, treedef, leaves)
    run, out_tree = _loaded[file]
    return jax.tree.unflatten(out_tree, run(*leaves))


def _flat(fn, treedef):
    """`fn` over the leaves of its arguments, returning the leaves of its result (jax.export serialises plain
    sequences of arrays; the trees are kept with the file)."""
    import jax

    out_tree = []

    def flat(*leaves):
        out, tree = jax.tree.flatten(fn(*jax.tree.unflatten(treedef, leaves)))
        out_tree.append(tree)
        return out

    return flat, out_tree


def _export(path: Path, fn, treedef, leaves):
    import jax

    flat, out_tree = _flat(fn, treedef)
    shapes = [jax.ShapeDtypeStruct(x.shape, x.dtype) for x in leaves]
    exported = jax.export.export(jax.jit(flat))(*shapes)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = pickle.dumps((bytes(exported.serialize()), out_tree[0]))
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as tmp:
            tmp.write(payload)
        os.replace(tmp.name, path)  # whole or not at all: a reader never sees half a file
    except OSError:
        pass
    return jax.jit(exported.call), out_tree[0]


def _load(path: Path):
    import jax

    try:
        serialized, out_tree = pickle.loads(path.read_bytes())
        exported = jax.export.deserialize(bytearray(serialized))
    except Exception:  # absent, truncated, or written by an incompatible version: trace anew
        return None
    return jax.jit(exported.call), out_tree
