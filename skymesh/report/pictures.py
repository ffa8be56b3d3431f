"""Pictures from SkyMesh objects: the glue between the engine and the figure functions.

Each function computes what its figure needs (positions, routes, policy
states) with the engine's vectorised calls and hands arrays to
:mod:`skymesh.report.maps`, :mod:`skymesh.report.plots` or
:mod:`skymesh.report.view`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

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
        segments = np.stack([np.stack([lat[pairs[:, 0]], lon[pairs[:, 0]]], -1),
                             np.stack([lat[pairs[:, 1]], lon[pairs[:, 1]]], -1)], axis=1)
    return constellation_map(lat, lon, segments, path=path,
                             title=f"{constellation.name}: {len(constellation):,} satellites "
                                   f"at {when:%Y-%m-%d %H:%M} UTC")


def route_figure(constellation, a, b, when, path, *, mode="isl", gateways=None):
    """Map of the shortest route between places ``a`` and ``b`` (resolved ``Place``s)."""
    from skymesh.report.maps import route_map
    grid = time_grid(when)
    eps = GroundPoints.of([a.name, b.name], [a.lat_deg, b.lat_deg], [a.lon_deg, b.lon_deg])
    relays = None if gateways is None else GroundPoints.of(gateways.name, gateways.lat_deg,
                                                          gateways.lon_deg)
    table = path_series(constellation, grid, eps, [[0, 1]], mode=mode, relays=relays)
    sats = table["path"][0].as_py() or []
    rtt = table["rtt_ms"][0].as_py()
    pos = positions_ecef(constellation, grid)[:, 0]
    lat, lon, _ = ecef_to_geodetic(pos[np.asarray(sats, dtype=int)]) if sats else ([], [], [])
    title = (f"{a.name} -> {b.name}, {constellation.name} ({mode}), {when:%Y-%m-%d %H:%M} UTC: "
             + (f"RTT {rtt:.1f} ms, {len(sats)} satellites" if rtt is not None else "unreachable"))
    gw = None if gateways is None else (gateways.lat_deg, gateways.lon_deg, gateways.name)
    return route_map(np.concatenate([[a.lat_deg], lat, [b.lat_deg]]),
                     np.concatenate([[a.lon_deg], lon, [b.lon_deg]]),
                     eps, gw, [str(constellation.sat_names[s]) for s in sats], title=title,
                     path=path)


def rtt_figures(table, a, b, path, *, cdf_path=None, title=""):
    from skymesh.report.plots import fibre_rtt_ms, rtt_cdf_plot, rtt_plot, vacuum_rtt_ms
    rtt = np.asarray([np.nan if v is None else v for v in table["rtt_ms"].to_pylist()])
    vac = float(vacuum_rtt_ms(a.lat_deg, a.lon_deg, b.lat_deg, b.lon_deg))
    fib = float(fibre_rtt_ms(a.lat_deg, a.lon_deg, b.lat_deg, b.lon_deg))
    figs = [rtt_plot(table["t_s"].to_numpy(), rtt, vac, fib, title=title, path=path)]
    if cdf_path is not None:
        figs.append(rtt_cdf_plot(rtt, vac, fib, title=title, path=cdf_path))
    return figs


def run_figures(out: Path, prep, series: dict) -> list[str]:
    """Figures for a run's report: service maps at start and end, RTT CDF, served over time.

    ``series`` is the second result of :func:`skymesh.sim.summary.summarize_run`.
    """
    from skymesh.report.maps import policy_states, service_map
    from skymesh.report.plots import rtt_cdf_plot, rtt_plot
    (out / "figures").mkdir(exist_ok=True)
    names = []
    grid = prep.grid
    for tag, when in (("start", grid.start), ("end", grid.datetimes()[-1])):
        f = f"figures/service_{tag}.png"
        service_map(policy_states(prep.operators[0].policy, when),
                    title=f"{prep.scenario.name}: service at {when:%Y-%m-%d %H:%M} UTC",
                    path=out / f)
        names.append(f)
    f = "figures/rtt_cdf.png"
    rtt_cdf_plot({lab: s["rtt_ms"] for lab, s in series.items()},
                 title=f"{prep.scenario.name}: RTT from terminals to their gateway (served steps)",
                 path=out / f)
    names.append(f)
    f = "figures/served_over_time.png"
    first = next(iter(series))
    fig = rtt_plot(grid.offsets_s, 100 * series[first]["served_by_step"],
                   title=f"{prep.scenario.name}: share of terminals served ({first})",
                   label="served %", path=None)
    fig.axes[0].set_ylabel("terminals served (%)")
    fig.savefig(out / f)
    names.append(f)
    return names


def scenario_view(loaded, out, *, route_from=None, route_to=None, max_steps: int = 120):
    """Write the interactive HTML view of a scenario's window."""
    from skymesh.ground.places import resolve_place
    from skymesh.report.maps import policy_states
    from skymesh.report.view import decimate_steps, write_view_html
    from skymesh.sim.prepare import prepare
    prep = prepare(loaded)
    op = prep.operators[0]
    steps = decimate_steps(len(prep.grid), max_steps)
    grid = prep.grid.subset(steps)
    pos = positions_ecef(op.constellation, grid)
    lat, lon, _ = ecef_to_geodetic(pos)
    if route_from:
        a = resolve_place(route_from)
        a_pt = (a.name, a.lat_deg, a.lon_deg)
    else:
        a_pt = (str(prep.terminal_name[0]), prep.terminal_lat[0], prep.terminal_lon[0])
    if route_to:
        b = resolve_place(route_to)
        b_pt = (b.name, b.lat_deg, b.lon_deg)
    else:
        b_pt = (str(prep.gateway_name[0]), prep.gateway_lat[0], prep.gateway_lon[0])
    eps = GroundPoints.of([a_pt[0], b_pt[0]], [a_pt[1], b_pt[1]], [a_pt[2], b_pt[2]])
    table = path_series(op.constellation, grid, eps, [[0, 1]], mode=prep.scenario.routing.mode,
                        min_elevation_deg=prep.scenario.routing.min_elevation_deg)
    route = table["path"].to_pylist()
    rtt = [np.nan if v is None else v for v in table["rtt_ms"].to_pylist()]
    states = [policy_states(op.policy, when) for when in grid.datetimes()]
    return write_view_html(
        out, sat_tracks=(grid, lat, lon), countries=states, isl_pairs=op.isl_pairs,
        route=route, rtt_ms=rtt, endpoints=([a_pt[0], b_pt[0]], [a_pt[1], b_pt[1]],
                                            [a_pt[2], b_pt[2]]),
        gateways=(prep.gateway_lat, prep.gateway_lon, list(prep.gateway_name)),
        title=f"SkyMesh: {prep.scenario.name}", max_steps=max_steps)
