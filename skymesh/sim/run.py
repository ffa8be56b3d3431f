"""Running a scenario: chunks over time, streamed to disk, resumable, on Dask when asked.

A results folder holds::

    scenario.toml       the scenario as given (with --set overrides recorded in run.json)
    run.json            SkyMesh version, scenario hash, seed, chunk plan, chunks done
    timeseries.parquet/ egress study: every step x operator x terminal
    rtt.parquet/, fstate_changes.parquet/
                        routing study: RTT per step and pair, forwarding-state changes
    pairs.parquet       routing study: per-pair statistics
    summary.json        headline numbers
    report.md           the same, as tables for people

The ``NAME.parquet/`` folders are Parquet datasets, one ``part-NNNNN.parquet``
file per chunk in time order, which pyarrow, pandas, Polars and DuckDB read as
one table (``pyarrow.parquet.read_table("timeseries.parquet")``). Each chunk is
computed independently from the scenario alone (every random draw comes from
its seeds), written there as soon as it is done (under a temporary name first)
and recorded in ``run.json``; so memory stays flat as the duration grows, and an
interrupted run resumes with ``resume=True`` from the chunks already on disk,
giving the same results as an uninterrupted one. ``scheduler`` picks where
chunks run: ``"sync"`` (here, one after another), ``"processes"`` (a local
Dask cluster on all cores) or the address of a Dask distributed scheduler
(``"tcp://host:8786"``).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import pyarrow.parquet as pq

from skymesh import __version__
from skymesh.errors import InputError, SkyMeshError
from skymesh.sim.scenario import LoadedScenario

DEFAULT_CHUNK_TERMINAL_STEPS = 200_000
"""Chunk length aims at this many terminal-steps (rows) per operator."""

_PREPARED: dict = {}


def _prepared(loaded: LoadedScenario):
    """``prepare(loaded)``, cached per process (Dask workers reuse it across chunks)."""
    from skymesh.sim.prepare import prepare
    key = loaded.sha256
    if key not in _PREPARED:
        _PREPARED.clear()
        _PREPARED[key] = prepare(loaded)
    return _PREPARED[key]


def _chunk_task(loaded: LoadedScenario, start: int, stop: int) -> dict:
    """The result tables of one chunk, by output name."""
    prep = _prepared(loaded)
    if loaded.scenario.study == "routing":
        from skymesh.sim.routing_chunk import compute_routing_chunk
        return compute_routing_chunk(prep, start, stop)
    from skymesh.sim.egress_chunk import compute_chunk
    return {"timeseries": compute_chunk(prep, start, stop)}


def outputs_of(loaded: LoadedScenario) -> tuple[str, ...]:
    """Names of the Parquet files a study writes (one row group per chunk each)."""
    return ("rtt", "fstate_changes") if loaded.scenario.study == "routing" else ("timeseries",)


def plan_chunks(loaded: LoadedScenario, n_steps: int, n_terminals: int) -> list[tuple[int, int]]:
    from skymesh.sim.egress_chunk import chunk_bounds
    rows_per_step = (n_terminals * (n_terminals - 1) // 2 if loaded.scenario.study == "routing"
                     else n_terminals)
    steps = loaded.scenario.output.chunk_steps or max(
        1, DEFAULT_CHUNK_TERMINAL_STEPS // max(1, rows_per_step))
    return chunk_bounds(n_steps, steps)


def _write_json_atomic(path: Path, doc: dict) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        json.dump(doc, fh, indent=1, default=str)
        fh.write("\n")
    os.replace(tmp, path)


def _part_path(out: Path, name: str, index: int) -> Path:
    return out / f"{name}.parquet" / f"part-{index:05d}.parquet"


def _write_parts(out: Path, index: int, tables: dict) -> None:
    """Write a chunk's tables; each appears under its final name only once complete
    (readers skip names starting with '.')."""
    for name, table in tables.items():
        final = _part_path(out, name, index)
        final.parent.mkdir(exist_ok=True)
        tmp = final.parent / f".part-{index:05d}.parquet.tmp"
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, final)


def _check_replaceable(out: Path) -> None:
    """Refuse to delete ``out`` unless SkyMesh made it (its run.json manifest records a
    SkyMesh version, scenario hash and seed) and it is not /, home, cwd or a parent of cwd."""
    target = Path(out).resolve()
    cwd = Path.cwd().resolve()
    protected = {Path(target.anchor), Path.home().resolve(), cwd}
    if target in protected or target in cwd.parents:
        raise InputError(f"{out}: refusing to replace this folder with --force "
                         "(it is /, the home folder, the current folder or one of its parents)",
                         field="out")
    manifest = target / "run.json"
    try:
        state = json.loads(manifest.read_text()) if manifest.is_file() else None
    except (OSError, ValueError):
        state = None
    if not (isinstance(state, dict)
            and all(k in state for k in ("skymesh_version", "scenario_sha256", "seed"))):
        raise InputError(f"{out}: refusing to replace a non-empty folder that SkyMesh did not "
                         "create (no SkyMesh run.json manifest); choose another --out",
                         field="out")


def _open_results(out: Path, loaded: LoadedScenario, overrides, chunks, *, force, resume):
    run_json = out / "run.json"
    if out.exists() and any(out.iterdir()):
        if resume:
            if not run_json.exists():
                raise SkyMeshError(f"{out}: no run.json here, nothing to resume")
            state = json.loads(run_json.read_text())
            if state.get("scenario_sha256") != loaded.sha256:
                raise SkyMeshError(f"{out}: the scenario changed since this run started "
                                   "(its hash differs); start a new run or pass --force")
            if state.get("finished"):
                raise SkyMeshError(f"{out}: this run already finished; nothing to resume")
            return state
        if not force:
            raise SkyMeshError(f"{out}: results folder exists; pass --force to replace it "
                               "or --resume to continue an interrupted run")
        _check_replaceable(out)
        shutil.rmtree(out)
    elif resume:
        raise SkyMeshError(f"{out}: nothing to resume (no such results folder)")
    out.mkdir(parents=True, exist_ok=True)
    (out / "scenario.toml").write_text(loaded.text)
    state = dict(skymesh_version=__version__, scenario=loaded.scenario.name,
                 scenario_source=loaded.source, scenario_sha256=loaded.sha256,
                 seed=loaded.scenario.seed, overrides=overrides or {},
                 chunks=[list(c) for c in chunks], done=[],
                 started_utc=datetime.now(timezone.utc).isoformat(), finished=False)
    _write_json_atomic(run_json, state)
    return state


def _client(scheduler: str, workers: int | None = None):
    """A Dask client for ``scheduler`` (``processes`` starts a local cluster of ``workers``)."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise SkyMeshError("the Dask schedulers need dask.distributed: "
                           "pip install 'dask[distributed]'") from None
    if scheduler == "processes":
        cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                               processes=True, dashboard_address=None)
        return Client(cluster), cluster
    if scheduler.startswith(("tcp://", "tls://", "ws://", "wss://")):
        try:
            return Client(scheduler, timeout="10s"), None
        except OSError as exc:
            raise SkyMeshError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    raise InputError(f"unknown scheduler '{scheduler}': use sync, processes or tcp://host:port",
                     field="scheduler")


