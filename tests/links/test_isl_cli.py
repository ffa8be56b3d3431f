"""--isls and --max-gsl-range on the command line."""

import json

import numpy as np

from skymesh.cli import main
from skymesh.orbits.constellation import Shell
from skymesh.orbits.tle_writer import walker_tle_text, write_tle_file


def _files(tmp_path):
    tle = tmp_path / "shell.tle"
    write_tle_file(
        tle, walker_tle_text(Shell(550.0, 53.0, 36, 18, 1), epoch="2026-01-01T00:00:00Z")
    )
    ring_only = tmp_path / "rings.csv"
    rows = [f"SAT-0-{p}-{k},SAT-0-{p}-{(k + 1) % 18}" for p in range(36) for k in range(18)]
    ring_only.write_text("sat_a,sat_b\n" + "\n".join(rows) + "\n")
    return tle, ring_only


def test_info_counts_the_listed_isls(tmp_path, capsys):
    tle, rings = _files(tmp_path)
    assert main(["info", str(tle), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["isl_links"] == 2 * 36 * 18
    assert [s["grid"] for s in doc["shells"]] == ["walker"]  # a regular TLE shell
    assert main(["info", str(tle), "--isls", str(rings), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["isl_links"] == 36 * 18 and doc["isl_source"] == str(rings)
    assert [s["grid"] for s in doc["shells"]] == ["listed"]


def test_latency_with_a_list_and_the_range_rule(tmp_path, capsys):
    tle, rings = _files(tmp_path)
    base = ["latency", "48.85,2.35", "35.69,139.69", "-c", str(tle), "--duration", "0", "--json"]
    assert main(base + ["--max-gsl-range", "1500"]) == 0
    grid = json.loads(capsys.readouterr().out)
    assert grid["min_elevation_deg"] == 0.0 and grid["max_gsl_range_km"] == 1500.0
    assert main(base + ["--max-gsl-range", "1500", "--isls", str(rings)]) == 0
    rings_doc = json.loads(capsys.readouterr().out)
    # rings alone cannot cross planes: slower or unreachable, never faster
    r_grid, r_ring = grid["summary"]["space_rtt_ms_min"], rings_doc["summary"]["space_rtt_ms_min"]
    assert r_grid is not None and (r_ring is None or r_ring > r_grid)
    assert main(base + ["--max-gsl-range", "-3"]) == 2
    assert main(base + ["--isls", str(tmp_path / "missing.txt")]) == 2
    err = capsys.readouterr().err
    assert "missing.txt: ISL file not found" in err and "Traceback" not in err
    assert np.isfinite(r_grid)
