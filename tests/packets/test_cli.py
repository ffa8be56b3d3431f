"""`skymesh packets`: usage mistakes are one line and exit 2 before any work; the results
folder is written whole, never over a folder SkyMesh did not make, and only with --force.

The usage tests run without ns-3 (every check comes before ns-3 is loaded); the end-to-end
run needs it and skips with one line without it.
"""

from __future__ import annotations

import importlib.util
import json

import pytest
from rich.console import Console

import skymesh.cli.common as common
from skymesh.cli import main
from skymesh.cli import packets as cli_packets
from skymesh.packets.run import TABLES

HAVE_NS3 = importlib.util.find_spec("ns") is not None
needs_ns3 = pytest.mark.skipif(
    not HAVE_NS3,
    reason="ns-3 not installed: pip install 'skymesh[packets]' to run the packet tests",
)

MISTAKES = [
    (["packets"], "SCENARIO"),
    (["packets", "Paris", "Luanda", "Tokyo"], "expected a scenario or two places"),
    (["packets", "no-such-scenario-xyz"], "no-such-scenario-xyz"),
    (["packets", "Qqxyzzyville", "Luanda"], "Qqxyzzyville"),
    (["packets", "Paris", "Luanda", "--duration", "-5"], "--duration"),
    (["packets", "Paris", "Luanda", "--duration", "inf"], "--duration"),
    (["packets", "Paris", "Luanda", "--step", "0"], "--step"),
    (["packets", "Paris", "Luanda", "--cc", "vegas"], "--cc"),
    (["packets", "Paris", "Luanda", "--flow", "tcp:vegas:Paris->Luanda"], "vegas"),
    (["packets", "Paris", "Luanda", "--flow", "carrier-pigeon:Paris->Luanda"], "--flow"),
    (["packets", "Paris", "Luanda", "--flow", "tcp:newreno:Paris->Tokyo"], "Tokyo"),
    (["packets", "Paris", "Luanda", "--cities", "-1"], "--cities"),
    (["packets", "iran-2022", "--constellation", "kuiper"], "--constellation"),
    (["packets", "Paris", "Paris"], "same place"),
    (["packets", "Paris", "Luanda", "--tcp-profile", "linux"], "--tcp-profile"),
    (["packets", "Paris", "--pop", "Atlantis"], "--pop"),
    (["packets", "Paris", "Luanda", "--serving", "random"], "--serving"),
]


@pytest.fixture
def no_work(monkeypatch):
    """Building the network or running ns-3 fails the test: a refusal comes first."""
    import skymesh.packets.network as network

    def forbidden(*args, **kwargs):
        raise AssertionError("work started before the command was refused")

    monkeypatch.setattr(network, "packet_network", forbidden)


@pytest.mark.parametrize(
    "argv,names", MISTAKES, ids=lambda v: " ".join(v) if isinstance(v, list) else ""
)
def test_usage_mistake_is_one_line_exit_2(argv, names, capsys, tmp_path, monkeypatch, no_work):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and names in lines[0], lines[0]
    assert "internal error" not in err and "Traceback" not in err
    assert not list(tmp_path.iterdir()), "a refused command wrote a file"


