"""`skymesh data update` for real, against a loopback HTTP server, and without a network."""

import subprocess
import sys

import numpy as np
import pytest

from skymesh.cli import main


@pytest.fixture
def mirror(shared_data):
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "dl", Path(__file__).parent / "orbits" / "test_data_update.py"
    )
    dl = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dl)
    files = {
        "starlink": (shared_data / "starlink_tle_20251204.txt").read_bytes(),
        "oneweb": (shared_data / "oneweb_tle_20251007.txt").read_bytes(),
        "borders.geojson": (shared_data / "ne_admin0_countries_50m.geojson").read_bytes(),
    }
    server, url = dl.serve(files)
    yield url
    server.shutdown()
    server.server_close()


def test_data_update_fetches_tles_and_borders_then_presets_use_them(
    tmp_path, mirror, monkeypatch, capsys
):
    from datetime import datetime, timezone

    import skymesh.orbits.snapshots as snaps

    # a day after the shared set was taken, so its element epochs count as fresh
    monkeypatch.setattr(snaps, "utc_now", lambda: datetime(2025, 12, 5, tzinfo=timezone.utc))
    monkeypatch.setenv("SKYMESH_DATA", str(tmp_path))
    assert (
        main(
            [
                "data",
                "update",
                "--base-url",
                mirror,
                "--borders-url",
                f"{mirror}/files/borders.geojson",
                "--groups",
                "starlink",
                "--no-sites",  # the gateway list's update: tests/ground/test_sites.py
            ]
        )
        == 0
    )
    names = sorted(p.name for p in tmp_path.iterdir())
    assert "ne_admin0_countries_50m.geojson" in names
    assert any(n.startswith("starlink_tle_") and n.endswith("Z.txt") for n in names)
    err = capsys.readouterr().err
    assert "data update: 2/2 files" in err  # one plain line per file off a terminal
    assert main(["info", "starlink-tle", "--json"]) == 0
    assert '"satellites": 9042' in capsys.readouterr().out
    from skymesh.ground.countries import country_of, load_countries

    fine = load_countries(resolution="50m")
    assert len(fine.iso2) == 242
    assert country_of(np.array([1.29]), np.array([103.85]), fine)[0] == "SG"  # no SG at 1:110m


def test_data_update_without_network_says_how_to_place_files(tmp_path, monkeypatch):
    monkeypatch.setenv("SKYMESH_DATA", str(tmp_path))
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "skymesh.cli",
            "data",
            "update",
            "--base-url",
            "http://127.0.0.1:9",
            "--timeout",
            "3",
        ],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "SKYMESH_DATA": str(tmp_path)},
    )
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    assert str(tmp_path) in res.stderr.replace("\n", "")
    assert list(tmp_path.iterdir()) == []
