"""The dashboard: one HTML page and one script, served by the app itself (no CDN, no build).

The page signs in with a name and an API token (the server answers with a
session cookie and a CSRF token the script keeps in memory), then shows the
world map of country states at a chosen UTC instant (from
``/policy/timeline``), the pending proposals with their projected effect and
approve / reject buttons, a form to propose a change, the read-out of a
country, and the audit log. Borders are the bundled Natural Earth 1:110m map.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse, Response

STATIC = Path(__file__).parent / "static"
WORLD = Path(__file__).parent.parent / "data" / "ne_110m_admin0_countries.geojson"

_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def mount(app: FastAPI) -> None:
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index():
        return HTMLResponse(
            (STATIC / "index.html").read_text(encoding="utf-8"),
            headers={"Content-Security-Policy": _CSP},
        )

    @app.get("/dashboard/app.js", include_in_schema=False)
    def script():
        return FileResponse(STATIC / "app.js", media_type="text/javascript")

    @app.get("/dashboard/world.geojson", include_in_schema=False)
    def world():
        return Response(_world_bytes(), media_type="application/geo+json")


@functools.lru_cache(maxsize=1)
def _world_bytes() -> bytes:
    """The bundled borders with each feature's ISO 3166-1 alpha-2 code in ``iso2``
    (the engine's own mapping, :func:`skymesh.ground.countries._feature_codes`)."""
    from skymesh.ground.countries import _feature_codes

    doc = json.loads(WORLD.read_text(encoding="utf-8"))
    for f in doc["features"]:
        f["properties"] = {
            "name": f["properties"].get("name", ""),
            "iso2": _feature_codes(f["properties"])[0],
        }
    return json.dumps(doc, separators=(",", ":")).encode()
