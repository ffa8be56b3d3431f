"""The command line as a person uses it: --help everywhere, tables, JSON, clear errors."""

import json
import re
import subprocess
import sys

import pytest

from skymesh.cli import main

COMMANDS = [
    [],
    ["constellations"],
    ["info"],
    ["visible"],
    ["latency"],
    ["run"],
    ["sweep"],
    ["scenarios"],
    ["data"],
    ["data", "update"],
    ["data", "path"],
]


@pytest.mark.parametrize("cmd", COMMANDS, ids=[" ".join(c) or "root" for c in COMMANDS])
def test_help_everywhere(cmd, capsys):
    assert main(cmd + ["--help"]) == 0
    assert "Usage" in capsys.readouterr().out


def test_latency_json_series_and_summary(capsys):
    assert (
        main(
            [
                "latency",
                "Paris",
                "Luanda",
                "--start",
                "2026-01-01T00:00:00Z",
                "--duration",
                "20",
                "--step",
                "5",
                "--json",
            ]
        )
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["series"]) == 5
    assert all(set(r) >= {"time_utc", "rtt_ms"} for r in doc["series"])
    assert doc["summary"]["rtt_ms_min"] >= doc["summary"]["vacuum_rtt_ms"]


def test_unreachable_steps_are_null_in_json(capsys):
    assert (
        main(
            [
                "latency",
                "89.5,0",
                "Paris",
                "--start",
                "2026-01-01T00:00:00Z",
                "--duration",
                "10",
                "--step",
                "5",
                "--json",
            ]
        )
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert all(r["rtt_ms"] is None for r in doc["series"])
    assert doc["summary"]["reachable_fraction"] == 0.0


def test_visible_json_lists_satellites_by_name(capsys):
    assert main(["visible", "Sao Paulo", "--at", "2026-01-01T00:00:00Z", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["place"]["country"] == "BR"
    assert doc["in_view"] == len(doc["satellites"]) > 0
    assert all(s["elevation_deg"] >= 25 for s in doc["satellites"])
    assert doc["satellites"][0]["satellite"].startswith("STARLINK")


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["visible", "Atlantiss Undersea", "--at", "2026-01-01T00:00:00Z"], "closest"),
        (["latency", "Paris", "Luanda", "--mode", "warp"], "unknown routing mode"),
        (
            ["latency", "Paris", "Luanda", "--duration", "-1"],
            "--duration",
        ),  # the flag the user typed (issue 9)
        (["info", "no-such-constellation"], "neither a constellation preset"),
        (["run", "no-such-scenario"], "built-in"),
        (["visible", "Paris", "--at", "tomorrow-ish"], "ISO 8601"),
    ],
)
def test_bad_input_is_one_clear_line_and_status_2(argv, needle):
    res = subprocess.run(
        [sys.executable, "-m", "skymesh.cli"] + argv, capture_output=True, text=True
    )
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    assert needle.lower() in res.stderr.lower()


def test_latency_out_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "series.csv"
    args = [
        "latency",
        "Paris",
        "Luanda",
        "--start",
        "2026-01-01T00:00:00Z",
        "--duration",
        "4",
        "--step",
        "2",
        "--out",
        str(out),
    ]
    assert main(args) == 0
    first = out.read_text()
    assert first.startswith('"time_utc"') and first.count("\n") == 4
    assert main(args) == 2
    assert out.read_text() == first
    assert main(args + ["--force"]) == 0


