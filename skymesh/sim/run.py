"""Running a scenario: chunks over time, streamed to disk, resumable, on Dask when asked.

A results folder holds::

    scenario.toml       the scenario as given (with --set overrides recorded in run.json)
    run.json            SkyMesh version, scenario hash, seed, chunk plan, chunks done, and
                        each finished part's size (bytes), row count and SHA-256
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
giving the same results as an uninterrupted one. Resuming trusts no part on its
name: each is checked against its size, row count and SHA-256 in ``run.json``,
and one that is missing, empty, truncated or corrupt is recomputed (one line
on stderr says which and why).

Every file is written under a temporary name beside its final one and renamed
into place (:func:`skymesh.files.atomic_path`), so a full disk or a kill never
leaves a truncated file under a real name. A run holds
:func:`skymesh.files.folder_lock` on its folder from before it looks at the
folder until it has written its last file, so a second run into the same
folder (``--force`` or ``--resume`` included) is refused at once instead of
deleting or mixing results under the first. ``scheduler`` picks where
chunks run: ``"sync"`` (here, one after another), ``"processes"`` (a local
Dask cluster on all cores) or the address of a Dask distributed scheduler
(``"tcp://host:8786"``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from datetime import datetime, timezone
from pathlib import Path

import pyarrow.parquet as pq

from skymesh import __version__
from skymesh.errors import InputError, SkyMeshError
from skymesh.files import (
    atomic_path,
    check_out_folder,
    file_sha256,
    folder_lock,
    write_error,
    write_text_atomic,
)
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


def _chunk_parts_task(loaded: LoadedScenario, out: str, index: int, start: int, stop: int) -> dict:
    """One chunk computed and written by the worker itself (a local cluster shares the
    results folder): only the parts' records travel back, not the tables."""
    return _write_parts(Path(out), index, _chunk_task(loaded, start, stop))


def outputs_of(loaded: LoadedScenario) -> tuple[str, ...]:
    """Names of the Parquet files a study writes (one row group per chunk each)."""
    return ("rtt", "fstate_changes") if loaded.scenario.study == "routing" else ("timeseries",)


CHUNK_SAT_STEPS = 4_000_000
"""A default chunk holds at most this many satellite-steps of positions (~100 MB of float64 xyz),
so a run with few terminals does not propagate tens of thousands of steps at once."""


def default_chunk_steps(rows_per_step: int, n_sats: int) -> int:
    """Steps per chunk when the scenario sets none: ~200,000 rows, ~100 MB of positions."""
    return max(
        1,
        min(
            DEFAULT_CHUNK_TERMINAL_STEPS // max(1, rows_per_step), CHUNK_SAT_STEPS // max(1, n_sats)
        ),
    )


def plan_chunks(
    loaded: LoadedScenario, n_steps: int, n_terminals: int, n_sats: int = 0
) -> list[tuple[int, int]]:
    from skymesh.sim.egress_chunk import chunk_bounds

    rows_per_step = (
        n_terminals * (n_terminals - 1) // 2 if loaded.scenario.study == "routing" else n_terminals
    )
    steps = loaded.scenario.output.chunk_steps or default_chunk_steps(rows_per_step, n_sats)
    return chunk_bounds(n_steps, steps)


def _write_json_atomic(path: Path, doc: dict) -> None:
    write_text_atomic(path, json.dumps(doc, indent=1, default=str) + "\n")


def write_parquet_atomic(table, path, **kwargs) -> None:
    """``pq.write_table(table, path)`` through a temporary file renamed into place."""
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, **kwargs)


def _part_path(out: Path, name: str, index: int) -> Path:
    return out / f"{name}.parquet" / f"part-{index:05d}.parquet"


def _part_key(name: str, index: int) -> str:
    return f"{name}.parquet/part-{index:05d}.parquet"


def _write_parts(out: Path, index: int, tables: dict) -> dict:
    """Write a chunk's tables; each appears under its final name only once complete
    (readers skip names starting with '.'). Returns {part key: {bytes, rows, sha256}},
    measured on the very file that is renamed into place."""
    records = {}
    for name, table in tables.items():
        final = _part_path(out, name, index)
        try:
            final.parent.mkdir(exist_ok=True)
        except OSError as exc:
            raise write_error(final.parent, exc) from None
        with atomic_path(final) as tmp:
            pq.write_table(table, tmp, compression="zstd")
            records[_part_key(name, index)] = dict(
                bytes=tmp.stat().st_size, rows=table.num_rows, sha256=file_sha256(tmp)
            )
    return records


