"""An explicit ISL list and Hypatia's GSL range rule in scenarios and in path_series."""

import textwrap

import numpy as np
import pyarrow.parquet as pq
import pytest

from skymesh.errors import InputError
from skymesh.links.isl import plus_grid_pairs
from skymesh.network.over_time import GroundPoints, path_series
from skymesh.orbits.constellation import Shell
from skymesh.orbits.presets import load_constellation
from skymesh.orbits.tle_writer import walker_tle_text, write_tle_file
from skymesh.sim.prepare import prepare
from skymesh.sim.run import run_scenario
from skymesh.sim.scenario import load_scenario
from skymesh.timebase import time_grid

START = "2026-01-01T00:00:00Z"
POINTS = [[48.85, 2.35], [40.71, -74.0], [35.69, 139.69], [-33.87, 151.2]]
STUDY = """
name = "isl-list"
study = "routing"
[constellation]
file = "shell.tle"
isls = "links.txt"
[time]
start = 2026-01-01T00:00:00Z
duration_s = 40
step_s = 20
[routing]
max_gsl_range_km = 1500.0
compare_bent_pipe = false
[[terminals]]
name = "city"
points = [[48.85, 2.35], [40.71, -74.0], [35.69, 139.69], [-33.87, 151.2]]
"""


@pytest.fixture()
def study(tmp_path):
    write_tle_file(
        tmp_path / "shell.tle", walker_tle_text(Shell(550.0, 53.0, 36, 18, 1), epoch=START)
    )
    c = load_constellation(tmp_path / "shell.tle")
    grid = plus_grid_pairs(c)
    # every other cross-plane link dropped: a list that is not the +Grid
    same = c.plane[grid[:, 0]] == c.plane[grid[:, 1]]
    keep = same | (np.arange(len(grid)) % 2 == 0)
    links = grid[keep]
    (tmp_path / "links.txt").write_text("".join(f"{a} {b}\n" for a, b in links))
    path = tmp_path / "study.toml"
    path.write_text(textwrap.dedent(STUDY))
    return path, c, links


def test_scenario_reads_the_list_and_the_range_rule(study):
    path, c, links = study
    loaded = load_scenario(path)
    assert loaded.scenario.routing.max_gsl_range_km == 1500.0
    assert loaded.scenario.routing.min_elevation_deg == 0.0  # no mask given: none
    prep = prepare(loaded)
    assert np.array_equal(prep.operators[0].isl_pairs, links)
    assert any("ISLs from links.txt" in n for n in prep.notes)
    kept = load_scenario(path, {"routing.min_elevation_deg": 20.0})
    assert kept.scenario.routing.min_elevation_deg == 20.0  # an explicit mask stays


def test_study_rtts_equal_path_series_with_the_same_rules(study, tmp_path):
    path, c, links = study
    run_scenario(load_scenario(path), tmp_path / "out")
    rtt = pq.read_table(tmp_path / "out" / "rtt.parquet")
    pts = np.array(POINTS)
    eps = GroundPoints.of(["a", "b", "c", "d"], pts[:, 0], pts[:, 1])
    pairs = np.array([[0, 1], [0, 2], [1, 3]])
    grid = time_grid(START, 40, 20)
    want = path_series(
        c, grid, eps, pairs, isl_pairs=links, min_elevation_deg=0.0, max_gsl_range_km=1500.0
    )
    plain = path_series(c, grid, eps, pairs, min_elevation_deg=0.0, max_gsl_range_km=1500.0)
    step, src, dst = (rtt[k].to_numpy() for k in ("step", "src", "dst"))
    vals = np.asarray(rtt["space_rtt_ms"].to_pylist(), dtype=float)
    w = np.asarray(want["space_rtt_ms"].to_pylist(), dtype=float).reshape(len(grid), len(pairs))
    g = np.asarray(plain["space_rtt_ms"].to_pylist(), dtype=float).reshape(len(grid), len(pairs))
    for k in range(len(grid)):
        for j, (a, b) in enumerate(pairs):
            m = (step == k) & (((src == a) & (dst == b)) | ((src == b) & (dst == a)))
            assert vals[m] == pytest.approx([w[k, j]], rel=1e-6)  # stored as float32
    # fewer links can only lengthen paths, and here they do somewhere
    assert np.all(w >= g - 1e-9) and np.any(w > g + 1e-6)


def test_a_bad_list_names_its_line(study):
    path, _, _ = study
    (path.parent / "links.txt").write_text("0 1\n0 99999\n")
    with pytest.raises(InputError, match=r"links.txt:2.*does not exist"):
        prepare(load_scenario(path))
