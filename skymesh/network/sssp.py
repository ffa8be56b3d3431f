"""Shortest paths from many sources at once, compiled and parallel (numba), scipy's answers.

:func:`dijkstra` returns what ``scipy.sparse.csgraph.dijkstra(graph, directed=True,
indices=sources, return_predecessors=True)`` returns -- the same distances and the
same predecessors, ties included -- but runs the searches in native threads, a block
of sources per task, without the GIL (numba ``prange``), so both cores of a small
machine work on one routing step.

Why the predecessors are scipy's, bit for bit. Distances do not depend on the order in
which Dijkstra settles nodes: each is the minimum of the same floating-point sums
``dist[u] + w(u, x)``. Predecessors do, on exact ties (Walker shells are symmetric, so
ties happen). scipy >= 1.15 (``_dijkstra`` in ``scipy/sparse/csgraph/_shortest_path.pyx``,
since scipy PR #20717) keeps a ``std::priority_queue`` of ``(-dist, node)`` pairs with
lazy deletion and sets ``pred[x] = u`` only on strict improvement (``<``). A max-heap of
``(-dist, node)`` pops the least distance first and, between equal distances, the
*larger* node index first. So ``pred[x]`` is, among the nodes ``u`` with
``dist[u] + w(u, x) == dist[x]``, the one of least ``dist[u]``, and of those the largest
index. Two kernels reproduce that:

* for positive weights (every snapshot graph: link delays of a few ms), a bucket
  queue (Dial's algorithm) with buckets narrower than half the least edge weight:
  the nodes of the lowest non-empty bucket are final, so each is scanned once in any
  order with no heap at all, and the predecessor is chosen by the rule above
  explicitly (least ``dist[u]``, then largest ``u``) -- about three times fewer
  operations than a heap on the shell-1 graph;
* otherwise (zero weights, or too many buckets), scipy's own algorithm: a binary heap
  of ``(dist, node)`` entries with lazy deletion popping in that same order.

``tests/network/test_sssp.py`` checks both against the installed scipy on random
graphs with many exact ties (integer weights).

Every ground point's up node has a handful of satellite neighbours, so a search from it
is a search over the satellite graph (degree <= 4 under +Grid) seeded by those few
links: a few thousand relaxations over arrays that stay in cache, one thread per block
of sources. Without numba the module falls back to scipy itself. Negative, NaN or
infinite weights go to scipy too.

Distances are in the graph's unit (s in SkyMesh's snapshot graphs); unreachable nodes
are ``inf`` with predecessor ``-9999`` (scipy's ``NULL_IDX``).
"""

from __future__ import annotations

import numpy as np

NULL_IDX = -9999        # scipy.sparse.csgraph's "no predecessor"
_MAX_SLOTS = 4096       # bucket queue: most slots (max weight / bucket width) before the heap

try:  # numba is a dependency; the fallback keeps the module importable without it
    import numba
    from numba import njit, prange
    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - exercised only where numba is missing
    HAVE_NUMBA = False


def dijkstra(graph, sources):
    """Shortest paths from each of ``sources`` over the directed CSR ``graph``.

    Parameters
    ----------
    graph : scipy.sparse matrix (CSR or convertible), non-negative edge weights
    sources : int array of node indices

    Returns
    -------
    dist : float64 array (S, n_nodes), unreachable ``inf``
    pred : int32 array (S, n_nodes), ``-9999`` at the source and where unreachable
    """
    sources = np.ascontiguousarray(np.atleast_1d(sources), dtype=np.int64)
    if graph.format != "csr":
        graph = graph.tocsr()
    if not HAVE_NUMBA:  # pragma: no cover
        from scipy.sparse.csgraph import dijkstra as sp_dijkstra
        dist, pred = sp_dijkstra(graph, directed=True, indices=sources,
                                 return_predecessors=True)
        return dist, pred
    n = graph.shape[0]
    if sources.size and (sources.min() < 0 or sources.max() >= n):
        raise ValueError(f"source index out of range 0..{n - 1}")
    data = np.ascontiguousarray(graph.data, dtype=np.float64)
    w_min = float(data.min()) if data.size else 1.0
    w_max = float(data.max()) if data.size else 1.0
    if not (w_min >= 0.0 and np.isfinite(w_max)):   # negative, NaN or inf weights: scipy's call
        from scipy.sparse.csgraph import dijkstra as sp_dijkstra
        return sp_dijkstra(graph, directed=True, indices=sources, return_predecessors=True)
    indptr = np.ascontiguousarray(graph.indptr, dtype=np.int64)
    indices = np.ascontiguousarray(graph.indices, dtype=np.int32)
    dist = np.empty((len(sources), n))
    pred = np.empty((len(sources), n), dtype=np.int32)
    # Buckets of width < half the least weight when they stay few (a handful for
    # snapshot graphs: delays of 1.3-7 ms on shell 1); otherwise, or with zero
    # weights, the heap.
    delta, n_slots = 1.0, 0
    if w_min > 0.0:
        delta = 0.49 * w_min
        if w_max / delta + 3 <= _MAX_SLOTS:
            n_slots = int(w_max / delta) + 3
    n_blocks = min(len(sources), 4 * numba.get_num_threads())
    if n_blocks:
        _multi_source(indptr, indices, data, sources, dist, pred, n_blocks, delta, n_slots)
    return dist, pred


