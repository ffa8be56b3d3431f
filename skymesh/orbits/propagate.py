"""Positions of every satellite at every instant of a time grid, in one call.

Walker shells propagate in closed form; TLE sets through sgp4's
``SatrecArray`` at a coarse step with cubic Hermite interpolation in
between, in one compiled kernel (:func:`skymesh.orbits.sgp4_propagation.
interpolate_tle`, which JIT-compiles on its first call in a fresh
environment and caches the result on disk). Output arrays are
(satellites, times, 3) in km, Earth-fixed (see :mod:`skymesh.orbits.frames`
for what "Earth-fixed" neglects).

A TLE set is propagated only within :data:`EPOCH_HORIZON_DAYS` of its element
epoch (:func:`check_epoch_horizon`): further out SGP4 returns positions that
look like numbers and are not (1900 from a 2025 snapshot: ranges of 4e17 km),
so every result built on them would be silently wrong. ``--force-epoch`` (CLI)
or ``force_epoch = true`` in a scenario's ``[time]`` lifts the refusal
(:func:`allow_far_epoch`).
"""

from __future__ import annotations

import numpy as np

from skymesh.constants import WGS84_A_KM, WGS84_F
from skymesh.orbits.constellation import MIN_SERVICE_PERIGEE_KM, Constellation
from skymesh.orbits.frames import ecef_to_geodetic, gmst_rad, rotate_z
from skymesh.orbits.walker import circular_positions_inertial, epoch_offset_s
from skymesh.timebase import TimeGrid, julian_date

EPOCH_HORIZON_DAYS = 30.0
"""Furthest (d) an instant may be from a TLE set's element epoch (its median, see
:func:`skymesh.orbits.tle.constellation_from_tle`). SGP4's along-track error grows by
kilometres per day from the epoch (Vallado, Crawford, Hujsak & Kelso 2006, "Revisiting
Spacetrack Report #3", AIAA 2006-6753); CelesTrak refreshes Starlink elements daily.
After a month a LEO satellite's position is off by far more than a ground cell, and
drag-driven decay makes many element sets fail outright: not a geometry to report on.
The same 30 days as :data:`skymesh.orbits.tle.MAX_EPOCH_SPREAD_DAYS`."""

DEFAULT_COARSE_STEP_S = 60.0
"""SGP4 is called every this many seconds; finer steps are interpolated (error < 1 m)."""


def allow_far_epoch(constellation: Constellation) -> Constellation:
    """Mark ``constellation`` as allowed to propagate beyond :data:`EPOCH_HORIZON_DAYS`
    (``--force-epoch``); returns it."""
    constellation.extra["force_epoch"] = True
    return constellation


def check_epoch_horizon(constellation: Constellation, grid: TimeGrid) -> None:
    """Refuse a TLE set's propagation to instants further than :data:`EPOCH_HORIZON_DAYS`
    from its element epoch, unless :func:`allow_far_epoch` was applied.

    Raises :class:`~skymesh.errors.InputError` naming the furthest instant, its distance
    (d), the epoch and both ways to go on anyway. Walker shells have no element epoch to
    drift from and pass.
    """
    if not constellation.is_tle or constellation.extra.get("force_epoch"):
        return
    from datetime import timedelta, timezone

    from skymesh.errors import InputError

    epoch = constellation.epoch
    if epoch.tzinfo is None:
        epoch = epoch.replace(tzinfo=timezone.utc)
    start = grid.start if grid.start.tzinfo else grid.start.replace(tzinfo=timezone.utc)
    offsets = np.asarray(grid.offsets_s, dtype=float)
    last = float(offsets.max()) if offsets.size else 0.0
    first = float(offsets.min()) if offsets.size else 0.0
    ends = [(start - epoch).total_seconds() + x for x in (first, last)]
    worst = max(ends, key=abs)
    days = abs(worst) / 86400.0
    if days <= EPOCH_HORIZON_DAYS:
        return
    try:
        when = f"{epoch + timedelta(seconds=worst):%Y-%m-%d %H:%M} UTC"
    except OverflowError:
        when = "the requested time"
    raise InputError(
        f"{when} is {days:,.0f} days from the element epoch of {constellation.name} "
        f"({epoch:%Y-%m-%d %H:%M} UTC); SGP4 positions more than {EPOCH_HORIZON_DAYS:g} days "
        "from it are not an ephemeris: use elements of that time, or pass --force-epoch "
        "(a scenario: force_epoch = true in [time]) to propagate anyway"
    )


