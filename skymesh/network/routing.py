"""Shortest-latency routing on snapshot graphs: paths, all-pairs RTT, forwarding state.

All searches are ``scipy.sparse.csgraph.dijkstra`` from endpoint up nodes.
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
from scipy.sparse.csgraph import dijkstra

from skymesh.network.snapshot import NodeLayout

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
    def rtt_ms(self) -> float | None:
        return 2e3 * self.delay_s if self.reachable else None


def trees_from(graph, layout: NodeLayout, endpoints):
    """Dijkstra from the up nodes of ``endpoints``: ``(dist_s, predecessors)``, each (E, n_nodes)."""
    return dijkstra(graph, directed=True, indices=layout.up(np.atleast_1d(endpoints)),
                    return_predecessors=True)


def walk_back(predecessors: np.ndarray, targets: np.ndarray, sources: np.ndarray,
              max_len: int = 256) -> np.ndarray:
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


def all_pairs_rtt_ms(graph, layout: NodeLayout, endpoints=None) -> np.ndarray:
    """RTT (ms) between every pair of ``endpoints`` (default all), NaN when unreachable.

    Returns an (E, E) array; the diagonal is 0.
    """
    endpoints = np.arange(layout.n_endpoints) if endpoints is None else np.asarray(endpoints)
    dist = dijkstra(graph, directed=True, indices=layout.up(endpoints))
    rtt = 2e3 * dist[:, layout.down(endpoints)]
    rtt[~np.isfinite(rtt)] = np.nan
    np.fill_diagonal(rtt, 0.0)
    return rtt


def routing_state(graph, layout: NodeLayout, destinations=None):
    """All-pairs RTT among ``destinations`` and the forwarding state toward each.

    Returns
    -------
    rtt_ms : ndarray (D, D)
        RTT between destinations (symmetric; NaN when unreachable).
    next_hop : ndarray of int (n_compact, D)
        For every node in the compact numbering (satellites ``0..N-1``,
        endpoints ``N..N+G-1``, relays after), the next node toward each
        destination in the same numbering; ``-1`` at the destination itself
        and where no route exists. This is the per-node forwarding table a
        packet-level simulator consumes (Hypatia's fstate).
    """
    dests = np.arange(layout.n_endpoints) if destinations is None else np.asarray(destinations)
    dist, pred = trees_from(graph, layout, dests)
    rtt = 2e3 * dist[:, layout.down(dests)]
    rtt[~np.isfinite(rtt)] = np.nan
    np.fill_diagonal(rtt, 0.0)
    # A satellite's tree predecessor is its next hop toward the root; the root's
    # up node stands for "down to that endpoint". An endpoint's first hop is the
    # predecessor of its own down node in the destination's tree.
    n_sats, n_ep = layout.n_sats, layout.n_endpoints
    sat_rel = pred[:, :n_sats]
    down_rel = pred[:, layout.down0:layout.relay0]
    relay_rel = pred[:, layout.relay0:]
    table = np.concatenate([sat_rel, down_rel, relay_rel], axis=1)
    table = np.where(table < 0, NO_HOP, layout.compact(np.where(table < 0, 0, table)))
    # up(root) compacts to the endpoint id itself: exactly "deliver to that endpoint".
    table[np.arange(len(dests)), n_sats + dests] = NO_HOP
    return rtt, table.T.copy()