def _part_problem(path: Path, record: dict | None) -> str | None:
    """Why the part at ``path`` cannot be trusted against its manifest ``record``, or None."""
    if not isinstance(record, dict) or not {"bytes", "rows", "sha256"} <= set(record):
        return "run.json holds no size and checksum for it"
    if not path.is_file():
        return "it is missing"
    size = path.stat().st_size
    if size == 0:
        return "it is empty"
    if size != record["bytes"]:
        return f"it is {size:,} bytes, run.json says {record['bytes']:,} (truncated or changed)"
    if file_sha256(path) != record["sha256"]:
        return "its SHA-256 differs from run.json (corrupt)"
    try:
        rows = pq.ParquetFile(path).metadata.num_rows
    except Exception:  # noqa: BLE001 - any unreadable footer means: recompute
        return "it is not a readable Parquet file"
    if rows != record["rows"]:
        return f"it holds {rows:,} rows, run.json says {record['rows']:,}"
    return None


_LEFTOVER = re.compile(
    r"^\.(part-\d+\.parquet|run\.json|summary\.json|report\.md|"
    r"scenario\.toml|capacity\.parquet|pairs\.parquet)\..+"
)


def _remove_leftovers(out: Path, names) -> None:
    """Temporary files a killed run of ours left (hidden names of our own pattern only)."""
    for folder in [out] + [out / f"{n}.parquet" for n in names]:
        if folder.is_dir():
            for p in folder.iterdir():
                if _LEFTOVER.match(p.name) and p.is_file():
                    p.unlink(missing_ok=True)


def check_replaceable(out: Path) -> None:
    """Refuse to delete ``out`` unless SkyMesh made it (its run.json manifest records a
    SkyMesh version, scenario hash and seed) and it is not /, home, cwd or a parent of cwd."""
    target = Path(out).resolve()
    cwd = Path.cwd().resolve()
    protected = {Path(target.anchor), Path.home().resolve(), cwd}
    if target in protected or target in cwd.parents:
        raise InputError(
            f"--out {out}: refusing to replace this folder with --force "
            "(it is /, the home folder, the current folder or one of its parents)"
        )
    manifest = target / "run.json"
    try:
        state = json.loads(manifest.read_text()) if manifest.is_file() else None
    except (OSError, ValueError):
        state = None
    if not (
        isinstance(state, dict)
        and all(k in state for k in ("skymesh_version", "scenario_sha256", "seed"))
    ):
        raise InputError(
            f"--out {out}: refusing to replace a non-empty folder that SkyMesh "
            "did not create (no SkyMesh run.json manifest); choose another --out"
        )


def check_results_folder(out: Path, loaded: LoadedScenario, *, force, resume) -> dict | None:
    """Whether a run may write in ``out``, before any work: the resumed run's state,
    or None for a new run. Refuses (one line) whatever it must not touch."""
    run_json = out / "run.json"
    check_out_folder(out)
    if out.exists() and any(out.iterdir()):
        if resume:
            if not run_json.exists():
                raise SkyMeshError(f"{out}: no run.json here, nothing to resume")
            try:
                state = json.loads(run_json.read_text())
                if not isinstance(state, dict) or not isinstance(state.get("chunks"), list):
                    raise ValueError("not a run manifest")
            except (OSError, ValueError) as exc:
                raise SkyMeshError(
                    f"{out / 'run.json'}: unreadable ({exc}); cannot resume, "
                    "start again with --force"
                ) from None
            if state.get("scenario_sha256") != loaded.sha256:
                raise SkyMeshError(
                    f"{out}: the scenario changed since this run started "
                    "(its hash differs); start a new run or pass --force"
                )
            if state.get("finished"):
                raise SkyMeshError(f"{out}: this run already finished; nothing to resume")
            return state
        if not force:
            raise SkyMeshError(
                f"{out}: results folder exists; pass --force to replace it "
                "or --resume to continue an interrupted run"
            )
        check_replaceable(out)
    elif resume:
        raise SkyMeshError(f"{out}: nothing to resume (no such results folder)")
    return None


