"""Network capacity at one time step: max-min fair rates of terminals over their egress routes.

Terminals reach the internet along the routes of :func:`skymesh.network.egress.egress_routes`
(up-link satellite -> ISLs -> last satellite -> gateway). This module turns one step of those
routes into capacitated links, builds the sparse incidence matrix ``R`` (links x terminals) in
one vectorised pass, and shares the capacity max-min fairly with
:func:`skymesh.capacity.allocation.max_min_fair`.

Model (forward direction, internet -> terminal; the return link is not modelled)
--------------------------------------------------------------------------------
Link kinds, in the order they appear in ``R``:

``beam`` (satellite s, cell c)
    A satellite has ``beams_per_sat`` steerable user beams; a beam serves
    **one cell at a time**, so all terminals of cell c whose up-link satellite is s share one
    beam. Default 16 = 8 per polarisation x 2 (S. Pekhterev, "The Bandwidth of the StarLink
    Constellation", SatMagazine, Nov 2021, **N**: analyst reading of a 2021 filing, not
    official). If more than ``beams_per_sat`` cells want satellite s at this step, it serves the
    most demanding ones, deterministically: most elastic (infinite-demand) terminals, then
    largest total demand, then most terminals, then lowest cell number. Terminals of the other
    cells get **0** this step (reason ``"no-beam"``); they are not moved to another satellite
    (the routing layer chose their satellite). A cell reached through two satellites uses one
    beam on each.
    Capacity = ``channels_per_beam`` x the link-budget capacity of one Ku channel
    (``beam_link``, default ``STARLINK_USER_DOWNLINK_KU``: 240 MHz in a 250 MHz slot,
    Humphreys et al., IEEE TAES 2023, A) at the satellite-to-cell-centre range and elevation,
    divided by ``frequency_reuse`` (1 = every beam gets a full channel, as Gen1's Nco = 1
    design: M. Puchol on the bufferbloat.net Starlink list, 31 Aug 2022, citing filings, N).
    ``beam_capacity_mbps`` overrides it with a fixed figure. With the default budget a beam
    gives ~1.37 Gbit/s, so 16 beams ~22 Gbit/s, in line with the ~20 Gbit/s per v1.x satellite
    (17-23 Gbit/s in SpaceX's 2016 filing SAT-LOA-20161115-00118 as read by del Portillo et
    al., Acta Astronautica 2019, P/A; ~20 Gbit/s when not demand-limited in their model, A).
``sat-downlink`` (satellite s), only if ``sat_downlink_mbps`` is set
    Total user downlink of a satellite over all its beams, e.g. 20,000 Mbit/s (del Portillo
    et al., 2019, A).
``isl`` (from satellite a, to satellite b)
    Directed: forward traffic flows from the gateway's satellite back toward the up-link
    satellite, so a path ``s0 s1 ... sk`` loads links ``(s1 -> s0) ... (sk -> sk-1)``. Each
    direction of an optical ISL carries ``isl_capacity_mbps`` (default 100,000 Mbit/s: SpaceX's
    C. Brashears at SPIE Photonics West, via PCMag, 31 Jan 2024; Starlink X post, Sept 2023;
    P/N).
``gsl-feeder`` (gateway g, satellite s)
    The Ka feeder up-link from gateway g to the last satellite of the path: ``feeder_carriers``
    x the link-budget capacity of one carrier (``feeder_link``, default
    ``STARLINK_GATEWAY_KA_UPLINK``, 480 MHz: FCC IBFS SES-AMD-20210409-00640, Kalama, WA
    gateway licence, 2021, P) at the gateway-satellite geometry. Default 8 carriers (D: 2.1 GHz
    of uplink spectrum / 480 MHz ~ 4 carriers x 2 polarisations) -> ~21.6 Gbit/s, close to the
    upper bound of one Ka uplink, 2.1 GHz x 2 polarisations x 5.5 bit/s/Hz ~ 23 Gbit/s (D; 5.5
    bit/s/Hz is del Portillo et al.'s 2019 gateway spectral efficiency, A).
    ``feeder_capacity_mbps`` overrides it.
``gateway`` (gateway g)
    Site capacity = ``gateway_antennas`` x ``gateway_antenna_mbps``. Defaults: 6,800 Mbit/s per
    antenna (**D**: 23.7 Tbit/s over ~3,500 gateway antennas in del Portillo et al.'s 2019
    capacity model, ~6.8 Gbit/s each) and 8 antennas in use at once (**P** for Gen1: SpaceX's
    2023 Ka-band gateway blanket application says a site talks to up to 8 Gen1 and up to 32
    Gen2 satellites at once, with up to 40 antennas per site; its July 2025 network update
    counts >1,500 antennas at >100 US sites, ~15 per site on average, D). Both may be
    arrays (one value per gateway). The limit of one satellite per antenna is not modelled.

A terminal without a route this step (``gateway == -1``) gets 0 (reason ``"no-route"``).

Backhaul for the load-aware assignment
--------------------------------------
The fixed-route model above ties each terminal to the satellite its shortest path starts
from, so terminals pile onto a few satellites. The load-aware beam assignment
(:mod:`skymesh.capacity.assignment`) instead chooses the serving satellite per cell and needs,
for every satellite, the backhaul its traffic would take: :func:`satellite_routes` (each
satellite's shortest-delay route to a gateway its exit group may use) and
:func:`backhaul_network` (those routes' ISL, feeder and gateway links, same kinds and
capacities as here, as a links x routes incidence matrix).

Result of :func:`allocate_step` (dict):
    ``rate_mbps`` (G,); ``served`` (G, bool); ``reason`` (G, str: ``"served"``,
    ``"no-route"``, ``"no-beam"``); ``bottleneck`` (G, int: link index, -1 demand met, -2 not
    served); ``bottleneck_kind`` (G, str, '' if none); ``links`` (dict of arrays over links:
    ``kind``, ``a``, ``b``, ``capacity_mbps``, ``load_mbps``, ``saturated``, ``n_terminals``,
    ``n_bottlenecked``); ``saturated`` (the same fields restricted to saturated links, most
    bottlenecked first); ``beams`` (``sat``, ``cell``, ``served``, ``demand_mbps``,
    ``n_terminals`` per (satellite, cell) pair wanted this step); ``R`` (links x served
    terminals, csr), ``capacity_mbps``, ``demand_mbps`` (of the served terminals),
    ``served_index`` (their terminal indices); ``totals`` (scalars). Pass it to
    :func:`terminals_at_rate`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
import scipy.sparse as sp

from skymesh.capacity.allocation import max_min_fair, max_terminals_at_rate
from skymesh.errors import InputError
from skymesh.links.budget import (
    OPTICAL_ISL,
    STARLINK_GATEWAY_KA_UPLINK,
    STARLINK_USER_DOWNLINK_KU,
    LinkParams,
    link_capacity_mbps,
)
from skymesh.links.visibility import pair_range_elevation

LINK_KINDS = ("beam", "sat-downlink", "isl", "gsl-feeder", "gateway")
"""Kind codes: ``links["kind"]`` holds these strings; ``a``/``b`` are (sat, cell),
(sat, -1), (from sat, to sat), (gateway, sat) and (gateway, -1)."""


@dataclass(frozen=True)
class NetworkCapacityParams:
    """Capacities of one step's network (see the module docstring for sources)."""

    beams_per_sat: int = 16
    channels_per_beam: float = 1.0
    frequency_reuse: float = 1.0
    beam_link: LinkParams = STARLINK_USER_DOWNLINK_KU
    beam_capacity_mbps: float | None = None
    sat_downlink_mbps: float | None = None
    isl_capacity_mbps: float = float(cast(float, OPTICAL_ISL.fixed_capacity_mbps))
    feeder_link: LinkParams = STARLINK_GATEWAY_KA_UPLINK
    feeder_carriers: float = 8.0
    feeder_capacity_mbps: float | None = None
    gateway_antennas: object = 8
    gateway_antenna_mbps: object = 6_800.0
    max_beams_per_cell: int = 8
    """Beams of the operator on one service cell at once (Starlink 8,
    :data:`skymesh.capacity.beams.MAX_BEAMS_PER_CELL`; per operator in
    :mod:`skymesh.links.operators`)."""

    def __post_init__(self):
        if not (isinstance(self.beams_per_sat, (int, np.integer)) and self.beams_per_sat >= 1):
            raise InputError("beams_per_sat must be a whole number >= 1", field="beams_per_sat")
        if not (
            isinstance(self.max_beams_per_cell, (int, np.integer)) and self.max_beams_per_cell >= 1
        ):
            raise InputError(
                "max_beams_per_cell must be a whole number >= 1", field="max_beams_per_cell"
            )
        for name in (
            "channels_per_beam",
            "frequency_reuse",
            "isl_capacity_mbps",
            "feeder_carriers",
        ):
            if not getattr(self, name) > 0:
                raise InputError(f"{name} must be > 0", field=name)


