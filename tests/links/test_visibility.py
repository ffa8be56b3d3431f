"""Look angles against Skyfield's topocentric alt/az, and the visibility filter."""

import numpy as np
import pytest

from skymesh.links.visibility import look_angles, visible_pairs
from skymesh.orbits.presets import load_constellation
from skymesh.orbits.propagate import positions_ecef
from skymesh.timebase import time_grid


def test_look_angles_match_skyfield(starlink_tle_path):
    from skyfield.api import EarthSatellite, load, wgs84

    ts = load.timescale(builtin=True)
    lines = starlink_tle_path.read_text().splitlines()[: 3 * 40]
    from skymesh.orbits.tle import constellation_from_tle

    names, l1, l2 = lines[0::3], lines[1::3], lines[2::3]
    c = constellation_from_tle(names, l1, l2, name="t", source="t")
    grid = time_grid("2025-12-04T12:00:00Z", 600, 300)
    pos = positions_ecef(c, grid)
    lat, lon = np.array([51.5, -8.84]), np.array([-0.12, 13.23])
    el, az, rng = look_angles(pos, lat, lon)
    t = ts.from_datetimes(grid.datetimes())
    for g in range(2):
        where = wgs84.latlon(lat[g], lon[g])
        for i in range(0, 40, 7):
            sat = EarthSatellite(l1[i], l2[i], names[i], ts)
            alt_s, az_s, dist_s = (sat - where).at(t).altaz()
            assert np.allclose(el[g, i], alt_s.degrees, atol=0.05)
            assert np.allclose(rng[g, i], dist_s.km, atol=0.5)
            high = alt_s.degrees > -80  # azimuth is undefined only at the zenith/nadir
            d_az = (az[g, i] - az_s.degrees + 180) % 360 - 180
            assert np.all(np.abs(d_az[high]) < 0.1)


def test_overhead_satellite_is_at_90_deg_and_its_altitude_away():
    from skymesh.orbits.frames import geodetic_to_ecef

    sat = geodetic_to_ecef([10.0], [20.0], [550.0])
    el, _, rng = look_angles(sat, [10.0], [20.0])
    assert el[0, 0] == pytest.approx(90.0, abs=1e-6)
    assert rng[0, 0] == pytest.approx(550.0, abs=1e-6)


def test_visible_pairs_is_the_elevation_filter_of_look_angles():
    c = load_constellation("starlink-shell1")
    pos = positions_ecef(c, time_grid("2026-01-01T00:00:00Z", 60, 20))
    lat = np.array([48.85, -8.84, 0.0, 89.0])
    lon = np.array([2.35, 13.23, 0.0, 0.0])
    g, s, t, r, e = visible_pairs(pos, lat, lon, min_elevation_deg=25.0)
    el, _, rng = look_angles(pos, lat, lon)
    expected = np.argwhere(el >= 25.0)  # (g, s, t)
    got = np.stack([g, s, t], axis=1)
    assert sorted(map(tuple, expected)) == sorted(map(tuple, got))
    assert np.allclose(r, rng[g, s, t])
    assert np.allclose(e, el[g, s, t])
    assert not np.any(g == 3)  # 53 deg shell never rises 25 deg above a point at 89 N
    # results come sorted by time
    assert np.all(np.diff(t) >= 0)
