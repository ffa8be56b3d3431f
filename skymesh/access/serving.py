"""Which satellite serves each terminal: chosen at the 15 s slot boundaries, held for the slot.

Starlink's global controller assigns each terminal one serving satellite per 15 s slot, at
boundaries on the 12th, 27th, 42nd and 57th second of every minute (:mod:`skymesh.access.slots`),
and the terminal keeps it for the slot (Tanveer et al., "Making Sense of Constellations:
Methodologies for Understanding Starlink's Scheduling Algorithms", CoNEXT 2023 Companion,
doi:10.1145/3624354.3630586; Mohan et al., "A Multifaceted Look at Starlink Performance",
WWW 2024: RTT steps at those seconds, stable RTT within a slot). Here:

* at the first grid step of every slot (with 1 s steps, within 1 s of the boundary) each
  terminal takes the best *usable* candidate under a selection policy, and holds it;
* if the held satellite stops being usable inside the slot (it sinks below the elevation
  mask, fails, or loses every route to an allowed exit), the terminal takes the best usable
  candidate at that step and holds that one: a **forced handover**, counted;
* a **handover** is any step whose serving satellite differs from the step before's (both
  served): at a slot's first step it is scheduled, anywhere else it is forced. A grid
  coarser than the slot (step > 15 s) sees only the changes between its steps, so it
  undercounts the scheduled handovers.

Everything works on the sparse candidate lists the simulator already computes
(``(ground, sat, step)`` triples of :func:`skymesh.links.windows.visible_pairs_windowed`),
vectorised over terminals and slots: the hold is resolved in *rounds*, each round one array
pass over every (terminal, slot) at once, as many rounds as the most forced handovers any
terminal has in one slot (usually 1 or 2), never a Python loop per terminal or per step.

Selection policies (``POLICIES``); every score is "higher is better", ties go to the lower
satellite index so the choice is deterministic:

``operator`` (default)
    The measured preferences of Starlink's scheduler (Tanveer et al. 2023, four terminals in
    the US and Europe): it picks high satellites (the chosen ones a median 22.9 deg higher
    than those left unchosen; 80 % of choices at 45-90 deg while ~30 % of visible satellites
    are there), poleward ones (82 % to the north for northern-hemisphere terminals), sunlit
    ones and newer ones. SkyMesh turns that into a score in degrees of elevation::

        score = elevation_deg + POLEWARD_BONUS_DEG * [satellite in the poleward half of the sky]
                              + NEWER_BONUS_DEG * newness      (0 oldest .. 1 newest)

    so a poleward satellite beats an equatorward one up to ``POLEWARD_BONUS_DEG`` higher, and
    the newest beats the oldest up to ``NEWER_BONUS_DEG`` higher. The paper publishes shares,
    not weights: both bonuses are SkyMesh's round-number reading of those shares (status U,
    plausible range 0-20 deg and 0-10 deg), not fitted to anything. Newness is the rank of the
    NORAD catalogue number (assigned in launch order) for TLE sets; Walker shells have no
    launch order (newness 0). The sunlit preference is not modelled (it needs the Sun's
    position per step; its effect is a tie-break among high satellites).
``highest-elevation``
    The highest satellite in view.
``longest-visibility``
    The satellite that stays in view longest from now (:func:`remaining_visibility_s`).
``nearest-to-gateway``
    The satellite with the shortest delay to the terminal's exit: up-link plus the route from
    the satellite to the internet (what a propagation-only router picks at every step).
"""

from __future__ import annotations

import numpy as np

from skymesh.links.visibility import local_frames
from skymesh.orbits.frames import geodetic_to_ecef

POLICIES = ("operator", "highest-elevation", "longest-visibility", "nearest-to-gateway")
DEFAULT_POLICY = "operator"

POLEWARD_BONUS_DEG = 10.0
"""Score bonus (deg of elevation) of a satellite in the poleward half of the sky (status U;
SkyMesh's reading of the 82 % northward share in Tanveer et al. 2023, range 0-20 deg)."""
NEWER_BONUS_DEG = 5.0
"""Score bonus (deg of elevation) of the newest satellite over the oldest (status U; reading of
Tanveer et al. 2023's "newer satellites" preference, range 0-10 deg)."""

EARTH_RADIUS_KM = 6371.0
"""Mean Earth radius for the spherical pass geometry of :func:`remaining_visibility_s`."""


def check_policy(policy: str) -> str:
    """``policy`` if it is one of ``POLICIES``; else ``ValueError`` naming the choices."""
    if policy not in POLICIES:
        raise ValueError(f"unknown serving policy '{policy}'; choose one of {', '.join(POLICIES)}")
    return policy


