"""The store of traced programs (simcollapse.core.programs): a run through an exported program, written by this
process or read back from its file, gives the statistics of a plain run bit for bit; a bad file or an unwritable
directory never fails a run."""

import subprocess
import sys

import numpy as np
import pytest

from simcollapse.api import make_config, simulate
from simcollapse.core import programs

CONFIGS = [
    ("gaussian", dict(generations=7, chains=5, n_samples=12)),
    ("mvgaussian", dict(generations=5, chains=3, dim=2, n_samples=8, sampler="exact", policy="fresh_real")),
    ("categorical", dict(generations=6, chains=4, n_samples=20, record_every=2)),
    ("gmm", dict(generations=3, chains=2, n_samples=40, em_iters=10)),
]


def _equal(a, b):
    assert np.array_equal(a.generation, b.generation) and a.stats.keys() == b.stats.keys()
    for name in a.stats:
        np.testing.assert_array_equal(a.stats[name], b.stats[name], err_msg=name)


@pytest.fixture
def store(tmp_path):
    programs.enable(tmp_path / "programs")
    programs._loaded.clear()
    yield tmp_path / "programs"
    programs.enable(None)
    programs._loaded.clear()


@pytest.mark.parametrize("family, values", CONFIGS)
def test_stored_programs_give_the_plain_run_bit_for_bit(family, values, store):
    config = make_config(family, **values)
    programs.enable(None)
    plain = simulate(config)
    programs.enable(store)
    written = simulate(config, chunk=2)  # exported here, several calls of one program
    assert sorted(p.name.split("-")[0] for p in store.iterdir()) == ["advance2", "start"]
    programs._loaded.clear()  # as a new process would: read back from the files
    read = simulate(config, chunk=2)
    _equal(plain, written)
    _equal(plain, read)


def test_a_new_seed_reads_the_same_programs_and_other_shapes_get_their_own(store):
    config = make_config("gaussian", generations=4, chains=3)
    simulate(config)
    files = set(store.iterdir())
    simulate(config.replace(seed=5))
    assert set(store.iterdir()) == files
    simulate(config.replace(chains=200))  # more lanes: other argument shapes
    assert len(set(store.iterdir())) == len(files) + 2


def test_a_bad_file_is_traced_anew_and_an_unwritable_store_is_skipped(store, tmp_path):
    config = make_config("gaussian", generations=4, chains=3)
    programs.enable(None)
    plain = simulate(config)
    programs.enable(store)
    simulate(config)
    for path in store.iterdir():
        path.write_bytes(b"not a program")
    programs._loaded.clear()
    _equal(plain, simulate(config))
    assert all(path.read_bytes() != b"not a program" for path in store.iterdir())  # replaced
    blocked = tmp_path / "file"
    blocked.write_text("")
    programs.enable(blocked / "programs")  # a directory that cannot be made
    programs._loaded.clear()
    _equal(plain, simulate(config))


def test_the_cache_module_loads_without_jax():
    code = "import sys, simcollapse.core.cache as c; assert 'jax' not in sys.modules, 'jax imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
