"""`skymesh capacity` engine: terminals a region carries at a target rate, and what binds."""

import json

import numpy as np
import pytest
import scipy.sparse as sp
import shapely

from skymesh.capacity.allocation import max_min_fair
from skymesh.capacity.network import LINK_KINDS
from skymesh.capacity.region import carried_at_rate, load_region, region_capacity
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
    return region_capacity("BE", constellation="starlink-shell1", at=AT, gateways=gw_file,
                           probes=300, rain_mmh=60.0)


def test_closed_form_by_hand():
    # link 0 (a beam, 100 Mbit/s) carries probes 0-3; link 1 (a feeder, 30) carries probe 0.
    # At 5 Mbit/s: beam 100 / (5 x 4) = 5 terminals per probe, feeder 30 / (5 x 1) = 6:
    # the beam binds at 5 x 4 probes = 20 terminals, the feeder would at 6 x 4 = 24.
    R = sp.csr_matrix(np.array([[1, 1, 1, 1], [1, 0, 0, 0]]))
    kind = np.array([LINK_KINDS.index("beam"), LINK_KINDS.index("gsl-feeder")])
    out = carried_at_rate(R, [100.0, 30.0], kind, 5.0)
    assert (out["per_probe"], out["terminals"], out["binding_kind"]) == (5.0, 20.0, "beam")
    assert out["by_kind"]["gsl-feeder"] == 24.0 and out["by_kind"]["isl"] == float("inf")
    # the max-min fair allocation's smallest rate is the same s* x target (25 Mbit/s)
    assert max_min_fair(R, [100.0, 30.0])["rate_mbps"].min() == pytest.approx(25.0)


def test_probe_accounting_and_the_two_formulations_agree(belgium):
    p = belgium["probes"]
    assert p["placed"] == 300
    assert p["served"] + p["no_route"] + p["no_beam"] == 300
    assert p["served"] > 0
    for fig in (belgium["model"], belgium["rain"]):
        # closed form s* = min_l c_l / (target n_l) equals min max-min rate / target
        assert fig["per_probe"] == pytest.approx(fig["min_rate_mbps"] / 25.0, rel=1e-9)
        assert fig["terminals_at_target"] == pytest.approx(fig["per_probe"] * p["served"])
        binds = fig["binds_at"]
        assert min(binds.values()) == pytest.approx(fig["terminals_at_target"])
        assert fig["binding_kind"] in LINK_KINDS


def test_rain_never_adds_capacity_and_fades_the_feeder(belgium):
    clear, rain = belgium["model"], belgium["rain"]
    assert clear["budget"] == "clear sky"
    assert rain["gateways_in_rain"] == 1                       # Brussels, inside Belgium
    assert rain["throughput_gbps"] < clear["throughput_gbps"]
    assert rain["terminals_at_target"] <= clear["terminals_at_target"]
    # 60 mm/h at 28.5 GHz fades the Brussels feeder by well over 10 dB: it carries less
    assert rain["binds_at"]["gateway feeder links"] < clear["binds_at"]["gateway feeder links"]
    assert "P.618-13" in rain["recommendations"]


def test_zero_rain_is_the_clear_sky_answer(gw_file, belgium):
    dry = region_capacity("BE", constellation="starlink-shell1", at=AT, gateways=gw_file,
                          probes=300, rain_mmh=0.0)
    assert dry["rain"]["terminals_at_target"] == dry["model"]["terminals_at_target"] == \
        belgium["model"]["terminals_at_target"]


def test_a_polygon_region(tmp_path, gw_file):
    box = {"type": "Polygon", "coordinates": [[[3.0, 50.0], [6.0, 50.0], [6.0, 51.5],
                                               [3.0, 51.5], [3.0, 50.0]]]}
    path = tmp_path / "box.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": box}]}))
    name, code, geom = load_region(str(path))
    assert (name, code) == ("box", "")
    assert geom.equals(shapely.box(3.0, 50.0, 6.0, 51.5))
    res = region_capacity(str(path), constellation="starlink-shell1", at=AT,
                          gateways=gw_file, probes=100)
    assert res["probes"]["placed"] == 100 and res["rain"] is None


@pytest.mark.parametrize("region", ["XX", "Belgium", "nofile.geojson"])
def test_bad_region(region):
    with pytest.raises(InputError, match="REGION"):
        load_region(region)
