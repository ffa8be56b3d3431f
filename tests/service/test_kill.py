"""SIGKILL in the middle of a burst of writes loses no committed change and keeps the chain."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

pytest.importorskip(
    "fastapi", reason="the service extra is not installed: pip install -e '.[service]'"
)
import httpx  # noqa: E402
from sqlalchemy import text  # noqa: E402

from skymesh.service import audit, db  # noqa: E402
from skymesh.service.app import init_admin  # noqa: E402


def _start(db_url: str, port: int, tmp_path):
    env = {**os.environ, "SKYMESH_DATA": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "skymesh.cli", "serve", "--db", db_url, "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(600):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    pytest.fail("the service did not start")


def test_kill_mid_burst_loses_no_committed_change(db_url, tmp_path):
    token = init_admin(db_url)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = _start(db_url, port, tmp_path)
    base, h = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {token}"}
    committed, stop = [], threading.Event()

    def burst(k):
        with httpx.Client(base_url=base, headers=h, timeout=5) as c:
            i = 0
            while not stop.is_set():
                i += 1
                try:
                    r = c.post(
                        "/proposals",
                        json={
                            "change": {"kind": "service", "iso2": "TW", "state": "inactive"},
                            "reason": f"burst {k}-{i}",
                        },
                    )
                except httpx.TransportError:
                    return
                if r.status_code == 201:
                    committed.append(r.json()["id"])

    threads = [threading.Thread(target=burst, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    deadline = time.time() + 30
    while len(committed) < 20 and time.time() < deadline:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)  # mid-burst: requests are in flight
    proc.wait()
    stop.set()
    for t in threads:
        t.join()
    assert len(committed) >= 20
    engine = db.make_engine(db_url)
    with engine.connect() as c:
        ids = {row[0] for row in c.execute(text("SELECT id FROM proposals"))}
    assert set(committed) <= ids  # every answered 201 is there
    with db.read(db.sessions(engine)) as s:
        report = audit.verify_entries(audit.db_entries(s))
    assert report["ok"], report
    assert report["entries"] >= len(ids) + 1  # a propose entry per proposal, plus init
    engine.dispose()
