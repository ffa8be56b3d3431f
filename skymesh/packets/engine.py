"""Run flows over a :class:`~skymesh.packets.network.PacketNetwork` in ns-3; traces as tables.

The network is built once in ns-3 (C++: ``skymesh/packets/cxx/engine.h``): one node per network
node, one point-to-point link per network link with a DropTail queue of ``queue_pkts`` packets (no
queue disc), SkyMesh's forwarding in a small ``Ipv4RoutingProtocol``. Every step's link
delays, data rates and forwarding changes are handed to C++ as flat arrays and scheduled as
ns-3 events; no Python runs per packet or per step. The simulator runs in slices
(``Simulator::Stop`` then ``Run``) so ``progress`` can report simulated seconds.

TCP flows are bulk transfers (the sender keeps its socket buffer full) with the socket's
congestion control set to ns-3's ``TcpNewReno``, ``TcpCubic`` or ``TcpBbr`` (pacing on for
BBR); segments of ``segment_bytes`` (1,448 B: a 1,500 B MTU less 20 B IPv4, 20 B TCP and 12 B
of timestamp option). UDP flows are ns-3 ``UdpClient`` streams of 1,472 B datagrams at the
flow's rate; pings are ns-3 ``Ping`` (ICMP echo, 56 B of data: 84 B IP packets).

Events (the "events" table):

* ``loss``: a packet of the flow dropped, at a full queue or for want of a route (a node whose
  forwarding entry is gone after a change); ``retransmit``: the TCP sender sends a sequence
  number below its highest sent; ``reorder``: a TCP segment that is not a retransmission, a UDP
  datagram or a ping reply arrives below the highest already received;
* ``path_change``: SkyMesh's path for the flow's pair changes at that step;
  ``slot_boundary`` (flow -1): Starlink's 15 s reconfiguration boundaries
  (:mod:`skymesh.access.slots`): where the network was built with a serving policy
  (:func:`skymesh.packets.network.packet_network`'s ``serving``, the CLI's default) ground
  points change user link only there or when the held satellite sets; with ``serving=None``
  (Hypatia's model) they are marked for reading the traces only.

RTT samples: TCP's ``LastRTT`` (each new RTT measurement, at the ACK's arrival); a ping's RTT
at the time the echo request left.

Differences from Hypatia's ns-3 model, by construction: a link's delay is SkyMesh's for the
step and held for the step (Hypatia computes each packet's delay from the satellites' positions
at send time); every (ground point, satellite) pair a ground point uses is its own
point-to-point link with its own queue (Hypatia gives each node one GSL device and queue
shared by all its satellites), so packets still queued toward the old satellite after a
handover drain in parallel with those sent to the new one and can be overtaken; a packet
dropped by the traffic-control layer is attributed to its flow by its ports (an ICMP echo to
the run's ping flow only when there is a single one). ns-3's ``Config`` defaults are
process-wide: every run sets the TCP ones it uses (:func:`simulate`'s ``tcp_profile``).
"""

from __future__ import annotations

import math
import resource
import time
from typing import Any, Callable, Sequence

import numpy as np
import pyarrow as pa

from skymesh.errors import InputError, SkyMeshError
from skymesh.packets.flows import Flow, endpoint_index, parse_flow
from skymesh.packets.network import PacketNetwork

QUEUE_PKTS = 100
"""DropTail queue per device, packets: Hypatia's packet experiments (Kassing et al., "Exploring
the 'Internet from space' with Hypatia", IMC 2020; its paper/ns3_experiments/a_b/run_list.py:
``queue_size_pkt = 100``)."""
SEGMENT_BYTES = 1448
HYPATIA_SEGMENT_BYTES = 1380  # basic-sim's TcpOptimizer (1,500 B MTU - 60 B IP - 60 B TCP, max)
UDP_PAYLOAD_BYTES = 1472  # 1,500 B MTU - 20 B IPv4 - 8 B UDP
PING_DATA_BYTES = 56
PING_IP_BYTES = PING_DATA_BYTES + 8 + 20  # + ICMP + IPv4 headers
PPP_HEADER_BYTES = 2  # ns-3's PointToPointNetDevice adds a 2 B PPP header on the wire
MIN_BUFFER_BYTES = 4 << 20
MAX_BUFFER_BYTES = 256 << 20
CC_CODE = {"newreno": 0, "cubic": 1, "bbr": 2}
EVENT_KINDS = ("loss", "retransmit", "reorder")


