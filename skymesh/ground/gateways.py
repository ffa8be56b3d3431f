"""Gateway sites: where user traffic leaves the constellation for the Internet.

Two file formats hold a gateway list; :func:`load_gateways` picks one by the
file's suffix.

CSV (``.csv``): one header line, then one gateway per line. Blank lines and
lines starting with ``#`` are skipped. Columns, in any order::

    # name, lat (deg), lon (deg), country (ISO 3166-1 alpha-2) are required
    name,lat,lon,country,type,status,num_antennas,capacity_gbps,min_elevation_deg
    "Aerzen, Germany",52.06,9.329,DE,gateway,operational,8,,25
    Adelanto CA,34.5828,-117.409,US,gateway,planned,,,

``lat_deg``, ``lon_deg`` and ``country_iso2`` are accepted for ``lat``, ``lon``
and ``country``; header names are case-insensitive. Other columns are kept as
text in :attr:`Gateways.extra`.

TOML (``.toml``): one ``[[gateway]]`` table per gateway, with the same keys.
Unknown keys are an error::

    [[gateway]]
    name = "Aerzen, Germany"
    lat = 52.06
    lon = 9.329
    country = "DE"
    min_elevation_deg = 25.0     # optional, like type, status, num_antennas, capacity_gbps

Optional fields: ``type`` is ``gateway`` (default) or ``pop`` (a point of
presence: an Internet exchange, not a satellite ground station); ``status`` is
``operational`` (default) or ``planned``; ``num_antennas`` (>= 0),
``capacity_gbps`` (>= 0) and ``min_elevation_deg`` ([0, 90)) are NaN when
not given. An empty cell means "not given".

Types are strict: a CSV number is ASCII digits with an optional sign, decimal
point and exponent (``num_antennas`` digits only); a TOML value must already
be a number (``lat = "41.5"`` and ``lat = true`` are errors, ``lat = 41`` is
fine) and text must be a string. NaN and infinities are errors everywhere.

Which rows are kept: by default only operational gateways, the sites a
satellite can use today. ``include_planned=True`` adds planned sites (for
what-if runs) and ``include_pops=True`` adds PoPs. A file without a ``type`` or
``status`` column counts every row as an operational gateway. Every row is
validated, kept or not, so a file that loads is a file that is right.

Errors name the file, the 1-based line and the field; every mistake in a file is
reported at once (:class:`~skymesh.errors.InputErrors`, up to 20). A name used twice is a
warning, not an error (community lists hold distinct sites with one town name).
"""

from __future__ import annotations

import csv
import math
import re
import tomllib
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from skymesh.errors import InputError, problems_of, raise_problems
from skymesh.ground.places import resolve_country
from skymesh.inputs import loads_toml, read_input_text
from skymesh.orbits.frames import geodetic_to_ecef

REQUIRED = ("name", "lat", "lon", "country")
"""Fields every gateway must have."""
OPTIONAL = ("type", "status", "num_antennas", "capacity_gbps", "min_elevation_deg")
"""Fields a gateway may have."""
ALIASES = {"lat_deg": "lat", "lon_deg": "lon", "country_iso2": "country"}
"""Other accepted spellings of field names."""
TYPES = ("gateway", "pop")
STATUSES = ("operational", "planned")


