"""Beam assignment: hand-solved cases, an independent per-terminal LP, exhaustive search,
and the "nobody unserved while a satellite in view has spare beam time" property."""

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linprog

from skymesh.capacity import assignment
from skymesh.capacity.assignment import carry_at_rate, terminal_rates
from skymesh.capacity.network import NetworkCapacityParams, backhaul_network, satellite_routes
from skymesh.errors import InputError


@pytest.fixture(params=["highspy", "linprog"])
def solver(request):
    return request.param


@pytest.fixture
def assign_cells(solver):
    """assign_cells with each solver: the warm-started, column-generating highspy model and
    the plain linprog formulation must agree on every hand-solved case."""

    def call(*a, **k):
        return assignment.assign_cells(*a, solver=solver, initial_pairs=1, **k)

    return call


def test_chain_by_hand(assign_cells):
    """Cells 0-1-2, satellite 0 sees cells 0 and 1, satellite 1 sees 1 and 2, one beam of
    1,000 Mbit/s each, elastic demand, unit weights. By hand: 2,000 Mbit/s shared by three
    cells, cell 1 can draw on both, so all three get 2,000/3."""
    r = assign_cells([0, 1, 1, 2], [0, 0, 1, 1], [1000.0] * 4, [np.inf] * 3, beams_per_sat=1)
    assert np.allclose(r["cell_rate_mbps"], 2000 / 3, rtol=1e-6)
    assert set(r["cell_reason"]) == {"beam-time"}


def test_demand_fraction_fairness_by_hand(assign_cells):
    """Demands 300, 5,000, 5,000 on the same chain: weights = demand, so each cell gets the
    same fraction t of its demand, 10,300 t = 2,000 -> t = 0.19417."""
    r = assign_cells(
        [0, 1, 1, 2], [0, 0, 1, 1], [1000.0] * 4, [300.0, 5000.0, 5000.0], beams_per_sat=1
    )
    t = 2000.0 / 10300.0
    assert np.allclose(r["cell_level"], t, rtol=1e-6)


def test_demand_met_and_leftover_goes_to_others(assign_cells):
    """Cell 0 wants 100 Mbit/s only; cell 1 is elastic; one satellite, one beam of 1,000.
    Cell 0 freezes at its demand (reason 'demand'), cell 1 gets the remaining 900."""
    r = assign_cells(
        [0, 1], [0, 0], [1000.0, 1000.0], [100.0, np.inf], beams_per_sat=1, cell_weight=[1.0, 1.0]
    )
    assert np.allclose(r["cell_rate_mbps"], [100.0, 900.0], rtol=1e-6)
    assert list(r["cell_reason"]) == ["demand", "beam-time"]


def test_downlink_and_backhaul_bind(assign_cells):
    """Two cells each alone on a satellite (one beam on a cell at most: 1,500 Mbit/s), a
    satellite downlink of 1,400 and one shared feeder of 2,000. By hand: cell 0 + cell 1 <=
    2,000, each <= 1,400: equal split 1,000 each, the feeder binds, the downlink does not."""
    bh = {
        "route_of_pair": np.array([0, 1]),
        "R": sp.csr_matrix(np.array([[1.0, 1.0]])),
        "capacity_mbps": np.array([2000.0]),
        "kind": np.array(["gsl-feeder"]),
    }
    r = assign_cells(
        [0, 1],
        [0, 1],
        [1500.0, 1500.0],
        [np.inf, np.inf],
        beams_per_sat=4,
        cell_beam_cap=4,
        sat_downlink_mbps=1400.0,
        backhaul=bh,
        cell_weight=[1.0, 1.0],
    )
    assert np.allclose(r["cell_rate_mbps"], [1000.0, 1000.0], rtol=1e-6)
    assert list(r["cell_reason"]) == ["gsl-feeder", "gsl-feeder"]


def test_no_coverage_and_no_route(assign_cells):
    bh = {
        "route_of_pair": np.array([-1]),
        "R": sp.csr_matrix((1, 1)),
        "capacity_mbps": np.array([1.0]),
        "kind": np.array(["gateway"]),
    }
    r = assign_cells([1], [0], [1000.0], [10.0, 10.0], backhaul=bh)
    assert list(r["cell_reason"]) == ["no-coverage", "no-route"]
    assert (r["cell_rate_mbps"] == 0).all()


