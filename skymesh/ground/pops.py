"""Points of presence (PoPs): where a terminal's traffic reaches the Internet.

A Starlink gateway is a satellite ground station; it hands traffic over
terrestrial fibre to a point of presence, where Starlink peers with the
Internet (Mohan et al., "A Multifaceted Look at Starlink Performance", WWW
2024: the GS <-> PoP leg is ~5 ms RTT almost everywhere, 7-8 ms in the US and
Canada). SkyMesh models that leg as fibre laid along the great circle times a
route factor, at the speed of light in fibre (:func:`fibre_rtt_ms`).

File formats (:func:`load_pops`, chosen by suffix), with the fields and checks
of :mod:`skymesh.ground.gateways`:

CSV (``.csv``): a header line, then one PoP a line; ``#`` lines and blank
lines are skipped; columns in any order, ``name,lat,lon,country`` required
(``lat_deg``, ``lon_deg``, ``country_iso2`` accepted), ``status`` optional::

    name,lat,lon,country,status
    "London, UK",51.5074,-0.1278,GB,operational
    "Madrid, Spain",40.4168,-3.7038,ES,operational

A CSV with a ``type`` column is a mixed gateway + PoP list (as the curated
``starlink_gateways_starlinkviz_20260320.csv``): only ``type = pop`` rows are
read. Without a ``type`` column every row is a PoP.

TOML (``.toml``): one ``[[pop]]`` table per PoP, same keys::

    [[pop]]
    name = "London, UK"
    lat = 51.5074
    lon = -0.1278
    country = "GB"
    status = "operational"      # optional; "planned" rows need include_planned

By default only operational PoPs are kept, as for gateways; ``include_planned``
adds planned ones. There is no built-in PoP list: PoPs come from a file (or a
scenario's inline ``[[pop]]`` tables, :func:`pops_from_records`).

Homing (:func:`home_gateways`): each gateway hands its traffic to the nearest
PoP in its own country, else to the nearest PoP anywhere; a scenario may name
a gateway's PoP explicitly (``overrides``). This is the rule the measurement
studies infer (Mohan et al. 2024 §4: terminals are served by the PoP of their
country where one exists); SpaceX does not publish its homing table.
"""

from __future__ import annotations

import csv
import re
import tomllib
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from skymesh.constants import EARTH_MEAN_RADIUS_KM, SPEED_OF_LIGHT_KM_S
from skymesh.errors import InputError, problems_of, raise_problems
from skymesh.ground.gateways import gateways_from_records, load_gateways
from skymesh.inputs import loads_toml, read_input_text

FIBRE_GROUP_INDEX = 1.4682
"""Group index of standard single-mode fibre at 1550 nm: Corning SMF-28 Ultra
product information sheet (PI1424), "effective group index of refraction"
1.4682 at 1550 nm (1.4676 at 1310 nm). SMF-28 is the reference ITU-T G.652.D
fibre of terrestrial long-haul and metro plant; G.652 itself does not fix the
group index. Light in it travels at c / 1.4682 = 204,190 km/s."""

FIBRE_SPEED_KM_S = SPEED_OF_LIGHT_KM_S / FIBRE_GROUP_INDEX
"""Speed of light in standard single-mode fibre (km/s), ~204,190."""

ROUTE_FACTOR = 1.3
"""Fibre route length over great-circle distance, default.

Bozkurt et al., "Dissecting Latency in the Internet's Fiber Infrastructure"
(arXiv:1811.10737, 2018; the study behind "Why is the Internet so slow?!",
PAM 2017): the shortest paths through the mapped long-haul conduits of the US
(InterTubes, Durairajan et al., SIGCOMM 2015) are 1.3x the line-of-sight
distance in the median over the 120 largest US population centres. A gateway's
backhaul to its PoP is the operator's own leased capacity, which can follow the
shortest conduit path, hence 1.3. Uncertainty: ROUTE_FACTOR_LOW .. HIGH."""

ROUTE_FACTOR_LOW = 1.0
"""Lower bound: fibre exactly along the great circle (physics bound)."""
ROUTE_FACTOR_HIGH = 2.1
"""Upper value: the rule of thumb for Internet paths measured end to end
(line-of-sight x 2.1 at fibre speed), which includes routing-policy detours
(same paper, citing earlier measurement campaigns)."""


