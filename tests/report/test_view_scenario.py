"""`skymesh view` on a scenario: place names, no route while the policy forbids it, palette."""

import json
import re
import textwrap
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from skymesh.report import maps
from skymesh.report.pictures import nearest_place_names, scenario_view
from skymesh.sim.scenario import load_scenario

# Taipei's terminals lose service at 00:10 (a geofence); the gateway is in Japan.
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
points = [[25.04, 121.56]]
[[gateways]]
name = "Yamaguchi"
lat = 34.218
lon = 131.556
country = "JP"
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
def view_page(tmp_path_factory):
    folder = tmp_path_factory.mktemp("view")
    (folder / "s.toml").write_text(textwrap.dedent(SCENARIO))
    out = folder / "v.html"
    scenario_view(load_scenario(folder / "s.toml"), out)
    text = out.read_text(encoding="utf-8")
    data = json.loads(re.search(r'id="skymesh-data">(.*?)</script>', text, re.S).group(1))
    return out, data


def test_no_route_while_the_policy_has_the_country_off(view_page):
    _, data = view_page
    times = [datetime.fromisoformat(t.replace("Z", "+00:00")) for t in data["times"]]
    off = np.array([t >= OFF_FROM for t in times])
    assert off.any() and (~off).any()
    route = data["route"]
    for k in np.flatnonzero(off):
        assert route[k] is None and data["space_rtt_ms"][k] is None
        assert "switched off" in data["route_note"][k] and "TW" in data["route_note"][k]
    # While served, Taipei - Yamaguchi (~1,600 km) has a route at most steps.
    on = np.flatnonzero(~off)
    assert sum(route[k] is not None for k in on) >= 0.8 * len(on)
    assert all(data["route_note"][k] == "" for k in on)


def test_endpoints_are_labelled_by_place_name(view_page):
    _, data = view_page
    names = [e["name"] for e in data["endpoints"]]
    assert names[0] == "terminal Taipei (TW)" and "tw" not in names[0].split()
    assert names[1] == "gateway Yamaguchi (JP)"


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
