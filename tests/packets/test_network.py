"""The packet network's arrays, checked without ns-3 against independent computations:
delays are distance / c from the satellites' own positions, forwarding chains are shortest
paths by scipy's Dijkstra, the paths are path_series', rates are the link budget's."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse.csgraph as csgraph

from skymesh.constants import SPEED_OF_LIGHT_KM_S
from skymesh.errors import InputError
from skymesh.links.budget import OPTICAL_ISL, STARLINK_USER_DOWNLINK_KU, link_capacity_mbps
from skymesh.links.isl import isl_lengths_km, plus_grid_pairs
from skymesh.links.visibility import look_angles, visible_pairs
from skymesh.network.over_time import path_series
from skymesh.network.snapshot import NodeLayout, snapshot_graph
from skymesh.orbits.frames import geodetic_to_ecef
from skymesh.orbits.propagate import positions_ecef
from skymesh.packets.flows import Flow, endpoint_index, parse_flow
from skymesh.packets.network import packet_network

from .conftest import GSL_BPS, ISL_BPS


def test_only_the_paths_nodes_are_built(net, shell1, grid, paris_luanda_points):
    """Every satellite path_series puts on the Paris-Luanda path at any step is a node, and
    the network is a small part of the 1,584-satellite shell."""
    table = path_series(shell1, grid, paris_luanda_points, [[0, 1], [1, 0]])
    on_path = {int(s) for p in table.column("path").to_pylist() for s in p}
    sats = set(net.node_compact[net.node_kind == "satellite"].tolist())
    assert on_path <= sats
    assert net.n_nodes < 200 < len(shell1)
    assert set(net.node_name[net.node_kind == "ground"]) == {"Paris", "Luanda"}


def test_delays_are_distance_over_c(net, shell1, grid, paris_luanda_points):
    pos = positions_ecef(shell1, grid, serving_only=True)  # (N, K, 3) km
    sat = net.node_kind == "satellite"
    comp = net.node_compact
    ground_xyz = geodetic_to_ecef(paris_luanda_points.lat_deg, paris_luanda_points.lon_deg)
    for li in range(net.n_links):
        a, b = net.link_a[li], net.link_b[li]
        xyz = []
        for n in (a, b):
            if sat[n]:
                xyz.append(pos[comp[n]])  # (K, 3)
            else:
                g = comp[n] - len(shell1)
                xyz.append(np.broadcast_to(ground_xyz[g], (len(grid), 3)))
        dist = np.linalg.norm(xyz[0] - xyz[1], axis=1)
        up = net.up[:, li]
        assert up.any()
        np.testing.assert_allclose(
            net.delay_s[up, li], dist[up] / SPEED_OF_LIGHT_KM_S, rtol=1e-9, atol=1e-12
        )


def test_forwarding_chains_are_scipy_shortest_paths(net, shell1, grid, paris_luanda_points):
    """From every built node that forwards toward a destination, at several steps, the chain
    stays inside the network and its delay is scipy's shortest distance on that step's graph."""
    isl = plus_grid_pairs(shell1)
    layout = NodeLayout(len(shell1), len(paris_luanda_points))
    for k in (0, 7, 19, len(grid) - 1):
        pos = positions_ecef(shell1, grid.subset(slice(k, k + 1)), serving_only=True)
        g, s, _, r = visible_pairs(pos, paris_luanda_points.lat_deg, paris_luanda_points.lon_deg)[
            :4
        ]
        graph = snapshot_graph(
            layout,
            "isl",
            isl_pairs=isl,
            isl_km=isl_lengths_km(pos, isl)[:, 0],
            endpoint_links=(g, s, np.zeros(len(g), int), r),
        )
        for j, d in enumerate(net.dest_endpoint):
            dist = csgraph.dijkstra(graph.T, indices=int(layout.down(d)))  # distance *to* d
            goal = net.endpoint_node[d]
            # nodes that hold an entry toward d at some step must hold one at every step
            holders = np.flatnonzero((net.next_hop[:, :, j] >= 0).any(axis=0))
            assert net.endpoint_node[net.dest_endpoint[1 - j]] in holders
            for u in holders:
                if u == goal:
                    continue
                total, cur, hops = 0.0, u, 0
                while cur != goal:
                    nxt = int(net.next_hop[k, cur, j])
                    assert nxt >= 0, f"step {k}: chain from {net.node_name[u]} breaks"
                    total += net.delay_s[k, net.link_index(np.array([cur]), np.array([nxt]))[0]]
                    cur, hops = nxt, hops + 1
                    assert hops < 100
                c = net.node_compact[u]
                src = c if c < len(shell1) else int(layout.up(c - len(shell1)))
                assert total == pytest.approx(dist[src], rel=1e-12, abs=1e-15)


def test_pair_rtt_matches_path_series(net, shell1, grid, paris_luanda_points):
    table = path_series(shell1, grid, paris_luanda_points, [[0, 1]])
    np.testing.assert_allclose(
        net.space_rtt_ms[:, 0], table.column("space_rtt_ms").to_numpy(), rtol=1e-12
    )
    np.testing.assert_array_equal(net.hops[:, 0], table.column("hops").to_numpy())
    np.testing.assert_array_equal(
        net.path_changed[:, 0], table.column("path_changed").to_numpy(zero_copy_only=False)
    )


def test_fixed_rates_are_applied(net):
    isl = net.link_kind == "isl"
    assert isl.any() and (~isl).any()
    assert np.all(net.rate_bps[:, isl] == ISL_BPS)
    assert np.all(net.rate_bps[:, ~isl] == GSL_BPS)


def test_default_rates_come_from_skymesh_capacities(shell1, paris_luanda_points):
    from skymesh.timebase import time_grid

    grid = time_grid("2026-01-01T00:00:00Z", 5, 1.0)
    net = packet_network(shell1, grid, paris_luanda_points, [[0, 1]])
    isl = net.link_kind == "isl"
    assert np.all(net.rate_bps[:, isl] == OPTICAL_ISL.fixed_capacity_mbps * 1e6)
    pos = positions_ecef(shell1, grid, serving_only=True)
    for li in np.flatnonzero(~isl):
        a, b = net.link_a[li], net.link_b[li]
        ground, sat = (a, b) if net.node_kind[a] == "ground" else (b, a)
        g = net.node_compact[ground] - len(shell1)
        s = net.node_compact[sat]
        for k in np.flatnonzero(net.up[:, li]):
            el, _, rng = look_angles(
                pos[s, k][None, :],
                paris_luanda_points.lat_deg[g],
                paris_luanda_points.lon_deg[g],
            )
            want = 1e6 * link_capacity_mbps(
                np.atleast_1d(rng), np.atleast_1d(el), STARLINK_USER_DOWNLINK_KU
            )
            assert net.rate_bps[k, li] == pytest.approx(float(np.ravel(want)[0]), rel=1e-6)
            assert 1e8 < net.rate_bps[k, li] < 1e10  # a Ku channel: 0.1-10 Gbit/s


def test_bad_input_is_one_clear_error(shell1, grid, paris_luanda_points):
    with pytest.raises(InputError, match="same place"):
        packet_network(shell1, grid, paris_luanda_points, [[0, 0]])
    with pytest.raises(InputError, match="does not exist"):
        packet_network(shell1, grid, paris_luanda_points, [[0, 5]])
    with pytest.raises(InputError, match="isl_rate_bps"):
        packet_network(shell1, grid, paris_luanda_points, [[0, 1]], isl_rate_bps=-1)


@pytest.mark.parametrize(
    "text, want",
    [
        ("tcp:cubic:Paris->Luanda", Flow("tcp", "Paris", "Luanda", cc="cubic")),
        ("tcp:Paris->Luanda", Flow("tcp", "Paris", "Luanda", cc="newreno")),
        (
            "udp:5:Paris->Luanda@10-60",
            Flow("udp", "Paris", "Luanda", rate_mbps=5.0, start_s=10.0, stop_s=60.0),
        ),
        (
            "ping:0.01:Paris->Luanda@5-",
            Flow("ping", "Paris", "Luanda", interval_s=0.01, start_s=5.0),
        ),
        ("ping:Rio de Janeiro->St Petersburg", Flow("ping", "Rio de Janeiro", "St Petersburg")),
    ],
)
def test_parse_flow(text, want):
    assert parse_flow(text) == want


@pytest.mark.parametrize(
    "text, needle",
    [
        ("Paris->Luanda", "not a flow"),
        ("quic:Paris->Luanda", "unknown flow kind"),
        ("tcp:vegas:Paris->Luanda", "vegas"),
        ("udp:fast:Paris->Luanda", "not a number"),
        ("udp:-3:Paris->Luanda", "> 0"),
        ("ping:0.1:Paris->Paris", "same place"),
        ("tcp:Paris->Luanda@20-10", "after its start"),
        ("tcp:Paris->Luanda@20", "@START-STOP"),
        ("tcp:->Luanda", "both ends"),
    ],
)
def test_parse_flow_errors_name_the_flag(text, needle):
    with pytest.raises(InputError, match=needle) as err:
        parse_flow(text)
    assert err.value.field == "flow"


def test_endpoint_names_fold_case_and_accents():
    names = ["São Paulo", "Paris", "Washington, D.C."]
    assert endpoint_index(names, "sao paulo") == 0
    assert endpoint_index(names, "PARIS") == 1
    assert endpoint_index(names, "Washington") == 2
    assert endpoint_index(names, 1) == 1
    with pytest.raises(InputError, match="not a ground point"):
        endpoint_index(names, "Luanda")


def test_forwarding_state_is_routing_states(net, shell1, grid, paris_luanda_points):
    """Every forwarding entry the network holds is routing_state's next hop for that node and
    destination at that step (in SkyMesh's compact numbering)."""
    from skymesh.network.routing import routing_state

    isl = plus_grid_pairs(shell1)
    layout = NodeLayout(len(shell1), len(paris_luanda_points))
    for k in (0, 3, 29, len(grid) - 2):
        pos = positions_ecef(shell1, grid.subset(slice(k, k + 1)), serving_only=True)
        g, s, _, r = visible_pairs(pos, paris_luanda_points.lat_deg, paris_luanda_points.lon_deg)[
            :4
        ]
        graph = snapshot_graph(
            layout,
            "isl",
            isl_pairs=isl,
            isl_km=isl_lengths_km(pos, isl)[:, 0],
            endpoint_links=(g, s, np.zeros(len(g), int), r),
        )
        _, table = routing_state(graph, layout, net.dest_endpoint)
        held = net.next_hop[k] >= 0
        assert held.sum() > 10
        u, j = np.nonzero(held)
        np.testing.assert_array_equal(
            net.node_compact[net.next_hop[k][u, j]], table[net.node_compact[u], j]
        )
