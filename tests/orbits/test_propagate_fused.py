"""The compiled Hermite kernel against scipy's CubicHermiteSpline, an independent implementation."""

import numpy as np
import pytest
from scipy.interpolate import CubicHermiteSpline

from skymesh.orbits.frames import gmst_rad, teme_to_ecef, teme_to_ecef_state
from skymesh.orbits.propagate import positions_ecef, positions_inertial
from skymesh.orbits.sgp4_propagation import _jd_fr_at, interpolate_tle, propagate_tle_teme
from skymesh.orbits.tle import load_tle_constellation
from skymesh.timebase import julian_date, time_grid


@pytest.fixture(scope="module")
def sats(starlink_tle_path):
    c, _ = load_tle_constellation(starlink_tle_path)
    return c.subset(np.arange(0, len(c), 30))  # ~300 satellites: one full tile and a part


def _spline_reference(c, offsets, jd0, fr0, step, earth_fixed):
    """SGP4 knots (rotated with frames.teme_to_ecef_state) through scipy's spline."""
    knots = offsets[0] + step * np.arange(int(np.ceil((offsets[-1] - offsets[0]) / step)) + 1)
    jd, fr = _jd_fr_at(jd0, fr0, knots)
    r, v, _ = propagate_tle_teme(c.satrecs, jd, fr)
    if earth_fixed:
        r, v = teme_to_ecef_state(r, v, gmst_rad(jd, fr)[None, :])
    return CubicHermiteSpline(knots - offsets[0], r, v, axis=1)(offsets - offsets[0])


@pytest.mark.parametrize("earth_fixed", [True, False])
def test_kernel_is_the_cubic_hermite_interpolant(sats, earth_fixed):
    jd0, fr0 = julian_date(sats.epoch.replace(microsecond=0))
    # irregular fine instants, off the knots, over 20 minutes
    rng = np.random.default_rng(3)
    offsets = np.sort(rng.choice(np.arange(1200) + 0.25, 400, replace=False))
    got = interpolate_tle(
        sats.satrecs, offsets, jd0, fr0, coarse_step_s=60.0, earth_fixed=earth_fixed
    )
    ref = _spline_reference(sats, offsets, jd0, fr0, 60.0, earth_fixed).transpose(1, 0, 2)
    assert got.shape == (len(offsets), len(sats), 3)
    fin = np.isfinite(ref).all(axis=-1)
    assert fin.mean() > 0.95
    assert np.array_equal(np.isfinite(got).all(axis=-1), fin)
    assert np.max(np.abs(got[fin] - ref[fin])) < 1e-8  # km: rounding only


def test_earth_fixed_and_teme_interpolation_agree_after_rotation(sats):
    """Interpolating in Earth-fixed (rotated knots) and in TEME then rotating exactly
    are two different approximations of the same motion: both within metres."""
    grid = time_grid(sats.epoch.replace(microsecond=0), 1800.0, 7.0)
    ecef = positions_ecef(sats, grid)
    jd, fr = grid.jd_fr
    via_teme = teme_to_ecef(positions_inertial(sats, grid), jd, fr)
    ok = np.isfinite(ecef).all(axis=-1) & np.isfinite(via_teme).all(axis=-1)
    assert ok.mean() > 0.95
    diff_m = np.linalg.norm(ecef[ok] - via_teme[ok], axis=-1) * 1e3
    assert diff_m.max() < 10.0


def test_a_failed_knot_blanks_both_intervals_it_bounds(sats):
    jd0, fr0 = julian_date(sats.epoch.replace(microsecond=0))
    offsets = np.arange(0.0, 300.0, 1.0)  # knots at 0, 60, ..., 300
    c = sats.subset(np.arange(3))
    good = interpolate_tle(c.satrecs, offsets, jd0, fr0)
    import skymesh.orbits.sgp4_propagation as sp

    real = sp.propagate_tle_teme

    def failing(arr, jd, fr):
        r, v, e = real(arr, jd, fr)
        r[1, 2] = np.nan  # satellite 1, knot at 120 s
        v[1, 2] = np.nan
        return r, v, e

    sp.propagate_tle_teme = failing
    try:
        bad = interpolate_tle(c.satrecs, offsets, jd0, fr0)
    finally:
        sp.propagate_tle_teme = real
    blank = (offsets >= 60.0) & (offsets < 180.0)  # 0 x NaN at 60 s: NaN too
    assert np.all(np.isnan(bad[blank, 1]))
    assert np.array_equal(bad[~blank, 1], good[~blank, 1])
    assert np.array_equal(bad[:, [0, 2]], good[:, [0, 2]])


def test_out_buffer_must_be_time_major(sats):
    jd0, fr0 = julian_date(sats.epoch.replace(microsecond=0))
    offsets = np.arange(0.0, 200.0, 1.0)
    buf = np.full((len(offsets), len(sats), 3), 7.0)
    got = interpolate_tle(sats.satrecs, offsets, jd0, fr0, out=buf)
    assert got is buf and not np.any(buf == 7.0)
    with pytest.raises(ValueError):
        interpolate_tle(sats.satrecs, offsets, jd0, fr0, out=np.empty((len(sats), len(offsets), 3)))
