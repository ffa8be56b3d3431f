"""The default gateway + PoP list ("sites"): one file, one loader, and its updates.

Every command that needs gateways or PoPs and is given none (``skymesh
capacity``, ``skymesh access``, ``skymesh packets --pop``, ``skymesh serve``)
takes :func:`default_sites`: the merged Starlink list shipped with SkyMesh
(``skymesh/data/starlink_gateways_merged.csv``, 357 sites of 2026-03-20, see
``skymesh/data/NOTICE.md``), unless the data directory holds a newer
``starlink_gateways_{YYYYMMDD}[THHMMSSZ].csv`` (written by ``skymesh data
update``, or placed there by hand); :mod:`skymesh.shipped` gives the order.
The file holds gateway rows and PoP rows (``type`` column), read by
:func:`skymesh.ground.gateways.load_gateways` and
:func:`skymesh.ground.pops.load_pops`.

:func:`update_sites` fetches the community list the shipped one is built from
(juliensimon/starlink-viz, MIT: ``{"lastUpdated": ..., "stations": [{"name",
"lat", "lon", "status", "type"}]}``) or a CSV in SkyMesh's gateway format,
gives each site its country (that of the current list for a site it already
holds, else by point in polygon: the 1:50m borders when in the data directory,
else the shipped 1:110m ones; sites offshore by up to
:data:`COAST_TOLERANCE_DEG` take the nearest country), checks it and writes
it under the date of its data, with a ``.json`` sidecar (source URL, download
time, SHA-256, ``data_date``, counts). The update keeps the upstream
coordinates: the shipped list's StarPerf site coordinates (2022) are not
re-applied.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from skymesh.datadir import data_dir as resolve_data_dir
from skymesh.datadir import fetch_bytes, utc_now, write_new_file, write_sidecar
from skymesh.errors import InputError
from skymesh.shipped import SHIPPED, SHIPPED_SITES, describe, is_shipped, shipped_path

SITES_URL = (
    "https://raw.githubusercontent.com/juliensimon/starlink-viz/main/data/ground-stations.json"
)
"""Where ``skymesh data update`` fetches the gateway + PoP list; override with
``--sites-url`` or ``$SKYMESH_SITES_URL``."""

SITES_RE = re.compile(r"^starlink_gateways_(\d{8})(?:T(\d{6})Z)?\.csv$")
"""Name of a dated gateway + PoP list in the data directory."""

MAX_SITES_BYTES = 8 * 1024 * 1024
"""Size cap of one gateway-list download (bytes); the list is about 40 kB."""

MIN_COUNT_RATIO = 0.5
"""A download must hold at least this share of the current list's sites."""

COAST_TOLERANCE_DEG = 0.1
"""A site this close (deg, about 11 km) to a country but outside its coastline at
the borders' scale takes that country (the shipped list has 17 such sites, all
within 7 km of the 1:50m coast)."""


@dataclass(frozen=True)
class SitesFile:
    """A gateway + PoP list file and the date of its data (``YYYY-MM-DD`` or None)."""

    path: Path
    date: str | None

    def describe(self) -> str:
        """``'FILE (shipped with SkyMesh, data of 2026-03-20)'`` and the like."""
        return describe(self.path, self.date)

    def record(self) -> dict:
        """What a run records of it (run.json, summary.json)."""
        return {
            "file": str(self.path),
            "date": self.date,
            "shipped": is_shipped(self.path),
        }


def _sidecar_date(path: Path) -> str | None:
    sidecar = path.with_suffix(".json")
    try:
        value = json.loads(sidecar.read_text(encoding="utf-8")).get("data_date")
    except (OSError, ValueError, AttributeError):
        return None
    return str(value)[:10] if value else None


def _name_date(path: Path) -> str | None:
    m = SITES_RE.match(path.name)
    return f"{m.group(1)[:4]}-{m.group(1)[4:6]}-{m.group(1)[6:]}" if m else None


def sites_file(path=None, data_dir=None) -> SitesFile:
    """``path`` with the date of its data, or the default list when ``path`` is None.

    The date of a given file is its sidecar's ``data_date``, else the date in its
    name (``starlink_gateways_YYYYMMDD...csv``), else None ("not recorded").
    """
    if path is not None:
        p = Path(path).expanduser()
        if is_shipped(p) and p.name in SHIPPED:
            return SitesFile(p, SHIPPED[p.name]["date"])
        return SitesFile(p, _sidecar_date(p) or _name_date(p))
    return default_sites(data_dir)


