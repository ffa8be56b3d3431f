"""Commands about the constellation itself: constellations, info, visible, latency."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import typer

from skymesh.cli.common import (
    _FORCE_EPOCH,
    _at_least_one,
    _default_start,
    _elevation_mask,
    _far_epoch,
    _finite_nonneg,
    _finite_positive,
    _metric_table,
    _notes,
    _print_json,
    _print_table,
    app,
    console,
)
from skymesh.errors import SkyMeshError


@app.command()
def constellations(json_out: bool = typer.Option(False, "--json", help="Print JSON.")):
    """List the constellation presets and where their numbers come from."""
    from skymesh.orbits.presets import TLE_PRESETS, WALKER_PRESETS

    rows = []
    for name, p in WALKER_PRESETS.items():
        shells = p["shells"]
        rows.append(
            dict(
                name=name,
                kind="walker",
                operator=p["operator"],
                satellites=sum(s.size for s in shells),
                shells="\n".join(
                    f"{s.altitude_km:g} km {s.inclination_deg:g}° {s.planes}x{s.sats_per_plane}"
                    for s in shells
                ),
                source=p["source"],
            )
        )
    for name, p in TLE_PRESETS.items():
        from skymesh.orbits.snapshots import list_snapshots
        from skymesh.shipped import is_shipped

        try:
            snaps = list_snapshots(p["group"], shipped=True)
        except SkyMeshError:
            snaps = []
        rows.append(
            dict(
                name=name,
                kind="tle",
                operator=p["operator"],
                satellites=None,
                shells=f"newest snapshot: {snaps[-1].name}"
                + (" (shipped)" if is_shipped(snaps[-1]) else "")
                if snaps
                else "no snapshot yet: run `skymesh data update`",
                source=p["source"],
            )
        )
    if json_out:
        return _print_json(rows)
    # The sources are sentences: they go under the table, so the table keeps to 80 columns.
    _print_table(
        "Constellation presets (shells: altitude, inclination, planes x satellites)",
        ("name", "kind", "satellites", "shells"),
        [
            (
                r["name"],
                r["kind"],
                "" if r["satellites"] is None else f"{r['satellites']:,}",
                r["shells"],
            )
            for r in rows
        ],
        right=("satellites",),
        fold=True,
        keep=("name",),
    )
    console.print("Sources:", highlight=False)
    for r in rows:
        console.print(
            f"- {r['name']}: {r['source']} (operator: {r['operator']})",
            markup=False,
            highlight=False,
        )
    console.print(
        "Each operator's user link, beams, ISLs and gateways: skymesh.links.operators.",
        markup=False,
        highlight=False,
    )


@app.command()
def info(
    constellation: str = typer.Argument(..., help="Preset name or TLE file."),
    skip_bad: bool = typer.Option(
        False, "--skip-bad", help="Skip malformed TLE element sets and count them."
    ),
    isls: Optional[Path] = typer.Option(
        None, "--isls", help="ISL list (Hypatia isls.txt or sat_a,sat_b CSV) instead of the +Grid."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
):
    """Describe a constellation: satellites, shells, planes, epoch, ISLs, generations.

    Generations come from each satellite's launch (skymesh/data/starlink_launches.csv);
    ``user_downlink_gbps`` is the fleet total, the sum over satellites of their generation's
    user downlink (Gbit/s); satellites of unknown generation add nothing and are counted.
    """
    from skymesh.links.isl import plus_grid_kinds, plus_grid_pairs
    from skymesh.orbits.generations import (
        UNKNOWN,
        fleet_user_downlink_gbps,
        generation_counts,
        generation_table,
        satellite_generations,
    )
    from skymesh.orbits.presets import load_constellation

    notes: list[str] = []
    c = load_constellation(constellation, skip_bad=skip_bad, report=notes)
    isl_pairs = _isl_list(isls, c, notes)
    if isl_pairs is None:
        isl_pairs = plus_grid_pairs(c)
    kinds = {} if isls else plus_grid_kinds(c)
    shells = []
    for s in np.unique(c.shell):
        m = c.shell == s
        shells.append(
            dict(
                shell=int(s) if s >= 0 else None,
                satellites=int(m.sum()),
                planes=int(len(np.unique(c.plane[m & (c.plane >= 0)]))),
                altitude_km=float(np.nanmedian(c.altitude_km[m]))
                if np.isfinite(c.altitude_km[m]).any()
                else None,
                inclination_deg=float(np.nanmedian(c.inclination_deg[m]))
                if np.isfinite(c.inclination_deg[m]).any()
                else None,
                grid=("listed" if isls else kinds.get(int(s))) if s >= 0 else None,
            )
        )
    gens = satellite_generations(c)
    per_gen = generation_counts(gens)
    gen_table = generation_table()
    fleet_gbps = fleet_user_downlink_gbps(gens, gen_table)
    if per_gen.get(UNKNOWN):
        notes.append(
            f"{per_gen[UNKNOWN]:,} satellite(s) of unknown generation (launch not in "
            "skymesh/data/starlink_launches.csv, or not a STARLINK name): no capacity counted"
        )
    doc = dict(
        name=c.name,
        satellites=len(c),
        epoch=c.epoch,
        kind="tle" if c.is_tle else "walker",
        source=c.source,
        isl_links=int(len(isl_pairs)),
        shells=shells,
        generations=per_gen,
        user_downlink_gbps=fleet_gbps,
        notes=notes,
        isl_source=str(isls) if isls else "+grid",
    )
    if json_out:
        return _print_json(doc)
    _notes(notes, False)
    console.print(
        f"[bold]{c.name}[/]: {len(c):,} satellites ({doc['kind']}), epoch "
        f"{c.epoch:%Y-%m-%d %H:%M:%S} UTC, {doc['isl_links']:,} "
        f"{'listed' if isls else '+Grid'} ISLs"
    )
    if c.source:
        console.print(f"[dim]{c.source}[/]")
    _print_table(
        "Shells" + (" (inferred from elements)" if c.is_tle else ""),
        ("shell", "satellites", "planes", "altitude km", "inclination deg", "ISLs"),
        [
            (
                "none" if s["shell"] is None else str(s["shell"]),
                f"{s['satellites']:,}",
                str(s["planes"]),
                "" if s["altitude_km"] is None else f"{s['altitude_km']:.1f}",
                "" if s["inclination_deg"] is None else f"{s['inclination_deg']:.2f}",
                s["grid"] or "",
            )
            for s in shells
        ],
        right=("shell", "satellites", "planes", "altitude km", "inclination deg"),
    )
    rows = []
    for g, n in per_gen.items():
        par = gen_table.get(g)
        per_sat = None if par is None else float(par["user_downlink_gbps"]["value"])
        rows.append(
            (
                g,
                f"{n:,}",
                "" if per_sat is None else f"{per_sat:g}",
                "" if par is None else f"{par['lasers']['value']:g}",
                "" if par is None else str(par["backhaul_band"]["value"]),
                "" if per_sat is None else f"{n * per_sat / 1000:,.1f}",
            )
        )
    _print_table(
        f"Generations (user downlink {fleet_gbps / 1000:,.1f} Tbit/s in all)",
        ("generation", "satellites", "Gbit/s each", "lasers", "backhaul", "Tbit/s"),
        rows,
        right=("satellites", "Gbit/s each", "lasers", "Tbit/s"),
        keep=("generation",),
    )


@app.command()
def visible(
    place: str = typer.Argument(..., help="Place name ('Paris, FR') or 'lat,lon'."),
    at: Optional[str] = typer.Option(
        None, "--at", help="UTC time, ISO 8601 (default: the constellation's element epoch)."
    ),
    constellation: str = typer.Option(
        "starlink-shell1", "--constellation", "-c", help="Preset name or TLE file."
    ),
    min_elevation: float = typer.Option(
        25.0, "--min-elevation", callback=_elevation_mask, help="Elevation mask (deg)."
    ),
    limit: Optional[int] = typer.Option(
        None, "--limit", callback=_at_least_one, help="Show at most this many (default: all)."
    ),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="Skip malformed TLEs."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
    force_epoch: bool = _FORCE_EPOCH,
):
    """Satellites in view of a place at an instant: elevation, azimuth, range."""
    from skymesh.ground.places import resolve_place
    from skymesh.links.visibility import look_angles
    from skymesh.orbits.presets import load_constellation
    from skymesh.orbits.propagate import positions_ecef
    from skymesh.timebase import time_grid

    notes: list[str] = []
    p = resolve_place(place)
    c = load_constellation(constellation, skip_bad=skip_bad, report=notes)
    _far_epoch(c, force_epoch)
    t = _default_start(c, at, "--at")
    pos = positions_ecef(c, time_grid(t))[:, 0]
    el, az, rng = (x[0] for x in look_angles(pos, [p.lat_deg], [p.lon_deg]))
    idx = np.flatnonzero(np.nan_to_num(el, nan=-99) >= min_elevation)
    idx = idx[np.argsort(-el[idx], kind="stable")]
    shown = idx[:limit] if limit else idx
    rows = [
        dict(
            satellite=str(c.sat_names[i]),
            index=int(i),
            elevation_deg=round(float(el[i]), 3),
            azimuth_deg=round(float(az[i]), 3),
            range_km=round(float(rng[i]), 3),
        )
        for i in shown
    ]
    doc = dict(
        place=dict(
            name=p.name, country=p.country_iso2, lat_deg=p.lat_deg, lon_deg=p.lon_deg, note=p.note
        ),
        time_utc=t,
        constellation=c.name,
        min_elevation_deg=min_elevation,
        in_view=int(len(idx)),
        satellites=rows,
        notes=notes,
    )
    if json_out:
        return _print_json(doc)
    _notes(notes + ([p.note] if p.note else []), False)
    console.print(
        f"{len(idx)} satellites of {c.name} above {min_elevation:g}° at {p.name} "
        f"({p.lat_deg:.4f}, {p.lon_deg:.4f}) at {t:%Y-%m-%d %H:%M:%S} UTC"
    )
    _print_table(
        None,
        ("satellite", "elevation deg", "azimuth deg", "range km"),
        [
            (
                r["satellite"],
                f"{r['elevation_deg']:.2f}",
                f"{r['azimuth_deg']:.2f}",
                f"{r['range_km']:.1f}",
            )
            for r in rows
        ],
        right=("elevation deg", "azimuth deg", "range km"),
    )
    if limit and len(idx) > limit:
        console.print(f"[dim]{len(idx) - limit} more not shown (--limit {limit})[/]")


@app.command()
def latency(
    a: str = typer.Argument(..., help="First place (name or 'lat,lon')."),
    b: str = typer.Argument(..., help="Second place (name or 'lat,lon')."),
    constellation: str = typer.Option(
        "starlink-shell1", "--constellation", "-c", help="Preset name or TLE file."
    ),
    start: Optional[str] = typer.Option(
        None, "--start", help="UTC start, ISO 8601 (default: the element epoch)."
    ),
    duration: float = typer.Option(
        60.0, "--duration", callback=_finite_nonneg, help="Window length (s)."
    ),
    step: float = typer.Option(1.0, "--step", callback=_finite_positive, help="Time step (s)."),
    mode: str = typer.Option("isl", "--mode", help="isl, bent-pipe or hybrid."),
    gateways: Optional[Path] = typer.Option(
        None,
        "--gateways",
        help="Gateway file (CSV/TOML) used as ground relays in bent-pipe and hybrid modes.",
    ),
    min_elevation: Optional[float] = typer.Option(
        None,
        "--min-elevation",
        callback=_elevation_mask,
        help="Elevation mask (deg) [default: 25; 0 with --max-gsl-range].",
    ),
    max_gsl_range: Optional[float] = typer.Option(
        None,
        "--max-gsl-range",
        callback=_finite_positive,
        help="Ground-satellite links up to this slant range (km), Hypatia's rule.",
    ),
    isls: Optional[Path] = typer.Option(
        None, "--isls", help="ISL list (Hypatia isls.txt or sat_a,sat_b CSV) instead of the +Grid."
    ),
    out: Optional[Path] = typer.Option(
        None, "--out", help="Write the per-step table (.csv, .parquet or .json)."
    ),
    force: bool = typer.Option(False, "--force", help="Replace --out if it exists."),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="Skip malformed TLEs."),
    yes: bool = typer.Option(
        False, "--yes", "-y", help="Start a window estimated to take long without asking."
    ),
    json_out: bool = typer.Option(
        False, "--json", help="Print one JSON document: per-step series and summary."
    ),
    force_epoch: bool = _FORCE_EPOCH,
):
    """RTT, hops and path changes between two places over a time window.

    The window's cost (steps x satellites, memory, disk for --out, time) is estimated
    before any work: one the machine cannot hold is refused, a long one needs --yes.
    """
    from skymesh.ground.places import resolve_pair
    from skymesh.network.over_time import GroundPoints, path_series, summarize_rtt
    from skymesh.network.snapshot import check_mode
    from skymesh.orbits.presets import load_constellation
    from skymesh.report.tables import table_records, write_table
    from skymesh.timebase import time_grid

    check_mode(mode)
    if out is not None and out.exists() and not force:
        raise SkyMeshError(f"{out}: file exists; pass --force to replace it")
    notes: list[str] = []
    c = load_constellation(constellation, skip_bad=skip_bad, report=notes)
    _far_epoch(c, force_epoch)
    isl_pairs = _isl_list(isls, c, notes)
    if min_elevation is None:
        min_elevation = 0.0 if max_gsl_range is not None else 25.0
    from skymesh.cli.jobs import JobProgress, gate
    from skymesh.network.over_time import chunk_steps_for
    from skymesh.sim.estimate import estimate_path_series, n_steps

    steps = n_steps(duration, step)
    gate(
        estimate_path_series(
            steps, len(c), 2, 1, what=f"latency {a} -> {b}", to_disk=out is not None
        ),
        yes=yes,
        out=out,
        hint="use a shorter --duration or a coarser --step",
    )
    pa_, pb = resolve_pair(a, b)  # after the estimate: looking up is work too
    grid = time_grid(_default_start(c, start), duration, step)
    relays = None
    if gateways is not None:
        from skymesh.ground.gateways import load_gateways

        gw = load_gateways(gateways)
        relays = GroundPoints.of(gw.name, gw.lat_deg, gw.lon_deg)
        notes.append(f"{len(gw)} gateways from {gateways}")
    elif mode != "isl":
        notes.append("no --gateways given: bent-pipe paths need a satellite both places see")
    eps = GroundPoints.of([pa_.name, pb.name], [pa_.lat_deg, pb.lat_deg], [pa_.lon_deg, pb.lon_deg])
    chunk = chunk_steps_for(len(c), len(grid))
    n_chunks = -(-len(grid) // chunk)
    with JobProgress("latency", enabled=not json_out) as bar:
        done = [0]
        bar.update(0, n_chunks, 0, len(grid))

        def progress(n):
            # path_series reports every routing block; the bar moves with each, the
            # plain lines (logs) come once per chunk of positions and at the end.
            before, done[0] = done[0], done[0] + n
            if bar.tty or done[0] // chunk > before // chunk or done[0] == len(grid):
                bar.update(-(-done[0] // chunk), n_chunks, done[0], len(grid))

        table = path_series(
            c,
            grid,
            eps,
            [[0, 1]],
            mode=mode,
            relays=relays,
            min_elevation_deg=min_elevation,
            chunk_steps=chunk,
            progress=progress,
            isl_pairs=isl_pairs,
            max_gsl_range_km=max_gsl_range,
        )
    from skymesh.access.delay import ground_to_ground_components, with_ground_to_ground_components

    table = with_ground_to_ground_components(table)  # the user's RTT, rtt_ms, and its parts
    summary = summarize_rtt(table)
    from skymesh.report.plots import great_circle_km, vacuum_rtt_ms  # matplotlib: not before

    gc_km = float(great_circle_km(pa_.lat_deg, pa_.lon_deg, pb.lat_deg, pb.lon_deg))
    summary["great_circle_km"] = gc_km
    summary["vacuum_rtt_ms"] = float(
        vacuum_rtt_ms(pa_.lat_deg, pa_.lon_deg, pb.lat_deg, pb.lon_deg)
    )
    summary["components"] = ground_to_ground_components(table)
    meta = dict(
        a=pa_.name,
        b=pb.name,
        constellation=c.name,
        mode=mode,
        start_utc=grid.start,
        duration_s=duration,
        step_s=step,
        min_elevation_deg=min_elevation,
        max_gsl_range_km=max_gsl_range,
        isls=str(isls) if isls else None,
    )
    if out is not None:
        write_table(table, out, force=force, meta=dict(meta, summary=summary))
        notes.append(f"wrote {table.num_rows} rows to {out}")
    if json_out:
        series = [
            dict(
                time_utc=r["time_utc"],
                rtt_ms=r["rtt_ms"],
                space_rtt_ms=r["space_rtt_ms"],
                hops=r["hops"],
                isl_hops=r["isl_hops"],
                path_changed=r["path_changed"],
            )
            for r in table_records(table.drop_columns(["path"]))
        ]
        return _print_json(
            dict(meta, places=[pa_.note, pb.note], summary=summary, series=series, notes=notes)
        )
    _notes(notes + [n for n in (pa_.note, pb.note) if n], False)
    console.print(
        f"{pa_.name} ({pa_.country_iso2}) -> {pb.name} ({pb.country_iso2}) over "
        f"{c.name}, {mode} mode: {len(grid)} steps of {step:g} s from "
        f"{grid.start:%Y-%m-%d %H:%M:%S} UTC"
    )
    rows = [
        ("great-circle distance", f"{gc_km:,.0f} km"),
        ("vacuum bound RTT", f"{summary['vacuum_rtt_ms']:.1f} ms"),
        ("reachable", f"{100 * summary['reachable_fraction']:.1f} % of steps"),
    ]
    if summary["rtt_ms_p50"] is not None:
        comp = summary["components"]
        rows += [
            (
                "space RTT min / p50 / p95 / max",
                f"{summary['space_rtt_ms_min']:.1f} / {summary['space_rtt_ms_p50']:.1f} / "
                f"{summary['space_rtt_ms_p95']:.1f} / {summary['space_rtt_ms_max']:.1f} ms",
            ),
            ("hops mean / max", f"{summary['hops_mean']:.1f} / {summary['hops_max']}"),
            ("path changes", f"{summary['path_changes']}"),
            ("+ access, both ends (mean)", f"{comp['access_ms_mean']:.1f} ms"),
            ("+ processing (mean)", f"{comp['processing_ms_mean']:.1f} ms"),
            ("+ queueing (idle)", f"{comp['queueing_ms_mean']:.1f} ms"),
            (
                "RTT (user, with access) min / p50 / p95 / max",
                f"{summary['rtt_ms_min']:.1f} / {summary['rtt_ms_p50']:.1f} / "
                f"{summary['rtt_ms_p95']:.1f} / {summary['rtt_ms_max']:.1f} ms",
            ),
        ]
    _metric_table("Summary", rows)


def _isl_list(path, c, notes: list):
    """The ISL list given with --isls (None without it), its source noted."""
    if path is None:
        return None
    from skymesh.links.isl_file import load_isl_file

    pairs = load_isl_file(path, c.sat_names)
    notes.append(f"{len(pairs):,} ISLs from {path} (instead of the +Grid)")
    return pairs
