"""The ``skymesh`` command line: a thin layer that parses, calls one function, prints.

Every command has ``--help``. Errors in what the user gave are one line on
stderr and exit status 2.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import click
import numpy as np
import typer
from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)
from rich.table import Table

from skymesh import __version__
from skymesh.errors import SkyMeshError

app = typer.Typer(help="SkyMesh: simulate and plan a Starlink-class LEO broadband network.",
                  no_args_is_help=True, add_completion=False,
                  context_settings={"help_option_names": ["-h", "--help"]})
data_app = typer.Typer(help="Real data: fetch fresh TLEs and borders into the data directory.",
                       no_args_is_help=True)
app.add_typer(data_app, name="data")

console = Console()
err_console = Console(stderr=True)


def _progress(total: int, label: str, enabled: bool = True):
    """A rich progress bar (shown on stderr, hidden for --json or tiny jobs)."""
    return Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TimeRemainingColumn(), console=err_console, transient=True,
                    disable=not enabled)


def _print_table(title, columns, rows, *, right=(), fold: bool = False) -> None:
    """A rich table of string ``rows``; columns named in ``right`` (or all, with
    ``right=True``) are right-aligned; ``fold`` wraps long cells instead of cutting them."""
    table = Table(title=title)
    for col in columns:
        table.add_column(col, justify="right" if right is True or col in right else "left",
                         overflow="fold" if fold else "ellipsis")
    for row in rows:
        table.add_row(*row)
    console.print(table)


def _metric_table(title: str, rows) -> None:
    """A two-column metric / value table."""
    _print_table(title, ("metric", "value"), rows, right=("value",))


def _print_json(doc) -> None:
    from skymesh.report.tables import jsonable
    sys.stdout.write(json.dumps(jsonable(doc), indent=1) + "\n")


def _notes(notes: list[str], quiet: bool) -> None:
    for n in notes:
        if not quiet:
            err_console.print(f"[dim]{n}[/]")


def _default_start(constellation, start: Optional[str]):
    from skymesh.timebase import parse_time
    if start:
        return parse_time(start, field="start")
    epoch = constellation.epoch
    return epoch.replace(second=0, microsecond=0)


@app.command()
def constellations(json_out: bool = typer.Option(False, "--json", help="Print JSON.")):
    """List the constellation presets and where their numbers come from."""
    from skymesh.orbits.presets import TLE_PRESETS, WALKER_PRESETS
    rows = []
    for name, p in WALKER_PRESETS.items():
        shells = p["shells"]
        rows.append(dict(name=name, kind="walker", satellites=sum(s.size for s in shells),
                         shells=" + ".join(f"{s.altitude_km:g}km/{s.inclination_deg:g}°/"
                                           f"{s.planes}x{s.sats_per_plane}" for s in shells),
                         source=p["source"]))
    for name, p in TLE_PRESETS.items():
        from skymesh.orbits.snapshots import list_snapshots
        try:
            snaps = list_snapshots(p["group"])
        except SkyMeshError:
            snaps = []
        rows.append(dict(name=name, kind="tle", satellites=None,
                         shells=f"newest snapshot: {snaps[-1].name}" if snaps
                         else "no snapshot yet: run `skymesh data update`",
                         source=p["source"]))
    if json_out:
        return _print_json(rows)
    _print_table("Constellation presets", ("name", "kind", "satellites", "shells", "source"),
                 [(r["name"], r["kind"],
                   "" if r["satellites"] is None else f"{r['satellites']:,}", r["shells"],
                   r["source"]) for r in rows], fold=True)


@app.command()
def info(constellation: str = typer.Argument(..., help="Preset name or TLE file."),
         skip_bad: bool = typer.Option(False, "--skip-bad",
                                       help="Skip malformed TLE element sets and count them."),
         json_out: bool = typer.Option(False, "--json", help="Print JSON.")):
    """Describe a constellation: satellites, shells, planes, epoch, ISLs."""
    from skymesh.links.isl import plus_grid_pairs
    from skymesh.orbits.presets import load_constellation
    notes: list[str] = []
    c = load_constellation(constellation, skip_bad=skip_bad, report=notes)
    shells = []
    for s in np.unique(c.shell):
        m = c.shell == s
        shells.append(dict(
            shell=int(s) if s >= 0 else None, satellites=int(m.sum()),
            planes=int(len(np.unique(c.plane[m & (c.plane >= 0)]))),
            altitude_km=float(np.nanmedian(c.altitude_km[m])) if np.isfinite(c.altitude_km[m]).any() else None,
            inclination_deg=float(np.nanmedian(c.inclination_deg[m])) if np.isfinite(c.inclination_deg[m]).any() else None))
    doc = dict(name=c.name, satellites=len(c), epoch=c.epoch, kind="tle" if c.is_tle else "walker",
               source=c.source, isl_links=int(len(plus_grid_pairs(c))), shells=shells, notes=notes)
    if json_out:
        return _print_json(doc)
    _notes(notes, False)
    console.print(f"[bold]{c.name}[/]: {len(c):,} satellites ({doc['kind']}), epoch "
                  f"{c.epoch:%Y-%m-%d %H:%M:%S} UTC, {doc['isl_links']:,} +Grid ISLs")
    if c.source:
        console.print(f"[dim]{c.source}[/]")
    _print_table("Shells" + (" (inferred from elements)" if c.is_tle else ""),
                 ("shell", "satellites", "planes", "altitude km", "inclination deg"),
                 [("none" if s["shell"] is None else str(s["shell"]), f"{s['satellites']:,}",
                   str(s["planes"]),
                   "" if s["altitude_km"] is None else f"{s['altitude_km']:.1f}",
                   "" if s["inclination_deg"] is None else f"{s['inclination_deg']:.2f}")
                  for s in shells], right=True)


@app.command()
def visible(place: str = typer.Argument(..., help="Place name ('Paris, FR') or 'lat,lon'."),
            at: Optional[str] = typer.Option(None, "--at", help="UTC time, ISO 8601 (default: "
                                             "the constellation's element epoch)."),
            constellation: str = typer.Option("starlink-shell1", "--constellation", "-c",
                                              help="Preset name or TLE file."),
            min_elevation: float = typer.Option(25.0, "--min-elevation",
                                                help="Elevation mask (deg)."),
            limit: int = typer.Option(0, "--limit", help="Show at most this many (0: all)."),
            skip_bad: bool = typer.Option(False, "--skip-bad", help="Skip malformed TLEs."),
            json_out: bool = typer.Option(False, "--json", help="Print JSON.")):
    """Satellites in view of a place at an instant: elevation, azimuth, range."""
    from skymesh.ground.places import resolve_place
    from skymesh.links.visibility import look_angles
    from skymesh.orbits.presets import load_constellation
    from skymesh.orbits.propagate import positions_ecef
    from skymesh.timebase import time_grid
    notes: list[str] = []
    p = resolve_place(place)
    c = load_constellation(constellation, skip_bad=skip_bad, report=notes)
    t = _default_start(c, at)
    pos = positions_ecef(c, time_grid(t))[:, 0]
    el, az, rng = (x[0] for x in look_angles(pos, [p.lat_deg], [p.lon_deg]))
    idx = np.flatnonzero(np.nan_to_num(el, nan=-99) >= min_elevation)
    idx = idx[np.argsort(-el[idx], kind="stable")]
    shown = idx[:limit] if limit > 0 else idx
    rows = [dict(satellite=str(c.sat_names[i]), index=int(i), elevation_deg=round(float(el[i]), 3),
                 azimuth_deg=round(float(az[i]), 3), range_km=round(float(rng[i]), 3)) for i in shown]
    doc = dict(place=dict(name=p.name, country=p.country_iso2, lat_deg=p.lat_deg,
                          lon_deg=p.lon_deg, note=p.note),
               time_utc=t, constellation=c.name, min_elevation_deg=min_elevation,
               in_view=int(len(idx)), satellites=rows, notes=notes)
    if json_out:
        return _print_json(doc)
    _notes(notes + ([p.note] if p.note else []), False)
    console.print(f"{len(idx)} satellites of {c.name} above {min_elevation:g}° at {p.name} "
                  f"({p.lat_deg:.4f}, {p.lon_deg:.4f}) at {t:%Y-%m-%d %H:%M:%S} UTC")
    _print_table(None, ("satellite", "elevation deg", "azimuth deg", "range km"),
                 [(r["satellite"], f"{r['elevation_deg']:.2f}", f"{r['azimuth_deg']:.2f}",
                   f"{r['range_km']:.1f}") for r in rows],
                 right=("elevation deg", "azimuth deg", "range km"))
    if limit and len(idx) > limit:
        console.print(f"[dim]{len(idx) - limit} more not shown (--limit {limit})[/]")


@app.command()
def latency(a: str = typer.Argument(..., help="First place (name or 'lat,lon')."),
            b: str = typer.Argument(..., help="Second place (name or 'lat,lon')."),
            constellation: str = typer.Option("starlink-shell1", "--constellation", "-c",
                                              help="Preset name or TLE file."),
            start: Optional[str] = typer.Option(None, "--start", help="UTC start, ISO 8601 "
                                                "(default: the element epoch)."),
            duration: float = typer.Option(60.0, "--duration", help="Window length (s)."),
            step: float = typer.Option(1.0, "--step", help="Time step (s)."),
            mode: str = typer.Option("isl", "--mode", help="isl, bent-pipe or hybrid."),
            gateways: Optional[Path] = typer.Option(None, "--gateways",
                                                    help="Gateway file (CSV/TOML) used as ground "
                                                         "relays in bent-pipe and hybrid modes."),
            min_elevation: float = typer.Option(25.0, "--min-elevation", help="Elevation mask (deg)."),
            out: Optional[Path] = typer.Option(None, "--out", help="Write the per-step table "
                                               "(.csv, .parquet or .json)."),
            force: bool = typer.Option(False, "--force", help="Replace --out if it exists."),
            skip_bad: bool = typer.Option(False, "--skip-bad", help="Skip malformed TLEs."),
            json_out: bool = typer.Option(False, "--json", help="Print one JSON document: "
                                          "per-step series and summary.")):
    """RTT, hops and path changes between two places over a time window."""
    from skymesh.ground.places import resolve_place
    from skymesh.network.over_time import GroundPoints, path_series, summarize_rtt
    from skymesh.report.plots import great_circle_km, vacuum_rtt_ms
    from skymesh.network.snapshot import check_mode
    from skymesh.orbits.presets import load_constellation
    from skymesh.report.tables import table_records, write_table
    from skymesh.timebase import time_grid
    check_mode(mode)
    if out is not None and out.exists() and not force:
        raise SkyMeshError(f"{out}: file exists; pass --force to replace it")
    notes: list[str] = []
    pa_, pb = resolve_place(a), resolve_place(b)
    c = load_constellation(constellation, skip_bad=skip_bad, report=notes)
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
    with _progress(len(grid), "routing", enabled=not json_out and len(grid) > 120) as bar:
        task = bar.add_task("routing", total=len(grid))
        table = path_series(c, grid, eps, [[0, 1]], mode=mode, relays=relays,
                            min_elevation_deg=min_elevation,
                            progress=lambda n: bar.advance(task, n))
    summary = summarize_rtt(table)
    gc_km = float(great_circle_km(pa_.lat_deg, pa_.lon_deg, pb.lat_deg, pb.lon_deg))
    summary["great_circle_km"] = gc_km
    summary["vacuum_rtt_ms"] = float(vacuum_rtt_ms(pa_.lat_deg, pa_.lon_deg, pb.lat_deg,
                                                   pb.lon_deg))
    meta = dict(a=pa_.name, b=pb.name, constellation=c.name, mode=mode, start_utc=grid.start,
                duration_s=duration, step_s=step, min_elevation_deg=min_elevation)
    if out is not None:
        write_table(table, out, force=force, meta=dict(meta, summary=summary))
        notes.append(f"wrote {table.num_rows} rows to {out}")
    if json_out:
        series = [dict(time_utc=r["time_utc"], rtt_ms=r["rtt_ms"], hops=r["hops"],
                       isl_hops=r["isl_hops"], path_changed=r["path_changed"])
                  for r in table_records(table.drop_columns(["path"]))]
        return _print_json(dict(meta, places=[pa_.note, pb.note], summary=summary,
                                series=series, notes=notes))
    _notes(notes + [n for n in (pa_.note, pb.note) if n], False)
    console.print(f"{pa_.name} ({pa_.country_iso2}) -> {pb.name} ({pb.country_iso2}) over "
                  f"{c.name}, {mode} mode: {len(grid)} steps of {step:g} s from "
                  f"{grid.start:%Y-%m-%d %H:%M:%S} UTC")
    rows = [("great-circle distance", f"{gc_km:,.0f} km"),
            ("vacuum bound RTT", f"{summary['vacuum_rtt_ms']:.1f} ms"),
            ("reachable", f"{100 * summary['reachable_fraction']:.1f} % of steps")]
    if summary["rtt_ms_p50"] is not None:
        rows += [("RTT min / p50 / p95 / max",
                  f"{summary['rtt_ms_min']:.1f} / {summary['rtt_ms_p50']:.1f} / "
                  f"{summary['rtt_ms_p95']:.1f} / {summary['rtt_ms_max']:.1f} ms"),
                 ("hops mean / max", f"{summary['hops_mean']:.1f} / {summary['hops_max']}"),
                 ("path changes", f"{summary['path_changes']}")]
    _metric_table("Summary", rows)


def _parse_value(text: str):
    """A --set value as TOML reads it (numbers, booleans, dates, lists), else a string."""
    import tomllib
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _parse_sets(sets: list[str], multi: bool):
    """``key=value`` options -> {key: value} (``multi``: {key: [v1, v2, ...]})."""
    out = {}
    for item in sets or []:
        if "=" not in item:
            raise SkyMeshError(f"--set '{item}': expected key=value, e.g. time.duration_s=600")
        key, _, value = item.partition("=")
        key = key.strip()
        if multi:
            out[key] = [_parse_value(v.strip()) for v in _split_top(value)]
        else:
            out[key] = _parse_value(value.strip())
    return out


def _split_top(text: str) -> list[str]:
    """Split on commas outside brackets and quotes."""
    parts, depth, quote, cur = [], 0, None, ""
    for ch in text:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        cur += ch
    parts.append(cur)
    return [p for p in parts if p.strip()]


@app.command()
def scenarios(json_out: bool = typer.Option(False, "--json", help="Print JSON.")):
    """List the built-in scenarios (run one with `skymesh run NAME`)."""
    from skymesh.sim.scenario import builtin_names, load_scenario
    rows = []
    for name in builtin_names():
        s = load_scenario(name).scenario
        rows.append(dict(name=name, constellation=s.constellation.preset or s.constellation.file,
                         terminals=sum(t.count or len(t.points or []) for t in s.terminals),
                         window=f"{s.time.duration_s:g} s every {s.time.step_s:g} s",
                         description=" ".join(s.description.split())))
        rows[-1]["summary"] = rows[-1]["description"].split(". ")[0].rstrip(".") + "."
    if json_out:
        return _print_json(rows)
    _print_table("Built-in scenarios",
                 ("name", "constellation", "terminals", "window", "what it shows"),
                 [(r["name"], r["constellation"], f"{r['terminals']:,}", r["window"],
                   r["summary"]) for r in rows], fold=True)


def _fmt(x) -> str:
    return "n/a" if x is None else f"{x:.1f}"


def _summary_table(summary: dict) -> None:
    if summary.get("study") == "routing":
        r = summary["rtt_ms"]
        _metric_table(f"{summary['scenario']}: routing study", [
            ("steps x pairs", f"{summary['steps']:,} x {summary['pairs']:,}"),
            ("RTT p50 / p95 / p99", f"{_fmt(r['p50'])} / {_fmt(r['p95'])} / {_fmt(r['p99'])} ms"),
            ("pair-steps reachable", f"{100 * summary['reachable_fraction']:.1f} %"),
            ("forwarding changes per step (mean)",
             f"{summary['fstate_changes_per_step']['mean']:,.0f} of "
             f"{summary['fstate_entries']:,}")])
        return
    for op in summary["operators"]:
        r = op["rtt_ms"]
        top = ", ".join(f"{g['name']} ({g['country']}) {100 * g['share']:.0f}%"
                        for g in op["gateways"][:3])
        rows = [("share of time with service", f"{100 * op['service_share']:.1f} %"),
                ("geofenced by policy", f"{100 * op['geofenced_share']:.1f} %"),
                ("RTT p50 / p95 / p99",
                 f"{_fmt(r['p50'])} / {_fmt(r['p95'])} / {_fmt(r['p99'])} ms"),
                ("satellites on path (mean)", _fmt(op["sat_hops"]["mean"])),
                ("top gateways", top or "none"),
                ("exits in a censoring country", str(op["exits_inside_censoring_country"]))]
        if "bent_pipe" in op:
            b = op["bent_pipe"]
            rows.append(("bent-pipe: service / RTT p50",
                         f"{100 * b['service_share']:.1f} % / {_fmt(b['rtt_ms']['p50'])} ms"))
        _metric_table(f"{summary['scenario']}: {op['operator']}", rows)


@app.command("run")
def run_cmd(scenario: str = typer.Argument(..., help="Scenario file (.toml) or built-in name."),
            out: Optional[Path] = typer.Option(None, "--out", help="Results folder "
                                               "(default: results/NAME)."),
            force: bool = typer.Option(False, "--force", help="Replace an existing results folder."),
            resume: bool = typer.Option(False, "--resume", help="Continue an interrupted run "
                                        "from its last completed chunk."),
            scheduler: str = typer.Option("sync", "--scheduler", help="sync, processes, or a "
                                          "Dask scheduler address tcp://host:8786."),
            workers: Optional[int] = typer.Option(None, "--workers", min=1, help="Worker "
                                                  "processes for --scheduler processes "
                                                  "(default: every core)."),
            set_: list[str] = typer.Option([], "--set", help="Override a scenario key, e.g. "
                                           "--set time.duration_s=600 (repeatable)."),
            json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON.")):
    """Run a scenario: Parquet time series, summary.json and a Markdown report."""
    from skymesh.sim.run import run_scenario
    from skymesh.sim.scenario import load_scenario
    overrides = _parse_sets(set_, multi=False)
    loaded = load_scenario(scenario, overrides)
    out = out or Path("results") / loaded.scenario.name
    with _progress(1, f"running {loaded.scenario.name}", enabled=not json_out) as bar:
        task = bar.add_task("run", total=None)

        def progress(done, total):
            bar.update(task, completed=done, total=total)

        summary = run_scenario(loaded, out, overrides=overrides, force=force, resume=resume,
                               scheduler=scheduler, workers=workers, progress=progress)
    if json_out:
        return _print_json(summary)
    _notes(summary.get("notes", []), False)
    _summary_table(summary)
    console.print(f"results in {out}/ (" + ", ".join(sorted(
        p.name + ("/" if p.is_dir() else "") for p in out.iterdir())) + ")")


@app.command()
def sweep(scenario: str = typer.Argument(..., help="Scenario file (.toml) or built-in name."),
          set_: list[str] = typer.Option(..., "--set", help="key=v1,v2,... (repeatable; the "
                                         "runs are the cartesian product)."),
          out: Optional[Path] = typer.Option(None, "--out", help="Folder for the runs and "
                                             "the comparison table (default: results/NAME-sweep)."),
          force: bool = typer.Option(False, "--force", help="Replace existing results."),
          scheduler: str = typer.Option("sync", "--scheduler", help="sync, processes or "
                                        "tcp://host:8786."),
          json_out: bool = typer.Option(False, "--json", help="Print the table as JSON.")):
    """Run every combination of --set values and compare their headline metrics."""
    from skymesh.sim.sweep import run_sweep
    grid = _parse_sets(set_, multi=True)
    with _progress(1, "sweep", enabled=not json_out) as bar:
        task = bar.add_task("sweep", total=None)
        table, folder = run_sweep(scenario, grid, out=out, force=force, scheduler=scheduler,
                                  progress=lambda d, t: bar.update(task, completed=d, total=t))
    rows = table.to_pylist()
    if json_out:
        return _print_json(rows)
    _print_table(f"sweep of {scenario}", table.column_names,
                 [["" if v is None else (f"{v:.3g}" if isinstance(v, float) else str(v))
                   for v in r.values()] for r in rows], right=True)
    console.print(f"table in {folder}/sweep.csv and sweep.parquet")


@app.command()
def cost(scenario: str = typer.Argument(..., help="Scenario file (.toml) or built-in name "
                                        "with a [cost] section, e.g. ukraine-2022."),
         json_out: bool = typer.Option(False, "--json", help="Print JSON.")):
    """The bill by month and its drivers: terminals shipped, replaced, and in service."""
    from skymesh.sim.costs import scenario_bill
    from skymesh.sim.scenario import load_scenario
    result = scenario_bill(load_scenario(scenario))
    if json_out:
        return _print_json(result)
    _print_table(f"{result['scenario']}: bill by month (USD)",
                 ("month", "terminals", "new", "replaced", "hardware", "service", "total"),
                 [(r["month"], f"{r['terminals']:,.0f}", f"{r['new_terminals']:,.0f}",
                   f"{r['replaced_terminals']:,.0f}", f"{r['hardware_usd']:,.0f}",
                   f"{r['service_usd']:,.0f}", f"{r['total_usd']:,.0f}")
                  for r in result["months"]], right=True)
    _print_table("Periods against reported figures",
                 ("period", "months", "modelled USD", "reported USD", "ratio", "hardware share"),
                 [(r["period"], f"{r['first']}..{r['last']}", f"{r['total_usd']:,.0f}",
                   "n/a" if r["reported_usd"] is None else f"{r['reported_usd']:,.0f}",
                   "n/a" if r["ratio"] is None else f"{r['ratio']:.2f}",
                   f"{100 * r['hardware_share']:.0f} %") for r in result["periods"]],
                 right=True)
    for line in result["assumptions"]:
        console.print(f"[dim]- {line}[/]")


map_app = typer.Typer(help="World maps (PNG or SVG): constellation, route, coverage, service.",
                      no_args_is_help=True)
plot_app = typer.Typer(help="Plots (PNG or SVG): RTT over time and its CDF.",
                       no_args_is_help=True)
app.add_typer(map_app, name="map")
app.add_typer(plot_app, name="plot")

_OUT = typer.Option(..., "--out", help="Picture file: .png or .svg.")
_CONST = typer.Option("starlink-shell1", "--constellation", "-c", help="Preset or TLE file.")
_AT = typer.Option(None, "--at", help="UTC time, ISO 8601 (default: the element epoch).")


def _refuse_existing(path: Path, force: bool) -> None:
    if path.exists() and not force:
        raise SkyMeshError(f"{path}: file exists; pass --force to replace it")


@map_app.command("constellation")
def map_constellation(constellation: str = _CONST, at: Optional[str] = _AT, out: Path = _OUT,
                      no_isls: bool = typer.Option(False, "--no-isls", help="Satellites only."),
                      force: bool = typer.Option(False, "--force", help="Replace --out.")):
    """Satellites and their ISLs on a world map."""
    from skymesh.orbits.presets import load_constellation
    from skymesh.report.pictures import constellation_figure
    _refuse_existing(out, force)
    c = load_constellation(constellation)
    constellation_figure(c, _default_start(c, at), out, isls=not no_isls)
    console.print(f"wrote {out}")


@map_app.command("route")
def map_route(a: str = typer.Argument(..., help="From (place or 'lat,lon')."),
              b: str = typer.Argument(..., help="To (place or 'lat,lon')."),
              constellation: str = _CONST, at: Optional[str] = _AT, out: Path = _OUT,
              mode: str = typer.Option("isl", "--mode", help="isl, bent-pipe or hybrid."),
              gateways: Optional[Path] = typer.Option(None, "--gateways", help="Gateway file "
                                                      "(marked, and relays in bent-pipe/hybrid)."),
              force: bool = typer.Option(False, "--force", help="Replace --out.")):
    """The shortest route between two places, satellite by satellite, gateways marked."""
    from skymesh.ground.places import resolve_place
    from skymesh.orbits.presets import load_constellation
    from skymesh.report.pictures import route_figure
    _refuse_existing(out, force)
    c = load_constellation(constellation)
    gw = None
    if gateways is not None:
        from skymesh.ground.gateways import load_gateways
        gw = load_gateways(gateways)
    route_figure(c, resolve_place(a), resolve_place(b), _default_start(c, at), out, mode=mode,
                 gateways=gw)
    console.print(f"wrote {out}")


@map_app.command("coverage")
def map_coverage(constellation: str = _CONST, at: Optional[str] = _AT, out: Path = _OUT,
                 step_deg: float = typer.Option(2.0, "--step-deg", help="Grid spacing (deg)."),
                 min_elevation: float = typer.Option(25.0, "--min-elevation", help="Mask (deg)."),
                 force: bool = typer.Option(False, "--force", help="Replace --out.")):
    """Number of satellites in view over a latitude/longitude grid."""
    from skymesh.orbits.presets import load_constellation
    from skymesh.report.maps import coverage_grid, coverage_map
    _refuse_existing(out, force)
    c = load_constellation(constellation)
    when = _default_start(c, at)
    lat, lon, count = coverage_grid(c, when, step_deg=step_deg, min_elevation_deg=min_elevation)
    coverage_map(lat, lon, count, path=out, title=f"{c.name}: satellites above "
                 f"{min_elevation:g}° at {when:%Y-%m-%d %H:%M} UTC")
    console.print(f"wrote {out}")


@map_app.command("service")
def map_service(scenario: str = typer.Argument(..., help="Scenario file or built-in name."),
                at: Optional[str] = typer.Option(None, "--at", help="UTC time (default: the "
                                                 "scenario's start)."),
                out: Path = _OUT, force: bool = typer.Option(False, "--force", help="Replace --out.")):
    """Country map of service availability under a scenario's policy."""
    from skymesh.report.maps import policy_states, service_map
    from skymesh.sim.scenario import load_scenario
    from skymesh.timebase import parse_time
    _refuse_existing(out, force)
    loaded = load_scenario(scenario)
    start = loaded.scenario.time.start
    if at is None and start == "epoch":
        raise SkyMeshError("this scenario starts at its constellation's epoch: give --at")
    when = parse_time(at) if at else start
    service_map(policy_states(loaded.policy, when), path=out,
                title=f"{loaded.scenario.name}: service at {when:%Y-%m-%d %H:%M} UTC")
    console.print(f"wrote {out}")


