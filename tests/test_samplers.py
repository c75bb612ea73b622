"""Exact gamma, chi-square and Bartlett draws (simcollapse.samplers.gamma): Kolmogorov–Smirnov against scipy; the
unrolled threefry (simcollapse.samplers.random): jax.random's numbers bit for bit."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from simcollapse.samplers import random as fast_random
from simcollapse.samplers.gamma import bartlett, box_muller, log_chi2, log_gamma, uniform_open

N = 100_000
P_MIN = 1e-4  # a correct sampler fails one of these checks with probability ~1e-4
draw_log_gamma = jax.jit(log_gamma, static_argnums=2)  # one compilation per output shape


def ks_pvalue(samples, cdf):
    return stats.kstest(np.asarray(samples), cdf).pvalue


@pytest.mark.parametrize("shape", [0.05, 0.5, 1.0, 2.5, 49.5, 1e5])
def test_log_gamma_has_the_gamma_law(shape):
    # shapes below 1 go through the boost and the lowest ones through the rejection loop's later rounds
    log_g = np.asarray(draw_log_gamma(jax.random.key(7), shape, (N,)))
    assert ks_pvalue(log_g, lambda y: stats.gamma(shape).cdf(np.exp(y))) > P_MIN


def test_log_gamma_tells_shapes_apart():
    # the check above can fail: a draw with a shape 1 % off is rejected
    log_g = np.asarray(draw_log_gamma(jax.random.key(8), 49.5 * 1.01, (N,)))
    assert ks_pvalue(np.exp(log_g), stats.gamma(49.5).cdf) < P_MIN


def test_log_gamma_broadcasts_shapes_and_gives_minus_inf_at_zero():
    shapes = jnp.array([0.0, 0.3, 3.0, 300.0])
    out = np.asarray(draw_log_gamma(jax.random.key(1), shapes, (4000, 4)))
    assert np.all(out[:, 0] == -np.inf) and np.all(np.isfinite(out[:, 1:]))
    means = np.exp(out[:, 1:]).mean(axis=0)
    se = np.sqrt(np.asarray(shapes[1:]) / 4000)  # Var Gamma(a) = a
    assert np.all(np.abs(means - np.asarray(shapes[1:])) < 4 * se)


def test_tiny_chi2_stays_finite_in_log_space():
    out = np.asarray(jax.jit(log_chi2, static_argnums=2)(jax.random.key(2), 1.0, (N,)))
    assert np.all(np.isfinite(out))
    assert ks_pvalue(np.exp(out), stats.chi2(1).cdf) > P_MIN


def test_uniform_and_box_muller():
    words = jax.random.bits(jax.random.key(3), (2, N), jnp.uint64)
    u = np.asarray(uniform_open(words[0]))
    assert u.min() > 0 and u.max() <= 1 and ks_pvalue(u, stats.uniform.cdf) > P_MIN
    assert uniform_open(jnp.array([0, 2**64 - 1], jnp.uint64)).tolist() == [2.0**-53, 1.0]
    x, y = box_muller(words[0], words[1])
    assert ks_pvalue(x, stats.norm.cdf) > P_MIN and ks_pvalue(y, stats.norm.cdf) > P_MIN
    assert abs(stats.pearsonr(np.asarray(x), np.asarray(y))[0]) < 4 / np.sqrt(N)


def test_bartlett_factor_entries():
    dof, dim = 7, 3
    log_diag, unit = jax.jit(jax.vmap(lambda k: bartlett(k, dof, dim)))(jax.random.split(jax.random.key(4), 10_000))
    a = np.asarray(unit) * np.exp(np.asarray(log_diag))[:, None, :]
    for i in range(dim):
        assert ks_pvalue(a[:, i, i] ** 2, stats.chi2(dof - i).cdf) > P_MIN
    for i, j in ((1, 0), (2, 0), (2, 1)):
        assert ks_pvalue(a[:, i, j], stats.norm.cdf) > P_MIN
    assert np.all(np.triu(a, 1) == 0)


def test_one_dimensional_bartlett_is_a_chi_root():
    log_diag, unit = jax.jit(jax.vmap(lambda k: bartlett(k, 4, 1)))(jax.random.split(jax.random.key(5), 10_000))
    assert np.all(np.asarray(unit) == 1.0)
    assert ks_pvalue(np.exp(2 * np.asarray(log_diag[:, 0])), stats.chi2(4).cdf) > P_MIN


# simcollapse.samplers.random: the unrolled threefry gives jax.random's numbers bit for bit


def _same(a, b):
    if jnp.issubdtype(a.dtype, jax.dtypes.prng_key):
        a, b = jax.random.key_data(a), jax.random.key_data(b)
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("seed", [0, 7, 2**31 + 5])
def test_fast_random_matches_jax_random_bit_for_bit(seed):
    key = jax.random.key(seed)
    pairs = [
        (lambda k: jax.random.fold_in(k, 12345), lambda k: fast_random.fold_in(k, 12345)),
        (lambda k: jax.random.split(k), lambda k: fast_random.split(k)),
        (lambda k: jax.random.split(k, 7), lambda k: fast_random.split(k, 7)),
        (lambda k: jax.random.bits(k, (), jnp.uint64), lambda k: fast_random.bits(k, (), jnp.uint64)),
        (lambda k: jax.random.bits(k, (3, 5), jnp.uint64), lambda k: fast_random.bits(k, (3, 5), jnp.uint64)),
        (lambda k: jax.random.bits(k, (9,), jnp.uint32), lambda k: fast_random.bits(k, (9,), jnp.uint32)),
        (lambda k: jax.random.uniform(k, (1001,), jnp.float64), lambda k: fast_random.uniform(k, (1001,))),
        (lambda k: jax.random.normal(k, (N,), jnp.float64), lambda k: fast_random.normal(k, (N,))),
        (lambda k: jax.random.normal(k, (4, 3), jnp.float64), lambda k: fast_random.normal(k, (4, 3))),
    ]
    for reference, fast in pairs:
        assert _same(jax.jit(reference)(key), jax.jit(fast)(key))
        # under vmap, as the driver calls them (one key per chain)
        keys = jax.random.split(key, 3)
        assert _same(jax.jit(jax.vmap(reference))(keys), jax.jit(jax.vmap(fast))(keys))


def test_fast_random_words_are_the_last_axis_of_bits():
    key = jax.random.key(11)
    for shape in [(), (1,), (4, 3)]:
        whole = jax.random.bits(key, shape + (5,), jnp.uint64)
        parts = jax.jit(lambda k, shape=shape: fast_random.words(k, shape, 5))(key)
        assert all(_same(whole[..., j], parts[j]) for j in range(5))


def test_fast_random_folds_traced_data_and_hands_other_keys_to_jax_random():
    keys = jax.vmap(lambda t: fast_random.fold_in(jax.random.key(3), t))(jnp.arange(5))
    assert _same(keys, jax.vmap(lambda t: jax.random.fold_in(jax.random.key(3), t))(jnp.arange(5)))
    for key in (jax.random.key(0, impl="rbg"), jax.random.PRNGKey(0)):  # another generator; raw uint32 key data
        assert not fast_random.unrolled(key)
        assert _same(fast_random.bits(key, (2,), jnp.uint64), jax.random.bits(key, (2,), jnp.uint64))
        assert _same(fast_random.normal(key, (3,)), jax.random.normal(key, (3,), jnp.float64))
        assert _same(fast_random.fold_in(key, 4), jax.random.fold_in(key, 4))
        assert all(
            _same(w, jax.random.bits(key, (2, 3), jnp.uint64)[..., j])
            for j, w in enumerate(fast_random.words(key, (2,), 3))
        )


def test_gamma_draws_are_unchanged_by_the_fast_threefry():
    # log_gamma's words are jax.random.bits(key, shape + (5,), uint64): the first candidates recomputed from them
    key = jax.random.key(12)
    words = jax.random.bits(key, (N, 5), jnp.uint64)
    shape = 49.5
    d = shape - 1.0 / 3.0
    c = 1.0 / np.sqrt(9.0 * d)
    x, _ = box_muller(words[:, 0], words[:, 1])
    log_u = jnp.log(uniform_open(words[:, 2]))
    log_v = 3.0 * jnp.log(1.0 + c * x)
    first = np.asarray((log_u < 0.5 * x * x + d - d * jnp.exp(log_v) + d * log_v) & (1.0 + c * x > 0))
    out = np.asarray(draw_log_gamma(key, shape, (N,)))
    expected = np.asarray(np.log(d) + log_v)
    np.testing.assert_allclose(out[first], expected[first], rtol=1e-14)


def test_sufficient_chain_is_the_same_alone_or_among_1000():
    # the gamma draws run on one value per chain: chain i's bits must not depend on how many chains run
    from simcollapse.api import make_config, simulate

    config = make_config("gaussian", sampler="sufficient", n_samples=5, generations=8, chains=1000, seed=3)
    everyone = simulate(config).stats
    for index in (0, 637, 999):
        alone = simulate(config, chain_indices=[index]).stats
        assert all(np.array_equal(alone[k][:, 0], everyone[k][:, index], equal_nan=True) for k in alone)


@pytest.mark.parametrize("count,size,max_size,slots", [(6, 3, 3, 6), (5, 2, 4, 8), (7, 7, 7, 9), (9, 0, 3, 9)])
def test_random_subset_is_uniform_over_all_subsets(count, size, max_size, slots):
    """Floyd's algorithm: every size-subset of range(count) equally likely (χ² over all C(count, size) of them)."""
    import itertools

    from simcollapse.samplers.subset import random_subset

    draws = 20_000
    keys = jax.random.split(jax.random.key(5), draws)
    chosen, valid = jax.jit(jax.vmap(lambda k: random_subset(k, count, size, max_size, slots)))(keys)
    subsets = [tuple(sorted(c[v])) for c, v in zip(np.asarray(chosen), np.asarray(valid))]
    every = list(itertools.combinations(range(count), size))
    assert set(subsets) <= set(every)  # distinct, in range, of the right size
    if len(every) > 1:
        counts = np.array([subsets.count(s) for s in every])
        assert stats.chisquare(counts).pvalue > 1e-4