def min_over_links(dist, link_ptr, link_sat, link_w):
    """For each row ``i`` of ``dist`` and each group ``e`` of links
    ``link_ptr[e]:link_ptr[e+1]``: ``min_k dist[i, link_sat[k]] + link_w[k]`` and the
    ``link_sat`` attaining it (the first in link order on ties; ``-1`` when none is
    finite). Returns ``(best (R, E) float64, arg (R, E) int32)``.

    This is the last hop into each endpoint's down node (a sink), taken out of the
    searches in :func:`skymesh.network.routing.routing_state`.
    """
    dist = np.ascontiguousarray(dist, dtype=np.float64)
    link_ptr = np.ascontiguousarray(link_ptr, dtype=np.int64)
    link_sat = np.ascontiguousarray(link_sat, dtype=np.int64)
    link_w = np.ascontiguousarray(link_w, dtype=np.float64)
    n_rows, n_groups = dist.shape[0], len(link_ptr) - 1
    best = np.empty((n_rows, n_groups))
    arg = np.empty((n_rows, n_groups), dtype=np.int32)
    if not HAVE_NUMBA:  # pragma: no cover
        counts = np.diff(link_ptr)
        k_max = max(1, int(counts.max(initial=0)))
        grp = np.repeat(np.arange(n_groups), counts)
        slot = np.arange(len(link_sat)) - np.repeat(link_ptr[:-1], counts)
        pad_sat = np.zeros((n_groups, k_max), dtype=np.int64)
        pad_w = np.full((n_groups, k_max), np.inf)
        pad_sat[grp, slot] = link_sat
        pad_w[grp, slot] = link_w
        for i in range(n_rows):
            cand = dist[i, pad_sat] + pad_w
            k = cand.argmin(axis=1)
            best[i] = cand[np.arange(n_groups), k]
            arg[i] = np.where(np.isfinite(best[i]), pad_sat[np.arange(n_groups), k], -1)
        return best, arg
    _min_over_links(dist, link_ptr, link_sat, link_w, best, arg)
    return best, arg


def set_threads(n: int | None) -> int:
    """Threads the searches use (default all cores); returns the number in force."""
    if not HAVE_NUMBA:  # pragma: no cover
        return 1
    if n is not None:
        numba.set_num_threads(max(1, min(int(n), numba.config.NUMBA_NUM_THREADS)))
    return numba.get_num_threads()


