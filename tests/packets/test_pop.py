"""Terminal -> PoP flows: the PoP sits behind its gateway on a fibre leg of SkyMesh's fibre model.

Checked against independent reasons: the gateway chosen is the homed one nearest the PoP and
the fibre delay is great circle x 1.3 / (c / 1.4682) computed here by haversine; forwarding
toward the PoP is forwarding toward its gateway plus the fibre hop, both ways; and in ns-3 a
lone ping to the PoP sees SkyMesh's RTT plus serialisation only.
"""

from __future__ import annotations

import numpy as np
import pytest

from skymesh.constants import EARTH_MEAN_RADIUS_KM, SPEED_OF_LIGHT_KM_S
from skymesh.errors import InputError
from skymesh.packets.network import PopSite, packet_network, pop_site, with_pop

from .conftest import GSL_BPS, ISL_BPS, column

CSV = """name,type,status,lat,lon,country_iso2,num_antennas
"Warsaw, Poland",pop,operational,52.23,21.01,PL,
"Near, PL",gateway,operational,52.10,20.50,PL,4
"Far, PL",gateway,operational,50.06,19.94,PL,
"Berlin gw, DE",gateway,operational,52.52,13.40,DE,
"Madrid, Spain",pop,operational,40.42,-3.70,ES,
"Toledo, ES",gateway,operational,39.86,-4.02,ES,
"""


def _haversine_km(a, b):
    p1, l1, p2, l2 = np.radians([a[0], a[1], b[0], b[1]])
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin((l2 - l1) / 2) ** 2
    return 2 * EARTH_MEAN_RADIUS_KM * np.arcsin(np.sqrt(h))


def test_pop_site_picks_the_nearest_homed_gateway(tmp_path):
    path = tmp_path / "gw.csv"
    path.write_text(CSV)
    site = pop_site("Warsaw", gateways_file=path)  # the city alone names one PoP
    assert site.name == "Warsaw, Poland"
    # homed to Warsaw: both Polish gateways, and Berlin (no PoP in DE: the nearest, Warsaw)
    assert site.gateway == "Near, PL"
    km = _haversine_km((52.10, 20.50), (52.23, 21.01))
    assert site.fibre_one_way_s == pytest.approx(km * 1.3 * 1.4682 / SPEED_OF_LIGHT_KM_S)
    assert site.rate_bps == pytest.approx(4 * 6.8e9)  # 4 antennas x 6.8 Gbit/s
    with pytest.raises(InputError, match="no PoP named 'Frankfurt'"):
        pop_site("Frankfurt", gateways_file=path)


@pytest.fixture(scope="module")
def pop_net(shell1):
    from skymesh.ground.places import resolve_places
    from skymesh.network.over_time import GroundPoints
    from skymesh.timebase import time_grid

    names, lat, lon, _ = resolve_places(["Paris", "Madrid"])
    points = GroundPoints.of(list(names[:1]) + ["gateway Toledo"], [lat[0], 39.86], [lon[0], -4.02])
    base = packet_network(
        shell1,
        time_grid("2026-01-01T00:00:00Z", 20, 1.0),
        points,
        [[0, 1]],
        isl_rate_bps=ISL_BPS,
        gsl_rate_bps=GSL_BPS,
    )
    site = PopSite("Madrid, Spain", "Toledo", 39.86, -4.02, 0.8e-3, 1e9)
    return base, with_pop(base, site, 1)


def test_forwarding_to_the_pop_is_via_its_gateway_both_ways(pop_net):
    base, net = pop_net
    pop_ep, pop_node, gw_node = 2, base.n_nodes, int(base.endpoint_node[1])
    assert net.endpoint_name[pop_ep] == "Madrid, Spain" and net.node_kind[pop_node] == "pop"
    fibre = net.link_index(np.array([gw_node]), np.array([pop_node]))[0]
    assert fibre >= 0 and np.all(net.delay_s[:, fibre] == 0.8e-3) and net.up[:, fibre].all()
    for k in range(net.n_steps):
        there, back = base.path(k, 0, 1), base.path(k, 1, 0)
        assert there and back
        assert net.path(k, 0, pop_ep) == there + [pop_node]
        assert net.path(k, pop_ep, 0) == [pop_node] + back
    hit = np.flatnonzero((net.pairs[:, 0] == 0) & (net.pairs[:, 1] == pop_ep))
    assert len(hit) == 1
    np.testing.assert_allclose(net.space_rtt_ms[:, hit[0]], base.space_rtt_ms[:, 0] + 1.6)
    np.testing.assert_array_equal(net.hops[:, hit[0]], base.hops[:, 0] + 1)


def test_with_pop_needs_the_gateway_in_the_network(pop_net):
    base, _ = pop_net
    with pytest.raises(InputError, match="gateway"):
        with_pop(base, PopSite("x", "y", 0.0, 0.0, 1e-3, 1e9), 5)


def test_ping_to_the_pop_is_skymesh_rtt_plus_serialisation(ns3, pop_net):
    from skymesh.packets.engine import simulate

    _, net = pop_net
    out = simulate(net, ["ping:0.1:Paris->Madrid, Spain"], duration_s=20.0)
    t, rtt = column(out["rtt"], "t_s"), column(out["rtt"], "ns3_rtt_ms")
    assert len(t) >= 150
    k = np.floor(t + 1e-9).astype(int)
    inside = t + rtt / 1e3 < k + 1 - 1e-9
    sky = net.space_rtt_ms[k[inside], 1]  # (Paris, PoP): pairs are (0, gateway), (0, PoP)
    hops = net.hops[k[inside], 1]
    # each way, every hop serialises one ~86-byte frame at no less than the slowest rate
    bound = 2e3 * hops * 86 * 8 / min(GSL_BPS, ISL_BPS)
    assert np.all(rtt[inside] >= sky) and np.all(rtt[inside] <= sky + bound + 1e-3)
    assert np.all(rtt[inside] - sky > 0.1)  # >= 3 hops x 2 x 69 us of serialisation


def test_pop_site_defaults_to_the_shipped_list(tmp_path, monkeypatch):
    # a fresh install: no data directory, no curated data; `skymesh packets --pop Warsaw`
    monkeypatch.setenv("SKYMESH_DATA", str(tmp_path / "empty"))
    site = pop_site("Warsaw")
    assert site.name.startswith("Warsaw")
    km = _haversine_km((site.gateway_lat_deg, site.gateway_lon_deg), (52.23, 21.01))
    assert km < 1500  # a European gateway carries it
