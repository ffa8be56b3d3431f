"""Hypatia's GSL rule: a maximum slant range instead of (or as well as) the elevation mask."""

import numpy as np
import pytest

from skymesh.constants import WGS84_A_KM
from skymesh.links.visibility import look_angles, visible_pairs
from skymesh.links.windows import visible_pairs_windowed
from skymesh.orbits.frames import geodetic_to_ecef
from skymesh.orbits.presets import load_constellation
from skymesh.orbits.propagate import positions_ecef
from skymesh.timebase import time_grid


def equator_ring(central_deg, radius_km):
    """Satellites over the equator at central angles (deg) east of the point (0, 0)."""
    th = np.deg2rad(np.asarray(central_deg, dtype=float))
    return np.stack([radius_km * np.cos(th), radius_km * np.sin(th), np.zeros_like(th)], -1)


def test_range_cap_by_hand():
    """At (0, 0) the ellipsoid normal is radial, so range and elevation follow from the
    law of cosines: d^2 = R^2 + r^2 - 2 R r cos(theta)."""
    big_r, r = WGS84_A_KM, WGS84_A_KM + 550.0
    target = np.array([999.0, 1001.0, 600.0, 2500.0])  # km
    theta = np.degrees(np.arccos((big_r**2 + r**2 - target**2) / (2 * big_r * r)))
    sats = equator_ring(theta, r)
    g, s, _, rng, el = visible_pairs(
        sats[:, None, :], [0.0], [0.0], min_elevation_deg=0.0, max_range_km=1000.0
    )
    assert s.tolist() == [0, 2]
    assert rng == pytest.approx(target[[0, 2]], abs=1e-6)
    # elevation by hand: sin e = (r^2 - R^2 - d^2) / (2 R d)
    sin_e = (r**2 - big_r**2 - target[[0, 2]] ** 2) / (2 * big_r * target[[0, 2]])
    assert el == pytest.approx(np.degrees(np.arcsin(sin_e)), abs=1e-9)
    # the 2500 km satellite is above a 1 deg mask (it is at 1.92 deg) but beyond the
    # range; with both rules a 30 deg mask also cuts the 999 km one (29.73 deg)
    assert visible_pairs(sats[:, None, :], [0.0], [0.0], min_elevation_deg=1.0)[1].tolist() == [
        0,
        1,
        2,
        3,
    ]
    both = visible_pairs(
        sats[:, None, :], [0.0], [0.0], min_elevation_deg=30.0, max_range_km=1000.0
    )
    assert both[1].tolist() == [2]


def test_range_rule_finds_every_pair_a_brute_force_finds():
    """The prefilters must never drop a pair: compare with all G x N ranges computed
    directly, for Hypatia's starlink-550 cone (1089.7 km) and a 2,000 km one."""
    c = load_constellation("starlink-shell1")
    pos = positions_ecef(c, time_grid("2026-01-01T00:00:00Z", 60, 20))
    rng = np.random.default_rng(5)
    lat = np.degrees(np.arcsin(rng.uniform(-1, 1, 60)))
    lon = rng.uniform(-180, 180, 60)
    ground = geodetic_to_ecef(lat, lon, 0.0)
    for cap in (1089.686, 2000.0):
        dist = np.linalg.norm(pos[None, :, :, :] - ground[:, None, None, :], axis=-1)
        el, _, _ = look_angles(pos, lat, lon)
        want = sorted(zip(*np.nonzero((dist <= cap) & (el >= 0.0))))
        for fn in (visible_pairs, visible_pairs_windowed):
            g, s, k, r, _ = fn(pos, lat, lon, min_elevation_deg=0.0, max_range_km=cap)
            assert sorted(zip(g.tolist(), s.tolist(), k.tolist())) == [
                tuple(map(int, x)) for x in want
            ]
            assert np.all(r <= cap)