def default_sites(data_dir=None) -> SitesFile:
    """The default gateway + PoP list: the newest of the shipped one and the data
    directory's ``starlink_gateways_{stamp}.csv`` files, by date (a tie: the data
    directory's); see :mod:`skymesh.shipped`."""
    shipped = SHIPPED[SHIPPED_SITES]["date"].replace("-", "")
    candidates = [((shipped, "000000", 0), shipped_path(SHIPPED_SITES))]
    directory = resolve_data_dir(data_dir)
    if directory.is_dir():
        for p in directory.iterdir():
            m = SITES_RE.match(p.name)
            if m and p.is_file():
                candidates.append(((m.group(1), m.group(2) or "000000", 1), p))
    _, path = max(candidates, key=lambda c: c[0])
    return sites_file(path)


def load_sites(path=None, *, notes: list | None = None, include_planned: bool = False):
    """Gateways and PoPs of one list (``path``, else :func:`default_sites`).

    Returns ``(gateways, pops, sites_file)``: operational gateways (planned ones
    too with ``include_planned``), the PoP rows (None when the file has none) and
    the :class:`SitesFile`. ``notes`` receives one line saying the file and its date.
    Repeated town names in community lists are not warned about.
    """
    from skymesh.ground.gateways import load_gateways
    from skymesh.ground.pops import _from_gateways

    found = sites_file(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        every = load_gateways(found.path, include_planned=include_planned, include_pops=True)
    gw = every.subset(every.type == "gateway")
    is_pop = every.type == "pop"
    pops = _from_gateways(every.subset(is_pop), found.path) if is_pop.any() else None
    if notes is not None:
        notes.append(
            f"gateways and PoPs: {found.describe()}: {len(gw)} gateways"
            + (f", {len(pops)} PoPs" if pops is not None else ", no PoPs")
        )
    return gw, pops, found


# --------------------------------------------------------------------------- update


def _country_codes(names, lat: np.ndarray, lon: np.ndarray, known: dict) -> np.ndarray:
    """ISO alpha-2 of each site: the current list's country for a site of the same name,
    else by point in polygon, else the nearest country within :data:`COAST_TOLERANCE_DEG`;
    ``""`` when none."""
    import shapely

    from skymesh.ground.countries import country_of, load_countries

    cs = load_countries(resolution="best")
    codes = country_of(lat, lon, cs)
    for i, name in enumerate(names):
        if name in known:
            codes[i] = known[name]
    for k in np.flatnonzero(codes == ""):
        pt = shapely.points(float(lon[k]), float(lat[k]))
        near = cs.tree.query_nearest(pt, max_distance=COAST_TOLERANCE_DEG)
        hit = [int(j) for j in np.atleast_1d(near) if cs.iso2[int(j)]]
        if hit:
            codes[k] = cs.iso2[hit[0]]
    return codes


def _known_countries(directory: Path) -> dict:
    """Site name -> country of the current default list (every row)."""
    from skymesh.ground.gateways import load_gateways

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            gw = load_gateways(
                default_sites(directory).path, include_planned=True, include_pops=True
            )
    except InputError:
        return {}
    return {str(n): str(c) for n, c in zip(gw.name, gw.country_iso2)}


def _from_json(data: bytes, url: str) -> tuple[list[dict], str | None, list[str]]:
    try:
        doc = json.loads(data)
    except ValueError:
        raise InputError(f"{url}: not JSON; nothing was saved", field="sites") from None
    stations = doc.get("stations") if isinstance(doc, dict) else None
    if not isinstance(stations, list) or not stations:
        raise InputError(
            f"{url}: no 'stations' list (expected starlink-viz's ground-stations.json); "
            "nothing was saved",
            field="sites",
        )
    rows, problems = [], []
    for n, s in enumerate(stations, start=1):
        if not isinstance(s, dict):
            problems.append(f"station {n} is not an object")
            continue
        rows.append(
            {
                "name": s.get("name"),
                "type": s.get("type", "gateway"),
                "status": s.get("status", "operational"),
                "lat": s.get("lat"),
                "lon": s.get("lon"),
            }
        )
    updated = doc.get("lastUpdated")
    return rows, (str(updated) if updated else None), problems


def _to_csv(rows: list[dict], codes: np.ndarray) -> bytes:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["name", "type", "status", "lat", "lon", "country_iso2"])
    for r, c in zip(rows, codes):
        w.writerow([r["name"], r["type"], r["status"], r["lat"], r["lon"], c])
    return out.getvalue().encode("utf-8")


