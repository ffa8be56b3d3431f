"""A whole packet run (``skymesh packets``): checks, set-up, ns-3, results folder.

Two steps, with the job's cost between them (the CLI asks ``--yes`` there):

* :func:`plan_packets` checks everything the user gave (places or scenario, flows, numbers,
  the results folder, that ns-3 is installed) and sets the run up without heavy work: the
  constellation, ground points (terminals; gateways as relays outside ``isl`` mode; each
  ``--pop``'s gateway), window, flows resolved to ground points, and the estimate
  (:func:`skymesh.packets.estimate.estimate_packets`). ``SCENARIO`` takes the scenario's
  constellation, ground points, window and access layer; two places build the network
  between them (plus, with ``cities``, the N most populous places). Without a flow, a TCP
  bulk flow from the first ground point to the second (or to the first PoP).
* :func:`run_packets` builds the network (:func:`skymesh.packets.network.packet_network`),
  adds the PoPs behind their gateways, runs ns-3 (:func:`skymesh.packets.engine.simulate`)
  and writes the results folder (:func:`write_folder`): the engine's tables as Parquet
  (:data:`TABLES`), ``figures/``, ``report.md``, ``summary.json`` and ``run.json``, under a
  temporary name beside ``out`` and renamed into place when complete. An existing folder is
  replaced only with ``force`` and only if SkyMesh made it (its ``run.json``).

Errors name the CLI flag they come from (``--flow``, ``--pop``, ``--serving`` ...).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable, ContextManager, Optional, Sequence

from skymesh.errors import SkyMeshError
from skymesh.packets.estimate import estimate_packets
from skymesh.packets.flows import CCS

TABLES = ("flows", "goodput", "rtt", "cwnd", "events", "path", "stats")
"""The engine's tables, each written as ``NAME.parquet`` in the results folder."""
CONGESTION_CONTROLS = CCS
"""The congestion controls a TCP flow may use (ns-3's TcpNewReno, TcpCubic, TcpBbr)."""
TCP_PROFILES = ("ns3", "hypatia")
"""TCP settings: ns-3's defaults, or Hypatia's basic-sim (see skymesh.packets.engine)."""
TWO_PLACES_DURATION_S = 200.0
"""The window with two places and no --duration (s)."""
TWO_PLACES_STEP_S = 1.0
"""The network step with two places and no --step (s)."""
TWO_PLACES_MIN_ELEVATION_DEG = 25.0
"""The elevation mask with two places and no --min-elevation (deg)."""


def check_ns3() -> None:
    """Before any work: ns-3's Python package can be found (it is not imported here: ~13 s)."""
    from skymesh.packets.ns3 import INSTALL_HINT, available

    if not available():
        raise SkyMeshError(INSTALL_HINT)


def check_folder(out: Path, force: bool) -> None:
    """Before any work: ``out`` may be written (an existing folder needs --force, and must
    be one SkyMesh made: the same rule as ``skymesh run``)."""
    from skymesh.files import check_out_folder
    from skymesh.sim.run import check_replaceable

    check_out_folder(out)
    if out.exists() and any(out.iterdir()):
        if not force:
            raise SkyMeshError(f"{out}: results folder exists; pass --force to replace it")
        check_replaceable(out)


def resolve_flows(texts: Sequence[str], cc: str, names: list[str], window_s: float):
    """The run's flows (parsed, ends resolved to ground-point indices) and their pairs.

    Without ``texts``, one TCP flow (congestion control ``cc``) from the first ground point to
    the second. Each flow must lie inside the window (``window_s``, s)."""
    if cc not in CONGESTION_CONTROLS:
        raise SkyMeshError(
            f"--cc: unknown congestion control '{cc}'; use {', '.join(CONGESTION_CONTROLS)}"
        )
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


