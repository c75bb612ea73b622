"""Ecosystems of models (docs/theory.md §I): the moment recursions against the exact two-type island chain
(to rounding), the s = 1/m Wright–Fisher identity, and plain-numpy categorical and Gaussian ecosystems against
the recursions at 4 standard errors."""

import numpy as np
import pytest
from conftest import close_z

from simcollapse.theory import ecosystem


def _assert_chain_follows_theory(config, what):
    """Every recorded statistic at generations 1, 5, 10 within 4 SE of its recursion (z-scores kept)."""
    from simcollapse.api import simulate, theory

    stats, expected = simulate(config).stats, theory(config)
    for t in (1, 5, 10):
        for name in config.metrics:
            close_z(stats[name][t], expected[f"E_{name}"][t], f"{what}: E_{name}_{t}")


@pytest.mark.parametrize("n, models, share, start", [(6, 3, 0.5, 2), (10, 2, 0.8, 3), (5, 3, 1 / 3, 1),
                                                     (8, 2, 1.0, 4), (4, 4, 0.1, 2)])
def test_recursion_equals_the_exact_island_chain(n, models, share, start):
    law = ecosystem.island_law(n, models, share, start, 10)
    freq = ecosystem.island_states(n, models) / n
    self_hom = (freq[:, 0] ** 2 + (1 - freq[:, 0]) ** 2)
    cross = freq[:, 0] * freq[:, 1] + (1 - freq[:, 0]) * (1 - freq[:, 1])
    f, c = ecosystem.homozygosity([n] * 10, models, share, (start / n) ** 2 + (1 - start / n) ** 2)
    assert np.abs(law @ self_hom - f).max() < 1e-13 and np.abs(law @ cross - c).max() < 1e-13


@pytest.mark.parametrize("n, models", [(10, 3), (50, 4), (7, 2)])
def test_uniform_mixing_is_wright_fisher_of_size_m_n(n, models):
    curves = ecosystem.categorical_curves([n] * 30, models, 1.0 / models, [0.5, 0.3, 0.2])
    h0 = 1 - 0.38
    assert np.allclose(curves["E_gini_simpson_mixture"], h0 * (1 - 1 / (models * n)) ** np.arange(31), rtol=1e-13)


def numpy_categorical_ecosystem(rng, probs0, n, models, share, generations, chains):
    w = ecosystem.mixing_matrix(models, share)
    p = np.broadcast_to(np.asarray(probs0, float), (chains, models, len(probs0))).copy()
    out = [p]
    for _ in range(generations):
        q = np.einsum("ij,cjk->cik", w, p)
        counts = np.stack([rng.multinomial(n, q[:, i]) for i in range(models)], axis=1)
        p = counts / n
        out.append(p)
    return out


@pytest.mark.parametrize("n, models, share", [(20, 3, 0.6), (10, 2, 0.9), (15, 4, 0.25)])
def test_categorical_ecosystem_matches_the_recursion(n, models, share):
    probs0, generations = [0.5, 0.3, 0.2], 10
    path = numpy_categorical_ecosystem(np.random.default_rng(n), probs0, n, models, share, generations, 20_000)
    curves = ecosystem.categorical_curves([n] * generations, models, share, probs0)
    for t in (1, 5, 10):
        p = path[t]
        mixture = p.mean(1)
        close_z((1 - (p**2).sum(-1)).mean(1), curves["E_gini_simpson_models"][t], f"§I.1 models' Gini–Simpson_{t} "
                f"(n={n}, m={models}, s={share})")
        close_z(1 - (mixture**2).sum(-1), curves["E_gini_simpson_mixture"][t], f"§I.1 mixture Gini–Simpson_{t} "
                f"(n={n}, m={models}, s={share})")
        pairs = [((p[:, i] - p[:, j]) ** 2).sum(-1) for i in range(models) for j in range(models) if i != j]
        close_z(np.mean(pairs, axis=0), curves["E_between_model_sq_dist"][t], f"§I.1 between-model ‖p_i − p_j‖²_{t} "
                f"(n={n}, m={models}, s={share})")


def numpy_gaussian_ecosystem(rng, n, models, share, ddof, generations, chains):
    """One-dimensional models from N(0, 1); each draws n points from its mixture Σ_j W_ij N(μ_j, σ_j²)."""
    w = ecosystem.mixing_matrix(models, share)
    mean, std = np.zeros((chains, models)), np.ones((chains, models))
    out = [(mean, std)]
    for _ in range(generations):
        source = np.stack([(rng.random((chains, n, 1)) > np.cumsum(w[i])).sum(-1) for i in range(models)], axis=1)
        flat = source.reshape(chains, -1)
        x = (np.take_along_axis(mean, flat, 1) + np.take_along_axis(std, flat, 1) * rng.standard_normal(flat.shape))
        x = x.reshape(chains, models, n)
        mean, std = x.mean(-1), x.std(-1, ddof=ddof)
        out.append((mean, std))
    return out


