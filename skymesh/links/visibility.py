"""Ground-satellite visibility: elevation, azimuth and slant range, vectorised.

A satellite is in view of a ground point when its elevation above the
point's local horizon (the plane normal to the WGS84 ellipsoid) is at least
``min_elevation_deg``. Default 25 deg: the FCC 21-48 minimum elevation for
Starlink user terminals and gateways (FCC 21-48, 36 FCC Rcd 7995, 27 Apr 2021; P).

Hypatia's rule instead (Kassing et al., IMC 2020: a ground station may link
to any satellite within a maximum slant range, the "cone" of its paper
shells): give ``max_range_km``, and a pair is in view only while its slant
range is at most that. Both tests apply when both are given; to use the
range rule alone pass ``min_elevation_deg=0`` (the satellite above the
geometric horizon, which any range shorter than the horizon distance, ~2,700
km at 550 km altitude, implies anyway, so the set is Hypatia's). Hypatia's
telesat-1015 range (5,845 km) reaches past its horizon (3,739 km at 1,015
km), and Hypatia then links through the Earth; these functions reproduce
that with ``min_elevation_deg=-90`` (no elevation test), which the CLI and
scenarios do not offer (their mask is at least 0 deg).

:func:`visible_pairs` finds its candidates with k-d trees (scipy's cKDTree)
over the satellite positions of a chunk of steps and over the ground points,
within the longest slant range a pair in view can have; the elevation and
range tests on them are exact. Its cost follows the pairs within that range,
not ground points x satellites. Large pair sets are ordered by a counting sort
compiled with numba (imported on first use; cached on disk).
"""

from __future__ import annotations

import functools

import numpy as np
from scipy.spatial import cKDTree

from skymesh.orbits.frames import geodetic_to_ecef

DEFAULT_MIN_ELEVATION_DEG = 25.0


def local_frames(lat_deg, lon_deg):
    """Unit east, north and up vectors (each (G, 3)) of geodetic points."""
    lat = np.deg2rad(np.atleast_1d(np.asarray(lat_deg, dtype=float)))
    lon = np.deg2rad(np.atleast_1d(np.asarray(lon_deg, dtype=float)))
    sl, cl, so, co = np.sin(lat), np.cos(lat), np.sin(lon), np.cos(lon)
    east = np.stack([-so, co, np.zeros_like(so)], axis=-1)
    north = np.stack([-sl * co, -sl * so, cl], axis=-1)
    up = np.stack([cl * co, cl * so, sl], axis=-1)
    return east, north, up


def look_angles(sat_ecef_km: np.ndarray, lat_deg, lon_deg, alt_km=0.0):
    """Elevation (deg), azimuth (deg, from north through east) and slant range (km).

    Parameters
    ----------
    sat_ecef_km : ndarray, shape (N, 3) or (N, T, 3)
        Earth-fixed satellite positions.
    lat_deg, lon_deg, alt_km : array_like, shape (G,)
        Geodetic ground points.

    Returns
    -------
    elevation_deg, azimuth_deg, range_km : ndarray, shape (G, N) or (G, N, T)
    """
    ground = np.atleast_2d(geodetic_to_ecef(lat_deg, lon_deg, alt_km))
    east, north, up = local_frames(lat_deg, lon_deg)
    sat = np.asarray(sat_ecef_km, dtype=float)
    extra = (None,) * (sat.ndim - 1)
    d = sat[None, ...] - ground[(slice(None),) + extra + (slice(None),)]
    rng = np.linalg.norm(d, axis=-1)
    e = np.einsum("g...k,gk->g...", d, east)
    n = np.einsum("g...k,gk->g...", d, north)
    u = np.einsum("g...k,gk->g...", d, up)
    with np.errstate(invalid="ignore", divide="ignore"):
        elevation = np.rad2deg(np.arcsin(np.clip(u / rng, -1.0, 1.0)))
    azimuth = np.mod(np.rad2deg(np.arctan2(e, n)), 360.0)
    return elevation, azimuth, rng


