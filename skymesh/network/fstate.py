"""Forwarding-state changes between two steps, in node-major order (Hypatia's fstate diffs).

A forwarding table is held destination-major, ``table_t[d, v]`` = the next hop of node
``v`` toward destination ``d`` (the transposed view :func:`skymesh.network.routing.
routing_state` returns as ``next_hop``). :func:`changes` lists the ``(node, dst)``
entries that differ from the step before, sorted by node then destination -- the order
of ``np.nonzero(next_hop != prev)`` -- with one compiled pass over the contiguous
rows (numba) instead of a strided comparison, a nonzero and a sort.
"""

from __future__ import annotations

import numpy as np

try:  # numba is a dependency; the numpy path keeps the module importable without it
    from numba import njit

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - exercised only where numba is missing
    HAVE_NUMBA = False


def changes(table_t: np.ndarray, prev_t: np.ndarray):
    """``(node, dst, next_hop)`` int32 arrays of the entries of ``table_t`` (D, n) that
    differ from ``prev_t`` (same shape), node-major then destination order."""
    if table_t.shape != prev_t.shape:
        raise ValueError(f"tables of shape {table_t.shape} and {prev_t.shape}")
    if not HAVE_NUMBA:  # pragma: no cover
        dst, node = np.nonzero(table_t != prev_t)
        order = np.lexsort((dst, node))
        node, dst = node[order], dst[order]
        return node.astype(np.int32), dst.astype(np.int32), table_t[dst, node].astype(np.int32)
    return _changes(table_t, prev_t)


if HAVE_NUMBA:

    @njit(cache=True, nogil=True)
    def _changes(table_t, prev_t):  # pragma: no cover - compiled
        n_dst, n = table_t.shape
        # one pass over the rows, destination-major; then a counting sort by node
        # (stable, so each node's entries keep their destination order)
        seen_v = np.empty(n_dst * n, dtype=np.int32)
        seen_d = np.empty(n_dst * n, dtype=np.int32)
        count = np.zeros(n + 1, dtype=np.int64)
        m = 0
        for d in range(n_dst):
            a = table_t[d]
            b = prev_t[d]
            for v in range(n):
                if a[v] != b[v]:
                    seen_v[m] = v
                    seen_d[m] = d
                    count[v + 1] += 1
                    m += 1
        for v in range(n):
            count[v + 1] += count[v]
        node = np.empty(m, dtype=np.int32)
        dst = np.empty(m, dtype=np.int32)
        hop = np.empty(m, dtype=np.int32)
        for i in range(m):
            v = seen_v[i]
            d = seen_d[i]
            p = count[v]
            node[p] = v
            dst[p] = d
            hop[p] = table_t[d, v]
            count[v] = p + 1
        return node, dst, hop
