"""Exact discrete samplers (simcollapse.samplers.binomial, .poisson, .multinomial): Pearson χ² against scipy's
pmf over the whole support down to 1e-12 tails, the ratio-of-uniforms hat condition, and the same draws for a
chain alone or among many.

Tolerances: p-values above 1e-4 (a correct sampler fails one check with probability ~1e-4); 4 standard errors
for means (conftest); keys are fixed.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import close_mean, close_prob
from scipy import special, stats

from simcollapse.samplers import bits
from simcollapse.samplers.binomial import binomial, hypergeometric
from simcollapse.samplers.discrete import D1, D2, lgamma_diff
from simcollapse.samplers.multinomial import layout, multinomial, multinomial_by_inversion, multivariate_hypergeometric
from simcollapse.samplers.poisson import poisson
from simcollapse.theory import categorical as cat

M = 100_000


def chi_square_pvalue(x, pmf, lo=0):
    """Pearson χ² p-value of integer samples x against pmf on lo, lo+1, … (cells with expectation < 5 pooled,
    the values outside the range in the pooled cell)."""
    x = np.asarray(x, dtype=np.int64) - lo
    inside = (x >= 0) & (x < pmf.size)
    obs = np.bincount(x[inside], minlength=pmf.size).astype(float)
    exp = pmf * len(x)
    small = exp < 5
    o = np.append(obs[~small], obs[small].sum() + np.sum(~inside))
    e = np.append(exp[~small], exp[small].sum() + len(x) * max(0.0, 1.0 - pmf.sum()))
    keep = e > 0
    return stats.chi2.sf(np.sum((o[keep] - e[keep]) ** 2 / e[keep]), keep.sum() - 1)


def law_pvalue(row, law):
    """χ² p-value of `row` against a scipy discrete law on its support between the 1e-12 quantiles."""
    lo, hi = int(law.ppf(1e-12)), int(law.isf(1e-12)) + 1
    return chi_square_pvalue(row, law.pmf(np.arange(lo, hi + 1)), lo)


def keys(seed, count):
    return bits.fold(bits.seed_key(seed), jnp.arange(count, dtype=jnp.uint32))


# ------------------------------------------------------------------------------------------------
# Laws
# ------------------------------------------------------------------------------------------------

BINOMIAL_CASES = [(1, 0.3), (7, 0.6), (20, 0.1), (20, 0.5), (50, 0.199), (100, 0.9), (1000, 0.3), (10**6, 2e-6),
                  (130, 0.48), (10**7, 0.2)]
HYPERGEOMETRIC_CASES = [(20, 30, 100), (50, 5, 100), (90, 95, 100), (60, 70, 150), (100, 3000, 10000),
                        (500, 400, 1000)]
POISSON_MEANS = [1e-3, 0.7, 3.0, 9.99, 10.0, 10.5, 37.2, 1000.0, 123456.7]


@pytest.mark.parametrize("small_mean", [10.0, 64.0])
def test_binomial_chi_square(small_mean):
    n = np.repeat([float(c[0]) for c in BINOMIAL_CASES], M)
    p = np.repeat([c[1] for c in BINOMIAL_CASES], M)
    x = np.asarray(jax.jit(binomial, static_argnums=3)(bits.seed_key(11), n, p, small_mean))
    for (nn, pp), row in zip(BINOMIAL_CASES, x.reshape(len(BINOMIAL_CASES), M)):
        assert np.all(row == np.round(row)) and row.min() >= 0 and row.max() <= nn
        assert law_pvalue(row, stats.binom(nn, pp)) > 1e-4, (nn, pp)


def test_binomial_edges_and_bound():
    n = np.array([0.0, 5.0, 5.0, 12.0, 3.0])
    p = np.array([0.4, 0.0, 1.0, 0.5, 0.5])
    x = np.asarray(binomial(bits.seed_key(1), n, p))
    np.testing.assert_array_equal(x[:3], [0.0, 0.0, 5.0])
    # n_max below twice the small mean: the program holds no ratio-of-uniforms, the law is the same
    row = np.asarray(jax.jit(lambda k: binomial(k, np.full(M, 60.0), 0.4, 64.0, 60.0))(bits.seed_key(2)))
    assert law_pvalue(row, stats.binom(60, 0.4)) > 1e-4


@pytest.mark.slow
def test_hypergeometric_chi_square():
    cols = [np.repeat([float(c[i]) for c in HYPERGEOMETRIC_CASES], M) for i in range(3)]
    x = np.asarray(jax.jit(hypergeometric)(bits.seed_key(12), *cols)).reshape(len(HYPERGEOMETRIC_CASES), M)
    for (n, g, t), row in zip(HYPERGEOMETRIC_CASES, x):
        assert law_pvalue(row, stats.hypergeom(t, g, n)) > 1e-4, (n, g, t)


def test_poisson_chi_square():
    mu = np.repeat(POISSON_MEANS, M)
    x = np.asarray(jax.jit(poisson)(bits.seed_key(13), mu)).reshape(len(POISSON_MEANS), M)
    for mean, row in zip(POISSON_MEANS, x):
        assert np.all(row == np.round(row)) and row.min() >= 0
        assert law_pvalue(row, stats.poisson(mean)) > 1e-4, mean
    assert np.all(np.asarray(poisson(bits.seed_key(0), np.zeros(3))) == 0)


@pytest.mark.parametrize("kind", ["binomial", "hypergeometric", "poisson"])
def test_ratio_of_uniforms_hat_covers_the_law(kind):
    """Exactness condition of the ratio-of-uniforms sampler: √(pmf(k)/pmf(mode))·|x − a| ≤ s/2 on [k, k+1)."""
    if kind == "binomial":
        laws = [stats.binom(n, p) for n in (20, 21, 40, 100, 1000, 10**5) for p in (0.5, 0.3, 0.1, 0.01) if n * p >= 10]
    elif kind == "hypergeometric":
        laws = [stats.hypergeom(t, g, n) for t in (40, 100, 1000, 10**5) for g in (t // 2, t // 5, t // 20)
                for n in (t // 2, t // 4, t // 10) if n * g / t >= 10]
    else:
        laws = [stats.poisson(mu) for mu in (10.0, 10.5, 11.3, 15.0, 20.0, 37.7, 100.0, 1000.5, 10**5, 10**7)]
    assert len(laws) > 8
    for law in laws:
        mean, var = law.mean(), law.var()
        a, s = mean + 0.5, D1 * math.sqrt(var + 0.5) + D2
        k = np.arange(int(law.ppf(1e-15)), int(law.isf(1e-15)) + 2)
        h = np.exp(law.logpmf(k) - law.logpmf(k).max())
        reach = np.maximum(np.abs(k - a), np.abs(k + 1 - a))
        assert np.max(np.sqrt(h) * reach) <= s / 2, law.args


def test_log_gamma_differences_are_accurate():
    """discrete.lgamma_diff, on which every ratio-of-uniforms acceptance rests: integer arguments within 1e-14 of
    the exact value (relative to its size when above 1), and any arguments within 1e-14 of the larger lgamma,
    on both sides of its shift at 10 and far into Stirling's range. A Stirling series two terms shorter is 3e-13
    off at lgamma(1) − lgamma(3), and log1p((a − b)/b) 6e-6 off at a = 1.26, b = 8.4·10⁵ (a relative 6e-13)."""
    rng = np.random.default_rng(5)
    # integer arguments, as the samplers pass them: the exact difference is Σ_{b ≤ j < a} log j
    b = np.unique(np.concatenate([np.arange(1, 40), np.round(10 ** rng.uniform(0, 7, 300))]))
    gap = np.round(10 ** rng.uniform(0, 4, b.size)) * rng.choice([-1, 1], b.size)
    a = np.maximum(b + gap, 1.0)
    exact = np.sign(a - b) * np.array([math.fsum(map(math.log, range(int(lo), int(hi))))
                                       for lo, hi in zip(np.minimum(a, b), np.maximum(a, b))])
    got = np.asarray(jax.jit(lgamma_diff)(a, b))
    assert np.all(np.abs(got - exact) <= 1e-14 * np.maximum(1.0, np.abs(exact)))
    # any arguments ≥ 1 against scipy's lgamma, whose own error is a few 1e-16 of the larger lgamma
    a, b = 10 ** rng.uniform(0, 6, (2, 2000))
    reference = special.gammaln(a) - special.gammaln(b)
    scale = np.maximum(1.0, np.maximum(np.abs(special.gammaln(a)), np.abs(special.gammaln(b))))
    assert np.all(np.abs(np.asarray(jax.jit(lgamma_diff)(a, b)) - reference) <= 1e-14 * scale)


# ------------------------------------------------------------------------------------------------
# A chain's draws do not depend on the chains beside it (gathered rejections)
# ------------------------------------------------------------------------------------------------

def test_draws_are_the_same_alone_or_among_many():
    ks = keys(4, 1000)
    n, p = jnp.array([100.0, 7.0, 3000.0]), jnp.array([0.3, 0.2, 0.45])
    draws = {
        "binomial": lambda k: binomial(k, n, p),
        "hypergeometric": lambda k: hypergeometric(k, n, jnp.array([50.0, 3.0, 900.0]), jnp.array([160.0, 9.0, 4000.0])),
        "poisson": lambda k: poisson(k, jnp.array([15.0, 2.0, 5000.0])),
        "nested": lambda k: jax.vmap(lambda m: poisson(k, m))(jnp.array([[40.0], [3.0]])),
    }
    for name, draw in draws.items():
        many = np.asarray(jax.jit(jax.vmap(draw))(ks))
        for i in (0, 517, 999):
            alone = np.asarray(jax.jit(draw)(bits.Key(ks.hi[i], ks.lo[i])))
            np.testing.assert_array_equal(many[i], alone, err_msg=name)
        assert len(np.unique(many[:, 0])) > 5, name


@pytest.mark.parametrize("share", [0.03, 0.2, 0.6])
def test_each_path_runs_on_few_or_many_elements_with_the_same_draws(share):
    """Inversion and ratio-of-uniforms each run on the elements that need them alone when those are few (and
    not at all when none does): an element's draw is the same whether it is among few or many of its path."""
    size, rng = 4000, np.random.default_rng(int(share * 100))
    pick = rng.random(size) < share
    none = rng.random(size) < 0.3  # a mean of 0 needs neither path
    with jax.enable_x64(True):
        key = bits.seed_key(11)
        draws = {
            "poisson": (jax.jit(poisson), rng.uniform(0.2, 9.8, size), rng.uniform(10.5, 400, size)),
            "binomial": (jax.jit(lambda k, m: binomial(k, 100.0, m / 100.0)), rng.uniform(0.2, 9.8, size),
                         rng.uniform(10.5, 90, size)),
        }
        for name, (draw, small, large) in draws.items():
            for mean, among in ((small, large), (large, small)):
                alone = np.asarray(draw(key, mean))
                mixed = np.asarray(draw(key, np.where(pick, mean, np.where(none, 0.0, among))))
                np.testing.assert_array_equal(mixed[pick], alone[pick], err_msg=name)
                assert np.all(mixed[~pick & none] == 0), name


