"""Inter-satellite links: the +Grid topology and its line-of-sight test.

+Grid (the layout Hypatia and most LEO studies use): every satellite links
to the two satellites next to it in its own plane and to one satellite in
each adjacent plane of the same shell. The adjacent-plane partner is the
satellite of plane ``p + 1`` whose argument of latitude at the element
epoch is closest to this one's; for a Walker shell that is the satellite
with the same slot index (the phasing offset is less than half a slot),
and across the seam of a Walker delta (last plane to plane 0) it is the
geometrically nearest one. A Walker star (planes over 180 deg) has no
links across its seam, where planes counter-rotate.

For TLE sets the shells, planes and slots come from
:func:`skymesh.orbits.planes.infer_planes`; the same rule then applies.
Limits: partially filled planes give uneven rings; where the nearest-
argument mapping is not one-to-one a satellite may carry a fifth or sixth
link; satellites outside every inferred shell have no ISL. There are no
links between shells.

A link is usable at a time only while the straight line between the two
satellites stays ``min_clearance_km`` (default 80 km) above a sphere of the
WGS84 equatorial radius (a conservative Earth: the ellipsoid is lower
everywhere else), and, when ``max_range_km`` is set, while the two are no
further apart than that.
"""

from __future__ import annotations

import numpy as np

from skymesh.constants import WGS84_A_KM
from skymesh.orbits.constellation import Constellation

DEFAULT_MIN_CLEARANCE_KM = 80.0
DEFAULT_MAX_RANGE_KM = 5400.0
"""Longest optical ISL assumed (REFERENCE-FIGURES section 3, ~5,400 km, status N)."""


def plus_grid_pairs(constellation: Constellation) -> np.ndarray:
    """Undirected +Grid links as an (L, 2) int array of satellite indices, ``a < b``, sorted."""
    c = constellation
    pairs = []
    for shell_id in np.unique(c.shell[c.shell >= 0]):
        in_shell = np.flatnonzero(c.shell == shell_id)
        planes = np.unique(c.plane[in_shell])
        planes = planes[planes >= 0]
        members = {}
        for p in planes:
            idx = in_shell[c.plane[in_shell] == p]
            order = np.argsort(c.arg_latitude_deg[idx], kind="stable")
            members[p] = idx[order]
            ring = members[p]
            if len(ring) >= 2:
                nxt = np.roll(ring, -1)
                if len(ring) == 2:
                    ring, nxt = ring[:1], nxt[:1]
                pairs.append(np.stack([ring, nxt], axis=1))
        wraps = _shell_wraps(c, shell_id)
        for k, p in enumerate(planes):
            if k + 1 < len(planes):
                q = planes[k + 1]
            elif wraps and len(planes) > 2:
                q = planes[0]
            else:
                continue
            a = members[p]
            b = members[q]
            partner = _nearest_on_circle(c.arg_latitude_deg[b], c.arg_latitude_deg[a])
            pairs.append(np.stack([a, b[partner]], axis=1))
    if not pairs:
        return np.empty((0, 2), dtype=np.int64)
    links = np.sort(np.concatenate(pairs).astype(np.int64), axis=1)
    links = links[links[:, 0] != links[:, 1]]
    return np.unique(links, axis=0)


def _shell_wraps(c: Constellation, shell_id: int) -> bool:
    """True when the planes of a shell go all the way round (Walker delta)."""
    if c.shells and shell_id < len(c.shells):
        return c.shells[shell_id].raan_spread_deg >= 360.0 - 1e-9
    # Inferred shells: wrap when the largest RAAN gap is not much bigger than the typical one.
    raan = np.sort(np.unique(np.round(c.raan_deg[(c.shell == shell_id)], 1)))
    if len(raan) < 3:
        return False
    gaps = np.diff(np.concatenate([raan, raan[:1] + 360.0]))
    return gaps.max() < 3.0 * np.median(gaps)


def _nearest_on_circle(sorted_targets_deg: np.ndarray, queries_deg: np.ndarray) -> np.ndarray:
    """Index into ``sorted_targets_deg`` (ascending, deg) of the nearest angle to each query."""
    n = len(sorted_targets_deg)
    pos = np.searchsorted(sorted_targets_deg, queries_deg)
    lo = (pos - 1) % n
    hi = pos % n
    d_lo = np.abs((queries_deg - sorted_targets_deg[lo] + 180.0) % 360.0 - 180.0)
    d_hi = np.abs((sorted_targets_deg[hi] - queries_deg + 180.0) % 360.0 - 180.0)
    return np.where(d_hi < d_lo, hi, lo)


def isl_lengths_km(sat_ecef_km: np.ndarray, pairs: np.ndarray, *,
                   min_clearance_km: float = DEFAULT_MIN_CLEARANCE_KM,
                   max_range_km: float | None = DEFAULT_MAX_RANGE_KM) -> np.ndarray:
    """Length (km) of each link at each time, NaN where it is not usable.

    Parameters
    ----------
    sat_ecef_km : ndarray, shape (N, T, 3) (or (N, 3) for one instant)
    pairs : ndarray, shape (L, 2)

    Returns
    -------
    ndarray, shape (L, T) (or (L,))
    """
    r1 = sat_ecef_km[pairs[:, 0]]
    r2 = sat_ecef_km[pairs[:, 1]]
    d = r2 - r1
    dd = np.einsum("...k,...k->...", d, d)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.clip(-np.einsum("...k,...k->...", r1, d) / dd, 0.0, 1.0)
    closest = r1 + t[..., None] * d
    clearance = np.linalg.norm(closest, axis=-1) - WGS84_A_KM
    length = np.sqrt(dd)
    ok = clearance >= min_clearance_km
    if max_range_km is not None:
        ok &= length <= max_range_km
    return np.where(ok, length, np.nan)
