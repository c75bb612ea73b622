"""Text corpora for the language-model experiment: local files -> token blocks.

The Nature experiment fine-tunes OPT-125m on wikitext-2 (raw, v1). The data are read from local files
only, in one of these layouts inside ``data_dir``:

* the original release: ``wiki.train.raw``, ``wiki.valid.raw``, ``wiki.test.raw``;
* the ``datasets`` layout: ``[wikitext-2-raw-v1/]{train,validation,test}-*.parquet`` with a ``text``
  column (needs ``pyarrow``);
* any other corpus as plain text: ``{train,valid|validation,test}.txt``.

Tokenisation follows the reference code (the Hugging Face ``run_clm`` recipe): every line is
tokenised on its own (OPT's tokenizer prepends ``</s>``), blank lines become ``""``, the token lists
are concatenated and cut into consecutive blocks of ``block`` tokens, the remainder dropped.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = [
    "SPLITS",
    "DataError",
    "check_lengths",
    "find_split_files",
    "load_blocks",
    "read_lines",
    "tokenize_blocks",
]

SPLITS = ("train", "validation", "test")

_RAW_NAMES = {"train": "wiki.train.raw", "validation": "wiki.valid.raw", "test": "wiki.test.raw"}
_TXT_NAMES = {"train": ("train.txt",), "validation": ("valid.txt", "validation.txt"), "test": ("test.txt",)}


class DataError(ValueError):
    """Malformed or unusable corpus."""


def find_split_files(data_dir, splits=SPLITS) -> dict[str, list[Path]]:
    """The file(s) holding each split of ``data_dir`` (see the module docstring for the layouts).

    Raises ``FileNotFoundError`` naming the directory and the files looked for.
    """
    d = Path(data_dir)
    if not d.is_dir():
        raise FileNotFoundError(f"data directory {str(d)!r} does not exist")
    found: dict[str, list[Path]] = {}
    missing = []
    for split in splits:
        if split not in _RAW_NAMES:
            raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
        raw = d / _RAW_NAMES[split]
        txt = [d / n for n in _TXT_NAMES[split] if (d / n).is_file()]
        parquet = sorted(d.glob(f"{split}-*.parquet")) or sorted(d.glob(f"*/{split}-*.parquet"))
        if raw.is_file():
            found[split] = [raw]
        elif txt:
            found[split] = txt[:1]
        elif parquet:
            found[split] = parquet
        else:
            missing.append(
                f"{split}: {_RAW_NAMES[split]}, {' or '.join(_TXT_NAMES[split])} or {split}-*.parquet"
            )
    if missing:
        raise FileNotFoundError(f"missing corpus files in {str(d)!r}: " + "; ".join(missing))
    return found


def _read_parquet(path: Path) -> list[str]:
    try:
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - depends on the environment
        raise DataError(
            f"{str(path)!r} is a parquet file but pyarrow is not installed; install pyarrow or provide "
            "the raw text files (wiki.train.raw, wiki.valid.raw, wiki.test.raw)"
        ) from None
    table = pq.read_table(path)
    if "text" not in table.column_names:
        raise DataError(f"{str(path)!r} has no 'text' column (columns: {table.column_names})")
    return [t or "" for t in table.column("text").to_pylist()]


def read_lines(files) -> list[str]:
    """The lines of a split, as the ``datasets`` rows: a non-blank line keeps its newline, a blank one is ``""``."""
    lines: list[str] = []
    for f in files:
        f = Path(f)
        if f.suffix == ".parquet":
            lines.extend(_read_parquet(f))
            continue
        with open(f, encoding="utf-8") as fh:
            lines.extend(line if line.strip() else "" for line in fh)
    return lines


def tokenize_blocks(lines, tokenizer, block: int = 64, max_blocks: int | None = None) -> np.ndarray:
    """Tokenise each line (with the tokenizer's BOS convention), concatenate, cut into ``(n, block)`` int32."""
    if block < 1:
        raise ValueError(f"block must be >= 1, got {block}")
    ids: list[int] = []
    chunk = 4096
    for i in range(0, len(lines), chunk):
        for t in tokenizer.encode_batch(lines[i : i + chunk]):
            ids.extend(t)
        if max_blocks is not None and len(ids) >= block * max_blocks:
            break
    n = len(ids) // block
    if max_blocks is not None:
        n = min(n, max_blocks)
    if n == 0:
        raise DataError(f"corpus has {len(ids)} tokens, fewer than one block of {block}")
    return np.asarray(ids[: n * block], np.int32).reshape(n, block)


def load_blocks(
    data_dir, tokenizer, block: int = 64, splits=SPLITS, max_blocks: dict | int | None = None
) -> dict[str, np.ndarray]:
    """``{split: (n, block) int32}`` for each split of ``data_dir``; ``max_blocks`` caps the blocks kept
    (one int for all splits or a ``{split: int}`` dict; for quick runs)."""
    files = find_split_files(data_dir, splits)
    out = {}
    for split in splits:
        cap = max_blocks.get(split) if isinstance(max_blocks, dict) else max_blocks
        out[split] = tokenize_blocks(read_lines(files[split]), tokenizer, block, cap)
    return out


def check_lengths(config, block: int, new_tokens: int) -> None:
    """``ValueError`` if a block plus its continuation does not fit the model's positions."""
    if block < 1 or new_tokens < 1:
        raise ValueError(f"block and new_tokens must be >= 1, got {block} and {new_tokens}")
    need = max(block + new_tokens, block)
    if need > config.max_position_embeddings:
        raise ValueError(
            f"block ({block}) + new_tokens ({new_tokens}) = {need} tokens is longer than the model's "
            f"max_position_embeddings={config.max_position_embeddings}"
        )
