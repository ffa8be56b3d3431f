"""The offline interactive view: one self-contained HTML file, checked in headless Chromium.

The browser tests need Debian's ``chromium`` at /usr/bin/chromium and the
``playwright`` Python package (its own browser download is not used); they
are skipped, saying so, when either is missing.
"""

import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from skymesh.errors import InputError
from skymesh.report import view

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HOW_TO_ENABLE = (
    "install Debian's chromium (apt-get install -y chromium) and `pip install playwright`"
)
WHEN = "2026-01-01T00:00:00Z"


@pytest.fixture(scope="module")
def view_file(tmp_path_factory):
    from skymesh.links.isl import plus_grid_pairs
    from skymesh.orbits.constellation import Shell
    from skymesh.orbits.propagate import positions_geodetic
    from skymesh.orbits.walker import walker_constellation
    from skymesh.timebase import time_grid

    const = walker_constellation((Shell(550.0, 53.0, 18, 12, 1),), epoch=WHEN)
    grid = time_grid(WHEN, 1200.0, 5.0)  # 241 instants -> decimated
    lat, lon, _ = positions_geodetic(const, grid)
    # A toy "route": the satellite nearest each endpoint, unreachable every 10th step.
    ends = np.array([[51.5, -0.13], [40.7, -74.0]])
    route = []
    for k in range(len(grid)):
        near = [int(np.argmin((lat[:, k] - a) ** 2 + (lon[:, k] - o) ** 2)) for a, o in ends]
        route.append(None if k % 10 == 0 else near)
    states = {"US": "active", "GB": "active", "IR": "inactive", "IN": "no-landing-rights"}
    path = tmp_path_factory.mktemp("view") / "view.html"
    view.write_view_html(
        path,
        countries=states,
        sat_tracks=(grid.iso(), lat, lon),
        isl_pairs=plus_grid_pairs(const),
        route=route,
        rtt_ms=np.full(len(grid), 44.0),
        endpoints=(["London", "New York"], ends[:, 0], ends[:, 1]),
        gateways=([53.3], [-6.2], ["Dublin"]),
        title="Test </script> view",
    )
    return path, len(const)


# --------------------------------------------------------------------------- without a browser


def test_file_is_self_contained(view_file):
    path, n_sats = view_file
    text = path.read_text(encoding="utf-8")
    assert path.stat().st_size < 1_500_000
    assert not re.search(r"https?:|//[a-z0-9.-]+\.[a-z]{2,}/|@import|url\(", text, re.I)
    assert not re.search(r"<(script|link|img|iframe)[^>]*\s(src|href)=\"(?!data:)", text, re.I)
    assert text.count("</script>") == 2  # the title cannot close a script
    assert 'id="time-slider"' in text and 'id="time-label"' in text
    data = json.loads(re.search(r'id="skymesh-data">(.*?)</script>', text, re.S).group(1))
    assert data["n_sats"] == n_sats and data["n_steps"] == 120
    assert len(data["times"]) == 120 and data["times"][0] == "2026-01-01T00:00:00.000Z"
    assert data["times"][-1] == "2026-01-01T00:20:00.000Z"
    assert {c["iso2"]: c["state"] for c in data["countries"]}["IR"] == "inactive"
    assert data["route"][0] is None and len(data["route"][1]["sats"]) == 2


def test_decimate_and_errors(tmp_path):
    assert view.decimate_steps(50, 120).tolist() == list(range(50))
    idx = view.decimate_steps(1000, 120)
    assert len(idx) == 120 and idx[0] == 0 and idx[-1] == 999
    lat = np.zeros((3, 4))
    with pytest.raises(InputError, match="instants"):
        view.write_view_html(tmp_path / "v.html", sat_tracks=(["2026-01-01T00:00:00Z"], lat, lat))
    times = [WHEN] * 4
    with pytest.raises(InputError, match="route"):
        view.write_view_html(tmp_path / "v.html", sat_tracks=(times, lat, lat), route=[[0]])
    with pytest.raises(InputError, match="satellite 7"):
        view.write_view_html(tmp_path / "v.html", sat_tracks=(times, lat, lat), route=[[0, 7]] * 4)
    with pytest.raises(InputError, match="service state"):
        view.write_view_html(
            tmp_path / "v.html", sat_tracks=(times, lat, lat), countries={"FR": "on"}
        )


