"""A results folder cannot be turned against the user (issue 20 §4).

A lock file planted as a symlink or hard link, a symlink anywhere inside a results
folder, an input file changed between start and ``--resume``, a different SkyMesh
version, and a tampered ``run.json``: each is one line on stderr with exit status 2,
and nothing outside the folder is written or deleted.
"""

import json
import os
import textwrap

import pytest

from skymesh.cli import main
from skymesh.files import folder_lock, lock_path
from skymesh.sim.run import run_scenario
from skymesh.sim.scenario import load_scenario

GATEWAYS = """
[[gateway]]
name = "Muallim"
lat = 40.789
lon = 29.509
country = "TR"
"""

POPS = """
[[pop]]
name = "Istanbul"
lat = 41.01
lon = 28.97
country = "TR"
"""

CITIES = "0,Tehran,35.6892,51.389,0\n1,Mashhad,36.297,59.6062,0\n2,Isfahan,32.6539,51.666,0\n"

SCENARIO = """
name = "trust"
seed = 3
gateways_file = "gateways.toml"
pops_file = "pops.toml"
[constellation]
preset = "starlink-shell1"
[time]
start = 2026-01-01T00:00:00Z
duration_s = 60
step_s = 10
[[terminals]]
file = "cities.txt"
[metrics]
wanted = ["service", "rtt", "figures"]
[output]
chunk_steps = 2
"""


@pytest.fixture()
def scenario(tmp_path):
    folder = tmp_path / "scen"
    folder.mkdir()
    (folder / "gateways.toml").write_text(textwrap.dedent(GATEWAYS))
    (folder / "pops.toml").write_text(textwrap.dedent(POPS))
    (folder / "cities.txt").write_text(CITIES)
    p = folder / "trust.toml"
    p.write_text(textwrap.dedent(SCENARIO))
    return p


@pytest.fixture()
def outside(tmp_path):
    """A folder of the user's outside any results folder, with one file in it."""
    d = tmp_path / "mine"
    d.mkdir()
    (d / "keep.txt").write_text("mine")
    return d


def _snapshot(folder):
    return {
        str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None
        for p in sorted(folder.rglob("*"))
    }


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and "internal error" not in err
    assert "Traceback" not in err
    return lines[0]


def _interrupted(scenario, out):
    state = run_scenario(load_scenario(scenario), out, stop_after=1)
    assert state.get("interrupted"), state
    return out


# --------------------------------------------------------------------------- lock file


def test_a_lock_planted_as_a_symlink_is_refused_and_not_written_through(
    tmp_path, scenario, outside, capsys
):
    out = tmp_path / "res"
    victim = outside / "keep.txt"
    lock_path(out).symlink_to(victim)
    assert main(["run", str(scenario), "--out", str(out)]) == 2
    line = _one_error_line(capsys)
    assert str(lock_path(out)) in line and "symlink" in line
    assert victim.read_text() == "mine"
    assert lock_path(out).is_symlink()  # left as it was, for the user to look at


def test_a_lock_planted_as_a_hard_link_is_refused(tmp_path, outside):
    out = tmp_path / "res"
    victim = outside / "keep.txt"
    os.link(victim, lock_path(out))
    with pytest.raises(Exception, match="hard link") as info:
        with folder_lock(out):
            pass
    assert type(info.value).__name__ == "SkyMeshError"
    assert victim.read_text() == "mine"


def test_a_lock_planted_as_a_fifo_is_refused_without_hanging(tmp_path):
    out = tmp_path / "res"
    os.mkfifo(lock_path(out))
    with pytest.raises(Exception, match="FIFO"):
        with folder_lock(out):
            pass


# --------------------------------------------------------------------------- symlinks inside


@pytest.mark.parametrize("name", ["timeseries.parquet", "figures"])
def test_resume_through_a_symlinked_folder_writes_and_deletes_nothing_outside(
    tmp_path, scenario, outside, capsys, name
):
    out = _interrupted(scenario, tmp_path / "res")
    inside = out / name
    if inside.exists():  # move the real parts outside, and leave a link in their place
        for p in inside.iterdir():
            p.rename(outside / p.name)
        inside.rmdir()
    # a leftover-looking file a run would delete if it followed the link
    (outside / ".part-00000.parquet.abc").write_text("mine too")
    inside.symlink_to(outside, target_is_directory=True)
    before = _snapshot(outside)
    assert main(["run", str(scenario), "--out", str(out), "--resume"]) == 2
    line = _one_error_line(capsys)
    assert str(inside) in line and "symlink" in line
    assert _snapshot(outside) == before


@pytest.mark.parametrize("name", ["run.json", "timeseries.parquet/part-00000.parquet"])
def test_resume_with_a_symlinked_file_is_refused(tmp_path, scenario, outside, capsys, name):
    out = _interrupted(scenario, tmp_path / "res")
    real = out / name
    moved = outside / "moved"
    real.rename(moved)
    real.symlink_to(moved)
    before = _snapshot(outside)
    assert main(["run", str(scenario), "--out", str(out), "--resume"]) == 2
    line = _one_error_line(capsys)
    assert str(real) in line and "symlink" in line
    assert _snapshot(outside) == before


# --------------------------------------------------------------------------- inputs


