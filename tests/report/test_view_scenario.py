"""`skymesh view` of a run: its own rows (route, RTT, gateways), no route while the policy
has the country off, place names, palette, the small switched-off country's marker."""

import json
import re
import textwrap
from datetime import datetime, timedelta, timezone

import numpy as np
import pyarrow.parquet as pq
import pytest

from skymesh.report import maps
from skymesh.report.pictures import nearest_place_names
from skymesh.report.run_view import run_view
from skymesh.sim.run import run_scenario
from skymesh.sim.scenario import load_scenario

# Three terminals in Taiwan lose service at 00:10 (a geofence); the gateways are abroad.
SCENARIO = """
name = "view-geofence-test"
[constellation]
preset = "starlink-shell1"
[time]
start = 2026-01-01T00:00:00Z
duration_s = 1200
step_s = 60
[[terminals]]
name = "tw"
country = "TW"
points = [[25.04, 121.56], [22.63, 120.30], [24.15, 120.67]]
[[gateways]]
name = "Yamaguchi"
lat = 34.218
lon = 131.556
country = "JP"
[[gateways]]
name = "Angeles"
lat = 15.145
lon = 120.589
country = "PH"
[policy]
default_service = "active"
[[policy.country]]
iso2 = "TW"
[[policy.country.service]]
state = "active"
until = 2026-01-01T00:10:00Z
[[policy.country.service]]
state = "inactive"
from = 2026-01-01T00:10:00Z
"""
START = datetime(2026, 1, 1, tzinfo=timezone.utc)
OFF_FROM = START + timedelta(minutes=10)


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("view")
    (folder / "s.toml").write_text(textwrap.dedent(SCENARIO))
    run_scenario(load_scenario(folder / "s.toml"), folder / "results")
    return folder / "results"


def _page_data(path):
    text = path.read_text(encoding="utf-8")
    return json.loads(re.search(r'id="skymesh-data">(.*?)</script>', text, re.S).group(1))


@pytest.fixture(scope="module")
def view_page(run_folder):
    out = run_folder.parent / "v.html"
    run_view(run_folder, out)
    return out, _page_data(out)


def test_no_route_while_the_policy_has_the_country_off(view_page):
    _, data = view_page
    times = [datetime.fromisoformat(t.replace("Z", "+00:00")) for t in data["times"]]
    off = np.array([t >= OFF_FROM for t in times])
    assert off.any() and (~off).any()
    route = data["route"]
    for k in np.flatnonzero(off):
        assert route[k] is None and data["rtt_ms"][k] is None  # the user RTT (with access)
        assert "switched off" in data["route_note"][k] and "TW" in data["route_note"][k]
    # While served, the followed terminal has a route (to Japan or the Philippines) at most steps.
    on = np.flatnonzero(~off)
    assert sum(route[k] is not None for k in on) >= 0.8 * len(on)
    assert all(data["route_note"][k] == "" for k in on)


def test_endpoints_are_labelled_by_place_name(view_page):
    _, data = view_page
    names = [e["name"] for e in data["endpoints"]]
    t = data["run"]["terminal"]
    assert names == [f"terminal {t}: " + nearest_place_names(*LATLON[t])[0]]
    assert "Taipei (TW)" in nearest_place_names(*LATLON[0])[0]
    assert {g["name"] for g in data["gateways"]} == {"Yamaguchi (JP)", "Angeles (PH)"}
    # Every terminal of the run is on the map, the followed one among them.
    pts = np.asarray(data["terminals"]).reshape(-1, 2)
    assert pts.tolist() == [[la[0], lo[0]] for la, lo in LATLON]


LATLON = [([25.04], [121.56]), ([22.63], [120.30]), ([24.15], [120.67])]


def _rows(run_folder):
    """The primary operator's rows, as dicts, sorted by step then terminal."""
    rows = pq.read_table(run_folder / "timeseries.parquet").to_pylist()
    rows = [r for r in rows if r["operator"] == "primary"]
    return sorted(rows, key=lambda r: (r["step"], r["terminal"]))