def _per_gateway(value, n_gw, field):
    v = np.broadcast_to(np.asarray(value, dtype=float), (n_gw,))
    if (v < 0).any() or np.isnan(v).any():
        raise InputError(f"{field} must be >= 0", field=field)
    return v


def _feeder_capacity_mbps(p, sat_ecef_km, glat, glon, g, s) -> np.ndarray:
    """Feeder capacity (Mbit/s) from gateways ``g`` up to satellites ``s`` (index arrays):
    the fixed ``feeder_capacity_mbps`` when given, else carriers x the Ka link budget."""
    if p.feeder_capacity_mbps is not None:
        return np.full(np.size(g), float(p.feeder_capacity_mbps))
    rng, el = pair_range_elevation(sat_ecef_km[s], glat[g], glon[g])
    return link_capacity_mbps(rng, el, p.feeder_link) * p.feeder_carriers


def _site_capacity_mbps(p, n_gw: int) -> np.ndarray:
    """Each gateway site's capacity (Mbit/s): antennas x capacity per antenna."""
    return _per_gateway(p.gateway_antennas, n_gw, "gateway_antennas") * _per_gateway(
        p.gateway_antenna_mbps, n_gw, "gateway_antenna_mbps"
    )


def _routes_step(routes, step):
    path = np.asarray(routes["path"])
    gw = np.asarray(routes["gateway"])
    if path.ndim == 3:
        path, gw = path[step], gw[step]
    if path.ndim != 2 or gw.shape != path.shape[:1]:
        raise InputError(
            "routes must hold 'path' (G, L) and 'gateway' (G,) for one step "
            "(or (K, G, L) / (K, G) with step=k)",
            field="routes",
        )
    return path.astype(np.int64), gw.astype(np.int64)


