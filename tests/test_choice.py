"""samplers.choice: the laws of an index ∝ mass and of an ordered sample without replacement, by chi-square."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

from simcollapse.samplers import bits
from simcollapse.samplers.choice import ordered_sample, proportional


def _chi2_p(counts, probs):
    counts = np.asarray(counts, float)
    expected = counts.sum() * np.asarray(probs, float)
    return stats.chisquare(counts, expected).pvalue


def test_proportional_frequencies_and_zero_mass():
    mass = np.array([0.0, 2.0, 0.0, 5.0, 1.0, 0.0])  # zero mass at both ends and inside
    n = 200_000
    i = np.asarray(jax.jit(proportional)(bits.uniform(bits.seed_key(1), (n,)), jnp.asarray(mass)))
    counts = np.bincount(i, minlength=len(mass))
    assert np.all(counts[mass == 0] == 0)
    positive = mass > 0
    assert _chi2_p(counts[positive], mass[positive] / mass.sum()) > 1e-4


def test_proportional_at_the_ends_of_the_unit_interval():
    mass = jnp.array([1.0, 3.0, 0.0])
    u = jnp.array([0.0, 0.25 - 1e-12, 0.25, 1.0 - 2.0**-53])
    np.testing.assert_array_equal(proportional(u, mass), [0, 0, 1, 1])


def test_ordered_sample_is_uniform_over_ordered_tuples():
    """3 of the 5 marked entries of 8: each of the 5·4·3 = 60 ordered triples equally likely, never an unmarked one."""
    marked = jnp.array([True, False, True, True, False, True, True, False])
    draws = 60_000
    keys = bits.fold(bits.seed_key(2), jnp.arange(draws))
    out = np.asarray(jax.jit(jax.vmap(lambda k: ordered_sample(k, marked, 3)))(keys))
    assert np.all(np.asarray(marked)[out])
    assert np.all((out[:, 0] != out[:, 1]) & (out[:, 0] != out[:, 2]) & (out[:, 1] != out[:, 2]))
    tuples = list(itertools.permutations(np.flatnonzero(np.asarray(marked)), 3))
    index = {t: j for j, t in enumerate(tuples)}
    counts = np.bincount([index[tuple(row)] for row in out.tolist()], minlength=len(tuples))
    assert _chi2_p(counts, np.full(len(tuples), 1 / len(tuples))) > 1e-4
