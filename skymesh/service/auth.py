"""Accounts, API tokens, dashboard sessions, roles and log-in rate limits.

Tokens read ``smk_<lookup>_<secret>``: ``lookup`` (16 hex digits) finds the
row, the secret (256 random bits) is checked against its argon2id hash
(argon2-cffi's defaults, RFC 9106's second recommended profile); neither the
secret nor its hash is ever logged or audited, and the token is shown once,
when made. API tokens expire (default 90 days) and can be revoked.

Dashboard sessions are tokens of kind ``session`` (default 8 h) carried in a
``Secure; HttpOnly; SameSite=Strict`` cookie; a write made with a session
must also send the session's CSRF token in ``X-CSRF-Token`` (kept as a
SHA-256 hash; compared in constant time). A write made with an API token in
``Authorization: Bearer`` needs none (a browser never sends it by itself).

Failed log-ins are rate-limited: more than :data:`MAX_FAILURES` for one
account name or one client address within :data:`FAILURE_WINDOW_S` and
further attempts are refused (HTTP 429) until the window passes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta, timezone

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from skymesh.service.models import ROLES, LoginFailure, Token, User

API_TOKEN_DAYS = 90
SESSION_HOURS = 8
MAX_FAILURES = 5
FAILURE_WINDOW_S = 900

_hasher = PasswordHasher()
_verified: dict[str, tuple[str, str]] = {}  # lookup -> (sha256 of secret, stored hash)


class ServiceError(Exception):
    """An error the API answers with ``status`` and a one-line ``message`` naming ``field``."""

    def __init__(self, status: int, message: str, field: str | None = None):
        self.status, self.message, self.field = status, message, field
        super().__init__(message)


def now_utc() -> datetime:
    """Naive UTC now (the database stores naive UTC)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def role_at_least(user: User, role: str) -> bool:
    return ROLES.index(user.role) >= ROLES.index(role)


def require(user: User | None, role: str) -> User:
    if user is None:
        raise ServiceError(401, "sign in first (a Bearer token or a session)")
    if not role_at_least(user, role):
        raise ServiceError(403, f"this needs the {role} role; {user.name} is {user.role}")
    return user


def _new_token(session: Session, user: User, kind: str, lifetime: timedelta) -> tuple[str, Token]:
    lookup, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    now = now_utc()
    row = Token(
        lookup=lookup,
        user_id=user.id,
        kind=kind,
        secret_hash=_hasher.hash(secret),
        created_at=now,
        expires_at=now + lifetime,
    )
    session.add(row)
    session.flush()
    return f"smk_{lookup}_{secret}", row


def issue_api_token(session: Session, user: User, days: float = API_TOKEN_DAYS):
    """A new API token for ``user``: ``(token text, row)``; the text is shown once."""
    return _new_token(session, user, "api", timedelta(days=days))


def issue_session(session: Session, user: User) -> tuple[str, str, Token]:
    """A dashboard session: ``(cookie value, CSRF token, row)``."""
    value, row = _new_token(session, user, "session", timedelta(hours=SESSION_HOURS))
    csrf = secrets.token_urlsafe(32)
    row.csrf_hash = hashlib.sha256(csrf.encode()).hexdigest()
    return value, csrf, row


def _split(raw: str) -> tuple[str, str] | None:
    parts = raw.split("_", 2) if isinstance(raw, str) else []
    if len(parts) != 3 or parts[0] != "smk" or len(parts[1]) != 16:
        return None
    return parts[1], parts[2]


def authenticate(session: Session, raw: str | None, kind: str = "api") -> tuple[User, Token] | None:
    """The active user and token row for ``raw``, or ``None`` (wrong, expired, revoked)."""
    split = _split(raw) if raw else None
    if split is None:
        return None
    lookup, secret = split
    row = session.execute(select(Token).where(Token.lookup == lookup)).scalar()
    if row is None or row.kind != kind or row.revoked_at is not None or row.expires_at <= now_utc():
        return None
    digest = hashlib.sha256(secret.encode()).hexdigest()
    cached = _verified.get(lookup)
    if cached is None or cached[1] != row.secret_hash or not hmac.compare_digest(cached[0], digest):
        try:
            _hasher.verify(row.secret_hash, secret)
        except (VerificationError, InvalidHashError):
            return None
        _verified[lookup] = (digest, row.secret_hash)
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    return user, row


def csrf_ok(row: Token, presented: str | None) -> bool:
    if row.csrf_hash is None or not presented:
        return False
    return hmac.compare_digest(row.csrf_hash, hashlib.sha256(presented.encode()).hexdigest())


def revoke(session: Session, lookup: str) -> Token | None:
    row = session.execute(select(Token).where(Token.lookup == lookup)).scalar()
    if row is not None and row.revoked_at is None:
        row.revoked_at = now_utc()
    _verified.pop(lookup, None)
    return row


def too_many_failures(session: Session, name: str, client: str) -> bool:
    since = now_utc() - timedelta(seconds=FAILURE_WINDOW_S)
    session.execute(delete(LoginFailure).where(LoginFailure.at < since))
    n = session.execute(
        select(func.count())
        .select_from(LoginFailure)
        .where(
            LoginFailure.at >= since, or_(LoginFailure.name == name, LoginFailure.client == client)
        )
    ).scalar()
    assert n is not None  # COUNT(*) always returns one row
    return n >= MAX_FAILURES


def record_failure(session: Session, name: str, client: str) -> None:
    session.add(LoginFailure(name=name[:64], client=client[:64], at=now_utc()))