def build_step_network(
    sat_ecef_km,
    routes,
    terminal_cell,
    cell_lat_deg,
    cell_lon_deg,
    gateway_lat_deg,
    gateway_lon_deg,
    demand_mbps=np.inf,
    params: NetworkCapacityParams = NetworkCapacityParams(),
    *,
    step=0,
):
    """Links, capacities, beam choice and incidence matrix of one step (no allocation).

    Parameters
    ----------
    sat_ecef_km : (N, 3) km, Earth-fixed satellite positions at this step
        (a (N, K, 3) array is accepted with ``step``).
    routes : dict
        Output of :func:`~skymesh.network.egress.egress_routes`; ``path`` (G, L) and
        ``gateway`` (G,) of this step, or the full (K, G, L) / (K, G) arrays with ``step``.
    terminal_cell : (G,) int
        Each terminal's cell, an index into ``cell_lat_deg`` / ``cell_lon_deg``
        (from :func:`skymesh.capacity.cells.cells_of`).
    cell_lat_deg, cell_lon_deg : (C,) cell centres (deg)
    gateway_lat_deg, gateway_lon_deg : (W,) deg, in the gateway numbering of the routes
    demand_mbps : float or (G,) Mbit/s (inf = elastic)
    params : NetworkCapacityParams

    Returns
    -------
    dict: ``R`` (csr, links x served terminals), ``capacity_mbps``, ``kind`` (int codes into
    `LINK_KINDS`), ``a``, ``b``, ``served_index``, ``reason`` (G, int: 0 served, 1 no route,
    2 no beam), ``demand_mbps`` (G,), ``beams`` (dict).
    """
    sat = np.asarray(sat_ecef_km, dtype=float)
    if sat.ndim == 3:
        sat = sat[:, step, :]
    path, gw = _routes_step(routes, step)
    n_term = path.shape[0]
    cell = np.asarray(terminal_cell, dtype=np.int64).reshape(-1)
    clat = np.asarray(cell_lat_deg, dtype=float).reshape(-1)
    clon = np.asarray(cell_lon_deg, dtype=float).reshape(-1)
    glat = np.asarray(gateway_lat_deg, dtype=float).reshape(-1)
    glon = np.asarray(gateway_lon_deg, dtype=float).reshape(-1)
    n_cells, n_gw, n_sat = clat.size, glat.size, sat.shape[0]
    if cell.shape != (n_term,):
        raise InputError(
            f"terminal_cell has {cell.size} entries, routes have {n_term} terminals",
            field="terminal_cell",
        )
    if n_term and ((cell < 0).any() or (cell >= n_cells).any()):
        raise InputError(
            "terminal_cell indices must lie in 0..len(cell_lat_deg)-1", field="terminal_cell"
        )
    if (gw >= n_gw).any():
        raise InputError("routes name a gateway beyond gateway_lat_deg", field="routes")
    demand = np.broadcast_to(np.asarray(demand_mbps, dtype=float), (n_term,)).copy()
    if (demand < 0).any() or np.isnan(demand).any():
        raise InputError("demands must be >= 0 (inf allowed)", field="demand_mbps")
    p = params
    hops = (path >= 0).sum(axis=1)
    routed = (gw >= 0) & (hops > 0)
    reason = np.where(routed, 0, 1)

    # ---- beams: (up-link satellite, cell) pairs, most demanding beams_per_sat per satellite
    r_idx = np.flatnonzero(routed)
    up = path[r_idx, 0]
    key = up * n_cells + cell[r_idx]
    ukey, inv = np.unique(key, return_inverse=True)
    inv = inv.ravel()
    dr = demand[r_idx]
    is_inf = np.isinf(dr)
    n_inf = np.bincount(inv, weights=is_inf.astype(float), minlength=ukey.size)
    d_fin = np.bincount(inv, weights=np.where(is_inf, 0.0, dr), minlength=ukey.size)
    count = np.bincount(inv, minlength=ukey.size)
    b_sat, b_cell = ukey // n_cells, ukey % n_cells
    order = np.lexsort((b_cell, -count, -d_fin, -n_inf, b_sat))
    s_sorted = b_sat[order]
    first = np.r_[True, s_sorted[1:] != s_sorted[:-1]] if ukey.size else np.zeros(0, bool)
    start = np.maximum.accumulate(np.where(first, np.arange(ukey.size), 0))
    rank = np.empty(ukey.size, dtype=np.int64)
    rank[order] = np.arange(ukey.size) - start
    beam_on = rank < p.beams_per_sat
    ok_r = beam_on[inv]
    reason[r_idx[~ok_r]] = 2
    served_index = r_idx[ok_r]
    n_srv = served_index.size
    col = np.arange(n_srv)

    rows, cols, kinds, la, lb, caps = [], [], [], [], [], []
    n_links = 0

    def add(kind, key_arr, a_arr, b_arr, cap_fn, term_cols):
        nonlocal n_links
        uk, first_i, inv_k = np.unique(key_arr, return_index=True, return_inverse=True)
        rows.append(n_links + inv_k.ravel())
        cols.append(term_cols)
        kinds.append(np.full(uk.size, LINK_KINDS.index(kind)))
        a_u, b_u = a_arr[first_i], b_arr[first_i]
        la.append(a_u)
        lb.append(b_u)
        caps.append(cap_fn(a_u, b_u))
        n_links += uk.size

    # beam links (one per served (sat, cell) pair)
    s_up = up[ok_r]
    c_up = cell[served_index]

    def beam_cap(s, c):
        if p.beam_capacity_mbps is not None:
            return np.full(s.size, float(p.beam_capacity_mbps))
        rng, el = pair_range_elevation(sat[s], clat[c], clon[c])
        cap = link_capacity_mbps(rng, el, p.beam_link)
        return cap * p.channels_per_beam / p.frequency_reuse

    add("beam", s_up * n_cells + c_up, s_up, c_up, beam_cap, col)
    if p.sat_downlink_mbps is not None:
        add(
            "sat-downlink",
            s_up,
            s_up,
            np.full(n_srv, -1),
            lambda s, b: np.full(s.size, float(p.sat_downlink_mbps)),
            col,
        )
    # ISLs, directed in the forward direction (toward the up-link satellite)
    sp_path = path[served_index]
    if sp_path.shape[1] > 1:
        frm, to = sp_path[:, 1:], sp_path[:, :-1]
        m = frm >= 0
        tcol = np.broadcast_to(col[:, None], frm.shape)[m]
        add(
            "isl",
            frm[m] * n_sat + to[m],
            frm[m],
            to[m],
            lambda a, b: np.full(a.size, float(p.isl_capacity_mbps)),
            tcol,
        )
    # feeder: gateway -> last satellite
    last = sp_path[col, hops[served_index] - 1] if n_srv else np.zeros(0, np.int64)
    g_srv = gw[served_index]

    def feeder_cap(g, s):
        return _feeder_capacity_mbps(p, sat, glat, glon, g, s)

    add("gsl-feeder", g_srv * n_sat + last, g_srv, last, feeder_cap, col)
    site = _site_capacity_mbps(p, n_gw)
    add("gateway", g_srv, g_srv, np.full(n_srv, -1), lambda g, b: site[g], col)

    row = np.concatenate(rows)
    R = sp.csr_matrix((np.ones(row.size), (row, np.concatenate(cols))), shape=(n_links, n_srv))
    R.sum_duplicates()
    R.data[:] = 1.0  # a route never counts a link twice
    return {
        "R": R,
        "capacity_mbps": np.concatenate(caps),
        "kind": np.concatenate(kinds),
        "a": np.concatenate(la),
        "b": np.concatenate(lb),
        "served_index": served_index,
        "reason": reason,
        "demand_mbps": demand,
        "beams": {
            "sat": b_sat,
            "cell": b_cell,
            "served": beam_on,
            "demand_mbps": np.where(n_inf > 0, np.inf, d_fin),
            "n_terminals": count,
        },
    }


