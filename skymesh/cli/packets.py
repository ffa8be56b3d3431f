"""``skymesh packets``: TCP, UDP and ping flows in ns-3 over SkyMesh's time-varying network.

The command parses its flags, plans the run (:func:`skymesh.packets.run.plan_packets`: every
check before any work, the set-up and the job's estimate), asks ``--yes`` for a long job
(:func:`skymesh.cli.jobs.gate`), runs it (:func:`skymesh.packets.run.run_packets`: network,
ns-3, results folder) and prints the summary. While it runs, a progress bar in steps (the
network) and then in simulated seconds (ns-3) shows on a terminal.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from skymesh.cli.common import (
    _FORCE_EPOCH,
    _elevation_mask,
    _finite_positive,
    _metric_table,
    _notes,
    _print_json,
    _print_table,
    app,
    console,
    err_console,
)


class _Bar:
    """Progress on stderr: the network in steps, then ns-3 in simulated seconds (rich, on a
    terminal; one plain line per phase otherwise)."""

    def __init__(self, enabled: bool, steps: int, sim_s: float):
        import sys

        self.enabled, self.steps, self.sim_s = enabled, steps, sim_s
        self.tty = sys.stderr.isatty()
        self._bar: Any = None
        self._net: Any = None
        self._sim: Any = None
        self._done = 0

    def __enter__(self):
        if self.enabled and self.tty:
            from rich.progress import (
                BarColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.completed:,.1f}/{task.total:,.1f} {task.fields[unit]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=err_console,
                transient=True,
            )
            self._bar.__enter__()
            self._net = self._bar.add_task("network", total=2 * max(self.steps, 1), unit="steps")
        return self

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.__exit__(*exc)
        return False

    def network(self, n: int) -> None:
        self._done += n
        if self._bar is not None:
            self._bar.update(self._net, completed=self._done)

    def start_ns3(self) -> None:
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(self._net, visible=False)
            self._sim = self._bar.add_task("ns-3 (loading)", total=self.sim_s, unit="simulated s")
        else:
            err_console.print(
                f"packets: network built; ns-3 simulates {self.sim_s:g} s",
                markup=False,
                highlight=False,
            )

    def simulated(self, sim_s: float) -> None:
        if self._bar is not None and self._sim is not None:
            self._bar.update(self._sim, completed=float(sim_s), description="ns-3")


@app.command("packets")
def packets_cmd(
    where: list[str] = typer.Argument(
        ...,
        metavar="SCENARIO | A B",
        help="A scenario (.toml or built-in name), or two places (name or 'lat,lon').",
    ),
    constellation: Optional[str] = typer.Option(
        None,
        "--constellation",
        "-c",
        help="Preset or TLE file, with two places [default: starlink-shell1].",
    ),
    flow: list[str] = typer.Option(
        [],
        "--flow",
        help="A flow, e.g. 'tcp:cubic:Paris->Luanda', 'udp:20:Paris->Luanda', "
        "'ping:0.1:Paris->Luanda' (repeatable; see skymesh.packets.flows). "
        "Default: one TCP flow from the first ground point to the second. In a scenario "
        "a flow runs between a terminal and its PoP, 'ping:0.1:IR-0->IR-0 PoP', on the "
        "run's own paths, policy and access delays.",
    ),
    cc: str = typer.Option(
        "newreno", "--cc", help="Congestion control of the default TCP flow: newreno, cubic, bbr."
    ),
    start: Optional[str] = typer.Option(
        None,
        "--start",
        help="UTC start, ISO 8601 [default: the scenario's start, or the element epoch].",
    ),
    duration: Optional[float] = typer.Option(
        None,
        "--duration",
        callback=_finite_positive,
        help="Simulated window (s) [default: the scenario's, or 200].",
    ),
    step: Optional[float] = typer.Option(
        None,
        "--step",
        callback=_finite_positive,
        help="Network update step (s): delays and forwarding change every step "
        "[default: the scenario's, or 1].",
    ),
    cities: int = typer.Option(
        0,
        "--cities",
        min=0,
        help="With two places: also put the N most populous places in the network "
        "(Hypatia uses 100).",
    ),
    isl_mbps: Optional[float] = typer.Option(
        None,
        "--isl-mbps",
        callback=_finite_positive,
        help="One data rate for every ISL (Mbit/s) [default: 100,000, the optical ISL].",
    ),
    gsl_mbps: Optional[float] = typer.Option(
        None,
        "--gsl-mbps",
        callback=_finite_positive,
        help="One data rate for every ground link (Mbit/s) [default: the Ku link budget's].",
    ),
    queue: Optional[int] = typer.Option(
        None,
        "--queue",
        min=1,
        help="DropTail queue of every link device (packets) [default: 100, Hypatia's].",
    ),
    tcp_profile: str = typer.Option(
        "ns3",
        "--tcp-profile",
        help="TCP settings: ns3 (ns-3's defaults) or hypatia (Hypatia's basic-sim: 1,380 B "
        "segments, timers from the worst-case RTT; see skymesh.packets.engine).",
    ),
    min_elevation: Optional[float] = typer.Option(
        None,
        "--min-elevation",
        callback=_elevation_mask,
        help="Elevation mask (deg), with two places [default: 25].",
    ),
    sample: float = typer.Option(
        0.1,
        "--sample",
        callback=_finite_positive,
        help="Bin of the goodput series and sampling of the cwnd and RTT traces (s).",
    ),
    seed: int = typer.Option(0, "--seed", help="ns-3's random seed."),
    serving: Optional[str] = typer.Option(
        None,
        "--serving",
        help="Each ground point's user link: held per 15 s slot under this policy of the "
        "access model (operator, highest-elevation), or 'shortest': every satellite in "
        "view, shortest path every step (Hypatia's model) [default: operator; a scenario's "
        "[access] sets its own].",
    ),
    gateways: Optional[Path] = typer.Option(
        None,
        "--gateways",
        help="Gateway list with PoP rows for --pop (.csv or .toml) [default: the gateway + "
        "PoP list shipped with SkyMesh, or a newer one from `skymesh data update`].",
    ),
    pop: list[str] = typer.Option(
        [],
        "--pop",
        help="A PoP of the gateway list (e.g. 'Frankfurt, Germany') as a "
        "flow end, behind its nearest homed gateway and the fibre to it (repeatable). With "
        "--pop one place is enough; the default flow is then the first place -> the PoP.",
    ),
    out: Optional[Path] = typer.Option(
        None, "--out", help="Results folder [default: results/packets-NAME]."
    ),
    force: bool = typer.Option(False, "--force", help="Replace an existing results folder."),
    yes: bool = typer.Option(
        False, "--yes", "-y", help="Start a job estimated to take long without asking."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    force_epoch: bool = _FORCE_EPOCH,
):
    """TCP, UDP and ping flows in ns-3 over SkyMesh's network: goodput, RTT, cwnd, losses.

    Link delays and forwarding follow SkyMesh's geometry and routing state, updated every
    --step. The job's cost (network steps x satellites x ground points, packets, memory,
    time) is estimated before any work: one the machine cannot hold is refused, a long one
    needs --yes. Results: Parquet tables, figures/, report.md (see --out).
    """
    from skymesh.cli.jobs import gate
    from skymesh.packets.run import plan_packets, run_packets

    plan = plan_packets(
        where,
        constellation=constellation,
        flows=flow,
        cc=cc,
        start=start,
        duration_s=duration,
        step_s=step,
        cities=cities,
        isl_mbps=isl_mbps,
        gsl_mbps=gsl_mbps,
        queue_pkts=queue,
        tcp_profile=tcp_profile,
        min_elevation_deg=min_elevation,
        sample_s=sample,
        seed=seed,
        serving=serving,
        gateways=gateways,
        pops=pop,
        out=out,
        force=force,
        force_epoch=force_epoch,
        status=lambda text: err_console.status(text, spinner="dots"),
    )
    gate(
        plan.estimate,
        yes=yes,
        out=plan.out,
        hint="use a shorter --duration, a coarser --step, fewer flows or slower links "
        "(--isl-mbps, --gsl-mbps)",
    )
    with _Bar(not json_out, plan.steps, plan.duration_s) as bar:
        summary = run_packets(
            plan,
            network_progress=bar.network,
            network_built=bar.start_ns3,
            simulated=bar.simulated,
        )
    if json_out:
        return _print_json(dict(summary, results=str(plan.out)))
    _notes(plan.notes, False)
    _summary(summary)
    console.print(f"results in {plan.out}/ (Parquet tables, figures/, report.md, summary.json)")


def _summary(summary: dict) -> None:
    """The flows table and the engine's figures, each fitting 80 columns.

    Per flow: goodput, ns-3's mean RTT (``RTT ms``: propagation, serialisation, queueing)
    and SkyMesh's mean propagation RTT of the pair's path (``path ms``); the pair is never
    cut (``| grep NAME`` finds its row)."""

    def f1(x, fmt="{:.1f}"):
        return "n/a" if x is None else fmt.format(x)

    rows = []
    for f in summary["flows"]:
        sky = f["skymesh_space_rtt_ms"]
        kind = f["cc"] if f["kind"] == "tcp" and f.get("cc") else f["kind"]
        rows.append(
            (
                str(f["flow_id"]),
                kind,
                f"{f['src']} -> {f['dst']}",
                f1(f["goodput_mbps"], "{:.2f}"),
                f1(f["ns3_mean_rtt_ms"]),
                f1(sky and sky["mean"]),
            )
        )
    _print_table(
        f"{summary.get('title', 'packets')}: {summary.get('constellation', '')}, "
        f"{summary.get('duration_s', 0):g} s",
        ("#", "flow", "pair", "Mbit/s", "RTT ms", "path ms"),
        rows,
        right=("#", "Mbit/s", "RTT ms", "path ms"),
        keep=("pair",),
    )
    flows = summary["flows"]
    e = summary.get("engine") or {}
    _metric_table(
        "ns-3 engine",
        [
            (
                "simulated s / event loop s / engine s",
                f"{f1(e.get('sim_s'))} / {f1(e.get('run_wall_s'))} / {f1(e.get('wall_s'))}",
            ),
            (
                "packets sent (link transmissions)",
                f"{e.get('packets', 0) or 0:,} ({e.get('hop_packets', 0) or 0:,})",
            ),
            ("packets per event-loop second", f1(e.get("packets_per_s"), "{:,.0f}")),
            ("peak memory (RSS)", f"{f1(e.get('peak_rss_mb'), '{:,.0f}')} MB"),
            ("lost packets, all flows", f"{sum(f['lost_packets'] for f in flows):,}"),
            ("path changes, all pairs", f"{sum(f['path_changes'] for f in flows):,}"),
        ],
    )
