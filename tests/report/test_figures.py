"""Static figures: maps and RTT plots render, are not blank, and carry what they should."""

import numpy as np
import pytest
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.figure import Figure
from matplotlib.image import imread

from skymesh.errors import InputError
from skymesh.policy.rules import policy_from_dict
from skymesh.report import maps, plots

WHEN = "2026-01-01T00:00:00Z"


def assert_not_blank(png, min_colours=20, min_std=0.05):
    assert png.is_file() and png.stat().st_size > 5_000
    img = imread(png)
    rgb = img[..., :3].reshape(-1, 3)
    assert rgb.std() > min_std
    assert len(np.unique(np.round(rgb * 255).astype(np.uint8), axis=0)) > min_colours


def legend_texts(fig: Figure) -> list[str]:
    ax = fig.axes[0]
    return [t.get_text() for t in ax.get_legend().get_texts()]


def by_gid(fig: Figure, gid: str):
    return [c for c in fig.axes[0].get_children() if c.get_gid() == gid]


@pytest.fixture(scope="module")
def snapshot():
    from skymesh.links.isl import plus_grid_pairs
    from skymesh.orbits.constellation import Shell
    from skymesh.orbits.propagate import positions_geodetic
    from skymesh.orbits.walker import walker_constellation
    from skymesh.timebase import time_grid

    const = walker_constellation((Shell(550.0, 53.0, 12, 10, 1),), epoch=WHEN)
    lat, lon, _ = positions_geodetic(const, time_grid(WHEN))
    return const, lat[:, 0], lon[:, 0], plus_grid_pairs(const)


def test_split_segments_cuts_at_antimeridian():
    seg = maps.split_segments([10.0, 0.0], [170.0, 10.0], [20.0, 5.0], [-170.0, 20.0])
    assert seg.shape == (3, 2, 2)  # one whole, one cut in two
    assert np.all(np.abs(np.diff(seg[..., 0], axis=1)) <= 180.0)
    ends = sorted(seg[:, 1, 0].tolist() + seg[:, 0, 0].tolist())
    assert -180.0 in ends and 180.0 in ends
    cut = seg[np.isclose(np.abs(seg[:, 1, 0]), 180.0)][0]
    assert cut[1, 1] == pytest.approx(15.0)  # halfway in longitude -> lat 15


def test_constellation_map(tmp_path, snapshot):
    const, lat, lon, pairs = snapshot
    seg = np.stack(
        [
            np.stack([lat[pairs[:, 0]], lon[pairs[:, 0]]], -1),
            np.stack([lat[pairs[:, 1]], lon[pairs[:, 1]]], -1),
        ],
        axis=1,
    )
    png = tmp_path / "constellation.png"
    fig = maps.constellation_map(lat, lon, seg, title="Test shell", path=png)
    assert_not_blank(png)
    assert fig.axes[0].get_title() == "Test shell"
    (sats,) = by_gid(fig, "satellites")
    assert len(sats.get_offsets()) == len(const) == 120
    (isl,) = by_gid(fig, "isl")
    assert isinstance(isl, LineCollection) and len(isl.get_segments()) >= len(pairs)
    assert all(abs(s[1, 0] - s[0, 0]) <= 180.0 for s in isl.get_segments())
    (countries,) = by_gid(fig, "countries")
    assert isinstance(countries, PathCollection) and len(countries.get_paths()) > 150
    svg = tmp_path / "constellation.svg"
    maps.constellation_map(lat, lon, path=svg)
    assert svg.read_text().lstrip().startswith("<?xml") and "<svg" in svg.read_text()


