"""Model collapse in variational autoencoders (Shumailov et al., Nature 2024, SI section 4.1, Fig. 7).

Generation 0 is a VAE trained on real digits. Generation ``k + 1`` is a *fresh* VAE trained only on
samples of generation ``k``'s decoder: every training batch decodes fresh ``z ~ N(0, I)`` (the decoder's
Bernoulli means are the images), the epoch has as many samples as the real training set. The paper
uses MNIST, latent dimension 20, 30 epochs per generation; the offline default here is scikit-learn's
8x8 ``load_digits`` (real MNIST from local IDX or ``.npz`` files via ``data_path``).

Metrics per generation: the standard deviation of the latent means that the *generation-0* encoder
assigns to the generation's samples (paper: 0.67 -> 0.43 over 5 generations; it shrinks as the
samples lose variety), the reconstruction loss and negative ELBO on real test digits, and a grid of
decoder samples (same ``z`` for every generation). All arrays are float32.
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import json
from pathlib import Path
from typing import ClassVar

import numpy as np

from .config import AsDict, ConfigError, check_declared, choice, integer, number

__all__ = ["STATISTICS", "VAEConfig", "eval_latents", "latent_std", "load_digits_data", "load_mnist", "plot_vae", "run_vae"]


# ----------------------------------------------------------------------------------------------------
# data


def load_digits_data(test_fraction: float = 0.2, seed: int = 0):
    """scikit-learn's 8x8 digits scaled to [0, 1]: ``(train (n, 64), test (m, 64), (8, 8))`` float32."""
    from sklearn.datasets import load_digits

    x = (load_digits().data / 16.0).astype(np.float32)
    perm = np.random.RandomState(seed).permutation(len(x))
    m = round(test_fraction * len(x))
    return x[perm[m:]], x[perm[:m]], (8, 8)


