"""The recursive language-model loop on a tiny random OPT and a corpus written here: data, training,
evaluation, end-to-end generations, resume, and collapse on self-generated data."""

import json

import numpy as np
import pytest

pytest.importorskip("flax")
pytest.importorskip("optax")
pytest.importorskip("safetensors")
pytest.importorskip("tokenizers")

import jax.numpy as jnp

import simcollapse  # noqa: F401
from simcollapse.config import ConfigError
from simcollapse.lm import checkpoint as ck
from simcollapse.lm import toy
from simcollapse.lm.data import check_lengths, find_split_files, load_blocks, read_lines, tokenize_blocks
from simcollapse.lm.evaluate import distinct_n, perplexity, repetition_rate, sequence_perplexities
from simcollapse.lm.loop import LMLoopConfig, generate_continuations, next_training_set, run_lm
from simcollapse.lm.train import TrainConfig, sequence_losses, train

BLOCK = 16
NEW = 16


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """(model_dir, data_dir, config, params, tokenizer): the toy world of ``simcollapse.lm.toy``."""
    model, data = toy.build(tmp_path_factory.mktemp("lmloop"))
    loaded = ck.load_pretrained(model)
    cfg, params, tok = loaded.config, loaded.params, loaded.tokenizer
    return model, data, cfg, params, tok


# ----------------------------------------------------------------------------------------------------
# data


