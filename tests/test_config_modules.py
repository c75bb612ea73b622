"""Config modules import and validate without JAX, so a bad value is refused before anything heavy loads."""

import subprocess
import sys

import pytest

CHECK = """
import sys
import simcollapse.config.{module}
from simcollapse.api import make_config
from simcollapse.config import ConfigError
make_config({family!r})
try:
    make_config({family!r}, n_samples=0)
except ConfigError:
    pass
else:
    raise SystemExit("n_samples=0 was accepted")
assert "jax" not in sys.modules, sorted(m for m in sys.modules if m.startswith("jax"))
"""


@pytest.mark.parametrize("module, family", [("categorical", "categorical"), ("counts", "poisson"),
                                            ("counts", "bernoulli")])
def test_config_module_leaves_jax_unimported(module, family):
    # a fresh process: this one has imported JAX already
    done = subprocess.run([sys.executable, "-c", CHECK.format(module=module, family=family)], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
