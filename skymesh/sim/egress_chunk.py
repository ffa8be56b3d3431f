"""One chunk of an egress run: every terminal's route to the internet at every step.

Two access models (scenario ``[access] model``):

``slots`` (default): what a user measures. The path is terminal -> serving satellite ->
(ISLs) -> gateway -> fibre -> PoP, and the RTT is the sum of named components
(:func:`skymesh.access.delay.access_components_ms`: space propagation, fibre, access,
processing, queueing; ``rtt_ms`` their sum, what a user measures; ``space_rtt_ms`` the
propagation-only part; names as in :mod:`skymesh.metrics`).

* The serving satellite is chosen at each 15 s slot boundary by the scenario's selection
  policy and held for the slot (:func:`skymesh.access.serving.choose_serving`); so is the
  whole path chosen with it (the operator's controller re-plans paths per slot: Tanveer et
  al., CoNEXT 2023 Companion). The held path's delay follows the geometry step by step; if
  any of its links breaks inside the slot (the serving satellite sinks below the mask, an
  ISL or the gateway link goes, the exit stops being allowed) the terminal is re-planned at
  that step (a forced re-choice; a *forced handover* when the satellite changes).
* The PoP of a terminal is the nearest PoP in its own country when the policy's exit rule
  allows it there (and one of the PoP's gateways may be used), else the nearest PoP that is
  allowed; the terminal exits at a gateway homed to that PoP
  (:func:`skymesh.ground.pops.home_gateways`), and the fibre leg is that gateway's to its PoP
  (:func:`skymesh.ground.pops.fibre_rtt_ms`). The exit rule
  (:func:`skymesh.policy.rules.exit_allowed`) applies to the gateway's country (where traffic
  lands) and to the PoP's country (where it reaches the internet). Without PoPs each gateway
  is its own PoP with a zero fibre leg.
* Routing: per block of whole slots and per exit group (terminal country x PoP), one
  min-only Dijkstra from the group's internet on the reversed graph gives every satellite's
  delay to the exit (:func:`skymesh.network.egress.exit_trees`); a terminal's candidates are
  the satellites it sees that have a route, scored by the policy.

A chunk starts its computation at the first step of the slot holding the step before its
own first step, so every slot is decided from its own start whatever the chunking (kill,
resume and Dask give the same rows).

``propagation``: today's idealised model, kept for comparison: at every step the
shortest-delay path from the terminal to any allowed gateway, propagation only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from skymesh.access import serving as sv
from skymesh.access.delay import access_components_ms
from skymesh.access.slots import SLOT_S, slot_index
from skymesh.constants import SPEED_OF_LIGHT_KM_S
from skymesh.links.isl import isl_lengths_km
from skymesh.links.visibility import visible_pairs
from skymesh.links.windows import visible_pairs_windowed
from skymesh.network.egress import (
    EgressLayout,
    egress_graph,
    egress_routes,
    exit_trees,
    walk_to_exit,
)
from skymesh.orbits.frames import geodetic_to_ecef
from skymesh.orbits.propagate import positions_ecef
from skymesh.policy.rules import exit_allowed, service_active
from skymesh.sim.prepare import Prepared, operator_exits
from skymesh.timebase import TimeGrid

ROUTE_STEPS = 20  # steps per block-diagonal graph (keeps it in cache)
COMPONENT_COLUMNS = (
    "space_rtt_ms",
    "fibre_ms",
    "access_ms",
    "processing_ms",
    "queueing_ms",
)


def chunk_bounds(n_steps: int, chunk_steps: int) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` step ranges of the chunks of a run."""
    return [(a, min(a + chunk_steps, n_steps)) for a in range(0, n_steps, chunk_steps)]


def _down_masks(prep: Prepared, op, offsets):
    k_steps = len(offsets)
    sat_down = np.zeros((len(op.constellation), k_steps), dtype=bool)
    isl_down = np.zeros((len(op.isl_pairs), k_steps), dtype=bool)
    gw_down = np.zeros((len(prep.gateway_name), k_steps), dtype=bool)
    for f in op.failures:
        target = {"satellites": sat_down, "isls": isl_down, "gateways": gw_down}[f.kind]
        target |= f.mask(target.shape[0], offsets)
    return sat_down, isl_down, gw_down