# --------------------------------------------------------------------------- in the browser


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} not found: {HOW_TO_ENABLE}")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason=f"playwright is not installed: {HOW_TO_ENABLE}"
    )
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


def _pixels(png_bytes: bytes) -> np.ndarray:
    return imread(io.BytesIO(png_bytes), format="png")[..., :3]


def test_view_in_chromium(browser, view_file):
    path, _ = view_file
    url = path.resolve().as_uri()
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    page = context.new_page()
    problems, requests = [], []
    page.on(
        "console",
        lambda m: (
            problems.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "warning")
            else None
        ),
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))

    def record(route):
        requests.append(route.request.url)
        if route.request.url == url:
            route.continue_()
        else:
            route.abort()

    context.route("**/*", record)
    page.on("request", lambda r: requests.append(r.url))
    page.goto(url)
    page.wait_for_function("document.getElementById('time-label').textContent.length > 0")

    assert page.title() == "Test </script> view"
    legend = page.text_content("#legend")
    for state in ("active", "inactive", "no-landing-rights"):
        assert state in legend
    slider = page.locator("#time-slider")
    assert slider.get_attribute("max") == "119"
    label0 = page.text_content("#time-label")
    assert label0 == "2026-01-01 00:00:00 UTC"
    assert "unreachable" in page.text_content("#info")
    canvas = page.locator("#map")
    shot0 = _pixels(canvas.screenshot())
    assert shot0.std() > 0.05  # not blank
    assert len(np.unique(np.round(shot0.reshape(-1, 3) * 255), axis=0)) > 20

    # Move the slider programmatically: the label and the picture change.
    slider.evaluate("el => { el.value = '60'; el.dispatchEvent(new Event('input')); }")
    label1 = page.text_content("#time-label")
    assert label1 != label0 and label1.endswith("UTC")
    assert "user RTT 44.0 ms" in page.text_content("#info")
    shot1 = _pixels(canvas.screenshot())
    assert shot1.shape == shot0.shape
    changed = np.any(np.abs(shot1 - shot0) > 0.05, axis=-1).mean()
    assert changed > 0.001  # satellites moved

    # And with the keyboard.
    slider.focus()
    page.keyboard.press("ArrowRight")
    assert page.text_content("#time-label") != label1

    page.wait_for_timeout(100)
    context.close()
    assert problems == []
    assert set(requests) == {url}, f"unexpected requests: {sorted(set(requests) - {url})}"


@pytest.fixture(scope="module")
def policy_view(tmp_path_factory):
    """A view whose route is forbidden by policy over the second half of the window."""
    from skymesh.links.isl import plus_grid_pairs
    from skymesh.orbits.constellation import Shell
    from skymesh.orbits.propagate import positions_geodetic
    from skymesh.orbits.walker import walker_constellation
    from skymesh.timebase import time_grid

    const = walker_constellation((Shell(550.0, 53.0, 18, 12, 1),), epoch=WHEN)
    grid = time_grid(WHEN, 600.0, 10.0)  # 61 instants
    lat, lon, _ = positions_geodetic(const, grid)
    ends = np.array([[25.04, 121.56], [34.2, 131.6]])
    off = np.arange(len(grid)) >= 30
    route = [
        None
        if off[k]
        else [int(np.argmin((lat[:, k] - a) ** 2 + (lon[:, k] - o) ** 2)) for a, o in ends]
        for k in range(len(grid))
    ]
    note = ["no service: the policy has TW switched off" if o else "" for o in off]
    states = [{"TW": "inactive" if o else "active", "JP": "active"} for o in off]
    path = tmp_path_factory.mktemp("view2") / "policy.html"
    view.write_view_html(
        path,
        countries=states,
        sat_tracks=(grid.iso(), lat, lon),
        isl_pairs=plus_grid_pairs(const),
        route=route,
        rtt_ms=np.where(off, np.nan, 12.0),
        route_note=note,
        endpoints=(["terminal Taipei (TW)", "gateway Yamaguchi (JP)"], ends[:, 0], ends[:, 1]),
        gateways=([34.2, 36.4], [131.6, 140.5], ["Yamaguchi", "Hitachinaka"]),
        title="policy view",
    )
    return path


