"""Fuzz the command line's argument handling, in-process through ``skymesh.cli.main``.

Every input ends in exit 0 (accepted) or exit 2 with exactly one stderr line starting
``error:`` (rejected cleanly): never a traceback, an "internal error" or another
status. Arguments built to be invalid (by an oracle written here: what click reads
as a number, the documented ranges) must be rejected; arguments built to be valid
must be accepted. Only commands that answer in well under a second are run with
valid arguments; the slow ones (latency, access) get invalid arguments only, which
must be refused before any work.
"""

from __future__ import annotations

import math
import os
import re
import sys

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from skymesh.orbits.presets import WALKER_PRESETS

kit = sys.modules["skymesh_tests_fuzzkit"]  # tests/fuzz/fuzzkit.py, loaded by conftest

AT = "2026-01-01T00:00:00Z"
PRESETS = ["starlink-shell1", "starlink-gen1", "oneweb", "kuiper"]
HEAVY = {"run", "sweep", "data", "view", "map", "plot", "latency", "access"}
"""Commands whose valid runs take seconds to minutes (or the network): never run valid."""


@pytest.fixture(scope="module", autouse=True)
def empty_cwd(tmp_path_factory):
    """Run every case in an empty folder, and check that none of them wrote anything."""
    here = tmp_path_factory.mktemp("cli-cwd")
    old = os.getcwd()
    os.chdir(here)
    try:
        yield here
    finally:
        os.chdir(old)
    assert not list(here.iterdir()), "a fuzzed command wrote files"


PLAIN_NUMBER = re.compile(r"\s*[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?\s*", re.ASCII)
PLAIN_INT = re.compile(r"\s*[+-]?[0-9]+\s*", re.ASCII)


def number_verdict(text: str, integer: bool, ok) -> bool | None:
    """True: a plain ASCII number that ``ok`` accepts; False: no number at all (Python
    cannot read it either) or one ``ok`` refuses; None: forms only some parsers read
    ("1_0", "٤١", "1e1" for an int), where either answer is fine."""
    try:
        x = int(text) if integer else float(text)
    except ValueError:
        return False
    if not ok(x):
        return False
    return True if (PLAIN_INT if integer else PLAIN_NUMBER).fullmatch(text) else None


NUMBERISH = st.one_of(
    st.integers(-5, 100).map(str),
    st.floats().map(repr),
    kit.NUMBER_WORDS,
    st.text(max_size=6),
    st.sampled_from(["89.99", "90", "0", "-0", "1e1", "25", " 7 "]),
)


def elevation_ok(text):
    return number_verdict(text, False, lambda x: math.isfinite(x) and 0 <= x < 90)


def limit_ok(text):
    return number_verdict(text, True, lambda n: n >= 1)


PLACES_VALID = st.one_of(
    st.tuples(st.floats(-90, 90), st.floats(-180, 180)).map(lambda p: f"{p[0]:.3f},{p[1]:.3f}"),
    st.sampled_from(["Paris", "Paris, FR", "Luanda", "-22.9,-43.2"]),
)
PLACES_INVALID = st.sampled_from(["45,", "45,abc", "91,0", "0,181", "", "   ", "1.2.3,4"])


