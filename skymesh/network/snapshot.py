"""Snapshot graphs: one ``scipy.sparse`` matrix per instant, weighted by one-way delay (s).

Node layout (per instant):

=====================  ==========================================
``0 .. N-1``           satellites
``N .. N+G-1``         endpoint *up* nodes: edges only to satellites
``N+G .. N+2G-1``      endpoint *down* nodes: edges only from satellites
``N+2G .. N+2G+R-1``   relays (gateways): edges both ways, may carry transit
=====================  ==========================================

Endpoints (cities, terminals) are sources and sinks, never relays: search
from up nodes, read at down nodes. Routing modes:

``isl``        satellites and ISLs; no ground relays (Hypatia's ISL-only routing).
``bent-pipe``  no ISLs: up to a satellite and straight down, relaying through
               gateways on the ground (endpoint - sat - gateway - sat - endpoint).
``hybrid``     ISLs and ground relays both.

Every edge weight is ``distance_km / c``; every link appears in both
directions with the same weight, so the graph is symmetric up to the
up/down split, which :mod:`skymesh.network.routing` relies on.

Several instants stack as a block-diagonal matrix (node ``n`` of instant
``k`` is ``k * n_nodes + n``) so one shortest-path call covers a chunk of time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from skymesh.constants import SPEED_OF_LIGHT_KM_S
from skymesh.errors import InputError

MODES = ("isl", "bent-pipe", "hybrid")


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise InputError(
            f"unknown routing mode '{mode}'; choose one of {', '.join(MODES)}", field="mode"
        )
    return mode


@dataclass(frozen=True)
class NodeLayout:
    """Node numbering of a snapshot graph (see the module docstring)."""

    n_sats: int
    n_endpoints: int
    n_relays: int = 0

    @property
    def up0(self) -> int:
        return self.n_sats

    @property
    def down0(self) -> int:
        return self.n_sats + self.n_endpoints

    @property
    def relay0(self) -> int:
        return self.n_sats + 2 * self.n_endpoints

    @property
    def n_nodes(self) -> int:
        return self.n_sats + 2 * self.n_endpoints + self.n_relays

    def up(self, endpoint):
        return self.up0 + np.asarray(endpoint)

    def down(self, endpoint):
        return self.down0 + np.asarray(endpoint)

    def relay(self, r):
        return self.relay0 + np.asarray(r)

    def compact(self, node):
        """Graph node ids -> the numbering reported to users: satellites ``0..N-1``,
        endpoints ``N..N+G-1`` (up and down merged), relays ``N+G..N+G+R-1``."""
        node = np.asarray(node)
        out = node.copy()
        out = np.where((node >= self.down0) & (node < self.relay0), node - self.n_endpoints, out)
        out = np.where(node >= self.relay0, node - self.n_endpoints, out)
        return out


def isl_edges(isl_pairs, isl_km, n_steps: int, n_nodes: int, src: list, dst: list, w: list) -> None:
    """Append both directions of every usable ISL of every step to edge lists (delay in s).

    Satellite ``i`` of step ``k`` is node ``k * n_nodes + i``; ``isl_km`` is (L, n_steps)
    with NaN where a link is down.
    """
    if isl_pairs is None or not len(isl_pairs):
        return
    lengths = np.asarray(isl_km).reshape(len(isl_pairs), n_steps)
    link, step = np.nonzero(np.isfinite(lengths))
    a = isl_pairs[link, 0] + step * n_nodes
    b = isl_pairs[link, 1] + step * n_nodes
    d = lengths[link, step] / SPEED_OF_LIGHT_KM_S
    src += [a, b]
    dst += [b, a]
    w += [d, d]


def chunk_graph(
    layout: NodeLayout,
    n_steps: int,
    mode: str,
    *,
    isl_pairs=None,
    isl_km=None,
    endpoint_links=None,
    relay_links=None,
) -> sp.csr_matrix:
    """Block-diagonal delay graph of ``n_steps`` instants.

    Parameters
    ----------
    layout : NodeLayout
    n_steps : int
    mode : {"isl", "bent-pipe", "hybrid"}
    isl_pairs : ndarray (L, 2), optional
    isl_km : ndarray (L, n_steps), optional
        Link lengths (km), NaN where a link is down.
    endpoint_links, relay_links : tuple (ground, sat, step, range_km), optional
        Ground-satellite links in view, as :func:`skymesh.links.visibility.visible_pairs`
        gives them (``step`` counts from 0 within this chunk).

    Returns
    -------
    csr_matrix, shape (n_steps * n_nodes, n_steps * n_nodes), weights in s.
    """
    check_mode(mode)
    n = layout.n_nodes
    src: list[np.ndarray] = []
    dst: list[np.ndarray] = []
    w: list[np.ndarray] = []
    if mode != "bent-pipe":
        isl_edges(isl_pairs, isl_km, n_steps, n, src, dst, w)
    if endpoint_links is not None and len(endpoint_links[0]):
        g, s, k, r = endpoint_links
        d = np.asarray(r) / SPEED_OF_LIGHT_KM_S
        s_node = np.asarray(s) + np.asarray(k) * n
        src += [layout.up(g) + np.asarray(k) * n, s_node]
        dst += [s_node, layout.down(g) + np.asarray(k) * n]
        w += [d, d]
    if mode != "isl" and relay_links is not None and len(relay_links[0]):
        g, s, k, r = relay_links
        d = np.asarray(r) / SPEED_OF_LIGHT_KM_S
        s_node = np.asarray(s) + np.asarray(k) * n
        g_node = layout.relay(g) + np.asarray(k) * n
        src += [g_node, s_node]
        dst += [s_node, g_node]
        w += [d, d]
    size = n * n_steps
    if not src:
        return sp.csr_matrix((size, size))
    src_all = np.concatenate(src)
    dst_all = np.concatenate(dst)
    w_all = np.concatenate(w)
    return sp.csr_matrix((w_all, (src_all, dst_all)), shape=(size, size))


def snapshot_graph(layout: NodeLayout, mode: str, **links) -> sp.csr_matrix:
    """Delay graph of one instant (``chunk_graph`` with one step); ISL lengths shape (L,)."""
    if links.get("isl_km") is not None:
        links["isl_km"] = np.asarray(links["isl_km"]).reshape(-1, 1)
    return chunk_graph(layout, 1, mode, **links)


def isl_plan(isl_pairs, n_sats: int):
    """Both directions of every ISL in CSR order, for :func:`search_graph`.

    Returns ``(src, dst, link)`` sorted by ``(src, dst)``: directed edge ``j`` runs from
    satellite ``src[j]`` to ``dst[j]`` along ISL ``link[j]``; or None when a pair is
    listed twice (the snapshot graph then sums the two weights, which the fast path does
    not reproduce, so callers keep :func:`snapshot_graph`).
    """
    pairs = np.asarray(isl_pairs, dtype=np.int64).reshape(-1, 2)
    n_links = len(pairs)
    src = np.concatenate([pairs[:, 0], pairs[:, 1]])
    dst = np.concatenate([pairs[:, 1], pairs[:, 0]])
    link = np.concatenate([np.arange(n_links), np.arange(n_links)])
    order = np.lexsort((dst, src))
    src, dst, link = src[order], dst[order], link[order]
    if np.any((src[1:] == src[:-1]) & (dst[1:] == dst[:-1])):
        return None
    if n_links and (src.min() < 0 or max(src.max(), dst.max()) >= n_sats):
        raise ValueError("ISL pair names a satellite out of range")
    return src, dst, link


def search_graph(layout: NodeLayout, plan, isl_km, endpoint_links):
    """The ``isl``-mode snapshot graph of one instant split as ``routing_state`` searches it.

    Builds directly what :func:`skymesh.network.routing.split_down_links` makes of
    ``snapshot_graph(layout, "isl", ...)`` -- the same edges, weights and order, bit for
    bit, without the COO sort -- from an :func:`isl_plan`, the ISL lengths of the
    instant (km, NaN where down) and the endpoint links in view sorted by (ground point,
    satellite) as :func:`skymesh.links.windows.visible_pairs_windowed` gives them
    (ground, satellite, range km). No relays.

    Returns ``(indptr, indices, data, link_ptr, link_sat, link_w)``: the CSR arrays of
    the searched graph (satellites and up nodes; delays s) and each endpoint's
    satellite -> down-node links.
    """
    n, n_sats, n_ep = layout.n_nodes, layout.n_sats, layout.n_endpoints
    g, s, r = (np.asarray(x) for x in endpoint_links)
    if len(g) > 1 and np.any(np.diff(g * n_sats + s) <= 0):
        raise ValueError("endpoint links must be sorted by (ground point, satellite)")
    d_gsl = r / SPEED_OF_LIGHT_KM_S
    if plan is not None and len(plan[0]):
        src, dst, link = plan
        km = np.asarray(isl_km)[link]
        up = np.isfinite(km)
        sat_rows = np.bincount(src[up], minlength=n_sats)
        isl_dst, isl_d = dst[up], km[up] / SPEED_OF_LIGHT_KM_S
    else:
        sat_rows = np.zeros(n_sats, np.int64)
        isl_dst, isl_d = np.empty(0, np.int64), np.empty(0)
    ep_rows = np.bincount(g, minlength=n_ep)
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(sat_rows, out=indptr[1 : n_sats + 1])
    np.cumsum(ep_rows, out=indptr[n_sats + 1 : n_sats + n_ep + 1])
    indptr[n_sats + 1 : n_sats + n_ep + 1] += indptr[n_sats]
    indptr[n_sats + n_ep + 1 :] = indptr[n_sats + n_ep]
    indices = np.concatenate([isl_dst, s]).astype(np.int32)
    data = np.concatenate([isl_d, d_gsl])
    link_ptr = np.zeros(n_ep + 1, np.int64)
    np.cumsum(ep_rows, out=link_ptr[1:])
    return indptr, indices, data, link_ptr, s.astype(np.int64), d_gsl
