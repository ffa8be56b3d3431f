"""The public API (skymesh.api): independent checks of what it returns.

Each check has its own reason: geometry (radius of a circular orbit, elevation
from an independently built local vertical), physics (no RTT below the vacuum
great-circle bound), or the API's own contract (components sum to the total,
types, errors naming the field).
"""

from __future__ import annotations

import inspect
import typing

import numpy as np
import pyarrow as pa
import pytest

import skymesh
from skymesh import api

WGS84_A_KM = 6378.137  # WGS84 semi-major axis (NIMA TR8350.2)
WGS84_F = 1 / 298.257223563
C_KM_S = 299_792.458
T0 = "2026-01-01T00:00:00Z"
WARSAW = {"name": "Warsaw", "lat": 52.23, "lon": 21.01, "country": "PL"}


def _ecef(lat_deg, lon_deg):
    """WGS84 geodetic -> ECEF (km) at height 0, written out here (not SkyMesh's)."""
    lat, lon = np.deg2rad(lat_deg), np.deg2rad(lon_deg)
    e2 = WGS84_F * (2 - WGS84_F)
    n = WGS84_A_KM / np.sqrt(1 - e2 * np.sin(lat) ** 2)
    return np.array(
        [n * np.cos(lat) * np.cos(lon), n * np.cos(lat) * np.sin(lon), n * (1 - e2) * np.sin(lat)]
    )


def test_package_reexports_the_stable_names_and_keeps_the_version():
    assert skymesh.__version__ == "0.1.0"
    assert set(api.__all__) <= set(skymesh.__all__)
    for name in api.__all__:
        assert getattr(skymesh, name) is getattr(api, name)
    with pytest.raises(AttributeError):
        skymesh.no_such_name  # noqa: B018


def test_public_functions_are_fully_typed():
    for name in api.__all__:
        obj = getattr(api, name)
        if not inspect.isfunction(obj):
            continue
        hints = typing.get_type_hints(obj)
        params = [p for p in inspect.signature(obj).parameters]
        assert set(params) <= set(hints), (name, set(params) - set(hints))
        assert "return" in hints, name


def test_walker_positions_lie_on_the_orbit_radius():
    shell = api.Shell(1200.0, 87.9, 18, 36, 1, raan_spread_deg=180.0)
    c = api.walker(shell, name="ow")
    grid = api.time_grid(T0, 600, 60)
    pos = api.positions_ecef(c, grid)
    assert pos.shape == (18 * 36, 11, 3)
    r = np.linalg.norm(pos, axis=-1)
    np.testing.assert_allclose(r, WGS84_A_KM + 1200.0, rtol=1e-9)
    # a circular orbit never reaches a geocentric latitude above its inclination, and over
    # 600 s some of 648 satellites pass within a fraction of a degree of that apex
    geocentric = np.rad2deg(np.arcsin(pos[..., 2] / r))
    assert geocentric.max() <= 87.9 + 1e-6 and geocentric.max() > 87.0
    lat, _, alt = api.positions_geodetic(c, grid)
    assert np.abs(lat).max() <= 87.9 + 0.2  # geodetic differs by < 0.2 deg
    assert np.all((alt > 1200.0 - 0.5) & (alt < 1200.0 + 21.4 + 0.5))  # ellipsoid: a - b


def test_walker_speed_matches_kepler():
    """ECEF displacement over 1 s ~ the circular speed sqrt(mu/r) (less Earth rotation)."""
    mu = 398_600.4418  # km^3/s^2, WGS84 / IERS
    c = api.walker(api.Shell(550.0, 53.0, 4, 4))
    pos = api.positions_ecef(c, api.time_grid(T0, 1, 1))
    ecef_speed = np.linalg.norm(pos[:, 1] - pos[:, 0], axis=-1)
    v = np.sqrt(mu / (WGS84_A_KM + 550.0))
    omega_r = 7.2921150e-5 * (WGS84_A_KM + 550.0)  # the frame's speed at that radius
    assert np.all(ecef_speed > v - omega_r - 0.01) and np.all(ecef_speed < v + omega_r + 0.01)


