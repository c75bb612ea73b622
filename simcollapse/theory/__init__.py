"""Closed-form results, separate from simulation: pure functions of the settings that return expected curves
(derivations and sources in docs/theory.md). Submodules: `gaussian` (§G, §W, §P), `categorical` and `markov`
(§C, §N), `categorical_config`, `gmm` (§M), `kde` (§K), `linreg` (§L); `fields` declares which config fields
each family's curves depend on (§T.1)."""

from . import categorical, gaussian, markov

__all__ = ["categorical", "gaussian", "markov"]
