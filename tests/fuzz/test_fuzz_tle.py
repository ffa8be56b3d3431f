"""Fuzz the TLE parser: valid sets are read back exactly, known-invalid edits are
rejected, and any other edit, text or byte string is accepted correctly or rejected
with one clean line. An accepted element set is checked independently: printable
ASCII, a checksum recomputed here, a unique satellite number, and sgp4 reading it."""

from __future__ import annotations

import sys

from hypothesis import given
from hypothesis import strategies as st

from skymesh.orbits.tle import constellation_from_tle, parse_tle_text, read_tle_file

kit = sys.modules["skymesh_tests_fuzzkit"]  # tests/fuzz/fuzzkit.py, loaded by conftest

# Columns (1-based) of the numeric fields of each line (NORAD layout): a letter there
# is never valid. Column 8 (classification) and 10-17 (designator) take letters.
NUMERIC_COLUMNS = {
    1: list(range(19, 33))
    + list(range(34, 44))
    + list(range(45, 53))
    + list(range(54, 62))
    + [63]
    + list(range(65, 70)),
    2: list(range(9, 17))
    + list(range(18, 26))
    + list(range(27, 34))
    + list(range(35, 43))
    + list(range(44, 52))
    + list(range(53, 69)),
}
BLANK_COLUMNS = {1: (2, 9, 18, 33, 44, 53, 62, 64), 2: (2, 8, 17, 26, 34, 43, 52)}


def right_sets(result):
    """Why an accepted parse is wrong (checked independently of the parser), or None."""
    from sgp4.api import Satrec

    names, line1s, line2s, _ = result
    if not (len(names) == len(line1s) == len(line2s)) or not line1s:
        return "lists of different lengths, or empty"
    seen = set()
    for l1, l2 in zip(line1s, line2s):
        for line, number in ((l1, "1"), (l2, "2")):
            if len(line) != 69 or line[0] != number:
                return f"line {line!r} is not a TLE line {number}"
            if any(not " " <= ch <= "~" for ch in line):
                return f"line {line!r} holds a character outside printable ASCII"
            if line[68] not in "0123456789" or int(line[68]) != kit.tle_checksum(line):
                return f"line {line!r} has a wrong checksum"
        key = l1[2:7].strip().lstrip("0") or "0"
        if key in seen:
            return f"satellite {key} twice"
        seen.add(key)
        try:
            Satrec.twoline2rv(l1, l2)
        except Exception as exc:  # noqa: BLE001
            return f"sgp4 cannot read it ({type(exc).__name__}: {exc})"
    try:
        constellation_from_tle(names, line1s, line2s)
    except Exception as exc:  # noqa: BLE001
        return f"building a constellation fails ({type(exc).__name__}: {exc})"
    return None


@kit.budget(40, campaign=1000)
@given(sets=kit.tle_sets(), crlf=st.booleans())
def test_valid_sets_read_back_exactly(fuzz, sets, crlf):
    text = kit.tle_text(sets, "\r\n" if crlf else "\n")

    def same(result):
        names, l1, l2, skipped = result
        want = [(n[2:].strip() if n.startswith("0 ") else n) or a[2:7].strip() for n, a, _ in sets]
        if names != want or l1 != [s[1] for s in sets] or l2 != [s[2] for s in sets]:
            return f"read back {names!r} instead of {want!r}"
        return right_sets(result) or (f"skipped {skipped}" if skipped else None)

    fuzz.check(
        "tle", lambda: parse_tle_text(text), valid=True, why=repr(text[:200]), accept_check=same
    )