@st.composite
def visible_args(draw):
    """``visible`` with each part valid, invalid, or unknown; and the verdict."""
    if draw(st.booleans()):  # every part valid
        argv = [
            "visible",
            draw(PLACES_VALID),
            "--at",
            draw(st.sampled_from([AT, "2026-03-01T12:30:00+01:00"])),
        ]
        if draw(st.booleans()):
            argv += ["--min-elevation", f"{draw(st.floats(0, 89.99)):.2f}"]
        if draw(st.booleans()):
            argv += ["--limit", str(draw(st.integers(1, 50)))]
        if draw(st.booleans()):
            argv += ["-c", draw(st.sampled_from(sorted(WALKER_PRESETS)))]
        if draw(st.booleans()):
            argv.append("--json")
        return argv, True, False
    verdicts = []
    argv = ["visible"]
    kind = draw(st.sampled_from(["valid", "invalid", "missing"]))
    if kind == "valid":
        argv.append(draw(PLACES_VALID))
        verdicts.append(True)
    elif kind == "invalid":
        argv.append(draw(PLACES_INVALID))
        verdicts.append(False)
    else:
        verdicts.append(False)
    argv += [
        "--at",
        draw(
            st.one_of(
                st.just(AT),
                st.just("2026-03-01T12:30:00+01:00"),
                st.sampled_from(["yesterday", "2026-13-01", "", "now!"]),
            )
        ),
    ]
    verdicts.append(argv[-1] in (AT, "2026-03-01T12:30:00+01:00"))
    if draw(st.booleans()):
        value = draw(NUMBERISH)
        argv += ["--min-elevation", value]
        verdicts.append(elevation_ok(value))
    if draw(st.booleans()):
        value = draw(NUMBERISH)
        argv += ["--limit", value]
        verdicts.append(limit_ok(value))
    if draw(st.booleans()):
        value = draw(st.one_of(st.sampled_from(PRESETS), st.text(max_size=8)))
        argv += [draw(st.sampled_from(["-c", "--constellation"])), value]
        known = value.strip().lower() in WALKER_PRESETS  # TLE presets need a snapshot
        verdicts.append(True if known else (False if value.strip() else None))
    if draw(st.booleans()):
        argv.append("--json")
    if draw(st.integers(0, 9)) == 0:
        argv.append(draw(st.sampled_from(["--nosuchflag", "--limit", "-x", "extra-arg"])))
        verdicts.append(False)
    valid = all(v is True for v in verdicts)
    invalid = any(v is False for v in verdicts)
    return argv, valid, invalid


@kit.budget(20, campaign=400)
@given(case=visible_args())
def test_visible_arguments(fuzz, case):
    argv, valid, invalid = case
    fuzz.cli(argv, invalid=invalid, valid=valid)


@st.composite
def slow_command_invalid_args(draw):
    """``latency`` / ``access`` with one argument that must be refused before any work."""
    command = draw(st.sampled_from(["latency", "access"]))
    places = ["48.85,2.35", "-8.84,13.23"] if command == "latency" else ["48.85,2.35"]
    flag, value = draw(
        st.sampled_from(
            [
                ("--duration", "abc"),
                ("--duration", "inf"),
                ("--duration", "nan"),
                ("--duration", "-1"),
                ("--duration", "1e9"),
                ("--step", "0"),
                ("--step", "-5"),
                ("--step", "nan"),
                ("--step", "x"),
                ("--min-elevation", "90"),
                ("--min-elevation", "-0.5"),
                ("--min-elevation", "nan"),
                ("--mode", "laser"),
                ("--start", "yesterday"),
                ("--nosuchflag", None),
                ("--out", "table.xlsx"),
                ("--load", "1.5") if command == "access" else ("--mode", ""),
            ]
        )
    )
    argv = [command] + places + [flag] + ([] if value is None else [value])
    if draw(st.booleans()):
        argv.append("--json")
    if draw(st.integers(0, 4)) == 0:
        argv = [command]  # missing places
    return argv


@kit.budget(12, campaign=200)
@given(argv=slow_command_invalid_args())
def test_slow_commands_refuse_bad_arguments_before_work(fuzz, argv):
    fuzz.cli(argv, invalid=True)


TOKENS = st.one_of(
    st.sampled_from(
        [
            "visible",
            "info",
            "constellations",
            "scenarios",
            "cost",
            "--help",
            "-h",
            "--version",
            "--json",
            "--limit",
            "--at",
            AT,
            "--min-elevation",
            "-c",
            "starlink-shell1",
            "iran-2022",
            "ukraine-2022",
            "Paris",
            "45,2",
            "-22.9,-43.2",
            "--skip-bad",
            "--",
            "-",
            "--=",
            "-1",
            "visble",
            "infoo",
        ]
    ),
    st.text(max_size=8),
    kit.NUMBER_WORDS,
)


@kit.budget(30, campaign=600)
@given(argv=st.lists(TOKENS, max_size=6))
def test_free_form_argv_is_accepted_or_one_clean_line(fuzz, argv):
    assume(not HEAVY & set(argv))
    fuzz.cli(argv)


def test_found_by_the_campaign(fuzz):
    """What `make fuzz` found, kept as fixed cases: an empty --at was taken as "the
    default time", and a usage error echoed a tab and a C1 control character raw."""
    assert fuzz.cli(["visible", "0,0", "--at", ""], invalid=True)[0] == "rejected"
    assert fuzz.cli(["scenarios", "a\tb\x90\U00104964"], invalid=True)[0] == "rejected"
    assert fuzz.cli(["visble", "x\ry"], invalid=True)[0] == "rejected"