def positions_inertial(
    constellation: Constellation, grid: TimeGrid, *, coarse_step_s: float = DEFAULT_COARSE_STEP_S
) -> np.ndarray:
    """TEME positions (km), shape (N, T, 3); NaN where SGP4 fails for a satellite."""
    if constellation.is_tle:
        from skymesh.orbits.sgp4_propagation import propagate_tle_interpolated

        check_epoch_horizon(constellation, grid)
        jd0, fr0 = julian_date(grid.start)
        return propagate_tle_interpolated(
            constellation.satrecs, grid.offsets_s, jd0, fr0, coarse_step_s=coarse_step_s
        )
    t = epoch_offset_s(constellation, grid.start) + grid.offsets_s
    return circular_positions_inertial(constellation, t)


def positions_ecef(
    constellation: Constellation,
    grid: TimeGrid,
    *,
    coarse_step_s: float = DEFAULT_COARSE_STEP_S,
    out=None,
    serving_only: bool = False,
) -> np.ndarray:
    """Earth-fixed positions (km), shape (N, T, 3); NaN where SGP4 fails.

    With ``serving_only`` satellites that cannot carry traffic
    (:meth:`Constellation.in_service`) are NaN too, so links and routes skip them.

    The array returned is a transposed view of a time-major (T, N, 3) buffer
    for TLE sets (``pos[:, k]`` is then a contiguous (N, 3) block), an
    ordinary (N, T, 3) array for Walker shells. ``out``: optionally, an array
    returned by an earlier call with the same shape, whose memory is reused
    (streaming callers); the result is written there and returned.
    """
    if constellation.is_tle:
        check_epoch_horizon(constellation, grid)
        jd0, fr0 = julian_date(grid.start)
        pos = _tle_positions_ecef(
            constellation.satrecs, grid.offsets_s, jd0, fr0, coarse_step_s, out
        )
        if serving_only:
            pos[~constellation.in_service()] = np.nan
            pos[_below_service_altitude(pos)] = np.nan
        return pos
    r = positions_inertial(constellation, grid, coarse_step_s=coarse_step_s)
    jd, fr = grid.jd_fr
    pos = rotate_z(r, gmst_rad(jd, fr)[None, :])
    if out is None:
        return pos
    out[...] = pos
    return out


def _below_service_altitude(pos_km: np.ndarray) -> np.ndarray:
    """(N, T) bool: positions lower than ``MIN_SERVICE_PERIGEE_KM`` above the ellipsoid.

    A TLE satellite that decays during a long run (SGP4 drags it down) stops
    carrying traffic when it does. The ellipsoid's radius under the point is
    ``a (1 - f sin^2 lat)`` (geocentric latitude; good to ~0.1 km here).
    """
    r2 = np.einsum("ntk,ntk->nt", pos_km, pos_km)
    with np.errstate(invalid="ignore"):
        r = np.sqrt(r2)
        sin2 = pos_km[..., 2] ** 2 / r2
        return r - WGS84_A_KM * (1.0 - WGS84_F * sin2) < MIN_SERVICE_PERIGEE_KM


def _time_major_buffer(n_sat: int, n_t: int, out) -> np.ndarray:
    """A (T, N, 3) float64 buffer: ``out`` (an (N, T, 3) transposed view of one) or new."""
    if out is not None:
        buf = out.transpose(1, 0, 2)
        if buf.shape == (n_t, n_sat, 3) and buf.dtype == np.float64 and buf.flags.c_contiguous:
            return buf
        raise ValueError(
            "out must be an (N, T, 3) array returned by positions_ecef "
            "(a transposed view of a time-major float64 buffer)"
        )
    return np.empty((n_t, n_sat, 3))


def _tle_positions_ecef(satrecs, offsets_s, start_jd, start_fr, coarse_step_s, out):
    """Earth-fixed positions of a TLE set, (N, T, 3) view of a time-major buffer.

    :func:`skymesh.orbits.sgp4_propagation.interpolate_tle` (the one interpolation
    path: SGP4 every ``coarse_step_s`` seconds, knots rotated to Earth-fixed, cubic
    Hermite in between, in one compiled kernel) written into ``out``'s buffer.
    """
    from skymesh.orbits.sgp4_propagation import _check_offsets, interpolate_tle

    offsets = _check_offsets(offsets_s, coarse_step_s)
    buf = _time_major_buffer(len(satrecs), offsets.size, out)
    interpolate_tle(
        satrecs, offsets, start_jd, start_fr, coarse_step_s=coarse_step_s, earth_fixed=True, out=buf
    )
    return buf.transpose(1, 0, 2)


def positions_geodetic(constellation: Constellation, grid: TimeGrid, **kwargs):
    """WGS84 ``(lat_deg, lon_deg, alt_km)``, each shape (N, T)."""
    return ecef_to_geodetic(positions_ecef(constellation, grid, **kwargs))
