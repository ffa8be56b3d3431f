"""Max-min fair allocation: hand-solved examples, the bottleneck characterisation and HiGHS."""

import numpy as np
import pytest
import scipy.sparse as sp

from skymesh.capacity.allocation import lp_max_min, max_min_fair, max_terminals_at_rate
from skymesh.errors import InputError


def routes(n_links, paths):
    """Incidence matrix from a list of per-flow link lists."""
    rows = [link for p in paths for link in p]
    cols = [f for f, p in enumerate(paths) for _ in p]
    return sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n_links, len(paths)))


def assert_feasible(R, c, d, x, rtol=1e-9):
    R = sp.csr_matrix(R)
    load = R @ x
    assert (load <= c * (1 + rtol) + 1e-12).all()
    assert (x >= -1e-12).all() and (x <= d * (1 + rtol) + 1e-12).all()


def assert_max_min_fair(R, c, d, x, w=None, rtol=1e-7):
    """Bertsekas & Gallager, Data Networks 2nd ed., §6.5.2: x is max-min fair iff every flow
    meets its demand or has a bottleneck link (saturated, and no flow on it has a larger
    normalised rate x/w). Checked directly, independently of the algorithm's own output."""
    R = sp.csc_matrix(R)
    w = np.ones(R.shape[1]) if w is None else np.asarray(w, float)
    load = R @ x
    saturated = load >= c * (1 - rtol) - 1e-12
    share = x / w
    for f in range(R.shape[1]):
        if x[f] >= d[f] * (1 - rtol):
            continue
        links = R.indices[R.indptr[f] : R.indptr[f + 1]]
        ok = False
        for link in links:
            if not saturated[link]:
                continue
            users = sp.csr_matrix(R)[link].indices
            if share[f] >= share[users].max() * (1 - rtol) - 1e-12:
                ok = True
        assert ok, f"flow {f} (rate {x[f]}) has no bottleneck link"


def test_bertsekas_gallager_example():
    """Five sessions, four links of capacity 1, after Bertsekas & Gallager, Data Networks,
    2nd ed. (1992), §6.5.2 figure "max-min fair solution for an example network"
    (reconstructed topology; solved by hand here).

    links: 0 = (1,3), 1 = (2,3), 2 = (3,5), 3 = (4,5)
    session 1: (1,3),(3,5); sessions 2, 3: (2,3); session 4: (4,5); session 5: (2,3),(3,5).
    By hand: (2,3) carries sessions 2, 3, 5 and fills first at 1/3 each. (3,5) then has
    1 - 1/3 = 2/3 left for session 1; (1,3) is left with 1/3 spare. Session 4 alone on
    (4,5) gets 1. Bottlenecks: 1 -> (3,5); 2, 3, 5 -> (2,3); 4 -> (4,5).
    """
    R = routes(4, [[0, 2], [1], [1], [3], [1, 2]])
    c = np.ones(4)
    out = max_min_fair(R, c)
    np.testing.assert_allclose(out["rate_mbps"], [2 / 3, 1 / 3, 1 / 3, 1.0, 1 / 3], rtol=1e-12)
    np.testing.assert_array_equal(out["bottleneck"], [2, 1, 1, 3, 1])
    np.testing.assert_array_equal(out["saturated"], [False, True, True, True])
    np.testing.assert_allclose(out["link_load_mbps"], [2 / 3, 1, 1, 1], rtol=1e-12)


@pytest.mark.parametrize("n_links", [1, 3, 10])
def test_linear_network_parking_lot(n_links):
    """Le Boudec, "Rate adaptation, congestion control and fairness: a tutorial", linear
    network example: flow 0 crosses all L links (capacity c), flow i uses link i only.
    Max-min fair: every flow gets c/2 (unlike proportional fairness: c/(L+1) for flow 0)."""
    R = routes(n_links, [list(range(n_links))] + [[i] for i in range(n_links)])
    out = max_min_fair(R, np.full(n_links, 10.0))
    np.testing.assert_allclose(out["rate_mbps"], 5.0)
    assert out["saturated"].all()


def test_demands_and_weights_by_hand():
    # one 10 Mbit/s link. Fill: all four reach 2 (flow 0 done); 8 left for three flows is
    # 8/3 > 2.5, so flow 1 stops at its demand 2.5; 10 - 2 - 2.5 = 5.5 -> 2.75 each.
    R = routes(1, [[0], [0], [0], [0]])
    out = max_min_fair(R, [10.0], [2.0, 2.5, np.inf, np.inf])
    np.testing.assert_allclose(out["rate_mbps"], [2.0, 2.5, 2.75, 2.75])
    np.testing.assert_array_equal(out["bottleneck"], [-1, -1, 0, 0])
    # demand 3 instead: 8/3 < 3, so flows 1-3 share 8 equally
    out = max_min_fair(R, [10.0], [2.0, 3.0, np.inf, np.inf])
    np.testing.assert_allclose(out["rate_mbps"], [2.0, 8 / 3, 8 / 3, 8 / 3])
    # all demands met, link not saturated
    out = max_min_fair(R, [10.0], [1.0, 1.0, 1.0, 1.0])
    np.testing.assert_allclose(out["rate_mbps"], 1.0)
    assert not out["saturated"][0]
    # weights 1:2 on a 6 Mbit/s link -> 2 and 4
    out = max_min_fair(routes(1, [[0], [0]]), [6.0], weights=[1.0, 2.0])
    np.testing.assert_allclose(out["rate_mbps"], [2.0, 4.0])
    # a zero-capacity link starves its flows and only them
    out = max_min_fair(routes(2, [[0], [0, 1], [1]]), [0.0, 4.0])
    np.testing.assert_allclose(out["rate_mbps"], [0.0, 0.0, 4.0])


