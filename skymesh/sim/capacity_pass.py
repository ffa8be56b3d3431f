"""Capacity of a run: max-min fair throughput of every terminal at a few sampled steps.

At each sampled step the primary operator's egress routes (the same ones the
run reports) are loaded with each terminal's demand, over user beams, ISLs,
gateway feeder links and gateway sites, and filled max-min fairly
(:func:`skymesh.capacity.network.allocate_step`). Reported: per-terminal
throughput (p5/p50/p95), the terminals carried at the target rate, and the
saturated bottlenecks.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from skymesh.capacity.cells import cells_of
from skymesh.capacity.demand import DEFAULT_BUSY_HOUR_MBPS, demand_mbps
from skymesh.capacity.network import NetworkCapacityParams, allocate_step, terminals_at_rate
from skymesh.orbits.propagate import positions_ecef
from skymesh.sim.egress_chunk import route_block
from skymesh.sim.prepare import Prepared


def sample_steps(n_steps: int, samples: int) -> np.ndarray:
    """``samples`` step indices spread evenly over the window, first and last included."""
    return np.unique(np.round(np.linspace(0, n_steps - 1, min(samples, n_steps))).astype(int))


def network_params(prep: Prepared) -> NetworkCapacityParams:
    c = prep.scenario.capacity
    antennas = c.gateway_antennas
    cap = prep.gateway_capacity_gbps
    site_mbps = np.where(np.isfinite(cap), cap * 1e3 / antennas, c.gateway_antenna_gbps * 1e3)
    return NetworkCapacityParams(
        beams_per_sat=c.beams_per_sat, channels_per_beam=c.channels_per_beam,
        frequency_reuse=c.frequency_reuse, beam_capacity_mbps=c.beam_capacity_mbps,
        sat_downlink_mbps=c.sat_downlink_mbps, isl_capacity_mbps=c.isl_capacity_gbps * 1e3,
        gateway_antennas=antennas, gateway_antenna_mbps=site_mbps)


def capacity_pass(prep: Prepared) -> tuple[dict, pa.Table]:
    """Summary and per-terminal table of the capacity model at the sampled steps."""
    s = prep.scenario
    c = s.capacity
    d = s.demand
    op = prep.operators[0]
    groups, group_of = np.unique(prep.terminal_country, return_inverse=True)
    cells = cells_of(prep.terminal_lat, prep.terminal_lon, c.cell_resolution)
    params = network_params(prep)
    busy = d.busy_hour_mbps if d and d.busy_hour_mbps else DEFAULT_BUSY_HOUR_MBPS
    mult = d.multiplier if d else 1.0
    diurnal = d.diurnal if d else True
    rows, samples = [], []
    for k in sample_steps(len(prep.grid), c.samples):
        sub = prep.grid.subset(slice(k, k + 1))
        when = sub.datetimes()[0]
        pos = positions_ecef(op.constellation, sub, serving_only=True)
        routes = route_block(prep, op, pos, sub, s.routing.mode, groups, group_of)
        demand = demand_mbps(prep.n_terminals, busy, mult,
                             utc_time=when if diurnal else None,
                             lon_deg=prep.terminal_lon if diurnal else None)
        res = allocate_step(pos, routes, cells.index, cells.lat_deg, cells.lon_deg,
                            prep.gateway_lat, prep.gateway_lon, demand, params, step=0)
        at = terminals_at_rate(res, c.target_mbps)
        rate = np.asarray(res["rate_mbps"], dtype=float)
        sat = res["saturated"]
        kinds, counts = np.unique(np.asarray(sat["kind"]), return_counts=True)
        samples.append(dict(
            time_utc=when.isoformat().replace("+00:00", "Z"), step=int(k),
            served=int(np.sum(np.asarray(res["reason"]) == "served")),
            throughput_gbps=float(rate.sum() / 1e3),
            demand_gbps=float(np.sum(demand[np.isfinite(demand)]) / 1e3),
            rate_mbps={f"p{q}": float(v) for q, v in zip((5, 50, 95),
                                                          np.percentile(rate, (5, 50, 95)))},
            terminals_at_target=int(at["n_terminals"]), limiting_kind=at.get("limiting_kind"),
            saturated_links={str(a): int(b) for a, b in zip(kinds, counts)}))
        rows.append(pa.table({
            "time_utc": pa.array(np.full(prep.n_terminals,
                                         np.datetime64(when.replace(tzinfo=None), "ms")),
                                 type=pa.timestamp("ms", tz="UTC")),
            "terminal": pa.array(np.arange(prep.n_terminals, dtype=np.int32)),
            "demand_mbps": pa.array(demand),
            "rate_mbps": pa.array(rate),
            "reason": pa.array(np.asarray(res["reason"]).astype(str)).dictionary_encode(),
        }))
    table = pa.concat_tables(rows)
    pooled = table["rate_mbps"].to_numpy()
    summary = dict(
        target_mbps=c.target_mbps, samples=samples,
        rate_mbps={f"p{q}": float(v) for q, v in zip((5, 50, 95),
                                                      np.percentile(pooled, (5, 50, 95)))},
        terminals_at_target_min=int(min(x["terminals_at_target"] for x in samples)),
        model=dict(beams_per_sat=c.beams_per_sat, frequency_reuse=c.frequency_reuse,
                   isl_capacity_gbps=c.isl_capacity_gbps, gateway_antennas=c.gateway_antennas,
                   busy_hour_mbps=busy, multiplier=mult, diurnal=diurnal))
    summary["markdown"] = _markdown(summary)
    return summary, table


def _markdown(cap: dict) -> list[str]:
    r = cap["rate_mbps"]
    lines = [f"Max-min fair throughput per terminal (all sampled steps): p5 {r['p5']:.2f} / "
             f"p50 {r['p50']:.2f} / p95 {r['p95']:.2f} Mbit/s; at least "
             f"{cap['terminals_at_target_min']:,} terminals carried at {cap['target_mbps']:g} "
             "Mbit/s at every sample.", "",
             "| time (UTC) | served | throughput | demand | rate p5 / p50 / p95 | at target | "
             "bottlenecks |", "|---|---|---|---|---|---|---|"]
    for x in cap["samples"]:
        q = x["rate_mbps"]
        sat = ", ".join(f"{k} {v}" for k, v in x["saturated_links"].items()) or "none"
        lines.append(f"| {x['time_utc']} | {x['served']:,} | {x['throughput_gbps']:.1f} Gbit/s | "
                     f"{x['demand_gbps']:.1f} Gbit/s | {q['p5']:.2f} / {q['p50']:.2f} / "
                     f"{q['p95']:.2f} Mbit/s | {x['terminals_at_target']:,} "
                     f"({x['limiting_kind'] or 'none'}) | {sat} |")
    m = cap["model"]
    lines += ["", f"Model: {m['beams_per_sat']} beams per satellite, frequency reuse "
              f"{m['frequency_reuse']:g}, ISLs {m['isl_capacity_gbps']:g} Gbit/s, "
              f"{m['gateway_antennas']} antennas per gateway, busy-hour demand "
              f"{m['busy_hour_mbps']:.2f} Mbit/s x {m['multiplier']:g}"
              + (" with a diurnal profile." if m["diurnal"] else ".")]
    return lines
