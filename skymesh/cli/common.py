"""Shared pieces of the command line: the Typer apps, consoles, tables, progress bars."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import numpy as np
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from skymesh.errors import SkyMeshError

app = typer.Typer(
    help="SkyMesh: simulate and plan a Starlink-class LEO broadband network.",
    rich_markup_mode=None,
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
data_app = typer.Typer(
    help="Real data: fetch fresh TLEs and borders into the data directory.",
    rich_markup_mode=None,
    no_args_is_help=True,
)
app.add_typer(data_app, name="data")

console = Console()
err_console = Console(stderr=True)


def _progress(total: int, label: str, enabled: bool = True):
    """A rich progress bar (shown on stderr, hidden for --json or tiny jobs)."""
    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
        disable=not enabled,
    )


def _print_table(title, columns, rows, *, right=(), fold: bool = False, keep=()) -> None:
    """A rich table of string ``rows``; columns named in ``right`` (or all, with
    ``right=True``) are right-aligned; ``fold`` wraps long cells instead of cutting them;
    columns named in ``keep`` (names, identifiers) are never wrapped or cut, so a line
    of the table always holds the whole name (``| grep NAME`` finds it)."""
    table = Table(title=title)
    for col in columns:
        table.add_column(
            col,
            justify="right" if right is True or col in right else "left",
            overflow="fold" if fold else "ellipsis",
            no_wrap=col in keep,
            min_width=(
                max([len(col)] + [len(r[columns.index(col)]) for r in rows])
                if col in keep
                else None
            ),
        )
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
            err_console.print(n, style="dim", markup=False, highlight=False, soft_wrap=True)


def _default_start(constellation, start: Optional[str], flag: str = "--start"):
    """The UTC instant the user gave with ``flag``, else the element epoch to the minute
    (:func:`skymesh.timebase.start_or_epoch`)."""
    from skymesh.timebase import start_or_epoch

    return start_or_epoch(constellation, start, flag)


map_app = typer.Typer(
    help="World maps (PNG or SVG): constellation, route, coverage, service.",
    rich_markup_mode=None,
    no_args_is_help=True,
)
plot_app = typer.Typer(
    help="Plots (PNG or SVG): RTT over time and its CDF.",
    rich_markup_mode=None,
    no_args_is_help=True,
)
app.add_typer(map_app, name="map")
app.add_typer(plot_app, name="plot")

_OUT = typer.Option(..., "--out", help="Picture file: .png or .svg.")
_CONST = typer.Option("starlink-shell1", "--constellation", "-c", help="Preset or TLE file.")
_FORCE_EPOCH = typer.Option(
    False,
    "--force-epoch",
    help="Propagate a TLE set more than 30 days from its element epoch "
    "(refused by default: SGP4 positions that far out are not an ephemeris).",
)


def _far_epoch(constellation, force_epoch: bool):
    """``constellation``, allowed past the epoch horizon when ``--force-epoch`` was given."""
    if force_epoch:
        from skymesh.orbits.propagate import allow_far_epoch

        allow_far_epoch(constellation)
    return constellation


_AT = typer.Option(None, "--at", help="UTC time, ISO 8601 (default: the element epoch).")


def _refuse_existing(
    path: Path, force: bool, suffixes: tuple[str, ...] = (".png", ".svg"), flag: str = "--out"
) -> None:
    """Before any work: the extension is one SkyMesh writes, and an existing file needs --force."""
    _check_out_suffix(path, suffixes, flag)
    if Path(path).is_dir():
        raise SkyMeshError(f"{flag} {path}: is a folder, not a file")
    if path.exists() and not force:
        raise SkyMeshError(f"{path}: file exists; pass --force to replace it")


def _finite_nonneg(value):
    """Option callback: a finite number of seconds, zero or more."""
    if value is not None and (not np.isfinite(value) or value < 0):
        raise typer.BadParameter(f"must be finite and zero or more, got {value}")
    return value


def _finite_positive(value):
    """Option callback: a finite number greater than zero."""
    if value is not None and (not np.isfinite(value) or value <= 0):
        raise typer.BadParameter(f"must be finite and greater than zero, got {value}")
    return value


def _elevation_mask(value):
    """Option callback: an elevation mask in [0, 90) deg."""
    if value is not None and not (np.isfinite(value) and 0.0 <= value < 90.0):
        raise typer.BadParameter(f"must be in [0, 90) deg, got {value}")
    return value


def _at_least_one(value):
    """Option callback: a count of one or more."""
    if value is not None and value < 1:
        raise typer.BadParameter(f"must be 1 or more, got {value}")
    return value


def _check_out_suffix(path, allowed: tuple[str, ...], flag: str = "--out") -> None:
    """Refuse an output file whose extension SkyMesh cannot write, before any work."""
    if path is None:
        return
    suffix = Path(path).suffix.lower()
    if suffix not in allowed:
        raise SkyMeshError(
            f"{flag} {path}: cannot write a '{suffix or 'no extension'}' file; "
            f"use {' or '.join(allowed)}"
        )


def _memory_budget_bytes() -> int:
    """Memory a job may plan to use before SkyMesh refuses it, bytes: half of what is free,
    and no more than half the room left under this process's limits (``ulimit -v``, a
    cgroup's ``memory.max``), so a job is refused before it meets a limit, not killed at it."""
    try:
        import psutil

        free = int(psutil.virtual_memory().available)
    except ImportError:  # psutil is a test extra; fall back on /proc
        import os

        free = int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    return min([free] + _limit_room_bytes()) // 2


def _limit_room_bytes() -> list[int]:
    """Bytes left under the address-space rlimit and the cgroup v2 memory limit (if any)."""
    import resource

    room = []
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        try:
            with open("/proc/self/statm") as fh:
                used = int(fh.read().split()[0]) * resource.getpagesize()
        except (OSError, ValueError, IndexError):
            used = 0
        room.append(max(0, soft - used))
    try:
        from pathlib import Path

        cg = Path("/sys/fs/cgroup")
        limit = (cg / "memory.max").read_text().strip()
        if limit != "max":
            room.append(max(0, int(limit) - int((cg / "memory.current").read_text())))
    except (OSError, ValueError):
        pass
    return room


def _check_job_size(n_steps: int, n_sats: int, n_ground: int, *, hint: str) -> None:
    """Estimate a propagate-and-route job before it starts; refuse one the machine cannot hold.

    Positions are 24 bytes per satellite-step (float64 xyz); look angles and the per-step graph
    add about as much again per ground point; the estimate is that sum, rounded up.
    """
    positions = 24.0 * n_steps * n_sats
    geometry = 3 * 8.0 * n_sats * max(n_ground, 1) * min(n_steps, 600)
    need = positions + geometry
    budget = _memory_budget_bytes()
    if need > budget:
        raise SkyMeshError(
            f"this job is {n_steps:,} steps x {n_sats:,} satellites x "
            f"{n_ground:,} ground points, about {need / 2**30:,.1f} GiB of memory; "
            f"this machine can give {budget / 2**30:,.1f} GiB: {hint}"
        )