@dataclasses.dataclass
class PacketPlan:
    """A checked packet run, set up but not started (:func:`plan_packets`).

    Rates in bit/s, times in s, angles in deg. ``names`` are the ground points (the PoPs'
    gateways included); ``sites`` the PoPs, each behind ground point ``gw_of[i]``; ``flows``
    have their ends resolved to indices (a PoP is ``len(names) + i``); ``net_pairs`` are the
    pairs the network routes (a PoP replaced by its gateway). ``estimate`` is the job's cost
    (:class:`skymesh.sim.estimate.JobEstimate`) and ``n_packets`` the packets it counts.
    """

    name: str
    title: str
    out: Path
    constellation: Any
    grid: Any
    duration_s: float
    step_s: float
    steps: int
    endpoints: Any
    names: list[str]
    relays: Any
    isl_pairs: Any
    mode: str
    min_elevation_deg: float
    max_gsl_range_km: Optional[float]
    serving: str
    sites: list
    gw_of: list[int]
    flows: list
    net_pairs: list
    isl_bps: Optional[float]
    gsl_bps: Optional[float]
    queue_pkts: Optional[int]
    tcp_profile: str
    sample_s: float
    seed: int
    estimate: Any
    n_packets: float
    parameters: dict
    seed_source: Optional[str]
    notes: list[str]
    prep: Any = None
    terminals: list[int] = dataclasses.field(default_factory=list)


