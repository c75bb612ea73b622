"""Which config fields a family's closed forms depend on, declared beside them (docs/theory.md §T.1).

Every theory module maps each field of the configs it serves to one of:

* ``USED``: the curves are functions of the field (a sample size, the truth, ddof, …);
* ``IRRELEVANT``: the curves never change with it (``seed``, ``chains``, ``record_every``, ``summary``,
  ``metrics``, a setting of a fitter the curves do not cover, …);
* :class:`Needs`: the closed forms are proven only for some values of the field (``fitter="exact"``, ``ridge=0``);
  for any other value only the curves named in ``keep`` (those that hold whatever the field's value) are returned.

:func:`declared` wraps a module's ``for_config`` so that the :class:`Needs` rules are applied outside the module's
own case analysis: a curve cannot be returned for a value it was not derived for. The tests check, over the config
strategies of :mod:`simcollapse.testing`, that every field of every family is declared, that changing an irrelevant
field never changes a curve, and that an unsupported value returns only the kept curves, unchanged.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping

USED = "used"
IRRELEVANT = "irrelevant"

# read by the driver or only selecting what is recorded: no closed form depends on them
RUN_FIELDS = {"generations": USED, "chains": IRRELEVANT, "seed": IRRELEVANT, "record_every": IRRELEVANT,
              "summary": IRRELEVANT, "metrics": IRRELEVANT}


@dataclasses.dataclass(frozen=True)
class Needs:
    """The closed forms hold only for ``values`` of the field (or where ``exempt(config)`` is true: settings in
    which the field provably has no effect); otherwise only the curves in ``keep`` are returned."""

    values: tuple
    keep: tuple = ()
    exempt: Callable | None = None

    def holds(self, config, value) -> bool:
        return value in self.values or (self.exempt is not None and bool(self.exempt(config)))


def unsupported(declaration: Mapping, config) -> list[str]:
    """The fields of `config` whose value the closed forms were not derived for."""
    return [name for name, rule in declaration.items()
            if isinstance(rule, Needs) and hasattr(config, name) and not rule.holds(config, getattr(config, name))]


def kept(declaration: Mapping, config) -> set[str] | None:
    """The curve names that may be returned for `config` (None: all of them)."""
    keep = None
    for name in unsupported(declaration, config):
        rule = set(declaration[name].keep)
        keep = rule if keep is None else keep & rule
    return keep


def declared(declaration: Mapping):
    """Decorator for a ``for_config(config) -> dict`` applying `declaration`'s :class:`Needs` rules to its result
    (it is not called at all when no curve may be returned: its formulas need not make sense there)."""

    def wrap(for_config):
        @functools.wraps(for_config)
        def checked(config):
            keep = kept(declaration, config)
            if keep is None:
                return for_config(config)
            return {key: value for key, value in for_config(config).items() if key in keep} if keep else {}

        checked.fields = declaration
        return checked

    return wrap
