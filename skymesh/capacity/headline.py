"""The capacity headline: how many terminals a region can carry at R Mbit/s, and what binds.

One definition, one function, for every face that answers the question: ``skymesh capacity``
(:func:`skymesh.capacity.region.region_capacity`), a run's capacity section (terminal summary,
``summary.json``, ``report.md``; :func:`skymesh.sim.capacity_pass.capacity_pass`),
``skymesh cost`` (per carried terminal), the API (``region_capacity``, ``Result.capacity``)
and the examples.

Headline (``terminals_at_target``)
    The region's covered terminals, scaled by the largest common factor alpha at which every
    one of them gets ``target_mbps`` at once, ``floor(alpha x covered terminals)``: demand
    is spread like the terminals (the "uniform growth" of
    :func:`skymesh.capacity.assignment.carry_at_rate`), every resource of the slot counts
    (beam time, channels per cell, satellite downlink, ISLs, gateway feeders and sites), and
    a cell may use all its channels (the terminals are a pattern of demand, so how many of
    them a cell holds does not cap its beams). Over several sampled slots the headline is the
    fewest, among the slots at which the region has service, and names its slot. The figure
    does not depend on how many terminals stand for the pattern: twice the terminals, half
    the alpha.
Binding constraint (``binding_constraint``)
    The resource kind with the largest share of the LP's duals at that slot (``binding_share``:
    every kind's share).
Per-terminal figure (``per_terminal_mbps``)
    alpha x target: the rate every covered terminal gets at once when each wants as much as
    it can (the first level of max-min fair sharing; it does not depend on the target). It
    is per terminal *as placed*: with 2,000 probes it is a 2,000-terminal region's share.
Secondary, labelled (``secondary``)
    ``admitted_at_target``: the most of today's terminals that can all get the target at once
    when the operator chooses which (capped at the terminals placed; a cell's beams capped at
    its terminals). Faces add their own secondary figures (fair sharing at busy-hour demand,
    ``aggregate_gbps``, ``fair_share_mbps`` percentiles); none of them is the headline.

The inputs a face used are described by :func:`capacity_inputs` (the ``inputs`` block of the
JSON and a line of each table); two faces given identical inputs give identical headlines
(tested across ``skymesh capacity --json`` and a run's ``summary.json``).
"""

from __future__ import annotations

import hashlib

import numpy as np

KIND_LABELS = {
    "beam-time": "beam time",
    "cell-beams": "beams per cell",
    "sat-downlink": "satellite downlink",
    "isl": "ISLs",
    "gsl-feeder": "gateway feeder links",
    "gateway": "gateway sites",
    "no-coverage": "no coverage",
    "none": "nothing (no covered terminal)",
}
"""Readable names of the assignment's resource kinds."""

HEADLINE_DEFINITION = (
    "terminals carried at the target rate: the covered terminals scaled by the largest "
    "common factor at which every one gets the target at once (demand spread like the "
    "terminals, every resource of the slot counted), fewest over the sampled slots with "
    "service; binding: the resource kind with the largest share of the LP's duals"
)
PER_TERMINAL_DEFINITION = (
    "rate every covered terminal gets at once when each wants as much as it can "
    "(max-min fair share, Mbit/s)"
)


def slot_headline(
    pair_cell,
    pair_sat,
    pair_capacity_mbps,
    cell_terminals,
    target_mbps: float,
    *,
    params,
    backhaul: dict,
    admit_cell_beam_cap=None,
    slot_utc: str = "",
) -> dict:
    """The headline's figures at one slot (one call of
    :func:`skymesh.capacity.assignment.carry_at_rate`).

    ``pair_*`` (P,) from :func:`skymesh.capacity.beams.beam_pairs` (capacities in Mbit/s,
    faded when it rains); ``cell_terminals`` (C,) terminals (or subscribers) per service
    cell; ``params`` a :class:`~skymesh.capacity.network.NetworkCapacityParams`;
    ``backhaul`` from :func:`skymesh.capacity.slot_network.backhaul_of_pairs`;
    ``admit_cell_beam_cap`` (C,) the per-cell beam cap of the secondary admission figure.
    Returns ``slot_utc``, ``terminals_at_target``, ``terminals_covered``,
    ``per_terminal_mbps``, ``binding_constraint``, ``binding_share``, ``admitted_at_target``,
    ``alpha`` and ``lp_seconds``.
    """
    from skymesh.capacity.assignment import carry_at_rate

    carry = carry_at_rate(
        pair_cell,
        pair_sat,
        pair_capacity_mbps,
        cell_terminals,
        target_mbps,
        cell_beam_cap=params.max_beams_per_cell,
        beams_per_sat=params.beams_per_sat,
        sat_downlink_mbps=params.sat_downlink_mbps,
        backhaul=backhaul,
        admit_cell_beam_cap=admit_cell_beam_cap,
    )
    share = carry["dual_by_kind"]
    tot = sum(share.values()) or 1.0
    return {
        "slot_utc": str(slot_utc),
        "terminals_at_target": int(carry["n_at_target"]),
        "terminals_covered": int(carry["n_covered"]),
        "per_terminal_mbps": float(carry["alpha"]) * float(target_mbps),
        "binding_constraint": carry["binding_kind"] or "none",
        "binding_share": {
            k: v / tot for k, v in sorted(share.items(), key=lambda kv: (-kv[1], kv[0]))
        },
        "admitted_at_target": int(carry["n_admitted"]),
        "alpha": float(carry["alpha"]),
        "lp_seconds": float(carry["lp_seconds"]),
    }


