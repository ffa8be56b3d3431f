"""The database holder's own account commands (``skymesh users``): the root of trust.

Whoever can write the service's database can do anything, so the service does
not pretend otherwise: it gives that person plain local commands to add an
account of any role (printing its one-time token), list accounts, revoke an
account (deactivate it and revoke every token and session it has) and make a
new token for an account. Each is one write transaction with its audit entry,
whose actor is ``local:<operating-system user>``, so the audit chain shows
which powers came from the holder rather than from an account. Accounts made
here have no API controller (see :class:`skymesh.service.models.Provenance`),
so they count as independent people for the two-person rule.
"""

from __future__ import annotations

import getpass
import os

from sqlalchemy import select

from skymesh.service import audit, auth, db
from skymesh.service.auth import ServiceError
from skymesh.service.models import ROLES, Token, User

NAME_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"


def local_actor() -> str:
    """``local:<operating-system user>`` (``local:uid<N>`` when the name is unknown)."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = f"uid{os.getuid()}" if hasattr(os, "getuid") else "unknown"
    return f"local:{who}"[:64]


def _factory(db_url: str, create: bool = False):
    """Engine and sessions for ``db_url``, schema upgraded; unless ``create``, the
    database must already be a SkyMesh service database (nothing is made)."""
    from sqlalchemy import inspect
    from sqlalchemy.engine import make_url

    url = db.normalise_url(db_url)
    if not create and url.startswith("sqlite"):
        path = make_url(url).database
        if path and path != ":memory:" and not os.path.isfile(path):
            raise ServiceError(404, f"--db: {path}: no such database file", "db")
    engine = db.make_engine(url)
    if not create and "users" not in inspect(engine).get_table_names():
        engine.dispose()
        raise ServiceError(
            404, "--db: no SkyMesh service database there (run `skymesh serve --init`)", "db"
        )
    db.upgrade(engine)
    return engine, db.sessions(engine)


def _check_name(name: str) -> None:
    import re

    if not re.match(NAME_PATTERN, name or ""):
        raise ServiceError(
            422, f"NAME: {name!r} is not an account name (1-64 of A-Z a-z 0-9 . _ -)", "name"
        )


def _user(s, name: str) -> User:
    user = s.execute(select(User).where(User.name == name)).scalar()
    if user is None:
        raise ServiceError(404, f"NAME: no account {name!r}", "name")
    return user


def add_user(db_url: str, name: str, role: str) -> str:
    """Add account ``name`` with ``role``; its one-time API token."""
    _check_name(name)
    if role not in ROLES:
        raise ServiceError(422, f"--role: {role!r} is not one of {', '.join(ROLES)}", "role")
    engine, factory = _factory(db_url, create=True)
    try:
        with db.write(factory) as s:
            if s.execute(select(User).where(User.name == name)).scalar() is not None:
                raise ServiceError(409, f"NAME: an account {name!r} exists", "name")
            user = User(name=name, role=role, active=True, created_at=auth.now_utc())
            s.add(user)
            s.flush()
            token, row = auth.issue_api_token(s, user)
            detail = {"user": name, "role": role, "token_id": row.lookup, "local": True}
            audit.append(s, local_actor(), "user.create", detail)
    finally:
        engine.dispose()
    return token


def new_token(db_url: str, name: str) -> str:
    """A new API token for ``name`` (re-keying it locally); the one-time token text."""
    engine, factory = _factory(db_url)
    try:
        with db.write(factory) as s:
            user = _user(s, name)
            token, row = auth.issue_api_token(s, user)
            detail = {"user": name, "token_id": row.lookup, "local": True}
            audit.append(s, local_actor(), "token.create", detail)
    finally:
        engine.dispose()
    return token


def revoke_user(db_url: str, name: str) -> int:
    """Deactivate ``name`` and revoke all its tokens and sessions; how many were revoked."""
    engine, factory = _factory(db_url)
    try:
        with db.write(factory) as s:
            user = _user(s, name)
            user.active = False
            rows = s.execute(
                select(Token).where(Token.user_id == user.id, Token.revoked_at.is_(None))
            ).scalars()
            lookups = sorted(r.lookup for r in rows)
            for lookup in lookups:
                auth.revoke(s, lookup)
            detail = {"user": name, "tokens": lookups, "local": True}
            audit.append(s, local_actor(), "user.revoke", detail)
    finally:
        engine.dispose()
    return len(lookups)


def list_users(db_url: str) -> list[dict]:
    """Every account: name, role, active, live API tokens, and who made it."""
    from skymesh.service.models import Provenance

    engine, factory = _factory(db_url)
    try:
        with db.read(factory) as s:
            users = s.execute(select(User).order_by(User.name)).scalars().all()
            names = {u.id: u.name for u in users}
            now = auth.now_utc()
            live: dict[int, int] = {}
            for t in s.execute(select(Token).where(Token.revoked_at.is_(None))).scalars():
                if t.expires_at > now:
                    live[t.user_id] = live.get(t.user_id, 0) + 1
            made: dict[int, list[str]] = {}
            for p in s.execute(select(Provenance).order_by(Provenance.id)).scalars():
                made.setdefault(p.user_id, []).append(f"{p.action} by {names.get(p.by_user_id)}")
            return [
                {
                    "name": u.name,
                    "role": u.role,
                    "active": bool(u.active),
                    "live_tokens": live.get(u.id, 0),
                    "via_api": made.get(u.id, []),
                }
                for u in users
            ]
    finally:
        engine.dispose()
