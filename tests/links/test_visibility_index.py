"""The k-d tree prefilter of visible_pairs / visible_pairs_windowed against the dense test.

The reference evaluates every (ground, satellite, step) pair with the elevation
condition written out (``(d . up) >= sin(mask) |d|``, ``|d| <= max range``), no
prefilter at all, on random geometry: poles, the antimeridian, satellites at
different altitudes, failed (NaN) satellites, per-ground masks, range caps.
"""

import numpy as np
import pytest

import skymesh.links.visibility as vis
from skymesh.links.visibility import local_frames, max_slant_range_km, visible_pairs
from skymesh.links.windows import visible_pairs_windowed
from skymesh.orbits.frames import geodetic_to_ecef
from skymesh.orbits.presets import load_constellation
from skymesh.orbits.propagate import positions_ecef
from skymesh.timebase import time_grid


def _dense(sat, lat, lon, alt, mask_deg, max_range_km):
    """(g, s, t) of every pair in view, sorted by time, satellite, ground; and ranges."""
    ground = geodetic_to_ecef(lat, lon, alt)  # (G, 3)
    _, _, up = local_frames(lat, lon)
    d = sat[None, :, :, :] - ground[:, None, None, :]  # (G, N, T, 3)
    with np.errstate(invalid="ignore"):
        rng = np.sqrt((d * d).sum(axis=-1))
        u = (d * up[:, None, None, :]).sum(axis=-1)
        mask = np.broadcast_to(np.asarray(mask_deg, dtype=float), (len(lat),))
        ok = u >= np.sin(np.deg2rad(mask))[:, None, None] * rng
        if max_range_km is not None:
            ok &= rng <= max_range_km
    g, s, t = np.nonzero(ok)
    order = np.lexsort((g, s, t))
    return g[order], s[order], t[order], rng[g, s, t][order]


def _random_case(seed, n_ground):
    rng = np.random.default_rng(seed)
    c = load_constellation("starlink-shell1")
    pos = positions_ecef(c, time_grid("2026-01-01T03:00:00Z", 180, 60))  # (1584, 4, 3)
    # extra satellites at random directions and altitudes 300-2,000 km
    n_extra = 300
    v = rng.normal(size=(n_extra, 1, 3))
    v /= np.linalg.norm(v, axis=-1, keepdims=True)
    extra = v * (6378.137 + rng.uniform(300.0, 2000.0, (n_extra, 1, 1)))
    extra = np.repeat(extra, pos.shape[1], axis=1)
    sat = np.concatenate([pos, extra], axis=0).copy()
    sat[::61, 2] = np.nan  # failed satellites at one step
    sat[5] = np.nan  # one failed throughout
    lat = np.degrees(np.arcsin(rng.uniform(-1, 1, n_ground)))
    lon = rng.uniform(-180, 180, n_ground)
    special_lat = [90.0, -90.0, 0.0, 0.0, 53.0, -53.0, 89.99, -89.99]
    special_lon = [0.0, 123.0, 180.0, -180.0, 179.99, -179.99, 180.0, -180.0]
    lat[: len(special_lat)] = special_lat
    lon[: len(special_lon)] = special_lon
    alt = rng.uniform(-0.4, 4.0, n_ground)
    return rng, sat, lat, lon, alt