# --------------------------------------------------------------------------- geometry of pairs


def pair_look(sat_ecef_km: np.ndarray, lat_deg, lon_deg, g, s, k):
    """Elevation and azimuth (deg) of sparse (ground ``g``, satellite ``s``, step ``k``) pairs.

    ``sat_ecef_km`` is (N, K, 3) km; azimuth is from north through east, in [0, 360).
    """
    g, s, k = (np.asarray(x, dtype=np.int64) for x in (g, s, k))
    ground = np.atleast_2d(geodetic_to_ecef(lat_deg, lon_deg, 0.0))
    east, north, up = local_frames(lat_deg, lon_deg)
    d = np.asarray(sat_ecef_km, dtype=float)[s, k] - ground[g]
    rng = np.sqrt(np.einsum("ix,ix->i", d, d))
    el = np.rad2deg(np.arcsin(np.clip(np.einsum("ix,ix->i", d, up[g]) / rng, -1.0, 1.0)))
    az = np.mod(
        np.rad2deg(
            np.arctan2(np.einsum("ix,ix->i", d, east[g]), np.einsum("ix,ix->i", d, north[g]))
        ),
        360.0,
    )
    return el, az


def satellite_newness(constellation) -> np.ndarray:
    """(N,) newness in [0, 1]: rank of the NORAD catalogue number (launch order), 0 if unknown."""
    n = len(constellation)
    norad = constellation.extra.get("norad_id") if constellation.extra else None
    if norad is None or n < 2:
        return np.zeros(n)
    rank = np.argsort(np.argsort(np.asarray(norad), kind="stable"), kind="stable")
    return rank / (n - 1)


def remaining_visibility_s(
    sat_now_km, sat_next_km, dt_s: float, ground_ecef_km, min_elevation_deg
) -> np.ndarray:
    """Seconds each satellite stays above the mask of its ground point, from now.

    Spherical pass geometry: the satellite moves on the great circle through its positions
    now and ``dt_s`` later (rows of ``sat_now_km`` / ``sat_next_km``, Earth-fixed km, one per
    pair) at the angular rate between them; it is in view while its Earth-central angle from
    the ground point is at most ``acos(R cos e / r) - e`` (Earth radius R, orbit radius r,
    mask e). With ``cos(angle(t)) = A cos(w t) + B sin(w t) = C cos(w t - phi)``, the
    satellite sets at ``t = (phi + acos(cos(lambda) / C)) / w``. Over one pass (minutes)
    the Earth-fixed track departs from a great circle by a fraction of a degree: the
    estimate is good to seconds, enough to rank satellites. Pairs already out of view get 0.
    """
    p0 = np.asarray(sat_now_km, dtype=float)
    p1 = np.asarray(sat_next_km, dtype=float)
    gu = np.asarray(ground_ecef_km, dtype=float)
    gu = gu / np.linalg.norm(gu, axis=-1, keepdims=True)
    r = np.linalg.norm(p0, axis=-1)
    u0 = p0 / r[:, None]
    u1 = p1 / np.linalg.norm(p1, axis=-1, keepdims=True)
    w_rad = np.arccos(np.clip(np.einsum("ix,ix->i", u0, u1), -1.0, 1.0)) / dt_s  # rad/s
    ortho = u1 - np.einsum("ix,ix->i", u0, u1)[:, None] * u0
    ortho /= np.maximum(np.linalg.norm(ortho, axis=-1, keepdims=True), 1e-15)
    a = np.einsum("ix,ix->i", gu, u0)
    b = np.einsum("ix,ix->i", gu, ortho)
    c = np.hypot(a, b)
    phi = np.arctan2(b, a)
    e = np.deg2rad(np.broadcast_to(np.asarray(min_elevation_deg, dtype=float), r.shape))
    lam = np.arccos(np.clip(EARTH_RADIUS_KM * np.cos(e) / r, -1.0, 1.0)) - e
    with np.errstate(invalid="ignore", divide="ignore"):
        half = np.arccos(np.clip(np.cos(lam) / c, -1.0, 1.0))
        t_set = (phi + half) / w_rad
    visible_now = a >= np.cos(lam) - 1e-12
    return np.where(visible_now & np.isfinite(t_set), np.maximum(t_set, 0.0), 0.0)


