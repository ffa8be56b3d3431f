"""``skymesh packets SCENARIO`` is the run's network: a lone ping from a terminal to its PoP
sees, at every step, the run's ``rtt_ms`` (propagation, fibre, the access layer's frames,
scheduling and processing) plus the serialisation of its packets on every hop, and gets no
reply at the steps the run marks the terminal unserved (geofence). Checked across the service
switch of iran-2022 (on at 2022-09-23T00:00Z) and taiwan-geofence (off at 00:30Z)."""

from __future__ import annotations

from typing import cast

import numpy as np
import pyarrow.parquet as pq
import pytest

from skymesh.errors import SkyMeshError
from skymesh.packets.engine import PING_IP_BYTES, PPP_HEADER_BYTES
from skymesh.packets.run import plan_packets, run_packets

ISL_MBPS, GSL_MBPS = 25.0, 10.0
CASES = {  # scenario: (window start, s; the service switch falls mid-window)
    "iran-2022": "2022-09-22T23:59:00Z",
    "taiwan-geofence": "2026-01-01T00:29:00Z",
}
WINDOW_S = 120.0


@pytest.fixture
def ns3_found(monkeypatch):
    """ns-3 counts as installed (the plan only checks that it can be found)."""
    import skymesh.packets.ns3 as ns3

    monkeypatch.setattr(ns3, "available", lambda: True)


def _plan(name, tmp_path, flows=("ping:0.05:IR-0->IR-0 PoP",), **kw):
    return plan_packets(
        [name],
        flows=list(flows),
        start=CASES[name],
        duration_s=WINDOW_S,
        isl_mbps=ISL_MBPS,
        gsl_mbps=GSL_MBPS,
        out=tmp_path / "out",
        **kw,
    )


def _run_rows(prep, terminal: int):
    """The run's rows of one terminal on the first operator (the one a packet network
    builds), by step, from the run's own chunk function."""
    from skymesh.sim.egress_chunk import compute_chunk

    t = compute_chunk(prep, 0, len(prep.grid))
    operator = np.asarray(t.column("operator").to_pylist())
    mine = (t.column("terminal").to_numpy() == terminal) & (operator == prep.operators[0].label)
    order = np.argsort(t.column("step").to_numpy()[mine])

    def col(name):
        return np.asarray(t.column(name).to_numpy(zero_copy_only=False), float)[mine][order]

    return col("served").astype(bool), col("rtt_ms"), col("isl_hops")


@pytest.mark.parametrize("name", list(CASES))
def test_ping_is_the_run_rtt_plus_serialisation_and_stops_when_geofenced(
    name, ns3, tmp_path, shared_data
):
    from skymesh.capacity.network import NetworkCapacityParams

    terminal = "IR-0" if name == "iran-2022" else "TW-0"
    plan = _plan(name, tmp_path, flows=[f"ping:0.05:{terminal}->{terminal} PoP"])
    prep = plan.prep
    t_index = [str(n) for n in prep.terminal_name].index(terminal)
    served, rtt_run, isl_hops = _run_rows(prep, t_index)
    step_s = plan.step_s
    assert served.any() and not served.all()  # the window straddles the switch
    summary = run_packets(plan)
    # the folder's path table carries the run's rtt_ms (NaN unserved), its summary the spread
    path = pq.read_table(plan.out / "path.parquet")
    path_rtt = path.column("rtt_ms").to_numpy(zero_copy_only=False).astype(float)
    np.testing.assert_array_equal(path_rtt, rtt_run[: len(path_rtt)])
    user = summary["flows"][0]["skymesh_rtt_ms"]
    assert user["mean"] == pytest.approx(float(np.nanmean(path_rtt)), abs=1e-9)
    assert summary["flows"][0]["skymesh_space_rtt_ms"]["mean"] < user["mean"]
    tab = pq.read_table(plan.out / "rtt.parquet")
    t = tab.column("t_s").to_numpy()
    rtt = tab.column("ns3_rtt_ms").to_numpy()
    k = np.floor(t / step_s + 1e-9).astype(int)
    # no echo sent while the run says the terminal has no service comes back
    assert served[k].all()
    inside = t + rtt / 1e3 < (k + 1) * step_s - 1e-9
    checked = np.unique(k[inside])
    np.testing.assert_array_equal(checked, np.flatnonzero(served[: len(served) - 1]))
    # each way: user link and gateway link at the ground rate, the ISLs, the fibre to the PoP
    params = NetworkCapacityParams()
    fibre_bps = (
        float(cast(float, params.gateway_antennas))
        * float(cast(float, params.gateway_antenna_mbps))
        * 1e6
    )
    bits = (PING_IP_BYTES + PPP_HEADER_BYTES) * 8
    ser_ms = 2e3 * bits * (2 / (GSL_MBPS * 1e6) + isl_hops / (ISL_MBPS * 1e6) + 1 / fibre_bps)
    want = rtt_run[k[inside]] + ser_ms[k[inside]]
    np.testing.assert_allclose(rtt[inside], want, rtol=0, atol=1e-3)
    assert np.ptp(rtt_run[served]) > 0 and np.all(ser_ms[served] > 0.1)


def test_a_scenario_flow_runs_between_a_terminal_and_its_pop(tmp_path, ns3_found, shared_data):
    with pytest.raises(SkyMeshError, match="--flow .*own PoP"):
        _plan("iran-2022", tmp_path, flows=["ping:IR-0->IR-1"])
    with pytest.raises(SkyMeshError, match="--serving and --pop go with places"):
        _plan("iran-2022", tmp_path, serving="operator")


def test_scenario_network_has_no_route_where_the_run_serves_none(tmp_path, ns3_found, shared_data):
    """The forwarding of the packet network is the run's: a next hop from the terminal exactly
    at the steps the run serves it, and the network's own RTT is the run's ``rtt_ms``."""
    from skymesh.packets.scenario import scenario_network

    plan = _plan("iran-2022", tmp_path)
    served, rtt_run, _ = _run_rows(plan.prep, 0)
    net = scenario_network(plan.prep, plan.terminals, plan.net_pairs)
    src, dst = plan.net_pairs[0]
    col = net.dest_column(dst)
    has_route = net.next_hop[:, net.endpoint_node[src], col] >= 0
    np.testing.assert_array_equal(has_route, served)
    assert net.rtt_ms is not None
    np.testing.assert_array_equal(net.rtt_ms[:, 0][served], rtt_run[served])
    assert np.isnan(net.rtt_ms[:, 0][~served]).all()
    # propagation (space and fibre) only: the access layer's share is the difference
    assert np.all(net.space_rtt_ms[:, 0][served] < rtt_run[served] - 10.0)
