"""Two-line element sets: read, validate, and turn into a ``Constellation``.

Reads CelesTrak 3-line text (a name line, optionally starting with ``0 ``,
then TLE lines 1 and 2) and plain 2-line text. Every element set is checked
against the fixed column layout of the format (NORAD / Space-Track TLE
definition): printable ASCII only (no tab, no fullwidth digit, no accented
letter), length 69, line number, mod-10 checksum, blank separator columns,
classification, international designator, catalogue numbers that agree, and
numeric fields that parse. A satellite number may appear only once in a
file. A problem raises :class:`~skymesh.errors.InputError` naming the file,
the 1-based line and the field; with ``skip_bad=True`` the bad element set
(or the later copy of a repeated satellite) is skipped and its error
returned instead. A file that is not text (a PNG, random bytes, UTF-16) is
one error: ``FILE: not a TLE text file (binary data)``.

A set whose element epochs spread over more than :data:`MAX_EPOCH_SPREAD_DAYS`
loads, with a one-line note naming the oldest element set
(:func:`epoch_spread_note`): SGP4 propagated far from an element's epoch is
kilometres off per day and may fail outright (Vallado, Crawford, Hujsak &
Kelso 2006, "Revisiting Spacetrack Report #3", AIAA 2006-6753, sec. on
accuracy; the decayed or re-entered objects of an old file return sgp4 error
codes, i.e. NaN positions).

Example
-------
>>> con, skipped = load_tle_constellation("starlink_tle_20251204.txt")  # doctest: +SKIP
>>> len(con), con.epoch                                                  # doctest: +SKIP
(9042, datetime.datetime(2025, 12, 4, 12, 11, ...))
"""

from __future__ import annotations

import re
import unicodedata
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

_CATNUM = re.compile(r"^[0-9A-HJ-NP-Z ][0-9 ]{3}[0-9]$")  # Alpha-5 skips I and O
_DECIMAL = re.compile(r"^ *[+-]?(\d+\.?\d*|\.\d+)$")
_ASSUMED_DECIMAL_EXP = re.compile(r"^[ +-]?[ 0-9]{0,4}[0-9][+-][0-9]$")
_DIGITS = re.compile(r"^[0-9]+$")
# International designator (columns 10-17): launch year (2 digits), launch number of
# the year (3 digits), piece (1-3 letters), left-justified; blank for some objects.
_INTL_DESIGNATOR = re.compile(r"^(?:[0-9]{5}[A-Z]{1,3} *| {8})$")
_BLANK_OR_DIGITS = re.compile(r"^ *[0-9]*$")

# (field, first column, last column, pattern, what) of the fields that are not numbers.
_CODES = {
    1: (
        ("classification", 8, 8, re.compile(r"^[UCS ]$"), "U, C or S"),
        (
            "international designator",
            10,
            17,
            _INTL_DESIGNATOR,
            "launch year, launch number and piece, like '98067A  '",
        ),
        ("ephemeris type", 63, 63, re.compile(r"^[0-9 ]$"), "a digit"),
        ("element set number", 65, 68, _BLANK_OR_DIGITS, "digits, right-justified"),
    ),
    2: (("revolution number", 64, 68, _BLANK_OR_DIGITS, "digits, right-justified"),),
}

MAX_EPOCH_SPREAD_DAYS = 30.0
"""Element epochs of one file spread over more days than this get a note (d): SGP4's
error grows by kilometres per day from an element's epoch (Vallado et al. 2006,
AIAA 2006-6753), so a set this stale next to a fresh one is not one snapshot."""

