"""The interactive view shades a country by its state at the slider's step."""

import numpy as np
import pytest

from skymesh.errors import InputError
from skymesh.report.view import view_data


def _tracks(n_steps=10):
    times = [f"2026-01-01T00:00:{k:02d}Z" for k in range(n_steps)]
    lat = np.zeros((3, n_steps))
    lon = np.linspace(-10, 10, 3)[:, None] + np.arange(n_steps)[None, :]
    return times, lat, lon


def test_changing_country_gets_a_timeline_and_others_a_fixed_state():
    states = [{"TW": "active" if k < 6 else "inactive", "JP": "active"} for k in range(10)]
    data = view_data(sat_tracks=_tracks(), countries=states)
    by_code = {c["iso2"]: c for c in data["countries"]}
    assert by_code["TW"]["timeline"] == [[0, "active"], [6, "inactive"]]
    assert "timeline" not in by_code["JP"] and by_code["JP"]["state"] == "active"


def test_per_step_states_are_validated():
    with pytest.raises(InputError, match="steps"):
        view_data(sat_tracks=_tracks(), countries=[{"TW": "active"}] * 3)
    with pytest.raises(InputError, match="unknown service state"):
        view_data(sat_tracks=_tracks(), countries=[{"TW": "off"}] * 10)


def test_view_is_written_atomically(tmp_path, monkeypatch):
    from pathlib import Path

    from skymesh.errors import SkyMeshError
    from skymesh.report.view import write_view_html

    out = tmp_path / "v.html"
    write_view_html(out, sat_tracks=_tracks())
    before = out.read_text()

    def full_disk(self, *a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_text", full_disk)
    with pytest.raises(SkyMeshError, match="no space left"):
        write_view_html(out, sat_tracks=_tracks(), title="second")
    monkeypatch.undo()
    assert out.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["v.html"]