def _flows(net: PacketNetwork, flows, duration_s: float) -> list[tuple[Flow, int, int]]:
    out = []
    dests = set(int(d) for d in net.dest_endpoint)
    for i, f in enumerate(flows):
        if isinstance(f, str):
            f = parse_flow(f)
        if not isinstance(f, Flow):
            raise InputError(f"flow {i + 1}: expected a Flow or its text form", field="flow")
        a = endpoint_index(net.endpoint_name, f.src)
        b = endpoint_index(net.endpoint_name, f.dst)
        if a not in dests or b not in dests or net.endpoint_node[a] < 0:
            raise InputError(
                f"flow {i + 1} ({f.label}): {net.endpoint_name[a]}->{net.endpoint_name[b]} is not "
                "a pair of this packet network; build the network with that pair",
                field="flow",
            )
        if f.start_s >= duration_s:
            raise InputError(
                f"flow {i + 1} ({f.label}) starts at {f.start_s:g} s, at or after the run's "
                f"end ({duration_s:g} s)",
                field="flow",
            )
        out.append((f, a, b))
    if not out:
        raise InputError("give at least one flow", field="flow")
    return out


def _route_changes(next_hop: np.ndarray):
    """Forwarding entries to set at each step: all of step 0, then those that changed."""
    k_steps = next_hop.shape[0]
    u0, j0 = np.nonzero(next_hop[0] >= 0)
    kk, uu, jj = np.nonzero(next_hop[1:] != next_hop[:-1])
    kk = kk + 1
    step = np.concatenate([np.zeros(len(u0), np.int64), kk])
    node = np.concatenate([u0, uu]).astype(np.int32)
    col = np.concatenate([j0, jj]).astype(np.int32)
    nxt = next_hop[step, node, col].astype(np.int32)
    ptr = np.searchsorted(step, np.arange(k_steps + 1)).astype(np.int64)
    return node, col, nxt, ptr


