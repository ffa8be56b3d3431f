"""Allocation for 10,000 terminals in one country over the 1,584-satellite shell, one step.

"Allocation for 10,000 terminals in one country over the 1,584-satellite shell
(starlink-shell1), one time step: time, and the ratio against solving the same instance as an
LP with HiGHS (both answers compared)."

Instance
--------
- Constellation: ``starlink-shell1`` (Walker 72 x 22, 550 km, 53 deg), positions at
  ``--utc`` (default 2026-01-01T18:00:00Z, ~20:00 local solar time in Ukraine).
- Terminals: ``--terminals`` (10,000) in Ukraine (UA), placed by population
  (:func:`skymesh.ground.countries.sample_points`, seed ``--seed``), H3 resolution-5 cells.
- Demand: war-zone terminals: ``DEFAULT_BUSY_HOUR_MBPS`` (D/U) x 100 ("up to 100x a
  household's data", seed text; Musk tweet, 14 Oct 2022, via CNN, N) x the default diurnal
  profile (assumption) at each terminal's local solar time.
- Gateways: `GATEWAYS` below -- plausible sites in neighbouring countries (PL, SK, HU, RO, LT,
  DE) at the coordinates of nearby cities, **not** actual Starlink gateway positions. With
  ``--gateways-from-data`` the operational gateways of those countries are read at run time
  from ``$SKYMESH_DATA/starlink_gateways_merged.csv`` (community-compiled list, coordinates
  approximate: juliensimon/starlink-viz ground-stations list of 2026-03-20, with
  SpaceNetLab/StarPerf_Simulator's 2022-12-03 coordinates where sites match; N) instead;
  nothing from that file is stored here.
- Routing: +Grid ISLs, every gateway allowed, one Dijkstra
  (:func:`skymesh.network.egress.egress_routes`). Capacities:
  :class:`skymesh.capacity.network.NetworkCapacityParams` defaults.

What is timed (median of ``--repeats`` runs)
--------------------------------------------
routing (visibility + ISL lengths + graph + Dijkstra), R build
(:func:`~skymesh.capacity.network.build_step_network`), progressive filling
(:func:`~skymesh.capacity.allocation.max_min_fair`). Peak memory: tracemalloc, in a separate
pass.

LP comparisons (HiGHS through ``scipy.optimize.linprog``)
---------------------------------------------------------
The project's exact sequential LP, :func:`~skymesh.capacity.allocation.lp_max_min`, solves
one LP per unfrozen flow per level (O(n^2) LPs on a dense matrix): at 10,000 terminals that is
hours, so it is run on the full instance only when it has at most ``--lp-full-max`` served
terminals (default 1,000), and otherwise on a sub-instance (the first ``--lp-sub`` terminals
of the same snapshot: a random subsample, same routes and capacities; default 300). On the
full instance two cheaper HiGHS checks are run instead:

1. **single-level LP**: ``max t  s.t.  R x <= c,  x_f >= t,  0 <= x <= d``; its optimum must
   equal the smallest water-filling rate;
2. **level-by-level LPs**: for every distinct rate t_k of bottlenecked terminals, flows with
   water-filling rates below t_k are fixed at those rates and ``max t`` is solved over the
   rest; t* must equal t_k. This is the sequential-LP method with its *freezing sets taken from
   the water-filling* (so it checks every level's value, not the sets themselves).

Run ``python benchmarks/bench_allocation.py`` (figures to bench-out/allocation.json).
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402

from skymesh.capacity.allocation import lp_max_min, max_min_fair  # noqa: E402
from skymesh.capacity.demand import WAR_ZONE_MULTIPLIER, demand_mbps, place_terminals  # noqa
from skymesh.capacity.network import (
    NetworkCapacityParams,
    allocate_step,  # noqa: E402
    build_step_network,
    terminals_at_rate,
)
from skymesh.links.isl import isl_lengths_km, plus_grid_pairs  # noqa: E402
from skymesh.links.visibility import visible_pairs  # noqa: E402
from skymesh.network.egress import EgressLayout, egress_graph, egress_routes  # noqa: E402
from skymesh.orbits.presets import load_constellation  # noqa: E402
from skymesh.orbits.propagate import positions_ecef  # noqa: E402
from skymesh.timebase import time_grid  # noqa: E402

GATEWAYS = [
    # name, iso2, lat, lon -- coordinates of the named city (plausible sites, not real gateways)
    ("Rzeszow", "PL", 50.04, 22.00),
    ("Warsaw", "PL", 52.23, 21.01),
    ("Kosice", "SK", 48.72, 21.26),
    ("Debrecen", "HU", 47.53, 21.63),
    ("Suceava", "RO", 47.65, 26.26),
    ("Bucharest", "RO", 44.43, 26.10),
    ("Kaunas", "LT", 54.90, 23.89),
    ("Frankfurt", "DE", 50.11, 8.68),
]
COUNTRY = "UA"
TARGET_MBPS = 25.0


def gateways_from_data(countries=("PL", "SK", "HU", "RO", "LT", "DE")):
    """Operational gateways of ``countries`` from $SKYMESH_DATA (read at run time only)."""
    path = benchlib.data_file("starlink_gateways_merged.csv")
    out = []
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            if (
                row["country_iso2"] in countries
                and row["type"] == "gateway"
                and row["status"] == "operational"
            ):
                out.append((row["name"], row["country_iso2"], float(row["lat"]), float(row["lon"])))
    return out


def make_instance(
    n_terminals: int, seed: int = 1, utc: str = "2026-01-01T18:00:00Z", gateways=None
):
    const = load_constellation("starlink-shell1")
    gws = GATEWAYS if gateways is None else gateways
    term = place_terminals({COUNTRY: n_terminals}, seed=seed)
    demand = demand_mbps(
        n_terminals, multiplier=WAR_ZONE_MULTIPLIER, utc_time=utc, lon_deg=term["lon_deg"]
    )
    return {
        "const": const,
        "utc": utc,
        "term": term,
        "demand": demand,
        "gw_lat": np.array([g[2] for g in gws]),
        "gw_lon": np.array([g[3] for g in gws]),
        "gateways": gws,
        "isl_pairs": plus_grid_pairs(const),
    }


def route(inst):
    """Positions, visibility, ISLs, graph and one Dijkstra: the step's routes."""
    pos = positions_ecef(inst["const"], time_grid(inst["utc"], 0, 1))
    term = inst["term"]
    n = term["lat_deg"].size
    tl = visible_pairs(pos, term["lat_deg"], term["lon_deg"])[:4]
    gl = visible_pairs(pos, inst["gw_lat"], inst["gw_lon"])[:4]
    lengths = isl_lengths_km(pos, inst["isl_pairs"])
    lay = EgressLayout(len(inst["const"]), n, inst["gw_lat"].size, 1)
    G = egress_graph(
        lay,
        "isl",
        1,
        isl_pairs=inst["isl_pairs"],
        isl_km=lengths,
        terminal_links=tl,
        gateway_links=gl,
        exit_mask=np.ones((1, inst["gw_lat"].size, 1), bool),
    )
    return pos[:, 0], egress_routes(G, lay, np.zeros(n, dtype=int), 1)


