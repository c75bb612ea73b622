"""VAE model collapse on scikit-learn's 8x8 digits: two generations end to end, gen-0-encoder metrics."""

import json

import numpy as np
import pytest

pytest.importorskip("flax")
pytest.importorskip("optax")
pytest.importorskip("sklearn")

import simcollapse  # noqa: F401
from simcollapse.config import ConfigError
from simcollapse.vae import (
    VAEConfig,
    decoder_samples,
    eval_latents,
    latent_std,
    load_digits_data,
    load_mnist,
    run_vae,
)


def test_two_generations_on_digits(tmp_path):
    cfg = VAEConfig(
        generations=1, epochs=4, latent=4, hidden=32, n_eval=300, grid=4, out=str(tmp_path), progress=False
    )
    metrics, params = run_vae(cfg, return_params=True)
    assert [m["generation"] for m in metrics] == [0, 1] and len(params) == 2
    train_x, _, shape = load_digits_data(seed=cfg.seed)
    assert shape == (8, 8) and train_x.dtype == np.float32 and 0 <= train_x.min() and train_x.max() <= 1
    # the latent-std metric of generation 1 uses generation 0's encoder on generation 1's samples
    _, z = eval_latents(cfg)
    s1 = decoder_samples(cfg, params[1], 64, z)
    assert metrics[1]["latent_std"] == pytest.approx(latent_std(cfg, params[0], s1, 64), rel=1e-6)
    assert metrics[1]["latent_std"] != pytest.approx(latent_std(cfg, params[1], s1, 64), rel=1e-3)
    for m in metrics:
        assert np.isfinite(m["test"]["recon_bce"]) and m["latent_std"]["mean_dim"] > 0
    # generation 0 reconstructs real digits better than the generation trained on its samples
    assert metrics[1]["test"]["recon_bce"] > metrics[0]["test"]["recon_bce"]
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert len(saved["generations"]) == 2
    assert np.load(tmp_path / "samples.npz")["grids"].shape == (2, 4, 64)
    assert (tmp_path / "vae_collapse.png").stat().st_size > 0


def test_mnist_files(tmp_path):
    rs = np.random.RandomState(0)
    x_tr = rs.randint(0, 256, size=(5, 28, 28)).astype(np.uint8)
    x_te = rs.randint(0, 256, size=(3, 28, 28)).astype(np.uint8)
    np.savez(tmp_path / "mnist.npz", x_train=x_tr, x_test=x_te)
    tr, te, shape = load_mnist(tmp_path / "mnist.npz")
    assert tr.shape == (5, 784) and te.shape == (3, 784) and shape == (28, 28)
    np.testing.assert_allclose(tr, x_tr.reshape(5, -1) / 255.0, rtol=1e-6)
    idx = tmp_path / "idx"
    idx.mkdir()
    for name, arr in (("train-images-idx3-ubyte", x_tr), ("t10k-images-idx3-ubyte", x_te)):
        header = bytes([0, 0, 8, 3]) + b"".join(int(n).to_bytes(4, "big") for n in arr.shape)
        (idx / name).write_bytes(header + arr.tobytes())
    tr2, te2, _ = load_mnist(idx)
    np.testing.assert_array_equal(tr2, tr)
    np.testing.assert_array_equal(te2, te)
    with pytest.raises(FileNotFoundError, match="t10k-images-idx3-ubyte"):
        (idx / "t10k-images-idx3-ubyte").unlink()
        load_mnist(idx)
    with pytest.raises(ConfigError, match="data_path: is required"):
        VAEConfig(data="mnist")


def test_config_from_dict():
    assert VAEConfig.from_dict({"generations": 2}).generations == 2
    with pytest.raises(ConfigError, match="bogus: unknown key"):
        VAEConfig.from_dict({"bogus": 1})
    with pytest.raises(ConfigError, match="epochs: must be ≥ 1"):
        VAEConfig.from_dict({"epochs": 0})
