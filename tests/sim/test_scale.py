"""Streaming, resuming and Dask: same results however a run is cut up or where it runs."""

import json
import os
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
name = "scale-test"
seed = 11
[constellation]
preset = "starlink-shell1"
[time]
start = 2026-01-01T00:00:00Z
duration_s = 300
step_s = 10
[[terminals]]
country = "IR"
count = 25
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
[[failures]]
kind = "satellites"
fraction = 0.1
seed = 2
from = 2026-01-01T00:02:00Z
[output]
chunk_steps = 4
"""


@pytest.fixture()
def scenario_path(tmp_path):
    p = tmp_path / "scale.toml"
    p.write_text(textwrap.dedent(SCENARIO))
    return p


def _series(folder):
    return pq.read_table(folder / "timeseries.parquet")


def test_chunking_does_not_change_results(tmp_path, scenario_path):
    a = run_scenario(load_scenario(scenario_path), tmp_path / "a")
    b = run_scenario(load_scenario(scenario_path, {"output.chunk_steps": 31}), tmp_path / "b")
    assert _series(tmp_path / "a").equals(_series(tmp_path / "b"))
    assert a["operators"] == b["operators"]
    assert len(list((tmp_path / "a" / "timeseries.parquet").glob("part-*.parquet"))) == 8


def test_results_folder_records_version_hash_and_seed(tmp_path, scenario_path):
    loaded = load_scenario(scenario_path)
    run_scenario(loaded, tmp_path / "r")
    state = json.loads((tmp_path / "r" / "run.json").read_text())
    assert state["finished"] and state["seed"] == 11
    assert state["scenario_sha256"] == loaded.sha256
    assert state["skymesh_version"]
    from skymesh.errors import SkyMeshError

    with pytest.raises(SkyMeshError, match="--force"):
        run_scenario(loaded, tmp_path / "r")


def test_interrupted_run_resumes_to_the_same_result(tmp_path, scenario_path):
    loaded = load_scenario(scenario_path)
    run_scenario(loaded, tmp_path / "whole")
    partial = run_scenario(loaded, tmp_path / "cut", stop_after=3)
    assert partial["interrupted"]
    run_scenario(loaded, tmp_path / "cut", resume=True)
    assert _series(tmp_path / "whole").equals(_series(tmp_path / "cut"))


def test_killed_process_resumes_to_the_same_result(tmp_path, scenario_path):
    """Kill a real `skymesh run` mid-way (SIGKILL), then --resume it."""
    loaded = load_scenario(scenario_path, {"time.duration_s": 1200, "output.chunk_steps": 2})
    run_scenario(loaded, tmp_path / "whole")
    out = tmp_path / "killed"
    cmd = [
        sys.executable,
        "-m",
        "skymesh.cli",
        "run",
        str(scenario_path),
        "--out",
        str(out),
        "--set",
        "time.duration_s=1200",
        "--set",
        "output.chunk_steps=2",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:
        run_json = out / "run.json"
        if run_json.exists():
            try:
                done = len(json.loads(run_json.read_text())["done"])
            except (ValueError, KeyError):
                done = 0
            if done >= 5:
                break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    state = json.loads((out / "run.json").read_text())
    assert not state["finished"] and 0 < len(state["done"]) < len(state["chunks"])
    res = subprocess.run(cmd + ["--resume"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert _series(tmp_path / "whole").equals(_series(out))


def test_dask_local_cluster_matches_sync(tmp_path, scenario_path):
    distributed = pytest.importorskip("dask.distributed")
    loaded = load_scenario(scenario_path)
    run_scenario(loaded, tmp_path / "sync")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        run_scenario(loaded, tmp_path / "dask", client=client)
    assert _series(tmp_path / "sync").equals(_series(tmp_path / "dask"))


def test_sweep_runs_the_cartesian_product(tmp_path, scenario_path):
    from skymesh.sim.sweep import run_sweep

    table, folder = run_sweep(
        str(scenario_path),
        {"terminals.0.count": [5, 10], "routing.mode": ["isl", "bent-pipe"]},
        out=tmp_path / "sw",
    )
    assert table.num_rows == 4
    assert (folder / "sweep.csv").exists()
    assert sorted(table["terminals.0.count"].to_pylist()) == ["10", "10", "5", "5"]


def test_memory_stays_flat_as_the_window_grows(tmp_path):
    """A small version of the scale benchmark's memory check: 10 min vs 3 h of one study.

    The long run writes ~3.4 M RTT rows and ~1.5 M forwarding changes; held in memory
    instead of streamed to disk they would add far more than 20 % to the peak.
    """
    import textwrap

    study = tmp_path / "flat.toml"
    study.write_text(
        textwrap.dedent("""
        name = "flat"
        study = "routing"
        [constellation]
        preset = "starlink-shell1"
        [time]
        start = 2026-01-01T00:00:00Z
        duration_s = 600
        step_s = 10
        [[terminals]]
        largest = 80
        [output]
        chunk_steps = 60
        """)
    )
    peaks = []
    for duration in (600, 10800):
        cmd = [
            sys.executable,
            "-m",
            "skymesh.cli",
            "run",
            str(study),
            "--out",
            str(tmp_path / f"o{duration}"),
            "--set",
            f"time.duration_s={duration}",
        ]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        assert status == 0
        peaks.append(usage.ru_maxrss)
    assert peaks[1] < 1.2 * peaks[0], peaks
