"""User beams: candidate pairs from geometry, and McNaughton packing of beam time."""

import numpy as np
import pytest

from skymesh.capacity.beams import beam_pairs, hop_schedule
from skymesh.errors import InputError
from skymesh.links.budget import STARLINK_USER_DOWNLINK_KU, link_capacity_mbps
from skymesh.orbits.frames import geodetic_to_ecef


def sat_above(lat, lon, alt_km):
    return geodetic_to_ecef(np.array([lat]), np.array([lon]), np.array([alt_km])).reshape(1, 3)


def test_nadir_pair_matches_link_budget():
    """A satellite 550 km above a cell centre: range 550 km, elevation 90 deg, capacity the
    Ku budget's at that geometry; a cell 20 deg of longitude away at 50 N (~1,430 km) is
    below the 25 deg mask (coverage radius 941 km at 550 km, spherical-Earth formula)."""
    sat = sat_above(50.0, 30.0, 550.0)
    p = beam_pairs(sat, [50.0, 50.0], [30.0, 50.0])
    assert p["cell"].tolist() == [0] and p["sat"].tolist() == [0]
    assert p["range_km"][0] == pytest.approx(550.0, abs=0.5)
    assert p["elevation_deg"][0] == pytest.approx(90.0, abs=0.1)
    want = link_capacity_mbps(
        np.array([550.0]),
        np.array([90.0]),
        STARLINK_USER_DOWNLINK_KU,
        np.array([50.0]),
        np.array([30.0]),
    )
    assert p["capacity_mbps"][0] == pytest.approx(want[0], rel=1e-3)


def test_fixed_capacity_and_unusable_satellites():
    sat = np.vstack([sat_above(0.0, 0.0, 550.0), sat_above(0.0, 1.0, 550.0)])
    p = beam_pairs(sat, [0.0], [0.0], beam_capacity_mbps=1000.0, sat_usable=[False, True])
    assert p["sat"].tolist() == [1] and p["capacity_mbps"].tolist() == [1000.0]
    with pytest.raises(InputError):
        beam_pairs(sat[0], [0.0], [0.0])


@pytest.mark.parametrize("seed", range(5))
def test_hop_schedule_is_a_valid_packing(seed):
    """McNaughton: every pair's pieces add up to its fraction, no beam is over-full, beams of
    a satellite never overlap in time, and a split pair's two pieces do not overlap."""
    rng = np.random.default_rng(seed)
    sats = rng.integers(0, 3, 40)
    y = rng.uniform(0.0, 1.0, 40)
    for s in range(3):  # scale each satellite to <= 4 beams of time
        m = sats == s
        tot = y[m].sum()
        if tot > 4:
            y[m] *= 4 / tot
    h = hop_schedule(sats, y, n_beams=4)
    got = np.bincount(h["pair"], weights=h["stop"] - h["start"], minlength=40)
    assert np.allclose(got, y, atol=1e-9)
    assert (h["beam"] < 4).all() and (h["start"] >= -1e-12).all() and (h["stop"] <= 1 + 1e-12).all()
    for s in range(3):
        for b in range(4):
            m = (h["sat"] == s) & (h["beam"] == b)
            st, en = h["start"][m], h["stop"][m]
            o = np.argsort(st)
            assert (st[o][1:] >= en[o][:-1] - 1e-9).all()
    for p in np.flatnonzero(np.bincount(h["pair"], minlength=40) == 2):
        a, b = np.flatnonzero(h["pair"] == p)
        assert h["stop"][a] <= h["start"][b] + 1e-9 or h["stop"][b] <= h["start"][a] + 1e-9


def test_hop_schedule_refuses_overfull():
    with pytest.raises(InputError):
        hop_schedule([0, 0, 0], [0.9, 0.9, 0.9], n_beams=2)
