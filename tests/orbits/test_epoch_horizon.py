"""TLE sets are propagated only within EPOCH_HORIZON_DAYS of their element epoch.

Far from it SGP4 still returns numbers: `skymesh visible 0,0 -c starlink-tle --at
1900-01-01T00:00:00Z` listed 1,450 satellites "above 25 deg" at ranges up to 4e17 km,
and a run of the fleet in 1900 reported 100 % service. Refused now with one line naming
both ways on (--force-epoch, force_epoch = true in [time]); allowed with either.
"""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from datetime import datetime, timedelta, timezone

import pytest

from skymesh.cli import main
from skymesh.errors import InputError
from skymesh.orbits.propagate import positions_ecef, positions_inertial
from skymesh.orbits.tle import load_tle_constellation
from skymesh.timebase import time_grid

# the ISS element set of the sgp4 documentation: epoch 2008-09-20 12:25:40 UTC
ISS = (
    "ISS\n"
    "1 25544U 98067A   08264.51782528 -.00002182  00000-0 -11606-4 0  2927\n"
    "2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.72125391563537\n"
)
EPOCH = datetime(2008, 9, 20, 12, 25, 40, tzinfo=timezone.utc)
EPOCH_HORIZON_DAYS = 30.0  # the documented horizon (skymesh.orbits.propagate)


@pytest.fixture
def iss_file(tmp_path):
    path = tmp_path / "iss.tle"
    path.write_text(ISS)
    return path


def _cli(argv):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("days", [EPOCH_HORIZON_DAYS + 1, -(EPOCH_HORIZON_DAYS + 1), -39_000])
def test_far_instants_are_refused_by_both_propagators(iss_file, days):
    con, _ = load_tle_constellation(iss_file)
    grid = time_grid(EPOCH + timedelta(days=days), 60.0, 60.0)
    for propagate in (positions_ecef, positions_inertial):
        with pytest.raises(InputError, match="--force-epoch") as info:
            propagate(con, grid)
        assert "days from the element epoch" in str(info.value)


def test_a_window_that_ends_past_the_horizon_is_refused(iss_file):
    con, _ = load_tle_constellation(iss_file)
    start = EPOCH + timedelta(days=EPOCH_HORIZON_DAYS - 0.5)
    with pytest.raises(InputError, match="days from the element epoch"):
        positions_ecef(con, time_grid(start, 86400.0, 3600.0))


def test_within_the_horizon_and_forced_both_propagate(iss_file):
    from skymesh.orbits import propagate
    from skymesh.orbits.propagate import allow_far_epoch

    assert propagate.EPOCH_HORIZON_DAYS == EPOCH_HORIZON_DAYS
    con, _ = load_tle_constellation(iss_file)
    near = time_grid(EPOCH + timedelta(days=EPOCH_HORIZON_DAYS - 1), 60.0, 60.0)
    assert positions_ecef(con, near).shape == (1, 2, 3)
    far = time_grid(EPOCH + timedelta(days=400), 60.0, 60.0)
    assert positions_ecef(allow_far_epoch(con), far).shape == (1, 2, 3)


def test_visible_in_1900_is_one_line_and_force_epoch_runs_it(iss_file):
    argv = ["visible", "0,0", "-c", str(iss_file), "--at", "1900-01-01T00:00:00Z"]
    code, out, err = _cli(argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and "--force-epoch" in err
    code, out, err = _cli(argv + ["--force-epoch"])
    assert code == 0, err


def test_the_real_fleet_in_1900_is_refused(starlink_tle_path):
    code, out, err = _cli(
        ["visible", "0,0", "-c", str(starlink_tle_path), "--at", "1900-01-01T00:00:00Z"]
    )
    assert code == 2 and "satellites" not in out and "--force-epoch" in err


def _scenario(tmp_path, start: str, force: bool | None = None) -> str:
    path = tmp_path / "s.toml"
    force_line = "" if force is None else f"force_epoch = {str(force).lower()}\n"
    path.write_text(
        'name = "far"\nstudy = "routing"\n[constellation]\nfile = "iss.tle"\n'
        f"[time]\nstart = {start}\nduration_s = 60\nstep_s = 60\n{force_line}"
        "[[terminals]]\npoints = [[0.0, 0.0], [10.0, 10.0]]\n"
    )
    return str(path)


def test_a_scenario_far_from_the_epoch_is_refused_before_work(tmp_path, iss_file):
    from skymesh.sim.prepare import prepare
    from skymesh.sim.scenario import load_scenario

    loaded = load_scenario(_scenario(tmp_path, "1900-01-01T00:00:00Z"))
    with pytest.raises(InputError, match=r"force_epoch = true in \[time\]"):
        prepare(loaded)
    forced = load_scenario(_scenario(tmp_path, "1900-01-01T00:00:00Z", force=True))
    assert len(prepare(forced).grid) == 2
    near = load_scenario(_scenario(tmp_path, "2008-09-21T00:00:00Z"))
    assert len(prepare(near).grid) == 2