@plot_app.command("rtt")
def plot_rtt(a: str = typer.Argument(..., help="From (place or 'lat,lon')."),
             b: str = typer.Argument(..., help="To (place or 'lat,lon')."),
             constellation: str = _CONST,
             start: Optional[str] = typer.Option(None, "--start", help="UTC start."),
             duration: float = typer.Option(600.0, "--duration", help="Window (s)."),
             step: float = typer.Option(1.0, "--step", help="Step (s)."),
             mode: str = typer.Option("isl", "--mode", help="isl, bent-pipe or hybrid."),
             out: Path = _OUT,
             cdf: Optional[Path] = typer.Option(None, "--cdf", help="Also write the CDF here."),
             force: bool = typer.Option(False, "--force", help="Replace existing files.")):
    """RTT over time and its CDF, with the vacuum bound and a great-circle fibre line."""
    from skymesh.ground.places import resolve_place
    from skymesh.orbits.presets import load_constellation
    from skymesh.report.pictures import rtt_figures
    from skymesh.timebase import time_grid
    _refuse_existing(out, force)
    if cdf is not None:
        _refuse_existing(cdf, force)
    pa_, pb = resolve_place(a), resolve_place(b)
    c = load_constellation(constellation)
    grid = time_grid(_default_start(c, start), duration, step)
    from skymesh.network.over_time import GroundPoints, path_series
    eps = GroundPoints.of([pa_.name, pb.name], [pa_.lat_deg, pb.lat_deg],
                          [pa_.lon_deg, pb.lon_deg])
    with _progress(len(grid), "routing", enabled=len(grid) > 120) as bar:
        task = bar.add_task("routing", total=len(grid))
        table = path_series(c, grid, eps, [[0, 1]], mode=mode,
                            progress=lambda n: bar.advance(task, n))
    rtt_figures(table, pa_, pb, out, cdf_path=cdf,
                title=f"{pa_.name} - {pb.name} over {c.name} ({mode})")
    console.print(f"wrote {out}" + (f" and {cdf}" if cdf else ""))


