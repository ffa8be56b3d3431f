"""The compiled multi-source Dijkstra against scipy's, predecessors on exact ties included."""

import numpy as np
import pytest
import scipy
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra as scipy_dijkstra

from skymesh.network import sssp

# scipy's tie order is that of its std::priority_queue from 1.16 on (a Fibonacci heap
# before); the kernels reproduce 1.16+. With an older scipy only distances are compared.
SCIPY_PQ = tuple(int(x) for x in scipy.__version__.split(".")[:2]) >= (1, 16)


def _random_graph(rng, n, m, weights):
    rows, cols = rng.integers(0, n, m), rng.integers(0, n, m)
    return sp.csr_matrix((weights(m), (rows, cols)), shape=(n, n))


@pytest.mark.parametrize("kind", ["integer", "quarter", "with-zeros", "real"])
def test_same_distances_and_predecessors_as_scipy(kind):
    # Small integer weights make exact ties common: the predecessor then depends on
    # the order in which equal distances are settled, which must be scipy's.
    rng = np.random.default_rng({"integer": 1, "quarter": 2, "with-zeros": 3, "real": 4}[kind])
    weights = {
        "integer": lambda m: rng.integers(1, 5, m).astype(float),
        "quarter": lambda m: rng.integers(4, 13, m) / 4.0,
        "with-zeros": lambda m: rng.integers(0, 4, m).astype(float),  # the heap kernel
        "real": lambda m: rng.uniform(1e-3, 7e-3, m),
    }[kind]
    ties = 0
    for _ in range(60):
        n = int(rng.integers(2, 250))
        g = _random_graph(rng, n, int(rng.integers(n, 6 * n)), weights)
        src = rng.integers(0, n, 5)
        d_ref, p_ref = scipy_dijkstra(g, directed=True, indices=src, return_predecessors=True)
        d, p = sssp.dijkstra(g, src)
        assert np.array_equal(d, d_ref)
        assert p.dtype == p_ref.dtype
        if SCIPY_PQ:
            assert np.array_equal(p, p_ref)
        # count nodes reached at their distance through more than one in-neighbour
        coo = g.tocoo()
        for i in range(len(src)):
            hit = d[i, coo.row] + coo.data == d[i, coo.col]
            ties += int(
                np.sum(np.bincount(coo.col[hit & np.isfinite(d[i, coo.col])], minlength=n) > 1)
            )
    if kind != "real":
        assert ties > 100  # the case that decides the predecessor rule did occur


def test_tie_goes_to_the_in_neighbour_scipy_pops_first():
    # 0 -> {1, 2} -> 3, all weights 1: 1 and 2 settle at the same distance; scipy's
    # queue of (-dist, node) pops the larger index first, so 3's predecessor is 2.
    g = sp.csr_matrix((np.ones(4), ([0, 0, 1, 2], [1, 2, 3, 3])), shape=(5, 5))
    d, p = sssp.dijkstra(g, [0])
    assert d[0].tolist() == [0.0, 1.0, 1.0, 2.0, np.inf]
    assert p[0].tolist() == [sssp.NULL_IDX, 0, 0, 2, sssp.NULL_IDX]
    if SCIPY_PQ:
        assert np.array_equal(p, scipy_dijkstra(g, indices=[0], return_predecessors=True)[1])


def test_same_answers_on_one_thread_and_on_all():
    rng = np.random.default_rng(5)
    g = _random_graph(rng, 400, 2400, lambda m: rng.integers(1, 6, m).astype(float))
    src = np.arange(0, 400, 7)
    before = sssp.set_threads(None)
    try:
        sssp.set_threads(1)
        one = sssp.dijkstra(g, src)
        sssp.set_threads(before)
        many = sssp.dijkstra(g, src)
    finally:
        sssp.set_threads(before)
    assert np.array_equal(one[0], many[0]) and np.array_equal(one[1], many[1])


def test_min_over_links_matches_a_dense_argmin():
    rng = np.random.default_rng(6)
    dist = rng.integers(0, 6, (7, 30)).astype(float)
    dist[dist == 5] = np.inf
    counts = rng.integers(0, 5, 9)
    ptr = np.concatenate([[0], np.cumsum(counts)])
    sat = rng.integers(0, 30, ptr[-1])
    w = rng.integers(1, 3, ptr[-1]).astype(float)
    best, arg = sssp.min_over_links(dist, ptr, sat, w)
    for i in range(7):
        for e in range(9):
            cand = dist[i, sat[ptr[e] : ptr[e + 1]]] + w[ptr[e] : ptr[e + 1]]
            if cand.size == 0 or not np.isfinite(cand.min()):
                assert best[i, e] == np.inf and arg[i, e] == -1
            else:
                assert best[i, e] == cand.min()
                assert arg[i, e] == sat[ptr[e] : ptr[e + 1]][np.argmin(cand)]  # first on ties


def test_bad_source_is_refused():
    g = sp.csr_matrix((np.ones(1), ([0], [1])), shape=(2, 2))
    with pytest.raises(ValueError, match="out of range"):
        sssp.dijkstra(g, [2])


