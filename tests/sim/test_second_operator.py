"""A second operator is itself: its own ISLs (none for OneWeb) and gateways, never another
operator's unless the scenario says so, and then the run says so (issue 21 §4)."""

import json

import numpy as np
import pytest

from skymesh.errors import InputError
from skymesh.sim.prepare import prepare
from skymesh.sim.scenario import load_scenario

BASE = """
name = "two-operators"
seed = 1
[constellation]
preset = "starlink-shell1"
[time]
start = 2026-01-01T00:00:00Z
duration_s = 60
step_s = 30
[[terminals]]
name = "Taipei"
points = [[25.03, 121.56]]
[[gateways]]
name = "Yamaguchi"
lat = 34.218
lon = 131.556
country = "JP"
[[gateways]]
name = "Angeles"
lat = 15.145
lon = 120.589
country = "PH"
[metrics]
wanted = ["service", "rtt", "gateways"]
[second_operator]
"""


def _load(tmp_path, second: str):
    path = tmp_path / "s.toml"
    path.write_text(BASE + second)
    return load_scenario(path)


def test_oneweb_takes_its_own_gateways_and_no_isls(tmp_path):
    from skymesh.sim.prepare import operator_exits

    prep = prepare(_load(tmp_path, 'preset = "oneweb"\n'))
    first, second = prep.operators
    assert (first.operator, second.operator) == ("starlink", "oneweb")
    assert len(second.isl_pairs) == 0 and len(first.isl_pairs) > 0
    names = np.asarray(prep.gateway_name)
    own = names[np.asarray(second.gateway_mask, bool)]
    assert len(own) >= 1 and all(str(n).startswith("OneWeb ") for n in own)
    assert not set(own) & {"Yamaguchi", "Angeles"}
    # Starlink does not exit at OneWeb's sites either
    assert set(names[np.asarray(first.gateway_mask, bool)]) == {"Yamaguchi", "Angeles"}
    allowed = operator_exits(second, "TW", prep.gateway_country, prep.grid.datetimes()[:1])
    assert not allowed[np.isin(names, ["Yamaguchi", "Angeles"])].any()
    assert any("its own" in n and "oneweb" in n for n in prep.notes)
    assert any("no inter-satellite links" in n for n in prep.notes)


def test_borrowing_is_allowed_only_when_asked_and_then_said(tmp_path):
    from skymesh.sim.run import run_scenario

    loaded = _load(tmp_path, 'preset = "oneweb"\nborrow_gateways = true\n')
    prep = prepare(loaded)
    assert prep.operators[1].gateway_mask is None
    assert list(prep.gateway_name) == ["Yamaguchi", "Angeles"]
    summary = run_scenario(loaded, tmp_path / "out")
    notes = summary["notes"] + json.loads((tmp_path / "out" / "summary.json").read_text())["notes"]
    assert any("borrows" in n and "borrow_gateways = true" in n for n in notes)
    net = summary["operators"][1]["network"]
    assert (net["operator"], net["gateways_from"], net["isls"]) == ("oneweb", "borrowed", 0)
    assert "borrow_gateways = true" in (tmp_path / "out" / "report.md").read_text()


def test_an_operator_with_no_gateways_of_its_own_is_an_error_not_a_loan(tmp_path):
    with pytest.raises(InputError) as err:
        prepare(_load(tmp_path, 'preset = "kuiper"\n'))
    assert err.value.field == "second_operator.gateways_file"
    assert "borrow_gateways" in err.value.message and "kuiper" in err.value.message


def test_its_own_gateways_file(tmp_path):
    (tmp_path / "kgw.csv").write_text("name,lat,lon,country\nKuiper Guam,13.5,144.8,GU\n")
    prep = prepare(_load(tmp_path, 'preset = "kuiper"\ngateways_file = "kgw.csv"\n'))
    names = np.asarray(prep.gateway_name)
    assert list(names[np.asarray(prep.operators[1].gateway_mask, bool)]) == ["Kuiper Guam"]


def test_borrow_and_a_file_together_are_refused(tmp_path):
    with pytest.raises(InputError) as err:
        _load(tmp_path, 'preset = "oneweb"\nborrow_gateways = true\ngateways_file = "x.csv"\n')
    assert "not both" in err.value.message


def test_the_second_operator_has_its_own_capacity_answer(tmp_path):
    from skymesh.links.operators import operator_gateway_file
    from skymesh.sim.run import run_scenario

    text = (
        BASE.replace('wanted = ["service", "rtt", "gateways"]', 'wanted = ["service", "capacity"]')
        + 'preset = "oneweb"\n[capacity]\nsamples = 1\n'
    )
    path = tmp_path / "s.toml"
    path.write_text(text)
    summary = run_scenario(load_scenario(path), tmp_path / "out")
    first, second = summary["capacity"]["inputs"], summary["operators"][1]["capacity"]["inputs"]
    assert first["operator"]["operator"] == "starlink"
    assert first["operator"]["max_beams_per_cell"] == 8 and first["gateways"]["sites"] == 2
    assert second["operator"] == {
        "operator": "oneweb",
        "beam_link": "oneweb_user_downlink",
        "beams_per_sat": 16,
        "max_beams_per_cell": 1,
        "isls": False,
    }
    assert second["mode"] == "bent-pipe" and second["cell_resolution"] == 2
    from skymesh.ground.gateways import load_gateways

    own = load_gateways(operator_gateway_file("oneweb"))
    assert second["gateways"]["sites"] == len(own.name)


def test_builtin_taiwan_geofence_gives_oneweb_its_own_network():
    loaded = load_scenario("taiwan-geofence")
    so = loaded.scenario.second_operator
    assert so.preset == "oneweb" and not so.borrow_gateways
    prep = prepare(loaded)
    second = prep.operators[1]
    assert second.operator == "oneweb" and len(second.isl_pairs) == 0
    own = np.asarray(prep.gateway_name)[np.asarray(second.gateway_mask, bool)]
    assert len(own) and all(str(n).startswith("OneWeb ") for n in own)
    assert loaded.scenario.capacity is not None