def build(inst, pos, routes, params, subset=None):
    term = inst["term"]
    r = {"path": routes["path"][0], "gateway": routes["gateway"][0]}
    cell, d = term["cell_index"], inst["demand"]
    if subset is not None:
        r = {k: v[subset] for k, v in r.items()}
        cell, d = cell[subset], d[subset]
    return build_step_network(
        pos,
        r,
        cell,
        term["cell_lat_deg"],
        term["cell_lon_deg"],
        inst["gw_lat"],
        inst["gw_lon"],
        d,
        params,
    )


def single_level_lp(R, c, d):
    """max t s.t. R x <= c, x_f >= t, 0 <= x <= d (sparse HiGHS). Returns t*."""
    R = sp.csr_matrix(R)
    n_links, n = R.shape
    A = sp.vstack(
        [sp.hstack([R, sp.csr_matrix((n_links, 1))]), sp.hstack([-sp.identity(n), np.ones((n, 1))])]
    ).tocsr()
    bounds = [(0.0, None if np.isinf(x) else x) for x in d] + [(0.0, None)]
    res = linprog(
        np.r_[np.zeros(n), -1.0], A_ub=A, b_ub=np.r_[c, np.zeros(n)], bounds=bounds, method="highs"
    )
    if res.status != 0:
        raise RuntimeError(f"HiGHS: {res.message}")
    return float(res.x[-1])


