"""The family contract: what a family provides and the rules the driver relies on, written once.

A family (``simcollapse.families.get(name)``, a :class:`Family`) is

* ``config``: its :class:`ConfigSchema`, a frozen dataclass subclassing ``simcollapse.config.RunConfig``;
* ``build(config) -> Chain``: the chain's three pure functions (:class:`Chain`);
* ``theory(config) -> {"E_<metric>": curve}``: its closed forms (:class:`Theory`);
* ``batchable(config)``: the config fields that enter the chain only through ``params(config)``;
* ``params(config)``: those fields as a pytree of host arrays (None for a family without any);
* ``train(config)``: for the neural families (``lm``, ``vae``), which train one model per generation and have
  no chain, the training loop instead of ``build``.

A chain's data policy is one of :mod:`simcollapse.policies`, fed by the family's sufficient statistics
(:class:`simcollapse.policies.Data`).

Rules the driver (``simcollapse.core.driver``) and the API rely on:

1. **What build may read.** ``build`` is called once per compiled program, with ``seed=0`` and the driver's
   fields (``chains``, ``record_every``, ``summary``) at their defaults, and its chain is shared by every config
   that differs from it only in those fields, the seed and the batchable ones (``api.batch_key``). So ``build``
   reads none of them; a batchable field reaches the chain only as a traced value of ``params``, passed as a last
   argument to ``init(key, params)``, ``step(key, state, params)`` and ``observe(state, params)``.
2. **Pure functions, one source of randomness.** ``init``, ``step`` and ``observe`` have no side effects and
   draw every random number from ``simcollapse.samplers.bits`` with the key they are given: chain i's key is
   ``fold(key(seed), i)``, ``init`` gets ``fold(chain_key, 0)``, generation t's ``step`` ``fold(chain_key, t)``.
   A trajectory then depends only on (seed, chain index, config).
3. **Batch-invariant sums.** The driver vmaps the functions over a chain axis padded to ``Chain.lanes`` lanes;
   a reduction over a long axis inside them goes through ``core.batch_invariant`` (``tree_sum``,
   ``ordered_sum``, …), so a chain's bits are the same alone or among 10⁶ others. ``lanes=1`` declares that the
   family's arithmetic is exact in any batch; ``sequential=True`` runs chains one after another (EM).
4. **States keep their types.** ``init`` returns the dtypes (strong types included) that ``step`` returns, so
   the generation loop compiles once.
5. **Observations.** ``observe`` returns ``{metric: array}`` for the config's ``metrics`` only, of fixed shapes;
   NaN is an error, and so is ±inf unless the metric is in ``Chain.unbounded``.
6. **Configs validate before JAX.** A config module imports no JAX, so a bad value is refused (a
   ``ConfigError`` naming the field) before anything heavy is imported. Every field has a default.
7. **Theory.** A pure function of the config (numpy), curves of shape (generations + 1, …), row 0 the truth;
   its ``fields`` attribute declares each config field used, irrelevant or needed at given values
   (``theory.fields.declared``, docs/theory.md §T.1).
8. **Plots.** ``simcollapse plot`` draws every scalar statistic with its ``E_<metric>`` curve; a module
   ``simcollapse.plots.<family>`` with ``figures(run, out_dir) -> list[Path]`` adds the family's own figures.

Registration: the built-in families are listed in ``simcollapse.families``; any other module of that package
(not private, not one of its shared pieces) is a family named after its file, and declares ``FAMILY``, a
:class:`Family`: a new family is one file, found without editing the registry (docs/adding-a-family.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, NamedTuple, Protocol, runtime_checkable

__all__ = ["Chain", "ConfigSchema", "Family", "Theory", "conforms"]


@runtime_checkable
class ConfigSchema(Protocol):
    """A family's config: a frozen dataclass with a default for every field, validated on construction."""

    family: ClassVar[str]
    generations: int
    seed: int

    def validate(self) -> None: ...

    def to_dict(self) -> dict[str, Any]: ...

    def replace(self, **changes) -> ConfigSchema: ...


@runtime_checkable
class Chain(Protocol):
    """The three pure functions the driver runs (``core.driver.Chain`` is the record a family returns)."""

    init: Callable  # (key[, params]) -> state
    step: Callable  # (key, state[, params]) -> state
    observe: Callable  # (state[, params]) -> {metric: array}
    lanes: int
    unbounded: tuple[str, ...]
    sequential: bool


@runtime_checkable
class Theory(Protocol):
    """Closed forms of a family: ``theory(config) -> {"E_<metric>": curve}``, with its field declaration."""

    fields: Mapping[str, Any]

    def __call__(self, config) -> dict: ...


def _no_batchable(config) -> tuple[str, ...]:
    return ()


def _no_params(config):
    return None


class Family(NamedTuple):
    """What a family provides (see the module docstring)."""

    config: type
    build: Callable[[Any], Chain] | None
    theory: Callable[[Any], dict]
    batchable: Callable[[Any], tuple[str, ...]] = _no_batchable
    params: Callable[[Any], Any] = _no_params
    train: Callable[[Any], list] | None = None  # a neural family's training loop (no chain: build is None)


def conforms(family: Family, config) -> list[str]:
    """What `family` lacks of the contract for `config` (an empty list when it conforms): the config is a
    :class:`ConfigSchema` of the family's class, the theory declares every config field, the batchable fields
    are fields, and the built chain is a :class:`Chain`."""
    import dataclasses

    problems = []
    if not isinstance(config, family.config) or not isinstance(config, ConfigSchema):
        problems.append("the config is not a ConfigSchema of the family's class")
    fields = {f.name for f in dataclasses.fields(config)}
    if not isinstance(family.theory, Theory):
        problems.append("the theory has no field declaration")
    elif missing := fields - set(family.theory.fields):
        problems.append(f"the theory does not declare {sorted(missing)}")
    if extra := set(family.batchable(config)) - fields:
        problems.append(f"batchable names that are no fields: {sorted(extra)}")
    chain = family.build(config)
    if not isinstance(chain, Chain):
        problems.append("build does not return a Chain")
    return problems
