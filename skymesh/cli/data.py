"""Data commands: data update, data path."""

from __future__ import annotations

from typing import Optional

import typer

from skymesh.cli.common import (console, data_app)


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
