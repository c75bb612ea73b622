"""Errors of a run that are not config errors (those are `simcollapse.config.ConfigError`); importable
without JAX, so the command line can report them without importing it first."""

from __future__ import annotations


class NonFiniteError(ArithmeticError):
    """A recorded statistic became NaN (or ±inf where it must stay finite)."""

    def __init__(self, name: str, generation: int, chain: int, value: float, point: int | None = None):
        self.name, self.generation, self.chain, self.value, self.point = name, generation, chain, value, point
        at = f"chain {chain}" if point is None else f"chain {chain} of point {point}"
        super().__init__(
            f"statistic {name!r} is {value} at generation {generation} of {at}: the model left the range "
            "float64 can represent (a collapsing fit: try a larger n_samples, reg_covar or fewer generations; "
            "a diverging gradient fitter: a smaller lr)"
        )
