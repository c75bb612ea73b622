"""The KDE chain's toy truths (blobs, moons, circles, swiss roll) and scikit-learn's unscaled bandwidth rules:
samplers against their densities and variances, densities against adaptive quadrature, chains against the
variance recursions (docs/theory.md §K.1, §K.2)."""

import itertools
import math

import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, stats

from simcollapse import truths
from simcollapse.api import make_config, simulate, theory
from simcollapse.config import ConfigError
from simcollapse.samplers import bits

SHAPES = [("blobs", 2), ("blobs", 3), ("moons", 2), ("circles", 2), ("swiss_roll", 3)]


def _quadrature_log_density(shape, x, s):
    """log p(x) by adaptive quadrature over the shape's parameter, written from the definitions."""
    def normal(point, mean):
        return stats.multivariate_normal.pdf(point, mean, s * s)

    if shape == "blobs":
        return math.log(np.mean([normal(x, c) for c in truths.blob_centres(len(x))]))
    if shape == "moons":
        arms = (lambda t: [math.cos(t), math.sin(t)], lambda t: [1 - math.cos(t), 0.5 - math.sin(t)])
        total = sum(integrate.quad(lambda t, a=a: normal(x, a(t)), 0, math.pi, epsabs=0, epsrel=1e-12, limit=400)[0]
                    for a in arms)
        return math.log(total / (2 * math.pi))
    if shape == "circles":
        total = sum(integrate.quad(lambda t, r=r: normal(x, [r * math.cos(t), r * math.sin(t)]), 0, 2 * math.pi,
                                   epsabs=0, epsrel=1e-12, limit=400)[0] for r in (1.0, truths.CIRCLES_FACTOR))
        return math.log(total / (4 * math.pi))
    lo, hi = truths.SWISS_T
    edges = np.linspace(lo, hi, 150)
    plane = sum(integrate.quad(lambda t: normal(x[[0, 2]], [t * math.cos(t), t * math.sin(t)]), a, b,
                               epsabs=0, epsrel=1e-12)[0] for a, b in itertools.pairwise(edges)) / (hi - lo)
    height = (stats.norm.cdf((truths.SWISS_HEIGHT - x[1]) / s) - stats.norm.cdf(-x[1] / s)) / truths.SWISS_HEIGHT
    return math.log(plane * height)


@pytest.mark.parametrize(("shape", "dim"), SHAPES)
def test_log_density_matches_quadrature(shape, dim):
    s = truths.noise_level(shape, None)
    points = np.asarray(truths.sample(shape, bits.seed_key(7), 4, dim))
    mine = np.asarray(truths.log_density(shape, jnp.asarray(points)))
    reference = np.array([_quadrature_log_density(shape, p, s) for p in points])
    np.testing.assert_allclose(mine, reference, rtol=1e-9, atol=1e-10)


def _box_frequencies_match_density(shape, x, half=0.1, grid=80):
    """The fraction of the sample in squares of side 2·`half` around points of the two arms (and one off them)
    against ∫ p over each square (midpoint rule on a `grid`² grid: p varies on the noise scale 0.1), at 4 SE."""
    n = x.shape[0]
    offsets = (np.arange(grid) + 0.5) / grid * 2 * half - half
    for centre in ((0.0, 1.0), (1.0, -0.5), (1.0, 0.0), (0.5, 0.25)):
        gx, gy = np.meshgrid(centre[0] + offsets, centre[1] + offsets)
        nodes = jnp.asarray(np.stack([gx.ravel(), gy.ravel()], axis=1))
        mass = np.exp(np.asarray(truths.log_density(shape, nodes))).mean() * (2 * half) ** 2
        seen = np.mean(np.all(np.abs(x - np.asarray(centre)) <= half, axis=1))
        assert abs(seen - mass) <= 4 * math.sqrt(mass * (1 - mass) / n) + 1e-12, (centre, seen, mass)


@pytest.mark.parametrize(("shape", "dim"), SHAPES)
def test_sampler_variance_and_density(shape, dim):
    """The sample's per-dimension variance at 4 SE of `truths.variance`, and the density integrates its own
    sample consistently: E[1{X ∈ A}/p(X)] is the volume of A (importance weights, 4 SE), or for the moons the
    sample's frequency of small squares is their mass under the density."""
    n = 100_000
    noise = 3.0 if shape == "swiss_roll" else None  # fills the gaps between the roll's turns (finite variance)
    x = np.asarray(truths.sample(shape, bits.seed_key(11), n, dim, noise))
    per_point = ((x - x.mean(axis=0)) ** 2).mean(axis=1) * n / (n - 1)
    assert abs(per_point.mean() - truths.variance(shape, dim, noise)) <= 4 * per_point.std() / math.sqrt(n)
    # regions where the density is bounded away from 0 (the estimator's variance is finite there)
    if shape == "swiss_roll":
        inside = (np.abs(x[:, 1] - 10.5) <= 5) & (np.abs(x[:, 0]) <= 8) & (np.abs(x[:, 2]) <= 8)
        volume = 10 * 16 * 16
    elif shape == "circles":
        r = np.linalg.norm(x, axis=1)
        inside, volume = (r >= 0.7) & (r <= 1.1), math.pi * (1.1**2 - 0.7**2)
    elif shape == "moons":  # a ball around the moons holds regions of density ~e⁻⁵⁰: weights of infinite variance
        _box_frequencies_match_density(shape, x)
        return
    else:
        radius = 5.0
        inside = np.linalg.norm(x - x.mean(axis=0), axis=1) <= radius
        volume = math.pi ** (dim / 2) / math.gamma(dim / 2 + 1) * radius**dim
    w = inside / np.exp(np.asarray(truths.log_density(shape, jnp.asarray(x), noise)))
    assert abs(w.mean() - volume) <= 4 * w.std() / math.sqrt(n), (w.mean(), volume)


