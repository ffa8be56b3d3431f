"""The HTTP API and dashboard of the operations service (FastAPI).

Authentication: ``Authorization: Bearer smk_...`` (API tokens) or the
dashboard's session cookie plus ``X-CSRF-Token`` on writes (see
:mod:`skymesh.service.auth`). Every write checks the caller's role and runs
in one serialised transaction with its audit entry
(:func:`skymesh.service.db.write`). Errors are JSON ``{"detail": "...",
"field": "..."}`` with a 4xx status naming what was wrong; request bodies
are validated strictly (no type coercion, unknown fields refused).

Hostile requests are stopped at the edge by :class:`RequestGuard`, before
any route, authentication or parsing: a body (``Content-Length`` or chunked)
is counted while it streams and refused with 413 the moment it passes
:data:`MAX_BODY_BYTES`, so the server never holds more than that; a NUL
character in the path, a query parameter, a header, a cookie or a JSON
string is a 422 (PostgreSQL cannot store it). A request that is not signed in
is answered 401 before its body is validated. Ids are bounded
(:data:`MAX_ID`); times are years 1 to 9999 in UTC; TOML nests at most
:data:`skymesh.service.changes.MAX_TOML_NESTING` levels.

The interactive API pages (``/docs``, ``/redoc``) are off: FastAPI's load
their scripts and styles from a CDN, which a service on an operations network
should not depend on or leak to. The schema stays at ``/openapi.json``.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from typing import Annotated, Any, Optional, Union
from urllib.parse import parse_qsl

from fastapi import Depends, FastAPI, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import cookie_parser

from skymesh.errors import InputError, SkyMeshError
from skymesh.service import audit, auth, db
from skymesh.service.auth import ServiceError, require
from skymesh.service.changes import (
    apply_change,
    check_nesting,
    doc_to_toml,
    iso,
    parse_change,
)
from skymesh.service.local import local_actor
from skymesh.service.models import ROLES, Proposal, Provenance, SavedScenario, Site, Token, User
from skymesh.service.proposals import (
    DEFAULT_TTL_S,
    approve,
    current_policy,
    expire_due,
    proposal_dict,
    propose,
    reject,
)

MAX_BODY_BYTES = 256 * 1024
SESSION_COOKIE = "skymesh_session"
MAX_ID = 2**31 - 1
"""The largest row id (PostgreSQL ``integer``); a larger one in a path is a 422."""
ProposalId = Annotated[int, Path(ge=1, le=MAX_ID, description="A proposal's id.")]

_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def _problem(status: int, detail: str, field: str | None, close: bool = False) -> JSONResponse:
    headers = {"Connection": "close"} if close else None
    return JSONResponse({"detail": detail, "field": field}, status_code=status, headers=headers)


def _nul_in_json(value) -> str | None:
    """The dotted path of the first JSON string (key or value) holding a NUL, or None."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        where, v = stack.pop()
        if isinstance(v, str):
            if "\x00" in v:
                return where or "body"
        elif isinstance(v, dict):
            for k, item in v.items():
                here = f"{where}.{k}" if where else str(k)
                if "\x00" in k:
                    return here
                stack.append((here, item))
        elif isinstance(v, list):
            stack.extend((f"{where}.{i}" if where else str(i), item) for i, item in enumerate(v))
    return None


def _nul_in_headers(scope) -> str | None:
    """The header (or ``cookie``) carrying a NUL character, or None."""
    for name, value in scope.get("headers", ()):
        if b"\x00" in value:
            return name.decode("latin-1")
        if name == b"cookie" and b"\\" in value:  # "\000" decodes to NUL
            if any("\x00" in v for v in cookie_parser(value.decode("latin-1")).values()):
                return "cookie"
    return None


def _nul_in_input(scope, body: bytes) -> str | None:
    """Where the path, a query parameter or a JSON string carries a NUL, or None."""
    if "\x00" in scope.get("path", ""):
        return "path"
    query = scope.get("query_string", b"")
    if b"\x00" in query or b"%00" in query:
        for k, v in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            if "\x00" in k or "\x00" in v:
                return k.replace("\x00", "") or "query"
    if b"\\u0000" in body:
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            return None  # not JSON: the route reports it
        return _nul_in_json(data)
    return None


