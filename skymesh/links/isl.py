"""Inter-satellite links: the +Grid topology and its line-of-sight test.

+Grid (the layout Hypatia and most LEO studies use): every satellite links
to the two satellites next to it in its own plane and to one satellite in
each adjacent plane of the same shell: slot ``j`` of plane ``p`` to slot
``j`` of plane ``p + 1``, in a slot numbering that is consistent from plane
to plane. Which numbering, shell by shell:

* **Walker shells** (presets, scenario shells): Walker's design numbering
  (satellite ``k`` of plane ``p + 1`` leads satellite ``k`` of plane ``p``
  by ``360 F / T`` deg). Across the seam of a Walker delta (last plane to
  plane 0) slot ``j`` links to slot ``(j + F) mod S``, the satellite the
  same ``F / P`` of a slot ahead, so the seam link is like every other. A
  Walker star (planes over 180 deg) has no links across its seam, where
  planes counter-rotate.
* **Regular TLE shells** (every plane full and evenly spaced, one common
  plane-to-plane phase step: sets written from a Walker design, Hypatia's
  generated TLEs): the numbering :func:`skymesh.orbits.planes.grid_slots`
  recovers from the elements, which is Walker's own for any phasing F, and
  Hypatia's for its half-slot alternation (seam: slot ``j`` to slot ``j``).
* **Other TLE shells** (real sets: missing, spare and manoeuvring
  satellites): the adjacent-plane partner is the satellite of plane
  ``p + 1`` whose argument of latitude at the element epoch is nearest this
  one's (an exact tie goes to the one behind); across a wrapping seam the
  same rule. Limits: partially filled planes give uneven rings; where the
  nearest-argument mapping is not one-to-one a satellite may carry a fifth
  or sixth link; in a shell whose planes are half a slot apart every
  partner is a tie and the grid leans one way (a staircase, not Hypatia's
  zigzag), which is why regular shells take the numbering above.

Satellites outside every inferred shell have no ISL. There are no links
between shells. An explicit list (Hypatia's ``isls.txt`` or a CSV) can
replace the +Grid: :mod:`skymesh.links.isl_file`.

A link is usable at a time only while the straight line between the two
satellites stays ``min_clearance_km`` (default 80 km) above a sphere of the
WGS84 equatorial radius (a conservative Earth: the ellipsoid is lower
everywhere else), and, when ``max_range_km`` is set, while the two are no
further apart than that.
"""

from __future__ import annotations

import functools

import numpy as np

from skymesh.constants import WGS84_A_KM
from skymesh.orbits.constellation import Constellation
from skymesh.orbits.planes import grid_slots

DEFAULT_MIN_CLEARANCE_KM = 80.0
DEFAULT_MAX_RANGE_KM = 5400.0
"""Longest optical ISL assumed, km: links reach > 5,400 km (SpaceX's C. Brashears at SPIE
Photonics West, reported by PCMag, "Starlink's Laser System Is Beaming 42 Million GB of Data Per
Day", 31 Jan 2024; status N)."""


def plus_grid_pairs(constellation: Constellation) -> np.ndarray:
    """Undirected +Grid links as an (L, 2) int array of satellite indices, ``a < b``, sorted.

    See the module docstring for the slot numbering used in each kind of shell.
    """
    c = constellation
    pairs = []
    for shell_id in np.unique(c.shell[c.shell >= 0]):
        in_shell = np.flatnonzero(c.shell == shell_id)
        in_shell = in_shell[c.plane[in_shell] >= 0]
        plane_ids, local_plane = np.unique(c.plane[in_shell], return_inverse=True)
        wraps = _shell_wraps(c, shell_id) and len(plane_ids) > 2
        design = _walker_design(c, shell_id, in_shell)
        if design is not None:
            slot, seam_shift = design
        else:
            slot, seam_shift, _ = grid_slots(local_plane, c.arg_latitude_deg[in_shell])
        if slot is not None:
            pairs += _grid_links(in_shell, local_plane, slot, wraps, seam_shift, c.arg_latitude_deg)
        else:
            pairs += _nearest_links(in_shell, local_plane, wraps, c.arg_latitude_deg)
    if not pairs:
        return np.empty((0, 2), dtype=np.int64)
    links = np.sort(np.concatenate(pairs).astype(np.int64), axis=1)
    links = links[links[:, 0] != links[:, 1]]
    return np.unique(links, axis=0)


