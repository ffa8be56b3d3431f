"""The service under hostile requests (issue 20 §3), on SQLite and PostgreSQL.

Oversized and chunked bodies against a real uvicorn server (memory measured),
sign-in before validation, forwarded headers, values at the edges of what
Python and the databases hold (dates near years 1 and 9999, ids past 2^63,
nested TOML, NUL characters), a follow-up change within the same second,
the API pages, the SQLite file's mode and the access log.
"""

from __future__ import annotations

import os
import select
import socket
import stat
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

pytest.importorskip(
    "fastapi", reason="the service extra is not installed: pip install -e '.[service]'"
)
import httpx  # noqa: E402
import psutil  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from skymesh.policy.rules import policy_from_dict, service_active  # noqa: E402
from skymesh.service.app import MAX_BODY_BYTES, create_app, init_admin  # noqa: E402
from skymesh.service.local import add_user

MiB = 1024 * 1024


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


# --------------------------------------------------------------------------- a real server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db_url: str, tmp_path: Path, *extra: str, log=None):
    """``skymesh serve`` on a free loopback port: ``(process, base URL)``."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "skymesh.cli", "serve", "--db", db_url, "--port", str(port), *extra],
        env={**os.environ, "SKYMESH_DATA": str(tmp_path)},
        stdout=log or subprocess.DEVNULL,
        stderr=subprocess.STDOUT if log else subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(1200):
        try:
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.TransportError:
            if proc.poll() is not None:
                break
            time.sleep(0.05)
    proc.kill()
    pytest.fail("the service did not start")


def stop_server(proc) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def stream_chunked(port: int, path: str, total_bytes: int, chunk_bytes: int = 64 * 1024):
    """POST ``total_bytes`` to ``path`` as a chunked body with no Content-Length and no
    credentials, stopping as soon as the server answers or closes the connection.

    Returns ``(status or None, bytes sent)``; the traffic is bounded by ``total_bytes``."""
    chunk = b"%x\r\n" % chunk_bytes + b"x" * chunk_bytes + b"\r\n"
    sent, status, answer = 0, None, b""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n".encode()
        )
        sock.setblocking(False)
        pending = memoryview(chunk)
        while sent < total_bytes:
            readable, writable, _ = select.select([sock], [sock], [], 10)
            if readable or not writable:
                break  # an answer (or nothing moves for 10 s): stop sending
            try:
                n = sock.send(pending)
            except (BrokenPipeError, ConnectionResetError):
                break
            pending = pending[n:]
            if not pending:
                sent += chunk_bytes
                pending = memoryview(chunk)
        sock.setblocking(True)
        sock.settimeout(10)
        try:
            while b"\r\n" not in answer:
                part = sock.recv(4096)
                if not part:
                    break
                answer += part
        except (ConnectionResetError, TimeoutError, OSError):
            pass
    if answer.startswith(b"HTTP/1.1 "):
        status = int(answer[9:12])
    return status, sent


class PeakRSS:
    """The resident memory (MiB) of process ``pid``: before, peak while running, after."""

    def __init__(self, pid: int):
        self.proc = psutil.Process(pid)
        self.before = self.peak = self.proc.memory_info().rss / MiB
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss / MiB)
            time.sleep(0.01)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.after = self.proc.memory_info().rss / MiB
        self.peak = max(self.peak, self.after)


@pytest.fixture
def sqlite_server(tmp_path):
    url = f"sqlite:///{tmp_path / 'service.sqlite3'}"
    token = init_admin(url)
    proc, base = start_server(url, tmp_path)
    yield proc, base, token
    stop_server(proc)


def test_chunked_bodies_are_refused_while_streaming_before_sign_in(sqlite_server):
    proc, base, _ = sqlite_server
    port = int(base.rsplit(":", 1)[1])
    # warm up the answers the measured requests get (a 401, a 413)
    httpx.post(base + "/proposals", json={}, timeout=10)
    httpx.post(base + "/proposals", content=b"x" * (MAX_BODY_BYTES + 1), timeout=10)
    with PeakRSS(proc.pid) as one:
        status, sent = stream_chunked(port, "/proposals", 200 * 1000 * 1000)
    assert status == 413, (status, sent)
    assert sent < 32 * MiB  # refused early: the client stopped long before 200 MB
    assert one.peak - one.before < 30, (one.before, one.peak)

    results = []
    with PeakRSS(proc.pid) as three:
        threads = [
            threading.Thread(
                target=lambda: results.append(stream_chunked(port, "/proposals", 250 * 1000 * 1000))
            )
            for _ in range(3)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert [r[0] for r in results] == [413] * 3, results
    assert three.peak - three.before < 30, (three.before, three.peak)
    # a declared oversized length is refused without reading; a small body still works
    r = httpx.post(base + "/proposals", content=b"x" * (MAX_BODY_BYTES + 1), timeout=10)
    assert r.status_code == 413 and r.json()["field"] == "body"
    assert httpx.post(base + "/proposals", json={}, timeout=10).status_code == 401


# --------------------------------------------------------------------------- in-process


@pytest.fixture
def svc(db_url):
    admin = init_admin(db_url)
    app = create_app(db_url)
    client = TestClient(app, base_url="https://testserver", raise_server_exceptions=False)
    # approvers are made by the database's holder, never through the API (the trust model)
    tokens = {"admin": admin, "ann": add_user(db_url, "ann", "approver")}
    yield client, tokens, app
    client.close()
    app.state.engine.dispose()


def _write_routes(app):
    for route in app.routes:
        for method in sorted(getattr(route, "methods", ()) or ()):
            if method in ("POST", "PUT", "PATCH", "DELETE") and route.path != "/auth/login":
                yield (
                    method,
                    route.path.replace("{pid}", "1")
                    .replace("{name}", "x")
                    .replace("{token_id}", "0123456789abcdef"),
                )


def test_sign_in_comes_before_body_validation_on_every_write(svc):
    client, tok, app = svc
    routes = list(_write_routes(app))
    assert len(routes) >= 10, routes
    for method, path in routes:
        for body in (
            {"content": b"{}"},
            {"content": b'{"name": 1, "role": []}'},
            {"content": b"{"},
        ):
            for headers in ({}, bearer("smk_0123456789abcdef_wrong")):
                r = client.request(
                    method, path, headers={**headers, "Content-Type": "application/json"}, **body
                )
                assert r.status_code == 401, (method, path, body, r.status_code, r.text)
                assert "name" not in r.json()["detail"] and "role" not in r.json()["detail"]
    # signed in, the same body is a 422 naming the field
    r = client.post("/users", json={}, headers=bearer(tok["admin"]))
    assert r.status_code == 422 and r.json()["field"] == "name"


def test_session_without_csrf_is_refused_before_validation(svc):
    client, tok, _ = svc
    r = client.post("/auth/login", json={"name": "admin", "token": tok["admin"]})
    assert r.status_code == 200
    r = client.post("/users", content=b"{", headers={"Content-Type": "application/json"})
    assert r.status_code == 403 and r.json()["field"] == "X-CSRF-Token"


OFFSET_DATES = [
    "0001-01-01T00:00:00+05:00",
    "9999-12-31T23:59:59-05:00",
    "0001-01-01T00:30:00+01:00",
]


def test_dates_at_the_ends_of_the_calendar_are_4xx(svc):
    client, tok, _ = svc
    h = bearer(tok["admin"])
    for when in OFFSET_DATES:
        for key in ("from", "until"):
            change = {"kind": "landing", "iso2": "PL", "state": "denied", key: when}
            r = client.post("/proposals", json={"change": change, "reason": "edge"}, headers=h)
            assert r.status_code == 422 and r.json()["field"] == f"change.{key}", r.text
            assert "years 1 to 9999" in r.json()["detail"]
        r = client.get("/readouts/country/GR", params={"at": when}, headers=h)
        assert r.status_code == 422 and r.json()["field"] == "at", r.text
        r = client.get("/readouts/visible", params={"place": "0,0", "at": when}, headers=h)
        assert r.status_code == 422 and r.json()["field"] == "at", r.text
    for when in ("0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"):
        r = client.get("/readouts/country/GR", params={"at": when}, headers=h)
        assert r.status_code == 422 and r.json()["field"] == "at", r.text
        # as a policy time it is fine: the year-1 start is kept with 4 digits
        change = {"kind": "landing", "iso2": "PL", "state": "denied", "from": when}
        r = client.post("/proposals", json={"change": change, "reason": "edge"}, headers=h)
        assert r.status_code == 201, r.text
        assert r.json()["change"]["from"] == when
        pid = r.json()["id"]
        r = client.post(f"/proposals/{pid}/approve", json={}, headers=bearer(tok["ann"]))
        assert r.status_code == 200, r.text
        assert client.get("/policy/export", headers=h).status_code == 200


def test_ids_past_the_integer_columns_are_4xx(svc):
    client, tok, _ = svc
    h = bearer(tok["admin"])
    for pid in (2**31, 2**63, 2**63 + 1, 2**70, 10**40, 0, -1, -(2**63) - 1):
        for method, path in (
            ("POST", f"/proposals/{pid}/approve"),
            ("POST", f"/proposals/{pid}/reject"),
            ("GET", f"/proposals/{pid}/effect"),
        ):
            r = client.request(method, path, json={"reason": "r"}, headers=h)
            assert r.status_code == 422 and r.json()["field"] == "pid", (pid, path, r.text)
    for query in (
        {"after": 2**63},
        {"after": 2**70},
        {"after": -(2**70)},
        {"limit": 2**70},
        {"limit": -(2**70)},
        {"after": 2**63 - 1, "limit": 0},
    ):
        r = client.get("/audit", params=query, headers=h)
        assert r.status_code == 200, (query, r.text)
    assert client.get("/audit", params={"after": 2**70}, headers=h).json() == []
    assert len(client.get("/audit", params={"after": -(2**70)}, headers=h).json()) >= 2


def nested_toml(levels: int) -> str:
    return "description = " + "[" * levels + "]" * levels + "\n"


def test_deeply_nested_toml_is_a_422(svc):
    client, tok, _ = svc
    h = bearer(tok["admin"])
    for levels in (65, 3000, 30_000):
        r = client.post(
            "/proposals/import",
            json={"policy_toml": nested_toml(levels), "reason": "deep"},
            headers=h,
        )
        assert r.status_code == 422 and r.json()["field"] == "policy_toml", r.text
        r = client.put("/scenarios/deep", json={"toml": nested_toml(levels)}, headers=h)
        assert r.status_code == 422 and r.json()["field"] == "toml", r.text
        change = {"kind": "import", "policy_toml": "x = " + "{a = " * levels + "1" + "}" * levels}
        r = client.post("/proposals", json={"change": change, "reason": "deep"}, headers=h)
        assert r.status_code == 422, r.text
    # nesting inside strings and comments is not nesting
    text = 'description = "' + "[" * 3000 + '"\n# ' + "{" * 3000 + "\n"
    r = client.post("/proposals/import", json={"policy_toml": text, "reason": "ok"}, headers=h)
    assert r.status_code == 201, r.text
    # a JSON body nested past Python's recursion limit
    r = client.post(
        "/proposals",
        content=b'{"change": ' + b"[" * 5000 + b"]" * 5000 + b', "reason": "x"}',
        headers={**h, "Content-Type": "application/json"},
    )
    assert 400 <= r.status_code < 500, r.text


def test_nul_characters_are_a_422_naming_where(svc):
    client, tok, _ = svc
    h = bearer(tok["admin"])
    change = {"kind": "service", "iso2": "GR", "state": "inactive"}
    cases = [
        ("POST", "/proposals", {"json": {"change": change, "reason": "a\x00b"}}, "reason"),
        (
            "POST",
            "/proposals/import",
            {"json": {"policy_toml": 'description = "\x00"', "reason": "r"}},
            "policy_toml",
        ),
        ("PUT", "/scenarios/nul", {"json": {"toml": "# \x00\n"}}, "toml"),
        (
            "PUT",
            "/sites",
            {
                "json": {
                    "sites": [
                        {"name": "A\x00", "kind": "pop", "lat_deg": 0, "lon_deg": 0, "iso2": "GR"}
                    ]
                }
            },
            "sites.0.name",
        ),
        ("POST", "/auth/login", {"json": {"name": "admin\x00", "token": "t"}}, "name"),
        ("DELETE", "/tokens/%00abc", {}, "path"),
        ("GET", "/scenarios/a%00", {}, "path"),
        ("GET", "/policy", {"params": {"x": "a\x00"}}, "x"),
        ("GET", "/readouts/visible", {"params": {"place": "Ath\x00ens"}}, "place"),
    ]
    for method, path, kw, field in cases:
        r = client.request(method, path, headers=h, **kw)
        assert r.status_code == 422, (path, r.status_code, r.text)
        assert r.json()["field"] == field and "NUL" in r.json()["detail"], (path, r.text)
    # signed out, the answer is the 401 whatever the text holds
    r = client.post("/proposals", json={"change": change, "reason": "a\x00b"})
    assert r.status_code == 401, r.text
    assert client.get("/policy", params={"x": "\x00"}).status_code == 401
    r = client.get("/me", headers={**h, "X-Note": "a\x00b"})
    assert r.status_code == 422 and r.json()["field"] == "x-note"
    r = client.get("/me", headers={"Cookie": 'skymesh_session="smk_\\000\\000"'})
    assert r.status_code == 422 and r.json()["field"] == "cookie"
    # the store is unharmed: a normal write still works
    r = client.post("/proposals", json={"change": change, "reason": "fine"}, headers=h)
    assert r.status_code == 201, r.text


def _gr_active(client, token, when: datetime) -> bool:
    doc = client.get("/policy", headers=bearer(token)).json()["policy"]
    return bool(service_active(policy_from_dict(doc), ["GR"], [when])[0, 0])


def test_a_follow_up_change_within_the_same_second_is_accepted(svc):
    client, tok, _ = svc
    admin, ann = bearer(tok["admin"]), bearer(tok["ann"])

    def change(state, **times):
        r = client.post(
            "/proposals",
            json={
                "change": {"kind": "service", "iso2": "GR", "state": state, **times},
                "reason": state,
            },
            headers=admin,
        )
        assert r.status_code == 201, r.text
        r = client.post(f"/proposals/{r.json()['id']}/approve", json={}, headers=ann)
        assert r.status_code == 200, r.text

    # scheduled: off at .250 s, back on at .750 s of the same second
    change("inactive", **{"from": "2030-05-01T12:00:00.250Z"})
    change("active", **{"from": "2030-05-01T12:00:00.750Z"})
    doc = client.get("/policy", headers=admin).json()["policy"]
    (gr,) = [c for c in doc["country"] if c["iso2"] == "GR"]
    assert [(s["state"], s["from"], s.get("until")) for s in gr["service"]] == [
        ("inactive", "2030-05-01T12:00:00.250000Z", "2030-05-01T12:00:00.750000Z"),
        ("active", "2030-05-01T12:00:00.750000Z", None),
    ]
    at = datetime(2030, 5, 1, 12, 0, 0, 500_000, tzinfo=timezone.utc)
    assert not _gr_active(client, tok["admin"], at)
    assert _gr_active(client, tok["admin"], datetime(2030, 5, 1, 12, 0, 1, tzinfo=timezone.utc))
    # now: off, then straight back on
    change("inactive")
    change("active")
    assert _gr_active(client, tok["admin"], datetime.now(timezone.utc))
    # the times shown keep their microseconds
    created = client.get("/proposals", headers=admin).json()[-1]["created_at"]
    assert datetime.fromisoformat(created.replace("Z", "+00:00")).tzinfo is not None


def test_api_pages_load_nothing_from_elsewhere(svc):
    client, tok, _ = svc
    assert client.get("/docs").status_code == 404
    assert client.get("/redoc").status_code == 404
    assert client.get("/docs/oauth2-redirect").status_code == 404
    assert client.get("/openapi.json").status_code == 200
    page = client.get("/").text
    assert "cdn" not in page.lower() and "https://" not in page


# --------------------------------------------------------------------------- serve


def test_forwarded_for_cannot_reset_the_sign_in_limit(db_url, tmp_path):
    init_admin(db_url)
    log = open(tmp_path / "access.log", "wb")  # noqa: SIM115 - closed below
    proc, base = start_server(db_url, tmp_path, log=log)
    try:
        codes = []
        for i in range(7):  # a new name and a new claimed address each time
            r = httpx.post(
                base + "/auth/login",
                json={"name": f"user{i}", "token": "smk_0123456789abcdef_wrong"},
                headers={"X-Forwarded-For": f"203.0.113.{i + 1}", "X-Real-IP": f"10.0.0.{i}"},
                timeout=10,
            )
            codes.append(r.status_code)
        assert codes[:5] == [401] * 5 and codes[5:] == [429, 429], codes
        r = httpx.get(base + "/policy?secret=hunter2&at=2026-01-01T00:00:00Z", timeout=10)
        assert r.status_code == 401
    finally:
        stop_server(proc)
        log.close()
    text = (tmp_path / "access.log").read_text(errors="replace")
    assert '"GET /policy HTTP/1.1" 401' in text, text[-2000:]
    assert "hunter2" not in text and "secret" not in text
    assert "203.0.113" not in text  # the client address logged is the connection's


def test_forwarded_for_is_honoured_only_from_a_named_proxy(tmp_path):
    url = f"sqlite:///{tmp_path / 'service.sqlite3'}"
    init_admin(url)
    proc, base = start_server(url, tmp_path, "--forwarded-allow-ips", "127.0.0.1")
    try:
        codes = [
            httpx.post(
                base + "/auth/login",
                json={"name": f"user{i}", "token": "smk_0123456789abcdef_wrong"},
                headers={"X-Forwarded-For": f"203.0.113.{i + 1}"},
                timeout=10,
            ).status_code
            for i in range(7)
        ]
    finally:
        stop_server(proc)
    assert codes == [401] * 7  # seven clients behind the proxy, one failure each


def test_sqlite_file_is_private(tmp_path):
    url = f"sqlite:///{tmp_path / 'new' / 'service.sqlite3'}"
    init_admin(url)
    app = create_app(url)
    client = TestClient(app, base_url="https://testserver")
    assert client.get("/health").status_code == 200
    for name in ("service.sqlite3", "service.sqlite3-wal", "service.sqlite3-shm"):
        path = tmp_path / "new" / name
        assert path.exists(), name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, (name, oct(path.stat().st_mode))
    client.close()
    app.state.engine.dispose()


@pytest.mark.parametrize(
    "where", ["/sys/skymesh-service.sqlite3", "/proc/skymesh/service.sqlite3", "read-only-folder"]
)
def test_an_unusable_database_path_is_one_line(where, tmp_path, capsys):
    from skymesh.cli import main

    if where == "read-only-folder":
        if os.geteuid() == 0:
            pytest.skip("root writes into a read-only folder")
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(0o555)
        where = str(folder / "service.sqlite3")
    code = main(["serve", "--init", "--db", f"sqlite:///{where}"])
    err = capsys.readouterr().err
    assert code == 2, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: --db:"), err
    assert "Traceback" not in err


def test_forwarded_allow_ips_must_name_addresses(capsys):
    from skymesh.cli import main

    assert main(["serve", "--forwarded-allow-ips", "proxy.example"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--forwarded-allow-ips" in err
