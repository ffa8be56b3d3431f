"""Load test of the operations service on loopback, SQLite and PostgreSQL.

N concurrent clients (threads with their own HTTP connection) each send a
fixed number of requests mixing read-outs and writes: 50 % ``GET
/readouts/country/TW`` (cached per 15 s slot after the first), 30 % ``GET
/policy``, 20 % ``POST /proposals`` (a write with its audit entry). The run
is bounded in requests and in time (it stops by itself). Printed per
database: requests/s, p50/p99 latency, errors (target: zero), and the
ratio of the mixed workload's throughput to ``GET /health`` (the
framework's floor) run the same way in the same script. Also the read-out
time of one country cold (first in its slot) and cached.

PostgreSQL is started from Debian's ``postgresql`` binaries in a temporary
folder when they are present, and skipped with one line when not.

    python benchmarks/bench_service.py [--clients 8] [--requests 200] [--db sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_bin(name):
    return shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None
    )


def _as_pg(cmd):
    return (["runuser", "-u", "postgres", "--"] + cmd) if os.geteuid() == 0 else cmd


def start_postgres():
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not (initdb and pg_ctl):
        print("PostgreSQL: skipped (install Debian's postgresql package)")
        return None, None
    base = Path(tempfile.mkdtemp(prefix="skymesh-pgbench-"))
    if os.geteuid() == 0:
        import pwd

        pw = pwd.getpwnam("postgres")
        os.chown(base, pw.pw_uid, pw.pw_gid)
    port = _port()
    subprocess.run(
        _as_pg([initdb, "-D", str(base / "d"), "-U", "skymesh", "-A", "trust"]),
        check=True,
        capture_output=True,
    )
    subprocess.run(
        _as_pg(
            [
                pg_ctl,
                "-D",
                str(base / "d"),
                "-w",
                "-l",
                str(base / "log"),
                "-o",
                f"-p {port} -k {base} -h 127.0.0.1",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )
    url = f"postgresql://skymesh@127.0.0.1:{port}/postgres"

    def stop():
        subprocess.run(
            _as_pg([pg_ctl, "-D", str(base / "d"), "-m", "fast", "stop"]), capture_output=True
        )
        shutil.rmtree(base, ignore_errors=True)

    return url, stop


def serve(db_url: str, data: Path):
    from skymesh.service.app import init_admin

    token = init_admin(db_url)
    port = _port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "skymesh.cli", "serve", "--db", db_url, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "SKYMESH_DATA": str(data)},
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(1200):
        try:
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.05)
    h = {"Authorization": f"Bearer {token}"}
    httpx.put(
        base + "/sites",
        headers=h,
        timeout=30,
        json={
            "sites": [
                {
                    "name": "Taipei GW",
                    "kind": "gateway",
                    "lat_deg": 25.03,
                    "lon_deg": 121.56,
                    "iso2": "TW",
                },
                {
                    "name": "Yamaguchi",
                    "kind": "gateway",
                    "lat_deg": 34.18,
                    "lon_deg": 131.47,
                    "iso2": "JP",
                },
            ]
        },
    )
    return proc, base, h


def load(base, headers, clients, requests, time_limit_s, mix=True):
    lat, errors, lock = [], [0], threading.Lock()
    t_end = time.perf_counter() + time_limit_s

    def worker(k):
        with httpx.Client(base_url=base, headers=headers, timeout=30) as c:
            for i in range(requests):
                if time.perf_counter() > t_end:
                    return
                r = (i * 7 + k) % 10
                t0 = time.perf_counter()
                try:
                    if not mix:
                        resp = c.get("/health")
                    elif r < 5:
                        resp = c.get("/readouts/country/TW")
                    elif r < 8:
                        resp = c.get("/policy")
                    else:
                        resp = c.post(
                            "/proposals",
                            json={
                                "change": {"kind": "service", "iso2": "IR", "state": "inactive"},
                                "reason": f"load {k}-{i}",
                            },
                        )
                    ok = resp.status_code < 400
                except httpx.TransportError:
                    ok = False
                dt = time.perf_counter() - t0
                with lock:
                    lat.append(dt)
                    errors[0] += not ok

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    lat.sort()
    return {
        "requests": len(lat),
        "rps": len(lat) / wall,
        "p50_ms": 1e3 * lat[len(lat) // 2],
        "p99_ms": 1e3 * lat[min(len(lat) - 1, int(0.99 * len(lat)))],
        "errors": errors[0],
    }


def readout_times(base, headers, n=5):
    cold, warm = [], []
    with httpx.Client(base_url=base, headers=headers, timeout=60) as c:
        for i in range(n):
            at = f"2026-01-0{1 + i}T00:00:12Z"  # a new slot: computed
            t0 = time.perf_counter()
            c.get(f"/readouts/country/TW?at={at}").raise_for_status()
            cold.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            c.get(f"/readouts/country/TW?at={at}").raise_for_status()  # same slot: cached
            warm.append(time.perf_counter() - t0)
    return statistics.median(cold), statistics.median(warm)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--requests", type=int, default=200, help="per client")
    ap.add_argument("--time-limit", type=float, default=60.0, help="s per load run")
    ap.add_argument(
        "--db", choices=["sqlite", "postgresql", "both"], default="both", help="databases to run"
    )
    args = ap.parse_args(argv)
    data = Path(tempfile.mkdtemp(prefix="skymesh-svcbench-"))
    pg_url, pg_stop = start_postgres() if args.db != "sqlite" else (None, None)
    dbs = ([("SQLite", f"sqlite:///{data / 'svc.sqlite3'}")] if args.db != "postgresql" else []) + (
        [("PostgreSQL", pg_url)] if pg_url else []
    )
    print(
        f"{args.clients} clients x {args.requests} requests, mix 50 % read-out, 30 % policy, "
        "20 % proposal writes; baseline GET /health the same way"
    )
    print(
        f"{'database':<11} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} "
        f"{'health req/s':>13} {'ratio':>6} {'read-out cold/cached ms':>24}"
    )
    try:
        for name, url in dbs:
            proc, base, h = serve(url, data)
            try:
                cold, warm = readout_times(base, h)
                base_run = load(base, h, args.clients, args.requests, args.time_limit, mix=False)
                mixed = load(base, h, args.clients, args.requests, args.time_limit)
            finally:
                proc.terminate()
                proc.wait(timeout=30)
            print(
                f"{name:<11} {mixed['rps']:8.1f} {mixed['p50_ms']:8.1f} {mixed['p99_ms']:8.1f} "
                f"{mixed['errors']:7d} {base_run['rps']:13.1f} "
                f"{mixed['rps'] / base_run['rps']:6.2f} {1e3 * cold:12.0f} / {1e3 * warm:.1f}"
            )
    finally:
        if pg_stop:
            pg_stop()
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