def test_bad_input(assign_cells):
    with pytest.raises(InputError):
        assign_cells([0], [0], [-1.0], [1.0])
    with pytest.raises(InputError):
        assign_cells([3], [0], [1.0], [1.0])
    with pytest.raises(InputError):
        assignment.assign_cells([0], [0], [1.0], [1.0], solver="cplex")


def test_solvers_agree_on_random_instances():
    """Warm-started column generation (highspy) and cold linprog rounds give the same levels
    (the lexicographic max-min vector is unique) on random instances with backhaul."""
    rng = np.random.default_rng(7)
    for _ in range(4):
        pc, ps, k, d = random_instance(rng, 15, 6, 0.4)
        R = sp.csr_matrix((rng.random((3, 6)) < 0.5).astype(float))
        bh = {
            "route_of_pair": ps,
            "R": R,
            "capacity_mbps": rng.uniform(1e3, 4e3, 3),
            "kind": np.array(["isl", "gsl-feeder", "gateway"]),
        }
        a = assignment.assign_cells(
            pc, ps, k, d, beams_per_sat=2, backhaul=bh, solver="highspy", initial_pairs=1
        )
        b = assignment.assign_cells(pc, ps, k, d, beams_per_sat=2, backhaul=bh, solver="linprog")
        assert np.allclose(np.sort(a["cell_level"]), np.sort(b["cell_level"]), rtol=1e-6, atol=1e-9)
        assert np.allclose(a["cell_level"], b["cell_level"], rtol=1e-6, atol=1e-9)


def test_satellite_routes_and_backhaul_by_hand():
    """Three satellites in a chain 0-1-2 (ISLs), the only gateway seen by satellite 2: every
    satellite's route ends at satellite 2, and satellite 0's traffic loads ISLs 2->1 and
    1->0, the feeder (gateway 0, satellite 2) and the gateway site."""
    gl = (np.array([0]), np.array([2]), np.array([0]), np.array([800.0]))
    isl = np.array([[0, 1], [1, 2]])
    r = satellite_routes(
        3, gl, np.ones((1, 1), bool), isl_pairs=isl, isl_km=np.array([1000.0, 1000.0])
    )
    assert r["gateway"].tolist() == [[0, 0, 0]]
    assert r["path"][0, 0].tolist()[:3] == [0, 1, 2]
    assert r["path"][0, 2].tolist()[:1] == [2]
    params = NetworkCapacityParams(
        feeder_capacity_mbps=5000.0, gateway_antennas=1, gateway_antenna_mbps=7000.0
    )
    bh = backhaul_network(np.zeros((3, 3)), r, [0.0], [0.0], params)
    R = bh["R"].toarray()
    used = {(k, a, b) for k, a, b, x in zip(bh["kind"], bh["a"], bh["b"], R[:, 0]) if x}
    assert used == {("isl", 1, 0), ("isl", 2, 1), ("gsl-feeder", 0, 2), ("gateway", 0, -1)}
    assert bh["route_ok"].all()
    # bent-pipe: only satellite 2 reaches the gateway
    r2 = satellite_routes(3, gl, np.ones((1, 1), bool), mode="bent-pipe")
    assert r2["gateway"].tolist() == [[-1, -1, 0]]


def random_instance(rng, n_cells, n_sats, p_see=0.6):
    pc, ps = np.nonzero(rng.random((n_cells, n_sats)) < p_see)
    k = rng.uniform(500.0, 1500.0, pc.size)
    d = rng.uniform(200.0, 3000.0, n_cells)
    return pc, ps, k, d


@pytest.mark.parametrize("seed", range(6))
def test_no_cell_starved_while_spare_beam_time(seed, assign_cells):
    """Property: a covered cell with unmet demand has no satellite in view with spare beam
    time (every satellite it sees is out of beams, or the cell is at its channel cap)."""
    rng = np.random.default_rng(seed)
    pc, ps, k, d = random_instance(rng, 12, 5, 0.35)
    r = assign_cells(pc, ps, k, d, beams_per_sat=2, cell_beam_cap=3)
    spare = r["sat_beam_time"] < 2 - 1e-6
    per_cell_bt = np.bincount(pc, weights=r["beam_time"], minlength=12)
    for c in range(12):
        if r["cell_rate_mbps"][c] >= d[c] * (1 - 1e-6):
            continue
        sats = ps[pc == c]
        pair_full = r["beam_time"][pc == c] >= 1 - 1e-6
        ok = (~spare[sats] | pair_full).all() or per_cell_bt[c] >= 3 - 1e-6
        assert ok, f"cell {c} below demand while satellites {sats[spare[sats]]} have spare"


