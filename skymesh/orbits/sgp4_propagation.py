"""Propagate TLE sets with sgp4's vectorised ``SatrecArray``, directly or interpolated.

Positions come out in TEME (km) or Earth-fixed (km). For fine time grids
(1 s steps over hours) SGP4 runs on a coarse grid (60 s by default) and the
fine instants are filled in by cubic Hermite interpolation through the SGP4
positions and velocities (:func:`interpolate_tle`, the one interpolation
path: :func:`skymesh.orbits.propagate.positions_ecef` and
:func:`propagate_tle_interpolated` both go through it). The motion is smooth
in TEME (inertial) and in the Earth-fixed frame alike (a uniform rotation of
it), so the interpolation error grows as ``step**4`` and stays at the metre
level for LEO at a 60 s step (tested against direct SGP4).

The interpolation and the TEME -> Earth-fixed rotation of the knots run in
one compiled, parallel numba kernel that writes straight into a time-major
(T, N, 3) output buffer. Its first call in a fresh environment compiles it
(about a second); ``cache=True`` keeps the compiled code in ``__pycache__``
next to this file, so later processes load it instead of compiling again.
"""

from __future__ import annotations

import numba
import numpy as np

from skymesh.constants import EARTH_ROTATION_RAD_S
from skymesh.errors import InputError
from skymesh.timebase import SECONDS_PER_DAY

_SAT_BLOCK = 256
"""Satellites per tile of the Hermite kernel: the tile's 12 knot numbers per satellite
(24 kB) stay in the L1 cache while the tile's fine instants are written."""


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


@numba.njit(parallel=True, cache=True, nogil=True)
def _hermite_kernel(
    r_km, v_km_s, cos_k, sin_k, omega_rad_s, h_s, first_j, interval, tau, out
):  # pragma: no cover - compiled
    """Fill ``out`` (T, N, 3) with cubic Hermite interpolants of rotated SGP4 knots.

    ``r_km``, ``v_km_s`` (N, K, 3): TEME knot states. ``cos_k``, ``sin_k`` (K,): of the
    sidereal angle at each knot (1 and 0 with ``omega_rad_s`` = 0 keep TEME). A knot
    rotated to the Earth-fixed frame is ``R r`` and ``R v - omega x r`` (as
    :func:`skymesh.orbits.frames.teme_to_ecef_state`). ``first_j`` (K,): first fine
    instant of each interval (``first_j[K-1]`` = T); ``interval``, ``tau`` (T,): each fine
    instant's interval and its position in it, in [0, 1]. Basis (cubic Hermite,
    Burden & Faires, *Numerical Analysis*, section 3.4): ``h00 = (1+2t)(1-t)^2``,
    ``h10 = t(1-t)^2``, ``h01 = t^2(3-2t)``, ``h11 = -t^2(1-t)``, the velocity terms
    scaled by the step ``h_s``. Tiles of (interval, block of satellites) run in
    parallel; NaN knots give NaN over both intervals they bound.
    """
    n_sat = r_km.shape[0]
    n_int = first_j.shape[0] - 1
    n_blocks = (n_sat + _SAT_BLOCK - 1) // _SAT_BLOCK
    for tile in numba.prange(n_int * n_blocks):
        i = tile // n_blocks
        s0 = (tile % n_blocks) * _SAT_BLOCK
        s1 = min(s0 + _SAT_BLOCK, n_sat)
        j0 = first_j[i]
        j1 = first_j[i + 1]
        if j1 <= j0:
            continue
        knots = np.empty((s1 - s0, 12))
        for a in range(2):
            k = i + a
            c = cos_k[k]
            s = sin_k[k]
            for n in range(s0, s1):
                x = r_km[n, k, 0]
                y = r_km[n, k, 1]
                px = c * x + s * y
                py = -s * x + c * y
                vx = c * v_km_s[n, k, 0] + s * v_km_s[n, k, 1]
                vy = -s * v_km_s[n, k, 0] + c * v_km_s[n, k, 1]
                vx += omega_rad_s * py
                vy -= omega_rad_s * px
                row = knots[n - s0]
                row[6 * a + 0] = px
                row[6 * a + 1] = py
                row[6 * a + 2] = r_km[n, k, 2]
                row[6 * a + 3] = h_s * vx
                row[6 * a + 4] = h_s * vy
                row[6 * a + 5] = h_s * v_km_s[n, k, 2]
        for j in range(j0, j1):
            t = tau[j]
            om = 1.0 - t
            w0 = (1.0 + 2.0 * t) * om * om
            w1 = t * om * om
            w2 = t * t * (3.0 - 2.0 * t)
            w3 = -t * t * om
            for n in range(s0, s1):
                row = knots[n - s0]
                for q in range(3):
                    out[j, n, q] = w0 * row[q] + w1 * row[3 + q] + w2 * row[6 + q] + w3 * row[9 + q]