@dataclass(frozen=True)
class Gateways:
    """A set of gateway sites as arrays, one entry per gateway.

    Attributes
    ----------
    name : np.ndarray of str
    lat_deg, lon_deg : np.ndarray of float
        WGS84 geodetic latitude and longitude (deg).
    country_iso2 : np.ndarray of str
        ISO 3166-1 alpha-2 code of the country the site is in.
    type : np.ndarray of str
        "gateway" or "pop".
    status : np.ndarray of str
        "operational" or "planned".
    num_antennas, capacity_gbps, min_elevation_deg : np.ndarray of float
        NaN where not given. ``min_elevation_deg`` overrides the scenario's
        minimum elevation for that site.
    line : np.ndarray of int
        1-based line of each gateway in its source file, -1 when unknown;
        later stages use it to say where a gateway came from.
    source : str or None
        The file the gateways came from.
    extra : dict of str -> np.ndarray of str
        Further CSV columns, kept as text.

    Examples
    --------
    >>> import skymesh
    >>> gw = skymesh.gateways([{"name": "Aerzen", "lat": 52.06, "lon": 9.329, "country": "DE"}])
    >>> gw.name.tolist(), gw.country_iso2.tolist(), float(gw.lat_deg[0])
    (['Aerzen'], ['DE'], 52.06)
    """

    name: np.ndarray
    lat_deg: np.ndarray
    lon_deg: np.ndarray
    country_iso2: np.ndarray
    type: np.ndarray
    status: np.ndarray
    num_antennas: np.ndarray
    capacity_gbps: np.ndarray
    min_elevation_deg: np.ndarray
    line: np.ndarray
    source: str | None = None
    extra: dict = field(default_factory=dict)

    _ARRAYS = (
        "name",
        "lat_deg",
        "lon_deg",
        "country_iso2",
        "type",
        "status",
        "num_antennas",
        "capacity_gbps",
        "min_elevation_deg",
        "line",
    )

    def __len__(self) -> int:
        return len(self.name)

    def subset(self, mask) -> Gateways:
        """The gateways selected by a boolean mask or an index array."""
        mask = np.asarray(mask)
        if mask.dtype == bool and mask.shape != (len(self),):
            raise ValueError(f"mask has shape {mask.shape}, expected ({len(self)},)")
        parts = {k: getattr(self, k)[mask] for k in self._ARRAYS}
        return Gateways(
            **parts, source=self.source, extra={k: v[mask] for k, v in self.extra.items()}
        )

    def ecef_km(self) -> np.ndarray:
        """Earth-fixed positions (km), shape (N, 3), on the WGS84 ellipsoid (height 0)."""
        return geodetic_to_ecef(self.lat_deg, self.lon_deg, 0.0)