def block_links(prep: Prepared, op, pos, sub_grid, with_isls: bool = True) -> dict:
    """Links of one block of steps, failures removed: what every routing mode draws on."""
    s = prep.scenario
    sat_down, isl_down, gw_down = _down_masks(prep, op, sub_grid.offsets_s)
    if sat_down.any():
        pos = np.where(sat_down[..., None], np.nan, pos)
    el = s.routing.min_elevation_deg
    cap = s.routing.max_gsl_range_km
    tg, ts, tk, tr, _ = visible_pairs(
        pos, prep.terminal_lat, prep.terminal_lon, min_elevation_deg=el, max_range_km=cap
    )
    gg, gs, gk, gr, _ = visible_pairs(
        pos, prep.gateway_lat, prep.gateway_lon, min_elevation_deg=el, max_range_km=cap
    )
    keep = ~gw_down[gg, gk]
    links: dict[str, Any] = dict(
        terminal_links=(tg, ts, tk, tr), gateway_links=(gg[keep], gs[keep], gk[keep], gr[keep])
    )
    if with_isls and len(op.isl_pairs):
        lengths = isl_lengths_km(pos, op.isl_pairs, max_range_km=s.routing.max_isl_range_km)
        links["isl_pairs"] = op.isl_pairs
        links["isl_km"] = np.where(isl_down, np.nan, lengths)
    return links


def route_block(prep: Prepared, op, pos, sub_grid, mode, groups, group_of, links=None):
    """Egress routes for one block of steps in one mode (``links`` from :func:`block_links`).

    The ``propagation`` access model: shortest path at every step, exit at the gateway.
    """
    k_steps = pos.shape[1]
    if links is None:
        links = block_links(prep, op, pos, sub_grid, with_isls=mode != "bent-pipe")
    if mode == "bent-pipe":
        links = {k: v for k, v in links.items() if k not in ("isl_pairs", "isl_km")}
    active = service_active(op.policy, prep.terminal_country, sub_grid)
    exit_mask = np.stack([operator_exits(op, g, prep.gateway_country, sub_grid) for g in groups])
    layout = EgressLayout(
        len(op.constellation), prep.n_terminals, len(prep.gateway_name), len(groups)
    )
    graph = egress_graph(
        layout, mode, k_steps, exit_mask=exit_mask, terminal_enabled=active, **links
    )
    res = egress_routes(graph, layout, group_of, k_steps)
    res["active"] = active.T
    return res


def compute_chunk(prep: Prepared, start: int, stop: int) -> pa.Table:
    """Rows for steps ``start..stop-1`` of the run, every operator and terminal."""
    if prep.scenario.access.model == "propagation":
        return _propagation_chunk(prep, start, stop)
    return _slots_chunk(prep, start, stop)


def _propagation_chunk(prep: Prepared, start: int, stop: int) -> pa.Table:
    s = prep.scenario
    groups, group_of = np.unique(prep.terminal_country, return_inverse=True)
    grid = prep.grid.subset(slice(start, stop))
    parts = []
    for op in prep.operators:
        pos_all = positions_ecef(op.constellation, grid, serving_only=True)
        for b0 in range(0, len(grid), ROUTE_STEPS):
            sub = grid.subset(slice(b0, b0 + ROUTE_STEPS))
            pos = pos_all[:, b0 : b0 + ROUTE_STEPS]
            links = block_links(prep, op, pos, sub, with_isls=s.routing.mode != "bent-pipe")
            main = route_block(prep, op, pos, sub, s.routing.mode, groups, group_of, links)
            bent = None
            if _wants_bent_pipe(s):
                bent = route_block(prep, op, pos, sub, "bent-pipe", groups, group_of, links)
            parts.append(_rows(prep, op.label, start + b0, sub, main, bent))
    return pa.concat_tables(parts)


def _wants_bent_pipe(s) -> bool:
    return (
        s.routing.compare_bent_pipe
        and s.routing.mode != "bent-pipe"
        and "bent_pipe" in s.metrics.wanted
    )


# --------------------------------------------------------------------------- slots model


def _segments(slot: np.ndarray, target_steps: int) -> list[tuple[int, int]]:
    """Ranges of whole slots of about ``target_steps`` steps (at least one slot each)."""
    starts = np.flatnonzero(sv.slot_starts(slot))
    ends = np.append(starts[1:], len(slot))
    out, a = [], starts[0]
    for b in ends:
        if b - a >= target_steps:
            out.append((a, b))
            a = b
    if a < len(slot):
        out.append((a, len(slot)))
    return out


