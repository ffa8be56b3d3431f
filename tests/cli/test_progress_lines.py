"""Progress off a terminal (issue 9 §7): one plain line per chunk on stderr, for logs and CI.

The number of lines and their counts follow from the chunk plan (chunk_steps and the
window), not from the command's own output.
"""

import re
import textwrap

import pytest

from skymesh.cli import main

SMALL = """
name = "progress"
seed = 1
[constellation]
preset = "starlink-shell1"
[time]
start = 2026-01-01T00:00:00Z
duration_s = 100
step_s = 10
[[terminals]]
country = "IR"
count = 2
[[gateways]]
name = "Muallim"
lat = 40.789
lon = 29.509
country = "TR"
[metrics]
wanted = ["service", "rtt"]
[output]
chunk_steps = 3
"""

LINE = re.compile(
    r"^(?P<label>.+): chunk (?P<done>\d+)/(?P<total>\d+), (?P<steps>[\d,]+)/"
    r"(?P<all>[\d,]+) steps, .+ elapsed"
)


@pytest.fixture(autouse=True)
def at_once(monkeypatch):
    """Lines from the first chunk (normally only after 2 s)."""
    import skymesh.cli.jobs as jobs

    monkeypatch.setattr(jobs, "PLAIN_AFTER_S", 0.0)


def _lines(err: str):
    return [m.groupdict() for m in map(LINE.match, err.splitlines()) if m]


def test_run_prints_one_line_per_chunk(tmp_path, capsys):
    scenario = tmp_path / "p.toml"
    scenario.write_text(textwrap.dedent(SMALL))
    assert main(["run", str(scenario), "--out", str(tmp_path / "r")]) == 0
    lines = _lines(capsys.readouterr().err)
    # 100 s every 10 s = 11 steps in chunks of 3: 3+3+3+2 -> 4 chunks
    assert [int(x["done"]) for x in lines] == [1, 2, 3, 4]
    assert {x["total"] for x in lines} == {"4"} and {x["all"] for x in lines} == {"11"}
    assert [int(x["steps"]) for x in lines] == [3, 6, 9, 11]
    assert {x["label"] for x in lines} == {"run progress"}


def test_resume_counts_from_what_is_on_disk(tmp_path, capsys):
    from skymesh.sim.run import run_scenario
    from skymesh.sim.scenario import load_scenario

    scenario = tmp_path / "p.toml"
    scenario.write_text(textwrap.dedent(SMALL))
    run_scenario(load_scenario(scenario), tmp_path / "r", stop_after=2)
    assert main(["run", str(scenario), "--out", str(tmp_path / "r"), "--resume"]) == 0
    lines = _lines(capsys.readouterr().err)
    assert [int(x["done"]) for x in lines] == [3, 4]


def test_latency_prints_one_line_per_chunk(monkeypatch, capsys):
    import skymesh.network.over_time as over_time

    # chunks of 50 steps over shell 1's 1,584 satellites: 201 steps -> 50+50+50+50+1
    monkeypatch.setattr(over_time, "_CHUNK_ELEMENTS", 50 * 1584)
    assert (
        main(
            [
                "latency",
                "48.85,2.35",
                "38.72,-9.14",
                "--start",
                "2026-01-01T00:00:00Z",
                "--duration",
                "200",
                "--step",
                "1",
            ]
        )
        == 0
    )
    lines = _lines(capsys.readouterr().err)
    assert [int(x["done"]) for x in lines] == [1, 2, 3, 4, 5]
    assert [int(x["steps"].replace(",", "")) for x in lines] == [50, 100, 150, 200, 201]


def test_no_lines_for_json_or_quick_jobs(tmp_path, capsys, monkeypatch):
    import skymesh.cli.jobs as jobs

    scenario = tmp_path / "p.toml"
    scenario.write_text(textwrap.dedent(SMALL))
    assert main(["run", str(scenario), "--out", str(tmp_path / "a"), "--json"]) == 0
    assert not _lines(capsys.readouterr().err)
    monkeypatch.setattr(jobs, "PLAIN_AFTER_S", 3600.0)
    assert main(["run", str(scenario), "--out", str(tmp_path / "b")]) == 0
    assert not _lines(capsys.readouterr().err)


def test_terminal_gets_a_bar_not_lines():
    import io

    from skymesh.cli.jobs import JobProgress

    class Tty(io.StringIO):
        def isatty(self):
            return True

    stream = Tty()
    with JobProgress("run x", stream=stream) as bar:
        for i in range(1, 4):
            bar.update(i, 3, 10 * i, 30)
    assert not _lines(stream.getvalue())
    assert bar._bar is not None and bar._bar.tasks[0].completed == 30


def test_sweep_lines_name_the_run(tmp_path, capsys):
    scenario = tmp_path / "p.toml"
    scenario.write_text(textwrap.dedent(SMALL))
    assert main(["sweep", str(scenario), "--set", "seed=1,2", "--out", str(tmp_path / "sw")]) == 0
    lines = _lines(capsys.readouterr().err)
    # two runs of 4 chunks each (11 steps in chunks of 3)
    assert [(x["label"], int(x["done"])) for x in lines] == (
        [("sweep run 1/2", i) for i in range(1, 5)] + [("sweep run 2/2", i) for i in range(1, 5)]
    )