def _buffer_bytes(net: PacketNetwork, pairs: list[tuple[int, int]], n_steps: int) -> int:
    """TCP socket buffers: four bandwidth-delay products of the fastest path seen, clamped."""
    bdp = 0.0
    for a, b in pairs:
        for k in range(0, n_steps, max(1, n_steps // 50)):
            rtt = net.space_rtt_ms[k][(net.pairs[:, 0] == a) & (net.pairs[:, 1] == b)]
            rtt_s = float(np.nanmax(rtt)) / 1e3 if len(rtt) and np.isfinite(rtt).any() else 0.2
            bdp = max(bdp, net.bottleneck_bps(k, a, b) / 8 * rtt_s)
    return int(min(MAX_BUFFER_BYTES, max(MIN_BUFFER_BYTES, 4 * bdp)))


def simulate(
    net: PacketNetwork,
    flows: Sequence[Flow | str],
    *,
    duration_s: float,
    seed: int = 0,
    progress: Callable[[float], Any] | None = None,
    sample_s: float = 0.1,
    queue_pkts: int = QUEUE_PKTS,
    segment_bytes: int = SEGMENT_BYTES,
    cwnd_gap_s: float = 1e-3,
    tcp_profile: str = "ns3",
) -> dict[str, pa.Table]:
    """Run ``flows`` over ``net`` for ``duration_s`` simulated seconds; the contract's tables.

    Parameters
    ----------
    flows : Flow or its text form (:func:`skymesh.packets.flows.parse_flow`)
    seed : int
        ns-3's ``RngSeedManager`` run number (seed 12345); the run is deterministic.
    progress : callable, optional
        Called with the simulated time reached (s) after each slice of the run.
    sample_s : float
        Goodput bin (s).
    cwnd_gap_s : float
        cwnd changes are kept at most one per this interval (s), every decrease kept.
    tcp_profile : {"ns3", "hypatia"}
        ``"ns3"``: ns-3's TCP defaults (1 s minimum RTO, ...) with ``segment_bytes`` segments.
        ``"hypatia"``: the settings of Hypatia's basic-sim ``TcpOptimizer::
        OptimizeUsingWorstCaseRtt`` (github.com/snkas/basic-sim, helper/core/tcp-optimizer.cc):
        1 ns clock granularity, initial cwnd 10, 1,380 B segments, Nagle off, delayed ACK
        count 2, minimum RTO 1.5, initial RTT estimate and connection timeout 2, delayed-ACK
        timeout 0.2, persist timeout 4 and segment lifetime 5 worst-case RTTs. The worst-case
        RTT here is SkyMesh's largest pair RTT in the window plus two full queues at the
        slowest link (basic-sim derives its own from the topology). Its 1 GiB socket buffers
        are not copied: buffers here are four bandwidth-delay products (at least 4 MiB),
        which never bind a single flow's cwnd below the path's capacity plus queues.

    Returns
    -------
    dict of pyarrow.Table: "flows", "goodput", "rtt", "cwnd", "events", "path", "stats".
    """
    from skymesh.packets.ns3 import helpers, load_ns3

    if not (math.isfinite(duration_s) and duration_s > 0):
        raise InputError(f"duration must be > 0 s, got {duration_s!r}", field="duration")
    horizon = float(net.t_s[-1] + net.step_s)
    if duration_s > horizon + 1e-9:
        raise InputError(
            f"duration {duration_s:g} s is longer than the network's window ({horizon:g} s)",
            field="duration",
        )
    if not (math.isfinite(sample_s) and sample_s > 0):
        raise InputError(f"sample interval must be > 0 s, got {sample_s!r}", field="sample")
    if int(queue_pkts) < 1:
        raise InputError(f"queue must hold at least 1 packet, got {queue_pkts!r}", field="queue")
    flow_list = _flows(net, flows, duration_s)
    if tcp_profile not in ("ns3", "hypatia"):
        raise InputError(f"unknown TCP profile '{tcp_profile}'; choose ns3 or hypatia", field="tcp")
    if tcp_profile == "hypatia":
        segment_bytes = HYPATIA_SEGMENT_BYTES

    t_import = time.perf_counter()
    load_ns3()
    cxx = helpers()
    t0 = time.perf_counter()
    k_steps = int(np.searchsorted(net.t_s, duration_s - 1e-9, side="left"))
    k_steps = max(1, k_steps)
    node, col, nxt, ptr = _route_changes(net.next_hop[:k_steps])
    dest_node = net.endpoint_node[net.dest_endpoint].astype(np.int64)
    buf = _buffer_bytes(net, [(a, b) for _, a, b in flow_list], k_steps)
    worst_rtt_s = (
        float(np.nanmax(net.space_rtt_ms[:k_steps])) / 1e3
        if np.isfinite(net.space_rtt_ms[:k_steps]).any()
        else 1.0
    )
    wire_bits = (segment_bytes + 52 + PPP_HEADER_BYTES) * 8
    worst_rtt_s += 2 * int(queue_pkts) * wire_bits / float(net.rate_bps[:k_steps].min())
    cxx.TcpProfile(tcp_profile == "hypatia", worst_rtt_s)
    eng = cxx.NewEngine()
    try:
        eng.Build(
            int(net.n_nodes),
            int(net.n_links),
            int(len(net.dest_endpoint)),
            np.ascontiguousarray(net.link_a, np.int64),
            np.ascontiguousarray(net.link_b, np.int64),
            np.ascontiguousarray(dest_node),
            np.ascontiguousarray(net.rate_bps[0], np.float64),
            np.ascontiguousarray(net.delay_s[0], np.float64),
            int(queue_pkts),
            int(segment_bytes),
            int(buf),
            int(seed),
            float(sample_s),
            float(cwnd_gap_s),
        )
        eng.Schedule(
            k_steps,
            np.ascontiguousarray(net.t_s[:k_steps], np.float64),
            np.ascontiguousarray(net.delay_s[:k_steps], np.float64).ravel(),
            np.ascontiguousarray(net.rate_bps[:k_steps], np.float64).ravel(),
            int(len(node)),
            node,
            col,
            nxt,
            ptr,
        )
        for f, a, b in flow_list:
            src, dst = int(net.endpoint_node[a]), int(net.endpoint_node[b])
            stop = float(min(duration_s, f.stop_s if f.stop_s is not None else duration_s))
            if f.kind == "tcp":
                eng.AddTcp(src, dst, CC_CODE[str(f.cc)], float(f.start_s), stop, int(segment_bytes))
            elif f.kind == "udp":
                rate = float(f.rate_mbps or 0.0) * 1e6
                eng.AddUdp(src, dst, rate, UDP_PAYLOAD_BYTES, float(f.start_s), stop)
            else:
                eng.AddPing(
                    src, dst, float(f.interval_s or 0.0), PING_DATA_BYTES, float(f.start_s), stop
                )
        if int(eng.badTraces):
            raise SkyMeshError(
                f"ns-3 refused {int(eng.badTraces)} trace connection(s): this ns-3 is not the "
                "3.44 wheel the packet engine was written for"
            )
        t_run = time.perf_counter()
        cpu_run = time.process_time()
        slice_s = max(net.step_s, duration_s / 200.0)
        t = 0.0
        while t < duration_s - 1e-12:
            t = min(duration_s, t + slice_s)
            eng.RunUntil(float(t))
            if progress is not None:
                progress(float(t))
        run_wall = time.perf_counter() - t_run
        run_cpu = time.process_time() - cpu_run
        tables = _read_out(eng, net, flow_list, duration_s, sample_s, k_steps)
        totals = np.zeros(5, np.int64)
        eng.Totals(totals)
        events = int(eng.EventCount())
    finally:
        cxx.DestroyEngine()
    wall = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    tables["stats"] = pa.table(
        {
            "wall_s": [wall],
            "sim_s": [float(duration_s)],
            "events_processed": pa.array([events], pa.int64()),
            "packets": pa.array([int(totals[1])], pa.int64()),
            "packets_per_s": [float(totals[1]) / run_wall if run_wall > 0 else float("nan")],
            "peak_rss_mb": [rss],
            "hop_packets": pa.array([int(totals[0])], pa.int64()),
            "hop_packets_per_s": [float(totals[0]) / run_wall if run_wall > 0 else float("nan")],
            "run_wall_s": [run_wall],
            "run_cpu_s": [run_cpu],
            "packets_per_cpu_s": [float(totals[1]) / run_cpu if run_cpu > 0 else float("nan")],
            "tcp_profile": [tcp_profile],
            "import_s": [t0 - t_import],
            "drops": pa.array([int(totals[2])], pa.int64()),
            "queue_drops": pa.array([int(totals[3])], pa.int64()),
            "no_route_drops": pa.array([int(totals[4])], pa.int64()),
            "nodes": pa.array([net.n_nodes], pa.int32()),
            "links": pa.array([net.n_links], pa.int32()),
            "steps": pa.array([k_steps], pa.int32()),
        }
    )
    return tables


def _read_out(eng, net, flow_list, duration_s, sample_s, k_steps) -> dict[str, pa.Table]:
    n_flows = len(flow_list)
    flat = np.zeros(7 * n_flows, np.int64)
    eng.FlowCounters(flat)
    counters = flat.reshape(n_flows, 7)

    n = int(eng.NRtt())
    r_fid, r_t, r_v = np.zeros(n, np.int32), np.zeros(n), np.zeros(n)
    if n:
        eng.Rtt(r_fid, r_t, r_v)
    n = int(eng.NCwnd())
    c_fid, c_t, c_v = np.zeros(n, np.int32), np.zeros(n), np.zeros(n, np.int64)
    if n:
        eng.Cwnd(c_fid, c_t, c_v)
    n = int(eng.NEvents())
    e_fid, e_t, e_k = np.zeros(n, np.int32), np.zeros(n), np.zeros(n, np.int32)
    if n:
        eng.Events(e_fid, e_t, e_k)

    n_bins = int(math.ceil(duration_s / sample_s - 1e-9))
    g_fid, g_t, g_v = [], [], []
    rows: dict[str, list] = {k: [] for k in ("flow_id", "kind", "cc", "src", "dst")}
    nums: dict[str, list] = {
        k: []
        for k in (
            "start_s",
            "stop_s",
            "goodput_mbps",
            "ns3_mean_rtt_ms",
        )
    }
    pair_events_fid, pair_events_t = [], []
    for i, (f, a, b) in enumerate(flow_list):
        stop = float(min(duration_s, f.stop_s if f.stop_s is not None else duration_s))
        rows["flow_id"].append(i)
        rows["kind"].append(f.kind)
        rows["cc"].append(f.cc)
        rows["src"].append(str(net.endpoint_name[a]))
        rows["dst"].append(str(net.endpoint_name[b]))
        nums["start_s"].append(float(f.start_s))
        nums["stop_s"].append(stop)
        active = stop - float(f.start_s)
        nums["goodput_mbps"].append(
            float(counters[i, 4]) * 8 / active / 1e6 if f.kind != "ping" and active > 0 else 0.0
        )
        mine = r_v[r_fid == i]
        nums["ns3_mean_rtt_ms"].append(float(mine.mean()) if len(mine) else float("nan"))
        if f.kind != "ping":
            bins = np.zeros(int(eng.FlowNBins(i)))
            eng.FlowBins(i, bins)
            bins = bins[:n_bins]
            g_fid.append(np.full(len(bins), i, np.int32))
            g_t.append(np.arange(len(bins)) * sample_s)
            g_v.append(bins * 8 / sample_s / 1e6)
        hit = np.flatnonzero(
            ((net.pairs[:, 0] == a) & (net.pairs[:, 1] == b))
            | ((net.pairs[:, 0] == b) & (net.pairs[:, 1] == a))
        )
        if len(hit):
            changed = net.path_changed[:k_steps, hit].any(axis=1)
            ks = np.flatnonzero(changed)
            pair_events_fid.append(np.full(len(ks), i, np.int32))
            pair_events_t.append(net.t_s[ks])

    flows_t = pa.table(
        {
            "flow_id": pa.array(rows["flow_id"], pa.int32()),
            "kind": pa.array(rows["kind"], pa.string()),
            "cc": pa.array(rows["cc"], pa.string()),
            "src": pa.array(rows["src"], pa.string()),
            "dst": pa.array(rows["dst"], pa.string()),
            "start_s": pa.array(nums["start_s"], pa.float64()),
            "stop_s": pa.array(nums["stop_s"], pa.float64()),
            "tx_packets": pa.array(counters[:, 0], pa.int64()),
            "rx_packets": pa.array(counters[:, 1], pa.int64()),
            "lost_packets": pa.array(counters[:, 2], pa.int64()),
            "tx_bytes": pa.array(counters[:, 3], pa.int64()),
            "rx_bytes": pa.array(counters[:, 4], pa.int64()),
            "goodput_mbps": pa.array(nums["goodput_mbps"], pa.float64()),
            "ns3_mean_rtt_ms": pa.array(nums["ns3_mean_rtt_ms"], pa.float64()),
            "retransmits": pa.array(counters[:, 5], pa.int64()),
            "reorders": pa.array(counters[:, 6], pa.int64()),
        }
    )

    def cat(parts, dtype):
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)

    goodput = pa.table(
        {
            "flow_id": pa.array(cat(g_fid, np.int32), pa.int32()),
            "t_s": pa.array(cat(g_t, np.float64), pa.float64()),
            "goodput_mbps": pa.array(cat(g_v, np.float64), pa.float64()),
        }
    )
    keep = r_t < duration_s
    rtt = pa.table(
        {
            "flow_id": pa.array(r_fid[keep], pa.int32()),
            "t_s": pa.array(r_t[keep], pa.float64()),
            "ns3_rtt_ms": pa.array(r_v[keep], pa.float64()),
        }
    )
    cwnd = pa.table(
        {
            "flow_id": pa.array(c_fid, pa.int32()),
            "t_s": pa.array(c_t, pa.float64()),
            "cwnd_bytes": pa.array(c_v, pa.int64()),
        }
    )
    from skymesh.access.slots import slot_boundaries_s

    slots = slot_boundaries_s(net.start, duration_s - 1e-9)
    ev_fid = np.concatenate([e_fid, cat(pair_events_fid, np.int32), np.full(len(slots), -1)])
    ev_t = np.concatenate([e_t, cat(pair_events_t, np.float64), slots])
    ev_kind = np.concatenate(
        [
            np.asarray(EVENT_KINDS, dtype=object)[e_k] if len(e_k) else np.zeros(0, object),
            np.full(sum(len(x) for x in pair_events_t), "path_change", dtype=object),
            np.full(len(slots), "slot_boundary", dtype=object),
        ]
    )
    order = np.lexsort((ev_fid, ev_t))
    events = pa.table(
        {
            "flow_id": pa.array(ev_fid[order].astype(np.int32), pa.int32()),
            "t_s": pa.array(ev_t[order].astype(np.float64), pa.float64()),
            "kind": pa.array(list(ev_kind[order]), pa.string()),
        }
    )
    names = net.pair_names()
    n_pairs = len(names)
    path_cols = {
        "pair": pa.array(np.repeat(np.asarray(names, dtype=object), k_steps), pa.string()),
        "t_s": pa.array(np.tile(net.t_s[:k_steps], n_pairs), pa.float64()),
        "space_rtt_ms": pa.array(net.space_rtt_ms[:k_steps].T.ravel(), pa.float64()),
        "hops": pa.array(net.hops[:k_steps].T.ravel().astype(np.int32), pa.int32()),
        "changed": pa.array(net.path_changed[:k_steps].T.ravel(), pa.bool_()),
    }
    if net.rtt_ms is not None:  # a scenario's network: the run's rtt_ms, with access
        path_cols["rtt_ms"] = pa.array(net.rtt_ms[:k_steps].T.ravel(), pa.float64())
    path = pa.table(path_cols)
    return {
        "flows": flows_t,
        "goodput": goodput,
        "rtt": rtt,
        "cwnd": cwnd,
        "events": events,
        "path": path,
    }
