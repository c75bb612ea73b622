"""OPT decoder-only language model in Flax (linen), with a fixed-size KV cache.

Architecture of OPT (Zhang et al. 2022, "OPT: Open Pre-trained Transformer Language Models",
arXiv:2205.01068), the model family fine-tuned recursively in the language-model experiment of
Shumailov et al. (Nature 631, 2024), which starts from OPT-125m:

* token embedding (``vocab_size x word_embed_proj_dim``) plus a learned positional embedding with
  ``max_position_embeddings + 2`` rows; the position of a token is the number of non-padding tokens
  before it (``cumsum(attention_mask) - 1``, so padding sits at -1) and row ``position + 2`` is used;
* ``num_hidden_layers`` decoder layers, each a multi-head causal self-attention block and a ReLU MLP
  (``hidden_size -> ffn_dim -> hidden_size``), with residual connections and LayerNorm either before
  each block (``do_layer_norm_before=True``: 125m and every size except 350m) or after it (350m);
* a final LayerNorm (pre-LN models only), optional ``project_in``/``project_out`` linear maps when
  ``word_embed_proj_dim != hidden_size`` (350m), and an output projection tied to the token embedding.

Parameters are plain pytrees whose names follow the Hugging Face module names (``embed_tokens``,
``layers_3/self_attn/q_proj``, ``fc1``, ``final_layer_norm``, ...), with Flax conventions for the
leaves (``kernel`` is ``(in, out)``, ``embedding``, LayerNorm ``scale``/``bias``).

The KV cache is an explicit argument and return value (no mutable collections): a tuple with one
``{"key", "value"}`` dict per layer, each ``(batch, cache_len, heads, head_dim)``. A call writes its
``T`` new tokens at cache slots ``[cache_index, cache_index + T)``; ``attention_mask`` then covers all
``cache_len`` slots. A query at slot ``i`` attends to key slot ``j`` iff ``j <= i`` and slot ``j``
is not padding.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "OPTConfig",
    "OPTForCausalLM",
    "OPTOutput",
    "init_cache",
    "init_params",
    "param_count",
    "position_ids_from_mask",
]

Array = jax.Array
KVCache = tuple  # tuple of {"key": Array, "value": Array}, one per layer

POSITION_OFFSET = 2  # OPT's learned positional embedding reserves rows 0 and 1
LAYER_NORM_EPS = 1e-5

# Config keys this module reads; any other keys of a config.json are kept verbatim in ``extra``.
_KNOWN_KEYS = (
    "vocab_size",
    "hidden_size",
    "num_hidden_layers",
    "ffn_dim",
    "num_attention_heads",
    "max_position_embeddings",
    "do_layer_norm_before",
    "word_embed_proj_dim",
    "pad_token_id",
    "bos_token_id",
    "eos_token_id",
    "activation_function",
    "dropout",
    "attention_dropout",
    "layerdrop",
    "init_std",
    "enable_bias",
    "layer_norm_elementwise_affine",
    "_remove_final_layer_norm",
    "tie_word_embeddings",
)


@dataclasses.dataclass(frozen=True)
class OPTConfig:
    """Hyper-parameters of an OPT model, with the Hugging Face ``OPTConfig`` field names.

    The defaults are OPT-125m's (Zhang et al. 2022, table 1): 12 layers, 12 heads, width 768,
    MLP width 3072, 2048 positions, vocabulary 50272 (GPT-2 BPE, padded). ``word_embed_proj_dim=None``
    means "same as hidden_size". Frozen and hashable, so it can be a static argument of ``jax.jit``.
    Unknown config.json keys are kept (as JSON text) in ``extra`` and written back by ``to_dict``;
    they take no part in equality or hashing.
    """

    vocab_size: int = 50272
    hidden_size: int = 768
    num_hidden_layers: int = 12
    ffn_dim: int = 3072
    num_attention_heads: int = 12
    max_position_embeddings: int = 2048
    do_layer_norm_before: bool = True
    word_embed_proj_dim: int | None = None
    pad_token_id: int = 1
    bos_token_id: int = 2
    eos_token_id: int | tuple[int, ...] = 2
    activation_function: str = "relu"
    dropout: float = 0.1
    attention_dropout: float = 0.0
    layerdrop: float = 0.0
    init_std: float = 0.02
    enable_bias: bool = True
    layer_norm_elementwise_affine: bool = True
    _remove_final_layer_norm: bool = False
    tie_word_embeddings: bool = True
    extra: tuple[tuple[str, str], ...] = dataclasses.field(default=(), compare=False)

    def __post_init__(self):
        if self.word_embed_proj_dim is None:
            object.__setattr__(self, "word_embed_proj_dim", self.hidden_size)
        if isinstance(self.eos_token_id, list):
            object.__setattr__(self, "eos_token_id", tuple(self.eos_token_id))
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"hidden_size ({self.hidden_size}) must be divisible by num_attention_heads "
                f"({self.num_attention_heads})"
            )
        if self.activation_function != "relu":
            raise ValueError(
                f"only activation_function='relu' (OPT's) is supported, got {self.activation_function!r}"
            )
        if not self.tie_word_embeddings:
            raise ValueError(
                "OPT ties the output projection to the token embedding; tie_word_embeddings=False "
                "is not supported"
            )

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads

    @property
    def has_final_layer_norm(self) -> bool:
        return self.do_layer_norm_before and not self._remove_final_layer_norm

    @property
    def has_projections(self) -> bool:
        return self.word_embed_proj_dim != self.hidden_size

    @property
    def eos_token_ids(self) -> tuple[int, ...]:
        if self.eos_token_id is None:
            return ()
        if isinstance(self.eos_token_id, int):
            return (self.eos_token_id,)
        return tuple(self.eos_token_id)

    @classmethod
    def tiny(cls, **overrides) -> OPTConfig:
        """A very small OPT for tests: 2 layers, width 32, 4 heads, vocabulary 128, 64 positions."""
        kw = {
            "vocab_size": 128,
            "hidden_size": 32,
            "num_hidden_layers": 2,
            "ffn_dim": 64,
            "num_attention_heads": 4,
            "max_position_embeddings": 64,
            "dropout": 0.0,
        }
        kw.update(overrides)
        return cls(**kw)

    @classmethod
    def from_dict(cls, d: dict) -> OPTConfig:
        """Build from a Hugging Face config.json dictionary (``model_type`` must be ``"opt"`` if present)."""
        model_type = d.get("model_type", "opt")
        if model_type != "opt":
            raise ValueError(f"config has model_type={model_type!r}; only 'opt' models are supported")
        kw = {k: d[k] for k in _KNOWN_KEYS if k in d}
        extra = tuple(
            sorted((k, json.dumps(v)) for k, v in d.items() if k not in _KNOWN_KEYS + ("model_type",))
        )
        return cls(**kw, extra=extra)

    def to_dict(self) -> dict:
        """The Hugging Face config.json dictionary (``model_type="opt"``, ``architectures``)."""
        d = {k: json.loads(v) for k, v in self.extra}
        for f in dataclasses.fields(self):
            if f.name == "extra":
                continue
            v = getattr(self, f.name)
            d[f.name] = list(v) if isinstance(v, tuple) else v
        d["model_type"] = "opt"
        d.setdefault("architectures", ["OPTForCausalLM"])
        return d


class OPTOutput(NamedTuple):
    """``logits``: float32 ``(batch, T, vocab_size)``; ``cache``: the updated KV cache, or None."""

    logits: Array
    cache: KVCache | None


def position_ids_from_mask(attention_mask: Array) -> Array:
    """OPT positions: ``cumsum(mask) * mask - 1``, i.e. index among non-padding tokens, -1 at padding."""
    m = attention_mask.astype(jnp.int32)
    return jnp.cumsum(m, axis=-1) * m - 1


def init_cache(config: OPTConfig, batch_size: int, cache_len: int, dtype=jnp.float32) -> KVCache:
    """An all-zero KV cache: one ``{"key", "value"}`` dict per layer, each
    ``(batch, cache_len, heads, head_dim)``."""
    shape = (batch_size, cache_len, config.num_attention_heads, config.head_dim)
    return tuple(
        {"key": jnp.zeros(shape, dtype), "value": jnp.zeros(shape, dtype)}
        for _ in range(config.num_hidden_layers)
    )


def _layer_norm(config: OPTConfig, name: str, param_dtype) -> nn.LayerNorm:
    affine = config.layer_norm_elementwise_affine
    # computed in float32 whatever the activation dtype, for stability under bf16
    return nn.LayerNorm(
        epsilon=LAYER_NORM_EPS,
        use_scale=affine,
        use_bias=affine,
        dtype=jnp.float32,
        param_dtype=param_dtype,
        name=name,
    )


class _OPTModule(nn.Module):
    """The settings of every OPT module: the model config, the activation and parameter dtypes and the matmul
    precision."""

    config: OPTConfig
    dtype: Any = jnp.float32
    param_dtype: Any = jnp.float32
    precision: Any = None


def _dense(module: _OPTModule, features: int, name: str, weights: bool = True) -> nn.Dense:
    """A Dense layer in `module`'s dtypes and precision (called inside its compact ``__call__``): a weight layer
    (``weights``: bias as the config says, normal(init_std) kernels) or a bias-free projection."""
    cfg = module.config
    init = {"kernel_init": nn.initializers.normal(cfg.init_std)} if weights else {}
    return nn.Dense(features, use_bias=cfg.enable_bias and weights, dtype=module.dtype,
                    param_dtype=module.param_dtype, precision=module.precision, name=name, **init)


class OPTAttention(_OPTModule):
    """Multi-head self-attention: softmax(q k^T / sqrt(head_dim) + mask) v, then an output projection."""

    @nn.compact
    def __call__(self, x, allowed, layer_cache, cache_index, deterministic):
        cfg = self.config
        b, t, _ = x.shape
        h, hd = cfg.num_attention_heads, cfg.head_dim

        def proj(name):
            return _dense(self, cfg.hidden_size, name)

        # OPT scales the query (bias included) by head_dim ** -0.5 before the dot product.
        q = (proj("q_proj")(x) * (hd**-0.5)).reshape(b, t, h, hd)
        k = proj("k_proj")(x).reshape(b, t, h, hd)
        v = proj("v_proj")(x).reshape(b, t, h, hd)
        new_cache = None
        if layer_cache is not None:
            ck = layer_cache["key"]
            zero = jnp.zeros((), jnp.int32)
            start = (zero, cache_index, zero, zero)
            k = jax.lax.dynamic_update_slice(ck, k.astype(ck.dtype), start)
            v = jax.lax.dynamic_update_slice(layer_cache["value"], v.astype(ck.dtype), start)
            new_cache = {"key": k, "value": v}
            k, v = k.astype(self.dtype), v.astype(self.dtype)
        scores = jnp.einsum(
            "bthd,bshd->bhts", q, k, precision=self.precision, preferred_element_type=jnp.float32
        )
        scores = jnp.where(allowed[:, None, :, :], scores, jnp.finfo(jnp.float32).min)
        weights = jax.nn.softmax(scores, axis=-1)
        if cfg.attention_dropout > 0.0 and not deterministic:
            weights = nn.Dropout(cfg.attention_dropout)(weights, deterministic=False)
        out = jnp.einsum("bhts,bshd->bthd", weights.astype(self.dtype), v, precision=self.precision)
        out = proj("out_proj")(out.reshape(b, t, cfg.hidden_size))
        return out, new_cache


class OPTDecoderLayer(_OPTModule):
    """One decoder layer: x + Attn(LN(x)), then x + fc2(relu(fc1(LN(x)))) (pre-LN), or LN after (post-LN)."""

    @nn.compact
    def __call__(self, x, allowed, layer_cache, cache_index, deterministic):
        cfg = self.config
        pre = cfg.do_layer_norm_before

        attn_ln = _layer_norm(cfg, "self_attn_layer_norm", self.param_dtype)
        mlp_ln = _layer_norm(cfg, "final_layer_norm", self.param_dtype)

        residual = x
        h = attn_ln(x).astype(self.dtype) if pre else x
        h, new_cache = OPTAttention(cfg, self.dtype, self.param_dtype, self.precision, name="self_attn")(
            h, allowed, layer_cache, cache_index, deterministic
        )
        h = nn.Dropout(cfg.dropout)(h, deterministic=deterministic or cfg.dropout == 0.0)
        x = residual + h
        if not pre:
            x = attn_ln(x).astype(self.dtype)

        residual = x
        h = mlp_ln(x).astype(self.dtype) if pre else x
        h = _dense(self, cfg.ffn_dim, "fc1")(h)
        h = jax.nn.relu(h)
        h = _dense(self, cfg.hidden_size, "fc2")(h)
        h = nn.Dropout(cfg.dropout)(h, deterministic=deterministic or cfg.dropout == 0.0)
        x = residual + h
        if not pre:
            x = mlp_ln(x).astype(self.dtype)
        return x, new_cache


class OPTForCausalLM(_OPTModule):
    """OPT with the tied language-model head: token ids -> next-token logits.

    Call as ``model.apply({"params": params}, input_ids, attention_mask, cache=None, cache_index=0,
    deterministic=True)`` (dropout needs ``deterministic=False`` and a ``"dropout"`` rng). Without a
    cache, ``attention_mask`` is ``(batch, T)``; with one, it is ``(batch, cache_len)``. Returns an
    ``OPTOutput`` with float32 logits. ``dtype`` is the activation dtype (float32 or bfloat16),
    ``param_dtype`` the dtype of freshly initialised parameters, ``precision`` the matmul precision
    (on GPU/TPU pass ``jax.lax.Precision.HIGHEST`` for full float32 accuracy: XLA's default there may
    use TF32/bf16 passes).
    """

    @nn.compact
    def __call__(
        self,
        input_ids: Array,
        attention_mask: Array | None = None,
        cache: KVCache | None = None,
        cache_index: Array | int = 0,
        deterministic: bool = True,
    ) -> OPTOutput:
        cfg = self.config
        b, t = input_ids.shape
        total = t if cache is None else cache[0]["key"].shape[1]
        if total > cfg.max_position_embeddings:
            raise ValueError(
                f"sequence of {total} tokens (prompt + new tokens when generating) is longer than "
                f"max_position_embeddings={cfg.max_position_embeddings}"
            )
        if cache is not None and len(cache) != cfg.num_hidden_layers:
            raise ValueError(f"cache has {len(cache)} layers, model has {cfg.num_hidden_layers}")
        if attention_mask is None:
            attention_mask = jnp.ones((b, total), jnp.int32)
        if attention_mask.shape != (b, total):
            raise ValueError(
                f"attention_mask has shape {attention_mask.shape}, expected {(b, total)} "
                + ("(one entry per cache slot)" if cache is not None else "")
            )
        attention_mask = attention_mask.astype(bool)
        cache_index = jnp.asarray(cache_index, jnp.int32)

        embed = nn.Embed(
            cfg.vocab_size,
            cfg.word_embed_proj_dim,
            embedding_init=nn.initializers.normal(cfg.init_std),
            dtype=self.dtype,
            param_dtype=self.param_dtype,
            name="embed_tokens",
        )
        pos_embed = nn.Embed(
            cfg.max_position_embeddings + POSITION_OFFSET,
            cfg.hidden_size,
            embedding_init=nn.initializers.normal(cfg.init_std),
            dtype=self.dtype,
            param_dtype=self.param_dtype,
            name="embed_positions",
        )

        # slots of the new tokens, positions from the mask over all slots
        slots = cache_index + jnp.arange(t)
        positions = jax.lax.dynamic_slice_in_dim(
            position_ids_from_mask(attention_mask), cache_index, t, axis=1
        )
        # causal + padding mask, (batch, T, total)
        allowed = (jnp.arange(total)[None, :] <= slots[:, None])[None] & attention_mask[:, None, :]

        x = embed(input_ids)
        if cfg.has_projections:
            x = _dense(self, cfg.hidden_size, "project_in", weights=False)(x)
        x = x + pos_embed(positions + POSITION_OFFSET)

        new_cache = []
        for i in range(cfg.num_hidden_layers):
            x, c = OPTDecoderLayer(cfg, self.dtype, self.param_dtype, self.precision, name=f"layers_{i}")(
                x, allowed, None if cache is None else cache[i], cache_index, deterministic
            )
            new_cache.append(c)

        if cfg.has_final_layer_norm:
            x = _layer_norm(cfg, "final_layer_norm", self.param_dtype)(x).astype(self.dtype)
        if cfg.has_projections:
            x = _dense(self, cfg.word_embed_proj_dim, "project_out", weights=False)(x)
        logits = embed.attend(x).astype(jnp.float32)
        return OPTOutput(logits, None if cache is None else tuple(new_cache))


def init_params(config: OPTConfig, rng: Array, param_dtype=jnp.float32) -> dict:
    """Fresh parameters, initialised as OPT: weights N(0, init_std), biases 0, LayerNorm scale 1.

    All weights come from a single ``jax.random.normal`` draw (cheap to compile, unlike one
    initializer per leaf), so the values differ from ``OPTForCausalLM.init`` but have its law.
    """
    model = OPTForCausalLM(config, param_dtype=param_dtype)
    shapes = jax.eval_shape(lambda: model.init(jax.random.PRNGKey(0), jnp.zeros((1, 1), jnp.int32)))["params"]
    paths, tdef = jax.tree_util.tree_flatten_with_path(shapes)
    is_weight = [getattr(path[-1], "key", None) in ("kernel", "embedding") for path, _ in paths]
    n = sum(int(np.prod(leaf.shape)) for (_, leaf), w in zip(paths, is_weight) if w)
    draws = np.asarray(jax.random.normal(rng, (n,), jnp.float32)) * np.float32(config.init_std)
    leaves, offset = [], 0
    for (path, leaf), w in zip(paths, is_weight):
        size = int(np.prod(leaf.shape))
        if w:
            x = draws[offset : offset + size].reshape(leaf.shape)
            offset += size
        elif path[-1].key == "scale":
            x = np.ones(leaf.shape, np.float32)
        else:
            x = np.zeros(leaf.shape, np.float32)
        leaves.append(jnp.asarray(x, dtype=param_dtype))
    return jax.tree_util.tree_unflatten(tdef, leaves)


def param_count(params: Any) -> int:
    """Total number of scalars in a parameter pytree."""
    return int(sum(x.size for x in jax.tree_util.tree_leaves(params)))