# (field, first column, last column, kind, min, max) of each numeric field.
_FIELDS = {
    1: (
        ("epoch year", 19, 20, "year", 0, 99),
        ("epoch day", 21, 32, "float", 1.0, 367.0),
        ("mean motion first derivative", 34, 43, "float", None, None),
        ("mean motion second derivative", 45, 52, "exp", None, None),
        ("bstar", 54, 61, "exp", None, None),
    ),
    2: (
        ("inclination", 9, 16, "float", 0.0, 180.0),
        ("raan", 18, 25, "float", 0.0, 360.0),
        ("eccentricity", 27, 33, "digits", None, None),
        ("argument of perigee", 35, 42, "float", 0.0, 360.0),
        ("mean anomaly", 44, 51, "float", 0.0, 360.0),
        ("mean motion", 53, 63, "float", 0.0, 20.0),
    ),
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

    Kinds: ``int`` (whole number in [lo, hi]), ``year`` (two digits, no blank: sgp4
    reads ' 5' followed by the day '338.5' as year 53, a plain ``int(' 5')`` as 5, so a
    blank-padded year is refused rather than read two ways), ``float`` (decimal in
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
    if kind == "year" and not re.fullmatch(r"[0-9]{2}", value):
        return f"'{value}' is not a two-digit year (a blank-padded year is ambiguous: write '05')"
    if kind in ("int", "year"):
        if not _DIGITS.match(value.strip()):
            return f"'{value}' is not a whole number"
        number: float = int(value)
        inside = (lo is None or number >= lo) and (hi is None or number <= hi)
        bounds = f"[{lo}, {hi}]"
    else:
        if not _DECIMAL.match(value):
            return f"'{value}' is not a number"
        number = float(value)
        inside = (lo is None or number >= lo) and (hi is None or number < hi)
        bounds = f"[{lo}, {hi})"
    return None if inside else f"{value.strip()} is outside {bounds}"


def _describe_char(ch: str) -> str:
    """A character as a user can recognise it: 'a tab', or the glyph with its code point."""
    if ch == "\t":
        return "a tab"
    name = unicodedata.name(ch, "")
    shown = repr(ch) if not ch.isprintable() else f"'{ch}'"
    return f"{shown} (U+{ord(ch):04X}{' ' + name if name else ''})"


def _check_line(text: str, expected: int, lineno: int, source: str) -> InputError | None:
    """The first problem of TLE line ``expected`` (1 or 2), or None."""
    if text[:1] != str(expected):
        return InputError(
            f"TLE line {expected} must start with '{expected}', found '{text[:1]}'",
            file=source,
            line=lineno,
            field="line number",
        )
    for col, ch in enumerate(text, start=1):
        if not " " <= ch <= "~":
            return InputError(
                f"column {col} of TLE line {expected} holds "
                f"{_describe_char(ch)}: TLE lines are printable ASCII only",
                file=source,
                line=lineno,
                field="characters",
            )
    if len(text) != TLE_LINE_LENGTH:
        return InputError(
            f"TLE line {expected} has {len(text)} characters, expected {TLE_LINE_LENGTH}",
            file=source,
            line=lineno,
            field="line length",
        )
    found = text[68]
    want = tle_checksum_expected(text)
    if not found.isdigit() or int(found) != want:
        return InputError(
            f"checksum mismatch on TLE line {expected}: expected {want}, found '{found}'",
            file=source,
            line=lineno,
            field="checksum",
        )
    for col in _BLANK_COLUMNS[expected]:
        if text[col - 1] != " ":
            return InputError(
                f"column {col} of TLE line {expected} must be blank, found "
                f"'{text[col - 1]}' (columns shifted?)",
                file=source,
                line=lineno,
                field="layout",
            )
    if not _CATNUM.match(text[2:7]):
        return InputError(
            f"'{text[2:7]}' is not a satellite catalogue number",
            file=source,
            line=lineno,
            field="catalogue number",
        )
    for name, first, last, pattern, what in _CODES[expected]:
        value = text[first - 1 : last]
        if not pattern.match(value):
            cols = f"column {first}" if first == last else f"columns {first}-{last}"
            return InputError(
                f"{name} ({cols}): '{value}' is not {what}", file=source, line=lineno, field=name
            )
    for name, first, last, kind, lo, hi in _FIELDS[expected]:
        why = _check_field(text[first - 1 : last], kind, lo, hi)
        if why is not None:
            return InputError(
                f"{name} (columns {first}-{last}): {why}", file=source, line=lineno, field=name
            )
    return None


def _clip(text: str, limit: int = 60) -> str:
    """``text`` cut to ``limit`` characters for a message (a whole file may be one line)."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _satellite_key(catnum: str) -> str:
    """One spelling per satellite number: '  123', '00123' and '123' are one satellite."""
    text = catnum.strip()
    return str(int(text)) if text.isdigit() else text


def parse_tle_text(text: str, source: str = "<text>", skip_bad: bool = False):
    """Parse and validate 3-line or 2-line TLE text.

    Parameters
    ----------
    text : str
        The file contents. Lines end at ``\n``, ``\r\n`` or ``\r``; blank
        lines are ignored; trailing blanks are stripped (a trailing tab is
        not: TLE lines are printable ASCII). A name line is optional before each element
        set; a leading ``0 `` on it (CelesTrak 3LE style) is dropped; a name
        may not hold control characters.
    source : str
        File name used in error messages.
    skip_bad : bool
        Skip bad element sets and return their errors instead of raising. A
        satellite number seen again is an error naming both lines; with
        ``skip_bad`` the later copy is skipped (and its error returned).

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
    # Only LF, CRLF and CR end a line (str.splitlines would also split at form feeds,
    # \x1c-\x1e, U+2028 ..., which have no business inside a TLE line and are reported).
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [raw.rstrip(" ") for raw in text.split("\n")]
    lines = ["" if ln.isspace() else ln for ln in lines]
    names, line1s, line2s, skipped = [], [], [], []
    first_seen: dict[str, int] = {}  # satellite number -> line of its first TLE line 1

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
            control = next((ch for ch in name if unicodedata.category(ch) == "Cc"), None)
            if control is not None:
                fail(
                    InputError(
                        f"name line holds {_describe_char(control)}, a control "
                        "character (is this a text file?)",
                        file=source,
                        line=i + 1,
                        field="name",
                    )
                )
                for _ in range(2):  # and its element set
                    if k < len(order) and _DATA_LINE.match(lines[order[k]]):
                        k += 1
                continue
            if k >= len(order) or not _DATA_LINE.match(lines[order[k]]):
                fail(
                    InputError(
                        f"name line '{_clip(name)}' is not followed by TLE line 1",
                        file=source,
                        line=i + 1,
                        field="line number",
                    )
                )
                continue
            i = order[k]
            line = lines[i]
        # Here `line` (index i) looks like TLE data and should be line 1.
        nxt = order[k + 1] if k + 1 < len(order) else None
        has_line2 = (
            nxt is not None
            and _DATA_LINE.match(lines[nxt]) is not None
            and not lines[nxt].startswith("1")
        )
        if line[0] != "1":
            if line[0] == "2":
                fail(
                    InputError(
                        "TLE line 2 without a preceding line 1",
                        file=source,
                        line=i + 1,
                        field="line number",
                    )
                )
            else:
                fail(
                    InputError(
                        f"TLE line 1 must start with '1', found '{line[0]}'",
                        file=source,
                        line=i + 1,
                        field="line number",
                    )
                )
            k += 2 if has_line2 and line[0] != "2" else 1
            continue
        if not has_line2:
            fail(
                InputError(
                    "TLE line 1 is not followed by a line 2",
                    file=source,
                    line=i + 1,
                    field="line number",
                )
            )
            k += 1
            continue
        assert nxt is not None  # has_line2 implies nxt is not None
        line2 = lines[nxt]
        k += 2
        error = _check_line(line, 1, i + 1, source) or _check_line(line2, 2, nxt + 1, source)
        if error is None and line[2:7] != line2[2:7]:
            error = InputError(
                f"catalogue number '{line2[2:7].strip()}' on line 2 differs "
                f"from '{line[2:7].strip()}' on line 1",
                file=source,
                line=nxt + 1,
                field="catalogue number",
            )
        if error is None:
            key = _satellite_key(line[2:7])
            if key in first_seen:
                error = InputError(
                    f"satellite {key} appears twice: TLE line 1 at line "
                    f"{first_seen[key]} and again at line {i + 1}",
                    file=source,
                    line=i + 1,
                    field="catalogue number",
                )
            else:
                first_seen[key] = i + 1
        if error is not None:
            fail(error)
            continue
        names.append(name if name else line[2:7].strip())
        line1s.append(line)
        line2s.append(line2)

    if not line1s:
        if skipped:
            raise InputError(
                f"no valid TLE element sets: all {len(skipped)} were bad; "
                f"first problem: {skipped[0]}",
                file=source,
            )
        raise InputError("no TLE element sets found (empty file, or not TLE text)", file=source)
    return names, line1s, line2s, skipped


def read_tle_file(path, skip_bad: bool = False):
    """Read and validate a TLE file; same returns as :func:`parse_tle_text`."""
    from skymesh.inputs import read_input_bytes

    path = Path(path)
    data = read_input_bytes(path, "TLE file")
    text = decode_tle_bytes(data, source=str(path))
    return parse_tle_text(text, source=str(path), skip_bad=skip_bad)


# C0 control characters other than tab, LF, CR: never in a text file of TLEs.
_BINARY_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def decode_tle_bytes(data: bytes, source: str = "<bytes>") -> str:
    """The text of a TLE file's bytes (UTF-8, with or without a BOM).

    Binary data (a PNG, random bytes, UTF-16 or UTF-32 text: any control byte
    other than tab, CR and LF) raises one ``InputError``, "not a TLE text file
    (binary data)", without quoting the bytes; other text that is not UTF-8
    names the line and the first bad byte.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or _BINARY_BYTES.search(data):
        raise InputError("not a TLE text file (binary data)", file=source)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            f"not a TLE text file (not UTF-8: byte 0x{data[exc.start]:02X})", file=source, line=line
        ) from None


def tle_epochs_utc(line1s) -> np.ndarray:
    """Element epochs (UTC, ``datetime64[us]``) from validated TLE line-1 columns 19-32.

    Two-digit years 57-99 are 1957-1999, 00-56 are 2000-2056 (the TLE convention);
    the day of year counts from 1.0 at 00:00 UTC on 1 January.
    """
    yy = np.array([int(l1[18:20]) for l1 in line1s], dtype=np.int64)
    day = np.array([float(l1[20:32]) for l1 in line1s], dtype=float)
    year = np.where(yy < 57, 2000 + yy, 1900 + yy)
    jan1 = (year - 1970).astype("datetime64[Y]").astype("datetime64[us]")
    offset_us = np.round((day - 1.0) * SECONDS_PER_DAY * 1e6).astype(np.int64)
    return jan1 + offset_us.astype("timedelta64[us]")


def epoch_spread_note(
    names, line1s, max_days: float = MAX_EPOCH_SPREAD_DAYS, source: str | None = None
) -> str | None:
    """One line when the element epochs spread over more than ``max_days`` (d), else None.

    The line names the oldest element set (satellite name and epoch) and the
    newest epoch, so a stale file mixed into a fresh one can be found.
    """
    if len(line1s) < 2:
        return None
    epochs = tle_epochs_utc(line1s)
    oldest, newest = int(np.argmin(epochs)), int(np.argmax(epochs))
    spread_days = float((epochs[newest] - epochs[oldest]) / np.timedelta64(1, "D"))
    if spread_days <= max_days:
        return None
    where = f"{source}: " if source else ""
    return (
        f"warning: {where}element epochs spread over {spread_days:,.1f} days (more than "
        f"{max_days:g}); the oldest is {names[oldest]} at "
        f"{str(epochs[oldest])[:16].replace('T', ' ')} UTC, the newest "
        f"{str(epochs[newest])[:16].replace('T', ' ')} UTC: satellites far from their "
        "epoch propagate poorly or not at all"
    )


def jd_to_datetime(jd: float, fr: float = 0.0) -> datetime:
    """Aware UTC datetime of Julian date ``jd + fr`` (microsecond resolution)."""
    days = (jd - JD_UNIX_EPOCH) + fr
    whole = np.floor(days)
    micro = round((days - whole) * SECONDS_PER_DAY * 1e6)
    return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(
        days=int(whole), microseconds=micro
    )


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
    ahead = np.cross(h_hat, node)  # in-plane, 90 deg past the node
    u = np.arctan2(np.sum(ahead * r_km, axis=-1), np.sum(node * r_km, axis=-1))
    return inc, np.mod(np.degrees(raan), 360.0), np.mod(np.degrees(u), 360.0)


def constellation_from_tle(
    names, line1s, line2s, name: str = "tle", source: str = ""
) -> Constellation:
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
    no_kozai = np.array([s.no_kozai for s in records])  # rad/min
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
        name=name,
        sat_names=np.array(names, dtype=str),
        shell=minus_one,
        plane=minus_one.copy(),
        slot=minus_one.copy(),
        altitude_km=altitude,
        inclination_deg=inc,
        raan_deg=raan,
        arg_latitude_deg=u,
        epoch=epoch,
        satrecs=satrecs,
        source=source,
        extra=extra,
    )


def load_tle_constellation(
    path, skip_bad: bool = False, name: str | None = None, notes: list | None = None
):
    """Read a TLE file into a :class:`Constellation` (shell/plane/slot still -1).

    Returns ``(constellation, skipped)``, ``skipped`` being the list of
    :class:`InputError` of element sets left out (only with ``skip_bad``).
    Warnings about the set (element epochs spread over more than
    :data:`MAX_EPOCH_SPREAD_DAYS`) are one line each in
    ``constellation.extra["notes"]``, and appended to ``notes`` when given.
    Run :func:`skymesh.orbits.planes.infer_planes` to fill shells and planes.
    """
    path = Path(path)
    names, line1s, line2s, skipped = read_tle_file(path, skip_bad=skip_bad)
    con = constellation_from_tle(names, line1s, line2s, name=name or path.stem, source=str(path))
    found = [n for n in (epoch_spread_note(names, line1s, source=str(path)),) if n]
    con.extra["notes"] = found
    if notes is not None:
        notes.extend(found)
    return con, skipped
