"""Beam assignment + allocation per 15 s slot: 10,000 and 100,000 terminals, Ukraine and CONUS.

Workload (one slot each; figures to ``bench-out/assignment.json``)
------------------------------------------------------------------
- Regions: Ukraine (``UA``) and the contiguous US (``US`` points inside 24-50 N, 125-66 W),
  terminals placed by population (:func:`skymesh.capacity.demand.place_terminals`, seed 1),
  H3 resolution-5 service cells.
- Constellations: ``starlink-gen1`` (the five FCC 2021 Gen1 shells, Walker) and the real TLE
  set ``$SKYMESH_DATA/starlink_tle_20251204.txt`` (skipped with one line when absent).
- Slot: the boundary at or before ``--utc`` (default 2025-12-04T18:00:12Z).
- Demand: ``DEFAULT_BUSY_HOUR_MBPS`` x the diurnal profile (x 100 in Ukraine, the war-zone
  multiplier of the seed text), per terminal.
- Gateways: Ukraine -- the eight plausible neighbouring-country sites of
  ``bench_allocation.GATEWAYS``; CONUS -- the operational US gateways of
  ``$SKYMESH_DATA/starlink_gateways_merged.csv`` (community list), or, without the data,
  twelve city sites spread over the country (plausible, not real gateways).
- Backhaul: +Grid ISLs (``isl`` mode), every gateway allowed; capacities from
  :class:`skymesh.capacity.network.NetworkCapacityParams` defaults.

What is timed
-------------
``ours``: everything the capacity pass does per slot after propagation (the service cells are
built once per run and reported as set-up) -- beam pairs and their
link budgets, gateway visibility, ISL lengths, each satellite's route to a gateway, the
backhaul incidence, the LP assignment (:func:`skymesh.capacity.assignment.assign_cells`,
HiGHS via highspy, warm-started across progressive-filling rounds) and per-terminal rates.
``baseline``: the same LP problem solved round by round with
``scipy.optimize.linprog(method="highs")``, cold-started each round (``solver="linprog"``),
on the same pairs and backhaul. Its answer is compared (worst-off level, total rate). The
baseline's first round is always run; the whole baseline only when first-round time x our
round count stays under ``--baseline-max-s`` (default 60 s), otherwise that product is
reported as an estimate and the line says so.
Peak memory: tracemalloc over one ``ours`` slot.

Run ``python benchmarks/bench_assignment.py`` (``--quick`` for 10,000 terminals only).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402

from skymesh.access.slots import slot_start_s  # noqa: E402
from skymesh.capacity.assignment import assign_cells, terminal_rates  # noqa: E402
from skymesh.capacity.beams import MAX_BEAMS_PER_CELL, beam_pairs  # noqa: E402
from skymesh.capacity.demand import (
    DEFAULT_BUSY_HOUR_MBPS,
    WAR_ZONE_MULTIPLIER,  # noqa: E402
    demand_mbps,
    place_terminals,
)
from skymesh.capacity.network import (
    NetworkCapacityParams,
    backhaul_network,  # noqa: E402
    satellite_routes,
)
from skymesh.links.isl import isl_lengths_km, plus_grid_pairs  # noqa: E402
from skymesh.links.visibility import visible_pairs  # noqa: E402
from skymesh.orbits.presets import load_constellation  # noqa: E402
from skymesh.orbits.propagate import positions_ecef  # noqa: E402
from skymesh.sim.capacity_pass import service_cells  # noqa: E402
from skymesh.timebase import TimeGrid, parse_time  # noqa: E402

UA_GATEWAYS = [
    (50.04, 22.00),
    (52.23, 21.01),
    (48.72, 21.26),
    (47.53, 21.63),
    (47.65, 26.26),
    (44.43, 26.10),
    (54.90, 23.89),
    (50.11, 8.68),
]
US_CITY_SITES = [
    (47.6, -122.3),
    (37.4, -121.9),
    (34.6, -117.4),
    (33.4, -112.1),
    (39.7, -105.0),
    (32.8, -96.8),
    (41.9, -87.6),
    (44.9, -93.3),
    (33.7, -84.4),
    (40.7, -74.0),
    (42.4, -71.1),
    (27.9, -82.5),
]
TLE_FILE = "starlink_tle_20251204.txt"


def us_gateways():
    try:
        path = benchlib.data_dir() / "starlink_gateways_merged.csv"
        with open(path, newline="") as fh:
            rows = [
                (float(r["lat"]), float(r["lon"]))
                for r in csv.DictReader(fh)
                if r["country_iso2"] == "US"
                and r["type"] == "gateway"
                and r["status"] == "operational"
            ]
        rows = [(a, b) for a, b in rows if 24 <= a <= 50 and -125 <= b <= -66]
        return rows, "operational US gateways (community list)"
    except OSError:
        return US_CITY_SITES, "12 US city sites (plausible, not real gateways)"


def terminals(region: str, n: int, seed: int = 1):
    if region == "UA":
        t = place_terminals({"UA": n}, seed=seed)
        return t["lat_deg"], t["lon_deg"]
    lat, lon = np.empty(0), np.empty(0)
    k = 0
    while lat.size < n:  # contiguous US: drop Alaska, Hawaii, territories
        t = place_terminals({"US": int(n * 1.1)}, seed=seed + k)
        m = (
            (t["lat_deg"] >= 24)
            & (t["lat_deg"] <= 50)
            & (t["lon_deg"] >= -125)
            & (t["lon_deg"] <= -66)
        )
        lat, lon = np.r_[lat, t["lat_deg"][m]], np.r_[lon, t["lon_deg"][m]]
        k += 1
    return lat[:n], lon[:n]


def make_instance(region: str, n: int, const_name: str, utc: str):
    const = load_constellation(const_name)
    lat, lon = terminals(region, n)
    start = parse_time(utc)
    t0 = float(slot_start_s(start, 0.0))
    grid = TimeGrid(start, np.array([t0]))
    when = grid.datetimes()[0]
    mult = WAR_ZONE_MULTIPLIER if region == "UA" else 1.0
    d = demand_mbps(n, DEFAULT_BUSY_HOUR_MBPS, mult, utc_time=when, lon_deg=lon)
    gws, gw_note = (UA_GATEWAYS, "8 plausible sites") if region == "UA" else us_gateways()
    pos = positions_ecef(const, grid, serving_only=True)
    cells = service_cells(lat, lon, np.zeros(lat.size, int), 5)  # once per run
    return {
        "pos": pos,
        "lat": lat,
        "lon": lon,
        "demand": d,
        "cells": cells,
        "gw_lat": np.array([g[0] for g in gws]),
        "gw_lon": np.array([g[1] for g in gws]),
        "gw_note": gw_note,
        "isl_pairs": plus_grid_pairs(const),
        "n_sats": len(const),
    }


def slot(inst, params, solver="highspy", max_rounds=64):
    """One slot's assignment + allocation (everything after propagation)."""
    pos, cells = inst["pos"], inst["cells"]
    pairs = beam_pairs(pos[:, 0], cells["lat_deg"], cells["lon_deg"])
    gl = visible_pairs(pos, inst["gw_lat"], inst["gw_lon"], min_elevation_deg=25.0)[:4]
    km = isl_lengths_km(pos[:, 0], inst["isl_pairs"], max_range_km=5400.0)
    routes = satellite_routes(
        inst["n_sats"],
        gl,
        np.ones((1, inst["gw_lat"].size), bool),
        mode="isl",
        isl_pairs=inst["isl_pairs"],
        isl_km=km,
    )
    bh = backhaul_network(pos[:, 0], routes, inst["gw_lat"], inst["gw_lon"], params)
    route = np.where(bh["route_ok"][pairs["sat"]], pairs["sat"], -1)
    n_c = cells["group"].size
    cell_d = np.bincount(cells["index"], weights=inst["demand"], minlength=n_c)
    res = assign_cells(
        pairs["cell"],
        pairs["sat"],
        pairs["capacity_mbps"],
        cell_d,
        n_cells=n_c,
        cell_beam_cap=np.minimum(MAX_BEAMS_PER_CELL, cells["n_terminals"]),
        backhaul={
            "route_of_pair": route,
            "R": bh["R"],
            "capacity_mbps": bh["capacity_mbps"],
            "kind": bh["kind"],
        },
        solver=solver,
        max_rounds=max_rounds,
    )
    rate = terminal_rates(res, cells["index"], inst["demand"], inst["demand"])
    return res, rate, cells, pairs


