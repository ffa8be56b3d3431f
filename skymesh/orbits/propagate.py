"""Positions of every satellite at every instant of a time grid, in one call.

Walker shells propagate in closed form; TLE sets through sgp4's
``SatrecArray`` at a coarse step with cubic Hermite interpolation in
between (see :mod:`skymesh.orbits.sgp4_propagation`). Output arrays are
(satellites, times, 3) in km, Earth-fixed (see :mod:`skymesh.orbits.frames`
for what "Earth-fixed" neglects).
"""

from __future__ import annotations

import numpy as np

from skymesh.orbits.constellation import Constellation
from skymesh.orbits.frames import ecef_to_geodetic, gmst_rad, rotate_z
from skymesh.orbits.walker import circular_positions_inertial, epoch_offset_s
from skymesh.timebase import TimeGrid, julian_date

DEFAULT_COARSE_STEP_S = 60.0
"""SGP4 is called every this many seconds; finer steps are interpolated (error < 1 m)."""


def positions_inertial(constellation: Constellation, grid: TimeGrid, *,
                       coarse_step_s: float = DEFAULT_COARSE_STEP_S) -> np.ndarray:
    """TEME positions (km), shape (N, T, 3); NaN where SGP4 fails for a satellite."""
    if constellation.is_tle:
        from skymesh.orbits.sgp4_propagation import propagate_tle_interpolated
        jd0, fr0 = julian_date(grid.start)
        return propagate_tle_interpolated(constellation.satrecs, grid.offsets_s, jd0, fr0,
                                          coarse_step_s=coarse_step_s)
    t = epoch_offset_s(constellation, grid.start) + grid.offsets_s
    return circular_positions_inertial(constellation, t)


def positions_ecef(constellation: Constellation, grid: TimeGrid, *,
                   coarse_step_s: float = DEFAULT_COARSE_STEP_S) -> np.ndarray:
    """Earth-fixed positions (km), shape (N, T, 3); NaN where SGP4 fails."""
    r = positions_inertial(constellation, grid, coarse_step_s=coarse_step_s)
    jd, fr = grid.jd_fr
    return rotate_z(r, gmst_rad(jd, fr)[None, :])


def positions_geodetic(constellation: Constellation, grid: TimeGrid, **kwargs):
    """WGS84 ``(lat_deg, lon_deg, alt_km)``, each shape (N, T)."""
    return ecef_to_geodetic(positions_ecef(constellation, grid, **kwargs))