def _go(page, k):
    page.locator("#time-slider").evaluate(
        f"el => {{ el.value = '{k}'; el.dispatchEvent(new Event('input')); }}"
    )


def test_view_policy_route_labels_layout(browser, policy_view):
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    page = context.new_page()
    problems = []
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.goto(policy_view.resolve().as_uri())
    page.wait_for_function("document.getElementById('time-label').textContent.length > 0")
    canvas = page.locator("#map")

    # Served: a route is drawn; policy off: none, and the page says why.
    _go(page, 10)
    assert int(canvas.get_attribute("data-route-segments")) >= 2
    assert "user RTT 12.0 ms" in page.text_content("#info")
    _go(page, 45)
    assert canvas.get_attribute("data-route-segments") == "0"
    assert "switched off" in page.text_content("#info")

    # Endpoints carry their place names; a gateway at an endpoint is not named twice.
    labels = json.loads(canvas.get_attribute("data-labels"))
    assert labels[:2] == ["terminal Taipei (TW)", "gateway Yamaguchi (JP)"]
    assert "Yamaguchi" not in labels and "Hitachinaka" in labels

    # No two labels overlap, in a large window or a small one.
    for size in ({"width": 1200, "height": 800}, {"width": 640, "height": 480}):
        page.set_viewport_size(size)
        page.wait_for_timeout(100)
        boxes = json.loads(canvas.get_attribute("data-label-boxes"))
        assert len(boxes) >= 2
        for i, a in enumerate(boxes):
            for b in boxes[i + 1 :]:
                assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)
    page.set_viewport_size({"width": 1200, "height": 800})
    page.wait_for_timeout(100)

    # Each role in the legend has its own colour.
    colours = page.eval_on_selector_all(
        ".legend-item", "els => Object.fromEntries(els.map(e => [e.dataset.key, e.dataset.colour]))"
    )
    roles = [
        colours[k]
        for k in ("sat", "endpoint", "gateway", "state-inactive", "state-active", "route")
    ]
    assert len(set(r.lower() for r in roles)) == len(roles)

    # The ISL checkbox: 432 links (under ISL_DEFAULT_ON_MAX) drawn by default, hidden on request.
    box = page.locator("#show-isl")
    assert box.is_checked()
    with_isl = _pixels(canvas.screenshot())
    box.click()
    without = _pixels(canvas.screenshot())
    assert np.any(np.abs(with_isl - without) > 0.05, axis=-1).mean() > 0.005

    # No blank band: map, legend and the RTT chart fill the window, nothing scrolls.
    geo = page.evaluate("""() => {
        const r = id => document.getElementById(id).getBoundingClientRect();
        return {inner: innerHeight, scroll: document.documentElement.scrollHeight,
                map: r('map').bottom, legend: r('legend').top, chart: r('rtt-chart').bottom,
                chartH: r('rtt-chart').height, label: document.getElementById('rtt-chart')
                .getAttribute('aria-label')};
    }""")
    assert geo["scroll"] <= geo["inner"]
    assert geo["legend"] - geo["map"] < 8
    assert geo["inner"] - geo["chart"] < 16 and geo["chartH"] >= 100
    assert "UTC" in geo["label"]
    chart = _pixels(page.locator("#rtt-chart").screenshot())
    assert chart.std() > 0.05
    context.close()
    assert problems == []