@dataclass(frozen=True)
class Pops:
    """A set of PoPs as arrays, one entry per PoP.

    Attributes
    ----------
    name : np.ndarray of str
    lat_deg, lon_deg : np.ndarray of float
        WGS84 geodetic latitude and longitude (deg).
    country_iso2 : np.ndarray of str
        ISO 3166-1 alpha-2 code of the country the PoP is in.
    status : np.ndarray of str
        "operational" or "planned".
    line : np.ndarray of int
        1-based line in the source file, -1 when unknown.
    source : str or None
        The file the PoPs came from.

    Examples
    --------
    >>> import skymesh
    >>> p = skymesh.pops([{"name": "Frankfurt", "lat": 50.11, "lon": 8.68, "country": "DE"}])
    >>> len(p), p.name.tolist(), p.country_iso2.tolist()
    (1, ['Frankfurt'], ['DE'])
    """

    name: np.ndarray
    lat_deg: np.ndarray
    lon_deg: np.ndarray
    country_iso2: np.ndarray
    status: np.ndarray
    line: np.ndarray
    source: str | None = None

    _ARRAYS = ("name", "lat_deg", "lon_deg", "country_iso2", "status", "line")

    def __len__(self) -> int:
        return len(self.name)

    def subset(self, mask) -> Pops:
        """The PoPs selected by a boolean mask or an index array."""
        return Pops(
            **{k: getattr(self, k)[np.asarray(mask)] for k in self._ARRAYS}, source=self.source
        )

    def index(self, name: str, *, file=None, field: str = "pop") -> int:
        """Index of the PoP called ``name``; InputError naming the choices if none is."""
        hit = np.flatnonzero(self.name == str(name))
        if not len(hit):
            shown = ", ".join(map(str, self.name[:8])) + (", ..." if len(self) > 8 else "")
            raise InputError(f"no PoP named '{name}' (PoPs: {shown})", file=file, field=field)
        return int(hit[0])


def _from_gateways(gw, file) -> Pops:
    return Pops(
        name=gw.name,
        lat_deg=gw.lat_deg,
        lon_deg=gw.lon_deg,
        country_iso2=gw.country_iso2,
        status=gw.status,
        line=gw.line,
        source=None if file is None else str(file),
    )


def _keep(pops: Pops, include_planned: bool, file) -> Pops:
    seen: dict[str, int] = {}
    for n, line in zip(pops.name, pops.line):
        if n in seen:
            warnings.warn(
                f"{file}:{line}: PoP name '{n}' is used twice (first at line {seen[n]})",
                UserWarning,
                stacklevel=3,
            )
        else:
            seen[n] = int(line)
    return pops if include_planned else pops.subset(pops.status == "operational")


def _one_record(record, file) -> Pops:
    """One PoP from a dict, checked like a gateway; errors carry the bare message."""
    if not isinstance(record, dict):
        raise InputError(f"is {type(record).__name__}, not a table", file=file, field="pop")
    kind = record.get("type", "pop")
    if str(kind).strip().lower() != "pop":
        raise InputError(f"type must be 'pop', got '{kind}'", file=file, field="type")
    try:
        gw = gateways_from_records(
            [dict(record, type="pop")], file=file, include_planned=True, include_pops=True
        )
    except InputError as err:
        raise_problems(
            [
                InputError(re.sub(r"^gateway 1: ", "", p.message), file=file, field=p.field)
                for p in problems_of(err)
            ],
            file=file,
        )
        raise  # not reached: raise_problems raised
    return _from_gateways(gw, file)


def _concat(parts: list, lines: list, file) -> Pops:
    cat = {k: np.concatenate([getattr(p, k) for p in parts]) for k in Pops._ARRAYS}
    cat["line"] = np.array([-1 if ln is None else ln for ln in lines], dtype=np.int64)
    return Pops(**cat, source=None if file is None else str(file))


def pops_from_records(records, *, file=None, include_planned: bool = False) -> Pops:
    """PoPs from a list of dicts (a scenario's inline ``[[pop]]`` tables).

    Keys and checks are those of the file formats (module docstring); the
    ``type`` key, if given, must be ``pop``. Errors say which record (1-based).
    """
    if isinstance(records, dict) or not isinstance(records, (list, tuple)):
        raise InputError("PoPs must be a list of tables, one per PoP", file=file, field="pop")
    if not records:
        raise InputError("the PoP list is empty", file=file, field="pop")
    parts, problems = [], []
    for n, record in enumerate(records, start=1):
        try:
            parts.append(_one_record(record, file))
        except InputError as err:
            problems += [
                InputError(f"pop {n}: {p.message}", file=file, field=p.field)
                for p in problems_of(err)
            ]
    raise_problems(problems, file=file)
    return _keep(_concat(parts, [None] * len(parts), file), include_planned, file)


def _csv_has_type(path: Path) -> bool:
    text = read_input_text(path, "PoPs file")
    for raw in text.splitlines():
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        cells = next(csv.reader([raw], skipinitialspace=True))
        return "type" in {c.strip().lower() for c in cells}
    return False


