"""Two-line element sets: read, validate, and turn into a ``Constellation``.

Reads CelesTrak 3-line text (a name line, optionally starting with ``0 ``,
then TLE lines 1 and 2) and plain 2-line text. Every element set is checked
against the fixed column layout of the format (NORAD / Space-Track TLE
definition): length 69, line number, mod-10 checksum, blank separator
columns, catalogue numbers that agree, and numeric fields that parse. A
problem raises :class:`~skymesh.errors.InputError` naming the file, the
1-based line and the field; with ``skip_bad=True`` the bad element set is
skipped and its error returned instead.

Example
-------
>>> con, skipped = load_tle_constellation("starlink_tle_20251204.txt")  # doctest: +SKIP
>>> len(con), con.epoch                                                  # doctest: +SKIP
(9042, datetime.datetime(2025, 12, 4, 12, 11, ...))
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from skymesh.constants import MU_EARTH_KM3_S2, WGS84_A_KM
from skymesh.errors import InputError
from skymesh.orbits.constellation import Constellation
from skymesh.timebase import JD_UNIX_EPOCH, SECONDS_PER_DAY, julian_date

TLE_LINE_LENGTH = 69

# A line that carries TLE data: a line-number digit, a blank, then a catalogue
# number (digits, or Alpha-5: a letter and four digits). CelesTrak name lines
# start with "0 " and a name, so they never match.
_DATA_LINE = re.compile(r"^[1-9] +[0-9A-Z]?[0-9]")

# Columns (1-based, inclusive) that the format leaves blank.
_BLANK_COLUMNS = {1: (2, 9, 18, 33, 44, 53, 62, 64), 2: (2, 8, 17, 26, 34, 43, 52)}

_CATNUM = re.compile(r"^[0-9A-HJ-NP-Z ][0-9 ]{3}[0-9]$")   # Alpha-5 skips I and O
_DECIMAL = re.compile(r"^ *[+-]?(\d+\.?\d*|\.\d+)$")
_ASSUMED_DECIMAL_EXP = re.compile(r"^[ +-]?[ 0-9]{0,4}[0-9][+-][0-9]$")
_DIGITS = re.compile(r"^[0-9]+$")

# (field, first column, last column, kind, min, max) of each numeric field.
_FIELDS = {
    1: (("epoch year", 19, 20, "int", 0, 99),
        ("epoch day", 21, 32, "float", 1.0, 367.0),
        ("mean motion first derivative", 34, 43, "float", None, None),
        ("mean motion second derivative", 45, 52, "exp", None, None),
        ("bstar", 54, 61, "exp", None, None)),
    2: (("inclination", 9, 16, "float", 0.0, 180.0),
        ("raan", 18, 25, "float", 0.0, 360.0),
        ("eccentricity", 27, 33, "digits", None, None),
        ("argument of perigee", 35, 42, "float", 0.0, 360.0),
        ("mean anomaly", 44, 51, "float", 0.0, 360.0),
        ("mean motion", 53, 63, "float", 0.0, 20.0)),
}


def tle_checksum_expected(line: str) -> int:
    """Mod-10 checksum of the first 68 columns: digits add their value, '-' adds 1."""
    total = 0
    for ch in line[:68]:
        if ch.isdigit():
            total += ord(ch) - 48
        elif ch == "-":
            total += 1
    return total % 10


def _check_field(value: str, kind: str, lo, hi) -> str | None:
    """Why ``value`` is not a valid ``kind`` field, or None if it is.

    Kinds: ``int`` (whole number in [lo, hi]), ``float`` (decimal in
    [lo, hi)), ``exp`` (assumed-decimal mantissa and exponent, ' 12345-3'),
    ``digits`` (assumed leading decimal point, '0001815').
    """
    if kind == "exp":
        if not _ASSUMED_DECIMAL_EXP.match(value):
            return f"'{value}' is not an assumed-decimal number with exponent (like ' 12345-3')"
        return None
    if kind == "digits":
        if not _DIGITS.match(value):
            return f"'{value}' is not an assumed-decimal number (digits only, like '0001815')"
        return None
    if kind == "int":
        if not _DIGITS.match(value.strip()):
            return f"'{value}' is not a whole number"
        number = int(value)
        inside = (lo is None or number >= lo) and (hi is None or number <= hi)
        bounds = f"[{lo}, {hi}]"
    else:
        if not _DECIMAL.match(value):
            return f"'{value}' is not a number"
        number = float(value)
        inside = (lo is None or number >= lo) and (hi is None or number < hi)
        bounds = f"[{lo}, {hi})"
    return None if inside else f"{value.strip()} is outside {bounds}"


def _check_line(text: str, expected: int, lineno: int, source: str) -> InputError | None:
    """The first problem of TLE line ``expected`` (1 or 2), or None."""
    if text[:1] != str(expected):
        return InputError(f"TLE line {expected} must start with '{expected}', found "
                          f"'{text[:1]}'", file=source, line=lineno, field="line number")
    if len(text) != TLE_LINE_LENGTH:
        return InputError(f"TLE line {expected} has {len(text)} characters, expected "
                          f"{TLE_LINE_LENGTH}", file=source, line=lineno, field="line length")
    found = text[68]
    want = tle_checksum_expected(text)
    if not found.isdigit() or int(found) != want:
        return InputError(f"checksum mismatch on TLE line {expected}: expected {want}, "
                          f"found '{found}'", file=source, line=lineno, field="checksum")
    for col in _BLANK_COLUMNS[expected]:
        if text[col - 1] != " ":
            return InputError(f"column {col} of TLE line {expected} must be blank, found "
                              f"'{text[col - 1]}' (columns shifted?)", file=source,
                              line=lineno, field="layout")
    if not _CATNUM.match(text[2:7]):
        return InputError(f"'{text[2:7]}' is not a satellite catalogue number",
                          file=source, line=lineno, field="catalogue number")
    for name, first, last, kind, lo, hi in _FIELDS[expected]:
        why = _check_field(text[first - 1:last], kind, lo, hi)
        if why is not None:
            return InputError(f"{name} (columns {first}-{last}): {why}", file=source,
                              line=lineno, field=name)
    return None


def parse_tle_text(text: str, source: str = "<text>", skip_bad: bool = False):
    """Parse and validate 3-line or 2-line TLE text.

    Parameters
    ----------
    text : str
        The file contents. Blank lines are ignored; trailing whitespace and CR
        are stripped. A name line is optional before each element set; a
        leading ``0 `` on it (CelesTrak 3LE style) is dropped.
    source : str
        File name used in error messages.
    skip_bad : bool
        Skip bad element sets and return their errors instead of raising.

    Returns
    -------
    names, line1s, line2s : list of str
        One entry per valid element set. A set without a name line is named
        by its catalogue number.
    skipped : list of InputError
        The problems of the skipped element sets (empty unless ``skip_bad``).

    Raises
    ------
    InputError
        On the first bad element set (unless ``skip_bad``), or when no valid
        element set is found.
    """
    lines = [raw.rstrip() for raw in text.splitlines()]
    names, line1s, line2s, skipped = [], [], [], []

    def fail(error: InputError):
        if not skip_bad:
            raise error
        skipped.append(error)

    # Indices of non-blank lines; walk them with an explicit cursor.
    order = [i for i, ln in enumerate(lines) if ln]
    k = 0
    while k < len(order):
        i = order[k]
        line = lines[i]
        name = None
        if not _DATA_LINE.match(line):
            name = line[2:].strip() if line.startswith("0 ") else line.strip()
            k += 1
            if k >= len(order) or not _DATA_LINE.match(lines[order[k]]):
                fail(InputError(f"name line '{name}' is not followed by TLE line 1",
                                file=source, line=i + 1, field="line number"))
                continue
            i = order[k]
            line = lines[i]
        # Here `line` (index i) looks like TLE data and should be line 1.
        nxt = order[k + 1] if k + 1 < len(order) else None
        has_line2 = nxt is not None and _DATA_LINE.match(lines[nxt]) is not None \
            and not lines[nxt].startswith("1")
        if line[0] != "1":
            if line[0] == "2":
                fail(InputError("TLE line 2 without a preceding line 1",
                                file=source, line=i + 1, field="line number"))
            else:
                fail(InputError(f"TLE line 1 must start with '1', found '{line[0]}'",
                                file=source, line=i + 1, field="line number"))
            k += 2 if has_line2 and line[0] != "2" else 1
            continue
        if not has_line2:
            fail(InputError("TLE line 1 is not followed by a line 2", file=source,
                            line=i + 1, field="line number"))
            k += 1
            continue
        line2 = lines[nxt]
        k += 2
        error = (_check_line(line, 1, i + 1, source)
                 or _check_line(line2, 2, nxt + 1, source))
        if error is None and line[2:7] != line2[2:7]:
            error = InputError(f"catalogue number '{line2[2:7].strip()}' on line 2 differs "
                               f"from '{line[2:7].strip()}' on line 1", file=source,
                               line=nxt + 1, field="catalogue number")
        if error is not None:
            fail(error)
            continue
        names.append(name if name else line[2:7].strip())
        line1s.append(line)
        line2s.append(line2)

    if not line1s:
        if skipped:
            raise InputError(f"no valid TLE element sets: all {len(skipped)} were bad; "
                             f"first problem: {skipped[0]}", file=source)
        raise InputError("no TLE element sets found (empty file, or not TLE text)",
                         file=source)
    return names, line1s, line2s, skipped


def read_tle_file(path, skip_bad: bool = False):
    """Read and validate a TLE file; same returns as :func:`parse_tle_text`."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError("TLE file not found", file=path) from None
    except IsADirectoryError:
        raise InputError("expected a TLE file, found a directory", file=path) from None
    except OSError as exc:
        raise InputError(f"cannot read TLE file: {exc.strerror}", file=path) from None
    text = data.decode("utf-8-sig", errors="replace")
    return parse_tle_text(text, source=str(path), skip_bad=skip_bad)