_REASONS = np.array(["served", "no-route", "no-beam"], dtype=object)


def allocate_step(
    sat_ecef_km,
    routes,
    terminal_cell,
    cell_lat_deg,
    cell_lon_deg,
    gateway_lat_deg,
    gateway_lon_deg,
    demand_mbps=np.inf,
    params: NetworkCapacityParams = NetworkCapacityParams(),
    *,
    weights=None,
    step=0,
) -> dict:
    """Max-min fair throughput of every terminal at one step (arguments as
    :func:`build_step_network`; ``weights`` (G,) for weighted fairness). See the module
    docstring for the model and the result's keys."""
    net = build_step_network(
        sat_ecef_km,
        routes,
        terminal_cell,
        cell_lat_deg,
        cell_lon_deg,
        gateway_lat_deg,
        gateway_lon_deg,
        demand_mbps,
        params,
        step=step,
    )
    srv = net["served_index"]
    n_term = net["reason"].size
    w = (
        None
        if weights is None
        else np.broadcast_to(np.asarray(weights, dtype=float), (n_term,))[srv]
    )
    d_srv = net["demand_mbps"][srv]
    mm = max_min_fair(net["R"], net["capacity_mbps"], d_srv, w)
    rate = np.zeros(n_term)
    rate[srv] = mm["rate_mbps"]
    bott = np.full(n_term, -2)
    bott[srv] = mm["bottleneck"]
    kind_names = np.array(LINK_KINDS, dtype=object)
    lk = kind_names[net["kind"]]
    bkind = np.full(n_term, "", dtype=object)
    hit = bott >= 0
    bkind[hit] = lk[bott[hit]]
    n_links = net["capacity_mbps"].size
    links = {
        "kind": lk,
        "a": net["a"],
        "b": net["b"],
        "capacity_mbps": net["capacity_mbps"],
        "load_mbps": mm["link_load_mbps"],
        "saturated": mm["saturated"],
        "n_terminals": np.diff(net["R"].indptr),
        "n_bottlenecked": np.bincount(bott[hit], minlength=n_links),
    }
    sat_idx = np.flatnonzero(mm["saturated"])
    sat_idx = sat_idx[np.lexsort((sat_idx, -links["n_bottlenecked"][sat_idx]))]
    served = net["reason"] == 0
    totals = {
        "n_terminals": n_term,
        "n_served": int(served.sum()),
        "n_no_route": int((net["reason"] == 1).sum()),
        "n_no_beam": int((net["reason"] == 2).sum()),
        "throughput_mbps": float(rate[served].sum()),
        "min_rate_mbps": float(rate[served].min()) if served.any() else float("nan"),
        "n_links": n_links,
        "n_saturated": int(sat_idx.size),
        "n_beams_used": int(net["beams"]["served"].sum()),
        "rounds": mm["rounds"],
    }
    return {
        "rate_mbps": rate,
        "served": served,
        "reason": _REASONS[net["reason"]],
        "bottleneck": bott,
        "bottleneck_kind": bkind,
        "links": links,
        "saturated": {k: v[sat_idx] for k, v in links.items()},
        "beams": net["beams"],
        "R": net["R"],
        "capacity_mbps": net["capacity_mbps"],
        "demand_mbps": d_srv,
        "served_index": srv,
        "totals": totals,
    }


