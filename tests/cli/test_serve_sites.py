"""`skymesh serve` starts with the shipped gateway + PoP list and says so; a database that
holds sites keeps them; --gateways FILE replaces them."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi", reason="the service extra is not installed")


def test_serve_seeds_the_shipped_sites_once(tmp_path, monkeypatch):
    from sqlalchemy import func, select

    from skymesh.cli.service import _seed_sites
    from skymesh.service import db
    from skymesh.service.app import create_app
    from skymesh.service.models import Site

    monkeypatch.setenv("SKYMESH_DATA", str(tmp_path / "empty"))
    app = create_app(f"sqlite:///{tmp_path / 'svc.sqlite3'}")
    try:
        line = _seed_sites(app, None)
        assert line == (
            "214 gateways and 35 PoPs from starlink_gateways_merged.csv "
            "(shipped with SkyMesh, data of 2026-03-20)"
        )

        def count(kind):
            with db.read(app.state.factory) as s:
                return s.execute(
                    select(func.count()).select_from(Site).where(Site.kind == kind)
                ).scalar_one()

        assert (count("gateway"), count("pop")) == (214, 35)
        assert _seed_sites(app, None).startswith("249 gateways and PoPs from the database")
        mine = tmp_path / "mine.csv"
        mine.write_text("name,type,lat,lon,country\nG,gateway,50,8,DE\nP,pop,50.1,8.7,DE\n")
        assert (
            _seed_sites(app, mine)
            == "1 gateways and 1 PoPs from mine.csv (given, date not recorded)"
        )
        assert (count("gateway"), count("pop")) == (1, 1)
    finally:
        app.state.engine.dispose()
