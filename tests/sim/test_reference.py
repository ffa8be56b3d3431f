"""The scenario reference page is generated from the models and cannot drift; the JSON
Schema and `skymesh scenarios --show` give what an author needs to write a scenario."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from skymesh.sim.reference import scenario_reference, scenario_schema
from skymesh.sim.scenario import Scenario, builtin_names, builtin_text

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "scenarios-reference.md"


def test_committed_reference_is_the_generated_one():
    assert PAGE.read_text(encoding="utf-8") == scenario_reference(), (
        "docs/scenarios-reference.md is out of date: regenerate it with "
        "`python -m skymesh.sim.reference > docs/scenarios-reference.md`"
    )


def test_reference_lists_every_key_with_unit_default_and_meaning():
    from skymesh.policy.rules import PolicyModel

    page = scenario_reference()
    for model in (Scenario, PolicyModel):
        for name, info in model.model_fields.items():
            assert f"| `{info.alias or name}` |" in page, name
    # the keys the analyst had to guess, with their meaning
    assert "## `[[policy.landing]]`" in page
    row = next(r for r in page.splitlines() if r.startswith("| `from` |"))
    assert "Written `from`" in row and "ISO 8601" in row
    row = next(r for r in page.splitlines() if r.startswith("| `duration_s` |"))
    assert "| s |" in row and "required" in row and "Length of the window" in row
    row = next(r for r in page.splitlines() if r.startswith("| `mode` | string"))
    assert "`isl`, `bent-pipe`, `hybrid`" in row and "`mode = " in row
    for section in ("Gateway files", "PoP files", "ISL files", "Terminal city lists"):
        assert f"## {section}" in page
    assert "skymesh/scenarios/" in page and "--show" in page and "--schema" in page


def test_every_scenario_field_has_a_meaning():
    from skymesh.policy.rules import PolicyModel
    from skymesh.sim.reference import _is_model, _tables

    tables: list = []
    _tables(Scenario, (), False, tables)
    _tables(PolicyModel, ("policy",), False, tables)
    missing = [
        ".".join(path + (name,))
        for path, model, _ in tables
        for name, info in model.model_fields.items()
        if not info.description
        and not any(_is_model(a) for a in _flatten(info.annotation))
        and name != "policy"
    ]
    assert missing == []


def _flatten(annotation):
    import typing

    out = [annotation]
    for arg in typing.get_args(annotation):
        out += _flatten(arg)
    return out


def test_schema_is_json_schema_and_accepts_the_built_ins():
    # a validator that is not pydantic's (jsonschema-rs, installed with schemathesis)
    jsonschema_rs = pytest.importorskip("jsonschema_rs")
    validator = jsonschema_rs.Draft202012Validator(scenario_schema())
    for name in builtin_names():
        data = json.loads(json.dumps(tomllib.loads(builtin_text(name)), default=str))
        errors = [e.message for e in validator.iter_errors(data)]
        assert errors == [], (name, errors[:3])
    bad = json.loads(json.dumps(tomllib.loads(builtin_text("iran-2022")), default=str))
    bad["time"]["duraton_s"] = 60
    assert not validator.is_valid(bad)


def test_schema_knows_the_policy_and_forbids_unknown_keys():
    schema = scenario_schema()
    policy = schema["$defs"]["PolicyModel"]
    assert {"country", "landing", "exit_countries"} <= set(policy["properties"])
    assert schema["additionalProperties"] is False
    assert schema["$defs"]["TimeSpec"]["properties"]["duration_s"]["description"]


def test_cli_schema_and_show(capsys):
    from skymesh.cli import main

    assert main(["scenarios", "--schema"]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "SkyMesh scenario"
    assert main(["scenarios", "--show", "taiwan-geofence"]) == 0
    assert capsys.readouterr().out == builtin_text("taiwan-geofence")
    assert main(["scenarios", "--show", "taiwan-geofense"]) == 2
    assert "Did you mean taiwan-geofence" in capsys.readouterr().err


def test_mkdocs_nav_has_the_reference():
    assert "scenarios-reference.md" in (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
