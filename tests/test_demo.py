"""`simcollapse demo`: each GIF exists, has several frames, and its frames differ."""

import itertools

import numpy as np
import pytest
from PIL import Image

from simcollapse.cli import main
from simcollapse.demo import POPULATION, cats_frames
from simcollapse.theory.markov import absorption_by, transition_matrix


def _frames(path):
    with Image.open(path) as gif:
        frames = []
        for i in range(gif.n_frames):
            gif.seek(i)
            frames.append(np.asarray(gif.convert("RGB"), dtype=float))
    return frames


@pytest.mark.parametrize("name", ["cats", "gaussian"])
def test_demo_writes_animated_gif(name, tmp_path, capsys):
    out = tmp_path / f"{name}.gif"
    assert main(["demo", name, "--out", str(out), "--generations", "12"]) == 0
    frames = _frames(out)
    assert len(frames) >= 5
    assert frames[0].std() > 10  # not blank
    changed = [np.abs(a - b).mean() > 0.05 for a, b in itertools.pairwise(frames)]
    assert sum(changed) >= len(changed) // 2, changed


def test_cats_caption_is_the_exact_wright_fisher_loss_probability():
    blue, p_gone = cats_frames(seed=0, generations=12)
    lost_by, _ = absorption_by(transition_matrix(POPULATION), start=10, generations=12)
    assert blue[0] == 10 and np.all((blue >= 0) & (blue <= POPULATION))
    assert p_gone == pytest.approx(lost_by, abs=1e-12) and p_gone[0] == 0 and p_gone[-1] > 0


@pytest.mark.slow
def test_default_seed_ends_all_yellow():
    blue, _ = cats_frames(seed=0, generations=80)
    assert blue[-1] == 0  # P(blue lost) = 0.9; the default seed shows the usual ending


def test_demo_rejects_a_non_gif_name(tmp_path, capsys):
    assert main(["demo", "cats", "--out", str(tmp_path / "cats.png")]) == 2
    assert "--out" in capsys.readouterr().err
