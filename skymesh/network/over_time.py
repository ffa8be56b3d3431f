"""RTT, hop count and path changes between ground points over a time window.

The window is cut into chunks of steps. For each chunk, satellite
positions, visibility and ISL lengths are computed for every step at once,
the chunk's snapshots are stacked into one block-diagonal graph, and one
min-only Dijkstra per distinct source endpoint (not per step) finds the
shortest paths of every step together. Paths are read back for all steps in
lock-step (see :func:`skymesh.network.routing.walk_back`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
from scipy.sparse.csgraph import dijkstra

from skymesh.errors import InputError
from skymesh.links.isl import (
    DEFAULT_MAX_RANGE_KM,
    DEFAULT_MIN_CLEARANCE_KM,
    isl_lengths_km,
    plus_grid_pairs,
)
from skymesh.links.visibility import DEFAULT_MIN_ELEVATION_DEG, visible_pairs
from skymesh.metrics import percentile_summary
from skymesh.network.routing import walk_back
from skymesh.network.snapshot import NodeLayout, check_mode, chunk_graph
from skymesh.orbits.constellation import Constellation
from skymesh.orbits.propagate import positions_ecef
from skymesh.timebase import TimeGrid

_CHUNK_ELEMENTS = 4_000_000  # satellite-steps of positions held at once (~100 MB)
ROUTE_STEPS = 30  # steps per block-diagonal routing graph


@dataclass(frozen=True)
class GroundPoints:
    """Named ground points (endpoints or relays) as arrays."""

    names: np.ndarray
    lat_deg: np.ndarray
    lon_deg: np.ndarray

    def __len__(self) -> int:
        return len(self.names)

    @classmethod
    def of(cls, names, lat_deg, lon_deg) -> "GroundPoints":
        return cls(
            np.asarray(names, dtype=str),
            np.asarray(lat_deg, dtype=float),
            np.asarray(lon_deg, dtype=float),
        )


def chunk_steps_for(n_sats: int, n_steps: int) -> int:
    """A chunk length (steps) that keeps per-chunk arrays near a fixed size."""
    return int(max(1, min(n_steps, _CHUNK_ELEMENTS // max(1, n_sats))))


def path_series(
    constellation: Constellation,
    grid: TimeGrid,
    endpoints: GroundPoints,
    pairs,
    *,
    mode: str = "isl",
    relays: GroundPoints | None = None,
    min_elevation_deg: float = DEFAULT_MIN_ELEVATION_DEG,
    min_clearance_km: float = DEFAULT_MIN_CLEARANCE_KM,
    max_isl_range_km: float | None = DEFAULT_MAX_RANGE_KM,
    chunk_steps: int | None = None,
    progress=None,
    isl_pairs=None,
    max_gsl_range_km: float | None = None,
) -> pa.Table:
    """Shortest-latency path of each endpoint pair at each step, as a tidy table.

    Parameters
    ----------
    pairs : array_like of int, shape (P, 2)
        (source, destination) endpoint indices.
    progress : callable, optional
        Called with the number of steps finished after each chunk.
    isl_pairs : ndarray (L, 2), optional
        An explicit ISL list (:mod:`skymesh.links.isl_file`) instead of the +Grid.
    max_gsl_range_km : float, optional
        Ground-satellite links also need a slant range at most this (Hypatia's rule).

    Returns
    -------
    pyarrow.Table, one row per step and pair, columns ``time_utc``, ``t_s``,
    ``src``, ``dst``, ``space_rtt_ms`` (propagation only, null when unreachable;
    :mod:`skymesh.metrics`), ``hops`` (links on
    the one-way path), ``isl_hops``, ``path`` (satellite indices in order)
    and ``path_changed`` (the satellite path differs from the previous step).
    """
    check_mode(mode)
    pairs = np.atleast_2d(np.asarray(pairs, dtype=np.int64))
    if len(grid) == 0:
        raise InputError("the time range is empty", field="duration")
    if len(endpoints) == 0 or pairs.size == 0:
        raise InputError("need at least one pair of ground points", field="pairs")
    if pairs.min() < 0 or pairs.max() >= len(endpoints):
        raise InputError("a pair names a ground point that does not exist", field="pairs")
    relays = relays if relays is not None else GroundPoints.of([], [], [])
    layout = NodeLayout(len(constellation), len(endpoints), len(relays))
    if mode == "bent-pipe":
        isl_pairs = np.empty((0, 2), int)
    elif isl_pairs is None:
        isl_pairs = plus_grid_pairs(constellation)
    else:
        isl_pairs = np.asarray(isl_pairs, dtype=np.int64).reshape(-1, 2)
    chunk = chunk_steps or chunk_steps_for(len(constellation), len(grid))

    parts: list[pa.Table] = []
    last_row = [np.full(1, -1, dtype=np.int64) for _ in range(len(pairs))]
    for c0 in range(0, len(grid), chunk):
        pos_all = positions_ecef(
            constellation, grid.subset(slice(c0, c0 + chunk)), serving_only=True
        )
        # Route in short sub-chunks: a block graph that fits in cache is much faster.
        for s0 in range(0, pos_all.shape[1], ROUTE_STEPS):
            pos = pos_all[:, s0 : s0 + ROUTE_STEPS]
            _route_block(
                pos,
                c0 + s0,
                layout,
                mode,
                endpoints,
                relays,
                isl_pairs,
                pairs,
                min_elevation_deg,
                min_clearance_km,
                max_isl_range_km,
                parts,
                last_row,
                max_gsl_range_km,
            )
            if progress is not None:
                progress(pos.shape[1])

    table = pa.concat_tables(parts)
    order = np.lexsort((table.column("pair").to_numpy(), table.column("k").to_numpy()))
    table = table.take(pa.array(order))
    k = table.column("k").to_numpy()
    pair = table.column("pair").to_numpy()
    start_ms = np.datetime64(grid.start.replace(tzinfo=None), "ms")
    times = start_ms + np.round(grid.offsets_s[k] * 1e3).astype("timedelta64[ms]")
    front = pa.table(
        {
            "time_utc": pa.array(times, type=pa.timestamp("ms", tz="UTC")),
            "t_s": pa.array(grid.offsets_s[k]),
            "src": pa.array(endpoints.names[pairs[pair, 0]]),
            "dst": pa.array(endpoints.names[pairs[pair, 1]]),
        }
    )
    for name in ("space_rtt_ms", "hops", "isl_hops", "path", "path_changed"):
        front = front.append_column(name, table.column(name))
    return front


def _route_block(
    pos,
    c0,
    layout,
    mode,
    endpoints,
    relays,
    isl_pairs,
    pairs,
    min_elevation_deg,
    min_clearance_km,
    max_isl_range_km,
    parts,
    last_row,
    max_gsl_range_km=None,
):
    """Shortest paths of every pair over one short block of steps; rows appended to ``parts``."""
    k_steps = pos.shape[1]
    n_nodes = layout.n_nodes
    ep = visible_pairs(
        pos,
        endpoints.lat_deg,
        endpoints.lon_deg,
        min_elevation_deg=min_elevation_deg,
        max_range_km=max_gsl_range_km,
    )
    links = dict(endpoint_links=(ep[0], ep[1], ep[2], ep[3]))
    if mode != "isl" and len(relays):
        rl = visible_pairs(
            pos,
            relays.lat_deg,
            relays.lon_deg,
            min_elevation_deg=min_elevation_deg,
            max_range_km=max_gsl_range_km,
        )
        links["relay_links"] = (rl[0], rl[1], rl[2], rl[3])
    if len(isl_pairs):
        links["isl_pairs"] = isl_pairs
        links["isl_km"] = isl_lengths_km(
            pos, isl_pairs, min_clearance_km=min_clearance_km, max_range_km=max_isl_range_km
        )
    graph = chunk_graph(layout, k_steps, mode, **links)
    offsets = np.arange(k_steps) * n_nodes
    for src in np.unique(pairs[:, 0]):
        sources = layout.up(src) + offsets
        dist, pred, _ = dijkstra(
            graph, directed=True, indices=sources, return_predecessors=True, min_only=True
        )
        for p in np.flatnonzero(pairs[:, 0] == src):
            targets = layout.down(pairs[p, 1]) + offsets
            walked = walk_back(pred, targets, sources)
            nodes = np.where(walked >= 0, walked % n_nodes, -1)
            parts.append(_pair_chunk(layout, c0, p, dist[targets], nodes, last_row))


def _pair_chunk(
    layout: NodeLayout, c0: int, p: int, delay: np.ndarray, nodes: np.ndarray, last_row: list
) -> pa.Table:
    """One pair's rows for one chunk; ``last_row[p]`` carries its last path across chunks."""
    k_steps = len(delay)
    reach = np.isfinite(delay)
    sats = np.where((nodes >= 0) & (nodes < layout.n_sats), nodes, -1)
    sats = _left_pack(sats)
    n_links = (nodes >= 0).sum(axis=1) - 1
    is_sat = nodes >= 0
    is_sat &= nodes < layout.n_sats
    isl = (is_sat[:, 1:] & is_sat[:, :-1]).sum(axis=1)
    width = max(sats.shape[1], len(last_row[p]))
    padded = np.full((k_steps + 1, width), -1, dtype=np.int64)
    padded[0, : len(last_row[p])] = last_row[p]
    padded[1:, : sats.shape[1]] = sats
    changed = np.any(padded[1:] != padded[:-1], axis=1)
    if c0 == 0:
        changed[0] = False
    last_row[p] = sats[-1][sats[-1] >= 0] if sats.shape[1] else sats[-1][:0]
    lengths = (sats >= 0).sum(axis=1)
    values = sats[sats >= 0].astype(np.int32)
    offs = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    path = pa.ListArray.from_arrays(pa.array(offs), pa.array(values), mask=pa.array(~reach))
    return pa.table(
        {
            "k": pa.array(np.arange(c0, c0 + k_steps)),
            "pair": pa.array(np.full(k_steps, p)),
            "space_rtt_ms": pa.array(np.where(reach, 2e3 * delay, np.nan), mask=~reach),
            "hops": pa.array(np.where(reach, n_links, -1), mask=~reach),
            "isl_hops": pa.array(np.where(reach, isl, -1), mask=~reach),
            "path": path,
            "path_changed": pa.array(changed),
        }
    )


def _left_pack(a: np.ndarray) -> np.ndarray:
    """Move the non-negative entries of each row to its left, keeping their order."""
    keep = a >= 0
    out = np.full_like(a, -1)
    rows, cols = np.nonzero(keep)
    pos = np.cumsum(keep, axis=1)[rows, cols] - 1
    out[rows, pos] = a[rows, cols]
    width = int(keep.sum(axis=1).max(initial=0))
    return out[:, : max(width, 1)] if a.shape[1] else out


def summarize_rtt(table: pa.Table) -> dict:
    """Headline numbers of a path series: reachability, RTT percentiles (ms), path changes.

    ``space_rtt_ms_min`` ... ``_max`` summarise the ``space_rtt_ms`` column; when the
    table also has the user RTT ``rtt_ms`` (a :func:`skymesh.api.latency` table), so
    do ``rtt_ms_min`` ... ``_max`` (:func:`skymesh.metrics.percentile_summary`): each
    summary figure is the statistic of the column of the same name.
    """
    rtt = table.column("space_rtt_ms").to_numpy(zero_copy_only=False).astype(float)
    ok = np.isfinite(rtt)
    out: dict[str, Any] = {
        "steps": int(len(rtt)),
        "reachable_steps": int(ok.sum()),
        "reachable_fraction": float(ok.mean()) if len(rtt) else 0.0,
        "path_changes": int(np.asarray(table.column("path_changed")).sum()),
    }
    if "rtt_ms" in table.column_names:
        user = table.column("rtt_ms").to_numpy(zero_copy_only=False).astype(float)
        out.update(percentile_summary("rtt_ms", user))
    out.update(percentile_summary("space_rtt_ms", rtt))
    hops = table.column("hops").to_numpy(zero_copy_only=False).astype(float)[ok]
    out["hops_mean"] = float(hops.mean()) if ok.any() else None
    out["hops_max"] = int(hops.max()) if ok.any() else None
    return out
