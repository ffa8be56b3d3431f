"""Shortest-latency routing on snapshot graphs: paths, all-pairs RTT, forwarding state.

All searches run from endpoint up nodes in :func:`skymesh.network.sssp.dijkstra`: a
compiled, parallel Dijkstra (numba, no GIL) that returns exactly what
``scipy.sparse.csgraph.dijkstra`` returns, predecessors on ties included.
Because every link carries the same delay both ways (see
:mod:`skymesh.network.snapshot`), the shortest-path tree rooted at the up
node of destination ``d`` also gives, for every node, its next hop *toward*
``d``: the node's predecessor in that tree. One search from each
destination therefore yields both the RTTs and the forwarding state.

RTT is twice the one-way propagation delay of the shortest path (no
queueing, no processing), reported in ms; unreachable pairs are NaN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from skymesh.network.snapshot import NodeLayout
from skymesh.network.sssp import dijkstra, dijkstra_last_hop

NO_HOP = -1


@dataclass(frozen=True)
class Route:
    """One shortest path between two endpoints at one instant.

    Attributes
    ----------
    delay_s : float
        One-way propagation delay (s); ``inf`` when unreachable.
    nodes : tuple of int
        Graph nodes from the source's up node to the destination's down node
        (empty when unreachable).
    """

    delay_s: float
    nodes: tuple

    @property
    def reachable(self) -> bool:
        return bool(np.isfinite(self.delay_s))

    @property
    def space_rtt_ms(self) -> float | None:
        """Propagation-only round trip of the path (ms; :mod:`skymesh.metrics`), None if none."""
        return 2e3 * self.delay_s if self.reachable else None


def trees_from(graph, layout: NodeLayout, endpoints):
    """Dijkstra from the up nodes of ``endpoints``: ``(dist_s, predecessors)``, (E, nodes) each."""
    return dijkstra(graph, layout.up(np.atleast_1d(endpoints)))


def walk_back(
    predecessors: np.ndarray, targets: np.ndarray, sources: np.ndarray, max_len: int = 256
) -> np.ndarray:
    """Paths from ``sources`` to ``targets`` read off a predecessor array, all at once.

    ``predecessors`` is one row (a min-only search) or per-path rows already
    picked by the caller; each path is walked back in lock-step with the
    others (pointer jumping over numpy arrays, no per-path loop).

    Returns
    -------
    ndarray of int, shape (P, L): nodes from source to target, padded with -1
    on the right; a row of -1 where the target is unreachable.
    """
    cur = np.asarray(targets).copy()
    sources = np.asarray(sources)
    steps = [cur.copy()]
    alive = cur >= 0
    for _ in range(max_len):
        done = cur == sources
        if np.all(done | ~alive):
            break
        nxt = np.where(alive & ~done, predecessors[np.where(alive, cur, 0)], cur)
        alive &= ~((nxt < 0) & ~done)
        cur = np.where(alive, nxt, -1)
        steps.append(np.where(alive & ~done, cur, -1))
    back = np.stack(steps, axis=1)
    reached = (cur == sources) & alive
    back[~reached] = -1
    # reverse each row's valid prefix: positions beyond a row's length are -1
    lengths = (back >= 0).sum(axis=1)
    out = np.full_like(back, -1)
    cols = np.arange(back.shape[1])
    rows = np.repeat(np.arange(len(back)), lengths)
    pos = np.concatenate([np.arange(n) for n in lengths]) if len(lengths) else cols[:0]
    out[rows, pos] = back[rows, (lengths[rows] - 1 - pos)]
    return out[:, : max(1, lengths.max(initial=0))]


def route(graph, layout: NodeLayout, a: int, b: int) -> Route:
    """Shortest-latency route from endpoint ``a`` to endpoint ``b``."""
    dist, pred = trees_from(graph, layout, [a])
    target = int(layout.down(b))
    delay = float(dist[0, target])
    if not np.isfinite(delay):
        return Route(np.inf, ())
    path = walk_back(pred[0], np.array([target]), np.array([int(layout.up(a))]))[0]
    return Route(delay, tuple(int(x) for x in path if x >= 0))


def all_pairs_space_rtt_ms(graph, layout: NodeLayout, endpoints=None) -> np.ndarray:
    """Space RTT (ms, propagation only) between every pair of ``endpoints`` (default all), NaN
    when unreachable.

    Returns an (E, E) array; the diagonal is 0.
    """
    endpoints = np.arange(layout.n_endpoints) if endpoints is None else np.asarray(endpoints)
    dist, _ = dijkstra(graph, layout.up(endpoints))
    rtt = 2e3 * dist[:, layout.down(endpoints)]
    rtt[~np.isfinite(rtt)] = np.nan
    np.fill_diagonal(rtt, 0.0)
    return rtt


def routing_state(graph, layout: NodeLayout, destinations=None, *, engine: str = "auto"):
    """All-pairs RTT among ``destinations`` and the forwarding state toward each.

    ``engine="scipy"`` runs the same computation on ``scipy.sparse.csgraph.dijkstra``
    and a numpy argmin instead of the compiled kernels (the reference; identical output).

    Returns
    -------
    space_rtt_ms : ndarray (D, D)
        Space RTT (propagation only) between destinations (symmetric; NaN when
        unreachable).
    next_hop : ndarray of int (n_compact, D)
        For every node in the compact numbering (satellites ``0..N-1``,
        endpoints ``N..N+G-1``, relays after), the next node toward each
        destination in the same numbering; ``-1`` at the destination itself
        and where no route exists. This is the per-node forwarding table a
        packet-level simulator consumes (Hypatia's fstate).

    Notes
    -----
    The endpoint *down* nodes are sinks (edges only from satellites), so the
    searches run on the graph without them: from the up node of each
    destination ``d``, Dijkstra gives ``dist[d, s]`` to every satellite (by
    symmetry, the delay from ``s`` to ``d``) and each satellite's tree
    predecessor (its next hop toward ``d``). The delay to endpoint ``b``'s
    down node is then ``min over s -> down(b) links of dist[d, s] + w(s, b)``,
    one compiled minimum over each endpoint's links;
    the minimising satellite is ``b``'s first hop toward ``d``. This is
    exactly the search on the full graph, with fewer nodes and edges in the
    heap. The forwarding table is returned as a transposed view of a
    (D, n_compact) array.
    """
    search, link_ptr, link_sat, link_w = split_down_links(graph, layout)
    return routing_state_split(
        search, link_ptr, link_sat, link_w, layout, destinations, engine=engine
    )


def split_down_links(graph, layout: NodeLayout):
    """``graph`` without its edges into endpoint down nodes, and those edges by endpoint.

    Returns ``(search, link_ptr, link_sat, link_w)``: the CSR graph the searches of
    :func:`routing_state` run on, and for endpoint ``e`` the links
    ``link_ptr[e]:link_ptr[e+1]`` from satellite ``link_sat`` with delay ``link_w`` (s),
    in satellite order. :func:`skymesh.network.snapshot.search_graph` builds the same
    arrays directly for ``isl``-mode chunks.
    """
    n_ep = layout.n_endpoints
    if graph.format != "csr":
        graph = graph.tocsr()
    # Split off the edges into down nodes: (satellite, endpoint, delay s), by endpoint.
    cols = graph.indices
    into_down = (cols >= layout.down0) & (cols < layout.relay0)
    row_of = np.repeat(np.arange(graph.shape[0], dtype=cols.dtype), np.diff(graph.indptr))
    down_ep = cols[into_down] - layout.down0
    order = np.argsort(down_ep, kind="stable")
    link_sat = row_of[into_down][order]
    link_w = graph.data[into_down][order]
    link_ep = down_ep[order]
    keep = ~into_down
    kept_per_row = np.bincount(row_of[keep], minlength=graph.shape[0])
    indptr = np.zeros(graph.shape[0] + 1, dtype=graph.indptr.dtype)
    np.cumsum(kept_per_row, out=indptr[1:])
    search = sp.csr_matrix((graph.data[keep], cols[keep], indptr), shape=graph.shape)
    link_ptr = np.zeros(n_ep + 1, dtype=np.int64)
    np.cumsum(np.bincount(link_ep, minlength=n_ep), out=link_ptr[1:])
    return search, link_ptr, link_sat, link_w


def routing_state_split(
    search, link_ptr, link_sat, link_w, layout: NodeLayout, destinations=None, *, engine="auto"
):
    """:func:`routing_state` from the split graph :func:`split_down_links` returns."""
    dests = np.arange(layout.n_endpoints) if destinations is None else np.asarray(destinations)
    n_sats, n_ep = layout.n_sats, layout.n_endpoints
    n_dest = len(dests)
    # Searches from the destinations' up nodes, and with them the delay from each
    # destination's up node to every endpoint's down node and the satellite achieving
    # it (that endpoint's first hop toward the destination): the minimum over each
    # endpoint's links, first link in order on ties, while the search's distances are
    # in cache (compiled; the distances are not kept).
    pred, down_dist, first_hop = dijkstra_last_hop(
        search,
        layout.up(dests),
        link_ptr,
        link_sat,
        link_w,
        engine="scipy" if engine == "scipy" else "auto",
    )
    first_hop[first_hop < 0] = NO_HOP
    rtt = 2e3 * down_dist[:, dests]
    rtt[~np.isfinite(rtt)] = np.nan
    np.fill_diagonal(rtt, 0.0)

    # Forwarding table, built in place in ``pred`` (D, n_nodes): in the compact
    # numbering endpoint e is node N + e, the column of its up node, so the table's
    # transpose is pred's satellite and up-node columns (with each endpoint's first
    # hop written over its up-node column), then the relay columns. A satellite's (or
    # relay's) tree predecessor is its next hop toward the root; the root's up node
    # stands for "down to that endpoint" and already carries the endpoint's id.
    pred[:, n_sats : n_sats + n_ep] = first_hop
    if layout.n_relays:
        table_t = np.concatenate([pred[:, : n_sats + n_ep], pred[:, layout.relay0 :]], axis=1)
        table_t[table_t >= layout.relay0] -= n_ep
    else:
        table_t = pred[:, : n_sats + n_ep]
    table_t[table_t < 0] = NO_HOP
    table_t[np.arange(n_dest), n_sats + dests] = NO_HOP
    return rtt, table_t.T
