"""The ``skymesh`` command line: a thin layer that parses, calls one function, prints.

Every command has ``--help``. Errors in what the user gave are one line on
stderr and exit status 2; a file with several mistakes gives them all (up to
:data:`skymesh.errors.MAX_PROBLEMS`): the line ``error: N problems in FILE:``, then one
line per mistake with its line and field.
"""

from __future__ import annotations

import re
import sys

import typer

from skymesh import __version__
from skymesh.cli import (  # noqa: F401,E402  (registers the commands)
    access,
    capacity,  # noqa: F401,E402  (registers `skymesh capacity`)
    data,
    export,  # noqa: F401,E402  (registers `skymesh export`)
    orbits,
    packets,  # noqa: F401,E402  (registers `skymesh packets`)
    pictures,
    runs,
    service,  # noqa: F401,E402  (registers `skymesh serve`, `skymesh audit`)
    validate,
)
from skymesh.cli.common import app, console, err_console
from skymesh.errors import InputErrors, SkyMeshError, printable


@app.callback(invoke_without_command=True)
def _root(version: bool = typer.Option(False, "--version", help="Print the version and exit.")):
    if version:
        console.print(f"skymesh {__version__}")
        raise typer.Exit()


def _usage_classes():
    """The usage-error, exit and abort classes of the click the installed typer uses.

    typer >= 0.22 carries its own copy of click (``typer._click``); older ones use click.
    Both are caught, so a usage mistake is one line and status 2 on either.
    """
    usage, exits, aborts = [], [], []
    try:
        from typer._click import exceptions as tc

        usage.append(tc.ClickException)
    except ImportError:
        pass
    import typer.exceptions as te

    exits.append(getattr(te, "Exit", typer.Exit))
    aborts.append(getattr(te, "Abort", typer.Abort))
    try:
        import click

        usage.append(click.ClickException)
        exits.append(click.exceptions.Exit)
        aborts.append(click.exceptions.Abort)
    except ImportError:
        pass
    return tuple(usage), tuple(exits), tuple(aborts)


def _usage_line(exc) -> tuple[str, int]:
    """One line for a usage mistake, with the command path to ask for help."""
    ctx = getattr(exc, "ctx", None)
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    message = " ".join(str(message).split())
    where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
    return printable(f"error: {message}{where}"), int(getattr(exc, "exit_code", 2) or 2)


_NEGATIVE_COORDINATES = re.compile(r"^-\d+(\.\d*)?\s*,")


def main(argv=None) -> int:
    """Entry point: run the CLI. Usage mistakes and SkyMesh errors are one line and status 2."""
    usage, exits, aborts = _usage_classes()
    args = sys.argv[1:] if argv is None else list(argv)
    # A negative latitude ("-22.9,-43.2") is a place, not an option: a leading space keeps
    # click from reading it as a flag; places are stripped before they are parsed.
    args = [f" {a}" if _NEGATIVE_COORDINATES.match(a) else a for a in args]
    try:
        result = app(args=args, prog_name="skymesh", standalone_mode=False)
        return int(result) if isinstance(result, int) else 0
    except InputErrors as exc:  # several problems: the summary, then one line each
        for line in [f"error: {exc.summary}"] + [printable(str(p)) for p in exc.problems]:
            err_console.print(line, markup=False, highlight=False, soft_wrap=True)
        return 2
    except SkyMeshError as exc:
        err_console.print(printable(f"error: {exc}"), markup=False, highlight=False, soft_wrap=True)
        return 2
    except exits as exc:
        return int(getattr(exc, "exit_code", 0) or 0)
    except aborts:
        err_console.print("aborted", markup=False)
        return 130
    except usage as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":
            # `skymesh` (or a command group) alone: its help, on stdout.
            console.print(exc.format_message(), markup=False, highlight=False, soft_wrap=True)
            return 0 if not args else 2
        line, code = _usage_line(exc)
        err_console.print(line, markup=False, highlight=False, soft_wrap=True)
        return code
    except KeyboardInterrupt:
        err_console.print("interrupted (a run resumes with --resume)", markup=False)
        return 130
    except OSError as exc:
        # A file the user named cannot be read or written: name it and the reason.
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        err_console.print(
            f"error: {where}{exc.strerror or exc}", markup=False, highlight=False, soft_wrap=True
        )
        return 2
    except Exception as exc:  # noqa: BLE001 - the last line of defence: no tracebacks
        import os

        if os.environ.get("SKYMESH_DEBUG"):
            raise
        err_console.print(
            f"internal error: {type(exc).__name__}: {exc}. This is a "
            "bug in SkyMesh; rerun with SKYMESH_DEBUG=1 for the traceback and "
            "please report it.",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        return 1


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