@pytest.mark.parametrize("mode,n_relays", [("isl", 0), ("hybrid", 30)])
def test_routing_state_equals_the_scipy_formulation_on_shell1(mode, n_relays):
    # Same RTTs and next hops, bit for bit, as scipy's Dijkstra with a numpy argmin
    # (the formulation before the compiled kernels), on real snapshots with ties.
    from skymesh.links.isl import isl_lengths_km, plus_grid_pairs
    from skymesh.links.visibility import visible_pairs
    from skymesh.network.routing import routing_state
    from skymesh.network.snapshot import NodeLayout, snapshot_graph
    from skymesh.orbits.presets import load_constellation
    from skymesh.orbits.propagate import positions_ecef
    from skymesh.timebase import time_grid

    rng = np.random.default_rng(8)
    c = load_constellation("starlink-shell1")
    pairs = plus_grid_pairs(c)
    lat = np.degrees(np.arcsin(rng.uniform(-0.85, 0.85, 40)))
    lon = rng.uniform(-180, 180, 40)
    for when in ("2026-01-01T00:00:00Z", "2026-01-01T07:41:10Z"):
        pos = positions_ecef(c, time_grid(when))[:, 0]
        g, s, _, r, _ = visible_pairs(pos, lat, lon)
        links = dict(
            endpoint_links=(g, s, np.zeros_like(g), r),
            isl_pairs=pairs,
            isl_km=isl_lengths_km(pos, pairs),
        )
        if n_relays:
            rg, rs, _, rr, _ = visible_pairs(pos, lat[:n_relays] + 1.0, lon[:n_relays] - 1.0)
            links["relay_links"] = (rg, rs, np.zeros_like(rg), rr)
        layout = NodeLayout(len(c), len(lat), n_relays)
        graph = snapshot_graph(layout, mode, **links)
        rtt, hop = routing_state(graph, layout)
        rtt_ref, hop_ref = routing_state(graph, layout, engine="scipy")
        assert np.array_equal(rtt, rtt_ref, equal_nan=True)
        if SCIPY_PQ:
            assert np.array_equal(hop, hop_ref)


def test_fused_last_hop_equals_the_two_steps():
    rng = np.random.default_rng(9)
    g = _random_graph(rng, 300, 1500, lambda m: rng.integers(1, 6, m).astype(float))
    src = np.arange(0, 300, 11)
    counts = rng.integers(0, 6, 40)
    ptr = np.concatenate([[0], np.cumsum(counts)])
    sat = rng.integers(0, 300, ptr[-1])
    w = rng.integers(1, 3, ptr[-1]).astype(float)
    pred, best, arg = sssp.dijkstra_last_hop(g, src, ptr, sat, w)
    d_ref, p_ref = scipy_dijkstra(g, directed=True, indices=src, return_predecessors=True)
    b_ref, a_ref = sssp.min_over_links(d_ref, ptr, sat, w, engine="numpy")
    assert np.array_equal(best, b_ref) and np.array_equal(arg, a_ref)
    if SCIPY_PQ:
        assert np.array_equal(pred, p_ref)


def test_routing_state_equals_the_scipy_formulation_on_the_real_tle_set(shared_data):
    # The real Starlink set has satellites a few hundred metres apart: edges far
    # lighter than the bucket width, which the bucket kernel handles by re-scanning.
    from skymesh.ground.places import load_hypatia_cities
    from skymesh.links.isl import isl_lengths_km, plus_grid_pairs
    from skymesh.links.visibility import visible_pairs
    from skymesh.network.routing import routing_state
    from skymesh.network.snapshot import NodeLayout, snapshot_graph
    from skymesh.orbits.planes import assign_planes
    from skymesh.orbits.propagate import positions_ecef
    from skymesh.orbits.tle import load_tle_constellation
    from skymesh.timebase import TimeGrid

    const, _ = load_tle_constellation(shared_data / "starlink_tle_20251204.txt", skip_bad=True)
    const = assign_planes(const)
    pairs = plus_grid_pairs(const)
    cities = "hypatia_ground_stations_cities_sorted_by_estimated_2025_pop_top_100.basic.txt"
    _, _, lat, lon, alt = load_hypatia_cities(shared_data / cities)
    pos = positions_ecef(const, TimeGrid(const.epoch, np.array([3600.0])))[:, 0]
    g, s, _, r, _ = visible_pairs(pos, lat[:30], lon[:30], alt[:30])
    layout = NodeLayout(len(const), 30)
    graph = snapshot_graph(
        layout,
        "isl",
        isl_pairs=pairs,
        isl_km=isl_lengths_km(pos, pairs),
        endpoint_links=(g, s, np.zeros_like(g), r),
    )
    w = graph.tocsr().data
    assert w.min() < 2 * w.max() / sssp._MAX_SLOTS  # the light-edge case is present
    rtt, hop = routing_state(graph, layout)
    rtt_ref, hop_ref = routing_state(graph, layout, engine="scipy")
    assert np.array_equal(rtt, rtt_ref, equal_nan=True)
    if SCIPY_PQ:
        assert np.array_equal(hop, hop_ref)
