"""The straightforward per-time-step routing of Hypatia's satgenpy, as a benchmark baseline.

Written for SkyMesh's benchmarks after the algorithm satgenpy publishes
(Kassing et al., "Exploring the 'Internet from space' with Hypatia",
IMC 2020; ``satgen/dynamic_state/generate_dynamic_state.py`` and
``fstate_calculation.py``, function
``calculate_fstate_shortest_path_without_gs_relaying``); no satgenpy code
is copied. One time step:

1. **Satellites in view**: for every ground station, for every satellite,
   a per-pair computation in plain Python, as satgenpy does (it calls
   pyephem's ``compute`` once per (ground station, satellite) pair, i.e. it
   re-propagates the satellite for every pair, and keeps satellites within
   the longest GSL allowed). Here each pair gets its own SGP4 call
   (``sgp4.api.Satrec.sgp4``, the C++ SGP4 behind pyephem's role here), the
   TEME -> Earth-fixed rotation by GMST (IAU 1982, ``sgp4.propagation.gstime``,
   evaluated once per step), and the WGS84 elevation (the criterion SkyMesh
   uses, so that both see the same links), all on scalars with ``math``.
   The satellites are the Walker shell as satgenpy models one: a TLE per
   satellite built from the shell's elements (:func:`walker_tles`).
2. **Satellite graph**: a ``networkx.Graph`` of the satellites with one edge
   per usable ISL, weighted by its length in metres. The +Grid links and
   their line-of-sight/length filter come from :mod:`skymesh.links.isl`, so
   the topology is the one SkyMesh routes over.
3. **All-pairs satellite distances**: ``networkx.floyd_warshall_numpy`` over
   the satellite graph (dense N x N; O(N^3)).
4. **Forwarding state**, Python loops as satgenpy does. For every satellite
   ``curr`` and destination ground station ``dst``: among the satellites
   ``b`` in view of ``dst`` pick the one minimising ``D[curr, b] + gsl(b, dst)``
   (the exit satellite); if ``curr`` is that satellite the next hop is the
   ground station itself, otherwise the ISL neighbour minimising
   ``isl(curr, nb) + D[nb, exit]``. For every source ground station ``src``
   and ``dst != src``: the satellite ``a`` in view of ``src`` minimising
   ``gsl(src, a) + dist(a -> dst)``; that minimum is the src-dst distance, so
   the same loops give all-pairs ground-station distances.

Node numbering is satgenpy's (and SkyMesh's compact numbering): satellites
``0..N-1``, ground station ``g`` is node ``N + g``. A next hop of ``-1``
means the packet is dropped (no route). satgenpy also writes the fstate to
files, only the entries that changed since the previous step; that I/O is
left out here.
"""

from __future__ import annotations

import math
import time

import benchlib
import networkx as nx
import numpy as np
from sgp4 import exporter
from sgp4.api import WGS72, Satrec
from sgp4.propagation import gstime

from skymesh.constants import MU_EARTH_KM3_S2, SPEED_OF_LIGHT_KM_S, WGS84_A_KM, WGS84_E2
from skymesh.links.isl import isl_lengths_km


def ground_station_cartesian_m(lat_deg: float, lon_deg: float, alt_m: float):
    """WGS84 Earth-fixed position (m) and local unit 'up' vector of one ground station."""
    lat = math.radians(lat_deg)
    lon = math.radians(lon_deg)
    sin_lat, cos_lat = math.sin(lat), math.cos(lat)
    sin_lon, cos_lon = math.sin(lon), math.cos(lon)
    a_m = WGS84_A_KM * 1000.0
    n = a_m / math.sqrt(1.0 - WGS84_E2 * sin_lat * sin_lat)
    xyz = (
        (n + alt_m) * cos_lat * cos_lon,
        (n + alt_m) * cos_lat * sin_lon,
        (n * (1.0 - WGS84_E2) + alt_m) * sin_lat,
    )
    up = (cos_lat * cos_lon, cos_lat * sin_lon, sin_lat)
    return xyz, up


