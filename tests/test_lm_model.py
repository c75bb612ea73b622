"""OPT forward pass: shapes, causal and padding masks, KV cache, config round trip (tiny random models)."""

import numpy as np
import pytest

pytest.importorskip("flax")

import jax
import jax.numpy as jnp

import simcollapse  # noqa: F401  (enables float64 like users get it)
from simcollapse.lm.model import (
    OPTConfig,
    OPTForCausalLM,
    init_cache,
    init_params,
    param_count,
    position_ids_from_mask,
)
from simcollapse.testing.lm import random_params


def jit_apply(model):
    return jax.jit(lambda p, *a, **kw: model.apply({"params": p}, *a, **kw))


CONFIGS = {
    "pre_ln": OPTConfig.tiny(),
    # OPT-350m-like: LayerNorm after each block, no final LayerNorm, embedding projected 16 <-> 32
    "post_ln_proj": OPTConfig.tiny(do_layer_norm_before=False, word_embed_proj_dim=16),
}


@pytest.fixture(scope="module", params=list(CONFIGS))
def model_and_params(request):
    cfg = CONFIGS[request.param]
    return cfg, jit_apply(OPTForCausalLM(cfg)), random_params(cfg)


def test_forward_shapes_and_dtypes(model_and_params):
    cfg, model, params = model_and_params
    ids = jnp.arange(2 * 9).reshape(2, 9) % cfg.vocab_size
    out = model(params, ids)
    assert out.logits.shape == (2, 9, cfg.vocab_size)
    assert out.logits.dtype == jnp.float32
    assert out.cache is None
    assert bool(jnp.all(jnp.isfinite(out.logits)))
    assert all(x.dtype == jnp.float32 for x in jax.tree_util.tree_leaves(params))
    if cfg.has_projections:
        assert params["project_in"]["kernel"].shape == (16, 32)
        assert params["project_out"]["kernel"].shape == (32, 16)
        assert "final_layer_norm" not in params
    else:
        assert "project_in" not in params
    assert params["embed_positions"]["embedding"].shape == (cfg.max_position_embeddings + 2, cfg.hidden_size)


def test_param_count_matches_opt_125m_formula():
    cfg = OPTConfig()  # OPT-125m
    model = OPTForCausalLM(cfg)
    shapes = jax.eval_shape(lambda: model.init(jax.random.PRNGKey(0), jnp.zeros((1, 1), jnp.int32)))
    d, f, v, p, n = 768, 3072, 50272, 2050, 12
    per_layer = 4 * (d * d + d) + (d * f + f) + (f * d + d) + 2 * 2 * d
    assert param_count(shapes) == v * d + p * d + n * per_layer + 2 * d  # 125,239,296


def test_causal_masking(model_and_params):
    cfg, model, params = model_and_params
    ids = jax.random.randint(jax.random.PRNGKey(3), (2, 9), 0, cfg.vocab_size)
    changed = ids.at[:, 6].set((ids[:, 6] + 1) % cfg.vocab_size)
    a = model(params, ids).logits
    b = model(params, changed).logits
    np.testing.assert_array_equal(np.asarray(a[:, :6]), np.asarray(b[:, :6]))
    assert float(jnp.max(jnp.abs(a[:, 6:] - b[:, 6:]))) > 1e-3


def test_left_padding_uses_mask_positions(model_and_params):
    """A left-padded row gives the same logits at its real tokens as the unpadded row (OPT positions)."""
    cfg, model, params = model_and_params
    y = jax.random.randint(jax.random.PRNGKey(4), (6,), 3, cfg.vocab_size)
    pads = jnp.full((3,), cfg.pad_token_id)
    ids = jnp.stack([jnp.concatenate([y, pads]), jnp.concatenate([pads, y])])  # (2, 9)
    mask = jnp.ones((2, 9), jnp.int32).at[1, :3].set(0)
    out = model(params, ids, mask).logits
    np.testing.assert_allclose(np.asarray(out[1, 3:]), np.asarray(out[0, :6]), atol=1e-5, rtol=1e-5)
    np.testing.assert_array_equal(np.asarray(position_ids_from_mask(mask[1])), [-1, -1, -1, 0, 1, 2, 3, 4, 5])


def test_kv_cache_incremental_equals_full(model_and_params):
    cfg, model, params = model_and_params
    t, extra = 5, 4
    ids = jax.random.randint(jax.random.PRNGKey(5), (2, t + extra), 3, cfg.vocab_size)
    mask = jnp.ones_like(ids).at[1, :2].set(0)  # row 1 left-padded by 2
    ids = ids.at[1, :2].set(cfg.pad_token_id)
    full = model(params, ids, mask).logits

    cache = init_cache(cfg, 2, t + extra)
    out = model(params, ids[:, :t], mask, cache=cache, cache_index=0)  # prefill with the prompt
    steps = [out.logits]
    cache = out.cache
    for i in range(t, t + extra):  # then one token at a time
        out = model(params, ids[:, i : i + 1], mask, cache=cache, cache_index=i)
        cache = out.cache
        steps.append(out.logits)
    inc = jnp.concatenate(steps, axis=1)
    real = np.asarray(mask, bool)
    np.testing.assert_allclose(np.asarray(inc)[real], np.asarray(full)[real], atol=1e-5, rtol=1e-5)
    assert len(cache) == cfg.num_hidden_layers
    assert cache[0]["key"].shape == (2, t + extra, cfg.num_attention_heads, cfg.head_dim)


def test_bfloat16_activations_close_to_float32():
    cfg = CONFIGS["pre_ln"]
    params = random_params(cfg, scale=0.1)
    ids = jax.random.randint(jax.random.PRNGKey(6), (2, 9), 0, cfg.vocab_size)
    ref = jit_apply(OPTForCausalLM(cfg))(params, ids).logits
    out = jit_apply(OPTForCausalLM(cfg, dtype=jnp.bfloat16))(params, ids).logits
    assert out.dtype == jnp.float32
    assert float(jnp.max(jnp.abs(out - ref))) < 0.1 * float(jnp.max(jnp.abs(ref)))


def test_sequence_longer_than_max_positions_raises():
    cfg = OPTConfig.tiny(max_position_embeddings=8)
    model = jit_apply(OPTForCausalLM(cfg))
    params = init_params(cfg, jax.random.PRNGKey(0))
    model(params, jnp.zeros((1, 8), jnp.int32))  # exactly max is fine
    with pytest.raises(ValueError, match="max_position_embeddings=8"):
        model(params, jnp.zeros((1, 9), jnp.int32))
    with pytest.raises(ValueError, match="max_position_embeddings=8"):
        model(
            params,
            jnp.zeros((1, 1), jnp.int32),
            jnp.ones((1, 12)),
            cache=init_cache(cfg, 1, 12),
            cache_index=0,
        )


def test_config_dict_round_trip_and_validation():
    d = OPTConfig().to_dict()
    assert d["model_type"] == "opt" and d["word_embed_proj_dim"] == 768 and d["eos_token_id"] == 2
    d["prefix"] = "</s>"  # unknown keys survive the round trip
    cfg = OPTConfig.from_dict(d)
    assert cfg == OPTConfig.from_dict(cfg.to_dict()) and cfg.to_dict()["prefix"] == "</s>"
    hash(cfg)  # usable as a static jit argument
    with pytest.raises(ValueError, match="model_type"):
        OPTConfig.from_dict({"model_type": "gpt2"})
    with pytest.raises(ValueError, match="divisible"):
        OPTConfig.tiny(num_attention_heads=5)
    with pytest.raises(ValueError, match="relu"):
        OPTConfig.tiny(activation_function="gelu")