def terminals_at_rate(result: dict, target_mbps: float, order="least-loaded") -> dict:
    """The largest number of this step's served terminals that can all get ``target_mbps``.

    Uses :func:`skymesh.capacity.allocation.max_terminals_at_rate` on the step's routes and
    beam choice (terminals without a route or a beam cannot be admitted). Terminals are
    admitted in ``order``; for a given order the count is exact (longest prefix that fits):

    - ``"least-loaded"`` (default): terminals whose most contended link has the fewest users
      per Mbit/s of capacity first (max over the route of ``n_users / capacity``; ties by
      index) -- a greedy choice that packs many terminals; the true maximum over all subsets
      is an integer program and may be higher.
    - ``"index"``: terminal index order (e.g. sign-up order).
    - an array of terminal indices (a permutation of the served ones, or of all terminals:
      unserved ones are skipped).

    Returns
    -------
    dict: ``n_terminals``, ``admitted`` (terminal indices), ``limiting_link`` (link index, -1
    if all fit), ``limiting_kind`` ('' if all fit), ``target_mbps``.
    """
    R, c, srv = result["R"], result["capacity_mbps"], result["served_index"]
    n = srv.size
    if isinstance(order, str) and order == "index":
        local = np.arange(n)
    elif isinstance(order, str) and order == "least-loaded":
        users = np.diff(R.indptr).astype(float)
        with np.errstate(divide="ignore"):
            press = np.where(c > 0, users / np.where(c > 0, c, 1.0), np.inf)
        Rc = R.tocsc()
        score = (
            sp.csc_matrix((press[Rc.indices], Rc.indices, Rc.indptr), shape=R.shape)
            .max(axis=0)
            .toarray()
            .ravel()
        )
        local = np.lexsort((np.arange(n), score))
    elif isinstance(order, str):
        raise InputError(
            f"unknown order '{order}'; use 'least-loaded', 'index' or an array", field="order"
        )
    else:
        pos = np.full(result["rate_mbps"].size, -1)
        pos[srv] = np.arange(n)
        local = pos[np.asarray(order, dtype=int)]
        local = local[local >= 0]
    out = max_terminals_at_rate(R, c, target_mbps, result["demand_mbps"], order=local)
    lim = out["limiting_link"]
    return {
        "n_terminals": out["n_terminals"],
        "admitted": srv[out["admitted"]],
        "limiting_link": lim,
        "limiting_kind": "" if lim < 0 else str(result["links"]["kind"][lim]),
        "target_mbps": float(target_mbps),
    }


