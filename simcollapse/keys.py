"""The config keys of a family, read from its config class: ``simcollapse run FAMILY --help`` and the docs' CLI
reference print them, so they are written once, in the class.

A key is a dataclass field: its type is the field's annotation, its default the field's default, its meaning the
entry ``name: meaning`` in the docstring of its class (an entry starts a line or follows a sentence; several names
may share one, ``mean0, var0: …``; it runs to the next entry, a blank line or a line starting with a capital). A field without an entry there or in a base
class is looked up on the other subclasses of its bases (fields shared by two families are documented on one).
Its allowed values are those declared with ``simcollapse.config.choice`` (which the config's parse step enforces),
else true | false for a flag, else the ``a | b | c`` list in its meaning; its bounds those declared with
``simcollapse.config.number`` or ``integer`` (enforced by the same step).
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
import textwrap
from typing import NamedTuple

_NAMES = r"[a-z_][a-z0-9_]*(?:, [a-z_][a-z0-9_]*)*"
_ENTRY = re.compile(rf"(?:^|(?<=\.\s)|(?<=\s\s))({_NAMES}): ", re.MULTILINE)
_CHOICES = re.compile(r"[\w+-]+(?: \| [\w+-]+)+")
_TYPES = {"Any": "JSON value", "tuple": "list"}


class Key(NamedTuple):
    name: str
    type: str
    default: str  # as JSON, the way --set takes it
    choices: tuple[str, ...]
    meaning: str
    bounds: str = ""  # e.g. "in [0, 1]", "integer ≥ 1" ('' where none is declared)


def docstring_entries(doc: str) -> dict[str, str]:
    """``{name: meaning}`` of the ``name: meaning`` entries of a docstring, each meaning on one line."""
    text = inspect.cleandoc(doc or "")
    starts = list(_ENTRY.finditer(text))
    entries = {}
    for match, following in zip(starts, starts[1:] + [None]):
        end = following.start() if following else len(text)
        body = re.split(r"\n\s*\n|\n(?=[A-Z])", text[match.end():end])[0]  # a blank line or a new sentence ends it
        meaning = " ".join(body.split())
        for name in match.group(1).split(", "):
            entries.setdefault(name, meaning)
    return entries


def _documenting_classes(cls: type) -> list[type]:
    """Where the meanings of the fields of `cls` may be written: `cls` and its bases, then the other subclasses of
    its bases short of the root (families sharing a base class document the shared fields on one of them)."""
    mro = [c for c in cls.__mro__ if c is not object]
    relatives = [s for base in mro[1:-1] for s in base.__subclasses__() if s not in mro]
    return mro + relatives


def meaning(cls: type, name: str) -> str:
    """The documented meaning of field `name` of config class `cls` ('' if none is written)."""
    for c in _documenting_classes(cls):
        found = docstring_entries(c.__doc__).get(name)
        if found:
            return found
    return ""


def _type(field: dataclasses.Field) -> str:
    text = field.type if isinstance(field.type, str) else getattr(field.type, "__name__", str(field.type))
    return " | ".join(_TYPES.get(part, "null" if part == "None" else part) for part in text.split(" | "))


def keys(cls: type, hidden=()) -> list[Key]:
    """The keys of config class `cls`, in field order, leaving out the names in `hidden`."""
    out = []
    for field in dataclasses.fields(cls):
        if field.name in hidden:
            continue
        text = meaning(cls, field.name)
        declared = field.metadata.get("choices")  # simcollapse.config.choice
        if declared is not None:
            choices = tuple(v if isinstance(v, str) else json.dumps(v) for v in declared)
        elif _type(field) == "bool":
            choices = ("true", "false")
        else:
            found = _CHOICES.search(text)
            choices = tuple(found.group(0).split(" | ")) if found else ()
        default = field.default if field.default is not dataclasses.MISSING else field.default_factory()
        declared_bounds = field.metadata.get("bounds")  # simcollapse.config.number / integer
        out.append(Key(field.name, _type(field), json.dumps(default, ensure_ascii=False, default=list),
                       choices, text, declared_bounds.describe() if declared_bounds else ""))
    return out


def family_keys(family: str) -> list[Key]:
    """The keys ``simcollapse run FAMILY --set KEY=VALUE`` takes."""
    from . import families, neural

    return keys(families.config_class(family), hidden=neural.CLI_FIELDS if family in neural.NEURAL else ())


def describe(family: str, width: int = 100) -> str:
    """The help text of a family's keys: per key its type, default and allowed values, then its meaning."""
    lines = [f"config keys of {family} (--set KEY=VALUE, the value as JSON):"]
    for key in family_keys(family):
        allowed = f"; one of {' | '.join(key.choices)}" if key.choices else f"; {key.bounds}" if key.bounds else ""
        lines.append(f"  {key.name} ({key.type}, default {key.default}{allowed})")
        if key.meaning.rstrip(".") != " | ".join(key.choices):  # a meaning that only lists the values says nothing more
            lines += textwrap.wrap(key.meaning, width, initial_indent=" " * 6, subsequent_indent=" " * 6)
    return "\n".join(lines)