@st.composite
def invalid_edits(draw):
    """A valid file with one edit the TLE format forbids, and what the edit was."""
    sets = draw(kit.tle_sets(min_size=1, max_size=3))
    k = draw(st.integers(0, len(sets) - 1))
    name, l1, l2 = sets[k]
    row = draw(st.sampled_from([1, 2]))
    line = l1 if row == 1 else l2
    kind = draw(
        st.sampled_from(
            [
                "non-ascii",
                "letter in a number",
                "checksum",
                "length",
                "blank column",
                "repeat",
                "order",
                "only line 1",
            ]
        )
    )
    if kind == "non-ascii":
        col = draw(st.integers(3, 68))
        ch = draw(
            st.one_of(
                st.characters(min_codepoint=0x80, codec="utf-8"),
                st.sampled_from(["\t", "\x0b", "\x0c", "\x00", "\x7f"]),
            )
        )
        line = kit.with_checksum(line[: col - 1] + ch + line[col:])
    elif kind == "letter in a number":
        col = draw(st.sampled_from([c for c in NUMERIC_COLUMNS[row] if c != 69]))
        line = kit.with_checksum(line[: col - 1] + draw(st.sampled_from("AQXZaqxz")) + line[col:])
    elif kind == "checksum":
        wrong = (int(line[68]) + draw(st.integers(1, 9))) % 10
        line = line[:68] + str(wrong)
    elif kind == "length":
        cut = draw(st.integers(10, 68))
        # (a trailing blank would be stripped, as in real files: not an invalid edit)
        line = line[:cut] if draw(st.booleans()) else line + draw(st.sampled_from("0X-"))
    elif kind == "blank column":
        col = draw(st.sampled_from(BLANK_COLUMNS[row]))
        line = kit.with_checksum(line[: col - 1] + draw(st.sampled_from("0X-.")) + line[col:])
    if row == 1:
        l1 = line
    else:
        l2 = line
    sets[k] = (name, l1, l2)
    if kind == "repeat":
        sets.insert(draw(st.integers(k + 1, len(sets))), ("AGAIN", sets[k][1], sets[k][2]))
    elif kind == "order":
        sets[k] = (name, l2, l1)
    elif kind == "only line 1":
        sets[k] = (name, l1, "")
    text = kit.tle_text(sets).replace("\n\n", "\n")
    return kind, text


@kit.budget(60, campaign=1500)
@given(case=invalid_edits())
def test_known_invalid_edits_are_rejected(fuzz, case):
    kind, text = case
    fuzz.check("tle", lambda: parse_tle_text(text), invalid=True, why=f"{kind}: {text!r}"[:900])


@kit.budget(60, campaign=1500)
@given(
    text=kit.tle_sets(min_size=1, max_size=3)
    .map(kit.tle_text)
    .flatmap(lambda t: kit.edited(t, max_edits=4))
)
def test_free_edits_are_accepted_right_or_rejected_cleanly(fuzz, text):
    fuzz.check("tle", lambda: parse_tle_text(text), why=repr(text[:300]), accept_check=right_sets)
    # with skip_bad, whatever is kept must be right too
    fuzz.check(
        "tle",
        lambda: parse_tle_text(text, skip_bad=True),
        why=repr(text[:300]),
        accept_check=right_sets,
    )


@kit.budget(30, campaign=750)
@given(
    data=st.one_of(
        st.binary(max_size=600),
        st.text(max_size=300).map(lambda t: t.encode("utf-8")),
        kit.tle_sets(max_size=2).map(kit.tle_text).map(lambda t: t.encode("utf-16")),
        kit.tle_sets(max_size=2).map(kit.tle_text).map(lambda t: b"\x89PNG\r\n\x1a\n" + t.encode()),
    )
)
def test_any_bytes_as_a_tle_file(fuzz, scratch, data):
    path = scratch / "fuzz.tle"
    path.write_bytes(data)
    binary = any(b < 32 and b not in (9, 10, 13) for b in data) or data[:2] in (
        b"\xff\xfe",
        b"\xfe\xff",
    )

    def binary_said(err):
        if binary and str(err) != f"{path}: not a TLE text file (binary data)":
            return "binary data not reported as such"
        return None

    fuzz.check(
        "tle",
        lambda: read_tle_file(path),
        invalid=binary,
        why=repr(data[:120]),
        accept_check=right_sets,
        reject_check=binary_said,
    )
