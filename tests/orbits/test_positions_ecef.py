"""positions_ecef for TLE sets: Earth-fixed Hermite interpolation against direct SGP4."""

import numpy as np
import pytest

from skymesh.orbits.frames import gmst_rad, rotate_z, teme_to_ecef
from skymesh.orbits.presets import load_constellation
from skymesh.orbits.propagate import positions_ecef, positions_inertial
from skymesh.orbits.sgp4_propagation import propagate_tle_teme
from skymesh.orbits.tle import load_tle_constellation
from skymesh.timebase import time_grid


@pytest.fixture(scope="module")
def tle_subset(starlink_tle_path):
    c, _ = load_tle_constellation(starlink_tle_path)
    return c.subset(np.arange(0, len(c), 45))  # ~200 satellites


def _direct_ecef(c, grid):
    """Reference: SGP4 at every instant, then TEME -> Earth-fixed by GMST."""
    jd, fr = grid.jd_fr
    r, _, err = propagate_tle_teme(c.satrecs, jd, fr)
    return teme_to_ecef(r, jd, fr), np.all(err == 0, axis=1)


def test_interpolated_earth_fixed_positions_within_10_m_of_direct_sgp4(tle_subset):
    # 1 s steps over an hour, starting off the coarse grid (17 s after the epoch)
    grid = time_grid(tle_subset.epoch.replace(microsecond=0), 3600.0, 1.0)
    grid = time_grid(grid.datetimes()[17], 3600.0, 1.0)
    pos = positions_ecef(tle_subset, grid)
    ref, ok = _direct_ecef(tle_subset, grid)
    assert pos.shape == ref.shape == (len(tle_subset), len(grid), 3)
    assert ok.sum() > 190
    miss_m = np.linalg.norm(pos[ok] - ref[ok], axis=-1) * 1000.0
    assert miss_m.max() < 10.0
    # the check can fail: a 600 s coarse step is far off
    rough = positions_ecef(tle_subset, grid, coarse_step_s=600.0)
    assert np.nanmax(np.linalg.norm(rough[ok] - ref[ok], axis=-1)) * 1000.0 > 10.0


def test_knots_are_exact_and_short_grids_call_sgp4_directly(tle_subset):
    grid = time_grid(tle_subset.epoch.replace(microsecond=0), 600.0, 10.0)
    pos = positions_ecef(tle_subset, grid, coarse_step_s=60.0)
    ref, ok = _direct_ecef(tle_subset, grid)
    on_knot = (grid.offsets_s % 60.0) == 0.0
    assert np.allclose(pos[ok][:, on_knot], ref[ok][:, on_knot], rtol=0, atol=1e-9)
    few = time_grid(tle_subset.epoch.replace(microsecond=0), 120.0, 60.0)  # 3 instants
    got = positions_ecef(tle_subset, few)
    ref_few, ok_few = _direct_ecef(tle_subset, few)
    assert np.allclose(got[ok_few], ref_few[ok_few], rtol=0, atol=1e-9)


def test_out_buffer_is_reused_and_checked(tle_subset):
    grid = time_grid(tle_subset.epoch.replace(microsecond=0), 300.0, 1.0)
    first = positions_ecef(tle_subset, grid)
    later = time_grid(grid.datetimes()[-1], 300.0, 1.0)
    fresh = positions_ecef(tle_subset, later)
    again = positions_ecef(tle_subset, later, out=first)
    assert np.shares_memory(again, first)
    assert np.array_equal(again, fresh, equal_nan=True)
    with pytest.raises(ValueError):
        positions_ecef(tle_subset, later, out=np.empty((len(tle_subset), 301, 3)))
    # a contiguous (N, 3) block per instant
    assert again[:, 5].flags.c_contiguous


def test_walker_positions_are_the_rotated_inertial_ones():
    c = load_constellation("starlink-shell1")
    grid = time_grid("2026-01-01T00:00:00Z", 600.0, 30.0)
    pos = positions_ecef(c, grid)
    jd, fr = grid.jd_fr
    ref = rotate_z(positions_inertial(c, grid), gmst_rad(jd, fr)[None, :])
    assert np.array_equal(pos, ref)
    assert np.allclose(np.linalg.norm(pos, axis=-1), 6378.137 + 550.0, atol=1e-6)