def test_flow_without_links_gets_its_demand():
    R = sp.csr_matrix((1, 2))
    out = max_min_fair(R, [1.0], [3.0, np.inf])
    np.testing.assert_array_equal(out["rate_mbps"], [3.0, np.inf])
    np.testing.assert_array_equal(out["bottleneck"], [-2, -2])


def _random_instance(rng):
    n_links = int(rng.integers(2, 8))
    n_flows = int(rng.integers(2, 11))
    dense = rng.random((n_links, n_flows)) < 0.4
    dense[rng.integers(0, n_links, n_flows), np.arange(n_flows)] = True  # every flow routed
    c = rng.uniform(1.0, 10.0, n_links)
    d = np.where(rng.random(n_flows) < 0.4, rng.uniform(0.2, 4.0, n_flows), np.inf)
    return sp.csr_matrix(dense.astype(float)), c, d


@pytest.mark.parametrize("seed", range(25))
def test_matches_highs_sequential_lp(seed):
    rng = np.random.default_rng(1000 + seed)
    R, c, d = _random_instance(rng)
    w = rng.uniform(0.5, 2.0, R.shape[1]) if seed % 3 == 0 else None
    fill = max_min_fair(R, c, d, w)
    lp = lp_max_min(R, c, d, w)
    np.testing.assert_allclose(fill["rate_mbps"], lp["rate_mbps"], rtol=1e-7, atol=1e-9)
    assert_feasible(R, c, d, fill["rate_mbps"])
    assert_max_min_fair(R, c, d, fill["rate_mbps"], w)
    assert fill["rounds"] <= R.shape[0] + R.shape[1]


def test_large_instance_is_feasible_and_fair():
    rng = np.random.default_rng(7)
    n_links, n_flows = 300, 3000
    rows = rng.integers(0, n_links, (n_flows, 4))  # 4-hop routes
    R = sp.csr_matrix(
        (np.ones(rows.size), (rows.ravel(), np.repeat(np.arange(n_flows), 4))),
        shape=(n_links, n_flows),
    )
    R.data[:] = 1.0  # duplicates count once
    c = rng.uniform(100.0, 1000.0, n_links)
    d = np.where(rng.random(n_flows) < 0.3, rng.uniform(1.0, 20.0, n_flows), np.inf)
    out = max_min_fair(R, c, d)
    assert_feasible(R, c, d, out["rate_mbps"])
    assert_max_min_fair(R, c, d, out["rate_mbps"])


def test_max_terminals_at_rate_by_hand():
    # link 0: 10 Mbit/s, link 1: 4 Mbit/s; terminal routes t0: 0; t1: 0,1; t2: 1; t3: 0
    R = routes(2, [[0], [0, 1], [1], [0]])
    c = np.array([10.0, 4.0])
    # 2 Mbit/s each: link 0 carries t0,t1,t3 = 6 <= 10; link 1 carries t1,t2 = 4 <= 4
    out = max_terminals_at_rate(R, c, 2.0)
    assert out["n_terminals"] == 4 and out["limiting_link"] == -1
    # 2.5 Mbit/s: link 1 would carry 5 > 4 when t2 joins -> 2 terminals, link 1 limits
    out = max_terminals_at_rate(R, c, 2.5)
    assert out["n_terminals"] == 2 and out["limiting_link"] == 1
    np.testing.assert_array_equal(out["admitted"], [0, 1])
    # another order admits t0, t3, t2 before t1: link 0 5, link 1 2.5, then t1 -> 5 > 4
    out = max_terminals_at_rate(R, c, 2.5, order=[0, 3, 2, 1])
    assert out["n_terminals"] == 3
    # a terminal that only wants 1 Mbit/s needs only that
    out = max_terminals_at_rate(R, c, 2.5, demand_mbps=[np.inf, np.inf, 1.0, np.inf])
    assert out["n_terminals"] == 4


@pytest.mark.parametrize("seed", range(5))
def test_max_terminals_agrees_with_fair_allocation(seed):
    rng = np.random.default_rng(seed)
    R, c, _ = _random_instance(rng)
    target = 1.0
    k = max_terminals_at_rate(R, c, target)["n_terminals"]
    if k > 0:
        assert max_min_fair(R[:, :k], c)["rate_mbps"].min() >= target * (1 - 1e-9)
    if k < R.shape[1]:
        assert max_min_fair(R[:, : k + 1], c)["rate_mbps"].min() < target


def test_input_errors():
    R = routes(2, [[0], [1]])
    with pytest.raises(InputError) as err:
        max_min_fair(R, [1.0])
    assert err.value.field == "capacity_mbps"
    with pytest.raises(InputError):
        max_min_fair(R, [1.0, -1.0])
    with pytest.raises(InputError):
        max_min_fair(R, [1.0, 1.0], weights=[1.0, 0.0])
    with pytest.raises(InputError):
        max_terminals_at_rate(R, [1.0, 1.0], 0.0)
