"""Property-testing toolkit: hypothesis strategies for configs and statistical assertions against theory.

Strategies (need ``hypothesis``, installed with the ``test`` extra):

* :func:`schedules` — ``n_samples`` specs accepted by :func:`simcollapse.config.schedule`;
* :func:`gaussian_configs`, :func:`mvgaussian_configs` — dicts for ``make_config("gaussian" | "mvgaussian", **d)``;
* :func:`categorical_truths` — probability vectors (cats, uniform, Zipf, random) to pass as ``probs0``;
* :func:`invalid_gaussian_values` — ``(field, values)`` pairs that ``make_config`` rejects naming ``field``;
* :func:`valid_config_values` — any simulated family: dicts that ``make_config`` accepts, small enough to run fast;
* :func:`fuzzed_config_values` — any family: field values mutated at random (the edges of declared bounds among
  them), valid or not, for fuzzing;
* :func:`declared` — one field's values from its declared choices or bounds, narrowed to a window.

Assertions (numpy only; all Monte Carlo standard errors come from the chains themselves,
SE = s/√C for C chains, s the sample standard deviation):

* :func:`assert_matches_theory` — two-sided: |mean − E| ≤ n_se·SE at each chosen generation;
* :func:`assert_variance_shrinks_no_faster_than` — one-sided against E log σ_n² of the closed form;
* :func:`assert_lost_mass_at_least` — one-sided: categorical lost mass ≥ its exact expectation;
* :func:`assert_mean_near`, :func:`assert_frequency_near` — a sample mean or a frequency against an exact value.
"""

from __future__ import annotations

from .assertions import (
    assert_lost_mass_at_least,
    assert_matches_theory,
    assert_variance_shrinks_no_faster_than,
    mc_mean_se,
)
from .fuzz import fuzzed_config_values
from .strategies import (
    categorical_truths,
    declared,
    gaussian_configs,
    invalid_gaussian_values,
    mvgaussian_configs,
    schedules,
    valid_config_values,
)

__all__ = [
    "assert_frequency_near",
    "assert_lost_mass_at_least",
    "assert_matches_theory",
    "assert_mean_near",
    "assert_variance_shrinks_no_faster_than",
    "categorical_truths",
    "declared",
    "fuzzed_config_values",
    "gaussian_configs",
    "invalid_gaussian_values",
    "mc_mean_se",
    "mvgaussian_configs",
    "schedules",
    "valid_config_values",
]
