"""Fuzz the scenario loader (and the --set overrides it takes): every value of a valid
scenario replaced by values of the wrong kind must be rejected naming the key's file,
line and field; any other replacement or text edit is accepted with values of the
declared kind or rejected with one clean line."""

from __future__ import annotations

import math
import sys

from hypothesis import given
from hypothesis import strategies as st

from skymesh.sim.scenario import MIN_STEP_S, load_scenario

kit = sys.modules["skymesh_tests_fuzzkit"]  # tests/fuzz/fuzzkit.py, loaded by conftest

BASE = """\
name = "fuzz"
description = "a scenario the fuzz tests edit"
seed = 1
study = "egress"
[constellation]
preset = "starlink-shell1"
j2 = false
[time]
start = 2026-01-01T00:00:00Z
duration_s = 60
step_s = 10
[routing]
mode = "isl"
min_elevation_deg = 25
compare_bent_pipe = true
[[terminals]]
country = "IR"
count = 5
[[terminals]]
name = "Tehran"
points = [[35.69, 51.39]]
[[gateways]]
name = "Muallim"
lat = 40.8
lon = 29.5
country = "TR"
[[failures]]
kind = "satellites"
fraction = 0.05
seed = 7
[output]
chunk_steps = 3
"""

NUMBER = {"int", "float"}
# The kinds of TOML value each key of BASE may take (from the scenario schema).
KINDS = {
    ("name",): {"str"},
    ("description",): {"str"},
    ("seed",): {"int"},
    ("study",): {"str"},
    ("constellation", "preset"): {"str"},
    ("constellation", "j2"): {"bool"},
    ("time", "start"): {"datetime", "str"},
    ("time", "duration_s"): NUMBER,
    ("time", "step_s"): NUMBER,
    ("routing", "mode"): {"str"},
    ("routing", "min_elevation_deg"): NUMBER,
    ("routing", "compare_bent_pipe"): {"bool"},
    ("terminals", 0, "country"): {"str"},
    ("terminals", 0, "count"): {"int"},
    ("terminals", 1, "name"): {"str"},
    ("terminals", 1, "points"): {"list"},
    ("gateways", 0, "name"): {"str"},
    ("gateways", 0, "lat"): NUMBER,
    ("gateways", 0, "lon"): NUMBER,
    ("gateways", 0, "country"): {"str"},
    ("failures", 0, "kind"): {"str"},
    ("failures", 0, "fraction"): NUMBER,
    ("failures", 0, "seed"): {"int"},
    ("output", "chunk_steps"): {"int"},
}
LINES = {loc: line for line, loc in kit.dotted_keys(BASE).items()}
assert set(LINES) == set(KINDS)


def field(loc) -> str:
    return ".".join(map(str, loc))


def load(scratch, text):
    path = scratch / "scenario.toml"
    path.write_text(text, encoding="utf-8")
    return lambda: load_scenario(path)


def invariants(loaded) -> str | None:
    """Why an accepted scenario breaks the schema's promises (None when it does not)."""
    s = loaded.scenario
    ints = (
        [s.seed]
        + [f.seed for f in s.failures]
        + [t.count for t in s.terminals if t.count is not None]
    )
    if any(type(x) is not int or x < 0 for x in ints):
        return f"an integer field holds {ints!r}"
    floats = (
        [s.time.duration_s, s.time.step_s, s.routing.min_elevation_deg]
        + [x for g in s.gateways for x in (g.lat, g.lon)]
        + [x for t in s.terminals for p in (t.points or ()) for x in p]
    )
    if any(type(x) is not float or not math.isfinite(x) for x in floats):
        return f"a number field holds {floats!r}"
    if not MIN_STEP_S <= s.time.step_s <= s.time.duration_s:
        return f"step {s.time.step_s!r} s accepted"
    if any(t.points is not None and not t.points for t in s.terminals):
        return "an empty points list accepted"
    return None


def test_base_is_valid(scratch, fuzz):
    fuzz.check(
        "scenario",
        load(scratch, BASE),
        valid=True,
        why="the base scenario",
        accept_check=invariants,
    )


