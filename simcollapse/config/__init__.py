"""Run configurations: one frozen dataclass per family (in `simcollapse.config.<module>`), validated before
anything compiles and before JAX is imported; this module holds the fields every family shares and the checks.

A config is built in three steps: the keys are parsed (:func:`from_dict` refuses unknown ones,
:func:`check_declared` every value against its field's declaration: :func:`choice`, :func:`number`,
:func:`integer` or a ``bool`` annotation), :meth:`RunConfig.normalise` gives the canonical form of the values (the
only step that writes), and :meth:`RunConfig.validate` checks what couples fields. The CLI help and the docs'
reference are generated from the class (:mod:`simcollapse.keys`), the strategies of :mod:`simcollapse.testing`
draw from the same declarations. Fields several families share are declared once, in :class:`RealData` (the real
share and pool of the policies that mix real data) and :class:`Ecosystem` (models evolving together).

Every field has a default, so `config.json` always holds the fully resolved configuration.
Bad input raises :class:`ConfigError`, which names the field and the allowed values.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from typing import Any, ClassVar, NamedTuple

import numpy as np


class ConfigError(ValueError):
    """A configuration field holds a value the family cannot run with."""

    def __init__(self, field: str, message: str):
        self.field, self.message = field, message
        super().__init__(f"{field}: {message}")


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return (_is_int(value) or isinstance(value, (float, np.floating))) and not isinstance(value, bool)


def check_int(name: str, value, minimum: int | None = None) -> int:
    if not _is_int(value):
        raise ConfigError(name, f"must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ConfigError(name, f"must be ≥ {minimum}, got {value}")
    return int(value)


def check_number(name: str, value, low=None, high=None, low_open=False, high_open=False) -> float:
    if not _is_number(value) or not math.isfinite(value):
        raise ConfigError(name, f"must be a finite number, got {value!r}")
    value = float(value)
    if low is not None and (value < low or (low_open and value == low)):
        raise ConfigError(name, f"must be {'>' if low_open else '≥'} {low}, got {value}")
    if high is not None and (value > high or (high_open and value == high)):
        raise ConfigError(name, f"must be {'<' if high_open else '≤'} {high}, got {value}")
    return value


def check_choice(name: str, value, choices) -> str:
    if value not in choices:
        raise ConfigError(name, f"must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def choice(default, among: tuple) -> Any:
    """A dataclass field with default `default` whose value must be one of `among`: the one place its allowed
    values are written (the config's parse step refuses any other, ``--help``, the docs and the strategies of
    `simcollapse.testing` list them)."""
    return dataclasses.field(default=default, metadata={"choices": tuple(among)})


def choices(field: dataclasses.Field) -> tuple | None:
    """The allowed values of a field declared with :func:`choice` (None for any other field)."""
    return field.metadata.get("choices")


class Bounds(NamedTuple):
    """Where the values of a number field lie: an integer ≥ ``low``, or a finite real number in [low, high] (an
    end open where said, an end of None unbounded); None is also allowed where ``optional``."""

    integer: bool
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    optional: bool = False

    def check(self, name: str, value) -> None:
        """Raise ConfigError(name) unless `value` lies within these bounds."""
        if value is None and self.optional:
            return
        if self.integer:
            check_int(name, value, self.low)
        else:
            check_number(name, value, self.low, self.high, self.low_open, self.high_open)

    def describe(self) -> str:
        """The bounds in words: ``in [0, 1)``, ``> 0``, ``≥ 1``, ``finite`` (``…, or null``; an integer field's
        type says it is one)."""
        if self.integer:
            text = "any" if self.low is None else f"≥ {self.low:g}"
        elif self.low is not None and self.high is not None:
            text = f"in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}{')' if self.high_open else ']'}"
        elif self.low is not None:
            text = f"{'>' if self.low_open else '≥'} {self.low:g}"
        elif self.high is not None:
            text = f"{'<' if self.high_open else '≤'} {self.high:g}"
        else:
            text = "finite"
        return f"{text}, or null" if self.optional else text


def number(default, low=None, high=None, *, low_open=False, high_open=False, optional=False) -> Any:
    """A real-number field with default `default` and the :class:`Bounds` [low, high] (ends open where said):
    the one place its range is written (the parse step refuses values outside it, ``--help``, the docs and the
    strategies of `simcollapse.testing` read it)."""
    bounds = Bounds(False, low, high, low_open, high_open, optional)
    return dataclasses.field(default=default, metadata={"bounds": bounds})


def integer(default, low=None, *, optional=False) -> Any:
    """An integer field with default `default`, at least `low` (None allowed where `optional`); as :func:`number`."""
    return dataclasses.field(default=default, metadata={"bounds": Bounds(True, low, optional=optional)})


def bounds(field: dataclasses.Field) -> Bounds | None:
    """The bounds of a field declared with :func:`number` or :func:`integer` (None for any other field)."""
    return field.metadata.get("bounds")


def check_declared(config) -> None:
    """The parse step of a config's declared fields, in field order: each value among its declared choices
    (:func:`choice`), within its bounds (:func:`number`, :func:`integer`), or true / false for a field annotated
    ``bool``."""
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if choices(field) is not None:
            check_choice(field.name, value, choices(field))
        elif bounds(field) is not None:
            bounds(field).check(field.name, value)
        elif field.type == "bool" and not isinstance(value, bool):
            raise ConfigError(field.name, f"must be true or false, got {value!r}")


def schedule(spec, generations: int, name: str = "n_samples") -> np.ndarray:
    """Expand a sample-size spec into M_t for t = 0 … generations−1 (model t → data → model t+1).

    Accepted forms: an integer (constant M); a list of `generations` integers;
    ``{"linear": [M0, slope]}`` (M_t = M0 + slope·t); ``{"geometric": [M0, ratio]}``
    (M_t = round(M0·ratio^t), the paper's "superlinear M_i" under which Σ 1/M_t < ∞).
    """
    if _is_int(spec):
        values = np.full(generations, int(spec))
    elif isinstance(spec, (list, tuple)):
        if len(spec) != generations or not all(_is_int(v) for v in spec):
            raise ConfigError(name, f"a list must hold one integer per generation ({generations}), got {spec!r}")
        values = np.asarray(spec, dtype=np.int64)
    elif isinstance(spec, dict) and len(spec) == 1:
        kind, args = next(iter(spec.items()))
        if kind not in ("linear", "geometric") or not (isinstance(args, (list, tuple)) and len(args) == 2):
            raise ConfigError(name, f'schedule must be {{"linear": [M0, slope]}} or {{"geometric": [M0, ratio]}}, got {spec!r}')
        start = check_number(name, args[0], low=1)
        rate = check_number(name, args[1])
        t = np.arange(generations)
        values = start + rate * t if kind == "linear" else start * rate ** t
        if not np.all(np.isfinite(values)) or np.max(values, initial=0) > 2**40:
            raise ConfigError(name, f"schedule {spec!r} overflows within {generations} generations")
        values = np.round(values).astype(np.int64)
    else:
        raise ConfigError(name, f"must be an integer, a list of integers or a linear/geometric schedule, got {spec!r}")
    return values


def check_metrics(config, known) -> None:
    """`config.metrics` must be a non-empty list of names from `known` (:meth:`RunConfig.normalise` made it a
    tuple)."""
    metrics = config.metrics
    if isinstance(metrics, str) or not metrics or not all(m in known for m in metrics):
        raise ConfigError("metrics", f"must be a non-empty list drawn from {', '.join(known)}; got {metrics!r}")


def real_count(fraction, sizes):
    """Real samples of a training set of size M with real fraction ρ: n_r = ⌊ρM + ½⌋ (ρM rounded to the nearest
    integer, halves up, not Python's round-half-to-even), int64 like `sizes` (an integer or an array)."""
    return np.floor(fraction * np.asarray(sizes) + 0.5).astype(np.int64)


class AsDict:
    """A config's dict form, ``{"family": …, field: value, …}``, and back (unknown keys refused)."""

    family: ClassVar[str] = ""

    @classmethod
    def from_dict(cls, values: dict[str, Any]):
        """Build from ``{field: value}`` (e.g. parsed ``--set`` pairs); an unknown field raises ConfigError."""
        return from_dict(cls.family, values, cls)

    def to_dict(self) -> dict[str, Any]:
        return {"family": self.family, **dataclasses.asdict(self)}


@dataclasses.dataclass(frozen=True)
class RunConfig(AsDict):
    """Fields shared by every family.

    generations: number of fit→sample steps after the truth (generation 0).
    chains: independent replicate chains (vmapped).
    seed: chain i uses fold_in(key(seed), i), its generation t fold_in(chain_key, t).
    record_every: keep every K-th generation (and the last) in the statistics.
    summary: store only the mean, sd and 10/50/90 % quantiles over chains (``core.summary``), not each chain.
    """

    generations: int = integer(100, 1)
    chains: int = integer(1000, 1)
    seed: int = integer(0, 0)
    record_every: int = integer(1, 1)
    summary: bool = False

    def __post_init__(self):
        """Parse the declared fields (:func:`check_declared`), then normalise, then validate (the only step that
        writes is normalise, on the config being built; a config once built is never rewritten)."""
        check_declared(self)
        for name, value in self.normalise().items():
            object.__setattr__(self, name, value)
        self.validate()

    def normalise(self) -> dict[str, Any]:
        """The canonical values of fields given in another form, ``{field: value}`` (inferred fields, lists
        stored as tuples so the frozen config hashes); a family extends it. It may raise ConfigError for a value
        it cannot read."""
        metrics = getattr(self, "metrics", None)
        return {"metrics": tuple(metrics)} if isinstance(metrics, (list, tuple)) else {}

    def validate(self) -> None:
        """Family-specific checks of the normalised config; raise ConfigError. Never writes."""

    def replace(self, **changes) -> RunConfig:
        return from_dict(self.family, {**dataclasses.asdict(self), **changes}, type(self))


class SampleSizes:
    """For the configs with an ``n_samples`` field: the sample size of each generation, from one place."""

    def sizes(self) -> np.ndarray:
        """M_t for t = 0 … generations−1 (see :func:`schedule`)."""
        return schedule(self.n_samples, self.generations)


@dataclasses.dataclass(frozen=True)
class RealData:
    """The fields of a family whose policies mix real data (``fresh_real``, ``real_pool``).

    real_fraction: ρ for fresh_real / real_pool: n_r = ⌊ρM_t + ½⌋ of the M_t points of generation t are real.
    pool_size: P, the real points of real_pool, drawn once.
    """

    real_fraction: float = number(0.1, 0.0, 1.0)
    pool_size: int = integer(1000, 1)

    def real_counts(self) -> tuple[np.ndarray, np.ndarray]:
        """(n_real, n_synthetic) per generation (:func:`simcollapse.policies.real_counts`)."""
        from ..policies import real_counts  # the policies read this module

        return real_counts(self.policy, self.real_fraction, self.sizes())

    def check_real_pool(self, n_real) -> None:
        """Under real_pool, every generation's real count (array `n_real`) must fit in the pool."""
        if self.policy == "real_pool" and int(np.max(n_real)) > self.pool_size:
            raise ConfigError("pool_size", f"must be ≥ the real points per generation ({int(np.max(n_real))}), got "
                                           f"{self.pool_size}")


@dataclasses.dataclass(frozen=True)
class Ecosystem:
    """The fields of a family whose models can evolve together (docs/theory.md §I): m models, each trained on
    the mixture Σ_j W_ij of the models' outputs, W = s I + (1 − s)/(m − 1)(J − I).

    models: m ≥ 1 (1: a single chain).   own_share: s ∈ [0, 1], the weight of a model's own outputs.
    Left at the one-model default, ``metrics`` becomes the family's ``ECOSYSTEM_METRICS`` when m > 1.
    """

    ECOSYSTEM_METRICS: ClassVar[tuple] = ()
    models: int = integer(1, 1)
    own_share: float = number(1.0, 0.0, 1.0)

    def normalise(self) -> dict[str, Any]:
        values = super().normalise()
        default = type(self).__dataclass_fields__["metrics"].default
        if self.models > 1 and tuple(values.get("metrics", self.metrics)) == default:
            values["metrics"] = self.ECOSYSTEM_METRICS
        return values


def unknown_key(key: str, known, family: str) -> ConfigError:
    """The error for a key that `family` does not have: the closest known key if one is near, else all of them."""
    close = difflib.get_close_matches(key, sorted(known), n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(sorted(known))}"
    return ConfigError(key, f"unknown key for family {family!r}; {hint} (`simcollapse run {family} --help` lists them)")


def from_dict(family: str, values: dict[str, Any], cls: type[RunConfig]) -> RunConfig:
    """Build a config, rejecting unknown keys (see :func:`unknown_key`)."""
    known = {f.name for f in dataclasses.fields(cls)}
    for key in values:
        if key != "family" and key not in known:
            raise unknown_key(key, known, family)
    return cls(**{k: v for k, v in values.items() if k != "family"})