def lp_terminal_level(pc, ps, k, term_cell, term_d, beams, cell_cap):
    """Independent formulation, per terminal: variables z[i, s] = beam time terminal i gets
    from satellite s (a terminal sees what its cell sees); maximise the smallest fraction of
    demand served. Built densely, row by row, with no code shared with assign_cells."""
    n_t, n_s = term_cell.size, ps.max() + 1
    var = [(i, p) for i in range(n_t) for p in np.flatnonzero(pc == term_cell[i])]
    nv = len(var)
    rows, b = [], []
    for s in range(n_s):
        rows.append([1.0 if ps[p] == s else 0.0 for (_, p) in var] + [0.0])
        b.append(beams)
    for c in np.unique(term_cell):
        rows.append([1.0 if pc[p] == c else 0.0 for (_, p) in var] + [0.0])
        b.append(cell_cap)
    for p in range(pc.size):
        rows.append([1.0 if q == p else 0.0 for (_, q) in var] + [0.0])
        b.append(1.0)
    for i in range(n_t):
        rows.append([-k[p] if j == i else 0.0 for (j, p) in var] + [term_d[i]])
        b.append(0.0)
    res = linprog(
        np.r_[np.zeros(nv), -1.0],
        A_ub=np.array(rows),
        b_ub=np.array(b),
        bounds=[(0, None)] * nv + [(0, 1)],
        method="highs",
    )
    return res.x[-1]


@pytest.mark.parametrize("seed", range(5))
def test_first_level_matches_per_terminal_lp(seed, assign_cells):
    """The worst-off fraction of demand equals that of the per-terminal LP (aggregating
    terminals into cells loses nothing), and terminals' rates sum to their cells' rates."""
    rng = np.random.default_rng(100 + seed)
    pc, ps, k, _ = random_instance(rng, 5, 3, 0.5)
    term_cell = rng.integers(0, 5, 12)
    term_d = rng.uniform(100.0, 2000.0, 12)
    cell_d = np.bincount(term_cell, weights=term_d, minlength=5)
    r = assign_cells(pc, ps, k, cell_d, beams_per_sat=1, cell_beam_cap=2)
    rate = terminal_rates(r, term_cell, term_d, term_d)
    covered = np.isin(term_cell, pc)
    want = lp_terminal_level(pc, ps, k, term_cell[covered], term_d[covered], 1.0, 2.0)
    assert np.min(rate[covered] / term_d[covered]) == pytest.approx(want, rel=1e-6)
    assert np.allclose(
        np.bincount(term_cell, weights=rate, minlength=5), r["cell_rate_mbps"], rtol=1e-6
    )


@pytest.mark.parametrize("seed", range(4))
def test_fractional_at_least_best_integral_assignment(seed, assign_cells):
    """Exhaustive search over whole-beam assignments (each cell gets 0 or 1 beam from one
    satellite it sees, <= 1 beam per satellite): the fractional (beam-hopping) optimum of the
    worst-off level is never below the best integral one, and with one cell per satellite
    they coincide."""
    rng = np.random.default_rng(200 + seed)
    pc, ps, k, d = random_instance(rng, 4, 3, 0.6)
    r = assign_cells(pc, ps, k, d, beams_per_sat=1, cell_beam_cap=1)
    covered = np.unique(pc)
    best = 0.0
    options = [[None] + list(np.flatnonzero(pc == c)) for c in covered]
    for choice in itertools.product(*options):
        sats = [ps[p] for p in choice if p is not None]
        if len(sats) != len(set(sats)):
            continue
        lv = [min(k[p], d[c]) / d[c] if p is not None else 0.0 for c, p in zip(covered, choice)]
        best = max(best, min(lv))
    assert r["cell_level"][covered].min() >= best * (1 - 1e-7)


