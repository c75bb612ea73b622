"""Family registry: name → :class:`simcollapse.contract.Family` (config class, chain builder, closed-form theory,
batchable fields, chain params; the contract and the driver's rules are in :mod:`simcollapse.contract`).

The built-in families are the tables below: for each, the module of `simcollapse.config` holding its config
(importable without JAX, so a bad value is refused before anything heavy is imported) and the function giving
its :class:`Family`. Any other module of this package that is neither private nor one of its shared pieces
(`_PIECES`) is a family named after its file, defining ``FAMILY`` (a :class:`Family`); it is listed without being
imported and imported when asked for, so adding a family is adding its file (docs/adding-a-family.md).

The neural families ``lm`` and ``vae`` train one model per generation instead of running chains: their
:class:`Family` has no ``build`` and the training function as ``train`` (:mod:`simcollapse.neural`); flax and
the rest load only when one trains.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable

from ..config import ConfigError
from ..contract import Family

__all__ = ["Family", "config_class", "get", "names"]

_PIECES = {"em", "sgd"}  # modules shared by families, not families


def _gaussian(name) -> Family:
    from ..theory import gaussian as theory
    from . import gaussian

    return Family(config_class(name), gaussian.build, theory.for_config, gaussian.batchable, gaussian.params)


def _categorical(name) -> Family:
    from ..theory import categorical_config as theory
    from . import categorical

    return Family(config_class(name), categorical.build, theory.for_config, categorical.batchable,
                  categorical.params)


def _plain(module: str, theory_module: str) -> Callable[[str], Family]:
    """A family without batchable fields: `module`.build and theory.`theory_module`.for_config."""

    def load(name) -> Family:
        theory = importlib.import_module(f"{__package__.rpartition('.')[0]}.theory.{theory_module}")
        return Family(config_class(name), importlib.import_module(f"{__name__}.{module}").build, theory.for_config)

    return load


def _neural(name) -> Family:
    from .. import neural

    return Family(config_class(name), None, lambda config: {}, train=neural.train)


_LOADERS: dict[str, Callable[[str], Family]] = {
    "gaussian": _gaussian, "mvgaussian": _gaussian, "categorical": _categorical,
    "poisson": _plain("counts", "counts"), "bernoulli": _plain("counts", "counts"),
    "gmm": _plain("gmm", "gmm"), "kde": _plain("kde", "kde"), "linreg": _plain("linreg", "linreg"),
}
NEURAL = ("lm", "vae")

# The config class of each built-in family, as module.Class under `simcollapse`.
_CONFIGS = {name: f"config.{path}" for name, path in (
    ("gaussian", "gaussian.GaussianConfig"), ("mvgaussian", "gaussian.MvGaussianConfig"),
    ("categorical", "categorical.CategoricalConfig"), ("poisson", "counts.PoissonConfig"),
    ("bernoulli", "counts.BernoulliConfig"), ("gmm", "gmm.GMMConfig"), ("kde", "kde.KDEConfig"),
    ("linreg", "linreg.LinRegConfig"))} | {"lm": "lm.loop.LMLoopConfig", "vae": "vae.VAEConfig"}


def _discovered() -> list[str]:
    """The family modules of this package beyond the built-in ones, by file name (nothing is imported)."""
    built_in = {"gaussian", "categorical", "counts", "gmm", "kde", "linreg"}
    return sorted(m.name for m in pkgutil.iter_modules(__path__)
                  if not m.name.startswith("_") and m.name not in built_in | _PIECES)


def config_class(name: str) -> type:
    """The config class of family `name`; for a built-in family without importing JAX."""
    if name in _CONFIGS:
        module, _, cls = _CONFIGS[name].rpartition(".")
        return getattr(importlib.import_module(f"{__package__.rpartition('.')[0]}.{module}"), cls)
    return get(name).config


def names(neural: bool = False) -> list[str]:
    """The chain families (simulated by the driver), and with `neural` also ``lm`` and ``vae``."""
    return sorted([*_LOADERS, *_discovered()]) + (list(NEURAL) if neural else [])


def get(name: str) -> Family:
    if name in _LOADERS:
        return _LOADERS[name](name)
    if name in NEURAL:
        return _neural(name)
    if name in _discovered():
        return importlib.import_module(f"{__name__}.{name}").FAMILY
    raise ConfigError("family", f"must be one of {', '.join(names(neural=True))}; got {name!r}")