def level_lps(R, c, d, x_wf, bottleneck, rtol=1e-9):
    """Level-by-level LP check (see the module docstring). Returns (LP rates, n_levels)."""
    R = sp.csc_matrix(R)
    levels = np.unique(x_wf[bottleneck >= 0])
    x_lp = np.where(bottleneck >= 0, np.nan, x_wf)  # demand-met flows: at their demand
    for tk in levels:
        fixed = x_wf < tk * (1 - rtol)
        free = np.flatnonzero(~fixed)
        Rf = R[:, free]
        resid = c - R[:, np.flatnonzero(fixed)] @ x_wf[fixed]
        t = single_level_lp(Rf, np.maximum(resid, 0.0), d[free])
        at = (bottleneck >= 0) & (np.abs(x_wf - tk) <= rtol * max(tk, 1.0))
        x_lp[at] = t
    return x_lp, int(levels.size)


def run(
    n_terminals: int = 10_000,
    seed: int = 1,
    repeats: int = 3,
    lp_full_max: int = 1_000,
    lp_sub: int = 300,
    out_dir=benchlib.DEFAULT_OUT_DIR,
    gateways=None,
    utc: str = "2026-01-01T18:00:00Z",
    verbose: bool = True,
) -> dict:
    """Run the benchmark; returns the figures (also written to ``out_dir/allocation.json``
    unless ``out_dir`` is None)."""
    params = NetworkCapacityParams()
    inst = make_instance(n_terminals, seed, utc, gateways)
    t_route, t_build, t_fill = [], [], []
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        pos, routes = route(inst)
        t1 = time.perf_counter()
        net = build(inst, pos, routes, params)
        t2 = time.perf_counter()
        d_srv = inst["demand"][net["served_index"]]
        mm = max_min_fair(net["R"], net["capacity_mbps"], d_srv)
        t3 = time.perf_counter()
        t_route.append(t1 - t0)
        t_build.append(t2 - t1)
        t_fill.append(t3 - t2)
    med = statistics.median
    ours_s = med(t_route) + med(t_build) + med(t_fill)
    step = allocate_step(
        pos,
        {"path": routes["path"][0], "gateway": routes["gateway"][0]},
        inst["term"]["cell_index"],
        inst["term"]["cell_lat_deg"],
        inst["term"]["cell_lon_deg"],
        inst["gw_lat"],
        inst["gw_lon"],
        inst["demand"],
        params,
    )
    assert np.array_equal(step["rate_mbps"][net["served_index"]], mm["rate_mbps"])
    at_rate = terminals_at_rate(step, TARGET_MBPS)

    with benchlib.PhaseMemory() as mem:
        pos_m, routes_m = route(inst)
        mem.phase("routing")
        net_m = build(inst, pos_m, routes_m, params)
        mem.phase("build_R")
        max_min_fair(net_m["R"], net_m["capacity_mbps"], inst["demand"][net_m["served_index"]])
        mem.phase("progressive_filling")
    R, c, x = net["R"], net["capacity_mbps"], mm["rate_mbps"]
    n_srv = R.shape[1]

    # LP 1: single level on the full instance
    t0 = time.perf_counter()
    t_star = single_level_lp(R, c, d_srv)
    lp1_s = time.perf_counter() - t0
    # LP 2: level by level on the full instance
    t0 = time.perf_counter()
    x_lv, n_levels = level_lps(R, c, d_srv, x, mm["bottleneck"])
    lp2_s = time.perf_counter() - t0
    # LP 3: exact sequential lp_max_min (full instance if small enough, else a sub-instance)
    full_lp = n_srv <= lp_full_max
    if full_lp:
        sub_R, sub_c, sub_d = R, c, d_srv
        sub_fill_s = med(t_fill)
        sub_x = x
        sub_label = f"full instance ({n_srv} served terminals)"
    else:
        sub = np.arange(min(lp_sub, n_terminals))
        sn = build(inst, pos, routes, params, subset=sub)
        sub_R, sub_c = sn["R"], sn["capacity_mbps"]
        sub_d = inst["demand"][sub][sn["served_index"]]
        t0 = time.perf_counter()
        sub_x = max_min_fair(sub_R, sub_c, sub_d)["rate_mbps"]
        sub_fill_s = time.perf_counter() - t0
        sub_label = (
            f"sub-instance: first {sub.size} terminals of the same snapshot "
            f"({sub_R.shape[1]} served)"
        )
    t0 = time.perf_counter()
    lp3 = lp_max_min(sub_R, sub_c, sub_d)
    lp3_s = time.perf_counter() - t0

    T = step["totals"]
    sat_kinds = {
        str(k): int(v) for k, v in zip(*np.unique(step["saturated"]["kind"], return_counts=True))
    }
    figures = {
        "instance": {
            "constellation": "starlink-shell1",
            "n_satellites": len(inst["const"]),
            "country": COUNTRY,
            "n_terminals": n_terminals,
            "seed": seed,
            "utc": utc,
            "n_cells": int(inst["term"]["cell_ids"].size),
            "gateways": [g[0] + " " + g[1] for g in inst["gateways"]],
            "demand_mbps_median": float(np.median(inst["demand"])),
            "n_links": int(R.shape[0]),
            "n_served": int(n_srv),
            "R_nnz": int(R.nnz),
        },
        "result": {
            **{k: v for k, v in T.items()},
            "saturated_by_kind": sat_kinds,
            "max_isl_hops": int(routes["isl_hops"].max()),
            f"terminals_at_{TARGET_MBPS:g}_mbps": at_rate["n_terminals"],
            "terminals_at_rate_limiting_kind": at_rate["limiting_kind"],
        },
        "time_s": {
            "routing": med(t_route),
            "build_R": med(t_build),
            "progressive_filling": med(t_fill),
            "total": ours_s,
            "repeats": max(1, repeats),
        },
        "lp_single_level": {
            "time_s": lp1_s,
            "t_star_mbps": t_star,
            "min_waterfill_rate_mbps": float(x.min()),
            "abs_diff_mbps": abs(t_star - float(x.min())),
            "ratio_lp_over_filling": lp1_s / med(t_fill),
            "ratio_lp_over_total": lp1_s / ours_s,
        },
        "lp_level_by_level": {
            "time_s": lp2_s,
            "n_levels": n_levels,
            "max_abs_diff_mbps": float(np.nanmax(np.abs(x_lv - x))),
            "ratio_lp_over_filling": lp2_s / med(t_fill),
        },
        "lp_max_min_sequential": {
            "scope": sub_label,
            "time_s": lp3_s,
            "filling_time_s": sub_fill_s,
            "ratio_lp_over_filling": lp3_s / sub_fill_s,
            "rounds": lp3["rounds"],
            "max_abs_diff_mbps": float(np.abs(lp3["rate_mbps"] - sub_x).max()),
        },
        "memory": mem.figures(),
    }
    figures["load_aware_assignment"] = assignment_figures(inst, pos, params)
    path = benchlib.write_json("allocation", figures, out_dir)
    if verbose:
        _print(figures, path)
    return figures


