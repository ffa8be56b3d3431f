"""Engines, migrations and write transactions for the service's database.

SQLite (the default: a file in the data directory, zero set-up) or
PostgreSQL (``postgresql://...``, driven by psycopg 3). The schema is made
and upgraded by the Alembic migrations in ``skymesh/service/migrations``.
A new SQLite file is created readable by its owner only (0600).

Every change goes through :func:`write`, one transaction that first takes
the database's single writer lock (``BEGIN IMMEDIATE`` on SQLite, a
transaction-scoped advisory lock on PostgreSQL), so that checks and the
writes they allow (two approvals of one proposal, two audit appends) are
serialised: of two approvers at the same moment exactly one wins.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from skymesh.errors import InputError

WRITE_LOCK_KEY = 0x534B594D  # "SKYM": the advisory-lock key of the single writer lock


def default_url() -> str:
    """``sqlite:///<data dir>/service.sqlite3`` (see :func:`skymesh.datadir.data_dir`)."""
    from skymesh.datadir import data_dir

    return f"sqlite:///{Path(data_dir()) / 'service.sqlite3'}"


def normalise_url(url: str, flag: str = "--db") -> str:
    """Check a database URL; ``postgresql://`` selects the psycopg 3 driver."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise InputError(
            f"{flag}: not a database URL: {url!r} (e.g. sqlite:///path/db.sqlite3 "
            "or postgresql://user@host/dbname)"
        ) from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise InputError(
            f"{flag}: {backend!r} databases are not supported; use sqlite:/// or postgresql://"
        )
    if backend == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str) -> Engine:
    """An engine for ``url`` with the writer-lock behaviour described above."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        path = make_url(url).database
        if path and path != ":memory:" and not path.startswith("file:"):
            _create_private(Path(path))
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _connect(dbapi_conn, _record):
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=FULL")  # a committed change survives a kill
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn):
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _create_private(path: Path) -> None:
    """Create the SQLite file ``path`` readable by its owner only (0600) when it does not
    exist; SQLite gives its ``-wal`` and ``-shm`` files the database file's mode. An
    existing file is left as it is. A folder that cannot be made is one line."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        return
    except OSError as exc:
        raise InputError(f"--db: cannot create {path}: {exc.strerror or exc}") from None
    os.close(fd)


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration (``alembic upgrade head``)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def sessions(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)


@contextlib.contextmanager
def write(factory: sessionmaker) -> Iterator[Session]:
    """One write transaction holding the single writer lock; commits on success."""
    with factory() as session, session.begin():
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": WRITE_LOCK_KEY})
        yield session


@contextlib.contextmanager
def read(factory: sessionmaker) -> Iterator[Session]:
    """A read-only session."""
    with factory() as session:
        yield session
