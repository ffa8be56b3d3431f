"""Packet-level runs in ns-3 over SkyMesh's network: wall time, packets per second, memory
(issue 14 §4), and the comparison with Hypatia's published TCP run (issue 14 §3).

Workloads (each in a fresh Python process, so its peak memory is its own; ``ru_maxrss``):

* ``one``: starlink-shell1 (Walker, 1,584 satellites), Hypatia's 100 most populous cities as
  ground points, one TCP NewReno bulk flow Rio de Janeiro -> Saint Petersburg for 200 s,
  network updated every 100 ms (Hypatia's ``dynamic_state_update_interval_ms = 100``);
* ``ten``: the same network, 10 concurrent TCP NewReno flows between 20 of the cities
  (a seeded pairing);
* ``static`` (the baseline): ``one`` over a network frozen at its first step (no delay,
  rate or forwarding update for the whole run), so ``one / static`` is what following
  SkyMesh's time-varying network costs on top of plain ns-3.

Every link runs at 10 Mbit/s with 100-packet DropTail queues: the setup of Hypatia's
packet experiments (Kassing et al., "Exploring the 'Internet from space' with Hypatia",
IMC 2020, §5; its ``paper/ns3_experiments/a_b``: ISL and GSL 10 Mbit/s, queue 100 packets).
ISL-only routing, ground points never relay. Hypatia's scalability figures are in the
paper's "slowdown" (wall seconds per simulated second) against the aggregate goodput; this
script prints SkyMesh's in the same terms. Timings are never asserted.

``--hypatia`` also reruns the paper's own TCP experiment and draws its figure (RTT and cwnd
over 200 s, with BDP + queue): Kuiper K1 (34 x 34 at 630 km, 51.9 deg; Hypatia's GSL rule,
a maximum slant range of 1,260 km from its 30 deg satellite cone, no elevation mask), the
100 cities, TCP NewReno with Hypatia's TCP settings (``tcp_profile="hypatia"``: basic-sim's
1,380 B segments and worst-case-RTT timers) Rio de Janeiro -> Saint Petersburg (Hypatia ids
18 -> 73), and the
same over starlink-shell1 (the issue's wording); figures to ``--figures`` (default: the
``--out-dir``; the docs page's copies were made with ``--figures docs/img``).
``--quick``: 10 simulated seconds at 1 s steps and 20 cities (a smoke test).

Writes ``bench-out/packets.json``. Run: ``python benchmarks/bench_packets.py [--help]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import DEFAULT_OUT_DIR, REPO, data_file, print_table  # noqa: E402

from skymesh.packets.engine import QUEUE_PKTS  # noqa: E402
from skymesh.packets.network import HYPATIA_CITIES_FILE as CITIES_FILE  # noqa: E402
from skymesh.packets.network import HYPATIA_RATE_BPS as RATE_BPS  # noqa: E402  (10 Mbit/s)
from skymesh.packets.network import HYPATIA_STEP_S  # noqa: E402  (forwarding every 100 ms)

START = "2026-01-01T00:00:00Z"
RIO, ST_PETERSBURG = 18, 73  # Hypatia's ground-station ids (paper/ns3_experiments/README.md)
KUIPER_K1_MAX_GSL_KM = 630.0 / np.sin(np.radians(30.0))  # Hypatia's cone rule: 1,260 km
_PROFILE_NOTE = "Hypatia's TCP settings"
WORKLOADS = ("static", "one", "ten")
HYPATIA = ("hypatia-kuiper-k1", "hypatia-starlink-shell1")


def _cities(n: int):
    from skymesh.ground.places import load_hypatia_cities
    from skymesh.network.over_time import GroundPoints

    gid, name, lat, lon, _ = load_hypatia_cities(data_file(CITIES_FILE))
    keep = np.argsort(gid)[:n]
    keep = np.union1d(keep, np.flatnonzero(np.isin(gid, (RIO, ST_PETERSBURG))))
    return GroundPoints.of(name[keep], lat[keep], lon[keep]), list(gid[keep])


def _constellation(which: str):
    if which == "kuiper-k1":
        from skymesh.orbits.constellation import Shell
        from skymesh.orbits.walker import walker_constellation

        # Hypatia's kuiper_630: 34 planes x 34, half a slot between adjacent planes (F = 17)
        return walker_constellation(
            (Shell(630.0, 51.9, 34, 34, 17),), name="kuiper-k1", epoch=START
        )
    from skymesh.orbits.presets import load_constellation

    return load_constellation(which)


def worker(name: str, quick: bool, tables_dir: str | None) -> dict:
    """One workload in this process; its figures as a dict (printed as JSON by main)."""
    t0 = time.perf_counter()
    from skymesh.packets.engine import simulate
    from skymesh.packets.flows import Flow
    from skymesh.packets.network import packet_network
    from skymesh.packets.ns3 import load_ns3
    from skymesh.timebase import time_grid

    load_ns3()
    t_import = time.perf_counter() - t0
    duration = 10.0 if quick else 200.0
    step = 1.0 if quick else HYPATIA_STEP_S
    n_cities = 20 if quick else 100
    const = _constellation("kuiper-k1" if name == "hypatia-kuiper-k1" else "starlink-shell1")
    eps, gids = _cities(n_cities)
    a, b = gids.index(RIO), gids.index(ST_PETERSBURG)
    pairs = [(a, b)]
    if name == "ten":
        rng = np.random.default_rng(0)
        others = [i for i in range(len(gids)) if i not in (a, b)]
        pick = rng.choice(others, size=18, replace=False)
        ends = [a, b] + [int(x) for x in pick]
        pairs = [(ends[2 * k], ends[2 * k + 1]) for k in range(10)]
    flows = [Flow("tcp", s, d, cc="newreno") for s, d in pairs]
    grid = time_grid(START, duration, duration if name == "static" else step)
    gsl_rule = (
        dict(min_elevation_deg=0.0, max_gsl_range_km=float(KUIPER_K1_MAX_GSL_KM))
        if name == "hypatia-kuiper-k1"
        else dict(min_elevation_deg=25.0)
    )
    t1 = time.perf_counter()
    net = packet_network(
        const,
        grid,
        eps,
        pairs,
        isl_rate_bps=RATE_BPS,
        gsl_rate_bps=RATE_BPS,
        **gsl_rule,
    )
    t2 = time.perf_counter()
    profile = "hypatia" if name in HYPATIA else "ns3"
    tables = simulate(
        net, flows, duration_s=duration, seed=0, queue_pkts=QUEUE_PKTS, tcp_profile=profile
    )
    t3 = time.perf_counter()
    from skymesh.packets.estimate import estimate_packets

    # what `skymesh packets` would announce before this workload (its --yes gate's figure)
    est, _ = estimate_packets(
        flows,
        duration,
        len(grid),
        len(const),
        len(eps),
        isl_bps=RATE_BPS,
        gsl_bps=RATE_BPS,
        what=name,
    )
    stats = tables["stats"].to_pylist()[0]
    fl = tables["flows"].to_pylist()
    if tables_dir:
        import pyarrow.parquet as pq

        out = Path(tables_dir)
        out.mkdir(parents=True, exist_ok=True)
        for key, table in tables.items():
            pq.write_table(table, out / f"{key}.parquet")
    goodput = float(sum(f["goodput_mbps"] or 0.0 for f in fl))
    return dict(
        workload=name,
        tcp_profile=profile,
        constellation=const.name,
        satellites=len(const),
        ground_points=len(eps),
        flows=len(flows),
        simulated_s=duration,
        step_s=float(grid.offsets_s[1] - grid.offsets_s[0]) if len(grid) > 1 else duration,
        steps=len(grid),
        nodes=int(net.n_nodes),
        links=int(net.n_links),
        import_ns3_s=t_import,
        network_s=t2 - t1,
        simulate_s=t3 - t2,
        total_s=t3 - t0,
        estimate_s=est.seconds,
        estimate_over_measured=est.seconds / (t3 - t0),
        ns3_wall_s=stats.get("wall_s"),
        packets=stats.get("packets"),
        events=stats.get("events_processed"),
        packets_per_s=stats.get("packets_per_s"),
        slowdown=(t3 - t2) / duration,
        aggregate_goodput_mbps=goodput,
        per_flow=[
            dict(
                src=f["src"],
                dst=f["dst"],
                goodput_mbps=f["goodput_mbps"],
                ns3_mean_rtt_ms=f["ns3_mean_rtt_ms"],
                lost_packets=f["lost_packets"],
            )
            for f in fl
        ],
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    )


def _spawn(name: str, quick: bool, tables_dir: Path | None = None) -> dict:
    cmd = [sys.executable, __file__, "--worker", name] + (["--quick"] if quick else [])
    if tables_dir is not None:
        cmd += ["--tables", str(tables_dir)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    if proc.returncode != 0:
        raise SystemExit(f"workload {name} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def hypatia_figures(tables_dir: Path, fig_path: Path, title: str) -> dict:
    """The paper's two panels for flow 0 (RTT; cwnd against BDP + queue), and the numbers
    the written comparison quotes."""
    import pyarrow.parquet as pq

    from skymesh.packets.plots import hypatia_figure

    tables = {p.stem: pq.read_table(p) for p in tables_dir.glob("*.parquet")}
    hypatia_figure(tables, 0, rate_bps=RATE_BPS, queue_pkts=QUEUE_PKTS, title=title, path=fig_path)
    path = tables["path"]
    rtt = path.column("space_rtt_ms").to_numpy()
    changed = path.column("changed").to_numpy()
    ev = tables["events"]
    kinds = np.asarray(ev.column("kind").to_pylist())
    return dict(
        figure=str(fig_path),
        skymesh_space_rtt_ms=dict(min=float(np.nanmin(rtt)), max=float(np.nanmax(rtt))),
        path_changes=int(changed[1:].sum()),
        losses=int((kinds == "loss").sum()),
        retransmits=int((kinds == "retransmit").sum()),
        reorders=int((kinds == "reorder").sum()),
        flow=tables["flows"].to_pylist()[0],
    )


def main(quick: bool = False, hypatia: bool = False, figures_dir=None, out_dir=DEFAULT_OUT_DIR):
    results = {}
    for name in WORKLOADS:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        results[name] = _spawn(name, quick)
    rows = []
    for name in WORKLOADS:
        r = results[name]
        rows.append(
            [
                name,
                f"{r['flows']}",
                f"{r['steps']:,}",
                f"{r['total_s']:.1f}",
                f"{r['network_s']:.1f}",
                f"{r['simulate_s']:.1f}",
                f"{r['packets']:,}",
                f"{(r['packets'] or 0) / r['simulate_s']:,.0f}",
                f"{r['slowdown']:.2f}",
                f"{r['aggregate_goodput_mbps']:.1f}",
                f"{r['peak_rss_mb']:,.0f}",
            ]
        )
    one = results["one"]
    print_table(
        f"packets over {one['constellation']} ({one['satellites']:,} satellites, "
        f"{one['ground_points']} cities), {one['simulated_s']:g} s simulated",
        [
            "workload",
            "flows",
            "steps",
            "wall s",
            "network s",
            "ns-3 s",
            "packets",
            "packets/s",
            "slowdown",
            "goodput Mbit/s",
            "peak RSS MB",
        ],
        rows,
    )
    ratio = one["simulate_s"] / results["static"]["simulate_s"]
    results["ratio_one_over_static_ns3_s"] = ratio
    results["ratio_ten_over_one_ns3_s"] = results["ten"]["simulate_s"] / one["simulate_s"]
    print(
        f"RATIO time-varying / static network (ns-3 wall, one flow): {ratio:.2f}; "
        f"ten flows / one flow: {results['ratio_ten_over_one_ns3_s']:.2f}"
    )
    print(
        "slowdown = ns-3 wall s per simulated s (Hypatia's scalability metric, against "
        "aggregate goodput; Kassing et al. IMC 2020)"
    )
    print(
        "estimate / measured wall (goal 0.5-2): "
        + ", ".join(f"{n} {results[n]['estimate_over_measured']:.2f}" for n in WORKLOADS)
    )
    if hypatia:
        import tempfile

        figs = Path(figures_dir or out_dir or DEFAULT_OUT_DIR)
        figs.mkdir(parents=True, exist_ok=True)
        titles = {
            "hypatia-kuiper-k1": "Kuiper K1",
            "hypatia-starlink-shell1": "Starlink shell 1",
        }
        with tempfile.TemporaryDirectory() as tmp:
            for name in HYPATIA:
                print(f"running {name} ...", file=sys.stderr, flush=True)
                tdir = Path(tmp) / name
                results[name] = _spawn(name, quick, tdir)
                results[name]["comparison"] = hypatia_figures(
                    tdir,
                    figs / f"packets-{name}.png",
                    f"Rio de Janeiro -> Saint Petersburg, NewReno ({_PROFILE_NOTE}), "
                    f"{titles[name]}, {results[name]['simulated_s']:g} s",
                )
                c = results[name]["comparison"]
                print(
                    f"{name}: SkyMesh space RTT {c['skymesh_space_rtt_ms']['min']:.1f}-"
                    f"{c['skymesh_space_rtt_ms']['max']:.1f} ms, {c['path_changes']} path changes, "
                    f"goodput {c['flow']['goodput_mbps']:.2f} Mbit/s, mean RTT "
                    f"{c['flow']['ns3_mean_rtt_ms']:.1f} ms, {c['retransmits']} retransmits, "
                    f"{c['reorders']} reorders; figure {c['figure']}"
                )
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(exist_ok=True)
        (out / "packets.json").write_text(json.dumps(results, indent=1, default=str) + "\n")
        print(f"figures written to {out / 'packets.json'}")
    return results


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10 s, 1 s steps, 20 cities.")
    ap.add_argument("--hypatia", action="store_true", help="Also the Hypatia comparison.")
    ap.add_argument("--figures", default=None, help="Folder of the comparison figures.")
    ap.add_argument("--out-dir", default=str(DEFAULT_OUT_DIR))
    ap.add_argument("--worker", choices=WORKLOADS + HYPATIA, help=argparse.SUPPRESS)
    ap.add_argument("--tables", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.quick, args.tables), default=float))
    else:
        main(args.quick, args.hypatia, args.figures, args.out_dir)
