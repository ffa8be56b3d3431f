"""Operations-service commands: serve; audit verify / keygen / checkpoint; users (local)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from skymesh.cli.common import _print_json, app, console, err_console
from skymesh.errors import SkyMeshError

audit_app = typer.Typer(
    help="The operations service's audit trail.", rich_markup_mode=None, no_args_is_help=True
)
app.add_typer(audit_app, name="audit")
users_app = typer.Typer(
    help="Accounts, managed locally by whoever holds the service's database (the root of "
    "trust); every action is written to the audit chain as local:<os user>.",
    rich_markup_mode=None,
    no_args_is_help=True,
)
app.add_typer(users_app, name="users")

_DB_HELP = "Database URL (default: the service's SQLite file)."


def _service_error(exc) -> SkyMeshError:
    return SkyMeshError(exc.message)


@app.command()
def serve(
    db: Optional[str] = typer.Option(
        None,
        "--db",
        help="Database URL (default: "
        "sqlite:///<data dir>/service.sqlite3; or "
        "postgresql://user@host/name).",
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8765, "--port", min=1, max=65535, help="TCP port."),
    init: bool = typer.Option(
        False, "--init", help="Create the first admin, print its one-time token and exit."
    ),
    admin_name: str = typer.Option(
        "admin", "--admin-name", help="Name of the first admin (with --init)."
    ),
    constellation: str = typer.Option(
        "starlink-shell1", "--constellation", "-c", help="Constellation the read-outs use."
    ),
    gateways: Optional[Path] = typer.Option(
        None,
        "--gateways",
        help="Gateway/PoP file (CSV or TOML) replacing the service's sites at start "
        "(default: a database with no sites gets the gateway + PoP list shipped with "
        "SkyMesh, or a newer one from `skymesh data update`).",
    ),
    forwarded_allow_ips: Optional[str] = typer.Option(
        None,
        "--forwarded-allow-ips",
        help="Comma-separated addresses or networks of reverse proxies whose "
        "X-Forwarded-For / X-Forwarded-Proto headers are trusted (default: none; the "
        "client address is the connection's, so the sign-in limit per address holds).",
    ),
):
    """Run the operations service (API and dashboard) on HOST:PORT.

    The policy state, accounts, proposals and the audit trail live in the database; the
    schema is created or upgraded at start. Sign in to the dashboard at http://HOST:PORT/
    with a name and an API token.
    """
    from sqlalchemy.exc import OperationalError

    from skymesh.service.auth import ServiceError
    from skymesh.service.db import default_url, normalise_url

    url = normalise_url(db) if db else default_url()
    proxies = _proxies(forwarded_allow_ips)
    if init:
        from skymesh.service.app import init_admin

        try:
            token = init_admin(url, admin_name)
        except ServiceError as exc:
            raise _service_error(exc) from None
        except (OperationalError, OSError) as exc:
            raise _database_error(url, exc) from None
        console.print(f"admin {admin_name!r} created in {_safe(url)}")
        console.print(
            f"token (shown once, keep it): {token}", highlight=False, markup=False, soft_wrap=True
        )
        return
    from skymesh.orbits.presets import load_constellation

    load_constellation(constellation)  # a wrong name fails now, in one line
    import uvicorn

    from skymesh.service.app import create_app

    try:
        app_ = create_app(url, constellation=constellation)
    except (OperationalError, OSError) as exc:
        raise _database_error(url, exc) from None
    err_console.print(
        "sites: " + _seed_sites(app_, gateways), highlight=False, markup=False, soft_wrap=True
    )
    err_console.print(
        f"SkyMesh operations service on http://{host}:{port}/ (database {_safe(url)})",
        highlight=False,
        markup=False,
    )
    uvicorn.run(
        app_,
        host=host,
        port=port,
        log_level="info",
        access_log=True,
        log_config=_log_config(),
        # forwarded headers only from the proxies named; uvicorn's own default trusts
        # 127.0.0.1 (and $FORWARDED_ALLOW_IPS), which would let any local client choose
        # its address
        proxy_headers=bool(proxies),
        forwarded_allow_ips=",".join(proxies) if proxies else "",
    )


def _proxies(value: str | None) -> list[str]:
    """The ``--forwarded-allow-ips`` list: IP addresses or networks, or ``*``."""
    import ipaddress

    if value is None:
        return []
    items = [v.strip() for v in value.split(",") if v.strip()]
    for item in items:
        if item == "*":
            continue
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise SkyMeshError(
                f"--forwarded-allow-ips: {item!r} is not an IP address or network "
                "(e.g. 10.0.0.5,10.1.0.0/16)"
            ) from None
    if not items:
        raise SkyMeshError("--forwarded-allow-ips: name at least one proxy address")
    return items


def _log_config() -> dict:
    """uvicorn's logging set-up with the access log writing paths without query strings
    (a query may carry what a client did not mean to have logged)."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["no_query"] = {"()": "skymesh.service.app.DropQueryString"}
    config["handlers"]["access"]["filters"] = ["no_query"]
    return config


