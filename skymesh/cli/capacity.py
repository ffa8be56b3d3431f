"""``skymesh capacity REGION``: how many terminals a region can carry at a target rate."""

from __future__ import annotations

import contextlib
import math
from pathlib import Path
from typing import Any, Optional

import typer

from skymesh.cli.common import (
    _FORCE_EPOCH,
    _notes,
    _print_json,
    _print_table,
    app,
    console,
    err_console,
)
from skymesh.errors import SkyMeshError


def _gateway_file(gateways: Optional[Path], constellation: str = "starlink-shell1"):
    """The gateway list: the file given, else the constellation's operator's own list
    (:func:`skymesh.links.operators.operator_gateway_file`; an error naming --gateways when
    it has none), and for Starlink the default list (shipped with SkyMesh, or a newer one
    in the data directory; :func:`skymesh.ground.sites.default_sites`)."""
    from skymesh.ground.sites import sites_file

    if gateways is None:
        from skymesh.capacity.region import default_gateways

        return sites_file(default_gateways(constellation))
    return sites_file(gateways)


def _operator(constellation: str) -> Optional[str]:
    """The constellation's operator (:func:`skymesh.links.operators.guess_operator`)."""
    from skymesh.links.operators import guess_operator

    return guess_operator(constellation)


def _operator_mask(constellation: str) -> float:
    """The operator's user elevation mask (deg), Starlink's when it cannot be told."""
    from skymesh.links.operators import operator_param

    return float(operator_param(_operator(constellation) or "starlink", "user_min_elevation_deg"))


def _n(x) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    return f"{x:,.0f}"