def _printable(name: str, limit: int = 120) -> str:
    """``name`` (a field, key or header) fit for a one-line message: controls escaped."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in name)
    return text if len(text) <= limit else text[: limit - 3] + "..."


PUBLIC_PATHS = ("/auth/login", "/health", "/", "/openapi.json", "/dashboard/")
"""Paths answered without signing in (``/dashboard/`` as a prefix)."""


def _public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith("/dashboard/")


class DropQueryString(logging.Filter):
    """For uvicorn's access log: the request's path without its query string (a query
    may carry what a client did not mean to have written to a log)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = args[:2] + (args[2].split("?", 1)[0],) + args[3:]
        return True


class RequestGuard:
    """ASGI middleware in front of everything: the body limit while streaming, NUL
    characters, and the headers every answer carries (see the module docstring).

    ``signed_out(request)`` (run in a worker thread) answers a request that is not
    signed in before its input is judged: the 401 or 403 to send, or None."""

    def __init__(self, app, max_body_bytes: int = MAX_BODY_BYTES, signed_out=None):
        self.app, self.max_body_bytes, self.signed_out = app, max_body_bytes, signed_out

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_body_bytes
        too_big = _problem(413, f"body: larger than {limit} bytes", "body", close=True)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            await too_big(scope, receive, send)
            return
        body = bytearray()
        while True:  # the whole body, at most ``limit`` bytes of it, before any route runs
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > limit:
                await too_big(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        where = _nul_in_headers(scope)  # no sign-in can be looked up with these
        refusal = None
        if where is None:
            where = _nul_in_input(scope, bytes(body))
            if where is not None and self.signed_out is not None:
                refusal = await run_in_threadpool(self.signed_out, Request(scope))
        if where is not None:
            where = _printable(where)
            refusal = refusal or _problem(
                422, f"{where}: text may not contain a NUL character", where
            )
            await refusal(scope, receive, send)
            return
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                for k, v in (
                    (b"x-content-type-options", b"nosniff"),
                    (b"cache-control", b"no-store"),
                ):
                    if k not in names:
                        headers.append((k, v))
                message = dict(message, headers=headers)
            await send(message)

        await self.app(scope, replay, send_with_headers)


class _In(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class LoginIn(_In):
    name: str = Field(min_length=1, max_length=64)
    token: str = Field(min_length=1, max_length=200)


class UserIn(_In):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    role: str


class UserPatch(_In):
    role: Optional[str] = None
    active: Optional[bool] = None


class ProposalIn(_In):
    change: dict
    reason: str = Field(max_length=2000)
    expires_in_s: Union[int, float] = DEFAULT_TTL_S


class DecisionIn(_In):
    reason: Optional[str] = Field(None, max_length=2000)


class ImportIn(_In):
    policy_toml: str = Field(max_length=200_000)
    reason: str = Field(max_length=2000)


class SiteIn(_In):
    name: str = Field(min_length=1, max_length=120)
    kind: str = Field(pattern=r"^(gateway|pop)$")
    lat_deg: float = Field(ge=-90, le=90)
    lon_deg: float = Field(ge=-180, le=180)
    iso2: str = Field(min_length=2, max_length=2)


class SitesIn(_In):
    sites: list[SiteIn] = Field(max_length=5000)


class ScenarioIn(_In):
    toml: str = Field(max_length=200_000)


def create_app(
    db_url: str | None = None,
    *,
    readouts=None,
    constellation: str = "starlink-shell1",
    migrate: bool = True,
) -> FastAPI:
    """The app over database ``db_url`` (default :func:`skymesh.service.db.default_url`).

    ``readouts`` is a :class:`~skymesh.service.readouts.ReadoutEngine`; by default one is
    made on first use for ``constellation`` with the service's gateway sites.
    """
    engine = db.make_engine(db_url or db.default_url())
    if migrate:
        db.upgrade(engine)
    factory = db.sessions(engine)
    app = FastAPI(
        title="SkyMesh operations service",
        version="1",
        description="The service policy as running state: proposals, approvals, audit, read-outs.",
        docs_url=None,  # FastAPI's pages load from a CDN (see the module docstring)
        redoc_url=None,
    )
    app.state.engine, app.state.factory = engine, factory
    app.state.readouts, app.state.constellation = readouts, constellation

    # ------------------------------------------------------------------ plumbing
    def _signed_out(request: Request) -> JSONResponse | None:
        """The 401 (or CSRF 403) a request gets before anything about its input is said:
        ``None`` when it is signed in, or needs no sign-in (:data:`PUBLIC_PATHS`)."""
        if _public(request.url.path):
            return None
        try:
            user, token, via = caller(request)
        except ServiceError as exc:
            return _problem(exc.status, exc.message, exc.field)
        if user is None or token is None:
            return _problem(401, "sign in first (a Bearer token or a session)", None)
        if (
            via == "session"
            and request.method not in _SAFE_METHODS
            and not auth.csrf_ok(token, request.headers.get("x-csrf-token"))
        ):
            return _problem(403, "X-CSRF-Token: missing or wrong for this session", "X-CSRF-Token")
        return None

    app.add_middleware(RequestGuard, signed_out=_signed_out)

    @app.exception_handler(ServiceError)
    async def _service_error(_request, exc: ServiceError):
        return _problem(exc.status, exc.message, exc.field)

    @app.exception_handler(SkyMeshError)
    async def _engine_refused(_request, exc: SkyMeshError):
        # the engine's own checks on what a request asked of it (one line, naming the
        # field) are the client's; anything else it raises on purpose (its data missing)
        # is the service's, and says so
        status = 422 if isinstance(exc, InputError) else 503
        return _problem(status, str(exc), getattr(exc, "field", None))

    @app.exception_handler(RequestValidationError)
    def _invalid(request: Request, exc: RequestValidationError):
        # a sync handler: Starlette runs it in a worker thread (it reads the database)
        refused = _signed_out(request)
        if refused is not None:
            return refused
        err = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        field = ".".join(loc) or "body"
        if err.get("type") == "json_invalid":
            return _problem(422, "body: not valid JSON", "body")
        return _problem(422, f"{field}: {err.get('msg', 'invalid')}", field)

    @app.exception_handler(StarletteHTTPException)
    def _http_error(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 400:  # FastAPI could not parse the body (e.g. nested too deeply)
            refused = _signed_out(request)
            if refused is not None:
                return refused
            return _problem(
                400, "body: could not be parsed (not JSON, or nested too deeply)", "body"
            )
        return JSONResponse(
            {"detail": str(exc.detail), "field": None},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),  # e.g. Allow on a 405
        )

    @app.exception_handler(Exception)
    async def _unexpected(_request, exc: Exception):
        logging.getLogger("skymesh.service").error(
            "unexpected %s on %s", type(exc).__name__, _request.url.path
        )
        return _problem(500, "internal error (logged)", None)

    def caller(request: Request) -> tuple[User | None, Token | None, str | None]:
        header = request.headers.get("authorization", "")
        with db.read(factory) as s:
            if header.lower().startswith("bearer "):
                found = auth.authenticate(s, header[7:].strip(), "api")
                if found is None:
                    raise ServiceError(401, "the token is unknown, expired or revoked")
                return found[0], found[1], "bearer"
            cookie = request.cookies.get(SESSION_COOKIE)
            if cookie:
                found = auth.authenticate(s, cookie, "session")
                if found is not None:
                    return found[0], found[1], "session"
        return None, None, None

    def writer(request: Request, who=Depends(caller)):
        user, token, via = who
        if via == "session" and not auth.csrf_ok(token, request.headers.get("x-csrf-token")):
            raise ServiceError(
                403, "X-CSRF-Token: missing or wrong for this session", "X-CSRF-Token"
            )
        return who

    def client_of(request: Request) -> str:
        return request.client.host if request.client else "unknown"

    # ------------------------------------------------------------------ accounts
    @app.get("/health")
    def health():
        return {"ok": True}

    @app.post("/auth/login")
    def login(body: LoginIn, request: Request, response: Response):
        client = client_of(request)
        with db.write(factory) as s:
            if auth.too_many_failures(s, body.name, client):
                raise ServiceError(429, "too many failed sign-ins; wait 15 minutes", "name")
            found = auth.authenticate(s, body.token, "api")
            if found is None or found[0].name != body.name:
                auth.record_failure(s, body.name, client)
                audit.append(s, body.name[:64], "login.failed", {"client": client})
                failed = True
            else:
                failed = False
                user = found[0]
                value, csrf, row = auth.issue_session(s, user)
                audit.append(s, user.name, "login", {"client": client, "token_id": row.lookup})
        if failed:  # the failure is committed (counted) before answering
            raise ServiceError(401, "name or token wrong", "token")
        response.set_cookie(
            SESSION_COOKIE,
            value,
            httponly=True,
            secure=True,
            samesite="strict",
            max_age=auth.SESSION_HOURS * 3600,
            path="/",
        )
        return {"name": user.name, "role": user.role, "csrf": csrf}

    @app.post("/auth/logout")
    def logout(response: Response, who=Depends(writer)):
        user, token, via = who
        require(user, "viewer")
        with db.write(factory) as s:
            auth.revoke(s, token.lookup)
            audit.append(s, user.name, "logout", {"via": via, "token_id": token.lookup})
        response.delete_cookie(SESSION_COOKIE, path="/")
        return {"ok": True}

    @app.get("/me")
    def me(who=Depends(caller)):
        user = require(who[0], "viewer")
        return {"name": user.name, "role": user.role}

    @app.get("/me/tokens")
    def my_tokens(who=Depends(caller)):
        """The caller's own live API tokens (never their secrets), oldest first."""
        user = require(who[0], "viewer")
        now = auth.now_utc()
        with db.read(factory) as s:
            rows = s.execute(
                select(Token)
                .where(Token.user_id == user.id, Token.kind == "api", Token.revoked_at.is_(None))
                .where(Token.expires_at > now)
                .order_by(Token.id)
            ).scalars()
            return [
                {
                    "token_id": t.lookup,
                    "created_at": _iso(t.created_at),
                    "expires_at": _iso(t.expires_at),
                }
                for t in rows
            ]

    @app.get("/users")
    def users(who=Depends(caller)):
        require(who[0], "admin")
        with db.read(factory) as s:
            return [
                {"name": u.name, "role": u.role, "active": u.active}
                for u in s.execute(select(User).order_by(User.name)).scalars()
            ]

    @app.post("/users", status_code=201)
    def add_user(body: UserIn, who=Depends(writer)):
        admin = require(who[0], "admin")
        _check_role(body.role)
        if body.role in APPROVING_ROLES:
            raise ServiceError(403, _LOCAL_ONLY.format(what=f"adding an {body.role}"), "role")
        with db.write(factory) as s:
            if s.execute(select(User).where(User.name == body.name)).scalar() is not None:
                raise ServiceError(409, f"name: {body.name!r} exists", "name")
            now = auth.now_utc()
            user = User(name=body.name, role=body.role, active=True, created_at=now)
            s.add(user)
            s.flush()
            s.add(Provenance(user_id=user.id, by_user_id=admin.id, action="create", at=now))
            token, row = auth.issue_api_token(s, user)
            audit.append(
                s,
                admin.name,
                "user.create",
                {"user": user.name, "role": user.role, "token_id": row.lookup},
            )
        return {
            "name": user.name,
            "role": user.role,
            "token": token,
            "token_id": row.lookup,
            "expires_at": _iso(row.expires_at),
            "note": "the token is shown once; keep it",
        }

    @app.patch("/users/{name}")
    def patch_user(name: str, body: UserPatch, who=Depends(writer)):
        admin = require(who[0], "admin")
        with db.write(factory) as s:
            user = s.execute(select(User).where(User.name == name)).scalar()
            if user is None:
                raise ServiceError(404, f"name: no user {name!r}", "name")
            changed: dict[str, list[Any]] = {}
            role = user.role if body.role is None else body.role
            _check_role(role)
            if role in APPROVING_ROLES and ROLES.index(role) > ROLES.index(user.role):
                raise ServiceError(
                    403, _LOCAL_ONLY.format(what=f"raising {name} to {role}"), "role"
                )
            if body.active and not user.active and role in APPROVING_ROLES:
                raise ServiceError(
                    403, _LOCAL_ONLY.format(what=f"re-activating the {role} {name}"), "active"
                )
            if body.role is not None:
                changed["role"] = [user.role, body.role]
                if body.role != user.role:
                    s.add(
                        Provenance(
                            user_id=user.id, by_user_id=admin.id, action="role", at=auth.now_utc()
                        )
                    )
                user.role = body.role
            if body.active is not None:
                changed["active"] = [user.active, body.active]
                user.active = body.active
            audit.append(s, admin.name, "user.update", {"user": name, "changed": changed})
        return {"name": user.name, "role": user.role, "active": user.active}

    @app.post("/users/{name}/tokens", status_code=201)
    def new_token(name: str, who=Depends(writer)):
        me_ = require(who[0], "viewer")
        if me_.name != name:
            raise ServiceError(
                403, _LOCAL_ONLY.format(what="making a token for another account"), "name"
            )
        with db.write(factory) as s:
            user = s.execute(select(User).where(User.name == name)).scalar()
            if user is None:
                raise ServiceError(404, f"name: no user {name!r}", "name")
            token, row = auth.issue_api_token(s, user)
            audit.append(s, me_.name, "token.create", {"user": name, "token_id": row.lookup})
        return {"token": token, "token_id": row.lookup, "expires_at": _iso(row.expires_at)}

    @app.delete("/tokens/{token_id}")
    def revoke_token(token_id: str, who=Depends(writer)):
        me_ = require(who[0], "viewer")
        with db.write(factory) as s:
            row = s.execute(select(Token).where(Token.lookup == token_id)).scalar()
            if row is None:
                raise ServiceError(404, f"token_id: no token {token_id!r}", "token_id")
            if row.user_id != me_.id:
                require(me_, "admin")
            auth.revoke(s, token_id)
            audit.append(s, me_.name, "token.revoke", {"token_id": token_id})
        return {"revoked": token_id}

    # ------------------------------------------------------------------ policy
    @app.get("/policy")
    def policy(who=Depends(caller)):
        require(who[0], "viewer")
        with db.read(factory) as s:
            version, doc = current_policy(s)
        return {"version": version, "policy": doc}

    @app.get("/policy/export", response_class=PlainTextResponse)
    def policy_export(who=Depends(caller)):
        require(who[0], "viewer")
        with db.read(factory) as s:
            _, doc = current_policy(s)
        return PlainTextResponse(doc_to_toml(doc), media_type="application/toml")

    @app.get("/policy/timeline")
    def timeline(who=Depends(caller)):
        require(who[0], "viewer")
        with db.read(factory) as s:
            version, doc = current_policy(s)
        return {
            "version": version,
            "default_service": doc.get("default_service", "active"),
            "countries": {
                c["iso2"]: {"service": c.get("service", []), "censoring": c.get("censoring", False)}
                for c in doc.get("country", [])
            },
            "landing": doc.get("landing", []),
        }

    # ------------------------------------------------------------------ proposals
    @app.post("/proposals", status_code=201)
    def new_proposal(body: ProposalIn, who=Depends(writer)):
        user = require(who[0], "operator")
        with db.write(factory) as s:
            p = propose(s, user, body.change, body.reason, body.expires_in_s)
            return proposal_dict(p, {user.id: user.name})

    @app.post("/proposals/import", status_code=201)
    def import_policy(body: ImportIn, who=Depends(writer)):
        user = require(who[0], "operator")
        with db.write(factory) as s:
            p = propose(s, user, {"kind": "import", "policy_toml": body.policy_toml}, body.reason)
            return proposal_dict(p, {user.id: user.name})

    @app.get("/proposals")
    def proposals(status: Optional[str] = None, who=Depends(caller)):
        require(who[0], "viewer")
        if status is not None and status not in ("pending", "approved", "rejected", "expired"):
            raise ServiceError(422, "status: one of pending, approved, rejected, expired", "status")
        with db.write(factory) as s:
            expire_due(s)
        with db.read(factory) as s:
            names = {u.id: u.name for u in s.execute(select(User)).scalars()}
            q = select(Proposal).order_by(Proposal.id)
            if status:
                q = q.where(Proposal.status == status)
            return [proposal_dict(p, names) for p in s.execute(q).scalars()]

    @app.post("/proposals/{pid}/approve")
    def approve_(pid: ProposalId, body: Optional[DecisionIn] = None, who=Depends(writer)):
        user = require(who[0], "approver")
        with db.write(factory) as s:
            p = approve(s, user, pid, body.reason if body else None)
            names = {u.id: u.name for u in s.execute(select(User)).scalars()}
            return proposal_dict(p, names)

    @app.post("/proposals/{pid}/reject")
    def reject_(pid: ProposalId, body: DecisionIn, who=Depends(writer)):
        user = require(who[0], "approver")
        with db.write(factory) as s:
            p = reject(s, user, pid, body.reason or "")
            names = {u.id: u.name for u in s.execute(select(User)).scalars()}
            return proposal_dict(p, names)

    @app.get("/proposals/{pid}/effect")
    def effect(
        pid: ProposalId, iso2: Optional[str] = None, at: Optional[str] = None, who=Depends(caller)
    ):
        require(who[0], "viewer")
        from skymesh.service.readouts import proposal_effect

        with db.read(factory) as s:
            p = s.get(Proposal, pid)
            if p is None:
                raise ServiceError(404, f"proposal {pid}: no such proposal", "id")
            version, doc = current_policy(s)
        change = parse_change(json.loads(p.change))
        when = _when(at)
        after = apply_change(doc, change, when)
        country = iso2 or getattr(change, "iso2", None)
        if not country:
            raise ServiceError(422, "iso2: this change names no country; give ?iso2=", "iso2")
        return proposal_effect(_readouts(), doc, version, after, country, when)

    # ------------------------------------------------------------------ read-outs
    def _readouts():
        if app.state.readouts is None:
            from skymesh.service.readouts import ReadoutEngine, gateways_from_sites

            with db.read(factory) as s:
                rows = s.execute(select(Site).order_by(Site.id)).scalars().all()
            app.state.readouts = ReadoutEngine(app.state.constellation, gateways_from_sites(rows))
        return app.state.readouts

    @app.get("/readouts/country/{iso2}")
    def country_readout(iso2: str, at: Optional[str] = None, who=Depends(caller)):
        require(who[0], "viewer")
        with db.read(factory) as s:
            version, doc = current_policy(s)
        return _readouts().country(doc, version, iso2, _when(at))

    @app.get("/readouts/visible")
    def visible(place: str, at: Optional[str] = None, who=Depends(caller)):
        require(who[0], "viewer")
        from skymesh.errors import SkyMeshError
        from skymesh.ground.places import resolve_place
        from skymesh.links.visibility import visible_pairs
        from skymesh.orbits.propagate import positions_ecef
        from skymesh.timebase import time_grid

        try:
            p = resolve_place(place)
        except SkyMeshError as exc:
            raise ServiceError(422, f"place: {exc}", "place") from None
        eng = _readouts()
        pos = positions_ecef(eng.constellation, time_grid(_when(at), 0.0, 1.0), serving_only=True)
        _, sat, _, rng, el = visible_pairs(
            pos, [p.lat_deg], [p.lon_deg], min_elevation_deg=eng.min_elevation_deg
        )
        order = np.argsort(-el)
        return {
            "place": p.label if hasattr(p, "label") else place,
            "lat_deg": p.lat_deg,
            "lon_deg": p.lon_deg,
            "count": int(len(sat)),
            "satellites": [
                {
                    "name": str(eng.constellation.sat_names[sat[i]]),
                    "elevation_deg": round(float(el[i]), 2),
                    "range_km": round(float(rng[i]), 1),
                }
                for i in order[:50]
            ],
        }

    @app.get("/readouts/rtt")
    def rtt(a: str, b: str, at: Optional[str] = None, who=Depends(caller)):
        require(who[0], "viewer")
        from skymesh.errors import SkyMeshError
        from skymesh.ground.places import resolve_place
        from skymesh.network.over_time import GroundPoints, path_series
        from skymesh.timebase import time_grid

        try:
            pa_, pb = resolve_place(a), resolve_place(b)
        except SkyMeshError as exc:
            raise ServiceError(422, f"a/b: {exc}", "a") from None
        eng = _readouts()
        pts = GroundPoints.of([a, b], [pa_.lat_deg, pb.lat_deg], [pa_.lon_deg, pb.lon_deg])
        table = path_series(
            eng.constellation,
            time_grid(_when(at), 0.0, 1.0),
            pts,
            [[0, 1]],
            min_elevation_deg=eng.min_elevation_deg,
        )
        from skymesh.access.delay import COLUMNS, with_ground_to_ground_components

        table = with_ground_to_ground_components(table.slice(0, 1))
        row = table.to_pylist()[0] if table.num_rows else {}
        return {
            "a": a,
            "b": b,
            "at": _iso_aware(_when(at)),
            # the inputs, named as `skymesh latency --json` names them
            "constellation": eng.constellation_name,
            "mode": "isl",
            "min_elevation_deg": eng.min_elevation_deg,
            "space_rtt_ms": row.get("space_rtt_ms"),
            "hops": row.get("hops"),
            "rtt_ms": row.get("rtt_ms"),
            "components_ms": {k: row.get(k) for k in COLUMNS},
        }

    # ------------------------------------------------------------------ sites, scenarios
    @app.get("/sites")
    def sites(who=Depends(caller)):
        require(who[0], "viewer")
        with db.read(factory) as s:
            return [
                {
                    "name": r.name,
                    "kind": r.kind,
                    "lat_deg": r.lat_deg,
                    "lon_deg": r.lon_deg,
                    "iso2": r.iso2,
                }
                for r in s.execute(select(Site).order_by(Site.id)).scalars()
            ]

    @app.put("/sites")
    def put_sites(body: SitesIn, who=Depends(writer)):
        admin = require(who[0], "admin")
        from skymesh.errors import InputError
        from skymesh.inputs import iso2_upper
        from skymesh.service.readouts import gateways_from_sites

        rows = [
            Site(
                name=x.name,
                kind=x.kind,
                lat_deg=x.lat_deg,
                lon_deg=x.lon_deg,
                iso2=iso2_upper(x.iso2),
            )
            for x in body.sites
        ]
        try:  # the engine's own gateway checks, before anything is stored
            gateways = gateways_from_sites(rows)
        except InputError as exc:
            where = f"sites.{exc.line - 1}" if exc.line else "sites"
            field = f"{where}.{exc.field}" if exc.field else where
            raise ServiceError(422, f"{field}: {exc.message}", field) from None
        with db.write(factory) as s:
            s.query(Site).delete()
            s.add_all(rows)
            audit.append(
                s,
                admin.name,
                "sites.replace",
                {
                    "gateways": sum(r.kind == "gateway" for r in rows),
                    "pops": sum(r.kind == "pop" for r in rows),
                },
            )
        if app.state.readouts is not None:
            app.state.readouts.set_gateways(gateways)
        return {"sites": len(rows)}

    @app.put("/scenarios/{name}")
    def save_scenario(name: str, body: ScenarioIn, who=Depends(writer)):
        user = require(who[0], "operator")
        from skymesh.errors import SkyMeshError
        from skymesh.sim.scenario import SCENARIO_NAME_RE, load_scenario

        if not SCENARIO_NAME_RE.match(name):
            raise ServiceError(422, f"name: {name!r} is not a scenario name", "name")
        check_nesting(body.toml, "toml")
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"{name}.toml"
            path.write_text(body.toml, encoding="utf-8")
            try:
                load_scenario(path)
            except SkyMeshError as exc:
                raise ServiceError(
                    422, "toml: " + str(exc).replace(str(path), name), "toml"
                ) from None
            except RecursionError:  # a nesting check_nesting under-counted
                raise ServiceError(422, "toml: nested too deeply", "toml") from None
        with db.write(factory) as s:
            row = s.execute(select(SavedScenario).where(SavedScenario.name == name)).scalar()
            if row is None:
                row = SavedScenario(
                    name=name, toml=body.toml, saved_by=user.name, saved_at=auth.now_utc()
                )
                s.add(row)
            else:
                row.toml, row.saved_by, row.saved_at = body.toml, user.name, auth.now_utc()
            audit.append(s, user.name, "scenario.save", {"name": name})
        return {"name": name}

    @app.get("/scenarios")
    def list_scenarios(who=Depends(caller)):
        require(who[0], "viewer")
        with db.read(factory) as s:
            return [
                {"name": r.name, "saved_by": r.saved_by, "saved_at": _iso(r.saved_at)}
                for r in s.execute(select(SavedScenario).order_by(SavedScenario.name)).scalars()
            ]

    @app.get("/scenarios/{name}", response_class=PlainTextResponse)
    def get_scenario(name: str, who=Depends(caller)):
        require(who[0], "viewer")
        with db.read(factory) as s:
            row = s.execute(select(SavedScenario).where(SavedScenario.name == name)).scalar()
        if row is None:
            raise ServiceError(404, f"name: no scenario {name!r}", "name")
        return PlainTextResponse(row.toml, media_type="application/toml")

    # ------------------------------------------------------------------ audit
    @app.get("/audit")
    def audit_log(after: int = 0, limit: int = 100, who=Depends(caller)):
        require(who[0], "viewer")
        from skymesh.service.models import AuditEntry

        limit = max(1, min(int(limit), 1000))
        after = max(0, min(int(after), MAX_ID))  # no row has a larger seq
        with db.read(factory) as s:
            rows = s.execute(
                select(AuditEntry)
                .where(AuditEntry.seq > after)
                .order_by(AuditEntry.seq)
                .limit(limit)
            ).scalars()
            return [audit.row_dict(r) for r in rows]

    @app.get("/audit/export", response_class=PlainTextResponse)
    def audit_export(who=Depends(caller)):
        require(who[0], "viewer")
        import io

        buf = io.StringIO()
        with db.read(factory) as s:
            audit.export_jsonl(s, buf)
        return PlainTextResponse(buf.getvalue(), media_type="application/jsonl")

    @app.get("/audit/verify")
    def audit_verify(who=Depends(caller)):
        require(who[0], "viewer")
        with db.read(factory) as s:
            return audit.verify_db(s)

    # ------------------------------------------------------------------ dashboard
    from skymesh.service.dashboard import mount

    mount(app)
    return app


import numpy as np  # noqa: E402  (used inside the read-out routes)

APPROVING_ROLES = ("approver", "admin")
"""Roles that can approve: accounts holding them are made or raised only locally."""

_LOCAL_ONLY = (
    "{what} is not possible through the API (it would let one person hold two "
    "approving accounts); the database holder runs `skymesh users` for it"
)


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ServiceError(422, f"role: one of {', '.join(ROLES)}", "role")


def _iso(t: datetime) -> str:
    """A stored (naive UTC) time as ISO 8601, to the microsecond when it has a fraction."""
    return iso(t.replace(tzinfo=timezone.utc))


def _iso_aware(t: datetime) -> str:
    return iso(t)


def _when(at: str | None) -> datetime:
    if at is None:
        return datetime.now(timezone.utc).replace(microsecond=0)
    from skymesh.service.readouts import _utc

    return _utc(at)


def init_admin(db_url: str | None, name: str = "admin") -> str:
    """Create the first admin (only when there are no users); return its one-time token."""
    engine = db.make_engine(db_url or db.default_url())
    db.upgrade(engine)
    factory = db.sessions(engine)
    with db.write(factory) as s:
        if s.execute(select(User).limit(1)).scalar() is not None:
            raise ServiceError(
                409, "--init: the database already has users; add more with `skymesh users add`"
            )
        user = User(name=name, role="admin", active=True, created_at=auth.now_utc())
        s.add(user)
        s.flush()
        token, row = auth.issue_api_token(s, user)
        detail = {"user": name, "role": "admin", "init": True, "token_id": row.lookup}
        audit.append(s, local_actor(), "user.create", detail)
    engine.dispose()
    return token
