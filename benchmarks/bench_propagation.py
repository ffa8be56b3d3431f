"""Benchmark: TLE propagation throughput to Earth-fixed positions, SkyMesh vs a Skyfield loop.

Workload (the issue's): the real Starlink TLE set (``starlink_tle_20251204.txt``,
9,042 satellites) over one hour at 1 s steps (3,601 instants), Earth-fixed.

* SkyMesh: ``load_constellation(path)`` then ``positions_ecef(c, grid)``,
  streamed in time chunks (600 steps by default, each written into the
  previous chunk's array) so memory stays bounded; SGP4 runs on a 60 s grid
  through sgp4's vectorised ``SatrecArray``; one compiled parallel numba
  kernel rotates the knots to Earth-fixed by GMST (IAU 1982; UT1 taken as
  UTC, no polar motion) and cubic-Hermite interpolates the 1 s instants
  there, writing into the chunk's array. The kernel is compiled (or loaded
  from numba's disk cache) in an untimed warm-up.
* Skyfield: for each satellite, ``EarthSatellite(l1, l2, name, ts).at(t)
  .frame_xyz(itrs).km`` over the same 3,601 instants (``t`` one shared Time
  array). Skyfield goes TEME -> ITRF -> GCRS -> ITRS with IAU 2000
  precession-nutation and UT1 from its built-in Delta-T tables; the built-in
  timescale carries no polar-motion table, so its ITRS is polar-motion-free.
  A full Skyfield run would take minutes, so it is timed on a random sample
  of satellites (300 by default) and its rate per satellite-step is
  extrapolated to the full set (the output says so).

The runs alternate (SkyMesh, Skyfield, SkyMesh, ...) because the machine may
be shared; the ratio is reported per pair (median and range) with the 1-min
load average before and after.

Agreement: the largest position difference between the two on the sample
must stay under 1 km (expected: tens of metres, from UT1 - UTC and the
frame models above, plus < 1 m of interpolation); the script exits with
status 1 otherwise. Figures go to ``bench-out/bench_propagation.json``; no
timing is asserted. Run: ``python benchmarks/bench_propagation.py [--help]``.
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

from skymesh.orbits.presets import load_constellation  # noqa: E402
from skymesh.orbits.propagate import positions_ecef  # noqa: E402
from skymesh.orbits.tle import read_tle_file  # noqa: E402
from skymesh.timebase import time_grid  # noqa: E402

NAME = "bench_propagation"
TLE_FILE = "starlink_tle_20251204.txt"
TARGET_RATIO = 50.0
MAX_DIFF_KM = 1.0


def skymesh_stream(const, grid, chunk_steps: int, sample_idx=None, memory=None):
    """Propagate ``const`` over ``grid`` chunk by chunk.

    Returns ``(seconds in positions_ecef, sample positions (S, T, 3) or None,
    count of NaN satellite-steps)``. Only the propagation calls are timed;
    copying the sample out of each chunk is not. Each chunk is written into
    the previous chunk's array (``positions_ecef(..., out=)``), as a streaming
    consumer that is done with a chunk before asking for the next would.
    """
    n_t = len(grid)
    sample = None if sample_idx is None else np.empty((len(sample_idx), n_t, 3))
    seconds = 0.0
    n_nan = 0
    pos = None
    for a in range(0, n_t, chunk_steps):
        sub = grid.subset(slice(a, min(a + chunk_steps, n_t)))
        reuse = pos if pos is not None and pos.shape[1] == len(sub) else None
        t0 = time.perf_counter()
        pos = positions_ecef(const, sub, out=reuse)
        seconds += time.perf_counter() - t0
        n_nan += int(np.isnan(pos[..., 0]).sum())
        if sample is not None:
            sample[:, a : a + len(sub)] = pos[sample_idx]
        if memory is not None:
            memory.phase("skymesh_chunk")
    return seconds, sample, n_nan


def skyfield_loop(names, line1s, line2s, sample_idx, grid, memory=None):
    """Per-satellite Skyfield loop; ``(seconds, positions (S, T, 3) km)``.

    Timed: building the shared Time array once, then for each satellite its
    ``EarthSatellite`` and its Earth-fixed (ITRS) positions at every instant.
    """
    from skyfield.api import EarthSatellite, load
    from skyfield.framelib import itrs

    ts = load.timescale(builtin=True)
    out = np.empty((len(sample_idx), len(grid), 3))
    s = grid.start
    t0 = time.perf_counter()
    t = ts.utc(
        s.year, s.month, s.day, s.hour, s.minute, s.second + s.microsecond / 1e6 + grid.offsets_s
    )
    for j, i in enumerate(sample_idx):
        sat = EarthSatellite(line1s[i], line2s[i], names[i], ts)
        out[j] = sat.at(t).frame_xyz(itrs).km.T
        if memory is not None:
            memory.phase("skyfield_satellite")
    seconds = time.perf_counter() - t0
    return seconds, out


def compare(sky: np.ndarray, sf: np.ndarray) -> dict:
    """Position differences (km) between SkyMesh and Skyfield on the sample."""
    fin_a = np.isfinite(sky).all(axis=-1)
    fin_b = np.isfinite(sf).all(axis=-1)
    both = fin_a & fin_b
    d = np.linalg.norm(sky - sf, axis=-1)[both]
    out = {
        "points_compared": int(both.sum()),
        "points_nan_both": int((~fin_a & ~fin_b).sum()),
        "points_nan_only_skymesh": int((~fin_a & fin_b).sum()),
        "points_nan_only_skyfield": int((fin_a & ~fin_b).sum()),
        "max_diff_km": float(d.max()) if d.size else float("nan"),
        "median_diff_km": float(np.median(d)) if d.size else float("nan"),
        "p99_diff_km": float(np.percentile(d, 99)) if d.size else float("nan"),
        "threshold_km": MAX_DIFF_KM,
    }
    # SkyMesh is NaN for the whole coarse interval around an SGP4 failure;
    # tolerate NaN-only-in-SkyMesh within one coarse step of a Skyfield NaN.
    only_a = ~fin_a & fin_b
    tolerated = 0
    if only_a.any():
        near = np.zeros_like(fin_b)
        for k in range(len(fin_b)):
            bad = np.flatnonzero(~fin_b[k])
            if bad.size:
                idx = np.arange(fin_b.shape[1])
                near[k] = np.min(np.abs(idx[:, None] - bad[None, :]), axis=1) <= 60
        tolerated = int((only_a & near).sum())
    out["ok"] = bool(
        d.size > 0
        and out["max_diff_km"] < MAX_DIFF_KM
        and out["points_nan_only_skyfield"] == 0
        and out["points_nan_only_skymesh"] == tolerated
    )
    return out


def run(
    tle_path=None,
    duration_s: float = 3600.0,
    step_s: float = 1.0,
    chunk_steps: int = 600,
    sample: int = 300,
    n_sats: int | None = None,
    seed: int = 20251204,
    repeats: int = 5,
    trace_memory: bool = True,
    memory_sample: int = 30,
    out_dir=benchlib.DEFAULT_OUT_DIR,
    verbose: bool = True,
) -> dict:
    """Run the benchmark; return its figures (``figures["agreement"]["ok"]``).

    ``n_sats`` restricts the workload to a random subset of the TLE set
    (smoke tests); ``sample`` satellites go through Skyfield.
    """
    log = print if verbose else (lambda *a, **k: None)
    tle_path = Path(tle_path) if tle_path else benchlib.data_file(TLE_FILE)
    rng = np.random.default_rng(seed)

    names, line1s, line2s, _ = read_tle_file(tle_path)
    const, load_s = benchlib.timed(load_constellation, str(tle_path))
    if len(const) != len(names):
        raise SystemExit(
            f"{tle_path}: load_constellation kept {len(const)} of "
            f"{len(names)} element sets; cannot pair them with Skyfield"
        )
    if n_sats is not None and n_sats < len(const):
        keep = np.sort(rng.choice(len(const), n_sats, replace=False))
        const = const.subset(keep)
        names = [names[i] for i in keep]
        line1s = [line1s[i] for i in keep]
        line2s = [line2s[i] for i in keep]
    n = len(const)
    start = const.epoch.replace(microsecond=0)
    grid = time_grid(start, duration_s, step_s)
    n_t = len(grid)
    sample_idx = np.sort(rng.choice(n, min(sample, n), replace=False))
    log(
        f"{NAME}: {n:,} satellites x {n_t:,} instants from {grid.iso()[0]} "
        f"({n * n_t:,} satellite-steps); Skyfield on {len(sample_idx)} of them"
    )

    # Warm-up (imports, loading or compiling the numba kernel) on enough instants to
    # take the interpolated path.
    positions_ecef(const, grid.subset(slice(0, min(n_t, 181))))

    # Interleaved A B A B: the machine may be shared, so each SkyMesh run is paired
    # with the Skyfield run right after it and the ratio is taken per pair.
    load_before = os.getloadavg()
    sky_runs, sf_runs, sky_rss, sf_rss = [], [], 0, 0
    for k in range(repeats):
        benchlib.reset_peak_rss()
        sec, smp, nn = skymesh_stream(const, grid, chunk_steps, sample_idx if k == 0 else None)
        sky_rss = max(sky_rss, benchlib.peak_rss_bytes())
        if k == 0:
            sky_sample, n_nan = smp, nn
        sky_runs.append(sec)
        log(f"  SkyMesh run {k + 1}/{repeats}: {benchlib.fmt_s(sec)} for the full set")
        benchlib.reset_peak_rss()
        sec, pos = skyfield_loop(names, line1s, line2s, sample_idx, grid)
        sf_rss = max(sf_rss, benchlib.peak_rss_bytes())
        if k == 0:
            sf_pos = pos
        sf_runs.append(sec)
        log(
            f"  Skyfield run {k + 1}/{repeats}: {benchlib.fmt_s(sec)} for "
            f"{len(sample_idx)} satellites"
        )
    load_after = os.getloadavg()
    sky_s = float(np.median(sky_runs))
    sf_s = float(np.median(sf_runs))
    pair_ratios = [(n * n_t / a) / (len(sample_idx) * n_t / b) for a, b in zip(sky_runs, sf_runs)]

    agreement = compare(sky_sample, sf_pos)
    del sky_sample, sf_pos

    mem = {}
    if trace_memory:
        with benchlib.PhaseMemory() as m:
            skymesh_stream(const, grid, chunk_steps, memory=m)
        mem["skymesh"] = m.figures()
        mem_idx = sample_idx[:memory_sample]
        with benchlib.PhaseMemory() as m:
            skyfield_loop(names, line1s, line2s, mem_idx, grid, memory=m)
        mem["skyfield"] = m.figures()
        mem["skyfield"]["satellites_traced"] = int(len(mem_idx))

    steps_full = n * n_t
    steps_sample = len(sample_idx) * n_t
    sky_rate = steps_full / sky_s
    sky_rate_load = steps_full / (sky_s + load_s)
    sf_rate = steps_sample / sf_s
    figures = {
        "workload": {
            "tle_file": str(tle_path),
            "satellites": n,
            "instants": n_t,
            "start_utc": grid.iso()[0],
            "duration_s": duration_s,
            "step_s": step_s,
            "satellite_steps": steps_full,
            "chunk_steps": chunk_steps,
            "skyfield_sample": int(len(sample_idx)),
            "seed": seed,
            "repeats": repeats,
            "skymesh_nan_satellite_steps": n_nan,
        },
        "skymesh": {
            "propagate_s": sky_s,
            "propagate_runs_s": sky_runs,
            "load_constellation_s": load_s,
            "sat_steps_per_s": sky_rate,
            "sat_steps_per_s_incl_load": sky_rate_load,
            "rss_peak_timed_pass_mib": round(sky_rss / benchlib.MIB, 1),
            **({"memory": mem["skymesh"]} if mem else {}),
        },
        "skyfield": {
            "sample_s": sf_s,
            "sample_runs_s": sf_runs,
            "sample_satellite_steps": steps_sample,
            "sat_steps_per_s": sf_rate,
            "extrapolated_full_set_s": steps_full / sf_rate,
            "rss_peak_timed_pass_mib": round(sf_rss / benchlib.MIB, 1),
            **({"memory": mem["skyfield"]} if mem else {}),
        },
        "ratio": sky_rate / sf_rate,
        "ratio_per_pair": pair_ratios,
        "ratio_pair_median": float(np.median(pair_ratios)),
        "ratio_pair_range": [float(min(pair_ratios)), float(max(pair_ratios))],
        "load_average_1min": [load_before[0], load_after[0]],
        "cpu_count": os.cpu_count(),
        "ratio_incl_load": sky_rate_load / sf_rate,
        "target_ratio": TARGET_RATIO,
        "target_met": bool(sky_rate / sf_rate >= TARGET_RATIO),
        "agreement": agreement,
    }
    return benchlib.finish(NAME, figures, out_dir, verbose, report)


def report(f: dict) -> None:
    w, sky, sf, a = f["workload"], f["skymesh"], f["skyfield"], f["agreement"]
    benchlib.print_table(
        "Workload",
        ["item", "value"],
        [
            ["TLE set", f"{Path(w['tle_file']).name} ({w['satellites']:,} satellites)"],
            [
                "instants",
                f"{w['instants']:,} ({w['duration_s']:.0f} s at {w['step_s']:g} s "
                f"from {w['start_utc']})",
            ],
            ["satellite-steps (full set)", f"{w['satellite_steps']:,}"],
            ["SkyMesh", f"full set, streamed in chunks of {w['chunk_steps']} steps"],
            ["timed runs", f"{w['repeats']} of each, interleaved A B A B (median)"],
            [
                "Skyfield",
                f"random sample of {w['skyfield_sample']} satellites, rate "
                f"extrapolated per satellite-step",
            ],
            ["SkyMesh satellite-steps NaN (SGP4 errors)", f"{w['skymesh_nan_satellite_steps']:,}"],
        ],
    )

    benchlib.print_table(
        "Throughput",
        ["approach", "time", "satellite-steps/s"],
        [
            [
                "SkyMesh positions_ecef (full set, median of runs)",
                benchlib.fmt_s(sky["propagate_s"]),
                f"{sky['sat_steps_per_s']:,.0f}",
            ],
            [
                f"SkyMesh incl. load_constellation ({benchlib.fmt_s(sky['load_constellation_s'])})",
                benchlib.fmt_s(sky["propagate_s"] + sky["load_constellation_s"]),
                f"{sky['sat_steps_per_s_incl_load']:,.0f}",
            ],
            [
                f"Skyfield loop ({w['skyfield_sample']} satellites, measured, median)",
                benchlib.fmt_s(sf["sample_s"]),
                f"{sf['sat_steps_per_s']:,.0f}",
            ],
            [
                "Skyfield loop (full set, EXTRAPOLATED)",
                benchlib.fmt_s(sf["extrapolated_full_set_s"]),
                f"{sf['sat_steps_per_s']:,.0f}",
            ],
        ],
    )

    benchlib.print_table(
        "Speed",
        ["figure", "value"],
        [
            ["speed-up (SkyMesh / Skyfield, satellite-steps/s, medians)", f"{f['ratio']:,.0f}x"],
            [
                "speed-up per interleaved pair: median [min - max]",
                f"{f['ratio_pair_median']:,.0f}x [{f['ratio_pair_range'][0]:,.0f} - "
                f"{f['ratio_pair_range'][1]:,.0f}x] over {len(f['ratio_per_pair'])} pairs",
            ],
            [
                "SkyMesh runs: median [min - max]",
                f"{benchlib.fmt_s(sky['propagate_s'])} "
                f"[{benchlib.fmt_s(min(sky['propagate_runs_s']))}"
                f" - {benchlib.fmt_s(max(sky['propagate_runs_s']))}]",
            ],
            [
                "machine load (1-min average, before / after; cores)",
                f"{f['load_average_1min'][0]:.1f} / {f['load_average_1min'][1]:.1f}; "
                f"{f['cpu_count']}",
            ],
            ["speed-up incl. SkyMesh load_constellation", f"{f['ratio_incl_load']:,.0f}x"],
            [f"target >= {f['target_ratio']:.0f}x", "met" if f["target_met"] else "NOT met"],
        ],
    )

    if "memory" in sky:
        ms, mf = sky["memory"], sf["memory"]
        benchlib.print_table(
            "Peak memory (MiB): tracemalloc peak (traced pass), RSS peak of the timed pass "
            "(whole process)",
            ["approach", "tracemalloc", "RSS peak"],
            [
                [
                    f"SkyMesh, per {w['chunk_steps']}-step chunk of {w['satellites']:,} satellites",
                    f"{ms['tracemalloc_peak_mib']:,.1f}",
                    f"{sky['rss_peak_timed_pass_mib']:,.1f}",
                ],
                [
                    f"Skyfield, per satellite (max of {mf['satellites_traced']} traced); RSS: "
                    f"{w['skyfield_sample']}-satellite loop",
                    f"{mf['tracemalloc_peak_mib']:,.1f}",
                    f"{sf['rss_peak_timed_pass_mib']:,.1f}",
                ],
            ],
        )

    benchlib.print_table(
        "Agreement (SkyMesh vs Skyfield ITRS, sample)",
        ["figure", "value"],
        [
            ["result", "OK" if a["ok"] else "FAIL"],
            ["points compared", f"{a['points_compared']:,}"],
            [
                "max / p99 / median difference",
                f"{a['max_diff_km'] * 1e3:,.1f} / {a['p99_diff_km'] * 1e3:,.1f} / "
                f"{a['median_diff_km'] * 1e3:,.1f} m (limit {a['threshold_km']:g} km)",
            ],
            [
                "NaN both / only SkyMesh / only Skyfield",
                f"{a['points_nan_both']:,} / {a['points_nan_only_skymesh']:,} / "
                f"{a['points_nan_only_skyfield']:,}",
            ],
            ["SkyMesh frame", "TEME rotated by GMST (IAU 1982), UT1 = UTC, no polar motion"],
            [
                "Skyfield frame",
                "ITRS via IAU 2000 precession-nutation, built-in UT1, no polar motion",
            ],
        ],
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tle", default=None, help=f"TLE file (default $SKYMESH_DATA/{TLE_FILE})")
    ap.add_argument("--duration", type=float, default=3600.0, help="seconds")
    ap.add_argument("--step", type=float, default=1.0, help="seconds")
    ap.add_argument("--chunk", type=int, default=600, help="time steps per SkyMesh chunk")
    ap.add_argument("--sample", type=int, default=300, help="satellites run through Skyfield")
    ap.add_argument("--seed", type=int, default=20251204)
    ap.add_argument("--repeats", type=int, default=5, help="timed runs of each (median)")
    ap.add_argument("--no-memory", action="store_true", help="skip the traced memory pass")
    ap.add_argument("--out", default=str(benchlib.DEFAULT_OUT_DIR), help="JSON folder")
    args = ap.parse_args(argv)
    figures = run(
        args.tle,
        duration_s=args.duration,
        step_s=args.step,
        chunk_steps=args.chunk,
        sample=args.sample,
        seed=args.seed,
        repeats=args.repeats,
        trace_memory=not args.no_memory,
        out_dir=args.out,
    )
    if not figures["agreement"]["ok"]:
        print(
            "\nFAIL: SkyMesh and Skyfield positions disagree (see the agreement table)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
