"""Fuzz the place parser: a well-formed ``lat,lon`` in range is that point exactly; a
malformed or out-of-range pair is an error, never a place name; any other text is a
gazetteer place (with finite coordinates in range) or one clean line."""

from __future__ import annotations

import math
import re
import sys

from hypothesis import given
from hypothesis import strategies as st

from skymesh.ground.places import resolve_place

kit = sys.modules["skymesh_tests_fuzzkit"]  # tests/fuzz/fuzzkit.py, loaded by conftest

# What "lat,lon" means here, written independently of the parser.
PAIR = re.compile(
    r"\(?\s*([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))\s*,\s*"
    r"([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))\s*\)?",
    re.ASCII,
)


def sane(place) -> str | None:
    if not (
        math.isfinite(place.lat_deg)
        and math.isfinite(place.lon_deg)
        and -90 <= place.lat_deg <= 90
        and -180 <= place.lon_deg <= 180
    ):
        return f"coordinates {place.lat_deg}, {place.lon_deg}"
    if not place.name:
        return "an empty name"
    return None


@kit.budget(40, campaign=1000)
@given(
    lat=st.floats(-90, 90),
    lon=st.floats(-180, 180),
    digits=st.integers(0, 9),
    spaces=st.sampled_from(["", " ", "  "]),
    paren=st.booleans(),
)
def test_a_pair_in_range_is_that_point(fuzz, lat, lon, digits, spaces, paren):
    text = f"{lat:.{digits}f},{spaces}{lon:.{digits}f}"
    text = f"({text})" if paren else text
    want = (float(f"{lat:.{digits}f}"), float(f"{lon:.{digits}f}"))

    def exact(place):
        if (place.lat_deg, place.lon_deg) != want or place.country_iso2:
            return f"read as {place.lat_deg}, {place.lon_deg} ({place.name})"
        return None

    fuzz.check(
        "places", lambda: resolve_place(text), valid=True, why=repr(text), accept_check=exact
    )


MALFORMED = st.one_of(
    st.sampled_from(
        [
            "45,",
            "45,abc",
            ",45",
            "1.2.3,4",
            "45,,2",
            "45;2",
            "--45,2",
            "45,2,3",
            "+-1,2",
            "1e5,2",
            "nan,0",
            "0,inf",
            "91,0",
            "-90.0001,0",
            "0,180.5",
            "0,-181",
            ".,.",
            "4 5,2",
            "1..2,3",
            "\u0664\u0665,2",
            "\uff14\uff15,2",
        ]
    ),
    st.tuples(
        st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: abs(x) > 90),
        st.floats(-180, 180),
    ).map(lambda p: f"{p[0]:f},{p[1]:f}"),
    st.tuples(
        st.floats(-90, 90),
        st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: abs(x) > 180),
    ).map(lambda p: f"{p[0]:f},{p[1]:f}"),
)


@kit.budget(40, campaign=1000)
@given(text=MALFORMED)
def test_malformed_or_out_of_range_pairs_are_errors(fuzz, text):
    fuzz.check("places", lambda: resolve_place(text), invalid=True, why=repr(text))


NAMES = [
    "Paris, FR",
    "São Paulo",
    "Mumbai (Bombay)",
    "Luanda",
    "Tehran, IR",
    "New York",
    "Giessen",
    "Kyiv, Ukraine",
    "48.85,2.35",
    "-22.9,-43.2",
]


@kit.budget(40, campaign=800)
@given(
    text=st.one_of(
        st.text(max_size=25), st.sampled_from(NAMES).flatmap(lambda n: kit.edited(n, max_edits=2))
    )
)
def test_any_text_is_a_place_or_one_clean_line(fuzz, text):
    def checked(place):
        m = PAIR.fullmatch(text.strip())
        if m is None and place.geonameid is None:
            return f"'{text}' taken as the point {place.name}"
        if m is not None and (place.lat_deg, place.lon_deg) != (
            float(m.group(1)),
            float(m.group(2)),
        ):
            return f"'{text}' read as {place.lat_deg}, {place.lon_deg}"
        return sane(place)

    fuzz.check("places", lambda: resolve_place(text), why=repr(text), accept_check=checked)


def test_non_ascii_digits_are_not_coordinates(fuzz):
    """Found by this suite: float() reads '٤٥' (Arabic-Indic) and '４５' (fullwidth) as 45,
    so they were taken as the point (45, 2); now they are malformed pairs."""
    for text in ("\u0664\u0665,2", "\uff14\uff15,\uff12", "45,\u0662"):
        outcome, err = fuzz.check(
            "places", lambda: resolve_place(text), invalid=True, why=repr(text)
        )
        assert outcome == "rejected" and "lat,lon" in str(err)
