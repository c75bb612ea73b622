"""Strong model collapse in regression (docs/theory.md §S): the exact mixed-data test error against plain-numpy
least squares at 4 standard errors, the one-dimensional Beta moment, the floor p₂²c² and the curriculum."""

import numpy as np
import pytest
from conftest import close_z

from simcollapse.theory import strong_collapse


def numpy_mixed_errors(rng, n_real, n_synth, dim, shift, noise, chains, curriculum=False):
    """‖ŵ − w*‖² (w* = 0, Σ = I) of least squares on n_real real rows and a random n_synth-subset of shifted
    rows; with the curriculum, the final fit uses the real rows only."""
    t = n_real + n_synth
    x = rng.standard_normal((chains, t, dim))
    synthetic = np.argsort(rng.random((chains, t)), axis=1) < n_synth
    y = np.einsum("ctd,d->ct", x, shift) * synthetic + noise * rng.standard_normal((chains, t))
    if curriculum:
        real_rows = np.argsort(synthetic, axis=1, kind="stable")[:, :n_real]  # the real rows of each chain
        x, y = np.take_along_axis(x, real_rows[..., None], 1), np.take_along_axis(y, real_rows, 1)
    gram, moment = np.einsum("ctd,cte->cde", x, x), np.einsum("ctd,ct->cd", x, y)
    return (np.linalg.solve(gram, moment[..., None])[..., 0] ** 2).sum(1)


@pytest.mark.parametrize("n_real, n_synth, dim, noise", [(12, 8, 3, 1.0), (30, 10, 5, 0.5), (6, 14, 2, 0.0),
                                                         (40, 0, 4, 1.0), (20, 20, 1, 0.3), (60, 40, 8, 0.0)])
def test_mixed_fit_matches_the_exact_error(n_real, n_synth, dim, noise):
    shift = np.linspace(0.5, 1.5, dim)
    errors = numpy_mixed_errors(np.random.default_rng(dim), n_real, n_synth, dim, shift, noise, 100_000)
    exact = strong_collapse.mixed_test_error(n_real, n_synth, dim, float(shift @ shift), noise)
    close_z(errors, exact, f"§S.1 E_test (n1={n_real}, n2={n_synth}, d={dim}, σ={noise})")


def test_one_dimension_is_the_beta_moment_and_the_floor_stays():
    for n1, n2 in [(5, 5), (10, 30), (3, 1)]:
        t = n1 + n2
        assert strong_collapse.mixed_test_error(n1, n2, 1, 2.0, 0.0) == pytest.approx(2.0 * n2 * (n2 + 2) / (t * (t + 2)),
                                                                                       rel=1e-13)
    # a fixed share p₂ = 0.2: the error tends to the floor p₂²c², not to 0
    errors = [strong_collapse.mixed_test_error(4 * k, k, 10, 1.0, 1.0) for k in (100, 1000, 100_000)]
    assert errors[0] > errors[1] > errors[2] > strong_collapse.error_floor(0.2, 1.0) == pytest.approx(0.04)
    assert errors[2] == pytest.approx(0.04, rel=1e-3)


@pytest.mark.parametrize("n_real, n_synth, dim", [(20, 20, 3), (40, 160, 5)])
def test_curriculum_has_the_real_only_error(n_real, n_synth, dim):
    errors = numpy_mixed_errors(np.random.default_rng(7), n_real, n_synth, dim, np.ones(dim), 1.0, 50_000,
                                curriculum=True)
    close_z(errors, strong_collapse.curriculum_test_error(n_real, dim, 1.0),
            f"§S.2 curriculum E_test (n1={n_real}, n2={n_synth}, d={dim})")


@pytest.mark.parametrize("design_size, dim, fraction, shift, noise, curriculum",
                         [(30, 4, 0.4, 0.5, 1.0, False), (20, 2, 0.25, [1.0, -2.0], 0.5, False),
                          (60, 6, 0.5, 0.3, 1.0, True), (16, 3, 0.6, 1.0, 0.0, False)])
def test_linreg_synthetic_mix_chain_matches_theory(design_size, dim, fraction, shift, noise, curriculum):
    from simcollapse.api import make_config, simulate, theory

    config = make_config("linreg", policy="synthetic_mix", design_size=design_size, dim=dim,
                         synthetic_fraction=fraction, synthetic_shift=shift, noise=noise, curriculum=curriculum,
                         generations=2, chains=20_000, seed=design_size, metrics=["test_error"])
    errors, expected = simulate(config).stats["test_error"], theory(config)["E_test_error"]
    for t in (1, 2):
        close_z(errors[t], expected[t], f"§S linreg synthetic_mix E_test_{t} (T={design_size}, d={dim}, p2={fraction}, "
                f"Δ={shift}, σ={noise}, curriculum={curriculum})")
