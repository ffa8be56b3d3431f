"""Parameter sweeps: the cartesian product of scenario overrides, as independent runs."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from skymesh.errors import SkyMeshError
from skymesh.sim.run import run_scenario
from skymesh.sim.scenario import load_scenario


def _slug(value) -> str:
    return re.sub(r"[^A-Za-z0-9.+-]+", "_", str(value))[:40]


def headline(summary: dict) -> dict:
    """The metrics a sweep compares, from a run summary (primary operator)."""
    op = summary["operators"][0]
    row = dict(service_share=op["service_share"], rtt_ms_p50=op["rtt_ms"]["p50"],
               rtt_ms_p95=op["rtt_ms"]["p95"], rtt_ms_p99=op["rtt_ms"]["p99"],
               sat_hops_mean=op["sat_hops"]["mean"], gateways_used=len(op["gateways"]),
               exits_in_censoring_country=op["exits_inside_censoring_country"])
    if "bent_pipe" in op:
        row["bent_pipe_service_share"] = op["bent_pipe"]["service_share"]
        row["bent_pipe_rtt_ms_p50"] = op["bent_pipe"]["rtt_ms"]["p50"]
    return row


def run_sweep(scenario: str, grid: dict, *, out=None, force: bool = False,
              scheduler: str = "sync", progress=None):
    """Run every combination of ``grid`` ({dotted key: [values]}); return (table, folder).

    Each combination is an independent run in ``out/run-NNN-...``; its chunks go
    to the chosen scheduler. The comparison table is written as
    ``sweep.csv`` and ``sweep.parquet`` in ``out``.
    """
    if not grid:
        raise SkyMeshError("a sweep needs at least one --set key=v1,v2")
    keys = list(grid)
    combos = list(itertools.product(*(grid[k] for k in keys)))
    # Every combination is validated before any work starts.
    loaded_runs = [load_scenario(scenario, dict(zip(keys, c))) for c in combos]
    folder = Path(out) if out else Path("results") / f"{loaded_runs[0].scenario.name}-sweep"
    if folder.exists() and any(folder.iterdir()) and not force:
        raise SkyMeshError(f"{folder}: sweep folder exists; pass --force to replace it")
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, (combo, loaded) in enumerate(zip(combos, loaded_runs)):
        name = f"run-{i:03d}-" + "-".join(_slug(v) for v in combo)
        summary = run_scenario(loaded, folder / name, overrides=dict(zip(keys, combo)),
                               force=True, scheduler=scheduler)
        rows.append(dict({"run": name}, **{k: str(v) for k, v in zip(keys, combo)},
                         **headline(summary)))
        if progress:
            progress(i + 1, len(combos))
    table = pa.Table.from_pylist(rows)
    pacsv.write_csv(table, folder / "sweep.csv")
    pq.write_table(table, folder / "sweep.parquet")
    return table, folder