class _Ground:
    """Fixed per-run arrays of the slots model (terminal and gateway positions, PoP order)."""

    def __init__(self, prep: Prepared):
        self.term_xyz = np.atleast_2d(geodetic_to_ecef(prep.terminal_lat, prep.terminal_lon, 0.0))
        self.gw_xyz = np.atleast_2d(geodetic_to_ecef(prep.gateway_lat, prep.gateway_lon, 0.0))
        self.countries, self.cidx = np.unique(prep.terminal_country, return_inverse=True)
        self.pops = prep.pops
        self.fibre_ms = (
            np.zeros(len(prep.gateway_name))
            if prep.gateway_fibre_ms is None
            else np.asarray(prep.gateway_fibre_ms, dtype=float)
        )
        if self.pops is not None:
            from skymesh.ground.pops import great_circle_km

            d = great_circle_km(
                prep.terminal_lat[:, None],
                prep.terminal_lon[:, None],
                self.pops.lat_deg[None, :],
                self.pops.lon_deg[None, :],
            )
            same = prep.terminal_country[:, None] == self.pops.country_iso2[None, :]
            # Own-country PoPs first, nearest first; then the others, nearest first.
            self.pop_order = np.lexsort(
                (np.broadcast_to(np.arange(len(self.pops)), d.shape), d, ~same), axis=1
            )


def _exit_groups(prep: Prepared, op, ground: _Ground, sub: TimeGrid, gw_down):
    """Exit groups of a block: ``(group_of (G, K) int, -1 none; exit_mask (n, W, K);
    group_pop (n,) PoP index or -1)``."""
    K = len(sub)
    gw_ok = np.stack(
        [operator_exits(op, c, prep.gateway_country, sub) for c in ground.countries]
    )  # (C, W, K)
    if ground.pops is None:
        group_of = np.broadcast_to(ground.cidx[:, None], (prep.n_terminals, K)).copy()
        return group_of, gw_ok, np.full(len(ground.countries), -1)
    pops = ground.pops
    P = len(pops)
    home = np.asarray(prep.gateway_pop)
    usable_gw = gw_ok & ~gw_down[None]  # (C, W, K)
    # A PoP has a gateway when any gateway homed to it is usable: summed per PoP, so memory
    # grows as countries x (gateways + PoPs) x steps, never gateways x PoPs.
    counts = np.zeros((P, usable_gw.shape[0], K), dtype=np.int32)  # (P, C, K)
    np.add.at(counts, home, usable_gw.transpose(1, 0, 2).astype(np.int32))
    has_gw = counts.transpose(1, 0, 2) > 0  # (C, P, K)
    pop_ok = (
        np.stack([exit_allowed(op.policy, c, pops.country_iso2, sub) for c in ground.countries])
        & has_gw
    )  # (C, P, K)
    ok_sorted = pop_ok[ground.cidx[:, None], ground.pop_order]  # (G, P, K)
    first = np.argmax(ok_sorted, axis=1)  # (G, K)
    any_ok = ok_sorted.any(axis=1)
    pop_of = np.where(any_ok, np.take_along_axis(ground.pop_order, first, axis=1), -1)
    key = np.where(any_ok, ground.cidx[:, None] * P + pop_of, -1)
    keys, inv = np.unique(key, return_inverse=True)
    inv = inv.reshape(key.shape)
    real = keys >= 0
    remap = np.cumsum(real) - 1
    group_of = np.where(key >= 0, remap[inv], -1)
    keys = keys[real]
    g_country, g_pop = keys // P, keys % P
    mask = gw_ok[g_country] & (home[None, :] == g_pop[:, None])[:, :, None]
    return group_of, mask, g_pop


def _isl_lookup(pairs: np.ndarray, n_sat: int):
    """Function (a, b) -> ISL index (-1 if none) for either orientation."""
    if not len(pairs):
        return lambda a, b: np.full(np.shape(a), -1)
    keys = np.concatenate([pairs[:, 0] * n_sat + pairs[:, 1], pairs[:, 1] * n_sat + pairs[:, 0]])
    idx = np.concatenate([np.arange(len(pairs))] * 2)
    order = np.argsort(keys)
    keys, idx = keys[order], idx[order]

    def lookup(a, b):
        q = np.asarray(a, dtype=np.int64) * n_sat + np.asarray(b, dtype=np.int64)
        pos = np.minimum(np.searchsorted(keys, q), len(keys) - 1)
        return np.where(
            (keys[pos] == q) & (np.asarray(b) >= 0) & (np.asarray(a) >= 0), idx[pos], -1
        )

    return lookup