def capacity_headline(slots: list[dict], target_mbps: float, counts_in: str = "terminals") -> dict:
    """THE answer to "how many terminals can the region carry at ``target_mbps``".

    ``slots``: :func:`slot_headline` of each sampled slot, in time order. The headline is the
    slot with the fewest terminals at the target among those with covered terminals (the
    earliest on a tie; the first slot when none has any). ``counts_in``: ``terminals`` or
    ``subscribers`` (weighted terminal groups). See the module docstring for the definition.
    """
    if not slots:
        raise ValueError("capacity_headline needs at least one slot")
    live = [i for i, s in enumerate(slots) if s["terminals_covered"] > 0] or [0]
    i = min(live, key=lambda j: (slots[j]["terminals_at_target"], j))
    s = slots[i]
    kind = s["binding_constraint"]
    return {
        "terminals_at_target": s["terminals_at_target"],
        "target_mbps": float(target_mbps),
        "counts_in": counts_in,
        "binding_constraint": kind,
        "binding_label": KIND_LABELS.get(kind, kind),
        "binding_share": dict(s["binding_share"]),
        "per_terminal_mbps": s["per_terminal_mbps"],
        "terminals_covered": s["terminals_covered"],
        "slot_utc": s["slot_utc"],
        "slots_sampled": len(slots),
        "slots_with_service": sum(1 for x in slots if x["terminals_covered"] > 0),
        "secondary": {"admitted_at_target": s["admitted_at_target"]},
        "definition": HEADLINE_DEFINITION,
    }


def carried_share(headline: dict, terminals: float) -> float:
    """Share of ``terminals`` (the fleet the headline's terminals stand for) carried at the
    target: min(1, headline / terminals); 0 for an empty fleet."""
    if not terminals > 0:
        return 0.0
    return min(1.0, headline["terminals_at_target"] / float(terminals))


def digest(*arrays) -> str:
    """A short fingerprint (16 hex) of float arrays: equal inputs, equal digests."""
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(np.asarray(a, dtype=np.float64)).tobytes())
        h.update(b"|")
    return h.hexdigest()[:16]


def capacity_inputs(
    *,
    source: str,
    terminal_lat_deg,
    terminal_lon_deg,
    terminal_weight,
    counts_in: str,
    gateway_lat_deg,
    gateway_lon_deg,
    gateway_site_mbps,
    gateway_exits: str,
    constellation: str,
    satellites: int,
    slots_utc: list[str],
    mode: str,
    min_elevation_deg: float,
    cell_resolution: int,
    capacity: dict,
    rain: str | None,
    operator: dict | None = None,
) -> dict:
    """The ``inputs`` block: what a face fed the headline. ``source`` says in words where the
    inputs came from (the only field that differs between faces given the same inputs).
    ``operator``: whose user link, beams and ISLs the capacities came from
    (:func:`skymesh.capacity.region.operator_inputs`)."""
    return {
        "source": source,
        "terminals": {
            "placed": int(np.size(terminal_lat_deg)),
            "counts_in": counts_in,
            "represents": float(np.sum(terminal_weight)),
            "digest": digest(terminal_lat_deg, terminal_lon_deg, terminal_weight),
        },
        "gateways": {
            "sites": int(np.size(gateway_lat_deg)),
            "exits": gateway_exits,
            "digest": digest(gateway_lat_deg, gateway_lon_deg, gateway_site_mbps),
        },
        "constellation": str(constellation),
        "satellites": int(satellites),
        "slots_utc": list(slots_utc),
        "mode": mode,
        "min_elevation_deg": float(min_elevation_deg),
        "cell_resolution": int(cell_resolution),
        "capacity": dict(capacity),
        "rain": rain,
        "operator": operator,
    }


def headline_line(h: dict) -> str:
    """The headline in one sentence, as every table and report prints it."""
    unit = h["counts_in"]
    return (
        f"{h['terminals_at_target']:,} {unit} at {h['target_mbps']:g} Mbit/s, bound by "
        f"{h['binding_label']}; every covered one of the {h['terminals_covered']:,} gets "
        f"{h['per_terminal_mbps']:,.2f} Mbit/s at once (slot {h['slot_utc']})"
    )


def inputs_line(inp: dict) -> str:
    """The inputs in one line: what to compare before comparing two faces' headlines."""
    t, g = inp["terminals"], inp["gateways"]
    weighted = t["counts_in"] != "terminals"
    return (
        f"{inp['source']}; {t['placed']:,} terminals"
        + (f" standing for {t['represents']:,.0f} {t['counts_in']}" if weighted else "")
        + f" (#{t['digest'][:8]}), {g['sites']} gateway sites ({g['exits']}), "
        f"{inp['constellation']} ({inp['satellites']:,} satellites"
        + (f"; {inp['operator']['operator']}'s user link and beams" if inp.get("operator") else "")
        + f"), {inp['mode']}, "
        f"mask {inp['min_elevation_deg']:g} deg, {len(inp['slots_utc'])} slot(s)"
        + (f", rain: {inp['rain']}" if inp.get("rain") else "")
    )
