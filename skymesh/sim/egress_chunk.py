"""One chunk of an egress run: every terminal's route to the internet at every step.

For each operator and each short block of steps: satellite positions
(failed satellites removed), terminals' and gateways' satellites in view,
ISL lengths (failed ISLs removed), the policy's geofence and exit masks,
then one min-only Dijkstra per exit group (terminal country) for the whole
block. The result is a tidy table, one row per step, operator and terminal.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from skymesh.links.isl import isl_lengths_km
from skymesh.links.visibility import visible_pairs
from skymesh.network.egress import EgressLayout, egress_graph, egress_routes
from skymesh.orbits.propagate import positions_ecef
from skymesh.policy.rules import exit_allowed, service_active
from skymesh.sim.prepare import Prepared

ROUTE_STEPS = 20  # steps per block-diagonal graph (keeps it in cache)


def chunk_bounds(n_steps: int, chunk_steps: int) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` step ranges of the chunks of a run."""
    return [(a, min(a + chunk_steps, n_steps)) for a in range(0, n_steps, chunk_steps)]


def block_links(prep: Prepared, op, pos, sub_grid, with_isls: bool = True) -> dict:
    """Links of one block of steps, failures removed: what every routing mode draws on."""
    s = prep.scenario
    k_steps = pos.shape[1]
    offsets = sub_grid.offsets_s
    sat_down = np.zeros((len(op.constellation), k_steps), dtype=bool)
    isl_down = np.zeros((len(op.isl_pairs), k_steps), dtype=bool)
    gw_down = np.zeros((len(prep.gateway_name), k_steps), dtype=bool)
    for f in op.failures:
        target = {"satellites": sat_down, "isls": isl_down, "gateways": gw_down}[f.kind]
        target |= f.mask(target.shape[0], offsets)
    if sat_down.any():
        pos = np.where(sat_down[..., None], np.nan, pos)
    el = s.routing.min_elevation_deg
    tg, ts, tk, tr, _ = visible_pairs(pos, prep.terminal_lat, prep.terminal_lon,
                                      min_elevation_deg=el)
    gg, gs, gk, gr, _ = visible_pairs(pos, prep.gateway_lat, prep.gateway_lon,
                                      min_elevation_deg=el)
    keep = ~gw_down[gg, gk]
    links = dict(terminal_links=(tg, ts, tk, tr),
                 gateway_links=(gg[keep], gs[keep], gk[keep], gr[keep]))
    if with_isls and len(op.isl_pairs):
        lengths = isl_lengths_km(pos, op.isl_pairs, max_range_km=s.routing.max_isl_range_km)
        links["isl_pairs"] = op.isl_pairs
        links["isl_km"] = np.where(isl_down, np.nan, lengths)
    return links


def route_block(prep: Prepared, op, pos, sub_grid, mode, groups, group_of, links=None):
    """Egress routes for one block of steps in one mode (``links`` from :func:`block_links`)."""
    k_steps = pos.shape[1]
    if links is None:
        links = block_links(prep, op, pos, sub_grid, with_isls=mode != "bent-pipe")
    if mode == "bent-pipe":
        links = {k: v for k, v in links.items() if k not in ("isl_pairs", "isl_km")}
    active = service_active(op.policy, prep.terminal_country, sub_grid)
    exit_mask = np.stack([exit_allowed(op.policy, g, prep.gateway_country, sub_grid)
                          for g in groups])
    layout = EgressLayout(len(op.constellation), prep.n_terminals, len(prep.gateway_name),
                          len(groups))
    graph = egress_graph(layout, mode, k_steps, exit_mask=exit_mask, terminal_enabled=active,
                         **links)
    res = egress_routes(graph, layout, group_of, k_steps)
    res["active"] = active.T
    return res


def compute_chunk(prep: Prepared, start: int, stop: int) -> pa.Table:
    """Rows for steps ``start..stop-1`` of the run, every operator and terminal."""
    s = prep.scenario
    groups, group_of = np.unique(prep.terminal_country, return_inverse=True)
    grid = prep.grid.subset(slice(start, stop))
    parts = []
    for op in prep.operators:
        pos_all = positions_ecef(op.constellation, grid, serving_only=True)
        for b0 in range(0, len(grid), ROUTE_STEPS):
            sub = grid.subset(slice(b0, b0 + ROUTE_STEPS))
            pos = pos_all[:, b0:b0 + ROUTE_STEPS]
            links = block_links(prep, op, pos, sub, with_isls=s.routing.mode != "bent-pipe")
            main = route_block(prep, op, pos, sub, s.routing.mode, groups, group_of, links)
            bent = None
            if (s.routing.compare_bent_pipe and s.routing.mode != "bent-pipe"
                    and "bent_pipe" in s.metrics.wanted):
                bent = route_block(prep, op, pos, sub, "bent-pipe", groups, group_of, links)
            parts.append(_rows(prep, op.label, start + b0, sub, main, bent))
    return pa.concat_tables(parts)


def _gateway_column(prep: Prepared, gw: np.ndarray):
    names = pa.array(prep.gateway_name.astype(object))
    idx = pa.array(np.where(gw >= 0, gw, 0).astype(np.int32), mask=gw < 0)
    return pa.DictionaryArray.from_arrays(idx, names)


def _rows(prep: Prepared, label: str, k0: int, sub_grid, main: dict, bent: dict | None):
    k_steps = len(sub_grid)
    n_term = prep.n_terminals
    step = np.repeat(np.arange(k0, k0 + k_steps), n_term)
    term = np.tile(np.arange(n_term), k_steps)
    start_ms = np.datetime64(prep.grid.start.replace(tzinfo=None), "ms")
    times = start_ms + np.round(sub_grid.offsets_s * 1e3).astype("timedelta64[ms]")
    country = np.tile(prep.terminal_country, k_steps)
    gw = main["gateway"].ravel()
    served = gw >= 0
    gw_country = np.where(served, prep.gateway_country[np.where(served, gw, 0)], "")
    cols = {
        "time_utc": pa.array(np.repeat(times, n_term), type=pa.timestamp("ms", tz="UTC")),
        "step": pa.array(step.astype(np.int32)),
        "operator": pa.array(np.full(len(step), label)).dictionary_encode(),
        "terminal": pa.array(term.astype(np.int32)),
        "country": pa.array(country).dictionary_encode(),
        "service_allowed": pa.array(main["active"].ravel()),
        "served": pa.array(served),
        "rtt_ms": pa.array(main["rtt_ms"].ravel(), mask=~served),
        "gateway": _gateway_column(prep, gw),
        "gateway_country": pa.array(gw_country, mask=~served).dictionary_encode(),
        "sat_hops": pa.array(main["sat_hops"].ravel().astype(np.int16), mask=~served),
        "isl_hops": pa.array(main["isl_hops"].ravel().astype(np.int16), mask=~served),
        "exit_in_own_country": pa.array(served & (gw_country == country)),
    }
    if bent is not None:
        bgw = bent["gateway"].ravel()
        bserved = bgw >= 0
        cols["bent_pipe_served"] = pa.array(bserved)
        cols["bent_pipe_rtt_ms"] = pa.array(bent["rtt_ms"].ravel(), mask=~bserved)
        cols["bent_pipe_gateway"] = _gateway_column(prep, bgw)
    return pa.table(cols)