def _member(keys: np.ndarray):
    keys = np.sort(keys)

    def test(q):
        if not len(keys):
            return np.zeros(np.shape(q), dtype=bool)
        pos = np.minimum(np.searchsorted(keys, q), len(keys) - 1)
        return keys[pos] == q

    return test


def _segment_links(prep: Prepared, op, pos, sub: TimeGrid) -> dict:
    """Terminal and gateway links in view and ISL lengths of a block (failed ones removed)."""
    s = prep.scenario
    el_min = s.routing.min_elevation_deg
    _, isl_down, gw_down = _down_masks(prep, op, sub.offsets_s)
    cap = s.routing.max_gsl_range_km
    term = visible_pairs_windowed(
        pos, prep.terminal_lat, prep.terminal_lon, min_elevation_deg=el_min, max_range_km=cap
    )
    gg, gs, gk, gr, _ = visible_pairs_windowed(
        pos, prep.gateway_lat, prep.gateway_lon, min_elevation_deg=el_min, max_range_km=cap
    )
    keep = ~gw_down[gg, gk]
    isl_km = None
    if len(op.isl_pairs) and (s.routing.mode != "bent-pipe"):
        isl_km = np.where(
            isl_down,
            np.nan,
            isl_lengths_km(pos, op.isl_pairs, max_range_km=s.routing.max_isl_range_km),
        )
    return dict(terminal=term, gateway=(gg[keep], gs[keep], gk[keep], gr[keep]), isl_km=isl_km)


