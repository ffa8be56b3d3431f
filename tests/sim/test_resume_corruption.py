"""--resume trusts no part on its name (issue 9 §4): each is checked against run.json.

A real run is killed (SIGKILL) part-way; one part has bytes flipped, one is emptied,
one is cut short; --resume must recompute exactly those (one stderr line each) and end
with the same table as a run that was never interrupted.
"""

import json
import signal
import subprocess
import sys
import textwrap
import time

import pyarrow.parquet as pq
import pytest

from skymesh.sim.run import run_scenario
from skymesh.sim.scenario import load_scenario

SCENARIO = """
name = "resume-test"
seed = 5
[constellation]
preset = "starlink-shell1"
[time]
start = 2026-01-01T00:00:00Z
duration_s = 600
step_s = 10
[routing]
compare_bent_pipe = false
[[terminals]]
country = "IR"
count = 6
[[gateways]]
name = "Muallim"
lat = 40.789
lon = 29.509
country = "TR"
[[gateways]]
name = "Murayjat"
lat = 23.588
lon = 58.545
country = "OM"
[metrics]
wanted = ["service", "rtt", "hops", "gateways"]
[output]
chunk_steps = 2
"""


@pytest.fixture()
def scenario_path(tmp_path):
    p = tmp_path / "resume.toml"
    p.write_text(textwrap.dedent(SCENARIO))
    return p


def _kill_after(cmd, out, parts: int):
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None:
        try:
            if len(json.loads((out / "run.json").read_text())["done"]) >= parts:
                break
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def test_killed_run_with_corrupt_empty_and_short_parts_resumes_identically(tmp_path, scenario_path):
    whole = tmp_path / "whole"
    run_scenario(load_scenario(scenario_path), whole)
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "skymesh.cli", "run", str(scenario_path), "--out", str(out)]
    _kill_after(cmd, out, parts=5)
    state = json.loads((out / "run.json").read_text())
    assert not state["finished"] and 5 <= len(state["done"]) < len(state["chunks"])
    folder = out / "timeseries.parquet"
    flipped, emptied, short = (folder / f"part-{i:05d}.parquet" for i in (1, 3, 4))
    data = bytearray(flipped.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(b ^ 0xFF for b in data[middle : middle + 64])
    flipped.write_bytes(bytes(data))  # same size: only the checksum can tell
    emptied.write_bytes(b"")
    short.write_bytes(short.read_bytes()[:-100])
    res = subprocess.run(cmd + ["--resume"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    notices = [ln for ln in res.stderr.splitlines() if ln.startswith("resume: ")]
    assert len(notices) == 3, res.stderr
    for path, why in ((flipped, "SHA-256"), (emptied, "empty"), (short, "bytes")):
        line = next(ln for ln in notices if str(path) in ln)
        assert why in line and "recomputing" in line
    got = pq.read_table(folder)
    assert got.num_rows == 61 * 6
    assert got.equals(pq.read_table(whole / "timeseries.parquet"))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["operators"] == json.loads((whole / "summary.json").read_text())["operators"]


def test_parts_without_a_checksum_are_recomputed(tmp_path, scenario_path):
    """A manifest that lists a part as done but holds no checksum for it is not trusted."""
    loaded = load_scenario(scenario_path, {"time.duration_s": 60})
    out = tmp_path / "r"
    run_scenario(loaded, out, stop_after=2)
    state = json.loads((out / "run.json").read_text())
    del state["parts"]["timeseries.parquet/part-00000.parquet"]
    (out / "run.json").write_text(json.dumps(state))
    lines = []
    run_scenario(loaded, out, resume=True, log=lines.append)
    assert len(lines) == 1 and "part-00000" in lines[0] and "no size and checksum" in lines[0]
    whole = tmp_path / "w"
    run_scenario(loaded, whole)
    assert pq.read_table(out / "timeseries.parquet").equals(
        pq.read_table(whole / "timeseries.parquet")
    )


def test_unreadable_manifest_is_one_line(tmp_path, scenario_path):
    from skymesh.errors import SkyMeshError

    loaded = load_scenario(scenario_path, {"time.duration_s": 60})
    out = tmp_path / "r"
    run_scenario(loaded, out, stop_after=1)
    (out / "run.json").write_text("{ not json")
    with pytest.raises(SkyMeshError, match="run.json: unreadable"):
        run_scenario(loaded, out, resume=True)