def test_carry_at_rate_by_hand():
    """One satellite, beams of 1,000 Mbit/s, cells of 10 and 30 terminals at 25 Mbit/s.
    With 2 beams: a cell has at most one beam of the satellite, so 30 x 25 alpha <= 1,000 ->
    alpha = 4/3 (cell-beams). With 1 beam: 40 x 25 alpha <= 1,000 -> alpha = 1, beam time,
    no terminal more."""
    out = carry_at_rate([0, 1], [0, 0], [1000.0, 1000.0], [10, 30], 25.0, beams_per_sat=2)
    assert out["alpha"] == pytest.approx(4 / 3, rel=1e-6)
    assert out["n_at_target"] == 53 and out["n_more"] == 13
    assert out["binding_kind"] == "cell-beams"
    out = carry_at_rate([0, 1], [0, 0], [1000.0, 1000.0], [10, 30], 25.0, beams_per_sat=1)
    assert out["alpha"] == pytest.approx(1.0, rel=1e-6)
    assert out["n_more"] == 0 and out["binding_kind"] == "beam-time"
    assert out["n_admitted"] == 40


def test_admission_by_hand():
    """Admission: one satellite, 1 beam of 1,000 Mbit/s, cells of 10 and 60 terminals at 25
    Mbit/s: at most 1,000 / 25 = 40 terminals at once, in any mix of the two cells; uniform
    growth gives alpha = 40 / 70."""
    out = carry_at_rate([0, 1], [0, 0], [1000.0, 1000.0], [10, 60], 25.0, beams_per_sat=1)
    assert out["n_admitted"] == 40
    assert out["alpha"] == pytest.approx(40 / 70, rel=1e-6) and out["n_at_target"] == 40
    assert (out["cell_admitted"] <= [10, 60]).all()


SCENARIO = """
name = "cap-test"
seed = 5
[constellation]
preset = "starlink-shell1"
[time]
start = 2026-01-01T18:00:00Z
duration_s = 60
step_s = 20
[routing]
compare_bent_pipe = false
[[terminals]]
country = "TR"
count = 300
[[terminals]]
name = "istanbul"
points = [[41.0, 29.0]]
[[gateways]]
name = "Muallim"
lat = 40.789
lon = 29.509
country = "TR"
[[gateways]]
name = "Murayjat"
lat = 23.588
lon = 58.545
country = "OM"
[capacity]
target_mbps = 10
samples = 2
[demand]
multiplier = 100
"""


def test_capacity_pass_serves_every_covered_terminal(tmp_path):
    """A congested run (300 terminals x ~140 Mbit/s): every covered terminal gets a rate, the
    slot's beam time never exceeds 16 beams per satellite, served rates never exceed demand,
    and the counts reported add up."""
    from skymesh.sim.capacity_pass import capacity_pass, slot_capacity
    from skymesh.sim.prepare import prepare
    from skymesh.sim.scenario import load_scenario

    path = tmp_path / "cap.toml"
    path.write_text(SCENARIO)
    prep = prepare(load_scenario(path))
    summary, table = capacity_pass(prep)
    for s in summary["samples"]:
        assert s["covered"] == s["terminals"] == 301
        assert s["served"] == s["covered"] and s["served_fraction"] == 1.0
        assert s["carried_at_target"] <= s["covered"]
        assert s["aggregate_gbps"] <= s["demand_gbps"] * (1 + 1e-9)
    rate = table["fair_share_mbps"].to_numpy()
    assert (rate <= table["demand_mbps"].to_numpy() * (1 + 1e-9)).all()
    assert any(line.startswith("**Headline: ") for line in summary["markdown"])
    assert summary["headline"]["terminals_at_target"] == min(
        s["capacity_at_target"] for s in summary["samples"]
    )
    # Issue 21: the per-terminal figure is a fair share with everyone demanding at once,
    # named so in the summary and the report (it once read "Throughput per terminal").
    text = "\n".join(summary["markdown"])
    assert "Fair share per covered terminal" in text and "Throughput per" not in text
    assert {"fair_share_mbps", "aggregate_gbps"} <= set(summary["samples"][0])
    # the slot itself: beam time per satellite and per pair within bounds
    import numpy as np

    from skymesh.sim.capacity_pass import network_params, service_cells

    groups, group_of = np.unique(prep.terminal_country, return_inverse=True)
    cells = service_cells(prep.terminal_lat, prep.terminal_lon, group_of, 5)
    res = slot_capacity(
        prep,
        prep.operators[0],
        0.0,
        cells,
        groups,
        np.full(prep.n_terminals, 140.0),
        network_params(prep),
        10.0,
    )
    assert res["sat_beam_time"].max() <= 16 + 1e-6
    assert res["beam_time"].max() <= 1 + 1e-9
    per_cell = np.bincount(
        res["pairs"]["cell"], weights=res["beam_time"], minlength=cells["group"].size
    )
    assert (per_cell <= np.minimum(8, cells["n_terminals"]) + 1e-6).all()


