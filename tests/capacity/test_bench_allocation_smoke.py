"""Smoke test of benchmarks/bench_allocation.py at a small size (figures are not asserted)."""

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_allocation.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_allocation", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_bench_allocation_small(bench, tmp_path):
    f = bench.run(
        n_terminals=200, repeats=1, lp_full_max=0, lp_sub=60, out_dir=tmp_path, verbose=False
    )
    assert (tmp_path / "allocation.json").is_file()
    assert f["instance"]["n_terminals"] == 200 and f["result"]["n_served"] > 0
    # both answers agree (tolerances, not timings)
    assert f["lp_single_level"]["abs_diff_mbps"] <= 1e-6 * max(
        1.0, f["lp_single_level"]["t_star_mbps"]
    )
    assert f["lp_level_by_level"]["max_abs_diff_mbps"] <= 1e-6
    assert f["lp_max_min_sequential"]["max_abs_diff_mbps"] <= 1e-6
    assert f["time_s"]["total"] > 0