# ------------------------------------------------------------------------------------------------
# Multinomial and multivariate hypergeometric counts
# ------------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_multinomial_and_multivariate_hypergeometric():
    K, m = 300, 4000  # two levels of the nested draw (branching 18)
    assert layout(K) == (2, 18) and layout(2) == (1, 2) and layout(65536) == (2, 256)
    p = cat.zipf(1.1, K)
    ks = keys(3, m)
    counts = np.asarray(jax.jit(jax.vmap(lambda k: multinomial(k, 500.0, p)))(ks))
    assert np.all(counts.sum(axis=1) == 500) and np.all(counts[:, p == 0] == 0)
    for i in (0, 1, 7, 150, 299):  # each marginal is Bin(500, p_i)
        close_mean(counts[:, i], 500 * p[i])
    close_prob(counts[:, 0] + counts[:, 1] >= 200, stats.binom.sf(199, 500, p[0] + p[1]))
    assert chi_square_pvalue(counts[:, 0], stats.binom.pmf(np.arange(501), 500, p[0])) > 1e-4

    pool = np.floor(1e4 * p) + (np.arange(K) % 3)
    draw = np.asarray(jax.jit(jax.vmap(lambda k: multivariate_hypergeometric(k, 700.0, pool)))(ks))
    assert np.all(draw.sum(axis=1) == 700) and np.all(draw <= pool)
    for i in (0, 5, 299):
        law = stats.hypergeom(pool.sum(), pool[i], 700)
        close_mean(draw[:, i], law.mean())
    assert chi_square_pvalue(draw[:, 0], stats.hypergeom(pool.sum(), pool[0], 700).pmf(np.arange(701))) > 1e-4
    # the whole pool: every item taken
    whole = np.asarray(jax.jit(multivariate_hypergeometric)(bits.seed_key(0), pool.sum(), pool))
    np.testing.assert_array_equal(whole, pool)