def test_route_map_crossing_antimeridian(tmp_path):
    png = tmp_path / "route.png"
    fig = maps.route_map(
        [30.0, 35.0, 40.0],
        [170.0, -175.0, -160.0],
        (["Tokyo", "Seattle"], [35.7, 47.6], [139.7, -122.3]),
        gateways=([47.0], [-122.0], ["GW Seattle"]),
        sat_labels=["S1", "S2", "S3"],
        title="Tokyo - Seattle",
        path=png,
    )
    assert_not_blank(png)
    ax = fig.axes[0]
    assert ax.get_title() == "Tokyo - Seattle"
    (route,) = by_gid(fig, "route")
    segs = route.get_segments()
    assert all(abs(s[1, 0] - s[0, 0]) < 90.0 for s in segs)  # nothing across the map
    labels = legend_texts(fig)
    assert {"gateway", "endpoint", "route (3 satellites)"} <= set(labels)
    assert any(t.startswith("satellite") for t in labels)
    texts = {t.get_text() for t in ax.texts}
    assert {"Tokyo", "Seattle", "GW Seattle", "1", "3"} <= texts  # ends by name, hops by number
    (listing,) = [t for t in fig.axes[1].texts if t.get_gid() == "hop-list"]
    assert [ln.split()[-1] for ln in listing.get_text().splitlines()[1:]] == ["S1", "S2", "S3"]
    assert len(by_gid(fig, "route-satellites")[0].get_offsets()) == 3


def test_route_map_zooms_on_a_short_route():
    fig = maps.route_map(
        [52.0, 48.0, 44.0],
        [-10.0, -40.0, -65.0],
        (["London", "New York"], [51.5, 40.7], [-0.13, -74.0]),
    )
    x0, x1 = fig.axes[0].get_xlim()
    assert -180.0 < x0 < -74.0 and -0.13 < x1 < 180.0
    with pytest.raises(InputError):
        maps.route_map([1.0], [2.0], (["only one"], [0.0], [0.0]))


def test_coverage(tmp_path):
    lat, lon, count = maps.coverage_grid("starlink-shell1", WHEN, step_deg=6.0)
    assert count.shape == (len(lat), len(lon)) == (30, 60)
    assert count[np.abs(lat) > 70].max() == 0  # 53 deg shell: nothing near poles
    assert count[np.abs(lat) < 50].min() >= 1  # continuous mid-latitude coverage
    png = tmp_path / "coverage.png"
    fig = maps.coverage_map(lat, lon, count, title="In view", path=png)
    assert_not_blank(png)
    assert fig.axes[0].get_title() == "In view"
    assert len(fig.axes) == 2  # the map and its colour bar
    assert fig.axes[1].get_ylabel() == "satellites in view"
    assert by_gid(fig, "coverage")


def test_service_map_and_policy_states(tmp_path):
    policy = policy_from_dict(
        {
            "country": [{"iso2": "IR", "service": [{"state": "inactive"}]}],
            "landing": [{"iso2": "IN", "state": "denied", "from": "2025-06-01T00:00:00Z"}],
        }
    )
    states = maps.policy_states(policy, WHEN)
    assert states["IR"] == "inactive"
    assert states["IN"] == "no-landing-rights"
    assert states["US"] == "active"
    assert len(states) > 150
    assert maps.policy_states(policy, "2025-01-01T00:00:00Z", ["IN"]) == {"IN": "active"}
    png = tmp_path / "service.png"
    fig = maps.service_map(states, title="Policy at 2026-01-01", path=png)
    assert_not_blank(png)
    assert fig.axes[0].get_title() == "Policy at 2026-01-01"
    labels = legend_texts(fig)
    assert {"active", "inactive", "no-landing-rights"} <= set(labels)
    svg = tmp_path / "service.svg"
    maps.service_map({"FR": "active"}, path=svg)
    assert "no data" in legend_texts(maps.service_map({"FR": "active"}))
    assert svg.stat().st_size > 10_000
    with pytest.raises(InputError, match="unknown service state"):
        maps.service_map({"FR": "maybe"})


def test_unknown_extension(tmp_path):
    with pytest.raises(InputError, match="cannot save"):
        maps.service_map({}, path=tmp_path / "map.jpeg")


def test_reference_rtts():
    v = plots.vacuum_rtt_ms(51.5074, -0.1278, 40.7128, -74.0060)  # London - New York
    assert v == pytest.approx(2 * 5570 / 299792.458 * 1e3, rel=0.01)  # ~5,570 km
    assert plots.fibre_rtt_ms(51.5074, -0.1278, 40.7128, -74.0060) == pytest.approx(1.47 * v)