@pytest.mark.parametrize("n, models, share, ddof", [(10, 3, 0.5, 1), (20, 2, 0.9, 0), (8, 4, 0.25, 0)])
def test_gaussian_ecosystem_matches_the_recursion(n, models, share, ddof):
    generations = 10
    path = numpy_gaussian_ecosystem(np.random.default_rng(models), n, models, share, ddof, generations, 20_000)
    curves = ecosystem.gaussian_curves([n] * generations, models, share, ddof)
    label = f"(n={n}, m={models}, s={share}, δ={ddof})"
    for t in (1, 5, 10):
        mean, std = path[t]
        close_z((std**2).mean(1), curves["E_trace_models"][t], f"§I.2 models' E σ²_{t} {label}")
        close_z((mean**2).mean(1), curves["E_mean_sq_error_models"][t], f"§I.2 models' E μ²_{t} {label}")
        mixture_var = (std**2 + mean**2).mean(1) - mean.mean(1) ** 2
        close_z(mixture_var, curves["E_trace_mixture"][t], f"§I.2 mixture variance_{t} {label}")
        pairs = [(mean[:, i] - mean[:, j]) ** 2 for i in range(models) for j in range(models) if i != j]
        close_z(np.mean(pairs, axis=0), curves["E_between_model_mean_sq_dist"][t], f"§I.2 (μ_i − μ_j)²_{t} {label}")


# --- the categorical family's ecosystem (models, own_share) against the island-model recursions ------------

@pytest.mark.slow
@pytest.mark.parametrize("n, models, share, probs0", [(20, 3, 0.6, [0.5, 0.3, 0.2]), (10, 2, 0.9, [0.7, 0.2, 0.1]),
                                                      (15, 4, 0.25, [0.4, 0.4, 0.2]), (12, 3, 1.0, [0.6, 0.4])])
def test_categorical_ecosystem_chain_matches_the_island_recursion(n, models, share, probs0):
    from simcollapse.api import make_config

    config = make_config("categorical", probs0=probs0, models=models, own_share=share, n_samples=n, generations=10,
                         chains=20_000, seed=n + models)
    _assert_chain_follows_theory(config, f"§I.1 categorical (n={n}, m={models}, s={share}, p0={probs0})")


def test_shared_mixture_is_wright_fisher_of_size_mn_and_the_infinite_ecosystem_stays():
    from simcollapse.api import make_config, simulate, theory

    config = make_config("categorical", probs0=[0.5, 0.5], models=4, own_share=0.25, n_samples=10, generations=6)
    curves = theory(config)
    np.testing.assert_allclose(curves["E_gini_simpson_mixture"], 0.5 * (1 - 1 / 40) ** np.arange(7), rtol=1e-13)
    still = make_config("categorical", probs0=[0.5, 0.3, 0.2], models=3, own_share=0.5, sampler="infinite",
                        generations=3, chains=2)
    stats, expected = simulate(still).stats, theory(still)
    for name in still.metrics:
        np.testing.assert_allclose(stats[name], np.broadcast_to(expected[f"E_{name}"][:, None], stats[name].shape),
                                   rtol=1e-13, atol=1e-15)


def test_ecosystem_values_are_checked_and_a_sweep_writes_the_theory(tmp_path):
    from simcollapse.api import make_config
    from simcollapse.config import ConfigError
    from simcollapse.sweep import run_sweep

    for values, field in [({"models": 0}, "models"), ({"models": 2, "own_share": 1.5}, "own_share"),
                          ({"models": 2, "policy": "accumulate"}, "policy"), ({"models": 2, "metrics": ["entropy"]}, "metrics")]:
        with pytest.raises(ConfigError) as err:
            make_config("categorical", **values)
        assert err.value.field == field
    base = {"models": 3, "n_samples": 10, "generations": 3, "chains": 4, "probs0": [0.5, 0.5]}
    stacked = run_sweep("categorical", base, {"own_share": [1 / 3, 1.0]}, tmp_path)
    for i, share in enumerate((1 / 3, 1.0)):
        np.testing.assert_allclose(stacked["theory_E_between_model_sq_dist"][i],
                                   ecosystem.categorical_curves([10] * 3, 3, share, [0.5, 0.5])["E_between_model_sq_dist"],
                                   rtol=1e-14)


@pytest.mark.slow
@pytest.mark.parametrize("family, n, models, share, ddof, cov0", [("gaussian", 10, 3, 0.5, 1, None),
                                                                  ("gaussian", 20, 2, 0.9, 0, None),
                                                                  ("mvgaussian", 8, 4, 0.25, 0, [[2.0, 0.5], [0.5, 1.0]])])
def test_gaussian_ecosystem_chain_matches_the_moment_recursion(family, n, models, share, ddof, cov0):
    from simcollapse.api import make_config

    extra = {} if cov0 is None else {"dim": 2, "cov0": cov0}
    config = make_config(family, sampler="exact", n_samples=n, models=models, own_share=share, ddof=ddof,
                         generations=10, chains=20_000, seed=n + models, **extra)
    _assert_chain_follows_theory(config, f"§I.2 {family} (n={n}, m={models}, s={share}, δ={ddof})")


def test_gaussian_ecosystem_values_are_checked():
    from simcollapse.api import make_config
    from simcollapse.config import ConfigError

    for values, field in [({"models": 2}, "sampler"), ({"models": 2, "sampler": "exact", "policy": "accumulate"}, "policy"),
                          ({"models": 2, "sampler": "exact", "own_share": -1}, "own_share"),
                          ({"models": 2, "sampler": "exact", "metrics": ["var"]}, "metrics")]:
        with pytest.raises(ConfigError) as err:
            make_config("gaussian", **values)
        assert err.value.field == field