# ---- backhaul of a beam assignment: every satellite's route to the internet, per exit group


def satellite_routes(
    n_sats: int,
    gateway_links,
    exit_mask,
    *,
    mode="isl",
    isl_pairs=None,
    isl_km=None,
    max_hops: int = 64,
) -> dict:
    """Shortest-delay route from every satellite to an allowed gateway, per exit group.

    The same graph and search as :func:`skymesh.network.egress.egress_routes` (one min-only
    Dijkstra per exit group from its internet sink on the reversed graph), read off at the
    satellites instead of the terminals: the backhaul a cell's traffic takes after the beam
    assignment has chosen its satellite.

    Parameters
    ----------
    n_sats : int
    gateway_links : tuple (gateway, sat, step, range_km)
        Gateway-satellite links in view at this instant (step 0), failed ones removed.
    exit_mask : (n_groups, W) bool
        Gateways each exit group may leave at.
    mode : {"isl", "hybrid", "bent-pipe"}
    isl_pairs : (L, 2) int, isl_km : (L,) km (NaN = down), optional

    Returns
    -------
    dict: ``path`` (n_groups, N, H) int satellites from the serving satellite to the
    gateway's satellite (padded with -1), ``gateway`` (n_groups, N) (-1: none reachable),
    ``delay_ms`` (n_groups, N) one-way satellite -> gateway.
    """
    from scipy.sparse.csgraph import dijkstra

    from skymesh.network.egress import EgressLayout, egress_graph

    mask = np.asarray(exit_mask, dtype=bool)
    if mask.ndim != 2:
        raise InputError("exit_mask must be (n_groups, n_gateways)", field="exit_mask")
    n_groups, n_gw = mask.shape
    layout = EgressLayout(int(n_sats), 0, n_gw, n_groups)
    km = None if isl_km is None else np.asarray(isl_km, dtype=float).reshape(-1, 1)
    graph = egress_graph(
        layout,
        mode,
        1,
        isl_pairs=isl_pairs,
        isl_km=km,
        gateway_links=gateway_links,
        exit_mask=mask[:, :, None],
    )
    path = np.full((n_groups, n_sats, max_hops), -1, dtype=np.int64)
    gateway = np.full((n_groups, n_sats), -1, dtype=np.int64)
    delay = np.full((n_groups, n_sats), np.nan)
    used = 1
    for g in range(n_groups):
        dist, pred, _ = dijkstra(
            graph, directed=True, indices=layout.sink0 + g, return_predecessors=True, min_only=True
        )
        reach = np.flatnonzero(np.isfinite(dist[:n_sats]))
        cur = reach.copy()
        h = 0
        while cur.size and h < max_hops:
            is_sat = (cur >= 0) & (cur < n_sats)
            path[g, reach[is_sat], h] = cur[is_sat]
            at_gw = (cur >= layout.gw0) & (cur < layout.sink0)
            gateway[g, reach[at_gw]] = cur[at_gw] - layout.gw0
            keep = is_sat
            reach, cur = reach[keep], pred[cur[keep]]
            h += 1
        used = max(used, h)
        delay[g, :] = np.where(gateway[g] >= 0, 1e3 * dist[:n_sats], np.nan)
    return {"path": path[:, :, : max(used - 1, 1)], "gateway": gateway, "delay_ms": delay}


