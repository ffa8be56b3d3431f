"""Capacity of a run: the load-aware beam assignment at a few sampled 15 s slots.

At each sampled step the slot holding it (:mod:`skymesh.access.slots`) is assigned from its
boundary: terminals are grouped into service cells (H3 cells, split by exit group so a cell
never mixes two countries' gateway rules), every satellite in view of a cell above the mask
is a candidate beam (:func:`skymesh.capacity.beams.beam_pairs`), each satellite's traffic
takes its shortest-delay route to a gateway the policy allows
(:func:`skymesh.capacity.network.satellite_routes`), and
:func:`skymesh.capacity.assignment.assign_cells` shares beam time max-min fairly (fraction of
demand served) under beam-time, per-cell channel, downlink, ISL, feeder and gateway
capacities. Reported per sample and pooled: terminals served (of those covered), per-terminal
fair-share percentiles (``fair_share_mbps``: every terminal demanding at once, not a speed one
user measures) and their sum (``aggregate_gbps``), terminals carried at the target rate, the
binding constraint, and how many terminals the region could carry at the target rate before
the first constraint binds (:func:`skymesh.capacity.assignment.carry_at_rate`).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from skymesh.access.slots import slot_start_s
from skymesh.capacity.assignment import assign_cells, carry_at_rate, terminal_rates
from skymesh.capacity.beams import MAX_BEAMS_PER_CELL, beam_pairs
from skymesh.capacity.cells import cells_of
from skymesh.capacity.demand import (
    DEFAULT_BUSY_HOUR_MBPS,
    demand_mbps,
    terminal_weights,
    weighted_percentiles,
    weights_note,
)
from skymesh.capacity.network import NetworkCapacityParams, backhaul_network, satellite_routes
from skymesh.orbits.propagate import positions_ecef
from skymesh.policy.rules import exit_allowed, service_active
from skymesh.sim.egress_chunk import block_links
from skymesh.sim.prepare import Prepared
from skymesh.timebase import TimeGrid

CAPACITY_KINDS = ("beam-time", "cell-beams", "sat-downlink", "isl", "gsl-feeder", "gateway")


def sample_steps(n_steps: int, samples: int) -> np.ndarray:
    """``samples`` step indices spread evenly over the window, first and last included."""
    return np.unique(np.round(np.linspace(0, n_steps - 1, min(samples, n_steps))).astype(int))


def network_params(prep: Prepared) -> NetworkCapacityParams:
    c = prep.scenario.capacity
    antennas = c.gateway_antennas
    cap = prep.gateway_capacity_gbps
    site_mbps = np.where(np.isfinite(cap), cap * 1e3 / antennas, c.gateway_antenna_gbps * 1e3)
    return NetworkCapacityParams(
        beams_per_sat=c.beams_per_sat,
        channels_per_beam=c.channels_per_beam,
        frequency_reuse=c.frequency_reuse,
        beam_capacity_mbps=c.beam_capacity_mbps,
        sat_downlink_mbps=c.sat_downlink_mbps,
        isl_capacity_mbps=c.isl_capacity_gbps * 1e3,
        gateway_antennas=antennas,
        gateway_antenna_mbps=site_mbps,
    )


def service_cells(lat_deg, lon_deg, group_of, resolution: int) -> dict:
    """Service cells keyed by (H3 cell, exit group): ``index`` (G,), ``lat_deg``, ``lon_deg``,
    ``group`` (C,), ``h3`` (C,), ``n_terminals`` (C,)."""
    h = cells_of(lat_deg, lon_deg, resolution)
    group_of = np.asarray(group_of, dtype=np.int64)
    n_groups = int(group_of.max()) + 1 if group_of.size else 1
    key, index = np.unique(h.index * n_groups + group_of, return_inverse=True)
    hc = key // n_groups
    return {
        "index": index.ravel(),
        "lat_deg": h.lat_deg[hc],
        "lon_deg": h.lon_deg[hc],
        "group": key % n_groups,
        "h3": h.ids[hc],
        "n_terminals": np.bincount(index.ravel(), minlength=key.size),
    }


def slot_links(prep: Prepared, op, offset_s: float, cells: dict, groups, params) -> dict:
    """The network of the slot starting ``offset_s`` s into the run, as the assignment sees it.

    Satellite positions, each satellite's route to a gateway its exit group may use and that
    route's backhaul links (:func:`skymesh.capacity.network.backhaul_network`), and the
    cell-satellite beam pairs above the scenario's mask (:func:`beam_pairs`). Returns
    ``sub`` (the one-instant grid), ``pos`` (N, 1, 3) km, ``n_sats``, ``bh``, ``pairs``.
    """
    s = prep.scenario
    sub = TimeGrid(prep.grid.start, np.array([float(offset_s)]))
    pos = positions_ecef(op.constellation, sub, serving_only=True)
    mode = s.routing.mode
    links = block_links(prep, op, pos, sub, with_isls=mode != "bent-pipe")
    exit_mask = np.stack([exit_allowed(op.policy, g, prep.gateway_country, sub) for g in groups])[
        :, :, 0
    ]
    n_sats = pos.shape[0]
    routes = satellite_routes(
        n_sats,
        links["gateway_links"],
        exit_mask,
        mode=mode,
        isl_pairs=links.get("isl_pairs"),
        isl_km=None if "isl_km" not in links else links["isl_km"][:, 0],
    )
    bh = backhaul_network(pos[:, 0], routes, prep.gateway_lat, prep.gateway_lon, params)
    pairs = beam_pairs(
        pos[:, 0],
        cells["lat_deg"],
        cells["lon_deg"],
        min_elevation_deg=s.routing.min_elevation_deg,
        link=params.beam_link,
        channels_per_beam=params.channels_per_beam,
        frequency_reuse=params.frequency_reuse,
        beam_capacity_mbps=params.beam_capacity_mbps,
    )
    return {"sub": sub, "pos": pos, "n_sats": n_sats, "bh": bh, "pairs": pairs}


def slot_capacity(
    prep: Prepared,
    op,
    offset_s: float,
    cells: dict,
    groups,
    demand,
    params: NetworkCapacityParams,
    target_mbps: float,
    terminal_weight=None,
    rain: bool = True,
) -> dict:
    """Assignment and per-terminal rates of the slot starting ``offset_s`` s into the run.

    ``demand`` (G,) Mbit/s per terminal; ``terminal_weight`` (G,) optional subscribers per
    sampled terminal (scales demand and headcounts). When the scenario has ``[[rain]]``
    events, user beams and gateway feeders are re-budgeted under clear sky plus the rain
    falling on each cell and gateway at the slot (the presets' statistical rain margin
    dropped, so rain is not counted twice); ``rain=False`` gives the same clear-sky
    baseline without the events, for the with/without comparison. Returns the assignment
    result plus ``terminal_rate_mbps``, ``terminal_reason``, ``carry``
    (:func:`carry_at_rate`), ``pairs``.
    """
    s = prep.scenario
    net = slot_links(prep, op, offset_s, cells, groups, params)
    sub, pos, n_sats, bh, pairs = net["sub"], net["pos"], net["n_sats"], net["bh"], net["pairs"]
    active = service_active(op.policy, prep.terminal_country, sub)[:, 0]
    if getattr(s, "rain", None):
        from skymesh.capacity.region import faded_capacities
        from skymesh.links.rain import rain_rates_mmh

        when = sub.datetimes()[0]
        cell_rain = (
            rain_rates_mmh(s.rain, cells["lat_deg"], cells["lon_deg"], when=when)
            if rain
            else np.zeros(len(cells["lat_deg"]))
        )
        gw_rain = (
            rain_rates_mmh(s.rain, prep.gateway_lat, prep.gateway_lon, when=when)
            if rain
            else np.zeros(len(prep.gateway_lat))
        )
        pairs["capacity_mbps"], faded = faded_capacities(
            pairs,
            bh,
            pos[:, 0],
            cells["lat_deg"],
            cells["lon_deg"],
            prep.gateway_lat,
            prep.gateway_lon,
            cell_rain,
            gw_rain,
            params,
        )
        bh = dict(bh, capacity_mbps=faded)
    route = cells["group"][pairs["cell"]] * n_sats + pairs["sat"]
    route = np.where(bh["route_ok"][route], route, -1)
    n_c = cells["group"].size
    wt = (
        np.ones(prep.n_terminals)
        if terminal_weight is None
        else np.asarray(terminal_weight, dtype=float)
    )
    d_term = np.where(active, np.asarray(demand, dtype=float), 0.0)
    heads = np.bincount(cells["index"], weights=wt * active, minlength=n_c)
    cell_d = np.bincount(cells["index"], weights=d_term * wt, minlength=n_c)
    backhaul = {
        "route_of_pair": route,
        "R": bh["R"],
        "capacity_mbps": bh["capacity_mbps"],
        "kind": bh["kind"],
    }
    res = assign_cells(
        pairs["cell"],
        pairs["sat"],
        pairs["capacity_mbps"],
        cell_d,
        n_cells=n_c,
        cell_beam_cap=np.minimum(MAX_BEAMS_PER_CELL, heads),
        beams_per_sat=params.beams_per_sat,
        sat_downlink_mbps=params.sat_downlink_mbps,
        backhaul=backhaul,
    )
    rate = terminal_rates(res, cells["index"], d_term, d_term)
    reason = np.asarray(res["cell_reason"], dtype=object)[cells["index"]]
    reason = np.where(active, reason, "no-service")
    reason = np.where((rate > 0) & (reason != "no-service"), "served", reason)
    reason = np.where((d_term == 0) & active & (reason == "demand"), "no-demand", reason)
    carry = carry_at_rate(
        pairs["cell"],
        pairs["sat"],
        pairs["capacity_mbps"],
        heads,
        target_mbps,
        beams_per_sat=params.beams_per_sat,
        sat_downlink_mbps=params.sat_downlink_mbps,
        backhaul=backhaul,
    )
    res.update(
        terminal_rate_mbps=rate,
        terminal_reason=reason.astype(str),
        carry=carry,
        pairs=pairs,
        demand_mbps=d_term,
        active=active,
    )
    return res


def capacity_pass(prep: Prepared) -> tuple[dict, pa.Table]:
    """Summary and per-terminal table of the capacity model at the sampled slots."""
    s = prep.scenario
    c = s.capacity
    d = s.demand
    op = prep.operators[0]
    groups, group_of = np.unique(prep.terminal_country, return_inverse=True)
    cells = service_cells(prep.terminal_lat, prep.terminal_lon, group_of, c.cell_resolution)
    params = network_params(prep)
    wt = terminal_weights(prep.loaded, prep.n_terminals)
    weighted = bool((wt != 1).any())
    busy = d.busy_hour_mbps if d and d.busy_hour_mbps else DEFAULT_BUSY_HOUR_MBPS
    mult = d.multiplier if d else 1.0
    diurnal = d.diurnal if d else True
    target = float(c.target_mbps)
    rows, samples = [], []
    for k in sample_steps(len(prep.grid), c.samples):
        t0 = float(slot_start_s(prep.grid.start, prep.grid.offsets_s[k]))
        when = TimeGrid(prep.grid.start, np.array([t0])).datetimes()[0]
        demand = demand_mbps(
            prep.n_terminals,
            busy,
            mult,
            utc_time=when if diurnal else None,
            lon_deg=prep.terminal_lon if diurnal else None,
        )
        res = slot_capacity(prep, op, t0, cells, groups, demand, params, target, terminal_weight=wt)
        clear_gbps = None
        if getattr(s, "rain", None):  # the same slot without the rain events
            clear = slot_capacity(
                prep, op, t0, cells, groups, demand, params, target, terminal_weight=wt, rain=False
            )
            clear_gbps = float(np.sum(clear["terminal_rate_mbps"] * wt) / 1e3)
        rate, reason = res["terminal_rate_mbps"], res["terminal_reason"]
        dem = res["demand_mbps"]
        # covered: a satellite sees the terminal's cell above the mask (and service is on)
        covered = ~np.isin(reason, ("no-service", "no-coverage"))
        need = np.minimum(target, dem)
        at_target = (rate >= need * (1 - 1e-9)) & (dem > 0) & covered
        unserved = covered & (rate <= 0) & (dem > 0)
        why, n_why = np.unique(reason[unserved], return_counts=True)
        out_cov, n_out = np.unique(reason[~covered], return_counts=True)
        cw = cells["n_terminals"]
        kinds = np.asarray(res["cell_reason"])
        lim = np.isin(kinds, CAPACITY_KINDS)
        bind_k = np.unique(kinds[lim])
        by_kind = {str(kk): int(cw[kinds == kk].sum()) for kk in bind_k}  # sampled terminals
        binding = max(by_kind, key=by_kind.__getitem__) if by_kind else "none (demand met)"
        carry = res["carry"]
        tight = res["binding"]
        tk, tn = np.unique(tight["kind"][tight["tight"]], return_counts=True)
        served = covered & (rate > 0)
        samples.append(
            dict(
                time_utc=when.isoformat().replace("+00:00", "Z"),
                step=int(k),
                slot_start_s=t0,
                terminals=int(prep.n_terminals),
                covered=int(covered.sum()),
                served=int(served.sum()),
                served_fraction=float(served.sum() / max((covered & (dem > 0)).sum(), 1)),
                unserved_covered={str(a): int(b) for a, b in zip(why, n_why)},
                not_covered={str(a): int(b) for a, b in zip(out_cov, n_out)},
                aggregate_gbps=float(np.sum(rate * wt) / 1e3),
                aggregate_gbps_without_rain=clear_gbps,
                demand_gbps=float(np.sum(dem * wt) / 1e3),
                fair_share_mbps={
                    f"p{q}": float(v)
                    for q, v in zip(
                        (5, 50, 95),
                        weighted_percentiles(rate[covered], wt[covered], (5, 50, 95))
                        if covered.any()
                        else (np.nan,) * 3,
                    )
                },
                subscribers=float(wt.sum()),
                subscribers_served=float(wt[served].sum()),
                subscribers_at_target=float(wt[at_target].sum()),
                terminals_at_target=int(at_target.sum()),
                carried_at_target=int(carry["n_admitted"]),
                binding_constraint=binding,
                terminals_bound_by=by_kind,
                tight_resources={str(a): int(b) for a, b in zip(tk, tn)},
                capacity_at_target=int(carry["n_at_target"]),
                more_at_target=int(carry["n_more"]),
                first_binding=carry["binding_kind"],
                beams_in_use=float(res["totals"]["beams_in_use"]),
                lp_rounds=int(res["rounds"]),
                lp_seconds=float(res["lp_seconds"]),
            )
        )
        rows.append(
            pa.table(
                {
                    "time_utc": pa.array(
                        np.full(prep.n_terminals, np.datetime64(when.replace(tzinfo=None), "ms")),
                        type=pa.timestamp("ms", tz="UTC"),
                    ),
                    "terminal": pa.array(np.arange(prep.n_terminals, dtype=np.int32)),
                    "demand_mbps": pa.array(dem),
                    "fair_share_mbps": pa.array(rate),
                    "subscribers": pa.array(wt),
                    "reason": pa.array(reason).dictionary_encode(),
                }
            )
        )
    table = pa.concat_tables(rows)
    pooled = table["fair_share_mbps"].to_numpy()
    pooled_reason = table["reason"].to_numpy(zero_copy_only=False).astype(str)
    pooled_w = np.tile(wt, len(samples))
    cov = ~np.isin(pooled_reason, ("no-service", "no-coverage"))
    # Headline minima over the samples at which the region has service: a sample taken
    # while the policy has the country switched off carries nobody by policy, not by capacity.
    live = [x for x in samples if x["covered"] > 0] or samples
    summary = dict(
        target_mbps=target,
        samples=samples,
        weights_note=weights_note(prep.loaded, wt) if weighted else "",
        counts_in="subscribers" if weighted else "terminals",
        fair_share_mbps={
            f"p{q}": float(v)
            for q, v in zip(
                (5, 50, 95),
                weighted_percentiles(pooled[cov], pooled_w[cov], (5, 50, 95))
                if cov.any()
                else (np.nan,) * 3,
            )
        },
        samples_with_service=sum(1 for x in samples if x["covered"] > 0),
        terminals_at_target_min=int(min(x["terminals_at_target"] for x in live)),
        carried_terminals=int(min(x["carried_at_target"] for x in live)),
        capacity_at_target_min=int(min(x["capacity_at_target"] for x in live)),
        served_fraction_min=float(min(x["served_fraction"] for x in live)),
        model=dict(
            beams_per_sat=c.beams_per_sat,
            frequency_reuse=c.frequency_reuse,
            max_beams_per_cell=MAX_BEAMS_PER_CELL,
            isl_capacity_gbps=c.isl_capacity_gbps,
            gateway_antennas=c.gateway_antennas,
            busy_hour_mbps=busy,
            multiplier=mult,
            diurnal=diurnal,
            fairness="max-min over cells of the fraction of demand served",
            scheduler="LP beam-time assignment per 15 s slot (HiGHS)",
        ),
    )
    summary["markdown"] = _markdown(summary)
    return summary, table


def _markdown(cap: dict) -> list[str]:
    r = cap["fair_share_mbps"]
    t = cap["target_mbps"]
    lines = [
        f"Load-aware beam assignment per 15 s slot, max-min fair over cells (fraction of "
        f"demand served). Fair share per covered terminal, every terminal demanding at "
        f"once (not the speed one user measures; all sampled slots): p5 "
        f"{r['p5']:.2f} / p50 {r['p50']:.2f} / p95 {r['p95']:.2f} Mbit/s; at least "
        f"{100 * cap['served_fraction_min']:.2f} % of covered terminals served at every "
        f"sample. At {t:g} Mbit/s: at least {cap['terminals_at_target_min']:,} terminals "
        f"get it under fair sharing, and {cap['carried_terminals']:,} can be carried at "
        f"once when the operator admits which (admission LP); with today's geography "
        f"grown uniformly, the region carries {cap['capacity_at_target_min']:,} before "
        "the first constraint binds."
        + (
            f" (Minima over the {cap['samples_with_service']} of {len(cap['samples'])} "
            "samples at which the region has service.)"
            if 0 < cap["samples_with_service"] < len(cap["samples"])
            else ""
        ),
        "",
    ]
    rainy = any(x.get("aggregate_gbps_without_rain") is not None for x in cap["samples"])
    if rainy:
        lines += [
            "With the scenario's rain events, and the same slots without them:",
            "",
            "| slot start (UTC) | aggregate with rain | without rain | change |",
            "|---|---|---|---|",
        ]
        for x in cap["samples"]:
            dry = x["aggregate_gbps_without_rain"]
            lines.append(
                f"| {x['time_utc']} | {x['aggregate_gbps']:.1f} Gbit/s | "
                f"{dry:.1f} Gbit/s | "
                f"{(100 * (x['aggregate_gbps'] / dry - 1)) if dry else 0.0:+.1f} % |"
            )
        lines += [""]
    lines += [
        "| slot start (UTC) | served / covered | aggregate | demand | fair share p5 / p50 / p95 | "
        "at target: fair / admitted | binding | uniform growth at target |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for x in cap["samples"]:
        q = x["fair_share_mbps"]
        lines.append(
            f"| {x['time_utc']} | {x['served']:,} / {x['covered']:,} | "
            f"{x['aggregate_gbps']:.1f} Gbit/s | {x['demand_gbps']:.1f} Gbit/s | "
            f"{q['p5']:.1f} / {q['p50']:.1f} / {q['p95']:.1f} Mbit/s | "
            f"{x['terminals_at_target']:,} / {x['carried_at_target']:,} | "
            f"{x['binding_constraint']} | "
            f"{x['capacity_at_target']:,} ({x['more_at_target']:+,}; {x['first_binding']}) |"
        )
    notes = []
    for x in cap["samples"]:
        if x["unserved_covered"]:
            why = ", ".join(f"{v:,} bound by {k}" for k, v in x["unserved_covered"].items())
            notes.append(f"- {x['time_utc']}: covered terminals left at 0: {why}.")
        if x["not_covered"]:
            why = ", ".join(f"{k} {v:,}" for k, v in x["not_covered"].items())
            notes.append(f"- {x['time_utc']}: not covered: {why}.")
    if cap.get("weights_note"):
        notes.append(
            f"- Subscriber weights: {cap['weights_note']}. Admitted and uniform-growth "
            "counts are in subscribers; served / covered count sampled terminals."
        )
    m = cap["model"]
    lines += (
        [""]
        + notes
        + [
            "",
            f"Model: {m['beams_per_sat']} beams per satellite, at most "
            f"{m['max_beams_per_cell']} beams on a cell at once, frequency reuse "
            f"{m['frequency_reuse']:g}, ISLs {m['isl_capacity_gbps']:g} Gbit/s, "
            f"{m['gateway_antennas']} antennas per gateway, busy-hour demand "
            f"{m['busy_hour_mbps']:.2f} Mbit/s x {m['multiplier']:g}"
            + (" with a diurnal profile." if m["diurnal"] else "."),
        ]
    )
    return lines
