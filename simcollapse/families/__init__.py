"""Family registry: name → (config class, chain builder, closed-form theory)."""

from __future__ import annotations

from typing import Callable, NamedTuple

from ..config import ConfigError


class Family(NamedTuple):
    config: type
    build: Callable
    theory: Callable


def _gaussian(name):
    from ..theory import gaussian as theory
    from . import gaussian

    cls = {"gaussian": gaussian.GaussianConfig, "mvgaussian": gaussian.MvGaussianConfig}[name]
    return Family(cls, gaussian.build, theory.for_config)


_LOADERS = {"gaussian": _gaussian, "mvgaussian": _gaussian}


def names() -> list[str]:
    return sorted(_LOADERS)


def get(name: str) -> Family:
    if name not in _LOADERS:
        raise ConfigError("family", f"must be one of {', '.join(names())}; got {name!r}")
    return _LOADERS[name](name)
