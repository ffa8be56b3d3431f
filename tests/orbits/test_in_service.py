"""Which satellites can carry traffic: decaying objects in a real snapshot cannot."""

import numpy as np

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
    assert np.all(np.isnan(pos[~serving])) and np.all(np.isfinite(pos[serving]))
    assert np.isfinite(positions_ecef(c, grid)[~serving]).all()


def test_walker_shells_all_serve():
    assert load_constellation("starlink-gen1").in_service().all()
