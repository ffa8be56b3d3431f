"""Every run says which data it used and their dates: summary.json, run.json and a line on
the terminal; on a fresh install that is the data shipped with SkyMesh."""

from __future__ import annotations

import json


def test_run_records_the_element_and_gateway_data_dates(tmp_path, monkeypatch, capsys):
    from skymesh.cli import main

    monkeypatch.setenv("SKYMESH_DATA", str(tmp_path / "empty"))
    out = tmp_path / "run"
    code = main(
        [
            "run",
            "iran-2022",
            "--out",
            str(out),
            "--scheduler",
            "sync",
            "--set",
            "constellation.preset=oneweb-tle",
            "--set",
            "time.start=epoch",
            "--set",
            "time.duration_s=10",
            "--set",
            "time.step_s=10",
            "--set",
            "terminals.0.count=3",
            "--set",
            'metrics.wanted=["service"]',
        ]
    )
    err = capsys.readouterr().err
    assert code == 0, err
    line = next(x for x in err.splitlines() if x.startswith("data: "))
    assert "elements oneweb_tle_20251007.txt (shipped with SkyMesh, data of 2025-10-07)" in line
    assert "gateways the scenario's [[gateways]]" in line
    for name in ("run.json", "summary.json"):
        data = json.loads((out / name).read_text())["data"]
        elements = data["elements"]
        assert elements["shipped"] and elements["date"] == "2025-10-07", name
        assert elements["file"].endswith("oneweb_tle_20251007.txt")
        assert elements["median_epoch_utc"].startswith("2025-10-07T16:")
