"""One chunk of a routing study: all-pairs RTT and forwarding state among ground points, every step.

Per step: the snapshot graph (satellites, +Grid ISLs, ground points as
endpoints), one Dijkstra per ground point (:func:`skymesh.network.routing.routing_state`)
giving the RTT between every pair and every node's next hop toward every
ground point. The RTTs are written as a tidy table (one row per step and
pair); the forwarding state is written as *changes* only (every entry at the
run's first step, then the entries whose next hop changed since the step
before, as Hypatia's fstate files do). A chunk recomputes the step before
its first one, so chunks stay independent of each other.

Visibility is computed once per block of steps for a candidate set per
ground point (:func:`skymesh.links.windows.visible_pairs_windowed`), reusing
what cannot change within the block.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import scipy.sparse as sp

from skymesh.links.isl import isl_lengths_km
from skymesh.links.windows import visible_pairs_windowed
from skymesh.network import fstate
from skymesh.network.routing import routing_state, routing_state_split
from skymesh.network.snapshot import NodeLayout, isl_plan, search_graph, snapshot_graph
from skymesh.orbits.propagate import positions_ecef
from skymesh.sim.prepare import Prepared

VIS_BLOCK = 30  # steps sharing one visibility candidate set


def compute_routing_chunk(prep: Prepared, start: int, stop: int) -> dict:
    """``{"rtt": table, "fstate_changes": table}`` for steps ``start..stop-1``."""
    s = prep.scenario
    op = prep.operators[0]
    first = max(0, start - 1)
    grid = prep.grid.subset(slice(first, stop))
    pos_all = positions_ecef(op.constellation, grid, serving_only=True)
    for f in op.failures:
        if f.kind == "satellites":
            down = f.mask(len(op.constellation), grid.offsets_s)
            pos_all = np.where(down[..., None], np.nan, pos_all)
    mode = s.routing.mode
    relays = mode != "isl" and len(prep.gateway_name) > 0
    layout = NodeLayout(
        len(op.constellation), prep.n_terminals, len(prep.gateway_name) if relays else 0
    )
    el = s.routing.min_elevation_deg
    iu, ju = np.triu_indices(prep.n_terminals, 1)
    # isl mode: the searched graph is built straight from the ISL order (same arrays),
    # unless a pair is listed twice (isl_plan: None)
    plan = isl_plan(op.isl_pairs, layout.n_sats) if mode == "isl" else None
    fast = plan is not None
    n = layout.n_nodes
    rtt_parts, fs_parts = [], []
    prev = None
    for b0 in range(0, len(grid), VIS_BLOCK):
        pos = pos_all[:, b0 : b0 + VIS_BLOCK]
        k_steps = pos.shape[1]
        vg, vs, vk, vr, _ = visible_pairs_windowed(
            pos,
            prep.terminal_lat,
            prep.terminal_lon,
            min_elevation_deg=el,
            max_range_km=s.routing.max_gsl_range_km,
        )
        v_cut = np.searchsorted(vk, np.arange(k_steps + 1))
        if relays:
            rg, rs, rk, rr, _ = visible_pairs_windowed(
                pos,
                prep.gateway_lat,
                prep.gateway_lon,
                min_elevation_deg=el,
                max_range_km=s.routing.max_gsl_range_km,
            )
            r_cut = np.searchsorted(rk, np.arange(k_steps + 1))
        isl = None
        if mode != "bent-pipe" and len(op.isl_pairs):
            isl = isl_lengths_km(pos, op.isl_pairs, max_range_km=s.routing.max_isl_range_km)
            for f in op.failures:
                if f.kind == "isls":
                    isl = np.where(
                        f.mask(len(op.isl_pairs), grid.offsets_s[b0 : b0 + k_steps]), np.nan, isl
                    )
        for k in range(k_steps):
            step = first + b0 + k
            a, b = v_cut[k], v_cut[k + 1]
            if fast:
                indptr, indices, data, link_ptr, link_sat, link_w = search_graph(
                    layout,
                    plan,
                    None if isl is None else isl[:, k],
                    (vg[a:b], vs[a:b], vr[a:b]),
                )
                search = sp.csr_matrix((data, indices, indptr), shape=(n, n))
                rtt, next_hop = routing_state_split(search, link_ptr, link_sat, link_w, layout)
            else:
                links: dict[str, Any] = dict(
                    endpoint_links=(vg[a:b], vs[a:b], np.zeros(b - a, int), vr[a:b])
                )
                if isl is not None:
                    links.update(isl_pairs=op.isl_pairs, isl_km=isl[:, k])
                if relays:
                    c, d = r_cut[k], r_cut[k + 1]
                    links["relay_links"] = (rg[c:d], rs[c:d], np.zeros(d - c, int), rr[c:d])
                graph = snapshot_graph(layout, mode, **links)
                rtt, next_hop = routing_state(graph, layout)
            if step >= start:
                vals = rtt[iu, ju].astype(np.float32)
                rtt_parts.append(
                    pa.table(
                        {
                            "step": pa.array(np.full(len(iu), step, np.int32)),
                            "src": pa.array(iu.astype(np.int32)),
                            "dst": pa.array(ju.astype(np.int32)),
                            "space_rtt_ms": pa.array(vals, mask=~np.isfinite(vals)),
                        }
                    )
                )
                if prev is None:  # the run's first step: the whole table
                    node, dst = np.nonzero(np.ones_like(next_hop, dtype=bool))
                    hop = next_hop[node, dst]
                else:
                    node, dst, hop = fstate.changes(next_hop.T, prev.T)
                fs_parts.append(
                    pa.table(
                        {
                            "step": pa.array(np.full(len(node), step, np.int32)),
                            "node": pa.array(node.astype(np.int32, copy=False)),
                            "dst": pa.array(dst.astype(np.int32, copy=False)),
                            "next_hop": pa.array(hop.astype(np.int32, copy=False)),
                        }
                    )
                )
            prev = next_hop
    return {"rtt": pa.concat_tables(rtt_parts), "fstate_changes": pa.concat_tables(fs_parts)}


def summarize_routing(folder, prep) -> tuple[dict, dict]:
    """Streamed summary of a routing study's ``rtt.parquet`` and ``fstate_changes.parquet``."""
    from skymesh.sim.results import iter_batches
    from skymesh.sim.stats import Histogram

    hist = Histogram()
    n_pairs = prep.n_terminals * (prep.n_terminals - 1) // 2
    n_steps = len(prep.grid)
    pair_min = np.full(n_pairs, np.inf)
    pair_max = np.full(n_pairs, -np.inf)
    pair_sum = np.zeros(n_pairs, np.int64)  # in 1e-6 ms: exact, so chunking cannot change it
    pair_n = np.zeros(n_pairs)
    rows = 0
    e = prep.n_terminals
    for batch in iter_batches(folder / "rtt.parquet"):
        src = batch.column("src").to_numpy()
        dst = batch.column("dst").to_numpy()
        rtt = batch.column("space_rtt_ms").to_numpy(zero_copy_only=False).astype(float)
        pid = src * e - src * (src + 1) // 2 + (dst - src - 1)
        ok = np.isfinite(rtt)
        hist.add(rtt[ok])
        np.minimum.at(pair_min, pid[ok], rtt[ok])
        np.maximum.at(pair_max, pid[ok], rtt[ok])
        np.add.at(pair_sum, pid[ok], np.round(rtt[ok] * 1e6).astype(np.int64))
        pair_n += np.bincount(pid[ok], minlength=n_pairs)
        rows += len(rtt)
    changes = np.zeros(n_steps, np.int64)
    for batch in iter_batches(folder / "fstate_changes.parquet", columns=["step"]):
        changes += np.bincount(batch.column("step").to_numpy(), minlength=n_steps)
    s = prep.scenario
    iu, ju = np.triu_indices(e, 1)
    pairs = pa.table(
        {
            "src": pa.array(prep.terminal_name[iu]),
            "dst": pa.array(prep.terminal_name[ju]),
            "reachable_fraction": pa.array(pair_n / max(n_steps, 1)),
            "space_rtt_ms_min": pa.array(pair_min, mask=pair_n == 0),
            "space_rtt_ms_mean": pa.array(pair_sum / 1e6 / np.maximum(pair_n, 1), mask=pair_n == 0),
            "space_rtt_ms_max": pa.array(pair_max, mask=pair_n == 0),
        }
    )
    summary = dict(
        scenario=s.name,
        description=s.description,
        study="routing",
        start_utc=prep.grid.start.isoformat().replace("+00:00", "Z"),
        duration_s=s.time.duration_s,
        step_s=s.time.step_s,
        steps=n_steps,
        mode=s.routing.mode,
        ground_points=prep.n_terminals,
        pairs=n_pairs,
        constellation=prep.operators[0].constellation.name,
        satellites=len(prep.operators[0].constellation),
        space_rtt_ms=dict(
            hist.percentiles((50, 95, 99)),
            mean=hist.mean(),
            min=hist.lo if hist.n else None,
            max=hist.hi if hist.n else None,
        ),
        reachable_fraction=hist.n / max(rows, 1),
        fstate_entries=int(
            (
                prep.n_terminals
                + len(prep.operators[0].constellation)
                + (len(prep.gateway_name) if s.routing.mode != "isl" else 0)
            )
            * prep.n_terminals
        ),
        fstate_changes_per_step=dict(
            mean=float(changes[1:].mean()) if n_steps > 1 else 0.0,
            max=int(changes[1:].max()) if n_steps > 1 else 0,
        ),
    )
    return summary, dict(pairs=pairs, histogram=hist)
