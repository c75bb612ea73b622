"""Fuzzing: any config, valid or not, either runs and gives finite statistics or is refused with one clean
ConfigError line (CLI exit 2). No other outcome: no traceback, no NaN, no crash inside JAX."""

import collections
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simcollapse import families
from simcollapse.api import make_config, simulate
from simcollapse.cli import main
from simcollapse.config import ConfigError
from simcollapse.testing import fuzzed_config_values

OUTCOMES = collections.Counter()


def fuzz(examples: int):
    return settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


@pytest.fixture(scope="module", autouse=True)
def report_outcomes(request):
    """Print how many fuzzed configs ran and how many were refused, per family."""
    yield
    if OUTCOMES:
        tally = ", ".join(f"{family} {outcome} {n}" for (family, outcome), n in sorted(OUTCOMES.items()))
        request.config.pluginmanager.get_plugin("terminalreporter").write_line(f"fuzzed configs: {tally}")


def check_outcome(family: str, values: dict) -> str:
    try:
        config = make_config(family, **values)
    except ConfigError as err:
        assert err.field and str(err).count("\n") == 0
        return "refused"
    trajectory = simulate(config)  # NonFiniteError (NaN/inf) or any other exception fails the test
    for name, stat in trajectory.stats.items():
        assert stat.shape[:2] == (len(trajectory.generation), config.chains), name
    return "ran"


@pytest.mark.parametrize("family", families.names())
@fuzz(10)
@given(data=st.data())
def test_simulate_fuzz(family, data):
    values = data.draw(fuzzed_config_values(family))
    OUTCOMES[family, check_outcome(family, values)] += 1


@pytest.mark.slow
@pytest.mark.parametrize("family", families.names())
@fuzz(40)
@given(data=st.data())
def test_simulate_fuzz_long(family, data):
    values = data.draw(fuzzed_config_values(family, max_fields=6))
    OUTCOMES[family, check_outcome(family, values)] += 1


@fuzz(25)
@given(family=st.sampled_from(families.names()), data=st.data())
def test_cli_fuzz(family, data, tmp_path_factory, capsys):
    values = data.draw(fuzzed_config_values(family))
    sets = [f"--set={key}={json.dumps(value)}" for key, value in values.items()]
    code = main(["run", family, *sets, "--out", str(tmp_path_factory.mktemp("fuzz")), "--quiet"])
    err = capsys.readouterr().err
    assert code in (0, 2), err
    if code == 2:
        assert err.startswith("simcollapse: error: ") and err.count("\n") == 1, err


def test_fuzz_reaches_both_outcomes():
    """The strategy is worth running: over the examples above, each family was both refused and run."""
    if not OUTCOMES:
        pytest.skip("run together with the fuzz tests")
    for family in families.names():
        ran, refused = OUTCOMES[family, "ran"], OUTCOMES[family, "refused"]
        assert ran + refused == 0 or refused > 0, family
    print(dict(OUTCOMES))
    assert np.sum([v for (f, o), v in OUTCOMES.items() if o == "ran"]) > 0
