"""Strategies shared by the fuzz tests: TOML values, text edits, valid TLE sets.

Imported once by ``conftest.py`` under the name ``skymesh_tests_fuzzkit`` (the suite
runs in pytest's importlib mode, where test folders are not packages); test modules
take it from ``sys.modules``. It also registers the Hypothesis profiles.
"""

from __future__ import annotations

import json
import math
import os
import sys
from datetime import datetime, timezone

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# --------------------------------------------------------------------------- profiles

PROFILE = os.environ.get("SKYMESH_FUZZ_PROFILE", "ci")
"""``ci`` (default: small, derandomized) or ``fuzz`` (the ``make fuzz`` campaign)."""
FUZZ_FACTOR = int(os.environ.get("SKYMESH_FUZZ_FACTOR", "25"))
"""How many times the CI example budget the ``fuzz`` profile runs."""

_COMMON = dict(
    deadline=None,
    print_blob=True,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)
settings.register_profile("ci", max_examples=50, derandomize=True, **_COMMON)
settings.register_profile("fuzz", max_examples=50 * FUZZ_FACTOR, derandomize=False, **_COMMON)
settings.load_profile(PROFILE if PROFILE in ("ci", "fuzz") else "ci")


def budget(ci_examples: int, campaign: int | None = None) -> settings:
    """Settings for one fuzz test: ``ci_examples`` in CI; in the campaign ``campaign``
    (default ``FUZZ_FACTOR`` times the CI number), scaled by ``SKYMESH_FUZZ_FACTOR / 25``
    when that is set. Everything else comes from the loaded profile."""
    if PROFILE != "fuzz":
        return settings(max_examples=ci_examples)
    n = ci_examples * FUZZ_FACTOR if campaign is None else campaign * FUZZ_FACTOR // 25
    return settings(max_examples=max(n, ci_examples))


def load():
    """This module as the test modules see it (imported once, by conftest, by name)."""
    return sys.modules["skymesh_tests_fuzzkit"]


# --------------------------------------------------------------------------- TOML values


def toml_string(text: str) -> str:
    """A TOML basic string holding ``text`` exactly (control characters escaped)."""
    out = json.dumps(text, ensure_ascii=False)
    return out.replace("\x7f", "\\u007f")


