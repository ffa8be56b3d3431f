"""visible_pairs (prefiltered) against the plain elevation filter of look_angles."""

import numpy as np
import pytest

from skymesh.links.visibility import look_angles, visible_pairs
from skymesh.orbits.presets import load_constellation
from skymesh.orbits.propagate import positions_ecef
from skymesh.timebase import time_grid


@pytest.mark.parametrize("min_el", [0.0, 25.0, 80.0])
def test_worldwide_points_masks_and_failed_satellites(min_el):
    rng = np.random.default_rng(5)
    c = load_constellation("starlink-shell1")
    pos = positions_ecef(c, time_grid("2026-01-01T07:00:00Z", 120, 60)).copy()
    pos[::97, 1] = np.nan  # failed propagation: never in view
    lat = np.degrees(np.arcsin(rng.uniform(-1, 1, 300)))
    lon = rng.uniform(-180, 180, 300)
    alt = rng.uniform(0.0, 5.0, 300)  # up to 5 km above the ellipsoid
    g, s, t, r, e = visible_pairs(pos, lat, lon, alt, min_elevation_deg=min_el)
    el, _, rng_km = look_angles(pos, lat, lon, alt)
    expected = np.argwhere(np.nan_to_num(el, nan=-99.0) >= min_el)  # (g, s, t)
    got = np.stack([g, s, t], axis=1)
    assert len(expected) > 0
    assert sorted(map(tuple, expected)) == sorted(map(tuple, got))
    assert np.allclose(r, rng_km[g, s, t], rtol=1e-12)
    assert np.allclose(e, el[g, s, t], atol=1e-9)
    order = np.lexsort((g, s, t))
    assert np.array_equal(order, np.arange(len(g)))  # sorted by time, satellite, ground