def plus_grid_kinds(constellation: Constellation) -> dict:
    """How the +Grid of each shell is built: ``{shell: kind}``.

    Kinds: ``"walker design"`` (a Walker shell's own indices), ``"walker"`` and
    ``"half-slot"`` (a regular TLE shell, :func:`skymesh.orbits.planes.grid_slots`),
    ``"nearest"`` (an irregular shell: nearest-argument partners).
    """
    c = constellation
    kinds = {}
    for shell_id in np.unique(c.shell[c.shell >= 0]):
        in_shell = np.flatnonzero(c.shell == shell_id)
        in_shell = in_shell[c.plane[in_shell] >= 0]
        if _walker_design(c, shell_id, in_shell) is not None:
            kinds[int(shell_id)] = "walker design"
            continue
        _, local_plane = np.unique(c.plane[in_shell], return_inverse=True)
        kind = grid_slots(local_plane, c.arg_latitude_deg[in_shell])[2]
        kinds[int(shell_id)] = "nearest" if kind == "irregular" else kind
    return kinds


def _walker_design(c: Constellation, shell_id: int, members: np.ndarray):
    """``(slot, seam_shift)`` of a complete Walker shell from its design indices, else None."""
    if not c.shells or shell_id >= len(c.shells) or c.is_tle:
        return None
    spec = c.shells[shell_id]
    n_planes, per_plane = spec.planes, spec.sats_per_plane
    if len(members) != n_planes * per_plane:
        return None
    plane, slot = c.plane[members], c.slot[members]
    if plane.min() < 0 or plane.max() >= n_planes or slot.min() < 0 or slot.max() >= per_plane:
        return None
    if len(np.unique(plane * per_plane + slot)) != len(members):
        return None
    return slot.astype(np.int64), int(spec.phasing) % per_plane


def _grid_links(members, local_plane, slot, wraps, seam_shift, arg_latitude_deg) -> list:
    """Ring, cross-plane and seam links of a shell with a consistent slot numbering."""
    n_planes = int(local_plane.max()) + 1
    per_plane = len(members) // n_planes
    table = np.empty((n_planes, per_plane), dtype=np.int64)  # satellite at (plane, slot)
    table[local_plane, slot] = members
    out = [np.stack([table.ravel(), np.roll(table, -1, axis=1).ravel()], axis=1)]
    if n_planes > 1:
        out.append(np.stack([table[:-1].ravel(), table[1:].ravel()], axis=1))
    if wraps:
        if seam_shift is not None:
            out.append(np.stack([table[-1], np.roll(table[0], -seam_shift)], axis=1))
        else:
            a, b = table[-1], table[0]
            b_sorted = b[np.argsort(arg_latitude_deg[b], kind="stable")]
            partner = _nearest_on_circle(arg_latitude_deg[b_sorted], arg_latitude_deg[a])
            out.append(np.stack([a, b_sorted[partner]], axis=1))
    return out


def _nearest_links(members, local_plane, wraps, arg_latitude_deg) -> list:
    """Links of an irregular shell: rings by argument of latitude, nearest-argument partners."""
    out = []
    rings = []
    n_planes = int(local_plane.max()) + 1 if len(members) else 0
    for p in range(n_planes):
        idx = members[local_plane == p]
        ring = idx[np.argsort(arg_latitude_deg[idx], kind="stable")]
        rings.append(ring)
        if len(ring) >= 2:
            nxt = np.roll(ring, -1)
            if len(ring) == 2:
                ring, nxt = ring[:1], nxt[:1]
            out.append(np.stack([ring, nxt], axis=1))
    for p in range(n_planes):
        if p + 1 < n_planes:
            q = p + 1
        elif wraps:
            q = 0
        else:
            continue
        a, b = rings[p], rings[q]
        partner = _nearest_on_circle(arg_latitude_deg[b], arg_latitude_deg[a])
        out.append(np.stack([a, b[partner]], axis=1))
    return out


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