@pytest.mark.parametrize("rule", ["scott", "silverman"])
@pytest.mark.parametrize("dim", [1, 3])
def test_unscaled_rules_are_scikit_learns(rule, dim):
    from sklearn.neighbors import KernelDensity

    from simcollapse.families.kde import rule_factor

    n = 37
    kde = KernelDensity(bandwidth=rule).fit(np.random.default_rng(0).normal(size=(n, dim)) * 5.0)
    assert rule_factor(f"{rule}_unscaled", n, dim) == pytest.approx(kde.bandwidth_, rel=1e-15)


@pytest.mark.parametrize(("truth", "bandwidth", "n", "seed"), [
    ("moons", "scott_unscaled", 40, 1), ("circles", "silverman", 30, 2), ("blobs", "silverman_unscaled", 25, 3),
    ("swiss_roll", "scott", 30, 4), ("gaussian", "scott_unscaled", 20, 5)])
def test_chain_variance_follows_the_recursion(truth, bandwidth, n, seed):
    config = make_config("kde", truth=truth, bandwidth=bandwidth, n_samples=n, generations=8, chains=600,
                         test_size=20, seed=seed)
    run, expected = simulate(config), theory(config)["E_var"]
    var = np.asarray(run.stats["var"])
    assert var[0, 0] == pytest.approx(expected[0], rel=1e-12)
    for t in (1, 4, 8):
        se = var[t].std() / math.sqrt(var.shape[1])
        assert abs(var[t].mean() - expected[t]) <= 4 * se, (t, var[t].mean(), expected[t], se)
    assert np.all(np.isfinite(np.asarray(run.stats["test_nll"])))


def test_truth_nll_at_generation_zero_is_the_exact_density():
    """Generation 0's test_nll of chain 0 equals −mean log p of that chain's held-out points, re-drawn here from
    the chain's documented key."""
    config = make_config("kde", truth="moons", n_samples=10, generations=1, chains=3, test_size=50, seed=9)
    nll0 = np.asarray(simulate(config).stats["test_nll"])[0]
    from simcollapse.core.driver import chain_keys

    for i in range(3):
        test = truths.sample("moons", bits.fold(chain_keys(config.seed, i), 0), 50, 2)
        assert nll0[i] == pytest.approx(-float(np.mean(truths.log_density("moons", test))), rel=1e-12)


@pytest.mark.parametrize(("values", "field"), [
    (dict(truth="spiral"), "truth"), (dict(truth="moons", dim=3), "dim"), (dict(truth="blobs", dim=1), "dim"),
    (dict(truth="gaussian", truth_noise=0.1), "truth_noise"), (dict(truth="moons", truth_noise=0.0), "truth_noise"),
    (dict(bandwidth="scott_scaled"), "bandwidth")])
def test_bad_truth_settings_name_the_field(values, field):
    with pytest.raises(ConfigError, match=field):
        make_config("kde", **values)


def test_unscaled_scott_chain_is_scikit_learns():
    """The peers' loop itself — KernelDensity(bandwidth="scott").fit(x).sample(N), refitted on its own samples —
    beside simcollapse's `scott_unscaled` chain: the model variance at generations 3 and 8, two-sample z at 4 SE."""
    from sklearn.neighbors import KernelDensity

    n, generations, chains = 30, 8, 300
    config = make_config("kde", truth="moons", bandwidth="scott_unscaled", n_samples=n, generations=generations,
                         chains=chains, test_size=5, seed=12)
    ours = np.asarray(simulate(config).stats["var"])
    rng = np.random.RandomState(12)  # scikit-learn's sample() takes a RandomState
    theirs = np.empty((generations + 1, chains))
    for c in range(chains):
        x = np.asarray(truths.sample("moons", bits.fold(bits.seed_key(100 + c), 0), n, 2))
        for t in range(1, generations + 1):
            kde = KernelDensity(bandwidth="scott").fit(x)
            theirs[t, c] = x.var(axis=0).mean() + kde.bandwidth_**2
            x = kde.sample(n, random_state=rng)
    for t in (3, 8):
        se = math.hypot(ours[t].std(), theirs[t].std()) / math.sqrt(chains)
        assert abs(ours[t].mean() - theirs[t].mean()) <= 4 * se, (t, ours[t].mean(), theirs[t].mean(), se)