@app.command("capacity")
def capacity(
    region: str = typer.Argument(
        ...,
        help="Country: ISO 3166-1 alpha-2 code (UA) or name (Ukraine), or a GeoJSON polygon file.",
    ),
    constellation: str = typer.Option(
        "starlink-shell1", "--constellation", "-c", help="Preset or TLE file."
    ),
    target_mbps: float = typer.Option(
        25.0, "--target-mbps", help="Rate every carried terminal gets (Mbit/s)."
    ),
    at: Optional[str] = typer.Option(
        None, "--at", help="UTC time, ISO 8601 (default: the element epoch)."
    ),
    gateways: Optional[Path] = typer.Option(
        None,
        "--gateways",
        help="Gateway file (.csv or .toml; default: the gateway + PoP list shipped with "
        "SkyMesh, or a newer one from `skymesh data update`).",
    ),
    rain_mmh: Optional[float] = typer.Option(
        None, "--rain-mmh", help="Rain over the region (mm/h): compare with clear sky."
    ),
    probes: int = typer.Option(2000, "--probes", help="Probe terminals placed by population."),
    mode: str = typer.Option("isl", "--mode", help="isl, bent-pipe or hybrid."),
    min_elevation: Optional[float] = typer.Option(
        None, "--min-elevation", help="Elevation mask (deg; default: the operator's)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the probe placement."),
    yes: bool = typer.Option(
        False, "--yes", "-y", help="Start a job estimated to take long without asking."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No notes on stderr."),
    force_epoch: bool = _FORCE_EPOCH,
):
    """How many terminals REGION can carry at --target-mbps, and what binds first.

    Probe terminals are placed by population, routed at one instant, and the
    network's capacity (beams, satellite downlink, ISLs, feeders, gateways) is
    shared among them; the count assumes demand spread like the population. The
    constellation's operator brings its own user link, beams, mask and ISLs
    (skymesh.links.operators); an operator without a gateway list needs --gateways.

    Before any work its cost (probes x satellites in view: memory and time) is
    estimated: a job the machine cannot hold is refused, a long one needs --yes.
    """
    from skymesh.capacity.region import region_capacity
    from skymesh.timebase import parse_time

    if mode not in ("isl", "bent-pipe", "hybrid"):
        raise SkyMeshError(f"--mode: '{mode}' is not one of isl, bent-pipe, hybrid")
    from skymesh.capacity.region import MAX_SEED, MAX_TARGET_MBPS

    if not (math.isfinite(target_mbps) and 0 < target_mbps <= MAX_TARGET_MBPS):
        raise SkyMeshError(
            f"--target-mbps: must be a number > 0 and at most {MAX_TARGET_MBPS:,.0f} "
            f"(Mbit/s), got {target_mbps:g}"
        )
    if not 0 <= seed <= MAX_SEED:
        raise SkyMeshError(f"--seed: must be a whole number in 0..{MAX_SEED}, got {seed}")
    if min_elevation is not None and not 0 <= min_elevation < 90:
        raise SkyMeshError(f"--min-elevation: must be in [0, 90) deg, got {min_elevation:g}")
    if rain_mmh is not None and not (math.isfinite(rain_mmh) and 0 <= rain_mmh <= 300):
        raise SkyMeshError(f"--rain-mmh: must be in 0..300 mm/h, got {rain_mmh:g}")
    when = None
    if at:
        try:
            when = parse_time(at, field="--at")
        except SkyMeshError:
            raise SkyMeshError(
                f"--at: not a time: {at!r} (an ISO 8601 UTC time, for example 2026-01-01T00:00:00Z)"
            ) from None
    if not 1 <= probes <= 200_000:
        raise SkyMeshError(f"--probes: must be a whole number in 1..200000, got {probes}")
    sites = _gateway_file(gateways, constellation)
    mask = min_elevation if min_elevation is not None else _operator_mask(constellation)
    _gate_capacity(constellation, probes, sites.path, mask, rain_mmh, yes)
    with (
        err_console.status("placing, routing and sharing capacity ...", spinner="dots")
        if not json_out
        else _Null(),
        _stdout_to_stderr(),
    ):
        res = region_capacity(
            region,
            constellation=constellation,
            target_mbps=target_mbps,
            at=when,
            gateways=sites.path,
            rain_mmh=rain_mmh,
            probes=probes,
            seed=seed,
            mode=mode,
            min_elevation_deg=min_elevation,
            force_epoch=force_epoch,
        )
    if json_out:
        _print_json(res)
        return
    _notes(res["notes"], quiet)
    _print(res)


def _count_lines(path: Path) -> int:
    """Lines of the gateway file (an upper bound on its gateways), read as its reader reads
    it (a regular file under the size cap); 0 for anything else, which the reader refuses."""
    from skymesh.inputs import read_input_bytes

    try:
        return read_input_bytes(path, "gateways file").count(b"\n") + 1
    except SkyMeshError:
        return 0


def _gate_capacity(constellation, probes, gateways, min_elevation, rain_mmh, yes) -> None:
    """Estimate the capacity model before any work; refuse what the machine cannot hold."""
    from skymesh.cli.jobs import gate
    from skymesh.sim.estimate import constellation_altitudes, estimate_capacity

    altitudes = constellation_altitudes(constellation)
    if altitudes is None:  # neither a preset nor a regular file: the loader says which
        return
    est = estimate_capacity(
        probes,
        altitudes,
        min_elevation,
        gateways=_count_lines(gateways),
        variants=1 if rain_mmh is None else 2,
        what=f"capacity with {probes:,} probes",
    )
    gate(
        est, yes=yes, hint="use fewer --probes, a higher --min-elevation or a smaller constellation"
    )


class _Null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@contextlib.contextmanager
def _stdout_to_stderr():
    """Point file descriptor 1 at stderr while the engine runs: solver libraries (HiGHS
    prints a banner from C++) must not write into the table or the --json document."""
    import os
    import sys

    try:
        fd_out, fd_err = sys.__stdout__.fileno(), sys.__stderr__.fileno()
    except (AttributeError, OSError, ValueError):
        yield
        return
    sys.__stdout__.flush()
    saved = os.dup(fd_out)
    try:
        os.dup2(fd_err, fd_out)
        yield
    finally:
        sys.__stdout__.flush()
        os.dup2(saved, fd_out)
        os.close(saved)


def _print(res: dict) -> None:
    from skymesh.capacity.headline import inputs_line

    m, r, p, h = res["model"], res["rain"], res["probes"], res["headline"]
    t = res["target_mbps"]
    head = f"{res['region']} at {t:g} Mbit/s, slot {res['time_utc']}"
    cols = ["metric", "value"] if r is None else ["metric", "clear sky", "rain"]

    def row(label, fn):
        return (label, fn(m)) if r is None else (label, fn(m), fn(r))

    def one(label, value):
        return (label, value) if r is None else (label, "", value)

    rows: list[tuple[Any, ...]] = [
        one(f"HEADLINE: terminals at {t:g} Mbit/s", _n(h["terminals_at_target"])),
        one("binding constraint", h["binding_label"]),
        one("per terminal (every covered one at once)", f"{h['per_terminal_mbps']:,.2f} Mbit/s"),
        ("secondary:",) + ("",) * (len(cols) - 1),
    ]
    if r is not None:
        rows.append(row(f"terminals at {t:g} Mbit/s", lambda x: _n(x["terminals_at_target"])))
    rows += [
        ("constellation", res["constellation"]) + (("",) if r is not None else ()),
        (
            "operator: link, beams",
            f"{res['operator']['operator']}, "
            f"{res['inputs']['operator']['beams_per_sat']} beams/sat",
        )
        + (("",) if r is not None else ()),
        ("probes placed / cells", f"{p['placed']:,} / {p['cells']:,}")
        + (("",) if r is not None else ()),
        ("probes covered / not", f"{p['covered']:,} / {p['not_covered']:,}")
        + (("",) if r is not None else ()),
        row("admitted (operator picks which probes)", lambda x: _n(x["admitted_at_target"])),
        row("one probe stands for", lambda x: f"{x['per_probe']:,.2f} terminals"),
        row("aggregate (max-min)", lambda x: f"{x['aggregate_gbps']:,.1f} Gbit/s"),
        row(
            "fair share p5/p50/p95",
            lambda x: "{:.0f}/{:.0f}/{:.0f}".format(
                *(x["fair_share_mbps"][k] for k in ("p5", "p50", "p95"))
            ),
        ),
    ]
    _print_table(head, cols, rows, right=tuple(cols[1:]))
    kinds = list(dict.fromkeys(list(m["binding_share"]) + list((r or {}).get("binding_share", {}))))
    if kinds:

        def pct(x, k):
            v = x["binding_share"].get(k)
            return "-" if v is None else f"{100 * v:.0f} %"

        brows = [(k, pct(m, k)) if r is None else (k, pct(m, k), pct(r, k)) for k in kinds]
        bcols = (
            ["what binds", "share"] if r is None else ["what binds", "share, clear", "share, rain"]
        )
        _print_table(
            "What binds first (shares of the LP's duals)", bcols, brows, right=tuple(bcols[1:])
        )
    console.print(f"Inputs: {inputs_line(res['inputs'])}.", markup=False, highlight=False)
    if r is not None:
        console.print(
            f"Rain {res['rain_mmh']:g} mm/h on every cell and on "
            f"{r['gateways_in_rain']} gateway(s) inside the region; "
            f"{r['recommendations']}.",
            markup=False,
            highlight=False,
        )
    console.print(
        f"Demand spread like the population; {res['elapsed_s']:.1f} s.",
        markup=False,
        highlight=False,
    )
