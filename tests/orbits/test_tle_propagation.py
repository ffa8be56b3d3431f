"""TLE propagation: SGP4 through SatrecArray against Skyfield, and Hermite interpolation."""

import numpy as np
import pytest
from sgp4.api import WGS72, Satrec, SatrecArray

from skymesh.orbits.frames import teme_to_ecef
from skymesh.orbits.sgp4_propagation import propagate_tle_interpolated, propagate_tle_teme
from skymesh.orbits.tle import load_tle_constellation
from skymesh.timebase import time_grid


@pytest.fixture(scope="module")
def constellation(starlink_tle_path):
    con, _ = load_tle_constellation(starlink_tle_path)
    return con


@pytest.fixture(scope="module")
def raw_lines(starlink_tle_path):
    lines = starlink_tle_path.read_text().splitlines()
    return lines[1::3], lines[2::3]


def test_ecef_matches_skyfield_itrs_over_a_day(constellation, raw_lines):
    from skyfield.api import EarthSatellite, load
    from skyfield.framelib import itrs

    picks = np.arange(0, len(constellation), 30)  # 302 satellites
    grid = time_grid(constellation.epoch, 86400.0, 3600.0)  # hourly over a day
    jd, fr = grid.jd_fr
    sub = constellation.subset(picks)
    r_teme, v_teme, error = propagate_tle_teme(sub.satrecs, jd, fr)
    assert r_teme.shape == (len(picks), 25, 3) and v_teme.shape == r_teme.shape
    ecef = teme_to_ecef(r_teme, jd, fr)

    ts = load.timescale(builtin=True)
    t = ts.from_datetimes(grid.datetimes())
    worst = 0.0
    compared = 0
    for k, i in enumerate(picks):
        sat = EarthSatellite(raw_lines[0][i], raw_lines[1][i], ts=ts)
        ref = sat.at(t).frame_xyz(itrs).km.T  # (T, 3)
        ok = error[k] == 0
        assert np.all(np.isnan(ecef[k][~ok]))
        if ok.any():
            worst = max(worst, float(np.max(np.linalg.norm(ecef[k][ok] - ref[ok], axis=-1))))
            compared += ok.sum()
    assert compared > 0.95 * len(picks) * len(jd)
    assert worst < 1.0, f"worst ECEF difference {worst:.3f} km"


def test_errors_give_nan(raw_lines):
    l1, l2 = raw_lines[0][0], raw_lines[1][0]
    sat = Satrec.twoline2rv(l1, l2, WGS72)
    # 300 years after the epoch SGP4 reports an error (decayed / mean motion < 0)
    jd = np.array([sat.jdsatepoch, sat.jdsatepoch + 365.25 * 300])
    fr = np.array([sat.jdsatepochF, 0.0])
    r, v, err = propagate_tle_teme(SatrecArray([sat]), jd, fr)
    assert err[0, 0] == 0 and err[0, 1] != 0
    assert np.all(np.isfinite(r[0, 0])) and np.all(np.isnan(r[0, 1])) and np.all(np.isnan(v[0, 1]))
    # first instant against a direct single-record call
    e, rr, vv = sat.sgp4(sat.jdsatepoch, sat.jdsatepochF)
    assert e == 0 and np.allclose(r[0, 0], rr, atol=1e-9) and np.allclose(v[0, 0], vv, atol=1e-12)


def test_hermite_interpolation_within_10_m(constellation):
    picks = np.arange(0, len(constellation), 45)  # 201 satellites
    sub = constellation.subset(picks)
    grid = time_grid(constellation.epoch, 3600.0, 1.0)
    # start off the coarse grid on purpose: offsets 17 s .. 3617 s
    offsets = grid.offsets_s + 17.0
    jd0, fr0 = grid.jd_fr[0][0], grid.jd_fr[1][0]
    fr = fr0 + offsets / 86400.0
    direct, _, err = propagate_tle_teme(sub.satrecs, jd0 + np.floor(fr), fr - np.floor(fr))
    interp = propagate_tle_interpolated(sub.satrecs, offsets, jd0, fr0, coarse_step_s=60.0)
    assert interp.shape == direct.shape == (len(picks), len(offsets), 3)
    ok = np.all(err == 0, axis=1)
    assert ok.sum() > 190
    miss_m = np.linalg.norm(interp[ok] - direct[ok], axis=-1) * 1000.0
    assert miss_m.max() < 10.0
    # A much coarser step must show a real error (the check can fail).
    rough = propagate_tle_interpolated(sub.satrecs, offsets, jd0, fr0, coarse_step_s=600.0)
    assert np.nanmax(np.linalg.norm(rough[ok] - direct[ok], axis=-1)) * 1000.0 > 10.0


def test_short_grid_calls_sgp4_directly(constellation):
    sub = constellation.subset(np.arange(5))
    grid = time_grid(constellation.epoch, 120.0, 60.0)  # 3 instants
    jd, fr = grid.jd_fr
    direct, _, _ = propagate_tle_teme(sub.satrecs, jd, fr)
    got = propagate_tle_interpolated(sub.satrecs, grid.offsets_s, jd[0], fr[0])
    assert np.array_equal(got, direct)