JD_1949_12_31 = 2433281.5  # sgp4init's epoch origin (Julian date of 1949-12-31 00:00 UT)


def walker_tles(walker, epoch_jd: float):
    """TLE lines of a Walker constellation, one per satellite, as satgenpy builds them.

    satgenpy turns a Walker shell into TLEs (``generate_tles_from_scratch``):
    circular orbits, mean motion from the altitude, the shell's inclination,
    each satellite's RAAN, argument of perigee 0 and mean anomaly equal to its
    argument of latitude, no drag, epoch the constellation's. Here each record
    comes from ``Satrec.sgp4init`` (WGS72) and is written out with
    ``sgp4.exporter.export_tle``. Mean motion: ``sqrt(mu / a^3)`` with
    ``a = WGS84 equatorial radius + altitude`` (SkyMesh's closed-form rate).

    Returns ``(names, line1s, line2s)``.
    """
    names, line1s, line2s = [], [], []
    for i in range(len(walker)):
        a_km = WGS84_A_KM + float(walker.altitude_km[i])
        n_rad_min = math.sqrt(MU_EARTH_KM3_S2 / a_km**3) * 60.0
        sat = Satrec()
        sat.sgp4init(
            WGS72,
            "i",
            i + 1,
            epoch_jd - JD_1949_12_31,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
            math.radians(float(walker.inclination_deg[i])),
            math.radians(float(walker.arg_latitude_deg[i])),
            n_rad_min,
            math.radians(float(walker.raan_deg[i])),
        )
        l1, l2 = exporter.export_tle(sat)
        names.append(str(walker.sat_names[i]))
        line1s.append(l1)
        line2s.append(l2)
    return names, line1s, line2s


def _pair_in_view(x_km, y_km, z_km, ground_m, up, min_elevation_deg):
    """Distance (m) from a ground station to a satellite when in view, else None (scalars)."""
    dx = x_km * 1000.0 - ground_m[0]
    dy = y_km * 1000.0 - ground_m[1]
    dz = z_km * 1000.0 - ground_m[2]
    distance_m = math.sqrt(dx * dx + dy * dy + dz * dz)
    if not distance_m > 0.0:  # NaN position (failed propagation)
        return None
    sin_el = (dx * up[0] + dy * up[1] + dz * up[2]) / distance_m
    elevation_deg = math.degrees(math.asin(max(-1.0, min(1.0, sin_el))))
    return distance_m if elevation_deg >= min_elevation_deg else None


def satellites_in_view(
    satrecs,
    jd: float,
    fr: float,
    gs_lat_deg,
    gs_lon_deg,
    gs_alt_km,
    min_elevation_deg: float = 25.0,
):
    """For each ground station, the list of ``(distance_m, sid)`` of satellites in view.

    One Python iteration per (ground station, satellite) pair, scalars only,
    and one SGP4 propagation per pair (satgenpy's per-pair pyephem ``compute``).
    ``satrecs``: ``sgp4.api.Satrec`` per satellite; ``jd + fr``: the instant (UTC
    Julian date pair, UT1 taken as UTC as SkyMesh does).
    """
    theta = gstime(jd + fr)
    c, s = math.cos(theta), math.sin(theta)
    in_range = []
    for gid in range(len(gs_lat_deg)):
        (gx, gy, gz), (ux, uy, uz) = ground_station_cartesian_m(
            float(gs_lat_deg[gid]), float(gs_lon_deg[gid]), float(gs_alt_km[gid]) * 1000.0
        )
        candidates = []
        for sid, sat in enumerate(satrecs):
            error, (tx, ty, tz), _ = sat.sgp4(jd, fr)
            if error != 0:  # failed propagation: never in view
                continue
            x = c * tx + s * ty  # TEME -> Earth-fixed (km)
            y = -s * tx + c * ty
            distance_m = _pair_in_view(x, y, tz, (gx, gy, gz), (ux, uy, uz), min_elevation_deg)
            if distance_m is not None:
                candidates.append((distance_m, sid))
        in_range.append(candidates)
    return in_range


