"""Load and save OPT models and tokenizers in the Hugging Face directory layout, from local disk only.

A model directory holds ``config.json`` and the weights in one of these forms, tried in this order:
``model.safetensors``, sharded ``model.safetensors.index.json`` (+ shards), ``flax_model.msgpack``,
``pytorch_model.bin`` or its sharded index (PyTorch files only when ``torch`` is importable). Weight
names are Hugging Face's (``model.decoder.embed_tokens.weight``,
``model.decoder.layers.N.self_attn.q_proj.weight``, ...; the ``model.`` prefix is optional, as in
the original OPT releases of Zhang et al. 2022); PyTorch ``Linear`` weights are ``(out, in)`` and are
transposed to Flax ``(in, out)`` kernels. ``save_pretrained`` writes ``config.json`` and
``model.safetensors`` with the same names, so the directory reloads here and in ``transformers``.

The tokenizer is GPT-2's byte-level BPE (as used by OPT), read with the ``tokenizers`` library from
``tokenizer.json`` or from ``vocab.json`` + ``merges.txt``. Nothing is ever downloaded.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from simcollapse.lm.model import OPTConfig, OPTForCausalLM

__all__ = [
    "CheckpointError",
    "Pretrained",
    "Tokenizer",
    "check_tokenizer",
    "load_config",
    "load_pretrained",
    "load_state_dict",
    "load_tokenizer",
    "params_to_state_dict",
    "save_pretrained",
    "state_dict_to_params",
]

CONFIG_NAME = "config.json"
SAFE_WEIGHTS = "model.safetensors"
SAFE_INDEX = "model.safetensors.index.json"
FLAX_WEIGHTS = "flax_model.msgpack"
PT_WEIGHTS = "pytorch_model.bin"
PT_INDEX = "pytorch_model.bin.index.json"
TOKENIZER_JSON = "tokenizer.json"
VOCAB_JSON = "vocab.json"
MERGES_TXT = "merges.txt"
TOKENIZER_CONFIG = "tokenizer_config.json"
SPECIAL_TOKENS_MAP = "special_tokens_map.json"

# The tied output projection; OPT checkpoints may or may not store it.
_TIED_HEAD = "lm_head.weight"


class CheckpointError(ValueError):
    """A checkpoint directory is malformed or does not match the model it is loaded into."""


class Pretrained(NamedTuple):
    """What ``load_pretrained`` returns; ``tokenizer`` is None when the directory has no tokenizer files."""

    config: OPTConfig
    params: dict
    tokenizer: Tokenizer | None


# ----------------------------------------------------------------------------------------------------
# config


def _directory(path) -> Path:
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"checkpoint directory {str(p)!r} does not exist")
    if not p.is_dir():
        raise NotADirectoryError(f"checkpoint path {str(p)!r} is not a directory")
    return p


def _read_json(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{path.name} in {str(path.parent)!r} is not valid JSON: {e}") from None


def load_config(path) -> OPTConfig:
    """Read ``config.json`` of a Hugging Face OPT directory into an ``OPTConfig``."""
    d = _directory(path)
    f = d / CONFIG_NAME
    if not f.is_file():
        raise FileNotFoundError(f"{CONFIG_NAME} not found in checkpoint directory {str(d)!r}")
    raw = _read_json(f)
    if not isinstance(raw, dict):
        raise CheckpointError(f"{CONFIG_NAME} in {str(d)!r} is not a JSON object")
    try:
        return OPTConfig.from_dict(raw)
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{CONFIG_NAME} in {str(d)!r} is not a usable OPT config: {e}") from None


# ----------------------------------------------------------------------------------------------------
# name mapping: Flax param tree <-> Hugging Face (PyTorch-layout) state dict


def _expected_params(config: OPTConfig) -> dict:
    """The parameter tree's shapes, without allocating anything."""
    model = OPTForCausalLM(config)
    shapes = jax.eval_shape(lambda: model.init(jax.random.PRNGKey(0), jnp.zeros((1, 1), jnp.int32)))
    return shapes["params"]


def _hf_name(path: tuple[str, ...]) -> str:
    """HF name of a Flax leaf: ``('layers_3', 'self_attn', 'q_proj', 'kernel')`` ->
    ``'model.decoder.layers.3.self_attn.q_proj.weight'``."""
    parts = []
    for p in path[:-1]:
        if p.startswith("layers_"):
            parts += ["layers", p[len("layers_") :]]
        else:
            parts.append(p)
    leaf = path[-1]
    parts.append("bias" if leaf == "bias" else "weight")  # kernel, embedding, scale -> weight
    return "model.decoder." + ".".join(parts)


