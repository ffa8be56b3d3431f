"""Big jobs say what they cost before they start (issue 9 §6).

A refusal must come before any work: propagation and preparation are replaced by
functions that fail the test, so a command that started working cannot pass.
"""

import textwrap

import pytest

from skymesh.cli import main

SMALL = """
name = "estimate"
seed = 1
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
"""


@pytest.fixture()
def scenario(tmp_path):
    p = tmp_path / "small.toml"
    p.write_text(textwrap.dedent(SMALL))
    return p


@pytest.fixture()
def no_work(monkeypatch):
    """Any propagation or scenario preparation fails the test."""

    def forbidden(*args, **kwargs):
        raise AssertionError("work started before the job was refused")

    # every module imported before any patch, so none binds a patched name for good
    import skymesh.network.over_time as over_time
    import skymesh.orbits.propagate as propagate
    import skymesh.sim.egress_chunk  # noqa: F401
    import skymesh.sim.prepare as prepare
    import skymesh.sim.routing_chunk  # noqa: F401
    import skymesh.sim.run as run
    import skymesh.sim.sweep as sweep

    monkeypatch.setattr(propagate, "positions_ecef", forbidden)
    monkeypatch.setattr(over_time, "positions_ecef", forbidden)
    monkeypatch.setattr(over_time, "path_series", forbidden)
    monkeypatch.setattr(prepare, "prepare", forbidden)
    monkeypatch.setattr(run, "_prepared", forbidden)
    monkeypatch.setattr(run, "run_scenario", forbidden)
    monkeypatch.setattr(sweep, "run_scenario", forbidden)


def _one_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and "internal error" not in err
    return lines[0]


def test_latency_over_1e9_s_is_refused_before_any_propagation(no_work, capsys):
    assert main(["latency", "48.85,2.35", "38.72,-9.14", "--duration", "1e9"]) == 2
    line = _one_line(capsys)
    # 1e9 s at 1 s steps: 1,000,000,001 steps, shell 1's 1,584 satellites (FCC 18-161)
    assert "1,000,000,001 steps x 1,584 satellites" in line
    assert "of memory" in line and "--duration" in line and "--step" in line


def test_run_with_1e7_steps_is_refused_before_any_work(no_work, scenario, tmp_path, capsys):
    out = tmp_path / "res"
    # 2,500,000 s every 0.25 s: 10,000,001 steps
    assert (
        main(
            [
                "run",
                str(scenario),
                "--out",
                str(out),
                "--set",
                "time.duration_s=2500000",
                "--set",
                "time.step_s=0.25",
            ]
        )
        == 2
    )
    line = _one_line(capsys)
    assert "10,000,001 steps x 1,584 satellites x 4 ground points" in line
    assert "time.step_s" in line and "time.duration_s" in line
    assert not out.exists()


def test_sweep_is_estimated_as_a_whole_before_any_run(no_work, scenario, tmp_path, capsys):
    out = tmp_path / "sw"
    assert (
        main(
            [
                "sweep",
                str(scenario),
                "--out",
                str(out),
                "--set",
                "time.step_s=0.25,0.5",
                "--set",
                "time.duration_s=2500000",
            ]
        )
        == 2
    )
    line = _one_line(capsys)
    assert "sweep of 2 runs" in line
    # 10,000,001 + 5,000,001 steps
    assert "15,000,002 steps" in line
    assert not out.exists()


def test_a_slow_job_needs_yes(scenario, tmp_path, capsys, monkeypatch):
    """Fits in memory and on disk but would take long: refused off a terminal without --yes."""
    import skymesh.sim.estimate as est

    monkeypatch.setattr(est, "EGRESS_S_PER_TERMINAL_STEP", 100.0)  # pretend: 100 s per row
    out = tmp_path / "res"
    assert main(["run", str(scenario), "--out", str(out)]) == 2
    line = _one_line(capsys)
    assert "--yes" in line and "7 steps x 1,584 satellites x 4 ground points" in line
    assert not out.exists()
    assert main(["run", str(scenario), "--out", str(out), "--yes", "--json"]) == 0
    assert (out / "summary.json").is_file()


def test_latency_slow_window_needs_yes(monkeypatch, capsys):
    import skymesh.sim.estimate as est

    monkeypatch.setattr(est, "LATENCY_S_PER_SAT_STEP", 1.0)
    args = [
        "latency",
        "48.85,2.35",
        "38.72,-9.14",
        "--start",
        "2026-01-01T00:00:00Z",
        "--duration",
        "2",
        "--step",
        "1",
    ]
    assert main(args) == 2
    assert "--yes" in _one_line(capsys)
    assert main(args + ["--yes", "--json"]) == 0


def test_disk_estimate_is_refused_against_free_space(scenario, tmp_path, capsys, monkeypatch):
    import skymesh.cli.jobs as jobs

    monkeypatch.setattr(jobs, "free_disk_bytes", lambda path: 1000)
    out = tmp_path / "res"
    assert main(["run", str(scenario), "--out", str(out)]) == 2
    line = _one_line(capsys)
    assert "free where" in line and str(out) in line
    assert not out.exists()


def test_estimate_counts_from_the_scenario():
    """iran-2022: 3,600 s at 1 s (3,601 steps), FCC 21-48's five Gen1 shells
    (1,584 + 1,584 + 720 + 348 + 172 = 4,408 satellites), 1,000 terminals and its gateways."""
    import tomllib
    from importlib import resources

    from skymesh.sim.estimate import estimate_run
    from skymesh.sim.scenario import load_scenario

    doc = tomllib.loads(resources.files("skymesh.scenarios").joinpath("iran-2022.toml").read_text())
    est = estimate_run(load_scenario("iran-2022"))
    assert (est.steps, est.satellites) == (3601, 4408)
    assert est.ground_points == 1000 + len(doc["gateways"])


def test_disk_estimate_bounds_a_real_run(scenario, tmp_path):
    """The disk figure is meant as an upper estimate: it must cover what a run writes."""
    from skymesh.sim.estimate import estimate_run
    from skymesh.sim.run import run_scenario
    from skymesh.sim.scenario import load_scenario

    loaded = load_scenario(scenario, {"time.duration_s": 600, "output.chunk_steps": 10})
    out = tmp_path / "r"
    run_scenario(loaded, out)
    written = sum(p.stat().st_size for p in (out / "timeseries.parquet").iterdir())
    est = estimate_run(loaded)
    assert written <= est.disk_bytes <= 20 * written


def test_on_a_terminal_a_slow_job_asks_first(monkeypatch):
    import typer

    import skymesh.cli.jobs as jobs
    from skymesh.errors import SkyMeshError
    from skymesh.sim.estimate import JobEstimate

    slow = JobEstimate("run x", 10, 10, 1, memory_bytes=1.0, disk_bytes=0.0, seconds=3600.0)
    monkeypatch.setattr(jobs, "_interactive", lambda: True)
    asked = []
    monkeypatch.setattr(typer, "confirm", lambda text, **kw: asked.append(text) or False)
    with pytest.raises(SkyMeshError, match="not started"):
        jobs.gate(slow, yes=False, hint="h")
    assert len(asked) == 1 and "60 min" in asked[0]  # 3,600 s
    monkeypatch.setattr(typer, "confirm", lambda text, **kw: True)
    jobs.gate(slow, yes=False, hint="h")  # confirmed: goes ahead
    jobs.gate(slow, yes=True, hint="h")  # --yes: never asks
