"""Closed-form results, separate from simulation: pure functions of the settings that return expected curves
(derivations and sources in docs/theory.md). Submodules: `gaussian` (§G, §W, §P), `categorical` and `markov`
(§C, §N), `categorical_config`, `counts` (§N), `gmm` (§M), `kde` (§K), `linreg` (§L); beyond the paper's
experiments `curation` (§R), `verifier` (§V), `weighted_real` (§H), `ecosystem` (§I) and `strong_collapse` (§S);
`fields` declares which config fields each family's curves depend on (§T.1)."""

import importlib

__all__ = ["categorical", "gaussian", "markov"]


def __getattr__(name: str):
    """Submodules load on first use (``simcollapse.theory.gaussian`` need not import scipy.stats)."""
    if name in __all__:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
