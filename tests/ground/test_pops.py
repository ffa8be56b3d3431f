"""PoPs: loading, homing gateways to PoPs, and the fibre leg against hand arithmetic and
the measured GS <-> PoP leg."""

import numpy as np
import pytest

from skymesh.constants import SPEED_OF_LIGHT_KM_S
from skymesh.errors import InputError
from skymesh.ground.pops import (
    FIBRE_GROUP_INDEX,
    ROUTE_FACTOR,
    fibre_rtt_ms,
    gateway_pop_legs,
    great_circle_km,
    home_gateways,
    load_pops,
    pops_from_records,
)

CURATED = "starlink_gateways_starlinkviz_20260320.csv"


def _pops_csv(tmp_path, body, name="pops.csv"):
    p = tmp_path / name
    p.write_text(body)
    return p


def test_csv_without_type_column_is_all_pops(tmp_path):
    p = _pops_csv(
        tmp_path,
        "# two PoPs\nname,lat,lon,country\n"
        '"London, UK",51.5074,-0.1278,GB\nMadrid,40.4168,-3.7038,ES\n',
    )
    pops = load_pops(p)
    assert pops.name.tolist() == ["London, UK", "Madrid"]
    assert pops.country_iso2.tolist() == ["GB", "ES"]
    assert pops.line.tolist() == [3, 4]


def test_mixed_csv_keeps_only_pops_and_operational(tmp_path):
    p = _pops_csv(
        tmp_path,
        "name,type,status,lat,lon,country_iso2\n"
        "GW,gateway,operational,50,0,GB\nP1,pop,operational,51,0,GB\n"
        "P2,pop,planned,52,0,GB\n",
    )
    assert load_pops(p).name.tolist() == ["P1"]
    assert load_pops(p, include_planned=True).name.tolist() == ["P1", "P2"]


def test_toml_and_errors_name_line_and_field(tmp_path):
    p = tmp_path / "p.toml"
    p.write_text(
        '[[pop]]\nname = "A"\nlat = 1.0\nlon = 2.0\ncountry = "FR"\n\n'
        '[[pop]]\nname = "B"\nlat = 95.0\nlon = 2.0\ncountry = "FR"\n'
    )
    with pytest.raises(InputError) as e:
        load_pops(p)
    assert e.value.line == 7 and e.value.field == "lat" and "pop 2" in str(e.value)
    p.write_text('[[pop]]\nname = "A"\nlat = 1.0\nlon = 2.0\ncountry = "FR"\n')
    assert load_pops(p).name.tolist() == ["A"]
    with pytest.raises(InputError, match="unknown PoP file type"):
        load_pops(tmp_path / "p.txt")
    with pytest.raises(InputError, match="file not found"):
        load_pops(tmp_path / "missing.csv")


def test_records_and_type_check():
    pops = pops_from_records([dict(name="A", lat=1, lon=2, country="FR")], file="s.toml")
    assert len(pops) == 1
    with pytest.raises(InputError, match="pop 1: type must be 'pop'"):
        pops_from_records([dict(name="A", lat=1, lon=2, country="FR", type="gateway")])


def test_fibre_rtt_hand_arithmetic():
    # One degree of longitude on the equator is 2*pi*R/360 km of great circle.
    km = 2 * np.pi * 6371.0088 / 360
    assert great_circle_km(0, 0, 0, 1) == pytest.approx(km, rel=1e-12)
    expect = 2e3 * km * ROUTE_FACTOR * FIBRE_GROUP_INDEX / SPEED_OF_LIGHT_KM_S
    assert fibre_rtt_ms(0, 0, 0, 1) == pytest.approx(expect, rel=1e-12)
    # Light in fibre: c / 1.4682 ~ 204,190 km/s -> 1,000 km takes ~4.90 ms one way.
    assert fibre_rtt_ms(0, 0, 0, 1000 / km, route_factor=1.0) == pytest.approx(9.795, abs=2e-3)
    assert fibre_rtt_ms(10, 10, 10, 10) == 0.0
    with pytest.raises(InputError):
        fibre_rtt_ms(0, 0, 0, 1, route_factor=0.5)


def test_homing_prefers_own_country_then_nearest():
    pops = pops_from_records(
        [
            dict(name="Paris", lat=48.86, lon=2.35, country="FR"),
            dict(name="London", lat=51.51, lon=-0.13, country="GB"),
            dict(name="Madrid", lat=40.42, lon=-3.70, country="ES"),
        ]
    )
    # A point near Calais: nearer London than Paris.
    lat = [50.95, 50.95, 52.0]
    lon = [1.85, 1.85, 4.9]
    country = ["FR", "GB", "NL"]  # same spot, two countries; NL has no PoP
    home = home_gateways(lat, lon, country, pops)
    assert home.tolist() == [0, 1, 1]  # FR -> Paris though London is nearer; NL -> nearest
    d_lon = great_circle_km(50.95, 1.85, 51.51, -0.13)
    d_par = great_circle_km(50.95, 1.85, 48.86, 2.35)
    assert d_lon < d_par  # the case really tests the country rule
    home = home_gateways(
        lat,
        lon,
        country,
        pops,
        {"GW-NL": "Madrid", 0: "London"},
        gw_name=["GW-FR", "GW-GB", "GW-NL"],
    )
    assert home.tolist() == [1, 1, 2]
    with pytest.raises(InputError, match="no PoP named"):
        home_gateways(lat, lon, country, pops, {0: "Berlin"})
    with pytest.raises(InputError, match="not in the gateway list"):
        home_gateways(lat, lon, country, pops, {"nope": "Paris"}, gw_name=["a", "b", "c"])


def test_curated_pops_and_measured_leg(shared_data):
    """The fibre leg against measurements, over the curated gateway list.

    Independent source: Mohan et al., "A Multifaceted Look at Starlink Performance",
    ACM WWW 2024 (RIPE Atlas traceroutes, 2022-23): the GS <-> PoP leg is ~5 ms RTT almost
    everywhere, 7-8 ms in the US and Canada. The tolerance is a factor of 2 either way:
    community gateway coordinates (many are town centroids, some > 20 km off), the
    operator's homing table is unpublished, and the measured leg includes router time.
    """
    from skymesh.ground.gateways import load_gateways

    pops = load_pops(shared_data / CURATED)
    assert len(load_pops(shared_data / CURATED, include_planned=True)) == 50  # data README
    gw = load_gateways(shared_data / CURATED)
    home, rtt = gateway_pop_legs(gw, pops)
    assert home.shape == (len(gw),) and np.all(np.isfinite(rtt)) and np.all(rtt >= 0)
    # A gateway in a country with a PoP is homed in that country.
    has_pop = np.isin(gw.country_iso2, pops.country_iso2)
    assert np.all(pops.country_iso2[home[has_pop]] == gw.country_iso2[has_pop])
    na = np.isin(gw.country_iso2, ["US", "CA"])
    assert 7.5 / 2 <= np.median(rtt[na]) <= 7.5 * 2
    assert 5.0 / 2 <= np.median(rtt[~na]) <= 5.0 * 2
