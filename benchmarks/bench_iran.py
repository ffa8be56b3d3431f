"""Service-policy benchmark: the built-in iran-2022 scenario, as a user runs it.

Issue: "iran-2022 with 1,000 terminals over 1 hour at 1 s steps on starlink-gen1:
wall time, steps per second, peak memory."

Runs ``skymesh run iran-2022`` (1,000 terminals placed by population in Iran,
3,601 steps, every step routed twice: with ISLs and bent-pipe) in a child process
and reads its peak RSS from the kernel. Prints the figures and writes
``bench-out/iran.json``. ``--workers 2`` also times the same run on two Dask
worker processes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench-out"


def run(extra: list[str], out: Path) -> dict:
    import subprocess

    env = dict(os.environ)
    env.setdefault("SKYMESH_DATA", str(REPO.parent / "shared" / "data"))
    cmd = [
        sys.executable,
        "-m",
        "skymesh.cli",
        "run",
        "iran-2022",
        "--force",
        "--out",
        str(out),
        *extra,
    ]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if status != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr.read().decode()}")
    return dict(wall_s=wall, peak_rss_mib=usage.ru_maxrss / 1024.0)


def estimate_s(scheduler: str = "sync", workers: int | None = None) -> float:
    """The time (s) ``skymesh run iran-2022`` announces before it starts (the same
    estimator its --yes gate uses), to compare with the measured wall time."""
    from skymesh.sim.estimate import estimate_run
    from skymesh.sim.scenario import load_scenario

    return estimate_run(load_scenario("iran-2022"), scheduler=scheduler, workers=workers).seconds


def main(workers: int = 1) -> dict:
    OUT.mkdir(exist_ok=True)
    est = estimate_s()
    res = run([], OUT / "iran-2022")
    summary = json.loads((OUT / "iran-2022" / "summary.json").read_text())
    steps = summary["steps"]
    op = summary["operators"][0]
    figures = dict(
        workload=f"iran-2022: {summary['terminals']:,} terminals, {steps:,} steps "
        f"of {summary['step_s']:g} s on starlink-gen1 (4,408 satellites), "
        "ISL and bent-pipe routing every step",
        wall_s=res["wall_s"],
        steps_per_s=steps / res["wall_s"],
        terminal_steps_per_s=steps * summary["terminals"] / res["wall_s"],
        peak_rss_mib=res["peak_rss_mib"],
        estimate_s=est,
        estimate_over_measured=est / res["wall_s"],
        service_share=op["service_share"],
        rtt_ms=op["rtt_ms"],
        exits_in_censoring_country=op["exits_inside_censoring_country"],
    )
    print(f"iran-2022 benchmark: {figures['workload']}")
    print(
        f"  wall {res['wall_s']:.1f} s, {figures['steps_per_s']:.1f} steps/s "
        f"({figures['terminal_steps_per_s']:,.0f} terminal-steps/s), peak RSS "
        f"{res['peak_rss_mib']:.0f} MiB"
    )
    print(f"  estimate {est:.1f} s: {est / res['wall_s']:.2f}x the measured wall (goal 0.5-2)")
    if workers > 1:
        est2 = estimate_s("processes", workers)
        res2 = run(["--scheduler", "processes", "--workers", str(workers)], OUT / "iran-2022-dask")
        figures["dask"] = dict(
            workers=workers,
            wall_s=res2["wall_s"],
            steps_per_s=steps / res2["wall_s"],
            estimate_s=est2,
            estimate_over_measured=est2 / res2["wall_s"],
        )
        print(
            f"  {workers} Dask workers: wall {res2['wall_s']:.1f} s, "
            f"{steps / res2['wall_s']:.1f} steps/s; estimate {est2:.1f} s, "
            f"{est2 / res2['wall_s']:.2f}x the measured wall"
        )
    (OUT / "iran.json").write_text(json.dumps(figures, indent=1) + "\n")
    return figures


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=1)
    main(ap.parse_args().workers)
