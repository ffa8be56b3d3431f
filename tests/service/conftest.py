"""Service tests run against SQLite and against a PostgreSQL the tests start themselves.

PostgreSQL comes from Debian's ``postgresql`` package (``initdb``, ``pg_ctl``
on PATH or under /usr/lib/postgresql/*/bin). When they are absent the
PostgreSQL cases skip with one line saying how to enable them.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

PG_HINT = (
    "PostgreSQL not found: install Debian's postgresql package "
    "(apt-get install -y postgresql) to run the service tests on it"
)


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for path in sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True):
        return path
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(cmd: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the postgres user then."""
    if os.geteuid() == 0:
        runuser = shutil.which("runuser")
        if runuser is None:
            pytest.skip("running as root without runuser: cannot start PostgreSQL")
        return [runuser, "-u", "postgres", "--"] + cmd
    return cmd


@pytest.fixture(scope="session")
def postgres_server():
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.skip(PG_HINT)
    base = Path(tempfile.mkdtemp(prefix="skymesh-pg-"))
    data = base / "data"
    if os.geteuid() == 0:
        import pwd

        pw = pwd.getpwnam("postgres")
        os.chown(base, pw.pw_uid, pw.pw_gid)
    port = _free_port()
    subprocess.run(
        _as_postgres([initdb, "-D", str(data), "-U", "skymesh", "-A", "trust", "--no-sync"]),
        check=True,
        capture_output=True,
    )
    subprocess.run(
        _as_postgres(
            [
                pg_ctl,
                "-D",
                str(data),
                "-w",
                "-l",
                str(base / "log"),
                "-o",
                f"-p {port} -k {base} -h 127.0.0.1 -c fsync=off",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://skymesh@127.0.0.1:{port}"
    finally:
        subprocess.run(
            _as_postgres([pg_ctl, "-D", str(data), "-m", "immediate", "stop"]), capture_output=True
        )
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'service.sqlite3'}"
    server = request.getfixturevalue("postgres_server")
    import sqlalchemy as sa

    name = "t_" + uuid.uuid4().hex[:12]
    eng = sa.create_engine(
        server.replace("postgresql://", "postgresql+psycopg://") + "/postgres",
        isolation_level="AUTOCOMMIT",
    )
    with eng.connect() as c:
        c.exec_driver_sql(f"CREATE DATABASE {name}")
    eng.dispose()
    return f"{server}/{name}"


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch):
    """argon2's cheapest profile in tests: what is tested is that hashes are argon2id and
    that secrets never leave them, not the cost (the service uses RFC 9106's profile)."""
    from argon2 import PasswordHasher, profiles

    import skymesh.service.auth as auth

    monkeypatch.setattr(auth, "_hasher", PasswordHasher.from_parameters(profiles.CHEAPEST))