def run_scenario(loaded: LoadedScenario, out, *, overrides=None, force: bool = False,
                 resume: bool = False, scheduler: str = "sync", client=None,
                 workers: int | None = None, progress=None,
                 stop_after: int | None = None) -> dict:
    """Run ``loaded`` into the results folder ``out``; return the summary.

    Parameters
    ----------
    progress : callable(done_chunks, total_chunks), optional
    client : dask.distributed.Client, optional
        Use this client instead of making one from ``scheduler``.
    workers : int, optional
        Worker processes for ``scheduler="processes"`` (default: every core).
    stop_after : int, optional
        Stop (as if interrupted) after this many new chunks: for tests of resuming.
    """
    from skymesh.report.markdown import write_report
    out = Path(out)
    prep = _prepared(loaded)
    chunks = plan_chunks(loaded, len(prep.grid), prep.n_terminals * len(prep.operators))
    state = _open_results(out, loaded, overrides, chunks, force=force, resume=resume)
    chunks = [tuple(c) for c in state["chunks"]]
    names = outputs_of(loaded)
    todo = [i for i in range(len(chunks))
            if i not in set(state["done"])
            or not all(_part_path(out, n, i).exists() for n in names)]
    done = set(state["done"]) - set(todo)
    if progress:
        progress(len(done), len(chunks))

    def finished_chunk(i, tables):
        _write_parts(out, i, tables)
        done.add(i)
        state["done"] = sorted(done)
        _write_json_atomic(out / "run.json", state)
        if progress:
            progress(len(done), len(chunks))

    if stop_after is not None:
        todo = todo[:stop_after]
    if scheduler == "sync" and client is None:
        for i in todo:
            finished_chunk(i, _chunk_task(loaded, *chunks[i]))
    else:
        own = None
        if client is None:
            client, own = _client(scheduler, workers)
        try:
            from dask.distributed import as_completed
            remote = client.scatter(loaded, broadcast=True)
            futures = {client.submit(_chunk_task, remote, *chunks[i], pure=False): i
                       for i in todo}
            for fut in as_completed(futures):
                # Take the result and let the future go, so workers free it at once.
                finished_chunk(futures.pop(fut), fut.result())
                fut.release()
        finally:
            if own is not None:
                client.close()
                own.close()
    if stop_after is not None and len(done) < len(chunks):
        return {"interrupted": True, "done": len(done), "chunks": len(chunks)}
    if loaded.scenario.study == "routing":
        summary = _routing_summary(out, loaded, prep)
    else:
        summary = _egress_summary(out, loaded, prep)
    summary["run"] = {k: state[k] for k in ("skymesh_version", "scenario", "scenario_source",
                                            "scenario_sha256", "seed", "overrides")}
    summary["run"]["chunks"] = len(chunks)
    summary["notes"] = list(prep.notes) + summary.get("notes", [])
    _write_json_atomic(out / "summary.json", summary)
    if loaded.scenario.study == "routing":
        from skymesh.report.markdown import write_routing_report
        write_routing_report(out, summary, loaded)
    else:
        write_report(out, summary, loaded)
    state["finished"] = True
    state["finished_utc"] = datetime.now(timezone.utc).isoformat()
    _write_json_atomic(out / "run.json", state)
    return summary


