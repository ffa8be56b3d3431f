"""Shared pieces of the command line: the Typer apps, consoles, tables, progress bars."""

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
