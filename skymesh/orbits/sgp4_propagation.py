"""Propagate TLE sets with sgp4's vectorised ``SatrecArray``, directly or interpolated.

Positions come out in TEME (km), satellites on axis 0 and time on axis 1;
convert to Earth-fixed with :func:`skymesh.orbits.frames.teme_to_ecef`.
For fine time grids (1 s steps over hours), :func:`propagate_tle_interpolated`
runs SGP4 on a coarse grid (60 s by default) and fills in the fine instants
with cubic Hermite splines through the SGP4 positions and velocities. TEME
is inertial, so the motion is smooth there; the interpolation error grows as
``step**4`` and stays at the metre level for LEO at a 60 s step.
"""

from __future__ import annotations

import numpy as np

from skymesh.errors import InputError
from skymesh.timebase import SECONDS_PER_DAY


def propagate_tle_teme(satrec_array, jd, fr):
    """SGP4 states of every satellite at Julian dates ``jd + fr`` (UTC).

    Parameters
    ----------
    satrec_array : sgp4.api.SatrecArray
    jd, fr : array_like, shape (T,)
        Julian date pair, as :attr:`skymesh.timebase.TimeGrid.jd_fr` gives.

    Returns
    -------
    r_km : ndarray, shape (N, T, 3)
        TEME positions (km); NaN where ``error != 0``.
    v_km_s : ndarray, shape (N, T, 3)
        TEME velocities (km/s); NaN where ``error != 0``.
    error : ndarray of int, shape (N, T)
        sgp4 error code (0: fine; 1-6: see ``sgp4.api.SGP4_ERRORS``).
    """
    jd = np.atleast_1d(np.asarray(jd, dtype=float))
    fr = np.atleast_1d(np.asarray(fr, dtype=float))
    jd, fr = np.broadcast_arrays(jd, fr)
    error, r, v = satrec_array.sgp4(np.ascontiguousarray(jd), np.ascontiguousarray(fr))
    bad = error != 0
    if bad.any():
        r[bad] = np.nan
        v[bad] = np.nan
    return r, v, error.astype(np.int64)


def _jd_fr_at(start_jd: float, start_fr: float, offsets_s: np.ndarray):
    """Julian date pair of ``start + offsets_s``, day fraction kept in [0, 1)."""
    fr = start_fr + offsets_s / SECONDS_PER_DAY
    whole = np.floor(fr)
    return start_jd + whole, fr - whole


def propagate_tle_interpolated(satrec_array, grid_offsets_s, start_jd, start_fr,
                               coarse_step_s: float = 60.0) -> np.ndarray:
    """TEME positions (km), shape (N, T, 3), at ``start + grid_offsets_s``.

    SGP4 runs every ``coarse_step_s`` seconds from the first offset to one
    coarse step at or past the last; positions at the fine offsets come from
    :class:`scipy.interpolate.CubicHermiteSpline` through the coarse
    positions with the SGP4 velocities as derivatives. If the fine grid has
    no more instants than the coarse one, SGP4 runs on the fine grid itself.
    NaN where SGP4 fails at a bracketing coarse instant.

    Parameters
    ----------
    satrec_array : sgp4.api.SatrecArray
    grid_offsets_s : array_like, shape (T,)
        Increasing seconds from the start instant.
    start_jd, start_fr : float
        Julian date pair (UTC) of offset zero.
    coarse_step_s : float
        Step of the SGP4 runs (s).
    """
    from scipy.interpolate import CubicHermiteSpline

    offsets = np.atleast_1d(np.asarray(grid_offsets_s, dtype=float))
    if offsets.size and np.any(np.diff(offsets) <= 0):
        raise InputError("time offsets must be strictly increasing", field="offsets_s")
    if not np.isfinite(coarse_step_s) or coarse_step_s <= 0:
        raise InputError(f"coarse step must be a positive number of seconds, got "
                         f"{coarse_step_s}", field="coarse_step_s")
    t0 = offsets[0] if offsets.size else 0.0
    span = (offsets[-1] - t0) if offsets.size else 0.0
    n_coarse = int(np.ceil(span / coarse_step_s - 1e-9)) + 1
    if offsets.size <= n_coarse or n_coarse < 2:
        r, _, _ = propagate_tle_teme(satrec_array, *_jd_fr_at(start_jd, start_fr, offsets))
        return r
    knots = t0 + coarse_step_s * np.arange(n_coarse)
    r, v, _ = propagate_tle_teme(satrec_array, *_jd_fr_at(start_jd, start_fr, knots))
    # Interpolate relative to t0 to keep the polynomial arguments small.
    spline = CubicHermiteSpline(knots - t0, r, v, axis=1)
    return spline(offsets - t0)
