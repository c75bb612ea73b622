"""Greedy search, beam search and sampling on a tiny random OPT, checked against full forward passes."""

import numpy as np
import pytest

pytest.importorskip("flax")

import jax
import jax.numpy as jnp

import simcollapse  # noqa: F401
from simcollapse.lm.generate import GenerationConfig, generate, left_pad
from simcollapse.lm.model import OPTConfig, OPTForCausalLM, init_params

N_NEW = 12
# prompts and beam settings shared with test_lm_parity.py, so that compiled loops are reused
PROMPTS = [[2, 17, 45, 9, 77, 5], [2, 99, 3], [2, 8, 8, 120, 64, 31]]
BEAMS = {"num_beams": 5, "num_return_sequences": 2}


def random_params(cfg, seed=0, scale=0.3):
    rs = np.random.RandomState(seed)
    return jax.tree_util.tree_map(
        lambda x: jnp.asarray(np.asarray(x) + scale * rs.standard_normal(x.shape), jnp.float32),
        init_params(cfg, jax.random.PRNGKey(seed)),
    )


@pytest.fixture(scope="module")
def setup():
    cfg = OPTConfig.tiny()
    params = random_params(cfg)
    ids, mask = left_pad(PROMPTS, cfg.pad_token_id)
    forward = jax.jit(lambda p, x, m: OPTForCausalLM(cfg).apply({"params": p}, x, m).logits)
    return cfg, params, ids, mask, forward


def sequence_logprobs(forward, params, seqs, mask_prompt, n_new):
    """log p(token) of each generated token under a full forward pass over prompt + new tokens."""
    mask = jnp.concatenate([mask_prompt, jnp.ones((seqs.shape[0], n_new), jnp.int32)], axis=1)
    logp = jax.nn.log_softmax(forward(params, seqs, mask), axis=-1)
    t = mask_prompt.shape[1]
    return jnp.take_along_axis(logp[:, t - 1 : -1], seqs[:, t:, None], axis=-1)[..., 0]


def test_left_pad():
    ids, mask = left_pad([[5, 6], [7]], pad_token_id=1, length=3)
    np.testing.assert_array_equal(ids, [[1, 5, 6], [1, 1, 7]])
    np.testing.assert_array_equal(mask, [[0, 1, 1], [0, 0, 1]])
    with pytest.raises(ValueError, match="more than length"):
        left_pad([[1, 2, 3]], 1, length=2)


def test_default_is_the_paper_setting():
    g = GenerationConfig()
    assert (g.num_beams, g.max_new_tokens, g.min_new_tokens, g.length_penalty) == (5, 64, 64, 1.0)
    assert (g.repetition_penalty, g.do_sample) == (1.0, False)


def test_greedy_matches_argmax_of_full_forward(setup):
    cfg, params, ids, mask, forward = setup
    g = GenerationConfig(num_beams=1, max_new_tokens=N_NEW, min_new_tokens=N_NEW)
    out = generate(cfg, params, ids, mask, g)
    assert out.sequences.shape == (3, ids.shape[1] + N_NEW)
    np.testing.assert_array_equal(out.sequences[:, : ids.shape[1]], ids)
    # rebuild the greedy continuation token by token with full forward passes (no cache); the buffer
    # has its final length from the start (later slots cannot influence earlier logits)
    t = ids.shape[1]
    seq = jnp.concatenate([ids, jnp.full((3, N_NEW), cfg.pad_token_id, ids.dtype)], axis=1)
    m = jnp.concatenate([mask, jnp.ones((3, N_NEW), mask.dtype)], axis=1)
    for i in range(N_NEW):
        logits = forward(params, seq, m)[:, t - 1 + i]
        logits = logits.at[:, cfg.eos_token_id].set(-jnp.inf)  # min_new_tokens
        seq = seq.at[:, t + i].set(jnp.argmax(logits, -1).astype(seq.dtype))
    np.testing.assert_array_equal(out.sequences, seq)
    lp = sequence_logprobs(forward, params, out.sequences, mask, N_NEW)
    np.testing.assert_allclose(out.scores, lp.sum(1), rtol=1e-5)


def test_beam_search_with_one_beam_equals_greedy(setup):
    cfg, params, ids, mask, _ = setup
    greedy = generate(
        cfg, params, ids, mask, GenerationConfig(num_beams=1, max_new_tokens=N_NEW, min_new_tokens=N_NEW)
    )
    from simcollapse.lm.generate import beam_search

    beam1 = beam_search(
        cfg, params, ids, mask, GenerationConfig(num_beams=1, max_new_tokens=N_NEW, min_new_tokens=N_NEW)
    )
    np.testing.assert_array_equal(beam1.sequences, greedy.sequences)
    np.testing.assert_allclose(beam1.scores * N_NEW, greedy.scores, rtol=1e-5)


