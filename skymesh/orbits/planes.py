"""Infer shells, orbital planes and slots of a TLE set, for a +Grid ISL topology.

A TLE set says nothing about which satellites share a plane, so this module
infers it from the elements at a common epoch (see
:func:`skymesh.orbits.tle.constellation_from_tle`):

1. **Shells.** Satellites with eccentricity above ``max_eccentricity``
   (orbit raising on a transfer orbit, or decaying) get shell -1. The rest
   are grouped by inclination, then, within an inclination group, by
   altitude. Both use the same greedy rule: take the window (``inclination
   _window_deg`` or ``altitude_window_km`` wide) holding the most satellites,
   re-centre it on their median, make its members a group, and repeat with
   the rest until the best window holds fewer than ``min_shell_size``
   satellites; those left over get shell -1. Shells are numbered by
   inclination, then altitude.
2. **Planes.** Within a shell the RAANs are sorted around the circle and
   split wherever the gap to the next RAAN exceeds a threshold derived from
   the shell's own gaps: sorted by size, the gaps show a natural break (the
   largest ratio between consecutive sizes) between the few between-plane
   gaps and the many within-plane ones; only breaks above
   ``min_plane_gap_deg`` count. Planes are
   numbered in increasing circular-mean RAAN from 0 deg, so plane ``p + 1``
   is the eastward neighbour of plane ``p`` (and plane 0 that of the last).
3. **Slots.** Within a plane, slot = rank by argument of latitude, from the
   ascending node in the direction of motion.

Limits
------
- Partially filled planes keep their few satellites; a missing plane leaves
  a double gap in RAAN, so plane ``p + 1`` may be two design planes east of
  ``p``. Slots are ranks, not design slot numbers: a plane with gaps has
  uneven slot spacing.
- Satellites raising or lowering their orbit on near-circular orbits land in
  whichever altitude window they are in: a launch batch parked at one
  altitude becomes a small shell of its own (one or a few planes); those
  between parking and operational altitudes fall in sparse windows and get
  shell -1.
- Planes drift apart by differential J2 nodal precession (the nodal rate
  changes by ~0.35 % per km of altitude, so two batches a few km apart in
  the same design plane separate by several degrees over months). A design
  plane filled from two batches can therefore split into two inferred
  planes, and neighbouring design planes can merge when their gap has closed.
- Windows suit Starlink, whose shells sit within ~2 km of their nominal
  altitude. OneWeb staggers its planes over ~40 km (1180-1220 km) so that
  they pass the poles at different heights: use ``altitude_window_km=60``.
- Plane 0 is the first plane east of RAAN 0 deg. In a Walker star (OneWeb:
  12 planes over 180 deg) the seam, where the first and last planes
  counter-rotate, is at the largest RAAN gap, which need not be between the
  last plane and plane 0: check the gap before linking across it.
- The grouping holds at the common epoch only; propagating the set for weeks
  changes it (and the TLEs themselves go stale within days).
"""

from __future__ import annotations

import numpy as np

from skymesh.errors import InputError


def _greedy_windows(values: np.ndarray, width: float, min_count: int) -> np.ndarray:
    """Group 1-D ``values`` by repeatedly taking the fullest window of ``width``.

    Returns int labels (-1: in no window with at least ``min_count`` members),
    in the order the groups were found (fullest first).
    """
    labels = np.full(len(values), -1, dtype=np.int64)
    free = np.flatnonzero(np.isfinite(values))
    group = 0
    while len(free) >= min_count and min_count > 0:
        v = values[free]
        order = np.argsort(v)
        vs = v[order]
        counts = np.searchsorted(vs, vs + width, side="right") - np.arange(len(vs))
        best = int(np.argmax(counts))
        if counts[best] < min_count:
            break
        centre = np.median(vs[best:best + counts[best]])
        members = np.abs(v - centre) <= 0.5 * width
        if members.sum() < min_count:
            members = (v >= vs[best]) & (v <= vs[best] + width)
        labels[free[members]] = group
        free = free[~members]
        group += 1
    return labels


def plane_gap_threshold_deg(raan_deg: np.ndarray, min_plane_gap_deg: float = 0.5) -> float:
    """RAAN gap (deg) above which two neighbouring satellites are in different planes.

    The circular gaps between sorted RAANs are sorted in decreasing order; the
    threshold sits at the largest ratio between consecutive gaps (the natural
    break between the few between-plane gaps and the many within-plane ones),
    looking only at breaks whose upper gap is at least ``min_plane_gap_deg``.
    Returns the geometric mean of the two gaps at the break, or ``inf`` (one
    plane) when no gap reaches ``min_plane_gap_deg``.
    """
    r = np.sort(np.mod(np.asarray(raan_deg, dtype=float), 360.0))
    if len(r) < 2:
        return np.inf
    gaps = np.sort(np.diff(np.append(r, r[0] + 360.0)))[::-1] + 1e-3   # floor for log
    upper, lower = gaps[:-1], gaps[1:]
    candidate = upper >= min_plane_gap_deg
    if not candidate.any():
        return np.inf
    ratio = np.where(candidate, upper / lower, 0.0)
    k = int(np.argmax(ratio))
    return float(np.sqrt(upper[k] * lower[k])) - 1e-3


