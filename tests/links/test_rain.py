"""Rain fade (ITU-R P.618 via itur): published example, monotonicity, zero-rain budget."""

from datetime import datetime, timezone

import numpy as np
import pytest

from skymesh.errors import InputError
from skymesh.links.budget import STARLINK_GATEWAY_KA_UPLINK, STARLINK_USER_DOWNLINK_KU, link_budget
from skymesh.links.rain import (
    budget_with_rain,
    clear_sky,
    itur_versions,
    rain_attenuation_db,
    rain_loss_db,
    rain_rates_mmh,
)
from skymesh.sim.scenario import RainSpec

# ITU-R Study Group 3 validation examples (CG-3M3J-13-ValEx, rev 5.1), sheet
# ITURP618-13_A_rain: London 51.5N 0.14W, hs 0.031383 km, el 31.07699 deg, tau 0,
# p = 0.01 %, R_0.01 = 26.48052 mm/h -> 6.798072 dB at 14.25 GHz, 23.444445 dB at 29 GHz.
# With p = 0.01 % the P.618 procedure is A = gamma_R(R) x L_E(R): our event model.
VALEX = [(14.25, 6.798072), (29.0, 23.444445)]


@pytest.mark.parametrize("f_ghz, expected_db", VALEX)
def test_itu_validation_example(f_ghz, expected_db):
    a = rain_attenuation_db(
        51.5, -0.14, 31.07699124, 26.48052, f_ghz, tau_deg=0.0, hs_km=0.031382984
    )
    assert float(a) == pytest.approx(expected_db, rel=1e-6)


def test_versions_are_the_ones_cited():
    v = itur_versions()
    assert (v["P.618"], v["P.838"], v["P.839"]) == ("P.618-13", "P.838-3", "P.839-4")


def test_attenuation_grows_with_rain_rate_and_falling_elevation():
    rates = np.array([0.5, 1, 2, 5, 10, 25, 50, 100.0])
    a = rain_attenuation_db(50.45, 30.52, 40.0, rates, 11.7)
    assert (np.diff(a) > 0).all() and a[0] > 0
    el = np.array([90, 70, 50, 40, 30, 25, 15, 10.0])
    b = rain_attenuation_db(50.45, 30.52, el, 10.0, 11.7)
    assert (np.diff(b) > 0).all()
    # higher frequency, more fade (P.838 k and alpha grow with f in Ku/Ka)
    assert rain_attenuation_db(50.45, 30.52, 40.0, 10.0, 28.5) > rain_attenuation_db(
        50.45, 30.52, 40.0, 10.0, 11.7
    )


def test_zero_rain_is_no_attenuation_and_the_clear_sky_budget():
    el = np.array([25.0, 40.0, 60.0, 90.0])
    rng = np.array([1123.4, 812.1, 640.0, 550.0])
    assert (rain_attenuation_db(50.0, 30.0, el, 0.0, 11.7) == 0).all()
    for preset in (STARLINK_USER_DOWNLINK_KU, STARLINK_GATEWAY_KA_UPLINK):
        wet = budget_with_rain(rng, el, preset, 50.0, 30.0, rain_rate_mmh=0.0)
        dry = link_budget(rng, el, clear_sky(preset))  # the preset minus its rain margin
        assert np.array_equal(wet["capacity_mbps"], dry["capacity_mbps"])
        assert np.allclose(wet["esn0_db"], dry["esn0_db"], atol=1e-12)
        # the clear-sky budget is the preset's plus exactly its rain margin in Es/N0
        assert np.allclose(
            dry["esn0_db"] - link_budget(rng, el, preset)["esn0_db"], preset.rain_margin_db
        )


def test_rain_lowers_esn0_by_the_attenuation_and_the_capacity():
    el = np.full(6, 30.0)
    rng = np.full(6, 1000.0)
    rates = np.array([0, 1, 5, 10, 25, 50.0])
    b = budget_with_rain(rng, el, STARLINK_USER_DOWNLINK_KU, 50.45, 30.52, rates)
    assert np.allclose(b["esn0_db"][0] - b["esn0_db"], b["rain_db"])
    assert (np.diff(b["capacity_mbps"]) <= 0).all()
    assert b["capacity_mbps"][-1] < b["capacity_mbps"][0]  # 50 mm/h drops the MODCOD