def _load_toml(path: Path, include_planned: bool) -> Pops:
    text = read_input_text(path, "PoPs file")
    try:
        doc = loads_toml(text, path, "PoPs file")
    except tomllib.TOMLDecodeError as err:
        m = re.search(r"at line (\d+)", str(err))
        raise InputError(
            f"not valid TOML: {err}", file=path, line=int(m.group(1)) if m else None
        ) from None
    for key in doc:
        if key != "pop":
            raise InputError(
                f"unknown key '{key}': a PoP file holds [[pop]] tables", file=path, field=key
            )
    tables = doc.get("pop")
    if not tables or not isinstance(tables, list):
        raise InputError("no [[pop]] tables", file=path, field="pop")
    heads = [
        i + 1 for i, s in enumerate(text.splitlines()) if re.match(r"^\s*\[\[\s*pop\s*\]\]", s)
    ]
    parts, lines, problems = [], [], []
    for n, table in enumerate(tables):
        line = heads[n] if len(heads) == len(tables) else None
        try:
            parts.append(_one_record(table, path))
        except InputError as err:
            problems += [
                InputError(f"pop {n + 1}: {p.message}", file=path, line=line, field=p.field)
                for p in problems_of(err)
            ]
            continue
        lines.append(line)
    raise_problems(problems, file=path)
    return _keep(_concat(parts, lines, path), include_planned, path)