def satellites_in_view_at(
    sat_ecef_km, gs_lat_deg, gs_lon_deg, gs_alt_km, min_elevation_deg: float = 25.0
):
    """:func:`satellites_in_view` on given Earth-fixed positions (N, 3) km, no propagation.

    One Python iteration per (ground station, satellite) pair, scalars only.
    """
    sats = [tuple(p) for p in np.asarray(sat_ecef_km, dtype=float).tolist()]
    in_range = []
    for gid in range(len(gs_lat_deg)):
        (gx, gy, gz), (ux, uy, uz) = ground_station_cartesian_m(
            float(gs_lat_deg[gid]), float(gs_lon_deg[gid]), float(gs_alt_km[gid]) * 1000.0
        )
        candidates = []
        for sid, (x, y, z) in enumerate(sats):
            distance_m = _pair_in_view(x, y, z, (gx, gy, gz), (ux, uy, uz), min_elevation_deg)
            if distance_m is not None:
                candidates.append((distance_m, sid))
        in_range.append(candidates)
    return in_range


def satellite_graph(n_sats: int, sat_ecef_km, isl_pairs) -> nx.Graph:
    """networkx graph of the satellites and their usable ISLs, weights in metres."""
    lengths_km = isl_lengths_km(np.asarray(sat_ecef_km), np.asarray(isl_pairs))
    graph = nx.Graph()
    for sid in range(n_sats):
        graph.add_node(sid)
    for (a, b), length_km in zip(np.asarray(isl_pairs).tolist(), lengths_km.tolist()):
        if math.isfinite(length_km):
            graph.add_edge(a, b, weight=length_km * 1000.0)
    return graph


def fstate_without_gs_relaying(n_sats: int, n_gs: int, graph: nx.Graph, dist_sat_m, in_range):
    """satgenpy's shortest-path forwarding state without ground-station relays.

    Returns
    -------
    fstate : dict
        ``(node, dst_gid) -> next hop node`` (-1: dropped) for every satellite
        and destination, and every source ground station ``node = N + src``
        and destination ``dst != src``.
    dist_sat_to_gs_m : ndarray (N, G)
        Shortest distance (m) from each satellite down to each ground station.
    dist_gs_m : ndarray (G, G)
        Shortest distance (m) between ground stations (inf: unreachable, 0 on
        the diagonal).
    """
    fstate = {}
    dist_sat_to_gs = {}
    for curr in range(n_sats):
        for dst_gid in range(n_gs):
            dst_gs_node_id = n_sats + dst_gid
            possibilities = []
            for b in in_range[dst_gid]:
                d = dist_sat_m[(curr, b[1])]
                if not math.isinf(d):
                    possibilities.append((d + b[0], b[1]))
            possibilities = sorted(possibilities)
            next_hop = -1
            distance_to_gs_m = math.inf
            if possibilities:
                dst_sat = possibilities[0][1]
                distance_to_gs_m = possibilities[0][0]
                if curr != dst_sat:
                    best_distance_m = 1e15
                    for neighbor_id in graph.neighbors(curr):
                        distance_m = (
                            graph.edges[(curr, neighbor_id)]["weight"]
                            + dist_sat_m[(neighbor_id, dst_sat)]
                        )
                        if distance_m < best_distance_m:
                            next_hop = neighbor_id
                            best_distance_m = distance_m
                else:
                    next_hop = dst_gs_node_id
            dist_sat_to_gs[(curr, dst_gs_node_id)] = distance_to_gs_m
            fstate[(curr, dst_gid)] = next_hop

    dist_gs = np.full((n_gs, n_gs), math.inf)
    for src_gid in range(n_gs):
        dist_gs[src_gid, src_gid] = 0.0
        for dst_gid in range(n_gs):
            if src_gid == dst_gid:
                continue
            dst_gs_node_id = n_sats + dst_gid
            possibilities = []
            for a in in_range[src_gid]:
                best_offered_m = dist_sat_to_gs[(a[1], dst_gs_node_id)]
                if not math.isinf(best_offered_m):
                    possibilities.append((a[0] + best_offered_m, a[1]))
            possibilities = sorted(possibilities)
            next_hop = -1
            if possibilities:
                next_hop = possibilities[0][1]
                dist_gs[src_gid, dst_gid] = possibilities[0][0]
            fstate[(n_sats + src_gid, dst_gid)] = next_hop

    dist_sat_to_gs_m = np.array(
        [[dist_sat_to_gs[(s, n_sats + g)] for g in range(n_gs)] for s in range(n_sats)]
    ).reshape(n_sats, n_gs)
    return fstate, dist_sat_to_gs_m, dist_gs


