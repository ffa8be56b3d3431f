"""`data_update` against a real HTTP server on loopback; `newest_snapshot` on the shared data."""

import hashlib
import json
import re
import socket
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from skymesh.datadir import data_dir, download_file
from skymesh.errors import DataNotFoundError, InputError, NetworkUnavailableError
from skymesh.orbits.snapshots import data_update, newest_snapshot

STAMPED = re.compile(r"^(starlink|oneweb)_tle_\d{8}T\d{6}Z\.txt$")


def serve(files):
    """Start a loopback server answering CelesTrak GP queries from ``files`` {group: bytes}."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            url = urlsplit(self.path)
            query = parse_qs(url.query)
            body = None
            if url.path == "/NORAD/elements/gp.php" and query.get("FORMAT") == ["tle"]:
                body = files.get(query.get("GROUP", [""])[0])
            elif url.path.startswith("/files/"):
                body = files.get(url.path[len("/files/") :])
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


SNAPSHOT_DAY = datetime(2025, 12, 5, 12, 0, tzinfo=timezone.utc)  # a day after the shared set


@pytest.fixture
def clock_at_snapshot(monkeypatch):
    """Pretend the download happens a day after the shared TLE set was taken."""
    import skymesh.orbits.snapshots as snaps

    monkeypatch.setattr(snaps, "utc_now", lambda: SNAPSHOT_DAY)
    return SNAPSHOT_DAY


@pytest.fixture
def celestrak(shared_data, clock_at_snapshot):
    files = {
        "starlink": (shared_data / "starlink_tle_20251204.txt").read_bytes(),
        "oneweb": (shared_data / "oneweb_tle_20251007.txt").read_bytes(),
    }
    server, url = serve(files)
    yield files, url
    server.shutdown()
    server.server_close()


def test_update_downloads_validated_snapshots(tmp_path, celestrak):
    files, url = celestrak
    before = after = SNAPSHOT_DAY
    # the shared Starlink and OneWeb sets are two months apart: no one clock makes both fresh,
    # so the epoch check is overridden here (it is tested on its own below)
    written = data_update(base_url=url, data_dir=tmp_path, timeout_s=5, force=True)
    assert [p.name.split("_")[0] for p in written] == ["starlink", "oneweb"]
    for path, group, count in zip(written, ("starlink", "oneweb"), (9042, 651)):
        assert path.parent == tmp_path and STAMPED.match(path.name)
        assert path.read_bytes() == files[group]
        meta = json.loads(path.with_suffix(".json").read_text())
        assert meta["source_url"] == f"{url}/NORAD/elements/gp.php?GROUP={group}&FORMAT=tle"
        assert meta["sha256"] == hashlib.sha256(files[group]).hexdigest()
        assert meta["satellites"] == count
        when = datetime.strptime(meta["downloaded_at"], "%Y-%m-%dT%H:%M:%SZ")
        assert before <= when.replace(tzinfo=timezone.utc) <= after
        stamp = datetime.strptime(path.stem.split("_")[-1], "%Y%m%dT%H%M%SZ")
        assert abs(stamp - when) <= timedelta(seconds=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [p.name for p in written] + [p.with_suffix(".json").name for p in written]
    )
    assert newest_snapshot("starlink", data_dir=tmp_path) == written[0]


def test_env_base_url_and_extra_files(tmp_path, celestrak, monkeypatch, shared_data):
    files, url = celestrak
    files["ne.geojson"] = b'{"type": "FeatureCollection", "features": []}'
    monkeypatch.setenv("SKYMESH_CELESTRAK_URL", url)
    monkeypatch.setenv("SKYMESH_DATA", str(tmp_path))
    written = data_update(
        groups=("oneweb",), extra_files=[(f"{url}/files/ne.geojson", "ne.geojson")], force=True
    )
    assert [p.parent for p in written] == [tmp_path, tmp_path]
    assert (tmp_path / "ne.geojson").read_bytes() == files["ne.geojson"]
    # an existing extra file is kept, not fetched again nor overwritten
    (tmp_path / "ne.geojson").write_bytes(b"mine")
    again = data_update(groups=(), extra_files=[(f"{url}/files/ne.geojson", "ne.geojson")])
    assert again == [] and (tmp_path / "ne.geojson").read_bytes() == b"mine"
    # download_file refuses to overwrite
    with pytest.raises(Exception, match="already exists"):
        download_file(f"{url}/files/ne.geojson", tmp_path / "ne.geojson")


def test_broken_download_saves_nothing(tmp_path, shared_data):
    good = (shared_data / "starlink_tle_20251204.txt").read_bytes()
    lines = good.decode().splitlines()
    lines[5] = lines[5][:40]  # truncated line 2 of the 2nd element set
    server, url = serve(
        {
            "starlink": ("\n".join(lines) + "\n").encode(),
            "oneweb": b"<html>Too many requests</html>\n",
            "empty": b"",
        }
    )
    try:
        previous = tmp_path / "starlink_tle_20251204.txt"
        previous.write_bytes(good)
        with pytest.raises(InputError) as info:
            data_update(groups=("starlink",), base_url=url, data_dir=tmp_path)
        assert info.value.line == 6 and "nothing was saved" in str(info.value)
        with pytest.raises(InputError, match="not valid TLE text"):
            data_update(groups=("oneweb",), base_url=url, data_dir=tmp_path)
        with pytest.raises(InputError, match="no TLE element sets"):
            data_update(groups=("empty",), base_url=url, data_dir=tmp_path)
        assert [p.name for p in tmp_path.iterdir()] == [previous.name]
        assert newest_snapshot("starlink", data_dir=tmp_path) == previous
    finally:
        server.shutdown()
        server.server_close()


def test_unreachable_server(tmp_path):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    with pytest.raises(NetworkUnavailableError) as info:
        data_update(
            groups=("starlink",),
            base_url=f"http://127.0.0.1:{port}",
            data_dir=tmp_path,
            timeout_s=5,
        )
    msg = str(info.value)
    assert str(tmp_path) in msg and "starlink_tle_YYYYMMDD" in msg and "by hand" in msg
    assert list(tmp_path.iterdir()) == []


def test_http_error_is_reported(tmp_path, celestrak):
    _, url = celestrak
    with pytest.raises(NetworkUnavailableError, match="HTTP 404"):
        data_update(groups=("no-such-group",), base_url=url, data_dir=tmp_path)


def test_newest_snapshot_in_shared_data(shared_data, monkeypatch):
    monkeypatch.setenv("SKYMESH_DATA", str(shared_data))
    assert data_dir() == shared_data
    assert newest_snapshot("starlink").name == "starlink_tle_20251204.txt"
    assert newest_snapshot("oneweb").name == "oneweb_tle_20251007.txt"


def test_newest_snapshot_orders_by_name_stamp(tmp_path):
    for name in (
        "starlink_tle_20251204.txt",
        "starlink_tle_20251203T235959Z.txt",
        "starlink_tle_20251204T000001Z.txt",
        "starlink_tle_20251204T000001Z.json",
        "starlink_tle_20991231.txt.bak",
        "oneweb_tle_20301231.txt",
    ):
        (tmp_path / name).write_text("x")
    assert newest_snapshot("starlink", tmp_path).name == "starlink_tle_20251204T000001Z.txt"


def test_no_snapshot(tmp_path, monkeypatch):
    monkeypatch.setenv("SKYMESH_DATA", str(tmp_path / "empty"))
    with pytest.raises(DataNotFoundError) as info:
        newest_snapshot("kuiper")  # no element sets of it ship with SkyMesh
    msg = str(info.value)
    assert "skymesh data update" in msg and str(tmp_path / "empty") in msg
    assert "by hand" in msg


def test_default_data_dir_is_user_cache(monkeypatch):
    import platformdirs

    monkeypatch.delenv("SKYMESH_DATA", raising=False)
    assert str(data_dir()) == platformdirs.user_cache_dir("skymesh")


@pytest.mark.parametrize(
    "group",
    ["../../x", "/etc", "Starlink", "a&FORMAT=json", "a b", "-lead", "x" * 41, "", "star\u0131ink"],
)
def test_group_names_from_an_allow_list(tmp_path, group):
    with pytest.raises(InputError, match="--groups: .* is not a CelesTrak group name"):
        data_update(groups=(group,), base_url="http://127.0.0.1:9", data_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_url_is_encoded():
    from skymesh.orbits.snapshots import celestrak_url

    assert (
        celestrak_url("gps-ops", "https://m.example/")
        == "https://m.example/NORAD/elements/gp.php?GROUP=gps-ops&FORMAT=tle"
    )


def _count_files(folder):
    return sorted(p.name for p in folder.iterdir())


def test_checks_before_a_download_becomes_newest(tmp_path, shared_data, monkeypatch):
    import skymesh.orbits.snapshots as snaps

    starlink = (shared_data / "starlink_tle_20251204.txt").read_bytes()
    oneweb = (shared_data / "oneweb_tle_20251007.txt").read_bytes()
    server, url = serve({"starlink": starlink, "shrunk": oneweb})
    try:
        # the set is a year old by the real clock: refused, then taken with force
        with pytest.raises(InputError, match="element epochs are more than 30 days.*--force"):
            data_update(groups=("starlink",), base_url=url, data_dir=tmp_path)
        assert list(tmp_path.iterdir()) == []
        monkeypatch.setattr(snaps, "utc_now", lambda: SNAPSHOT_DAY)
        # size cap
        monkeypatch.setattr(snaps, "MAX_DOWNLOAD_BYTES", 1000)
        with pytest.raises(InputError, match="over the 1,000-byte cap"):
            data_update(groups=("starlink",), base_url=url, data_dir=tmp_path)
        assert list(tmp_path.iterdir()) == []
        monkeypatch.setattr(snaps, "MAX_DOWNLOAD_BYTES", 32 << 20)
        first = data_update(groups=("starlink",), base_url=url, data_dir=tmp_path)
        # a later download with far fewer satellites (651 < 9,042 / 2) is refused
        (tmp_path / "shrunk_tle_20251201.txt").write_bytes(starlink)
        before = _count_files(tmp_path)
        with pytest.raises(InputError, match="651 satellites, fewer than half.*9,042"):
            data_update(groups=("shrunk",), base_url=url, data_dir=tmp_path)
        assert _count_files(tmp_path) == before
        forced = data_update(groups=("shrunk",), base_url=url, data_dir=tmp_path, force=True)
        assert newest_snapshot("shrunk", tmp_path) == forced[0]
        assert newest_snapshot("starlink", tmp_path) == first[0]
        assert not [n for n in _count_files(tmp_path) if n.startswith(".")]  # no temp files left
    finally:
        server.shutdown()
        server.server_close()


def test_epochs_parsed_from_line1():
    from skymesh.orbits.tle import tle_epochs_utc

    l1 = "1 25544U 98067A   08264.51782528 -.00002182  00000-0 -11606-4 0  2927"
    # 2008 day 264.51782528 = 2008-09-20 12:25:40.1 UTC (the sgp4 test case, Vallado 2006)
    assert str(tle_epochs_utc([l1])[0])[:23] == "2008-09-20T12:25:40.104"