def _database_error(url: str, exc: Exception) -> SkyMeshError:
    reason = getattr(exc, "orig", None) or getattr(exc, "strerror", None) or exc
    line = str(reason).strip().splitlines()[0] if str(reason).strip() else type(exc).__name__
    return SkyMeshError(f"--db: cannot use {_safe(url)}: {line}")


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _seed_sites(app_, path: Optional[Path]) -> str:
    """Replace the service's sites with ``path``'s; without ``path``, give a database that
    holds no sites the default list (:func:`skymesh.ground.sites.default_sites`). Returns
    the line that says which sites the service starts with."""
    from sqlalchemy import func, select

    from skymesh.ground.sites import load_sites
    from skymesh.service import audit, db
    from skymesh.service.models import Site

    if path is None:
        with db.read(app_.state.factory) as s:
            held = s.execute(select(func.count()).select_from(Site)).scalar_one()
        if held:
            return f"{held} gateways and PoPs from the database (PUT /sites or --gateways FILE)"
    gw, pops, found = load_sites(path)
    sites = [
        (str(n), "gateway", float(a), float(o), str(c))
        for n, a, o, c in zip(gw.name, gw.lat_deg, gw.lon_deg, gw.country_iso2)
    ]
    if pops is not None:
        sites += [
            (str(n), "pop", float(a), float(o), str(c))
            for n, a, o, c in zip(pops.name, pops.lat_deg, pops.lon_deg, pops.country_iso2)
        ]
    with db.write(app_.state.factory) as s:
        s.query(Site).delete()
        s.add_all([Site(name=n, kind=k, lat_deg=a, lon_deg=o, iso2=c) for n, k, a, o, c in sites])
        audit.append(
            s,
            "service",
            "sites.replace",
            {"file": found.path.name, "date": found.date, "sites": len(sites)},
        )
    n_pops = 0 if pops is None else len(pops)
    return f"{len(gw)} gateways and {n_pops} PoPs from {found.describe()}"


def _db_url(db: Optional[str]) -> str:
    from skymesh.service.db import default_url, normalise_url

    return normalise_url(db) if db else default_url()


def _service_call(fn, *args):
    """``fn(*args)`` with service and database errors as one line (exit 2)."""
    from sqlalchemy.exc import SQLAlchemyError

    from skymesh.service.auth import ServiceError

    try:
        return fn(*args)
    except ServiceError as exc:
        raise _service_error(exc) from None
    except SQLAlchemyError as exc:
        reason = " ".join(str(getattr(exc, "orig", None) or exc).split())[:300]
        raise SkyMeshError(f"--db: the database cannot be used: {reason}") from None


def _open_db(url: str):
    """An engine on an existing SkyMesh service database (nothing is created)."""
    from sqlalchemy import inspect
    from sqlalchemy.engine import make_url

    from skymesh.service.db import make_engine

    if url.startswith("sqlite"):
        path = make_url(url).database
        if path and path != ":memory:" and not Path(path).is_file():
            raise SkyMeshError(f"--db: {path}: no such database file")
    engine = _service_call(make_engine, url)
    if "audit" not in _service_call(lambda: inspect(engine).get_table_names()):
        engine.dispose()
        raise SkyMeshError(
            f"--db: {_safe(url)} holds no SkyMesh service database "
            "(run `skymesh serve --init` first)"
        )
    return engine