def test_beam_search_scores_are_length_normalised_logprobs(setup):
    cfg, params, ids, mask, forward = setup
    g = GenerationConfig(**BEAMS, max_new_tokens=N_NEW, min_new_tokens=N_NEW)
    out = generate(cfg, params, ids, mask, g)
    assert out.sequences.shape == (6, ids.shape[1] + N_NEW)
    prompt_mask = jnp.repeat(mask, 2, axis=0)
    lp = sequence_logprobs(forward, params, out.sequences, prompt_mask, N_NEW)
    assert not bool(jnp.any(out.sequences[:, ids.shape[1] :] == cfg.eos_token_id))  # min_new_tokens
    np.testing.assert_allclose(out.scores, lp.sum(1) / N_NEW, rtol=1e-5)
    scores = np.asarray(out.scores).reshape(3, 2)
    assert np.all(scores[:, 0] >= scores[:, 1])  # best hypothesis first


def test_eos_ends_rows_and_pads(setup):
    """Make EOS the argmax everywhere after min_new_tokens: rows stop there and are padded."""
    cfg, params, ids, mask, _ = setup
    emb = params["embed_tokens"]["embedding"]
    boosted = dict(params, embed_tokens={"embedding": emb.at[cfg.eos_token_id].multiply(40.0)})
    for beams in ({"num_beams": 1}, BEAMS):
        g = GenerationConfig(**beams, max_new_tokens=N_NEW, min_new_tokens=4)
        new = np.asarray(generate(cfg, boosted, ids, mask, g).sequences[:, ids.shape[1] :])
        assert not np.any(new[:, :4] == cfg.eos_token_id)
        first_eos = np.argmax(new == cfg.eos_token_id, axis=1)
        assert np.all(np.any(new == cfg.eos_token_id, axis=1))
        for row, k in zip(new, first_eos):
            assert np.all(row[k + 1 :] == cfg.pad_token_id)


def test_repetition_penalty_discourages_repeats(setup):
    cfg, params, ids, mask, _ = setup

    def distinct(penalty):
        g = GenerationConfig(
            num_beams=1, max_new_tokens=N_NEW, min_new_tokens=N_NEW, repetition_penalty=penalty
        )
        new = np.asarray(generate(cfg, params, ids, mask, g).sequences[:, ids.shape[1] :])
        return sum(len(set(r)) for r in new)

    assert distinct(100.0) > distinct(1.0)


def test_sampling(setup):
    cfg, params, ids, mask, _ = setup
    base = {"num_beams": 1, "max_new_tokens": N_NEW, "min_new_tokens": N_NEW, "do_sample": True}
    greedy = generate(
        cfg, params, ids, mask, GenerationConfig(num_beams=1, max_new_tokens=N_NEW, min_new_tokens=N_NEW)
    )
    key = jax.random.PRNGKey(0)
    top1 = generate(cfg, params, ids, mask, GenerationConfig(**base, top_k=1), rng=key)
    np.testing.assert_array_equal(top1.sequences, greedy.sequences)
    nucleus = generate(cfg, params, ids, mask, GenerationConfig(**base, top_p=1e-6), rng=key)
    np.testing.assert_array_equal(nucleus.sequences, greedy.sequences)
    a = generate(cfg, params, ids, mask, GenerationConfig(**base, temperature=2.0), rng=key)
    b = generate(cfg, params, ids, mask, GenerationConfig(**base, temperature=2.0), rng=key)
    c = generate(cfg, params, ids, mask, GenerationConfig(**base, temperature=2.0), rng=jax.random.PRNGKey(1))
    np.testing.assert_array_equal(a.sequences, b.sequences)
    assert not np.array_equal(a.sequences, c.sequences)
    with pytest.raises(ValueError, match="rng"):
        generate(cfg, params, ids, mask, GenerationConfig(**base))


def test_generation_errors(setup):
    cfg, params, ids, mask, _ = setup
    with pytest.raises(ValueError, match="max_position_embeddings=64"):
        generate(cfg, params, ids, mask, GenerationConfig(max_new_tokens=64))
    right = jnp.asarray([[2, 5, 1]]), jnp.asarray([[1, 1, 0]])
    with pytest.raises(ValueError, match="left-padded"):
        generate(cfg, params, *right, GenerationConfig(num_beams=1, max_new_tokens=2, min_new_tokens=0))
    with pytest.raises(ValueError, match="min_new_tokens"):
        GenerationConfig(max_new_tokens=4, min_new_tokens=5)
    with pytest.raises(ValueError, match="beam sampling"):
        GenerationConfig(do_sample=True, num_beams=2)
    with pytest.raises(ValueError, match="num_return_sequences"):
        GenerationConfig(num_beams=2, num_return_sequences=3)