def test_ns3_missing_is_one_line_naming_the_extra(capsys, tmp_path, monkeypatch, no_work):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "ns" else real(name, *a)
    )
    monkeypatch.chdir(tmp_path)
    assert main(["packets", "Paris", "Luanda"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "error: ns-3 is not installed: pip install 'skymesh[packets]'"


def test_long_job_needs_yes_before_any_work(capsys, tmp_path, monkeypatch, no_work):
    monkeypatch.chdir(tmp_path)
    # a day of 2 s steps over 1,584 satellites: 43,201 routing states, twice (the network
    # alone is ~7e7 satellite-steps: over 10 minutes at any rate measured here), one ping/s
    argv = ["packets", "Paris", "Luanda", "--duration", "86400", "--step", "2"]
    assert main(argv + ["--flow", "ping:1:Paris->Luanda"]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "--yes" in err and "--duration" in err
    assert not list(tmp_path.iterdir())


def test_job_too_big_for_memory_is_refused_with_a_way_forward(
    capsys, tmp_path, monkeypatch, no_work
):
    monkeypatch.chdir(tmp_path)
    # a day of TCP at 100 Mbit/s: ~1.4e9 packets sent; the traces alone far exceed any RAM
    argv = ["packets", "Paris", "Luanda", "--duration", "86400", "--step", "60"]
    assert main(argv + ["--gsl-mbps", "100", "--yes"]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "GiB" in err and "--gsl-mbps" in err
    assert not list(tmp_path.iterdir())


def test_existing_folder_needs_force_and_must_be_skymesh_s(capsys, tmp_path, monkeypatch, no_work):
    monkeypatch.chdir(tmp_path)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("do not delete")
    assert main(["packets", "Paris", "Luanda", "--out", str(mine)]) == 2
    assert "pass --force" in capsys.readouterr().err
    assert main(["packets", "Paris", "Luanda", "--out", str(mine), "--force"]) == 2
    assert "did not create" in capsys.readouterr().err
    assert (mine / "thesis.tex").read_text() == "do not delete"


def test_summary_tables_fit_80_columns(monkeypatch):
    from skymesh.packets.report import summarize

    spec = importlib.util.spec_from_file_location(
        "synthetic", __file__.replace("test_cli.py", "test_plots.py")
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    con = Console(width=80, record=True, force_terminal=False)
    monkeypatch.setattr(common, "console", con)
    summary = summarize(
        mod.synthetic_tables(),
        dict(
            title="Rio de Janeiro -> Saint Petersburg",
            constellation="starlink-shell1",
            duration_s=200.0,
        ),
    )
    cli_packets._summary(summary)
    text = con.export_text()
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80, text
    assert "…" not in text, text
    assert any("Rio de Janeiro -> Moscow" in line for line in lines), text
    assert "9.60" in text and "104.2" in text  # the flows table's goodput and mean RTT


@needs_ns3
def test_end_to_end_run_writes_the_folder_and_refuses_to_overwrite(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "run"
    argv = [
        "packets",
        "Paris",
        "Luanda",
        "--start",
        "2026-01-01T00:00:00Z",
        "--duration",
        "20",
        "--step",
        "1",
        "--isl-mbps",
        "10",
        "--gsl-mbps",
        "10",
        "--out",
        str(out),
        "--json",
    ]
    assert main(argv) == 0, capsys.readouterr().err
    doc = json.loads(capsys.readouterr().out)
    names = sorted(p.name for p in out.iterdir())
    for t in TABLES:
        assert f"{t}.parquet" in names
    assert {"figures", "report.md", "summary.json", "run.json"} <= set(names)
    f0 = doc["flows"][0]
    assert f0["kind"] == "tcp" and f0["src"].startswith("Paris")
    # goodput can never exceed the 10 Mbit/s links (the check, at the CLI)
    assert 0 < f0["goodput_mbps"] <= 10.0
    # ns-3's RTT includes queueing and serialisation: never below SkyMesh's propagation RTT
    assert f0["ns3_mean_rtt_ms"] >= f0["skymesh_space_rtt_ms"]["min"]
    assert main(argv) == 2
    assert "pass --force" in capsys.readouterr().err
    assert main(argv + ["--force"]) == 0
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".run.")]


@needs_ns3
def test_benchmark_quick_workload_runs(shared_data, monkeypatch):
    """benchmarks/bench_packets.py's worker, --quick (10 s, 20 cities), in this process: its
    figures are there and obey the links' 10 Mbit/s (timings are never checked)."""
    import sys
    from pathlib import Path

    monkeypatch.setenv("SKYMESH_DATA", str(shared_data))
    bench = Path(__file__).resolve().parents[2] / "benchmarks"
    monkeypatch.syspath_prepend(str(bench))
    sys.modules.pop("bench_packets", None)
    import bench_packets

    r = bench_packets.worker("one", quick=True, tables_dir=None)
    assert r["flows"] == 1 and r["simulated_s"] == 10.0 and r["steps"] == 11
    assert r["ground_points"] >= 20 and r["satellites"] == 1584
    assert r["packets"] > 0 and r["simulate_s"] > 0 and r["peak_rss_mb"] > 0
    assert 0 < r["aggregate_goodput_mbps"] <= bench_packets.RATE_BPS / 1e6
    assert r["per_flow"][0]["src"] == "Rio de Janeiro"
