"""Closed-form results, separate from simulation: pure functions of the settings that return
expected curves. Submodules: `gaussian` (§B.1–B.4), `categorical` and `markov` (§B.5–B.6, §B.9)."""

from . import categorical, gaussian, markov

__all__ = ["categorical", "gaussian", "markov"]
