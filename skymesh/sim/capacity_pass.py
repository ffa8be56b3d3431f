"""Capacity of a run: the headline and the load-aware beam assignment at sampled 15 s slots.

At each sampled step the slot holding it (:mod:`skymesh.access.slots`) is built from its
boundary by :mod:`skymesh.capacity.slot_network` (the same slot network ``skymesh capacity``
builds): terminals grouped into service cells (H3 cells, split by exit group so a cell never
mixes two countries' gateway rules), every satellite in view of a cell above the mask a
candidate beam, each satellite's traffic on its shortest-delay route to a gateway the policy
allows. Then:

- **the headline** (:mod:`skymesh.capacity.headline`, one definition for every face):
  terminals carried at the target rate, what binds, the per-terminal rate; over the samples,
  the slot with the fewest;
- secondary figures: :func:`skymesh.capacity.assignment.assign_cells` shares beam time
  max-min fairly (fraction of the busy-hour demand served) under beam-time, per-cell
  channel, downlink, ISL, feeder and gateway capacities, giving terminals served (of those
  covered), per-terminal fair-share percentiles (``fair_share_mbps``: every terminal
  demanding at once, not a speed one user measures) and their sum (``aggregate_gbps``),
  terminals at the target under that
  sharing; and the admission figure (the most of today's terminals that can all get the
  target at once).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from skymesh.access.slots import slot_start_s
from skymesh.capacity.assignment import assign_cells, terminal_rates
from skymesh.capacity.demand import (
    DEFAULT_BUSY_HOUR_MBPS,
    demand_mbps,
    terminal_weights,
    weighted_percentiles,
    weights_note,
)
from skymesh.capacity.headline import (
    capacity_headline,
    capacity_inputs,
    headline_line,
    inputs_line,
    slot_headline,
)
from skymesh.capacity.network import NetworkCapacityParams
from skymesh.capacity.slot_network import (
    CAPACITY_DEFAULTS,
    backhaul_of_pairs,
    capacity_params,
    faded_capacities,
    service_cells,
)
from skymesh.capacity.slot_network import slot_links as _slot_links
from skymesh.orbits.propagate import positions_ecef
from skymesh.policy.rules import service_active
from skymesh.sim.egress_chunk import block_links
from skymesh.sim.prepare import Prepared, operator_exits
from skymesh.timebase import TimeGrid

CAPACITY_KINDS = ("beam-time", "cell-beams", "sat-downlink", "isl", "gsl-feeder", "gateway")


def sample_steps(n_steps: int, samples: int) -> np.ndarray:
    """``samples`` step indices spread evenly over the window, first and last included."""
    return np.unique(np.round(np.linspace(0, n_steps - 1, min(samples, n_steps))).astype(int))


def capacity_values(prep: Prepared, op=None) -> dict:
    """The ``[capacity]`` values of the run: the scenario's where it sets them, else its
    primary operator's (beams per satellite, cell resolution: :mod:`skymesh.links.operators`),
    else :data:`~skymesh.capacity.slot_network.CAPACITY_DEFAULTS`."""
    from skymesh.links.operators import beam_model

    c = prep.scenario.capacity
    model = beam_model((op or prep.operators[0]).operator)
    given = c.model_fields_set
    out = {k: getattr(c, k) for k in CAPACITY_DEFAULTS}
    out["cell_resolution"] = c.cell_resolution
    for key in ("beams_per_sat", "cell_resolution"):
        if key not in given:
            out[key] = int(model[key])
    return out


def network_params(prep: Prepared, op=None) -> NetworkCapacityParams:
    """The run's ``[capacity]`` values (:func:`capacity_values`), its primary operator's
    user link and beams per cell, and its gateways' listed capacities as
    :class:`NetworkCapacityParams` (:func:`skymesh.capacity.slot_network.capacity_params`)."""
    from skymesh.links.operators import beam_model

    model = beam_model((op or prep.operators[0]).operator)
    v = capacity_values(prep, op)
    return capacity_params(
        prep.gateway_capacity_gbps,
        beam_link=model["beam_link"],
        max_beams_per_cell=model["max_beams_per_cell"],
        **{k: v[k] for k in CAPACITY_DEFAULTS},
    )


def slot_links(prep: Prepared, op, offset_s: float, cells: dict, groups, params) -> dict:
    """The network of the slot starting ``offset_s`` s into the run, as the assignment sees it
    (:func:`skymesh.capacity.slot_network.slot_links` on the run's links, failures removed,
    and the exit rules of its policy). Returns ``sub`` (the one-instant grid), ``pos``
    (N, 1, 3) km, ``n_sats``, ``bh``, ``pairs``."""
    s = prep.scenario
    sub = TimeGrid(prep.grid.start, np.array([float(offset_s)]))
    pos = positions_ecef(op.constellation, sub, serving_only=True)
    mode = capacity_mode(prep, op)
    links = block_links(prep, op, pos, sub, with_isls=mode != "bent-pipe")
    exit_mask = np.stack([operator_exits(op, g, prep.gateway_country, sub) for g in groups])[
        :, :, 0
    ]
    net = _slot_links(
        pos[:, 0],
        links,
        cells,
        exit_mask,
        prep.gateway_lat,
        prep.gateway_lon,
        params,
        mode=mode,
        min_elevation_deg=s.routing.min_elevation_deg,
    )
    return {"sub": sub, "pos": pos, **net}


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
    result plus ``terminal_rate_mbps``, ``terminal_reason``, ``headline`` (the slot's
    headline figures, :func:`skymesh.capacity.headline.slot_headline`), ``pairs``.
    """
    s = prep.scenario
    net = slot_links(prep, op, offset_s, cells, groups, params)
    sub, pos, n_sats, bh, pairs = net["sub"], net["pos"], net["n_sats"], net["bh"], net["pairs"]
    active = service_active(op.policy, prep.terminal_country, sub)[:, 0]
    if getattr(s, "rain", None):
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
    n_c = cells["group"].size
    wt = (
        np.ones(prep.n_terminals)
        if terminal_weight is None
        else np.asarray(terminal_weight, dtype=float)
    )
    d_term = np.where(active, np.asarray(demand, dtype=float), 0.0)
    heads = np.bincount(cells["index"], weights=wt * active, minlength=n_c)
    cell_d = np.bincount(cells["index"], weights=d_term * wt, minlength=n_c)
    backhaul = backhaul_of_pairs(cells, pairs, bh, n_sats)
    res = assign_cells(
        pairs["cell"],
        pairs["sat"],
        pairs["capacity_mbps"],
        cell_d,
        n_cells=n_c,
        cell_beam_cap=np.minimum(params.max_beams_per_cell, heads),
        beams_per_sat=params.beams_per_sat,
        sat_downlink_mbps=params.sat_downlink_mbps,
        backhaul=backhaul,
    )
    rate = terminal_rates(res, cells["index"], d_term, d_term)
    reason = np.asarray(res["cell_reason"], dtype=object)[cells["index"]]
    reason = np.where(active, reason, "no-service")
    reason = np.where((rate > 0) & (reason != "no-service"), "served", reason)
    reason = np.where((d_term == 0) & active & (reason == "demand"), "no-demand", reason)
    when = sub.datetimes()[0]
    head = slot_headline(
        pairs["cell"],
        pairs["sat"],
        pairs["capacity_mbps"],
        heads,
        target_mbps,
        params=params,
        backhaul=backhaul,
        admit_cell_beam_cap=np.minimum(params.max_beams_per_cell, heads),
        slot_utc=when.isoformat().replace("+00:00", "Z"),
    )
    res.update(
        terminal_rate_mbps=rate,
        terminal_reason=reason.astype(str),
        headline=head,
        pairs=pairs,
        demand_mbps=d_term,
        active=active,
    )
    return res