@st.composite
def wrong_kind(draw):
    """A key of BASE and a value of a kind it never takes (or out of its range)."""
    loc = draw(st.sampled_from(sorted(KINDS, key=str)))
    kinds = KINDS[loc]
    if kinds == NUMBER:
        value = draw(
            st.one_of(
                kit.NUMBER_WORDS, st.booleans(), st.sampled_from([math.nan, math.inf, -math.inf])
            )
        )
    elif kinds == {"int"}:
        value = draw(
            st.one_of(
                kit.NUMBER_WORDS,
                st.booleans(),
                st.sampled_from([5.0, 1.5, -0.0, 7e3]),
                st.integers(max_value=-1),
            )
        )
    elif kinds == {"bool"}:
        value = draw(st.one_of(st.sampled_from([0, 1, "true", "false", "yes", 1.0]), st.integers()))
    elif loc[-1] == "points":
        value = draw(
            st.sampled_from(
                [
                    [],
                    [["35.7", 51.4]],
                    [[35.7]],
                    [[True, 2]],
                    [[35.7, 51.4, 3]],
                    [[91, 0]],
                    [[0, 181]],
                    [[math.nan, 0]],
                    "35.7,51.4",
                    [35.7, 51.4],
                ]
            )
        )
    else:  # text keys
        value = draw(
            st.one_of(
                st.booleans(),
                st.integers(),
                st.floats(allow_nan=False),
                st.lists(st.text(max_size=3), max_size=2),
            )
        )
    return loc, value


@kit.budget(60, campaign=1500)
@given(case=wrong_kind())
def test_wrong_kinds_are_rejected_naming_file_line_field(scratch, fuzz, case):
    loc, value = case
    text = kit.replace_value(BASE, LINES[loc], value)
    path = scratch / "scenario.toml"

    fuzz.check(
        "scenario",
        load(scratch, text),
        invalid=True,
        why=f"{field(loc)} = {kit.toml_literal(value)}",
        reject_check=kit.names_location(path, LINES[loc], field(loc)),
    )


@kit.budget(30, campaign=500)
@given(
    step=st.one_of(
        st.floats(min_value=5e-324, max_value=MIN_STEP_S, exclude_max=True),
        st.floats(max_value=0.0),
        st.sampled_from([1e-300, 0, -1]),
    )
)
def test_absurd_steps_are_rejected(scratch, fuzz, step):
    text = kit.replace_value(BASE, LINES[("time", "step_s")], step)
    fuzz.check(
        "scenario",
        load(scratch, text),
        invalid=True,
        why=f"step_s = {step!r}",
        reject_check=lambda e: None if e.field == "time.step_s" else "not time.step_s",
    )


@kit.budget(80, campaign=2000)
@given(loc=st.sampled_from(sorted(KINDS, key=str)), value=kit.toml_values)
def test_any_value_is_taken_as_its_kind_or_rejected(scratch, fuzz, loc, value):
    text = kit.replace_value(BASE, LINES[loc], value)

    def right_kind(loaded):
        if kit.category(value) not in KINDS[loc]:
            return f"a {kit.category(value)} taken for {field(loc)}"
        if loc[-1] == "points" and any(
            kit.category(x) not in NUMBER
            for p in value
            for x in (p if isinstance(p, list) else [p])
        ):
            return "a point that is not numbers"
        return invariants(loaded)

    fuzz.check(
        "scenario",
        load(scratch, text),
        why=f"{field(loc)} = {kit.toml_literal(value)}",
        accept_check=right_kind,
    )


@kit.budget(60, campaign=1500)
@given(text=kit.edited(BASE, max_edits=3))
def test_text_edits_are_accepted_right_or_rejected_cleanly(scratch, fuzz, text):
    fuzz.check("scenario", load(scratch, text), why=repr(text), accept_check=invariants)


OVERRIDE_KEYS = st.one_of(
    st.sampled_from(
        [field(loc) for loc in KINDS]
        + [
            "time",
            "terminals",
            "terminals.0",
            "terminals.9.count",
            "terminals.x.count",
            "terminals.-1.count",
            "time.start.year",
            "policy.default_service",
            "seed.x",
            "",
            ".",
            "..",
            "gateways.0",
            "metrics.wanted",
            "output.chunk_steps.0",
        ]
    ),
    st.lists(
        st.sampled_from(["time", "terminals", "0", "1", "count", "x", "", "-1", "99"]),
        min_size=1,
        max_size=4,
    ).map(".".join),
)


@kit.budget(60, campaign=1500)
@given(key=OVERRIDE_KEYS, value=kit.toml_values)
def test_set_overrides_are_accepted_right_or_rejected_cleanly(scratch, fuzz, key, value):
    """``skymesh run SCENARIO --set key=value``: the dotted key and the value are the
    user's text (the value as TOML reads it)."""
    path = scratch / "base.toml"
    path.write_text(BASE, encoding="utf-8")
    fuzz.check(
        "scenario",
        lambda: load_scenario(path, {key: value}),
        why=f"--set {key}={kit.toml_literal(value)}",
        accept_check=invariants,
    )
