"""Data commands: data update, data path."""

from __future__ import annotations

from typing import Optional

import typer

from skymesh.cli.common import _progress, console, data_app, err_console


@data_app.command("update")
def data_update_cmd(
    groups: str = typer.Option(
        "starlink,oneweb", "--groups", help="CelesTrak groups, comma-separated."
    ),
    base_url: Optional[str] = typer.Option(None, "--base-url", help="Mirror of celestrak.org."),
    timeout: float = typer.Option(30.0, "--timeout", help="Seconds per download."),
    borders: bool = typer.Option(
        True, "--borders/--no-borders", help="Also fetch Natural Earth 1:50m borders."
    ),
    borders_url: Optional[str] = typer.Option(
        None, "--borders-url", help="Mirror of the 1:50m GeoJSON."
    ),
    sites: bool = typer.Option(
        True,
        "--sites/--no-sites",
        help="Also fetch the current Starlink gateway + PoP list (starlink-viz, MIT).",
    ),
    sites_url: Optional[str] = typer.Option(
        None,
        "--sites-url",
        help="Where the gateway + PoP list comes from (starlink-viz's ground-stations.json "
        "or a gateway CSV; default $SKYMESH_SITES_URL or starlink-viz on GitHub).",
    ),
    force: bool = typer.Option(
        False,
        "--force",
        help="Take a download that fails the size, satellite-count or "
        "epoch checks (it must still be TLE text), or a gateway list with fewer than "
        "half the current list's sites.",
    ),
):
    """Download current CelesTrak TLEs, the Starlink gateway + PoP list (and finer borders)
    into the data directory.

    SkyMesh ships element sets (Starlink 2025-12-04, OneWeb 2025-10-07) and a gateway + PoP
    list (2026-03-20) and works offline; what this fetches is used instead where it is newer.
    The data directory is $SKYMESH_DATA, else the user cache (see `skymesh data path`).
    Each TLE snapshot is a new timestamped file with a .json sidecar (source URL, download
    time, checksum); nothing already there is overwritten. A download becomes the newest
    snapshot only if it is TLE text of at most 32 MiB, holds at least half the previous
    snapshot's satellites and has every element epoch within 30 days (--force overrides
    the last three).
    """
    from skymesh.orbits.snapshots import check_group, data_update

    names = tuple(check_group(g.strip()) for g in groups.split(",") if g.strip())
    if not names and not borders and not sites:
        raise typer.BadParameter("nothing to fetch: give at least one group", param_hint="--groups")
    total = len(names) + int(borders) + int(sites)
    tty = err_console.is_terminal
    done = [0]
    bar = _progress(total, "data update", enabled=tty)
    task = bar.add_task("data update", total=total)

    def tick(path) -> None:
        done[0] += 1
        bar.advance(task)
        if not tty:  # logs and CI: one plain line per file
            err_console.print(
                f"data update: {done[0]}/{total} files, wrote {path}",
                highlight=False,
                markup=False,
                soft_wrap=True,
            )

    with bar:
        written = data_update(
            groups=names, base_url=base_url, timeout_s=timeout, force=force, on_file=tick
        )
        if borders:
            from skymesh.ground.borders import update_borders

            path = update_borders(url=borders_url, timeout_s=timeout)
            if path is not None:
                written.append(path)
            tick(path if path is not None else "borders (already there)")
        if sites:
            from skymesh.ground.sites import update_sites

            path = update_sites(url=sites_url, timeout_s=timeout, force=force)
            if path is not None:
                written.append(path)
            tick(path if path is not None else "gateway + PoP list (already there)")
    for p in written:
        console.print(f"wrote {p}")


@data_app.command("path")
def data_path_cmd():
    """Print the data directory SkyMesh reads snapshots from."""
    from skymesh.datadir import data_dir

    console.print(str(data_dir()))