def selection_score(
    policy: str,
    *,
    elevation_deg=None,
    azimuth_deg=None,
    ground_lat_deg=None,
    newness=None,
    remaining_s=None,
    delay_s=None,
    poleward=None,
) -> np.ndarray:
    """Score of each candidate pair under ``policy`` (higher is better); arrays of shape (V,).

    ``operator`` needs elevation, azimuth and the ground point's latitude (or ``poleward``,
    from :func:`poleward_of_pairs`) and newness (optional);
    ``highest-elevation`` elevation; ``longest-visibility`` ``remaining_s``;
    ``nearest-to-gateway`` ``delay_s`` (one-way s from terminal through the satellite to the
    exit).
    """
    check_policy(policy)
    if policy == "highest-elevation":
        return np.asarray(elevation_deg, dtype=float)
    if policy == "longest-visibility":
        return np.asarray(remaining_s, dtype=float)
    if policy == "nearest-to-gateway":
        return -np.asarray(delay_s, dtype=float)
    el = np.asarray(elevation_deg, dtype=float)
    if poleward is None:
        north = np.cos(np.deg2rad(np.asarray(azimuth_deg, dtype=float)))
        hemisphere = np.where(np.asarray(ground_lat_deg, dtype=float) >= 0.0, 1.0, -1.0)
        poleward = hemisphere * north > 0.0
    score = el + POLEWARD_BONUS_DEG * np.asarray(poleward, dtype=bool)
    if newness is not None:
        score = score + NEWER_BONUS_DEG * np.asarray(newness, dtype=float)
    return score


def poleward_of_pairs(sat_ecef_km: np.ndarray, lat_deg, lon_deg, g, s, k) -> np.ndarray:
    """(V,) bool: the satellite of each (ground, sat, step) pair lies in the poleward half of
    the ground point's sky (north for latitudes >= 0, else south); a single dot product."""
    g, s, k = (np.asarray(x, dtype=np.int64) for x in (g, s, k))
    ground = np.atleast_2d(geodetic_to_ecef(lat_deg, lon_deg, 0.0))
    _, north, _ = local_frames(lat_deg, lon_deg)
    d = np.asarray(sat_ecef_km, dtype=float)[s, k] - ground[g]
    hemisphere = np.where(np.atleast_1d(np.asarray(lat_deg, dtype=float)) >= 0.0, 1.0, -1.0)
    return np.einsum("ix,ix->i", d, north[g]) * hemisphere[g] > 0.0


# --------------------------------------------------------------------------- the hold


def best_per_cell(n_ground: int, n_steps: int, ground, sat, step, score) -> np.ndarray:
    """(G, K) int: the highest-scoring satellite of every (ground point, step), -1 if none.

    Ties go to the lower satellite index. Linear time when the triples come ordered by
    step, then ground point, then satellite (as :func:`skymesh.links.windows.
    visible_pairs_windowed` returns them, filtering kept); sorted first otherwise.
    """
    G, K = int(n_ground), int(n_steps)
    g = np.asarray(ground, dtype=np.int64)
    s = np.asarray(sat, dtype=np.int64)
    sc = np.asarray(score, dtype=float)
    best = np.full(K * G, -1, dtype=np.int64)
    if not len(g):
        return best.reshape(K, G).T.copy()
    cell = np.asarray(step, dtype=np.int64) * G + g
    key = cell * (int(s.max()) + 1) + s
    if np.any(np.diff(key) < 0):
        order = np.argsort(key, kind="stable")
        cell, s, sc = cell[order], s[order], sc[order]
    starts = np.flatnonzero(np.r_[True, cell[1:] != cell[:-1]])
    top = np.maximum.reduceat(sc, starts)
    seg = np.cumsum(np.r_[False, cell[1:] != cell[:-1]])
    at_top = np.flatnonzero(sc == top[seg])
    first = at_top[np.r_[True, seg[at_top][1:] != seg[at_top][:-1]]]
    best[cell[first]] = s[first]
    return best.reshape(K, G).T.copy()


def slot_starts(slot_of_step) -> np.ndarray:
    """(K,) bool: steps that open a slot (the first step, and each step whose slot changes)."""
    slot = np.asarray(slot_of_step)
    first = np.ones(len(slot), dtype=bool)
    first[1:] = slot[1:] != slot[:-1]
    return first


