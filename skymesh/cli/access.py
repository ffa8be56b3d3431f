"""``skymesh access PLACE``: one terminal's path to the internet over a window.

Serving satellite per 15 s slot, the gateway and PoP (with their countries),
and the RTT with its components (space propagation, fibre, access,
processing, queueing; :mod:`skymesh.access.delay`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import pyarrow as pa
import typer
from rich.table import Table

from skymesh.cli.common import (
    _FORCE_EPOCH,
    _check_job_size,
    _check_out_suffix,
    _default_start,
    _elevation_mask,
    _far_epoch,
    _finite_nonneg,
    _finite_positive,
    _notes,
    _print_json,
    _progress,
    app,
    console,
)
from skymesh.errors import SkyMeshError


def _load(value):
    if value is not None and not (np.isfinite(value) and 0.0 <= value < 1.0):
        raise typer.BadParameter(f"must be in [0, 1), got {value}")
    return value


def ground_sites(gateways: Optional[Path], pops: Optional[Path], notes: list[str]):
    """Gateways and PoPs for a terminal path: the files given, else the default list
    (shipped with SkyMesh, or a newer one in the data directory; :mod:`skymesh.ground.sites`)."""
    from skymesh.ground.pops import load_pops
    from skymesh.ground.sites import load_sites

    gw, p, found = load_sites(gateways, notes=notes)
    if pops is not None:
        p = load_pops(pops)
        notes.append(f"{len(p)} operational PoPs from {pops}")
    elif p is None:
        notes.append(
            f"no PoPs in {found.path}: the path ends at the gateway, fibre 0 ms; pass --pops FILE"
        )
    return gw, p


def _slot_rows(res: dict, grid, c, gw, pops) -> list[dict]:
    """One row per 15 s slot: times, held satellite(s), gateway, PoP, mean components."""
    from skymesh.access.delay import COLUMNS

    slots = res["slot"]
    rows = []
    for s in np.unique(slots):
        m = slots == s
        served = m & (res["gateway"] >= 0)
        k0 = int(np.flatnonzero(m)[0])
        sats = res["serving_sat"][m]
        held = [int(x) for x in dict.fromkeys(sats[sats >= 0])]
        row = dict(
            slot=int(s),
            start_utc=grid.start + _td(grid.offsets_s[k0]),
            steps=int(m.sum()),
            served_steps=int(served.sum()),
            satellites=[str(c.sat_names[i]) for i in held],
            forced_handovers=int(res["forced_handover"][m].sum()),
            elevation_deg=_mean(res["serving_elevation_deg"][m]),
        )
        gws = res["gateway"][served]
        if len(gws):
            g = int(np.bincount(gws).argmax())
            row.update(
                gateway=str(gw.name[g]),
                gateway_country=str(gw.country_iso2[g]),
                gateway_changes=int((np.diff(gws) != 0).sum()),
            )
        else:
            row.update(gateway=None, gateway_country=None, gateway_changes=0)
        pop = res["pop"][served]
        if pops is not None and len(pop) and pop[0] >= 0:
            row.update(pop=str(pops.name[pop[0]]), pop_country=str(pops.country_iso2[pop[0]]))
        else:
            row.update(pop=None, pop_country=None)
        for col in COLUMNS:
            row[col] = _mean(res[col][m])
        row["isl_hops"] = _mean(res["isl_hops"][served]) if served.any() else None
        rows.append(row)
    return rows


def _td(seconds):
    from datetime import timedelta

    return timedelta(seconds=float(seconds))


def _mean(x):
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    return float(x.mean()) if len(x) else None


def _series_table(res: dict, grid, c, gw, pops) -> pa.Table:
    from skymesh.access.delay import COLUMNS, DETAIL_COLUMNS

    served = res["gateway"] >= 0
    start = np.datetime64(grid.start.replace(tzinfo=None), "ms")
    times = start + np.round(grid.offsets_s * 1e3).astype("timedelta64[ms]")
    sat = res["serving_sat"]
    g = np.maximum(res["gateway"], 0)
    cols = {
        "time_utc": pa.array(times, type=pa.timestamp("ms", tz="UTC")),
        "slot": pa.array(res["slot"].astype(np.int32)),
        "serving_satellite": pa.array(
            np.where(sat >= 0, c.sat_names[np.maximum(sat, 0)], ""), mask=sat < 0
        ),
        "serving_elevation_deg": pa.array(res["serving_elevation_deg"], from_pandas=True),
        "forced_handover": pa.array(res["forced_handover"]),
        "served": pa.array(served),
        "gateway": pa.array(gw.name[g], mask=~served),
        "gateway_country": pa.array(gw.country_iso2[g], mask=~served),
    }
    if pops is not None:
        p = np.maximum(res["pop"], 0)
        hp = np.maximum(res["gateway_home_pop"], 0)
        cols["pop"] = pa.array(pops.name[p], mask=~served)
        cols["pop_country"] = pa.array(pops.country_iso2[p], mask=~served)
        cols["gateway_home_pop"] = pa.array(pops.name[hp], mask=~served)
    cols["isl_hops"] = pa.array(res["isl_hops"].astype(np.int16), mask=~served)
    for col in COLUMNS + DETAIL_COLUMNS:
        cols[col] = pa.array(res[col], from_pandas=True)
    return pa.table(cols)


def _cut(text, width: int) -> str:
    text = "" if text is None else str(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def _site(name, country, width: int) -> str:
    """A site as its town (the name up to its first comma) and country code, in ``width``."""
    if name is None:
        return "-"
    town = str(name).split(",")[0].strip()
    return _cut(town, width - 3) + f" {country}"


def _f(x, fmt="{:.1f}") -> str:
    return "-" if x is None else fmt.format(x)


@app.command()
def access(
    place: str = typer.Argument(..., help="Place name ('Paris, FR') or 'lat,lon'."),
    constellation: str = typer.Option(
        "starlink-shell1", "--constellation", "-c", help="Preset name or TLE file."
    ),
    start: Optional[str] = typer.Option(
        None, "--start", help="UTC start, ISO 8601 (default: the element epoch)."
    ),
    duration: float = typer.Option(
        120.0, "--duration", callback=_finite_nonneg, help="Window length (s)."
    ),
    step: float = typer.Option(1.0, "--step", callback=_finite_positive, help="Time step (s)."),
    gateways: Optional[Path] = typer.Option(
        None,
        "--gateways",
        help="Gateway file (CSV/TOML); default: the gateway + PoP list shipped with "
        "SkyMesh, or a newer one from `skymesh data update`.",
    ),
    pops: Optional[Path] = typer.Option(
        None, "--pops", help="PoP file (CSV/TOML); default: the PoP rows of the gateway file."
    ),
    mode: str = typer.Option("isl", "--mode", help="isl or bent-pipe."),
    policy: str = typer.Option(
        "operator",
        "--policy",
        help="Serving-satellite "
        "choice at each 15 s boundary: operator (measured "
        "preferences), highest-elevation or longest-visibility.",
    ),
    load: float = typer.Option(
        0.0,
        "--load",
        callback=_load,
        help="User-link utilisation in [0, 1) for the queueing component (0: idle).",
    ),
    min_elevation: float = typer.Option(
        25.0, "--min-elevation", callback=_elevation_mask, help="Elevation mask (deg)."
    ),
    out: Optional[Path] = typer.Option(
        None, "--out", help="Write the per-step table (.csv, .parquet or .json)."
    ),
    force: bool = typer.Option(False, "--force", help="Replace --out if it exists."),
    skip_bad: bool = typer.Option(False, "--skip-bad", help="Skip malformed TLEs."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON document."),
    force_epoch: bool = _FORCE_EPOCH,
):
    """One terminal's path to the internet: serving satellite per 15 s slot, gateway,
    PoP, and the RTT with its components."""
    from skymesh.access.delay import component_table
    from skymesh.access.terminal_path import SELECTION_POLICIES, terminal_path
    from skymesh.ground.places import resolve_place
    from skymesh.orbits.presets import load_constellation
    from skymesh.report.tables import write_table
    from skymesh.timebase import time_grid

    if mode not in ("isl", "bent-pipe"):
        raise SkyMeshError(f"--mode: unknown mode '{mode}'; use isl or bent-pipe")
    if policy not in SELECTION_POLICIES:
        raise SkyMeshError(
            f"--policy: unknown policy '{policy}'; use {', '.join(SELECTION_POLICIES)}"
        )
    _check_out_suffix(out, (".csv", ".parquet", ".json"))
    if out is not None and out.exists() and not force:
        raise SkyMeshError(f"{out}: file exists; pass --force to replace it")
    notes: list[str] = []
    p = resolve_place(place)
    if not p.country_iso2:
        from dataclasses import replace

        from skymesh.ground.countries import country_of

        p = replace(p, country_iso2=str(country_of([p.lat_deg], [p.lon_deg])[0]))
    gw, pop_sites = ground_sites(gateways, pops, notes)
    c = load_constellation(constellation, skip_bad=skip_bad, report=notes)
    _far_epoch(c, force_epoch)
    _check_job_size(
        int(duration // step) + 1,
        len(c),
        1 + len(gw),
        hint="use a shorter --duration or a coarser --step",
    )
    grid = time_grid(_default_start(c, start), duration, step)
    with _progress(len(grid), "routing", enabled=not json_out and len(grid) > 120) as bar:
        task = bar.add_task("routing", total=len(grid))
        res = terminal_path(
            c,
            grid,
            p.lat_deg,
            p.lon_deg,
            p.country_iso2,
            gw,
            pop_sites,
            mode=mode,
            policy=policy,
            min_elevation_deg=min_elevation,
            load=load,
            progress=lambda n: bar.advance(task, n),
        )
    slots = _slot_rows(res, grid, c, gw, pop_sites)
    served = res["gateway"] >= 0
    sat = res["serving_sat"]
    changes = int(((sat[1:] != sat[:-1]) & (sat[1:] >= 0) & (sat[:-1] >= 0)).sum())
    hours = max(float(grid.offsets_s[-1]) / 3600.0, 0.0)
    summary = dict(
        steps=len(grid),
        served_fraction=float(served.mean()),
        slots=len(slots),
        handovers=changes,
        forced_handovers=int(res["forced_handover"].sum()),
        handovers_per_hour=changes / hours if hours > 0 else None,
        selection=res["selection"],
    )
    from skymesh.access.delay import COLUMNS

    for col in COLUMNS:
        v = res[col][served]
        summary[f"{col}_mean"] = float(v.mean()) if len(v) else None
    summary["rtt_ms_p50"] = float(np.median(res["rtt_ms"][served])) if served.any() else None
    meta = dict(
        place=p.name,
        country=p.country_iso2,
        lat_deg=p.lat_deg,
        lon_deg=p.lon_deg,
        constellation=c.name,
        mode=mode,
        start_utc=grid.start,
        duration_s=duration,
        step_s=step,
        min_elevation_deg=min_elevation,
        load=load,
        policy=policy,
    )
    if out is not None:
        table = _series_table(res, grid, c, gw, pop_sites)
        write_table(table, out, force=force, meta=dict(meta, summary=summary))
        notes.append(f"wrote {table.num_rows} rows to {out}")
    if json_out:
        return _print_json(
            dict(meta, summary=summary, slots=slots, components=component_table(), notes=notes)
        )
    _notes(notes + ([p.note] if p.note else []), False)
    console.print(
        f"{p.name} ({p.country_iso2}) to the internet over {c.name}, {mode}: "
        f"{len(grid)} steps of {step:g} s from {grid.start:%Y-%m-%d %H:%M:%S} UTC"
    )
    table = Table(
        title="Per 15 s slot (ms, means over the slot)",
        box=None,
        padding=(0, 1, 0, 0),
        header_style="bold",
    )
    # Widths add up to 78 columns with the 1-column gaps: the table fits 80.
    for name, width, right in (
        ("UTC", 8, False),
        ("satellite", 12, False),
        ("el", 2, True),
        ("gateway", 12, False),
        ("PoP", 11, False),
        ("RTT", 5, True),
        ("prop", 4, True),
        ("fibre", 5, True),
        ("access", 6, True),
        ("other", 5, True),
    ):
        table.add_column(
            name,
            justify="right" if right else "left",
            no_wrap=True,
            min_width=width,
            max_width=width,
        )
    for r in slots:
        sats = r["satellites"]
        last = sats[-1].removeprefix("STARLINK-") if sats else None
        sat_txt = "-" if not sats else _cut(last, 11) + ("*" if len(sats) > 1 else "")
        other = None if r["rtt_ms"] is None else r["processing_ms"] + r["queueing_ms"]
        table.add_row(
            f"{r['start_utc']:%H:%M:%S}",
            sat_txt,
            _f(r["elevation_deg"], "{:.0f}"),
            _site(r["gateway"], r["gateway_country"], 12),
            _site(r["pop"], r["pop_country"], 11),
            _f(r["rtt_ms"]),
            _f(r["space_rtt_ms"]),
            _f(r["fibre_ms"]),
            _f(r["access_ms"]),
            _f(other),
        )
    console.print(table)
    console.print(
        "[dim]prop: space RTT (propagation only); access: frames, request/grant, round robin; "
        "other: processing + queueing; satellites without 'STARLINK-'; * a forced "
        "handover in the slot (the last satellite shown)[/]"
    )
    if summary["rtt_ms_p50"] is not None:
        console.print(
            f"RTT (user, with access) median {summary['rtt_ms_p50']:.1f} ms (mean: space "
            f"{summary['space_rtt_ms_mean']:.1f} + fibre "
            f"{summary['fibre_ms_mean']:.1f} + access "
            f"{summary['access_ms_mean']:.1f} + processing "
            f"{summary['processing_ms_mean']:.1f} + queueing "
            f"{summary['queueing_ms_mean']:.1f}); served "
            f"{100 * summary['served_fraction']:.1f} % of steps; "
            f"{changes} handovers ({summary['forced_handovers']} forced); "
            f"serving satellite: {res['selection']}"
        )
    else:
        console.print("not served in this window")