def cluster_raan(raan_deg: np.ndarray, threshold_deg: float) -> np.ndarray:
    """Plane index of each RAAN: circular clusters split at gaps > ``threshold_deg``.

    Planes are numbered by increasing circular-mean RAAN in [0, 360).
    """
    raan = np.mod(np.asarray(raan_deg, dtype=float), 360.0)
    n = len(raan)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(raan)
    r = raan[order]
    gaps = np.diff(np.append(r, r[0] + 360.0))      # gaps[k]: from r[k] to the next
    cut = gaps > threshold_deg
    labels_sorted = np.zeros(n, dtype=np.int64)
    if cut.any():
        start = (int(np.flatnonzero(cut)[0]) + 1) % n   # first satellite after a cut
        rolled = np.roll(np.arange(n), -start)
        new_plane = np.zeros(n, dtype=np.int64)
        new_plane[1:] = cut[rolled[:-1]]
        labels_sorted[rolled] = np.cumsum(new_plane)
    n_planes = int(labels_sorted.max()) + 1
    rad = np.radians(r)
    mean = np.degrees(np.arctan2(np.bincount(labels_sorted, np.sin(rad), n_planes),
                                 np.bincount(labels_sorted, np.cos(rad), n_planes)))
    rank = np.empty(n_planes, dtype=np.int64)
    rank[np.argsort(np.mod(mean, 360.0), kind="stable")] = np.arange(n_planes)
    labels = np.empty(n, dtype=np.int64)
    labels[order] = rank[labels_sorted]
    return labels


def rank_within(groups: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Rank (0-based) of each ``key`` among the members of its group (ints >= 0)."""
    order = np.lexsort((key, groups))
    sorted_groups = groups[order]
    first = np.searchsorted(sorted_groups, sorted_groups, side="left")
    rank = np.empty(len(groups), dtype=np.int64)
    rank[order] = np.arange(len(groups)) - first
    return rank


def infer_planes(inclination_deg, altitude_km, raan_deg, arg_latitude_deg,
                 eccentricity=None, *, inclination_window_deg: float = 0.1,
                 altitude_window_km: float = 10.0, min_shell_size: int = 50,
                 max_eccentricity: float = 0.005, min_plane_gap_deg: float = 0.5):
    """Shell, plane and slot of each satellite from its elements at a common epoch.

    Parameters
    ----------
    inclination_deg, altitude_km, raan_deg, arg_latitude_deg : array_like, shape (N,)
        Inclination (deg; the TLE mean inclination groups most sharply),
        altitude (km), RAAN (deg) and argument of latitude (deg), all at one
        epoch. NaN marks a satellite with no elements (shell -1).
    eccentricity : array_like, shape (N,), optional
        Satellites above ``max_eccentricity`` get shell -1.
    inclination_window_deg, altitude_window_km : float
        Full widths of the windows that make an inclination group and a shell.
        The 2025 Starlink shells at 53.05 and 53.2 deg lie 8 km apart in
        altitude, so the inclination window must stay below ~0.15 deg.
    min_shell_size : int
        Fewest satellites in a shell; sparser ones get shell -1.
    min_plane_gap_deg : float
        Smallest RAAN gap (deg) that can separate two planes.

    Returns
    -------
    shell, plane, slot : ndarray of int, shape (N,)
        -1 for satellites outside every shell. See the module docstring.
    """
    inc = np.asarray(inclination_deg, dtype=float)
    alt = np.asarray(altitude_km, dtype=float)
    raan = np.asarray(raan_deg, dtype=float)
    u = np.asarray(arg_latitude_deg, dtype=float)
    n = len(inc)
    if not (len(alt) == len(raan) == len(u) == n):
        raise InputError(f"element arrays differ in length: inclination {n}, altitude "
                         f"{len(alt)}, raan {len(raan)}, arg_latitude {len(u)}")
    usable = np.isfinite(inc) & np.isfinite(alt) & np.isfinite(raan) & np.isfinite(u)
    if eccentricity is not None:
        ecc = np.asarray(eccentricity, dtype=float)
        usable &= np.isfinite(ecc) & (ecc <= max_eccentricity)

    shell = np.full(n, -1, dtype=np.int64)
    plane = np.full(n, -1, dtype=np.int64)
    slot = np.full(n, -1, dtype=np.int64)

    inc_groups = _greedy_windows(np.where(usable, inc, np.nan), inclination_window_deg,
                                 min_shell_size)
    found = []                         # (median inclination, median altitude, member indices)
    for g in range(inc_groups.max() + 1 if n else 0):
        members = np.flatnonzero(inc_groups == g)
        alt_groups = _greedy_windows(alt[members], altitude_window_km, min_shell_size)
        for a in range(alt_groups.max() + 1):
            idx = members[alt_groups == a]
            found.append((float(np.median(inc[idx])), float(np.median(alt[idx])), idx))
    found.sort(key=lambda item: (item[0], item[1]))

    for s, (_, _, idx) in enumerate(found):
        shell[idx] = s
        threshold = plane_gap_threshold_deg(raan[idx], min_plane_gap_deg)
        plane[idx] = cluster_raan(raan[idx], threshold)
        slot[idx] = rank_within(plane[idx], np.mod(u[idx], 360.0))
    return shell, plane, slot


def assign_planes(constellation, **options):
    """A copy of a TLE ``Constellation`` with ``shell``, ``plane`` and ``slot`` inferred.

    Uses the TLE mean inclination and eccentricity from ``extra`` when present
    (see :func:`skymesh.orbits.tle.constellation_from_tle`); ``options`` go to
    :func:`infer_planes`.
    """
    from dataclasses import replace

    extra = constellation.extra
    inc = extra.get("mean_inclination_deg", constellation.inclination_deg)
    inc = np.where(np.isfinite(constellation.inclination_deg), inc, np.nan)
    shell, plane, slot = infer_planes(inc, constellation.altitude_km, constellation.raan_deg,
                                      constellation.arg_latitude_deg,
                                      extra.get("eccentricity"), **options)
    return replace(constellation, shell=shell, plane=plane, slot=slot)
