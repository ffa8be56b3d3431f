"""Cost of a packet run (``skymesh packets``) before any work: time, memory and packets.

:func:`estimate_packets` gives a :class:`skymesh.sim.estimate.JobEstimate` from the flows,
the window and the network's size, before the network is built or ns-3 is loaded, so a job
the machine cannot hold is refused and a long one asks first (``skymesh.cli.jobs.gate``).
The constants were measured on the development machine (benchmarks/bench_packets.py) and are
meant to be right to a factor of about two, like :mod:`skymesh.sim.estimate`'s.
"""

from __future__ import annotations

import math
from typing import Optional

NS3_IMPORT_S = 13.0
"""Loading ns-3's Python bindings once per process (s; measured 12-14 s, issue 14)."""
NS3_BASE_MEMORY_BYTES = 900 * 2**20
"""Peak resident memory of a small packet run (bytes): ns-3 and cppyy loaded, a few nodes,
seconds of traffic (measured 890-1,040 MB; benchmarks/bench_packets.py, 2026-12)."""
PACKET_MEMORY_BYTES = 2048.0
"""Peak memory per packet the flows send (bytes), an empirical fit: 1.18 GB for one TCP flow
(0.23 M packets) and 5.4 GB for ten (2.3 M packets) on the 200 s benchmark runs. Much of it
grows with the network rather than the traffic (the ten-flow network has 1,604 nodes and
3,578 links against 53 and 88, each with a schedule of per-step changes), which the estimate
cannot know before the paths are routed; it is right to a factor of two on those runs."""
PACKET_HOP_S = 1.8e-5
"""ns-3 wall time per packet per link crossed (s), with SkyMesh's per-step delay, rate and
forwarding updates: 2.98 M link transmissions in 54 s of event loop for TCP over Kuiper K1 at
100 ms steps (benchmarks/bench_packets.py on 2 shared cores, 2026-12; a static network runs
about 3x faster)."""
ENGINE_FIXED_S = 10.0
"""Engine set-up and read-out besides the event loop (s; 4-10 s measured)."""
PACKET_BYTES = 1500.0
"""A full-size IP packet (bytes): TCP segments and UDP datagrams at the 1,500 B MTU."""
ACKS_PER_SEGMENT = 1.0
"""Pure ACKs per data segment, counted as packets (an upper value: ns-3 delays ACKs to one
per two segments by default)."""
HOPS_GUESS = 15
"""Links a packet crosses on a typical intercontinental path (2 ground links + ISLs; 15.4 on
average for Rio de Janeiro -> Saint Petersburg over Kuiper K1); the estimate is made before
the paths are known."""
GSL_RATE_GUESS_BPS = 1.0e9
"""A ground link's rate (bit/s) for the estimate when no --gsl-mbps is given: the order of
the Ku user-downlink budget's capacity on one 240 MHz channel (~1 Gbit/s near zenith)."""
NETWORK_S_PER_SAT_STEP = 1.1e-5
"""Building the network, per satellite and step (two passes: routing, then delays and rates):
38.7 s for 2,001 steps over shell 1's 1,584 satellites with 2 destinations, 67 s with 20
(benchmarks/bench_packets.py), i.e. ~17 ms per step plus ..."""
NETWORK_S_PER_SAT_DEST_STEP = 5.0e-7
"""... ~0.8 ms per destination and step (shell 1), per satellite."""


def _rate_bps(f, isl_bps: Optional[float], gsl_bps: Optional[float]) -> float:
    """The most a flow may send (bit/s), for the estimate."""
    cap = min(isl_bps or math.inf, gsl_bps or GSL_RATE_GUESS_BPS)
    if f.kind == "udp":
        return min(float(f.rate_mbps or 0.0) * 1e6, cap)
    if f.kind == "ping":
        return 8.0 * 64.0 / max(float(f.interval_s or 1.0), 1e-6)
    return cap


def estimate_packets(
    flows,
    window_s: float,
    steps: int,
    n_sats: int,
    n_ground: int,
    *,
    isl_bps: Optional[float],
    gsl_bps: Optional[float],
    what: str,
):
    """Cost of a packet run (a :class:`skymesh.sim.estimate.JobEstimate`).

    Time: loading ns-3, building the network (two passes over the steps, one Dijkstra per
    destination), the engine's set-up, and the packets: each flow at the most it may send
    (a TCP flow at the slowest link rate, data and ACKs) over its active time, times
    :data:`HOPS_GUESS` links, at :data:`PACKET_HOP_S` per packet-hop. Memory: ns-3 itself,
    the traces per packet, positions of a chunk, the per-step forwarding tables and link
    arrays. The constants were measured on the development machine and are meant to be
    right to a factor of about two, like :mod:`skymesh.sim.estimate`'s.
    """
    from skymesh.network.over_time import chunk_steps_for
    from skymesh.sim.estimate import JobEstimate

    packets = 0.0
    for f in flows:
        stop = f.stop_s if f.stop_s is not None and math.isfinite(f.stop_s) else window_s
        active = max(0.0, min(stop, window_s) - f.start_s)
        per_s = _rate_bps(f, isl_bps, gsl_bps) / (8.0 * PACKET_BYTES)
        packets += per_s * active * (1.0 + (ACKS_PER_SEGMENT if f.kind == "tcp" else 1.0))
    dests = min(n_ground, 2 * len(flows))
    seconds = (
        NS3_IMPORT_S
        + ENGINE_FIXED_S
        + (NETWORK_S_PER_SAT_STEP + NETWORK_S_PER_SAT_DEST_STEP * max(dests, 1)) * steps * n_sats
        + PACKET_HOP_S * packets * HOPS_GUESS
    )
    chunk = chunk_steps_for(n_sats, steps)
    memory = (
        NS3_BASE_MEMORY_BYTES
        + PACKET_MEMORY_BYTES * packets
        + 24.0 * chunk * n_sats
        + 2.0 * steps * (n_sats + n_ground) * max(dests, 1)
        + 3 * 8.0 * steps * 4 * HOPS_GUESS * len(flows)
    )
    est = JobEstimate(what, steps, n_sats, n_ground, memory, 0.0, seconds)
    return est, packets