def routing_step(
    sat_ecef_km,
    isl_pairs,
    gs_lat_deg,
    gs_lon_deg,
    gs_alt_km,
    min_elevation_deg: float = 25.0,
    memory=None,
    *,
    satrecs=None,
    jd: float | None = None,
    fr: float = 0.0,
):
    """One satgenpy-style time step. Returns ``(result dict, phase timings dict in s)``.

    With ``satrecs`` (one ``Satrec`` per satellite) and the instant ``jd + fr``,
    the visibility phase re-propagates per pair as satgenpy does
    (:func:`satellites_in_view`); ``sat_ecef_km`` (N, 3), the same satellites'
    Earth-fixed positions at that instant, then only gives the ISL lengths.
    Without them, the per-pair loop reads ``sat_ecef_km`` instead
    (:func:`satellites_in_view_at`, no propagation in the loop).

    ``memory``: an optional :class:`benchlib.PhaseMemory` whose phases are
    closed after each step of the algorithm.
    """
    n_sats = len(sat_ecef_km)
    n_gs = len(gs_lat_deg)
    times = {}

    mark = benchlib.phase_marker(times, memory)

    t0 = time.perf_counter()
    if satrecs is not None:
        in_range = satellites_in_view(
            satrecs, jd, fr, gs_lat_deg, gs_lon_deg, gs_alt_km, min_elevation_deg
        )
    else:
        in_range = satellites_in_view_at(
            sat_ecef_km, gs_lat_deg, gs_lon_deg, gs_alt_km, min_elevation_deg
        )
    t0 = mark("visibility", t0)
    graph = satellite_graph(n_sats, sat_ecef_km, isl_pairs)
    t0 = mark("graph", t0)
    dist_sat_m = nx.floyd_warshall_numpy(graph, nodelist=range(n_sats))
    t0 = mark("floyd_warshall", t0)
    fstate, dist_sat_to_gs_m, dist_gs_m = fstate_without_gs_relaying(
        n_sats, n_gs, graph, dist_sat_m, in_range
    )
    mark("fstate", t0)

    with np.errstate(invalid="ignore"):
        rtt_ms = 2e3 * (dist_gs_m / 1000.0) / SPEED_OF_LIGHT_KM_S
    rtt_ms[~np.isfinite(rtt_ms)] = np.nan
    result = {
        "in_range": in_range,
        "graph": graph,
        "dist_sat_m": dist_sat_m,
        "fstate": fstate,
        "dist_sat_to_gs_m": dist_sat_to_gs_m,
        "dist_gs_m": dist_gs_m,
        "rtt_ms": rtt_ms,
    }
    return result, times


def next_hop_table(fstate: dict, n_sats: int, n_gs: int) -> np.ndarray:
    """The fstate dict as an ``(N + G, G)`` array, -1 where there is no entry or no route."""
    table = np.full((n_sats + n_gs, n_gs), -1, dtype=np.int64)
    for (node, dst), hop in fstate.items():
        table[node, dst] = hop
    return table
