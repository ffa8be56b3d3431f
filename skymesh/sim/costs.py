"""The bill of a scenario's ``[cost]`` section: monthly rows and period totals."""

from __future__ import annotations

import numpy as np

from skymesh.capacity.cost import CostParams, CostScenario, interpolate_months, monthly_bill
from skymesh.capacity.cost import run_scenario as bill_periods
from skymesh.errors import InputError
from skymesh.sim.scenario import LoadedScenario


def scenario_bill(loaded: LoadedScenario) -> dict:
    """Monthly bill over the whole dated fleet, and each period against its reported figure."""
    c = loaded.scenario.cost
    if c is None:
        raise InputError("this scenario has no [cost] section (see ukraine-2022 for one)",
                         file=loaded.source, field="cost")
    params = CostParams(c.terminal_price_usd, c.monthly_service_usd, c.replacements_per_month)
    months = sorted(c.terminals_by_month)
    series = interpolate_months(c.terminals_by_month, months[0], months[-1])
    bill = monthly_bill(series, params, start_terminals=c.start_terminals)
    rows = [dict(zip(bill, vals)) for vals in zip(*(np.asarray(v).tolist() for v in bill.values()))]
    cs = CostScenario(name=loaded.scenario.name, params=params, anchors=c.terminals_by_month,
                      start_terminals=c.start_terminals, periods=dict(c.periods),
                      reported_usd=dict(c.reported_usd))
    periods = []
    for label, res in bill_periods(cs).items():
        b = res["bill"]
        hw = float(np.sum(b["hardware_usd"]))
        periods.append(dict(period=label, first=c.periods[label][0], last=c.periods[label][1],
                            total_usd=res["total_usd"], reported_usd=res["reported_usd"],
                            ratio=res["ratio"],
                            hardware_share=hw / res["total_usd"] if res["total_usd"] else 0.0))
    assumptions = [
        f"terminal ${c.terminal_price_usd:,.0f} each, shipped new or as a replacement",
        f"service ${c.monthly_service_usd:,.0f} per terminal-month",
        f"{c.replacements_per_month:,.0f} terminals replaced per month",
        "terminals in service interpolated linearly between the dated counts",
    ] + [f"source: {s}" for s in c.sources]
    return dict(scenario=loaded.scenario.name, months=rows, periods=periods,
                assumptions=assumptions)
