"""``simcollapse demo cats | gaussian``: animated GIFs of model collapse for a classroom.

* ``cats``: the two-type categorical chain of Shumailov et al. (Nature 2024): 100 cats, 90 yellow and 10 blue;
  each generation the next 100 cats are drawn from the frequencies of the current ones (neutral Wright–Fisher,
  docs/theory.md §C.2). Beside the counter is the exact probability that blue is gone by generation n,
  P_lost[n, blue] from ``simcollapse.theory`` (the (N+1)-state Markov chain; 0.648 at n = 50, → 0.9).
* ``gaussian``: one chain of the 1-D Gaussian family (Nature Thm 3.1): N(μ_n, σ_n²) refitted (ddof 0) to M
  points of the previous fit, drawn over the dashed truth N(0, 1); the curve wanders (μ_n is a random walk) and
  narrows (log σ_n² drifts down by about 1/M per generation: the typical σ_n, exp(½ E log σ_n²), is shown).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .cli import add_command
from .config import ConfigError

YELLOW, BLUE, INK = "#f2c12e", "#3a6fd8", "#333333"
POPULATION = 100
HOLD_FRAMES = 8  # frames repeated after the chain has settled
FPS = 6
DPI = 80


def cat_glyph():
    """A cat's head as one matplotlib Path (unit circle head, two triangular ears), for use as a marker."""
    from matplotlib.path import Path as MplPath

    head = MplPath.circle((0.0, 0.0), 1.0)
    ear = lambda side: MplPath([(0.35 * side, 0.8), (0.95 * side, 1.45), (0.95 * side, 0.45), (0.35 * side, 0.8)],
                               [MplPath.MOVETO, MplPath.LINETO, MplPath.LINETO, MplPath.CLOSEPOLY])
    return MplPath.make_compound_path(head, ear(-1), ear(1))


def cat_face():
    """Eyes and nose of the glyph (three dots), drawn on top of the head.

    A zero-area point at the ear tips' height gives the face the extent of `cat_glyph`, so matplotlib scales both
    markers alike (a custom marker is normalised by its largest coordinate).
    """
    from matplotlib.path import Path as MplPath

    dot = lambda x, y, r: MplPath.circle((x, y), r)
    extent = MplPath([(0.0, 1.45), (0.0, 1.45)], [MplPath.MOVETO, MplPath.LINETO])
    return MplPath.make_compound_path(dot(-0.38, 0.2, 0.13), dot(0.38, 0.2, 0.13), dot(0.0, -0.2, 0.09), extent)


def _settled(values: np.ndarray) -> int:
    """Index of the first generation from which `values` no longer changes (the last index if it never settles)."""
    changed = np.nonzero(values[1:] != values[:-1])[0]
    return int(changed[-1] + 1) if changed.size else 0


def cats_frames(seed: int, generations: int):
    """Blue counts per generation (one chain, N = 100, truth 90/10) and P(blue gone by n), both (G+1,)."""
    from .api import make_config, simulate, theory

    config = make_config("categorical", probs0=[0.9, 0.1], n_samples=POPULATION, generations=generations,
                         chains=1, seed=seed, metrics=["probs"])
    blue = np.rint(simulate(config).stats["probs"][:, 0, 1] * POPULATION).astype(int)
    return blue, theory(config)["P_lost"][:, 1]


def render_cats(out: Path, seed: int, generations: int) -> int:
    """Write the cats GIF; return the number of frames."""
    from matplotlib.animation import FuncAnimation, PillowWriter
    from matplotlib.figure import Figure

    from .plots import style

    blue, p_gone = cats_frames(seed, generations)
    last = min(generations, _settled(blue) + HOLD_FRAMES)
    side = int(np.sqrt(POPULATION))
    grid = np.stack(np.meshgrid(np.arange(side), np.arange(side)[::-1]), -1).reshape(-1, 2)
    order = np.random.default_rng(seed).permutation(POPULATION)  # which seats hold the blue cats
    with style():
        fig = Figure(figsize=(5.2, 6.0), dpi=DPI)
        ax = fig.add_axes((0.02, 0.02, 0.96, 0.8))
        ax.set_xlim(-0.8, side - 0.2)
        ax.set_ylim(-0.8, side - 0.2)
        ax.set_aspect("equal")
        ax.axis("off")
        heads = ax.scatter(grid[:, 0], grid[:, 1], s=520, marker=cat_glyph(), edgecolors=INK, linewidths=0.6)
        ax.scatter(grid[:, 0], grid[:, 1], s=520, marker=cat_face(), color=INK, linewidths=0)
        title = fig.text(0.5, 0.95, "", ha="center", va="top", fontsize=13, weight="bold")
        caption = fig.text(0.5, 0.885, "", ha="center", va="top", fontsize=9.5)

        def draw(n):
            colours = np.full(POPULATION, YELLOW, dtype=object)
            colours[order[: blue[n]]] = BLUE
            heads.set_facecolors(list(colours))
            title.set_text(f"generation {n}: {POPULATION - blue[n]} yellow, {blue[n]} blue")
            caption.set_text(f"exact P(blue gone by generation {n}) = {p_gone[n]:.4f}   (→ 0.9)")
            return heads, title, caption

        animation = FuncAnimation(fig, draw, frames=range(last + 1), blit=False)
        animation.save(out, writer=PillowWriter(fps=FPS), dpi=DPI)
    return last + 1