def _flatten(tree: dict, prefix: tuple = ()) -> dict[tuple[str, ...], Any]:
    out = {}
    for k, v in tree.items():
        if isinstance(v, dict):
            out.update(_flatten(v, prefix + (k,)))
        else:
            out[prefix + (k,)] = v
    return out


def _unflatten(flat: dict[tuple[str, ...], Any]) -> dict:
    tree: dict = {}
    for path, v in flat.items():
        node = tree
        for p in path[:-1]:
            node = node.setdefault(p, {})
        node[path[-1]] = v
    return tree


def _canonical(name: str) -> str:
    """Accept the ``model.decoder.*``, ``decoder.*`` and ``model.*``-less spellings of HF OPT weights."""
    if name == _TIED_HEAD:
        return name
    name = name.removeprefix("model.")
    if not name.startswith("decoder."):
        name = "decoder." + name
    return "model." + name


def state_dict_to_params(state_dict: dict[str, Any], config: OPTConfig, dtype=jnp.float32) -> dict:
    """Map Hugging Face OPT weights (PyTorch layout, numpy arrays) onto the Flax parameter tree.

    Linear weights ``(out, in)`` become kernels ``(in, out)``. Raises ``CheckpointError`` naming any
    missing, unexpected or mis-shaped weight; a token embedding whose row count differs from
    ``config.vocab_size`` gets its own message. ``lm_head.weight`` is ignored: OPT ties it to the
    token embedding.
    """
    sd = {}
    for k, v in state_dict.items():
        c = _canonical(k)
        if c in sd:
            raise CheckpointError(f"weight {k!r} appears twice under different prefixes")
        sd[c] = v
    expected = _flatten(_expected_params(config))
    names = {_hf_name(p): p for p in expected}
    missing = sorted(n for n in names if n not in sd)
    unexpected = sorted(n for n in sd if n not in names and n != _TIED_HEAD)
    emb = sd.get("model.decoder.embed_tokens.weight")
    if emb is not None and emb.shape[0] != config.vocab_size:
        raise CheckpointError(
            f"token embedding has {emb.shape[0]} rows but config.vocab_size is {config.vocab_size}: "
            "the weights and config.json do not belong together"
        )
    if missing or unexpected:
        msg = []
        if missing:
            msg.append(f"missing weights: {', '.join(missing[:8])}" + (" ..." if len(missing) > 8 else ""))
        if unexpected:
            msg.append(
                f"unexpected weights: {', '.join(unexpected[:8])}" + (" ..." if len(unexpected) > 8 else "")
            )
        raise CheckpointError("checkpoint does not match the OPT config (" + "; ".join(msg) + ")")
    flat = {}
    for name, path in names.items():
        w = np.asarray(sd[name])
        if path[-1] == "kernel":
            w = w.T
        want = tuple(expected[path].shape)
        if w.shape != want:
            raise CheckpointError(
                f"weight {name!r} has shape {tuple(np.shape(sd[name]))}, the config implies "
                f"{want[::-1] if path[-1] == 'kernel' else want}"
            )
        flat[path] = jnp.asarray(w.astype(np.float32) if w.dtype != np.float32 else w, dtype=dtype)
    return _unflatten(flat)


def params_to_state_dict(params: dict, dtype=np.float32) -> dict[str, np.ndarray]:
    """The Hugging Face OPT state dict (PyTorch layout, contiguous numpy arrays) of a Flax parameter tree."""
    out = {}
    for path, v in _flatten(jax.device_get(params)).items():
        w = np.asarray(v, dtype=np.float32)
        if path[-1] == "kernel":
            w = w.T
        out[_hf_name(path)] = np.ascontiguousarray(w.astype(dtype))
    return out


# ----------------------------------------------------------------------------------------------------
# weight files


def _load_safetensors(files: Iterable[Path]) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    sd: dict[str, np.ndarray] = {}
    for f in files:
        if not f.is_file():
            raise FileNotFoundError(
                f"weight shard {f.name} (listed in {SAFE_INDEX}) not found in {str(f.parent)!r}"
            )
        try:
            sd.update(load_file(str(f)))
        except Exception as e:
            raise CheckpointError(f"cannot read {f.name} in {str(f.parent)!r}: {e}") from None
    return sd


def _flax_to_state_dict(tree: dict) -> dict[str, np.ndarray]:
    """A Hugging Face Flax OPT tree (nested dicts, ``kernel (in, out)``) -> PyTorch-layout state dict."""
    sd = {}
    for path, v in _flatten(tree).items():
        *mods, leaf = path
        w = np.asarray(v)
        if leaf == "kernel":
            w = w.T
        sd[".".join(mods) + "." + ("bias" if leaf == "bias" else "weight")] = w
    return sd


