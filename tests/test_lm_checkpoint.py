"""Hugging Face-layout checkpoints and tokenizers: round trips, alternative weight files, clear errors."""

import json

import numpy as np
import pytest

pytest.importorskip("flax")
pytest.importorskip("safetensors")
tokenizers = pytest.importorskip("tokenizers")

import jax
import jax.numpy as jnp

import simcollapse  # noqa: F401
from simcollapse.lm import checkpoint as ck
from simcollapse.lm import tokenizer as tk
from simcollapse.lm.model import OPTConfig, init_params

TEXT = """\
Model collapse is a degenerative process affecting generations of learned generative models,
in which the data they generate end up polluting the training set of the next generation.
Being trained on polluted data, they then mis-perceive reality. Over time the tails of the
original distribution disappear, and the models converge to a point estimate with small variance.

The Open Pre-trained Transformers are decoder-only language models ranging from 125 million to
175 billion parameters. The smallest of them was fine-tuned on wikitext-2, and each following
generation was trained on text produced by its predecessor with five-way beam search.

Héllo, wörld! Unicode, tabs\tand   spaces, numbers 12345 and symbols #@$% survive byte-level BPE.
"""


def random_params(cfg, seed=0, scale=0.3):
    rs = np.random.RandomState(seed)
    return jax.tree_util.tree_map(
        lambda x: jnp.asarray(np.asarray(x) + scale * rs.standard_normal(x.shape), jnp.float32),
        init_params(cfg, jax.random.PRNGKey(seed)),
    )


def assert_same_tree(a, b):
    assert jax.tree_util.tree_structure(a) == jax.tree_util.tree_structure(b)
    for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


@pytest.fixture(scope="module")
def cfg():
    return OPTConfig.tiny()


@pytest.fixture(scope="module")
def params(cfg):
    return random_params(cfg)


@pytest.fixture(scope="module")
def trained_tokenizer_dir(tmp_path_factory):
    """A byte-level BPE trained here on TEXT, saved both as vocab.json + merges.txt and tokenizer.json."""
    from tokenizers import ByteLevelBPETokenizer

    tok = ByteLevelBPETokenizer(add_prefix_space=False)
    tok.train_from_iterator(
        TEXT.split("\n"),
        vocab_size=300,
        min_frequency=1,
        special_tokens=["<s>", "<pad>", "</s>", "<unk>"],
        show_progress=False,
    )
    d = tmp_path_factory.mktemp("tok")
    tok.save_model(str(d))  # vocab.json + merges.txt, the layout of the original OPT releases
    tok.save(str(d / "tokenizer.json"))
    return d


# ----------------------------------------------------------------------------------------------------
# weights


def test_save_load_round_trip(tmp_path, cfg, params):
    ck.save_pretrained(tmp_path, cfg, params)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "model.safetensors"]
    conf = json.loads((tmp_path / "config.json").read_text())
    assert conf["model_type"] == "opt" and conf["architectures"] == ["OPTForCausalLM"]
    sd = ck.load_state_dict(tmp_path)
    assert "model.decoder.layers.1.self_attn.q_proj.weight" in sd and "lm_head.weight" not in sd
    # PyTorch Linear layout (out, in): fc1 maps hidden 32 -> ffn 64
    assert sd["model.decoder.layers.0.fc1.weight"].shape == (64, 32)
    np.testing.assert_array_equal(
        sd["model.decoder.layers.0.fc1.weight"].T, params["layers_0"]["fc1"]["kernel"]
    )
    loaded = ck.load_pretrained(tmp_path)
    assert loaded.config == cfg and loaded.tokenizer is None
    assert_same_tree(loaded.params, params)
    bf16 = ck.load_pretrained(tmp_path, dtype=jnp.bfloat16).params
    assert all(x.dtype == jnp.bfloat16 for x in jax.tree_util.tree_leaves(bf16))


def test_accepts_prefix_variants_and_ignores_tied_head(cfg, params):
    sd = ck.params_to_state_dict(params)
    # original OPT releases name weights "decoder.*" without the "model." prefix
    short = {k[len("model.") :]: v for k, v in sd.items()}
    short["lm_head.weight"] = sd["model.decoder.embed_tokens.weight"]
    assert_same_tree(ck.state_dict_to_params(short, cfg), params)


