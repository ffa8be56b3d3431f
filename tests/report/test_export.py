"""``skymesh export``: a run as CZML and GeoJSON, each read back by parsers that are not SkyMesh's.

CZML is parsed with ``czml3``'s pydantic models (unknown keys, bad intervals are refused),
GeoJSON with the ``geojson`` package and ``shapely``; positions are checked against
``pyproj``'s WGS84 geodesy and the run's rows are read with ``pyarrow`` directly.
"""

from __future__ import annotations

import json
import tomllib
from datetime import datetime, timezone

import numpy as np
import pyarrow.parquet as pq
import pytest

from skymesh.cli import main

START = "2022-09-22T23:59:00Z"  # a minute before Iran's service switches on (00:00Z)
SWITCH = datetime(2022, 9, 23, tzinfo=timezone.utc)
SETS = [
    f"time.start={START}",
    "time.duration_s=120",
    "time.step_s=10",
    "terminals.0.count=12",
    "constellation.preset=starlink-shell1",
    "capacity.samples=2",
]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "iran"
    argv = ["run", "iran-2022", "--out", str(out), "-y"]
    for s in SETS:
        argv += ["--set", s]
    assert main(argv) == 0
    return out


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _interval(text: str) -> tuple[datetime, datetime]:
    a, b = text.split("/")
    return _t(a), _t(b)