@pytest.mark.parametrize(
    "key, file, edit",
    [
        ("gateways_file", "gateways.toml", ("29.509", "29.6")),
        ("pops_file", "pops.toml", ("28.97", "29.5")),
        ("terminals.1.file", "cities.txt", ("51.389", "51.5")),
    ],
)
def test_resume_after_an_input_file_changed_is_refused(tmp_path, scenario, capsys, key, file, edit):
    out = _interrupted(scenario, tmp_path / "res")
    state = json.loads((out / "run.json").read_text())
    assert state["inputs"][key]["path"] == str(scenario.parent / file)
    before = _snapshot(out)
    path = scenario.parent / file
    path.write_text(path.read_text().replace(*edit))
    assert main(["run", str(scenario), "--out", str(out), "--resume"]) == 2
    line = _one_error_line(capsys)
    assert key in line and str(path) in line and "changed" in line
    assert _snapshot(out) == before


def test_resume_after_an_input_file_vanished_is_refused(tmp_path, scenario, capsys):
    out = _interrupted(scenario, tmp_path / "res")
    (scenario.parent / "pops.toml").unlink()
    assert main(["run", str(scenario), "--out", str(out), "--resume"]) == 2
    assert "pops_file" in _one_error_line(capsys)


def test_resume_under_another_skymesh_version_is_refused(tmp_path, scenario, capsys):
    out = _interrupted(scenario, tmp_path / "res")
    state = json.loads((out / "run.json").read_text())
    state["skymesh_version"] = "0.0.1"
    (out / "run.json").write_text(json.dumps(state))
    assert main(["run", str(scenario), "--out", str(out), "--resume"]) == 2
    line = _one_error_line(capsys)
    assert "0.0.1" in line and "--force" in line


# --------------------------------------------------------------------------- run.json


def _tamper(state: dict, how: str):
    # (not JSON, not an object and a chunks string were one line already: see the fuzz test)
    if how == "short chunks":
        state["chunks"] = state["chunks"][:1]
    elif how == "appended huge chunk":
        last = state["chunks"][-1][1]
        state["chunks"].append([last, last + 10**12])
    elif how == "done out of range":
        state["done"] = [0, 10**6]
    elif how == "done as text":
        state["done"] = ["0"]
    elif how == "seed as bool":
        state["seed"] = True
    elif how == "part record of the wrong type":
        key = next(iter(state["parts"]))
        state["parts"][key] = {"bytes": "12", "rows": 1, "sha256": "x"}
    elif how == "nested deeply":
        state["overrides"] = {"deep": "HERE"}
        return json.dumps(state).replace('"HERE"', "[" * 5000 + "]" * 5000)
    return json.dumps(state)


@pytest.mark.parametrize(
    "how",
    [
        "short chunks",
        "appended huge chunk",
        "done out of range",
        "done as text",
        "seed as bool",
        "part record of the wrong type",
        "nested deeply",
    ],
)
def test_a_tampered_run_json_is_one_line(tmp_path, scenario, capsys, how):
    out = _interrupted(scenario, tmp_path / "res")
    state = json.loads((out / "run.json").read_text())
    (out / "run.json").write_text(_tamper(state, how))
    before = _snapshot(out)
    assert main(["run", str(scenario), "--out", str(out), "--resume"]) == 2
    line = _one_error_line(capsys)
    assert "run.json" in line
    assert _snapshot(out) == before


def test_a_huge_run_json_is_refused_unread(tmp_path, scenario, capsys, monkeypatch):
    import skymesh.sim.run as run

    out = _interrupted(scenario, tmp_path / "res")
    monkeypatch.setattr(run, "MANIFEST_MAX_BYTES", 4096)
    with open(out / "run.json", "a") as fh:
        fh.write(" " * 8192)
    assert main(["run", str(scenario), "--out", str(out), "--resume"]) == 2
    assert "run.json" in _one_error_line(capsys)


TLE_SCENARIO = """
name = "trust-tle"
seed = 3
[constellation]
{source}
[time]
start = 2025-12-04T00:00:00Z
duration_s = 60
step_s = 10
[[terminals]]
points = [[35.7, 51.4]]
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


def test_resume_after_the_tle_file_changed_is_refused(tmp_path, starlink_tle_path, capsys):
    lines = starlink_tle_path.read_text().splitlines(keepends=True)
    tle = tmp_path / "fleet.tle"
    tle.write_text("".join(lines[:60]))  # 20 satellites
    scen = tmp_path / "tle.toml"
    scen.write_text(textwrap.dedent(TLE_SCENARIO.format(source=f'file = "{tle}"')))
    out = _interrupted(scen, tmp_path / "res")
    tle.write_text("".join(lines[:57]))  # one satellite fewer
    assert main(["run", str(scen), "--out", str(out), "--resume"]) == 2
    line = _one_error_line(capsys)
    assert "constellation.file" in line and str(tle) in line and "changed" in line


def test_resume_after_a_newer_tle_snapshot_arrived_is_refused(
    tmp_path, starlink_tle_path, capsys, monkeypatch
):
    """A TLE preset reads the newest snapshot in the data directory: a new one (`skymesh
    data update`) would change the satellites half-way through the run."""
    data = tmp_path / "data"
    data.mkdir()
    lines = starlink_tle_path.read_text().splitlines(keepends=True)
    (data / "starlink_tle_20251204.txt").write_text("".join(lines[:60]))
    monkeypatch.setenv("SKYMESH_DATA", str(data))
    scen = tmp_path / "tle.toml"
    scen.write_text(textwrap.dedent(TLE_SCENARIO.format(source='preset = "starlink-tle"')))
    out = _interrupted(scen, tmp_path / "res")
    (data / "starlink_tle_20251205.txt").write_text("".join(lines[:60]))
    assert main(["run", str(scen), "--out", str(out), "--resume"]) == 2
    line = _one_error_line(capsys)
    assert "constellation.preset" in line and "starlink_tle_20251205.txt" in line