def test_sharded_safetensors(tmp_path, cfg, params):
    from safetensors.numpy import save_file

    sd = ck.params_to_state_dict(params)
    names = sorted(sd)
    shards = {
        "model-00001-of-00002.safetensors": names[: len(names) // 2],
        "model-00002-of-00002.safetensors": names[len(names) // 2 :],
    }
    for fname, keys in shards.items():
        save_file({k: sd[k] for k in keys}, str(tmp_path / fname), metadata={"format": "pt"})
    index = {"metadata": {}, "weight_map": {k: f for f, ks in shards.items() for k in ks}}
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps(index))
    (tmp_path / "config.json").write_text(json.dumps(cfg.to_dict()))
    assert_same_tree(ck.load_pretrained(tmp_path).params, params)
    (tmp_path / "model-00002-of-00002.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="model-00002-of-00002.safetensors"):
        ck.load_pretrained(tmp_path)


def test_flax_msgpack(tmp_path, cfg, params):
    """The Flax layout of HF OPT checkpoints: nested model/decoder/layers/N/..., kernels (in, out)."""
    from flax import serialization

    def hf_flax_tree(tree):
        out = {}
        for k, v in tree.items():
            if k.startswith("layers_"):
                out.setdefault("layers", {})[k[len("layers_") :]] = hf_flax_tree(v)
            elif isinstance(v, dict):
                out[k] = hf_flax_tree(v)
            else:
                out[k] = np.asarray(v)
        return out

    tree = {"model": {"decoder": hf_flax_tree(params)}}
    (tmp_path / "flax_model.msgpack").write_bytes(serialization.msgpack_serialize(tree))
    (tmp_path / "config.json").write_text(json.dumps(cfg.to_dict()))
    assert_same_tree(ck.load_pretrained(tmp_path).params, params)


def test_pytorch_bin_without_torch_is_a_clear_error(tmp_path, cfg, monkeypatch):
    (tmp_path / "config.json").write_text(json.dumps(cfg.to_dict()))
    (tmp_path / "pytorch_model.bin").write_bytes(b"not read")
    monkeypatch.setattr(ck, "_torch_available", lambda: False)
    with pytest.raises(ck.CheckpointError, match="install torch"):
        ck.load_pretrained(tmp_path)


# ----------------------------------------------------------------------------------------------------
# errors


def test_missing_directory_and_files(tmp_path, cfg, params):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ck.load_pretrained(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="config.json"):
        ck.load_pretrained(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps(cfg.to_dict()))
    with pytest.raises(FileNotFoundError, match="model.safetensors"):
        ck.load_pretrained(tmp_path)
    (tmp_path / "config.json").write_text("{ not json")
    with pytest.raises(ck.CheckpointError, match="config.json .*not valid JSON"):
        ck.load_config(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama"}))
    with pytest.raises(ck.CheckpointError, match="model_type='llama'"):
        ck.load_config(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps(cfg.to_dict()))
    (tmp_path / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(ck.CheckpointError, match="model.safetensors"):
        ck.load_pretrained(tmp_path)
    with pytest.raises(FileNotFoundError, match="merges.txt"):
        (tmp_path / "vocab.json").write_text("{}")
        tk.load_tokenizer(tmp_path)


def test_weights_that_do_not_fit_the_config(cfg, params):
    sd = ck.params_to_state_dict(params)
    with pytest.raises(ck.CheckpointError, match="128 rows but config.vocab_size is 256"):
        ck.state_dict_to_params(sd, OPTConfig.tiny(vocab_size=256))
    partial = dict(sd)
    del partial["model.decoder.layers.1.fc2.bias"]
    partial["model.decoder.layers.2.fc2.bias"] = sd["model.decoder.layers.1.fc2.bias"]
    with pytest.raises(
        ck.CheckpointError,
        match=r"missing weights: model\.decoder\.layers\.1\.fc2\.bias.*"
        r"unexpected weights: model\.decoder\.layers\.2\.fc2\.bias",
    ):
        ck.state_dict_to_params(partial, cfg)
    with pytest.raises(
        ck.CheckpointError, match=r"layers\.0\.fc1\.(weight|bias).* has shape .*config implies"
    ):
        ck.state_dict_to_params(sd, OPTConfig.tiny(ffn_dim=48))


# ----------------------------------------------------------------------------------------------------
# tokenizer


@pytest.mark.parametrize("layout", ["tokenizer.json", "vocab+merges"])
def test_tokenizer_round_trip(tmp_path, trained_tokenizer_dir, layout):
    names = ["tokenizer.json"] if layout == "tokenizer.json" else ["vocab.json", "merges.txt"]
    for n in names:
        (tmp_path / n).write_bytes((trained_tokenizer_dir / n).read_bytes())
    tok = tk.load_tokenizer(tmp_path)
    assert (tok.bos_token_id, tok.pad_token_id, tok.eos_token_id, tok.unk_token_id) == (2, 1, 2, 3)
    for para in TEXT.split("\n\n"):
        ids = tok.encode(para)
        assert ids[0] == tok.bos_token_id  # OPT prepends </s>
        assert len(ids) < len(para.encode())  # BPE merges something
        assert tok.decode(ids) == para
        assert tok.encode(para, add_bos=False) == ids[1:]
    assert tok.encode("</s>x", add_bos=False)[0] == 2  # special tokens stay atomic
    assert tok.decode_batch(tok.encode_batch(["a b", "c"])) == ["a b", "c"]


def test_tokenizer_saved_with_model_and_checked_against_vocab(tmp_path, trained_tokenizer_dir, params):
    tok = tk.load_tokenizer(trained_tokenizer_dir)
    small = OPTConfig.tiny()  # vocab 128 < the tokenizer's 300
    ck.save_pretrained(tmp_path / "small", small, params, tokenizer=tok)
    with pytest.raises(ck.CheckpointError, match="tokenizer has 300 tokens .*vocab_size=128"):
        ck.load_pretrained(tmp_path / "small")
    big = OPTConfig.tiny(vocab_size=304)
    big_params = dict(params, embed_tokens={"embedding": jnp.zeros((304, 32), jnp.float32)})
    ck.save_pretrained(tmp_path / "big", big, big_params, tokenizer=tok)
    loaded = ck.load_pretrained(tmp_path / "big")
    assert loaded.tokenizer is not None and loaded.tokenizer.vocab_size == 300
    assert loaded.tokenizer.decode(loaded.tokenizer.encode(TEXT)) == TEXT
