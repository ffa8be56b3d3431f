"""Visibility reuse over a block of steps gives exactly the per-step answer."""

import numpy as np
import pytest

from skymesh.links.visibility import visible_pairs
from skymesh.links.windows import visible_pairs_windowed
from skymesh.orbits.presets import load_constellation
from skymesh.orbits.propagate import positions_ecef
from skymesh.timebase import time_grid


def _same(a, b):
    ka = sorted(zip(a[0].tolist(), a[1].tolist(), a[2].tolist()))
    kb = sorted(zip(b[0].tolist(), b[1].tolist(), b[2].tolist()))
    assert ka == kb
    ia = np.lexsort((a[1], a[0], a[2]))
    ib = np.lexsort((b[1], b[0], b[2]))
    assert np.allclose(a[3][ia], b[3][ib]) and np.allclose(a[4][ia], b[4][ib])


@pytest.mark.parametrize(
    "name,step_s,steps", [("starlink-shell1", 10, 30), ("starlink-gen1", 60, 10), ("oneweb", 1, 50)]
)
def test_windowed_visibility_equals_per_step(name, step_s, steps):
    c = load_constellation(name)
    pos = positions_ecef(c, time_grid("2026-01-01T00:00:00Z", step_s * (steps - 1), step_s))
    rng = np.random.default_rng(1)
    lat = np.degrees(np.arcsin(rng.uniform(-1, 1, 80)))
    lon = rng.uniform(-180, 180, 80)
    for el in (25.0, 10.0):
        _same(
            visible_pairs_windowed(pos, lat, lon, min_elevation_deg=el),
            visible_pairs(pos, lat, lon, min_elevation_deg=el),
        )


def test_windowed_visibility_with_missing_satellites():
    c = load_constellation("starlink-shell1")
    pos = positions_ecef(c, time_grid("2026-01-01T00:00:00Z", 200, 10))
    pos[::7, 5:] = np.nan  # satellites failing mid-block
    lat, lon = np.array([48.85, -8.84, 35.7]), np.array([2.35, 13.23, 51.4])
    _same(visible_pairs_windowed(pos, lat, lon), visible_pairs(pos, lat, lon))


def test_the_bound_is_needed():
    """Shrinking the reuse window's drift allowance must lose satellites (the test can fail)."""
    import skymesh.links.windows as w

    c = load_constellation("starlink-shell1")
    pos = positions_ecef(c, time_grid("2026-01-01T00:00:00Z", 600, 10))
    lat, lon = np.array([10.0, 40.0]), np.array([20.0, -70.0])
    full = visible_pairs(pos, lat, lon)
    saved = w.MARGIN_DEG
    try:
        w.MARGIN_DEG = -8.0
        cut = visible_pairs_windowed(pos, lat, lon)
    finally:
        w.MARGIN_DEG = saved
    assert len(cut[0]) < len(full[0])


@pytest.mark.parametrize("max_range_km", [None, 1500.0])
def test_compiled_exact_test_equals_numpy_bit_for_bit(monkeypatch, max_range_km):
    from skymesh.links import windows

    c = load_constellation("starlink-shell1")
    pos = positions_ecef(c, time_grid("2026-01-01T00:00:00Z", 290, 10))
    pos[7, 4] = np.nan  # an absent satellite
    rng = np.random.default_rng(3)
    lat = np.degrees(np.arcsin(rng.uniform(-1, 1, 60)))
    lon = rng.uniform(-180, 180, 60)
    compiled = visible_pairs_windowed(pos, lat, lon, max_range_km=max_range_km)
    monkeypatch.setattr(windows, "_exact_kernel", lambda: None)
    reference = visible_pairs_windowed(pos, lat, lon, max_range_km=max_range_km)
    assert len(compiled[0]) > 100
    for a, b in zip(compiled, reference):
        assert np.array_equal(a, b)
    assert not np.any((compiled[1] == 7) & (compiled[2] == 4))