def _slots_segment(
    prep: Prepared, op, ground: _Ground, pos, pos_next, sub: TimeGrid, slot, mode: str, vis, newness
):
    """Serving satellites, held paths and their delays for one block of whole slots."""
    s = prep.scenario
    G, K = prep.n_terminals, pos.shape[1]
    N, W = len(op.constellation), len(prep.gateway_name)
    _, _, gw_down = _down_masks(prep, op, sub.offsets_s)
    el_min = s.routing.min_elevation_deg
    tg, ts, tk, tr, tel = vis["terminal"]
    gw_links = vis["gateway"]
    isl_km = vis["isl_km"] if mode != "bent-pipe" else None
    active = service_active(op.policy, prep.terminal_country, sub)  # (G, K)
    group_of, exit_mask, _ = _exit_groups(prep, op, ground, sub, gw_down)
    n_groups = exit_mask.shape[0]
    layout = EgressLayout(N, G, W, max(n_groups, 1))
    if n_groups == 0:
        exit_mask = np.zeros((1, W, K), dtype=bool)
    graph = egress_graph(
        layout,
        mode,
        K,
        isl_pairs=op.isl_pairs if isl_km is not None else None,
        isl_km=isl_km,
        gateway_links=gw_links,
        exit_mask=exit_mask,
        exit_delay_s=ground.fibre_ms / 2e3,
    )
    dist, pred = exit_trees(graph, layout, K)
    # Usable candidates: in view, terminal served by the policy, a route from the satellite.
    grp = group_of[tg, tk]
    ok = active[tg, tk] & (grp >= 0)
    d_exit = np.where(ok, dist[np.maximum(grp, 0), tk, ts], np.inf)
    ok &= np.isfinite(d_exit)
    cg, cs, ck, cr, cel, cd = tg[ok], ts[ok], tk[ok], tr[ok], tel[ok], d_exit[ok]
    policy = s.access.serving
    if policy == "operator":
        pole = sv.poleward_of_pairs(pos, prep.terminal_lat, prep.terminal_lon, cg, cs, ck)
        score = sv.selection_score(policy, elevation_deg=cel, poleward=pole, newness=newness[cs])
    elif policy == "highest-elevation":
        score = sv.selection_score(policy, elevation_deg=cel)
    elif policy == "longest-visibility":
        score = sv.selection_score(
            policy,
            remaining_s=sv.remaining_visibility_s(
                pos[cs, ck], pos_next[cs, ck], 1.0, ground.term_xyz[cg], el_min
            ),
        )
    else:
        score = sv.selection_score(policy, delay_s=cr / SPEED_OF_LIGHT_KM_S + cd)
    # The path that goes with the best candidate of every (terminal, step).
    best = sv.best_per_cell(G, K, cg, cs, ck, score)
    kk = np.broadcast_to(np.arange(K)[None, :], (G, K))
    path, gateway = walk_to_exit(pred, layout, np.maximum(group_of, 0), kk, best)  # (G, K, L)
    n_path = (path >= 0).sum(axis=2)
    isl_of = _isl_lookup(op.isl_pairs, N)
    gw_link = _member((gw_links[0] * N + gw_links[1]) * K + gw_links[2])

    def hold_ok(gi, dec, chosen, steps):
        p = path[gi, dec]  # (A, L)
        w = gateway[gi, dec]
        okk = np.ones(steps.shape, dtype=bool)
        if isl_km is not None:
            for j in range(p.shape[1] - 1):
                a, b = p[:, j], p[:, j + 1]
                idx = isl_of(a, b)
                has = b >= 0
                if not has.any():
                    break
                link_ok = (
                    np.isfinite(isl_km[np.maximum(idx, 0)[:, None], steps]) & (idx >= 0)[:, None]
                )
                okk &= ~has[:, None] | link_ok
        last = p[np.arange(len(p)), np.maximum(n_path[gi, dec] - 1, 0)]
        okk &= gw_link((w[:, None] * N + last[:, None]) * K + steps)
        g_now = group_of[gi[:, None], steps]
        okk &= (g_now >= 0) & exit_mask[np.maximum(g_now, 0), np.maximum(w, 0)[:, None], steps]
        return okk

    serving, handover, forced, decided = sv.choose_serving(
        G, K, cg, cs, ck, score, slot, hold_ok=hold_ok, best=best
    )
    served = serving >= 0
    dec = np.where(served, decided, 0)
    gi = np.broadcast_to(np.arange(G)[:, None], (G, K))
    hp = path[gi, dec]  # (G, K, L)
    hw = np.where(served, gateway[gi, dec], -1)
    hn = np.where(served, n_path[gi, dec], 0)
    # Delay of the held path at each step, from the geometry of that step.
    s0 = np.where(served, serving, 0)
    up_km = np.linalg.norm(pos[s0, kk] - ground.term_xyz[:, None, :], axis=-1)
    # Each ISL of the held path (km, 0 past its end): summed here, one link each in a packet run.
    isl_seg_km = np.zeros((G, K, max(hp.shape[2] - 1, 0)))
    for j in range(hp.shape[2] - 1):
        a, b = hp[:, :, j], hp[:, :, j + 1]
        has = b >= 0
        if not has.any():
            break
        seg = np.linalg.norm(pos[np.maximum(a, 0), kk] - pos[np.maximum(b, 0), kk], axis=-1)
        isl_seg_km[:, :, j] = np.where(has, seg, 0.0)
    isl_total = isl_seg_km.sum(axis=2)
    last = np.take_along_axis(hp, np.maximum(hn - 1, 0)[..., None], axis=2)[..., 0]
    down_km = np.linalg.norm(
        pos[np.maximum(last, 0), kk] - ground.gw_xyz[np.maximum(hw, 0)], axis=-1
    )
    space_ms = np.where(served, 2e3 * (up_km + isl_total + down_km) / SPEED_OF_LIGHT_KM_S, np.nan)
    pop = np.full((G, K), -1)
    if ground.pops is not None:
        pop = np.where(served, np.asarray(prep.gateway_pop)[np.maximum(hw, 0)], -1)
    replanned = served & (decided == np.arange(K)[None, :]) & ~sv.slot_starts(slot)[None, :]
    return dict(
        serving=np.where(served, serving, -1),
        handover=handover,
        forced=forced,
        replanned=replanned,
        served=served,
        gateway=hw,
        pop=pop,
        space_ms=space_ms,
        fibre_ms=np.where(served, ground.fibre_ms[np.maximum(hw, 0)], np.nan),
        user_rtt_ms=np.where(served, 2e3 * up_km / SPEED_OF_LIGHT_KM_S, np.nan),
        sat_hops=hn,
        isl_hops=np.maximum(hn - 1, 0),
        active=active,
        decided=np.where(served, decided, -1),
        path=np.where(served[..., None], hp, -1),
        up_km=np.where(served, up_km, np.nan),
        isl_seg_km=np.where(served[..., None], isl_seg_km, np.nan),
        down_km=np.where(served, down_km, np.nan),
    )