def toml_literal(value) -> str:
    """``value`` (bool, int, float, str, datetime, list, dict) written as TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, list):
        return "[" + ", ".join(toml_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{" + ", ".join(f"{toml_string(k)} = {toml_literal(v)}" for k, v in value.items()) + "}"
        )
    raise TypeError(type(value))


def category(value) -> str:
    """The kind of a TOML value: bool, int, float, str, datetime, list or table."""
    if isinstance(value, bool):
        return "bool"
    for kind, name in (
        (int, "int"),
        (float, "float"),
        (str, "str"),
        (datetime, "datetime"),
        (list, "list"),
        (dict, "table"),
    ):
        if isinstance(value, kind):
            return name
    return type(value).__name__


NUMBER_WORDS = st.sampled_from(
    [
        "3600",
        "41.5",
        "-1",
        "0",
        "1e3",
        "nan",
        "inf",
        "true",
        "",
        " 12 ",
        "0x10",
        "1_000",
        "\u0664\u0661",
        "\uff14\uff11",
    ]
)
"""Strings that look like numbers (or booleans) to a lenient parser."""

scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=-5, max_value=100),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e-300, 1e-3, 0.5, 1.0, 59.999, 90.0, 180.0, 1e300]),
    st.text(max_size=20),
    NUMBER_WORDS,
    st.sampled_from(
        [
            "IR",
            "TR",
            "DE",
            "XK",
            "QQ",
            "ir",
            "IRN",
            "Iran",
            "active",
            "inactive",
            "granted",
            "denied",
            "any",
            "isl",
            "bent-pipe",
            "epoch",
            "population",
            "2026-01-01T00:00:00Z",
            "yesterday",
            "satellites",
        ]
    ),
    st.datetimes(
        min_value=datetime(1900, 1, 1),
        max_value=datetime(2100, 1, 1),
        timezones=st.just(timezone.utc),
    ),
)
"""Single TOML values of every kind, with the awkward ones over-represented."""

toml_values = st.one_of(
    scalars,
    st.lists(scalars, max_size=3),
    st.lists(
        st.lists(st.floats(-200, 200) | st.integers(-200, 200) | st.text(max_size=3), max_size=3),
        max_size=2,
    ),
    st.dictionaries(st.sampled_from(["a", "lat", "iso2", "state"]), scalars, max_size=2),
)
"""Any TOML value a user could type where another was expected."""


def replace_value(text: str, line_no: int, value) -> str:
    """``text`` with the value of the ``key = value`` line ``line_no`` (1-based) replaced."""
    lines = text.split("\n")
    key = lines[line_no - 1].split("=", 1)[0].rstrip()
    lines[line_no - 1] = f"{key} = {toml_literal(value)}"
    return "\n".join(lines)


def names_location(path, line: int, field: str):
    """A ``reject_check``: the error must name ``path``, ``line`` and a field starting
    with ``field``; returns what was expected when it does not, else None."""

    def check(err):
        if err.file != str(path) or err.line != line or not (err.field or "").startswith(field):
            return f"expected {path}:{line} field {field}"
        return None

    return check


def key_lines(text: str) -> dict[int, str]:
    """Line number -> key of each ``key = value`` line (top of tables resolved by caller)."""
    out = {}
    for n, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        if "=" in stripped and not stripped.startswith(("#", "[")):
            out[n] = stripped.split("=", 1)[0].strip()
    return out


def dotted_keys(text: str) -> dict[int, tuple]:
    """Line number -> resolved location (``("terminals", 0, "count")``) of each key line.

    Handles the simple layout the base files use: ``[table]``, ``[[array]]`` and
    ``[[a.b]]`` headers, one ``key = value`` a line.
    """
    out, current, counts = {}, (), {}
    for n, line in enumerate(text.split("\n"), start=1):
        s = line.strip()
        if s.startswith("[["):
            path = tuple(s.strip("[]").strip().split("."))
            resolved: tuple = ()
            for part in path[:-1]:
                resolved += (part,)
                if resolved in counts:
                    resolved += (counts[resolved] - 1,)
            resolved += (path[-1],)
            counts[resolved] = counts.get(resolved, 0) + 1
            current = resolved + (counts[resolved] - 1,)
        elif s.startswith("["):
            current = tuple(s.strip("[]").strip().split("."))
        elif "=" in s and not s.startswith("#"):
            out[n] = current + (s.split("=", 1)[0].strip(),)
    return out


# --------------------------------------------------------------------------- text edits

ODD_CHARS = st.sampled_from(
    list(
        "\t\x00\x0b\x0c\r\x1c\x85\u2028\u00a0\u00e9\u0301\uff15"
        "\u0665\ufeff\"'\\[]{}=#,;:.+-eE0123456789 aZ\U0001f600"
    )
)
"""Characters that break careless parsers: controls, odd spaces and line breaks,
combining marks, fullwidth and Arabic-Indic digits, a BOM, quotes, brackets, an emoji."""

any_char = st.one_of(ODD_CHARS, st.characters(codec="utf-8"))


@st.composite
def edited(draw, text: str, max_edits: int = 3) -> str:
    """``text`` after a few random edits: replace, insert or delete characters, delete,
    duplicate or swap whole lines, or cut the text short."""
    for _ in range(draw(st.integers(1, max_edits))):
        kind = draw(
            st.sampled_from(
                ["replace", "insert", "delete", "del_line", "dup_line", "swap_lines", "truncate"]
            )
        )
        if not text:
            text = draw(st.text(max_size=5))
            continue
        i = draw(st.integers(0, len(text) - 1))
        if kind == "replace":
            text = text[:i] + draw(any_char) + text[i + 1 :]
        elif kind == "insert":
            text = text[:i] + draw(st.text(any_char, min_size=1, max_size=4)) + text[i:]
        elif kind == "delete":
            text = text[:i] + text[i + draw(st.integers(1, 5)) :]
        elif kind == "truncate":
            text = text[:i]
        else:
            lines = text.split("\n")
            j = draw(st.integers(0, len(lines) - 1))
            if kind == "del_line":
                del lines[j]
            elif kind == "dup_line":
                lines.insert(j, lines[j])
            else:
                k = draw(st.integers(0, len(lines) - 1))
                lines[j], lines[k] = lines[k], lines[j]
            text = "\n".join(lines)
    return text


# --------------------------------------------------------------------------- TLE sets


def tle_checksum(line: str) -> int:
    """Mod-10 checksum of columns 1-68 (NORAD): ASCII digits add their value, '-' adds 1."""
    return sum(int(c) if c in "0123456789" else (c == "-") for c in line[:68]) % 10


def with_checksum(line: str) -> str:
    return line[:68] + str(tle_checksum(line))


def make_tle(
    satnum: int,
    year: int,
    day: float,
    *,
    intl: str = "19029A",
    raan: float = 10.0,
    incl: float = 53.0,
    ecc: int = 1000,
    argp: float = 90.0,
    mean_anomaly: float = 0.0,
    mean_motion: float = 15.06,
    bstar: str = " 10000-3",
    rev: int = 1,
) -> tuple[str, str]:
    """TLE lines 1 and 2 in the NORAD fixed columns, with checksums."""
    l1 = (
        f"1 {satnum:05d}U {intl:<8s} {year % 100:02d}{day:012.8f}  .00001000  00000-0 "
        f"{bstar} 0  999"
    )
    l2 = (
        f"2 {satnum:05d} {incl:8.4f} {raan:8.4f} {ecc:07d} {argp:8.4f} {mean_anomaly:8.4f} "
        f"{mean_motion:11.8f}{rev:5d}"
    )
    assert len(l1) == len(l2) == 68, (l1, l2)
    return with_checksum(l1), with_checksum(l2)


angles = st.floats(0, 359.9999).map(lambda x: round(x, 4))


@st.composite
def tle_sets(draw, min_size: int = 1, max_size: int = 4):
    """Valid element sets: ``[(name, line1, line2), ...]`` with distinct satellite numbers."""
    numbers = draw(
        st.lists(st.integers(1, 99999), min_size=min_size, max_size=max_size, unique=True)
    )
    sets = []
    for k, satnum in enumerate(numbers):
        year = draw(st.sampled_from([1998, 2008, 2019, 2025, 2026]))
        day = round(draw(st.floats(1.0, 365.99999999)), 8)
        l1, l2 = make_tle(
            satnum,
            year,
            day,
            intl=draw(st.sampled_from(["19029A", "98067A", "20001BZ", "24100ABC"])),
            raan=draw(angles),
            incl=round(draw(st.floats(0, 179.9999)), 4),
            ecc=draw(st.integers(0, 9999999)),
            argp=draw(angles),
            mean_anomaly=draw(angles),
            mean_motion=round(draw(st.floats(0.5, 17.0)), 8),
            bstar=draw(st.sampled_from([" 10000-3", "-11606-4", " 00000+0", " 12345-5"])),
            rev=draw(st.integers(0, 99999)),
        )
        name = draw(
            st.sampled_from(
                [
                    "",
                    f"SAT-{k}",
                    f"0 SAT {k}",
                    "ISS (ZARYA)",
                    "STARLINK-1008",
                    "CAF\u00c9 \u00e9t\u00e9",
                ]
            )
        )
        sets.append((name, l1, l2))
    return sets


def tle_text(sets, newline: str = "\n") -> str:
    """Text of ``(name, line1, line2)`` sets; an empty name means 2-line style."""
    out = []
    for name, l1, l2 in sets:
        if name:
            out.append(name)
        out += [l1, l2]
    return newline.join(out) + newline
