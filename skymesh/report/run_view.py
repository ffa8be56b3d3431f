"""The interactive view of a finished run: what the run's own rows say, step by step.

:func:`run_view` reads a results folder (``run.json``, ``summary.json``,
``timeseries.parquet/``) and writes :func:`skymesh.report.view.write_view_html`'s
page from it, computing no route of its own:

* the terminal followed (``terminal=``, default: a typical one, see
  :func:`pick_terminal`) and, at each step, the route it took in the run:
  terminal -> its serving satellite -> the gateway it used -> the PoP its traffic
  reached (the satellites between the serving one and the gateway's are not in
  the rows: that leg is dashed and the status line gives the ISL hops);
* its RTT (``rtt_ms``, what the user measures) and the RTT's components (ms) per
  step, and beside it the run's per-step median over every served terminal;
* the run's headline figures as ``summary.json`` has them (RTT p50/p95, share of
  time served, gateways and PoPs by share);
* the countries shaded by the policy the run used, at each step;
* every terminal of the run as a small dot.

``operator=`` draws a run's second operator instead of its primary one. A routing
study's folder gets :func:`routing_view` (one pair's space RTT from ``rtt.parquet``;
its route recomputed, and drawn only where it gives the run's RTT).

The run is re-read from its own scenario (a built-in by name, or the file it came
from, or the folder's ``scenario.toml``) with its ``--set``/``--policy``
overrides, and its SHA-256 must be the one ``run.json`` records, so the
satellites drawn are those of the run.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from skymesh.errors import SkyMeshError
from skymesh.network.over_time import GroundPoints, path_series


def load_run_scenario(results):
    """The validated ``run.json`` and the scenario of the finished run in ``results``.

    The scenario is loaded as the run loaded it (same source, same overrides) and
    must hash to ``run.json``'s ``scenario_sha256``; one line (SkyMeshError) otherwise.
    """
    from skymesh.sim.run import load_manifest
    from skymesh.sim.scenario import builtin_names, load_scenario

    results = Path(results)
    manifest = load_manifest(results)
    if not manifest.finished:
        raise SkyMeshError(
            f"{results}: the run is not finished; finish it first "
            f"(skymesh run {manifest.scenario} --out {results} --resume)"
        )
    sets = dict(manifest.overrides) or None
    tried: list[tuple[str, dict | None]] = []
    src = manifest.scenario_source
    variants = [sets]
    if sets and _with_datetimes(sets) != sets:
        variants.append(_with_datetimes(sets))
    if src.startswith("<built-in ") and src[10:-1] in builtin_names():
        tried += [(src[10:-1], v) for v in variants]
    elif Path(src).is_file():
        tried += [(src, v) for v in variants]
    # The text as run (a scenario given as a dict holds its overrides already).
    tried += [(str(results / "scenario.toml"), sets), (str(results / "scenario.toml"), None)]
    for source, over in tried:
        try:
            loaded = load_scenario(source, over)
        except SkyMeshError:
            continue
        if loaded.sha256 == manifest.scenario_sha256:
            return manifest, loaded
    raise SkyMeshError(
        f"{results}: cannot load the scenario this run used ({src}) with the same "
        "SHA-256 as run.json records; it has changed since the run"
    )


def _with_datetimes(sets: dict) -> dict:
    """``run.json``'s overrides with the datetimes ``--set`` parsed back from the text JSON
    holds them as (``time.start=2026-01-01T00:28:00Z`` is written
    ``"2026-01-01 00:28:00+00:00"``), so the scenario hashes as it did in the run."""
    from datetime import datetime

    out = {}
    for key, value in sets.items():
        if isinstance(value, str):
            try:
                when = datetime.fromisoformat(value)
            except ValueError:
                when = None
            if when is not None and when.tzinfo is not None:
                value = when
        out[key] = value
    return out


def read_summary(results) -> dict:
    """``summary.json`` of a results folder (one line if missing or unreadable)."""
    path = Path(results) / "summary.json"
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError) as exc:
        raise SkyMeshError(f"{path}: unreadable ({exc})") from None


def run_rows(results, operator: str, steps, columns) -> dict:
    """The rows of ``timeseries.parquet`` for ``operator`` at the steps ``steps``, as a
    dict of numpy arrays (masked values as NaN for floats, "" for names, -1 for ints),
    sorted by step then terminal."""
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    path = Path(results) / "timeseries.parquet"
    if not path.exists():
        raise SkyMeshError(
            f"{results}: no timeseries.parquet; skymesh view draws an egress run's rows"
        )
    dataset = ds.dataset(sorted(path.glob("part-*.parquet")), format="parquet")
    have = set(dataset.schema.names)
    cols = [c for c in columns if c in have]
    filt = (ds.field("operator") == operator) & ds.field("step").isin(
        np.asarray(steps, dtype=np.int32)
    )
    table = dataset.to_table(columns=cols, filter=filt)
    table = table.sort_by([("step", "ascending"), ("terminal", "ascending")])
    out = {}
    for c in cols:
        col = table.column(c)
        if hasattr(col.type, "value_type"):  # dictionary-encoded names
            col = pc.cast(col, col.type.value_type)
        if col.type == "string" or str(col.type) == "string":
            out[c] = np.asarray(col.fill_null("").to_numpy(zero_copy_only=False), dtype=str)
        elif str(col.type).startswith(("int", "uint")):
            out[c] = np.asarray(col.fill_null(-1).to_numpy(zero_copy_only=False))
        elif str(col.type) == "bool":
            out[c] = np.asarray(col.fill_null(False).to_numpy(zero_copy_only=False))
        else:
            out[c] = np.asarray(
                col.cast("double").fill_null(np.nan).to_numpy(zero_copy_only=False), dtype=float
            )
    return out


def pick_terminal(rows: dict, n_terminals: int, rtt_p50_ms: float | None) -> int:
    """A typical terminal: served at the most of the steps read, and among those the one
    whose median RTT is nearest the run's p50 (the lowest index among equals)."""
    term = rows["terminal"]
    served = rows["served"]
    count = np.bincount(term[served], minlength=n_terminals)
    if count.max() == 0:
        return 0
    best = np.flatnonzero(count == count.max())
    if rtt_p50_ms is None:
        return int(best[0])
    med = np.array([np.nanmedian(rows["rtt_ms"][(term == t) & served]) for t in best])
    return int(best[np.argmin(np.abs(med - rtt_p50_ms))])


