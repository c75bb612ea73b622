"""Summary-only statistics: per recorded generation, the mean, standard deviation and 10/50/90 % quantiles
over chains instead of every chain's value, so memory stays flat in the number of chains and generations
(a run with ``summary=true`` stores arrays of shape (generations, 5, ...))."""

from __future__ import annotations

import warnings

import numpy as np

FIELDS = ("mean", "sd", "q10", "q50", "q90")


def summarize(rows: np.ndarray) -> np.ndarray:
    """(rows, chains, ...) → (rows, 5, ...): mean, sd (ddof 1; 0 for one chain), q10, q50, q90 over chains."""
    rows = np.ascontiguousarray(rows, dtype=float)  # one summation order, whatever the memory layout
    with warnings.catch_warnings():  # all-NaN rows (e.g. "no fit yet" at generation 0) stay NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(rows, axis=1)
        sd = np.nanstd(rows, axis=1, ddof=1) if rows.shape[1] > 1 else np.zeros_like(mean)
        q10, q50, q90 = np.nanquantile(rows, [0.1, 0.5, 0.9], axis=1)
    return np.stack([mean, sd, q10, q50, q90], axis=1)


def describe(values: np.ndarray, summary: bool) -> dict[str, np.ndarray]:
    """{field: (rows, ...)} from either per-chain values (rows, chains, ...) or stored summaries."""
    table = np.asarray(values) if summary else summarize(values)
    return {field: table[:, i] for i, field in enumerate(FIELDS)}