def _check_csv(data: bytes, where: str):
    """The sites in ``data`` (gateway CSV), every problem reported (InputError)."""
    from skymesh.ground.gateways import _load_csv

    text = data.decode("utf-8-sig", errors="replace")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return _load_csv(where, text, True, True)


def update_sites(
    data_dir=None,
    url: str | None = None,
    timeout_s: float = 30.0,
    *,
    force: bool = False,
) -> Path | None:
    """Fetch the current gateway + PoP list into the data directory.

    ``url`` (default ``$SKYMESH_SITES_URL`` or :data:`SITES_URL`) answers with
    starlink-viz's JSON or a gateway CSV (module docstring). The list is written as
    ``starlink_gateways_{stamp}.csv``, ``stamp`` the date and time of its data
    (``lastUpdated``; the download time when the source gives none), with a
    ``.json`` sidecar. Returns None, writing nothing, when a list of that stamp is
    already there. Unless ``force``, a download with fewer than
    :data:`MIN_COUNT_RATIO` of the current default list's sites is refused.
    Raises :class:`InputError` (nothing saved) for a bad download and
    :class:`~skymesh.errors.NetworkUnavailableError` when offline.
    """
    directory = resolve_data_dir(data_dir)
    directory.mkdir(parents=True, exist_ok=True)
    url = url or os.environ.get("SKYMESH_SITES_URL") or SITES_URL
    now = utc_now()
    hint = (
        f"save a gateway + PoP CSV (name,type,status,lat,lon,country_iso2) by hand in "
        f"{directory} as starlink_gateways_YYYYMMDD.csv"
    )
    data = fetch_bytes(
        url, timeout_s=timeout_s, hint=hint, dest=directory, max_bytes=MAX_SITES_BYTES
    )
    if len(data) > MAX_SITES_BYTES:
        raise InputError(
            f"{url}: the download is over the {MAX_SITES_BYTES:,}-byte cap; nothing was saved"
        )
    stamp_time: datetime = now
    skipped: list[str] = []
    if data.lstrip()[:1] in (b"{", b"["):
        rows, updated, skipped = _from_json(data, url)
        if updated:
            from skymesh.timebase import parse_time

            try:
                stamp_time = parse_time(updated)
            except InputError:
                skipped.append(f"lastUpdated {updated!r} is not a time; dated by the download")
        lat = np.array([_float(r["lat"]) for r in rows])
        lon = np.array([_float(r["lon"]) for r in rows])
        ok = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
        codes = np.full(len(rows), "", dtype="<U2")
        names = [str(r["name"]) for r, k in zip(rows, ok) if k]
        codes[ok] = _country_codes(names, lat[ok], lon[ok], _known_countries(directory))
        keep = codes != ""
        skipped += [
            f"'{r['name']}': no country at {r['lat']}, {r['lon']}"
            for r, k in zip(rows, keep)
            if not k
        ]
        rows = [r for r, k in zip(rows, keep) if k]
        body = _to_csv(rows, codes[keep])
        data_date = stamp_time.strftime("%Y-%m-%d")
    else:
        body, data_date = data, None
    dest = directory / f"starlink_gateways_{stamp_time.strftime('%Y%m%dT%H%M%SZ')}.csv"
    sites = _check_csv(body, url)
    if not force:
        current = default_sites(directory)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            from skymesh.ground.gateways import load_gateways

            before = len(load_gateways(current.path, include_planned=True, include_pops=True))
        if len(sites) < MIN_COUNT_RATIO * before:
            raise InputError(
                f"{url}: the download holds {len(sites):,} sites, fewer than half of the "
                f"current list's {before:,} ({current.path.name}); nothing was saved "
                "(--force to take it anyway)"
            )
    if dest.exists():
        return None
    write_new_file(dest, body)
    write_sidecar(
        dest,
        url,
        now,
        data_date=data_date or now.strftime("%Y-%m-%d"),
        sites=len(sites),
        gateways=int(np.sum(sites.type == "gateway")),
        pops=int(np.sum(sites.type == "pop")),
        skipped=skipped,
    )
    return dest


def _float(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return float("nan")
    return float(value)
