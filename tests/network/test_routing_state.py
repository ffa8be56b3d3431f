"""routing_state (searches without the endpoint down nodes) against full-graph searches."""

import numpy as np
import pytest
from scipy.sparse.csgraph import dijkstra

from skymesh.links.isl import isl_lengths_km, plus_grid_pairs
from skymesh.links.visibility import visible_pairs
from skymesh.network.routing import routing_state
from skymesh.network.snapshot import NodeLayout, snapshot_graph
from skymesh.orbits.presets import load_constellation
from skymesh.orbits.propagate import positions_ecef
from skymesh.timebase import time_grid


def _graph(mode, n_relays, seed):
    rng = np.random.default_rng(seed)
    c = load_constellation("starlink-shell1")
    pos = positions_ecef(c, time_grid("2026-01-01T05:43:00Z"))[:, 0]
    lat = np.degrees(np.arcsin(rng.uniform(-0.9, 0.9, 12)))
    lon = rng.uniform(-180, 180, 12)
    lat[-1] = 89.0  # never sees the 53 deg shell
    g, s, _, r, _ = visible_pairs(pos, lat, lon)
    pairs = plus_grid_pairs(c)
    links = dict(
        endpoint_links=(g, s, np.zeros_like(g), r),
        isl_pairs=pairs,
        isl_km=isl_lengths_km(pos, pairs),
    )
    if n_relays:
        rl = np.stack(
            [
                np.degrees(np.arcsin(rng.uniform(-0.8, 0.8, n_relays))),
                rng.uniform(-180, 180, n_relays),
            ],
            axis=1,
        )
        rg, rs, _, rr, _ = visible_pairs(pos, rl[:, 0], rl[:, 1])
        links["relay_links"] = (rg, rs, np.zeros_like(rg), rr)
    layout = NodeLayout(len(c), len(lat), n_relays)
    return layout, snapshot_graph(layout, mode, **links)


@pytest.mark.parametrize("mode,n_relays", [("isl", 0), ("hybrid", 40), ("bent-pipe", 150)])
def test_routing_state_matches_searches_on_the_full_graph(mode, n_relays):
    layout, graph = _graph(mode, n_relays, seed=11)
    dests = np.array([0, 3, 5, 11])
    rtt, next_hop = routing_state(graph, layout, dests)
    # Reference: Dijkstra over the whole graph, down nodes included.
    dist = dijkstra(graph, directed=True, indices=layout.up(np.arange(layout.n_endpoints)))
    ref = 2e3 * dist[np.ix_(dests, layout.down(dests))]
    ref[~np.isfinite(ref)] = np.nan
    np.fill_diagonal(ref, 0.0)
    assert np.allclose(rtt, ref, rtol=1e-12, equal_nan=True)
    assert np.isnan(rtt[-1, :-1]).all()  # the 89 N point
    n_compact = layout.n_sats + layout.n_endpoints + layout.n_relays
    assert next_hop.shape == (n_compact, len(dests))

    def graph_node(compact, dst):
        if compact < layout.n_sats:
            return compact
        if compact < layout.n_sats + layout.n_endpoints:
            e = compact - layout.n_sats
            assert e == dst  # endpoints never carry transit
            return int(layout.down(e))
        return compact + layout.n_endpoints  # relay

    # Every hop lies on a shortest path: from each node with a route, the hop's
    # edge plus the hop's remaining delay equals the node's remaining delay.
    to_dest = dijkstra(graph.T.tocsr(), directed=True, indices=layout.down(dests))
    for j, d in enumerate(dests):
        for node in range(n_compact):
            hop = next_hop[node, j]
            if node == layout.n_sats + d:
                assert hop == -1
                continue
            g_node = (
                int(layout.up(node - layout.n_sats))
                if layout.n_sats <= node < layout.n_sats + layout.n_endpoints
                else graph_node(node, d)
            )
            if not np.isfinite(to_dest[j, g_node]):
                assert hop == -1
                continue
            assert hop >= 0
            g_hop = graph_node(hop, d)
            assert graph[g_node, g_hop] + to_dest[j, g_hop] == pytest.approx(
                to_dest[j, g_node], rel=1e-12
            )


def _split_arrays(graph, layout):
    from skymesh.network.routing import split_down_links

    search, link_ptr, link_sat, link_w = split_down_links(graph, layout)
    return search.indptr, search.indices, search.data, link_ptr, link_sat, link_w


@pytest.mark.parametrize("down", [0, 40])
def test_search_graph_is_the_split_snapshot_bit_for_bit(down):
    # The isl-mode chunk path builds the searched graph directly; it must be exactly
    # what splitting the snapshot graph gives (same edges, order and weight bits).
    from skymesh.network.snapshot import isl_plan, search_graph

    rng = np.random.default_rng(down)
    c = load_constellation("starlink-shell1")
    pos = positions_ecef(c, time_grid("2026-01-01T05:43:00Z"))[:, 0]
    lat = np.degrees(np.arcsin(rng.uniform(-0.9, 0.9, 15)))
    lon = rng.uniform(-180, 180, 15)
    g, s, _, r, _ = visible_pairs(pos, lat, lon)
    order = np.lexsort((s, g))
    g, s, r = g[order], s[order], r[order]
    pairs = plus_grid_pairs(c)
    km = isl_lengths_km(pos, pairs)
    km[rng.choice(len(pairs), down, replace=False)] = np.nan  # failed links
    layout = NodeLayout(len(c), len(lat))
    graph = snapshot_graph(
        layout, "isl", endpoint_links=(g, s, np.zeros_like(g), r), isl_pairs=pairs, isl_km=km
    )
    want = _split_arrays(graph, layout)
    got = search_graph(layout, isl_plan(pairs, len(c)), km, (g, s, r))
    for a, b in zip(want, got):
        assert np.array_equal(np.asarray(a), np.asarray(b))
        assert np.asarray(a).dtype.kind == np.asarray(b).dtype.kind
    with pytest.raises(ValueError, match="sorted"):
        search_graph(layout, isl_plan(pairs, len(c)), km, (g[::-1], s[::-1], r[::-1]))


def test_isl_plan_refuses_a_pair_listed_twice():
    from skymesh.network.snapshot import isl_plan

    assert isl_plan(np.array([[0, 1], [1, 2]]), 3) is not None
    assert isl_plan(np.array([[0, 1], [1, 0]]), 3) is None  # the snapshot would sum them
    with pytest.raises(ValueError):
        isl_plan(np.array([[0, 5]]), 3)
