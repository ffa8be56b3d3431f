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
4. **Grid slots** (:func:`grid_slots`, used by
   :func:`skymesh.links.isl.plus_grid_pairs`). The ranks of step 3 are not a
   consistent numbering across planes: a satellite a hair before the node
   ranks last, and with Walker phasing F >= 2 the first satellite after the
   node is a different design slot in different planes. For a regular shell
   (full, evenly spaced planes with a common plane-to-plane phase step) the
   grid slots are Walker's own numbering, so that slot j links to slot j of
   the next plane, the seam continues the same step, and the half-slot
   alternation of Hypatia's generator gives Hypatia's grid.

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
        centre = np.median(vs[best : best + counts[best]])
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
    gaps = np.sort(np.diff(np.append(r, r[0] + 360.0)))[::-1] + 1e-3  # floor for log
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
    gaps = np.diff(np.append(r, r[0] + 360.0))  # gaps[k]: from r[k] to the next
    cut = gaps > threshold_deg
    labels_sorted = np.zeros(n, dtype=np.int64)
    if cut.any():
        start = (int(np.flatnonzero(cut)[0]) + 1) % n  # first satellite after a cut
        rolled = np.roll(np.arange(n), -start)
        new_plane = np.zeros(n, dtype=np.int64)
        new_plane[1:] = cut[rolled[:-1]]
        labels_sorted[rolled] = np.cumsum(new_plane)
    n_planes = int(labels_sorted.max()) + 1
    rad = np.radians(r)
    mean = np.degrees(
        np.arctan2(
            np.bincount(labels_sorted, np.sin(rad), n_planes),
            np.bincount(labels_sorted, np.cos(rad), n_planes),
        )
    )
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


def infer_planes(
    inclination_deg,
    altitude_km,
    raan_deg,
    arg_latitude_deg,
    eccentricity=None,
    *,
    inclination_window_deg: float = 0.1,
    altitude_window_km: float = 10.0,
    min_shell_size: int = 50,
    max_eccentricity: float = 0.005,
    min_plane_gap_deg: float = 0.5,
):
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
        raise InputError(
            f"element arrays differ in length: inclination {n}, altitude "
            f"{len(alt)}, raan {len(raan)}, arg_latitude {len(u)}"
        )
    usable = np.isfinite(inc) & np.isfinite(alt) & np.isfinite(raan) & np.isfinite(u)
    if eccentricity is not None:
        ecc = np.asarray(eccentricity, dtype=float)
        usable &= np.isfinite(ecc) & (ecc <= max_eccentricity)

    shell = np.full(n, -1, dtype=np.int64)
    plane = np.full(n, -1, dtype=np.int64)
    slot = np.full(n, -1, dtype=np.int64)

    inc_groups = _greedy_windows(
        np.where(usable, inc, np.nan), inclination_window_deg, min_shell_size
    )
    found = []  # (median inclination, median altitude, member indices)
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
    shell, plane, slot = infer_planes(
        inc,
        constellation.altitude_km,
        constellation.raan_deg,
        constellation.arg_latitude_deg,
        extra.get("eccentricity"),
        **options,
    )
    return replace(constellation, shell=shell, plane=plane, slot=slot)


# --- +Grid slot numbering ----------------------------------------------------------------

GRID_TOLERANCE_SLOTS = 0.05
"""Largest departure (fraction of a slot) of a satellite from its plane's even comb, and of
one plane-to-plane phase step from the shell's common step, for a shell to count as a
regular (Walker-like) shell whose +Grid is built from a consistent slot numbering."""
ZERO_STEP_SLOTS = 0.005
"""A common plane-to-plane phase step within this of a whole slot (fraction of a slot) is
read as zero (Walker F = 0 plus rounding), and one within this of half a slot as the
half-slot alternation (see :func:`grid_slots`)."""


def _wrap_half(x):
    """``x`` wrapped to [-0.5, 0.5) (slot fractions)."""
    return np.mod(np.asarray(x, dtype=float) + 0.5, 1.0) - 0.5


def _circular_mean_frac(frac, groups=None, n_groups=None):
    """Circular mean of slot fractions (period 1), in [-0.5, 0.5); per group if given."""
    ang = 2.0 * np.pi * np.asarray(frac, dtype=float)
    if groups is None:
        return float(np.arctan2(np.sin(ang).sum(), np.cos(ang).sum()) / (2.0 * np.pi))
    s = np.bincount(groups, np.sin(ang), n_groups)
    c = np.bincount(groups, np.cos(ang), n_groups)
    return _wrap_half(np.arctan2(s, c) / (2.0 * np.pi))


