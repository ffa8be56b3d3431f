"""Picture commands: map ..., plot ..., view."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from skymesh.cli.common import (
    _AT,
    _CONST,
    _FORCE_EPOCH,
    _OUT,
    _check_job_size,
    _default_start,
    _elevation_mask,
    _far_epoch,
    _finite_nonneg,
    _finite_positive,
    _progress,
    _refuse_existing,
    app,
    console,
    map_app,
    plot_app,
)
from skymesh.errors import SkyMeshError


@map_app.command("constellation")
def map_constellation(
    constellation: str = _CONST,
    at: Optional[str] = _AT,
    out: Path = _OUT,
    no_isls: bool = typer.Option(False, "--no-isls", help="Satellites only."),
    force: bool = typer.Option(False, "--force", help="Replace --out."),
    force_epoch: bool = _FORCE_EPOCH,
):
    """Satellites and their ISLs on a world map."""
    from skymesh.orbits.presets import load_constellation
    from skymesh.report.pictures import constellation_figure

    _refuse_existing(out, force)
    c = load_constellation(constellation)
    _far_epoch(c, force_epoch)
    constellation_figure(c, _default_start(c, at, "--at"), out, isls=not no_isls)
    console.print(f"wrote {out}")


@map_app.command("route")
def map_route(
    a: str = typer.Argument(..., help="From (place or 'lat,lon')."),
    b: str = typer.Argument(..., help="To (place or 'lat,lon')."),
    constellation: str = _CONST,
    at: Optional[str] = _AT,
    out: Path = _OUT,
    mode: str = typer.Option("isl", "--mode", help="isl, bent-pipe or hybrid."),
    gateways: Optional[Path] = typer.Option(
        None, "--gateways", help="Gateway file (marked, and relays in bent-pipe/hybrid)."
    ),
    force: bool = typer.Option(False, "--force", help="Replace --out."),
    force_epoch: bool = _FORCE_EPOCH,
):
    """The shortest route between two places, satellite by satellite, gateways marked."""
    from skymesh.ground.places import resolve_place
    from skymesh.orbits.presets import load_constellation
    from skymesh.report.pictures import route_figure

    _refuse_existing(out, force)
    c = load_constellation(constellation)
    _far_epoch(c, force_epoch)
    gw = None
    if gateways is not None:
        from skymesh.ground.gateways import load_gateways

        gw = load_gateways(gateways)
    route_figure(
        c,
        resolve_place(a),
        resolve_place(b),
        _default_start(c, at, "--at"),
        out,
        mode=mode,
        gateways=gw,
    )
    console.print(f"wrote {out}")


@map_app.command("coverage")
def map_coverage(
    constellation: str = _CONST,
    at: Optional[str] = _AT,
    out: Path = _OUT,
    step_deg: float = typer.Option(2.0, "--step-deg", help="Grid spacing (deg)."),
    min_elevation: float = typer.Option(
        25.0, "--min-elevation", callback=_elevation_mask, help="Mask (deg), in [0, 90)."
    ),
    force: bool = typer.Option(False, "--force", help="Replace --out."),
    force_epoch: bool = _FORCE_EPOCH,
):
    """Number of satellites in view over a latitude/longitude grid."""
    from skymesh.orbits.presets import load_constellation
    from skymesh.report.maps import coverage_grid, coverage_map

    _refuse_existing(out, force)
    c = load_constellation(constellation)
    _far_epoch(c, force_epoch)
    when = _default_start(c, at, "--at")
    lat, lon, count = coverage_grid(c, when, step_deg=step_deg, min_elevation_deg=min_elevation)
    coverage_map(
        lat,
        lon,
        count,
        path=out,
        title=f"{c.name}: satellites above {min_elevation:g}° at {when:%Y-%m-%d %H:%M} UTC",
    )
    console.print(f"wrote {out}")


@map_app.command("service")
def map_service(
    scenario: str = typer.Argument(..., help="Scenario file or built-in name."),
    at: Optional[str] = typer.Option(
        None, "--at", help="UTC time (default: the scenario's start)."
    ),
    out: Path = _OUT,
    force: bool = typer.Option(False, "--force", help="Replace --out."),
):
    """Country map of service availability under a scenario's policy, with its
    terminals and gateways marked."""
    from skymesh.report.pictures import service_figure
    from skymesh.sim.scenario import load_scenario

    _refuse_existing(out, force)
    loaded = load_scenario(scenario)
    start = loaded.scenario.time.start
    if at is None and start == "epoch":
        raise SkyMeshError("this scenario starts at its constellation's epoch: give --at")
    when = _default_start(None, at, "--at") if at else start
    service_figure(loaded, when, out)
    console.print(f"wrote {out}")


@plot_app.command("rtt")
def plot_rtt(
    a: str = typer.Argument(..., help="From (place or 'lat,lon')."),
    b: str = typer.Argument(..., help="To (place or 'lat,lon')."),
    constellation: str = _CONST,
    start: Optional[str] = typer.Option(None, "--start", help="UTC start."),
    duration: float = typer.Option(
        600.0, "--duration", callback=_finite_nonneg, help="Window (s)."
    ),
    step: float = typer.Option(1.0, "--step", callback=_finite_positive, help="Step (s)."),
    mode: str = typer.Option("isl", "--mode", help="isl, bent-pipe or hybrid."),
    out: Path = _OUT,
    cdf: Optional[Path] = typer.Option(None, "--cdf", help="Also write the CDF here."),
    force: bool = typer.Option(False, "--force", help="Replace existing files."),
    force_epoch: bool = _FORCE_EPOCH,
):
    """RTT over time and its CDF, with the vacuum bound and a great-circle fibre line."""
    from skymesh.ground.places import resolve_pair
    from skymesh.orbits.presets import load_constellation
    from skymesh.report.pictures import rtt_figures
    from skymesh.timebase import time_grid

    _refuse_existing(out, force)
    if cdf is not None:
        _refuse_existing(cdf, force, flag="--cdf")
        if Path(cdf).resolve() == Path(out).resolve():
            raise SkyMeshError(f"--cdf {cdf}: same file as --out; give the CDF its own file")
    pa_, pb = resolve_pair(a, b)
    c = load_constellation(constellation)
    _far_epoch(c, force_epoch)
    _check_job_size(
        int(duration // step) + 1, len(c), 2, hint="use a shorter --duration or a coarser --step"
    )
    grid = time_grid(_default_start(c, start), duration, step)
    from skymesh.network.over_time import GroundPoints, path_series

    eps = GroundPoints.of([pa_.name, pb.name], [pa_.lat_deg, pb.lat_deg], [pa_.lon_deg, pb.lon_deg])
    with _progress(len(grid), "routing", enabled=len(grid) > 120) as bar:
        task = bar.add_task("routing", total=len(grid))
        table = path_series(
            c, grid, eps, [[0, 1]], mode=mode, progress=lambda n: bar.advance(task, n)
        )
    rtt_figures(
        table, pa_, pb, out, cdf_path=cdf, title=f"{pa_.name} - {pb.name} over {c.name} ({mode})"
    )
    console.print(f"wrote {out}" + (f" and {cdf}" if cdf else ""))


@app.command()
def view(
    target: str = typer.Argument(
        ..., help="A results folder of `skymesh run`, or a scenario file or built-in name."
    ),
    out: Path = typer.Option(..., "--out", help="HTML file to write."),
    terminal: Optional[int] = typer.Option(
        None,
        "--terminal",
        min=0,
        help="The terminal whose route is drawn (its index in timeseries.parquet; "
        "default: a typical one, served most, median RTT nearest the run's p50).",
    ),
    operator: Optional[str] = typer.Option(
        None,
        "--operator",
        help="The operator drawn, by its label in the run (default: the primary one).",
    ),
    results: Optional[Path] = typer.Option(
        None,
        "--results",
        help="For a scenario: the results folder to view or to run it into "
        "(default: results/NAME, as skymesh run).",
    ),
    set_: list[str] = typer.Option(
        [], "--set", help="For a scenario: override a key, as skymesh run --set."
    ),
    max_steps: int = typer.Option(120, "--max-steps", min=2, help="Time samples in the file."),
    force: bool = typer.Option(False, "--force", help="Replace --out."),
):
    """One self-contained, offline HTML file of a finished run: constellation, time
    slider, the route one of its terminals took (serving satellite, gateway, PoP) and
    its RTT with components, the run's RTT median, service by country.

    Given a scenario, the view uses its run in results/NAME; when there is none and
    the run is short (at most 2 min estimated) it runs it there first, otherwise it
    says which command to run.
    """
    from skymesh.report.run_view import is_results_folder, results_for_scenario, run_view

    _refuse_existing(out, force, (".html",))
    if is_results_folder(target):
        if set_ or results is not None:
            raise SkyMeshError(
                f"{target} is a results folder: --set and --results are for a scenario"
            )
        folder = Path(target)
    else:
        from skymesh.cli.runs import _log_line, _parse_sets
        from skymesh.sim.scenario import load_scenario

        if Path(target).is_dir():
            raise SkyMeshError(
                f"{target}: a folder without run.json; give a results folder of skymesh run "
                "or a scenario"
            )
        overrides = _parse_sets(set_, multi=False)
        loaded = load_scenario(target, overrides)
        folder = results_for_scenario(
            loaded,
            results or Path("results") / loaded.scenario.name,
            overrides=overrides,
            log=_log_line,
        )
    with _progress(1, "drawing", enabled=True) as bar:
        bar.add_task("drawing", total=None)
        run_view(folder, out, terminal=terminal, operator=operator, max_steps=max_steps)
    console.print(f"wrote {out} (the run in {folder})")
