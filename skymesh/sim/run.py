"""Running a scenario: chunks over time, streamed to disk, resumable, on Dask when asked.

A results folder holds::

    scenario.toml       the scenario as given (with --set overrides recorded in run.json)
    run.json            SkyMesh version, scenario hash, seed, the SHA-256 of every input
                        file the scenario names (constellation or the preset's TLE
                        snapshot, ISLs, terminals, gateways, PoPs), chunk plan, chunks
                        done, and each finished part's size (bytes), row count and SHA-256
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

Resuming also trusts nothing else in the folder. ``run.json`` is read with a
size cap and validated by a strict model (:class:`RunManifest`); its chunk plan
must be the one the scenario gives. The resumed run must be made by the same
SkyMesh version (a different one may compute the chunks differently, so it is
refused: finish with the version that started the run, or start again with
``--force``), from the same scenario, and every input file must still have the
SHA-256 recorded when the run started: a changed or missing one is refused with
one line naming it, never mixed into the results. The folder must hold nothing
but folders and regular files: a symlink anywhere under it (``timeseries.parquet/``,
``figures/``, a part, ``run.json``) is refused before anything is written or
deleted, and every write checks the path components under the folder again
(:func:`skymesh.files.check_inside`).

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
from typing import Annotated, Optional

import pyarrow.parquet as pq
import pydantic
from pydantic import BaseModel, ConfigDict, Field

from skymesh import __version__
from skymesh.errors import InputError, SkyMeshError
from skymesh.files import (
    atomic_path,
    check_inside,
    check_out_folder,
    check_tree,
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
    write_text_atomic(path, json.dumps(doc, indent=1, default=str) + "\n", within=path.parent)


def write_parquet_atomic(table, path, *, within=None, **kwargs) -> None:
    """``pq.write_table(table, path)`` through a temporary file renamed into place
    (``within``: the results folder, see :func:`skymesh.files.atomic_path`)."""
    with atomic_path(path, within=within) as tmp:
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
        check_inside(out, final)
        try:
            final.parent.mkdir(exist_ok=True)
        except OSError as exc:
            raise write_error(final.parent, exc) from None
        with atomic_path(final, within=out) as tmp:
            pq.write_table(table, tmp, compression="zstd")
            records[_part_key(name, index)] = dict(
                bytes=tmp.stat().st_size, rows=table.num_rows, sha256=file_sha256(tmp)
            )
    return records


def _part_problem(path: Path, record: dict | None) -> str | None:
    """Why the part at ``path`` cannot be trusted against its manifest ``record``, or None."""
    if not isinstance(record, dict) or not {"bytes", "rows", "sha256"} <= set(record):
        return "run.json holds no size and checksum for it"
    if not path.is_file() or path.is_symlink():
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
        check_inside(out, folder)
        if folder.is_dir():
            for entry in os.scandir(folder):
                if _LEFTOVER.match(entry.name) and entry.is_file(follow_symlinks=False):
                    Path(entry.path).unlink(missing_ok=True)


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
        state = json.loads(_read_manifest(manifest)) if manifest.is_file() else None
    except (OSError, ValueError, SkyMeshError):
        state = None
    if not (
        isinstance(state, dict)
        and all(k in state for k in ("skymesh_version", "scenario_sha256", "seed"))
    ):
        raise InputError(
            f"--out {out}: refusing to replace a non-empty folder that SkyMesh "
            "did not create (no SkyMesh run.json manifest); choose another --out"
        )


MANIFEST_MAX_BYTES = 64 * 2**20
"""Largest ``run.json`` a resume reads (bytes): ~150 B per part record, so a plan of
hundreds of thousands of chunks still fits, and a planted huge file is refused unread."""


class PartRecord(BaseModel):
    """A finished part as ``run.json`` records it."""

    model_config = ConfigDict(strict=True, extra="forbid")

    bytes: int = Field(ge=0)
    rows: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class InputRecord(BaseModel):
    """An input file the run read: where it was and its SHA-256."""

    model_config = ConfigDict(strict=True, extra="forbid")

    path: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class RunManifest(BaseModel):
    """``run.json``, validated strictly before a resume trusts any of it."""

    model_config = ConfigDict(strict=True, extra="allow")

    skymesh_version: str
    scenario: str
    scenario_source: str
    scenario_sha256: str
    seed: int
    overrides: dict
    inputs: dict[str, InputRecord]
    chunks: list[Annotated[list[int], Field(min_length=2, max_length=2)]]
    done: list[int]
    parts: dict[str, PartRecord]
    started_utc: str
    finished: bool
    finished_utc: Optional[str] = None


def _read_manifest(path: Path) -> str:
    """The text of ``run.json`` at ``path``: a regular file (not followed), at most
    :data:`MANIFEST_MAX_BYTES`, UTF-8. Raises ValueError (OSError) saying why not."""
    import stat

    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise ValueError("not a regular file")
        if st.st_size > MANIFEST_MAX_BYTES:
            raise ValueError(f"{st.st_size:,} bytes, more than a run manifest holds")
        data = fh.read(MANIFEST_MAX_BYTES + 1)
    if len(data) > MANIFEST_MAX_BYTES:
        raise ValueError("more bytes than a run manifest holds")
    return data.decode("utf-8")


def load_manifest(out: Path) -> RunManifest:
    """The validated ``run.json`` of the results folder ``out``; one line if it is not one."""
    path = out / "run.json"
    try:
        doc = json.loads(_read_manifest(path))
        return RunManifest.model_validate(doc)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or "(top level)"
        why = f"field '{where}': {first['msg']}"
    except RecursionError:
        why = "nested too deeply"
    except (OSError, ValueError) as exc:  # UnicodeDecodeError and JSONDecodeError included
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    raise SkyMeshError(
        f"{path}: unreadable as a run manifest ({why[:200]}); cannot resume, "
        "start again with --force"
    )


def input_files(loaded: LoadedScenario) -> dict[str, Path]:
    """Every file the scenario makes a run read, by the scenario key that names it.

    The scenario's own text (and ``--set``/``--policy`` overrides) is covered by
    its hash; this adds the files it refers to: the constellation's TLE file or,
    for a TLE preset, the newest snapshot in the data directory (a newer one
    changes the run), its ISL file, the second operator's, the terminal lists,
    the gateway and PoP files. Files shipped inside SkyMesh go with its version.
    """
    from skymesh.orbits.presets import TLE_PRESETS

    s = loaded.scenario
    files: dict[str, Path] = {}

    def constellation(key, preset, file):
        if file is not None:
            files[f"{key}.file"] = loaded.resolve(file)
        elif preset is not None and preset.lower() in TLE_PRESETS:
            from skymesh.orbits.snapshots import newest_snapshot

            files[f"{key}.preset ({preset})"] = newest_snapshot(
                TLE_PRESETS[preset.lower()]["group"]
            )

    constellation("constellation", s.constellation.preset, s.constellation.file)
    if s.constellation.isls is not None:
        files["constellation.isls"] = loaded.resolve(s.constellation.isls)
    if s.second_operator is not None:
        constellation("second_operator", s.second_operator.preset, s.second_operator.file)
    for i, group in enumerate(s.terminals):
        if group.file is not None:
            files[f"terminals.{i + 1}.file"] = loaded.resolve(group.file)
    if s.gateways_file is not None:
        files["gateways_file"] = loaded.resolve(s.gateways_file)
    if s.pops_file is not None:
        files["pops_file"] = loaded.resolve(s.pops_file)
    return files


def _input_kind(key: str) -> str:
    """The kind of input file a scenario key names (for :func:`skymesh.inputs.read_input_bytes`)."""
    if key.endswith(".isls"):
        return "ISL file"
    if key.startswith(("constellation", "second_operator")):
        return "TLE file"
    if key.startswith("terminals"):
        return "places file"
    return "PoPs file" if key == "pops_file" else "gateways file"


def _input_sha256(key: str, path: Path) -> str:
    """SHA-256 of an input file, read as its reader reads it (regular file, size cap)."""
    import hashlib

    from skymesh.inputs import read_input_bytes

    try:
        return hashlib.sha256(read_input_bytes(path, _input_kind(key))).hexdigest()
    except SkyMeshError as exc:
        raise SkyMeshError(f"{key}: {exc}") from None


def input_hashes(loaded: LoadedScenario) -> dict[str, dict]:
    """``{scenario key: {path, sha256}}`` of :func:`input_files`, for ``run.json``."""
    return {
        key: dict(path=str(path), sha256=_input_sha256(key, path))
        for key, path in input_files(loaded).items()
    }


def _check_same_inputs(out: Path, manifest: RunManifest, loaded: LoadedScenario) -> None:
    """Refuse a resume whose inputs are not those the run started with (one line each)."""
    if manifest.skymesh_version != __version__:
        raise SkyMeshError(
            f"{out}: this run was started by SkyMesh {manifest.skymesh_version[:40]}, this is "
            f"{__version__}; chunks of two versions are not mixed: finish it with "
            f"{manifest.skymesh_version[:40]} or start again with --force"
        )
    if manifest.scenario_sha256 != loaded.sha256:
        raise SkyMeshError(
            f"{out}: the scenario changed since this run started "
            "(its hash differs); start a new run or pass --force"
        )
    now = input_files(loaded)
    for key in sorted(set(now) | set(manifest.inputs)):
        then = manifest.inputs.get(key)
        path = now.get(key)
        if then is None or path is None:
            raise SkyMeshError(
                f"{out}: the run's input {key} is not the one it started with; "
                "start again with --force"
            )
        if str(path) != then.path:
            raise SkyMeshError(
                f"{out}: {key} is now {path}, the run started with {then.path[:200]}; "
                "inputs are not mixed: start again with --force"
            )
        if _input_sha256(key, path) != then.sha256:
            raise SkyMeshError(
                f"{out}: {key} {path} changed since this run started (its SHA-256 differs); "
                "inputs are not mixed: restore it or start again with --force"
            )


def check_results_folder(out: Path, loaded: LoadedScenario, *, force, resume) -> dict | None:
    """Whether a run may write in ``out``, before any work: the resumed run's state,
    or None for a new run. Refuses (one line) whatever it must not touch."""
    run_json = out / "run.json"
    check_out_folder(out)
    if out.exists() and any(out.iterdir()):
        if resume:
            check_tree(out)
            if not run_json.exists():
                raise SkyMeshError(f"{out}: no run.json here, nothing to resume")
            manifest = load_manifest(out)
            _check_same_inputs(out, manifest, loaded)
            if manifest.finished:
                raise SkyMeshError(f"{out}: this run already finished; nothing to resume")
            return manifest.model_dump()
        if not force:
            raise SkyMeshError(
                f"{out}: results folder exists; pass --force to replace it "
                "or --resume to continue an interrupted run"
            )
        check_replaceable(out)
    elif resume:
        raise SkyMeshError(f"{out}: nothing to resume (no such results folder)")
    return None


def _check_plan(out: Path, state: dict, chunks: list[tuple[int, int]]) -> None:
    """A resumed run's chunk plan and chunks done must be the scenario's own."""
    if [tuple(c) for c in state["chunks"]] != [tuple(c) for c in chunks]:
        raise SkyMeshError(
            f"{out / 'run.json'}: its chunk plan ({len(state['chunks']):,} chunks) is not the "
            f"scenario's ({len(chunks):,} chunks); cannot resume, start again with --force"
        )
    bad = [i for i in state["done"] if not 0 <= i < len(chunks)]
    if bad:
        raise SkyMeshError(
            f"{out / 'run.json'}: chunk {bad[0]} is marked done but the plan has "
            f"{len(chunks):,} chunks; cannot resume, start again with --force"
        )


def _open_results(out: Path, loaded: LoadedScenario, overrides, chunks, *, force, resume):
    """The run's state: the resumed one, or a fresh manifest in a new (or replaced) folder.

    The caller holds :func:`skymesh.files.folder_lock` on ``out``."""
    run_json = out / "run.json"
    state = check_results_folder(out, loaded, force=force, resume=resume)
    if state is not None:
        _check_plan(out, state, chunks)
        return state
    try:
        if out.exists() and any(out.iterdir()):
            shutil.rmtree(out)  # check_results_folder: SkyMesh made it, and --force was given
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_error(out, exc) from None
    write_text_atomic(out / "scenario.toml", loaded.text, within=out)
    state = dict(
        skymesh_version=__version__,
        scenario=loaded.scenario.name,
        scenario_source=loaded.source,
        scenario_sha256=loaded.sha256,
        seed=loaded.scenario.seed,
        overrides=overrides or {},
        inputs=input_hashes(loaded),
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
    if loaded.scenario.study != "routing":
        from skymesh.sim.prepare import operator_network

        for row, op in zip(summary.get("operators", []), prep.operators):
            row["network"] = operator_network(prep, op)
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
        write_parquet_atomic(cap_table, out / "capacity.parquet", within=out)
        # every other operator on its own link, beams and gateways: its headline and inputs
        for row, op in zip(summary.get("operators", [])[1:], prep.operators[1:]):
            other, _ = capacity_pass(prep, op)
            row["capacity"] = {k: other[k] for k in ("headline", "inputs", "model")}
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
    write_parquet_atomic(extra["pairs"], out / "pairs.parquet", within=out)
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
