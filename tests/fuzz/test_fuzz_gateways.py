"""Fuzz the gateway loaders (CSV and TOML): a cell or value that is not a number where a
number belongs is rejected naming file, line and field; an accepted file holds exactly
the numbers written in it, in range; any other edit is rejected with one clean line."""

from __future__ import annotations

import math
import re
import sys
import warnings

from hypothesis import given
from hypothesis import strategies as st

from skymesh.ground.gateways import load_gateways

kit = sys.modules["skymesh_tests_fuzzkit"]  # tests/fuzz/fuzzkit.py, loaded by conftest

CSV_HEADER = "name,lat,lon,country,type,status,num_antennas,capacity_gbps,min_elevation_deg"
CSV_ROWS = [
    '"Aerzen, Germany",52.06,9.329,DE,gateway,operational,8,,25',
    "Muallim,40.8,29.5,TR,gateway,planned,,20.5,",
]
COLUMNS = CSV_HEADER.split(",")
CSV_BASE = "\n".join([CSV_HEADER] + CSV_ROWS) + "\n"
RANGES = {
    "lat": (-90, 90),
    "lon": (-180, 180),
    "num_antennas": (0, math.inf),
    "capacity_gbps": (0, math.inf),
    "min_elevation_deg": (0, 90),
}

TOML_BASE = """\
[[gateway]]
name = "Aerzen, Germany"
lat = 52.06
lon = 9.329
country = "DE"
num_antennas = 8
min_elevation_deg = 25.0
[[gateway]]
name = "Muallim"
lat = 40
lon = 29.5
country = "TR"
status = "planned"
capacity_gbps = 20.5
"""
NUMBER = {"int", "float"}
TOML_KINDS = {
    "name": {"str"},
    "lat": NUMBER,
    "lon": NUMBER,
    "country": {"str"},
    "num_antennas": {"int"},
    "min_elevation_deg": NUMBER,
    "status": {"str"},
    "capacity_gbps": NUMBER,
}
TOML_LINES = {loc: line for line, loc in kit.dotted_keys(TOML_BASE).items()}

# An ASCII decimal number, written here independently of the loader.
ASCII_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?", re.ASCII)


def load(scratch, text, suffix):
    path = scratch / f"gateways{suffix}"
    path.write_text(text, encoding="utf-8")

    def call():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # a repeated name is a warning
            return load_gateways(path, include_planned=True, include_pops=True)

    return call