def _slots_chunk(prep: Prepared, start: int, stop: int) -> pa.Table:
    parts = [
        _slot_rows(prep, op.label, k0, sub, res)
        for _, op, k0, sub, res in held_segments(prep, start, stop)
    ]
    return pa.concat_tables(parts)


def held_segments(prep: Prepared, start: int, stop: int, operators=None):
    """The ``slots`` model's held paths for steps ``start..stop-1``, block by block.

    Yields ``(operator index, operator, first step, its sub-grid, {"main": seg, "bent": seg})``
    (``"bent"`` only when the run compares bent pipe); ``seg`` holds (terminal, step) arrays:
    ``served``, ``serving`` (satellite, -1 none), ``gateway``, ``pop``, ``space_ms``,
    ``fibre_ms``, ``user_rtt_ms``, ``isl_hops`` ..., ``path`` (terminal, step, satellites of
    the held path, -1 padded), and the held path's lengths: ``up_km`` (terminal to serving
    satellite), ``isl_seg_km`` (each ISL, 0 past the path's end), ``down_km`` (last satellite
    to gateway). The run's rows (:func:`compute_chunk`) and ``skymesh packets SCENARIO``
    (:func:`skymesh.packets.scenario.scenario_network`) both read these; ``operators``
    limits the operators computed (indices; default all).
    """
    s = prep.scenario
    slot_all = slot_index(prep.grid.start, prep.grid.offsets_s)
    # Begin at the first step of the slot holding step start-1 (see the module docstring).
    lead = int(np.searchsorted(slot_all, slot_all[max(start - 1, 0)], side="left"))
    grid = prep.grid.subset(slice(lead, stop))
    slot = slot_all[lead:stop]
    step_s = float(np.median(np.diff(prep.grid.offsets_s))) if len(prep.grid) > 1 else SLOT_S
    per_slot = max(1, int(round(SLOT_S / step_s)))
    target = max(ROUTE_STEPS, per_slot)
    ground = _Ground(prep)
    want_bp = _wants_bent_pipe(s)
    for oi, op in enumerate(prep.operators):
        if operators is not None and oi not in operators:
            continue
        pos_all = positions_ecef(op.constellation, grid, serving_only=True)
        pos_next_all = None
        if s.access.serving == "longest-visibility":
            pos_next_all = positions_ecef(
                op.constellation, TimeGrid(grid.start, grid.offsets_s + 1.0), serving_only=True
            )
        newness = sv.satellite_newness(op.constellation)
        prev_serving: dict[str, np.ndarray] = {}
        for a, b in _segments(slot, target):
            sub = grid.subset(slice(a, b))
            pos = pos_all[:, a:b]
            pos_next = None if pos_next_all is None else pos_next_all[:, a:b]
            sat_down, _, _ = _down_masks(prep, op, sub.offsets_s)
            vis_pos = np.where(sat_down[..., None], np.nan, pos) if sat_down.any() else pos
            vis = _segment_links(prep, op, vis_pos, sub)
            res = {
                "main": _slots_segment(
                    prep,
                    op,
                    ground,
                    vis_pos,
                    pos_next,
                    sub,
                    slot[a:b],
                    s.routing.mode,
                    vis,
                    newness,
                )
            }
            if want_bp:
                res["bent"] = _slots_segment(
                    prep, op, ground, vis_pos, pos_next, sub, slot[a:b], "bent-pipe", vis, newness
                )
            for name, r in res.items():
                # A handover at the block's first step compares with the block before.
                before = prev_serving.get(name)
                if before is not None:
                    first = r["serving"][:, 0]
                    r["handover"][:, 0] = (first >= 0) & (before >= 0) & (first != before)
                prev_serving[name] = r["serving"][:, -1]
            keep0 = max(start - (lead + a), 0)
            if lead + b <= start:
                continue
            sel = slice(keep0, b - a)
            yield (
                oi,
                op,
                lead + a + keep0,
                sub.subset(sel),
                {
                    k: {
                        n: (v[:, sel] if isinstance(v, np.ndarray) and v.ndim >= 2 else v)
                        for n, v in r.items()
                    }
                    for k, r in res.items()
                },
            )


def held_components(seg: dict, load: float) -> dict:
    """RTT components of held paths; PoP processing counts even without PoPs (the gateway
    site is then the PoP: traffic still meets a router and NAT before the internet)."""
    return access_components_ms(
        seg["isl_hops"],
        load,
        space_rtt_ms=seg["space_ms"],
        fibre_ms=seg["fibre_ms"],
        user_link_rtt_ms=seg["user_rtt_ms"],
        gateway=True,
        pop=True,
    )


