"""The configs of the gmm, kde and linreg chains import and validate without JAX (a bad value is refused before
anything heavy is imported)."""

import subprocess
import sys

import pytest

MODULES = {"gmm": "GMMConfig", "kde": "KDEConfig", "linreg": "LinRegConfig"}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_config_module_imports_without_jax(module):
    code = (f"import sys\nfrom simcollapse.config.{module} import {MODULES[module]}\n"
            f"from simcollapse.api import make_config\nmake_config({module!r})\n"
            "assert 'jax' not in sys.modules, sorted(m for m in sys.modules if m.startswith('jax'))")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_family_module_and_registry_give_the_config_class(module):
    import importlib

    from simcollapse import families

    config = importlib.import_module(f"simcollapse.config.{module}")
    family = importlib.import_module(f"simcollapse.families.{module}")
    cls = getattr(config, MODULES[module])
    assert getattr(family, MODULES[module]) is cls
    assert families.config_class(module) is cls and families.get(module).config is cls
