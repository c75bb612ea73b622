"""The gmm, kde and linreg chains start in the state types their step returns (dtypes and weak types), so the
generation program compiles once for generation 0's state and every later one."""

import jax
import pytest

from simcollapse import families
from simcollapse.api import make_config
from simcollapse.samplers import bits

CONFIGS = [
    ("gmm", dict(em_iters=5)),
    ("gmm", dict(fit_family="gaussian", fit_components=1)),
    ("gmm", dict(sampler="infinite", warm_start=True, em_iters=5)),
    *[("gmm", dict(policy=policy, em_iters=5, n_samples=20, pool_size=50))
      for policy in ("accumulate", "accumulate_subsample", "fresh_real", "real_pool")],
    ("kde", dict()),
    ("kde", dict(bandwidth=0.3)),
    ("linreg", dict()),
    ("linreg", dict(policy="accumulate", ridge=0.5, fitter="sgd")),
]


@pytest.mark.parametrize("family, values", CONFIGS)
def test_init_state_has_the_step_state_types(family, values):
    chain = families.get(family).build(make_config(family, **values))
    key = bits.seed_key(1)
    with jax.enable_x64(True):
        start = jax.eval_shape(chain.init, key)
        after = jax.eval_shape(chain.step, key, start)
    assert jax.tree.structure(start) == jax.tree.structure(after)
    for a, b in zip(jax.tree.leaves(start), jax.tree.leaves(after), strict=True):
        assert (a.shape, a.dtype, a.weak_type) == (b.shape, b.dtype, b.weak_type)
