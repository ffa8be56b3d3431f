"""``skymesh packets``: TCP, UDP and ping flows in ns-3 over SkyMesh's time-varying network.

``skymesh packets SCENARIO`` takes the scenario's constellation, ground points (terminals;
gateways as relays outside ``isl`` mode) and window; ``skymesh packets A B -c NAME`` builds
the network between two places (plus, with ``--cities N``, the N most populous places as
ground points, as Hypatia's experiments do with their 100 cities). Flows are ``--flow`` texts
(:func:`skymesh.packets.flows.parse_flow`); without one, a TCP bulk flow from the first ground
point to the second for the whole window.

Before any work the command checks everything the user typed (places, scenario, flows,
numbers, the results folder, that ns-3 is installed) and estimates the job (the network's
steps x satellites x ground points, packets, memory, time): one the machine cannot hold is
refused, a long one needs ``--yes``. While it runs, a progress bar in steps (the network) and
then in simulated seconds (ns-3) shows on a terminal. The results folder (``--out``) holds the
engine's tables as Parquet (``flows``, ``goodput``, ``rtt``, ``cwnd``, ``events``, ``path``,
``stats``), ``figures/``, ``report.md``, ``summary.json`` and ``run.json``; it is written
under a temporary name beside ``--out`` and renamed into place when complete, and an existing
folder is replaced only with ``--force`` and only if SkyMesh made it (its ``run.json``).
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import tempfile
from pathlib import Path
from typing import Any, Optional

import typer

from skymesh.cli.common import (
    _FORCE_EPOCH,
    _default_start,
    _elevation_mask,
    _far_epoch,
    _finite_positive,
    _metric_table,
    _notes,
    _print_json,
    _print_table,
    app,
    console,
    err_console,
)
from skymesh.errors import SkyMeshError

TABLES = ("flows", "goodput", "rtt", "cwnd", "events", "path", "stats")
"""The engine's tables, each written as ``NAME.parquet`` in the results folder."""
CONGESTION_CONTROLS = ("newreno", "cubic", "bbr")

NS3_IMPORT_S = 13.0
"""Loading ns-3's Python bindings once per process (s; measured 12-14 s, issue 14)."""
NS3_BASE_MEMORY_BYTES = 900 * 2**20
"""Peak resident memory of a small packet run (bytes): ns-3 and cppyy loaded, a few nodes,
seconds of traffic (measured 890-1,040 MB; benchmarks/bench_packets.py, 2026-12)."""
PACKET_MEMORY_BYTES = 2048.0
"""Peak memory per packet the flows send (bytes), an empirical fit: 1.18 GB for one TCP flow
(0.23 M packets) and 5.4 GB for ten (2.3 M packets) on the 200 s benchmark runs. Much of it
grows with the network rather than the traffic (the ten-flow network has 1,604 nodes and
3,578 links against 53 and 88, each with a schedule of per-step changes), which the estimate
cannot know before the paths are routed; it is right to a factor of two on those runs."""
PACKET_HOP_S = 1.8e-5
"""ns-3 wall time per packet per link crossed (s), with SkyMesh's per-step delay, rate and
forwarding updates: 2.98 M link transmissions in 54 s of event loop for TCP over Kuiper K1 at
100 ms steps (benchmarks/bench_packets.py on 2 shared cores, 2026-12; a static network runs
about 3x faster)."""
ENGINE_FIXED_S = 10.0
"""Engine set-up and read-out besides the event loop (s; 4-10 s measured)."""
PACKET_BYTES = 1500.0
"""A full-size IP packet (bytes): TCP segments and UDP datagrams at the 1,500 B MTU."""
ACKS_PER_SEGMENT = 1.0
"""Pure ACKs per data segment, counted as packets (an upper value: ns-3 delays ACKs to one
per two segments by default)."""
HOPS_GUESS = 15
"""Links a packet crosses on a typical intercontinental path (2 ground links + ISLs; 15.4 on
average for Rio de Janeiro -> Saint Petersburg over Kuiper K1); the estimate is made before
the paths are known."""
GSL_RATE_GUESS_BPS = 1.0e9
"""A ground link's rate (bit/s) for the estimate when no --gsl-mbps is given: the order of
the Ku user-downlink budget's capacity on one 240 MHz channel (~1 Gbit/s near zenith)."""
NETWORK_S_PER_SAT_STEP = 1.1e-5
"""Building the network, per satellite and step (two passes: routing, then delays and rates):
38.7 s for 2,001 steps over shell 1's 1,584 satellites with 2 destinations, 67 s with 20
(benchmarks/bench_packets.py), i.e. ~17 ms per step plus ..."""
NETWORK_S_PER_SAT_DEST_STEP = 5.0e-7
"""... ~0.8 ms per destination and step (shell 1), per satellite."""


