"""The GPT-2 byte-level BPE tokenizer of OPT checkpoints, read from local files with the ``tokenizers``
library: ``tokenizer.json``, or ``vocab.json`` + ``merges.txt`` (with ``tokenizer_config.json`` and
``special_tokens_map.json`` where present). Nothing is ever downloaded."""

from __future__ import annotations

import json
from pathlib import Path

from simcollapse.lm.checkpoint import (
    MERGES_TXT,
    SPECIAL_TOKENS_MAP,
    TOKENIZER_CONFIG,
    TOKENIZER_JSON,
    VOCAB_JSON,
    CheckpointError,
    _directory,
    _read_json,
)
from simcollapse.lm.model import OPTConfig

__all__ = ["Tokenizer", "check_tokenizer", "has_tokenizer", "load_tokenizer"]


def has_tokenizer(d: Path) -> bool:
    return (d / TOKENIZER_JSON).is_file() or (d / VOCAB_JSON).is_file() or (d / MERGES_TXT).is_file()


def _token_str(v) -> str | None:
    if isinstance(v, dict):
        return v.get("content")
    return v if isinstance(v, str) else None


class Tokenizer:
    """GPT-2-style byte-level BPE tokenizer with OPT's conventions.

    OPT prepends ``</s>`` (id 2, the BOS token) to every text; ``encode`` does so when ``add_bos``
    (default: ``tokenizer_config.json``'s ``add_bos_token``, else True). ``decode`` drops special
    tokens by default.
    """

    def __init__(
        self,
        backend,
        bos_token: str = "</s>",
        eos_token: str = "</s>",
        pad_token: str = "<pad>",
        unk_token: str = "<unk>",
        add_bos_token: bool = True,
    ):
        self.backend = backend
        self.bos_token, self.eos_token, self.pad_token, self.unk_token = (
            bos_token,
            eos_token,
            pad_token,
            unk_token,
        )
        self.add_bos_token = add_bos_token
        self.bos_token_id = backend.token_to_id(bos_token)
        self.eos_token_id = backend.token_to_id(eos_token)
        self.pad_token_id = backend.token_to_id(pad_token)
        self.unk_token_id = backend.token_to_id(unk_token)

    @property
    def vocab_size(self) -> int:
        """Number of ids in use (including added special tokens)."""
        return self.backend.get_vocab_size(with_added_tokens=True)

    def __len__(self) -> int:
        return self.vocab_size

    def _bos(self, add_bos):
        add = self.add_bos_token if add_bos is None else add_bos
        if add and self.bos_token_id is None:
            raise ValueError(f"BOS token {self.bos_token!r} is not in the vocabulary")
        return [self.bos_token_id] if add else []

    def encode(self, text: str, add_bos: bool | None = None) -> list[int]:
        """Token ids of ``text`` (no truncation, no padding)."""
        return self._bos(add_bos) + self.backend.encode(text, add_special_tokens=False).ids

    def encode_batch(self, texts: list[str], add_bos: bool | None = None) -> list[list[int]]:
        bos = self._bos(add_bos)
        return [bos + e.ids for e in self.backend.encode_batch(list(texts), add_special_tokens=False)]

    def decode(self, ids, skip_special_tokens: bool = True) -> str:
        return self.backend.decode([int(i) for i in ids], skip_special_tokens=skip_special_tokens)

    def decode_batch(self, batch, skip_special_tokens: bool = True) -> list[str]:
        return [self.decode(ids, skip_special_tokens) for ids in batch]

    def save(self, path) -> None:
        """Write ``tokenizer.json`` and ``tokenizer_config.json`` into directory ``path``."""
        d = Path(path)
        d.mkdir(parents=True, exist_ok=True)
        self.backend.save(str(d / TOKENIZER_JSON))
        cfg = {
            "bos_token": self.bos_token,
            "eos_token": self.eos_token,
            "pad_token": self.pad_token,
            "unk_token": self.unk_token,
            "add_bos_token": self.add_bos_token,
            "add_prefix_space": False,
        }
        with open(d / TOKENIZER_CONFIG, "w", encoding="utf-8") as f:
            json.dump(cfg, f, indent=2)


def load_tokenizer(path) -> Tokenizer:
    """Read the tokenizer of a Hugging Face directory: ``tokenizer.json``, else ``vocab.json`` +
    ``merges.txt``.

    Special-token strings come from ``tokenizer_config.json``/``special_tokens_map.json`` when present
    (OPT's defaults otherwise: bos = eos = ``</s>``, pad ``<pad>``, unk ``<unk>``).
    """
    from tokenizers import Tokenizer as HFTokenizer
    from tokenizers import decoders, models, pre_tokenizers

    d = _directory(path)
    specials = {"bos_token": "</s>", "eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>"}
    add_bos = True
    for name in (SPECIAL_TOKENS_MAP, TOKENIZER_CONFIG):
        if (d / name).is_file():
            cfg = _read_json(d / name)
            if not isinstance(cfg, dict):
                raise CheckpointError(f"{name} in {str(d)!r} is not a JSON object")
            for k in specials:
                s = _token_str(cfg.get(k))
                if s is not None:
                    specials[k] = s
            if isinstance(cfg.get("add_bos_token"), bool):
                add_bos = cfg["add_bos_token"]

    if (d / TOKENIZER_JSON).is_file():
        try:
            backend = HFTokenizer.from_file(str(d / TOKENIZER_JSON))
        except Exception as e:
            raise CheckpointError(f"cannot read {TOKENIZER_JSON} in {str(d)!r}: {e}") from None
    else:
        for name in (VOCAB_JSON, MERGES_TXT):
            if not (d / name).is_file():
                raise FileNotFoundError(
                    f"tokenizer file {name} not found in {str(d)!r} (need {TOKENIZER_JSON}, or {VOCAB_JSON} "
                    f"and {MERGES_TXT})"
                )
        try:
            bpe = models.BPE.from_file(str(d / VOCAB_JSON), str(d / MERGES_TXT))
        except Exception as e:
            raise CheckpointError(f"cannot read {VOCAB_JSON}/{MERGES_TXT} in {str(d)!r}: {e}") from None
        backend = HFTokenizer(bpe)
        backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        backend.decoder = decoders.ByteLevel()
    # make the special tokens atomic (a no-op for those tokenizer.json already declares)
    present = [s for s in dict.fromkeys(specials.values()) if backend.token_to_id(s) is not None]
    backend.add_special_tokens(present)
    return Tokenizer(backend, add_bos_token=add_bos, **specials)


def check_tokenizer(tokenizer: Tokenizer, config: OPTConfig) -> None:
    """Raise ``CheckpointError`` if some token id would fall outside the model's embedding."""
    if tokenizer.vocab_size > config.vocab_size:
        raise CheckpointError(
            f"tokenizer has {tokenizer.vocab_size} tokens but the model's embedding has only "
            f"config.vocab_size={config.vocab_size} rows"
        )
    for name in ("bos_token_id", "eos_token_id", "pad_token_id"):
        tid, cid = getattr(tokenizer, name), getattr(config, name)
        if name == "eos_token_id":
            ok = tid is None or tid in config.eos_token_ids
        else:
            ok = tid is None or cid is None or tid == cid
        if not ok:
            raise CheckpointError(f"tokenizer {name}={tid} but config.json says {cid}")