def _name_index(names) -> dict:
    return {str(n): i for i, n in enumerate(names)}


def run_view(
    results,
    out,
    *,
    terminal: int | None = None,
    operator: str | None = None,
    max_steps: int = 120,
):
    """Write the interactive HTML view of the finished run in ``results`` to ``out``.

    ``terminal``: the index (``timeseries.parquet``'s ``terminal``) of the terminal
    whose route is drawn (default: :func:`pick_terminal`); ``operator``: the label of
    the operator drawn (default: the scenario's primary one; a ``[second_operator]``
    has its own label). Returns the path written.
    """
    from skymesh.orbits.frames import ecef_to_geodetic
    from skymesh.orbits.propagate import positions_ecef
    from skymesh.report.maps import policy_states
    from skymesh.report.pictures import nearest_place_names
    from skymesh.report.view import decimate_steps, write_view_html
    from skymesh.sim.egress_chunk import COMPONENT_COLUMNS
    from skymesh.sim.prepare import prepare

    results = Path(results)
    manifest, loaded = load_run_scenario(results)
    summary = read_summary(results)
    if summary.get("study") == "routing":
        if terminal is not None or operator is not None:
            raise SkyMeshError(
                f"{results}: a routing study; --terminal and --operator are for egress runs"
            )
        return routing_view(results, out, loaded, summary, max_steps=max_steps)
    if not (results / "timeseries.parquet").is_dir():
        raise SkyMeshError(f"{results}: no timeseries.parquet; not a finished egress run")
    prep = prepare(loaded)
    labels = [o.label for o in prep.operators]
    if operator is not None and operator not in labels:
        raise SkyMeshError(f"--operator {operator}: the run has {', '.join(labels)}")
    op = prep.operators[labels.index(operator) if operator is not None else 0]
    op_summary = next(
        (o for o in summary.get("operators", []) if o.get("operator") == op.label), None
    )
    if op_summary is None:
        raise SkyMeshError(f"{results}/summary.json: no operator '{op.label}' in it")
    steps = decimate_steps(len(prep.grid), max_steps)
    grid = prep.grid.subset(steps)
    rows = run_rows(
        results,
        op.label,
        steps,
        [
            "step",
            "terminal",
            "served",
            "service_allowed",
            "rtt_ms",
            *COMPONENT_COLUMNS,
            "gateway",
            "pop",
            "serving_satellite",
            "isl_hops",
        ],
    )
    n_term = prep.n_terminals
    if len(rows["step"]) != len(steps) * n_term:
        raise SkyMeshError(
            f"{results}/timeseries.parquet: {len(rows['step']):,} rows at the {len(steps):,} "
            f"steps drawn, not {len(steps) * n_term:,} ({n_term:,} terminals each)"
        )
    p50 = op_summary.get("rtt_ms", {}).get("p50")
    if terminal is None:
        terminal = pick_terminal(rows, n_term, p50)
    elif not 0 <= terminal < n_term:
        raise SkyMeshError(f"--terminal {terminal}: the run has terminals 0 to {n_term - 1}")
    # Per step, the run's median RTT over the served terminals.
    rtt = rows["rtt_ms"].reshape(len(steps), n_term)
    served_all = rows["served"].reshape(len(steps), n_term)
    with np.errstate(all="ignore"):
        step_p50 = [float(np.median(r[s])) if s.any() else np.nan for r, s in zip(rtt, served_all)]
    mine = {c: v.reshape(len(steps), n_term)[:, terminal] for c, v in rows.items()}
    pos = positions_ecef(op.constellation, grid)
    lat, lon, _ = ecef_to_geodetic(pos)
    t_lat, t_lon = float(prep.terminal_lat[terminal]), float(prep.terminal_lon[terminal])
    t_cc = str(prep.terminal_country[terminal])
    t_name = f"terminal {terminal}: {nearest_place_names([t_lat], [t_lon])[0]}"
    gw_at = _name_index(prep.gateway_name)
    pops = prep.pops
    pop_at = _name_index(pops.name) if pops is not None else gw_at
    route: list[np.ndarray | None] = []
    note: list[str] = []
    info: list[dict | None] = []
    comps = [c for c in COMPONENT_COLUMNS if c in mine]
    for k in range(len(steps)):
        if not mine["served"][k]:
            route.append(None)
            info.append(None)
            note.append(
                f"no service: the policy has {t_cc} switched off"
                if not mine["service_allowed"][k]
                else "not served: no satellite or gateway in reach"
            )
            continue
        gw_name, pop_name = str(mine["gateway"][k]), str(mine.get("pop", mine["gateway"])[k])
        line = [[t_lat, t_lon]]
        sat = int(mine["serving_satellite"][k]) if "serving_satellite" in mine else -1
        if sat >= 0:
            line.append([float(lat[sat, k]), float(lon[sat, k])])
        g = gw_at.get(gw_name)
        if g is not None:
            line.append([float(prep.gateway_lat[g]), float(prep.gateway_lon[g])])
        p = pop_at.get(pop_name)
        if pops is not None and p is not None and pop_name != gw_name:
            line.append([float(pops.lat_deg[p]), float(pops.lon_deg[p])])
        hops = int(mine["isl_hops"][k]) if "isl_hops" in mine else -1
        route.append(np.round(np.asarray(line), 2))
        note.append("")
        info.append(
            {
                "gateway": gw_name,
                "pop": pop_name,
                "serving_satellite": sat,
                "isl_hops": hops,
                "dashed_leg": 1 if (sat >= 0 and hops > 0) else -1,
                "components_ms": {c: round(float(mine[c][k]), 2) for c in comps},
            }
        )
    states = [policy_states(op.policy, when) for when in grid.datetimes()]
    r = op_summary.get("rtt_ms", {})
    run = {
        "operator": op.label,
        "terminals": int(n_term),
        "terminal": int(terminal),
        "terminal_name": t_name,
        "rtt_ms_p50": r.get("p50"),
        "rtt_ms_p95": r.get("p95"),
        "service_share": op_summary.get("service_share"),
        "gateways": op_summary.get("gateways", []),
        "pops": op_summary.get("pops", []),
        "access_model": summary.get("access_model"),
        "results": str(results),
        "skymesh_version": manifest.skymesh_version,
    }
    pop_markers = None
    if pops is not None:
        used = sorted({str(i["pop"]) for i in info if i} - {str(g) for g in prep.gateway_name})
        idx = [pop_at[n] for n in used if n in pop_at]
        pop_markers = (
            [f"PoP {pops.name[i]} ({pops.country_iso2[i]})" for i in idx],
            [float(pops.lat_deg[i]) for i in idx],
            [float(pops.lon_deg[i]) for i in idx],
        )
    gw_mask = (
        np.ones(len(prep.gateway_name), bool)
        if getattr(op, "gateway_mask", None) is None
        else np.asarray(op.gateway_mask, bool)
    )
    rtt_series = [np.nan if v is None else v for v in mine["rtt_ms"]]
    space_only = summary.get("access_model") == "propagation"
    return write_view_html(
        out,
        sat_tracks=(grid, lat, lon),
        countries=states,
        isl_pairs=op.isl_pairs,
        route=route,
        # rtt_ms is the user's RTT, except under the propagation model (space only)
        rtt_ms=None if space_only else rtt_series,
        space_rtt_ms=rtt_series if space_only else None,
        rtt_ms_p50=step_p50,
        route_note=note,
        route_info=info,
        run=run,
        endpoints=([t_name], [t_lat], [t_lon]),
        gateways=(  # the gateways this operator may exit at (its own, when it has some)
            prep.gateway_lat[gw_mask],
            prep.gateway_lon[gw_mask],
            [
                f"{n} ({c})"
                for n, c in zip(prep.gateway_name[gw_mask], prep.gateway_country[gw_mask])
            ],
        ),
        pops=pop_markers,
        terminals=(prep.terminal_lat, prep.terminal_lon),
        title=f"SkyMesh: {prep.scenario.name} ({op.label}), run in {results.name}",
        max_steps=max_steps,
    )