def run_case(region, n, const_name, utc, params, baseline_max_s, verbose=True):
    t0 = time.perf_counter()
    inst = make_instance(region, n, const_name, utc)
    t_setup = time.perf_counter() - t0
    times, cpus = [], []
    for _ in range(2):
        t0, c0 = time.perf_counter(), time.process_time()
        res, rate, cells, pairs = slot(inst, params)
        times.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    ours, ours_cpu = min(times), min(cpus)
    tracemalloc.start()
    slot(inst, params)
    peak = tracemalloc.get_traced_memory()[1] / benchlib.MIB
    tracemalloc.stop()
    row = {
        "region": region,
        "terminals": n,
        "constellation": const_name,
        "cells": int(cells["group"].size),
        "pairs": int(pairs["cell"].size),
        "rounds": int(res["rounds"]),
        "ours_s": ours,
        "ours_cpu_s": ours_cpu,
        "lp_s": float(res["lp_seconds"]),
        "peak_mib": peak,
        "setup_s": t_setup,
        "gateways": inst["gw_note"],
        "served_fraction": float((rate > 0).mean()),
        "aggregate_gbps": float(rate.sum() / 1e3),
        "min_level": float(res["totals"]["min_level"]),
    }
    # baseline: the same problem, scipy linprog (HiGHS), cold start per round
    t0 = time.perf_counter()
    b1, _, _, _ = slot(inst, params, solver="linprog", max_rounds=1)
    one = time.perf_counter() - t0
    if one * res["rounds"] <= baseline_max_s:
        t0, c0 = time.perf_counter(), time.process_time()
        b, brate, _, _ = slot(inst, params, solver="linprog")
        base, base_cpu = time.perf_counter() - t0, time.process_time() - c0
        row.update(
            baseline_s=base,
            baseline_cpu_s=base_cpu,
            baseline_note="full progressive filling",
            ratio=base / ours,
            ratio_cpu=base_cpu / ours_cpu,
            level_diff=float(abs(b["totals"]["min_level"] - res["totals"]["min_level"])),
            rate_rel_diff=float(abs(brate.sum() - rate.sum()) / max(rate.sum(), 1e-9)),
        )
    else:
        est = one * res["rounds"]
        row.update(
            baseline_s=est,
            baseline_cpu_s=float("nan"),
            baseline_note=f"estimated: 1 round took {one:.1f} s x "
            f"{res['rounds']} rounds (not run in full)",
            ratio=est / ours,
            ratio_cpu=float("nan"),
            level_diff=float(abs(b1["levels"][0] - res["levels"][0])),
            rate_rel_diff=float("nan"),
        )
    if verbose:
        print(
            f"{region} {n:>7,} {const_name:<28} cells {row['cells']:>6,} pairs "
            f"{row['pairs']:>8,} rounds {row['rounds']:>3} ours {ours:6.2f} s wall "
            f"{ours_cpu:5.2f} s CPU (LP {row['lp_s']:.2f}) baseline {row['baseline_s']:7.2f}"
            f" s ratio {row['ratio']:5.1f}x (CPU {row['ratio_cpu']:5.1f}x) peak {peak:7.1f} "
            "MiB",
            flush=True,
        )
    return row


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10,000 terminals only")
    ap.add_argument("--utc", default="2025-12-04T18:00:12Z")
    ap.add_argument("--baseline-max-s", type=float, default=60.0)
    ap.add_argument("--out", default=str(benchlib.DEFAULT_OUT_DIR))
    a = ap.parse_args(argv)
    params = NetworkCapacityParams()
    sizes = (10_000,) if a.quick else (10_000, 100_000)
    consts = ["starlink-gen1"]
    tle = benchlib.data_dir() / TLE_FILE
    if tle.is_file():
        consts.append(str(tle))
    else:
        print(f"real TLE set skipped: {tle} not found (set SKYMESH_DATA)")
    rows = []
    for const_name in consts:
        for region in ("UA", "US"):
            for n in sizes:
                rows.append(run_case(region, n, const_name, a.utc, params, a.baseline_max_s))
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "assignment.json").write_text(json.dumps(rows, indent=1))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average at the end: {load:.1f} on {os.cpu_count()} cores")
    print(
        "| region | terminals | constellation | cells | pairs | rounds | ours s (CPU) | "
        "baseline s (CPU) | ratio (CPU) | peak MiB | level diff |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['region']} | {r['terminals']:,} | {Path(r['constellation']).name} | "
            f"{r['cells']:,} | {r['pairs']:,} | {r['rounds']} | {r['ours_s']:.2f} "
            f"({r['ours_cpu_s']:.2f}) | {r['baseline_s']:.1f} ({r['baseline_cpu_s']:.1f}) | "
            f"{r['ratio']:.1f} ({r['ratio_cpu']:.1f}) | {r['peak_mib']:.0f} | "
            f"{r['level_diff']:.1e} |"
        )
        if r["baseline_note"] != "full progressive filling":
            print(f"  baseline {r['region']} {r['terminals']:,}: {r['baseline_note']}")


if __name__ == "__main__":
    main()