def plan_packets(
    where: Sequence[str],
    *,
    constellation: Optional[str] = None,
    flows: Sequence[str] = (),
    cc: str = "newreno",
    start: Optional[str] = None,
    duration_s: Optional[float] = None,
    step_s: Optional[float] = None,
    cities: int = 0,
    isl_mbps: Optional[float] = None,
    gsl_mbps: Optional[float] = None,
    queue_pkts: Optional[int] = None,
    tcp_profile: str = "ns3",
    min_elevation_deg: Optional[float] = None,
    sample_s: float = 0.1,
    seed: int = 0,
    serving: Optional[str] = None,
    gateways: Optional[Path] = None,
    pops: Sequence[str] = (),
    out: Optional[Path] = None,
    force: bool = False,
    force_epoch: bool = False,
    status: Optional[Callable[[str], ContextManager]] = None,
) -> PacketPlan:
    """Check a packet run and set it up, before any heavy work (see the module).

    ``where`` is a scenario (file or built-in name) or one or two places (one with ``pops``);
    the other arguments are the ``skymesh packets`` flags of the same names (``queue_pkts``:
    ``--queue``; ``flows``: ``--flow``; ``pops``: ``--pop``; ``force_epoch``: ``--force-epoch``,
    a TLE set propagated past the epoch horizon, with two places). ``status(text)`` is a context
    manager shown while a scenario is prepared (the CLI's spinner). Raises
    :class:`skymesh.errors.SkyMeshError` naming the flag, place or file at fault.
    """
    from skymesh.network.over_time import GroundPoints
    from skymesh.packets.network import SERVING_POLICIES
    from skymesh.sim.estimate import n_steps
    from skymesh.sim.scenario import builtin_names
    from skymesh.timebase import start_or_epoch, time_grid

    where = list(where)
    flow_texts = list(flows)
    if len(where) > 2:
        raise SkyMeshError(
            f"expected a scenario or two places, got {len(where)} arguments "
            f"({', '.join(where)}); quote a place with spaces"
        )
    if serving is not None and serving != "shortest" and serving not in SERVING_POLICIES:
        raise SkyMeshError(
            f"--serving: unknown policy '{serving}'; use shortest, {', '.join(SERVING_POLICIES)}"
        )
    if tcp_profile not in TCP_PROFILES:
        raise SkyMeshError(f"--tcp-profile: unknown profile '{tcp_profile}'; use ns3 or hypatia")
    notes: list[str] = []
    relays = None
    isl_pairs = None
    mode = "isl"
    max_gsl_range_km = None
    one_place = (
        len(where) == 1
        and bool(pops)
        and where[0] not in builtin_names()
        and not where[0].endswith(".toml")
        and not Path(where[0]).is_file()
    )
    if len(where) == 1 and not one_place:  # a scenario
        if constellation is not None or cities or min_elevation_deg is not None:
            raise SkyMeshError(
                "--constellation, --cities and --min-elevation go with two places; "
                "a scenario sets its own"
            )
        from skymesh.errors import InputError
        from skymesh.sim.scenario import load_scenario

        loaded = load_scenario(where[0])
        s = loaded.scenario
        if s.access.model == "slots":  # the run's own held paths (skymesh.packets.scenario)
            if serving is not None or pops:
                raise SkyMeshError(
                    "--serving and --pop go with places; a scenario's packets follow its "
                    "run: its [access] serving policy and its PoPs"
                )
            window = {
                f"time.{key}": value
                for key, value in (
                    ("start", start),
                    ("duration_s", duration_s),
                    ("step_s", step_s),
                )
                if value is not None
            }
            if window:  # the run's own window, so its slots and policy switches fall alike
                try:
                    loaded = load_scenario(where[0], window)
                except InputError as err:
                    flag = {"time.start": "--start", "time.duration_s": "--duration"}.get(
                        str(err.field), "--step"
                    )
                    raise SkyMeshError(f"{flag}: {err.message}") from None
                s = loaded.scenario
                start = None
        name = s.name
        duration_s = s.time.duration_s if duration_s is None else duration_s
        step_s = s.time.step_s if step_s is None else step_s
        seed_source = loaded.sha256
        if s.access.model == "slots":
            serving = s.access.serving
        elif serving is None:  # the scenario's access layer, as far as packets can hold it
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
        duration_s = TWO_PLACES_DURATION_S if duration_s is None else duration_s
        step_s = TWO_PLACES_STEP_S if step_s is None else step_s
        seed_source = None
    serving = serving or "operator"
    out = Path(out) if out is not None else Path("results") / f"packets-{name}"
    check_folder(out, force)
    check_ns3()
    isl_bps = None if isl_mbps is None else isl_mbps * 1e6
    gsl_bps = None if gsl_mbps is None else gsl_mbps * 1e6
    steps = n_steps(duration_s, step_s)

    if loaded is not None:  # the scenario's arrays: constellation, ground points, window
        from skymesh.sim.prepare import prepare

        busy = status(f"preparing {name}...") if status is not None else contextlib.nullcontext()
        with busy:
            prep = prepare(loaded)
        op = prep.operators[0]
        const = op.constellation
        isl_pairs = op.isl_pairs
        mode = loaded.scenario.routing.mode
        min_elevation_deg = loaded.scenario.routing.min_elevation_deg
        max_gsl_range_km = loaded.scenario.routing.max_gsl_range_km
        names = [str(n) for n in prep.terminal_name]
        eps = GroundPoints.of(names, prep.terminal_lat, prep.terminal_lon)
        if loaded.scenario.access.model == "slots":
            from skymesh.packets.scenario import pop_endpoint_name

            names = names + [pop_endpoint_name(n) for n in names]
            if len(prep.operators) > 1:
                notes.append(
                    f"packets over the first operator, {op.label}; the run also has "
                    + ", ".join(o.label for o in prep.operators[1:])
                )
        if mode != "isl" and len(prep.gateway_name):
            relays = GroundPoints.of(prep.gateway_name, prep.gateway_lat, prep.gateway_lon)
        start_time = prep.grid.start if start is None else start_or_epoch(const, start)
        notes += list(prep.notes)
    else:
        from skymesh.ground.places import largest_places, resolve_place
        from skymesh.orbits.presets import load_constellation

        const = load_constellation(constellation or "starlink-shell1", report=notes)
        if force_epoch:
            from skymesh.orbits.propagate import allow_far_epoch

            allow_far_epoch(const)
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
        start_time = start_or_epoch(const, start)
        notes += [n for n in (p.note for p in places) if n]
        if min_elevation_deg is None:
            min_elevation_deg = TWO_PLACES_MIN_ELEVATION_DEG
    sites: list = []
    gw_of: list[int] = []
    if pops:  # each PoP's gateway joins the ground points; the PoP itself after the network
        from skymesh.errors import InputError
        from skymesh.packets.network import pop_site

        try:
            sites = [pop_site(p, gateways_file=gateways) for p in pops]
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
        if not flow_texts:
            flow_texts = [f"tcp:{cc}:{names[0]}->{sites[0].name}"]
    held = loaded is not None and loaded.scenario.access.model == "slots"
    if held and not flow_texts:  # the run's question: a terminal to its PoP
        flow_texts = [f"tcp:{cc}:{names[0]}->{names[len(names) // 2]}"]
    n_ground = len(names)
    flow_list, pairs = resolve_flows(flow_texts, cc, names + [s_.name for s_ in sites], duration_s)
    terminals: list[int] = []
    if held:  # keep the flows' terminals only: endpoint i a terminal, T + i its PoP
        n_term = len(names) // 2
        terminals = sorted({e % n_term for pr in pairs for e in pr})
        at = {t: i for i, t in enumerate(terminals)}
        T = len(terminals)

        def renumber(e: int) -> int:
            return at[e % n_term] + (T if e >= n_term else 0)

        for text, (a, b) in zip(flow_texts, pairs):
            if a % n_term != b % n_term or (a >= n_term) == (b >= n_term):
                raise SkyMeshError(
                    f"--flow '{text}': in a scenario a flow runs between a terminal and "
                    f"its own PoP, as the run measures ('{names[a % n_term]}->"
                    f"{names[n_term + a % n_term]}' or the reverse)"
                )
        flow_list = [
            dataclasses.replace(f, src=renumber(a), dst=renumber(b))
            for f, (a, b) in zip(flow_list, pairs)
        ]
        pairs = [(renumber(a), renumber(b)) for a, b in pairs]
        names = [names[t] for t in terminals] + [names[n_term + t] for t in terminals]
        n_ground = len(names)
    # the network's pairs end at the PoPs' gateways; with_pop adds the PoPs behind them
    net_pairs = [tuple(gw_of[e - n_ground] if e >= n_ground else e for e in pr) for pr in pairs]
    est, n_packets = estimate_packets(
        flow_list,
        duration_s,
        steps,
        len(const),
        len(names) if held else len(eps),
        isl_bps=isl_bps,
        gsl_bps=gsl_bps,
        what=f"packets {name}",
    )
    grid = time_grid(start_time, duration_s, step_s)
    parameters = dict(
        where=where,
        constellation=const.name,
        start_utc=grid.start.isoformat(),
        duration_s=duration_s,
        step_s=step_s,
        flows=flow_texts,
        cc=cc,
        cities=cities,
        isl_mbps=isl_mbps,
        gsl_mbps=gsl_mbps,
        queue_packets=queue_pkts,
        tcp_profile=tcp_profile,
        min_elevation_deg=min_elevation_deg,
        sample_s=sample_s,
        seed=seed,
        pops=list(pops),
        gateways=None if gateways is None else str(gateways),
        serving=serving,
        terminals=[str(prep.terminal_name[t]) for t in terminals] if held else None,
    )
    return PacketPlan(
        name=name,
        title=" -> ".join(where) if loaded is None else name,
        out=out,
        constellation=const,
        grid=grid,
        duration_s=duration_s,
        step_s=step_s,
        steps=steps,
        endpoints=eps,
        names=names,
        relays=relays,
        isl_pairs=isl_pairs,
        mode=mode,
        min_elevation_deg=float(min_elevation_deg),
        max_gsl_range_km=max_gsl_range_km,
        serving=serving,
        sites=sites,
        gw_of=gw_of,
        flows=flow_list,
        net_pairs=net_pairs,
        isl_bps=isl_bps,
        gsl_bps=gsl_bps,
        queue_pkts=queue_pkts,
        tcp_profile=tcp_profile,
        sample_s=sample_s,
        seed=seed,
        estimate=est,
        n_packets=n_packets,
        parameters=parameters,
        seed_source=seed_source,
        notes=notes,
        prep=prep if held else None,
        terminals=terminals,
    )