def _weighted_scenario(points, subscribers=None):
    sub = "" if subscribers is None else f"subscribers = {subscribers}\n"
    return f"""
name = "w-test"
seed = 5
[constellation]
preset = "starlink-shell1"
[time]
start = 2026-01-01T18:00:00Z
duration_s = 20
step_s = 20
[routing]
compare_bent_pipe = false
[[terminals]]
name = "a"
points = {points}
{sub}[[terminals]]
name = "b"
points = [[41.05, 29.02], [39.9, 32.85]]
[[gateways]]
name = "Muallim"
lat = 40.789
lon = 29.509
country = "TR"
[capacity]
target_mbps = 10
samples = 1
beams_per_sat = 1
gateway_antennas = 1
gateway_antenna_gbps = 2.0
[demand]
multiplier = 1000
"""


def test_subscriber_weight_equals_replicated_terminals(tmp_path):
    """A sampled terminal standing for 40 subscribers is, to the assignment, the same as 40
    terminals at that point: same cell demand and head count, so the same per-subscriber
    rate and the same total throughput."""
    from skymesh.sim.capacity_pass import capacity_pass
    from skymesh.sim.prepare import prepare
    from skymesh.sim.scenario import load_scenario

    out = []
    for name, text in (
        ("w", _weighted_scenario("[[41.0, 29.0]]", 40)),
        ("r", _weighted_scenario(str([[41.0, 29.0]] * 40))),
    ):
        path = tmp_path / f"{name}.toml"
        path.write_text(text)
        summary, table = capacity_pass(prepare(load_scenario(path)))
        out.append((summary["samples"][0], table))
    (w, tw), (r, tr) = out
    assert w["aggregate_gbps"] == pytest.approx(r["aggregate_gbps"], rel=1e-6)
    assert w["subscribers"] == r["subscribers"] == 42
    assert tw["fair_share_mbps"].to_numpy()[0] == pytest.approx(
        tr["fair_share_mbps"].to_numpy()[0], rel=1e-6
    )
    assert w["carried_at_target"] == r["carried_at_target"]


def test_bench_assignment_smoke():
    """benchmarks/bench_assignment.py at a small size: both solvers give the same worst-off
    level and total (tolerances, never timings)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_assignment.py"
    spec = importlib.util.spec_from_file_location("bench_assignment", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    row = mod.run_case(
        "UA",
        300,
        "starlink-shell1",
        "2025-12-04T18:00:12Z",
        NetworkCapacityParams(),
        baseline_max_s=600.0,
        verbose=False,
    )
    assert row["served_fraction"] == 1.0
    assert row["level_diff"] <= 1e-6 * max(row["min_level"], 1e-12)
    assert row["rate_rel_diff"] <= 1e-6


def test_all_demand_met(assign_cells):
    """Plenty of beams: every cell gets exactly its demand (reason 'demand'), and its beam
    time is its demand over the beam capacity, summed over its satellites."""
    r = assign_cells(
        [0, 0, 1, 2], [0, 1, 1, 2], [1000.0] * 4, [300.0, 50.0, 800.0], beams_per_sat=4
    )
    assert np.allclose(r["cell_rate_mbps"], [300.0, 50.0, 800.0], rtol=1e-6)
    assert set(r["cell_reason"]) == {"demand"}
    per_cell = np.bincount([0, 0, 1, 2], weights=r["beam_time"], minlength=3)
    assert np.allclose(per_cell, [0.3, 0.05, 0.8], rtol=1e-6)


def test_edge_cases(assign_cells):
    """No pairs at all, a pair whose link does not close, a cell with no demand."""
    r = assign_cells([], [], [], [10.0, 20.0])
    assert list(r["cell_reason"]) == ["no-coverage", "no-coverage"]
    assert r["cell_rate_mbps"].tolist() == [0.0, 0.0]
    r = assign_cells([0, 1], [0, 0], [0.0, 100.0], [5.0, 0.0])
    assert list(r["cell_reason"]) == ["no-coverage", "demand"]
    assert r["cell_rate_mbps"].tolist() == [0.0, 0.0]
