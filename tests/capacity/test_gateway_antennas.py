"""One gateway antenna tracks one satellite: antenna counts per site and the feeder cap."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import skymesh
from skymesh.capacity.assignment import assign_cells
from skymesh.capacity.network import antenna_links
from skymesh.capacity.slot_network import (
    antennas_note,
    backhaul_of_pairs,
    capacity_params,
    ground_links,
    service_cells,
    slot_links,
)
from skymesh.ground.gateways import load_gateways, site_antennas

R_KM = 6371.0 + 550.0


def _overhead(lon_deg):
    lon = np.radians(np.asarray(lon_deg, float))
    return np.stack([R_KM * np.cos(lon), R_KM * np.sin(lon), np.zeros_like(lon)], axis=-1)


def test_two_antennas_feed_at_most_two_of_five_satellites():
    sat_lon = np.array([-1.0, -0.5, 0.0, 0.5, 1.0])
    sat = _overhead(sat_lon)  # 5 satellites near the zenith of a gateway at (0, 0)
    antenna_gbps = 1.0
    params = capacity_params(
        np.array([np.nan]),
        site_antennas=np.array([2.0]),
        gateway_antenna_gbps=antenna_gbps,
    )
    lat = np.zeros(5)
    cells = service_cells(lat, sat_lon, np.zeros(5, int), 5)
    links = ground_links(sat[:, None, :], [0.0], [0.0], min_elevation_deg=25.0)
    assert np.unique(links["gateway_links"][1]).size == 5  # all five in view
    net = slot_links(
        sat,
        links,
        cells,
        np.ones((1, 1), bool),
        [0.0],
        [0.0],
        params,
        mode="bent-pipe",
        min_elevation_deg=25.0,
    )
    bh = backhaul_of_pairs(cells, net["pairs"], net["bh"], net["n_sats"])
    feeders = net["bh"]["kind"] == "gsl-feeder"
    assert np.unique(net["bh"]["b"][feeders]).size <= 2
    assert (net["bh"]["capacity_mbps"][feeders] <= antenna_gbps * 1e3 + 1e-9).all()
    n_c = cells["group"].size
    res = assign_cells(
        net["pairs"]["cell"],
        net["pairs"]["sat"],
        net["pairs"]["capacity_mbps"],
        np.full(n_c, np.inf),
        n_cells=n_c,
        backhaul=bh,
    )
    per_sat = np.bincount(net["pairs"]["sat"], weights=res["rate_mbps"], minlength=5)
    fed = per_sat > 1e-6
    assert fed.sum() == 2
    assert (per_sat <= antenna_gbps * 1e3 * (1 + 1e-6)).all()
    # two antennas of 1 Gbit/s, and each of the two satellites' 16 beams (~1.37 Gbit/s
    # each) can carry more than that, so the antennas bind: 2 x 1,000 Mbit/s
    assert abs(res["totals"]["rate_mbps"] - 2 * antenna_gbps * 1e3) < 1.0


def test_antenna_links_keeps_the_nearest_per_gateway_and_step():
    gg = np.array([0, 0, 0, 1, 1, 0])
    gs = np.array([3, 1, 2, 1, 4, 5])
    gk = np.array([0, 0, 0, 0, 0, 1])
    gr = np.array([900.0, 600.0, 700.0, 800.0, 600.0, 1000.0])
    kg, ks, kk, kr = antenna_links((gg, gs, gk, gr), np.array([2, 1]))
    got = sorted(zip(kg.tolist(), kk.tolist(), ks.tolist()))
    assert got == [(0, 0, 1), (0, 0, 2), (0, 1, 5), (1, 0, 4)]


def test_listed_antenna_counts_are_used_and_the_default_elsewhere(tmp_path):
    f = tmp_path / "gw.csv"
    f.write_text(
        "name,lat,lon,country,num_antennas,num_antennas_2022\n"
        "Big,40,-100,US,,32\n"
        "Unknown,41,-101,US,,\n"
        "Own,42,-102,US,3,32\n"
    )
    gw = load_gateways(f)
    antennas, listed = site_antennas(gw, 8)
    assert antennas.tolist() == [32.0, 8.0, 3.0]
    assert listed.tolist() == [True, False, True]
    note = antennas_note(listed, 8)
    assert "2 of 3 sites listed" in note and "1 took the default 8" in note
    p = capacity_params(gw.capacity_gbps, site_antennas=antennas)
    assert np.asarray(p.gateway_antennas).tolist() == [32.0, 8.0, 3.0]


def test_merged_list_carries_starperf_counts():
    path = Path(skymesh.__file__).parent / "data" / "starlink_gateways_merged.csv"
    gw = load_gateways(path)
    antennas, listed = site_antennas(gw, 8)
    i = int(np.flatnonzero(gw.name == "Aerzen, Germany")[0])
    assert listed[i] and antennas[i] == 8
    assert 0 < listed.sum() < len(gw)  # some listed, some take the default


def test_capacity_answer_notes_how_many_sites_took_the_default(tmp_path):
    from skymesh.capacity.region import region_capacity

    f = tmp_path / "gw.csv"
    f.write_text(
        "name,lat,lon,country,num_antennas\n"
        "Aerzen,52.06,9.329,DE,32\n"
        "Brussels (assumed),50.85,4.35,BE,\n"
        "Foggia,41.508,15.587,IT,\n"
    )
    out = region_capacity(
        "BE", constellation="starlink-shell1", at="2022-10-15T12:00:00Z", gateways=f, probes=50
    )
    assert any("1 of 3 sites listed" in n and "2 took the default 8" in n for n in out["notes"])