def _read_idx(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 8:
        raise ValueError(f"{str(path)!r} is not an unsigned-byte IDX file")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{str(path)!r}: header says {shape}, file holds {data.size} values")
    return data.reshape(shape)


def load_mnist(path):
    """MNIST from local files: ``(train (n, 784), test (m, 784), (28, 28))`` float32 in [0, 1].

    ``path`` is an ``.npz`` with ``x_train``/``x_test`` (the Keras layout), or a directory with the IDX
    files ``train-images-idx3-ubyte`` and ``t10k-images-idx3-ubyte`` (optionally ``.gz``).
    """
    p = Path(path)
    if p.is_file() and p.suffix == ".npz":
        with np.load(p) as z:
            missing = [k for k in ("x_train", "x_test") if k not in z]
            if missing:
                raise KeyError(f"{str(p)!r} lacks arrays {missing} (has {list(z.keys())})")
            tr, te = z["x_train"], z["x_test"]
    elif p.is_dir():
        found = {}
        for key, stem in (("train", "train-images-idx3-ubyte"), ("test", "t10k-images-idx3-ubyte")):
            cands = [p / stem, p / (stem + ".gz"), p / stem.replace("-idx3", ".idx3")]
            hit = next((c for c in cands if c.is_file()), None)
            if hit is None:
                raise FileNotFoundError(f"MNIST file {stem}[.gz] not found in {str(p)!r}")
            found[key] = _read_idx(hit)
        tr, te = found["train"], found["test"]
    else:
        raise FileNotFoundError(f"MNIST path {str(p)!r} is neither an .npz file nor a directory of IDX files")
    shape = tuple(tr.shape[1:])
    scale = 255.0 if tr.max() > 1 else 1.0
    return (
        (tr.reshape(len(tr), -1) / scale).astype(np.float32),
        (te.reshape(len(te), -1) / scale).astype(np.float32),
        shape,
    )


# ----------------------------------------------------------------------------------------------------
# model


def _vae_module():
    import flax.linen as nn
    import jax.numpy as jnp

    class VAE(nn.Module):
        """MLP VAE: x -> hidden -> (mu, log var) in R^latent; z -> hidden -> Bernoulli logits of x."""

        out_dim: int
        hidden: int = 256
        latent: int = 20

        def setup(self):
            f32 = {"dtype": jnp.float32, "param_dtype": jnp.float32}
            self.enc = nn.Dense(self.hidden, **f32)
            self.enc2 = nn.Dense(self.hidden, **f32)
            self.mu = nn.Dense(self.latent, **f32)
            self.logvar = nn.Dense(self.latent, **f32)
            self.dec = nn.Dense(self.hidden, **f32)
            self.dec2 = nn.Dense(self.hidden, **f32)
            self.out = nn.Dense(self.out_dim, **f32)

        def encode(self, x):
            h = nn.relu(self.enc2(nn.relu(self.enc(x))))
            return self.mu(h), self.logvar(h)

        def decode(self, z):
            return self.out(nn.relu(self.dec2(nn.relu(self.dec(z)))))  # logits

        def __call__(self, x, z_noise):
            mu, logvar = self.encode(x)
            z = mu + jnp.exp(0.5 * logvar) * z_noise
            return self.decode(z), mu, logvar

    return VAE


def __getattr__(name):  # ``simcollapse.vae.VAE`` without importing flax at package import
    if name == "VAE":
        return _vae_module()
    raise AttributeError(name)


# stats.npz of a run: name -> key path into a generation's metrics (see `core.results.metric_stats`)
STATISTICS = {
    "latent_std": ("latent_std", "mean_dim"),
    "latent_std_pooled": ("latent_std", "pooled"),
    "latent_std_real": ("latent_std_real", "mean_dim"),
    "test_recon_bce": ("test", "recon_bce"),
    "test_neg_elbo": ("test", "neg_elbo"),
    "sample_pixel_std": ("sample_pixel_std",),
    "train_loss": ("train_loss", -1),
}


@dataclasses.dataclass(frozen=True)
class VAEConfig(AsDict):
    """Settings of the VAE chain.

    generations: generations after generation 0.
    epochs: training epochs per generation.
    latent: latent dimension.   hidden: width of the encoder's and decoder's hidden layers.
    batch_size: training batch size.   lr: Adam's learning rate.
    seed: seeds the initial weights, the batches and the latent draws.
    data: digits | mnist: scikit-learn's 8x8 digits (offline) or MNIST from data_path.
    data_path: an MNIST .npz file (x_train, x_test) or a directory of IDX files (data = "mnist").
    n_eval: decoder samples for the latent-std metric.
    grid: decoder samples per generation in the figure.
    out: the output directory.   progress: show progress bars.
    """

    family: ClassVar[str] = "vae"
    chains: ClassVar[int] = 1  # one model per generation
    summary: ClassVar[bool] = False
    metrics: ClassVar[tuple] = tuple(STATISTICS)  # the statistics in stats.npz, in figure order

    generations: int = integer(5, 0)
    epochs: int = integer(30, 1)
    latent: int = integer(20, 1)
    hidden: int = integer(256, 1)
    batch_size: int = integer(64, 1)
    lr: float = number(1e-3, 0.0, low_open=True)
    seed: int = integer(0, 0)
    data: str = choice("digits", ("digits", "mnist"))
    data_path: str | None = None
    n_eval: int = integer(2000, 1)
    grid: int = integer(10, 1)
    out: str = "out/vae"
    progress: bool = True

    def __post_init__(self):
        check_declared(self)
        if self.data == "mnist" and not self.data_path:
            raise ConfigError("data_path", "is required with data='mnist' (an .npz file or a directory of IDX files)")


def _bce(logits, x):
    import jax

    return -(x * jax.nn.log_sigmoid(logits) + (1 - x) * jax.nn.log_sigmoid(-logits)).sum(-1)


def _losses(model, params, x, noise):
    import jax.numpy as jnp

    logits, mu, logvar = model.apply({"params": params}, x, noise)
    rec = _bce(logits, x)
    kl = 0.5 * (jnp.exp(logvar) + mu**2 - 1.0 - logvar).sum(-1)
    return rec, kl


@functools.lru_cache(maxsize=8)
def _fns(out_dim: int, hidden: int, latent: int):
    """Jitted init / decode (to Bernoulli means) / encode (latent means) / test losses for one shape."""
    import jax
    import jax.numpy as jnp

    model = _vae_module()(out_dim, hidden, latent)

    shapes = jax.eval_shape(
        lambda: model.init(
            jax.random.PRNGKey(0), jnp.zeros((1, out_dim), jnp.float32), jnp.zeros((1, latent), jnp.float32)
        )
    )["params"]

    def init(seed: int):
        """LeCun-normal kernels (N(0, 1/fan_in), untruncated), zero biases; drawn with numpy (no compile)."""
        rs = np.random.RandomState(seed)

        def leaf(a):
            if a.ndim == 2:
                return jnp.asarray(rs.standard_normal(a.shape) / np.sqrt(a.shape[0]), jnp.float32)
            return jnp.zeros(a.shape, jnp.float32)

        return jax.tree_util.tree_map(leaf, shapes)

    def decode(params, z):
        return jax.nn.sigmoid(model.apply({"params": params}, z, method="decode"))

    def encode(params, x):
        return model.apply({"params": params}, x, method="encode")[0]

    def test_losses(params, x, noise):
        mu = model.apply({"params": params}, x, method="encode")[0]
        rec_mu = _bce(model.apply({"params": params}, mu, method="decode"), x)
        rec, kl = _losses(model, params, x, noise)
        return rec_mu.mean(), (rec + kl).mean()

    return init, jax.jit(decode), jax.jit(encode), jax.jit(test_losses)


@functools.lru_cache(maxsize=8)
def _trainer(out_dim: int, hidden: int, latent: int, batch: int, steps: int, lr: float):
    """A jitted epoch: ``steps`` Adam steps on batches of real rows (a permutation) or, if the traced
    flag ``synthetic`` is set, of decoder samples (one compiled function serves both)."""
    import jax
    import jax.numpy as jnp
    import optax

    model = _vae_module()(out_dim, hidden, latent)
    opt = optax.adam(lr)

    def loss_fn(params, x, noise):
        rec, kl = _losses(model, params, x, noise)
        return (rec + kl).mean()

    def epoch(params, opt_state, data, perm, z_all, noise_all, prev_params, synthetic):
        # random numbers come from numpy (``perm``: row order; ``z_all``/``noise_all``: (steps, batch,
        # latent) decoder inputs and reparameterisation noise), which keeps the compiled loop small
        def body(carry, inp):
            params, opt_state = carry
            i, z, noise = inp
            # synthetic: fresh z for every batch, decoded by the previous generation
            fake = jax.nn.sigmoid(model.apply({"params": prev_params}, z, method="decode"))
            real = data[jax.lax.dynamic_slice_in_dim(perm, i * batch, batch)]
            x = jnp.where(synthetic, fake, real)
            loss, g = jax.value_and_grad(loss_fn)(params, x, noise)
            upd, opt_state = opt.update(g, opt_state, params)
            upd = jax.tree_util.tree_map(lambda u, p: u.astype(p.dtype), upd, params)
            return (optax.apply_updates(params, upd), opt_state), loss

        (params, opt_state), losses = jax.lax.scan(
            body, (params, opt_state), (jnp.arange(steps), z_all, noise_all)
        )
        return params, opt_state, losses.mean()

    return model, opt, jax.jit(epoch)


def train_vae(cfg: VAEConfig, n_train: int, out_dim: int, seed: int, data=None, prev_params=None, desc="vae"):
    """A fresh VAE trained for ``cfg.epochs`` on ``data`` (real rows) or, if ``prev_params`` is given, on
    samples of that VAE's decoder (``n_train`` per epoch). Returns ``(params, per-epoch losses)``."""
    import jax
    import jax.numpy as jnp

    from .progress import tqdm

    synthetic = prev_params is not None
    if not synthetic and data is None:
        raise ValueError("train_vae needs data (real rows) or prev_params (a VAE to sample from)")
    steps = max(1, n_train // cfg.batch_size)
    _, opt, epoch = _trainer(out_dim, cfg.hidden, cfg.latent, cfg.batch_size, steps, float(cfg.lr))
    params = _fns(out_dim, cfg.hidden, cfg.latent)[0](seed)
    rs = np.random.RandomState(seed + 7919)
    opt_state = jax.jit(opt.init)(params)
    if data is None:  # only the shape matters when sampling; one row per training sample
        data = jnp.zeros((max(n_train, cfg.batch_size), out_dim), jnp.float32)
    data = jnp.asarray(data, jnp.float32)
    dummy_prev = params if prev_params is None else prev_params
    flag = jnp.asarray(synthetic)
    losses = []
    for _ in tqdm(range(cfg.epochs), disable=not cfg.progress, desc=desc, leave=False):
        perm = jnp.asarray(rs.permutation(data.shape[0]).astype(np.int32))
        z_all, noise_all = (
            jnp.asarray(rs.standard_normal((steps, cfg.batch_size, cfg.latent)), jnp.float32)
            for _ in range(2)
        )
        params, opt_state, loss = epoch(params, opt_state, data, perm, z_all, noise_all, dummy_prev, flag)
        losses.append(float(loss))
    return params, losses


def decoder_samples(cfg: VAEConfig, params, out_dim: int, z):
    """Decoder Bernoulli means ``(n, out_dim)`` at latent points ``z`` ``(n, latent)``."""
    import jax.numpy as jnp

    return np.asarray(_fns(out_dim, cfg.hidden, cfg.latent)[1](params, jnp.asarray(z, jnp.float32)))


def latent_std(cfg: VAEConfig, encoder_params, x, out_dim: int) -> dict:
    """Std of the latent means that the VAE with ``encoder_params`` gives to the rows of ``x``:
    ``mean_dim`` (per-dimension std, averaged over dimensions) and ``pooled`` (all means together)."""
    import jax.numpy as jnp

    mu = _fns(out_dim, cfg.hidden, cfg.latent)[2](encoder_params, jnp.asarray(x, jnp.float32))
    mu = np.asarray(mu, np.float64)
    return {"mean_dim": float(mu.std(0).mean()), "pooled": float(mu.std())}


def reconstruction(cfg: VAEConfig, params, x, out_dim: int, seed: int = 0) -> dict:
    """Mean per-image BCE reconstruction of ``x`` from the latent mean, and the negative ELBO (1 draw)."""
    import jax.numpy as jnp

    x = jnp.asarray(x, jnp.float32)
    noise = jnp.asarray(np.random.RandomState(seed).standard_normal((x.shape[0], cfg.latent)), jnp.float32)
    rec, elbo = _fns(out_dim, cfg.hidden, cfg.latent)[3](params, x, noise)
    return {"recon_bce": float(rec), "neg_elbo": float(elbo)}


def eval_latents(cfg: VAEConfig):
    """The fixed latent points of a run: ``(z_grid (grid, latent), z_eval (n_eval, latent))`` float32."""
    rs = np.random.RandomState(cfg.seed + 12345)
    return (
        rs.standard_normal((cfg.grid, cfg.latent)).astype(np.float32),
        rs.standard_normal((cfg.n_eval, cfg.latent)).astype(np.float32),
    )


def plot_vae(grids: list, image_shape, metrics: list, path) -> Path:
    """Rows of decoder samples per generation (left) and the metrics against generation (right)."""
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_gen, n = len(grids), len(grids[0])
    fig = plt.figure(figsize=(n * 0.7 + 7.0, max(3.5, n_gen * 0.7)))
    gs = fig.add_gridspec(
        n_gen, n + 10, left=0.06, right=0.92, bottom=0.14, top=0.95, wspace=0.15, hspace=0.15
    )
    for g, row in enumerate(grids):
        for j, img in enumerate(row):
            ax = fig.add_subplot(gs[g, j])
            ax.imshow(np.asarray(img).reshape(image_shape), cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if j == 0:
                ax.set_ylabel(
                    f"gen {metrics[g]['generation']}", rotation=0, ha="right", va="center", fontsize=8
                )
    ax = fig.add_subplot(gs[:, n + 2 :])
    gens = [m["generation"] for m in metrics]
    ax.plot(
        gens,
        [m["latent_std"]["mean_dim"] for m in metrics],
        marker="o",
        label="latent-mean std (gen-0 encoder)",
    )
    ax.axhline(metrics[0]["latent_std_real"]["mean_dim"], color="gray", ls="--", label="real test digits")
    ax.set_xlabel("generation")
    ax.set_ylabel("std of latent means")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax2 = ax.twinx()
    ax2.plot(
        gens, [m["test"]["recon_bce"] for m in metrics], marker="s", color="C1", label="test reconstruction"
    )
    ax2.set_ylabel("reconstruction BCE on real test digits")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=7, loc="center right")
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def run_vae(cfg: VAEConfig | None = None, return_params: bool = False):
    """Train generations 0..``cfg.generations``; write ``config.json``, ``metrics.json``, ``samples.npz``,
    ``vae_collapse.png`` and ``stats.npz`` (``STATISTICS``, shape (generations+1, 1)) to ``cfg.out``. Returns the metrics list (and the parameters if asked)."""

    from .core import results

    cfg = cfg or VAEConfig()
    if cfg.data == "digits":
        train_x, test_x, shape = load_digits_data(seed=cfg.seed)
    else:
        try:
            train_x, test_x, shape = load_mnist(cfg.data_path)
        except (OSError, KeyError, ValueError) as err:  # a missing or malformed file: name the field
            raise ConfigError("data_path", str(err).strip("'\"")) from None
    d = train_x.shape[1]
    z_grid, z_eval = eval_latents(cfg)
    out = Path(cfg.out)
    results.write_config(out, cfg)

    metrics, grids, all_params = [], [], []
    prev = gen0 = None
    for g in range(cfg.generations + 1):
        params, losses = train_vae(
            cfg, len(train_x), d, cfg.seed * 1000 + g, data=train_x, prev_params=prev, desc=f"vae gen {g}"
        )
        if g == 0:
            gen0 = params
        samples = decoder_samples(cfg, params, d, z_eval)
        m = {
            "generation": g,
            "train_loss": losses,
            "latent_std": latent_std(cfg, gen0, samples, d),
            "latent_std_real": latent_std(cfg, gen0, test_x, d),
            "test": reconstruction(cfg, params, test_x, d, cfg.seed * 1000 + g),
            "sample_pixel_std": float(samples.std(0).mean()),
        }
        metrics.append(m)
        grids.append(decoder_samples(cfg, params, d, z_grid))
        all_params.append(params)
        prev = params
        if cfg.progress:
            print(
                f"vae generation {g}: latent std {m['latent_std']['mean_dim']:.3f}, "
                f"test reconstruction {m['test']['recon_bce']:.3f}"
            )
    (out / "metrics.json").write_text(
        json.dumps({"config": dataclasses.asdict(cfg), "generations": metrics}, indent=2)
    )
    np.savez_compressed(out / "samples.npz", grids=np.stack(grids), image_shape=np.asarray(shape))
    plot_vae(grids, shape, metrics, out / "vae_collapse.png")
    # written last: a run directory with stats.npz is finished (`simcollapse plot` and `report` read it)
    results.save_stats(out, np.arange(len(metrics)), results.metric_stats(metrics, STATISTICS))
    return (metrics, all_params) if return_params else metrics
