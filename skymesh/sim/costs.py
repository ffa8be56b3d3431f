"""The bill of a scenario's ``[cost]`` section: monthly rows and period totals.

With a ``[capacity]`` section too, the bill is also put per terminal *carried*: the capacity
pass (:func:`skymesh.sim.capacity_pass.capacity_pass`) gives the capacity headline
(:mod:`skymesh.capacity.headline`: terminals carried at the target rate, the same figure as
the run's summary and ``skymesh capacity`` on the same inputs); the share of the scenario's
terminals it carries (:func:`skymesh.capacity.headline.carried_share`) divides the bill's
terminal-months (``usd_per_carried_terminal_month``).
"""

from __future__ import annotations

import numpy as np

from skymesh.capacity.cost import CostParams, CostScenario, interpolate_months, monthly_bill
from skymesh.capacity.cost import run_scenario as bill_periods
from skymesh.capacity.headline import carried_share, headline_line
from skymesh.errors import InputError
from skymesh.sim.scenario import LoadedScenario


def carried_terminals(loaded: LoadedScenario, capacity: dict | None = None) -> dict | None:
    """Terminals carried at the target rate (the capacity headline), the share of the
    scenario's terminals that is, the headline and its inputs; None when the scenario has no
    ``[capacity]`` section. ``capacity``: a capacity-pass summary already
    computed (a run's), else the pass is run here."""
    if loaded.scenario.capacity is None:
        return None
    if capacity is None:
        from skymesh.sim.capacity_pass import capacity_pass
        from skymesh.sim.prepare import prepare

        capacity, _ = capacity_pass(prepare(loaded))
    first = capacity["samples"][0] if capacity["samples"] else {}
    n = float(first.get("subscribers", first.get("terminals", 0)))  # counts' unit
    head = capacity["headline"]
    return {
        "target_mbps": capacity["target_mbps"],
        "carried": head["terminals_at_target"],
        "terminals": n,
        "share": carried_share(head, n),
        "headline": head,
        "inputs": capacity["inputs"],
    }


def scenario_bill(loaded: LoadedScenario, carried: dict | None = None) -> dict:
    """Monthly bill over the whole dated fleet, and each period against its reported figure;
    with ``carried`` (:func:`carried_terminals`) also per carried terminal-month."""
    c = loaded.scenario.cost
    if c is None:
        raise InputError(
            "this scenario has no [cost] section (see ukraine-2022 for one)",
            file=loaded.source,
            field="cost",
        )
    params = CostParams(c.terminal_price_usd, c.monthly_service_usd, c.replacements_per_month)
    months = sorted(c.terminals_by_month)
    series = interpolate_months(c.terminals_by_month, months[0], months[-1])
    bill = monthly_bill(series, params, start_terminals=c.start_terminals)
    rows = [dict(zip(bill, vals)) for vals in zip(*(np.asarray(v).tolist() for v in bill.values()))]
    cs = CostScenario(
        name=loaded.scenario.name,
        params=params,
        anchors=c.terminals_by_month,
        start_terminals=c.start_terminals,
        periods=dict(c.periods),
        reported_usd=dict(c.reported_usd),
    )
    periods = []
    for label, res in bill_periods(cs).items():
        b = res["bill"]
        hw = float(np.sum(b["hardware_usd"]))
        tm = float(np.sum(b["terminals"]))
        per = None
        if carried and carried["share"] > 0 and tm > 0:
            per = res["total_usd"] / (tm * carried["share"])
        periods.append(
            dict(
                period=label,
                first=c.periods[label][0],
                last=c.periods[label][1],
                total_usd=res["total_usd"],
                reported_usd=res["reported_usd"],
                ratio=res["ratio"],
                hardware_share=hw / res["total_usd"] if res["total_usd"] else 0.0,
                usd_per_carried_terminal_month=per,
            )
        )
    assumptions = [
        f"terminal ${c.terminal_price_usd:,.0f} each, shipped new or as a replacement",
        f"service ${c.monthly_service_usd:,.0f} per terminal-month",
        f"{c.replacements_per_month:,.0f} terminals replaced per month",
        "terminals in service interpolated linearly between the dated counts",
    ] + [f"source: {s}" for s in c.sources]
    if carried:
        assumptions.append(
            f"capacity headline: {headline_line(carried['headline'])}; that is "
            f"{100 * carried['share']:.1f} % of the scenario's {carried['terminals']:,.0f} "
            "terminals, and the per-carried-terminal cost spreads the bill over that share "
            "of the fleet: "
            + "; ".join(
                f"{p['period']} ${p['usd_per_carried_terminal_month']:,.0f} per "
                "carried terminal-month"
                for p in periods
                if p["usd_per_carried_terminal_month"] is not None
            )
        )
    return dict(
        scenario=loaded.scenario.name,
        months=rows,
        periods=periods,
        assumptions=assumptions,
        carried=carried,
    )
