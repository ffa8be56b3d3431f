"""Benchmark: per-time-step routing state (all-pairs RTT + forwarding state), ISL mode.

Workload (the issue's): starlink-shell1 (1,584 satellites, +Grid ISLs) with
the 100 most populous cities of Hypatia's list as ground stations. One step
is: find the satellites in view of every city, the usable ISLs and their
lengths, build the snapshot graph and compute the routing state
(:func:`skymesh.network.routing.routing_state`).

Against it, in the same process and on the same snapshots, the
straightforward approach of Hypatia's satgenpy (see ``satgenpy_baseline.py``):
per-pair visibility loop, networkx Floyd-Warshall over the satellite graph,
Python-loop forwarding state. Both must agree (same visible links, RTT within
1e-6 relative with the same unreachable pairs, next hops identical or of
exactly the same cost); the script exits with status 1 if they do not.

Positions, and what is timed. satgenpy models a Walker shell as one TLE per
satellite and finds the satellites in view by re-propagating the satellite
for every (ground station, satellite) pair (pyephem ``compute`` per pair);
that re-propagation is part of its visibility cost. So both sides here fly
the same satellites: the shell's TLEs (built as satgenpy builds them,
``satgenpy_baseline.walker_tles``), SGP4 with WGS72.

* The baseline's timed "visibility" phase propagates per pair with
  ``Satrec.sgp4`` (records read from those TLE lines), rotates to Earth-fixed
  and tests the elevation, in Python; its in-view sets feed its forwarding
  state. Its ISL lengths come from the same instant's SkyMesh positions
  (the +Grid topology and line-of-sight filter are SkyMesh's).
* SkyMesh gets Earth-fixed positions of the same TLEs from
  ``positions_ecef`` (sgp4's ``SatrecArray``: the same SGP4 code, so the same
  positions up to rounding in the frame rotation), computed before the
  timed step, as in a time-stepped run where one propagation call covers a
  chunk of instants. Its cost per instant is measured separately and printed
  ("SkyMesh propagation per instant"), with the ratio that includes it.

So the two in-view sets are computed from the same positions and must match
exactly; the gap between the closed-form circular orbit and SGP4 of a
circular TLE (kilometres) does not enter the comparison.

Second part, the real constellation (issue 12's target of 0.5 s per step): the
Starlink TLE set ``starlink_tle_20251204.txt`` (9,042 satellites, planes inferred
by :func:`skymesh.orbits.planes.assign_planes`, +Grid ISLs) with Hypatia's
top-1,000 cities, 25 deg mask: the same step, phase by phase, median and range over
random instants; and the routing phase once more with ``engine="scipy"`` (scipy's
Dijkstra and a numpy argmin, the formulation before the compiled kernels) on the
same graphs, alternating, which must give identical RTTs and next hops. Skipped
with one line when the data files are absent (``--no-tle-scale`` skips it).

Timings are printed and written to ``bench-out/bench_routing.json`` and
``bench-out/bench_routing_tle.json``; none is asserted. Run:
``python benchmarks/bench_routing.py [--help]``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402
import satgenpy_baseline as baseline  # noqa: E402

from skymesh.ground.places import load_hypatia_cities  # noqa: E402
from skymesh.links.isl import isl_lengths_km, plus_grid_pairs  # noqa: E402
from skymesh.links.visibility import visible_pairs  # noqa: E402
from skymesh.network.routing import routing_state  # noqa: E402
from skymesh.network.snapshot import NodeLayout, snapshot_graph  # noqa: E402
from skymesh.orbits.presets import load_constellation  # noqa: E402
from skymesh.orbits.propagate import positions_ecef  # noqa: E402
from skymesh.orbits.tle import constellation_from_tle  # noqa: E402
from skymesh.timebase import TimeGrid, julian_date  # noqa: E402

NAME = "bench_routing"
CITIES_FILE = "hypatia_ground_stations_cities_sorted_by_estimated_2025_pop_top_100.basic.txt"
CITIES_1000_FILE = "hypatia_ground_stations_cities_sorted_by_estimated_2025_pop_top_1000.basic.txt"
TLE_FILE = "starlink_tle_20251204.txt"
TLE_TARGET_S = 0.5  # issue 12: real TLE set + 1,000 ground stations, per step
MIN_ELEVATION_DEG = 25.0
TARGET_RATIO = 500.0
RTT_RTOL = 1e-6  # RTT agreement, relative
COST_RTOL = 1e-9  # next-hop cost / walked path length agreement, relative
ISSUE_SATGENPY_S = (12.0, 15.0)


# --------------------------------------------------------------------------- inputs


def load_inputs(constellation="starlink-shell1", cities_path=None, n_cities: int = 100):
    """Walker constellation, +Grid pairs and the first ``n_cities`` ground stations."""
    const = (
        load_constellation(constellation)
        if isinstance(constellation, (str, Path))
        else constellation
    )
    cities_path = Path(cities_path) if cities_path else benchlib.data_file(CITIES_FILE)
    _, names, lat, lon, alt = load_hypatia_cities(cities_path)
    if n_cities > len(names):
        raise SystemExit(f"{cities_path} has only {len(names)} cities")
    cities = (names[:n_cities], lat[:n_cities], lon[:n_cities], alt[:n_cities])
    return const, plus_grid_pairs(const), cities


def shell_as_tles(const):
    """The Walker constellation as TLEs, as satgenpy builds them:
    ``(SkyMesh TLE constellation, line1s, line2s)``, same satellite order."""
    jd0, fr0 = julian_date(const.epoch)
    sat_names, l1, l2 = baseline.walker_tles(const, jd0 + fr0)
    tle_const = constellation_from_tle(
        sat_names, l1, l2, name=f"{const.name} (TLEs)", source="satgenpy_baseline.walker_tles"
    )
    return tle_const, l1, l2


def random_instants(const, n: int, seed: int, span_s: float = 86400.0, start=None):
    """Earth-fixed positions (N, n, 3) at ``n`` random instants within a day of ``start``
    (default: the constellation's epoch)."""
    rng = np.random.default_rng(seed)
    offsets = np.sort(rng.uniform(0.0, span_s, n).round(3))
    grid = TimeGrid(const.epoch if start is None else start, offsets)
    return grid, positions_ecef(const, grid)


# --------------------------------------------------------------------------- SkyMesh step


def skymesh_step(pos, pairs, lat, lon, alt, layout: NodeLayout, memory=None):
    """SkyMesh's routing step at one instant; ``(outputs, phase timings in s)``."""
    times = {}

    mark = benchlib.phase_marker(times, memory)

    t0 = time.perf_counter()
    g, s, k, r, _ = visible_pairs(pos, lat, lon, alt, MIN_ELEVATION_DEG)
    t0 = mark("visibility", t0)
    isl_km = isl_lengths_km(pos, pairs)
    t0 = mark("isl_lengths", t0)
    graph = snapshot_graph(
        layout, "isl", isl_pairs=pairs, isl_km=isl_km, endpoint_links=(g, s, k, r)
    )
    t0 = mark("graph", t0)
    rtt_ms, next_hop = routing_state(graph, layout)
    mark("routing_state", t0)
    return {
        "visible": (g, s, r),
        "isl_km": isl_km,
        "graph": graph,
        "rtt_ms": rtt_ms,
        "next_hop": next_hop,
    }, times


# --------------------------------------------------------------------------- agreement


def _walk(table, src, dst, n_sats, gsl_m, isl_m):
    """Follow ``table`` from ground station ``src`` to ``dst``; total length (m) or None."""
    node = n_sats + src
    total = 0.0
    for _ in range(table.shape[0] + 1):
        hop = int(table[node, dst])
        if hop < 0:
            return None
        if node >= n_sats:  # ground station -> satellite
            length = gsl_m.get((src, hop))
        elif hop >= n_sats:  # satellite -> ground station
            length = gsl_m.get((dst, node)) if hop == n_sats + dst else None
        else:
            length = isl_m.get((min(node, hop), max(node, hop)))
        if length is None:
            return None  # not a link of this snapshot
        total += length
        if hop == n_sats + dst:
            return total
        node = hop
    return None  # loop


def compare(sky: dict, base: dict, n_sats: int, n_gs: int) -> dict:
    """Agreement figures between SkyMesh's and the baseline's routing state at one instant."""
    out = {}
    # 1. Same links in view.
    g, s, r = sky["visible"]
    sky_vis = {(int(a), int(b)): float(x) * 1000.0 for a, b, x in zip(g, s, r)}
    base_vis = {(gid, sid): d for gid, lst in enumerate(base["in_range"]) for d, sid in lst}
    common = sky_vis.keys() & base_vis.keys()
    out["visible_links"] = len(base_vis)
    out["visible_links_only_skymesh"] = len(sky_vis.keys() - base_vis.keys())
    out["visible_links_only_baseline"] = len(base_vis.keys() - sky_vis.keys())
    out["gsl_length_max_rel_diff"] = max(
        (abs(sky_vis[k] - base_vis[k]) / base_vis[k] for k in common), default=0.0
    )

    # 2. All-pairs RTT.
    a, b = sky["rtt_ms"], base["rtt_ms"]
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    both = ~nan_a & ~nan_b & (b > 0)
    out["pairs"] = int(n_gs * (n_gs - 1))
    out["unreachable_pairs"] = int(nan_b.sum())
    out["unreachable_pattern_differs"] = int((nan_a != nan_b).sum())
    out["rtt_max_rel_diff"] = float(np.max(np.abs(a[both] - b[both]) / b[both], initial=0.0))
    out["rtt_mean_ms"] = float(np.nanmean(np.where(np.eye(n_gs, dtype=bool), np.nan, b)))

    # 3. Next hops.
    gsl_m = base_vis
    isl_m = {(min(u, v), max(u, v)): w for u, v, w in base["graph"].edges(data="weight")}
    sky_nh = sky["next_hop"]
    base_nh = baseline.next_hop_table(base["fstate"], n_sats, n_gs)
    d_sat_gs = base["dist_sat_to_gs_m"]
    d_gs = base["dist_gs_m"]

    def hop_cost(node, dst, hop):
        if node >= n_sats:
            src = node - n_sats
            length = gsl_m.get((src, hop))
            return np.inf if length is None or hop >= n_sats else length + d_sat_gs[hop, dst]
        if hop == n_sats + dst:
            length = gsl_m.get((dst, node))
            return np.inf if length is None else length
        if hop >= n_sats:
            return np.inf
        length = isl_m.get((min(node, hop), max(node, hop)))
        return np.inf if length is None else length + d_sat_gs[hop, dst]

    mask = np.ones(base_nh.shape, dtype=bool)
    mask[n_sats + np.arange(n_gs), np.arange(n_gs)] = False  # src == dst: no entry
    entries = int(mask.sum())
    same = (sky_nh == base_nh) & mask
    diff_rows, diff_cols = np.nonzero(~same & mask)
    reach_diff = 0
    worse = 0
    max_cost_rel = 0.0
    for node, dst in zip(diff_rows.tolist(), diff_cols.tolist()):
        hs, hb = int(sky_nh[node, dst]), int(base_nh[node, dst])
        if hs < 0 or hb < 0:
            reach_diff += 1
            continue
        cs, cb = hop_cost(node, dst, hs), hop_cost(node, dst, hb)
        best = d_sat_gs[node, dst] if node < n_sats else d_gs[node - n_sats, dst]
        rel = max(abs(cs - best), abs(cb - best)) / best if np.isfinite(cs + cb) else np.inf
        max_cost_rel = max(max_cost_rel, rel)
        if rel > COST_RTOL:
            worse += 1
    out["next_hop_entries"] = entries
    out["next_hop_identical"] = int(same.sum())
    out["next_hop_mismatches"] = int(len(diff_rows))
    out["next_hop_mismatches_reachability"] = reach_diff
    out["next_hop_mismatches_costlier"] = worse
    out["next_hop_mismatch_max_rel_cost_diff"] = max_cost_rel

    # 4. Following each table end to end gives the shortest length.
    bad_walks = 0
    for src in range(n_gs):
        for dst in range(n_gs):
            if src == dst:
                continue
            best = d_gs[src, dst]
            for table in (sky_nh, base_nh):
                w = _walk(table, src, dst, n_sats, gsl_m, isl_m)
                if np.isfinite(best):
                    ok = w is not None and abs(w - best) <= COST_RTOL * best
                else:
                    ok = w is None
                bad_walks += not ok
    out["walks_checked"] = 2 * n_gs * (n_gs - 1)
    out["walks_not_shortest"] = bad_walks

    out["ok"] = bool(
        out["visible_links_only_skymesh"] == 0
        and out["visible_links_only_baseline"] == 0
        and out["unreachable_pattern_differs"] == 0
        and out["rtt_max_rel_diff"] <= RTT_RTOL
        and reach_diff == 0
        and worse == 0
        and bad_walks == 0
    )
    return out


# --------------------------------------------------------------------------- profile


def profile_skymesh(pos_list, pairs, lat, lon, alt, layout, top: int = 15) -> str:
    prof = cProfile.Profile()
    prof.enable()
    for pos in pos_list:
        skymesh_step(pos, pairs, lat, lon, alt, layout)
    prof.disable()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(top)
    return buf.getvalue()


# --------------------------------------------------------------------------- run


def run(
    constellation="starlink-shell1",
    cities_path=None,
    n_cities: int = 100,
    n_steps: int = 10,
    n_baseline: int = 2,
    seed: int = 20260101,
    trace_memory: bool = True,
    profile: str = "auto",
    out_dir=benchlib.DEFAULT_OUT_DIR,
    verbose: bool = True,
) -> dict:
    """Run the benchmark; return its figures (``figures["agreement"]["ok"]``)."""
    log = print if verbose else (lambda *a, **k: None)
    const, pairs, (names, lat, lon, alt) = load_inputs(constellation, cities_path, n_cities)
    tle_const, l1s, l2s = shell_as_tles(const)
    n_sats, n_gs = len(const), len(names)
    layout = NodeLayout(n_sats, n_gs)
    n_inst = max(n_steps, n_baseline)
    grid, positions = random_instants(tle_const, n_inst, seed, start=const.epoch)
    pos_at = [np.ascontiguousarray(positions[:, k, :]) for k in range(n_inst)]
    jd_fr = list(zip(*grid.jd_fr))
    base_satrecs = [baseline.Satrec.twoline2rv(a, b, baseline.WGS72) for a, b in zip(l1s, l2s)]
    # SkyMesh's propagation cost per instant (outside the step; see the docstring).
    positions_ecef(tle_const, grid.subset(slice(0, 1)))
    prop_s = float(
        np.median(
            [
                benchlib.timed(positions_ecef, tle_const, grid.subset(slice(k, k + 1)))[1]
                for k in range(n_inst)
            ]
        )
    )
    log(
        f"{NAME}: {const.name}, {n_sats:,} satellites, {len(pairs):,} +Grid ISLs, "
        f"{n_gs} cities; {n_steps} SkyMesh step(s), {n_baseline} baseline step(s)"
    )

    # SkyMesh: warm-up, then timed steps (no tracing).
    skymesh_step(pos_at[0], pairs, lat, lon, alt, layout)
    benchlib.reset_peak_rss()
    sky_out, sky_times = [], []
    for k in range(n_steps):
        o, t = skymesh_step(pos_at[k], pairs, lat, lon, alt, layout)
        sky_times.append(t)
        if k < n_baseline:
            sky_out.append(o)
    for k in range(len(sky_out), n_baseline):
        sky_out.append(skymesh_step(pos_at[k], pairs, lat, lon, alt, layout)[0])
    sky_rss_peak = benchlib.peak_rss_bytes()
    sky_total = [sum(t.values()) for t in sky_times]
    log(f"  SkyMesh: median {benchlib.fmt_s(np.median(sky_total))} per step")

    # Baseline: timed steps.
    benchlib.reset_peak_rss()
    base_out, base_times = [], []
    for k in range(n_baseline):
        o, t = baseline.routing_step(
            pos_at[k],
            pairs,
            lat,
            lon,
            alt,
            MIN_ELEVATION_DEG,
            satrecs=base_satrecs,
            jd=jd_fr[k][0],
            fr=jd_fr[k][1],
        )
        base_out.append(o)
        base_times.append(t)
        log(f"  baseline step {k + 1}/{n_baseline}: {benchlib.fmt_s(sum(t.values()))}")
    base_rss_peak = benchlib.peak_rss_bytes()
    base_total = [sum(t.values()) for t in base_times]

    # Agreement on every instant the baseline ran.
    agreements = [compare(sky_out[k], base_out[k], n_sats, n_gs) for k in range(n_baseline)]
    agree_ok = all(a["ok"] for a in agreements)
    del base_out, sky_out

    # Memory pass (traced), one instant each.
    mem = {}
    if trace_memory:
        with benchlib.PhaseMemory() as m:
            skymesh_step(pos_at[0], pairs, lat, lon, alt, layout, memory=m)
        mem["skymesh"] = m.figures()
        with benchlib.PhaseMemory() as m:
            baseline.routing_step(
                pos_at[0],
                pairs,
                lat,
                lon,
                alt,
                MIN_ELEVATION_DEG,
                memory=m,
                satrecs=base_satrecs,
                jd=jd_fr[0][0],
                fr=jd_fr[0][1],
            )
        mem["baseline"] = m.figures()

    sky_med = float(np.median(sky_total))
    base_med = float(np.median(base_total))
    ratio = base_med / sky_med
    first = skymesh_step(pos_at[0], pairs, lat, lon, alt, layout)[0]
    workload = {
        "constellation": const.name,
        "satellites": n_sats,
        "positions": "SGP4 of the shell's TLEs (satgenpy_baseline.walker_tles), both sides",
        "isl_pairs": int(len(pairs)),
        "usable_isls_first_instant": int(np.isfinite(first["isl_km"]).sum()),
        "ground_stations": n_gs,
        "cities_file": str(cities_path or benchlib.data_file(CITIES_FILE)),
        "visible_gsl_first_instant": int(len(first["visible"][0])),
        "graph_nodes": layout.n_nodes,
        "graph_edges_first_instant": int(first["graph"].nnz),
        "min_elevation_deg": MIN_ELEVATION_DEG,
        "mode": "isl",
        "instants_utc": grid.iso()[:n_inst],
        "seed": seed,
        "skymesh_steps_timed": n_steps,
        "baseline_steps_timed": n_baseline,
    }
    del first

    def phase_median(times):
        return {k: float(np.median([t[k] for t in times])) for k in times[0]}

    figures = {
        "workload": workload,
        "skymesh": {
            "per_step": benchlib.summary(sky_total),
            "phases_median_s": phase_median(sky_times),
            "rss_peak_timed_pass_mib": round(sky_rss_peak / benchlib.MIB, 1),
            **({"memory": mem["skymesh"]} if mem else {}),
        },
        "baseline": {
            "per_step": benchlib.summary(base_total),
            "phases_median_s": phase_median(base_times),
            "rss_peak_timed_pass_mib": round(base_rss_peak / benchlib.MIB, 1),
            **({"memory": mem["baseline"]} if mem else {}),
        },
        "ratio_baseline_over_skymesh": ratio,
        "skymesh_propagation_per_instant_s": prop_s,
        "ratio_incl_skymesh_propagation": base_med / (sky_med + prop_s),
        "target_ratio": TARGET_RATIO,
        "target_met": bool(ratio >= TARGET_RATIO),
        "agreement": {"ok": agree_ok, "per_instant": agreements},
    }
    if profile == "always" or (profile == "auto" and ratio < TARGET_RATIO):
        figures["skymesh_profile"] = profile_skymesh(pos_at[:n_steps], pairs, lat, lon, alt, layout)
    return benchlib.finish(NAME, figures, out_dir, verbose, report)


def report(f: dict) -> None:
    w, sky, base = f["workload"], f["skymesh"], f["baseline"]
    benchlib.print_table(
        "Workload",
        ["item", "value"],
        [
            ["constellation", f"{w['constellation']} ({w['satellites']:,} satellites)"],
            [
                "+Grid ISLs (usable at 1st instant)",
                f"{w['isl_pairs']:,} ({w['usable_isls_first_instant']:,})",
            ],
            ["ground stations", f"{w['ground_stations']} (Hypatia top-100 cities list)"],
            ["links in view at 1st instant (>= 25 deg)", f"{w['visible_gsl_first_instant']:,}"],
            [
                "graph nodes / edges (1st instant)",
                f"{w['graph_nodes']:,} / {w['graph_edges_first_instant']:,}",
            ],
            [
                "output per step",
                f"{w['ground_stations']}x{w['ground_stations']} RTT + fstate "
                f"({w['satellites'] + w['ground_stations']:,} nodes x "
                f"{w['ground_stations']} destinations)",
            ],
            [
                "instants (random, 1 day from epoch)",
                f"SkyMesh {w['skymesh_steps_timed']}, baseline first {w['baseline_steps_timed']}",
            ],
        ],
    )

    rows = []
    for label, part in (("SkyMesh", sky), ("satgenpy-style baseline", base)):
        for phase, sec in part["phases_median_s"].items():
            rows.append([f"{label}: {phase}", benchlib.fmt_s(sec), ""])
        ps = part["per_step"]
        rows.append(
            [
                f"{label}: TOTAL per step",
                benchlib.fmt_s(ps["median_s"]),
                f"{benchlib.fmt_s(ps['min_s'])} .. {benchlib.fmt_s(ps['max_s'])} (n={ps['n']})",
            ]
        )
    benchlib.print_table(
        "Time per step (median; propagation excluded from both)", ["phase", "median", "range"], rows
    )

    ratio = f["ratio_baseline_over_skymesh"]
    benchlib.print_table(
        "Speed",
        ["figure", "value"],
        [
            ["speed-up (baseline / SkyMesh, per step)", f"{ratio:,.0f}x"],
            [f"target >= {f['target_ratio']:.0f}x", "met" if f["target_met"] else "NOT met"],
            [
                "SkyMesh propagation per instant (not in the step)",
                benchlib.fmt_s(f["skymesh_propagation_per_instant_s"]),
            ],
            [
                "speed-up counting that propagation too",
                f"{f['ratio_incl_skymesh_propagation']:,.0f}x",
            ],
            [
                "issue's satgenpy figure for scale",
                f"{ISSUE_SATGENPY_S[0]:.0f}-"
                f"{ISSUE_SATGENPY_S[1]:.0f} s per step "
                f"-> {ISSUE_SATGENPY_S[0] / sky['per_step']['median_s']:,.0f}x"
                f"-{ISSUE_SATGENPY_S[1] / sky['per_step']['median_s']:,.0f}x",
            ],
        ],
    )

    if "memory" in sky:
        rows = []
        for label, part in (("SkyMesh", sky), ("satgenpy-style baseline", base)):
            m = part["memory"]
            for phase, mib in m["tracemalloc_peak_mib_by_phase"].items():
                rows.append([f"{label}: {phase}", f"{mib:,.2f}", ""])
            rows.append(
                [
                    f"{label}: step (max of phases)",
                    f"{m['tracemalloc_peak_mib']:,.2f}",
                    f"{part['rss_peak_timed_pass_mib']:,.1f}",
                ]
            )
        benchlib.print_table(
            "Peak memory (MiB): tracemalloc peak per phase, one traced step; "
            "RSS peak of the timed pass (whole process)",
            ["phase", "tracemalloc", "RSS peak"],
            rows,
        )

    rows = []
    for k, a in enumerate(f["agreement"]["per_instant"]):
        rows.append(
            [
                f"instant {k + 1}",
                "OK" if a["ok"] else "FAIL",
                f"{a['visible_links']:,} (diff {a['visible_links_only_skymesh']}"
                f"/{a['visible_links_only_baseline']})",
                f"{a['rtt_max_rel_diff']:.1e}",
                f"{a['unreachable_pairs']} (diff {a['unreachable_pattern_differs']})",
                f"{a['next_hop_identical']:,}/{a['next_hop_entries']:,}",
                f"{a['next_hop_mismatches']} (costlier {a['next_hop_mismatches_costlier']}, "
                f"max {a['next_hop_mismatch_max_rel_cost_diff']:.0e})",
                f"{a['walks_checked'] - a['walks_not_shortest']:,}/{a['walks_checked']:,}",
            ]
        )
    benchlib.print_table(
        "Agreement (SkyMesh vs baseline, same snapshot)",
        [
            "",
            "result",
            "links in view",
            "RTT max rel diff",
            "unreachable pairs",
            "next hop identical",
            "next hop mismatches",
            "walks shortest",
        ],
        rows,
    )
    worst = max(
        (a["next_hop_mismatch_max_rel_cost_diff"] for a in f["agreement"]["per_instant"]),
        default=0.0,
    )
    print(
        f"Next-hop mismatches are alternatives of equal cost up to rounding (worst relative "
        f"cost difference {worst:.0e}), where the two searches break ties differently. A "
        f"mismatch costlier by more than {COST_RTOL:.0e}, a reachability difference or a "
        f"walk that is not shortest would fail the check."
    )
    if "skymesh_profile" in f:
        print("\nSkyMesh step profile (ratio under target; cProfile, sorted by own time):")
        print(f["skymesh_profile"])


# --------------------------------------------------------------------------- real TLE set


def run_tle_scale(
    n_steps: int = 5, seed: int = 20251204, out_dir=benchlib.DEFAULT_OUT_DIR, verbose: bool = True
) -> dict | None:
    """The step on the real Starlink TLE set with 1,000 cities; None when the data is absent."""
    log = print if verbose else (lambda *a, **k: None)
    try:
        tle_path = benchlib.data_file(TLE_FILE)
        cities_path = benchlib.data_file(CITIES_1000_FILE)
    except (FileNotFoundError, SystemExit):
        log(f"{NAME}: real-TLE part skipped: {TLE_FILE} / {CITIES_1000_FILE} not found")
        return None
    from skymesh.orbits.planes import assign_planes
    from skymesh.orbits.tle import load_tle_constellation

    const, _ = load_tle_constellation(tle_path, skip_bad=True, name="starlink (TLE)")
    const = assign_planes(const)
    pairs = plus_grid_pairs(const)
    _, names, lat, lon, alt = load_hypatia_cities(cities_path)
    layout = NodeLayout(len(const), len(names))
    grid, positions = random_instants(const, n_steps + 1, seed)
    pos_at = [np.ascontiguousarray(positions[:, k, :]) for k in range(n_steps + 1)]
    log(
        f"{NAME}: real TLE set, {len(const):,} satellites, {len(pairs):,} +Grid ISLs, "
        f"{len(names):,} cities; {n_steps} instants"
    )
    skymesh_step(pos_at[-1], pairs, lat, lon, alt, layout)  # warm-up
    times, ref_s, identical = [], [], True
    for k in range(n_steps):
        o, t = skymesh_step(pos_at[k], pairs, lat, lon, alt, layout)
        times.append(t)
        t0 = time.perf_counter()
        rtt_ref, hop_ref = routing_state(o["graph"], layout, engine="scipy")
        ref_s.append(time.perf_counter() - t0)
        identical &= bool(
            np.array_equal(o["rtt_ms"], rtt_ref, equal_nan=True)
            and np.array_equal(o["next_hop"], hop_ref)
        )
        del o, rtt_ref, hop_ref
    totals = [sum(t.values()) for t in times]
    routing = [t["routing_state"] for t in times]
    figures = {
        "workload": {
            "tle_file": str(tle_path),
            "satellites": len(const),
            "isl_pairs": int(len(pairs)),
            "ground_stations": len(names),
            "cities_file": str(cities_path),
            "min_elevation_deg": MIN_ELEVATION_DEG,
            "instants_utc": grid.iso()[:n_steps],
            "seed": seed,
        },
        "per_step": benchlib.summary(totals),
        "phases": {p: benchlib.summary([t[p] for t in times]) for p in times[0]},
        "routing_state_scipy_engine": benchlib.summary(ref_s),
        "routing_ratio_scipy_over_compiled": [a / b for a, b in zip(ref_s, routing)],
        "identical_to_scipy_engine": identical,
        "target_s": TLE_TARGET_S,
        "target_met": bool(np.median(totals) <= TLE_TARGET_S),
        "load_average_1_5_15": list(os.getloadavg()),
    }
    return benchlib.finish(NAME + "_tle", figures, out_dir, verbose, report_tle)


def report_tle(f: dict) -> None:
    w = f["workload"]

    def rng(s):
        return (
            f"{benchlib.fmt_s(s['median_s'])}",
            f"{benchlib.fmt_s(s['min_s'])} .. {benchlib.fmt_s(s['max_s'])} (n={s['n']})",
        )

    rows = [[f"SkyMesh: {p}", *rng(s)] for p, s in f["phases"].items()]
    rows.append(["SkyMesh: TOTAL per step", *rng(f["per_step"])])
    rows.append(
        ["routing_state, engine=scipy (same graphs)", *rng(f["routing_state_scipy_engine"])]
    )
    r = f["routing_ratio_scipy_over_compiled"]
    rows.append(
        [
            "routing phase ratio scipy / compiled",
            f"{np.median(r):.1f}x",
            f"{min(r):.1f}x .. {max(r):.1f}x",
        ]
    )
    benchlib.print_table(
        f"Real TLE set: {w['satellites']:,} satellites, {w['isl_pairs']:,} ISLs, "
        f"{w['ground_stations']:,} cities, >= {w['min_elevation_deg']:g} deg",
        ["phase", "median", "range"],
        rows,
    )
    la = f["load_average_1_5_15"]
    print(
        f"Target <= {f['target_s']:g} s per step: {'met' if f['target_met'] else 'NOT met'}; "
        f"identical RTTs and next hops to the scipy engine: "
        f"{'yes' if f['identical_to_scipy_engine'] else 'NO'}; load average {la[0]:.1f} "
        f"on {os.cpu_count()} CPUs (machine shared)."
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--constellation", default="starlink-shell1")
    ap.add_argument("--cities", type=int, default=100, help="first N cities of the list")
    ap.add_argument("--steps", type=int, default=10, help="SkyMesh instants timed (median)")
    ap.add_argument("--baseline-steps", type=int, default=2, help="baseline instants timed")
    ap.add_argument("--seed", type=int, default=20260101)
    ap.add_argument("--no-memory", action="store_true", help="skip the traced memory pass")
    ap.add_argument("--profile", choices=["auto", "always", "never"], default="auto")
    ap.add_argument("--out", default=str(benchlib.DEFAULT_OUT_DIR), help="JSON folder")
    ap.add_argument("--tle-steps", type=int, default=5, help="real-TLE instants timed")
    ap.add_argument("--no-tle-scale", action="store_true", help="skip the real-TLE part")
    ap.add_argument("--only-tle-scale", action="store_true", help="only the real-TLE part")
    args = ap.parse_args(argv)
    if args.only_tle_scale:
        tle = run_tle_scale(args.tle_steps, out_dir=args.out)
        return 0 if tle is None or tle["identical_to_scipy_engine"] else 1
    figures = run(
        args.constellation,
        n_cities=args.cities,
        n_steps=args.steps,
        n_baseline=args.baseline_steps,
        seed=args.seed,
        trace_memory=not args.no_memory,
        profile=args.profile,
        out_dir=args.out,
    )
    tle = None if args.no_tle_scale else run_tle_scale(args.tle_steps, out_dir=args.out)
    if not figures["agreement"]["ok"]:
        print(
            "\nFAIL: SkyMesh and the baseline disagree (see the agreement table)", file=sys.stderr
        )
        return 1
    if tle is not None and not tle["identical_to_scipy_engine"]:
        print("\nFAIL: compiled and scipy routing differ on the real TLE set", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
