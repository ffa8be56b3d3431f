"""Operations-service commands: serve, audit verify."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from skymesh.cli.common import _print_json, app, console, err_console
from skymesh.errors import SkyMeshError

audit_app = typer.Typer(
    help="The operations service's audit trail.", rich_markup_mode=None, no_args_is_help=True
)
app.add_typer(audit_app, name="audit")


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


@audit_app.command("verify")
def audit_verify(
    db: Optional[str] = typer.Option(
        None, "--db", help="Database URL (default: the service's SQLite file)."
    ),
    file: Optional[Path] = typer.Option(
        None, "--file", help="A JSON Lines export (GET /audit/export) to check offline."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
):
    """Recompute the audit trail's hash chain; exit 1 at the first broken entry."""
    from skymesh.service import audit

    if file is not None:
        # read through skymesh.inputs: a missing file, a FIFO or a device is one line
        result = audit.verify_entries(audit.jsonl_entries(file))
        where = str(file)
    else:
        from skymesh.service.db import default_url, make_engine, normalise_url, read, sessions

        url = normalise_url(db) if db else default_url()
        engine = make_engine(url)
        from sqlalchemy import inspect

        if "audit" not in inspect(engine).get_table_names():
            raise SkyMeshError(
                f"--db: {_safe(url)} holds no SkyMesh service database "
                "(run `skymesh serve --init` first)"
            )
        with read(sessions(engine)) as s:
            result = audit.verify_entries(audit.db_entries(s))
        where = _safe(url)
    if json_out:
        _print_json(dict(result, source=where))
    elif result["ok"]:
        console.print(
            f"audit chain intact: {result['entries']} entries in {where}",
            highlight=False,
            markup=False,
        )
    else:
        console.print(
            f"audit chain BROKEN at entry {result['first_broken']} of {where}: {result['why']}",
            highlight=False,
            markup=False,
        )
    raise typer.Exit(0 if result["ok"] else 1)