def test_blocks_follow_the_reference_recipe(world):
    _, data, _, _, tok = world
    lines = read_lines(find_split_files(data)["train"])
    assert "" in lines and all(line == "" or line.endswith("\n") for line in lines)
    blocks = tokenize_blocks(lines, tok, BLOCK)
    ids = [i for line in lines for i in tok.encode(line)]
    assert ids[0] == tok.bos_token_id  # every line starts with </s>, blank ones included
    assert blocks.dtype == np.int32 and blocks.shape == (len(ids) // BLOCK, BLOCK)
    np.testing.assert_array_equal(blocks.ravel(), ids[: blocks.size])
    b = load_blocks(data, tok, BLOCK, max_blocks={"train": 5, "validation": None, "test": 3})
    assert b["train"].shape == (5, BLOCK) and b["test"].shape == (3, BLOCK)
    (data / "train.txt").write_text("ignored: wiki.train.raw has priority\n")
    assert find_split_files(data)["train"][0].name == "wiki.train.raw"
    (data / "train.txt").unlink()


def test_clear_errors(world, tmp_path):
    model, data, cfg, _, _ = world
    with pytest.raises(FileNotFoundError, match="wiki.valid.raw"):
        (tmp_path / "wiki.train.raw").write_text("x\n")
        find_split_files(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        find_split_files(tmp_path / "nope")
    with pytest.raises(ValueError, match="max_position_embeddings=40"):
        check_lengths(cfg, 32, 16)
    with pytest.raises(ConfigError, match="model_dir: model directory"):
        run_lm(LMLoopConfig(model_dir=str(tmp_path / "missing"), data_dir=str(data), out=str(tmp_path / "o")))
    with pytest.raises(ConfigError, match="data_dir: .*wiki.test.raw"):
        run_lm(
            LMLoopConfig(
                model_dir=str(model),
                data_dir=str(tmp_path),
                out=str(tmp_path / "o"),
                block=BLOCK,
                new_tokens=NEW,
            )
        )
    with pytest.raises(ConfigError, match="block: .*max_position_embeddings"):
        run_lm(
            LMLoopConfig(
                model_dir=str(model), data_dir=str(data), block=32, new_tokens=16, out=str(tmp_path / "o")
            )
        )
    with pytest.raises(ConfigError, match="real_fraction: must be ≤ 1"):
        LMLoopConfig(model_dir="m", data_dir="d", real_fraction=1.5)
    with pytest.raises(ConfigError, match="real_fraction: > 0 mixes"):
        LMLoopConfig(model_dir="m", data_dir="d", real_fraction=0.1, block=16, new_tokens=8)
    with pytest.raises(ConfigError, match="model_dir: is required"):
        LMLoopConfig(data_dir="d")
    with pytest.raises(ConfigError, match="model_dir: must be left out with toy=true"):
        LMLoopConfig(model_dir="m", toy=True)
    with pytest.raises(ConfigError, match="nmu_beams: unknown key .* did you mean 'num_beams'"):
        LMLoopConfig.from_dict({"model_dir": "m", "data_dir": "d", "nmu_beams": 5})
    with pytest.raises(ConfigError, match="generations: must be ≥ 0"):
        LMLoopConfig(toy=True, generations=-1)
    assert LMLoopConfig.from_dict({"model_dir": "m", "data_dir": "d", "generations": 3}).generations == 3


# ----------------------------------------------------------------------------------------------------
# training and metrics


def test_loss_masks_padding(world):
    _, _, cfg, params, _ = world
    rs = np.random.RandomState(0)
    ids = rs.randint(4, 320, size=(64, BLOCK)).astype(np.int32)
    mask = np.ones((64, BLOCK), np.int32)
    # row 1: 10 tokens then padding; row 2: junk under the padding; row 3: the same 10 tokens left-padded
    ids[1, 10:] = 1
    ids[2, :10] = ids[1, :10]
    mask[1:3, 10:] = 0
    ids[3, : BLOCK - 10], ids[3, BLOCK - 10 :] = 1, ids[1, :10]
    mask[3, : BLOCK - 10] = 0
    from simcollapse.lm.train import _seq_losses

    s, c = (np.asarray(a) for a in _seq_losses(params, jnp.asarray(ids), jnp.asarray(mask), cfg))
    assert c[0] == BLOCK - 1 and c[1] == c[2] == c[3] == 9
    np.testing.assert_allclose(s[2], s[1], rtol=1e-6)
    np.testing.assert_allclose(s[3], s[1], rtol=1e-5)
    # the public helper agrees (fixed-size batches padded with masked rows)
    s2, c2 = sequence_losses(cfg, params, ids[:1], batch_size=64)
    np.testing.assert_allclose(s2[0], s[0], rtol=1e-6)
    assert c2[0] == c[0]


def test_metrics():
    assert distinct_n([[1, 2, 3, 4]], 2) == 1.0
    assert distinct_n([[1, 2, 1, 2, 1, 2]], 2) == 2 / 5
    assert repetition_rate([[5, 5, 5, 5, 5]], 2) == 3 / 4
    assert repetition_rate([[1, 2, 3]], 2) == 0.0
    gen = np.arange(12).reshape(6, 2)
    real = -np.arange(12).reshape(6, 2)
    out, kept = next_training_set(gen, real, 0.5, np.random.RandomState(0))
    assert len(kept) == 3
    np.testing.assert_array_equal(out[kept], real[kept])
    rest = np.setdiff1d(np.arange(6), kept)
    np.testing.assert_array_equal(out[rest], gen[rest])


# ----------------------------------------------------------------------------------------------------
# collapse: a model trained only on its predecessor's beam-search output is worse on real text


def test_real_perplexity_rises_when_training_on_own_beam_output(world):
    _, data, cfg, params, tok = world
    b = load_blocks(data, tok, BLOCK)
    tc = TrainConfig(epochs=8, batch_size=64, lr=3e-3, final_lr=3e-4, seed=0)
    gen0 = train(cfg, params, b["train"], b["validation"], tc, progress=False)
    assert gen0.history[-1]["train_loss"] < gen0.history[0]["train_loss"]
    from simcollapse.lm.generate import GenerationConfig

    g = GenerationConfig(max_new_tokens=BLOCK, min_new_tokens=BLOCK, num_beams=5)
    synthetic = generate_continuations(cfg, gen0.params, b["train"], g, batch_size=64)
    assert synthetic.shape == b["train"].shape
    gen1 = train(cfg, params, synthetic, b["validation"], tc, progress=False)
    p0 = perplexity(cfg, gen0.params, b["test"])
    p1 = perplexity(cfg, gen1.params, b["test"])
    assert p1["ppl_token"] > 1.5 * p0["ppl_token"], (p0, p1)  # observed: about 7x
    assert p1["ppl_batch"] > 1.5 * p0["ppl_batch"]
    # beam output is less diverse than the real text and looks likelier to the model that made it
    assert distinct_n(synthetic, 2) < distinct_n(b["train"], 2)
    assert np.median(sequence_perplexities(cfg, gen0.params, synthetic)) < np.median(
        sequence_perplexities(cfg, gen0.params, b["train"])
    )


# ----------------------------------------------------------------------------------------------------
# end to end


def test_two_generation_loop_and_resume(world, tmp_path, capsys):
    model, data, _, _, _ = world
    lc = LMLoopConfig(
        model_dir=str(model),
        data_dir=str(data),
        out=str(tmp_path / "run"),
        generations=1,
        epochs=1,
        real_fraction=0.1,
        num_beams=5,
        new_tokens=BLOCK,
        block=BLOCK,
        batch_size=64,
        gen_batch_size=64,
        eval_batch_size=64,
        lr=1e-3,
        final_lr=1e-4,
        max_train_blocks=60,
        prompt="The cat",
        progress=False,
    )
    metrics = run_lm(lc)
    out = tmp_path / "run"
    assert [m["generation"] for m in metrics] == [0, 1]
    for g in (0, 1):
        d = out / f"gen_{g:02d}"
        assert (d / "model.safetensors").is_file() and (d / "tokenizer.json").is_file()
        m = json.loads((d / "metrics.json").read_text())
        for key in (
            "test",
            "validation",
            "history",
            "seq_ppl_under_gen0",
            "data_text",
            "example",
            "best_epoch",
        ):
            assert key in m
        assert np.isfinite(m["test"]["ppl_batch"]) and np.isfinite(m["test"]["ppl_token"])
        assert np.load(d / "seq_ppl.npy").shape == (60,)
        assert np.load(d / "train_blocks.npy").shape == (60, BLOCK)
    assert "zero_shot" in metrics[0]
    assert metrics[1]["real_rows"] == 6 and "distinct_2" in metrics[1]["generated_text"]
    assert isinstance(metrics[1]["example"]["continuation"], str)
    assert len(json.loads((out / "metrics.json").read_text())) == 2
    assert (out / "lm_collapse.png").stat().st_size > 0
    reloaded = ck.load_pretrained(out / "gen_01")
    assert reloaded.tokenizer is not None

    # resume: finished generations are skipped, a further one is added from the saved checkpoint
    stamp = (out / "gen_00" / "model.safetensors").stat().st_mtime_ns
    lc2 = LMLoopConfig(**{**lc.__dict__, "generations": 2, "progress": True})
    metrics2 = run_lm(lc2)
    text = capsys.readouterr().out
    assert (
        "generation 0: finished earlier, skipped" in text
        and "generation 1: finished earlier, skipped" in text
    )
    assert (out / "gen_00" / "model.safetensors").stat().st_mtime_ns == stamp
    assert [m["generation"] for m in metrics2] == [0, 1, 2]
    assert metrics2[1] == metrics[1]
    assert (out / "gen_02" / "metrics.json").is_file()