def gaussian_frames(seed: int, generations: int, n_samples: int):
    """μ_n and σ_n of one chain (ddof 0) and the typical σ_n = exp(½ E log σ_n²), each (G+1,)."""
    from .api import make_config, simulate, theory

    config = make_config("gaussian", n_samples=n_samples, generations=generations, chains=1, seed=seed,
                         metrics=["mean", "logvar"])
    stats = simulate(config).stats
    typical = np.exp(0.5 * theory(config)["E_logvar"])
    return stats["mean"][:, 0], np.exp(0.5 * stats["logvar"][:, 0]), typical


def render_gaussian(out: Path, seed: int, generations: int, n_samples: int = 100) -> int:
    """Write the Gaussian GIF; return the number of frames."""
    from matplotlib.animation import FuncAnimation, PillowWriter
    from matplotlib.figure import Figure

    from .plots import style

    mean, std, typical = gaussian_frames(seed, generations, n_samples)
    x = np.linspace(-3.5, 3.5, 600)
    density = lambda m, s: np.exp(-0.5 * ((x - m) / s) ** 2) / (s * np.sqrt(2 * np.pi))
    peak = 1.0 / (std.min() * np.sqrt(2 * np.pi))
    with style():
        fig = Figure(figsize=(6.0, 4.0), dpi=DPI)
        ax = fig.add_axes((0.1, 0.13, 0.86, 0.7))
        ax.plot(x, density(0.0, 1.0), "k--", lw=1.2, label="truth N(0, 1)")
        (curve,) = ax.plot(x, density(mean[0], std[0]), color="C0", lw=2.0, label="fitted model")
        ax.set_xlim(x[0], x[-1])
        ax.set_ylim(0, 1.08 * peak)
        ax.set_xlabel("x")
        ax.set_ylabel("density")
        ax.legend(loc="upper right")
        title = fig.text(0.5, 0.97, "", ha="center", va="top", fontsize=12, weight="bold")
        caption = fig.text(0.5, 0.9, "", ha="center", va="top", fontsize=9)

        def draw(n):
            curve.set_ydata(density(mean[n], std[n]))
            title.set_text(f"generation {n}  (M = {n_samples} samples each)")
            caption.set_text(f"μ = {mean[n]:+.3f}   σ = {std[n]:.3f}   typical σ from theory = {typical[n]:.3f}")
            return curve, title, caption

        animation = FuncAnimation(fig, draw, frames=range(generations + 1), blit=False)
        animation.save(out, writer=PillowWriter(fps=2 * FPS), dpi=DPI)
    return generations + 1


DEMOS = {"cats": (render_cats, 100), "gaussian": (render_gaussian, 100)}


def cmd_demo(args) -> int:
    """write a classroom animation (GIF): cats turning yellow, or a bell curve collapsing

    cats: 100 cats, 90 yellow and 10 blue, redrawn each generation from the last one's colours, with the exact
    probability that blue is gone. gaussian: a normal distribution refitted each generation to samples of the
    previous fit, narrowing and wandering away from the dashed truth."""
    render, default_generations = DEMOS[args.name]
    out = Path(args.out or f"{args.name}.gif")
    if out.suffix.lower() != ".gif":
        raise ConfigError("--out", f"the demo writes a GIF; give a file ending in .gif, got {str(out)!r}")
    if out.is_dir() or not out.parent.is_dir():
        raise ConfigError("--out", f"{str(out)!r} is not a file in an existing directory")
    generations = args.generations or default_generations
    if generations < 1:
        raise ConfigError("--generations", f"must be ≥ 1, got {generations}")
    frames = render(out, args.seed, generations)
    print(f"wrote {out} ({frames} frames)")
    return 0


def add_parser(subparsers) -> None:
    parser = add_command(subparsers, cmd_demo)
    parser.add_argument("name", choices=sorted(DEMOS), help="which demo")
    parser.add_argument("--out", default=None, help="GIF file to write (default: NAME.gif)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the chain (default 0)")
    parser.add_argument("--generations", type=int, default=None,
                        help="generations to simulate (default 100)")