if HAVE_NUMBA:

    @njit(cache=True, nogil=True, inline="always")
    def _pops_first(ka, a, kb, b):
        """scipy's queue order: ``(ka, a)`` pops before ``(kb, b)`` (less distance,
        then larger node index: a max-heap of ``(-dist, node)`` pairs)."""
        return ka < kb or (ka == kb and a > b)

    @njit(cache=True, nogil=True)
    def _heap_search(src, indptr, indices, data, dist, pred, hk, hn):
        """Dijkstra from ``src``, scipy's algorithm step for step: a binary heap of
        (distance, node) entries with lazy deletion, ``dist``/``pred`` set on strict
        improvement. Any non-negative weights."""
        n = dist.shape[0]
        for k in range(n):
            dist[k] = np.inf
            pred[k] = NULL_IDX
        dist[src] = 0.0
        hk[0] = 0.0
        hn[0] = src
        size = 1
        while size > 0:
            du = hk[0]
            u = hn[0]
            size -= 1
            if size > 0:                                  # last entry sifted down from the root
                k = hk[size]
                x = hn[size]
                i = 0
                while True:
                    c = 2 * i + 1
                    if c >= size:
                        break
                    if c + 1 < size and _pops_first(hk[c + 1], hn[c + 1], hk[c], hn[c]):
                        c += 1
                    if not _pops_first(hk[c], hn[c], k, x):
                        break
                    hk[i] = hk[c]
                    hn[i] = hn[c]
                    i = c
                hk[i] = k
                hn[i] = x
            if dist[u] < du:                              # stale entry
                continue
            for j in range(indptr[u], indptr[u + 1]):
                x = indices[j]
                nv = du + data[j]
                if dist[x] > nv:
                    dist[x] = nv
                    pred[x] = u
                    i = size
                    size += 1
                    while i > 0:
                        p = (i - 1) >> 1
                        if not _pops_first(nv, x, hk[p], hn[p]):
                            break
                        hk[i] = hk[p]
                        hn[i] = hn[p]
                        i = p
                    hk[i] = nv
                    hn[i] = x

    @njit(cache=True, nogil=True)
    def _bucket_search(src, indptr, indices, data, dist, pred, delta, head, nxt, enode, done):
        """Dijkstra from ``src`` over buckets of width ``delta`` (< half the least edge
        weight), circular (Dial's algorithm, ``head.size`` slots > max weight / delta + 2).

        Every relaxation adds more than ``2 delta``, so a node whose tentative distance
        lies in the lowest non-empty bucket cannot be improved any more: the bucket's
        nodes are final and are scanned in any order, each once. Distances are the
        same minima of the same sums as with a heap. The predecessor is chosen by
        scipy's rule explicitly: among the nodes ``u`` reaching ``x``'s final distance,
        least ``dist[u]`` then largest ``u`` -- the one scipy's queue pops first. All
        of them lie in earlier buckets, so ``pred[x]`` is settled before ``x`` is
        scanned. Positive weights only.
        """
        n = dist.shape[0]
        n_slots = head.shape[0]
        for k in range(n):
            dist[k] = np.inf
            pred[k] = NULL_IDX
            done[k] = False
        for b in range(n_slots):
            head[b] = -1
        inv = 1.0 / delta
        dist[src] = 0.0
        enode[0] = src
        nxt[0] = -1
        head[0] = 0
        n_ent = 1
        pending = 1
        k = 0
        while pending > 0:
            slot = k % n_slots
            e = head[slot]
            head[slot] = -1
            while e >= 0:
                pending -= 1
                u = enode[e]
                e = nxt[e]
                if done[u]:                               # an older, larger entry
                    continue
                done[u] = True
                du = dist[u]
                for j in range(indptr[u], indptr[u + 1]):
                    x = indices[j]
                    nv = du + data[j]
                    dx = dist[x]
                    if nv < dx:
                        dist[x] = nv
                        pred[x] = u
                        s = np.int64(nv * inv) % n_slots
                        enode[n_ent] = x
                        nxt[n_ent] = head[s]
                        head[s] = n_ent
                        n_ent += 1
                        pending += 1
                    elif nv == dx:
                        p = pred[x]
                        if du < dist[p] or (du == dist[p] and u > p):
                            pred[x] = u
            k += 1

    @njit(cache=True, nogil=True, parallel=True)
    def _multi_source(indptr, indices, data, sources, dist, pred, n_blocks, delta, n_slots):
        """Searches from ``sources`` (rows of ``dist``/``pred``), blocks of sources in
        parallel; buckets when ``n_slots > 0``, else the heap."""
        n_src = sources.shape[0]
        n = dist.shape[1]
        n_ent = indices.shape[0] + 1                      # pushes <= improvements <= edges + 1
        for b in prange(n_blocks):
            lo = b * n_src // n_blocks
            hi = (b + 1) * n_src // n_blocks
            if n_slots > 0:
                head = np.empty(n_slots, dtype=np.int32)
                nxt = np.empty(n_ent, dtype=np.int32)
                enode = np.empty(n_ent, dtype=np.int32)
                done = np.empty(n, dtype=np.bool_)
                for i in range(lo, hi):
                    _bucket_search(sources[i], indptr, indices, data, dist[i], pred[i],
                                   delta, head, nxt, enode, done)
            else:
                hk = np.empty(n_ent)
                hn = np.empty(n_ent, dtype=np.int32)
                for i in range(lo, hi):
                    _heap_search(sources[i], indptr, indices, data, dist[i], pred[i], hk, hn)

    @njit(cache=True, nogil=True, parallel=True)
    def _min_over_links(dist, link_ptr, link_sat, link_w, best, arg):
        n_rows = dist.shape[0]
        n_groups = link_ptr.shape[0] - 1
        for i in prange(n_rows):
            row = dist[i]
            for e in range(n_groups):
                b = np.inf
                a = -1
                for k in range(link_ptr[e], link_ptr[e + 1]):
                    c = row[link_sat[k]] + link_w[k]
                    if c < b:
                        b = c
                        a = link_sat[k]
                best[i, e] = b
                arg[i, e] = a