def _name_column(names: np.ndarray, idx: np.ndarray):
    values = pa.array(np.asarray(names).astype(object))
    i = pa.array(np.where(idx >= 0, idx, 0).astype(np.int32), mask=idx < 0)
    return pa.DictionaryArray.from_arrays(i, values)


def _slot_rows(prep: Prepared, label: str, k0: int, sub_grid, res: dict) -> pa.Table:
    s = prep.scenario
    main = res["main"]
    n_term = prep.n_terminals
    k_steps = len(sub_grid)

    def T(a):  # (G, K) -> rows
        return np.asarray(a).T.ravel()

    step = np.repeat(np.arange(k0, k0 + k_steps), n_term)
    term = np.tile(np.arange(n_term), k_steps)
    start_ms = np.datetime64(prep.grid.start.replace(tzinfo=None), "ms")
    times = start_ms + np.round(sub_grid.offsets_s * 1e3).astype("timedelta64[ms]")
    country = np.tile(prep.terminal_country, k_steps)
    served = T(main["served"])
    gw = T(main["gateway"])
    gw_country = np.where(served, prep.gateway_country[np.maximum(gw, 0)], "")
    if prep.pops is not None:
        pop = T(main["pop"])
        pop_names, pop_idx = prep.pops.name, pop
        pop_country = np.where(served, prep.pops.country_iso2[np.maximum(pop, 0)], "")
    else:
        pop_names, pop_idx, pop_country = prep.gateway_name, gw, gw_country
    comp = held_components(main, s.access.load)
    cols = {
        "time_utc": pa.array(np.repeat(times, n_term), type=pa.timestamp("ms", tz="UTC")),
        "step": pa.array(step.astype(np.int32)),
        "operator": pa.array(np.full(len(step), label)).dictionary_encode(),
        "terminal": pa.array(term.astype(np.int32)),
        "country": pa.array(country).dictionary_encode(),
        "service_allowed": pa.array(T(main["active"])),
        "served": pa.array(served),
        "rtt_ms": pa.array(T(comp["rtt_ms"]), mask=~served),
    }
    for c in COMPONENT_COLUMNS:
        cols[c] = pa.array(T(comp[c]), mask=~served)
    cols.update(
        {
            "gateway": _name_column(prep.gateway_name, gw),
            "gateway_country": pa.array(gw_country, mask=~served).dictionary_encode(),
            "pop": _name_column(pop_names, pop_idx),
            "pop_country": pa.array(pop_country, mask=~served).dictionary_encode(),
            "serving_satellite": pa.array(T(main["serving"]).astype(np.int32), mask=~served),
            "handover": pa.array(T(main["handover"])),
            "forced_handover": pa.array(T(main["forced"])),
            "replanned": pa.array(T(main["replanned"])),
            "sat_hops": pa.array(T(main["sat_hops"]).astype(np.int16), mask=~served),
            "isl_hops": pa.array(T(main["isl_hops"]).astype(np.int16), mask=~served),
            "exit_in_own_country": pa.array(served & (pop_country == country)),
            "gateway_in_own_country": pa.array(served & (gw_country == country)),
        }
    )
    if "bent" in res:
        bent = res["bent"]
        bserved = T(bent["served"])
        bcomp = held_components(bent, s.access.load)
        cols["bent_pipe_served"] = pa.array(bserved)
        cols["bent_pipe_rtt_ms"] = pa.array(T(bcomp["rtt_ms"]), mask=~bserved)
        cols["bent_pipe_gateway"] = _name_column(prep.gateway_name, T(bent["gateway"]))
    return pa.table(cols)


# --------------------------------------------------------------------------- propagation rows


def _gateway_column(prep: Prepared, gw: np.ndarray):
    return _name_column(prep.gateway_name, gw)


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
        # The propagation model has no access components: its rtt_ms is the space RTT.
        "rtt_ms": pa.array(main["path_rtt_ms"].ravel(), mask=~served),
        "space_rtt_ms": pa.array(main["path_rtt_ms"].ravel(), mask=~served),
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
        cols["bent_pipe_rtt_ms"] = pa.array(bent["path_rtt_ms"].ravel(), mask=~bserved)
        cols["bent_pipe_gateway"] = _gateway_column(prep, bgw)
    return pa.table(cols)
