"""Routing against networkx, the speed-of-light bound, symmetry and unreachability."""

import networkx as nx
import numpy as np
import pytest

from skymesh.constants import EARTH_MEAN_RADIUS_KM, SPEED_OF_LIGHT_KM_S
from skymesh.links.isl import isl_lengths_km, plus_grid_pairs
from skymesh.links.visibility import visible_pairs
from skymesh.network.routing import all_pairs_space_rtt_ms, route, routing_state, walk_back
from skymesh.network.snapshot import NodeLayout, snapshot_graph
from skymesh.orbits.presets import load_constellation
from skymesh.orbits.propagate import positions_ecef
from skymesh.timebase import time_grid

CITIES = {  # name: (lat, lon), from an atlas
    "Paris": (48.8566, 2.3522),
    "Luanda": (-8.8368, 13.2343),
    "Tokyo": (35.6895, 139.6917),
    "New York": (40.7128, -74.0060),
    "Sao Paulo": (-23.5505, -46.6333),
    "Sydney": (-33.8688, 151.2093),
    "Nairobi": (-1.2921, 36.8219),
    "Tehran": (35.6892, 51.3890),
    "Reykjavik": (64.1466, -21.9426),
    "North Pole camp": (89.5, 0.0),
}


def _snapshot(name="starlink-shell1", when="2026-01-01T00:00:00Z", mode="isl", relays=None):
    c = load_constellation(name)
    pos = positions_ecef(c, time_grid(when))[:, 0]
    lat = np.array([v[0] for v in CITIES.values()])
    lon = np.array([v[1] for v in CITIES.values()])
    g, s, _, r, _ = visible_pairs(pos, lat, lon)
    pairs = plus_grid_pairs(c)
    links = dict(
        endpoint_links=(g, s, np.zeros_like(g), r),
        isl_pairs=pairs,
        isl_km=isl_lengths_km(pos, pairs),
    )
    n_relays = 0
    if relays is not None:
        rg, rs, _, rr, _ = visible_pairs(pos, relays[:, 0], relays[:, 1])
        links["relay_links"] = (rg, rs, np.zeros_like(rg), rr)
        n_relays = len(relays)
    layout = NodeLayout(len(c), len(CITIES), n_relays)
    return c, layout, snapshot_graph(layout, mode, **links), lat, lon


def _great_circle_km(lat1, lon1, lat2, lon2):
    p1, p2, dl = np.deg2rad(lat1), np.deg2rad(lat2), np.deg2rad(lon2 - lon1)
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_MEAN_RADIUS_KM * np.arcsin(np.sqrt(h))


@pytest.mark.parametrize("when", ["2026-01-01T00:00:00Z", "2026-01-01T03:17:00Z"])
def test_rtt_respects_the_vacuum_bound_and_is_symmetric(when):
    _, layout, graph, lat, lon = _snapshot(when=when)
    rtt = all_pairs_space_rtt_ms(graph, layout)
    bound = (
        2e3
        * _great_circle_km(lat[:, None], lon[:, None], lat[None], lon[None])
        / SPEED_OF_LIGHT_KM_S
    )
    ok = np.isfinite(rtt)
    assert np.all(rtt[ok] >= bound[ok] - 1e-9)
    assert np.allclose(rtt[ok], rtt.T[ok], rtol=1e-12)
    assert ok.sum() > 60


def test_unreachable_pair_is_reported_as_unreachable():
    _, layout, graph, _, _ = _snapshot()
    pole = list(CITIES).index("North Pole camp")
    r = route(graph, layout, 0, pole)
    assert not r.reachable and r.space_rtt_ms is None and r.nodes == ()
    rtt = all_pairs_space_rtt_ms(graph, layout)
    assert np.all(np.isnan(np.delete(rtt[pole], pole)))


def test_shortest_paths_equal_networkx_on_random_snapshots():
    rng = np.random.default_rng(7)
    for _ in range(3):
        when = f"2026-01-01T{rng.integers(0, 24):02d}:{rng.integers(0, 60):02d}:00Z"
        _, layout, graph, _, _ = _snapshot(when=when)
        gx = nx.DiGraph()
        gx.add_nodes_from(range(graph.shape[0]))
        coo = graph.tocoo()
        gx.add_weighted_edges_from(zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist()))
        rtt = all_pairs_space_rtt_ms(graph, layout)
        for a in range(len(CITIES)):
            lengths = nx.single_source_dijkstra_path_length(gx, int(layout.up(a)))
            for b in range(len(CITIES)):
                if a == b:
                    continue
                expected = lengths.get(int(layout.down(b)))
                if expected is None:
                    assert np.isnan(rtt[a, b])
                else:
                    assert rtt[a, b] == pytest.approx(2e3 * expected, rel=1e-12)