def csv_cell(row: int, column: str, value: str) -> str:
    """CSV_BASE with one cell replaced (the value quoted the way csv would need)."""
    import csv
    import io

    rows = list(csv.reader(io.StringIO(CSV_BASE)))
    rows[row + 1][COLUMNS.index(column)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def test_bases_are_valid(scratch, fuzz):
    fuzz.check("gateways", load(scratch, CSV_BASE, ".csv"), valid=True, why="the base CSV")
    fuzz.check("gateways", load(scratch, TOML_BASE, ".toml"), valid=True, why="the base TOML")


NOT_NUMBERS = st.one_of(
    kit.NUMBER_WORDS.filter(lambda t: not ASCII_NUMBER.fullmatch(t.strip()) and t.strip()),
    st.sampled_from(
        [
            "true",
            "False",
            "nan",
            "NaN",
            "inf",
            "-Infinity",
            "1,5",
            "4 1",
            "0x2A",
            "1_0",
            "\u0664\u0661",
            "\uff14\uff11",
            "41.5\u00b0",
            "N41.5",
            "--1",
        ]
    ),
)


@kit.budget(40, campaign=1000)
@given(row=st.integers(0, 1), column=st.sampled_from(sorted(RANGES)), value=NOT_NUMBERS)
def test_csv_non_numbers_are_rejected_naming_line_and_field(scratch, fuzz, row, column, value):
    text = csv_cell(row, column, value)
    path = scratch / "gateways.csv"
    fuzz.check(
        "gateways",
        load(scratch, text, ".csv"),
        invalid=True,
        why=f"row {row} {column} = {value!r}",
        reject_check=lambda e: (
            None
            if (e.file, e.line, e.field) == (str(path), row + 2, column)
            else f"expected line {row + 2} field {column}"
        ),
    )


@kit.budget(60, campaign=1500)
@given(
    row=st.integers(0, 1),
    column=st.sampled_from(COLUMNS),
    value=st.one_of(
        st.text(max_size=12), kit.NUMBER_WORDS, st.floats().map(repr), st.integers().map(str)
    ),
)
def test_csv_any_cell_is_read_exactly_or_rejected(scratch, fuzz, row, column, value):
    text = csv_cell(row, column, value)

    def exact(gw):
        if column in RANGES and value.strip():
            cell = value.strip()
            if not ASCII_NUMBER.fullmatch(cell):
                return f"{column} {value!r} is not an ASCII number"
            got = getattr(gw, {"lat": "lat_deg", "lon": "lon_deg"}.get(column, column))[row]
            lo, hi = RANGES[column]
            if got != float(cell) or not (lo <= got <= hi) or not math.isfinite(got):
                return f"{column} {value!r} read as {got!r}"
            if column == "num_antennas" and not re.fullmatch(r"[+-]?[0-9]+", cell):
                return f"num_antennas {value!r} is not a whole number"
        return None

    fuzz.check(
        "gateways", load(scratch, text, ".csv"), why=f"{column} = {value!r}", accept_check=exact
    )


@st.composite
def toml_wrong_kind(draw):
    loc = draw(st.sampled_from(sorted(TOML_LINES, key=str)))
    kinds = TOML_KINDS[loc[-1]]
    if kinds == NUMBER:
        value = draw(
            st.one_of(
                kit.NUMBER_WORDS,
                st.booleans(),
                st.sampled_from([math.nan, math.inf, [1.0], {"a": 1}]),
            )
        )
    elif kinds == {"int"}:
        value = draw(st.one_of(kit.NUMBER_WORDS, st.booleans(), st.sampled_from([8.0, 2.5])))
    else:
        value = draw(
            st.one_of(
                st.booleans(),
                st.integers(),
                st.floats(allow_nan=False),
                st.lists(st.text(max_size=2), max_size=2),
            )
        )
    return loc, value


@kit.budget(40, campaign=1000)
@given(case=toml_wrong_kind())
def test_toml_wrong_kinds_are_rejected_naming_line_and_field(scratch, fuzz, case):
    loc, value = case
    text = kit.replace_value(TOML_BASE, TOML_LINES[loc], value)
    path = scratch / "gateways.toml"
    fuzz.check(
        "gateways",
        load(scratch, text, ".toml"),
        invalid=True,
        why=f"{'.'.join(map(str, loc))} = {kit.toml_literal(value)}",
        reject_check=lambda e: (
            None
            if (e.file, e.line, e.field) == (str(path), TOML_LINES[loc], loc[-1])
            else f"expected line {TOML_LINES[loc]} field {loc[-1]}"
        ),
    )


@kit.budget(60, campaign=1500)
@given(loc=st.sampled_from(sorted(TOML_LINES, key=str)), value=kit.toml_values)
def test_toml_any_value_is_taken_as_its_kind_or_rejected(scratch, fuzz, loc, value):
    text = kit.replace_value(TOML_BASE, TOML_LINES[loc], value)

    def right_kind(gw):
        if kit.category(value) not in TOML_KINDS[loc[-1]]:
            return f"a {kit.category(value)} taken for {loc[-1]}"
        return None

    fuzz.check(
        "gateways",
        load(scratch, text, ".toml"),
        why=f"{'.'.join(map(str, loc))} = {kit.toml_literal(value)}",
        accept_check=right_kind,
    )


@kit.budget(40, campaign=1000)
@given(text=kit.edited(CSV_BASE, max_edits=3))
def test_csv_text_edits_are_clean(scratch, fuzz, text):
    fuzz.check("gateways", load(scratch, text, ".csv"), why=repr(text))


@kit.budget(40, campaign=1000)
@given(text=kit.edited(TOML_BASE, max_edits=3))
def test_toml_text_edits_are_clean(scratch, fuzz, text):
    fuzz.check("gateways", load(scratch, text, ".toml"), why=repr(text))