def _check_offsets(offsets_s, coarse_step_s) -> np.ndarray:
    offsets = np.atleast_1d(np.asarray(offsets_s, dtype=float))
    if offsets.size and np.any(np.diff(offsets) <= 0):
        raise InputError("time offsets must be strictly increasing", field="offsets_s")
    if not np.isfinite(coarse_step_s) or coarse_step_s <= 0:
        raise InputError(
            f"coarse step must be a positive number of seconds, got {coarse_step_s}",
            field="coarse_step_s",
        )
    return offsets


def interpolate_tle(
    satrec_array,
    offsets_s,
    start_jd,
    start_fr,
    *,
    coarse_step_s: float = 60.0,
    earth_fixed: bool = True,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Positions (km) of a TLE set at ``start + offsets_s``, time-major: shape (T, N, 3).

    SGP4 runs every ``coarse_step_s`` seconds from the first offset to one coarse
    step at or past the last; each fine instant is the cubic Hermite interpolant
    through its two bracketing knots (positions, and velocities as derivatives),
    computed by the compiled kernel above, in the Earth-fixed frame
    (``earth_fixed``: knots rotated by GMST, IAU 1982, UT1 taken as UTC; velocity
    ``R v - omega x r``) or in TEME. If the fine grid has no more instants than the
    coarse one, SGP4 runs on the fine grid itself. NaN where SGP4 fails at a
    bracketing knot.

    Parameters
    ----------
    satrec_array : sgp4.api.SatrecArray
    offsets_s : array_like, shape (T,)
        Strictly increasing seconds from the start instant.
    start_jd, start_fr : float
        Julian date pair (UTC) of offset zero.
    coarse_step_s : float
        Step of the SGP4 runs (s).
    earth_fixed : bool
        Earth-fixed output (True) or TEME (False).
    out : ndarray (T, N, 3) float64, C-contiguous, optional
        Buffer to write into (returned).
    """
    from skymesh.orbits.frames import gmst_rad, rotate_z

    offsets = _check_offsets(offsets_s, coarse_step_s)
    n_t = offsets.size
    n_sat = len(satrec_array)
    if out is None:
        out = np.empty((n_t, n_sat, 3))
    elif out.shape != (n_t, n_sat, 3) or out.dtype != np.float64 or not out.flags.c_contiguous:
        raise ValueError(f"out must be a C-contiguous float64 array of shape {(n_t, n_sat, 3)}")
    t0 = offsets[0] if n_t else 0.0
    span = (offsets[-1] - t0) if n_t else 0.0
    n_coarse = int(np.ceil(span / coarse_step_s - 1e-9)) + 1
    if n_t <= n_coarse or n_coarse < 2:
        jd, fr = _jd_fr_at(start_jd, start_fr, offsets)
        r, _, _ = propagate_tle_teme(satrec_array, jd, fr)
        r_t = r.transpose(1, 0, 2)
        out[...] = rotate_z(r_t, gmst_rad(jd, fr)[:, None]) if earth_fixed else r_t
        return out
    h = float(coarse_step_s)
    knots = t0 + h * np.arange(n_coarse)
    jd_k, fr_k = _jd_fr_at(start_jd, start_fr, knots)
    r, v, _ = propagate_tle_teme(satrec_array, jd_k, fr_k)  # (N, K, 3) TEME
    if earth_fixed:
        theta = gmst_rad(jd_k, fr_k)
        cos_k, sin_k, omega = np.cos(theta), np.sin(theta), EARTH_ROTATION_RAD_S
    else:
        cos_k, sin_k, omega = np.ones(n_coarse), np.zeros(n_coarse), 0.0
    # Interval of each fine instant and its position within it, tau in [0, 1].
    x = (offsets - t0) / h
    interval = np.clip(np.floor(x).astype(np.int64), 0, n_coarse - 2)
    tau = x - interval
    first_j = np.searchsorted(interval, np.arange(n_coarse), side="left").astype(np.int64)
    _hermite_kernel(
        np.ascontiguousarray(r),
        np.ascontiguousarray(v),
        cos_k,
        sin_k,
        float(omega),
        h,
        first_j,
        interval,
        tau,
        out,
    )
    return out


def propagate_tle_interpolated(
    satrec_array, grid_offsets_s, start_jd, start_fr, coarse_step_s: float = 60.0
) -> np.ndarray:
    """TEME positions (km), shape (N, T, 3), at ``start + grid_offsets_s``.

    :func:`interpolate_tle` with ``earth_fixed=False`` (SGP4 every
    ``coarse_step_s`` seconds, cubic Hermite in between); the array is a
    transposed view of its time-major buffer. NaN where SGP4 fails at a
    bracketing coarse instant.
    """
    return interpolate_tle(
        satrec_array,
        grid_offsets_s,
        start_jd,
        start_fr,
        coarse_step_s=coarse_step_s,
        earth_fixed=False,
    ).transpose(1, 0, 2)
