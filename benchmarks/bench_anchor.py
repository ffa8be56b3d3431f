"""Benchmark: SkyMesh's routing step side by side with the real Hypatia satgenpy, same snapshot.

The anchor is Hypatia's state generator itself (Kassing et al., "Exploring the
'Internet from space' with Hypatia", IMC 2020; snkas/hypatia commit 0ac531c in
``../shared/anchors/hypatia``), run by the anchor's ``hypatia_step.py`` in a venv
of its own: Starlink shell 1 as Hypatia's paper has it (``starlink-550``: 72 x 22
satellites, its TLEs from scratch, its +Grid ``isls.txt``) and its 100 largest
cities, one dynamic-state step of 100 ms at the TLE epoch: GSLs by maximum slant
range (pyephem), Floyd-Warshall over the satellite graph (networkx), forwarding
state (``algorithm_free_one_only_over_isls``). Its own in-process timing of the
step is used (``step_s``), not the process's start-up.

SkyMesh is given the same inputs: Hypatia's TLE file (SGP4, sgp4's ``SatrecArray``),
Hypatia's ``isls.txt`` as an explicit ISL list, Hypatia's ground stations and its
GSL rule (maximum slant range, no elevation mask; the maximum ISL length and the
80 km clearance it is derived from). A SkyMesh step is what ``bench_routing.py``
times: links in view, ISL lengths, snapshot graph, routing state (all-pairs RTT +
forwarding state, :func:`skymesh.network.routing.routing_state`); the positions
come from one propagation call made before the step (its cost per instant is
printed too, with the ratio that includes it).

Rounds alternate A B C A B C (at least 3): A = Hypatia's step, B = SkyMesh's step
(median of ``--repeats``), C = the satgenpy-style baseline of
``satgenpy_baseline.py`` (the second column: the project's own re-implementation,
with its 25 deg elevation mask; SkyMesh is timed with that mask too for its ratio).
The machine may be shared: each ratio is formed within a round, and the median and
range over rounds are printed.

Agreement with Hypatia (exit status 1 when it fails):

* RTT of every city pair: Hypatia's path for the pair read off its own
  ``fstate_0.txt`` (``satgen.get_path``) and its length from its own geometry
  (``satgen.compute_path_length_without_graph``, pyephem), against SkyMesh's RTT:
  within 1e-4 relative (two SGP4 implementations and two Earth-rotation models;
  ``compare_hypatia.py`` sees differences of a few 1e-6), same unreachable pairs;
* next hops, every (node, destination) entry of Hypatia's fstate: identical, or an
  alternative whose cost over SkyMesh's graph equals the best within 1e-4 relative
  (near-ties the two geometries order differently); anything else fails.

Run: ``python benchmarks/bench_anchor.py [--help]``. Without the anchor folder it
prints one line and exits 0. Hypatia's venv: ``$SKYMESH_HYPATIA_PYTHON`` if set,
else ``build/venv-anchor/`` in the repository, created on first use from the anchor's
``requirements.txt``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

NAME = "bench_anchor"
ANCHORS = Path(os.environ.get("SKYMESH_ANCHORS", str(REPO.parent / "shared" / "anchors")))
ANCHOR_VENV = REPO / "build" / "venv-anchor"  # ignored by git; removed by make clean
SHELL = "starlink-550"
CLEARANCE_KM = 80.0  # Hypatia's max ISL length assumes 80 km above the Earth
BASELINE_MASK_DEG = 25.0  # satgenpy_baseline's elevation mask (bench_routing's)
RTT_RTOL = 1e-4
COST_RTOL = 1e-4
TARGET_RATIO = 2000.0  # issue 12: >= 2,000x Hypatia per step
SPEED_OF_LIGHT_KM_S = 299792.458


def say(msg: str) -> None:
    print(msg, flush=True)


# --------------------------------------------------------------------------- anchor venv


def anchor_python() -> Path | None:
    """Hypatia's interpreter: $SKYMESH_HYPATIA_PYTHON, else build/venv-anchor (made if missing)."""
    env = os.environ.get("SKYMESH_HYPATIA_PYTHON")
    if env:
        return Path(env) if Path(env).is_file() else None
    py = ANCHOR_VENV / "bin" / "python"
    marker = ANCHOR_VENV / ".installed"
    if not marker.is_file():
        say(f"{NAME}: creating Hypatia's venv in {ANCHOR_VENV} (once; a few minutes)")
        base = os.environ.get("SKYMESH_ANCHOR_BASE_PYTHON", "python3")
        steps = (
            [base, "-m", "venv", str(ANCHOR_VENV)],
            [str(py), "-m", "pip", "install", "-q", "-r", str(ANCHORS / "requirements.txt")],
        )
        for cmd in steps:
            res = subprocess.run(cmd, capture_output=True, text=True)
            if res.returncode != 0:
                tail = (res.stderr.strip().splitlines() or ["?"])[-1]
                say(f"{NAME}: could not build Hypatia's venv ({' '.join(cmd[:3])}): {tail}")
                return None
        marker.write_text("ok\n")
    return py


