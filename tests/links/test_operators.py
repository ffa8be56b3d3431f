"""The per-operator table (issue 21 §4): every parameter cited, every preset knows its operator.

Figures derived in the table are recomputed here from the cited inputs, not read back.
"""

import dataclasses
import math

import pytest

from skymesh.errors import InputError
from skymesh.links.budget import STARLINK_USER_DOWNLINK_KU
from skymesh.links.operators import (
    OPERATORS,
    STATUSES,
    beam_model,
    constellation_operator,
    operator_gateway_file,
    operator_sources,
    user_link,
)
from skymesh.orbits.presets import TLE_PRESETS, WALKER_PRESETS, operator_of

REQUIRED = {
    "name",
    "user_frequency_ghz",
    "user_bandwidth_mhz",
    "user_eirp_dbw",
    "user_gt_dbk",
    "user_roll_off",
    "user_modcod_set",
    "user_implementation_margin_db",
    "user_clear_sky_zenith_db",
    "user_rain_margin_db",
    "beams_per_sat",
    "max_beams_per_cell",
    "cell_resolution",
    "user_min_elevation_deg",
    "isls",
    "gateways",
}


@pytest.mark.parametrize("operator", sorted(OPERATORS))
def test_every_parameter_has_a_status_and_a_source(operator):
    src = operator_sources(operator)
    assert REQUIRED <= set(src), REQUIRED - set(src)
    for name, (status, source) in src.items():
        letters = status.split("/")
        assert letters and all(s in STATUSES for s in letters), (operator, name, status)
        assert isinstance(source, str) and len(source.strip()) >= 10, (operator, name)


def test_the_three_operators_are_in_the_table():
    assert {"starlink", "oneweb", "kuiper"} <= set(OPERATORS)


def test_starlink_row_is_the_starlink_model_unchanged():
    link = user_link("starlink")  # built from the row alone, field for field the preset
    assert dataclasses.replace(link, name=STARLINK_USER_DOWNLINK_KU.name) == (
        STARLINK_USER_DOWNLINK_KU
    )
    m = beam_model("starlink")
    assert (m["beams_per_sat"], m["max_beams_per_cell"], m["cell_resolution"]) == (16, 8, 5)
    assert m["isls"] is True


def test_oneweb_link_is_its_filing_and_reseller_figures():
    link = user_link("oneweb")
    assert 10.7 <= link.frequency_ghz <= 12.7  # Ku user downlink, FCC 17-77
    assert link.bandwidth_mhz == 250.0  # one 250 MHz forward carrier per beam
    # EIRP at the Ku pfd limit, -116 dB(W/m2)/MHz, from 1,200 km at nadir, over 250 MHz
    spreading_db = 10 * math.log10(4 * math.pi * (1_200e3) ** 2)
    assert link.eirp_dbw == pytest.approx(-116.0 + spreading_db + 10 * math.log10(250.0))
    assert link.eirp_dbw == pytest.approx(40.55, abs=0.01)
    # G/T: 0.7 m dish, efficiency 0.6, 11.7 GHz, 250 K
    lam_m = 299_792_458.0 / 11.7e9
    gain_dbi = 10 * math.log10(0.6 * (math.pi * 0.7 / lam_m) ** 2)
    assert link.gt_dbk == pytest.approx(gain_dbi - 10 * math.log10(250.0), abs=0.1)
    m = beam_model("oneweb")
    assert m["beams_per_sat"] == 16 and m["max_beams_per_cell"] == 1
    assert m["isls"] is False
    assert link != STARLINK_USER_DOWNLINK_KU


def test_kuiper_link_is_ka_from_its_filing():
    link = user_link("kuiper")
    assert 17.7 <= link.frequency_ghz <= 20.2  # FCC 20-102
    spreading_db = 10 * math.log10(4 * math.pi * (630e3) ** 2)
    assert link.eirp_dbw == pytest.approx(-105.0 + spreading_db + 10 * math.log10(250.0))
    m = beam_model("kuiper")
    assert m["user_min_elevation_deg"] == 35.0 and m["isls"] is False


def test_every_preset_knows_its_operator():
    for table in (WALKER_PRESETS, TLE_PRESETS):
        for name, spec in table.items():
            assert spec["operator"] in OPERATORS, name
            assert operator_of(name) == spec["operator"]
    assert operator_of("oneweb-tle") == "oneweb" and operator_of("kuiper") == "kuiper"


def test_a_tle_file_is_known_by_its_satellite_names():
    assert operator_of("x.tle", ["ONEWEB-0012", "ONEWEB-0013"]) == "oneweb"
    assert operator_of("x.tle", ["STARLINK-1007"]) == "starlink"
    assert operator_of("x.tle", ["ONEWEB-0012", "STARLINK-1007"]) is None
    notes: list = []
    assert constellation_operator("x.tle", ["SAT-1"], notes) == "starlink"
    assert notes and "unknown" in notes[0] and "assumed" in notes[0]


def test_oneweb_ships_its_own_gateways_with_provenance():
    from skymesh.ground.gateways import load_gateways

    path = operator_gateway_file("oneweb")
    assert path is not None and path.name == "oneweb_gateways.toml"
    assert (path.parent / "oneweb_gateways.md").is_file()
    gw = load_gateways(path)
    assert len(gw.name) >= 2 and all(str(n).startswith("OneWeb ") for n in gw.name)
    assert "starlink" not in path.name
    assert operator_gateway_file("kuiper") is None


def test_unknown_operator_is_an_input_error():
    with pytest.raises(InputError):
        user_link("globalstar")