def test_rtt_plot_with_gaps(tmp_path):
    t = np.arange(0.0, 300.0, 5.0)
    rtt = 45.0 + 4.0 * np.sin(t / 40.0)
    rtt[20:26] = np.nan
    png = tmp_path / "rtt.png"
    fig = plots.rtt_plot(t, rtt, 37.2, 54.6, title="London - New York", path=png)
    assert_not_blank(png, min_colours=10, min_std=0.03)
    ax = fig.axes[0]
    assert ax.get_title() == "London - New York"
    labels = legend_texts(fig)
    assert any(s.startswith("vacuum bound") for s in labels)
    assert any(s.startswith("great-circle fibre") for s in labels)
    assert "unreachable" in labels
    (line,) = [ln for ln in ax.get_lines() if ln.get_label().startswith("RTT")]
    assert np.isnan(line.get_ydata()).sum() == 6  # a gap, not interpolated
    # datetimes and None (pyarrow nulls) work too
    times = np.datetime64("2026-01-01T00:00:00") + np.arange(4) * np.timedelta64(15, "s")
    plots.rtt_plot(times, [40.0, None, 41.0, 42.0], 37.2, 54.6, path=tmp_path / "rtt.svg")
    assert (tmp_path / "rtt.svg").stat().st_size > 5_000


def test_rtt_cdf_plot(tmp_path):
    rng = np.random.default_rng(1)
    rtt = 40.0 + rng.gamma(2.0, 3.0, 500)
    rtt[:50] = np.nan
    png = tmp_path / "cdf.png"
    fig = plots.rtt_cdf_plot(rtt, 37.2, 54.6, title="CDF", path=png)
    assert_not_blank(png, min_colours=10, min_std=0.03)
    labels = legend_texts(fig)
    assert any(s.startswith("vacuum bound") for s in labels)
    assert any("90% of steps reachable" in s for s in labels)
    ax = fig.axes[0]
    curve = [ln for ln in ax.get_lines() if "reachable" in ln.get_label()][0]
    assert curve.get_ydata().max() == pytest.approx(0.9)


