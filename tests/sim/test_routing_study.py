"""Routing studies: chunk-independent, resumable, and the forwarding-state changes add up."""

import textwrap

import numpy as np
import pyarrow.parquet as pq
import pytest

from skymesh.links.isl import isl_lengths_km, plus_grid_pairs
from skymesh.links.visibility import visible_pairs
from skymesh.network.routing import routing_state
from skymesh.network.snapshot import NodeLayout, snapshot_graph
from skymesh.orbits.presets import load_constellation
from skymesh.orbits.propagate import positions_ecef
from skymesh.sim.run import run_scenario
from skymesh.sim.scenario import load_scenario

STUDY = """
name = "routing-test"
study = "routing"
[constellation]
preset = "starlink-shell1"
[time]
start = 2026-01-01T00:00:00Z
duration_s = 400
step_s = 20
[[terminals]]
name = "city"
points = [[48.85, 2.35], [-8.84, 13.23], [35.69, 139.69], [40.71, -74.0], [-33.87, 151.2],
          [89.5, 0.0]]
[output]
chunk_steps = 4
"""


@pytest.fixture()
def study(tmp_path):
    p = tmp_path / "study.toml"
    p.write_text(textwrap.dedent(STUDY))
    return p


def test_study_matches_routing_each_step_directly(tmp_path, study):
    run_scenario(load_scenario(study), tmp_path / "r")
    rtt = (
        pq.read_table(tmp_path / "r" / "rtt.parquet").to_pandas()
        if False
        else pq.read_table(tmp_path / "r" / "rtt.parquet")
    )
    changes = pq.read_table(tmp_path / "r" / "fstate_changes.parquet")
    c = load_constellation("starlink-shell1")
    loaded = load_scenario(study)
    pts = np.array(loaded.scenario.terminals[0].points)
    from skymesh.timebase import time_grid

    grid = time_grid("2026-01-01T00:00:00Z", 400, 20)
    pos = positions_ecef(c, grid)
    pairs = plus_grid_pairs(c)
    layout = NodeLayout(len(c), len(pts))
    step = rtt["step"].to_numpy()
    src = rtt["src"].to_numpy()
    dst = rtt["dst"].to_numpy()
    vals = np.asarray(rtt["space_rtt_ms"].to_pylist(), dtype=float)
    c_step = changes["step"].to_numpy()
    state = None
    for k in range(len(grid)):
        g, s, _, r, _ = visible_pairs(pos[:, k], pts[:, 0], pts[:, 1])
        graph = snapshot_graph(
            layout,
            "isl",
            isl_pairs=pairs,
            isl_km=isl_lengths_km(pos[:, k], pairs),
            endpoint_links=(g, s, np.zeros_like(g), r),
        )
        expected_rtt, expected_hop = routing_state(graph, layout)
        mine = step == k
        assert np.allclose(
            vals[mine], expected_rtt[src[mine], dst[mine]], rtol=1e-6, equal_nan=True
        )
        # replay the forwarding-state changes up to step k
        m = c_step == k
        if state is None:
            state = np.full_like(expected_hop, -99)
        state[changes["node"].to_numpy()[m], changes["dst"].to_numpy()[m]] = changes[
            "next_hop"
        ].to_numpy()[m]
        assert np.array_equal(state, expected_hop)
    assert np.all(np.isnan(vals[(src == 5) | (dst == 5)]))  # the pole camp is unreachable


def test_chunking_and_resume_leave_results_unchanged(tmp_path, study):
    loaded = load_scenario(study)
    run_scenario(loaded, tmp_path / "a")
    run_scenario(load_scenario(study, {"output.chunk_steps": 21}), tmp_path / "b")
    partial = run_scenario(loaded, tmp_path / "c", stop_after=2)
    assert partial["interrupted"]
    run_scenario(loaded, tmp_path / "c", resume=True)
    for name in ("rtt", "fstate_changes", "pairs"):
        a = pq.read_table(tmp_path / "a" / f"{name}.parquet")
        assert a.equals(pq.read_table(tmp_path / "b" / f"{name}.parquet")), name
        assert a.equals(pq.read_table(tmp_path / "c" / f"{name}.parquet")), name


def test_summary_names_the_space_rtt_and_agrees_with_its_table(tmp_path, study):
    """A routing study's RTTs are propagation only: rtt.parquet, pairs.parquet and
    summary.json call them ``space_rtt_ms`` (issue 21), and the summary's percentiles
    are rtt.parquet's (0.01 ms histogram bins)."""
    import json

    run_scenario(load_scenario(study), tmp_path / "r")
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert "rtt_ms" not in summary
    vals = pq.read_table(tmp_path / "r" / "rtt.parquet")["space_rtt_ms"]
    vals = vals.to_numpy(zero_copy_only=False).astype(float)
    vals = vals[np.isfinite(vals)]
    for p in (50, 95, 99):
        assert abs(summary["space_rtt_ms"][f"p{p}"] - np.percentile(vals, p)) <= 0.05
    pairs = pq.read_table(tmp_path / "r" / "pairs.parquet")
    assert {"space_rtt_ms_min", "space_rtt_ms_mean", "space_rtt_ms_max"} <= set(pairs.column_names)
    assert np.nanmin(pairs["space_rtt_ms_min"].to_numpy(zero_copy_only=False)) == pytest.approx(
        vals.min(), abs=1e-3
    )
