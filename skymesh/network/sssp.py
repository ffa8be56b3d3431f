"""Shortest paths from many sources at once, compiled and parallel (numba), scipy's answers.

:func:`dijkstra` returns what ``scipy.sparse.csgraph.dijkstra(graph, directed=True,
indices=sources, return_predecessors=True)`` returns -- the same distances and the
same predecessors, ties included -- but runs the searches in native threads, a block
of sources per task, without the GIL (numba ``prange``), so both cores of a small
machine work on one routing step.

Why the predecessors are scipy's, bit for bit. Distances do not depend on the order in
which Dijkstra settles nodes: each is the minimum of the same floating-point sums
``dist[u] + w(u, x)``. Predecessors do, on exact ties (Walker shells are symmetric, so
ties happen). scipy >= 1.16 (``_dijkstra`` in ``scipy/sparse/csgraph/_shortest_path.pyx``
since commit c27bcbc, Dec 2024, "replace FibonacciHeap ... with std::priority_queue";
older releases used a Fibonacci heap and break ties otherwise) keeps a
``std::priority_queue`` of ``(-dist, node)`` pairs with
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
graphs with many exact ties (integer weights), and on shell-1 and real-TLE snapshots
(satellites a few hundred metres apart: the re-scan case) through
:func:`skymesh.network.routing.routing_state`.

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

NULL_IDX = -9999  # scipy.sparse.csgraph's "no predecessor"
_MAX_SLOTS = 512  # bucket queue: at most this many bucket widths per largest weight

try:  # numba is a dependency; the fallback keeps the module importable without it
    import numba
    from numba import njit, prange

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - exercised only where numba is missing
    HAVE_NUMBA = False


def dijkstra(graph, sources, *, engine: str = "auto"):
    """Shortest paths from each of ``sources`` over the directed CSR ``graph``.

    Parameters
    ----------
    graph : scipy.sparse matrix (CSR or convertible), non-negative edge weights
    sources : int array of node indices
    engine : "auto" (the compiled kernels when numba is there) or "scipy"
        (``scipy.sparse.csgraph.dijkstra`` itself: the reference, and the fallback)

    Returns
    -------
    dist : float64 array (S, n_nodes), unreachable ``inf``
    pred : int32 array (S, n_nodes), ``-9999`` at the source and where unreachable
    """
    graph, sources = _inputs(graph, sources)
    if engine not in ("auto", "scipy"):
        raise ValueError(f"unknown engine {engine!r} (auto, scipy)")
    plan = _plan(graph, sources) if engine == "auto" and HAVE_NUMBA else None
    if plan is None:  # asked for, no numba, or negative, NaN or inf weights
        from scipy.sparse.csgraph import dijkstra as sp_dijkstra

        return sp_dijkstra(graph, directed=True, indices=sources, return_predecessors=True)
    arrays, delta, n_slots, n_blocks = plan
    n = graph.shape[0]
    dist = np.empty((len(sources), n))
    pred = np.empty((len(sources), n), dtype=np.int32)
    if n_blocks:
        _multi_source(arrays, sources, dist, pred, n_blocks, delta, n_slots)
    return dist, pred


def dijkstra_last_hop(graph, sources, link_ptr, link_sat, link_w, *, engine: str = "auto"):
    """:func:`dijkstra` then :func:`min_over_links` on its distances, fused.

    Returns ``(pred (S, n_nodes) int32, best (S, E) float64, arg (S, E) int32)``: the
    predecessors of the searches, and for each source and link group the least
    ``dist + link_w`` and the ``link_sat`` attaining it. The distances themselves are
    not kept: each source's row is reduced over the links while it is in cache, one
    row buffer per thread instead of an (S, n_nodes) array. Same answers as the two
    calls (and as scipy with ``engine="scipy"``).
    """
    graph, sources = _inputs(graph, sources)
    plan = _plan(graph, sources) if engine == "auto" and HAVE_NUMBA else None
    if plan is None:
        dist, pred = dijkstra(graph, sources, engine="scipy" if engine == "scipy" else "auto")
        best, arg = min_over_links(
            dist, link_ptr, link_sat, link_w, engine="numpy" if engine == "scipy" else "auto"
        )
        return pred, best, arg
    arrays, delta, n_slots, n_blocks = plan
    n = graph.shape[0]
    links = _links(link_ptr, link_sat, link_w)
    pred = np.empty((len(sources), n), dtype=np.int32)
    best = np.empty((len(sources), len(links[0]) - 1))
    arg = np.empty((len(sources), len(links[0]) - 1), dtype=np.int32)
    if n_blocks:
        _multi_source_last_hop(arrays, sources, pred, links, best, arg, n_blocks, delta, n_slots)
    return pred, best, arg


def _inputs(graph, sources):
    """``graph`` as CSR and ``sources`` as a contiguous int64 array (the kernels' forms)."""
    sources = np.ascontiguousarray(np.atleast_1d(sources), dtype=np.int64)
    return (graph if graph.format == "csr" else graph.tocsr()), sources


def _links(link_ptr, link_sat, link_w):
    """The link groups of :func:`min_over_links` as contiguous int64, int64, float64 arrays."""
    return (
        np.ascontiguousarray(link_ptr, dtype=np.int64),
        np.ascontiguousarray(link_sat, dtype=np.int64),
        np.ascontiguousarray(link_w, dtype=np.float64),
    )


def _plan(graph, sources):
    """Kernel arguments ``(arrays, delta, n_slots, n_blocks)``, ``arrays`` being the graph's
    ``(indptr, indices, data, edges)``, or None when the weights call for scipy (negative,
    NaN or infinite). ``edges`` interleaves each edge's head node and weight bits (int64
    pairs) for the bucket search."""
    n = graph.shape[0]
    data = np.ascontiguousarray(graph.data, dtype=np.float64)
    if sources.size and (sources.min() < 0 or sources.max() >= n):
        raise ValueError(f"source index out of range 0..{n - 1}")
    w_min = float(data.min()) if data.size else 1.0
    w_max = float(data.max()) if data.size else 1.0
    if not (w_min >= 0.0 and np.isfinite(w_max)):
        return None
    # Buckets narrower than half the least weight when that leaves few of them (shell 1:
    # delays of 1.3-7 ms, 13 slots); else 1/_MAX_SLOTS of the largest weight, so that
    # only the rare lighter edges (satellites a few km apart in a real TLE set) cause
    # re-scans. Zero weights: the heap.
    delta, n_slots = 1.0, 0
    if w_min > 0.0:
        delta = max(0.49 * w_min, w_max / _MAX_SLOTS)
        n_slots = int(w_max / delta) + 3
    n_blocks = min(len(sources), 4 * numba.get_num_threads())
    indptr = np.ascontiguousarray(graph.indptr, dtype=np.int64)
    indices = np.ascontiguousarray(graph.indices, dtype=np.int32)
    edges = np.empty(2 * len(indices), dtype=np.int64)
    edges[0::2] = indices
    edges.view(np.float64)[1::2] = data
    return (indptr, indices, data, edges), delta, n_slots, n_blocks


def min_over_links(dist, link_ptr, link_sat, link_w, *, engine: str = "auto"):
    """For each row ``i`` of ``dist`` and each group ``e`` of links
    ``link_ptr[e]:link_ptr[e+1]``: ``min_k dist[i, link_sat[k]] + link_w[k]`` and the
    ``link_sat`` attaining it (the first in link order on ties; ``-1`` when none is
    finite). Returns ``(best (R, E) float64, arg (R, E) int32)``.

    This is the last hop into each endpoint's down node (a sink), taken out of the
    searches in :func:`skymesh.network.routing.routing_state`. ``engine="numpy"`` (or
    no numba): a padded table and ``argmin``, a few rows at a time.
    """
    dist = np.ascontiguousarray(dist, dtype=np.float64)
    link_ptr, link_sat, link_w = _links(link_ptr, link_sat, link_w)
    n_rows, n_groups = dist.shape[0], len(link_ptr) - 1
    best = np.empty((n_rows, n_groups))
    arg = np.empty((n_rows, n_groups), dtype=np.int32)
    if engine not in ("auto", "numpy"):
        raise ValueError(f"unknown engine {engine!r} (auto, numpy)")
    if engine == "numpy" or not HAVE_NUMBA:
        counts = np.diff(link_ptr)
        k_max = max(1, int(counts.max(initial=0)))
        grp = np.repeat(np.arange(n_groups), counts)
        slot = np.arange(len(link_sat)) - np.repeat(link_ptr[:-1], counts)
        pad_sat = np.zeros((n_groups, k_max), dtype=np.int64)
        pad_w = np.full((n_groups, k_max), np.inf)
        pad_sat[grp, slot] = link_sat
        pad_w[grp, slot] = link_w
        rows = np.arange(n_groups)
        block = max(1, 16_384 // max(1, n_groups * k_max))  # temporaries stay small
        for b0 in range(0, n_rows, block):
            cand = dist[b0 : b0 + block, pad_sat] + pad_w  # (b, E, K)
            k = cand.argmin(axis=2)
            b = np.take_along_axis(cand, k[..., None], axis=2)[..., 0]
            best[b0 : b0 + block] = b
            arg[b0 : b0 + block] = np.where(np.isfinite(b), pad_sat[rows, k], -1)
        return best, arg
    _min_over_links(dist, link_ptr, link_sat, link_w, best, arg)
    return best, arg


def set_threads(n: int | None) -> int:
    """Threads the searches use (default all cores); returns the number in force."""
    if not HAVE_NUMBA:  # pragma: no cover
        return 1
    if n is not None:
        limit = numba.config.NUMBA_NUM_THREADS  # type: ignore[attr-defined]  # set at import by numba
        numba.set_num_threads(max(1, min(int(n), limit)))
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
            if size > 0:  # last entry sifted down from the root
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
            if dist[u] < du:  # stale entry
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
    def _bucket_search(src, indptr, edges, dist, pred, delta, head, pool):
        """Dijkstra from ``src`` over circular buckets of width ``delta`` (Dial's
        algorithm; ``head.size`` slots > max weight / delta + 2). Returns False when
        the entry pool ran out (the caller then runs the heap).

        Buckets are taken in increasing order; an entry is scanned when it still holds
        its node's distance (no heap). An edge of at least ``2 delta`` ends in a later
        bucket, so with only such edges every node is scanned once, at its final
        distance; a lighter edge can improve a node of the current bucket, which is
        then pushed there again and re-scanned (label correcting within the bucket).
        Either way the distances are the fixed point of the same sums as with a heap.
        The predecessor is chosen by scipy's rule explicitly: among the nodes ``u``
        reaching ``x``'s final distance, least ``dist[u]`` then largest ``u`` -- the
        one scipy's queue pops first -- whatever the scanning order. Positive weights.

        Memory layout (one cache line per record instead of one per array): edge ``j``
        is ``edges[2j]`` = its head node and ``edges[2j+1]`` = the bits of its weight;
        pool entry ``e`` is ``pool[2e]`` = the bits of its key and ``pool[2e+1]`` = its
        node in the low 32 bits, the next entry of its bucket (or -1) in the high 32.
        """
        n = dist.shape[0]
        n_slots = head.shape[0]
        cap = pool.shape[0] // 2
        weight = edges.view(np.float64)
        key = pool.view(np.float64)
        for k in range(n):
            dist[k] = np.inf
            pred[k] = NULL_IDX
        for b in range(n_slots):
            head[b] = -1
        inv = 1.0 / delta
        dist[src] = 0.0
        key[0] = 0.0
        pool[1] = src | (np.int64(-1) << 32)
        head[0] = 0
        n_ent = 1
        pending = 1
        k = 0  # current bucket, in slot ``slot``
        slot = 0
        while pending > 0:
            e = head[slot]  # the bucket's list, walked here; same-bucket pushes go in front
            while e >= 0:
                du = key[2 * e]
                rec = pool[2 * e + 1]
                u = rec & 0xFFFFFFFF
                e = rec >> 32
                pending -= 1
                if du != dist[u]:  # superseded by an improvement
                    continue
                for j in range(indptr[u], indptr[u + 1]):
                    x = edges[2 * j]
                    nv = du + weight[2 * j + 1]
                    dx = dist[x]
                    if nv < dx:
                        if n_ent == cap:
                            return False
                        dist[x] = nv
                        pred[x] = u
                        s = slot + (np.int64(nv * inv) - k)  # bucket - k < n_slots
                        if s >= n_slots:
                            s -= n_slots
                        key[2 * n_ent] = nv
                        if s == slot:
                            pool[2 * n_ent + 1] = x | (e << 32)
                            e = n_ent
                        else:
                            pool[2 * n_ent + 1] = x | (head[s] << 32)
                            head[s] = n_ent
                        n_ent += 1
                        pending += 1
                    elif nv == dx:
                        p = pred[x]
                        if du < dist[p] or (du == dist[p] and u > p):
                            pred[x] = u
            head[slot] = -1
            k += 1
            slot += 1
            if slot == n_slots:
                slot = 0
        return True

    @njit(cache=True, nogil=True, inline="always")
    def _block_buffers(n_slots, n_edges, n):
        """One block's work arrays: the bucket queue's ``head`` and entry ``pool`` (empty
        without buckets), and the heap's ``hk``/``hn`` (empty: :func:`_search` makes them on
        first use). Heap pushes are at most edges + 1."""
        hk = np.empty(0)
        hn = np.empty(0, dtype=np.int32)
        if n_slots > 0:  # re-scans are rare; when the pool runs out, the heap
            pool = np.empty(2 * (2 * (n_edges + 1) + n), dtype=np.int64)
            head = np.empty(n_slots, dtype=np.int64)
        else:
            pool = np.empty(0, dtype=np.int64)
            head = np.empty(0, dtype=np.int64)
        return head, pool, hk, hn

    @njit(cache=True, nogil=True, inline="always")
    def _search(src, arrays, dist, pred, delta, n_slots, bufs):
        """One search from ``src`` over ``arrays = (indptr, indices, data, edges)`` into
        ``dist``/``pred``: buckets when ``n_slots > 0`` (and their pool suffices), else the
        heap. ``bufs`` are :func:`_block_buffers`'; returned with the heap's made on first use."""
        indptr, indices, data, edges = arrays
        head, pool, hk, hn = bufs
        if n_slots > 0 and _bucket_search(src, indptr, edges, dist, pred, delta, head, pool):
            return bufs
        if hk.shape[0] == 0:
            hk = np.empty(indices.shape[0] + 1)
            hn = np.empty(indices.shape[0] + 1, dtype=np.int32)
        _heap_search(src, indptr, indices, data, dist, pred, hk, hn)
        return head, pool, hk, hn

    @njit(cache=True, nogil=True, parallel=True)
    def _multi_source(arrays, sources, dist, pred, n_blocks, delta, n_slots):
        """Searches from ``sources`` (rows of ``dist``/``pred``) over the graph's ``arrays``
        (:func:`_plan`), blocks of sources in parallel; buckets when ``n_slots > 0``, else
        the heap."""
        n_src = sources.shape[0]
        n = dist.shape[1]
        n_edges = arrays[1].shape[0]
        for b in prange(n_blocks):
            lo = b * n_src // n_blocks
            hi = (b + 1) * n_src // n_blocks
            bufs = _block_buffers(n_slots, n_edges, n)
            for i in range(lo, hi):
                bufs = _search(sources[i], arrays, dist[i], pred[i], delta, n_slots, bufs)

    @njit(cache=True, nogil=True, parallel=True)
    def _multi_source_last_hop(arrays, sources, pred, links, best, arg, n_blocks, delta, n_slots):
        """:func:`_multi_source` keeping only the predecessors, with each source's
        :func:`_min_over_links` row over ``links = (link_ptr, link_sat, link_w)`` computed
        while its distances are in cache."""
        n_src = sources.shape[0]
        n = pred.shape[1]
        n_edges = arrays[1].shape[0]
        link_ptr, link_sat, link_w = links
        for b in prange(n_blocks):
            lo = b * n_src // n_blocks
            hi = (b + 1) * n_src // n_blocks
            dist = np.empty(n)
            bufs = _block_buffers(n_slots, n_edges, n)
            for i in range(lo, hi):
                bufs = _search(sources[i], arrays, dist, pred[i], delta, n_slots, bufs)
                _min_row(dist, link_ptr, link_sat, link_w, best[i], arg[i])

    @njit(cache=True, nogil=True, inline="always")
    def _min_row(row, link_ptr, link_sat, link_w, best, arg):
        """One row of :func:`min_over_links`: per link group ``e``, the least
        ``row[link_sat[k]] + link_w[k]`` into ``best[e]`` and its ``link_sat`` into ``arg[e]``
        (the first on ties; ``inf`` and -1 when none is finite)."""
        for e in range(link_ptr.shape[0] - 1):
            b = np.inf
            a = -1
            for k in range(link_ptr[e], link_ptr[e + 1]):
                c = row[link_sat[k]] + link_w[k]
                if c < b:
                    b = c
                    a = link_sat[k]
            best[e] = b
            arg[e] = a

    @njit(cache=True, nogil=True, parallel=True)
    def _min_over_links(dist, link_ptr, link_sat, link_w, best, arg):
        for i in prange(dist.shape[0]):
            _min_row(dist[i], link_ptr, link_sat, link_w, best[i], arg[i])