@pytest.mark.parametrize("suffix", [".parquet", ".json"])
def test_latency_out_formats(tmp_path, suffix):
    out = tmp_path / f"series{suffix}"
    assert (
        main(
            [
                "latency",
                "Tokyo",
                "Sydney",
                "--start",
                "2026-01-01T00:00:00Z",
                "--duration",
                "4",
                "--step",
                "2",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        assert pq.read_table(out).num_rows == 3
    else:
        assert len(json.loads(out.read_text())["rows"]) == 3


def test_run_builtin_with_overrides_writes_results(tmp_path, capsys):
    out = tmp_path / "tw"
    assert (
        main(
            [
                "run",
                "taiwan-geofence",
                "--out",
                str(out),
                "--set",
                "time.duration_s=60",
                "--set",
                "time.step_s=30",
                "--set",
                "terminals.0.count=5",
                "--json",
            ]
        )
        == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert {p.name for p in out.iterdir()} >= {
        "timeseries.parquet",
        "summary.json",
        "report.md",
        "run.json",
        "scenario.toml",
    }
    assert len(summary["operators"]) == 2


def test_info_and_constellations_tables(capsys):
    assert main(["constellations"]) == 0
    assert "starlink-gen1" in capsys.readouterr().out
    assert main(["info", "kuiper", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["satellites"] == 3236 and len(doc["shells"]) == 3


def test_picture_commands_write_files_and_refuse_to_overwrite(tmp_path):
    from matplotlib.image import imread

    route = tmp_path / "route.png"
    assert (
        main(
            ["map", "route", "Paris", "Luanda", "--at", "2026-01-01T00:00:00Z", "--out", str(route)]
        )
        == 0
    )
    assert (
        main(
            ["map", "route", "Paris", "Luanda", "--at", "2026-01-01T00:00:00Z", "--out", str(route)]
        )
        == 2
    )
    assert imread(route).std() > 0.05
    assert (
        main(
            [
                "map",
                "constellation",
                "-c",
                "oneweb",
                "--at",
                "2026-01-01T00:00:00Z",
                "--out",
                str(tmp_path / "c.svg"),
            ]
        )
        == 0
    )
    assert (tmp_path / "c.svg").read_text().lstrip().startswith("<?xml")
    assert main(["map", "service", "iran-2022", "--out", str(tmp_path / "s.png")]) == 0
    assert (
        main(
            [
                "plot",
                "rtt",
                "Tokyo",
                "Sydney",
                "--start",
                "2026-01-01T00:00:00Z",
                "--duration",
                "60",
                "--step",
                "10",
                "--out",
                str(tmp_path / "r.png"),
                "--cdf",
                str(tmp_path / "cdf.png"),
            ]
        )
        == 0
    )
    assert (tmp_path / "cdf.png").stat().st_size > 10_000


def test_view_writes_one_offline_html_file(tmp_path, monkeypatch, capsys):
    """A short scenario is run first into results/NAME, then viewed; the folder is
    viewed again as it is; a long one is not run: one line says which command to run."""
    monkeypatch.chdir(tmp_path)
    quick = ["--set", "time.step_s=300", "--set", "time.duration_s=3000"]
    out = tmp_path / "view.html"
    assert main(["view", "taiwan-geofence", "--out", str(out), "--max-steps", "12", *quick]) == 0
    assert (tmp_path / "results" / "taiwan-geofence" / "summary.json").is_file()
    html = out.read_text()
    assert 'id="time-slider"' in html
    assert "http://" not in html and "https://" not in html
    again = tmp_path / "again.html"
    assert main(["view", "results/taiwan-geofence", "--out", str(again)]) == 0
    second = ["--operator", "oneweb (no geofence)"]
    assert main(["view", "results/taiwan-geofence", "--out", "ow.html", *second]) == 0
    page = (tmp_path / "ow.html").read_text()
    assert '"operator":"oneweb (no geofence)"' in page

    def data(path):
        text = path.read_text()
        return json.loads(re.search(r'id="skymesh-data">(.*?)</script>', text, re.S).group(1))

    # Each operator's page draws the gateways it may exit at, and its routes end there.
    for page in (again, tmp_path / "ow.html"):
        d = data(page)
        drawn = {g["name"].rsplit(" (", 1)[0] for g in d["gateways"]}
        used = {i["gateway"] for i in d["route_info"] if i}
        assert used and used <= drawn
    assert not any(n["name"].startswith("OneWeb") for n in data(again)["gateways"])
    capsys.readouterr()
    assert main(["view", "results/taiwan-geofence", "--out", "t.html", "--terminal", "999"]) == 2
    assert "--terminal 999" in capsys.readouterr().err
    # a scenario estimated past the view's 2-minute budget is not run for it: one line says how
    long = "starlink-100-cities-24h"  # estimated ~4 min on two cores, ~8 min on one
    assert main(["view", long, "--out", "long.html"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"skymesh run {long}" in err
    assert not (tmp_path / "results" / long).exists()


def test_info_on_a_tle_file_with_a_bad_line_and_skip_bad(tmp_path, starlink_tle_path, capsys):
    lines = starlink_tle_path.read_text().splitlines()[: 3 * 30]
    bad = lines[4]  # line 1 of the second element set
    lines[4] = bad[:-1] + str((int(bad[-1]) + 1) % 10)
    path = tmp_path / "few.tle"
    path.write_text("\n".join(lines) + "\n")
    assert main(["info", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:5" in err.replace("\n", "") and "checksum" in err
    assert main(["info", str(path), "--skip-bad", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["satellites"] == 29
    assert any("skipped 1" in n for n in doc["notes"])