def test_embedded_rtt_is_the_runs_rows(run_folder, view_page):
    """The page's RTT is the run's: the followed terminal's rtt_ms at each step, the
    per-step median over served terminals, and summary.json's p50 in the header. The
    view once drew a route of its own, with a space-only RTT (13.8 ms against the
    run's p50 of 33.6 ms for Taiwan)."""
    _, data = view_page
    rows = _rows(run_folder)
    summary = json.loads((run_folder / "summary.json").read_text())
    assert data["run"]["rtt_ms_p50"] == summary["operators"][0]["rtt_ms"]["p50"]
    term = data["run"]["terminal"]
    mine = [r for r in rows if r["terminal"] == term]
    assert len(mine) == len(data["times"])  # 21 steps, none decimated away
    for r, got in zip(mine, data["rtt_ms"]):
        if r["served"]:
            assert got == pytest.approx(r["rtt_ms"], abs=0.006)
        else:
            assert got is None
    steps = sorted({r["step"] for r in rows})
    for k, got in zip(steps, data["rtt_ms_p50"]):
        vals = [r["rtt_ms"] for r in rows if r["step"] == k and r["served"]]
        assert (got is None) == (not vals)
        if vals:
            assert got == pytest.approx(float(np.median(vals)), abs=0.006)
    # The embedded per-step medians sit around the run's p50, not a space-only RTT.
    p50 = np.nanmedian([np.nan if v is None else v for v in data["rtt_ms_p50"]])
    assert abs(p50 - summary["operators"][0]["rtt_ms"]["p50"]) < 5.0


def test_route_is_one_the_terminal_took(run_folder, view_page):
    """At each served step the route runs terminal -> its serving satellite -> the
    gateway of its row, and names that gateway; the RTT components add up to rtt_ms."""
    _, data = view_page
    rows = _rows(run_folder)
    term = data["run"]["terminal"]
    mine = [r for r in rows if r["terminal"] == term]
    gw_at = {"Yamaguchi": [34.22, 131.56], "Angeles": [15.14, 120.59]}
    n_served = 0
    for k, row in enumerate(mine):
        r, info = data["route"][k], data["route_info"][k]
        if not row["served"]:
            assert r is None and info is None
            continue
        n_served += 1
        assert info["gateway"] == row["gateway"] and info["pop"] == row["pop"]
        assert info["serving_satellite"] == row["serving_satellite"]
        line = r["line"]
        assert line[0] == pytest.approx([LATLON[term][0][0], LATLON[term][1][0]], abs=0.01)
        assert line[2] == pytest.approx(gw_at[row["gateway"]], abs=0.01)
        total = sum(info["components_ms"].values())
        assert total == pytest.approx(data["rtt_ms"][k], abs=0.05)
    assert n_served >= 5
    used = {r["gateway"] for r in rows if r["served"]}
    assert {i["gateway"] for i in data["route_info"] if i} <= used


def test_switched_off_small_country_has_a_marker(view_page):
    """Taiwan (3 deg^2 at 1:110m) is a few pixels at world scale: once switched off it
    carries a marker, so the geofence is visible."""
    _, data = view_page
    tw = {c["iso2"]: c for c in data["countries"]}["TW"]
    assert tw["timeline"][-1][1] == "inactive"
    assert tw["marker"] == pytest.approx([121.0, 23.7], abs=1.0)
    assert "marker" not in {c["iso2"]: c for c in data["countries"]}["JP"]


def test_nearest_place_names():
    assert nearest_place_names([48.8566, 35.0], [2.3522, 51.0]) == ["Paris (FR)", "near Qom (IR)"]