def test_two_type_multinomial_is_the_binomial():
    p = np.array([0.85, 0.15])
    counts = np.asarray(jax.jit(jax.vmap(lambda k: multinomial(k, 60.0, p, 64.0, 60.0)))(keys(6, M)))
    assert np.all(counts.sum(axis=1) == 60)
    assert law_pvalue(counts[:, 1], stats.binom(60, 0.15)) > 1e-4


def test_multinomial_by_inversion():
    K, m = 300, 4000
    p = cat.zipf(1.1, K)
    p[[3, K - 1]] = 0.0  # types of probability 0, the last one included, are never drawn
    counts = np.asarray(jax.jit(jax.vmap(lambda k: multinomial_by_inversion(k, 500.0, p, 800)))(keys(5, m)))
    assert np.all(counts.sum(axis=1) == 500) and np.all(counts[:, p == 0] == 0)
    q = p / p.sum()
    for i in (0, 1, 7, 150):  # each marginal is Bin(500, q_i)
        close_mean(counts[:, i], 500 * q[i])
    close_prob(counts[:, 0] + counts[:, 1] >= 200, stats.binom.sf(199, 500, q[0] + q[1]))
    assert chi_square_pvalue(counts[:, 0], stats.binom.pmf(np.arange(501), 500, q[0])) > 1e-4
