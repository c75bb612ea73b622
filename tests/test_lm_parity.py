"""Parity with the reference PyTorch implementation (``transformers.OPTForCausalLM``) on tiny random weights.

Logits agree to 1e-4 and ``generate`` (greedy and beam search, with and without EOS, repetition and
length penalties) returns the same tokens. Skipped where torch or transformers is not installed.
"""

import numpy as np
import pytest

try:  # the reference implementation; tests are collected and skipped without it (a file of only skips exits 0)
    import torch
    import transformers
except ImportError:
    torch = transformers = None
pytestmark = pytest.mark.skipif(torch is None, reason="needs torch and transformers (the reference implementation)")

import jax

import simcollapse  # noqa: F401
from simcollapse.lm import checkpoint as ck
from simcollapse.lm.generate import GenerationConfig, generate, left_pad
from simcollapse.lm.model import OPTConfig, OPTForCausalLM
from simcollapse.testing.lm import random_params

# tiny models: one intra-op thread avoids oversubscribing the cores that XLA also uses (40x faster here)
if torch is not None:
    torch.set_num_threads(1)

ATOL = 1e-4
N_NEW = 12
# the same prompts and beam settings as test_lm_generate.py (compiled loops are shared)
PROMPTS = [[2, 17, 45, 9, 77, 5], [2, 99, 3], [2, 8, 8, 120, 64, 31]]
BEAMS = {"num_beams": 5, "num_return_sequences": 2}

CONFIGS = {
    "pre_ln": OPTConfig.tiny(),
    "post_ln_proj": OPTConfig.tiny(do_layer_norm_before=False, word_embed_proj_dim=16),  # 350m-like
}


def hf_model(path):
    model = transformers.OPTForCausalLM.from_pretrained(str(path), attn_implementation="eager")
    return model.float().eval()


def hf_logits(model, ids, mask):
    with torch.no_grad():
        out = model(
            input_ids=torch.as_tensor(np.asarray(ids, np.int64)),
            attention_mask=torch.as_tensor(np.asarray(mask, np.int64)),
        )
    return out.logits.numpy()


def our_logits(cfg, params, ids, mask):
    return np.asarray(
        jax.jit(lambda p, x, m: OPTForCausalLM(cfg).apply({"params": p}, x, m).logits)(params, ids, mask)
    )


@pytest.fixture(scope="module")
def prompts():
    return left_pad(PROMPTS, pad_token_id=1)


@pytest.fixture(scope="module", params=list(CONFIGS))
def saved(request, tmp_path_factory):
    cfg = CONFIGS[request.param]
    params = random_params(cfg)
    path = tmp_path_factory.mktemp(request.param)
    ck.save_pretrained(path, cfg, params)
    return cfg, params, path


def test_logits_match_transformers(saved, prompts):
    """Our weights, saved in the HF layout, read by transformers: same logits at every real token."""
    cfg, params, path = saved
    ids, mask = prompts
    ref = hf_logits(hf_model(path), ids, mask)
    ours = our_logits(cfg, params, ids, mask)
    real = np.asarray(mask, bool)
    diff = np.abs(ours - ref)[real].max()
    print(f"max |logit diff| = {diff:.2e} (logit scale {np.abs(ref).max():.1f})")
    assert diff <= ATOL


@pytest.mark.parametrize("safe", [True, False], ids=["safetensors", "pytorch_bin"])
def test_load_weights_written_by_transformers(tmp_path, prompts, safe):
    cfg = CONFIGS["pre_ln"]
    hf_cfg = transformers.OPTConfig(**{k: v for k, v in cfg.to_dict().items() if k != "architectures"})
    torch.manual_seed(0)
    model = transformers.OPTForCausalLM(hf_cfg).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.3 * torch.randn_like(p))
    if safe:
        model.save_pretrained(str(tmp_path))
        assert (tmp_path / "model.safetensors").is_file()
    else:  # the layout of the original OPT releases: a pickled state dict (tied lm_head included)
        hf_cfg.save_pretrained(str(tmp_path))
        torch.save(model.state_dict(), str(tmp_path / "pytorch_model.bin"))
    loaded = ck.load_pretrained(tmp_path)
    assert loaded.config == cfg
    ids, mask = prompts
    diff = np.abs(our_logits(cfg, loaded.params, ids, mask) - hf_logits(model, ids, mask))[
        np.asarray(mask, bool)
    ]
    assert diff.max() <= ATOL


GENERATION_CASES = {
    "greedy": {"num_beams": 1, "min_new_tokens": N_NEW},
    "beam5_paper_setting": dict(**BEAMS, min_new_tokens=N_NEW),  # 5 beams, min = max new tokens
    "greedy_eos_reppen": {"num_beams": 1, "min_new_tokens": 4, "repetition_penalty": 1.3},
    "beam5_eos_reppen_lp": dict(**BEAMS, min_new_tokens=3, repetition_penalty=1.3, length_penalty=0.5),
}


@pytest.fixture(scope="module")
def generation_models(tmp_path_factory):
    """The tiny pre-LN model, plus a variant whose EOS embedding is scaled so that EOS gets likely."""
    cfg = CONFIGS["pre_ln"]
    params = random_params(cfg)
    emb = params["embed_tokens"]["embedding"]
    eosy = dict(params, embed_tokens={"embedding": emb.at[cfg.eos_token_id].multiply(2.5)})
    out = {}
    for name, p in (("plain", params), ("eosy", eosy)):
        path = tmp_path_factory.mktemp(name)
        ck.save_pretrained(path, cfg, p)
        out[name] = (p, hf_model(path))
    return cfg, out


@pytest.mark.parametrize("case", list(GENERATION_CASES))
def test_generate_matches_transformers(generation_models, prompts, case):
    cfg, models = generation_models
    kw = dict(GENERATION_CASES[case], max_new_tokens=N_NEW)
    params, hf = models["eosy" if "eos" in case else "plain"]
    ids, mask = prompts
    ours = generate(cfg, params, ids, mask, GenerationConfig(**kw))
    with torch.no_grad():
        ref = hf.generate(
            input_ids=torch.as_tensor(np.asarray(ids, np.int64)),
            attention_mask=torch.as_tensor(np.asarray(mask, np.int64)),
            do_sample=False,
            pad_token_id=cfg.pad_token_id,
            return_dict_in_generate=True,
            output_scores=True,
            **kw,
        )
    ref_seq = ref.sequences.numpy()
    ours_seq = np.asarray(ours.sequences)
    # transformers stops early once every row is done; our fixed-shape output is padded instead
    np.testing.assert_array_equal(ours_seq[:, : ref_seq.shape[1]], ref_seq)
    assert np.all(ours_seq[:, ref_seq.shape[1] :] == cfg.pad_token_id)
    if kw["num_beams"] > 1:
        np.testing.assert_allclose(
            np.asarray(ours.scores), ref.sequences_scores.numpy(), rtol=1e-4, atol=1e-4
        )
    new = ours_seq[:, ids.shape[1] :]
    if "eos" in case:  # the EOS paths were exercised
        assert np.any(new == cfg.eos_token_id)
    else:
        assert not np.any(new == cfg.eos_token_id)
