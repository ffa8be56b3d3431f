"""The shipped gateway + PoP list and element sets, the one default loader, and
`data update` of the gateway list against a loopback HTTP server serving fixtures."""

from __future__ import annotations

import csv
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from skymesh.errors import InputError
from skymesh.ground.sites import default_sites, load_sites, update_sites
from skymesh.shipped import SHIPPED, package_data_dir

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def empty_data(tmp_path, monkeypatch):
    """A fresh install: an empty data directory and no curated data."""
    folder = tmp_path / "data"
    folder.mkdir()
    monkeypatch.setenv("SKYMESH_DATA", str(folder))
    return folder


def serve(files: dict):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = files.get(self.path.lstrip("/"))
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def shipped_rows() -> list[dict]:
    path = package_data_dir() / "starlink_gateways_merged.csv"
    with open(path, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def starlinkviz_json(rows, updated="2026-11-02T08:30:00.000Z") -> bytes:
    """starlink-viz's ground-stations.json layout, from CSV rows."""
    stations = [
        {
            "name": r["name"],
            "lat": float(r["lat"]),
            "lon": float(r["lon"]),
            "status": r["status"],
            "type": r["type"],
        }
        for r in rows
    ]
    return json.dumps({"lastUpdated": updated, "stations": stations}).encode()


def test_shipped_files_match_their_manifest_and_licences():
    folder = package_data_dir()
    for name, meta in SHIPPED.items():
        data = (folder / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == meta["sha256"], name
        for licence in (part.split(")")[0] for part in meta["licence"].split("(")[1:]):
            assert (folder / licence).is_file(), licence
    notice = (folder / "NOTICE.md").read_text(encoding="utf-8")
    assert all(f"`{name}`" in notice for name in SHIPPED)
    package_data = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"data/*.txt"' in package_data and '"data/*.csv"' in package_data
    assert '"data/LICENSES/*"' in package_data


def test_fresh_install_uses_the_shipped_sites(empty_data):
    notes: list[str] = []
    gw, pops, found = load_sites(notes=notes)
    assert found.path.parent == package_data_dir() and found.date == "2026-03-20"
    # the shipped list: 357 rows, 249 operational; of those 214 gateways and 35 PoPs
    assert (len(gw), len(pops)) == (214, 35)
    assert "shipped with SkyMesh, data of 2026-03-20" in notes[0]


def test_element_presets_work_offline(empty_data):
    from skymesh.orbits.presets import load_constellation

    report: list[str] = []
    star = load_constellation("starlink-tle", skip_bad=True, report=report)
    one = load_constellation("oneweb-tle", report=report)
    assert len(one) == 651 and len(star) > 9000
    assert f"{star.epoch:%Y-%m-%d}" == "2025-12-04" and f"{one.epoch:%Y-%m-%d}" == "2025-10-07"
    assert "starlink_tle_20251204.txt (shipped with SkyMesh" in report[0]


def test_a_newer_data_directory_snapshot_wins_an_older_one_does_not(empty_data):
    from skymesh.orbits.snapshots import newest_snapshot

    shipped = (package_data_dir() / "oneweb_tle_20251007.txt").read_bytes()
    (empty_data / "oneweb_tle_20250101.txt").write_bytes(shipped)
    assert newest_snapshot("oneweb").parent == package_data_dir()
    (empty_data / "oneweb_tle_20251007.txt").write_bytes(shipped)  # same date: the user's
    assert newest_snapshot("oneweb") == empty_data / "oneweb_tle_20251007.txt"
    (empty_data / "oneweb_tle_20260101T000000Z.txt").write_bytes(shipped)
    assert newest_snapshot("oneweb").name == "oneweb_tle_20260101T000000Z.txt"
    # the same order for the gateway list
    rows = "name,lat,lon,country\nA,1,2,FR\n"
    (empty_data / "starlink_gateways_20250101.csv").write_text(rows)
    assert default_sites().path.parent == package_data_dir()
    (empty_data / "starlink_gateways_20270101.csv").write_text(rows)
    assert default_sites().path == empty_data / "starlink_gateways_20270101.csv"
    assert default_sites().date == "2027-01-01"


def test_update_fetches_and_converts_the_gateway_list(empty_data):
    rows = shipped_rows()
    at_sea = {"name": "Nowhere", "lat": "0.0", "lon": "-30.0", "status": "operational"}
    new = {"name": "Newsite", "lat": "52.2", "lon": "21.0", "status": "planned"}  # Warsaw
    files = {
        "gs.json": starlinkviz_json(rows + [dict(at_sea, type="gateway"), dict(new, type="pop")])
    }
    server, url = serve(files)
    try:
        path = update_sites(url=f"{url}/gs.json", timeout_s=5)
        assert path == empty_data / "starlink_gateways_20261102T083000Z.csv"
        meta = json.loads(path.with_suffix(".json").read_text())
        assert meta["data_date"] == "2026-11-02" and meta["sites"] == len(rows) + 1
        assert meta["pops"] == 51 and meta["source_url"] == f"{url}/gs.json"
        assert meta["skipped"] == ["'Nowhere': no country at 0.0, -30.0"]
        # it is now the default everywhere, with its date
        gw, pops, found = load_sites()
        assert found.path == path and found.date == "2026-11-02"
        assert (len(gw), len(pops)) == (214, 35)
        # known sites keep the current list's country; a new one is placed by its borders
        got = {r["name"]: r["country_iso2"] for r in csv.DictReader(open(path))}
        assert all(got[r["name"]] == r["country_iso2"] for r in rows)
        assert got["Newsite"] == "PL"
        # the same list again: nothing new is written
        assert update_sites(url=f"{url}/gs.json", timeout_s=5) is None
        assert sorted(p.name for p in empty_data.iterdir()) == [
            path.name,
            meta["file"][:-4] + ".json",
        ]
    finally:
        server.shutdown()
        server.server_close()


def test_update_refuses_a_shrunken_or_broken_list(empty_data):
    rows = shipped_rows()
    files = {
        "few.json": starlinkviz_json(rows[:20]),
        "html": b"<html>rate limited</html>",
        "bad.csv": b"name,lat,lon,country\nA,91,2,FR\nB,1,2,XX\n",
    }
    server, url = serve(files)
    try:
        with pytest.raises(InputError, match="fewer than half"):
            update_sites(url=f"{url}/few.json", timeout_s=5)
        with pytest.raises(InputError) as info:
            update_sites(url=f"{url}/bad.csv", timeout_s=5)
        assert "2 problems" in str(info.value)
        with pytest.raises(InputError):
            update_sites(url=f"{url}/html", timeout_s=5)
        assert list(empty_data.iterdir()) == []
        assert update_sites(url=f"{url}/few.json", timeout_s=5, force=True) is not None
    finally:
        server.shutdown()
        server.server_close()


def test_cli_data_update_fetches_elements_and_gateways(empty_data, monkeypatch):
    from skymesh.cli import main

    tle = (package_data_dir() / "oneweb_tle_20251007.txt").read_bytes()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = tle if "GROUP=oneweb" in self.path else files.get(self.path.lstrip("/"))
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    files = {"gs.json": starlinkviz_json(shipped_rows())}
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        code = main(
            [
                "data",
                "update",
                "--groups",
                "oneweb",
                "--base-url",
                url,
                "--no-borders",
                "--sites-url",
                f"{url}/gs.json",
                "--force",  # the fixture's element epochs are not within 30 days of today
            ]
        )
    finally:
        server.shutdown()
        server.server_close()
    assert code == 0
    names = sorted(p.name for p in empty_data.iterdir() if p.suffix != ".json")
    assert (
        names[0].startswith("oneweb_tle_") and names[1] == "starlink_gateways_20261102T083000Z.csv"
    )


def test_capacity_and_access_need_no_data_directory(empty_data, capsys):
    from skymesh.cli import main

    assert main(["access", "Kyiv", "--duration", "30", "--step", "15", "--json"]) == 0
    out = capsys.readouterr()
    doc = json.loads(out.out)
    assert "starlink_gateways_merged.csv (shipped with SkyMesh, data of 2026-03-20)" in (
        out.err + json.dumps(doc)
    )