def _check_ns3() -> None:
    """Before any work: ns-3's Python package can be found (it is not imported here: ~13 s)."""
    from skymesh.packets.ns3 import INSTALL_HINT, available

    if not available():
        raise SkyMeshError(INSTALL_HINT)


def _check_folder(out: Path, force: bool) -> None:
    """Before any work: ``out`` may be written (an existing folder needs --force, and must
    be one SkyMesh made: the same rule as ``skymesh run``)."""
    from skymesh.files import check_out_folder
    from skymesh.sim.run import check_replaceable

    check_out_folder(out)
    if out.exists() and any(out.iterdir()):
        if not force:
            raise SkyMeshError(f"{out}: results folder exists; pass --force to replace it")
        check_replaceable(out)


def _flows(texts: list[str], cc: str, names: list[str], window_s: float):
    """The run's flows (parsed, ends resolved to ground-point indices) and their pairs."""
    if cc not in CONGESTION_CONTROLS:
        raise SkyMeshError(
            f"--cc: unknown congestion control '{cc}'; use {', '.join(CONGESTION_CONTROLS)}"
        )
    import dataclasses

    from skymesh.errors import InputError
    from skymesh.packets.flows import endpoint_index, parse_flow

    if not texts:
        if len(names) < 2:
            raise SkyMeshError("need two ground points for the default flow; give --flow")
        texts = [f"tcp:{cc}:{names[0]}->{names[1]}"]
    flows, pairs = [], []
    for text in texts:
        try:
            f = parse_flow(text)
            a, b = endpoint_index(names, f.src), endpoint_index(names, f.dst)
        except InputError as err:
            raise SkyMeshError(f"--flow: {err.message}") from None
        if a == b:
            raise SkyMeshError(f"--flow '{text}': source and destination are the same place")
        f = dataclasses.replace(f, src=a, dst=b)
        stop = f.stop_s if f.stop_s is not None and math.isfinite(f.stop_s) else window_s
        if f.start_s >= window_s or stop > window_s + 1e-9:
            raise SkyMeshError(
                f"--flow '{text}': runs {f.start_s:g}-{stop:g} s, outside the "
                f"{window_s:g} s window (--duration)"
            )
        flows.append(f)
        pairs.append((a, b))
    return flows, pairs


def _rate_bps(f, isl_bps: Optional[float], gsl_bps: Optional[float]) -> float:
    """The most a flow may send (bit/s), for the estimate."""
    cap = min(isl_bps or math.inf, gsl_bps or GSL_RATE_GUESS_BPS)
    if f.kind == "udp":
        return min(float(f.rate_mbps or 0.0) * 1e6, cap)
    if f.kind == "ping":
        return 8.0 * 64.0 / max(float(f.interval_s or 1.0), 1e-6)
    return cap


