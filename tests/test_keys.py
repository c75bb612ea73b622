"""Config keys: `simcollapse run FAMILY --help` lists every key (type, default, allowed values, meaning), read from
the config classes; an unknown key suggests the closest one."""

import dataclasses
import json

import pytest

from simcollapse import families, keys
from simcollapse.cli import main
from simcollapse.neural import CLI_FIELDS, NEURAL, config_class

FAMILIES = families.names() + list(NEURAL)


def _config_class(family):
    return config_class(family) if family in NEURAL else families.get(family).config


def test_docstring_entries_follow_lines_sentences_and_shared_names():
    doc = """Poisson chain. rate0: λ_0 ≥ 0.  n_samples: n_t (integer or schedule).

    mean0, var0: the truth N(mean0, var0·I), continued
        on an indented line.   policy: replace | accumulate.
    Defaults follow the paper.
    """
    entries = keys.docstring_entries(doc)
    assert entries["rate0"] == "λ_0 ≥ 0."
    assert entries["n_samples"] == "n_t (integer or schedule)."
    assert entries["mean0"] == entries["var0"] == "the truth N(mean0, var0·I), continued on an indented line."
    assert entries["policy"] == "replace | accumulate."  # the capitalised sentence after it is not part of it


@pytest.mark.parametrize("family", FAMILIES)
def test_every_key_is_documented(family):
    cls = _config_class(family)
    listed = keys.family_keys(family)
    assert [k.name for k in listed] == [f.name for f in dataclasses.fields(cls) if f.name not in
                                        (CLI_FIELDS if family in NEURAL else ())]
    for key in listed:
        assert key.meaning, f"{family}.{key.name} has no `{key.name}: …` entry in a config docstring"
        field = next(f for f in dataclasses.fields(cls) if f.name == key.name)
        assert json.loads(key.default) == json.loads(json.dumps(field.default, default=list))


@pytest.mark.parametrize("family", FAMILIES)
def test_run_family_help_prints_its_keys(family, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["run", family, "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert "--out" in text and f"config keys of {family}" in text
    for key in keys.family_keys(family):
        assert f"  {key.name} ({key.type}, default {key.default}" in text
        if key.choices:
            assert " | ".join(key.choices) in text


@pytest.mark.parametrize("family", families.names())
def test_declared_choices_are_the_listed_and_the_enforced_values(family):
    from simcollapse.api import make_config
    from simcollapse.config import ConfigError, choices

    listed = {k.name: k.choices for k in keys.family_keys(family)}
    for field in dataclasses.fields(families.config_class(family)):
        if choices(field) is None:
            continue
        assert listed[field.name] == tuple(v if isinstance(v, str) else json.dumps(v) for v in choices(field))
        with pytest.raises(ConfigError, match="must be one of") as err:
            make_config(family, **{field.name: "no such value"})
        assert err.value.field == field.name


def _beyond_bounds(bounds):
    """Values just outside each declared end (an integer one less; the next float outward)."""
    import math

    out = []
    for end, outward in ((bounds.low, -1), (bounds.high, 1)):
        if end is not None:
            out.append(end + outward if bounds.integer else math.nextafter(float(end), outward * math.inf))
        if end is not None and not bounds.integer and (bounds.low_open if outward < 0 else bounds.high_open):
            out.append(float(end))  # an open end is itself outside
    return out


@pytest.mark.parametrize("family", FAMILIES)
def test_declared_bounds_are_the_listed_and_the_enforced_values(family):
    """Every field declared with config.number / integer: its bounds in --help, and the parse step refuses a value
    just beyond each end, and a non-number, naming the field; the neural families' configs share the step."""
    from simcollapse.api import make_config
    from simcollapse.config import ConfigError, bounds

    cls = _config_class(family)
    listed = {k.name: k.bounds for k in keys.family_keys(family)}
    neural = {"toy": True} if family == "lm" else {}
    declared = [f for f in dataclasses.fields(cls) if bounds(f) is not None]
    assert declared, f"{family} declares no bounds"
    for field in declared:
        if field.name in listed:
            assert listed[field.name] == bounds(field).describe() != ""
        for value in [*_beyond_bounds(bounds(field)), "x"]:
            values = {**neural, **({} if family in NEURAL else {"generations": 2, "chains": 2}), field.name: value}
            with pytest.raises(ConfigError) as err:
                cls(**values) if family in NEURAL else make_config(family, **values)
            assert err.value.field == field.name, (field.name, value, err.value)


def test_bounds_read_as_the_help_prints_them():
    from simcollapse.config import Bounds

    assert Bounds(False, 0.0, 1.0).describe() == "in [0, 1]"
    assert Bounds(False, 0.0, 1.0, high_open=True).describe() == "in [0, 1)"
    assert Bounds(False, 0.0, low_open=True, optional=True).describe() == "> 0, or null"
    assert Bounds(True, 1).describe() == "≥ 1"
    assert Bounds(False).describe() == "finite"
    by_name = {k.name: k for k in keys.family_keys("categorical")}
    assert by_name["min_p"].bounds == "in [0, 1)" and by_name["zipf_q"].bounds == "> -1"
    assert by_name["top_k"].type == "int | null" and by_name["top_k"].bounds == "≥ 1, or null"


def test_allowed_values_come_from_the_declaration_or_the_meaning():
    by_name = {k.name: k for k in keys.family_keys("gaussian")}
    assert by_name["sampler"].choices == ("exact", "sufficient", "infinite", "plain_points")
    assert by_name["summary"].choices == ("true", "false")
    assert by_name["n_samples"].choices == () and by_name["n_samples"].type == "JSON value"
    assert {k.name: k for k in keys.family_keys("gmm")}["init"].choices == ("kmeans", "k-means++", "random",
                                                                               "random_from_data")


def test_help_before_the_family_says_how_to_list_keys(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    assert "FAMILY --help lists that family's config keys" in capsys.readouterr().out


@pytest.mark.parametrize("family,typo,suggestion", [
    ("gaussian", "nsamples", "n_samples"),
    ("categorical", "temprature", "temperature"),
    ("lm", "nmu_beams", "num_beams"),
    ("vae", "latnet", "latent"),
])
def test_unknown_key_suggests_the_closest(family, typo, suggestion, tmp_path, capsys):
    assert main(["run", family, "--set", f"{typo}=1", "--out", str(tmp_path / "x"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"simcollapse: error: {typo}: unknown key") and "\n" not in err
    assert f"did you mean {suggestion!r}?" in err
    assert not (tmp_path / "x").exists()


def test_unknown_key_far_from_all_lists_them(capsys, tmp_path):
    assert main(["run", "poisson", "--set", "zzzz=1", "--out", str(tmp_path / "x")]) == 2
    assert "known keys: chains, generations, metrics" in capsys.readouterr().err