def test_route_hops_sum_to_its_delay_and_never_relay_through_the_ground():
    _, layout, graph, _, _ = _snapshot()
    r = route(graph, layout, 0, 1)
    assert r.reachable
    nodes = np.array(r.nodes)
    assert nodes[0] == layout.up(0) and nodes[-1] == layout.down(1)
    assert np.all(nodes[1:-1] < layout.n_sats)  # isl mode: satellites only in between
    total = sum(graph[a, b] for a, b in zip(nodes[:-1], nodes[1:]))
    assert total == pytest.approx(r.delay_s, rel=1e-12)


def test_forwarding_state_leads_every_node_to_its_destination():
    c, layout, graph, _, _ = _snapshot()
    dests = np.array([0, 1, 2, 3])
    rtt, next_hop = routing_state(graph, layout, dests)
    full = all_pairs_space_rtt_ms(graph, layout)
    assert np.allclose(rtt, full[np.ix_(dests, dests)], equal_nan=True)
    n = layout.n_sats
    # Follow next hops from every endpoint; the delays add up to the shortest path.
    from scipy.sparse.csgraph import dijkstra

    for j, d in enumerate(dests):
        for src in range(layout.n_endpoints):
            if src == d or not np.isfinite(full[src, d]):
                continue
            node, prev, total, hops = n + src, int(layout.up(src)), 0.0, 0
            while node != n + d:
                nxt = next_hop[node, j]
                assert nxt >= 0
                g_from = prev if node == n + src else node
                g_to = int(layout.down(d)) if nxt == n + d else nxt
                total += graph[g_from, g_to]
                prev, node, hops = node, nxt, hops + 1
                assert hops < 100
            assert 2e3 * total == pytest.approx(full[src, d], rel=1e-9)
        # a satellite's next hop toward d is one step down its shortest path
        dist_to = dijkstra(graph.T.tocsr(), indices=int(layout.down(d)))
        sats = np.flatnonzero(np.isfinite(dist_to[:n]))[:50]
        for s in sats:
            nxt = next_hop[s, j]
            g_to = int(layout.down(d)) if nxt == n + d else nxt
            assert graph[s, g_to] + dist_to[g_to] == pytest.approx(dist_to[s], rel=1e-9)


def test_bent_pipe_needs_ground_relays_and_hybrid_is_never_slower():
    # a chain of ground relays every ~2 deg of latitude from Paris to Luanda
    lat = np.arange(47.0, -9.0, -2.0)
    relays = np.stack([lat, np.interp(lat, [-8.8, 48.9], [13.2, 2.4])], axis=1)
    _, layout, bent, *_ = _snapshot(mode="bent-pipe", relays=relays)
    _, _, hybrid, *_ = _snapshot(mode="hybrid", relays=relays)
    _, _, isl, *_ = _snapshot(mode="isl")
    paris, luanda = 0, 1
    r = route(bent, layout, paris, luanda)
    assert r.reachable
    kinds = np.array(r.nodes[1:-1])
    assert np.any(kinds >= layout.relay0)  # went through a gateway
    assert np.all((kinds < layout.n_sats) | (kinds >= layout.relay0))
    # no two satellites in a row: no ISLs in bent-pipe mode
    is_sat = kinds < layout.n_sats
    assert not np.any(is_sat[1:] & is_sat[:-1])
    r_h = route(hybrid, layout, paris, luanda)
    assert (
        r_h.delay_s
        <= min(
            r.delay_s,
            route(isl, NodeLayout(layout.n_sats, layout.n_endpoints), paris, luanda).delay_s,
        )
        + 1e-15
    )


def test_walk_back_reads_paths_off_predecessors():
    #   0 -> 1 -> 2 -> 3, and 4 unreachable
    pred = np.array([-9999, 0, 1, 2, -9999])
    out = walk_back(pred, np.array([3, 2, 4, 0]), np.array([0, 0, 0, 0]))
    assert out[0].tolist()[:4] == [0, 1, 2, 3]
    assert out[1].tolist()[:3] == [0, 1, 2] and out[1, 3] == -1
    assert np.all(out[2] == -1)
    assert out[3, 0] == 0 and np.all(out[3, 1:] == -1)
