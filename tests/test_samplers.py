"""The random-number core (simcollapse.samplers.bits: Threefry-2x32 against its published known answers, uniforms,
Box–Muller normals, counters) and the exact gamma, chi-square and Bartlett draws (simcollapse.samplers.gamma):
Kolmogorov–Smirnov against scipy, redraws included, and the same numbers for a chain alone or in a batch."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from simcollapse.samplers import bits
from simcollapse.samplers.gamma import bartlett, log_chi2, log_gamma

N = 100_000
P_MIN = 1e-4  # a correct sampler fails one of these checks with probability ~1e-4
draw_log_gamma = jax.jit(log_gamma, static_argnums=2)  # one compilation per output shape


def ks_pvalue(samples, cdf):
    return stats.kstest(np.asarray(samples), cdf).pvalue


@pytest.mark.parametrize("shape", [0.05, 0.5, 1.0, 2.5, 49.5, 1e5])
def test_log_gamma_has_the_gamma_law(shape):
    # shapes below 1 go through the boost and the lowest ones through the rejection loop's later rounds
    log_g = np.asarray(draw_log_gamma(bits.seed_key(7), shape, (N,)))
    assert ks_pvalue(log_g, lambda y: stats.gamma(shape).cdf(np.exp(y))) > P_MIN


def test_log_gamma_tells_shapes_apart():
    # the check above can fail: a draw with a shape 1 % off is rejected
    log_g = np.asarray(draw_log_gamma(bits.seed_key(8), 49.5 * 1.01, (N,)))
    assert ks_pvalue(np.exp(log_g), stats.gamma(49.5).cdf) < P_MIN


def test_log_gamma_broadcasts_shapes_and_gives_minus_inf_at_zero():
    shapes = jnp.array([0.0, 0.3, 3.0, 300.0])
    out = np.asarray(draw_log_gamma(bits.seed_key(1), shapes, (4000, 4)))
    assert np.all(out[:, 0] == -np.inf) and np.all(np.isfinite(out[:, 1:]))
    means = np.exp(out[:, 1:]).mean(axis=0)
    se = np.sqrt(np.asarray(shapes[1:]) / 4000)  # Var Gamma(a) = a
    assert np.all(np.abs(means - np.asarray(shapes[1:])) < 4 * se)


@pytest.mark.parametrize("shape", [0.5, 49.5])
def test_spare_normals_are_standard_and_independent_of_the_gamma(shape):
    # the sufficient Gaussian sampler's x̄ comes from these: N(0, 1), uncorrelated with log G and with the same
    # law whether G is large or small; the proposal (the pair's cosine) would fail the correlation check
    log_g, z = jax.jit(lambda k: log_gamma(k, shape, (N,), spare_normals=True))(bits.seed_key(9))
    log_g, z = np.asarray(log_g), np.asarray(z)
    assert np.array_equal(log_g, np.asarray(draw_log_gamma(bits.seed_key(9), shape, (N,))))
    assert ks_pvalue(z, stats.norm.cdf) > P_MIN
    assert abs(np.corrcoef(z, log_g)[0, 1]) < 4 / np.sqrt(N)
    large = log_g > np.median(log_g)
    assert ks_pvalue(z[large], stats.norm.cdf) > P_MIN and ks_pvalue(z[~large], stats.norm.cdf) > P_MIN


@pytest.mark.parametrize("dof", [1, 4, 99, 1999])
def test_log_chi2_has_the_chi2_law(dof):
    # dof 1: a tiny χ² stays finite in log space; 99 is the sufficient Gaussian refit's at M = 100
    out = np.asarray(jax.jit(log_chi2, static_argnums=2)(bits.seed_key(2), float(dof), (N,)))
    assert np.all(np.isfinite(out))
    assert ks_pvalue(out, lambda y: stats.chi2(dof).cdf(np.exp(y))) > P_MIN


@pytest.mark.parametrize("bound", [2, 3, 7, 1000, 3 * 2**33 + 1])
def test_below_is_uniform_on_its_range(bound):
    # Pearson χ² over the values, or over 64 bins of the range for large bounds: a draw that kept 32 bits of each
    # word would never pass 2³² and fail the last bound
    x = np.asarray(jax.jit(bits.below)(bits.words(bits.seed_key(6), (N,)), bound))
    assert x.dtype == np.asarray(bound).dtype and x.min() >= 0 and x.max() < bound
    cells = min(bound, 64)
    edges = -(-np.arange(cells + 1) * bound // cells)  # bin c holds the integers in [⌈c·bound/cells⌉, ⌈(c+1)·bound/cells⌉)
    observed = np.bincount(np.searchsorted(edges, x, side="right") - 1, minlength=cells)
    assert stats.chisquare(observed, N * np.diff(edges) / bound).pvalue > P_MIN


def test_below_takes_one_bound_per_element():
    # Floyd's subsets draw {0, …, j} for a running j: column j of these is uniform on j + 1 values (one χ² in all)
    bounds = jnp.arange(1, 11, dtype=jnp.int32)
    x = np.asarray(bits.below(bits.words(bits.seed_key(7), (N // 10, 10)), bounds))
    assert x.dtype == np.int32 and np.all((x >= 0) & (x < np.arange(1, 11)))
    chi2 = sum(np.sum((np.bincount(x[:, j], minlength=j + 1) - N / 10 / (j + 1)) ** 2 / (N / 10 / (j + 1)))
               for j in range(10))
    assert stats.chi2.sf(chi2, sum(range(10))) > P_MIN


def _keys(seed, n):
    """One key per chain, as the driver derives them."""
    return bits.fold(bits.seed_key(seed), jnp.arange(n))


def test_uniforms_and_normals():
    key = bits.seed_key(3)
    u = np.asarray(jax.jit(lambda k: bits.open_uniform(k, (N,)))(key))
    assert u.min() > 0 and u.max() <= 1 and ks_pvalue(u, stats.uniform.cdf) > P_MIN
    v = np.asarray(jax.jit(lambda k: bits.uniform(k, (N,)))(key))
    assert v.min() >= 0 and v.max() < 1 and ks_pvalue(v, stats.uniform.cdf) > P_MIN
    ends = jnp.array([0, 2**64 - 1], jnp.uint64)
    assert bits.to_open_unit(ends).tolist() == [1.0, 2.0**-52] and bits.to_unit(ends).tolist() == [0.0, 1 - 2.0**-52]
    z = np.asarray(jax.jit(lambda k: bits.normal(k, (N,)))(key))
    assert ks_pvalue(z, stats.norm.cdf) > P_MIN
    # the two normals of a Box–Muller pair each have the law and are uncorrelated, their squares too
    cosines, sines = z[0::2], z[1::2]
    assert ks_pvalue(cosines, stats.norm.cdf) > P_MIN and ks_pvalue(sines, stats.norm.cdf) > P_MIN
    pairs = N // 2
    assert abs(np.mean(cosines * sines)) < 4 / np.sqrt(pairs)  # Var(Z₁Z₂) = 1
    assert abs(np.mean(cosines**2 * sines**2) - 1) < 4 * np.sqrt(8 / pairs)  # Var(Z₁²Z₂²) = 9 − 1
    # element i depends on its index alone: a shorter draw is a prefix of a longer one, in any shape
    assert np.array_equal(np.asarray(bits.normal(key, (2, 3))).reshape(-1), z[:6])
    assert np.array_equal(np.asarray(bits.normal(key, (5,))), z[:5])
    # the largest radius: U = 2⁻⁵², R = √(2·52 log 2); angle words 0 and ½ point along ±x exactly
    top = np.sqrt(104 * np.log(2))
    along = bits.to_normal_pair(jnp.array([2**64 - 1, 2**64 - 1], jnp.uint64), jnp.array([0, 2**63], jnp.uint64))
    assert np.allclose(along[0], [top, -top], rtol=1e-15, atol=0) and np.all(np.asarray(along[1]) == 0)
    # tails: P(|Z| > 3) = 2.7e-3, so about 270 of 10^5 (binomial)
    tail = stats.norm.sf(3) * 2 * N
    assert abs(np.sum(np.abs(z) > 3) - tail) < 4 * np.sqrt(tail)


def test_threefry_known_answers():
    # Threefry-2x32, 20 rounds: the known-answer vectors published with the Random123 library (Salmon et al. 2011)
    cases = [((0, 0), (0, 0), (0x6B200159, 0x99BA4EFE)),
             ((0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF), (0x1CB996FC, 0xBB002BE7)),
             ((0x13198A2E, 0x03707344), (0x243F6A88, 0x85A308D3), (0xC4923A9C, 0x483DF7A0))]
    for key, counter, expected in cases:
        words = [np.uint32(w) for w in (*key, *counter)]
        assert tuple(int(w) for w in jax.jit(bits.threefry2x32)(*words)) == expected
        assert tuple(int(w) for w in bits.threefry2x32(*words)) == expected  # on the host, as for chain keys


def test_every_draw_is_addressed_by_its_counter():
    key = bits.fold(bits.seed_key(2**40 + 9), 77)
    whole = np.asarray(bits.words(key, (3, 4), round_=5))
    one_by_one = np.asarray([bits.words_at(key, i, 5) for i in range(12)]).reshape(3, 4)
    assert np.array_equal(whole, one_by_one)
    assert not np.array_equal(whole, np.asarray(bits.words(key, (3, 4), round_=6)))
    host = bits.fold(bits.seed_key(11), np.arange(5, dtype=np.uint32))
    device = jax.jit(lambda i: bits.fold(bits.seed_key(11), i))(jnp.arange(5, dtype=jnp.uint32))
    assert all(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(host, device, strict=True))
    with pytest.raises(ValueError, match="seed"):
        bits.seed_key(-1)


def test_gamma_redraws_are_the_same_for_an_element_alone_or_in_a_batch():
    # a small shape rejects ~5 % of first candidates: their redraws are gathered across the batch, and an element's
    # value must not depend on which others were gathered with it (vmapped rule vs one key at a time)
    keys = _keys(21, 512)
    batched = np.asarray(jax.jit(jax.vmap(lambda k: log_gamma(k, 1.0, (3,))))(keys))
    single = jax.jit(lambda k: log_gamma(k, 1.0, (3,)))
    for i in (0, 5, 200, 511):
        assert np.array_equal(np.asarray(single(bits.Key(keys.hi[i], keys.lo[i]))), batched[i])
    assert ks_pvalue(np.exp(batched.ravel()), stats.expon.cdf) > P_MIN


def test_boosted_gammas_are_the_same_alone_or_beside_unboosted_ones():
    # shapes below 1 take a boost that is computed only when some element of the whole batch needs it: one chain
    # of shape 0.3 among chains of shape 3 gives the value it gives alone, and the others theirs
    keys = _keys(22, 256)
    shapes = jnp.where(jnp.arange(256) == 100, 0.3, 3.0)
    draw = jax.jit(jax.vmap(lambda k, a: log_gamma(k, a, (2,))))
    batched = np.asarray(draw(keys, shapes))
    for i in (0, 100, 255):
        alone = draw(bits.Key(keys.hi[i:i + 1], keys.lo[i:i + 1]), shapes[i:i + 1])
        assert np.array_equal(np.asarray(alone)[0], batched[i])
    unboosted = np.asarray(draw(keys, jnp.full(256, 3.0)))
    assert np.array_equal(np.delete(unboosted, 100, axis=0), np.delete(batched, 100, axis=0))


def test_bartlett_factor_entries():
    dof, dim = 7, 3
    log_diag, unit, spare = jax.jit(jax.vmap(lambda k: bartlett(k, dof, dim, spare_normals=True)))(_keys(4, 10_000))
    a = np.asarray(unit) * np.exp(np.asarray(log_diag))[:, None, :]
    for i in range(dim):
        assert ks_pvalue(a[:, i, i] ** 2, stats.chi2(dof - i).cdf) > P_MIN
        assert ks_pvalue(np.asarray(spare)[:, i], stats.norm.cdf) > P_MIN
    for i, j in ((1, 0), (2, 0), (2, 1)):
        assert ks_pvalue(a[:, i, j], stats.norm.cdf) > P_MIN
    assert np.all(np.triu(a, 1) == 0)
    # the spare normals are independent of the factor: uncorrelated with every entry (SE 1/√n)
    entries = np.concatenate([np.asarray(log_diag), a[:, [1, 2, 2], [0, 0, 1]]], axis=1)
    corr = np.corrcoef(np.asarray(spare), entries, rowvar=False)[:dim, dim:]
    assert np.all(np.abs(corr) < 4 / np.sqrt(10_000))


def test_one_dimensional_bartlett_is_a_chi_root():
    log_diag, unit = jax.jit(jax.vmap(lambda k: bartlett(k, 4, 1)))(_keys(5, 10_000))
    assert np.all(np.asarray(unit) == 1.0)
    assert ks_pvalue(np.exp(2 * np.asarray(log_diag[:, 0])), stats.chi2(4).cdf) > P_MIN


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
    keys = _keys(5, draws)
    chosen, valid = jax.jit(jax.vmap(lambda k: random_subset(k, count, size, max_size, slots)))(keys)
    subsets = [tuple(sorted(c[v])) for c, v in zip(np.asarray(chosen), np.asarray(valid))]
    every = list(itertools.combinations(range(count), size))
    assert set(subsets) <= set(every)  # distinct, in range, of the right size
    if len(every) > 1:
        counts = np.array([subsets.count(s) for s in every])
        assert stats.chisquare(counts).pvalue > 1e-4
