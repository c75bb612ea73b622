"""Load and save OPT models and tokenizers in the Hugging Face directory layout, from local disk only.

A model directory holds ``config.json`` and the weights in one of these forms, tried in this order:
``model.safetensors``, sharded ``model.safetensors.index.json`` (+ shards), ``flax_model.msgpack``,
``pytorch_model.bin`` or its sharded index (PyTorch files only when ``torch`` is importable). Weight
names are Hugging Face's (``model.decoder.embed_tokens.weight``,
``model.decoder.layers.N.self_attn.q_proj.weight``, ...; the ``model.`` prefix is optional, as in
the original OPT releases of Zhang et al. 2022); PyTorch ``Linear`` weights are ``(out, in)`` and are
transposed to Flax ``(in, out)`` kernels. ``save_pretrained`` writes ``config.json`` and
``model.safetensors`` with the same names, so the directory reloads here and in ``transformers``.

The tokenizer beside the weights is read by :mod:`simcollapse.lm.tokenizer`. Nothing is ever downloaded.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from simcollapse.lm.model import OPTConfig, OPTForCausalLM

if TYPE_CHECKING:
    from simcollapse.lm.tokenizer import Tokenizer

__all__ = [
    "CheckpointError",
    "Pretrained",
    "load_config",
    "load_pretrained",
    "load_state_dict",
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
    from .tokenizer import check_tokenizer, has_tokenizer, load_tokenizer

    tok = None
    if tokenizer and has_tokenizer(Path(path)):
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