def jd_to_datetime(jd: float, fr: float = 0.0) -> datetime:
    """Aware UTC datetime of Julian date ``jd + fr`` (microsecond resolution)."""
    days = (jd - JD_UNIX_EPOCH) + fr
    whole = np.floor(days)
    micro = round((days - whole) * SECONDS_PER_DAY * 1e6)
    return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(days=int(whole),
                                                                 microseconds=micro)


def elements_from_state(r_km: np.ndarray, v_km_s: np.ndarray):
    """Osculating inclination, RAAN and argument of latitude (deg) of states ``(..., 3)``.

    RAAN is ``atan2(h_x, -h_y)`` of the angular momentum ``h = r x v``; the
    argument of latitude is the angle from the ascending node to ``r`` in the
    direction of motion, in [0, 360). Frames: whatever ``r`` and ``v`` are in
    (TEME for sgp4 states).
    """
    h = np.cross(r_km, v_km_s)
    h_norm = np.linalg.norm(h, axis=-1)
    inc = np.degrees(np.arccos(np.clip(h[..., 2] / h_norm, -1.0, 1.0)))
    raan = np.arctan2(h[..., 0], -h[..., 1])
    node = np.stack([np.cos(raan), np.sin(raan), np.zeros_like(raan)], axis=-1)
    h_hat = h / h_norm[..., None]
    ahead = np.cross(h_hat, node)          # in-plane, 90 deg past the node
    u = np.arctan2(np.sum(ahead * r_km, axis=-1), np.sum(node * r_km, axis=-1))
    return inc, np.mod(np.degrees(raan), 360.0), np.mod(np.degrees(u), 360.0)