def choose_serving(
    n_ground: int, n_steps: int, ground, sat, step, score, slot_of_step, hold_ok=None, best=None
):
    """Serving satellite of every ground point at every step, chosen per slot and held.

    Parameters
    ----------
    ground, sat, step : int arrays (V,)
        The *usable* candidates: (ground point, satellite, step) triples where the satellite
        could serve (in view above the mask, working, with a route to an allowed exit).
    score : float array (V,)
        Policy score of each candidate (:func:`selection_score`; higher is better).
    slot_of_step : int array (K,)
        Slot index of each step (:func:`skymesh.access.slots.slot_index`), non-decreasing.
        The first step counts as a slot's first step: start the steps at a slot boundary
        (or one slot early) for results that do not depend on where a block starts.
    hold_ok : callable, optional
        ``hold_ok(ground (A,), decided_at (A,), sat (A,), steps (A, L)) -> (A, L) bool``: whether
        what was chosen at ``decided_at`` (the satellite, and whatever the caller attached to
        that decision, such as its whole path) can still be held at ``steps``, on top of the
        satellite still being a candidate there (always required). When the hold breaks the
        terminal takes the best candidate at that step (a forced re-choice). The decision
        step itself is always holdable.
    best : int array (G, K), optional
        :func:`best_per_cell` of these candidates, when the caller already has it.

    Returns
    -------
    serving : int array (G, K)
        Satellite index, -1 where no candidate is usable.
    handover : bool array (G, K)
        The serving satellite differs from the step before's (both served).
    forced : bool array (G, K)
        Handovers inside a slot (the held satellite stopped being usable).
    decided_at : int array (G, K)
        Step at which the choice in force was made (-1 where unserved): a slot's first
        step, or the step of a forced re-choice.
    """
    G, K = int(n_ground), int(n_steps)
    g = np.asarray(ground, dtype=np.int64)
    s = np.asarray(sat, dtype=np.int64)
    k = np.asarray(step, dtype=np.int64)
    sc = np.asarray(score, dtype=float)
    slot = np.asarray(slot_of_step, dtype=np.int64)
    if len(slot) != K:
        raise ValueError(f"slot_of_step has {len(slot)} entries for {K} steps")
    serving = np.full((G, K), -1, dtype=np.int64)
    decided = np.full((G, K), -1, dtype=np.int64)
    if K == 0 or G == 0:
        return serving, np.zeros((G, K), bool), np.zeros((G, K), bool), decided
    n_sat = int(s.max()) + 1 if len(s) else 1
    if best is None:
        best = best_per_cell(G, K, g, s, k, sc)
    # Usability lookup: sorted keys of (step, ground, satellite) (already sorted in the
    # order visible_pairs_windowed gives).
    keys = (k * G + g) * n_sat + s
    if np.any(np.diff(keys) < 0):
        keys = np.sort(keys)

    def usable(gg, kk, ss):
        q = (kk * G + gg) * n_sat + ss
        pos = np.searchsorted(keys, q)
        return (ss >= 0) & (pos < len(keys)) & (keys[np.minimum(pos, len(keys) - 1)] == q)

    # Next step (at or after k) with any candidate, per ground point: K if none.
    has = best >= 0
    idx = np.where(has, np.arange(K)[None, :], K)
    next_cand = np.minimum.accumulate(idx[:, ::-1], axis=1)[:, ::-1]
    starts = np.flatnonzero(slot_starts(slot))
    ends = np.append(starts[1:], K)  # exclusive slot ends
    length = int((ends - starts).max())
    # One pointer per (ground, slot): the step where the next decision is taken.
    gg = np.repeat(np.arange(G), len(starts))
    ptr = np.tile(starts, G)
    end = np.tile(ends, G)
    ptr = np.minimum(next_cand[gg, np.minimum(ptr, K - 1)], end)
    offs = np.arange(length)[None, :]
    while True:
        live = ptr < end
        if not live.any():
            break
        gg, ptr, end = gg[live], ptr[live], end[live]
        chosen = best[gg, ptr]  # >= 0: next_cand skips empties
        steps = ptr[:, None] + offs  # (A, L)
        in_slot = steps < end[:, None]
        safe = np.minimum(steps, K - 1)
        ok = in_slot & usable(gg[:, None], safe, chosen[:, None])
        if hold_ok is not None:
            ok &= np.asarray(hold_ok(gg, ptr, chosen, safe), dtype=bool)
        ok[:, 0] = True
        # Held from ptr up to (not including) its first unusable step in the slot.
        run = np.where(ok.all(axis=1), length, np.argmin(ok, axis=1))
        run = np.minimum(run, end - ptr)
        held = offs < run[:, None]
        rows = np.repeat(gg, run)
        cols = steps[held]
        serving[rows, cols] = np.repeat(chosen, run)
        decided[rows, cols] = np.repeat(ptr, run)
        nxt = ptr + run
        ptr = np.where(nxt < end, next_cand[gg, np.minimum(nxt, K - 1)], end)
        ptr = np.minimum(ptr, end)
    prev = np.concatenate([np.full((G, 1), -1), serving[:, :-1]], axis=1)
    handover = (serving >= 0) & (prev >= 0) & (serving != prev)
    forced = handover & ~slot_starts(slot)[None, :]
    return serving, handover, forced, decided
