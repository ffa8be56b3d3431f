"""The network of one 15 s slot as the capacity model sees it, from plain arrays.

Both faces of the capacity answer build their slot here: ``skymesh capacity REGION``
(:mod:`skymesh.capacity.region`) and a scenario run's capacity pass
(:mod:`skymesh.sim.capacity_pass`). Nothing here knows about scenarios: ``skymesh.sim``
imports this module, never the reverse (tested).

1. :func:`service_cells`: terminals grouped into service cells, keyed by (H3 cell, exit
   group), so a cell never mixes two countries' gateway rules.
2. :func:`ground_links`: the gateway-satellite links above the mask and the ISLs' lengths
   (km) at one instant, when the caller has no failures to remove (a run's chunk builds the
   same links with its failures, :func:`skymesh.sim.egress_chunk.block_links`).
3. :func:`slot_links`: each satellite's shortest-delay route to a gateway its exit group
   may use (:func:`skymesh.capacity.network.satellite_routes`), the backhaul links those
   routes load (:func:`skymesh.capacity.network.backhaul_network`), and every
   (cell, satellite) beam pair above the mask (:func:`skymesh.capacity.beams.beam_pairs`),
   as the ``backhaul`` argument of :mod:`skymesh.capacity.assignment`.
4. :func:`faded_capacities`: beam and feeder capacities re-budgeted under rain (mm/h).
5. :func:`capacity_params`: :class:`~skymesh.capacity.network.NetworkCapacityParams` from a
   ``[capacity]`` section's values (Gbit/s per antenna, antennas per site, ...) and each
   gateway's listed capacity (Gbit/s); :data:`CAPACITY_DEFAULTS` are the values both faces
   take when none are given.
"""

from __future__ import annotations

import numpy as np

from skymesh.capacity.cells import cells_of
from skymesh.capacity.network import NetworkCapacityParams

CAPACITY_DEFAULTS: dict = {
    "beams_per_sat": 16,
    "channels_per_beam": 1.0,
    "frequency_reuse": 1.0,
    "beam_capacity_mbps": None,
    "sat_downlink_mbps": None,
    "isl_capacity_gbps": 100.0,
    "gateway_antennas": 8,
    "gateway_antenna_gbps": 6.8,
}
"""Capacities of the network when a face is given none: the defaults of a scenario's
``[capacity]`` section (:class:`skymesh.sim.scenario.CapacitySpec`, kept equal by a test)
and of ``skymesh capacity``. Sources in :mod:`skymesh.capacity.network`."""

DEFAULT_MAX_ISL_RANGE_KM = 5400.0
"""ISLs longer than this (km) are not used: a scenario's ``routing.max_isl_range_km`` default."""


def capacity_params(
    gateway_capacity_gbps, beam_link=None, max_beams_per_cell=None, **values
) -> NetworkCapacityParams:
    """:class:`NetworkCapacityParams` from ``[capacity]`` values (keys of
    :data:`CAPACITY_DEFAULTS`; missing ones take the default) and each gateway's listed
    capacity (Gbit/s, NaN = not listed). A site with a listed capacity shares it over its
    antennas; the others get ``gateway_antenna_gbps`` per antenna. ``beam_link``: the
    operator's user-downlink :class:`~skymesh.links.budget.LinkParams`
    (:func:`skymesh.links.operators.user_link`; default Starlink's Ku channel) and
    ``max_beams_per_cell`` (default Starlink's 8)."""
    v = dict(CAPACITY_DEFAULTS)
    unknown = set(values) - set(v)
    if unknown:
        raise TypeError(f"unknown capacity values: {', '.join(sorted(unknown))}")
    v.update(values)
    antennas = v["gateway_antennas"]
    cap = np.asarray(gateway_capacity_gbps, dtype=float)
    site_mbps = np.where(
        np.isfinite(cap), cap * 1e3 / antennas, float(v["gateway_antenna_gbps"]) * 1e3
    )
    extra: dict = {} if beam_link is None else {"beam_link": beam_link}
    if max_beams_per_cell is not None:
        extra["max_beams_per_cell"] = int(max_beams_per_cell)
    return NetworkCapacityParams(
        **extra,
        beams_per_sat=v["beams_per_sat"],
        channels_per_beam=v["channels_per_beam"],
        frequency_reuse=v["frequency_reuse"],
        beam_capacity_mbps=v["beam_capacity_mbps"],
        sat_downlink_mbps=v["sat_downlink_mbps"],
        isl_capacity_mbps=float(v["isl_capacity_gbps"]) * 1e3,
        gateway_antennas=antennas,
        gateway_antenna_mbps=site_mbps,
    )


