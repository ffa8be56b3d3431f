"""Finer country borders for the data directory: Natural Earth admin-0 at 1:50m.

The package ships the 1:110m countries (borders good to a few km); when
online, ``skymesh data update`` also fetches Natural Earth's 1:50m GeoJSON
into the data directory as ``ne_admin0_countries_50m.geojson``, where
:func:`skymesh.ground.countries.load_countries` (``resolution="50m"`` or
``"best"``) finds it. The download is checked to be a GeoJSON
FeatureCollection of countries with ISO codes before anything is written.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from skymesh.datadir import data_dir as resolve_data_dir
from skymesh.datadir import download_file
from skymesh.errors import InputError
from skymesh.ground.countries import COUNTRIES_50M_FILE as BORDERS_FILE

BORDERS_URL = (
    "https://raw.githubusercontent.com/nvkelso/natural-earth-vector/master/"
    "geojson/ne_50m_admin_0_countries.geojson"
)
"""Natural Earth's own repository (public domain); override with ``SKYMESH_BORDERS_URL``."""


def _validate(url: str):
    def check(data: bytes) -> dict:
        try:
            doc = json.loads(data)
        except ValueError:
            raise InputError(
                f"{url} did not return JSON; kept the borders already there", field="borders"
            ) from None
        feats = doc.get("features") if isinstance(doc, dict) else None
        if doc.get("type") != "FeatureCollection" or not feats:
            raise InputError(f"{url} is not a GeoJSON FeatureCollection", field="borders")
        props = feats[0].get("properties", {})
        if not ({"ISO_A2_EH", "ISO_A3_EH", "ISO_A2", "iso_a3"} & set(props)):
            raise InputError(f"{url} has no ISO country codes in its properties", field="borders")
        return {"features": len(feats)}

    return check


def update_borders(data_dir=None, url: str | None = None, timeout_s: float = 60.0):
    """Fetch the 1:50m borders into the data directory; ``None`` if already there."""
    directory = resolve_data_dir(data_dir)
    directory.mkdir(parents=True, exist_ok=True)
    dest = Path(directory) / BORDERS_FILE
    if dest.exists():
        return None
    url = url or os.environ.get("SKYMESH_BORDERS_URL") or BORDERS_URL
    return download_file(
        url,
        dest,
        timeout_s=timeout_s,
        validate=_validate(url),
        hint=f"download Natural Earth's 1:50m admin-0 countries as GeoJSON "
        f"by hand and save it as {dest}",
    )