def _rendered_boxes(fig, gids):
    """Window extents (pixels) of the map's texts with one of ``gids``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    return [(t.get_text(), t.get_window_extent(renderer)) for t in ax.texts if t.get_gid() in gids]


def test_route_map_labels_never_overlap():
    # A dense route: 25 satellites 1.5 deg apart, a cloud of gateways around it.
    slat = np.linspace(40.0, 43.0, 25)
    slon = np.linspace(-10.0, 26.0, 25)
    rng = np.random.default_rng(3)
    glat, glon = 41.0 + rng.normal(0, 2.0, 30), 8.0 + rng.normal(0, 10.0, 30)
    fig = maps.route_map(
        slat,
        slon,
        (["Lisbon", "Istanbul"], [38.7, 41.0], [-9.1, 28.9]),
        gateways=(glat, glon, [f"gateway number {k}" for k in range(30)]),
        sat_labels=[f"SAT-{k}" for k in range(25)],
    )
    boxes = _rendered_boxes(fig, {"hop-number", "endpoint-name", "gateway-name"})
    names = [n for n, _ in boxes]
    assert "Lisbon" in names and "Istanbul" in names and "1" in names and "25" in names
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            a, b = boxes[i][1], boxes[j][1]
            overlap_w = min(a.x1, b.x1) - max(a.x0, b.x0)
            overlap_h = min(a.y1, b.y1) - max(a.y0, b.y0)
            assert overlap_w <= 1.0 or overlap_h <= 1.0, (boxes[i][0], boxes[j][0])
    (listing,) = [t for t in fig.axes[1].texts if t.get_gid() == "hop-list"]
    assert len(listing.get_text().splitlines()) == 1 + 25  # every satellite listed
    with pytest.raises(InputError, match="labels"):
        maps.route_map(slat, slon, (["A", "B"], [0, 1], [0, 1]), sat_labels=["x"] * 27)


def test_route_figure_counts_agree(tmp_path):
    """Title, legend, markers and list all count the satellites of the route the
    router returned (the README map once said 14 in the title and 16 in the legend)."""
    import re
    from types import SimpleNamespace

    from skymesh.network.over_time import GroundPoints, path_series
    from skymesh.orbits.constellation import Shell
    from skymesh.orbits.walker import walker_constellation
    from skymesh.report.pictures import route_figure
    from skymesh.timebase import time_grid

    const = walker_constellation((Shell(550.0, 53.0, 24, 16, 1),), epoch=WHEN)
    a = SimpleNamespace(name="Paris", lat_deg=48.857, lon_deg=2.352)
    b = SimpleNamespace(name="Luanda", lat_deg=-8.837, lon_deg=13.234)
    fig = route_figure(const, a, b, maps_when(), tmp_path / "r.png")
    eps = GroundPoints.of(["a", "b"], [a.lat_deg, b.lat_deg], [a.lon_deg, b.lon_deg])
    n = len(path_series(const, time_grid(WHEN), eps, [[0, 1]])["path"][0].as_py())
    assert n >= 2
    title = fig.axes[0].get_title()
    assert int(re.search(r"(\d+) satellites", title).group(1)) == n
    # Which RTT: the user's (with both access legs) first, the space RTT beside it, and
    # the user's is the larger (issue 21: the title once gave the space RTT as "RTT").
    user = float(re.search(r"RTT \(user, with access\) ([\d.]+) ms", title).group(1))
    space = float(re.search(r"space RTT ([\d.]+) ms", title).group(1))
    assert user > space > 0
    assert f"route ({n} satellites)" in legend_texts(fig)
    assert len(by_gid(fig, "route-satellites")[0].get_offsets()) == n
    assert assert_not_blank(tmp_path / "r.png") is None


def maps_when():
    from skymesh.timebase import parse_time

    return parse_time(WHEN)


def test_service_map_marks_terminals_and_gateways(tmp_path):
    states = {"IR": "inactive", "TR": "active", "OM": "active", "IN": "no-landing-rights"}
    tlat, tlon = np.array([35.7, 32.6, 29.6]), np.array([51.4, 51.7, 52.5])
    fig = maps.service_map(
        states,
        terminals=(tlat, tlon),
        gateways=([40.8, 23.6], [29.5, 58.5], ["Muallim", "Murayjat"]),
        path=tmp_path / "s.png",
    )
    assert_not_blank(tmp_path / "s.png")
    (terms,) = by_gid(fig, "terminals")
    np.testing.assert_allclose(terms.get_offsets(), np.column_stack([tlon, tlat]))
    (gws,) = by_gid(fig, "gateways")
    assert len(gws.get_offsets()) == 2
    assert {"terminal (3)", "gateway (2)"} <= set(legend_texts(fig))
    # A regional study: an inset zooms on the sites and carries the gateway names.
    (zoom,) = by_gid(fig, "zoom")
    x0, x1 = zoom.get_xlim()
    y0, y1 = zoom.get_ylim()
    assert x0 < 29.5 and x1 > 58.5 and y0 < 23.6 and y1 > 40.8 and x1 - x0 < 120
    assert {t.get_text() for t in zoom.texts} == {"Muallim", "Murayjat"}
    assert not fig.axes[0].texts
    # Sites spread over the world: no inset, names on the map.
    world = maps.service_map(states, gateways=([40.8, -33.9], [29.5, 18.4], ["A", "B"]))
    assert not by_gid(world, "zoom") and {t.get_text() for t in world.axes[0].texts} == {"A", "B"}
    (hatch,) = by_gid(fig, "inactive-hatch")  # IR, and only IR, hatched
    assert len(hatch.get_paths()) == 1 and hatch.get_hatch()
    # Every state and role has its own colour.
    fills = [c for c, _ in maps.SERVICE_STATES.values()] + [maps.NO_DATA_STYLE[0]]
    marks = [maps.ROLE_COLOURS[k] for k in ("terminal", "gateway", "satellite")]
    assert len({c.lower() for c in fills + marks}) == len(fills) + len(marks)


def test_a_failed_save_leaves_the_old_picture(tmp_path, monkeypatch):
    """Pictures are written beside the target and renamed: a crash mid-write keeps the
    file that was there and leaves no temporary behind."""
    png = tmp_path / "service.png"
    maps.service_map({"FR": "active"}, path=png)
    before = png.read_bytes()

    def half_written(self, fname, *a, **k):
        with open(fname, "wb") as fh:
            fh.write(b"\x89PNG truncated")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", half_written)
    from skymesh.errors import SkyMeshError

    with pytest.raises(SkyMeshError, match="no space left"):
        maps.service_map({"FR": "inactive"}, path=png)
    assert png.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["service.png"]


def test_time_series_legend_lists_only_drawn_lines():
    """A series with no value in the window draws no line: it (and its reference line)
    is left out of the legend and named in a note instead. rtt_over_time.png once listed
    unreachable pairs in its legend."""
    from skymesh.report.plots import time_series_plot

    t = np.arange(10.0)
    seen = np.r_[np.full(5, 20.0), np.nan, np.nan, 21.0, np.nan, 22.0]
    fig = time_series_plot(
        t,
        {"Paris - London": seen, "Paris - Tokyo": np.full(10, np.nan)},
        ylabel="RTT (ms)",
        references={
            "Paris - London: vacuum bound": (2.3, "Paris - London"),
            "Paris - Tokyo: vacuum bound": (65.0, "Paris - Tokyo"),
        },
    )
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["Paris - London", "Paris - London: vacuum bound"]
    assert any("Paris - Tokyo" in t.get_text() for t in ax.texts)
    # The lone values (steps 7 and 9) are marked, so they are seen.
    line = next(ln for ln in ax.get_lines() if ln.get_label() == "Paris - London")
    assert line.get_marker() not in (None, "None", "")


def test_time_series_shades_where_no_series_has_a_value():
    """iran-2022's RTT over time was blank before the activation, with nothing to say why:
    a stretch with no value in any series is shaded and its reason is in the legend."""
    from skymesh.report.plots import time_series_plot

    t = np.arange(10.0) * 10.0
    a = np.r_[np.full(4, np.nan), np.full(6, 45.0)]
    fig = time_series_plot(t, {"median RTT": a}, ylabel="RTT (ms)", gap_label="none served")
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["median RTT", "no value: none served"]
    spans = [p for p in ax.patches if p.get_label() == "no value: none served"]
    assert len(spans) == 1
    x0, x1 = spans[0].get_x(), spans[0].get_x() + spans[0].get_width()
    assert (x0, x1) == pytest.approx((0.0, 35.0))  # steps 0-3, to half way to step 4


def test_switched_off_small_country_is_marked_at_world_scale():
    """Taiwan is 3 deg^2 at 1:110m, a few pixels on a world map: the service maps of
    taiwan-geofence at the start and the end looked the same. Not active, it is ringed
    and named with its state; active, it is not; the title lists the countries off."""
    from skymesh.report.pictures import state_note

    off = maps.service_map({"TW": "inactive", "JP": "active", "CN": "active"})
    rings = by_gid(off, "small-country")
    assert len(rings) == 1
    names = [t.get_text() for t in off.axes[0].texts if t.get_gid() == "small-country-name"]
    assert names == ["Taiwan: inactive"]
    on = maps.service_map({"TW": "active", "JP": "active", "CN": "active"})
    assert by_gid(on, "small-country") == []
    # A large country switched off needs no ring: its own shading shows.
    assert by_gid(maps.service_map({"IR": "inactive"}), "small-country") == []
    assert state_note({"TW": "inactive", "JP": "active", "TR": "no-landing-rights"}) == (
        "inactive: TW; no-landing-rights: TR"
    )