def _open_results(out: Path, loaded: LoadedScenario, overrides, chunks, *, force, resume):
    """The run's state: the resumed one, or a fresh manifest in a new (or replaced) folder.

    The caller holds :func:`skymesh.files.folder_lock` on ``out``."""
    run_json = out / "run.json"
    state = check_results_folder(out, loaded, force=force, resume=resume)
    if state is not None:
        return state
    try:
        if out.exists() and any(out.iterdir()):
            shutil.rmtree(out)  # check_results_folder: SkyMesh made it, and --force was given
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_error(out, exc) from None
    write_text_atomic(out / "scenario.toml", loaded.text)
    state = dict(
        skymesh_version=__version__,
        scenario=loaded.scenario.name,
        scenario_source=loaded.source,
        scenario_sha256=loaded.sha256,
        seed=loaded.scenario.seed,
        overrides=overrides or {},
        chunks=[list(c) for c in chunks],
        done=[],
        parts={},
        started_utc=datetime.now(timezone.utc).isoformat(),
        finished=False,
    )
    _write_json_atomic(run_json, state)
    return state


def _client(scheduler: str, workers: int | None = None):
    """A Dask client for ``scheduler`` (``processes`` starts a local cluster of ``workers``)."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise SkyMeshError(
            "the Dask schedulers need dask.distributed: pip install 'dask[distributed]'"
        ) from None
    if scheduler == "processes":
        import dask

        # One numba thread per worker process: the workers already fill the cores. Dask's
        # nanny starts workers with MALLOC_TRIM_THRESHOLD_=64 KiB so they hand memory back
        # at every free; a routing step allocates and frees a few MB, so each step then
        # page-faulted its buffers afresh (~90,000 faults per 60-step chunk, a tenth of
        # a worker's time, measured). One arena that keeps what it freed instead: the
        # peak is the same, it is only not given back between steps.
        environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}))
        environ.update(
            MALLOC_TRIM_THRESHOLD_=1 << 30, MALLOC_MMAP_THRESHOLD_=1 << 28, MALLOC_ARENA_MAX=1
        )
        with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
            cluster = LocalCluster(
                n_workers=workers or os.cpu_count() or 1,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                env={"NUMBA_NUM_THREADS": "1"},
            )
        return Client(cluster), cluster
    if scheduler.startswith(("tcp://", "tls://", "ws://", "wss://")):
        try:
            return Client(scheduler, timeout="10s"), None
        except OSError as exc:
            raise SkyMeshError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    raise InputError(
        f"unknown scheduler '{scheduler}': use sync, processes or tcp://host:port",
        field="scheduler",
    )


def run_scenario(
    loaded: LoadedScenario,
    out,
    *,
    overrides=None,
    force: bool = False,
    resume: bool = False,
    scheduler: str = "sync",
    client=None,
    workers: int | None = None,
    progress=None,
    stop_after: int | None = None,
    log=None,
) -> dict:
    """Run ``loaded`` into the results folder ``out``; return the summary.

    Parameters
    ----------
    progress : callable(done_chunks, total_chunks, done_steps, total_steps), optional
        Called once before the first chunk and after each finished chunk.
    client : dask.distributed.Client, optional
        Use this client instead of making one from ``scheduler``.
    workers : int, optional
        Worker processes for ``scheduler="processes"`` (default: every core).
    stop_after : int, optional
        Stop (as if interrupted) after this many new chunks: for tests of resuming.
    log : callable(str), optional
        Where one-line notices go (a part recomputed on resume); default: stderr.
    """
    out = Path(out)
    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    # Fast refusals (a file, a read-only folder, a folder SkyMesh did not make) come
    # before any work; the lock is then held from the first look at the folder to the
    # last file written, and the checks are made again under it.
    check_results_folder(out, loaded, force=force, resume=resume)
    with folder_lock(out):
        return _run_locked(
            loaded,
            out,
            overrides=overrides,
            force=force,
            resume=resume,
            scheduler=scheduler,
            client=client,
            workers=workers,
            progress=progress,
            stop_after=stop_after,
            log=log,
        )


def _run_locked(
    loaded,
    out: Path,
    *,
    overrides,
    force,
    resume,
    scheduler,
    client,
    workers,
    progress,
    stop_after,
    log,
) -> dict:
    prep = _prepared(loaded)
    chunks = plan_chunks(
        loaded,
        len(prep.grid),
        prep.n_terminals * len(prep.operators),
        max(len(op.constellation) for op in prep.operators),
    )
    state = _open_results(out, loaded, overrides, chunks, force=force, resume=resume)
    chunks = [tuple(c) for c in state["chunks"]]
    names = outputs_of(loaded)
    parts = state.setdefault("parts", {})
    _remove_leftovers(out, names)
    done = set()
    for i in sorted(set(state["done"])):
        problems = [
            (key, _part_problem(out / key, parts.get(key)))
            for key in (_part_key(n, i) for n in names)
        ]
        bad = [(key, why) for key, why in problems if why is not None]
        for key, why in bad:
            log(f"resume: {out / key}: {why}; recomputing chunk {i}")
        if bad:
            for key, _ in problems:
                parts.pop(key, None)
        else:
            done.add(i)
    todo = [i for i in range(len(chunks)) if i not in done]
    total_steps = sum(b - a for a, b in chunks)

    def report():
        if progress:
            progress(
                len(done), len(chunks), sum(chunks[i][1] - chunks[i][0] for i in done), total_steps
            )

    report()

    def finished_chunk(i, tables=None, records=None):
        parts.update(records if records is not None else _write_parts(out, i, tables))
        done.add(i)
        state["done"] = sorted(done)
        _write_json_atomic(out / "run.json", state)
        report()

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
            # Workers of our own local cluster write their parts into the results folder;
            # a remote scheduler's workers may not see it, so their tables come back.
            local = own is not None
            futures = {
                (
                    client.submit(_chunk_parts_task, remote, str(out), i, *chunks[i], pure=False)
                    if local
                    else client.submit(_chunk_task, remote, *chunks[i], pure=False)
                ): i
                for i in todo
            }
            for fut in as_completed(futures):
                # Take the result and let the future go, so workers free it at once.
                i = futures.pop(fut)
                if local:
                    finished_chunk(i, records=fut.result())
                else:
                    finished_chunk(i, fut.result())
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
    summary["run"] = {
        k: state[k]
        for k in (
            "skymesh_version",
            "scenario",
            "scenario_source",
            "scenario_sha256",
            "seed",
            "overrides",
        )
    }
    summary["run"]["chunks"] = len(chunks)
    summary["data"] = state["data"] = prep.extra.get("data")  # which files, of what date
    summary["notes"] = list(prep.notes) + summary.get("notes", [])
    _write_json_atomic(out / "summary.json", summary)
    from skymesh.report.markdown import write_report, write_routing_report

    if loaded.scenario.study == "routing":
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
        write_parquet_atomic(cap_table, out / "capacity.parquet")
    if loaded.scenario.cost is not None and "cost" in wanted:
        from skymesh.sim.costs import carried_terminals, scenario_bill

        bill = scenario_bill(
            loaded,
            carried_terminals(loaded, summary["capacity"]) if "capacity" in summary else None,
        )
        summary["cost"] = dict(
            periods=bill["periods"], assumptions=bill["assumptions"], markdown=_cost_markdown(bill)
        )
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
    write_parquet_atomic(extra["pairs"], out / "pairs.parquet")
    if "figures" in loaded.scenario.metrics.wanted:
        try:
            from skymesh.report.pictures import routing_figures

            summary["figures"] = routing_figures(out, prep, extra)
        except Exception as exc:  # a figure must never lose a finished run's numbers
            summary.setdefault("notes", []).append(f"figures not drawn: {exc}")
    return summary


def _cost_markdown(bill: dict) -> list[str]:
    lines = [
        "| period | months | modelled | reported | ratio | hardware share |",
        "|---|---|---|---|---|---|",
    ]
    for p in bill["periods"]:
        rep = "n/a" if p["reported_usd"] is None else f"${p['reported_usd'] / 1e6:,.0f}M"
        ratio = "n/a" if p["ratio"] is None else f"{p['ratio']:.2f}"
        lines.append(
            f"| {p['period']} | {p['first']}..{p['last']} | "
            f"${p['total_usd'] / 1e6:,.1f}M | {rep} | {ratio} | "
            f"{100 * p['hardware_share']:.0f} % |"
        )
    return lines + [""] + [f"- {a}" for a in bill["assumptions"]]