def estimate_packets(
    flows,
    window_s: float,
    steps: int,
    n_sats: int,
    n_ground: int,
    *,
    isl_bps: Optional[float],
    gsl_bps: Optional[float],
    what: str,
):
    """Cost of a packet run (a :class:`skymesh.sim.estimate.JobEstimate`).

    Time: loading ns-3, building the network (two passes over the steps, one Dijkstra per
    destination), the engine's set-up, and the packets: each flow at the most it may send
    (a TCP flow at the slowest link rate, data and ACKs) over its active time, times
    :data:`HOPS_GUESS` links, at :data:`PACKET_HOP_S` per packet-hop. Memory: ns-3 itself,
    the traces per packet, positions of a chunk, the per-step forwarding tables and link
    arrays. The constants were measured on the development machine and are meant to be
    right to a factor of about two, like :mod:`skymesh.sim.estimate`'s.
    """
    from skymesh.network.over_time import chunk_steps_for
    from skymesh.sim.estimate import JobEstimate

    packets = 0.0
    for f in flows:
        stop = f.stop_s if f.stop_s is not None and math.isfinite(f.stop_s) else window_s
        active = max(0.0, min(stop, window_s) - f.start_s)
        per_s = _rate_bps(f, isl_bps, gsl_bps) / (8.0 * PACKET_BYTES)
        packets += per_s * active * (1.0 + (ACKS_PER_SEGMENT if f.kind == "tcp" else 1.0))
    dests = min(n_ground, 2 * len(flows))
    seconds = (
        NS3_IMPORT_S
        + ENGINE_FIXED_S
        + (NETWORK_S_PER_SAT_STEP + NETWORK_S_PER_SAT_DEST_STEP * max(dests, 1)) * steps * n_sats
        + PACKET_HOP_S * packets * HOPS_GUESS
    )
    chunk = chunk_steps_for(n_sats, steps)
    memory = (
        NS3_BASE_MEMORY_BYTES
        + PACKET_MEMORY_BYTES * packets
        + 24.0 * chunk * n_sats
        + 2.0 * steps * (n_sats + n_ground) * max(dests, 1)
        + 3 * 8.0 * steps * 4 * HOPS_GUESS * len(flows)
    )
    est = JobEstimate(what, steps, n_sats, n_ground, memory, 0.0, seconds)
    return est, packets