def service_cells(lat_deg, lon_deg, group_of, resolution: int) -> dict:
    """Service cells keyed by (H3 cell, exit group): ``index`` (G,), ``lat_deg``, ``lon_deg``,
    ``group`` (C,), ``h3`` (C,), ``n_terminals`` (C,)."""
    h = cells_of(lat_deg, lon_deg, resolution)
    group_of = np.asarray(group_of, dtype=np.int64)
    n_groups = int(group_of.max()) + 1 if group_of.size else 1
    key, index = np.unique(h.index * n_groups + group_of, return_inverse=True)
    hc = key // n_groups
    return {
        "index": index.ravel(),
        "lat_deg": h.lat_deg[hc],
        "lon_deg": h.lon_deg[hc],
        "group": key % n_groups,
        "h3": h.ids[hc],
        "n_terminals": np.bincount(index.ravel(), minlength=key.size),
    }


def ground_links(
    pos_ecef_km,
    gateway_lat_deg,
    gateway_lon_deg,
    *,
    min_elevation_deg: float,
    isl_pairs=None,
    max_gsl_range_km: float | None = None,
    max_isl_range_km: float | None = DEFAULT_MAX_ISL_RANGE_KM,
) -> dict:
    """Gateway links and ISLs of one instant, nothing failed.

    ``pos_ecef_km`` (N, 1, 3). Returns ``gateway_links`` (gateway, satellite, step, range_km
    arrays, :func:`skymesh.links.visibility.visible_pairs`) and, with ``isl_pairs`` (L, 2),
    ``isl_pairs`` and ``isl_km`` (L, 1; NaN where not usable).
    """
    from skymesh.links.isl import isl_lengths_km
    from skymesh.links.visibility import visible_pairs

    gg, gs, gk, gr, _ = visible_pairs(
        pos_ecef_km,
        np.asarray(gateway_lat_deg, float),
        np.asarray(gateway_lon_deg, float),
        min_elevation_deg=min_elevation_deg,
        max_range_km=max_gsl_range_km,
    )
    links: dict = {"gateway_links": (gg, gs, gk, gr)}
    if isl_pairs is not None and len(isl_pairs):
        links["isl_pairs"] = isl_pairs
        links["isl_km"] = isl_lengths_km(pos_ecef_km, isl_pairs, max_range_km=max_isl_range_km)
    return links


def slot_links(
    sat_ecef_km,
    links: dict,
    cells: dict,
    exit_mask,
    gateway_lat_deg,
    gateway_lon_deg,
    params: NetworkCapacityParams,
    *,
    mode: str,
    min_elevation_deg: float,
) -> dict:
    """Routes, backhaul and beam pairs of one slot.

    ``sat_ecef_km`` (N, 3) at the slot's start; ``links`` from :func:`ground_links` (or a
    run's chunk); ``cells`` from :func:`service_cells`; ``exit_mask`` (groups, gateways) bool:
    which gateways each exit group may use. Returns ``bh``
    (:func:`skymesh.capacity.network.backhaul_network`), ``pairs``
    (:func:`skymesh.capacity.beams.beam_pairs`) and ``n_sats``.
    """
    from skymesh.capacity.beams import beam_pairs
    from skymesh.capacity.network import backhaul_network, satellite_routes

    sat = np.asarray(sat_ecef_km, dtype=float)
    n_sats = sat.shape[0]
    bent = mode == "bent-pipe"
    routes = satellite_routes(
        n_sats,
        links["gateway_links"],
        np.asarray(exit_mask, dtype=bool),
        mode=mode,
        isl_pairs=None if bent else links.get("isl_pairs"),
        isl_km=None if bent or "isl_km" not in links else links["isl_km"][:, 0],
    )
    bh = backhaul_network(sat, routes, gateway_lat_deg, gateway_lon_deg, params)
    pairs = beam_pairs(
        sat,
        cells["lat_deg"],
        cells["lon_deg"],
        min_elevation_deg=min_elevation_deg,
        link=params.beam_link,
        channels_per_beam=params.channels_per_beam,
        frequency_reuse=params.frequency_reuse,
        beam_capacity_mbps=params.beam_capacity_mbps,
    )
    return {"bh": bh, "pairs": pairs, "n_sats": n_sats}