def run_inputs(
    prep: Prepared, params, weights, counts_in: str, slots_utc: list[str], op=None
) -> dict:
    """The ``inputs`` block of a run's capacity headline
    (:func:`skymesh.capacity.headline.capacity_inputs`)."""
    from skymesh.capacity.region import operator_inputs
    from skymesh.links.operators import beam_model
    from skymesh.policy.rules import default_policy

    s = prep.scenario
    op = op or prep.operators[0]
    own = slice(None) if op.gateway_mask is None else np.asarray(op.gateway_mask, bool)
    free = op.policy == default_policy()
    values = capacity_values(prep, op)
    what = [f"scenario {s.name}: its {len(s.terminals)} terminal group(s), seed {s.seed}"]
    if s.failures:
        what.append(f"{len(s.failures)} failure event(s)")
    return capacity_inputs(
        source=", ".join(what),
        terminal_lat_deg=prep.terminal_lat,
        terminal_lon_deg=prep.terminal_lon,
        terminal_weight=weights,
        counts_in=counts_in,
        gateway_lat_deg=prep.gateway_lat[own],
        gateway_lon_deg=prep.gateway_lon[own],
        gateway_site_mbps=np.broadcast_to(
            np.asarray(params.gateway_antenna_mbps, float), (len(prep.gateway_lat),)
        )[own],
        gateway_exits="every listed gateway, no policy"
        if free
        else "the scenario's policy: service, landing rights, exit rules",
        constellation=str(
            s.constellation.preset or s.constellation.file
            if op is prep.operators[0]
            else op.constellation.name
        ),
        satellites=len(op.constellation),
        slots_utc=slots_utc,
        mode=capacity_mode(prep, op),
        min_elevation_deg=s.routing.min_elevation_deg,
        cell_resolution=values["cell_resolution"],
        capacity={k: values[k] for k in CAPACITY_DEFAULTS},
        rain="the scenario's [[rain]] events" if getattr(s, "rain", None) else None,
        operator=operator_inputs(beam_model(op.operator), params),
    )


def capacity_mode(prep: Prepared, op) -> str:
    """The routing mode of the capacity model: the scenario's, bent pipe for an operator
    whose network has no ISLs (OneWeb, Kuiper; :mod:`skymesh.links.operators`)."""
    mode = prep.scenario.routing.mode
    return "bent-pipe" if len(op.isl_pairs) == 0 and mode != "bent-pipe" else mode


