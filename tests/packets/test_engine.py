"""ns-3 runs over the Paris-Luanda network (tests/packets/conftest.py), against bounds with
their own reasons: a lone ping's RTT is SkyMesh's path RTT plus the serialisation of its
packets on every hop (queues stay empty); TCP cannot deliver faster than its bottleneck link
serialises payload; a path change that shortens the path makes segments overtake each other,
which shows in the cwnd trace as a reduction (NewReno's fast retransmit) right after it."""

from __future__ import annotations

import numpy as np
import pytest

from skymesh.errors import InputError
from skymesh.network.over_time import path_series
from skymesh.packets.engine import PING_IP_BYTES, PPP_HEADER_BYTES, SEGMENT_BYTES, simulate

from .conftest import GSL_BPS, ISL_BPS, WINDOW_S, column

TABLES = {
    "flows": {"flow_id", "kind", "cc", "src", "dst", "start_s", "stop_s", "tx_packets",
              "rx_packets", "lost_packets", "tx_bytes", "rx_bytes", "goodput_mbps",
              "ns3_mean_rtt_ms"},
    "goodput": {"flow_id", "t_s", "goodput_mbps"},
    "rtt": {"flow_id", "t_s", "ns3_rtt_ms"},
    "cwnd": {"flow_id", "t_s", "cwnd_bytes"},
    "events": {"flow_id", "t_s", "kind"},
    "path": {"pair", "t_s", "space_rtt_ms", "hops", "changed"},
    "stats": {"wall_s", "sim_s", "events_processed", "packets", "packets_per_s", "peak_rss_mb"},
}  # fmt: skip


def test_tables_follow_the_contract(tcp_run, ping_run):
    for run in (tcp_run, ping_run):
        for name, cols in TABLES.items():
            assert cols <= set(run[name].column_names), name
    assert tcp_run["stats"].column("events_processed")[0].as_py() > 10_000
    seen = ping_run["_progress"]
    assert seen == sorted(seen) and seen[-1] == pytest.approx(WINDOW_S)


def test_ping_rtt_is_skymesh_rtt_plus_serialisation(ping_run, shell1, grid, paris_luanda_points):
    """At every step, every echo whose round trip lies inside the step has
    RTT = SkyMesh's path RTT (path_series, scipy) + 2 x hops x (84 B IP + 2 B PPP) x 8 / rate,
    within 1 us (ns-3 rounds times to 1 ns per hop); no queue, no processing delay."""
    series = path_series(shell1, grid, paris_luanda_points, [[0, 1]])
    rtt_sky = series.column("space_rtt_ms").to_numpy()
    hops = series.column("hops").to_numpy()
    isl = series.column("isl_hops").to_numpy()
    wire_bits = (PING_IP_BYTES + PPP_HEADER_BYTES) * 8
    # one-way: 2 GSLs and `isl` ISLs, each way
    ser_ms = 2e3 * ((hops - isl) * wire_bits / GSL_BPS + isl * wire_bits / ISL_BPS)
    t = column(ping_run["rtt"], "t_s")
    rtt = column(ping_run["rtt"], "ns3_rtt_ms")
    k = np.floor(t + 1e-9).astype(int)
    inside = t + rtt / 1e3 < k + 1 - 1e-9
    assert len(t) >= 0.95 * WINDOW_S / 0.05
    checked = np.unique(k[inside])
    np.testing.assert_array_equal(checked, np.arange(len(grid) - 1))
    want = rtt_sky[k[inside]] + ser_ms[k[inside]]
    np.testing.assert_allclose(rtt[inside], want, rtol=0, atol=1e-3)
    assert ser_ms.min() > 0.5  # the serialisation term is 500x the tolerance


