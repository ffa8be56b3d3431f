"""Visibility over a block of steps, reusing one candidate set per ground point.

Within a short block of steps a satellite's sub-point moves only a few
degrees, so the satellites that can rise above a ground point's mask during
the block are known in advance: those within the visibility cone at the
block's middle step, widened by how far each satellite drifts during the
block. One (ground x satellite) angle test per block replaces one per step,
then exact elevations are computed for the candidate pairs only. The result
is the same set as :func:`skymesh.links.visibility.visible_pairs` (a test
checks it); the bound is rigorous, not a heuristic:

* a satellite at radius ``r`` seen at elevation >= e from a point at radius
  ``R`` lies within Earth-central angle ``acos(R cos e / r) - e`` of it
  (spherical geometry; the geodetic local vertical differs from the radial
  one by < 0.2 deg, covered by a 0.5 deg margin);
* its angle from the block's middle position is at most its measured drift.

The (ground, satellite) candidates of that angle test come from k-d trees
(:class:`scipy.spatial.cKDTree`) over the unit vectors of the ground points
and of the satellites' reference positions, so their cost follows the pairs
within reach, not ground points x satellites.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy.spatial import cKDTree

from skymesh.links.visibility import (
    DEFAULT_MIN_ELEVATION_DEG,
    RANGE_FLOOR_MARGIN_DEG,
    local_frames,
    order_pairs,
    range_floor_elevation_deg,
)
from skymesh.orbits.frames import geodetic_to_ecef

MARGIN_DEG = 0.5


def visible_pairs_windowed(
    sat_ecef_km: np.ndarray,
    lat_deg,
    lon_deg,
    alt_km=0.0,
    min_elevation_deg=DEFAULT_MIN_ELEVATION_DEG,
    max_range_km=None,
):
    """Every (ground point, satellite, step) in view; same contract as ``visible_pairs``.

    Parameters
    ----------
    sat_ecef_km : ndarray, shape (N, K, 3)
        Earth-fixed positions over a short block (minutes); NaN = satellite absent.
    lat_deg, lon_deg, alt_km : array_like, shape (G,)
    min_elevation_deg : float or array_like (G,)
    max_range_km : float, optional
        Longest slant range (km) of a link, Hypatia's rule (see
        :mod:`skymesh.links.visibility`).

    Returns
    -------
    ground, sat, step : int arrays (V,); range_km, elevation_deg : float arrays (V,)
        Ordered by step, then ground point, then satellite.
    """
    sat = np.asarray(sat_ecef_km, dtype=float)
    if sat.ndim == 2:
        sat = sat[:, None, :]
    n_sat, n_steps, _ = sat.shape
    ground = np.atleast_2d(geodetic_to_ecef(lat_deg, lon_deg, alt_km))
    _, _, up = local_frames(lat_deg, lon_deg)
    n_ground = len(ground)
    e_min = np.broadcast_to(np.asarray(min_elevation_deg, dtype=float), (n_ground,))
    present = np.isfinite(sat).all(axis=2)  # (N, K)
    filled = np.where(present[..., None], sat, 0.0)
    r = np.linalg.norm(filled, axis=2)  # (N, K)
    mid = n_steps // 2
    # Middle reference position: the middle step, or any step the satellite is present.
    ref_step = np.where(present[:, mid], mid, np.argmax(present, axis=1))
    ref = filled[np.arange(n_sat), ref_step]
    ref_unit = ref / np.maximum(np.linalg.norm(ref, axis=1, keepdims=True), 1e-9)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos_drift = np.einsum("nkc,nc->nk", filled, ref_unit) / np.where(r > 0, r, np.inf)
    cos_drift = np.where(present, cos_drift, 1.0)
    drift = np.arccos(np.clip(cos_drift.min(axis=1), -1.0, 1.0))  # (N,)
    r_max = np.where(present, r, 0.0).max(axis=1)  # (N,)
    g_radius = np.linalg.norm(ground, axis=1)
    e_pre = e_min
    if max_range_km is not None and present.any():
        # every pair in view also reaches the elevation the range cap implies
        e_pre = np.maximum(
            e_min,
            range_floor_elevation_deg(g_radius, r[present].min(), max_range_km)
            - RANGE_FLOOR_MARGIN_DEG,
        )
    e = np.deg2rad(np.maximum(e_pre.min() - MARGIN_DEG, -89.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        lam = np.arccos(np.clip(g_radius.min() * np.cos(e) / r_max, -1.0, 1.0)) - e  # (N,)
    reach = np.minimum(lam + drift + np.deg2rad(MARGIN_DEG), np.pi)
    g_unit = ground / g_radius[:, None]
    cand_g, cand_s = _candidates(g_unit, ref_unit, reach, present.any(axis=1))
    # Exact elevations of the candidates at every step: (C, K).
    # The same arithmetic as visible_pairs, so ranges (and so tie-breaks between
    # equal-cost routes downstream) agree to the last bit.
    sin_min = np.sin(np.deg2rad(e_min))
    c_idx, k_idx, rng_in, u_in = _exact_test(
        sat, ground, up, sin_min, cand_g, cand_s, np.inf if max_range_km is None else max_range_km
    )
    order = order_pairs(
        k_idx * n_ground + cand_g[c_idx], cand_s[c_idx], n_steps * n_ground, n_sat
    )  # by step, ground point, satellite
    c_idx, k_idx = c_idx[order], k_idx[order]
    r_out = rng_in[order]
    el = np.rad2deg(np.arcsin(np.clip(u_in[order] / r_out, -1.0, 1.0)))
    return (
        cand_g[c_idx].astype(np.int64),
        cand_s[c_idx].astype(np.int64),
        k_idx.astype(np.int64),
        r_out,
        el,
    )


def _exact_test(sat, ground, up, sin_min, cand_g, cand_s, max_range_km):
    """The candidates in view: ``(c, k, range_km, u)`` for every candidate ``c`` and step
    ``k`` with the satellite present, at elevation >= the mask (``u >= sin_min * range``,
    ``u`` the range vector's component along the local vertical) and within range,
    ordered as ``np.nonzero`` over (C, K) orders them.

    Sums of three products in one fixed order, (x + z) + y (numpy's einsum's, which
    :func:`skymesh.links.visibility.visible_pairs` uses), so ranges agree to the last
    bit; compiled (numba) without the (C, K, 3) temporaries, numpy otherwise.
    """
    kernel = _exact_kernel()
    cand_g = np.ascontiguousarray(cand_g, dtype=np.int64)
    cand_s = np.ascontiguousarray(cand_s, dtype=np.int64)
    if kernel is not None:
        return kernel(
            np.ascontiguousarray(sat, dtype=np.float64),
            np.ascontiguousarray(ground, dtype=np.float64),
            np.ascontiguousarray(up, dtype=np.float64),
            np.ascontiguousarray(sin_min, dtype=np.float64),
            cand_g,
            cand_s,
            float(max_range_km),
        )
    d = sat[cand_s] - ground[cand_g][:, None, :]
    g_up = up[cand_g][:, None, :]
    with np.errstate(invalid="ignore"):
        rng = np.sqrt((d[..., 0] * d[..., 0] + d[..., 2] * d[..., 2]) + d[..., 1] * d[..., 1])
        u = (d[..., 0] * g_up[..., 0] + d[..., 2] * g_up[..., 2]) + d[..., 1] * g_up[..., 1]
        ok = np.isfinite(rng) & (u >= sin_min[cand_g][:, None] * rng) & (rng <= max_range_km)
    c_idx, k_idx = np.nonzero(ok)
    return c_idx, k_idx, rng[c_idx, k_idx], u[c_idx, k_idx]


@functools.cache
def _exact_kernel():
    try:
        import numba
    except ImportError:  # pragma: no cover
        return None

    @numba.njit(cache=True, nogil=True)
    def exact(sat, ground, up, sin_min, cand_g, cand_s, max_range_km):  # pragma: no cover
        n_c = cand_g.shape[0]
        n_k = sat.shape[1]
        cap = n_c * n_k
        c_out = np.empty(cap, dtype=np.int64)
        k_out = np.empty(cap, dtype=np.int64)
        r_out = np.empty(cap)
        u_out = np.empty(cap)
        m = 0
        for c in range(n_c):
            g = cand_g[c]
            s = cand_s[c]
            gx = ground[g, 0]
            gy = ground[g, 1]
            gz = ground[g, 2]
            ux = up[g, 0]
            uy = up[g, 1]
            uz = up[g, 2]
            smin = sin_min[g]
            for k in range(n_k):
                dx = sat[s, k, 0] - gx
                dy = sat[s, k, 1] - gy
                dz = sat[s, k, 2] - gz
                rng = np.sqrt((dx * dx + dz * dz) + dy * dy)
                u = (dx * ux + dz * uz) + dy * uy
                if np.isfinite(rng) and u >= smin * rng and rng <= max_range_km:
                    c_out[m] = c
                    k_out[m] = k
                    r_out[m] = rng
                    u_out[m] = u
                    m += 1
        return c_out[:m].copy(), k_out[:m].copy(), r_out[:m].copy(), u_out[:m].copy()

    return exact


def _candidates(
    g_unit: np.ndarray, ref_unit: np.ndarray, reach_rad: np.ndarray, usable: np.ndarray
):
    """(ground, satellite) pairs with the satellite's reference direction within its
    ``reach_rad`` (N,) of the ground point's (unit vectors (G, 3) and (N, 3)).

    A k-d tree over each set of unit vectors finds the pairs within the chord of the
    largest reach (``2 sin(reach / 2)``, plus slack for rounding); each pair's own
    reach then decides, by the cosine test the dense form used.
    """
    sats = np.flatnonzero(usable)
    if sats.size == 0 or len(g_unit) == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    chord = 2.0 * np.sin(reach_rad[sats].max() / 2.0) * (1.0 + 1e-9) + 1e-9
    g_tree = cKDTree(g_unit, balanced_tree=False, compact_nodes=False)
    s_tree = cKDTree(ref_unit[sats], balanced_tree=False, compact_nodes=False)
    m = g_tree.sparse_distance_matrix(s_tree, chord, output_type="ndarray")
    g, s = m["i"].astype(np.int64), sats[m["j"]]
    cos_theta = np.einsum("ik,ik->i", g_unit[g], ref_unit[s])
    keep = cos_theta >= np.cos(reach_rad[s])
    return g[keep], s[keep]