def backhaul_of_pairs(cells: dict, pairs: dict, bh: dict, n_sats: int, capacity_mbps=None) -> dict:
    """The ``backhaul`` argument of :mod:`skymesh.capacity.assignment`: each pair's route
    (-1 where its satellite reaches no gateway the cell's group may use), the incidence
    ``R``, link capacities (Mbit/s; ``capacity_mbps`` replaces ``bh``'s, e.g. faded) and
    kinds, plus the links' ends ``a`` / ``b``."""
    route = cells["group"][pairs["cell"]] * n_sats + pairs["sat"]
    route = np.where(bh["route_ok"][route], route, -1)
    return {
        "route_of_pair": route,
        "R": bh["R"],
        "capacity_mbps": bh["capacity_mbps"] if capacity_mbps is None else capacity_mbps,
        "kind": bh["kind"],
        "a": bh["a"],
        "b": bh["b"],
    }


def faded_capacities(
    pairs: dict,
    backhaul: dict,
    sat_ecef_km,
    cell_lat_deg,
    cell_lon_deg,
    gateway_lat_deg,
    gateway_lon_deg,
    cell_rain_mmh,
    gateway_rain_mmh,
    params: NetworkCapacityParams,
) -> tuple[np.ndarray, np.ndarray]:
    """Beam-pair and backhaul capacities (Mbit/s) under clear sky + rain, as new arrays.

    ``pairs`` from :func:`skymesh.capacity.beams.beam_pairs` (``cell``, ``range_km``,
    ``elevation_deg``, ``capacity_mbps``), ``backhaul`` from
    :func:`skymesh.capacity.network.backhaul_network` (``kind`` str, ``a`` gateway and ``b``
    satellite for ``gsl-feeder`` links). Beams are re-budgeted at the cell centre with the
    cell's rain rate, feeders at the gateway with the gateway's
    (:func:`skymesh.links.rain.link_capacity_with_rain_mbps`; 0 mm/h = clear sky); ISLs,
    gateway sites and fixed capacities (``beam_capacity_mbps``, ``feeder_capacity_mbps``)
    are unchanged.
    """
    from skymesh.links.rain import link_capacity_with_rain_mbps
    from skymesh.links.visibility import pair_range_elevation

    clat, clon = np.asarray(cell_lat_deg, float), np.asarray(cell_lon_deg, float)
    glat, glon = np.asarray(gateway_lat_deg, float), np.asarray(gateway_lon_deg, float)
    crain = np.broadcast_to(np.asarray(cell_rain_mmh, float), clat.shape)
    grain = np.broadcast_to(np.asarray(gateway_rain_mmh, float), glat.shape)
    k = np.asarray(pairs["capacity_mbps"], dtype=float).copy()
    if k.size and params.beam_capacity_mbps is None:
        c = np.asarray(pairs["cell"], dtype=np.int64)
        k = (
            link_capacity_with_rain_mbps(
                pairs["range_km"],
                pairs["elevation_deg"],
                params.beam_link,
                clat[c],
                clon[c],
                crain[c],
            )
            * params.channels_per_beam
            / params.frequency_reuse
        )
    cap = np.asarray(backhaul["capacity_mbps"], dtype=float).copy()
    feed = np.flatnonzero(np.asarray(backhaul["kind"]).astype(str) == "gsl-feeder")
    if feed.size and params.feeder_capacity_mbps is None:
        g = np.asarray(backhaul["a"])[feed].astype(np.int64)
        s = np.asarray(backhaul["b"])[feed].astype(np.int64)
        rng, el = pair_range_elevation(np.asarray(sat_ecef_km, float)[s], glat[g], glon[g])
        cap[feed] = (
            link_capacity_with_rain_mbps(rng, el, params.feeder_link, glat[g], glon[g], grain[g])
            * params.feeder_carriers
        )
    return k, cap
