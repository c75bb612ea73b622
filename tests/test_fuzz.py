"""Fuzzing: any config, valid or not, either runs and gives finite statistics or is refused with one clean
ConfigError line (CLI exit 2). No other outcome: no traceback, no NaN, no crash inside JAX."""

import collections
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simcollapse import families
from simcollapse.api import make_config, simulate
from simcollapse.cli import main
from simcollapse.config import ConfigError
from simcollapse.core.summary import FIELDS
from simcollapse.testing import fuzzed_config_values


def fuzz(examples: int):
    return settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


@pytest.fixture
def outcomes(pytestconfig) -> collections.Counter:
    """Outcomes of every fuzzed config in this pytest run, printed at the end by conftest's summary hook."""
    return pytestconfig.__dict__.setdefault("fuzz_outcomes", collections.Counter())


def check_outcome(family: str, values: dict) -> str:
    try:
        config = make_config(family, **values)
    except ConfigError as err:
        assert err.field and str(err).count("\n") == 0
        return "refused"
    trajectory = simulate(config)  # NonFiniteError (NaN/inf) or any other exception fails the test
    per_row = len(FIELDS) if config.summary else config.chains
    for name, stat in trajectory.stats.items():
        assert stat.shape[:2] == (len(trajectory.generation), per_row), name
    return "ran"


@pytest.mark.parametrize("family", families.names())
@fuzz(10)
@given(data=st.data())
def test_simulate_fuzz(family, data, outcomes):
    values = data.draw(fuzzed_config_values(family))
    outcomes[family, check_outcome(family, values)] += 1


@pytest.mark.slow
@pytest.mark.parametrize("family", families.names())
@fuzz(40)
@given(data=st.data())
def test_simulate_fuzz_long(family, data, outcomes):
    values = data.draw(fuzzed_config_values(family, max_fields=6))
    outcomes[family, check_outcome(family, values)] += 1


@fuzz(25)
@given(family=st.sampled_from(families.names()), data=st.data())
def test_cli_fuzz(family, data, tmp_path_factory, capsys, outcomes):
    values = data.draw(fuzzed_config_values(family))
    sets = [f"--set={key}={json.dumps(value)}" for key, value in values.items()]
    code = main(["run", family, *sets, "--out", str(tmp_path_factory.mktemp("fuzz")), "--quiet"])
    err = capsys.readouterr().err
    assert code in (0, 2), err
    outcomes["cli", "ran" if code == 0 else "refused"] += 1
    if code == 2:
        assert err.startswith("simcollapse: error: ") and err.count("\n") == 1, err


def test_fuzz_reaches_both_outcomes(outcomes):
    """The strategy is worth running: over the fuzz tests before this one, each family was refused and run."""
    if not outcomes:
        pytest.skip("run together with the fuzz tests")
    for family in {family for family, _ in outcomes}:
        assert outcomes[family, "refused"] > 0 and outcomes[family, "ran"] > 0, (family, dict(outcomes))
