"""Comparison: SkyMesh against the real Hypatia on Hypatia's own inputs, per city pair at t = 0.

For each of Hypatia's paper shells asked for (default all three: starlink-550,
kuiper-630 and telesat-1015), this script

1. runs the real Hypatia state generator from the anchors folder
   (``hypatia_step.py --steps 1``: Hypatia's own TLEs from scratch, its +Grid
   ``isls.txt``, its 100-city ground stations, and the forwarding state of
   its ``algorithm_free_one_only_over_isls`` at t = 0), in Hypatia's own venv;
2. asks Hypatia, in that venv, for the path of every chosen city pair
   (``satgen.get_path`` over its ``fstate_0.txt``) and its length
   (``satgen.compute_path_length_without_graph``: pyephem positions): this
   script re-runs itself there with ``--hypatia-side``, importing only the
   anchor's ``satgen``;
3. feeds the same TLE file to SkyMesh (its TLE loader and its own plane and
   slot inference, :func:`skymesh.orbits.planes.assign_planes`, then
   :func:`skymesh.links.isl.plus_grid_pairs`: *not* Hypatia's isls.txt) with
   the same GSL rule (Hypatia's maximum slant range and no elevation test at
   all, ``min_elevation_deg=-90``: Hypatia's telesat-1015 range, 5,845 km,
   reaches past the horizon, 3,739 km away at 1,015 km, so some of its GSLs
   pass through the Earth; SkyMesh's CLI and scenarios never allow that, their
   mask being at least 0 deg; the table counts such GSLs on the paths), the
   same ISL limits (Hypatia's maximum ISL length; an 80 km clearance, the one
   Hypatia's maximum ISL length is derived from), ISL-only routing, and reads
   each pair's shortest path length at the element epoch;
4. does step 3 again with Hypatia's isls.txt as an explicit list
   (:mod:`skymesh.links.isl_file`), which isolates the grid from the rest.

It prints, per shell, a table of per-pair path length and RTT (2 x length /
c) and the relative differences, and the largest relative difference, and
writes everything to ``bench-out/compare_hypatia.json``. Targets: every
pair within 1 % with SkyMesh's inference; within 1e-4 with Hypatia's list
(positions from two SGP4 implementations and two Earth-rotation models). It
exits 1 when a target is missed.

Hypatia's tles.txt starts with a line ``<planes> <satellites per plane>``
that is not TLE text; SkyMesh is given the file without it.

Needs ``/work/shared/anchors`` (or ``--anchors``) and Hypatia's venv
(``python3 -m venv /tmp/hyp-venv && /tmp/hyp-venv/bin/pip install -r
ANCHORS/requirements.txt``, or ``--hypatia-python``); without either it
prints one line and exits 0. Run: ``python benchmarks/compare_hypatia.py
[--help]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ANCHORS = Path(os.environ.get("SKYMESH_ANCHORS", "/work/shared/anchors"))
HYPATIA_PYTHON = Path(os.environ.get("SKYMESH_HYPATIA_PYTHON", "/tmp/hyp-venv/bin/python"))
SHELLS = ("starlink-550", "kuiper-630", "telesat-1015")
TARGET_INFERRED = 0.01
TARGET_EXPLICIT = 1e-4
SPEED_OF_LIGHT_KM_S = 299792.458

# City pairs by Hypatia's ground-station names: short, medium, and long (intercontinental).
PAIRS = (
    ("Paris", "London"),
    ("Tokyo", "Kinki-M.M.A.-(Osaka)"),
    ("Ciudad-de-México-(Mexico-City)", "Bogotá"),
    ("Istanbul", "Moskva-(Moscow)"),
    ("Mumbai-(Bombay)", "Nairobi"),
    ("London", "New-York-Newark"),
    ("Paris", "Luanda"),
    ("Buenos-Aires", "Madrid"),
    ("Delhi", "Chicago"),
    ("Los-Angeles-Long-Beach-Santa-Ana", "London"),
    ("Tokyo", "New-York-Newark"),
    ("Singapore", "London"),
    ("Lagos", "Beijing"),
    ("Moskva-(Moscow)", "Johannesburg"),
    ("Sydney", "Los-Angeles-Long-Beach-Santa-Ana"),
    ("London", "Sydney"),
    ("São-Paulo", "Tokyo"),
    ("Istanbul", "Seoul"),
)


# --- the Hypatia side: runs in Hypatia's venv, imports only the anchor's satgen ----------


def hypatia_side(run_dir: str, pairs_json: str) -> None:
    """Print JSON: each pair's path and length (m) from Hypatia's fstate at t = 0."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))  # nothing of SkyMesh is used
    sys.path.insert(0, str(ANCHORS / "hypatia"))
    import satgen

    d = Path(run_dir)
    meta = json.loads((d / "hypatia_step.json").read_text())
    tles = satgen.read_tles(str(d / "tles.txt"))
    sats = tles["satellites"]
    gss = satgen.read_ground_stations_extended(str(d / "ground_stations.txt"))
    isls = satgen.read_isls(str(d / "isls.txt"), len(sats))
    fstate = {}
    with open(d / "dynamic_state_100ms" / "fstate_0.txt") as f:
        for line in f:
            cur, dst, nxt = (int(x) for x in line.split(",")[:3])
            fstate[(cur, dst)] = nxt
    out = []
    for a, b in json.loads(pairs_json):
        src, dst = len(sats) + a, len(sats) + b
        path = satgen.get_path(src, dst, fstate)
        length = (
            None
            if path is None
            else satgen.compute_path_length_without_graph(
                path, tles["epoch"], 0, sats, gss, isls, meta["max_gsl_m"], meta["max_isl_m"]
            )
        )
        out.append(dict(src=a, dst=b, path=path, length_m=length))
    print(json.dumps(out))


