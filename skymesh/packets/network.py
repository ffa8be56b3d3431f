"""The part of SkyMesh's network a packet run uses, step by step, as plain arrays (no ns-3).

For a time window, every step's snapshot graph (:func:`skymesh.network.snapshot.snapshot_graph`:
satellites, +Grid ISLs, ground-satellite links in view, weights = distance / c) and its
forwarding state (:func:`skymesh.network.routing.routing_state`, the next hop of every node
toward every destination, Hypatia's fstate) are computed exactly as a routing study does
(:mod:`skymesh.sim.routing_chunk`). From them:

* **Nodes**: the ground points of the run's pairs, the satellites on their paths at any step,
  and, destination by destination, the closure of the nodes on the way to it under the
  forwarding state (every node on the way from such a node to that destination, at every
  step), so a packet caught at a satellite when the forwarding changes follows the new state
  as it would in Hypatia's full network, instead of being dropped for want of a node. Other
  satellites and ground points are not built; a node has forwarding entries only toward the
  destinations whose packets can reach it (-1 elsewhere).
* **Links**: every (node, next hop) the forwarding state uses at some step; ISLs and
  ground-satellite links (GSLs: one from a ground point to each satellite it uses in the
  window). Per step: ``up`` (the link exists in SkyMesh's graph), the one-way delay (s) read off
  the graph (held at the nearest step where the link is up, when it is down: such a link carries
  no traffic then, as no forwarding entry uses it) and a data rate (bit/s).
* **Data rates** (unless overridden): an optical ISL carries
  :data:`skymesh.links.budget.OPTICAL_ISL` ``fixed_capacity_mbps`` (100 Gbit/s sustained; SpaceX's
  C. Brashears at SPIE Photonics West, reported by PCMag, 31 Jan 2024); a user GSL carries the
  Ku downlink budget's capacity at its slant range and elevation
  (:data:`skymesh.links.budget.STARLINK_USER_DOWNLINK_KU`: DVB-S2X MODCOD x symbol rate; sources
  in its docstring), used for both directions (SkyMesh has no user-uplink budget); a gateway
  relay link carries :data:`skymesh.links.budget.STARLINK_GATEWAY_KA`'s. Hypatia's packet
  experiments use 10 Mbit/s on every ISL and GSL instead (``isl_rate_bps`` / ``gsl_rate_bps``).
* **Forwarding**: ``next_hop[k, node, d]``, the node index of the next hop toward destination
  ``d`` at step ``k`` (-1 at the destination and where there is no route).
* **SkyMesh's own view of each pair**: RTT (ms, twice the one-way shortest-path delay), hops and
  whether the path changed since the step before, for the checks and the report.

Step ``k`` holds from ``t_s[k]`` to ``t_s[k + 1]`` (seconds from ``start``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

import numpy as np

from skymesh.errors import InputError
from skymesh.links.budget import (
    OPTICAL_ISL,
    STARLINK_GATEWAY_KA,
    STARLINK_USER_DOWNLINK_KU,
    link_capacity_mbps,
)
from skymesh.links.isl import DEFAULT_MAX_RANGE_KM, DEFAULT_MIN_CLEARANCE_KM, isl_lengths_km
from skymesh.links.visibility import DEFAULT_MIN_ELEVATION_DEG
from skymesh.links.windows import visible_pairs_windowed
from skymesh.network.over_time import GroundPoints, chunk_steps_for
from skymesh.network.routing import routing_state
from skymesh.network.snapshot import NodeLayout, check_mode, snapshot_graph
from skymesh.orbits.constellation import Constellation
from skymesh.orbits.propagate import positions_ecef
from skymesh.timebase import TimeGrid

VIS_BLOCK = 30  # steps sharing one visibility candidate set (as skymesh.sim.routing_chunk)
MAX_PATH_NODES = 256
SERVING_POLICIES = ("operator", "highest-elevation")
"""The access model's serving policies a packet network can hold per slot: those scored from
the geometry alone (``longest-visibility`` and ``nearest-to-gateway`` need a look ahead and the
exit delays, which a packet network does not compute)."""
MIN_RATE_BPS = 1e3
"""Floor (bit/s) for a link whose budget closes at some step (ns-3 cannot send at 0 bit/s)."""


@dataclass(frozen=True)
class PacketNetwork:
    """A window of SkyMesh's network as arrays (see the module docstring).

    ``K`` steps, ``M`` nodes, ``L`` links, ``D`` destinations, ``P`` pairs.
    """

    start: datetime
    t_s: np.ndarray  # (K,) s from start
    step_s: float
    mode: str
    node_name: np.ndarray  # (M,) str
    node_kind: np.ndarray  # (M,) "satellite" | "ground" | "relay"
    node_compact: np.ndarray  # (M,) SkyMesh compact node id (routing_state numbering)
    endpoint_name: np.ndarray  # (G,) every endpoint of the graph
    endpoint_node: np.ndarray  # (G,) node index, -1 when not built
    link_a: np.ndarray  # (L,) node index
    link_b: np.ndarray  # (L,) node index
    link_kind: np.ndarray  # (L,) "isl" | "gsl" | "relay"
    up: np.ndarray  # (K, L) bool
    delay_s: np.ndarray  # (K, L) one-way delay, s
    rate_bps: np.ndarray  # (K, L) data rate, bit/s
    dest_endpoint: np.ndarray  # (D,) endpoint index of each destination column
    next_hop: np.ndarray  # (K, M, D) node index, -1 = none
    pairs: np.ndarray  # (P, 2) endpoint indices (source, destination)
    space_rtt_ms: np.ndarray  # (K, P) SkyMesh's space RTT (propagation only), NaN unreachable
    hops: np.ndarray  # (K, P) links on the one-way path, -1 when unreachable
    path_changed: np.ndarray  # (K, P) bool: the node path differs from the step before
    rate_source: str
    rtt_ms: np.ndarray | None = None  # (K, P) what a user measures (a scenario run's rtt_ms)

    @property
    def n_steps(self) -> int:
        return len(self.t_s)

    @property
    def n_nodes(self) -> int:
        return len(self.node_name)

    @property
    def n_links(self) -> int:
        return len(self.link_a)

    def pair_names(self) -> list[str]:
        """``"A->B"`` for every pair."""
        n = self.endpoint_name
        return [f"{n[a]}->{n[b]}" for a, b in self.pairs]

    def dest_column(self, endpoint: int) -> int:
        """Column of ``next_hop`` for destination ``endpoint``."""
        hit = np.flatnonzero(self.dest_endpoint == endpoint)
        if not len(hit):
            raise InputError(f"endpoint {endpoint} is not a destination of this network")
        return int(hit[0])

    def path(self, k: int, src: int, dst: int) -> list[int]:
        """Node indices from endpoint ``src`` to endpoint ``dst`` along step ``k``'s forwarding."""
        j = self.dest_column(dst)
        cur, goal = int(self.endpoint_node[src]), int(self.endpoint_node[dst])
        out = [cur]
        while cur != goal and cur >= 0 and len(out) < MAX_PATH_NODES:
            cur = int(self.next_hop[k, cur, j])
            out.append(cur)
        return out if cur == goal else []

    def bottleneck_bps(self, k: int, src: int, dst: int) -> float:
        """Smallest data rate (bit/s) on step ``k``'s path from ``src`` to ``dst`` (0 if none)."""
        p = self.path(k, src, dst)
        if len(p) < 2:
            return 0.0
        lid = self.link_index(np.array(p[:-1]), np.array(p[1:]))
        return float(self.rate_bps[k, lid].min())

    def link_index(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Index of the link between nodes ``a[i]`` and ``b[i]`` (either order); -1 when none."""
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        key = self.link_a.astype(np.int64) * self.n_nodes + self.link_b
        order = np.argsort(key)
        want = lo.astype(np.int64) * self.n_nodes + hi
        pos = np.searchsorted(key[order], want)
        pos = np.minimum(pos, len(key) - 1)
        found = key[order][pos] == want
        return np.where(found, order[pos], -1)


def _graph_ids(layout: NodeLayout, compact: np.ndarray):
    """(out, in) graph node of each compact node: endpoints send from up, receive at down."""
    c = np.asarray(compact)
    n, g = layout.n_sats, layout.n_endpoints
    is_ep = (c >= n) & (c < n + g)
    is_relay = c >= n + g
    out = np.where(is_relay, c + g, c)
    inn = np.where(is_ep, c + g, out)
    return out, inn


def _blocks(constellation, grid, endpoints, min_elevation_deg, max_gsl_range_km):
    """Yield ``(k0, positions (N, B, 3) km, visible endpoint links of the block)`` for blocks
    of :data:`VIS_BLOCK` steps starting at step ``k0``, positions propagated a chunk at a time
    (:func:`skymesh.links.windows.visible_pairs_windowed`'s ``(g, s, k, range, elevation)``,
    ``k`` from the block's start)."""
    chunk = chunk_steps_for(len(constellation), len(grid))
    for c0 in range(0, len(grid), chunk):
        pos_all = positions_ecef(
            constellation, grid.subset(slice(c0, c0 + chunk)), serving_only=True
        )
        for b0 in range(0, pos_all.shape[1], VIS_BLOCK):
            pos = pos_all[:, b0 : b0 + VIS_BLOCK]
            vis = visible_pairs_windowed(
                pos,
                endpoints.lat_deg,
                endpoints.lon_deg,
                min_elevation_deg=min_elevation_deg,
                max_range_km=max_gsl_range_km,
            )
            yield c0 + b0, pos, vis


def _snapshots(
    constellation,
    grid,
    endpoints,
    relays,
    layout,
    mode,
    isl_pairs,
    min_elevation_deg,
    max_gsl_range_km,
    max_isl_range_km,
    min_clearance_km,
    serving=None,
):
    """Yield ``(k, graph, (g, s, range_km, elevation_deg) of endpoint links, same of relays)``
    for every step, built as :mod:`skymesh.sim.routing_chunk` builds them; with ``serving``
    ((G, K) satellite per endpoint and step, -1 none) an endpoint links to that one only."""
    for k0, pos, (vg, vs, vk, vr, ve) in _blocks(
        constellation, grid, endpoints, min_elevation_deg, max_gsl_range_km
    ):
        k_steps = pos.shape[1]
        v_cut = np.searchsorted(vk, np.arange(k_steps + 1))
        use_relays = mode != "isl" and len(relays)
        if use_relays:
            rg, rs, rk, rr, re_ = visible_pairs_windowed(
                pos,
                relays.lat_deg,
                relays.lon_deg,
                min_elevation_deg=min_elevation_deg,
                max_range_km=max_gsl_range_km,
            )
            r_cut = np.searchsorted(rk, np.arange(k_steps + 1))
        isl = None
        if mode != "bent-pipe" and len(isl_pairs):
            isl = isl_lengths_km(
                pos,
                isl_pairs,
                min_clearance_km=min_clearance_km,
                max_range_km=max_isl_range_km,
            )
        for k in range(k_steps):
            a, b = v_cut[k], v_cut[k + 1]
            ep = (vg[a:b], vs[a:b], vr[a:b], ve[a:b])
            if serving is not None:
                keep = ep[1] == serving[ep[0], k0 + k]
                ep = tuple(x[keep] for x in ep)
            links: dict = dict(endpoint_links=(ep[0], ep[1], np.zeros(len(ep[0]), int), ep[2]))
            if isl is not None:
                links.update(isl_pairs=isl_pairs, isl_km=isl[:, k])
            rl = None
            if use_relays:
                c, d = r_cut[k], r_cut[k + 1]
                rl = (rg[c:d], rs[c:d], rr[c:d], re_[c:d])
                links["relay_links"] = (rl[0], rl[1], np.zeros(d - c, int), rl[2])
            yield k0 + k, snapshot_graph(layout, mode, **links), ep, rl


def _serving(constellation, grid, endpoints, min_elevation_deg, max_gsl_range_km, policy):
    """Each endpoint's serving satellite at every step, chosen per 15 s slot under ``policy``
    and held (:func:`skymesh.access.serving.choose_serving`, the access model's scheduler):
    (G, K) satellite indices, -1 where none is in view."""
    from skymesh.access.serving import (
        choose_serving,
        poleward_of_pairs,
        satellite_newness,
        selection_score,
    )
    from skymesh.access.slots import slot_index

    parts: list[list[np.ndarray]] = [[], [], [], []]
    newness = satellite_newness(constellation)
    for k0, pos, (vg, vs, vk, _, ve) in _blocks(
        constellation, grid, endpoints, min_elevation_deg, max_gsl_range_km
    ):
        pw = poleward_of_pairs(pos, endpoints.lat_deg, endpoints.lon_deg, vg, vs, vk)
        score = selection_score(policy, elevation_deg=ve, poleward=pw, newness=newness[vs])
        for i, x in enumerate((vg, vs, vk + k0, score)):
            parts[i].append(x)
    g, s, k, score = (np.concatenate(x) for x in parts)
    serving, *_ = choose_serving(
        len(endpoints), len(grid), g, s, k, score, slot_index(grid.start, grid.offsets_s)
    )
    return serving


def _walk(nh: np.ndarray, src: int, dst: int, j: int) -> list[int]:
    """Compact nodes from ``src`` to ``dst`` along column ``j`` of a forwarding table."""
    cur, out = src, [src]
    while cur != dst and len(out) < MAX_PATH_NODES:
        cur = int(nh[cur, j])
        if cur < 0:
            return []
        out.append(cur)
    return out if cur == dst else []


def _close(member: np.ndarray, tables: np.ndarray, dest_compact: np.ndarray) -> np.ndarray:
    """Grow ``member`` ((compact nodes, D) bool: the node may hold a packet for destination
    ``j``) until, at every step, the chain from every member toward ``j`` stays inside it."""
    for j, d in enumerate(dest_compact):
        col = member[:, j]
        for _ in range(8):
            before = int(col.sum())
            for k in range(tables.shape[0]):
                cur = np.flatnonzero(col)
                for _hop in range(MAX_PATH_NODES):
                    cur = cur[cur != d]
                    nxt = tables[k][cur, j].astype(np.int64)
                    nxt = nxt[nxt >= 0]
                    fresh = nxt[~col[nxt]]
                    if not len(fresh):
                        break
                    col[fresh] = True
                    cur = fresh
            if int(col.sum()) == before:
                break
    return member


def packet_network(
    constellation: Constellation,
    grid: TimeGrid,
    endpoints: GroundPoints,
    pairs,
    *,
    mode: str = "isl",
    isl_pairs=None,
    relays: GroundPoints | None = None,
    min_elevation_deg: float = DEFAULT_MIN_ELEVATION_DEG,
    max_gsl_range_km: float | None = None,
    max_isl_range_km: float | None = DEFAULT_MAX_RANGE_KM,
    min_clearance_km: float = DEFAULT_MIN_CLEARANCE_KM,
    isl_rate_bps: float | None = None,
    gsl_rate_bps: float | None = None,
    serving: str | None = None,
    progress=None,
) -> PacketNetwork:
    """The network a packet run between ``pairs`` of ``endpoints`` uses over ``grid``.

    Parameters
    ----------
    pairs : array_like (P, 2) of int
        (source, destination) endpoint indices; both directions are routed (TCP's ACKs).
    isl_rate_bps, gsl_rate_bps : float, optional
        One data rate (bit/s) for every ISL / every ground-satellite link instead of SkyMesh's
        capacities (Hypatia's packet experiments: 10 Mbit/s both).
    serving : str, optional
        ``None``: every ground point links to every satellite in view and paths are the
        shortest at every step (Hypatia's model). A serving policy of
        :mod:`skymesh.access.serving` (``"operator"``, ``"highest-elevation"``, ...): each
        ground point's user link is to one satellite, chosen at Starlink's 15 s slot
        boundaries (:mod:`skymesh.access.slots`) and held through the slot (re-chosen early
        only when it sets), as the access model's scheduler does; the paths beyond it are the
        shortest at every step.
    progress : callable, optional
        Called with the number of steps done (twice per step: routing, then link delays).
    """
    check_mode(mode)
    if serving is not None and serving not in SERVING_POLICIES:
        raise InputError(
            f"unknown serving policy '{serving}'; choose one of {', '.join(SERVING_POLICIES)}",
            field="serving",
        )
    if len(grid) < 1:
        raise InputError("the time window is empty", field="duration")
    pairs = np.atleast_2d(np.asarray(pairs, dtype=np.int64))
    if pairs.size == 0 or pairs.shape[1] != 2:
        raise InputError("need at least one (source, destination) pair", field="pairs")
    if pairs.min() < 0 or pairs.max() >= len(endpoints):
        raise InputError("a pair names a ground point that does not exist", field="pairs")
    if np.any(pairs[:, 0] == pairs[:, 1]):
        raise InputError("a pair's source and destination are the same place", field="pairs")
    for name, value in (("isl_rate_bps", isl_rate_bps), ("gsl_rate_bps", gsl_rate_bps)):
        if value is not None and not (np.isfinite(value) and value > 0):
            raise InputError(f"must be a positive number of bit/s, got {value!r}", field=name)
    relays = relays if relays is not None else GroundPoints.of([], [], [])
    use_relays = mode != "isl" and len(relays) > 0
    layout = NodeLayout(len(constellation), len(endpoints), len(relays) if use_relays else 0)
    if mode == "bent-pipe":
        isl_pairs = np.empty((0, 2), np.int64)
    elif isl_pairs is None:
        from skymesh.links.isl import plus_grid_pairs

        isl_pairs = plus_grid_pairs(constellation)
    else:
        isl_pairs = np.asarray(isl_pairs, dtype=np.int64).reshape(-1, 2)
    n_sats, n_ep = layout.n_sats, layout.n_endpoints
    n_compact = n_sats + n_ep + layout.n_relays
    dests = np.unique(pairs)
    dest_col = {int(e): j for j, e in enumerate(dests)}
    dest_compact = n_sats + dests
    geo = (
        constellation,
        grid,
        endpoints,
        relays,
        layout,
        mode,
        isl_pairs,
        min_elevation_deg,
        max_gsl_range_km,
        max_isl_range_km,
        min_clearance_km,
        None
        if serving is None
        else _serving(constellation, grid, endpoints, min_elevation_deg, max_gsl_range_km, serving),
    )
    n_steps = len(grid)
    dtype = np.int16 if n_compact < np.iinfo(np.int16).max else np.int32
    tables = np.empty((n_steps, n_compact, len(dests)), dtype=dtype)
    n_pairs = len(pairs)
    rtt = np.full((n_steps, n_pairs), np.nan)
    hops = np.full((n_steps, n_pairs), -1, np.int32)
    changed = np.zeros((n_steps, n_pairs), bool)
    member = np.zeros((n_compact, len(dests)), bool)
    member[dest_compact, np.arange(len(dests))] = True
    last: list[list[int]] = [[] for _ in range(n_pairs)]
    for k, graph, _, _ in _snapshots(*geo):
        r, nh = routing_state(graph, layout, dests)
        tables[k] = nh
        for p, (a, b) in enumerate(pairs):
            ia, ib = dest_col[int(a)], dest_col[int(b)]
            rtt[k, p] = r[ia, ib]
            fwd = _walk(nh, n_sats + int(a), n_sats + int(b), ib)
            back = _walk(nh, n_sats + int(b), n_sats + int(a), ia)
            member[fwd, ib] = True
            member[back, ia] = True
            hops[k, p] = len(fwd) - 1 if fwd else -1
            changed[k, p] = k > 0 and fwd != last[p]
            last[p] = fwd
        if progress is not None:
            progress(1)
    member = _close(member, tables, dest_compact)
    compact = np.flatnonzero(member.any(axis=1))
    node_of = np.full(n_compact, -1, np.int64)
    node_of[compact] = np.arange(len(compact))
    # forwarding among the built nodes (entries toward d only where a packet for d can be),
    # and the links it uses
    nh_nodes = tables[:, compact, :].astype(np.int64)
    ok = (nh_nodes >= 0) & member[compact][None, :, :]
    next_hop = np.where(ok, node_of[np.maximum(nh_nodes, 0)], -1).astype(np.int32)
    kk, uu, _jj = np.nonzero(next_hop >= 0)
    vv = next_hop[kk, uu, _jj]
    lo, hi = np.minimum(uu, vv), np.maximum(uu, vv)
    key = np.unique(lo.astype(np.int64) * len(compact) + hi)
    link_a, link_b = key // len(compact), key % len(compact)
    del tables, nh_nodes

    kind = np.where(
        compact < n_sats, "satellite", np.where(compact < n_sats + n_ep, "ground", "relay")
    )
    ca, cb = compact[link_a], compact[link_b]
    link_kind = np.where(
        (kind[link_a] == "satellite") & (kind[link_b] == "satellite"),
        "isl",
        np.where((kind[link_a] == "relay") | (kind[link_b] == "relay"), "relay", "gsl"),
    )
    out_a, in_a = _graph_ids(layout, ca)
    out_b, in_b = _graph_ids(layout, cb)
    n_links = len(link_a)
    delay = np.full((n_steps, n_links), np.nan)
    rate = np.full((n_steps, n_links), np.nan)
    # ground side and satellite of each ground link, to look its elevation up
    is_ground_a = kind[link_a] != "satellite"
    g_node = np.where(is_ground_a, ca, cb)
    s_node = np.where(is_ground_a, cb, ca)
    for k, graph, ep, rl in _snapshots(*geo):
        w = np.asarray(graph[out_a, in_b]).ravel()
        w2 = np.asarray(graph[out_b, in_a]).ravel()
        w = np.where(w > 0, w, w2)
        delay[k] = np.where(w > 0, w, np.nan)
        if isl_rate_bps is None:
            rate[k, link_kind == "isl"] = float(OPTICAL_ISL.fixed_capacity_mbps or 0.0) * 1e6
        else:
            rate[k, link_kind == "isl"] = isl_rate_bps
        ground = link_kind != "isl"
        if gsl_rate_bps is not None:
            rate[k, ground] = gsl_rate_bps
        elif ground.any():
            for links, base, params in (
                (ep, n_sats, STARLINK_USER_DOWNLINK_KU),
                (rl, n_sats + n_ep, STARLINK_GATEWAY_KA),
            ):
                if links is None or not len(links[0]):
                    continue
                lk = (links[0].astype(np.int64) + base) * n_sats + links[1]
                want = g_node.astype(np.int64) * n_sats + s_node
                order = np.argsort(lk)
                pos = np.minimum(np.searchsorted(lk[order], want), len(lk) - 1)
                hit = ground & (lk[order][pos] == want)
                idx = order[pos[hit]]
                rate[k, hit] = 1e6 * link_capacity_mbps(links[2][idx], links[3][idx], params)
        if progress is not None:
            progress(1)
    up = np.isfinite(delay)
    delay = _hold(delay)
    rate = np.maximum(_hold(rate), MIN_RATE_BPS)
    names = np.concatenate(
        [
            np.asarray(constellation.sat_names, dtype=str),
            np.asarray(endpoints.names, dtype=str),
            np.asarray(relays.names, dtype=str) if use_relays else np.empty(0, str),
        ]
    )
    endpoint_node = node_of[n_sats : n_sats + n_ep].copy()
    if isl_rate_bps is None and gsl_rate_bps is None:
        source = "SkyMesh: optical ISL 100 Gbit/s; GSL from the Ku user-downlink budget"
    else:
        source = (
            f"fixed: ISL {isl_rate_bps or 0:.6g} bit/s, GSL {gsl_rate_bps or 0:.6g} bit/s"
            if isl_rate_bps is not None and gsl_rate_bps is not None
            else "mixed: fixed where given, SkyMesh's capacities elsewhere"
        )
    step_s = float(np.median(np.diff(grid.offsets_s))) if n_steps > 1 else 1.0
    return PacketNetwork(
        start=grid.start,
        t_s=np.asarray(grid.offsets_s, float) - float(grid.offsets_s[0]),
        step_s=step_s,
        mode=mode,
        node_name=names[compact],
        node_kind=kind,
        node_compact=compact,
        endpoint_name=np.asarray(endpoints.names, dtype=str),
        endpoint_node=endpoint_node,
        link_a=link_a.astype(np.int64),
        link_b=link_b.astype(np.int64),
        link_kind=link_kind,
        up=up,
        delay_s=delay,
        rate_bps=rate,
        dest_endpoint=dests,
        next_hop=next_hop,
        pairs=pairs,
        space_rtt_ms=rtt,
        hops=hops,
        path_changed=changed,
        rate_source=source,
    )


def _hold(values: np.ndarray) -> np.ndarray:
    """Fill NaN along axis 0 with the previous finite value, then the next (per column)."""
    v = values.copy()
    n = len(v)
    idx = np.where(np.isfinite(v), np.arange(n)[:, None], -1)
    np.maximum.accumulate(idx, axis=0, out=idx)
    cols = np.arange(v.shape[1])
    fwd = np.where(idx >= 0, v[np.maximum(idx, 0), cols], np.nan)
    idx2 = np.where(np.isfinite(v), np.arange(n)[:, None], n)
    idx2 = np.minimum.accumulate(idx2[::-1], axis=0)[::-1]
    back = np.where(idx2 < n, v[np.minimum(idx2, n - 1), cols], np.nan)
    out = np.where(np.isfinite(fwd), fwd, back)
    return np.where(np.isfinite(out), out, 0.0)


HYPATIA_CITIES_FILE = (
    "hypatia_ground_stations_cities_sorted_by_estimated_2025_pop_top_100.basic.txt"
)
"""Hypatia's 100 most populous cities (satgenpy's ``ground_stations_cities_sorted_by_estimated_
2025_pop_top_100.basic.txt``), looked up in the data directory."""
HYPATIA_RATE_BPS = 10e6
"""ISL and GSL data rate of Hypatia's TCP experiments, 10 Mbit/s (Kassing et al., "Exploring the
'Internet from space' with Hypatia", IMC 2020, §5; its repository's
paper/ns3_experiments/a_b/run_list.py: ``data_rate_megabit_per_s = 10.0``, queues of 100
packets, forwarding state every 100 ms, 200 s runs)."""
HYPATIA_STEP_S = 0.1
"""Hypatia's dynamic-state update interval in those runs, s (``dynamic_state_update_interval_ms
= 100``, same file)."""


@dataclass(frozen=True)
class PopSite:
    """A PoP reached through one gateway: what :func:`with_pop` adds to a network."""

    name: str  # the PoP's name, as the gateway list gives it
    gateway: str  # the gateway that hands the PoP's traffic to the satellites
    gateway_lat_deg: float
    gateway_lon_deg: float
    fibre_one_way_s: float  # gateway -> PoP over terrestrial fibre, s
    rate_bps: float  # the gateway site's capacity, bit/s


def pop_site(name: str, gateways_file=None) -> PopSite:
    """The PoP called ``name`` and the gateway its packets use, from a gateway list.

    ``gateways_file`` (default: the gateway + PoP list shipped with SkyMesh or a newer one in
    the data directory, :func:`skymesh.ground.sites.default_sites`, the list ``skymesh
    access`` uses) holds
    gateway and PoP rows (:mod:`skymesh.ground.gateways`). Gateways are homed to PoPs by
    :func:`skymesh.ground.pops.home_gateways` (nearest PoP in the gateway's country, else the
    nearest); of those homed to this PoP the one nearest it carries the run (the access model,
    :mod:`skymesh.access`, re-chooses among them every 15 s slot; a packet network holds one).
    The fibre leg is :func:`skymesh.ground.pops.fibre_rtt_ms` / 2 (great circle x 1.3 route
    factor at c / 1.4682); its rate is the gateway site's listed capacity, else the capacity
    model's (:mod:`skymesh.capacity.network`: its antennas, or 8, x 6.8 Gbit/s, sources
    there).
    """
    from skymesh.ground.pops import fibre_rtt_ms, great_circle_km, home_gateways
    from skymesh.ground.sites import load_sites

    gws, pops, found = load_sites(gateways_file)
    path = found.path
    if pops is None or not len(pops):
        raise InputError(f"{path} lists no PoPs", field="pop")
    want = name.strip().lower()
    lower = [str(p).lower() for p in pops.name]
    hit = [i for i, p in enumerate(lower) if p == want]
    if not hit:  # the city alone ("London" for "London, UK") when it names one PoP
        city = [i for i, p in enumerate(lower) if p.split(",")[0].strip() == want]
        hit = city if len(city) == 1 else []
    if not hit:
        close = [str(p) for p in pops.name if want[:4] and want[:4] in str(p).lower()]
        raise InputError(
            f"no PoP named '{name}' in {path.name}"
            + (f"; did you mean {', '.join(close[:4])}?" if close else "")
            + f" ({len(pops)} PoPs, e.g. {', '.join(map(str, pops.name[:3]))})",
            field="pop",
        )
    p = int(hit[0])
    home = home_gateways(gws.lat_deg, gws.lon_deg, gws.country_iso2, pops, gw_name=gws.name)
    mine = np.flatnonzero(home == p)
    if not len(mine):
        raise InputError(
            f"no operational gateway is homed to the PoP '{pops.name[p]}'", field="pop"
        )
    d_km = great_circle_km(gws.lat_deg[mine], gws.lon_deg[mine], pops.lat_deg[p], pops.lon_deg[p])
    g = int(mine[np.argmin(d_km)])
    rtt_ms = float(fibre_rtt_ms(gws.lat_deg[g], gws.lon_deg[g], pops.lat_deg[p], pops.lon_deg[p]))
    from skymesh.capacity.network import NetworkCapacityParams

    cap_gbps = float(gws.capacity_gbps[g])
    if not (np.isfinite(cap_gbps) and cap_gbps > 0):  # the capacity model's site capacity
        params = NetworkCapacityParams()
        antennas = float(gws.num_antennas[g])
        if not (np.isfinite(antennas) and antennas > 0):
            antennas = float(cast(float, params.gateway_antennas))
        cap_gbps = antennas * float(cast(float, params.gateway_antenna_mbps)) / 1e3
    return PopSite(
        name=str(pops.name[p]),
        gateway=str(gws.name[g]),
        gateway_lat_deg=float(gws.lat_deg[g]),
        gateway_lon_deg=float(gws.lon_deg[g]),
        fibre_one_way_s=rtt_ms / 2e3,
        rate_bps=cap_gbps * 1e9,
    )


def with_pop(net: PacketNetwork, site: PopSite, gateway_endpoint: int) -> PacketNetwork:
    """``net`` with the PoP of ``site`` behind the ground point ``gateway_endpoint``.

    The PoP becomes endpoint ``len(net.endpoint_name)`` and node ``net.n_nodes``, joined to the
    gateway's node by one fibre link (``site.fibre_one_way_s``, ``site.rate_bps``, up at every
    step). Toward the PoP every node forwards as toward the gateway, and the gateway on to the
    PoP; the PoP sends everything to the gateway. Each pair (a, gateway) or (gateway, b) gains
    a pair (a, PoP) or (PoP, b) whose SkyMesh RTT is the pair's plus the fibre round trip and
    whose path is one hop longer.
    The gateway must be a destination of ``net`` (an end of one of its pairs).
    """
    from dataclasses import replace

    if not 0 <= gateway_endpoint < len(net.endpoint_node):
        raise InputError(f"the PoP's gateway (endpoint {gateway_endpoint}) is not in the network")
    gw_node = int(net.endpoint_node[gateway_endpoint])
    if gw_node < 0 or gateway_endpoint not in set(int(d) for d in net.dest_endpoint):
        raise InputError("the PoP's gateway is not an end of any pair of the network", field="pop")
    k, m, d = net.next_hop.shape
    pop_node, pop_ep = m, len(net.endpoint_name)
    gw_col = net.dest_column(gateway_endpoint)
    nh = np.full((k, m + 1, d + 1), -1, dtype=net.next_hop.dtype)
    nh[:, :m, :d] = net.next_hop
    nh[:, :m, d] = net.next_hop[:, :, gw_col]  # toward the PoP: as toward its gateway
    nh[:, gw_node, d] = pop_node
    nh[:, pop_node, :d] = gw_node  # from the PoP: everything to the gateway
    to_gw = net.pairs[:, 1] == gateway_endpoint
    from_gw = net.pairs[:, 0] == gateway_endpoint
    mine = np.flatnonzero(to_gw | from_gw)
    extra = net.pairs[mine].copy()
    extra[to_gw[mine], 1] = pop_ep
    extra[from_gw[mine] & ~to_gw[mine], 0] = pop_ep
    return replace(
        net,
        node_name=np.append(net.node_name, f"PoP {site.name}"),
        node_kind=np.append(net.node_kind, "pop"),
        node_compact=np.append(net.node_compact, -1),
        endpoint_name=np.append(net.endpoint_name, site.name),
        endpoint_node=np.append(net.endpoint_node, pop_node),
        link_a=np.append(net.link_a, gw_node),
        link_b=np.append(net.link_b, pop_node),
        link_kind=np.append(net.link_kind, "fibre"),
        up=np.concatenate([net.up, np.ones((k, 1), bool)], axis=1),
        delay_s=np.concatenate([net.delay_s, np.full((k, 1), site.fibre_one_way_s)], axis=1),
        rate_bps=np.concatenate([net.rate_bps, np.full((k, 1), site.rate_bps)], axis=1),
        dest_endpoint=np.append(net.dest_endpoint, pop_ep),
        next_hop=nh,
        pairs=np.concatenate([net.pairs, extra]).astype(net.pairs.dtype),
        space_rtt_ms=np.concatenate(
            [net.space_rtt_ms, net.space_rtt_ms[:, mine] + 2e3 * site.fibre_one_way_s], axis=1
        ),
        hops=np.concatenate(
            [net.hops, np.where(net.hops[:, mine] >= 0, net.hops[:, mine] + 1, -1)], axis=1
        ),
        path_changed=np.concatenate([net.path_changed, net.path_changed[:, mine]], axis=1),
        rtt_ms=None
        if net.rtt_ms is None
        else np.concatenate([net.rtt_ms, net.rtt_ms[:, mine] + 2e3 * site.fibre_one_way_s], axis=1),
        rate_source=(
            f"{net.rate_source}; fibre to PoP {site.name}: gateway {site.gateway}'s capacity"
        ),
    )