@audit_app.command("verify")
def audit_verify(
    db: Optional[str] = typer.Option(None, "--db", help=_DB_HELP),
    file: Optional[Path] = typer.Option(
        None, "--file", help="A JSON Lines export (GET /audit/export) to check offline."
    ),
    checkpoint: Optional[Path] = typer.Option(
        None,
        "--checkpoint",
        help="A signed checkpoint (skymesh audit checkpoint): the chain must still pass "
        "through its entry.",
    ),
    pubkey: Optional[Path] = typer.Option(
        None,
        "--pubkey",
        help="The public key the checkpoint must be signed with (else the key it names, "
        "which only shows the file is unedited).",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
):
    """Check the audit trail; exit 1 when anything disagrees.

    Recomputes the hash chain (the first broken entry is named); on a database
    also replays the chain and compares what it rebuilds (accounts, tokens,
    proposals, policy versions, scenarios, sites) with the state tables; with
    --checkpoint, checks its signature and that the chain still passes through
    its entry.
    """
    from skymesh.service import audit
    from skymesh.service import checkpoint as ckpt

    if pubkey is not None and checkpoint is None:
        raise SkyMeshError("--pubkey: only with --checkpoint")
    cp = ckpt.load(checkpoint) if checkpoint is not None else None
    key = ckpt.load_public(pubkey) if pubkey is not None else None
    if file is not None:
        # read through skymesh.inputs: a missing file, a FIFO or a device is one line
        entries = list(audit.jsonl_entries(file))
        result = audit.verify_entries(entries)
        where = str(file)
    else:
        from skymesh.service.db import read, sessions

        url = _db_url(db)
        engine = _open_db(url)  # read only: no migration is run
        with read(sessions(engine)) as s:
            result = _service_call(audit.verify_db, s)
            entries = list(audit.db_entries(s)) if cp is not None else []
        engine.dispose()
        where = _safe(url)
    if cp is not None:
        why = ckpt.check_signature(cp, key) or ckpt.check_chain(cp, entries)
        result["checkpoint"] = {"seq": cp["seq"], "ok": why is None, "why": why}
        if why is not None:
            result["ok"] = False
            result["why"] = f"checkpoint {checkpoint}: {why}"
    if json_out:
        _print_json(dict(result, source=where))
    elif result["ok"]:
        extra = f", through checkpoint entry {cp['seq']}" if cp is not None else ""
        state = ", state tables agree" if file is None else ""
        console.print(
            f"audit chain intact: {result['entries']} entries in {where}{state}{extra}",
            highlight=False,
            markup=False,
        )
    elif result.get("first_broken") is not None:
        console.print(
            f"audit chain BROKEN at entry {result['first_broken']} of {where}: {result['why']}",
            highlight=False,
            markup=False,
        )
    else:
        console.print(
            f"audit check FAILED for {where}: {result['why']}", highlight=False, markup=False
        )
    raise typer.Exit(0 if result["ok"] else 1)


@audit_app.command("keygen")
def audit_keygen(
    key: Path = typer.Option(
        ...,
        "--key",
        help="Where to write the new private key (0600); the public key goes "
        "to KEY.pub. Keep both outside the database's machine.",
    ),
):
    """Make an Ed25519 key pair for signing audit checkpoints."""
    from skymesh.service import checkpoint as ckpt

    pub = ckpt.keygen(key)
    console.print(f"private key {key} (keep it secret), public key {pub}", highlight=False)


@audit_app.command("checkpoint")
def audit_checkpoint(
    db: Optional[str] = typer.Option(None, "--db", help=_DB_HELP),
    key: Path = typer.Option(..., "--key", help="Private key (skymesh audit keygen)."),
    out: Path = typer.Option(..., "--out", help="Checkpoint file to write (JSON)."),
    force: bool = typer.Option(False, "--force", help="Replace a checkpoint file SkyMesh made."),
):
    """Sign the audit chain's head into OUT, after checking the chain and the state tables.

    Keep the file (and the public key) away from the database: later,
    `skymesh audit verify --checkpoint OUT --pubkey KEY.pub` shows whether the chain
    was cut or rewritten at or before that entry.
    """
    from skymesh.service import audit
    from skymesh.service import checkpoint as ckpt
    from skymesh.service.db import read, sessions

    private = ckpt.load_private(key)
    if out.exists() or out.is_symlink():
        if not force:
            raise SkyMeshError(f"--out {out}: file exists; pass --force to replace it")
        try:
            ckpt.load(out)
        except SkyMeshError:
            raise SkyMeshError(
                f"--out {out}: exists and is not a SkyMesh checkpoint; not replaced"
            ) from None
    url = _db_url(db)
    engine = _open_db(url)
    with read(sessions(engine)) as s:
        result = _service_call(audit.verify_db, s)
        head = audit.head_entry(s) if result["ok"] else None
    engine.dispose()
    if not result["ok"]:
        console.print(
            f"no checkpoint written: the audit check fails for {_safe(url)}: {result['why']}",
            highlight=False,
            markup=False,
        )
        raise typer.Exit(1)
    if head is None:
        raise SkyMeshError(f"--db: {_safe(url)}: the audit chain is empty; nothing to sign")
    cp = ckpt.make(head, private)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(cp, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(out)
    console.print(
        f"checkpoint of entry {cp['seq']} ({cp['hash'][:16]}...) written to {out}",
        highlight=False,
        markup=False,
    )


# ---------------------------------------------------------------------- users (local)


@users_app.command("add")
def users_add(
    name: str = typer.Argument(..., help="Account name (A-Z a-z 0-9 . _ -)."),
    role: str = typer.Option(..., "--role", help="viewer, operator, approver or admin."),
    db: Optional[str] = typer.Option(None, "--db", help=_DB_HELP),
):
    """Add an account of any role and print its one-time API token.

    Approvers and admins can only be made here (or raised here), never through the
    API, so that no account can create a second approving account for its holder.
    """
    from skymesh.service.local import add_user

    url = _db_url(db)
    token = _service_call(add_user, url, name, role)
    console.print(f"{role} {name!r} added to {_safe(url)}", highlight=False, markup=False)
    console.print(
        f"token (shown once, keep it): {token}", highlight=False, markup=False, soft_wrap=True
    )


@users_app.command("token")
def users_token(
    name: str = typer.Argument(..., help="Account name."),
    db: Optional[str] = typer.Option(None, "--db", help=_DB_HELP),
):
    """Make a new API token for NAME (re-key it) and print it once."""
    from skymesh.service.local import new_token

    url = _db_url(db)
    token = _service_call(new_token, url, name)
    console.print(
        f"token for {name!r} (shown once, keep it): {token}",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )


@users_app.command("list")
def users_list(
    db: Optional[str] = typer.Option(None, "--db", help=_DB_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
):
    """List accounts: role, active, live API tokens, and which account made or re-roled
    each through the API (blank: made locally)."""
    from skymesh.service.local import list_users

    rows = _service_call(list_users, _db_url(db))
    if json_out:
        _print_json(rows)
        return
    for r in rows:
        state = "active" if r["active"] else "revoked"
        via = "; ".join(r["via_api"]) or "local"
        console.print(
            f"{r['name']:<24} {r['role']:<9} {state:<8} tokens {r['live_tokens']:<3} made: {via}",
            highlight=False,
            markup=False,
        )


@users_app.command("revoke")
def users_revoke(
    name: str = typer.Argument(..., help="Account name."),
    db: Optional[str] = typer.Option(None, "--db", help=_DB_HELP),
):
    """Deactivate NAME and revoke all its tokens and sessions."""
    from skymesh.service.local import revoke_user

    url = _db_url(db)
    n = _service_call(revoke_user, url, name)
    console.print(
        f"{name!r} deactivated; {n} token(s) revoked in {_safe(url)}", highlight=False, markup=False
    )