def run_hypatia(out: Path, python: Path) -> dict:
    """One Hypatia step at the epoch; its JSON (with ``wall_s``), also in out/hypatia_step.json."""
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    res = subprocess.run(
        [
            str(python),
            str(ANCHORS / "hypatia_step.py"),
            "--shell",
            SHELL,
            "--steps",
            "1",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=str(out),
    )
    if res.returncode != 0:
        raise SystemExit(f"{NAME}: Hypatia failed: {res.stderr.strip().splitlines()[-1:]}")
    meta = json.loads(res.stdout)
    meta["wall_s"] = time.perf_counter() - t0
    (out / "hypatia_step.json").write_text(json.dumps(meta, indent=1))
    return meta


def hypatia_fstate(run_dir: Path, n_nodes: int, n_gs: int, n_sats: int) -> np.ndarray:
    """Hypatia's fstate_0.txt as a (n_sats + n_gs, n_gs) next-hop table (-1: none; -2: absent)."""
    table = np.full((n_nodes, n_gs), -2, dtype=np.int64)
    raw = np.loadtxt(
        run_dir / "dynamic_state_100ms" / "fstate_0.txt", delimiter=",", dtype=np.int64, ndmin=2
    )
    table[raw[:, 0], raw[:, 1] - n_sats] = raw[:, 2]
    return table


def hypatia_rtt_ms(run_dir: Path, n_gs: int, python: Path) -> np.ndarray:
    """RTT (ms) of every ordered city pair along Hypatia's own paths and geometry (NaN: none)."""
    import compare_hypatia

    pairs = [[a, b] for a in range(n_gs) for b in range(n_gs) if a != b]
    env = dict(os.environ, SKYMESH_ANCHORS=str(ANCHORS))
    res = subprocess.run(
        [
            str(python),
            str(Path(compare_hypatia.__file__).resolve()),
            "--hypatia-side",
            str(run_dir),
            json.dumps(pairs),
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    if res.returncode != 0:
        raise SystemExit(
            f"{NAME}: Hypatia's path lengths failed: {res.stderr.strip().splitlines()[-1:]}"
        )
    rtt = np.full((n_gs, n_gs), np.nan)
    np.fill_diagonal(rtt, 0.0)
    for row in json.loads(res.stdout):
        if row["length_m"] is not None:
            rtt[row["src"], row["dst"]] = 2e3 * row["length_m"] / 1e3 / SPEED_OF_LIGHT_KM_S
    return rtt


# --------------------------------------------------------------------------- SkyMesh side


def skymesh_inputs(run_dir: Path, meta: dict):
    """SkyMesh's view of Hypatia's inputs: constellation, ISL list, cities, positions at t=0."""
    from skymesh.links.isl_file import load_isl_file
    from skymesh.orbits.propagate import positions_ecef
    from skymesh.orbits.tle import load_tle_constellation
    from skymesh.timebase import time_grid

    body = run_dir / "tles_without_header.txt"
    body.write_text("".join((run_dir / "tles.txt").read_text().splitlines(keepends=True)[1:]))
    const, skipped = load_tle_constellation(body, name=SHELL)
    if skipped:
        raise SystemExit(f"{NAME}: SkyMesh skipped {len(skipped)} of Hypatia's TLEs")
    pairs = load_isl_file(run_dir / "isls.txt", const.sat_names)
    gs = [line.split(",") for line in (run_dir / "ground_stations.txt").read_text().splitlines()]
    lat = np.array([float(g[2]) for g in gs])
    lon = np.array([float(g[3]) for g in gs])
    alt = np.array([float(g[4]) for g in gs]) / 1e3
    grid = time_grid(const.epoch)
    positions_ecef(const, grid)  # warm-up
    t0 = time.perf_counter()
    pos = np.ascontiguousarray(positions_ecef(const, grid)[:, 0])
    prop_s = time.perf_counter() - t0
    return const, pairs, (lat, lon, alt), grid, pos, prop_s


def skymesh_step(pos, pairs, lat, lon, alt, layout, *, min_elevation_deg, max_gsl_km, max_isl_km):
    """One SkyMesh routing step; ``(rtt_ms, next_hop, graph, phase seconds)``."""
    from skymesh.links.isl import isl_lengths_km
    from skymesh.links.visibility import visible_pairs
    from skymesh.network.routing import routing_state
    from skymesh.network.snapshot import snapshot_graph

    t = {}
    t0 = time.perf_counter()
    g, s, k, r, _ = visible_pairs(pos, lat, lon, alt, min_elevation_deg, max_range_km=max_gsl_km)
    t1 = time.perf_counter()
    isl_km = isl_lengths_km(pos, pairs, min_clearance_km=CLEARANCE_KM, max_range_km=max_isl_km)
    t2 = time.perf_counter()
    graph = snapshot_graph(
        layout, "isl", isl_pairs=pairs, isl_km=isl_km, endpoint_links=(g, s, k, r)
    )
    t3 = time.perf_counter()
    rtt, hop = routing_state(graph, layout)
    t4 = time.perf_counter()
    t.update(visibility=t1 - t0, isl_lengths=t2 - t1, graph=t3 - t2, routing_state=t4 - t3)
    return rtt, hop, graph, t


def timed_skymesh(repeats, *args, **kw):
    """Median step time (s) over ``repeats`` runs and the median phases."""
    runs = [skymesh_step(*args, **kw)[3] for _ in range(repeats)]
    totals = [sum(t.values()) for t in runs]
    phases = {p: float(np.median([t[p] for t in runs])) for p in runs[0]}
    return float(np.median(totals)), phases


# --------------------------------------------------------------------------- agreement


def agreement(hyp_rtt, hyp_table, sky_rtt, sky_hop, graph, layout) -> dict:
    """RTT and next-hop agreement of SkyMesh with Hypatia on one snapshot."""
    from skymesh.network.sssp import dijkstra

    n_sats, n_gs = layout.n_sats, layout.n_endpoints
    out = {}
    nan_h, nan_s = np.isnan(hyp_rtt), np.isnan(sky_rtt)
    both = ~nan_h & ~nan_s & (hyp_rtt > 0)
    out["pairs"] = n_gs * (n_gs - 1)
    out["unreachable_pairs"] = int(nan_h.sum())
    out["unreachable_pattern_differs"] = int((nan_h != nan_s).sum())
    rel = np.abs(sky_rtt[both] - hyp_rtt[both]) / hyp_rtt[both]
    out["rtt_max_rel_diff"] = float(rel.max(initial=0.0))
    out["rtt_median_rel_diff"] = float(np.median(rel)) if rel.size else 0.0

    # Next hops: remaining delay to each destination's down node over SkyMesh's graph.
    dist_to, _ = dijkstra(graph.T.tocsr(), layout.down(np.arange(n_gs)))  # (G, nodes)
    present = hyp_table != -2
    mask = present.copy()
    mask[n_sats + np.arange(n_gs), np.arange(n_gs)] = False
    same = (hyp_table == sky_hop) & mask
    out["next_hop_entries"] = int(mask.sum())
    out["next_hop_entries_missing_in_hypatia"] = int((~present).sum() - n_gs)
    out["next_hop_identical"] = int(same.sum())
    rows, cols = np.nonzero(mask & ~same)

    def graph_node(compact, dst):
        if compact < n_sats:
            return compact
        if compact == n_sats + dst:
            return int(layout.down(dst))
        return int(layout.up(compact - n_sats))

    def cost(node, dst, hop):
        if hop < 0:
            return np.inf
        u = graph_node(node, dst) if node < n_sats else int(layout.up(node - n_sats))
        v = graph_node(hop, dst)
        w = graph[u, v]
        return np.inf if w == 0 else float(w + dist_to[dst, v])

    reach = costlier = 0
    worst = 0.0
    for node, dst in zip(rows.tolist(), cols.tolist()):
        hs, hh = int(sky_hop[node, dst]), int(hyp_table[node, dst])
        if hs < 0 or hh < 0:
            reach += 1
            continue
        best = dist_to[dst, node if node < n_sats else int(layout.up(node - n_sats))]
        d = max(abs(cost(node, dst, hs) - best), abs(cost(node, dst, hh) - best)) / best
        worst = max(worst, d)
        costlier += d > COST_RTOL
    out["next_hop_mismatches"] = int(len(rows))
    out["next_hop_mismatches_reachability"] = reach
    out["next_hop_mismatches_costlier"] = int(costlier)
    out["next_hop_mismatch_max_rel_cost_diff"] = float(worst)
    out["ok"] = bool(
        out["unreachable_pattern_differs"] == 0
        and out["rtt_max_rel_diff"] <= RTT_RTOL
        and reach == 0
        and costlier == 0
    )
    return out


# --------------------------------------------------------------------------- run


def summary(xs) -> dict:
    xs = [float(x) for x in xs]
    return {
        "median": float(np.median(xs)),
        "min": min(xs),
        "max": max(xs),
        "n": len(xs),
        "values": xs,
    }


def run(rounds: int, repeats: int, work: Path, python: Path, baseline: bool) -> dict:
    import satgenpy_baseline as base_mod

    from skymesh.network import sssp
    from skymesh.network.snapshot import NodeLayout
    from skymesh.timebase import julian_date

    figures = {"rounds": []}
    inputs = None
    all_threads = sssp.set_threads(None)
    figures["threads"] = all_threads
    for k in range(rounds):
        # A: Hypatia
        run_dir = work / f"round{k + 1}"
        meta = run_hypatia(run_dir, python)
        hyp_s = meta["steps"][0]["step_s"]
        if inputs is None:
            inputs = skymesh_inputs(run_dir, meta)
            const, pairs, (lat, lon, alt), grid, pos, prop_s = inputs
            layout = NodeLayout(len(const), len(lat))
            rules = dict(
                min_elevation_deg=-90.0,
                max_gsl_km=meta["max_gsl_m"] / 1e3,
                max_isl_km=meta["max_isl_m"] / 1e3,
            )
            rules_mask = dict(rules, min_elevation_deg=BASELINE_MASK_DEG, max_gsl_km=None)
            skymesh_step(pos, pairs, lat, lon, alt, layout, **rules)  # compile / warm-up
            jd, fr = julian_date(const.epoch)
            l1, l2 = [], []
            lines = (run_dir / "tles_without_header.txt").read_text().splitlines()
            for i in range(0, len(lines), 3):
                l1.append(lines[i + 1])
                l2.append(lines[i + 2])
            satrecs = [base_mod.Satrec.twoline2rv(a, b, base_mod.WGS72) for a, b in zip(l1, l2)]
            figures["workload"] = {
                "shell": SHELL,
                "satellites": len(const),
                "isls": int(len(pairs)),
                "ground_stations": len(lat),
                "epoch_utc": str(meta["epoch"]),
                "max_gsl_km": rules["max_gsl_km"],
                "max_isl_km": rules["max_isl_km"],
                "skymesh_propagation_per_instant_s": prop_s,
            }
        # B: SkyMesh (Hypatia's rule; and the baseline's mask for the second column), on
        # all cores (the default) and on one thread (a busy second core stalls a
        # parallel region; the answers are the same either way).
        sssp.set_threads(all_threads)
        sky_s, sky_phases = timed_skymesh(repeats, pos, pairs, lat, lon, alt, layout, **rules)
        sky_mask_s = timed_skymesh(repeats, pos, pairs, lat, lon, alt, layout, **rules_mask)[0]
        sssp.set_threads(1)
        sky_1t_s = timed_skymesh(repeats, pos, pairs, lat, lon, alt, layout, **rules)[0]
        sssp.set_threads(all_threads)
        rec = {
            "hypatia_step_s": hyp_s,
            "hypatia_phases_s": meta["steps"][0],
            "skymesh_step_s": sky_s,
            "skymesh_phases_s": sky_phases,
            "skymesh_step_1_thread_s": sky_1t_s,
            "ratio_hypatia_over_skymesh": hyp_s / sky_s,
            "ratio_hypatia_over_skymesh_1_thread": hyp_s / sky_1t_s,
            "ratio_incl_skymesh_propagation": hyp_s / (sky_s + prop_s),
        }
        # C: the satgenpy-style baseline on the same positions
        if baseline:
            _, bt = base_mod.routing_step(
                pos, pairs, lat, lon, alt, BASELINE_MASK_DEG, satrecs=satrecs, jd=jd, fr=fr
            )
            rec["baseline_step_s"] = sum(bt.values())
            rec["skymesh_step_mask_s"] = sky_mask_s
            rec["ratio_baseline_over_skymesh"] = rec["baseline_step_s"] / sky_mask_s
        figures["rounds"].append(rec)
        say(
            f"  round {k + 1}/{rounds}: Hypatia {hyp_s:.2f} s, SkyMesh {sky_s * 1e3:.2f} ms "
            f"-> {rec['ratio_hypatia_over_skymesh']:,.0f}x (1 thread {sky_1t_s * 1e3:.2f} ms "
            f"-> {rec['ratio_hypatia_over_skymesh_1_thread']:,.0f}x)"
            + (
                f"; baseline {rec['baseline_step_s']:.2f} s -> "
                f"{rec['ratio_baseline_over_skymesh']:,.0f}x"
                if baseline
                else ""
            )
        )

    # Agreement on the snapshot (the same in every round: t = 0 at the TLE epoch).
    run_dir = work / "round1"
    n_gs = layout.n_endpoints
    sky_rtt, sky_hop, graph, _ = skymesh_step(pos, pairs, lat, lon, alt, layout, **rules)
    hyp_table = hypatia_fstate(run_dir, layout.n_sats + n_gs, n_gs, layout.n_sats)
    hyp_rtt = hypatia_rtt_ms(run_dir, n_gs, python)
    figures["agreement"] = agreement(
        hyp_rtt, hyp_table, sky_rtt, np.asarray(sky_hop), graph, layout
    )
    figures["agreement"]["same_snapshot_every_round"] = all(
        (work / f"round{k + 1}" / "tles.txt").read_text() == (run_dir / "tles.txt").read_text()
        for k in range(rounds)
    )

    rs = figures["rounds"]
    figures["hypatia_step_s"] = summary(r["hypatia_step_s"] for r in rs)
    figures["skymesh_step_s"] = summary(r["skymesh_step_s"] for r in rs)
    figures["ratio_hypatia_over_skymesh"] = summary(r["ratio_hypatia_over_skymesh"] for r in rs)
    figures["skymesh_step_1_thread_s"] = summary(r["skymesh_step_1_thread_s"] for r in rs)
    figures["ratio_hypatia_over_skymesh_1_thread"] = summary(
        r["ratio_hypatia_over_skymesh_1_thread"] for r in rs
    )
    figures["ratio_incl_skymesh_propagation"] = summary(
        r["ratio_incl_skymesh_propagation"] for r in rs
    )
    if baseline:
        figures["baseline_step_s"] = summary(r["baseline_step_s"] for r in rs)
        figures["ratio_baseline_over_skymesh"] = summary(
            r["ratio_baseline_over_skymesh"] for r in rs
        )
    figures["target_ratio"] = TARGET_RATIO
    figures["target_met"] = bool(figures["ratio_hypatia_over_skymesh"]["median"] >= TARGET_RATIO)
    figures["load_average_1_5_15"] = list(os.getloadavg())
    figures["cpus"] = os.cpu_count()
    return figures


def report(f: dict) -> None:
    import benchlib

    w = f["workload"]
    print(
        f"\n{NAME}: {w['shell']} ({w['satellites']:,} satellites, {w['isls']:,} ISLs from "
        f"Hypatia's isls.txt), {w['ground_stations']} cities, t = 0 at {w['epoch_utc']} UTC; "
        f"GSL range <= {w['max_gsl_km']:.1f} km, ISL <= {w['max_isl_km']:.1f} km"
    )

    def rng(s, scale=1.0, fmt="{:.2f}"):
        return (
            f"{fmt.format(s['median'] * scale)} ({fmt.format(s['min'] * scale)} .. "
            f"{fmt.format(s['max'] * scale)}, n={s['n']})"
        )

    rows = [
        ["Hypatia satgenpy (real), s", rng(f["hypatia_step_s"])],
        [f"SkyMesh ({f['threads']} threads), ms", rng(f["skymesh_step_s"], 1e3)],
        ["ratio Hypatia / SkyMesh", rng(f["ratio_hypatia_over_skymesh"], 1, "{:,.0f}x")],
        ["SkyMesh (1 thread), ms", rng(f["skymesh_step_1_thread_s"], 1e3)],
        [
            "ratio Hypatia / SkyMesh (1 thread)",
            rng(f["ratio_hypatia_over_skymesh_1_thread"], 1, "{:,.0f}x"),
        ],
        [
            "  counting SkyMesh's propagation",
            rng(f["ratio_incl_skymesh_propagation"], 1, "{:,.0f}x"),
        ],
    ]
    if "baseline_step_s" in f:
        rows += [
            ["satgenpy-style baseline, s", rng(f["baseline_step_s"])],
            [
                "ratio baseline / SkyMesh (25 deg mask)",
                rng(f["ratio_baseline_over_skymesh"], 1, "{:,.0f}x"),
            ],
        ]
    rows.append(
        [
            f"target >= {f['target_ratio']:,.0f}x Hypatia (median, all cores)",
            "met" if f["target_met"] else "NOT met",
        ]
    )
    la = f["load_average_1_5_15"]
    rows.append(
        [
            "machine: CPUs, load average 1/5/15 min",
            f"{f['cpus']}, {la[0]:.1f} / {la[1]:.1f} / {la[2]:.1f}",
        ]
    )
    benchlib.print_table("Per step, median (range) over rounds A B C ...", ["", "value"], rows)
    print(
        "The machine may be shared: each ratio is formed within one round (A B C), then "
        "the median and range over rounds."
    )
    ph = f["rounds"][0]["skymesh_phases_s"]
    hp = f["rounds"][0]["hypatia_phases_s"]
    benchlib.print_table(
        "Phases, round 1",
        ["", "value"],
        [
            [
                "Hypatia: GSL (ephem) / Floyd-Warshall / rest, s",
                f"{hp['gsl_distance_s']:.2f} / {hp['floyd_warshall_s']:.2f} / {hp['rest_s']:.2f}",
            ],
            [
                "SkyMesh: visibility / ISLs / graph / routing, ms",
                " / ".join(
                    f"{ph[p] * 1e3:.2f}"
                    for p in ("visibility", "isl_lengths", "graph", "routing_state")
                ),
            ],
            [
                "SkyMesh propagation per instant (not in step), ms",
                f"{w['skymesh_propagation_per_instant_s'] * 1e3:.2f}",
            ],
        ],
    )
    a = f["agreement"]
    benchlib.print_table(
        "Agreement with Hypatia (same snapshot)",
        ["", "value"],
        [
            ["result", "OK" if a["ok"] else "FAIL"],
            [
                "RTT, all ordered pairs: max / median rel. diff",
                f"{a['rtt_max_rel_diff']:.1e} / {a['rtt_median_rel_diff']:.1e} "
                f"(tolerance {RTT_RTOL:g})",
            ],
            [
                "unreachable pairs (pattern differs)",
                f"{a['unreachable_pairs']} ({a['unreachable_pattern_differs']})",
            ],
            ["next hops identical", f"{a['next_hop_identical']:,} / {a['next_hop_entries']:,}"],
            [
                "mismatches: all / reachability / costlier",
                f"{a['next_hop_mismatches']} / {a['next_hop_mismatches_reachability']} / "
                f"{a['next_hop_mismatches_costlier']} (worst cost diff "
                f"{a['next_hop_mismatch_max_rel_cost_diff']:.1e})",
            ],
            [
                "same Hypatia inputs in every round",
                "yes" if a["same_snapshot_every_round"] else "NO",
            ],
        ],
    )
    print(
        "Next-hop mismatches are equal-cost alternatives (within the tolerance) that the two "
        "geometries (pyephem vs sgp4) order differently."
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3, help="A B C rounds (>= 1; default 3)")
    ap.add_argument("--repeats", type=int, default=15, help="SkyMesh steps per round (median)")
    ap.add_argument("--no-baseline", action="store_true", help="skip the satgenpy-style column")
    ap.add_argument("--work", type=Path, default=REPO / "bench-out" / "anchor")
    ap.add_argument("--out", type=Path, default=REPO / "bench-out")
    a = ap.parse_args(argv)
    if not (ANCHORS / "hypatia_step.py").is_file():
        say(f"{NAME}: skipped: no Hypatia anchor at {ANCHORS}")
        return 0
    python = anchor_python()
    if python is None:
        say(f"{NAME}: skipped: no usable Hypatia venv (see {ANCHORS / 'README.md'})")
        return 0
    sys.path.insert(0, str(REPO))
    say(f"{NAME}: real Hypatia ({python}) vs SkyMesh, {SHELL} + 100 cities, {a.rounds} rounds")
    figures = run(max(1, a.rounds), max(1, a.repeats), a.work.resolve(), python, not a.no_baseline)
    report(figures)
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / f"{NAME}.json").write_text(json.dumps(figures, indent=1, default=str))
    if not figures["agreement"]["ok"]:
        print("\nFAIL: SkyMesh and Hypatia disagree (see the agreement table)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