def isl_lengths_km(
    sat_ecef_km: np.ndarray,
    pairs: np.ndarray,
    *,
    min_clearance_km: float = DEFAULT_MIN_CLEARANCE_KM,
    max_range_km: float | None = DEFAULT_MAX_RANGE_KM,
) -> np.ndarray:
    """Length (km) of each link at each time, NaN where it is not usable.

    Parameters
    ----------
    sat_ecef_km : ndarray, shape (N, T, 3) (or (N, 3) for one instant)
    pairs : ndarray, shape (L, 2)

    Returns
    -------
    ndarray, shape (L, T) (or (L,))
    """
    sat_ecef_km = np.asarray(sat_ecef_km)
    pairs = np.asarray(pairs)
    if sat_ecef_km.ndim == 3 and sat_ecef_km.dtype == np.float64 and len(pairs):
        kernel = _lengths_kernel()
        if kernel is not None:
            if pairs.min() < 0 or pairs.max() >= len(sat_ecef_km):
                raise IndexError("ISL pair names a satellite out of range")
            return kernel(
                np.ascontiguousarray(sat_ecef_km),
                np.ascontiguousarray(pairs, dtype=np.int64),
                float(min_clearance_km),
                np.inf if max_range_km is None else float(max_range_km),
            )
    r1 = sat_ecef_km[pairs[:, 0]]
    r2 = sat_ecef_km[pairs[:, 1]]
    d = r2 - r1
    # Sums of three products in one fixed order, (x + z) + y (numpy's einsum's for
    # three terms), so the compiled kernel gives the same bits.
    dd = (d[..., 0] * d[..., 0] + d[..., 2] * d[..., 2]) + d[..., 1] * d[..., 1]
    dot = (r1[..., 0] * d[..., 0] + r1[..., 2] * d[..., 2]) + r1[..., 1] * d[..., 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.clip(-dot / dd, 0.0, 1.0)
    closest = r1 + t[..., None] * d
    clearance = np.linalg.norm(closest, axis=-1) - WGS84_A_KM
    length = np.sqrt(dd)
    ok = clearance >= min_clearance_km
    if max_range_km is not None:
        ok &= length <= max_range_km
    return np.where(ok, length, np.nan)


@functools.cache
def _lengths_kernel():
    """:func:`isl_lengths_km` over (N, T, 3) positions compiled (numba; None without it):
    the same floating-point operations in the same order, so the same bits, in one pass
    without the (L, T, 3) temporaries."""
    try:
        import numba
    except ImportError:  # pragma: no cover
        return None

    @numba.njit(cache=True, nogil=True)
    def lengths(pos, pairs, min_clearance_km, max_range_km):  # pragma: no cover - compiled
        n_links = pairs.shape[0]
        n_t = pos.shape[1]
        out = np.empty((n_links, n_t))
        for i in range(n_links):
            a = pairs[i, 0]
            b = pairs[i, 1]
            for k in range(n_t):
                x1 = pos[a, k, 0]
                y1 = pos[a, k, 1]
                z1 = pos[a, k, 2]
                dx = pos[b, k, 0] - x1
                dy = pos[b, k, 1] - y1
                dz = pos[b, k, 2] - z1
                dd = (dx * dx + dz * dz) + dy * dy
                t = -((x1 * dx + z1 * dz) + y1 * dy) / dd if dd != 0.0 else np.nan
                if t < 0.0:
                    t = 0.0
                elif t > 1.0:
                    t = 1.0
                cx = x1 + t * dx
                cy = y1 + t * dy
                cz = z1 + t * dz
                clearance = np.sqrt((cx * cx + cy * cy) + cz * cz) - WGS84_A_KM
                length = np.sqrt(dd)
                if clearance >= min_clearance_km and length <= max_range_km:
                    out[i, k] = length
                else:
                    out[i, k] = np.nan
        return out

    return lengths
