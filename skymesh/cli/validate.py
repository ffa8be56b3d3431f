"""``skymesh validate``: SkyMesh's figures against published measurements.

Exit status: 0 when every case that ran is inside its band (skipped cases do not
count), 1 when at least one case is outside its band, 2 for a usage mistake.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer

from skymesh.cli.common import _print_table, _progress, app, console, err_console
from skymesh.errors import SkyMeshError

MD_NAME = "validation.md"
JSON_NAME = "validation.json"


def _targets(
    out_dir: Optional[Path], md: Optional[Path], json_path: Optional[Path], force: bool
) -> tuple[Optional[Path], Optional[Path]]:
    """The Markdown and JSON files to write, checked before any case runs."""
    if out_dir is not None:
        if out_dir.exists() and not out_dir.is_dir():
            raise SkyMeshError(f"--out-dir {out_dir}: is a file, not a folder")
        md = md or out_dir / MD_NAME
        json_path = json_path or out_dir / JSON_NAME
    for flag, path, suffix in (("--md", md, ".md"), ("--json", json_path, ".json")):
        if path is None or str(path) == "-":
            continue
        if path.suffix.lower() != suffix:
            raise SkyMeshError(f"{flag} {path}: expected a {suffix} file")
        if path.is_dir():
            raise SkyMeshError(f"{flag} {path}: is a folder, not a file")
        if path.exists() and not force:
            raise SkyMeshError(f"{path}: file exists; pass --force to replace it")
    return md, json_path


@app.command()
def validate(
    quick: bool = typer.Option(
        False, "--quick", help="Run only the fast subset (the one `make test` runs)."
    ),
    case: Optional[List[str]] = typer.Option(
        None, "--case", help="Run only this case (repeatable)."
    ),
    data_dir: Optional[Path] = typer.Option(
        None,
        "--data-dir",
        help="Folder of the "
        "curated reference data (default: "
        "$SKYMESH_DATA; cases that need it are "
        "skipped without it).",
    ),
    out_dir: Optional[Path] = typer.Option(
        None, "--out-dir", help=f"Write {MD_NAME} and {JSON_NAME} here."
    ),
    md: Optional[Path] = typer.Option(
        None, "--md", help="Write the table as Markdown to this .md file."
    ),
    json_path: Optional[Path] = typer.Option(
        None,
        "--json",
        help="Write the table as JSON to this .json file ('-': print it instead of the table).",
    ),
    force: bool = typer.Option(False, "--force", help="Replace files that exist."),
    list_cases: bool = typer.Option(False, "--list", help="List the cases and exit."),
):
    """Run the validation cases: each published figure, SkyMesh's figure for the same
    conditions, the ratio and its band. Exits 1 when a case is outside its band."""
    from skymesh.files import write_text_atomic
    from skymesh.validate.cases import all_cases, failed, run_cases
    from skymesh.validate.report import terminal_rows, to_json, to_markdown

    if list_cases:
        _print_table(
            "Validation cases",
            ("case", "quick", "data", "title"),
            [
                (c.id, "yes" if c.quick else "", "yes" if c.needs_data else "", c.title)
                for c in all_cases()
            ],
            fold=True,
        )
        return 0
    if data_dir is not None and not data_dir.is_dir():
        raise SkyMeshError(f"--data-dir {data_dir}: not a folder")
    md, json_path = _targets(out_dir, md, json_path, force)
    to_stdout = json_path is not None and str(json_path) == "-"
    known = sorted(c.id for c in all_cases())
    for name in case or ():  # before the progress bar, so the error is one clean line
        if name not in known:
            raise SkyMeshError(f"--case: no validation case '{name}' (cases: {', '.join(known)})")
    n = len([c for c in all_cases() if c.quick or not quick]) if not case else len(case)
    with _progress(n, "validating", enabled=not to_stdout) as bar:
        task = bar.add_task("validating", total=n)
        rows = run_cases(
            quick=quick, data_dir=data_dir, only=case, progress=lambda c: bar.advance(task, 1)
        )
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    if md is not None:
        write_text_atomic(md, to_markdown(rows, quick=quick))
    if json_path is not None and not to_stdout:
        write_text_atomic(json_path, to_json(rows, quick=quick))
    bad = failed(rows)
    if to_stdout:
        sys.stdout.write(to_json(rows, quick=quick))
        return 1 if bad else 0
    _print_table(
        "Validation: SkyMesh against published figures",
        ("case", "published", "SkyMesh", "ratio", "band", "result"),
        terminal_rows(rows),
        right=("published", "SkyMesh", "ratio"),
        fold=True,
    )
    for r in rows:
        if r["outcome"] != "pass":
            console.print(
                f"{r['id']}: {r['outcome']}" + (f" ({r['note']})" if r["note"] else ""),
                markup=False,
                highlight=False,
            )
    for path in (md, json_path):
        if path is not None:
            err_console.print(f"wrote {path}", markup=False, highlight=False)
    if bad:
        err_console.print(
            f"{len(bad)} case(s) outside their band: {', '.join(r['id'] for r in bad)}",
            markup=False,
            highlight=False,
        )
    return 1 if bad else 0
