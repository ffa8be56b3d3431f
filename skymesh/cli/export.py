"""``skymesh export``: a run's results as CZML (Cesium, STK) or GeoJSON (QGIS, web maps)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from skymesh.cli.common import app, console


@app.command("export")
def export(
    results: Path = typer.Argument(..., help="A results folder (skymesh run --out)."),
    fmt: str = typer.Option(..., "--format", help="czml or geojson."),
    out: Path = typer.Option(..., "--out", help="File to write (.czml / .geojson, or .json)."),
    force: bool = typer.Option(False, "--force", help="Replace --out."),
    max_mb: float = typer.Option(
        50.0,
        "--max-mb",
        help="CZML: cap on the file size (MB); satellites' samples are decimated to fit.",
    ),
    max_steps: Optional[int] = typer.Option(
        None, "--max-steps", min=2, help="CZML: at most this many instants (default: all that fit)."
    ),
    routes: int = typer.Option(
        10, "--routes", min=0, help="CZML: routes of this many terminals (spread evenly)."
    ),
):
    """Write a run as CZML (satellites in the Earth-fixed frame, routes, service states over
    time) or GeoJSON (service states by country, capacity cells, gateways, PoPs, terminals)."""
    from skymesh.report.export import check_export_args, export_run

    check_export_args(fmt.lower(), out, force)  # before any work
    note = export_run(
        results,
        fmt.lower(),
        out,
        force=force,
        max_mb=max_mb,
        max_steps=max_steps,
        max_routes=routes,
    )
    if fmt.lower() == "czml":
        kept = note["steps_kept"]
        extra = (
            f"; satellites about every {note['kept_step_s']:g} s ({kept} of {note['steps']} steps, "
            f"decimated to fit --max-mb {max_mb:g})"
            if kept < note["steps"]
            else f"; every step ({kept})"
        )
        console.print(
            f"wrote {out} ({note['bytes'] / 1e6:.1f} MB): {note['satellites']:,} satellites"
            f"{extra}, {note['routes']} route stretches "
            f"({note['routes_with_isl_path']} with their ISL path)"
        )
    else:
        kinds = ", ".join(f"{n} {k}" for k, n in note["features"].items())
        console.print(f"wrote {out} ({note['bytes'] / 1e6:.1f} MB): {kinds}")
