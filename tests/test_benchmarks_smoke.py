"""Tiny versions of the benchmarks: both approaches must agree (timings are not checked)."""

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))

pytest.importorskip("networkx")
pytest.importorskip("skyfield")
pytest.importorskip("psutil")

import bench_propagation  # noqa: E402
import bench_routing  # noqa: E402

from skymesh.orbits.constellation import Shell  # noqa: E402
from skymesh.orbits.walker import walker_constellation  # noqa: E402


def test_routing_benchmark_agrees_small(shared_data):
    const = walker_constellation(
        (Shell(550.0, 53.0, 20, 10, 1),), name="walker-200", epoch="2026-01-01T00:00:00Z"
    )
    assert len(const) == 200
    cities = shared_data / bench_routing.CITIES_FILE
    figures = bench_routing.run(
        const,
        cities_path=cities,
        n_cities=10,
        n_steps=2,
        n_baseline=2,
        trace_memory=False,
        profile="never",
        out_dir=None,
        verbose=False,
    )
    agreement = figures["agreement"]
    assert agreement["ok"], agreement
    for a in agreement["per_instant"]:
        assert a["rtt_max_rel_diff"] <= 1e-6
        assert a["unreachable_pattern_differs"] == 0
        assert a["next_hop_mismatches_costlier"] == 0
        assert a["walks_not_shortest"] == 0
    assert figures["workload"]["satellites"] == 200
    assert figures["ratio_baseline_over_skymesh"] > 0


def test_routing_compare_detects_disagreement(shared_data):
    """The check is not vacuous: a perturbed RTT or a wrong next hop fails it."""
    import numpy as np
    import satgenpy_baseline as baseline

    const, pairs, (_, lat, lon, alt) = bench_routing.load_inputs(
        walker_constellation((Shell(550.0, 53.0, 20, 10, 1),), name="w"),
        shared_data / bench_routing.CITIES_FILE,
        6,
    )
    grid, pos = bench_routing.random_instants(const, 1, seed=3)
    pos = np.ascontiguousarray(pos[:, 0])
    layout = bench_routing.NodeLayout(len(const), 6)
    sky, _ = bench_routing.skymesh_step(pos, pairs, lat, lon, alt, layout)
    base, _ = baseline.routing_step(pos, pairs, lat, lon, alt)
    assert bench_routing.compare(sky, base, len(const), 6)["ok"]
    finite = np.isfinite(sky["rtt_ms"]) & (sky["rtt_ms"] > 0)
    if finite.any():
        bad = dict(sky, rtt_ms=np.where(finite, sky["rtt_ms"] * (1 + 1e-4), sky["rtt_ms"]))
        assert not bench_routing.compare(bad, base, len(const), 6)["ok"]
        nh = sky["next_hop"].copy()
        src, dst = map(int, np.argwhere(finite)[0])
        nh[len(const) + src, dst] = -1
        assert not bench_routing.compare(dict(sky, next_hop=nh), base, len(const), 6)["ok"]


def test_propagation_benchmark_agrees_small(starlink_tle_path):
    figures = bench_propagation.run(
        starlink_tle_path,
        duration_s=59.0,
        step_s=1.0,
        chunk_steps=25,
        sample=20,
        n_sats=20,
        trace_memory=False,
        out_dir=None,
        verbose=False,
    )
    assert figures["workload"]["satellites"] == 20
    assert figures["workload"]["instants"] == 60
    agreement = figures["agreement"]
    assert agreement["ok"], agreement
    assert agreement["max_diff_km"] < 1.0
    assert agreement["points_compared"] > 0