def constellation_from_tle(names, line1s, line2s, name: str = "tle",
                           source: str = "") -> Constellation:
    """Build a :class:`Constellation` from validated TLE lines.

    The sgp4 records (WGS72 constants, as the elements are fitted with) go to
    ``satrecs`` (a ``SatrecArray``) and ``extra["satrec_list"]``. ``epoch`` is
    the median element epoch (UTC). ``altitude_km`` is the mean semi-major axis
    from the Kozai mean motion minus the WGS84 equatorial radius;
    inclination, RAAN (TEME) and argument of latitude are osculating values
    at ``epoch``, from one sgp4 call for all satellites. Satellites that sgp4
    cannot propagate to ``epoch`` keep NaN elements and shell/plane/slot -1.

    ``extra`` also holds ``epoch_jd`` (each element epoch, Julian date UTC),
    ``norad_id``, ``eccentricity`` and ``mean_inclination_deg`` (from the
    TLE), ``mean_motion_rev_day``, and ``sgp4_error`` (error code at ``epoch``).
    """
    from sgp4.api import WGS72, Satrec, SatrecArray

    records = [Satrec.twoline2rv(l1, l2, WGS72) for l1, l2 in zip(line1s, line2s)]
    n = len(records)
    if n == 0:
        raise InputError("no element sets to build a constellation from", file=source or None)
    jd_whole = np.array([s.jdsatepoch for s in records])
    jd_frac = np.array([s.jdsatepochF for s in records])
    no_kozai = np.array([s.no_kozai for s in records])          # rad/min
    ecc = np.array([s.ecco for s in records])
    incl_mean = np.degrees([s.inclo for s in records])
    norad = np.array([s.satnum for s in records], dtype=np.int64)

    ref = np.floor(np.median(jd_whole))
    median_days = float(np.median((jd_whole - ref) + jd_frac))
    epoch = jd_to_datetime(ref, median_days)

    n_rad_s = no_kozai / 60.0
    with np.errstate(divide="ignore", invalid="ignore"):
        sma_km = np.cbrt(MU_EARTH_KM3_S2 / (n_rad_s * n_rad_s))
    altitude = sma_km - WGS84_A_KM

    satrecs = SatrecArray(records)
    jd0, fr0 = julian_date(epoch)
    err, r, v = satrecs.sgp4(np.array([jd0]), np.array([fr0]))
    err = err[:, 0]
    r = r[:, 0, :]
    v = v[:, 0, :]
    ok = err == 0
    inc = np.full(n, np.nan)
    raan = np.full(n, np.nan)
    u = np.full(n, np.nan)
    inc[ok], raan[ok], u[ok] = elements_from_state(r[ok], v[ok])
    altitude = np.where(ok, altitude, np.nan)

    minus_one = np.full(n, -1, dtype=np.int64)
    extra = {
        "satrec_list": records,
        "epoch_jd": jd_whole + jd_frac,
        "norad_id": norad,
        "eccentricity": ecc,
        "mean_inclination_deg": incl_mean,
        "mean_motion_rev_day": no_kozai * 1440.0 / (2.0 * np.pi),
        "sgp4_error": err.astype(np.int64),
    }
    return Constellation(
        name=name, sat_names=np.array(names, dtype=str), shell=minus_one,
        plane=minus_one.copy(), slot=minus_one.copy(), altitude_km=altitude,
        inclination_deg=inc, raan_deg=raan, arg_latitude_deg=u, epoch=epoch,
        satrecs=satrecs, source=source, extra=extra)


def load_tle_constellation(path, skip_bad: bool = False, name: str | None = None):
    """Read a TLE file into a :class:`Constellation` (shell/plane/slot still -1).

    Returns ``(constellation, skipped)``, ``skipped`` being the list of
    :class:`InputError` of element sets left out (only with ``skip_bad``).
    Run :func:`skymesh.orbits.planes.infer_planes` to fill shells and planes.
    """
    path = Path(path)
    names, line1s, line2s, skipped = read_tle_file(path, skip_bad=skip_bad)
    con = constellation_from_tle(names, line1s, line2s, name=name or path.stem,
                                 source=str(path))
    return con, skipped
