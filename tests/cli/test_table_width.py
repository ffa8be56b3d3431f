"""Tables fit 80 columns without cutting names; the sweep table reads at 80 and 120 columns."""

import subprocess
import sys

import pytest
from rich.console import Console

import skymesh.cli.common as common
import skymesh.cli.runs as runs
from skymesh.sim.scenario import builtin_names


def _skymesh(*args, columns=80):
    import os

    env = {**os.environ, "COLUMNS": str(columns)}
    return subprocess.run(
        [sys.executable, "-m", "skymesh.cli", *args], capture_output=True, text=True, env=env
    )


def test_scenarios_table_fits_80_columns_and_keeps_names_whole():
    res = _skymesh("scenarios")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    for name in builtin_names():  # `skymesh scenarios | grep NAME` finds the row
        assert any(f" {name} " in line and line.startswith("│") for line in lines), name


def test_constellations_table_fits_80_columns_with_each_shell_whole():
    from skymesh.orbits.presets import WALKER_PRESETS

    res = _skymesh("constellations")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    for name, preset in WALKER_PRESETS.items():
        assert any(f" {name} " in line for line in lines), name
        for s in preset["shells"]:  # one shell per line, never folded mid-figure
            shell = f"{s.altitude_km:g} km {s.inclination_deg:g}° {s.planes}x{s.sats_per_plane}"
            assert any(shell in line for line in lines), shell
        assert any(line.startswith(f"- {name}: ") for line in lines), "source listed"


@pytest.fixture
def width(monkeypatch):
    def set_width(w):
        con = Console(width=w, record=True, force_terminal=False)
        monkeypatch.setattr(common, "console", con)
        monkeypatch.setattr(runs, "console", con)
        return con

    return set_width


ROWS = [
    dict(
        run=f"run-00{i}",
        **{"terminals.0.count": str(n)},
        service_share=share,
        rtt_ms_p50=31.25,
        rtt_ms_p95=40.5,
        rtt_ms_p99=44.0,
        sat_hops_mean=3.25,
        gateways_used=3,
        exits_in_censoring_country=0,
        bent_pipe_service_share=0.5,
        bent_pipe_rtt_ms_p50=None,
    )
    for i, (n, share) in enumerate([(100, 0.9996), (1000, 1.0), (5000, 0.004)])
]


@pytest.mark.parametrize("w", [80, 120])
def test_sweep_table_fits_and_keeps_shares(width, w):
    con = width(w)
    runs._sweep_table("sweep of iran-2022", ROWS, ["terminals.0.count"])
    text = con.export_text()
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= w
    body = [line for line in lines if line.startswith("│")]
    assert len(body) == 3
    # 99.96 % is not rounded up to 100 (nor a share to "1"); 0.4 % does not read 0
    assert "99.96" in body[0] and "100.0" in body[1] and "0.40" in body[2]
    assert "…" not in text  # no header or value cut with an ellipsis
    if w >= 120:
        assert "p99 ms" in text and "gateways" in text
    else:
        assert "not shown below 120 columns" in text


@pytest.mark.parametrize(
    "argv",
    [
        ["visble", "Paris"],
        ["visible", "Paris", "--limit", "abc"],
        ["latency", "Paris"],
        ["run", "nosuch"],
        ["cost", "iran-2022"],
        ["visible", "45,abc", "--at", "x"],
    ],
)
def test_errors_are_one_line_without_blank_lines(argv):
    res = _skymesh(*argv)
    assert res.returncode == 2
    assert res.stderr.endswith("\n") and res.stderr.count("\n") == 1, res.stderr
    assert res.stderr.startswith("error: ") and "Traceback" not in res.stderr
    assert res.stdout == ""