def backhaul_network(
    sat_ecef_km,
    routes: dict,
    gateway_lat_deg,
    gateway_lon_deg,
    params: NetworkCapacityParams = NetworkCapacityParams(),
) -> dict:
    """Capacitated backhaul links of :func:`satellite_routes`, as links x routes incidence.

    Route ``r = group * N + sat`` carries traffic a beam of satellite ``sat`` delivers to a
    cell of exit group ``group``: forward direction, gateway -> feeder up-link -> ISLs toward
    the serving satellite. Link kinds and capacities as in :func:`build_step_network`:
    directed ``isl`` (``isl_capacity_mbps``), ``gsl-feeder`` (gateway, last satellite; link
    budget x ``feeder_carriers`` or ``feeder_capacity_mbps``) and ``gateway`` (site
    capacity).

    Returns
    -------
    dict: ``R`` (csr, links x routes, 1 where the route uses the link), ``capacity_mbps``,
    ``kind`` (str), ``a``, ``b`` (as `LINK_KINDS`), ``route_ok`` (routes,) bool,
    ``n_sats``. Use ``route_of_pair = group_of_cell[pair_cell] * n_sats + pair_sat``, set to
    -1 where ``route_ok`` is False, with :func:`skymesh.capacity.assignment.assign_cells`.
    """
    sat = np.asarray(sat_ecef_km, dtype=float)
    path = np.asarray(routes["path"], dtype=np.int64)
    gw = np.asarray(routes["gateway"], dtype=np.int64)
    n_groups, n_sat = gw.shape
    glat = np.asarray(gateway_lat_deg, dtype=float).reshape(-1)
    glon = np.asarray(gateway_lon_deg, dtype=float).reshape(-1)
    n_gw = glat.size
    p = params
    flat_path = path.reshape(n_groups * n_sat, -1)
    flat_gw = gw.reshape(-1)
    ok = flat_gw >= 0
    rid = np.flatnonzero(ok)
    rp = flat_path[rid]
    hops = (rp >= 0).sum(axis=1)
    rows, cols, kinds, la, lb, caps = [], [], [], [], [], []
    n_links = 0

    def add(kind, key_arr, a_arr, b_arr, cap_fn, route_cols):
        nonlocal n_links
        if key_arr.size == 0:
            return
        uk, first_i, inv_k = np.unique(key_arr, return_index=True, return_inverse=True)
        rows.append(n_links + inv_k.ravel())
        cols.append(route_cols)
        kinds.append(np.full(uk.size, kind, dtype=object))
        a_u, b_u = a_arr[first_i], b_arr[first_i]
        la.append(a_u)
        lb.append(b_u)
        caps.append(cap_fn(a_u, b_u))
        n_links += uk.size

    if rp.shape[1] > 1:
        frm, to = rp[:, 1:], rp[:, :-1]
        m = frm >= 0
        rcol = np.broadcast_to(rid[:, None], frm.shape)[m]
        add(
            "isl",
            frm[m] * n_sat + to[m],
            frm[m],
            to[m],
            lambda a, b: np.full(a.size, float(p.isl_capacity_mbps)),
            rcol,
        )
    last = rp[np.arange(rid.size), hops - 1] if rid.size else np.zeros(0, np.int64)
    g_r = flat_gw[rid]

    def feeder_cap(g, s):
        return _feeder_capacity_mbps(p, sat, glat, glon, g, s)

    add("gsl-feeder", g_r * n_sat + last, g_r, last, feeder_cap, rid)
    site = _site_capacity_mbps(p, n_gw)
    add("gateway", g_r, g_r, np.full(rid.size, -1), lambda g, b: site[g], rid)
    n_routes = n_groups * n_sat
    if rows:
        row = np.concatenate(rows)
        R = sp.csr_matrix(
            (np.ones(row.size), (row, np.concatenate(cols))), shape=(n_links, n_routes)
        )
        R.sum_duplicates()
        R.data[:] = 1.0
        cat = np.concatenate
        out = {
            "capacity_mbps": cat(caps),
            "kind": cat(kinds).astype(str),
            "a": cat(la),
            "b": cat(lb),
        }
    else:
        R = sp.csr_matrix((0, n_routes))
        out = {
            "capacity_mbps": np.zeros(0),
            "kind": np.zeros(0, str),
            "a": np.zeros(0, np.int64),
            "b": np.zeros(0, np.int64),
        }
    return {"R": R, **out, "route_ok": ok, "n_sats": n_sat}
