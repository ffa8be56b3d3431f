"""Scaling table: per-step routing time and its phases, satellites x ground points.

Issue 12 item 5: {1,584 (starlink-shell1); 4,408 (starlink-gen1); 9,042 (real TLE set)}
satellites x {100; 1,000; 10,000} ground points (the most populous GeoNames places). One
step is timed phase by phase: propagation (SGP4 or Walker, Earth-fixed), visibility (the
indexed ground-satellite test), graph build (ISL lengths, the snapshot graph) and routing
(all-pairs RTT and forwarding state toward every ground point,
:func:`skymesh.network.routing.routing_state`). Medians over ``--steps`` instants, with the
per-phase exponents fitted in ground points (per constellation) and in satellites (per
ground count) by least squares on log-log. The 10,000-point routing state holds a 10,000 x
10,000 RTT table and a forwarding table of every node toward every point (about 1.5 GB for
the real set); ``--max-ground`` caps the grid. The baseline is the 100-point case of the
same constellation in the same run: the table prints each cell's time as a multiple of it.

    python benchmarks/bench_scaling.py [--steps 3] [--max-ground 10000]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402

from skymesh.ground.places import largest_places  # noqa: E402
from skymesh.links.isl import isl_lengths_km, plus_grid_pairs  # noqa: E402
from skymesh.links.visibility import visible_pairs  # noqa: E402
from skymesh.network.routing import routing_state  # noqa: E402
from skymesh.network.snapshot import NodeLayout, snapshot_graph  # noqa: E402
from skymesh.orbits.presets import load_constellation  # noqa: E402
from skymesh.orbits.propagate import positions_ecef  # noqa: E402
from skymesh.timebase import time_grid  # noqa: E402

PHASES = ("propagation", "visibility", "graph", "routing")
MIN_ELEVATION_DEG = 25.0


def constellations():
    out = [
        ("starlink-shell1", load_constellation("starlink-shell1")),
        ("starlink-gen1", load_constellation("starlink-gen1")),
    ]
    tle = benchlib.data_dir() / "starlink_tle_20251204.txt"
    if tle.is_file():
        out.append(("real TLE set", load_constellation(tle)))
    else:
        print(f"real TLE set: skipped ({tle} not found; set SKYMESH_DATA)")
    return out


def one_step(const, pairs, lat, lon, when) -> dict:
    t = {}
    t0 = time.perf_counter()
    pos = positions_ecef(const, time_grid(when, 0.0, 1.0), serving_only=True)
    t["propagation"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    g, s, k, r, _ = visible_pairs(pos, lat, lon, min_elevation_deg=MIN_ELEVATION_DEG)
    t["visibility"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    layout = NodeLayout(pos.shape[0], len(lat))
    graph = snapshot_graph(
        layout,
        "isl",
        isl_pairs=pairs,
        isl_km=isl_lengths_km(pos, pairs)[:, 0],
        endpoint_links=(g, s, k, r),
    )
    t["graph"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    rtt, _ = routing_state(graph, layout)
    t["routing"] = time.perf_counter() - t0
    t["reachable"] = float(np.isfinite(rtt).mean())
    return t


def fit(xs, ys) -> float:
    ok = [(x, y) for x, y in zip(xs, ys) if y > 0]
    if len(ok) < 2:
        return float("nan")
    a = np.log([x for x, _ in ok])
    b = np.log([y for _, y in ok])
    return float(np.polyfit(a, b, 1)[0])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3, help="instants timed per cell (median)")
    ap.add_argument("--max-ground", type=int, default=10_000)
    ap.add_argument("--out", default=str(benchlib.DEFAULT_OUT_DIR))
    args = ap.parse_args(argv)
    grounds = [n for n in (100, 1_000, 10_000) if n <= args.max_ground]
    _, plat, plon, *_ = largest_places(max(grounds))
    print(
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; "
        f"{args.steps} steps per cell, medians (s)"
    )
    rows, cells = [], {}
    for name, const in constellations():
        pairs = plus_grid_pairs(const)
        start = const.epoch.replace(second=0, microsecond=0)
        one_step(const, pairs, plat[:100], plon[:100], start)  # warm-up (JIT, caches)
        base = None
        for n in grounds:
            runs = [
                one_step(
                    const,
                    pairs,
                    plat[:n],
                    plon[:n],
                    start.replace(minute=(start.minute + 7 * i) % 60),
                )
                for i in range(args.steps)
            ]
            med = {p: float(np.median([r[p] for r in runs])) for p in PHASES}
            total = sum(med.values())
            base = base or total
            cells[(name, n)] = dict(med, total=total, n_sats=len(const))
            rows.append(
                [name, f"{len(const):,}", f"{n:,}"]
                + [f"{med[p]:.3f}" for p in PHASES]
                + [f"{total:.3f}", f"{total / base:.1f}x"]
            )
            print(" ".join(rows[-1]), flush=True)
    benchlib.print_table(
        "per-step time (s) and phases",
        ["constellation", "sats", "ground"] + list(PHASES) + ["total", "vs 100 pts"],
        rows,
    )
    names = sorted({k[0] for k in cells}, key=lambda x: cells[(x, 100)]["n_sats"])
    exp_rows = []
    for name in names:
        exp_rows.append(
            [f"{name}: in ground points"]
            + [
                f"{fit(grounds, [cells[(name, n)][p] for n in grounds]):.2f}"
                for p in PHASES + ("total",)
            ]
        )
    for n in grounds:
        sats = [cells[(nm, n)]["n_sats"] for nm in names]
        exp_rows.append(
            [f"{n:,} points: in satellites"]
            + [f"{fit(sats, [cells[(nm, n)][p] for nm in names]):.2f}" for p in PHASES + ("total",)]
        )
    benchlib.print_table(
        "fitted exponents (log-log least squares)", ["fit"] + list(PHASES) + ["total"], exp_rows
    )
    benchlib.write_json(
        "scaling",
        {"cells": {f"{k[0]}|{k[1]}": v for k, v in cells.items()}, "machine": benchlib.machine()},
        args.out,
    )


if __name__ == "__main__":
    main()
