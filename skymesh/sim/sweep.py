"""Parameter sweeps: the cartesian product of scenario overrides, as independent runs.

A sweep folder holds ``sweep.json`` (its manifest: SkyMesh version, scenario,
grid), one results folder per combination (``run-NNN-VALUES``, a plain run
with its own ``run.json``) and the comparison table ``sweep.csv`` /
``sweep.parquet``. Every path stays under the folder asked for: the values
become a slug of letters, digits and ``.+-`` prefixed with the run number, and
each path is checked to resolve inside the folder. The whole sweep holds
:func:`skymesh.files.folder_lock` on its folder, so two sweeps into one folder
are refused; ``--force`` reuses only a folder a sweep made (its ``sweep.json``).
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from skymesh import __version__
from skymesh.errors import SkyMeshError
from skymesh.files import atomic_path, check_out_folder, folder_lock, write_error, write_text_atomic
from skymesh.sim.run import run_scenario, write_parquet_atomic
from skymesh.sim.scenario import load_scenario

SWEEP_MANIFEST = "sweep.json"


def _slug(value) -> str:
    return re.sub(r"[^A-Za-z0-9.+-]+", "_", str(value))[:40]


def run_folder_name(index: int, combo) -> str:
    """The folder of combination ``index``: ``run-NNN-`` and a slug of its values."""
    return f"run-{index:03d}-" + "-".join(_slug(v) for v in combo)


def headline(summary: dict) -> dict:
    """The metrics a sweep compares, from a run summary (primary operator)."""
    op = summary["operators"][0]
    row = dict(
        service_share=op["service_share"],
        rtt_ms_p50=op["rtt_ms"]["p50"],
        rtt_ms_p95=op["rtt_ms"]["p95"],
        rtt_ms_p99=op["rtt_ms"]["p99"],
        sat_hops_mean=op["sat_hops"]["mean"],
        gateways_used=len(op["gateways"]),
        exits_in_censoring_country=op["exits_inside_censoring_country"],
    )
    if "bent_pipe" in op:
        row["bent_pipe_service_share"] = op["bent_pipe"]["service_share"]
        row["bent_pipe_rtt_ms_p50"] = op["bent_pipe"]["rtt_ms"]["p50"]
    return row


def combinations(scenario: str, grid: dict) -> tuple[list, list]:
    """(combos, loaded scenarios) of ``grid``: every one validated, nothing run."""
    if not grid:
        raise SkyMeshError("a sweep needs at least one --set key=v1,v2")
    keys = list(grid)
    combos = list(itertools.product(*(grid[k] for k in keys)))
    return combos, [load_scenario(scenario, dict(zip(keys, c))) for c in combos]


def _check_sweep_folder(folder: Path, force: bool) -> None:
    check_out_folder(folder)
    if folder.exists() and any(folder.iterdir()):
        if not force:
            raise SkyMeshError(f"{folder}: sweep folder exists; pass --force to replace it")
        if not (folder / SWEEP_MANIFEST).is_file():
            raise SkyMeshError(
                f"{folder}: refusing to write into a non-empty folder that a "
                f"SkyMesh sweep did not create (no {SWEEP_MANIFEST}); "
                "choose another --out"
            )


def run_sweep(
    scenario: str,
    grid: dict,
    *,
    out=None,
    force: bool = False,
    scheduler: str = "sync",
    progress=None,
    before=None,
    log=None,
):
    """Run every combination of ``grid`` ({dotted key: [values]}); return (table, folder).

    Each combination is an independent run in ``out/run-NNN-...``; its chunks go
    to the chosen scheduler. The comparison table is written as
    ``sweep.csv`` and ``sweep.parquet`` in ``out``.

    Parameters
    ----------
    progress : callable(run_index, runs, done_chunks, total_chunks, done_steps, total_steps)
        Called as each run's chunks finish (``run_index`` from 0).
    before : callable(list of LoadedScenario), optional
        Called once every combination is validated and before any work (the CLI's
        cost estimate); it may raise to refuse the sweep.
    log : callable(str), optional
        Where one-line notices go (see :func:`skymesh.sim.run.run_scenario`).
    """
    combos, loaded_runs = combinations(scenario, grid)
    keys = list(grid)
    folder = Path(out) if out else Path("results") / f"{loaded_runs[0].scenario.name}-sweep"
    _check_sweep_folder(folder, force)
    if before is not None:
        before(loaded_runs)
    with folder_lock(folder):
        _check_sweep_folder(folder, force)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise write_error(folder, exc) from None
        root = folder.resolve()
        names = [run_folder_name(i, c) for i, c in enumerate(combos)]
        for name in names:
            if (root / name).resolve().parent != root:
                raise SkyMeshError(f"sweep run folder '{name}' would leave {folder}")
        write_text_atomic(
            folder / SWEEP_MANIFEST,
            json.dumps(
                dict(
                    skymesh_version=__version__,
                    scenario=str(scenario),
                    grid={k: [str(v) for v in vs] for k, vs in grid.items()},
                    runs=names,
                ),
                indent=1,
            )
            + "\n",
        )
        rows = []
        for i, (combo, loaded, name) in enumerate(zip(combos, loaded_runs, names)):
            step = None if progress is None else (lambda *a, _i=i: progress(_i, len(combos), *a))
            summary = run_scenario(
                loaded,
                folder / name,
                overrides=dict(zip(keys, combo)),
                force=True,
                scheduler=scheduler,
                progress=step,
                log=log,
            )
            rows.append(
                dict({"run": name}, **{k: str(v) for k, v in zip(keys, combo)}, **headline(summary))
            )
        table = pa.Table.from_pylist(rows)
        with atomic_path(folder / "sweep.csv") as tmp:
            pacsv.write_csv(table, tmp)
        write_parquet_atomic(table, folder / "sweep.parquet")
    return table, folder