def capacity_pass(prep: Prepared, op=None) -> tuple[dict, pa.Table]:
    """Summary and per-terminal table of the capacity model at the sampled slots, for ``op``
    (default the primary operator; a second operator on its own link, beams and gateways)."""
    s = prep.scenario
    c = s.capacity
    d = s.demand
    op = op or prep.operators[0]
    groups, group_of = np.unique(prep.terminal_country, return_inverse=True)
    values = capacity_values(prep, op)
    cells = service_cells(prep.terminal_lat, prep.terminal_lon, group_of, values["cell_resolution"])
    params = network_params(prep, op)
    wt = terminal_weights(prep.loaded, prep.n_terminals)
    weighted = bool((wt != 1).any())
    busy = d.busy_hour_mbps if d and d.busy_hour_mbps else DEFAULT_BUSY_HOUR_MBPS
    mult = d.multiplier if d else 1.0
    diurnal = d.diurnal if d else True
    target = float(c.target_mbps)
    rows: list = []
    samples: list = []
    heads: list = []
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
        head = res["headline"]
        heads.append(head)
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
                carried_at_target=head["admitted_at_target"],
                binding_constraint=binding,
                terminals_bound_by=by_kind,
                tight_resources={str(a): int(b) for a, b in zip(tk, tn)},
                capacity_at_target=head["terminals_at_target"],
                more_at_target=head["terminals_at_target"] - head["terminals_covered"],
                first_binding=head["binding_constraint"],
                headline={k: v for k, v in head.items() if k != "lp_seconds"},
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
    # Minima over the samples at which the region has service: a sample taken while the
    # policy has the country switched off carries nobody by policy, not by capacity.
    live = [x for x in samples if x["covered"] > 0] or samples
    counts_in = "subscribers" if weighted else "terminals"
    summary = dict(
        headline=capacity_headline(
            [{k: v for k, v in h.items() if k != "lp_seconds"} for h in heads],
            target,
            counts_in=counts_in,
        ),
        inputs=run_inputs(prep, params, wt, counts_in, [x["time_utc"] for x in samples], op),
        target_mbps=target,
        samples=samples,
        weights_note=weights_note(prep.loaded, wt) if weighted else "",
        counts_in=counts_in,
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
        served_fraction_min=float(min(x["served_fraction"] for x in live)),
        model=dict(
            operator=op.operator,
            beam_link=params.beam_link.name,
            beams_per_sat=params.beams_per_sat,
            frequency_reuse=c.frequency_reuse,
            max_beams_per_cell=params.max_beams_per_cell,
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
    h = cap["headline"]
    unit = cap["counts_in"]
    lines = [
        f"**Headline: {headline_line(h)}.** Definition: {h['definition']} "
        "(the same figure `skymesh capacity`, `skymesh cost` and the API give on the same "
        "inputs).",
        "",
        f"Inputs: {inputs_line(cap['inputs'])}.",
        "",
        f"Secondary figures (not the headline): of today's {unit}, "
        f"{h['secondary']['admitted_at_target']:,} can all get {t:g} Mbit/s at once at the "
        "headline's slot when the operator admits which; under max-min fair sharing of the "
        f"busy-hour demand at least {cap['terminals_at_target_min']:,} get it at every "
        f"sample. Fair share per covered terminal at that demand, every terminal demanding at "
        f"once (not the speed one user measures; all sampled slots): p5 "
        f"{r['p5']:.2f} / p50 {r['p50']:.2f} / p95 {r['p95']:.2f} Mbit/s; at least "
        f"{100 * cap['served_fraction_min']:.2f} % of covered terminals served at every sample."
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
        "| slot start (UTC) | headline at target (binding) | served / covered | aggregate | "
        "demand | fair share p5 / p50 / p95 | at target: fair / admitted | binding at demand |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for x in cap["samples"]:
        q = x["fair_share_mbps"]
        lines.append(
            f"| {x['time_utc']} | {x['capacity_at_target']:,} ({x['first_binding']}) | "
            f"{x['served']:,} / {x['covered']:,} | "
            f"{x['aggregate_gbps']:.1f} Gbit/s | {x['demand_gbps']:.1f} Gbit/s | "
            f"{q['p5']:.1f} / {q['p50']:.1f} / {q['p95']:.1f} Mbit/s | "
            f"{x['terminals_at_target']:,} / {x['carried_at_target']:,} | "
            f"{x['binding_constraint']} |"
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
            f"Model: {m['operator']}'s user link ({m['beam_link']}), "
            f"{m['beams_per_sat']} beams per satellite, at most "
            f"{m['max_beams_per_cell']} beams on a cell at once, frequency reuse "
            f"{m['frequency_reuse']:g}, ISLs {m['isl_capacity_gbps']:g} Gbit/s, "
            f"{m['gateway_antennas']} antennas per gateway, busy-hour demand "
            f"{m['busy_hour_mbps']:.2f} Mbit/s x {m['multiplier']:g}"
            + (" with a diurnal profile." if m["diurnal"] else "."),
        ]
    )
    return lines
