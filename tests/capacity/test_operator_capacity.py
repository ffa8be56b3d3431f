"""`skymesh capacity TW -c oneweb` answers with OneWeb's own link budget and beams (issue 21 §4).

The expected figures are computed here from the filing and reseller numbers (250 MHz carrier,
EIRP at the Ku pfd limit, 0.7 m dish, one fixed beam on a place, one beam ~ one H3
resolution-2 cell), by hand, not read back from the code. Before the fix the same question
took Starlink's 240 MHz channel, 8 beams per 250 km2 cell and gave 156 Gbit/s.
"""

import math

import h3
import numpy as np
import pytest

from skymesh.capacity.region import place_probes, region_capacity, slot_network
from skymesh.ground.countries import country_geometry
from skymesh.links import modcod

# Gateways near Taiwan, given explicitly so the question is about beams, not backhaul.
GATEWAYS = """name,lat,lon,country
Taipei (test),25.03,121.56,TW
Kaohsiung (test),22.63,120.30,TW
"""
AT = "2026-01-01T00:00:00Z"
PROBES = 300

# OneWeb's user downlink from the cited figures (skymesh/links/operators.py sources)
F_GHZ = 11.7
B_MHZ = 250.0
ROLL_OFF = 0.05
EIRP_DBW = -116.0 + 10 * math.log10(4 * math.pi * (1_200e3) ** 2) + 10 * math.log10(B_MHZ)
LAMBDA_M = 299_792_458.0 / (F_GHZ * 1e9)
GT_DBK = round(10 * math.log10(0.6 * (math.pi * 0.7 / LAMBDA_M) ** 2) - 10 * math.log10(250.0), 1)
"""0.7 m dish, efficiency 0.6, 250 K: 12.46 dB/K, cited to 0.1 dB (12.5)."""
K_DB = 10 * math.log10(1.380649e-23)
MARGIN_DB = 0.5


def oneweb_beam_mbps(range_km, elevation_deg):
    """One OneWeb beam's capacity (Mbit/s) by hand: FSPL, the Ku clear-sky + rain terms,
    C/N0, Es/N0, then the best DVB-S2X MODCOD of ETSI EN 302 307-2 that closes."""
    d_m = np.asarray(range_km, float) * 1e3
    fspl = 20 * np.log10(4 * np.pi * d_m * F_GHZ * 1e9 / 299_792_458.0)
    atm = 0.37 / np.sin(np.radians(np.clip(elevation_deg, 5.0, 90.0))) + 0.9
    cn0 = EIRP_DBW - fspl - atm + GT_DBK - K_DB
    rs_hz = B_MHZ * 1e6 / (1 + ROLL_OFF)
    esn0 = cn0 - 10 * np.log10(rs_hz)
    eta = modcod.spectral_efficiency(esn0, MARGIN_DB, "s2x")
    return eta * rs_hz / 1e6


@pytest.fixture(scope="module")
def gw_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("gw") / "gw.csv"
    path.write_text(GATEWAYS)
    return path


@pytest.fixture(scope="module")
def taiwan(gw_file):
    return region_capacity("TW", constellation="oneweb", at=AT, gateways=gw_file, probes=PROBES)


def test_every_beam_is_onewebs_link_budget(gw_file):
    lat, lon = place_probes("TW", country_geometry("TW"), PROBES, 0)
    net = slot_network("oneweb", AT, gw_file, lat, lon, country="TW")
    pairs = net["pairs"]
    assert pairs["cell"].size > 0
    expected = oneweb_beam_mbps(pairs["range_km"], pairs["elevation_deg"])
    np.testing.assert_allclose(pairs["capacity_mbps"], expected, rtol=1e-9)
    # and not Starlink's: its 240 MHz OFDM channel has a different symbol rate
    assert not np.allclose(pairs["capacity_mbps"] / (240.0 / (1 + 1 / 32)), expected / 238.095)


def test_one_fixed_beam_per_place_and_a_cell_is_one_beam(taiwan):
    lat, lon = place_probes("TW", country_geometry("TW"), PROBES, 0)
    beam_cells = {h3.latlng_to_cell(a, b, 2) for a, b in zip(lat, lon)}
    assert taiwan["probes"]["cells"] == len(beam_cells)
    inp = taiwan["inputs"]["operator"]
    assert inp["operator"] == "oneweb"
    assert (inp["beams_per_sat"], inp["max_beams_per_cell"], inp["isls"]) == (16, 1, False)
    assert taiwan["mode"] == "bent-pipe"
    # what Taiwan can receive at once: one beam on each beam-sized cell, each at most the
    # best budget (nadir, 1,200 km, clear of everything but the rain margin)
    best = float(oneweb_beam_mbps(1_200.0, 90.0))
    bound_gbps = len(beam_cells) * best / 1e3
    model = taiwan["model"]  # the sum of all probes' rates (being renamed aggregate_gbps)
    total_gbps = model["aggregate_gbps"] if "aggregate_gbps" in model else model["throughput_gbps"]
    assert 0 < total_gbps <= bound_gbps * (1 + 1e-6)
    assert bound_gbps < 10.0  # against the 156 Gbit/s of Starlink's beams over Taiwan


def test_the_answer_names_its_operator_and_sources(taiwan):
    op = taiwan["operator"]
    assert op["operator"] == "oneweb" and op["beam_link"] == "oneweb_user_downlink"
    for name, p in op["parameters"].items():
        assert p["status"] and p["source"], name
    assert any("bent pipe" in n for n in taiwan["notes"])
