"""Family registry: name → (config class, chain builder, closed-form theory)."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

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


def _categorical(name):
    from ..theory import categorical_config as theory
    from . import categorical

    return Family(categorical.CategoricalConfig, categorical.build, theory.for_config)


def _counts(name):
    from ..theory import categorical_config as theory
    from . import counts

    cls = {"poisson": counts.PoissonConfig, "bernoulli": counts.BernoulliConfig}[name]
    return Family(cls, counts.build, theory.for_config)


def _gmm(name):
    from ..theory import gmm as theory
    from . import gmm

    return Family(gmm.GMMConfig, gmm.build, theory.for_config)


def _kde(name):
    from . import kde

    return Family(kde.KDEConfig, kde.build, kde.theory)


def _linreg(name):
    from ..theory import linreg as theory
    from . import linreg

    return Family(linreg.LinRegConfig, linreg.build, theory.for_config)


_LOADERS = {"gaussian": _gaussian, "mvgaussian": _gaussian}
_LOADERS |= {"gmm": _gmm, "kde": _kde, "linreg": _linreg}
_LOADERS |= {"categorical": _categorical, "poisson": _counts, "bernoulli": _counts}


def names() -> list[str]:
    return sorted(_LOADERS)


def get(name: str) -> Family:
    if name not in _LOADERS:
        raise ConfigError("family", f"must be one of {', '.join(names())}; got {name!r}")
    return _LOADERS[name](name)
