"""Every registered family keeps the contract of simcollapse.contract, and every policy a config allows is one
function of simcollapse.policies."""

import dataclasses

import numpy as np
import pytest

from simcollapse import contract, families, policies
from simcollapse.api import make_config


@pytest.mark.parametrize("family", families.names())
def test_every_chain_family_conforms(family):
    config = make_config(family, generations=2, chains=2)
    assert contract.conforms(families.get(family), config) == []


@pytest.mark.parametrize("family", families.NEURAL)
def test_the_neural_families_are_registered_with_their_training_loop(family):
    entry = families.get(family)
    assert entry.build is None and callable(entry.train)
    assert dataclasses.is_dataclass(entry.config) and entry.config.family == family
    assert families.config_class(family) is entry.config


@pytest.mark.parametrize("family", families.names())
def test_every_allowed_policy_is_registered(family):
    config_class = families.config_class(family)
    allowed = [f for f in dataclasses.fields(config_class) if f.name == "policy"]
    if not allowed:
        pytest.skip("no policy field")
    module = __import__(config_class.__module__, fromlist=["POLICIES"])
    choices = getattr(module, "POLICIES", None) or (config_class.policy,)
    assert set(choices) <= set(policies.POLICIES)


def test_real_counts_round_half_up_only_for_policies_with_real_data():
    sizes = np.array([10, 15, 25])
    real, synthetic = policies.real_counts("fresh_real", 0.1, sizes)
    assert real.tolist() == [1, 2, 3] and synthetic.tolist() == [9, 13, 22]  # ⌊ρM + ½⌋: 1.5 → 2, 2.5 → 3
    real, synthetic = policies.real_counts("accumulate", 0.1, sizes)
    assert real.tolist() == [0, 0, 0] and synthetic.tolist() == sizes.tolist()
    assert {name for name, p in policies.POLICIES.items() if p.mixes_real} == {"fresh_real", "real_pool"}
