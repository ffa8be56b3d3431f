"""Routes from terminals to the internet: up to a satellite, across ISLs, down at a gateway.

Gateways here are exits, not relays: an edge goes down from a satellite to
a gateway and on to a per-group *internet* sink, never back up. Which
gateways a terminal may exit at is a boolean mask per *exit group* (for
example, one group per terminal country under the service policy's exit
rule). One Dijkstra per group and instant, run on the reversed graph from
that group's sink, gives every terminal's delay to the internet and, read
off the predecessors, its whole path and exit gateway.

Node layout (per instant): satellites ``0..N-1``, terminal up nodes
``N..N+G-1`` (edges to satellites in view of the terminal), gateways
``N+G..N+G+W-1`` (edges from satellites in view), then one sink per group.
In ``bent-pipe`` mode there are no ISLs, so a path is terminal - satellite -
gateway; ``isl`` and ``hybrid`` are the same thing here, as gateways do not relay.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from skymesh.constants import SPEED_OF_LIGHT_KM_S
from skymesh.network.snapshot import check_mode, isl_edges

SINK_DELAY_S = 1e-12
"""Weight of gateway -> sink edges: csgraph needs a positive weight; 1 ps changes no RTT."""


@dataclass(frozen=True)
class EgressLayout:
    """Node numbering of an egress graph (see the module docstring)."""

    n_sats: int
    n_terminals: int
    n_gateways: int
    n_groups: int

    @property
    def term0(self) -> int:
        return self.n_sats

    @property
    def gw0(self) -> int:
        return self.n_sats + self.n_terminals

    @property
    def sink0(self) -> int:
        return self.gw0 + self.n_gateways

    @property
    def n_nodes(self) -> int:
        return self.sink0 + self.n_groups


def egress_graph(
    layout: EgressLayout,
    mode: str,
    n_steps: int = 1,
    *,
    isl_pairs=None,
    isl_km=None,
    terminal_links=None,
    gateway_links=None,
    exit_mask=None,
    terminal_enabled=None,
    exit_delay_s=None,
) -> sp.csr_matrix:
    """The *reversed* egress graph of ``n_steps`` instants, block-diagonal.

    Edges point from the internet back toward terminals, so one search from
    a sink finds every terminal's route. Node ``n`` of step ``k`` is
    ``k * layout.n_nodes + n``.

    Parameters
    ----------
    isl_pairs : (L, 2) int
    isl_km : (L, n_steps) km, NaN where a link is down (failed, blocked, too long)
    terminal_links, gateway_links : tuple (ground, sat, step, range_km)
        Links in view (from :func:`skymesh.links.visibility.visible_pairs`);
        remove failed satellites and gateways before passing them.
    exit_mask : (n_groups, W, n_steps) bool
        Gateways each exit group may leave at, per step.
    terminal_enabled : (G, n_steps) bool, optional
        Terminals with service (the operator's geofence); others get no up-link.
    exit_delay_s : (W,) s, optional
        One-way delay from each gateway to the internet beyond it (the fibre leg to its
        PoP); ``SINK_DELAY_S`` when not given (the gateway is the exit).
    """
    check_mode(mode)
    n = layout.n_nodes
    src: list[np.ndarray] = []
    dst: list[np.ndarray] = []
    w: list[np.ndarray] = []
    if mode != "bent-pipe":
        isl_edges(isl_pairs, isl_km, n_steps, n, src, dst, w)
    if terminal_links is not None and len(terminal_links[0]):
        g, s, k, r = (np.asarray(x) for x in terminal_links)
        if terminal_enabled is not None:
            keep = np.asarray(terminal_enabled).reshape(layout.n_terminals, n_steps)[g, k]
            g, s, k, r = g[keep], s[keep], k[keep], r[keep]
        src.append(s + k * n)  # reversed: satellite -> terminal
        dst.append(layout.term0 + g + k * n)
        w.append(r / SPEED_OF_LIGHT_KM_S)
    if gateway_links is not None and len(gateway_links[0]):
        g, s, k, r = (np.asarray(x) for x in gateway_links)
        src.append(layout.gw0 + g + k * n)  # reversed: gateway -> satellite
        dst.append(s + k * n)
        w.append(r / SPEED_OF_LIGHT_KM_S)
    if exit_mask is not None:
        mask = np.asarray(exit_mask).reshape(layout.n_groups, layout.n_gateways, n_steps)
        grp, gw, k = np.nonzero(mask)
        src.append(layout.sink0 + grp + k * n)  # reversed: sink -> gateway
        dst.append(layout.gw0 + gw + k * n)
        if exit_delay_s is None:
            w.append(np.full(len(grp), SINK_DELAY_S))
        else:
            w.append(np.maximum(np.asarray(exit_delay_s, dtype=float)[gw], SINK_DELAY_S))
    size = n * n_steps
    if not src:
        return sp.csr_matrix((size, size))
    return sp.csr_matrix(
        (np.concatenate(w), (np.concatenate(src), np.concatenate(dst))), shape=(size, size)
    )


def egress_routes(
    graph: sp.csr_matrix,
    layout: EgressLayout,
    terminal_group: np.ndarray,
    n_steps: int = 1,
    max_hops: int = 64,
):
    """Every terminal's shortest route to the internet through its group's allowed gateways.

    One min-only Dijkstra per exit group covers all ``n_steps`` blocks at once.

    Returns
    -------
    dict of arrays, shape (n_steps, G) unless noted:
        ``path_rtt_ms`` (the shortest path's round trip over the graph's edge delays:
        space propagation, plus any delay the caller put on the sink edges; NaN when
        unserved; not a headline figure, see :mod:`skymesh.metrics`), ``gateway``
        (index, -1 when unserved),
        ``sat_hops`` (satellites on the path), ``isl_hops``, and
        ``path`` (n_steps, G, L) int: satellites from the terminal's up-link to
        the gateway's down-link, padded with -1.
    """
    terminal_group = np.asarray(terminal_group)
    n, n_term = layout.n_nodes, layout.n_terminals
    offsets = (np.arange(n_steps) * n)[:, None]
    term_nodes = layout.term0 + np.arange(n_term)[None, :] + offsets  # (K, G)
    dist = np.full((n_steps, n_term), np.inf)
    nxt = np.full((n_steps, n_term), -9999, dtype=np.int64)
    pred_of_group = {}
    for grp in np.unique(terminal_group[terminal_group >= 0]):
        d, pred, _ = dijkstra(
            graph,
            directed=True,
            indices=layout.sink0 + grp + offsets[:, 0],
            return_predecessors=True,
            min_only=True,
        )
        cols = np.flatnonzero(terminal_group == grp)
        dist[:, cols] = d[term_nodes[:, cols]]
        nxt[:, cols] = pred[term_nodes[:, cols]]
        pred_of_group[grp] = (pred, cols)
    reach = np.isfinite(dist)
    hops = []
    cur = np.where(reach, nxt, -9999)
    # In the reversed tree a node's predecessor is its next hop toward the internet.
    for _ in range(max_hops):
        local = np.where(cur >= 0, cur % n, -1)
        is_sat = (local >= 0) & (local < layout.n_sats)
        if not is_sat.any():
            break
        hops.append(np.where(is_sat, local, -1).astype(np.int32))
        step_next = cur.copy()
        for grp, (pred, cols) in pred_of_group.items():
            sub = cur[:, cols]
            ok = is_sat[:, cols]
            step_next[:, cols] = np.where(ok, pred[np.where(ok, sub, 0)], sub)
        cur = step_next
    path = np.stack(hops, axis=2) if hops else np.full((n_steps, n_term, 1), -1, dtype=np.int32)
    local = np.where(cur >= 0, cur % n, -1)
    at_gw = reach & (local >= layout.gw0) & (local < layout.sink0)
    gateway = np.where(at_gw, local - layout.gw0, -1)
    sat_hops = (path >= 0).sum(axis=2)
    return dict(
        path_rtt_ms=np.where(at_gw, 2e3 * dist, np.nan),
        gateway=gateway,
        sat_hops=np.where(at_gw, sat_hops, 0),
        isl_hops=np.where(at_gw, np.maximum(sat_hops - 1, 0), 0),
        path=path,
    )


def exit_trees(graph: sp.csr_matrix, layout: EgressLayout, n_steps: int = 1):
    """Every node's delay to each exit group's internet and its next hop toward it.

    One min-only Dijkstra per group on the reversed graph (as :func:`egress_routes`), but
    read at every node instead of at terminal up nodes: the graph needs no terminal
    up-links, and a terminal's route through any satellite ``s`` it sees is its up-link
    plus ``dist[group, k, s]``.

    Returns
    -------
    dist_s : (n_groups, n_steps, n_sats) float
        One-way delay (s) from each satellite to the group's internet; inf if none.
    pred : (n_groups, n_steps * n_nodes) int32
        Next hop toward the internet of every node (the reversed tree's predecessor),
        negative at the root and where unreachable.
    """
    n = layout.n_nodes
    roots = layout.sink0 + np.arange(layout.n_groups)[:, None] + (np.arange(n_steps) * n)[None, :]
    dist = np.empty((layout.n_groups, n_steps, layout.n_sats))
    pred = np.empty((layout.n_groups, n_steps * n), dtype=np.int32)
    for grp in range(layout.n_groups):
        d, p, _ = dijkstra(
            graph, directed=True, indices=roots[grp], return_predecessors=True, min_only=True
        )
        dist[grp] = d.reshape(n_steps, n)[:, : layout.n_sats]
        pred[grp] = p
    return dist, pred


def walk_to_exit(
    pred: np.ndarray,
    layout: EgressLayout,
    group: np.ndarray,
    step: np.ndarray,
    sat: np.ndarray,
    max_hops: int = 64,
):
    """Paths from satellites to their group's exit, read off :func:`exit_trees`' trees at once.

    ``group``, ``step`` and ``sat`` are int arrays of one shape (``sat`` < 0: no path).
    Returns ``(path, gateway)``: ``path`` of shape ``sat.shape + (L,)`` holds the satellites
    from ``sat`` to the one that goes down to the gateway (-1 padded); ``gateway`` the
    gateway index (-1 when unreachable). Pointer jumping over arrays, no loop per path.
    """
    n = layout.n_nodes
    shape = np.shape(sat)
    grp = np.asarray(group, dtype=np.int64).ravel()
    k = np.asarray(step, dtype=np.int64).ravel()
    cur = np.where(
        np.asarray(sat).ravel() >= 0, k * n + np.asarray(sat, dtype=np.int64).ravel(), -1
    )
    hops = []
    for _ in range(max_hops + 1):
        local = np.where(cur >= 0, cur % n, -1)
        is_sat = (local >= 0) & (local < layout.n_sats)
        if not is_sat.any():
            break
        hops.append(np.where(is_sat, local, -1).astype(np.int32))
        nxt = pred[np.where(is_sat, grp, 0), np.where(is_sat, cur, 0)].astype(np.int64)
        cur = np.where(is_sat, nxt, cur)
    local = np.where(cur >= 0, cur % n, -1)
    gateway = np.where((local >= layout.gw0) & (local < layout.sink0), local - layout.gw0, -1)
    path = np.stack(hops, axis=-1) if hops else np.full((len(cur), 1), -1, np.int32)
    path = np.where((gateway >= 0)[:, None], path, -1)
    return path.reshape(shape + (path.shape[-1],)), gateway.reshape(shape)