def load_pops(path, *, include_planned: bool = False) -> Pops:
    """Load PoPs from a ``.csv`` or ``.toml`` file (formats in the module docstring).

    Raises :class:`~skymesh.errors.InputError` naming file, line and field for
    a bad file, and when the file holds no PoP.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".toml":
        pops = _load_toml(path, include_planned)
    elif suffix == ".csv":
        if not path.is_file():
            raise InputError(
                "file not found" if not path.exists() else "is a folder, not a PoP file", file=path
            )
        mixed = _csv_has_type(path)
        with warnings.catch_warnings():
            # Gateway names repeat in community lists; only PoP names are checked here.
            warnings.simplefilter("ignore", UserWarning)
            gw = load_gateways(path, include_planned=True, include_pops=True)
        if mixed:
            gw = gw.subset(gw.type == "pop")
        pops = _keep(_from_gateways(gw, path), include_planned, path)
    else:
        raise InputError(
            f"unknown PoP file type '{suffix or path.name}': expected .csv or .toml", file=path
        )
    if not len(pops):
        raise InputError(
            "no PoPs in the file"
            + ("" if include_planned else " (planned ones are skipped unless include_planned)"),
            file=path,
        )
    return pops


def great_circle_km(lat1_deg, lon1_deg, lat2_deg, lon2_deg) -> np.ndarray:
    """Great-circle distance (km) on the IUGG mean sphere, haversine formula; broadcasts."""
    p1, l1, p2, l2 = (
        np.deg2rad(np.asarray(a, dtype=float)) for a in (lat1_deg, lon1_deg, lat2_deg, lon2_deg)
    )
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin((l2 - l1) / 2) ** 2
    return 2.0 * EARTH_MEAN_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def fibre_rtt_ms(
    gw_lat_deg,
    gw_lon_deg,
    pop_lat_deg,
    pop_lon_deg,
    *,
    route_factor: float = ROUTE_FACTOR,
    group_index: float = FIBRE_GROUP_INDEX,
) -> np.ndarray:
    """Round trip (ms) over terrestrial fibre between a gateway and its PoP; broadcasts.

    ``2 x great-circle km x route_factor / (c / group_index)``: propagation only
    (routers at the ends are in :mod:`skymesh.access.delay`). Defaults:
    :data:`ROUTE_FACTOR` (1.3) and :data:`FIBRE_GROUP_INDEX` (1.4682), both
    sourced there. 500 km of great circle -> 6.37 ms.
    """
    if not np.isfinite(route_factor) or route_factor < 1.0:
        raise InputError(
            f"route factor must be 1 or more, got {route_factor}", field="route_factor"
        )
    if not np.isfinite(group_index) or group_index < 1.0:
        raise InputError(f"group index must be 1 or more, got {group_index}", field="group_index")
    km = great_circle_km(gw_lat_deg, gw_lon_deg, pop_lat_deg, pop_lon_deg) * route_factor
    return 2e3 * km * group_index / SPEED_OF_LIGHT_KM_S


HOMING_CANDIDATES = 16
"""PoPs a gateway's nearest is chosen among (the nearest by chord, from a k-d tree); the
great-circle distance then decides, ties to the PoP listed first."""


def _unit_vectors(lat_deg, lon_deg) -> np.ndarray:
    p, lam = np.deg2rad(lat_deg), np.deg2rad(lon_deg)
    return np.column_stack([np.cos(p) * np.cos(lam), np.cos(p) * np.sin(lam), np.sin(p)])


def _nearest(lat, lon, pops: Pops, among: np.ndarray) -> np.ndarray:
    """For each point, the index (into ``pops``) of the nearest PoP of ``among`` (great
    circle; ties to the lowest index). A k-d tree on unit vectors (chord order is great-circle
    order) gives :data:`HOMING_CANDIDATES` candidates per point, so memory and time grow as
    points x log(PoPs), not points x PoPs."""
    from scipy.spatial import cKDTree

    k = min(HOMING_CANDIDATES, len(among))
    tree = cKDTree(_unit_vectors(pops.lat_deg[among], pops.lon_deg[among]))
    _, cand = tree.query(_unit_vectors(lat, lon), k=k)
    cand = among[np.asarray(cand, dtype=np.int64).reshape(len(lat), k)]
    d = great_circle_km(lat[:, None], lon[:, None], pops.lat_deg[cand], pops.lon_deg[cand])
    order = np.lexsort((cand, d), axis=-1)[:, 0]  # nearest, then first listed
    return cand[np.arange(len(lat)), order]


def home_gateways(
    gw_lat_deg, gw_lon_deg, gw_country, pops: Pops, overrides=None, *, gw_name=None, file=None
) -> np.ndarray:
    """Index (into ``pops``) of the PoP each gateway hands its traffic to.

    Rule: the nearest PoP (great circle) in the gateway's own country, else
    the nearest PoP anywhere; ties go to the PoP listed first. ``overrides``
    maps a gateway (its name, with ``gw_name`` given, or its index) to a PoP
    name, for a scenario that knows better. Memory and time grow as gateways x
    log(PoPs) (a k-d tree per country, see :func:`_nearest`), not gateways x PoPs.
    """
    lat = np.atleast_1d(np.asarray(gw_lat_deg, dtype=float))
    lon = np.atleast_1d(np.asarray(gw_lon_deg, dtype=float))
    country = np.atleast_1d(np.asarray(gw_country, dtype=str))
    if not (lat.shape == lon.shape == country.shape):
        raise ValueError("gateway latitude, longitude and country must have one shape")
    if not len(pops):
        raise InputError("no PoPs to home gateways to", file=file, field="pop")
    home = np.empty(len(lat), dtype=np.int64)
    pop_country = np.asarray(pops.country_iso2, dtype=str)
    has_own = np.isin(country, pop_country)
    for c in np.unique(country[has_own]):
        rows = np.flatnonzero(country == c)
        home[rows] = _nearest(lat[rows], lon[rows], pops, np.flatnonzero(pop_country == c))
    rows = np.flatnonzero(~has_own)
    if len(rows):
        home[rows] = _nearest(lat[rows], lon[rows], pops, np.arange(len(pops)))
    for key, pop_name in (overrides or {}).items():
        if isinstance(key, (int, np.integer)):
            if not 0 <= int(key) < len(lat):
                raise InputError(
                    f"gateway index {key} is outside 0..{len(lat) - 1}",
                    file=file,
                    field="pop_overrides",
                )
            hit = np.array([int(key)])
        else:
            if gw_name is None:
                raise ValueError("overrides by gateway name need gw_name")
            hit = np.flatnonzero(np.asarray(gw_name, dtype=str) == str(key))
            if not len(hit):
                raise InputError(
                    f"PoP override names gateway '{key}', which is not in the gateway list",
                    file=file,
                    field="pop_overrides",
                )
        home[hit] = pops.index(pop_name, file=file, field="pop_overrides")
    return home


def gateway_pop_legs(
    gateways, pops: Pops, overrides=None, *, route_factor: float = ROUTE_FACTOR, file=None
):
    """Each gateway's PoP and the fibre RTT to it.

    ``gateways`` is a :class:`~skymesh.ground.gateways.Gateways`. Returns
    ``(pop_index (W,) int, fibre_rtt_ms (W,) float)``.
    """
    home = home_gateways(
        gateways.lat_deg,
        gateways.lon_deg,
        gateways.country_iso2,
        pops,
        overrides,
        gw_name=gateways.name,
        file=file,
    )
    rtt = fibre_rtt_ms(
        gateways.lat_deg,
        gateways.lon_deg,
        pops.lat_deg[home],
        pops.lon_deg[home],
        route_factor=route_factor,
    )
    return home, rtt
