"""`simcollapse demo`: each GIF exists, has several frames, and its frames differ."""

import itertools

import numpy as np
import pytest
from PIL import Image

from simcollapse.cli import main
from simcollapse.demo import POPULATION, cats_frames


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


def test_cats_chain_starts_at_ten_blue_and_tracks_the_exact_loss_probability():
    blue, p_gone = cats_frames(seed=0, generations=80)
    assert blue[0] == 10 and 0 <= blue.min() and blue.max() <= POPULATION
    assert blue[-1] == 0  # seed 0 is the usual ending: blue is lost
    assert p_gone[0] == 0 and np.all(np.diff(p_gone) >= 0) and p_gone[-1] < 0.9


def test_demo_rejects_a_non_gif_name(tmp_path, capsys):
    assert main(["demo", "cats", "--out", str(tmp_path / "cats.png")]) == 2
    assert "--out" in capsys.readouterr().err