def run_packets(
    plan: PacketPlan,
    *,
    network_progress: Optional[Callable[[int], None]] = None,
    network_built: Optional[Callable[[], None]] = None,
    simulated: Optional[Callable[[float], None]] = None,
) -> dict:
    """Build the plan's network, run ns-3 over it and write the results folder ``plan.out``.

    ``network_progress(n)`` is called with steps done building the network (two passes),
    ``network_built()`` once before ns-3 starts, ``simulated(t)`` with simulated seconds.
    Returns the summary (as ``summary.json`` holds it: per flow, the engine, figures, notes).
    """
    from skymesh import __version__
    from skymesh.packets.engine import QUEUE_PKTS, simulate
    from skymesh.packets.network import with_pop
    from skymesh.packets.report import summarize

    if plan.prep is not None:  # a scenario: the run's held paths, policy and access layer
        from skymesh.packets.scenario import scenario_network

        net = scenario_network(
            plan.prep,
            plan.terminals,
            sorted(set(plan.net_pairs)),
            isl_rate_bps=plan.isl_bps,
            gsl_rate_bps=plan.gsl_bps,
            progress=network_progress,
        )
    else:
        net = _places_network(plan, network_progress)
    for site, gw in zip(plan.sites, plan.gw_of):
        net = with_pop(net, site, gw)
    if network_built is not None:
        network_built()
    tables = simulate(
        net,
        plan.flows,
        duration_s=plan.duration_s,
        seed=plan.seed,
        progress=simulated,
        sample_s=plan.sample_s,
        queue_pkts=plan.queue_pkts or QUEUE_PKTS,
        tcp_profile=plan.tcp_profile,
    )
    params = plan.parameters
    digest = (
        plan.seed_source or hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()
    )
    est = plan.estimate
    run = dict(
        skymesh_version=__version__,
        command="packets",
        scenario=plan.name,
        scenario_sha256=digest,
        seed=plan.seed,
        parameters=params,
        estimate=dict(seconds=est.seconds, memory_bytes=est.memory_bytes, packets=plan.n_packets),
        finished=True,
    )
    meta = dict(
        title=plan.title,
        constellation=plan.constellation.name,
        start_utc=plan.grid.start.isoformat(),
        duration_s=plan.duration_s,
        step_s=plan.step_s,
        satellites=len(plan.constellation),
        ground_points=len(plan.endpoints),
        isl_rate_mbps=params["isl_mbps"],
        gsl_rate_mbps=params["gsl_mbps"],
        queue_packets=plan.queue_pkts or QUEUE_PKTS,
        tcp_profile=plan.tcp_profile,
        seed=plan.seed,
        rate_source=getattr(net, "rate_source", None),
    )
    summary = summarize(tables, meta)
    write_folder(plan.out, tables, run, summary, meta, plan.notes)
    return summary


