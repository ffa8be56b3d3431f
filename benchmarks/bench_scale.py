"""Scale benchmark: the 24-hour, 100-city routing study on the real Starlink TLE set.

Issue: "Steps per second for the 24-hour study with 1 and 2 workers (scaling
ratio), and peak memory. Peak RSS for 1 hour against 24 hours."

Runs the built-in ``starlink-100-cities-24h`` study (all-pairs RTT and forwarding
state among the 100 most populous cities over the newest Starlink snapshot in
``SKYMESH_DATA``, 10 s steps) as real ``skymesh run`` commands in child
processes, and reads each child's peak RSS from the kernel (``os.wait4``):

1. 1 hour, one worker (``--scheduler sync``): peak RSS;
2. 24 hours, one worker (``--scheduler sync``): steps/s and peak RSS;
3. 24 hours, two Dask worker processes (``--scheduler processes --workers 2``):
   steps/s (the workers' RSS is sampled with psutil).

Prints a table and writes ``bench-out/scale.json``. ``--hours H`` shortens the
long runs (for a quick look); the issue's figures need the default 24.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench-out"


def _run(args: list[str], env: dict) -> dict:
    """Run ``skymesh ARGS`` in a child; wall time, peak RSS of it and of its own children."""
    import psutil

    cmd = [sys.executable, "-m", "skymesh.cli", *args]
    t0 = time.perf_counter()
    proc = psutil.Popen(cmd, env=env, stdout=open(os.devnull, "w"), stderr=open(os.devnull, "w"))
    peak_children = [0]
    done = threading.Event()

    def sample():
        while not done.is_set():
            try:
                total = sum(c.memory_info().rss for c in proc.children(recursive=True))
                peak_children[0] = max(peak_children[0], total)
            except psutil.Error:
                pass
            time.sleep(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    done.set()
    wall = time.perf_counter() - t0
    if status != 0:
        raise SystemExit(f"failed ({status}): {' '.join(cmd)}")
    return dict(
        wall_s=wall,
        peak_rss_mib=usage.ru_maxrss / 1024.0,
        workers_peak_rss_mib=peak_children[0] / 2**20,
    )


def main(hours: float = 24.0, step_s: float = 10.0) -> dict:
    env = dict(os.environ)
    env.setdefault("SKYMESH_DATA", str(REPO.parent / "shared" / "data"))
    OUT.mkdir(exist_ok=True)
    long_s = int(hours * 3600)
    base = [
        "run",
        "starlink-100-cities-24h",
        "--force",
        "--yes",  # long by design: no question
        "--set",
        f"time.step_s={step_s}",
    ]
    steps_long = long_s // int(step_s) + 1
    results = {}
    results["1h_sync"] = _run(
        base + ["--set", "time.duration_s=3600", "--out", str(OUT / "scale-1h")], env
    )
    results["long_sync"] = _run(
        base + ["--set", f"time.duration_s={long_s}", "--out", str(OUT / "scale-long-1w")], env
    )
    results["long_2_workers"] = _run(
        base
        + [
            "--set",
            f"time.duration_s={long_s}",
            "--scheduler",
            "processes",
            "--workers",
            "2",
            "--out",
            str(OUT / "scale-long-2w"),
        ],
        env,
    )
    summary = json.loads((OUT / "scale-long-1w" / "summary.json").read_text())
    same = all(
        (OUT / "scale-long-1w" / f).read_bytes() == (OUT / "scale-long-2w" / f).read_bytes()
        for f in ("pairs.parquet",)
    )
    one = steps_long / results["long_sync"]["wall_s"]
    two = steps_long / results["long_2_workers"]["wall_s"]
    rss_1h = results["1h_sync"]["peak_rss_mib"]
    rss_long = results["long_sync"]["peak_rss_mib"]
    figures = dict(
        workload=(
            f"starlink-100-cities-24h: {summary['satellites']:,} satellites, "
            f"{summary['ground_points']} cities ({summary['pairs']:,} pairs), "
            f"{hours:g} h at {step_s:g} s = {steps_long:,} routing states"
        ),
        steps_per_s_1_worker=one,
        steps_per_s_2_workers=two,
        scaling_ratio=two / one,
        wall_s_1_worker=results["long_sync"]["wall_s"],
        wall_s_2_workers=results["long_2_workers"]["wall_s"],
        peak_rss_mib_1h=rss_1h,
        peak_rss_mib_long=rss_long,
        rss_long_over_1h=rss_long / rss_1h,
        peak_rss_mib_2_workers_total=results["long_2_workers"]["workers_peak_rss_mib"],
        results_identical_1_vs_2_workers=same,
        space_rtt_ms=summary["space_rtt_ms"],
        fstate_changes_per_step=summary["fstate_changes_per_step"],
        raw=results,
    )
    print(f"Scale benchmark: {figures['workload']}")
    print(f"  1 worker  : {one:8.2f} steps/s ({figures['wall_s_1_worker']:.0f} s)")
    print(
        f"  2 workers : {two:8.2f} steps/s ({figures['wall_s_2_workers']:.0f} s); "
        f"scaling {two / one:.2f}x; results identical: {same}"
    )
    print(
        f"  peak RSS  : 1 h {rss_1h:.0f} MiB, {hours:g} h {rss_long:.0f} MiB "
        f"(ratio {rss_long / rss_1h:.3f}; target < 1.20); 2-worker processes peak "
        f"{figures['peak_rss_mib_2_workers_total']:.0f} MiB"
    )
    (OUT / "scale.json").write_text(json.dumps(figures, indent=1, default=str) + "\n")
    return figures


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=24.0, help="length of the long runs (h)")
    ap.add_argument("--step", type=float, default=10.0, help="time step (s)")
    a = ap.parse_args()
    main(a.hours, a.step)