# A number written as text (a CSV cell): ASCII digits, an optional sign, point and exponent.
# Python's float() would also take "1_000", "infinity" and non-ASCII digits ("٤١"); a
# gateway file holds none of those on purpose.
_NUMBER_TEXT = re.compile(r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$")
_WHOLE_TEXT = re.compile(r"^[+-]?[0-9]+$")


def _shown(value) -> str:
    if isinstance(value, bool):
        return str(value).lower()  # as TOML writes it
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _number(value, file, line, field_name, what="number", from_text=False) -> float:
    """A finite number. ``from_text``: a CSV cell (text); else a TOML value, which must
    already be a number: a string (``lat = "41.5"``) or a boolean is an error."""
    where = dict(file=file, line=line, field=field_name)
    if from_text:
        cell = value.strip() if isinstance(value, str) else value
        pattern = _WHOLE_TEXT if what == "whole number" else _NUMBER_TEXT
        if not isinstance(cell, str) or not pattern.match(cell):
            raise InputError(f"expected a {what}, got {_shown(value)}", **where)
        x = float(cell)
    else:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            kind = (
                "a boolean"
                if isinstance(value, bool)
                else ("text" if isinstance(value, str) else type(value).__name__)
            )
            raise InputError(f"expected a {what}, got {kind} {_shown(value)}", **where)
        if what == "whole number" and not isinstance(value, int):
            raise InputError(f"expected a whole number, got {_shown(value)}", **where)
        try:
            x = float(value)
        except OverflowError:  # an int beyond the float range
            raise InputError(f"expected a finite {what}, got {_shown(value)}", **where) from None
    if not math.isfinite(x):
        raise InputError(f"expected a finite {what}, got {_shown(value)}", **where)
    return x


def _blank(value, from_text=False) -> bool:
    """Not given: a missing key, or (in a CSV) an empty cell."""
    return value is None or (from_text and isinstance(value, str) and not value.strip())


def _text(value, file, line, field_name) -> str:
    if not isinstance(value, str):
        raise InputError(
            f"expected text, got {_shown(value)}", file=file, line=line, field=field_name
        )
    return value.strip()


def _validate(record: dict, file, locate, from_text=False) -> tuple:
    """One gateway's fields, checked. ``locate(key)`` gives the line of a field (or None).

    ``from_text``: the values are CSV cells (text to parse); else TOML values, whose
    types must already be right (no string or boolean where a number belongs). Every
    field is checked: one problem raises an ``InputError``, several an
    :class:`~skymesh.errors.InputErrors` naming each field.
    """
    problems: list[InputError] = []

    def check(key, fn):
        """``fn()``, or None with its problem noted."""
        try:
            return fn()
        except InputError as err:
            problems.append(err)
            return None

    def where(key):
        return dict(file=file, line=locate(key), field=key)

    for key in REQUIRED:
        if _blank(record.get(key), from_text):
            problems.append(InputError(f"missing required field '{key}'", **where(key)))

    def name_():
        name = _text(record["name"], file, locate("name"), "name")
        if not name:
            raise InputError("the name is empty", **where("name"))
        return name

    def coordinate(key, limit, what):
        x = _number(record[key], file, locate(key), key, from_text=from_text)
        if not -limit <= x <= limit:
            raise InputError(f"{what} {x:g} is outside [-{limit:g}, {limit:g}] deg", **where(key))
        return x

    def country_():
        code = _text(record["country"], file, locate("country"), "country")
        try:
            return resolve_country(code, codes_only=True)
        except InputError as err:
            raise InputError(err.message, **where("country")) from None

    given = {k: not _blank(record.get(k), from_text) for k in REQUIRED}
    name = check("name", name_) if given["name"] else None
    lat = check("lat", lambda: coordinate("lat", 90.0, "latitude")) if given["lat"] else None
    lon = check("lon", lambda: coordinate("lon", 180.0, "longitude")) if given["lon"] else None
    country = check("country", country_) if given["country"] else None

    choices = {}
    for key, allowed in (("type", TYPES), ("status", STATUSES)):
        value = record.get(key)
        if _blank(value, from_text):
            choices[key] = allowed[0]
            continue

        def choice(key=key, value=value, allowed=allowed):
            text = _text(value, file, locate(key), key).lower()
            if text not in allowed:
                raise InputError(f"'{text}' is not one of {', '.join(allowed)}", **where(key))
            return text

        choices[key] = check(key, choice)

    numbers = {}
    for key, low, high, what in (
        ("num_antennas", 0.0, math.inf, "whole number"),
        ("capacity_gbps", 0.0, math.inf, "number"),
        ("min_elevation_deg", 0.0, 90.0, "number"),
    ):
        value = record.get(key)
        if _blank(value, from_text):
            numbers[key] = math.nan
            continue

        def number(key=key, value=value, low=low, high=high, what=what):
            x = _number(value, file, locate(key), key, what, from_text=from_text)
            if what == "whole number" and x != int(x):
                raise InputError(f"expected a whole number, got '{value}'", **where(key))
            if not low <= x < high:
                limits = f"[{low:g}, {high:g})" if math.isfinite(high) else f">= {low:g}"
                raise InputError(f"{x:g} is outside {limits}", **where(key))
            return x

        numbers[key] = check(key, number)
    raise_problems(problems, file=file)
    return (
        name,
        lat,
        lon,
        country,
        choices["type"],
        choices["status"],
        numbers["num_antennas"],
        numbers["capacity_gbps"],
        numbers["min_elevation_deg"],
    )


def _canonical_keys(record: dict, file, locate) -> dict:
    """Record with aliases renamed; unknown keys and doubled aliases are errors."""
    out = {}
    problems = []
    known = REQUIRED + OPTIONAL
    for key, value in record.items():
        canon = ALIASES.get(key, key)
        if canon not in known:
            problems.append(
                InputError(
                    f"unknown key '{key}' (known: {', '.join(known)}; "
                    f"{', '.join(ALIASES)} are accepted too)",
                    file=file,
                    line=locate(key),
                    field=key,
                )
            )
        elif canon in out:
            problems.append(
                InputError(f"'{key}' repeats '{canon}'", file=file, line=locate(key), field=key)
            )
        else:
            out[canon] = value
    raise_problems(problems, file=file)
    return out


ANTENNA_COLUMNS = ("num_antennas", "num_antennas_2022")
"""Where a list gives a site's antenna count, first found wins: ``num_antennas``, then
StarPerf's 2022 count (``num_antennas_2022`` in ``skymesh/data/starlink_gateways_merged.csv``,
from StarPerf's ``starlink_gateway/gw.txt`` of 2022-12-03; see that folder's NOTICE.md)."""


def site_antennas(gw: Gateways, default: float) -> tuple[np.ndarray, np.ndarray]:
    """Antennas at each gateway site and whether the count was listed.

    The count is ``num_antennas`` where given, else a whole-number ``num_antennas_2022``
    column (kept in :attr:`Gateways.extra`), else ``default`` (the scenario's / CLI's
    ``gateway_antennas``). Returns ``(antennas, listed)``: float (W,) and bool (W,).
    """
    n = np.asarray(gw.num_antennas, dtype=float).copy()
    extra = gw.extra.get("num_antennas_2022")
    if extra is not None:
        text = np.char.strip(np.asarray(extra, dtype=str))
        ok = np.char.isdigit(text) & ~np.isfinite(n)
        n[ok] = text[ok].astype(float)
    listed = np.isfinite(n)
    return np.where(listed, n, float(default)), listed


def _assemble(
    rows: list[tuple],
    lines: list,
    file,
    include_planned: bool,
    include_pops: bool,
    extra: dict | None = None,
) -> Gateways:
    first_line: dict[str, object] = {}
    for row, line in zip(rows, lines):
        if row[0] in first_line:
            here = f"{file}:{line}" if file is not None and line is not None else f"'{row[0]}'"
            warnings.warn(
                f"{here}: gateway name '{row[0]}' is used twice "
                f"(first at line {first_line[row[0]]})",
                UserWarning,
                stacklevel=3,
            )
        else:
            first_line[row[0]] = line
    cols = list(zip(*rows)) if rows else [()] * 9
    gw = Gateways(
        name=np.array(cols[0], dtype=str),
        lat_deg=np.array(cols[1], dtype=float),
        lon_deg=np.array(cols[2], dtype=float),
        country_iso2=np.array(cols[3], dtype="U2"),
        type=np.array(cols[4], dtype=str),
        status=np.array(cols[5], dtype=str),
        num_antennas=np.array(cols[6], dtype=float),
        capacity_gbps=np.array(cols[7], dtype=float),
        min_elevation_deg=np.array(cols[8], dtype=float),
        line=np.array([-1 if x is None else x for x in lines], dtype=np.int64),
        source=None if file is None else str(file),
        extra={k: np.array(v, dtype=str) for k, v in (extra or {}).items()},
    )
    keep = np.ones(len(gw), dtype=bool)
    if not include_planned:
        keep &= gw.status == "operational"
    if not include_pops:
        keep &= gw.type == "gateway"
    return gw if keep.all() else gw.subset(keep)


def gateways_from_records(
    records, *, file=None, include_planned: bool = False, include_pops: bool = False
) -> Gateways:
    """Gateways from a list of dicts, as listed inline in a scenario file.

    Keys and checks are those of a ``[[gateway]]`` table (module docstring),
    and so is the choice of rows kept. ``file`` is named in errors; each
    error also says which record (1-based) is wrong.
    """
    if isinstance(records, dict) or not hasattr(records, "__iter__"):
        raise InputError(
            "gateways must be a list of tables, one per gateway", file=file, field="gateway"
        )
    rows, problems = [], []
    for n, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            problems.append(
                InputError(
                    f"gateway {n} is {type(record).__name__}, not a table",
                    file=file,
                    field="gateway",
                )
            )
            continue
        try:
            rows.append(
                _validate(_canonical_keys(record, file, lambda k: None), file, lambda k: None)
            )
        except InputError as err:
            problems += [
                InputError(f"gateway {n}: {p.message}", file=file, field=p.field)
                for p in problems_of(err)
            ]
    raise_problems(problems, file=file)
    return _assemble(rows, [None] * len(rows), file, include_planned, include_pops)


def _read_text(path: Path) -> str:
    return read_input_text(path, "gateways file")


def _load_csv(path: Path | str, text: str, include_planned: bool, include_pops: bool) -> Gateways:
    header, header_line = None, None
    rows, lines, extra_values = [], [], []
    problems: list[InputError] = []  # every bad row is reported, not just the first
    for line_no, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        try:
            cells = next(csv.reader([raw], skipinitialspace=True, strict=True))
        except csv.Error as err:
            problems.append(InputError(f"not a valid CSV line ({err})", file=path, line=line_no))
            continue
        if header is None:
            raise_problems(problems, file=path)
            header, header_line = _csv_header(cells, path, line_no), line_no
            continue
        if len(cells) != len(header):
            problems.append(
                InputError(
                    f"expected {len(header)} fields as in the header (line "
                    f"{header_line}), found {len(cells)}",
                    file=path,
                    line=line_no,
                )
            )
            continue
        record = dict(zip(header, cells))
        try:
            rows.append(_validate(record, path, lambda k, n=line_no: n, from_text=True))
        except InputError as err:
            problems += problems_of(err)
            continue
        lines.append(line_no)
        extra_values.append([v for k, v in record.items() if k not in REQUIRED + OPTIONAL])
    raise_problems(problems, file=path)
    if header is None:
        raise InputError("empty file: expected a header line with name,lat,lon,country", file=path)
    if not rows:
        raise InputError("no gateways below the header", file=path)
    extra_names = [k for k in header if k not in REQUIRED + OPTIONAL]
    extra = {k: [r[j] for r in extra_values] for j, k in enumerate(extra_names)}
    return _assemble(rows, lines, path, include_planned, include_pops, extra)


def _csv_header(cells: list[str], path: Path | str, line_no: int) -> list[str]:
    header = []
    for cell in cells:
        key = cell.strip().lower()
        canon = ALIASES.get(key, key)
        if not canon:
            raise InputError("empty column name in header", file=path, line=line_no)
        if canon in header:
            raise InputError(
                f"column '{cell.strip()}' repeats '{canon}'",
                file=path,
                line=line_no,
                field=cell.strip(),
            )
        header.append(canon)
    for key in REQUIRED:
        if key not in header:
            raise InputError(
                f"missing required column '{key}' (header has: {', '.join(header)})",
                file=path,
                line=line_no,
                field=key,
            )
    return header


_TOML_LINE = re.compile(r"at line (\d+)")


def _load_toml(path: Path, text: str, include_planned: bool, include_pops: bool) -> Gateways:
    try:
        doc = loads_toml(text, path, "gateways file")
    except tomllib.TOMLDecodeError as err:
        m = _TOML_LINE.search(str(err))
        raise InputError(
            f"not valid TOML: {err}", file=path, line=int(m.group(1)) if m else None
        ) from None
    lines = text.splitlines()

    def find(key: str, start: int = 0, stop: int | None = None) -> int | None:
        """1-based line of ``key = ...`` (or a ``[key]`` header) in lines[start:stop]."""
        k = re.escape(key)
        pattern = re.compile(rf"""^\s*(?:["']?{k}["']?\s*=|\[\[?\s*{k}\s*\]\]?)""")
        for i in range(start, len(lines) if stop is None else stop):
            if pattern.match(lines[i]):
                return i + 1
        return None

    for key in doc:
        if key != "gateway":
            raise InputError(
                f"unknown key '{key}': a gateway file holds [[gateway]] tables",
                file=path,
                line=find(key),
                field=key,
            )
    tables = doc.get("gateway")
    if not tables:
        raise InputError("no [[gateway]] tables", file=path)
    if not isinstance(tables, list):
        raise InputError(
            "'gateway' must be [[gateway]] tables, one per gateway",
            file=path,
            line=find("gateway"),
            field="gateway",
        )
    starts = [i for i, s in enumerate(lines) if re.match(r"^\s*\[\[\s*gateway\s*\]\]", s)]
    rows, row_lines = [], []
    problems: list[InputError] = []
    for n, table in enumerate(tables):
        if not isinstance(table, dict):
            problems.append(
                InputError(
                    f"gateway {n + 1} is not a table",
                    file=path,
                    line=find("gateway"),
                    field="gateway",
                )
            )
            continue
        head: int | None
        if len(starts) == len(tables):
            lo, hi = starts[n], starts[n + 1] if n + 1 < len(starts) else len(lines)
            head = lo + 1
        else:  # inline tables: no per-table ranges
            lo, hi, head = 0, len(lines), find("gateway")

        def locate(key, lo=lo, hi=hi, head=head):
            return find(key, lo, hi) or head

        try:
            rows.append(_validate(_canonical_keys(table, path, locate), path, locate))
        except InputError as err:
            problems += problems_of(err)
            continue
        row_lines.append(head)
    raise_problems(problems, file=path)
    return _assemble(rows, row_lines, path, include_planned, include_pops)


def load_gateways(path, *, include_planned: bool = False, include_pops: bool = False) -> Gateways:
    """Load a gateway list from a ``.csv`` or ``.toml`` file (formats in the module docstring).

    By default only operational gateways are kept; ``include_planned`` adds
    planned sites and ``include_pops`` adds points of presence. Raises
    :class:`~skymesh.errors.InputError` naming file, line and field for a
    bad file; warns (``UserWarning``) when a name is used twice.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".toml"):
        raise InputError(
            f"unknown gateway file type '{suffix or path.name}': expected .csv or .toml", file=path
        )
    text = _read_text(path)
    load = _load_csv if suffix == ".csv" else _load_toml
    return load(path, text, include_planned, include_pops)
