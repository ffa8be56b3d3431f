"""Fuzz ``skymesh run --resume`` against results folders turned against the user (issue 20 §7).

An interrupted run's folder is copied and then planted with symlinks (to a folder or
file of the user's outside it, or dangling: in place of a part, ``timeseries.parquet/``,
``figures/``, ``run.json``, the lock file beside the folder) and its ``run.json`` is
tampered with (keys set to random JSON, keys deleted, chunks cut, appended or
reordered, done lists and part records changed, the text cut short or extended).
Every case must end in exit 2 with one line (rejected cleanly) or in a resume whose
table is exactly that of a run never interrupted (accepted); and in every case
nothing outside the results folder is written or deleted.
"""

from __future__ import annotations

import itertools
import json
import shutil
import sys
import textwrap

import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from skymesh.files import lock_path

kit = sys.modules["skymesh_tests_fuzzkit"]  # tests/fuzz/fuzzkit.py, loaded by conftest

SCENARIO = """
name = "fuzz-results"
seed = 4
[constellation]
preset = "starlink-shell1"
[time]
start = 2026-01-01T00:00:00Z
duration_s = 60
step_s = 10
[[terminals]]
country = "IR"
count = 3
[[gateways]]
name = "Muallim"
lat = 40.789
lon = 29.509
country = "TR"
[metrics]
wanted = ["service", "rtt"]
[output]
chunk_steps = 2
"""

PLACES = [
    "run.json",
    "scenario.toml",
    "timeseries.parquet",
    "timeseries.parquet/part-00000.parquet",
    "timeseries.parquet/part-00001.parquet",
    "timeseries.parquet/.part-00002.parquet.tmp1",
    "figures",
    "summary.json",
    "report.md",
    "LOCK",
]
"""Where a symlink is planted ("LOCK": the lock file beside the folder)."""

KEYS = [
    "skymesh_version",
    "scenario",
    "scenario_source",
    "scenario_sha256",
    "seed",
    "overrides",
    "inputs",
    "chunks",
    "done",
    "parts",
    "started_utc",
    "finished",
]

_case = itertools.count()


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """(scenario file, an interrupted run's folder, the uninterrupted run's table)."""
    from skymesh.sim.run import run_scenario
    from skymesh.sim.scenario import load_scenario

    root = tmp_path_factory.mktemp("fuzz-results")
    scen = root / "fuzz.toml"
    scen.write_text(textwrap.dedent(SCENARIO))
    loaded = load_scenario(scen)
    whole = root / "whole"
    run_scenario(loaded, whole)
    part = root / "interrupted"
    assert run_scenario(loaded, part, stop_after=2).get("interrupted")
    return scen, part, pq.read_table(whole / "timeseries.parquet")


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)

plants = st.lists(
    st.tuples(st.sampled_from(PLACES), st.sampled_from(["dir", "file", "dangling"])),
    max_size=2,
    unique_by=lambda p: p[0],
)

tampers = st.lists(
    st.one_of(
        st.tuples(st.just("set"), st.sampled_from(KEYS), json_values),
        st.tuples(st.just("delete"), st.sampled_from(KEYS), st.none()),
        st.tuples(
            st.just("chunks"),
            st.sampled_from(["cut", "append", "reverse", "shift"]),
            st.integers(0, 2**40),
        ),
        st.tuples(
            st.just("done"), st.sampled_from(["add", "clear", "dup"]), st.integers(-5, 10**6)
        ),
        st.tuples(
            st.just("parts"),
            st.sampled_from(["drop", "size", "sha", "rows", "junk"]),
            st.integers(0, 10**12),
        ),
        st.tuples(st.just("text"), st.sampled_from(["cut", "append", "bom"]), st.integers(0, 4000)),
    ),
    max_size=3,
)


def _tamper(doc: dict, how, what, value):
    if how == "set":
        doc[what] = value
    elif how == "delete":
        doc.pop(what, None)
    elif how == "chunks" and isinstance(doc.get("chunks"), list):
        c = doc["chunks"]
        if what == "cut":
            del c[-1:]
        elif what == "append":
            c.append([c[-1][1] if c else 0, value])
        elif what == "reverse":
            c.reverse()
        else:
            doc["chunks"] = [[a + value % 7, b + value % 7] for a, b in c]
    elif how == "done" and isinstance(doc.get("done"), list):
        if what == "add":
            doc["done"].append(value)
        elif what == "clear":
            doc["done"] = []
        else:
            doc["done"] = doc["done"] + doc["done"]
    elif how == "parts" and isinstance(doc.get("parts"), dict) and doc["parts"]:
        key = sorted(doc["parts"])[value % len(doc["parts"])]
        rec = doc["parts"][key]
        if what == "drop":
            del doc["parts"][key]
        elif what == "size":
            rec["bytes"] = value
        elif what == "sha":
            rec["sha256"] = f"{value:064x}"[-64:]
        elif what == "rows":
            rec["rows"] = value
        else:
            rec["extra"] = value


def _snapshot(folder):
    return {
        str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else "dir")
        for p in sorted(folder.rglob("*"))
        if not p.is_symlink()
    }


@kit.budget(25)
@given(plant=plants, tamper=tampers)
def test_resume_of_a_planted_folder_is_refused_or_correct(base, scratch, fuzz, plant, tamper):
    scen, interrupted, whole = base
    case = scratch / f"results-{next(_case)}"
    out = case / "res"
    outside = case / "mine"
    outside.mkdir(parents=True)
    (outside / "keep.txt").write_text("mine")
    (outside / ".part-00000.parquet.x").write_text("looks like a leftover, is mine")
    shutil.copytree(interrupted, out, symlinks=True)

    run_json = out / "run.json"
    doc = json.loads(run_json.read_text())
    text_edits = []
    for how, what, value in tamper:
        if how == "text":
            text_edits.append((what, value))
        else:
            _tamper(doc, how, what, value)
    text = json.dumps(doc, indent=1)
    for what, value in text_edits:
        if what == "cut":
            text = text[: value % (len(text) + 1)]
        elif what == "append":
            text += "x" * value
        else:
            text = "\ufeff" + text
    run_json.write_text(text)

    for place, kind in sorted(plant, key=lambda p: -p[0].count("/")):  # deepest first
        where = lock_path(out) if place == "LOCK" else out / place
        target = {
            "dir": outside,
            "file": outside / "keep.txt",
            "dangling": outside / "nothing-here",
        }[kind]
        if where.is_dir() and not where.is_symlink():
            shutil.rmtree(where)
        else:
            where.unlink(missing_ok=True)
        where.parent.mkdir(parents=True, exist_ok=True)
        where.symlink_to(target, target_is_directory=kind == "dir")

    before = _snapshot(outside)
    outcome, code = fuzz.cli(["run", str(scen), "--out", str(out), "--resume"], parser="results")
    why = f"plants {plant}, tampers {tamper}"
    if _snapshot(outside) != before:
        _bad(fuzz, outcome, f"{why}: a file outside the results folder changed")
    elif code == 0 and not pq.read_table(out / "timeseries.parquet").equals(whole):
        _bad(fuzz, outcome, f"{why}: resumed, but the table differs")
    shutil.rmtree(case, ignore_errors=True)


def _bad(fuzz, outcome: str, detail: str) -> None:
    """Count a case the CLI check passed (accepted or rejected cleanly) as bad instead."""
    if outcome == "bad":
        return
    counts = fuzz.counts["results"]
    counts["tried"] -= 1
    counts[outcome] -= 1
    fuzz._record("results", "bad", detail)