#: ``skymesh view SCENARIO`` runs the scenario itself when its estimate is at most this (s).
VIEW_RUN_MAX_S = 120.0


def is_results_folder(path) -> bool:
    """Whether ``path`` is a results folder (a folder holding ``run.json``)."""
    p = Path(path)
    return p.is_dir() and (p / "run.json").is_file()


def results_for_scenario(loaded, results, *, overrides=None, progress=None, log=None) -> Path:
    """The results folder of a finished run of ``loaded`` at ``results``, running the
    scenario there first when no such run is there and its estimate is short.

    * ``results`` holds a finished run of this very scenario (same SHA-256): it is used;
    * ``results`` is empty or missing and the run is estimated at most
      :data:`VIEW_RUN_MAX_S`: the scenario is run into it (``skymesh run``'s folder);
    * otherwise one line (SkyMeshError) says which command to run first.
    """
    from skymesh.sim.estimate import estimate_run, human_seconds
    from skymesh.sim.run import load_manifest, run_scenario

    results = Path(results)
    name = loaded.scenario.name
    sets = " ".join(f"--set {k}={v}" for k, v in (overrides or {}).items() if k != "policy")
    how = (
        f"run it first (skymesh run {name}{' ' + sets if sets else ''} --out {results}), "
        f"then skymesh view {results} --out F.html"
    )
    if is_results_folder(results):
        manifest = load_manifest(results)
        if manifest.scenario_sha256 == loaded.sha256 and manifest.finished:
            return results
        raise SkyMeshError(
            f"{name}: {results} holds "
            + ("an unfinished run" if manifest.finished is False else "another run")
            + f" (of {manifest.scenario}); view that folder itself, or {how}"
        )
    if results.exists() and (not results.is_dir() or any(results.iterdir())):
        raise SkyMeshError(f"{name}: {results} is in the way (not a results folder); {how}")
    est = estimate_run(loaded)
    if est.seconds > VIEW_RUN_MAX_S:
        raise SkyMeshError(
            f"{name}: the view draws a finished run, and this one takes about "
            f"{human_seconds(est.seconds)}: {how}"
        )
    if log is not None:
        log(f"running {name} first (about {human_seconds(est.seconds)}) into {results}/")
    run_scenario(loaded, results, overrides=overrides, progress=progress)
    return results