def _egress_summary(out: Path, loaded, prep) -> dict:
    """Summary of an egress run, with capacity, cost and figures when the scenario wants them."""
    from skymesh.sim.summary import summarize_run
    summary, series = summarize_run(out / "timeseries.parquet", prep)
    summary["notes"] = []
    wanted = loaded.scenario.metrics.wanted
    if loaded.scenario.capacity is not None and "capacity" in wanted:
        from skymesh.sim.capacity_pass import capacity_pass
        summary["capacity"], cap_table = capacity_pass(prep)
        pq.write_table(cap_table, out / "capacity.parquet")
    if loaded.scenario.cost is not None and "cost" in wanted:
        from skymesh.sim.costs import scenario_bill
        bill = scenario_bill(loaded)
        summary["cost"] = dict(periods=bill["periods"], assumptions=bill["assumptions"],
                               markdown=_cost_markdown(bill))
    if "figures" in wanted:
        try:
            from skymesh.report.pictures import run_figures
            summary["figures"] = run_figures(out, prep, series)
        except Exception as exc:  # a figure must never lose a finished run's numbers
            summary["notes"].append(f"figures not drawn: {exc}")
    return summary


def _routing_summary(out: Path, loaded, prep) -> dict:
    from skymesh.sim.routing_chunk import summarize_routing
    summary, extra = summarize_routing(out, prep)
    pq.write_table(extra["pairs"], out / "pairs.parquet")
    return summary


def _cost_markdown(bill: dict) -> list[str]:
    lines = ["| period | months | modelled | reported | ratio | hardware share |",
             "|---|---|---|---|---|---|"]
    for p in bill["periods"]:
        rep = "n/a" if p["reported_usd"] is None else f"${p['reported_usd'] / 1e6:,.0f}M"
        ratio = "n/a" if p["ratio"] is None else f"{p['ratio']:.2f}"
        lines.append(f"| {p['period']} | {p['first']}..{p['last']} | "
                     f"${p['total_usd'] / 1e6:,.1f}M | {rep} | {ratio} | "
                     f"{100 * p['hardware_share']:.0f} % |")
    return lines + [""] + [f"- {a}" for a in bill["assumptions"]]