@app.command()
def view(scenario: str = typer.Argument(..., help="Scenario file or built-in name."),
         out: Path = typer.Option(..., "--out", help="HTML file to write."),
         route_from: Optional[str] = typer.Option(None, "--from", help="Route start (place; "
                                                  "default: the scenario's first terminal)."),
         route_to: Optional[str] = typer.Option(None, "--to", help="Route end (place; default: "
                                                "the scenario's first gateway)."),
         max_steps: int = typer.Option(120, "--max-steps", help="Time samples in the file."),
         force: bool = typer.Option(False, "--force", help="Replace --out.")):
    """One self-contained, offline HTML file: constellation, time slider, route, service map."""
    from skymesh.report.pictures import scenario_view
    from skymesh.sim.scenario import load_scenario
    _refuse_existing(out, force)
    loaded = load_scenario(scenario)
    with _progress(1, "drawing", enabled=True) as bar:
        bar.add_task("drawing", total=None)
        scenario_view(loaded, out, route_from=route_from, route_to=route_to, max_steps=max_steps)
    console.print(f"wrote {out}")


@data_app.command("update")
def data_update_cmd(groups: str = typer.Option("starlink,oneweb", "--groups",
                                               help="CelesTrak groups, comma-separated."),
                    base_url: Optional[str] = typer.Option(None, "--base-url",
                                                           help="Mirror of celestrak.org."),
                    timeout: float = typer.Option(30.0, "--timeout", help="Seconds per download."),
                    borders: bool = typer.Option(True, "--borders/--no-borders",
                                                 help="Also fetch Natural Earth 1:50m borders."),
                    borders_url: Optional[str] = typer.Option(None, "--borders-url",
                                                              help="Mirror of the 1:50m GeoJSON.")):
    """Download current CelesTrak TLEs (and finer borders) into the data directory.

    The data directory is $SKYMESH_DATA, else the user cache (see `skymesh data path`).
    Each TLE snapshot is a new timestamped file with a .json sidecar (source URL, download
    time, checksum); nothing already there is overwritten.
    """
    from skymesh.orbits.snapshots import data_update
    written = data_update(groups=tuple(g.strip() for g in groups.split(",") if g.strip()),
                          base_url=base_url, timeout_s=timeout)
    if borders:
        from skymesh.ground.borders import update_borders
        path = update_borders(url=borders_url, timeout_s=timeout)
        if path is not None:
            written.append(path)
    for p in written:
        console.print(f"wrote {p}")


