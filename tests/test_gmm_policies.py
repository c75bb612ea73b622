"""The mixture chain under every data policy: the training sets the policies assemble (exact checks on the chain's
state), and E tr C_t and E‖m_t − m_0‖² against the Gaussian chain's recursions, as docs/theory.md §M.4 states."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from simcollapse import families
from simcollapse.api import make_config, simulate, theory
from simcollapse.config import ConfigError
from simcollapse.families import em, gmm
from simcollapse.samplers import bits

POLICIES = ("accumulate", "accumulate_subsample", "fresh_real", "real_pool")


def _states(config):
    """The chain's states at generations 0 … G for chain 0 (float64, as the driver runs it)."""
    chain = families.get("gmm").build(config)
    key = bits.fold(bits.seed_key(config.seed), 0)
    with jax.enable_x64(True):
        state = chain.init(key)
        states = [state]
        for t in range(config.generations):
            state = jax.jit(chain.step)(bits.fold(key, t), state)
            states.append(state)
    return states


def test_accumulate_pools_every_point_drawn():
    """The pool holds Σ_{s<t} N_s points with weight 1 after generation t, the rows after them weight 0, and the
    points written at generation t are unchanged later."""
    config = make_config("gmm", policy="accumulate", n_samples={"linear": [5, 2]}, generations=4, em_iters=3,
                         chains=1)
    states = _states(config)
    sizes = config.sizes()
    for t, state in enumerate(states):
        count = int(sizes[:t].sum())
        assert int(state.pool.count) == count
        w = np.asarray(state.pool.w)
        assert np.all(w[:count] == 1.0) and np.all(w[count:] == 0.0)
    final = np.asarray(states[-1].pool.x)
    for t in range(1, len(states)):
        count = int(sizes[:t].sum())
        np.testing.assert_array_equal(np.asarray(states[t].pool.x)[:count], final[:count])


def test_real_pool_is_drawn_once_and_kept():
    config = make_config("gmm", policy="real_pool", real_fraction=0.5, pool_size=15, n_samples=10, generations=3,
                         em_iters=3, chains=1)
    states = _states(config)
    pools = [np.asarray(s.pool.x) for s in states]
    assert pools[0].shape == (15, 2)
    for pool in pools[1:]:
        np.testing.assert_array_equal(pool, pools[0])


def test_policy_points_are_drawn_from_the_pool_and_the_model():
    """real_pool's real rows are rows of the pool, distinct; subsample's rows are stored rows, distinct."""
    config = make_config("gmm", policy="real_pool", real_fraction=0.5, pool_size=15, n_samples=10, generations=1,
                         em_iters=3, chains=1)
    chain = gmm.GMM(config)
    with jax.enable_x64(True):
        pool = chain.real_pool(bits.seed_key(4))
        chosen = chain.from_real_pool(bits.seed_key(5), pool, jnp.asarray(5))
        rows = np.asarray(chosen.x)[np.asarray(chosen.w) > 0]
        assert rows.shape == (5, 2) and len({tuple(r) for r in rows}) == 5
        pool_rows = {tuple(r) for r in np.asarray(pool.x)}
        assert all(tuple(r) in pool_rows for r in rows)


def test_policies_are_refused_with_the_infinite_sampler_and_a_small_pool():
    with pytest.raises(ConfigError) as err:
        make_config("gmm", policy="accumulate", sampler="infinite")
    assert err.value.field == "sampler"
    with pytest.raises(ConfigError) as err:
        make_config("gmm", policy="real_pool", n_samples=100, real_fraction=0.5, pool_size=10)
    assert err.value.field == "pool_size"


def test_curves_are_given_where_the_recursions_hold():
    base = dict(n_samples=20, generations=5, reg_covar=0.0)
    for policy in ("accumulate", "fresh_real", "real_pool"):
        assert set(theory(make_config("gmm", policy=policy, pool_size=50, **base))) == \
            {"E_trace", "E_mix_mean", "E_mean_sq_error"}
        # reg·I each generation is not in those recursions: only the mean's curve
        assert set(theory(make_config("gmm", policy=policy, pool_size=50, **{**base, "reg_covar": 1e-3}))) == \
            {"E_mix_mean"}
    assert set(theory(make_config("gmm", policy="accumulate_subsample", **base))) == {"E_mix_mean"}


def test_replace_draws_what_it_always_drew():
    """The policy machinery leaves replace's keys alone: the fit is EM on N points of fold(key, 0) initialised from
    fold(key, 1), as before policies existed."""
    config = make_config("gmm", n_samples=30, generations=1, em_iters=5, chains=1)
    chain = gmm.GMM(config)
    key = bits.seed_key(9)
    with jax.enable_x64(True):
        state = chain.init(key)
        after = chain.step(key, state)
        x = gmm.mixture.sample(bits.fold(key, 0), state.model, 30)
        direct = em.fit_gmm(bits.fold(key, 1), x, 2, init=config.init, covariance_type="full",
                                     tol=config.tol, reg_covar=config.reg_covar, max_iter=5)
    np.testing.assert_array_equal(np.asarray(after.model.means[:2]), np.asarray(direct.params.means))


def _check_against_theory(config):
    run, curves = simulate(config), theory(config)
    for name, curve in (("trace", curves["E_trace"]), ("mean_sq_error", curves["E_mean_sq_error"])):
        x = np.asarray(run.stats[name], float)
        mean, se = x.mean(axis=1), x.std(axis=1, ddof=1) / np.sqrt(x.shape[1])
        gens = run.generation[1:]
        assert np.all(np.abs(mean[1:] - curve[gens]) <= 4 * se[1:]), (config.policy, name, mean, curve[gens], se)
    mix = np.asarray(run.stats["mix_mean"], float)  # (gens, chains, d)
    se = mix.std(axis=1, ddof=1) / np.sqrt(mix.shape[1])
    assert np.all(np.abs(mix.mean(axis=1) - curves["E_mix_mean"][run.generation]) <= 4 * se + 1e-12)


@pytest.mark.parametrize("policy", ("accumulate", "fresh_real", "real_pool"))
def test_gaussian_fit_follows_the_policy_recursions(policy):
    """A Gaussian fitted by moments to a two-component truth (d = 2, ddof 1, N = 12): the policy's second-moment
    recursion with tr C_0 for σ0² (§M.4), at 4 SE over 3000 chains, 6 generations."""
    config = make_config("gmm", components=2, fit_family="gaussian", fit_components=1, ddof=1, dim=2, n_samples=12,
                         generations=6, reg_covar=0.0, policy=policy, real_fraction=0.25, pool_size=40,
                         chains=3000, seed=11, metrics=["trace", "mean_sq_error", "mix_mean"])
    _check_against_theory(config)


@pytest.mark.parametrize("policy", ("accumulate", "fresh_real", "real_pool"))
def test_em_fit_follows_the_policy_recursions(policy):
    """EM with K′ = 2 on a two-component 1-D truth, reg 0 (N = 40, 5 iterations: §M.1 needs no convergence), at 4 SE
    over 1500 chains, 5 generations."""
    config = make_config("gmm", components=2, fit_components=2, dim=1, n_samples=40, generations=5, reg_covar=0.0,
                         em_iters=5, policy=policy, real_fraction=0.25, pool_size=80, chains=1500, seed=12,
                         metrics=["trace", "mean_sq_error", "mix_mean"])
    _check_against_theory(config)