@pytest.mark.parametrize("case", ["mask25", "mask0", "per_ground", "range_cap", "range_no_mask"])
def test_indexed_visibility_equals_the_dense_test(case):
    rng, sat, lat, lon, alt = _random_case(11, 250)
    mask, cap = {
        "mask25": (25.0, None),
        "mask0": (0.0, None),
        "per_ground": (rng.choice([0.0, 10.0, 25.0, 40.0, 80.0], len(lat)), None),
        "range_cap": (np.where(rng.random(len(lat)) < 0.5, 0.0, 25.0), 1089.0),
        "range_no_mask": (-90.0, 2500.0),  # Hypatia's range rule alone, through the Earth
    }[case]
    g, s, t, r, e = visible_pairs(sat, lat, lon, alt, min_elevation_deg=mask, max_range_km=cap)
    rg, rs, rt, rr = _dense(sat, lat, lon, alt, mask, cap)
    assert len(rg) > 100
    assert np.array_equal(g, rg) and np.array_equal(s, rs) and np.array_equal(t, rt)
    assert np.allclose(r, rr, rtol=1e-12, atol=0.0)
    assert np.all(np.isfinite(e))
    # the poles and the antimeridian points see something (a 53 deg shell + random sats)
    assert set(range(8)) & set(g.tolist())
    # windowed: the same pairs, ordered by step, ground point, satellite
    wg, ws, wt, wr, _ = visible_pairs_windowed(
        sat, lat, lon, alt, min_elevation_deg=mask, max_range_km=cap
    )
    order = np.lexsort((rs, rg, rt))
    assert np.array_equal(wg, rg[order]) and np.array_equal(ws, rs[order])
    assert np.array_equal(wt, rt[order])
    assert np.allclose(wr, rr[order], rtol=1e-12, atol=0.0)


def test_the_geodetic_margin_is_needed():
    """Without the margin for the geodetic vertical the ball radius is too short at a
    0 deg mask and pairs near the horizon are lost (the comparison can fail)."""
    _, sat, lat, lon, alt = _random_case(12, 400)
    full = visible_pairs(sat, lat, lon, alt, min_elevation_deg=0.0)
    saved = vis.RANGE_FLOOR_MARGIN_DEG
    try:
        vis.RANGE_FLOOR_MARGIN_DEG = -1.0
        cut = visible_pairs(sat, lat, lon, alt, min_elevation_deg=0.0)
    finally:
        vis.RANGE_FLOOR_MARGIN_DEG = saved
    assert len(cut[0]) < len(full[0])


def test_max_slant_range_by_hand():
    r_earth = 6378.137
    # 550 km, 25 deg: sqrt(6928.137^2 - (6378.137 cos 25)^2) - 6378.137 sin 25
    want = np.sqrt(6928.137**2 - (r_earth * np.cos(np.radians(25))) ** 2) - r_earth * np.sin(
        np.radians(25)
    )
    assert max_slant_range_km(r_earth + 550, r_earth, r_earth, 25.0) == pytest.approx(want)
    assert 1115.0 < want < 1130.0  # the ~1,120 km of a 25 deg Starlink cone
    # 0 deg: the horizon distance sqrt(r^2 - R^2)
    assert max_slant_range_km(r_earth + 550, r_earth, r_earth, 0.0) == pytest.approx(
        np.sqrt((r_earth + 550) ** 2 - r_earth**2)
    )
    # 90 deg: straight up; -90 deg: through the Earth's centre
    assert max_slant_range_km(r_earth + 550, r_earth, r_earth, 90.0) == pytest.approx(550.0)
    assert max_slant_range_km(r_earth + 550, r_earth, r_earth, -90.0) == pytest.approx(
        2 * r_earth + 550
    )


def test_visibility_benchmark_agrees_small(starlink_tle_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    import bench_visibility

    f = bench_visibility.run(
        starlink_tle_path, steps=1, ground_counts=(20, 60), out_dir=None, verbose=False
    )
    assert f["identical"]
    assert len(f["rows"]) == 6 and all(r["pairs_per_step"] > 0 for r in f["rows"])


@pytest.mark.parametrize("n", [1000, 200_000])  # numpy path, then the compiled one
def test_order_pairs_sorts_by_major_then_minor(n):
    rng = np.random.default_rng(n)
    key = rng.choice(4000 * 3000, n, replace=False)  # distinct pairs
    major, minor = np.divmod(key, 3000)
    order = vis.order_pairs(major, minor, 4000, 3000)
    assert np.array_equal(order, np.lexsort((minor, major)))
