"""Ground-satellite visibility: elevation, azimuth and slant range, vectorised.

A satellite is in view of a ground point when its elevation above the
point's local horizon (the plane normal to the WGS84 ellipsoid) is at least
``min_elevation_deg``. Default 25 deg: the FCC 21-48 minimum elevation for
Starlink user terminals and gateways (REFERENCE-FIGURES section 1.2, S5, P).

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
"""

from __future__ import annotations

import numpy as np

from skymesh.constants import WGS84_B_KM
from skymesh.orbits.frames import geodetic_to_ecef

DEFAULT_MIN_ELEVATION_DEG = 25.0

_MAX_BLOCK = 400_000  # elements of a (ground, sat-time) block: small enough to stay in cache


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


def visible_pairs(sat_ecef_km: np.ndarray, lat_deg, lon_deg, alt_km=0.0,
                  min_elevation_deg=DEFAULT_MIN_ELEVATION_DEG, max_range_km=None):
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
    g_up = np.einsum("gk,gk->g", ground, up)
    # Prefilter (exact, no false negatives): elevation >= e >= 0 needs
    # d . up >= sin(e) |d| >= sin(e) (|sat| - |ground|), so a pair whose height
    # above the ground point's horizontal plane is below that bound is out of view.
    # One matmul over all pairs; the exact test then runs on the few pairs left.
    with np.errstate(invalid="ignore"):
        r_sat = np.sqrt(np.einsum("ntk,ntk->nt", sat, sat))
    r_min = np.nanmin(r_sat, initial=np.inf, where=np.isfinite(r_sat)) if r_sat.size else 0.0
    g_norm = np.sqrt(np.einsum("gk,gk->g", ground, ground))
    # The prefilters may use any elevation every pair in view reaches: with a range
    # cap, the elevation that range implies (less a margin) when it is the higher.
    pre_deg = mask_deg
    if max_range_km is not None and np.isfinite(r_min):
        pre_deg = np.maximum(mask_deg, range_floor_elevation_deg(g_norm, r_min, max_range_km)
                             - RANGE_FLOOR_MARGIN_DEG)
    sin_pre = np.sin(np.deg2rad(pre_deg))
    with np.errstate(invalid="ignore"):
        floor = np.where(sin_pre > 0.0, sin_pre * np.maximum(r_min - g_norm, 0.0), -np.inf)
    floor = floor + g_up - 1e-6                 # compare sat . up directly; 1 mm of slack
    # Time-major so that results come out sorted by time.
    flat = np.ascontiguousarray(sat.transpose(1, 0, 2)).reshape(-1, 3)
    cand = _candidates(flat, ground, float(np.min(pre_deg)))
    chunk = max(16, _MAX_BLOCK // max(1, n_ground))
    up_t = np.ascontiguousarray(up.T)
    out = [[], [], [], [], []]
    for c0 in range(0, len(cand), chunk):
        idx_flat = cand[c0:c0 + chunk]
        block = flat[idx_flat]
        row, g = np.nonzero(block @ up_t >= floor)   # row-major: sorted by (row, g)
        d = block[row] - ground[g]
        rng = np.sqrt(np.einsum("ik,ik->i", d, d))
        d_up = np.einsum("ik,ik->i", d, up[g])
        # elevation >= min  <=>  (d . up) >= sin(min) * |d|
        keep = d_up >= sin_min[g] * rng
        if max_range_km is not None:
            keep &= rng <= max_range_km
        row, g, rng, d_up = row[keep], g[keep], rng[keep], d_up[keep]
        t_idx, s = np.divmod(idx_flat[row], n_sat)
        out[0].append(g)
        out[1].append(s)
        out[2].append(t_idx)
        out[3].append(rng)
        out[4].append(np.rad2deg(np.arcsin(np.clip(d_up / rng, -1.0, 1.0))))
    if not out[0]:
        out = [[np.empty(0, dtype=np.int64)]] * 3 + [[np.empty(0)]] * 2
    g, s, t, r, el = (np.concatenate(x) for x in out)
    return (g.astype(np.int64, copy=False), s.astype(np.int64, copy=False),
            t.astype(np.int64, copy=False), r, el)


def _candidates(sat_flat: np.ndarray, ground: np.ndarray, min_elevation_deg: float) -> np.ndarray:
    """Rows of ``sat_flat`` (M, 3) that might be in view of some ground point.

    A cheap cone test: the ground points lie within angle ``rho`` of their
    mean direction, and a satellite at radius ``r`` can only be seen at
    elevation >= e from points within Earth-central angle
    ``acos(R cos e / r) - e`` of its sub-point (R = the polar radius, the
    smallest, which makes the cone widest), plus a 1 deg margin. Rows with NaN
    (failed propagation) are dropped.
    """
    ok = np.isfinite(sat_flat).all(axis=1)
    g_unit = ground / np.linalg.norm(ground, axis=1, keepdims=True)
    centre = g_unit.mean(axis=0)
    norm = np.linalg.norm(centre)
    if norm < 1e-6:
        return np.flatnonzero(ok)
    centre /= norm
    rho = np.arccos(np.clip(g_unit @ centre, -1.0, 1.0)).max()
    if rho > np.deg2rad(60.0):
        return np.flatnonzero(ok)
    r = np.linalg.norm(np.where(ok[:, None], sat_flat, 0.0), axis=1)
    e = np.deg2rad(min_elevation_deg)
    with np.errstate(invalid="ignore", divide="ignore"):
        lam = np.arccos(np.clip(WGS84_B_KM * np.cos(e) / r, -1.0, 1.0)) - e
        theta = np.arccos(np.clip((sat_flat @ centre) / r, -1.0, 1.0))
    return np.flatnonzero(ok & (theta <= rho + lam + np.deg2rad(1.0)))
