"""samplers.redraw: every element's draw is its own first accepted candidate, whichever elements run beside it and
whether it was redrawn in a pass over the whole batch or among the gathered pending ones."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from simcollapse.samplers import bits, redraw

ACCEPT = 0.1  # a candidate is accepted with this probability: many passes, so every level of gathering is used


def _candidate(hi, lo, index, tries, threshold):
    """Accepted when its uniform is below `threshold`; the value is the number of the candidate."""
    u = bits.to_unit(bits.words_at(bits.Key(hi, lo), index, tries))
    return u < threshold, jnp.broadcast_to(tries, u.shape).astype(jnp.float64)


_first_accepted = redraw.rejection(_candidate)


def _by_hand(hi, lo, index, threshold):
    """The first t whose uniform at counter (t, index) is below the threshold, one element at a time."""
    t = 0
    while not float(bits.to_unit(bits.words_at(bits.Key(np.uint32(hi), np.uint32(lo)), index, t))) < threshold:
        t += 1
    return t


@pytest.mark.parametrize("size", [1, 63, 64, 1000, 5000])
def test_prefix_count_is_the_running_count(size):
    mask = np.random.default_rng(size).random(size) < 0.3
    assert np.array_equal(np.asarray(redraw.prefix_count(jnp.asarray(mask))), np.cumsum(mask))


def test_each_element_takes_its_own_first_accepted_candidate():
    size = 3000  # large enough for the pending elements to be gathered into a smaller array
    hi = np.arange(size, dtype=np.uint32) * np.uint32(7919)
    lo = np.full(size, 5, np.uint32)
    index = np.arange(size, dtype=np.uint32)
    todo = np.arange(size) % 5 != 0  # elements not to draw stay 0
    with jax.enable_x64(True):
        got = np.asarray(jax.jit(_first_accepted)(hi, lo, index, todo, np.full(size, ACCEPT)))
        assert np.all(got[~todo] == 0)
        for i in (1, 2, 999, 2998, *np.flatnonzero(todo)[np.argsort(-got[todo])[:3]]):  # the latest ones too
            assert got[i] == _by_hand(hi[i], lo[i], index[i], ACCEPT)
        # the same elements in another batch: alone, and under vmap as the driver runs chains
        alone = jax.jit(_first_accepted)(hi[:1], lo[:1], index[:1], todo[:1], np.full(1, ACCEPT))
        assert np.array_equal(np.asarray(alone), got[:1])
        rows = jax.jit(jax.vmap(_first_accepted))(*(x.reshape(30, 100) for x in (hi, lo, index, todo)),
                                                  np.full((30, 100), ACCEPT))
        assert np.array_equal(np.asarray(rows).ravel(), got)
    # the number of candidates is geometric: mean 1/p − 1 failures before the accepted one, within 4 SE
    failures = got[todo]
    se = np.sqrt((1 - ACCEPT) / ACCEPT**2 / failures.size)
    assert abs(failures.mean() - (1 / ACCEPT - 1)) < 4 * se