def _places_network(plan: PacketPlan, progress):
    """The network between places, or of a scenario under the ``propagation`` access model:
    SkyMesh's snapshot graphs and shortest paths
    (:func:`skymesh.packets.network.packet_network`)."""
    from skymesh.packets.network import packet_network

    return packet_network(
        plan.constellation,
        plan.grid,
        plan.endpoints,
        sorted(set(plan.net_pairs)),
        mode=plan.mode,
        isl_pairs=plan.isl_pairs,
        relays=plan.relays,
        min_elevation_deg=plan.min_elevation_deg,
        max_gsl_range_km=plan.max_gsl_range_km,
        isl_rate_bps=plan.isl_bps,
        gsl_rate_bps=plan.gsl_bps,
        serving=None if plan.serving == "shortest" else plan.serving,
        progress=progress,
    )


def write_folder(out: Path, tables: dict, run: dict, summary: dict, meta: dict, notes) -> None:
    """Write the results folder next to ``out``, then rename it into place (see the module).

    ``summary`` gains the figures drawn and the notes (a figure that fails to draw becomes a
    note: it never loses a finished run's numbers)."""
    import pyarrow.parquet as pq

    from skymesh.files import atomic_path, folder_lock, write_error, write_text_atomic
    from skymesh.packets.plots import packet_figures
    from skymesh.packets.report import write_packets_report
    from skymesh.report.tables import jsonable

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