def test_roles_have_distinct_colours(view_page):
    _, data = view_page
    c = data["colours"]
    roles = [
        c["satellite"],
        c["endpoint"],
        c["gateway"],
        c["route"],
        c["route_satellite"],
        data["states"]["inactive"]["colour"],
        data["states"]["active"]["colour"],
        data["states"]["no-landing-rights"]["colour"],
        data["no_data"]["colour"],
    ]
    rgb = np.array([[int(h[i : i + 2], 16) for i in (1, 3, 5)] for h in roles], dtype=float)
    d = np.hypot.reduce(rgb[:, None, :] - rgb[None, :, :], axis=-1)
    np.fill_diagonal(d, np.inf)
    assert d.min() > 40.0  # no two roles near the same colour
    # The Okabe-Ito hues (colour-blind safe) for the markers.
    assert {c["satellite"], c["endpoint"], c["gateway"]} <= set(maps.OKABE_ITO.values())


def test_isl_default_depends_on_their_number(view_page):
    _, data = view_page
    n_links = len(data["isl"]) // 2
    assert n_links > 2000 and data["isl_on"] is False  # 1,584 sats x 2 links: off


@pytest.fixture(scope="module")
def browser():
    """Headless Debian chromium through Playwright, as test_view_browser.py uses it."""
    from pathlib import Path

    chromium = Path("/usr/bin/chromium")
    how = "install Debian's chromium (apt-get install -y chromium) and `pip install playwright`"
    if not chromium.is_file():
        pytest.skip(f"{chromium} not found: {how}")
    sync_api = pytest.importorskip("playwright.sync_api", reason=f"no playwright: {how}")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=str(chromium), args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        yield b
        b.close()


def test_run_view_in_chromium(browser, run_folder, view_page):
    """The page says what the run says: the header gives summary.json's p50, the status
    line the gateway and RTT of the followed terminal's row, and once Taiwan is switched
    off its ring is drawn and the route is gone."""
    path, data = view_page
    summary = json.loads((run_folder / "summary.json").read_text())
    page = browser.new_page(viewport={"width": 1200, "height": 800})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.resolve().as_uri())
    run_info = page.inner_text("#run-info")
    assert f"p50 {summary['operators'][0]['rtt_ms']['p50']:.1f} ms" in run_info
    k = next(i for i, r in enumerate(data["route_info"]) if r)
    page.eval_on_selector(
        "#time-slider", f"e => {{ e.value = '{k}'; e.dispatchEvent(new Event('input')); }}"
    )
    status = page.inner_text("#info")
    assert f"gateway {data['route_info'][k]['gateway']}" in status
    assert f"user RTT {data['rtt_ms'][k]:.1f} ms" in status
    assert page.eval_on_selector("#map", "e => e.dataset.smallCountries") == "[]"
    last = len(data["times"]) - 1
    page.eval_on_selector(
        "#time-slider", f"e => {{ e.value = '{last}'; e.dispatchEvent(new Event('input')); }}"
    )
    assert json.loads(page.eval_on_selector("#map", "e => e.dataset.smallCountries")) == [
        "TW:inactive"
    ]
    assert "switched off" in page.inner_text("#info")
    assert page.eval_on_selector("#map", "e => e.dataset.routeSegments") == "0"
    assert errors == []
    page.close()


def test_view_of_an_api_run_with_overrides(run_folder, tmp_path):
    """skymesh.run(..., overrides=...) records its overrides in run.json, so the view
    re-reads the scenario as it ran (its SHA-256 must match run.json's)."""
    import skymesh

    res = skymesh.run(
        run_folder.parent / "s.toml", tmp_path / "r", overrides={"time.duration_s": 300}
    )
    run_view(res.folder, tmp_path / "v.html")
    data = _page_data(tmp_path / "v.html")
    assert len(data["times"]) == 6  # 300 s every 60 s: the overridden window, not 1,200 s
    assert data["run"]["rtt_ms_p50"] == res.summary["operators"][0]["rtt_ms"]["p50"]