def _load_flax_msgpack(f: Path) -> dict[str, np.ndarray]:
    from flax import serialization

    try:
        tree = serialization.msgpack_restore(f.read_bytes())
    except Exception as e:
        raise CheckpointError(f"cannot read {f.name} in {str(f.parent)!r}: {e}") from None
    if isinstance(tree, dict) and set(tree) == {"params"}:
        tree = tree["params"]
    return _flax_to_state_dict(tree)


def _load_torch(files: Iterable[Path]) -> dict[str, np.ndarray]:
    import torch

    sd = {}
    for f in files:
        if not f.is_file():
            raise FileNotFoundError(
                f"weight shard {f.name} (listed in {PT_INDEX}) not found in {str(f.parent)!r}"
            )
        try:
            part = torch.load(str(f), map_location="cpu", weights_only=True)
        except Exception as e:
            raise CheckpointError(f"cannot read {f.name} in {str(f.parent)!r}: {e}") from None
        for k, t in part.items():
            t = t.detach()
            sd[k] = (t.float() if t.is_floating_point() else t).numpy()
    return sd


def _shards(d: Path, index_name: str) -> list[Path]:
    index = _read_json(d / index_name)
    try:
        files = sorted(set(index["weight_map"].values()))
    except (KeyError, TypeError, AttributeError):
        raise CheckpointError(f"{index_name} in {str(d)!r} has no 'weight_map' object") from None
    return [d / f for f in files]


def _torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def load_state_dict(path) -> dict[str, np.ndarray]:
    """All weights of a Hugging Face directory, by HF name, as numpy arrays in PyTorch layout."""
    d = _directory(path)
    if (d / SAFE_WEIGHTS).is_file():
        return _load_safetensors([d / SAFE_WEIGHTS])
    if (d / SAFE_INDEX).is_file():
        return _load_safetensors(_shards(d, SAFE_INDEX))
    if (d / FLAX_WEIGHTS).is_file():
        return _load_flax_msgpack(d / FLAX_WEIGHTS)
    has_pt = (d / PT_WEIGHTS).is_file() or (d / PT_INDEX).is_file()
    if has_pt and _torch_available():
        return _load_torch([d / PT_WEIGHTS] if (d / PT_WEIGHTS).is_file() else _shards(d, PT_INDEX))
    if has_pt:
        raise CheckpointError(
            f"{str(d)!r} holds only PyTorch weights ({PT_WEIGHTS}); install torch to read them, or convert "
            f"them to {SAFE_WEIGHTS}"
        )
    raise FileNotFoundError(
        f"no weights found in {str(d)!r}: expected {SAFE_WEIGHTS}, {SAFE_INDEX}, {FLAX_WEIGHTS} "
        f"or {PT_WEIGHTS}"
    )


def load_pretrained(path, dtype=jnp.float32, tokenizer: bool = True) -> Pretrained:
    """Load config, parameters (cast to ``dtype``) and, if present and ``tokenizer``, the tokenizer.

    Raises ``FileNotFoundError`` naming a missing directory or file and ``CheckpointError`` for
    malformed files, weights that do not fit the config, or a tokenizer larger than the embedding.
    """
    config = load_config(path)
    params = state_dict_to_params(load_state_dict(path), config, dtype=dtype)
    tok = None
    if tokenizer and _has_tokenizer(Path(path)):
        tok = load_tokenizer(path)
        check_tokenizer(tok, config)
    return Pretrained(config, params, tok)


def save_pretrained(
    path, config: OPTConfig, params: dict, tokenizer: Tokenizer | None = None, dtype=np.float32
) -> Path:
    """Write ``config.json`` + ``model.safetensors`` (HF names, PyTorch layout) and optionally the tokenizer.

    ``dtype``: numpy dtype of the stored weights (float32, float16, or ``ml_dtypes.bfloat16``). The
    tied ``lm_head.weight`` is not stored, as ``transformers`` does.
    """
    from safetensors.numpy import save_file

    d = Path(path)
    d.mkdir(parents=True, exist_ok=True)
    sd = params_to_state_dict(params, dtype=dtype)
    expected = {_hf_name(p) for p in _flatten(_expected_params(config))}
    if set(sd) != expected:
        raise CheckpointError(f"parameter tree does not match the config: {sorted(set(sd) ^ expected)[:8]}")
    cfg = config.to_dict()
    cfg["torch_dtype"] = np.dtype(dtype).name
    with open(d / CONFIG_NAME, "w", encoding="utf-8") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
    save_file(sd, str(d / SAFE_WEIGHTS), metadata={"format": "pt"})
    if tokenizer is not None:
        tokenizer.save(d)
    return d


# ----------------------------------------------------------------------------------------------------
# tokenizer


def _has_tokenizer(d: Path) -> bool:
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
