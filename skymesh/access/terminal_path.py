"""One terminal's path to the internet over a window: serving satellite per 15 s slot,
gateway, PoP, and the RTT as a sum of named components.

Path: terminal -> serving satellite -> (ISLs) -> gateway -> fibre -> PoP. The
serving satellite is chosen at each 15 s reconfiguration boundary
(:mod:`skymesh.access.slots`) and held for the slot; if it drops below the
elevation mask inside a slot the terminal is handed over at once (a *forced*
handover, counted). The choice is made by
``skymesh.access.serving.choose_serving`` when that module is present (the
project's operator-preference model), else by the highest elevation.

PoP: the terminal's traffic is assigned to a PoP by the rule of
:func:`skymesh.ground.pops.home_gateways` applied to the terminal: the nearest
PoP in its own country, else the nearest one (Mohan et al., WWW 2024, saw
terminals use their country's PoP where one exists). Traffic for a PoP lands at
a gateway homed to it (:func:`skymesh.ground.pops.home_gateways`), the one that
minimises space propagation plus its fibre leg; when no gateway is homed to the
PoP, at any gateway, with fibre from it to the PoP. The gateway's own home PoP
is reported too. Without a PoP list the path ends at the gateway and the fibre
leg is 0.

Routing within a slot follows the held satellite: only the up-link to it is
in the graph (:func:`skymesh.network.egress.egress_graph` with filtered
terminal links, plus sink edges that carry the fibre delay).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from skymesh.access.delay import DEFAULTS, AccessDelayParams, access_components_ms
from skymesh.access.slots import slot_index
from skymesh.constants import SPEED_OF_LIGHT_KM_S
from skymesh.errors import InputError
from skymesh.ground.pops import Pops, fibre_rtt_ms, home_gateways
from skymesh.links.isl import isl_lengths_km, plus_grid_pairs
from skymesh.links.visibility import visible_pairs
from skymesh.network.egress import SINK_DELAY_S, EgressLayout, egress_graph, egress_routes
from skymesh.orbits.propagate import positions_ecef

ROUTE_STEPS = 20
"""Steps per block-diagonal routing graph."""


SELECTION_POLICIES = ("operator", "highest-elevation", "longest-visibility")
"""Serving-satellite policies of :mod:`skymesh.access.serving` this module supports (the
fourth, ``nearest-to-gateway``, needs per-satellite exit delays: use a scenario run)."""


def _scores(policy, constellation, pos, lat, lon, tg, ts, tk, tel, grid, min_elevation_deg):
    """Selection score of each visible (terminal, satellite, step) pair under ``policy``."""
    from skymesh.access.serving import (
        pair_look,
        remaining_visibility_s,
        satellite_newness,
        selection_score,
    )
    from skymesh.orbits.frames import geodetic_to_ecef

    if policy == "highest-elevation":
        return selection_score(policy, elevation_deg=tel)
    if policy == "operator":
        _, az = pair_look(pos, lat, lon, tg, ts, tk)
        return selection_score(
            policy,
            elevation_deg=tel,
            azimuth_deg=az,
            ground_lat_deg=lat[tg],
            newness=satellite_newness(constellation)[ts],
        )
    # longest-visibility: the pass geometry from this step's and the next step's positions.
    n_steps = pos.shape[1]
    if n_steps < 2:
        raise InputError("longest-visibility needs at least two steps", field="policy")
    first = np.where(tk + 1 < n_steps, tk, tk - 1)  # the last step looks one back
    dt = float(np.median(np.diff(grid.offsets_s)))
    ground = np.atleast_2d(geodetic_to_ecef(lat, lon, 0.0))[tg]
    remaining = (
        remaining_visibility_s(pos[ts, first], pos[ts, first + 1], dt, ground, min_elevation_deg)
        - (tk - first) * dt
    )
    return selection_score(policy, remaining_s=remaining)


def terminals_path(
    constellation,
    grid,
    lat_deg,
    lon_deg,
    country,
    gateways,
    pops: Pops | None = None,
    *,
    terminal_pop=None,
    mode: str = "isl",
    policy: str = "operator",
    min_elevation_deg: float = 25.0,
    load=0.0,
    params: AccessDelayParams = DEFAULTS,
    max_isl_range_km: float = 5400.0,
    progress=None,
) -> dict:
    """Paths to the internet of G terminals at every step of ``grid`` (module docstring).

    ``terminal_pop`` (G,) int optionally fixes each terminal's PoP (index into
    ``pops``; -1 keeps the rule). Returns a dict of (T, G) arrays: ``slot`` (T,),
    ``serving_sat`` (-1 unserved), ``serving_elevation_deg``, ``forced_handover``,
    ``gateway`` (index, -1), ``gateway_home_pop`` (index into pops, -1), ``pop``
    (index, -1), ``isl_hops``, ``user_link_rtt_ms``, the component columns of
    :func:`skymesh.access.delay.access_components_ms` (with detail), and
    ``selection`` (text: the serving-satellite rule used).
    """
    if mode not in ("isl", "bent-pipe"):
        raise InputError(f"unknown mode '{mode}': isl or bent-pipe", field="mode")
    if len(gateways) == 0:
        raise InputError("no gateways to route to", field="gateways")
    lat = np.atleast_1d(np.asarray(lat_deg, dtype=float))
    lon = np.atleast_1d(np.asarray(lon_deg, dtype=float))
    country = np.atleast_1d(np.asarray(country, dtype=str))
    n_term, n_steps = len(lat), len(grid)
    pos = positions_ecef(constellation, grid, serving_only=True)
    n_sats = pos.shape[0]
    tg, ts, tk, tr, tel = visible_pairs(pos, lat, lon, min_elevation_deg=min_elevation_deg)
    slots = slot_index(grid.start, grid.offsets_s)
    gw_min_el = np.where(
        np.isfinite(gateways.min_elevation_deg), gateways.min_elevation_deg, min_elevation_deg
    )
    gg, gs, gk, gr, _ = visible_pairs(
        pos, gateways.lat_deg, gateways.lon_deg, min_elevation_deg=gw_min_el
    )
    if mode == "bent-pipe":
        # Without ISLs only a satellite that sees a gateway can serve.
        gw_keys = np.unique(gk * n_sats + gs)
        mine = tk * n_sats + ts
        i = np.minimum(np.searchsorted(gw_keys, mine), max(len(gw_keys) - 1, 0))
        keep = gw_keys[i] == mine if len(gw_keys) else np.zeros(len(ts), dtype=bool)
        tg, ts, tk, tr, tel = tg[keep], ts[keep], tk[keep], tr[keep], tel[keep]
    if policy not in SELECTION_POLICIES:
        raise InputError(
            f"unknown serving policy '{policy}': use {', '.join(SELECTION_POLICIES)}",
            field="policy",
        )
    from skymesh.access.serving import choose_serving

    score = _scores(policy, constellation, pos, lat, lon, tg, ts, tk, tel, grid, min_elevation_deg)
    serving, _, forced, _ = choose_serving(n_term, n_steps, tg, ts, tk, score, slots)
    serving, forced = serving.T, forced.T  # (T, G)
    selection = policy
    # The held satellite's range and elevation at each step.
    held = serving[tk, tg] == ts
    rng = np.full((n_steps, n_term), np.nan)
    elev = np.full((n_steps, n_term), np.nan)
    rng[tk[held], tg[held]] = tr[held]
    elev[tk[held], tg[held]] = tel[held]

    n_gw = len(gateways)
    if pops is not None and len(pops):
        t_pop = home_gateways(lat, lon, country, pops)
        if terminal_pop is not None:
            fixed = np.broadcast_to(np.asarray(terminal_pop, dtype=np.int64), (n_term,))
            t_pop = np.where(fixed >= 0, fixed, t_pop)
        gw_home = home_gateways(
            gateways.lat_deg, gateways.lon_deg, gateways.country_iso2, pops, gw_name=gateways.name
        )
        groups, group_of = np.unique(t_pop, return_inverse=True)
        fibre_gw = fibre_rtt_ms(
            gateways.lat_deg[None, :],
            gateways.lon_deg[None, :],
            pops.lat_deg[groups][:, None],
            pops.lon_deg[groups][:, None],
        )
    else:
        t_pop = np.full(n_term, -1)
        gw_home = np.full(n_gw, -1)
        groups, group_of = np.zeros(1, dtype=np.int64), np.zeros(n_term, dtype=np.int64)
        fibre_gw = np.zeros((1, n_gw))
    n_groups = len(groups)
    # Exits of each PoP group: the gateways homed to that PoP; every gateway (with fibre to
    # the PoP) when none is homed there.
    if pops is not None and len(pops):
        exits = gw_home[None, :] == groups[:, None]
        exits[~exits.any(axis=1)] = True
    else:
        exits = np.ones((1, n_gw), dtype=bool)
    pairs = plus_grid_pairs(constellation) if mode == "isl" else None

    layout = EgressLayout(n_sats, n_term, n_gw, n_groups)
    out_rtt = np.full((n_steps, n_term), np.nan)
    out_gw = np.full((n_steps, n_term), -1, dtype=np.int64)
    out_isl = np.zeros((n_steps, n_term), dtype=np.int64)
    for b0 in range(0, n_steps, ROUTE_STEPS):
        b1 = min(b0 + ROUTE_STEPS, n_steps)
        k_steps = b1 - b0
        mt = held & (tk >= b0) & (tk < b1)
        mg = (gk >= b0) & (gk < b1)
        links: dict[str, Any] = dict(
            terminal_links=(tg[mt], ts[mt], tk[mt] - b0, tr[mt]),
            gateway_links=(gg[mg], gs[mg], gk[mg] - b0, gr[mg]),
        )
        if pairs is not None and len(pairs):
            links["isl_pairs"] = pairs
            links["isl_km"] = isl_lengths_km(pos[:, b0:b1], pairs, max_range_km=max_isl_range_km)
        graph = egress_graph(layout, mode, k_steps, **links)
        # Sink edges (reversed: sink -> gateway) carry the one-way fibre delay to the PoP.
        n = layout.n_nodes
        k, q, g = (
            x.ravel()
            for x in np.meshgrid(
                np.arange(k_steps), np.arange(n_groups), np.arange(n_gw), indexing="ij"
            )
        )
        keep = exits[q, g]
        k, q, g = k[keep], q[keep], g[keep]
        w = np.maximum(fibre_gw[q, g] / 2e3, SINK_DELAY_S)
        sink = sp.csr_matrix(
            (w, (layout.sink0 + q + k * n, layout.gw0 + g + k * n)), shape=graph.shape
        )
        res = egress_routes(graph + sink, layout, group_of, k_steps)
        out_rtt[b0:b1] = res["path_rtt_ms"]
        out_gw[b0:b1] = res["gateway"]
        out_isl[b0:b1] = res["isl_hops"]
        if progress is not None:
            progress(k_steps)
    served = out_gw >= 0
    fibre = np.where(served, fibre_gw[group_of[None, :], np.maximum(out_gw, 0)], np.nan)
    if pops is None or not len(pops):
        fibre = np.where(served, 0.0, np.nan)
    # The search summed space + fibre (+1 ps sink edges where there is no fibre).
    space = np.where(served, out_rtt - np.where(fibre > 0, fibre, 2e3 * SINK_DELAY_S), np.nan)
    user_rtt = 2e3 * rng / SPEED_OF_LIGHT_KM_S
    comps = access_components_ms(
        np.where(served, out_isl, 0),
        load,
        space_rtt_ms=space,
        fibre_ms=fibre,
        user_link_rtt_ms=np.where(np.isfinite(user_rtt), user_rtt, 0.0),
        gateway=True,
        pop=bool(t_pop[0] >= 0),
        params=params,
        detail=True,
    )
    return dict(
        offset_s=grid.offsets_s.copy(),
        slot=slots,
        serving_sat=serving,
        serving_elevation_deg=elev,
        forced_handover=forced,
        gateway=out_gw,
        gateway_home_pop=np.where(served, gw_home[np.maximum(out_gw, 0)], -1),
        pop=np.where(served, t_pop[None, :], -1),
        isl_hops=np.where(served, out_isl, 0),
        user_link_rtt_ms=user_rtt,
        selection=selection,
        **comps,
    )


def terminal_path(
    constellation,
    grid,
    lat_deg: float,
    lon_deg: float,
    country: str,
    gateways,
    pops: Pops | None = None,
    *,
    terminal_pop: int = -1,
    **kwargs,
) -> dict:
    """One terminal's path: :func:`terminals_path` for G = 1, with (T,) arrays."""
    res = terminals_path(
        constellation,
        grid,
        [lat_deg],
        [lon_deg],
        [country],
        gateways,
        pops,
        terminal_pop=[terminal_pop],
        **kwargs,
    )
    return {
        k: (v[:, 0] if isinstance(v, np.ndarray) and v.ndim == 2 else v) for k, v in res.items()
    }