def test_tcp_goodput_never_exceeds_the_bottleneck(tcp_run, net):
    """Delivered payload up to any time T is at most what the bottleneck link could have
    serialised since the flow began: rate x T x 1,448 B payload per 1,502 B on the wire; and
    with queues of 100 packets, more than the path's bandwidth-delay product (~85 segments),
    NewReno keeps the bottleneck mostly busy (the buffer-sizing rule: Villamizar and Song,
    1994), so the bound is not met by a flow that barely runs."""
    gp = tcp_run["goodput"]
    dt = float(column(gp, "t_s")[1] - column(gp, "t_s")[0])
    mbits = np.cumsum(column(gp, "goodput_mbps")) * dt  # Mbit delivered by each bin's end
    bottleneck = min(net.bottleneck_bps(k, 0, 1) for k in range(net.n_steps))
    assert bottleneck == GSL_BPS
    wire = SEGMENT_BYTES + 20 + 20 + 12 + PPP_HEADER_BYTES
    ends = (np.arange(len(mbits)) + 1) * dt
    cap = bottleneck / 1e6 * ends * SEGMENT_BYTES / wire
    assert np.all(mbits <= cap + 1e-9)
    flow = tcp_run["flows"]
    assert column(flow, "goodput_mbps")[0] <= bottleneck / 1e6 * SEGMENT_BYTES / wire
    late = ends > 10.0
    rate_late = (mbits[-1] - mbits[np.argmax(late) - 1]) / (ends[-1] - 10.0)
    assert rate_late > 0.6 * bottleneck / 1e6 * SEGMENT_BYTES / wire


def test_path_change_shows_in_cwnd(tcp_run, net):
    """Each step where SkyMesh's Paris->Luanda path changes to a shorter one is followed within
    one second by a cwnd reduction (segments on the new path overtake those still queued on
    the old one: three duplicate ACKs, fast retransmit, cwnd cut), and by reorder events."""
    changes = np.flatnonzero(net.path_changed[:, 0])
    shorter = [k for k in changes if net.space_rtt_ms[k, 0] < net.space_rtt_ms[k - 1, 0]]
    assert shorter, "the test window needs a path change"
    cw = tcp_run["cwnd"]
    t, v = column(cw, "t_s"), column(cw, "cwnd_bytes")
    drops = t[1:][np.diff(v) < 0]
    ev = tcp_run["events"]
    reorder = column(ev, "t_s")[column(ev, "kind") == "reorder"]
    path_ev = column(ev, "t_s")[column(ev, "kind") == "path_change"]
    for k in shorter:
        at = net.t_s[k]
        assert at in path_ev
        assert np.any((drops >= at) & (drops < at + 1.0)), f"no cwnd cut after {at} s"
        assert np.any((reorder >= at) & (reorder < at + 1.0)), f"no reordering after {at} s"


def test_deterministic(ns3, net):
    a = simulate(net, ["tcp:cubic:Paris->Luanda@0-8"], duration_s=8, seed=3)
    b = simulate(net, ["tcp:cubic:Paris->Luanda@0-8"], duration_s=8, seed=3)
    for name in ("flows", "cwnd", "rtt", "events", "goodput"):
        assert a[name].equals(b[name]), name


def test_every_kind_of_flow_runs(ns3, net):
    out = simulate(
        net,
        [
            "tcp:bbr:Paris->Luanda@0-6",
            "tcp:cubic:Luanda->Paris@1-6",
            "udp:2:Paris->Luanda@0-6",
            "ping:0.1:Luanda->Paris",
        ],
        duration_s=6,
    )
    f = out["flows"].to_pydict()
    assert f["cc"] == ["bbr", "cubic", None, None]
    assert all(x > 0 for x in f["rx_packets"])
    # UDP at 2 Mbit/s of 1,472 B datagrams, 6 s: 1,019 datagrams, all delivered (no congestion
    # on 10 Mbit/s links shared with two TCP flows is not guaranteed, so only an upper bound)
    assert f["tx_packets"][2] == pytest.approx(6 * 2e6 / (1472 * 8), abs=2)
    assert f["rx_packets"][2] <= f["tx_packets"][2]
    assert np.sum(column(out["cwnd"], "flow_id") == 0) > 10


def test_flow_errors_are_input_errors(ns3, net):
    with pytest.raises(InputError, match="Tokyo"):
        simulate(net, ["tcp:Paris->Tokyo"], duration_s=5)
    with pytest.raises(InputError, match="longer than"):
        simulate(net, ["tcp:Paris->Luanda"], duration_s=500)
    with pytest.raises(InputError, match="at or after"):
        simulate(net, ["tcp:Paris->Luanda@9-10"], duration_s=5)