def test_grid_interpolation_matches_direct_evaluation():
    el = np.array([25.3, 33.7, 47.2, 81.9])
    direct = rain_attenuation_db(48.0, 35.0, el, 20.0, 11.7)
    grid = rain_loss_db(np.full(4, 48.0), np.full(4, 35.0), el, 20.0, 11.7)
    assert np.allclose(grid, direct, atol=0.02)


def _t(h):
    return datetime(2022, 10, 15, h, tzinfo=timezone.utc)


def test_rain_rates_from_events():
    lat = np.array([50.0, 50.0, 10.0, 0.0])
    lon = np.array([30.0, 179.5, 30.0, -179.5])
    events = [
        RainSpec(rate_mmh=5.0),  # everywhere
        RainSpec(rate_mmh=25.0, box=[45, 20, 55, 40], **{"from": _t(12)}, until=_t(13)),
        RainSpec(rate_mmh=12.0, box=[-5, 170, 55, -170]),
    ]  # across 180 deg
    assert rain_rates_mmh(events, lat, lon, _t(11)).tolist() == [5.0, 12.0, 5.0, 12.0]
    assert rain_rates_mmh(events, lat, lon, _t(12)).tolist() == [25.0, 12.0, 5.0, 12.0]
    assert rain_rates_mmh(events, lat, lon, _t(13)).tolist() == [5.0, 12.0, 5.0, 12.0]
    assert rain_rates_mmh([], lat, lon, _t(12)).tolist() == [0.0] * 4


def test_rain_over_a_country():
    # Kyiv is in Ukraine, Warsaw is not
    r = rain_rates_mmh([RainSpec(rate_mmh=8.0, country="UA")], [50.45, 52.23], [30.52, 21.01])
    assert r.tolist() == [8.0, 0.0]


def test_bad_rain_input():
    with pytest.raises(InputError):
        rain_attenuation_db(50.0, 30.0, 40.0, -1.0, 11.7)
    with pytest.raises(ValueError, match="not both"):
        RainSpec(rate_mmh=1.0, country="UA", box=[0, 0, 1, 1])
    with pytest.raises(ValueError, match="lat_min < lat_max"):
        RainSpec(rate_mmh=1.0, box=[10, 0, 5, 1])


def test_scenario_rain_lowers_the_slot_capacity(tmp_path):
    """[[rain]] in a scenario reaches the run's beam capacities: heavier rain never carries
    more terminals at the target, and a cloudburst (150 mm/h) carries fewer."""
    from skymesh.sim.capacity_pass import network_params, service_cells, slot_capacity
    from skymesh.sim.prepare import prepare
    from skymesh.sim.scenario import load_scenario

    base = """
name = "rainy"
[constellation]
preset = "starlink-shell1"
[time]
start = 2022-10-15T12:00:00Z
duration_s = 20
step_s = 10
[[terminals]]
name = "be"
points = [[50.85, 4.35], [51.22, 4.40], [51.05, 3.72], [50.63, 5.57]]
[[gateways]]
name = "Aerzen"
lat = 52.06
lon = 9.329
country = "DE"
[capacity]
target_mbps = 25
"""
    alpha = []
    for rate in (0.0, 50.0, 150.0):
        path = tmp_path / f"r{rate:g}.toml"
        path.write_text(base + f"\n[[rain]]\nrate_mmh = {rate}\n")
        prep = prepare(load_scenario(path))
        groups, group_of = np.unique(prep.terminal_country, return_inverse=True)
        cells = service_cells(prep.terminal_lat, prep.terminal_lon, group_of, 5)
        res = slot_capacity(
            prep, prep.operators[0], 0.0, cells, groups, np.full(4, 1e5), network_params(prep), 25.0
        )
        alpha.append(res["headline"]["alpha"])
    assert alpha[0] >= alpha[1] >= alpha[2] and alpha[2] < alpha[0]
