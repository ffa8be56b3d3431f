"""+Grid ISLs: topology counts, link geometry, and the line-of-sight test."""

import numpy as np
import pytest

from skymesh.constants import WGS84_A_KM
from skymesh.links.isl import isl_lengths_km, plus_grid_kinds, plus_grid_pairs
from skymesh.orbits.presets import load_constellation
from skymesh.orbits.propagate import positions_ecef
from skymesh.timebase import time_grid


def test_shell1_plus_grid_has_four_links_per_satellite():
    c = load_constellation("starlink-shell1")
    pairs = plus_grid_pairs(c)
    assert len(pairs) == 2 * 1584  # 4 links each, 2 ends per link
    assert np.all(np.bincount(pairs.ravel(), minlength=1584) == 4)
    same_plane = c.plane[pairs[:, 0]] == c.plane[pairs[:, 1]]
    assert same_plane.sum() == 1584  # 72 rings of 22
    # intra-plane links: chord of 360/22 deg on a 550 km orbit
    pos = positions_ecef(c, time_grid("2026-01-01T00:00:00Z"))[:, 0]
    length = isl_lengths_km(pos, pairs)
    chord = 2 * (WGS84_A_KM + 550) * np.sin(np.pi / 22)
    assert np.allclose(length[same_plane], chord, rtol=1e-9)
    # inter-plane links never exceed the chord between adjacent planes at the equator plus a slot
    assert np.all(length[~same_plane] < chord)


def test_walker_star_has_no_links_across_its_seam():
    c = load_constellation("oneweb")
    pairs = plus_grid_pairs(c)
    planes = {(int(a), int(b)) for a, b in zip(c.plane[pairs[:, 0]], c.plane[pairs[:, 1]])}
    assert (0, 17) not in planes and (17, 0) not in planes
    assert len(pairs) == 18 * 36 + 17 * 36


def test_gen1_has_no_links_between_shells():
    c = load_constellation("starlink-gen1")
    pairs = plus_grid_pairs(c)
    assert np.all(c.shell[pairs[:, 0]] == c.shell[pairs[:, 1]])


def test_line_of_sight_blocked_by_the_earth():
    r = WGS84_A_KM + 550.0
    # two satellites 0 and 150 deg apart on the equator: the chord dips to r cos(75 deg)
    a = np.array([r, 0, 0])
    b = np.array([r * np.cos(np.deg2rad(150)), r * np.sin(np.deg2rad(150)), 0])
    # and two 20 deg apart: chord stays at r cos(10 deg), far above 80 km
    c = np.array([r * np.cos(np.deg2rad(20)), r * np.sin(np.deg2rad(20)), 0])
    pos = np.stack([a, b, c])
    got = isl_lengths_km(pos, np.array([[0, 1], [0, 2]]), max_range_km=None)
    assert np.isnan(got[0])
    assert got[1] == pytest.approx(2 * r * np.sin(np.deg2rad(10)))
    # the clearance threshold itself: pick an angle whose chord midpoint is 79 km / 81 km up
    for h, blocked in [(79.0, True), (81.0, False)]:
        half = np.arccos((WGS84_A_KM + h) / r)
        p = np.stack(
            [[r * np.cos(half), r * np.sin(half), 0], [r * np.cos(half), -r * np.sin(half), 0]]
        )
        out = isl_lengths_km(p, np.array([[0, 1]]), max_range_km=None)
        assert np.isnan(out[0]) == blocked


def test_max_range_cuts_long_links():
    pos = np.array([[7000.0, 0, 0], [7000.0, 6000.0, 0]])
    assert np.isnan(isl_lengths_km(pos, np.array([[0, 1]]), max_range_km=5400)[0])
    assert isl_lengths_km(pos, np.array([[0, 1]]), max_range_km=None)[0] == pytest.approx(6000)


def test_grid_kinds_of_presets_and_real_sets(shared_data):
    assert plus_grid_kinds(load_constellation("starlink-gen1")) == {
        s: "walker design" for s in range(5)
    }
    # real shells have gaps and spares: every one falls back to the nearest-argument rule
    real = load_constellation(shared_data / "starlink_tle_20251204.txt")
    assert set(plus_grid_kinds(real).values()) == {"nearest"}


@pytest.mark.parametrize("max_range_km", [None, 5400.0, 1500.0])
def test_compiled_lengths_equal_the_numpy_arithmetic_bit_for_bit(monkeypatch, max_range_km):
    from skymesh.links import isl as isl_mod
    from skymesh.orbits.presets import load_constellation as load
    from skymesh.orbits.propagate import positions_ecef as pos_ecef
    from skymesh.timebase import time_grid as grid

    c = load("starlink-shell1")
    pos = pos_ecef(c, grid("2026-01-01T00:00:00Z", 40, 10))
    pos[3, 2] = np.nan  # an absent satellite
    pairs = isl_mod.plus_grid_pairs(c)
    compiled = isl_mod.isl_lengths_km(pos, pairs, max_range_km=max_range_km)
    monkeypatch.setattr(isl_mod, "_lengths_kernel", lambda: None)
    reference = isl_mod.isl_lengths_km(pos, pairs, max_range_km=max_range_km)
    assert np.array_equal(compiled, reference, equal_nan=True)
    assert np.isnan(compiled[(pairs == 3).any(axis=1), 2]).all()
    if max_range_km == 1500.0:
        assert np.isnan(compiled).any() and not np.isnan(compiled).all()
