"""Which satellites can carry traffic: decaying objects in a real snapshot cannot."""

import numpy as np

from skymesh.orbits.frames import ecef_to_geodetic
from skymesh.orbits.presets import load_constellation
from skymesh.orbits.propagate import positions_ecef
from skymesh.timebase import time_grid


def test_real_snapshot_leaves_out_the_decaying_objects(starlink_tle_path):
    c = load_constellation(str(starlink_tle_path))
    serving = c.in_service()
    # shared/data/README.md: "Another 19 objects have perigee below 300 km or e > 0.01
    # (deorbiting or decaying)" in the 9,042-object 2025-12-04 snapshot.
    assert len(c) == 9042 and int((~serving).sum()) == 19
    grid = time_grid(c.epoch, 60, 30)
    pos = positions_ecef(c, grid, serving_only=True)
    raw = positions_ecef(c, grid)
    assert np.isfinite(raw).all()
    assert np.all(np.isnan(pos[~serving]))
    # the rest serve while at least 300 km above the ellipsoid
    alt = ecef_to_geodetic(raw[serving])[2]
    ok = np.isfinite(pos[serving][..., 0])
    assert np.all(ok[alt > 300.5]) and not np.any(ok[alt < 299.5])
    assert ok.mean() > 0.99


def test_walker_shells_all_serve():
    assert load_constellation("starlink-gen1").in_service().all()


def test_a_satellite_decaying_during_the_run_stops_serving_when_low(starlink_tle_path):
    """STARLINK-36050 (mean altitude 327 km at epoch) re-enters: SGP4 drags it from ~300 km
    to ~180 km within a day; it serves only while 300 km or more above the ellipsoid."""
    c = load_constellation(str(starlink_tle_path))
    i = int(np.flatnonzero(c.sat_names == "STARLINK-36050")[0])
    assert c.in_service()[i]
    grid = time_grid(c.epoch, 86400, 300)
    alt = ecef_to_geodetic(positions_ecef(c, grid)[i])[2]
    served = np.isfinite(positions_ecef(c, grid, serving_only=True)[i, :, 0])
    assert served.any() and not served.all()
    assert np.all(served[alt > 300.5]) and not np.any(served[alt < 299.5])