def test_satellites_in_view_all_above_the_mask_and_none_missed():
    c = api.load_constellation("starlink-shell1")
    grid = api.time_grid(T0, 60, 30)
    mask = 25.0
    t = api.satellites_in_view(c, "48.85,2.35", grid, min_elevation_deg=mask)
    assert t.num_rows > 0
    # elevation from the ellipsoid normal, computed here
    lat, lon = np.deg2rad(48.85), np.deg2rad(2.35)
    up = np.array([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
    pos = api.positions_ecef(c, grid)
    d = pos - _ecef(48.85, 2.35)
    el = np.rad2deg(np.arcsin(d @ up / np.linalg.norm(d, axis=-1)))  # (N, T)
    sat = t["sat"].to_numpy()
    k = np.searchsorted(
        grid.offsets_s,
        (
            t["time_utc"].to_numpy().astype("datetime64[ms]")
            - np.datetime64("2026-01-01T00:00:00", "ms")
        ).astype(float)
        / 1e3,
    )
    np.testing.assert_allclose(el[sat, k], t["elevation_deg"].to_numpy(), atol=1e-6)
    assert np.all(t["elevation_deg"].to_numpy() >= mask)
    clear = el > mask + 1e-6
    assert clear.sum() == t.num_rows
    assert np.all((t["azimuth_deg"].to_numpy() >= 0) & (t["azimuth_deg"].to_numpy() < 360))


def test_latency_never_beats_light_and_components_add_up():
    r = api.latency("London, GB", "Johannesburg, ZA", duration_s=20, step_s=10)
    t = r.table
    prop = np.array(t["space_rtt_ms"].to_pylist(), dtype=float)
    ok = np.isfinite(prop)
    assert ok.any()
    a, b = r.a, r.b
    # vacuum great-circle bound from a spherical Earth, written out here (mean radius 6371 km)
    p1, p2 = np.deg2rad([a.lat_deg, b.lat_deg])
    dl = np.deg2rad(b.lon_deg - a.lon_deg)
    ang = np.arccos(np.sin(p1) * np.sin(p2) + np.cos(p1) * np.cos(p2) * np.cos(dl))
    bound_ms = 2e3 * 6371.0 * ang / C_KM_S
    assert np.all(prop[ok] >= 0.99 * bound_ms)
    parts = sum(
        np.array(t[k].to_pylist(), dtype=float)
        for k in ("space_rtt_ms", "fibre_ms", "access_ms", "processing_ms", "queueing_ms")
    )
    np.testing.assert_allclose(parts[ok], np.array(t["rtt_ms"].to_pylist(), float)[ok])
    assert np.all(np.array(t["fibre_ms"].to_pylist(), float)[ok] == 0.0)  # place to place
    assert np.all(np.array(t["hops"].to_pylist())[ok] >= 2)
    fig = r.plot_rtt()
    assert fig.axes


def test_latency_summary_is_the_statistic_of_the_column_of_the_same_name():
    """Issue 21: ``rtt_ms_p50`` was the space RTT's median (42.8 ms London - New York)
    beside a table whose ``rtt_ms`` is the user's RTT (72.3 ms). Every summary figure
    is now the statistic of the table column with its name (the project's stop check)."""
    r = skymesh.latency(
        "London, GB",
        "New York, US",
        constellation="starlink-shell1",
        start=T0,
        duration_s=60,
        step_s=10,
    )
    for name in ("rtt_ms", "space_rtt_ms"):
        col = r.table[name].to_numpy(zero_copy_only=False).astype(float)
        assert abs(r.summary[f"{name}_p50"] - float(np.nanmedian(col))) <= 0.05, name
        assert r.summary[f"{name}_min"] == pytest.approx(float(np.nanmin(col)))
        assert r.summary[f"{name}_max"] == pytest.approx(float(np.nanmax(col)))
    # the user's RTT includes both access legs: well above the space RTT
    assert r.summary["rtt_ms_p50"] > r.summary["space_rtt_ms_p50"] + 10.0
    assert r.summary["components"]["rtt_ms_p50"] == pytest.approx(r.summary["rtt_ms_p50"])


def test_latency_figure_titles_say_which_rtt(tmp_path):
    from skymesh.metrics import RTT_LABEL, SPACE_RTT_LABEL

    r = api.latency("London, GB", "New York, US", start=T0, duration_s=20, step_s=10)
    space = r.plot_rtt().axes[0].get_title()
    user = r.plot_rtt(total=True).axes[0].get_title()
    assert SPACE_RTT_LABEL in space and RTT_LABEL not in space
    assert RTT_LABEL in user and SPACE_RTT_LABEL not in user


def test_internet_path_serving_satellite_above_the_mask():
    t = api.internet_path(
        "Kyiv, UA", gateways=[WARSAW], duration_s=60, step_s=15, min_elevation_deg=25.0
    )
    served = t["served"].to_numpy(zero_copy_only=False)
    assert served.all()
    assert np.all(t["serving_elevation_deg"].to_numpy() >= 25.0)
    assert set(t["gateway"].to_pylist()) == {"Warsaw"}
    assert t["pop"].null_count == t.num_rows  # no PoPs given
    # the uplink alone: at least 2 x 550 km / c, at most 2 x the slant range at 25 deg
    ul = t["user_link_rtt_ms"].to_numpy()
    assert np.all(ul >= 2e3 * 550.0 / C_KM_S) and np.all(ul <= 2e3 * 1123.0 / C_KM_S)


def test_bad_input_names_what_was_typed():
    with pytest.raises(api.InputError, match="lat"):
        api.gateways([{"name": "X", "lon": 1.0, "country": "PL"}])
    with pytest.raises(api.InputError, match="duration"):
        api.load_scenario(
            {
                "name": "x",
                "constellation": {"preset": "starlink-shell1"},
                "time": {"start": T0, "duration_s": -1, "step_s": 1},
                "terminals": [{"name": "a", "points": [[0, 0]]}],
                "gateways": [WARSAW],
            }
        )
    with pytest.raises(api.InputError, match="neither"):
        api.load_constellation("no-such-preset")
    with pytest.raises(api.InputError):
        api.place("Nowhereville Zzyzx")


def test_run_from_code_result_tables_and_figure(tmp_path):
    res = api.run(
        {
            "name": "kyiv",
            "constellation": {"preset": "starlink-shell1"},
            "time": {"start": T0, "duration_s": 60, "step_s": 15},
            "terminals": [{"name": "Kyiv", "points": [[50.45, 30.52]]}],
            "gateways": [WARSAW],
            "metrics": {"wanted": ["service", "rtt"]},
        },
        tmp_path / "out",
    )
    assert res.folder == tmp_path / "out"
    ts = res.table("timeseries", ["time_utc", "rtt_ms", "space_rtt_ms"])
    assert isinstance(ts, pa.Table) and ts.num_rows == 5
    # Kyiv -> satellite -> Warsaw: at least the straight up-and-down legs at c
    assert min(ts["space_rtt_ms"].to_pylist()) >= 2e3 * 2 * 550.0 / C_KM_S
    with pytest.raises(api.InputError, match="no table"):
        res.table("nope")
    out = tmp_path / "rtt.png"
    fig = res.plot_rtt(out)
    assert out.stat().st_size > 0
    assert "RTT (user, with access)" in fig.axes[0].get_title()
    again = api.open_run(tmp_path / "out")
    assert again.summary == res.summary


def test_tables_are_one_call_from_pandas():
    pd = pytest.importorskip("pandas")
    t = api.rtt_components()
    assert isinstance(t.to_pandas(), pd.DataFrame)


def test_map_route_writes_the_file(tmp_path):
    out = tmp_path / "route.png"
    fig = api.map_route("Paris", "Luanda", at=T0, path=out)
    assert out.stat().st_size > 0 and fig.axes


def test_open_run_refuses_a_folder_that_is_not_a_run(tmp_path):
    with pytest.raises(api.InputError, match="summary.json"):
        api.open_run(tmp_path)


def test_medians_by_index_match_numpy():
    rng = np.random.default_rng(7)
    index = rng.integers(0, 9, 500)
    values = rng.normal(40.0, 5.0, 500)
    got = api._medians_by_index(index, values, 10)
    for j in range(10):
        v = values[index == j]
        if v.size:
            assert got[j] == pytest.approx(np.median(v))
        else:
            assert np.isnan(got[j])


def test_overrides_on_a_loaded_scenario_keep_its_source():
    base = api.load_scenario("iran-2022")
    again = api._with_overrides(base, {"time.duration_s": 20})
    assert again.source == base.source == "<built-in iran-2022>"
    assert again.scenario.time.duration_s == 20.0
    assert base.scenario.time.duration_s == 3600.0  # the original is unchanged
