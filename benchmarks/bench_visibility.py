"""Benchmark: ground-satellite visibility per step, dense test vs the k-d tree index.

Workload: {100; 1,000; 10,000} ground points (uniform over the sphere, fixed seed)
x {1,584 satellites (``starlink-shell1`` preset); 4,408 (``starlink-gen1``, the
five Gen1 shells); 9,042 (the real TLE set ``starlink_tle_20251204.txt``)}, one
step at a time, 25 deg mask.

* indexed: :func:`skymesh.links.visibility.visible_pairs` (k-d tree candidates
  within the longest slant range, exact elevation test on them);
* dense: the algorithm it replaced (kept here as the baseline): one
  (ground x satellite) matmul per step against a height floor (the exact
  bound ``d . up >= sin(e) (|sat| - |ground|)``), then the same exact test on
  the pairs left. Its cone prefilter is left out: it drops nothing for
  worldwide ground points.

Each step is timed dense, indexed, dense, indexed ... (A B A B; the machine may
be shared: medians and ranges are reported, with the load average), over
``--steps`` different steps. Both must return the same pairs in the same order
with the same ranges (the script exits 1 otherwise). The exponent of time in
ground points is the least-squares slope of log(median time) on log(ground
points). Figures go to ``bench-out/bench_visibility.json``; no timing is
asserted. Run: ``python benchmarks/bench_visibility.py [--help]``.
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

from skymesh.links.visibility import local_frames, visible_pairs  # noqa: E402
from skymesh.orbits.frames import geodetic_to_ecef  # noqa: E402
from skymesh.orbits.presets import load_constellation  # noqa: E402
from skymesh.orbits.propagate import positions_ecef  # noqa: E402
from skymesh.timebase import time_grid  # noqa: E402

NAME = "bench_visibility"
TLE_FILE = "starlink_tle_20251204.txt"
GROUND_COUNTS = (100, 1000, 10000)
MASK_DEG = 25.0
_BLOCK = 400_000


def dense_visible_pairs(sat_ecef_km, lat_deg, lon_deg, min_elevation_deg=MASK_DEG):
    """The dense baseline: every (ground, satellite) pair through one matmul per step."""
    sat = np.asarray(sat_ecef_km, dtype=float)
    n_sat = sat.shape[0]
    ground = geodetic_to_ecef(lat_deg, lon_deg, 0.0)
    _, _, up = local_frames(lat_deg, lon_deg)
    sin_min = np.full(len(ground), np.sin(np.deg2rad(min_elevation_deg)))
    flat = np.ascontiguousarray(sat.transpose(1, 0, 2)).reshape(-1, 3)
    ok = np.isfinite(flat).all(axis=1)
    r_min = np.sqrt(np.einsum("ik,ik->i", flat[ok], flat[ok])).min()
    g_norm = np.sqrt(np.einsum("gk,gk->g", ground, ground))
    g_up = np.einsum("gk,gk->g", ground, up)
    floor = sin_min * np.maximum(r_min - g_norm, 0.0) + g_up - 1e-6
    cand = np.flatnonzero(ok)
    up_t = np.ascontiguousarray(up.T)
    chunk = max(16, _BLOCK // len(ground))
    out = [[], [], [], [], []]
    for c0 in range(0, len(cand), chunk):
        idx = cand[c0 : c0 + chunk]
        block = flat[idx]
        row, g = np.nonzero(block @ up_t >= floor)
        d = block[row] - ground[g]
        rng = np.sqrt(np.einsum("ik,ik->i", d, d))
        d_up = np.einsum("ik,ik->i", d, up[g])
        keep = d_up >= sin_min[g] * rng
        row, g, rng, d_up = row[keep], g[keep], rng[keep], d_up[keep]
        t, s = np.divmod(idx[row], n_sat)
        for lst, v in zip(
            out, (g, s, t, rng, np.rad2deg(np.arcsin(np.clip(d_up / rng, -1.0, 1.0))))
        ):
            lst.append(v)
    return tuple(np.concatenate(x) for x in out)


def _ground(n, seed):
    rng = np.random.default_rng(seed)
    return np.degrees(np.arcsin(rng.uniform(-1, 1, n))), rng.uniform(-180, 180, n)


def _fit_exponent(counts, seconds) -> float:
    return float(np.polyfit(np.log(counts), np.log(seconds), 1)[0])


def run(
    tle_path=None,
    steps: int = 5,
    seed: int = 12,
    ground_counts=GROUND_COUNTS,
    out_dir=benchlib.DEFAULT_OUT_DIR,
    verbose: bool = True,
) -> dict:
    log = print if verbose else (lambda *a, **k: None)
    tle_path = Path(tle_path) if tle_path else benchlib.data_file(TLE_FILE)
    sets = [
        ("starlink-shell1", load_constellation("starlink-shell1"), "2026-01-01T00:00:00Z"),
        ("starlink-gen1", load_constellation("starlink-gen1"), "2026-01-01T00:00:00Z"),
        (tle_path.name, load_constellation(str(tle_path)), None),
    ]
    load_before = os.getloadavg()
    rows, ok_all = [], True
    for label, const, start in sets:
        start = start or const.epoch.replace(microsecond=0)
        grid = time_grid(start, 60.0 * (steps - 1), 60.0)
        pos = positions_ecef(const, grid)  # (N, steps, 3)
        visible_pairs(pos[:, :1], *_ground(10, seed))  # warm-up (numba cache)
        for n_ground in ground_counts:
            lat, lon = _ground(n_ground, seed)
            dense_s, index_s, pairs, same = [], [], [], True
            for k in range(steps):
                p = pos[:, k : k + 1]
                t0 = time.perf_counter()
                a = dense_visible_pairs(p, lat, lon)
                t1 = time.perf_counter()
                b = visible_pairs(p, lat, lon, min_elevation_deg=MASK_DEG)
                t2 = time.perf_counter()
                dense_s.append(t1 - t0)
                index_s.append(t2 - t1)
                pairs.append(len(b[0]))
                same &= all(np.array_equal(x, y) for x, y in zip(a[:3], b[:3]))
                same &= bool(np.array_equal(a[3], b[3]))
            ok_all &= same
            rows.append(
                {
                    "satellites": len(const),
                    "set": label,
                    "ground": n_ground,
                    "pairs_per_step": float(np.median(pairs)),
                    "dense_s": dense_s,
                    "indexed_s": index_s,
                    "dense_median_s": float(np.median(dense_s)),
                    "indexed_median_s": float(np.median(index_s)),
                    "ratio_median": float(np.median(np.array(dense_s) / np.array(index_s))),
                    "identical": same,
                }
            )
            log(
                f"  {label} ({len(const):,}) x {n_ground:,} ground: dense "
                f"{benchlib.fmt_s(rows[-1]['dense_median_s'])}, indexed "
                f"{benchlib.fmt_s(rows[-1]['indexed_median_s'])}, identical={same}"
            )
    exponents = {}
    for label, const, _ in sets:
        sel = [r for r in rows if r["set"] == label]
        g = [r["ground"] for r in sel]
        exponents[label] = {
            "satellites": len(const),
            "dense": _fit_exponent(g, [r["dense_median_s"] for r in sel]),
            "indexed": _fit_exponent(g, [r["indexed_median_s"] for r in sel]),
            "pairs": _fit_exponent(g, [r["pairs_per_step"] for r in sel]),
        }
    figures = {
        "workload": {
            "ground_counts": list(ground_counts),
            "steps": steps,
            "mask_deg": MASK_DEG,
            "seed": seed,
            "tle_file": str(tle_path),
            "ground": "uniform over the sphere",
        },
        "rows": rows,
        "exponents_in_ground_points": exponents,
        "load_average_1min": [load_before[0], os.getloadavg()[0]],
        "cpu_count": os.cpu_count(),
        "identical": bool(ok_all),
    }
    return benchlib.finish(NAME, figures, out_dir, verbose, report)


def _range(v) -> str:
    return f"{benchlib.fmt_s(min(v))} - {benchlib.fmt_s(max(v))}"


def report(f: dict) -> None:
    w = f["workload"]
    benchlib.print_table(
        f"Visibility per step ({w['steps']} steps each, interleaved dense/indexed; "
        f"median [range]; mask {w['mask_deg']:g} deg)",
        ["satellites x ground", "pairs", "dense", "indexed", "ratio"],
        [
            [
                f"{r['satellites']:,} x {r['ground']:,}",
                f"{r['pairs_per_step']:,.0f}",
                f"{benchlib.fmt_s(r['dense_median_s'])} [{_range(r['dense_s'])}]",
                f"{benchlib.fmt_s(r['indexed_median_s'])} [{_range(r['indexed_s'])}]",
                f"{r['ratio_median']:.1f}x",
            ]
            for r in f["rows"]
        ],
    )
    benchlib.print_table(
        "Fitted exponent of time in ground points (slope of log t on log G)",
        ["set", "dense", "indexed", "pairs in view"],
        [
            [
                f"{k} ({v['satellites']:,})",
                f"{v['dense']:.2f}",
                f"{v['indexed']:.2f}",
                f"{v['pairs']:.2f}",
            ]
            for k, v in f["exponents_in_ground_points"].items()
        ],
    )
    la = f["load_average_1min"]
    print(
        f"\nmachine: {f['cpu_count']} cores, 1-min load average {la[0]:.1f} before, "
        f"{la[1]:.1f} after (shared machines make timings noisy)"
    )
    print(f"dense and indexed results identical: {'yes' if f['identical'] else 'NO'}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tle", default=None, help=f"TLE file (default $SKYMESH_DATA/{TLE_FILE})")
    ap.add_argument("--steps", type=int, default=5, help="steps timed per configuration")
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--out", default=str(benchlib.DEFAULT_OUT_DIR), help="JSON folder")
    args = ap.parse_args(argv)
    figures = run(args.tle, steps=args.steps, seed=args.seed, out_dir=args.out)
    if not figures["identical"]:
        print("\nFAIL: dense and indexed visibility differ", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