def assignment_figures(inst, pos, params) -> dict:
    """The same snapshot through the load-aware beam assignment
    (:mod:`skymesh.capacity.assignment`, as ``bench_assignment`` times it): terminals served
    and throughput, against the fixed-route allocation above (whose terminals lose their
    beam when their route's satellite is full)."""
    import bench_assignment

    from skymesh.sim.capacity_pass import service_cells

    term = inst["term"]
    a = {
        "pos": pos[:, None, :],
        "demand": inst["demand"],
        "gw_lat": inst["gw_lat"],
        "gw_lon": inst["gw_lon"],
        "isl_pairs": inst["isl_pairs"],
        "n_sats": len(inst["const"]),
        "cells": service_cells(
            term["lat_deg"], term["lon_deg"], np.zeros(term["lat_deg"].size, int), 5
        ),
    }
    t0 = time.perf_counter()
    res, rate, _, _ = bench_assignment.slot(a, params)
    return {
        "time_s": time.perf_counter() - t0,
        "n_served": int((rate > 0).sum()),
        "n_unserved": int((rate <= 0).sum()),
        "throughput_mbps": float(rate.sum()),
        "median_rate_mbps": float(np.median(rate)),
        "rounds": int(res["rounds"]),
    }


def _print(f, path):
    inst, r, t = f["instance"], f["result"], f["time_s"]
    fmt = benchlib.fmt_s
    print(
        f"Allocation, {inst['n_terminals']:,} terminals in {inst['country']} over "
        f"{inst['constellation']} ({inst['n_satellites']:,} satellites), {inst['utc']}"
    )
    print(
        f"  cells {inst['n_cells']:,}; gateways {len(inst['gateways'])}; "
        f"links {inst['n_links']:,}; "
        f"served {r['n_served']:,} (no beam {r['n_no_beam']:,}, no route "
        f"{r['n_no_route']:,}); median demand {inst['demand_mbps_median']:.1f} Mbit/s"
    )
    print(
        f"  throughput {r['throughput_mbps'] / 1e3:.2f} Gbit/s, min rate "
        f"{r['min_rate_mbps']:.3f} Mbit/s, beams used {r['n_beams_used']}, saturated links "
        f"{r['n_saturated']} {r['saturated_by_kind']}, filling rounds {r['rounds']}, "
        f"max ISL hops {r['max_isl_hops']}"
    )
    print(
        f"  terminals at {TARGET_MBPS:g} Mbit/s: {r[f'terminals_at_{TARGET_MBPS:g}_mbps']:,} "
        f"(limited by {r['terminals_at_rate_limiting_kind'] or '-'})"
    )
    la = f["load_aware_assignment"]
    print(
        f"  load-aware beam assignment on the same snapshot: served {la['n_served']:,} "
        f"(unserved {la['n_unserved']:,}), throughput {la['throughput_mbps'] / 1e3:.2f} "
        f"Gbit/s, median {la['median_rate_mbps']:.2f} Mbit/s, {la['rounds']} LP rounds, "
        f"{benchlib.fmt_s(la['time_s'])}"
    )
    rows = [
        ["routing (vis + ISL + graph + Dijkstra)", fmt(t["routing"])],
        ["build R", fmt(t["build_R"])],
        ["progressive filling", fmt(t["progressive_filling"])],
        ["total", fmt(t["total"])],
    ]
    a, b, s = f["lp_single_level"], f["lp_level_by_level"], f["lp_max_min_sequential"]
    rows += [
        ["HiGHS single-level LP (full)", fmt(a["time_s"])],
        [f"HiGHS level-by-level LPs (full, {b['n_levels']} levels)", fmt(b["time_s"])],
        ["lp_max_min sequential LPs (" + s["scope"].split(":")[0] + ")", fmt(s["time_s"])],
    ]
    benchlib.print_table(f"Times (median of {t['repeats']})", ["phase", "time"], rows)
    print(
        f"\n  single-level LP: t* = {a['t_star_mbps']:.6f} vs min water-filling rate "
        f"{a['min_waterfill_rate_mbps']:.6f} Mbit/s (|diff| {a['abs_diff_mbps']:.2e}); "
        f"LP / filling = {a['ratio_lp_over_filling']:.1f}x, LP / (routing+R+filling) = "
        f"{a['ratio_lp_over_total']:.1f}x"
    )
    print(
        f"  level-by-level LPs: max |rate diff| {b['max_abs_diff_mbps']:.2e} Mbit/s; "
        f"LP / filling = {b['ratio_lp_over_filling']:.1f}x"
    )
    print(
        f"  lp_max_min on {s['scope']}: {fmt(s['time_s'])} vs filling "
        f"{fmt(s['filling_time_s'])} = {s['ratio_lp_over_filling']:.0f}x, {s['rounds']} "
        f"rounds, max |rate diff| {s['max_abs_diff_mbps']:.2e} Mbit/s"
    )
    m = f["memory"]
    print(
        f"  peak memory (tracemalloc) {m['tracemalloc_peak_mib']:.1f} MiB "
        f"{m['tracemalloc_peak_mib_by_phase']}; RSS peak {m['rss_peak_mib']:.0f} MiB "
        f"({m['rss_peak_scope']})"
    )
    if path:
        print(f"  figures: {path}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--terminals", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--lp-full-max", type=int, default=1_000)
    ap.add_argument("--lp-sub", type=int, default=300)
    ap.add_argument("--utc", default="2026-01-01T18:00:00Z")
    ap.add_argument("--gateways-from-data", action="store_true")
    ap.add_argument("--out-dir", default=str(benchlib.DEFAULT_OUT_DIR))
    a = ap.parse_args(argv)
    run(
        a.terminals,
        a.seed,
        a.repeats,
        a.lp_full_max,
        a.lp_sub,
        Path(a.out_dir),
        gateways_from_data() if a.gateways_from_data else None,
        a.utc,
    )


if __name__ == "__main__":
    main()
