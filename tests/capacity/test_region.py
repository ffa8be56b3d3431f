"""`skymesh capacity` engine: terminals a region carries at a target rate, and what binds."""

import json

import numpy as np
import pytest
import shapely

from skymesh.capacity.assignment import RESOURCE_KINDS
from skymesh.capacity.network import NetworkCapacityParams
from skymesh.capacity.region import faded_capacities, load_region, region_capacity, slot_network
from skymesh.errors import InputError

GATEWAYS = """name,lat,lon,country
Aerzen,52.06,9.329,DE
Brussels (assumed),50.85,4.35,BE
Foggia,41.508,15.587,IT
"""
AT = "2022-10-15T12:00:00Z"


@pytest.fixture(scope="module")
def gw_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("gw") / "gw.csv"
    path.write_text(GATEWAYS)
    return path


@pytest.fixture(scope="module")
def belgium(gw_file):
    return region_capacity(
        "BE", constellation="starlink-shell1", at=AT, gateways=gw_file, probes=300, rain_mmh=60.0
    )


def test_probe_accounting_and_the_two_formulations_agree(belgium):
    p = belgium["probes"]
    assert p["placed"] == 300
    assert p["covered"] + p["not_covered"] == 300 and p["covered"] > 0
    for fig in (belgium["model"], belgium["rain"]):
        # the carry LP's alpha x target is the largest rate every covered probe can have at
        # once; the max-min progressive filling's first level is the same quantity
        assert fig["first_level_mbps"] == pytest.approx(fig["per_probe"] * 25.0, rel=1e-5)
        assert fig["terminals_at_target"] == int(np.floor(fig["per_probe"] * p["covered"] + 1e-9))
        assert fig["n_more"] == fig["terminals_at_target"] - p["covered"]
        assert fig["binding_kind"] in RESOURCE_KINDS
        assert sum(fig["binding_share"].values()) == pytest.approx(1.0)
    # with rain the headline is the rain answer; its per-terminal rate is the first level
    h = belgium["headline"]
    assert h["terminals_at_target"] == belgium["rain"]["terminals_at_target"]
    assert h["per_terminal_mbps"] == pytest.approx(belgium["rain"]["first_level_mbps"], rel=1e-5)
    assert belgium["inputs"]["rain"] == "60 mm/h over the region"


def test_rain_never_adds_capacity(belgium):
    clear, rain = belgium["model"], belgium["rain"]
    assert clear["budget"] == "clear sky"
    assert rain["gateways_in_rain"] == 1  # Brussels, inside Belgium
    assert rain["aggregate_gbps"] < clear["aggregate_gbps"]
    assert rain["terminals_at_target"] <= clear["terminals_at_target"] * (1 + 1e-9)
    assert "P.618-13" in rain["recommendations"]


def test_faded_capacities_fade_beams_and_the_wet_feeder_only(gw_file):
    lat, lon = np.array([50.85, 50.6]), np.array([4.35, 5.6])
    net = slot_network("starlink-shell1", AT, gw_file, lat, lon)
    args = (
        net["pairs"],
        net["backhaul"],
        net["sat_ecef_km"],
        net["cells"]["lat_deg"],
        net["cells"]["lon_deg"],
        net["gateway_lat"],
        net["gateway_lon"],
    )
    params = NetworkCapacityParams()
    k0, c0 = faded_capacities(*args, 0.0, 0.0, params)
    k1, c1 = faded_capacities(*args, 60.0, np.array([0.0, 60.0, 0.0]), params)
    assert (k1 <= k0).all() and (k1 < k0).any()
    kind = np.asarray(net["backhaul"]["kind"])
    gw = np.asarray(net["backhaul"]["a"])
    feeder = kind == "gsl-feeder"
    wet = feeder & (gw == 1)  # Brussels
    # a wet feeder loses capacity unless its faded budget still exceeds one antenna's
    # rate, the cap of every feeder (one antenna tracks one satellite)
    assert wet.any() and (c1[wet] <= c0[wet]).all() and (c1[wet] < c0[wet]).any()
    assert (c0[feeder] <= params.gateway_antenna_mbps).all()
    assert np.array_equal(c1[~wet], c0[~wet])  # ISLs, sites, dry feeders
    # 0 mm/h is the clear-sky budget: more than the presets' (which carry a rain margin)
    assert (k0 >= net["pairs"]["capacity_mbps"]).all()


def test_zero_rain_is_the_clear_sky_answer(gw_file, belgium):
    dry = region_capacity(
        "BE", constellation="starlink-shell1", at=AT, gateways=gw_file, probes=300, rain_mmh=0.0
    )
    assert (
        dry["rain"]["terminals_at_target"]
        == dry["model"]["terminals_at_target"]
        == belgium["model"]["terminals_at_target"]
    )


def test_a_polygon_region(tmp_path, gw_file):
    box = {
        "type": "Polygon",
        "coordinates": [[[3.0, 50.0], [6.0, 50.0], [6.0, 51.5], [3.0, 51.5], [3.0, 50.0]]],
    }
    path = tmp_path / "box.geojson"
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [{"type": "Feature", "properties": {}, "geometry": box}],
            }
        )
    )
    name, code, geom = load_region(str(path))
    assert (name, code) == ("box", "")
    assert geom.equals(shapely.box(3.0, 50.0, 6.0, 51.5))
    res = region_capacity(
        str(path), constellation="starlink-shell1", at=AT, gateways=gw_file, probes=100
    )
    assert res["probes"]["placed"] == 100 and res["rain"] is None


@pytest.mark.parametrize("region", ["XX", "Belgum", "Utopia", "nofile.geojson"])
def test_bad_region(region):
    with pytest.raises(InputError, match="REGION"):
        load_region(region)


def test_a_country_name_is_a_region():
    """ "Belgium" is BE (issue 23 §7: `skymesh capacity Ukraine` was refused)."""
    name, code, geom = load_region("Belgium")
    assert (name, code) == ("BE", "BE") and geom.equals(load_region("BE")[2])
