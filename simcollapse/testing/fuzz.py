"""Fuzzing strategies for configs (need ``hypothesis``): field values mutated at random, the edges of each field's
declared bounds among them, so that every outcome must be a clean :class:`~simcollapse.config.ConfigError` or a
run; see :mod:`simcollapse.testing`."""

from __future__ import annotations

import dataclasses
import math

from ..config import bounds
from .strategies import _need_hypothesis

__all__ = ["fuzzed_config_values"]


def _words() -> list[str]:
    """Every documented choice of every family's keys (and the KDE's bandwidth rules), and strings no family
    takes."""
    from .. import families, keys
    from ..config.kde import RULES

    words = {c for family in families.names() for key in keys.family_keys(family) for c in key.choices} | set(RULES)
    return sorted(words - {"true", "false"}) + ["ols", "closed_form", "bogus", ""]


def _edges(field: dataclasses.Field) -> list:
    """The ends of a field's declared bounds and the values just beyond them (an integer one less, a real number
    the next float outward): where a parse step's off-by-one would show."""
    b = bounds(field)
    if b is None:
        return []
    edges = []
    for end, outward in ((b.low, -1), (b.high, 1)):
        if end is not None:
            edges += [end, end + outward] if b.integer else [float(end), math.nextafter(float(end), outward * math.inf)]
    return edges


def _mutations(field: dataclasses.Field):
    """Values to try in place of a field's default: the edges of its declared bounds, neighbours of its type
    and values of other types."""
    s = _need_hypothesis()
    default = field.default
    foreign = s.sampled_from([None, True, "x", -1, 0, 2.5, float("nan"), float("inf"), [], [1.0, 2.0], {"a": 1},
                              *_edges(field)])
    if isinstance(default, bool):
        return s.one_of(s.booleans(), foreign)
    if isinstance(default, int):
        return s.one_of(s.sampled_from([default, 1, 2, 3, 5, 17]), s.integers(-3, 40), foreign)
    if isinstance(default, float):
        return s.one_of(s.sampled_from([default, 0.0, 0.1, 0.5, 1.0, 2.0]), s.floats(-2.0, 3.0), foreign)
    if isinstance(default, str):
        return s.one_of(s.just(default), s.sampled_from(_words()), foreign)
    if isinstance(default, tuple):  # metrics
        return s.one_of(s.just(list(default)), s.lists(s.sampled_from(default), min_size=1, max_size=3, unique=True),
                        s.just(["bogus"]), s.just([]), foreign)
    others = [1, 2, 3, 0.5, 1.0, [0.9, 0.1], [[1.0, 0.0], [0.0, 1.0]], [0.0, 1.0], [[2.0, 0.3], [0.3, 1.0]],
              [[1.0, 2.0], [2.0, 1.0]]]  # for a default of None: counts (fit_dim, top_k), numbers, lists, matrices
    return s.one_of(s.just(default), s.sampled_from(others), foreign)


def fuzzed_config_values(family: str, *, max_fields: int = 4, max_generations: int = 3, max_chains: int = 3):
    """Dicts for ``make_config(family, **d)`` with up to `max_fields` fields mutated (see :func:`_mutations`):
    most are invalid, some valid. ``generations`` and ``chains`` stay small (or invalid) so valid ones run fast.
    Use it to check that every outcome is either a clean :class:`~simcollapse.config.ConfigError` or a run.
    """
    from .. import families

    s = _need_hypothesis()
    fields = {f.name: f for f in dataclasses.fields(families.get(family).config)}
    small = {"generations": s.one_of(s.integers(1, max_generations), s.sampled_from([0, -1, 2.0, "3"])),
             "chains": s.one_of(s.integers(1, max_chains), s.sampled_from([0, None]))}
    mutable = sorted(set(fields) - set(small))
    chosen = s.lists(s.sampled_from(mutable), max_size=max_fields, unique=True)
    return chosen.flatmap(lambda names: s.fixed_dictionaries({**small, **{n: _mutations(fields[n]) for n in names}}))
