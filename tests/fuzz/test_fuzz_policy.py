"""Fuzz the policy loader: wrong kinds, unknown codes and broken intervals are rejected
naming file, line and field; any other value or text edit is accepted with values of
the declared kind (and compiles to timelines) or rejected with one clean line."""

from __future__ import annotations

import sys

from hypothesis import given
from hypothesis import strategies as st

from skymesh.policy.rules import exit_allowed, load_policy, service_active

kit = sys.modules["skymesh_tests_fuzzkit"]  # tests/fuzz/fuzzkit.py, loaded by conftest

BASE = """\
description = "fuzz policy"
default_service = "active"
default_landing_rights = true
exit_countries = "any"
[[country]]
iso2 = "IR"
censoring = true
exit_countries = ["TR", "AE", "DE"]
[[country.service]]
state = "inactive"
until = 2022-09-23T00:00:00Z
[[country.service]]
state = "active"
from = 2022-09-23T00:00:00Z
[[landing]]
iso2 = "PL"
state = "granted"
from = 2022-03-01T00:00:00Z
until = 2025-01-01T00:00:00Z
"""

TIME = {"datetime", "str"}
KINDS = {
    ("description",): {"str"},
    ("default_service",): {"str"},
    ("default_landing_rights",): {"bool"},
    ("exit_countries",): {"str", "list"},
    ("country", 0, "iso2"): {"str"},
    ("country", 0, "censoring"): {"bool"},
    ("country", 0, "exit_countries"): {"list"},
    ("country", 0, "service", 0, "state"): {"str"},
    ("country", 0, "service", 0, "until"): TIME,
    ("country", 0, "service", 1, "state"): {"str"},
    ("country", 0, "service", 1, "from"): TIME,
    ("landing", 0, "iso2"): {"str"},
    ("landing", 0, "state"): {"str"},
    ("landing", 0, "from"): TIME,
    ("landing", 0, "until"): TIME,
}
LINES = {loc: line for line, loc in kit.dotted_keys(BASE).items()}
assert set(LINES) == set(KINDS), set(LINES) ^ set(KINDS)
TIMES = ["2022-01-01T00:00:00Z", "2022-09-23T00:00:00Z", "2024-06-01T00:00:00Z"]


def field(loc) -> str:
    return ".".join(map(str, loc))


def load(scratch, text):
    path = scratch / "policy.toml"
    path.write_text(text, encoding="utf-8")
    return lambda: load_policy(path)


def queries_work(policy) -> str | None:
    """An accepted policy answers queries with boolean arrays of the right shape."""
    s = service_active(policy, ["IR", "PL", ""], TIMES)
    e = exit_allowed(policy, "IR", ["TR", "IR", "PL"], TIMES)
    if s.shape != (3, 3) or s.dtype != bool or e.shape != (3, 3) or e.dtype != bool:
        return f"queries gave {s.shape} {s.dtype}, {e.shape} {e.dtype}"
    if "IR" in policy.censoring and e[1].any():
        return "a censoring country exits at its own gateway"
    return None


def test_base_is_valid(scratch, fuzz):
    fuzz.check(
        "policy", load(scratch, BASE), valid=True, why="the base policy", accept_check=queries_work
    )


@st.composite
def wrong_values(draw):
    loc = draw(st.sampled_from(sorted(KINDS, key=str)))
    kinds, key = KINDS[loc], loc[-1]
    if key == "iso2":
        value = draw(st.sampled_from(["QQ", "ZZ", "IRN", "", "I", 12, True, ["IR"]]))
    elif key == "state" or key == "default_service":
        value = draw(
            st.one_of(
                st.sampled_from(["on", "ACTIVE ", "open", "", True, 1]),
                st.text(min_size=1, max_size=8).filter(
                    lambda t: t not in ("active", "inactive", "granted", "denied")
                ),
            )
        )
    elif kinds == {"bool"}:
        value = draw(st.sampled_from([0, 1, "true", "yes", 1.0, []]))
    elif kinds == TIME:
        value = draw(st.sampled_from(["yesterday", "2022-13-01", 2022, True, 1.5, [], ""]))
    elif key == "exit_countries":
        value = draw(st.sampled_from(["all", ["TR", "XX"], ["TR", 7], [True], "TR", 3]))
    else:  # description
        value = draw(st.sampled_from([1, True, 2.5, ["x"]]))
    return loc, value


@kit.budget(60, campaign=1500)
@given(case=wrong_values())
def test_wrong_values_are_rejected_naming_file_line_field(scratch, fuzz, case):
    loc, value = case
    text = kit.replace_value(BASE, LINES[loc], value)
    path = scratch / "policy.toml"

    fuzz.check(
        "policy",
        load(scratch, text),
        invalid=True,
        why=f"{field(loc)} = {kit.toml_literal(value)}",
        reject_check=kit.names_location(path, LINES[loc], field(loc)),
    )


BROKEN_INTERVALS = [
    # (line to change, new value, what is wrong)
    (("landing", 0, "until"), "2021-01-01T00:00:00Z", "until before from"),
    (("landing", 0, "until"), "2022-03-01T00:00:00Z", "an empty interval"),
    (("country", 0, "service", 0, "until"), "2022-10-01T00:00:00Z", "overlapping service"),
    (("country", 0, "service", 1, "from"), "2022-09-01T00:00:00Z", "overlapping service"),
]


@kit.budget(10, campaign=100)
@given(case=st.sampled_from(BROKEN_INTERVALS))
def test_broken_intervals_are_rejected(scratch, fuzz, case):
    loc, when, what = case
    lines = BASE.split("\n")
    lines[LINES[loc] - 1] = f"{loc[-1]} = {when}"
    fuzz.check("policy", load(scratch, "\n".join(lines)), invalid=True, why=what)


@kit.budget(80, campaign=2000)
@given(loc=st.sampled_from(sorted(KINDS, key=str)), value=kit.toml_values)
def test_any_value_is_taken_as_its_kind_or_rejected(scratch, fuzz, loc, value):
    text = kit.replace_value(BASE, LINES[loc], value)

    def right_kind(policy):
        if kit.category(value) not in KINDS[loc]:
            return f"a {kit.category(value)} taken for {field(loc)}"
        return queries_work(policy)

    fuzz.check(
        "policy",
        load(scratch, text),
        why=f"{field(loc)} = {kit.toml_literal(value)}",
        accept_check=right_kind,
    )


@kit.budget(60, campaign=1500)
@given(text=kit.edited(BASE, max_edits=3))
def test_text_edits_are_accepted_right_or_rejected_cleanly(scratch, fuzz, text):
    fuzz.check("policy", load(scratch, text), why=repr(text), accept_check=queries_work)
