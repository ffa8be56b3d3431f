"""Nothing of the user's is lost (issue 9 §3): one run per folder, atomic files, clean refusals.

Each refusal must be one line on stderr naming the path and the reason, with exit
status 2, and leave what was there untouched.
"""

import errno
import json
import os
import subprocess
import sys
import textwrap
import time

import pyarrow.parquet as pq
import pytest

from skymesh.cli import main
from skymesh.errors import SkyMeshError
from skymesh.files import folder_lock, lock_path
from skymesh.sim.run import run_scenario
from skymesh.sim.scenario import load_scenario

SMALL = """
name = "safety"
seed = 3
[constellation]
preset = "starlink-shell1"
[time]
start = 2026-01-01T00:00:00Z
duration_s = 60
step_s = 10
[[terminals]]
country = "IR"
count = 4
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


@pytest.fixture()
def scenario(tmp_path):
    p = tmp_path / "small.toml"
    p.write_text(textwrap.dedent(SMALL))
    return p


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and "internal error" not in err
    return lines[0]


def test_lock_is_exclusive_and_released(tmp_path):
    out = tmp_path / "res"
    with folder_lock(out):
        assert lock_path(out).exists() and lock_path(out).parent == tmp_path
        with pytest.raises(SkyMeshError, match="another SkyMesh run"):
            with folder_lock(out):
                pass
    assert not lock_path(out).exists()
    with folder_lock(out):  # free again
        pass


def test_a_held_folder_is_refused_before_touching_it(tmp_path, scenario):
    loaded = load_scenario(scenario)
    out = tmp_path / "res"
    run_scenario(loaded, out)
    before = (out / "run.json").read_text()
    with folder_lock(out):
        with pytest.raises(SkyMeshError, match="another SkyMesh run"):
            run_scenario(loaded, out, force=True)
    assert (out / "run.json").read_text() == before
    assert (out / "timeseries.parquet").is_dir()


def _start_slow_run(scenario, out):
    """A run that replaces (--force) an earlier finished run in ``out``: its lock must
    survive the folder being deleted and made again under it."""
    run_scenario(load_scenario(scenario), out)
    cmd = [
        sys.executable,
        "-m",
        "skymesh.cli",
        "run",
        str(scenario),
        "--out",
        str(out),
        "--set",
        "time.duration_s=1800",
        "--set",
        "output.chunk_steps=1",
    ]
    proc = subprocess.Popen(
        cmd + ["--force"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None:
        try:
            state = json.loads((out / "run.json").read_text())
            if state["done"] and state["overrides"]:  # the new run's manifest, not the old
                return proc, cmd
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.02)
    proc.kill()
    pytest.fail(f"the first run did not start writing parts: {proc.stderr.read()}")


def test_second_run_into_a_running_folder_is_refused_even_with_force(tmp_path, scenario):
    """Two real processes: the second `run --force` (and `--resume`) must not touch the first's."""
    from skymesh.sim.run import _part_problem

    out = tmp_path / "res"
    first, cmd = _start_slow_run(scenario, out)
    try:
        started = json.loads((out / "run.json").read_text())["started_utc"]
        seconds = [
            subprocess.Popen(cmd + extra, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for extra in (["--force"], ["--resume"])
        ]
        for second in seconds:
            _, err = second.communicate(timeout=60)
            assert second.returncode == 2, err
            lines = err.splitlines()
            assert len(lines) == 1 and "another SkyMesh run" in lines[0], err
            assert str(out) in lines[0]
        assert first.poll() is None, "the first run ended before the second was refused"
    finally:
        first.kill()
        first.wait()
    # the first run's folder is the one it made: same manifest, every recorded part intact
    state = json.loads((out / "run.json").read_text())
    assert state["started_utc"] == started and state["done"]
    for key, record in state["parts"].items():
        assert _part_problem(out / key, record) is None, key
    # a killed holder leaves no stale lock: the folder is free again at once
    with folder_lock(out):
        pass


def test_out_onto_a_regular_file(tmp_path, scenario, capsys):
    target = tmp_path / "notes.txt"
    target.write_text("mine")
    assert main(["run", str(scenario), "--out", str(target)]) == 2
    line = _one_error_line(capsys)
    assert str(target) in line and "is a file" in line
    assert target.read_text() == "mine"
    assert main(["sweep", str(scenario), "--set", "seed=1,2", "--out", str(target)]) == 2
    assert "is a file" in _one_error_line(capsys)
    assert target.read_text() == "mine"


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_out_into_a_read_only_folder(tmp_path, scenario, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        for out in (ro, ro / "res"):
            assert main(["run", str(scenario), "--out", str(out)]) == 2
            line = _one_error_line(capsys)
            assert str(out) in line and "permission denied" in line
        assert not list(ro.iterdir())
    finally:
        ro.chmod(0o755)


def test_permission_denied_while_writing_is_one_line(tmp_path, scenario, capsys, monkeypatch):
    """Runs as root too: the file system refuses the temporary file (EACCES)."""
    import tempfile

    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    out = tmp_path / "res"
    assert main(["run", str(scenario), "--out", str(out)]) == 2
    line = _one_error_line(capsys)
    assert str(out) in line and "permission denied" in line


def test_full_disk_leaves_no_truncated_part(tmp_path, scenario, capsys, monkeypatch):
    real = pq.write_table
    calls = []

    def fill_disk(table, where, **kwargs):
        calls.append(where)
        if len(calls) == 3:  # the third part: write half a file, then the disk is full
            real(table, where, **kwargs)
            with open(where, "r+b") as fh:
                fh.truncate(os.path.getsize(where) // 2)
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(table, where, **kwargs)

    monkeypatch.setattr(pq, "write_table", fill_disk)
    out = tmp_path / "res"
    assert main(["run", str(scenario), "--out", str(out)]) == 2
    line = _one_error_line(capsys)
    assert "part-00002.parquet" in line and "no space left" in line and str(out) in line
    parts = out / "timeseries.parquet"
    assert sorted(p.name for p in parts.iterdir()) == ["part-00000.parquet", "part-00001.parquet"]
    monkeypatch.setattr(pq, "write_table", real)
    # the two whole parts are kept; the run resumes to the same table as an uninterrupted one
    assert main(["run", str(scenario), "--out", str(out), "--resume"]) == 0
    whole = tmp_path / "whole"
    run_scenario(load_scenario(scenario), whole)
    assert pq.read_table(parts).equals(pq.read_table(whole / "timeseries.parquet"))


def test_full_disk_on_a_table_keeps_the_old_file(tmp_path, monkeypatch, capsys):
    import pyarrow.csv as pacsv

    out = tmp_path / "series.csv"
    out.write_text("old\n")

    def full(table, where, *args, **kwargs):
        with open(where, "w") as fh:
            fh.write("half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pacsv, "write_csv", full)
    assert (
        main(
            [
                "latency",
                "48.85,2.35",
                "38.72,-9.14",
                "--start",
                "2026-01-01T00:00:00Z",
                "--duration",
                "4",
                "--step",
                "2",
                "--out",
                str(out),
                "--force",
            ]
        )
        == 2
    )
    line = _one_error_line(capsys)
    assert str(out) in line and "no space left" in line
    assert out.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["series.csv"]


def test_dev_full_is_one_line(tmp_path, capsys):
    """A real full device: /dev/full refuses every write with ENOSPC."""
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    from skymesh.files import atomic_path

    with pytest.raises(SkyMeshError, match="no space left") as err:
        with atomic_path(tmp_path / "t.txt") as tmp:
            with open("/dev/full", "w") as full, open(tmp, "w"):
                full.write("x" * 10)
                full.flush()
    assert str(tmp_path / "t.txt") in str(err.value)
    assert not list(tmp_path.iterdir())


def test_sweep_stays_under_its_folder(tmp_path, scenario):
    from skymesh.sim.sweep import run_sweep

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    sweep_dir = tmp_path / "sw"
    table, folder = run_sweep(
        str(scenario),
        {"description": ["../../x", str(outside / "y")], "time.duration_s": [20]},
        out=sweep_dir,
    )
    assert table.num_rows == 2
    assert not list(outside.iterdir())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["elsewhere", "small.toml", "sw"]
    for name in table["run"].to_pylist():
        assert "/" not in name and (sweep_dir / name / "run.json").is_file()
    assert (sweep_dir / "sweep.json").is_file() and (sweep_dir / "sweep.csv").is_file()


def test_sweep_force_refuses_a_folder_no_sweep_made(tmp_path, scenario):
    from skymesh.sim.sweep import run_sweep

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "sweep.csv").write_text("my own table")
    with pytest.raises(SkyMeshError, match="did not create"):
        run_sweep(str(scenario), {"seed": [1, 2]}, out=mine, force=True)
    assert (mine / "sweep.csv").read_text() == "my own table"
    assert sorted(p.name for p in mine.iterdir()) == ["sweep.csv"]


def test_results_files_get_the_usual_mode(tmp_path, scenario):
    """Atomic writes go through mkstemp (0600): the user's files must not stay private."""
    out = tmp_path / "res"
    run_scenario(load_scenario(scenario), out)
    mask = os.umask(0)
    os.umask(mask)
    for name in ("run.json", "summary.json", "report.md", "scenario.toml"):
        assert (out / name).stat().st_mode & 0o777 == 0o666 & ~mask, name