#: A recomputed route is drawn at a step only when its RTT is the run's row to this (ms).
ROUTE_MATCH_MS = 0.01


def _space_rtt_column(table):
    """The space RTT column of a path table (``space_rtt_ms``; ``rtt_ms`` before the rename)."""
    name = "space_rtt_ms" if "space_rtt_ms" in table.column_names else "rtt_ms"
    return np.asarray([np.nan if v is None else v for v in table[name].to_pylist()], float)


def routing_view(results, out, loaded, summary: dict, *, max_steps: int = 120):
    """The view of a routing study: the space RTT of one pair (the one of median
    great-circle distance among the pairs reachable at some step) as ``rtt.parquet``
    has it at each step, the per-step median over every pair, and the pair's route.

    A routing study stores RTTs, not paths: the route is recomputed
    (:func:`skymesh.network.over_time.path_series`) and drawn only at the steps where
    its RTT equals the run's row (to :data:`ROUTE_MATCH_MS`); elsewhere the page says
    the run's path is not known.
    """
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    from skymesh.orbits.frames import ecef_to_geodetic
    from skymesh.orbits.propagate import positions_ecef
    from skymesh.report.pictures import _example_pairs, _pair_stat
    from skymesh.report.view import decimate_steps, write_view_html
    from skymesh.sim.prepare import prepare

    results = Path(results)
    prep = prepare(loaded)
    op = prep.operators[0]
    pairs = pq.read_table(results / "pairs.parquet")
    reachable = np.isfinite(_pair_stat(pairs, "mean"))
    lat, lon = np.asarray(prep.terminal_lat, float), np.asarray(prep.terminal_lon, float)
    picks = _example_pairs(lat, lon, 3, among=reachable)
    if not len(picks):
        raise SkyMeshError(f"{results}: no pair is reachable at any step; nothing to draw")
    pid = int(picks[len(picks) // 2])
    iu, ju = np.triu_indices(prep.n_terminals, 1)
    a, b = int(iu[pid]), int(ju[pid])
    steps = decimate_steps(len(prep.grid), max_steps)
    grid = prep.grid.subset(steps)
    dataset = ds.dataset(sorted((results / "rtt.parquet").glob("part-*.parquet")))
    col = "space_rtt_ms" if "space_rtt_ms" in dataset.schema.names else "rtt_ms"
    rows = dataset.to_table(
        columns=["step", "src", "dst", col],
        filter=ds.field("step").isin(np.asarray(steps, dtype=np.int32)),
    )
    step_of = {int(k): i for i, k in enumerate(steps)}
    st = np.array([step_of[int(k)] for k in rows["step"].to_numpy()], dtype=np.int64)
    val = np.asarray(rows[col].to_numpy(zero_copy_only=False), dtype=float)
    src, dst = rows["src"].to_numpy(), rows["dst"].to_numpy()
    mine = np.full(len(steps), np.nan)
    sel = (src == a) & (dst == b)
    mine[st[sel]] = val[sel]
    med = np.full(len(steps), np.nan)
    ok = np.isfinite(val)
    for k in range(len(steps)):
        v = val[ok & (st == k)]
        if len(v):
            med[k] = float(np.median(v))
    eps = GroundPoints.of(
        [str(prep.terminal_name[a]), str(prep.terminal_name[b])], lat[[a, b]], lon[[a, b]]
    )
    table = path_series(
        op.constellation,
        grid,
        eps,
        [[0, 1]],
        mode=loaded.scenario.routing.mode,
        min_elevation_deg=loaded.scenario.routing.min_elevation_deg,
        isl_pairs=op.isl_pairs,
    )
    again = _space_rtt_column(table)
    same = np.isfinite(mine) & (np.abs(again - mine) <= ROUTE_MATCH_MS)
    paths = table["path"].to_pylist()
    route = [paths[k] if same[k] else None for k in range(len(steps))]
    note = [
        ""
        if same[k]
        else (
            "unreachable in the run" if not np.isfinite(mine[k]) else "the run's path is not known"
        )
        for k in range(len(steps))
    ]
    pos = positions_ecef(op.constellation, grid)
    slat, slon, _ = ecef_to_geodetic(pos)
    names = [str(prep.terminal_name[a]), str(prep.terminal_name[b])]
    r = summary.get("space_rtt_ms") or summary.get("rtt_ms") or {}
    run = {
        "operator": op.label,
        "terminals": int(prep.n_terminals),
        "terminal": pid,
        "terminal_name": f"{names[0]} - {names[1]}",
        # a routing study has only a space RTT: named as its summary.json names it
        "space_rtt_ms_p50": r.get("p50"),
        "space_rtt_ms_p95": r.get("p95"),
        "service_share": summary.get("reachable_fraction"),
        "gateways": [],
        "pops": [],
        "access_model": "propagation",
        "study": "routing",
        "results": str(results),
    }
    return write_view_html(
        out,
        sat_tracks=(grid, slat, slon),
        isl_pairs=op.isl_pairs,
        route=route,
        space_rtt_ms=mine,
        rtt_ms_p50=med,
        route_note=note,
        run=run,
        endpoints=(names, lat[[a, b]], lon[[a, b]]),
        terminals=(lat, lon),
        title=f"SkyMesh: {loaded.scenario.name} (routing study), run in {results.name}",
        max_steps=max_steps,
    )