# --- the SkyMesh side ----------------------------------------------------------------------


def run_hypatia(shell: str, out: Path, python: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    res = subprocess.run(
        [
            str(python),
            str(ANCHORS / "hypatia_step.py"),
            "--shell",
            shell,
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
        raise SystemExit(
            f"compare_hypatia: Hypatia failed on {shell}: {res.stderr.strip().splitlines()[-1:]}"
        )
    meta = json.loads(res.stdout)
    meta["wall_s"] = time.perf_counter() - t0
    (out / "hypatia_step.json").write_text(json.dumps(meta, indent=1))
    return meta


def hypatia_paths(run_dir: Path, pairs, python: Path) -> list:
    res = subprocess.run(
        [
            str(python),
            str(Path(__file__).resolve()),
            "--hypatia-side",
            str(run_dir),
            json.dumps(pairs),
        ],
        capture_output=True,
        text=True,
    )
    if res.returncode != 0:
        raise SystemExit(
            f"compare_hypatia: Hypatia's path lengths failed: "
            f"{res.stderr.strip().splitlines()[-1:]}"
        )
    return json.loads(res.stdout)


def skymesh_side(run_dir: Path, meta: dict, pairs):
    """SkyMesh's path lengths (km) per pair: inferred +Grid, and Hypatia's isls.txt."""
    import numpy as np

    from skymesh.links.isl import plus_grid_pairs
    from skymesh.links.isl_file import load_isl_file
    from skymesh.links.visibility import look_angles
    from skymesh.network.over_time import GroundPoints, path_series
    from skymesh.orbits.planes import assign_planes
    from skymesh.orbits.propagate import positions_ecef
    from skymesh.orbits.tle import load_tle_constellation
    from skymesh.timebase import time_grid

    body = run_dir / "tles_without_header.txt"
    lines = (run_dir / "tles.txt").read_text().splitlines(keepends=True)
    body.write_text("".join(lines[1:]))
    const, skipped = load_tle_constellation(body, name=meta["shell"])
    if skipped:
        raise SystemExit(f"compare_hypatia: SkyMesh skipped {len(skipped)} of Hypatia's TLEs")
    const = assign_planes(const)
    inferred = plus_grid_pairs(const)
    listed = load_isl_file(run_dir / "isls.txt", const.sat_names)
    gs = [line.split(",") for line in (run_dir / "ground_stations.txt").read_text().splitlines()]
    names = [g[1] for g in gs]
    eps = GroundPoints.of(names, [float(g[2]) for g in gs], [float(g[3]) for g in gs])
    grid = time_grid(const.epoch)
    rules = dict(
        mode="isl",
        min_elevation_deg=-90.0,
        max_gsl_range_km=meta["max_gsl_m"] / 1e3,
        max_isl_range_km=meta["max_isl_m"] / 1e3,
        min_clearance_km=80.0,
    )
    out = {}
    t0 = time.perf_counter()
    pos = positions_ecef(const, grid)[:, 0]
    elevation, _, _ = look_angles(pos, eps.lat_deg, eps.lon_deg)  # (G, N) deg
    for label, isl_pairs in (("inferred", inferred), ("listed", listed)):
        table = path_series(const, grid, eps, np.asarray(pairs), isl_pairs=isl_pairs, **rules)
        rtt = np.asarray(table["space_rtt_ms"].to_pylist(), dtype=float)
        paths = table["path"].to_pylist()
        below = [
            0 if not p else int(elevation[a, p[0]] < 0) + int(elevation[b, p[-1]] < 0)
            for (a, b), p in zip(pairs, paths)
        ]
        out[label] = dict(
            length_km=(rtt * SPEED_OF_LIGHT_KM_S / 2e3).tolist(),
            path=paths,
            gsl_below_horizon=below,
        )
    grid_info = dict(
        shells=int(const.shell.max()) + 1,
        planes=int(const.plane.max()) + 1,
        isls_inferred=len(inferred),
        isls_listed=len(listed),
        same_grid=bool(np.array_equal(inferred, listed)),
        route_s=time.perf_counter() - t0,
    )
    grid_info["gsl_below_horizon_on_paths"] = int(sum(out["inferred"]["gsl_below_horizon"]))
    return names, out, grid_info


def great_circle_km(lat1, lon1, lat2, lon2) -> float:
    import math

    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


def compare_shell(shell: str, work: Path, python: Path) -> dict:
    run_dir = work / shell
    meta = run_hypatia(shell, run_dir, python)
    gs = [line.split(",") for line in (run_dir / "ground_stations.txt").read_text().splitlines()]
    index = {g[1]: int(g[0]) for g in gs}
    missing = [n for pair in PAIRS for n in pair if n not in index]
    if missing:
        raise SystemExit(f"compare_hypatia: not in Hypatia's ground stations: {missing}")
    pairs = [[index[a], index[b]] for a, b in PAIRS]
    hyp = hypatia_paths(run_dir, pairs, python)
    names, sky, grid_info = skymesh_side(run_dir, meta, pairs)
    rows = []
    n_sats = meta["satellites"]
    for k, (a, b) in enumerate(pairs):
        h = hyp[k]["length_m"]
        h_km = None if h is None else h / 1e3
        row = dict(
            a=names[a],
            b=names[b],
            great_circle_km=great_circle_km(
                float(gs[a][2]), float(gs[a][3]), float(gs[b][2]), float(gs[b][3])
            ),
            hypatia_km=h_km,
            hypatia_rtt_ms=None if h_km is None else 2e3 * h_km / SPEED_OF_LIGHT_KM_S,
            hypatia_path=None
            if hyp[k]["path"] is None
            else [x for x in hyp[k]["path"] if x < n_sats],
        )
        for label in ("inferred", "listed"):
            s_km = sky[label]["length_km"][k]
            s_km = None if s_km != s_km else s_km  # NaN: unreachable
            row[f"skymesh_{label}_km"] = s_km
            row[f"skymesh_{label}_path"] = sky[label]["path"][k]
            if h_km is None or s_km is None:
                row[f"rel_diff_{label}"] = 0.0 if h_km is None and s_km is None else float("inf")
            else:
                row[f"rel_diff_{label}"] = abs(s_km - h_km) / h_km
            row[f"same_path_{label}"] = row[f"skymesh_{label}_path"] == row["hypatia_path"]
            row[f"gsl_below_horizon_{label}"] = sky[label]["gsl_below_horizon"][k]
        rows.append(row)
    worst_inferred = max(r["rel_diff_inferred"] for r in rows)
    worst_listed = max(r["rel_diff_listed"] for r in rows)
    return dict(
        shell=shell,
        hypatia=dict(
            satellites=n_sats,
            isls=meta["isls"],
            max_gsl_km=meta["max_gsl_m"] / 1e3,
            max_isl_km=meta["max_isl_m"] / 1e3,
            epoch=meta["epoch"],
            wall_s=meta["wall_s"],
        ),
        skymesh=grid_info,
        pairs=rows,
        max_rel_diff_inferred=worst_inferred,
        max_rel_diff_listed=worst_listed,
    )


def print_shell(res: dict) -> None:
    h, s = res["hypatia"], res["skymesh"]
    print(
        f"\n{res['shell']}: {h['satellites']} satellites, epoch {h['epoch']} UTC; GSL range "
        f"<= {h['max_gsl_km']:.1f} km (no mask), ISL <= {h['max_isl_km']:.1f} km"
    )
    print(
        f"  SkyMesh inferred {s['shells']} shell, {s['planes']} planes, "
        f"{s['isls_inferred']} ISLs; Hypatia's isls.txt {s['isls_listed']}; identical "
        f"grids: {'yes' if s['same_grid'] else 'NO'}"
    )
    if s["gsl_below_horizon_on_paths"]:
        print(
            f"  note: {s['gsl_below_horizon_on_paths']} GSL(s) on these paths reach a "
            f"satellite below the horizon (Hypatia's range rule allows it; SkyMesh's "
            f"CLI and scenarios do not)"
        )
    head = (
        f"  {'pair':<34} {'gc km':>6} {'Hypatia':>8} {'SkyMesh':>8} {'rel.diff':>9} "
        f"{'w/ isls':>9} {'path':>4}"
    )
    print(head)
    print(f"  {'':<34} {'':>6} {'RTT ms':>8} {'RTT ms':>8} {'inferred':>9} {'.txt':>9} {'same':>4}")

    def short(name):
        # "Moskva-(Moscow)" -> "Moscow"; "Los-Angeles-Long-Beach-Santa-Ana" -> "Los Angeles"
        if "-(" in name:
            return name.split("-(")[-1].rstrip(")")
        return " ".join(name.replace("--", "-").split("-")[:2])

    for r in res["pairs"]:
        label = f"{short(r['a'])} - {short(r['b'])}"[:34]
        hy = "unreach." if r["hypatia_rtt_ms"] is None else f"{r['hypatia_rtt_ms']:.3f}"
        sk = r["skymesh_inferred_km"]
        sk = "unreach." if sk is None else f"{2e3 * sk / SPEED_OF_LIGHT_KM_S:.3f}"
        print(
            f"  {label:<34} {r['great_circle_km']:>6.0f} {hy:>8} {sk:>8} "
            f"{r['rel_diff_inferred']:>9.2e} {r['rel_diff_listed']:>9.2e} "
            f"{'yes' if r['same_path_inferred'] else 'no':>4}"
        )
    print(
        f"  max relative difference: {res['max_rel_diff_inferred']:.2e} with SkyMesh's "
        f"inference (target {TARGET_INFERRED:g}), {res['max_rel_diff_listed']:.2e} with "
        f"Hypatia's isls.txt (target {TARGET_EXPLICIT:g})"
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--shells",
        nargs="+",
        default=list(SHELLS),
        choices=("starlink-550", "kuiper-630", "telesat-1015"),
    )
    ap.add_argument(
        "--work",
        type=Path,
        default=Path("bench-out") / "hypatia",
        help="Folder for Hypatia's generated inputs (default bench-out/hypatia).",
    )
    ap.add_argument("--hypatia-python", type=Path, default=HYPATIA_PYTHON)
    ap.add_argument(
        "--hypatia-side", nargs=2, metavar=("RUN_DIR", "PAIRS_JSON"), help=argparse.SUPPRESS
    )
    a = ap.parse_args(argv)
    if a.hypatia_side:
        hypatia_side(*a.hypatia_side)
        return 0
    if not (ANCHORS / "hypatia_step.py").is_file():
        print(f"compare_hypatia: skipped: no Hypatia anchor at {ANCHORS}")
        return 0
    if not a.hypatia_python.is_file():
        print(
            f"compare_hypatia: skipped: no Hypatia venv at {a.hypatia_python} (see "
            f"{ANCHORS / 'README.md'})"
        )
        return 0
    check = subprocess.run(
        [str(a.hypatia_python), "-c", "import ephem, astropy, networkx"],
        capture_output=True,
        text=True,
    )
    if check.returncode != 0:
        print(
            f"compare_hypatia: skipped: Hypatia's venv {a.hypatia_python} lacks its "
            f"packages (pip install -r {ANCHORS / 'requirements.txt'})"
        )
        return 0
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    results = [compare_shell(shell, a.work.resolve(), a.hypatia_python) for shell in a.shells]
    for res in results:
        print_shell(res)
    ok = all(
        r["max_rel_diff_inferred"] <= TARGET_INFERRED
        and r["max_rel_diff_listed"] <= TARGET_EXPLICIT
        for r in results
    )
    out = Path("bench-out") / "compare_hypatia.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            dict(
                results=results,
                ok=ok,
                targets=dict(inferred=TARGET_INFERRED, listed=TARGET_EXPLICIT),
            ),
            indent=1,
        )
    )
    print(
        f"\n{'OK' if ok else 'TARGET MISSED'}: every pair of {', '.join(a.shells)} within "
        f"{TARGET_INFERRED:g} (inferred grid) and {TARGET_EXPLICIT:g} (Hypatia's list): "
        f"{'yes' if ok else 'no'}; details in {out}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