def pair_range_elevation(sat_ecef_km, lat_deg, lon_deg):
    """Slant range (km) and elevation (deg) of satellite ``i`` seen from ground point ``i``.

    The element-wise form of :func:`look_angles` (pairs, not every ground point against
    every satellite): ``sat_ecef_km`` (P, 3), ``lat_deg`` / ``lon_deg`` (P,) on the
    ellipsoid; returns ``(range_km, elevation_deg)``, each (P,).
    """
    g = geodetic_to_ecef(lat_deg, lon_deg).reshape(-1, 3)
    _, _, up = local_frames(lat_deg, lon_deg)
    d = np.asarray(sat_ecef_km, dtype=float) - g
    rng = np.linalg.norm(d, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        el = np.rad2deg(np.arcsin(np.clip(np.einsum("ik,ik->i", d, up) / rng, -1.0, 1.0)))
    return rng, el


def range_floor_elevation_deg(ground_radius_km, min_sat_radius_km, max_range_km):
    """Lowest elevation (deg) at which a satellite at least ``min_sat_radius_km`` from the
    Earth's centre can be within ``max_range_km`` of a point ``ground_radius_km`` from it.

    Spherical geometry: ``sin e = (r^2 - R^2 - d^2) / (2 R d)`` falls with the range
    ``d`` and rises with the satellite radius ``r``. This is the geocentric elevation;
    the geodetic one differs by less than 0.2 deg, so callers subtract a margin.
    """
    big_r = np.asarray(ground_radius_km, dtype=float)
    r = float(min_sat_radius_km)
    d = float(max_range_km)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = (r * r - big_r * big_r - d * d) / (2.0 * big_r * d)
    return np.rad2deg(np.arcsin(np.clip(s, -1.0, 1.0)))


RANGE_FLOOR_MARGIN_DEG = 0.5
"""Margin (deg) under :func:`range_floor_elevation_deg` in the prefilters: covers the
geodetic-geocentric vertical difference (< 0.2 deg)."""


def max_slant_range_km(sat_radius_km, ground_radius_min_km, ground_radius_max_km, elevation_deg):
    """Longest slant range (km) at which a satellite at most ``sat_radius_km`` from the
    Earth's centre is at geocentric elevation >= ``elevation_deg`` above a point between
    ``ground_radius_min_km`` and ``ground_radius_max_km`` from it.

    Spherical geometry (law of cosines in the centre-ground-satellite triangle):
    ``r^2 = R^2 + d^2 + 2 R d sin e``, so ``d = sqrt(r^2 - R^2 cos^2 e) - R sin e``,
    which falls with ``e`` and rises with ``r``. Bounded term by term over ``R``
    (``sqrt`` largest at the smallest ``R``, ``-R sin e`` at either end) and never above
    ``r + R_max`` (the triangle inequality), so it holds for negative elevations too.
    """
    e = np.deg2rad(float(elevation_deg))
    r = float(sat_radius_km)
    r_lo, r_hi = float(ground_radius_min_km), float(ground_radius_max_km)
    near = np.sqrt(max(r * r - (r_lo * np.cos(e)) ** 2, 0.0))
    return float(min(near + max(-r_lo * np.sin(e), -r_hi * np.sin(e)), r + r_hi))


_TREE_POINTS = 131_072
"""Satellite positions (satellites x steps) per k-d tree: a chunk of steps at a time."""

MASK_GROUP_DEG = 5.0
"""Ground points whose masks share a band this wide share a k-d tree and query radius."""

_PAIR_BLOCK = 1_000_000
"""Candidate pairs per exact-test block (bounds the temporaries)."""


def visible_pairs(
    sat_ecef_km: np.ndarray,
    lat_deg,
    lon_deg,
    alt_km=0.0,
    min_elevation_deg=DEFAULT_MIN_ELEVATION_DEG,
    max_range_km=None,
):
    """Every (ground point, satellite, time) with the satellite in view.

    Parameters
    ----------
    sat_ecef_km : ndarray, shape (N, T, 3)
        Earth-fixed positions; NaN rows (failed propagation) are never in view.
    lat_deg, lon_deg, alt_km : array_like, shape (G,)
    min_elevation_deg : float or array_like (G,)
        Per ground point elevation mask.
    max_range_km : float, optional
        Longest slant range (km) of a link (Hypatia's rule; see the module docstring).

    Returns
    -------
    ground, sat, time : ndarray of int, shape (V,)
        Sorted by time, then satellite, then ground point.
    range_km, elevation_deg : ndarray, shape (V,)

    Candidates come from a k-d tree (:class:`scipy.spatial.cKDTree`) over the
    satellite positions of a chunk of steps, queried against one over the ground
    points with the longest slant range any pair in view can have
    (:func:`max_slant_range_km` at the lowest mask less a margin for the geodetic
    vertical, or ``max_range_km`` when shorter): a superset of the pairs in view,
    found in time proportional to the pairs within that range rather than to
    ground points x satellites. The elevation and range tests on the candidates
    are exact, the same arithmetic as the dense test.
    """
    sat = np.asarray(sat_ecef_km, dtype=float)
    if sat.ndim == 2:
        sat = sat[:, None, :]
    n_sat, n_time, _ = sat.shape
    ground = np.atleast_2d(geodetic_to_ecef(lat_deg, lon_deg, alt_km))
    _, _, up = local_frames(lat_deg, lon_deg)
    n_ground = len(ground)
    mask_deg = np.broadcast_to(np.asarray(min_elevation_deg, dtype=float), (n_ground,))
    sin_min = np.sin(np.deg2rad(mask_deg))
    # Time-major so that results come out sorted by time.
    flat = np.ascontiguousarray(sat.transpose(1, 0, 2)).reshape(-1, 3)
    ok = np.isfinite(flat).all(axis=1)
    out: list[list[np.ndarray]] = [[], [], [], [], []]
    if n_ground and ok.any():
        r_sat_max = float(np.sqrt(np.einsum("ik,ik->i", flat[ok], flat[ok])).max())
        # Ground points grouped by mask (MASK_GROUP_DEG bands), one tree and radius each.
        band = np.floor(mask_deg / MASK_GROUP_DEG)
        groups = [np.flatnonzero(band == b) for b in np.unique(band)]
        trees = [
            (
                grp,
                cKDTree(ground[grp], balanced_tree=False, compact_nodes=False),
                _prefilter_radius_km(r_sat_max, ground[grp], mask_deg[grp], max_range_km),
            )
            for grp in groups
        ]
        steps = max(1, _TREE_POINTS // max(1, n_sat))
        for k0 in range(0, n_time, steps):
            lo, hi = k0 * n_sat, min(k0 + steps, n_time) * n_sat
            rows, g = _pairs_in_range(trees, n_ground, flat[lo:hi], ok[lo:hi])
            rows += lo
            for p0 in range(0, len(rows), _PAIR_BLOCK):
                row, gg = rows[p0 : p0 + _PAIR_BLOCK], g[p0 : p0 + _PAIR_BLOCK]
                d = flat[row] - ground[gg]
                rng = np.sqrt(np.einsum("ik,ik->i", d, d))
                d_up = np.einsum("ik,ik->i", d, up[gg])
                # elevation >= min  <=>  (d . up) >= sin(min) * |d|
                keep = d_up >= sin_min[gg] * rng
                if max_range_km is not None:
                    keep &= rng <= max_range_km
                row, gg, rng, d_up = row[keep], gg[keep], rng[keep], d_up[keep]
                t_idx, s = np.divmod(row, n_sat)
                out[0].append(gg)
                out[1].append(s)
                out[2].append(t_idx)
                out[3].append(rng)
                out[4].append(np.rad2deg(np.arcsin(np.clip(d_up / rng, -1.0, 1.0))))
    if not out[0]:
        out = [[np.empty(0, dtype=np.int64)]] * 3 + [[np.empty(0)]] * 2
    g, s, t, r, el = (np.concatenate(x) for x in out)
    return (
        g.astype(np.int64, copy=False),
        s.astype(np.int64, copy=False),
        t.astype(np.int64, copy=False),
        r,
        el,
    )


def _prefilter_radius_km(
    r_sat_max_km: float, ground: np.ndarray, mask_deg: np.ndarray, max_range_km
) -> float:
    """Ball radius (km) of the k-d tree queries: no pair in view is farther apart.

    The geodetic elevation is within 0.2 deg of the geocentric one, which
    :func:`max_slant_range_km` uses; ``RANGE_FLOOR_MARGIN_DEG`` covers it. A
    relative 1e-9 and 1 mm of slack cover the tree's own distance rounding.
    """
    g_norm = np.sqrt(np.einsum("gk,gk->g", ground, ground))
    e = max(float(np.min(mask_deg)) - RANGE_FLOOR_MARGIN_DEG, -90.0)
    radius = max_slant_range_km(r_sat_max_km, g_norm.min(), g_norm.max(), e)
    if max_range_km is not None:
        radius = min(radius, float(max_range_km))
    return radius * (1.0 + 1e-9) + 1e-6


def _pairs_in_range(trees, n_ground: int, points: np.ndarray, ok: np.ndarray):
    """(row, ground) pairs within each ground group's radius, sorted by row then ground.

    ``trees``: (ground indices, k-d tree over them, radius km) per group; ``points``
    (M, 3) are satellite positions (rows of a time-major block), ``ok`` (M,) marks the
    finite ones (the only ones indexed).
    """
    idx = np.flatnonzero(ok)
    if idx.size == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    tree = cKDTree(points[idx], balanced_tree=False, compact_nodes=False)
    row_parts: list[np.ndarray] = []
    g_parts: list[np.ndarray] = []
    for grp, ground_tree, radius in trees:
        m = ground_tree.sparse_distance_matrix(tree, radius, output_type="ndarray")
        g_parts.append(grp[m["i"]])
        row_parts.append(idx[m["j"]])
    rows = np.concatenate(row_parts).astype(np.int64)
    g = np.concatenate(g_parts).astype(np.int64)
    order = order_pairs(rows, g, len(points), n_ground)
    return rows[order], g[order]


_COUNTING_SORT_MIN = 65_536
"""From this many pairs on, :func:`order_pairs` uses the compiled counting sort."""


def order_pairs(major, minor, n_major: int, n_minor: int) -> np.ndarray:
    """Permutation sorting pairs by ``major`` then ``minor`` (int arrays, values in
    ``[0, n_major)`` and ``[0, n_minor)``; the pairs are distinct, so the order is unique).

    Few pairs: ``np.argsort`` of the combined key. Many: two stable counting sorts
    (least significant key first), O(pairs + n_major + n_minor), compiled with numba on
    first use (numba is imported only then; the machine code is cached on disk).
    """
    major = np.ascontiguousarray(major, dtype=np.int64)
    minor = np.ascontiguousarray(minor, dtype=np.int64)
    if len(major) < _COUNTING_SORT_MIN:
        return np.argsort(major * int(n_minor) + minor, kind="stable")
    return _counting_sort_kernel()(major, minor, int(n_major), int(n_minor))


@functools.cache
def _counting_sort_kernel():
    import numba

    return numba.njit(cache=True)(_counting_sort)


def _counting_sort(major, minor, n_major, n_minor):  # pragma: no cover - compiled
    n = major.shape[0]
    count = np.zeros(n_minor + 1, dtype=np.int64)
    for p in range(n):
        count[minor[p] + 1] += 1
    for k in range(n_minor):
        count[k + 1] += count[k]
    by_minor = np.empty(n, dtype=np.int64)
    for p in range(n):
        by_minor[count[minor[p]]] = p
        count[minor[p]] += 1
    count = np.zeros(n_major + 1, dtype=np.int64)
    for p in range(n):
        count[major[p] + 1] += 1
    for k in range(n_major):
        count[k + 1] += count[k]
    order = np.empty(n, dtype=np.int64)
    for q in range(n):
        p = by_minor[q]
        order[count[major[p]]] = p
        count[major[p]] += 1
    return order
