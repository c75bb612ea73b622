"""Family registry: name → (config class, chain builder, closed-form theory, batchable fields, chain params).

``batchable(config)`` names the config fields that enter the chain only through ``params(config)`` (a pytree
of host arrays passed to the chain's functions as traced values, see ``core.driver``): configs that differ only
in those fields (and the seed) run as one compiled program. Families without any return () and None.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import NamedTuple

from ..config import ConfigError


class Family(NamedTuple):
    config: type
    build: Callable
    theory: Callable
    batchable: Callable = lambda config: ()
    params: Callable = lambda config: None


def _gaussian(name):
    from ..theory import gaussian as theory
    from . import gaussian

    return Family(config_class(name), gaussian.build, theory.for_config, gaussian.batchable, gaussian.params)


def _categorical(name):
    from ..theory import categorical_config as theory
    from . import categorical

    return Family(config_class(name), categorical.build, theory.for_config, categorical.batchable,
                  categorical.params)


def _counts(name):
    from ..theory import categorical_config as theory
    from . import counts

    return Family(config_class(name), counts.build, theory.for_config)


def _gmm(name):
    from ..theory import gmm as theory
    from . import gmm

    return Family(config_class(name), gmm.build, theory.for_config)


def _kde(name):
    from ..theory import kde as theory
    from . import kde

    return Family(config_class(name), kde.build, theory.for_config)


def _linreg(name):
    from ..theory import linreg as theory
    from . import linreg

    return Family(config_class(name), linreg.build, theory.for_config)


_LOADERS = {"gaussian": _gaussian, "mvgaussian": _gaussian}
_LOADERS |= {"gmm": _gmm, "kde": _kde, "linreg": _linreg}
_LOADERS |= {"categorical": _categorical, "poisson": _counts, "bernoulli": _counts}


# Families whose config lives in a module of `simcollapse.config`, importable without JAX: module, class.
_CONFIGS = {
    "gaussian": ("gaussian", "GaussianConfig"),
    "mvgaussian": ("gaussian", "MvGaussianConfig"),
    "categorical": ("categorical", "CategoricalConfig"),
    "poisson": ("counts", "PoissonConfig"),
    "bernoulli": ("counts", "BernoulliConfig"),
    "gmm": ("gmm", "GMMConfig"),
    "kde": ("kde", "KDEConfig"),
    "linreg": ("linreg", "LinRegConfig"),
}


def config_class(name: str) -> type:
    """The config class of family `name`; for the families listed in `_CONFIGS` without importing JAX, so a
    bad value is refused before anything heavy is imported."""
    if name in _CONFIGS:
        module, cls = _CONFIGS[name]
        return getattr(importlib.import_module(f"{__package__.rpartition('.')[0]}.config.{module}"), cls)
    return get(name).config


def names() -> list[str]:
    return sorted(_LOADERS)


def get(name: str) -> Family:
    if name not in _LOADERS:
        raise ConfigError("family", f"must be one of {', '.join(names())}; got {name!r}")
    return _LOADERS[name](name)