def _write_folder(out: Path, tables: dict, run: dict, summary: dict, meta: dict, notes) -> None:
    """Write the results folder next to ``out``, then rename it into place (see the module)."""
    import pyarrow.parquet as pq

    from skymesh.files import atomic_path, folder_lock, write_error, write_text_atomic
    from skymesh.packets.plots import packet_figures
    from skymesh.packets.report import write_packets_report

    out = Path(out)
    with folder_lock(out):
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            work = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.tmp-"))
        except OSError as exc:
            raise write_error(out, exc) from None
        try:
            for name in TABLES:
                if name in tables:
                    with atomic_path(work / f"{name}.parquet") as tmp:
                        pq.write_table(tables[name], tmp, compression="zstd")
            notes = list(notes)
            try:
                figures = packet_figures(tables, work / "figures")
            except Exception as exc:  # a figure must never lose a finished run's numbers
                figures = []
                notes.append(f"figures not drawn: {exc}")
            summary["figures"] = [f"figures/{p.name}" for p in figures]
            summary["notes"] = notes
            write_packets_report(work, tables, meta, figures=figures, notes=notes)
            from skymesh.report.tables import jsonable

            write_text_atomic(work / "summary.json", json.dumps(jsonable(summary), indent=1))
            write_text_atomic(work / "run.json", json.dumps(jsonable(run), indent=1))
            old = None
            if out.exists():
                old = out.parent / f".{out.name}.old-{work.name[-8:]}"
                out.rename(old)
            work.rename(out)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        except OSError as exc:
            shutil.rmtree(work, ignore_errors=True)
            raise write_error(out, exc) from None
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise


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
        "Default: one TCP flow from the first ground point to the second.",
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
        "view, shortest path every step (Hypatia's model) [default: a scenario's [access], "
        "else operator].",
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
    from skymesh.network.over_time import GroundPoints
    from skymesh.sim.estimate import n_steps
    from skymesh.timebase import time_grid

    if len(where) > 2:
        raise SkyMeshError(
            f"expected a scenario or two places, got {len(where)} arguments "
            f"({', '.join(where)}); quote a place with spaces"
        )
    from skymesh.packets.network import SERVING_POLICIES

    if serving is not None and serving != "shortest" and serving not in SERVING_POLICIES:
        raise SkyMeshError(
            f"--serving: unknown policy '{serving}'; use shortest, {', '.join(SERVING_POLICIES)}"
        )
    if tcp_profile not in ("ns3", "hypatia"):
        raise SkyMeshError(f"--tcp-profile: unknown profile '{tcp_profile}'; use ns3 or hypatia")
    notes: list[str] = []
    relays = None
    isl_pairs = None
    mode = "isl"
    max_gsl_range_km = None
    from skymesh.sim.scenario import builtin_names

    one_place = (
        len(where) == 1
        and bool(pop)
        and where[0] not in builtin_names()
        and not where[0].endswith(".toml")
        and not Path(where[0]).is_file()
    )
    if len(where) == 1 and not one_place:  # a scenario
        if constellation is not None or cities or min_elevation is not None:
            raise SkyMeshError(
                "--constellation, --cities and --min-elevation go with two places; "
                "a scenario sets its own"
            )
        from skymesh.sim.scenario import load_scenario

        loaded = load_scenario(where[0])
        s = loaded.scenario
        name = s.name
        duration = s.time.duration_s if duration is None else duration
        step = s.time.step_s if step is None else step
        seed_source = loaded.sha256
        if serving is None:  # the scenario's access layer, as far as packets can hold it
            acc = s.access
            if acc.model == "propagation":
                serving = "shortest"
            elif acc.serving in SERVING_POLICIES:
                serving = acc.serving
            else:
                serving = "operator"
                notes.append(
                    f"the scenario's serving policy '{acc.serving}' needs the exit delays; "
                    "user links held under 'operator' instead"
                )
    else:
        loaded = None
        name = "-".join(w.split(",")[0].strip().lower().replace(" ", "-") for w in where)
        duration = 200.0 if duration is None else duration
        step = 1.0 if step is None else step
        seed_source = None
    serving = serving or "operator"
    assert duration is not None and step is not None  # defaults filled above
    out = out or Path("results") / f"packets-{name}"
    _check_folder(out, force)
    _check_ns3()
    isl_bps = None if isl_mbps is None else isl_mbps * 1e6
    gsl_bps = None if gsl_mbps is None else gsl_mbps * 1e6
    steps = n_steps(duration, step)

    if loaded is not None:  # the scenario's arrays: constellation, ground points, window
        from skymesh.sim.prepare import prepare

        with err_console.status(f"preparing {name}...", spinner="dots"):
            prep = prepare(loaded)
        op = prep.operators[0]
        const = op.constellation
        isl_pairs = op.isl_pairs
        mode = loaded.scenario.routing.mode
        min_elevation = loaded.scenario.routing.min_elevation_deg
        max_gsl_range_km = loaded.scenario.routing.max_gsl_range_km
        names = [str(n) for n in prep.terminal_name]
        eps = GroundPoints.of(names, prep.terminal_lat, prep.terminal_lon)
        if mode != "isl" and len(prep.gateway_name):
            relays = GroundPoints.of(prep.gateway_name, prep.gateway_lat, prep.gateway_lon)
        start_time = prep.grid.start if start is None else _default_start(const, start)
        notes += list(prep.notes)
    else:
        from skymesh.ground.places import largest_places, resolve_place
        from skymesh.orbits.presets import load_constellation

        const = load_constellation(constellation or "starlink-shell1", report=notes)
        _far_epoch(const, force_epoch)
        places = [resolve_place(w) for w in where]
        names = [p.name for p in places]
        if len(names) > 1 and names[0] == names[1]:
            raise SkyMeshError(f"{where[0]} and {where[1]} are the same place")
        lats = [p.lat_deg for p in places]
        lons = [p.lon_deg for p in places]
        if cities:
            c_name, c_lat, c_lon, *_ = largest_places(cities)
            for n_, la, lo in zip(c_name, c_lat, c_lon):
                if str(n_) not in names:
                    names.append(str(n_))
                    lats.append(float(la))
                    lons.append(float(lo))
            notes.append(f"{len(names) - len(where)} of the {cities} most populous places added")
        eps = GroundPoints.of(names, lats, lons)
        start_time = _default_start(const, start)
        notes += [n for n in (p.note for p in places) if n]
        if min_elevation is None:
            min_elevation = 25.0
    sites: list = []
    gw_of: list[int] = []
    if pop:  # each PoP's gateway joins the ground points; the PoP itself after the network
        from skymesh.errors import InputError
        from skymesh.packets.network import pop_site

        try:
            sites = [pop_site(p, gateways_file=gateways) for p in pop]
        except InputError as err:
            raise SkyMeshError(f"--pop: {err.message}") from None
        if len({s_.name for s_ in sites}) < len(sites):
            raise SkyMeshError("--pop: a PoP is named twice")
        from skymesh.ground.sites import sites_file

        notes.append(f"PoPs and gateways: {sites_file(gateways).describe()}")
        names = list(names)
        g_lat, g_lon = list(eps.lat_deg), list(eps.lon_deg)
        for s_ in sites:
            gw_name = f"gateway {s_.gateway}"
            if gw_name not in names:
                names.append(gw_name)
                g_lat.append(s_.gateway_lat_deg)
                g_lon.append(s_.gateway_lon_deg)
            gw_of.append(names.index(gw_name))
            notes.append(
                f"PoP {s_.name}: through gateway {s_.gateway}, fibre "
                f"{2e3 * s_.fibre_one_way_s:.1f} ms round trip, {s_.rate_bps / 1e9:g} Gbit/s"
            )
        eps = GroundPoints.of(names, g_lat, g_lon)
        if not flow:
            flow = [f"tcp:{cc}:{names[0]}->{sites[0].name}"]
    n_ground = len(names)
    flows, pairs = _flows(flow, cc, names + [s_.name for s_ in sites], duration)
    # the network's pairs end at the PoPs' gateways; with_pop adds the PoPs behind them
    net_pairs = [tuple(gw_of[e - n_ground] if e >= n_ground else e for e in pr) for pr in pairs]
    est, n_packets = estimate_packets(
        flows,
        duration,
        steps,
        len(const),
        len(eps),
        isl_bps=isl_bps,
        gsl_bps=gsl_bps,
        what=f"packets {name}",
    )
    gate(
        est,
        yes=yes,
        out=out,
        hint="use a shorter --duration, a coarser --step, fewer flows or slower links "
        "(--isl-mbps, --gsl-mbps)",
    )
    grid = time_grid(start_time, duration, step)
    from skymesh.packets.network import packet_network

    uniq = sorted(set(net_pairs))
    with _Bar(not json_out, steps, duration) as bar:
        net = packet_network(
            const,
            grid,
            eps,
            uniq,
            mode=mode,
            isl_pairs=isl_pairs,
            relays=relays,
            min_elevation_deg=float(min_elevation),
            max_gsl_range_km=max_gsl_range_km,
            isl_rate_bps=isl_bps,
            gsl_rate_bps=gsl_bps,
            serving=None if serving == "shortest" else serving,
            progress=bar.network,
        )
        if sites:
            from skymesh.packets.network import with_pop

            for s_, gw in zip(sites, gw_of):
                net = with_pop(net, s_, gw)
        bar.start_ns3()
        from skymesh.packets.engine import QUEUE_PKTS, simulate

        tables = simulate(
            net,
            flows,
            duration_s=duration,
            seed=seed,
            progress=bar.simulated,
            sample_s=sample,
            queue_pkts=queue or QUEUE_PKTS,
            tcp_profile=tcp_profile,
        )
    from skymesh import __version__
    from skymesh.packets.report import summarize

    params = dict(
        where=where,
        constellation=const.name,
        start_utc=grid.start.isoformat(),
        duration_s=duration,
        step_s=step,
        flows=flow,
        cc=cc,
        cities=cities,
        isl_mbps=isl_mbps,
        gsl_mbps=gsl_mbps,
        queue_packets=queue,
        tcp_profile=tcp_profile,
        min_elevation_deg=min_elevation,
        sample_s=sample,
        seed=seed,
        pops=list(pop),
        gateways=None if gateways is None else str(gateways),
        serving=serving,
    )
    digest = seed_source or hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()
    run = dict(
        skymesh_version=__version__,
        command="packets",
        scenario=name,
        scenario_sha256=digest,
        seed=seed,
        parameters=params,
        estimate=dict(seconds=est.seconds, memory_bytes=est.memory_bytes, packets=n_packets),
        finished=True,
    )
    meta = dict(
        title=" -> ".join(where) if loaded is None else name,
        constellation=const.name,
        start_utc=grid.start.isoformat(),
        duration_s=duration,
        step_s=step,
        satellites=len(const),
        ground_points=len(eps),
        isl_rate_mbps=isl_mbps,
        gsl_rate_mbps=gsl_mbps,
        queue_packets=queue or QUEUE_PKTS,
        tcp_profile=tcp_profile,
        seed=seed,
        rate_source=getattr(net, "rate_source", None),
    )
    summary = summarize(tables, meta)
    _write_folder(out, tables, run, summary, meta, notes)
    if json_out:
        return _print_json(dict(summary, results=str(out)))
    _notes(notes, False)
    _summary(summary)
    console.print(f"results in {out}/ (Parquet tables, figures/, report.md, summary.json)")


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
