"""Serving satellite held per slot; many terminals at once equal one at a time."""

import numpy as np
import pytest

from skymesh.access.terminal_path import hold_serving, terminal_path, terminals_path
from skymesh.ground.gateways import gateways_from_records
from skymesh.ground.pops import pops_from_records
from skymesh.orbits.presets import load_constellation
from skymesh.timebase import time_grid


def test_hold_serving_by_hand():
    # Steps 0..5; slots [0,0,0,1,1,1]. Sat 7 is highest at step 0 but leaves after step 1;
    # sat 3 is in view throughout; at step 3 (new slot) sat 9 is highest.
    vis = [(0, 7, 80), (0, 3, 50), (1, 7, 60), (1, 3, 55), (2, 3, 56),
           (3, 3, 57), (3, 9, 70), (4, 3, 58), (4, 9, 75), (5, 3, 59), (5, 9, 74)]
    step, sat, el = (np.array(x) for x in zip(*vis))
    serving, forced = hold_serving(sat, step, el.astype(float), np.array([0, 0, 0, 1, 1, 1]))
    assert serving.tolist() == [7, 7, 3, 9, 9, 9]
    assert forced.tolist() == [False, False, True, False, False, False]
    serving, _ = hold_serving(sat[:0], step[:0], el[:0], np.array([0, 0]))
    assert serving.tolist() == [-1, -1]


@pytest.fixture(scope="module")
def setup():
    c = load_constellation("starlink-shell1")
    gw = gateways_from_records([dict(name="Redmond, WA", lat=47.67, lon=-122.12, country="US"),
                                dict(name="Madrid GW", lat=40.3, lon=-3.9, country="ES")])
    pops = pops_from_records([dict(name="Seattle", lat=47.61, lon=-122.33, country="US"),
                              dict(name="Madrid", lat=40.42, lon=-3.70, country="ES")])
    return c, time_grid("2026-01-01T00:00:00Z", 40, 2), gw, pops


def test_many_terminals_equal_one_at_a_time(setup):
    c, grid, gw, pops = setup
    lat, lon, cc = [47.6, 40.4, 45.0], [-122.3, -3.7, -100.0], ["US", "ES", "US"]
    many = terminals_path(c, grid, lat, lon, cc, gw, pops)
    for g in range(3):
        one = terminal_path(c, grid, lat[g], lon[g], cc[g], gw, pops)
        for key in ("serving_sat", "gateway", "pop", "isl_hops"):
            np.testing.assert_array_equal(many[key][:, g], one[key])
        np.testing.assert_allclose(many["rtt_ms"][:, g], one["rtt_ms"])
    # Madrid's terminal exits in Spain to the Madrid PoP; Seattle's at Redmond.
    assert set(many["pop"][:, 1]) == {1} and set(many["gateway"][:, 0]) == {0}
    # The forced PoP is honoured.
    fixed = terminal_path(c, grid, 40.4, -3.7, "ES", gw, pops, terminal_pop=0)
    assert set(fixed["pop"][fixed["gateway"] >= 0]) == {0}