def grid_slots(
    plane,
    arg_latitude_deg,
    *,
    tolerance_slots: float = GRID_TOLERANCE_SLOTS,
    zero_step_slots: float = ZERO_STEP_SLOTS,
):
    """A consistent slot numbering of one shell, for a +Grid that links slot j to slot j.

    Parameters
    ----------
    plane : array_like of int, shape (N,)
        Plane index (0..P-1, plane ``p + 1`` east of ``p``) of each satellite of one shell.
    arg_latitude_deg : array_like, shape (N,)
        Argument of latitude (deg) at one epoch.

    Returns
    -------
    slot : ndarray of int, shape (N,), or None
        Grid slot of each satellite: within a plane, consecutive slots are neighbours
        in argument of latitude, and slot ``j`` of plane ``p`` is linked to slot ``j``
        of plane ``p + 1``. None when the shell is not regular (below).
    seam_shift : int or None
        Across the seam (last plane to plane 0) slot ``j`` links to slot
        ``(j + seam_shift) mod S`` of plane 0; None when the seam's phase step differs
        from the others' (then no consistent rule exists; the caller decides).
    kind : str
        ``"walker"``, ``"half-slot"`` or ``"irregular"``.

    Method
    ------
    Each plane's satellites sit at ``x = u S / 360`` slots; the plane's phase is the
    circular mean of ``x mod 1``. The shell is *regular* when every plane holds the
    same number ``S >= 3`` of satellites, each within ``tolerance_slots`` of its
    plane's even comb, and every plane-to-plane phase step ``d_p`` (mod 1) is within
    ``tolerance_slots`` of a common step ``d``. In a Walker delta ``i: T/P/F`` the
    step is ``d = F / P`` of a slot (Walker, J. Br. Interplanet. Soc. 37, 1984), so
    ``d`` is read in ``[0, 1)`` (a step within ``zero_step_slots`` below a whole
    slot counts as 0): the phases are unwrapped plane by plane with steps near
    ``d``, slot ``j`` of plane ``p`` is the satellite at ``phase_p + j`` (unwrapped),
    and so slot ``j`` links to slot ``j`` of the next plane ``d`` of a slot ahead:
    Walker's own numbering. Round the seam the phase has gained ``P d = F`` slots,
    so ``seam_shift = F``: the seam link continues the same step.

    Phase steps of half a slot are ambiguous: a common step of half a slot makes
    the same points as a Walker delta with ``F = P / 2`` (all links leaning half a
    slot forward) and as the shell Hypatia generates (alternate planes half a slot
    apart, each plane numbered from its ascending node, links leaning forward and
    back in turn: Kassing et al., IMC 2020, satgenpy ``generate_tles_from_scratch``
    and ``generate_plus_grid_isls``). SkyMesh takes Hypatia's whenever every step
    is half a slot or zero (within ``zero_step_slots``; an odd number of planes
    alternating puts two planes of one phase side by side once round the circle)
    and at least one is half a slot: the planes then sit at two phases, and slot 0
    of every plane is the first satellite at or after (phase_A - 1/4 slot),
    phase_A being the one of the two nearer the ascending node; the seam shift is
    0. Give a Walker ``F = P / 2`` grid as an explicit ISL list.

    Limits
    ------
    Real TLE sets are rarely regular: planes with missing, spare or manoeuvring
    satellites, or a missing plane (a double phase step), make the shell irregular,
    and the caller falls back to the nearest-argument rule
    (:func:`skymesh.links.isl.plus_grid_pairs`). The numbering holds at the
    element epoch; it is only as good as the elements (a plane's satellites drifting
    apart in argument of latitude by more than ``tolerance_slots`` make it irregular).
    """
    plane = np.asarray(plane, dtype=np.int64)
    u = np.asarray(arg_latitude_deg, dtype=float)
    irregular = (None, None, "irregular")
    n = len(plane)
    if n == 0 or len(u) != n or not np.isfinite(u).all() or plane.min() < 0:
        return irregular
    counts = np.bincount(plane)
    n_planes = len(counts)
    per_plane = int(counts[0])
    if per_plane < 3 or np.any(counts != per_plane):
        return irregular
    x = np.mod(u, 360.0) * per_plane / 360.0  # slots from the node
    phase = _circular_mean_frac(x, plane, n_planes)  # (P,), [-0.5, 0.5)
    offset = x - phase[plane]
    comb = np.round(offset)
    if np.abs(offset - comb).max() > tolerance_slots:
        return irregular
    local = np.mod(comb, per_plane).astype(np.int64)
    if len(np.unique(plane * per_plane + local)) != n:  # two at one tooth
        return irregular
    if n_planes == 1:
        return local, None, "walker"
    steps = np.mod(np.diff(phase), 1.0)  # (P-1,), [0, 1)
    half = np.abs(steps - 0.5) <= zero_step_slots
    if half.any() and np.all(half | (np.abs(_wrap_half(steps)) <= zero_step_slots)):
        # two phases half a slot apart (Hypatia's layout; an odd plane count puts two
        # planes of one phase side by side somewhere round the circle)
        in_b = np.concatenate([[False], np.cumsum(half) % 2 == 1])
        a, b = (_circular_mean_frac(phase[m]) if m.any() else np.nan for m in (~in_b, in_b))
        ref = a if (abs(a), a) <= (abs(b), b) else b
        slot = np.mod(np.round(x - ref - 0.25), per_plane).astype(np.int64)
        return slot, 0, "half-slot"
    step = _circular_mean_frac(steps)
    if np.abs(_wrap_half(steps - step)).max() > tolerance_slots:
        return irregular
    step = float(np.mod(step, 1.0))
    if step > 1.0 - zero_step_slots:
        step -= 1.0
    seam_step = float(np.mod(phase[0] - phase[-1], 1.0))
    unwrapped = phase[0] + np.concatenate([[0.0], np.cumsum(step + _wrap_half(steps - step))])
    slot = np.mod(np.round(x - unwrapped[plane]), per_plane).astype(np.int64)
    seam_shift = None
    if abs(_wrap_half(seam_step - step)) <= tolerance_slots:
        gained = unwrapped[-1] + step + _wrap_half(seam_step - step) - phase[0]
        seam_shift = int(np.round(gained)) % per_plane
    return slot, seam_shift, "walker"