@data_app.command("path")
def data_path_cmd():
    """Print the data directory SkyMesh reads snapshots from."""
    from skymesh.datadir import data_dir
    console.print(str(data_dir()))


@app.callback(invoke_without_command=True)
def _root(version: bool = typer.Option(False, "--version", help="Print the version and exit.")):
    if version:
        console.print(f"skymesh {__version__}")
        raise typer.Exit()


def main(argv=None) -> int:
    """Entry point: run the CLI, turning SkyMesh errors into one line and status 2."""
    try:
        result = app(args=argv, standalone_mode=False)
        return int(result) if isinstance(result, int) else 0
    except SkyMeshError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        return 2
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        err_console.print("aborted")
        return 130
    except click.ClickException as exc:
        exc.show()
        return 2
    except KeyboardInterrupt:
        err_console.print("interrupted (a run resumes with --resume)")
        return 130
    except Exception as exc:  # noqa: BLE001 - the last line of defence: no tracebacks
        import os
        if os.environ.get("SKYMESH_DEBUG"):
            raise
        err_console.print(f"[bold red]internal error:[/] {type(exc).__name__}: {exc}. This is a "
                          "bug in SkyMesh; rerun with SKYMESH_DEBUG=1 for the traceback and "
                          "please report it.", highlight=False, soft_wrap=True)
        return 1


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()
