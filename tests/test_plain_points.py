"""The official code's plain float64 arithmetic (`sampler="plain_points"`): NumPy's summation order bit for bit,
the chain's fit equal to NumPy's on the chain's own points, and σ freezing at 0 as often as in a NumPy loop
(docs/theory.md §G.8)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from simcollapse.api import make_config, simulate, theory
from simcollapse.config import ConfigError
from simcollapse.core.driver import chain_keys
from simcollapse.families._plain import numpy_sum
from simcollapse.samplers import bits


@pytest.mark.parametrize("n", [3, 8, 10, 17, 128, 300])
def test_numpy_sum_is_numpys_order(n):
    rng = np.random.default_rng(n)
    a = rng.standard_normal((500, n)) * 10.0 ** rng.integers(-8, 8, (500, n))  # order-sensitive magnitudes
    np.testing.assert_array_equal(np.asarray(jax.jit(jax.vmap(numpy_sum))(jnp.asarray(a))), a.sum(axis=1))


def test_first_fit_is_numpys_on_the_chains_points():
    """σ just above the rounding floor: the points take a few values, and the chain's μ̂ (bit for bit) and σ̂
    equal np.mean and np.std of the points regenerated from the chain's documented keys."""
    chains, var0 = 20_000, 4e-34
    config = make_config("gaussian", n_samples=10, generations=1, chains=chains, sampler="plain_points",
                         mean0=0.5, var0=var0, metrics=["mean", "std", "frozen"], seed=2)
    s = simulate(config).stats
    keys = chain_keys(config.seed, np.arange(chains))
    z = np.asarray(jax.jit(jax.vmap(lambda k: bits.normal(bits.fold(k, 1), (10, 1))))(keys))[..., 0]
    x = 0.5 + math.exp(0.5 * math.log(var0)) * z
    np.testing.assert_array_equal(np.asarray(s["mean"])[1], x.mean(axis=1))
    np.testing.assert_allclose(np.asarray(s["std"])[1], x.std(axis=1), rtol=1e-13, atol=0)
    np.testing.assert_array_equal(np.asarray(s["frozen"])[1], (x.std(axis=1) == 0).astype(float))
    assert 0.01 < np.mean(s["frozen"][1]) < 0.99  # the check sees both outcomes


def test_frozen_share_matches_a_numpy_loop():
    """The official loop written with NumPy: the frozen share at generations 350 and 450 at 4 SE (two samples)."""
    chains, generations = 3000, 450
    config = make_config("gaussian", n_samples=10, generations=generations, chains=chains, sampler="plain_points",
                         record_every=50, metrics=["frozen"], seed=3)
    ours = np.asarray(simulate(config).stats["frozen"])
    rng = np.random.default_rng(3)
    mu, sigma, theirs = np.zeros(chains), np.ones(chains), {}
    for t in range(1, generations + 1):
        x = mu[:, None] + sigma[:, None] * rng.standard_normal((chains, 10))
        mu, sigma = x.mean(axis=1), x.std(axis=1)
        theirs[t] = sigma == 0
    for t in (350, 450):
        p, q = ours[t // 50].mean(), theirs[t].mean()
        se = math.sqrt(p * (1 - p) / chains + q * (1 - q) / chains)
        assert abs(p - q) <= 4 * se, (t, p, q, se)
    assert ours[450 // 50].mean() > 0.3  # freezing is common by then: the comparison can fail


def test_only_the_curves_of_the_mean_are_kept():
    config = make_config("gaussian", n_samples=10, generations=5, sampler="plain_points")
    assert set(theory(config)) == {"E_mean", "E_w2sq", "E_mean_sq_error", "E_second_moment"} & set(
        theory(make_config("gaussian", n_samples=10, generations=5, sampler="exact")))


@pytest.mark.parametrize("values", [dict(policy="accumulate"), dict(fitter="sgd"),
                                    dict(n_samples={"linear": [10, 1]})])
def test_plain_points_is_the_official_setting_only(values):
    with pytest.raises(ConfigError):
        make_config("gaussian", sampler="plain_points", **values)


def test_plain_points_needs_the_1d_family():
    with pytest.raises(ConfigError, match="sampler"):
        make_config("mvgaussian", sampler="plain_points", dim=2)
