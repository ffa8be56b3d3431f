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
from skymesh.cli.common import app, console, err_console
from skymesh.cli import data, orbits, pictures, runs  # noqa: F401,E402  (registers the commands)


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
