"""Frames against Skyfield (an independent implementation) and round trips."""

from datetime import datetime, timezone

import numpy as np
import pytest

from skymesh.orbits.frames import ecef_to_geodetic, geodetic_to_ecef, gmst_rad
from skymesh.timebase import julian_date, time_grid


def test_gmst_matches_skyfield():
    from skyfield.api import load

    ts = load.timescale(builtin=True)
    for when in ["2000-01-01T12:00:00", "2022-09-23T06:30:00", "2026-01-01T00:00:00"]:
        dt = datetime.fromisoformat(when).replace(tzinfo=timezone.utc)
        jd, fr = julian_date(dt)
        ours = np.rad2deg(gmst_rad(jd, fr)) / 15.0
        theirs = ts.from_datetime(dt).gmst
        # UT1 vs UTC differ by < 0.9 s -> < 1e-5 h; allow that
        assert abs((ours - theirs + 12) % 24 - 12) < 2e-4


def test_geodetic_round_trip_and_known_point():
    lat = np.array([0.0, 45.0, -33.9, 89.9, -90.0, 51.5])
    lon = np.array([0.0, 90.0, 151.2, -179.0, 0.0, -0.12])
    alt = np.array([0.0, 550.0, 0.1, 1200.0, 3.0, 0.0])
    xyz = geodetic_to_ecef(lat, lon, alt)
    la, lo, al = ecef_to_geodetic(xyz)
    assert np.allclose(la, lat, atol=1e-8)
    assert np.allclose(al, alt, atol=1e-6)
    ok = np.abs(lat) < 90
    assert np.allclose(lo[ok], lon[ok], atol=1e-8)
    # equator / prime meridian is one equatorial radius out along x
    assert np.allclose(xyz[0], [6378.137, 0, 0])
    # the pole is one polar radius up z
    assert np.isclose(np.linalg.norm(geodetic_to_ecef(90.0, 0.0)), 6356.752314, atol=1e-5)


def test_time_grid_counts_and_errors():
    from skymesh.errors import InputError

    assert len(time_grid("2026-01-01T00:00:00Z", 60, 1)) == 61
    assert len(time_grid("2026-01-01T00:00:00Z", 0, 1)) == 1
    with pytest.raises(InputError, match="empty"):
        time_grid("2026-01-01T00:00:00Z", -5, 1)
    with pytest.raises(InputError, match="ISO 8601"):
        time_grid("yesterday", 5, 1)
    jd, fr = time_grid("2026-01-01T23:59:30Z", 60, 30).jd_fr
    assert np.allclose(jd + fr, 2461041.5 + np.array([86370, 86400, 86430]) / 86400)