def _export(run_dir, tmp_path, fmt, *extra) -> list | dict:
    out = tmp_path / f"run.{fmt}"
    assert main(["export", str(run_dir), "--format", fmt, "--out", str(out), *extra]) == 0
    return json.loads(out.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def czml(run_dir, tmp_path_factory):
    return _export(run_dir, tmp_path_factory.mktemp("czml"), "czml")


def test_czml_parses_with_czml3_and_satellites_are_earth_fixed(czml, run_dir):
    from czml3 import Document, Packet

    packets = [Packet(**p) for p in czml]  # raises on unknown keys or malformed intervals
    Document(packets=packets)
    doc = czml[0]
    assert doc["id"] == "document" and doc["version"] == "1.0"
    a, b = _interval(doc["clock"]["interval"])
    assert a == _t(START) and (b - a).total_seconds() == 130  # 13 steps of 10 s
    sats = [p for p in czml if p["id"].startswith("sat-")]
    assert len(sats) == 1584  # starlink-shell1: 72 planes x 22
    for p in sats[:50]:
        pos = p["position"]
        assert pos["referenceFrame"] == "FIXED" and _t(pos["epoch"]) == a
        xyz = np.asarray(pos["cartesian"], dtype=float).reshape(-1, 4)
        np.testing.assert_allclose(xyz[:, 0], np.arange(0, 130, 10))
        r_km = np.linalg.norm(xyz[:, 1:], axis=1) / 1e3
        assert np.all(np.abs(r_km - (6378.137 + 550.0)) < 30.0)  # metres, not km


def test_czml_routes_are_the_runs_rows_and_the_satellite_is_above_the_terminal(czml, run_dir):
    """Each route stretch names the run's serving satellite and gateway at its steps, and
    that satellite's FIXED position is >= 25 deg above the terminal (WGS84 by pyproj):
    an inertial or km-scaled position would put it elsewhere."""
    from pyproj import Transformer

    rows = pq.read_table(run_dir / "timeseries.parquet").to_pylist()
    by = {(r["terminal"], r["time_utc"]): r for r in rows}
    scenario_terminals = {}
    for p in czml:
        if p["id"].startswith("terminal-"):
            scenario_terminals[int(p["id"].split("-")[1])] = p["position"]["cartographicDegrees"]
    sats = {p["id"]: p for p in czml if p["id"].startswith("sat-")}
    routes = [p for p in czml if p["id"].startswith("route-")]
    assert routes
    to_ecef = Transformer.from_crs("EPSG:4979", "EPSG:4978", always_xy=True)
    checked = 0
    for p in routes:
        a, b = _interval(p["availability"])
        refs = p["polyline"]["positions"]["references"]
        term = int(refs[0].split("#")[0].split("-")[1])
        sat_id = refs[1].split("#")[0]
        row = by[(term, a)]
        assert row["served"] and a >= SWITCH  # no route before service switches on
        assert sat_id == f"sat-primary-{row['serving_satellite']}"
        assert [r for r in refs if r.startswith("gateway-")] == [
            f"gateway-{row['gateway']}#position"
        ]
        lon, lat, h = scenario_terminals[term]
        g = np.asarray(to_ecef.transform(lon, lat, h))
        samples = np.asarray(sats[sat_id]["position"]["cartesian"]).reshape(-1, 4)
        k = int(np.flatnonzero(samples[:, 0] == (a - _t(START)).total_seconds())[0])
        d = samples[k, 1:] - g
        up = g / np.linalg.norm(g)
        elevation = np.degrees(np.arcsin(np.dot(d, up) / np.linalg.norm(d)))
        assert elevation > 24.0  # 25 deg mask on the geodetic normal, ~0.2 deg slack
        checked += 1
    assert checked == len(routes)


def test_czml_iran_is_inactive_then_switched_on(czml):
    iran = [p for p in czml if p["id"].startswith("country-IR-")]
    states, colours = {}, {}
    for p in iran:
        a, b = _interval(p["availability"])
        states[p["name"].split(": ")[1]] = (a, b)
        colours[p["name"].split(": ")[1]] = p["polygon"]["material"]["solidColor"]["color"]["rgba"]
    assert states["inactive"] == (_t(START), SWITCH)
    on = [s for s in states if s != "inactive"]
    assert len(on) == 1 and states[on[0]][0] == SWITCH
    assert colours["inactive"] != colours[on[0]]


def test_czml_decimates_to_the_size_cap_and_says_so(run_dir, tmp_path):
    full = _export(run_dir, tmp_path, "czml")
    size_full = len(json.dumps(full)) / 1e6
    out = tmp_path / "small.czml"
    cap = f"{size_full * 0.6:.2f}"
    assert (
        main(["export", str(run_dir), "--format", "czml", "--out", str(out), "--max-mb", cap]) == 0
    )
    small = json.loads(out.read_text())
    assert out.stat().st_size <= float(cap) * 1e6
    n = len(np.asarray(small[1]["position"]["cartesian"]).reshape(-1, 4))
    assert 2 <= n < 13
    assert "sampled about every" in small[0]["description"]


def test_czml_too_small_a_cap_is_refused_before_writing(run_dir, tmp_path, capsys):
    out = tmp_path / "x.czml"
    assert (
        main(["export", str(run_dir), "--format", "czml", "--out", str(out), "--max-mb", "0.1"])
        == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--max-mb" in err[0]
    assert not out.exists()


def test_geojson_is_valid_rfc7946_and_holds_the_runs_sites(run_dir, tmp_path):
    import geojson
    from shapely.geometry import Point, shape

    text = (tmp_path / "x").as_posix()
    doc = _export(run_dir, tmp_path, "geojson")
    text = json.dumps(doc)
    parsed = geojson.loads(text)
    assert isinstance(parsed, geojson.FeatureCollection) and parsed.is_valid, parsed.errors()
    feats = doc["features"]
    for f in feats:
        assert shape(f["geometry"]).is_valid
    scenario = tomllib.loads((run_dir / "scenario.toml").read_text())
    gws = {f["properties"]["name"]: f for f in feats if f["properties"]["kind"] == "gateway"}
    for g in scenario["gateways"]:
        lon, lat = gws[g["name"]]["geometry"]["coordinates"]  # RFC 7946: lon, lat
        assert (lon, lat) == pytest.approx((g["lon"], g["lat"]), abs=1e-4)
    pops = {f["properties"]["name"] for f in feats if f["properties"]["kind"] == "pop"}
    assert pops == {p["name"] for p in scenario["pops"]}
    rows = pq.read_table(run_dir / "timeseries.parquet", columns=["served", "gateway"])
    served = [g for s, g in zip(*(rows[c].to_pylist() for c in ("served", "gateway"))) if s]
    for name, f in gws.items():
        assert f["properties"]["share_of_served"] == pytest.approx(served.count(name) / len(served))
    iran = [f["properties"] for f in feats if f["properties"].get("iso2") == "IR"]
    assert [(p["state"], p["start_utc"]) for p in iran][0] == ("inactive", START[:-1] + ".000Z")
    assert _t(iran[0]["end_utc"]) == SWITCH and len(iran) == 2
    tehran = Point(51.39, 35.69)
    assert shape([f for f in feats if f["properties"].get("iso2") == "IR"][0]["geometry"]).contains(
        tehran
    )


def test_geojson_cells_hold_their_terminals_and_the_runs_capacity(run_dir, tmp_path):
    from shapely.geometry import Point, shape

    doc = _export(run_dir, tmp_path, "geojson")
    feats = doc["features"]
    cells = [f for f in feats if f["properties"]["kind"] == "cell"]
    terms = [f for f in feats if f["properties"]["kind"] == "terminal"]
    cap = pq.read_table(run_dir / "capacity.parquet").to_pylist()
    times = sorted({r["time_utc"] for r in cap})
    assert {_t(c["properties"]["time_utc"]) for c in cells} == set(times)
    for when in times:
        here = [c for c in cells if _t(c["properties"]["time_utc"]) == when]
        assert sum(c["properties"]["terminals"] for c in here) == len(terms)
        rate = "fair_share_mbps" if "fair_share_mbps" in cap[0] else "rate_mbps"  # renamed
        carried = sum(r[rate] or 0.0 for r in cap if r["time_utc"] == when)
        assert sum(c["properties"]["carried_mbps"] for c in here) == pytest.approx(
            carried, abs=0.01
        )
        polys = [shape(c["geometry"]) for c in here]
        for t in terms:
            assert any(p.covers(Point(t["geometry"]["coordinates"])) for p in polys)


@pytest.mark.parametrize(
    "argv, word",
    [
        (["--format", "kml"], "unknown format 'kml'"),
        (["--format", "czml", "--out-suffix", ".txt"], "a czml file ends in .czml"),
    ],
)
def test_bad_flags_are_one_line_exit_2(run_dir, tmp_path, capsys, argv, word):
    out = tmp_path / ("x.czml" if "--out-suffix" not in argv else "x.txt")
    argv = [a for a in argv if a not in ("--out-suffix", ".txt")]
    assert main(["export", str(run_dir), *argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and word in err[0] and "internal error" not in err[0]
    assert not out.exists()


def test_not_a_results_folder_is_one_line_exit_2(tmp_path, capsys):
    assert (
        main(["export", str(tmp_path), "--format", "geojson", "--out", str(tmp_path / "x.geojson")])
        == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a SkyMesh results folder" in err[0] and str(tmp_path) in err[0]


def test_existing_out_needs_force(run_dir, tmp_path, capsys):
    out = tmp_path / "mine.geojson"
    out.write_text("my own file")
    assert main(["export", str(run_dir), "--format", "geojson", "--out", str(out)]) == 2
    assert "--force" in capsys.readouterr().err
    assert out.read_text() == "my own file"
    assert main(["export", str(run_dir), "--format", "geojson", "--out", str(out), "--force"]) == 0
    assert json.loads(out.read_text())["type"] == "FeatureCollection"


def test_result_export_takes_the_format_from_the_extension(run_dir, tmp_path):
    from czml3 import Packet

    from skymesh import open_run

    note = open_run(run_dir).export(tmp_path / "a.czml", max_routes=2)
    assert note["format"] == "czml"
    packets = json.loads((tmp_path / "a.czml").read_text())
    [Packet(**p) for p in packets]
    routed = {p["id"].split("-")[2] for p in packets if p["id"].startswith("route-")}
    assert len(routed) <= 2


def test_czml_isl_paths_have_the_runs_hop_count_and_end_above_the_gateway(czml, run_dir):
    """A drawn ISL path has the run's ``isl_hops`` + 1 satellites, neighbours at most an
    ISL's reach apart, and its last satellite >= 25 deg above the gateway (pyproj WGS84)."""
    from pyproj import Transformer

    rows = pq.read_table(run_dir / "timeseries.parquet").to_pylist()
    by = {(r["terminal"], r["time_utc"]): r for r in rows}
    sats = {p["id"]: p for p in czml if p["id"].startswith("sat-")}
    gws = {p["id"]: p for p in czml if p["id"].startswith("gateway-")}
    to_ecef = Transformer.from_crs("EPSG:4979", "EPSG:4978", always_xy=True)
    drawn = 0
    for p in czml:
        if not p["id"].startswith("route-") or "straight" in p["description"]:
            continue
        a, _ = _interval(p["availability"])
        refs = [r.split("#")[0] for r in p["polyline"]["positions"]["references"]]
        term = int(refs[0].split("-")[1])
        chain = [r for r in refs if r.startswith("sat-")]
        assert len(chain) == by[(term, a)]["isl_hops"] + 1
        t = (a - _t(START)).total_seconds()

        def at(sat_id, t=t):
            s = np.asarray(sats[sat_id]["position"]["cartesian"]).reshape(-1, 4)
            return s[np.flatnonzero(s[:, 0] == t)[0], 1:]

        xyz = np.array([at(s) for s in chain])
        assert np.all(np.linalg.norm(np.diff(xyz, axis=0), axis=1) < 5_500e3)  # metres
        gw = [r for r in refs if r.startswith("gateway-")][0]
        g = np.asarray(to_ecef.transform(*gws[gw]["position"]["cartographicDegrees"]))
        d = xyz[-1] - g
        assert np.degrees(np.arcsin(np.dot(d, g / np.linalg.norm(g)) / np.linalg.norm(d))) > 24.0
        drawn += len(chain) > 1
    assert drawn  # this window has routes over ISLs


def test_czml_max_steps_keeps_the_first_and_last_instants(run_dir, tmp_path):
    doc = _export(run_dir, tmp_path, "czml", "--max-steps", "3")
    t = np.asarray(doc[1]["position"]["cartesian"]).reshape(-1, 4)[:, 0]
    np.testing.assert_allclose(t, [0, 60, 120])  # 13 steps of 10 s: first, middle, last
