"""What serving a fleet of terminals costs, month by month, with every assumption sourced.

The bill for month m, with N_m terminals in service at the end of the month::

    new_m       = max(N_m - N_{m-1}, 0)                         terminals shipped
    replaced_m  = replacements_per_month   (if N_m > 0)         terminals lost and replaced
    hardware_m  = (new_m + replaced_m) * terminal_price_usd
    service_m   = N_m * monthly_service_usd
    total_m     = hardware_m + service_m

Each figure cites its original source with a status letter: P primary (filing, licence,
official statement), A academic paper, N news report, D derived here by arithmetic, U assumed
(no published figure). No source we found gives a price per unit of capacity (USD per
Mbit/s), so the model bills per terminal; heavier use is expressed through the choice of
service tier.

Example
-------
>>> bill = monthly_bill({"2022-09": 20_000, "2022-10": 21_000}, UKRAINE_2022.params,
...                     start_terminals=20_000)
>>> bill["total_usd"].tolist()
[10750000.0, 12750000.0]
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from skymesh.errors import InputError


@dataclass(frozen=True)
class CostParams:
    """Unit costs of the bill (USD).

    Attributes
    ----------
    terminal_price_usd : float
        Cost of one terminal shipped (new or replacement).
    monthly_service_usd : float
        Service charge per terminal in service per month.
    replacements_per_month : float
        Terminals lost and replaced every month while the fleet is in service.
    """

    terminal_price_usd: float
    monthly_service_usd: float
    replacements_per_month: float = 0.0

    def __post_init__(self):
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if not (np.isfinite(v) and v >= 0):
                raise InputError(f"{f.name} = {v!r} must be a finite number >= 0", field=f.name)


CONSUMER_2022 = CostParams(terminal_price_usd=599.0, monthly_service_usd=110.0)
"""US consumer list prices from 22 Mar 2022: kit $599, service $110/month (CNET, "SpaceX Raises
the Price of Starlink", Mar 2022; MyBroadband, 23 Mar 2022; N)."""


def _parse_month(month: str) -> int:
    """'YYYY-MM' -> months since year 0."""
    try:
        y_text, m_text = str(month).split("-")
        y, m = int(y_text), int(m_text)
        if not 1 <= m <= 12:
            raise ValueError
    except ValueError:
        raise InputError(f"month {month!r} is not 'YYYY-MM'", field="month") from None
    return 12 * y + (m - 1)


def _format_month(k: int) -> str:
    return f"{k // 12:04d}-{k % 12 + 1:02d}"


def monthly_bill(terminals_by_month, params: CostParams, start_terminals: float = 0) -> dict:
    """Month-by-month bill for a fleet of terminals.

    Parameters
    ----------
    terminals_by_month : mapping 'YYYY-MM' -> int, or sequence of (month, terminals)
        Terminals in service at the end of each month; months consecutive and ascending.
    params : CostParams
    start_terminals : float
        Terminals already in service before the first month (not billed as new hardware).

    Returns
    -------
    dict of ndarray (one row per month)
        ``month`` ('YYYY-MM'), ``terminals``, ``new_terminals``, ``replaced_terminals``,
        ``hardware_usd``, ``service_usd``, ``total_usd``, ``cumulative_usd``.
    """
    items = (
        list(terminals_by_month.items())
        if hasattr(terminals_by_month, "items")
        else list(terminals_by_month)
    )
    if not items:
        raise InputError("no months given", field="terminals_by_month")
    k = np.array([_parse_month(m) for m, _ in items])
    if (np.diff(k) != 1).any():
        raise InputError("months must be consecutive and ascending", field="month")
    n = np.array([float(t) for _, t in items])
    if (n < 0).any() or not np.isfinite(n).all():
        raise InputError("terminal counts must be finite and >= 0", field="terminals")
    new = np.maximum(np.diff(n, prepend=float(start_terminals)), 0.0)
    replaced = np.where(n > 0, params.replacements_per_month, 0.0)
    hardware = (new + replaced) * params.terminal_price_usd
    service = n * params.monthly_service_usd
    total = hardware + service
    return {
        "month": np.array([_format_month(x) for x in k]),
        "terminals": n,
        "new_terminals": new,
        "replaced_terminals": replaced,
        "hardware_usd": hardware,
        "service_usd": service,
        "total_usd": total,
        "cumulative_usd": np.cumsum(total),
    }


def interpolate_months(anchors: dict, start: str, end: str) -> dict:
    """Terminals per month from dated counts: linear between anchors, flat outside them.

    ``anchors`` maps 'YYYY-MM' -> terminals; returns 'YYYY-MM' -> terminals (rounded) for
    every month from ``start`` to ``end`` inclusive.
    """
    ka = np.array([_parse_month(m) for m in anchors])
    va = np.array([float(v) for v in anchors.values()])
    order = np.argsort(ka)
    months = np.arange(_parse_month(start), _parse_month(end) + 1)
    vals = np.round(np.interp(months, ka[order], va[order]))
    return {_format_month(int(m)): float(v) for m, v in zip(months, vals)}


@dataclass(frozen=True)
class CostScenario:
    """A dated fleet, unit costs, and reported totals to compare the bill with.

    ``periods`` maps a label to (first month, last month); ``reported_usd`` maps the same labels
    to the reported figure (USD).
    """

    name: str
    params: CostParams
    anchors: dict = field(default_factory=dict)
    start_terminals: float = 0.0
    periods: dict = field(default_factory=dict)
    reported_usd: dict = field(default_factory=dict)


UKRAINE_2022 = CostScenario(
    name="ukraine_2022",
    params=CostParams(
        terminal_price_usd=1_500.0, monthly_service_usd=500.0, replacements_per_month=500.0
    ),
    anchors={
        "2022-03": 5_000,  # 5,000 delivered by 5 Apr 2022 (USAID release, 5 Apr 2022, N)
        "2022-05": 10_000,  # >10,000 terminals, 2 May 2022 (minister M. Fedorov, N)
        "2022-09": 20_000,  # ~20,000 in SpaceX's Sept 2022 letter (CNN, 13-14 Oct 2022, N)
        "2022-12": 22_000,  # ~22,000 received, 20 Dec 2022 (Fedorov to Bloomberg, N)
        "2023-02": 30_000,  # 30,000 in Ukraine, 23 Feb 2023 (Fedorov tweet, N)
        "2023-03": 40_000,  # + 10,000 "on the way" from Germany (same post, N); flat after (U)
    },
    start_terminals=0.0,
    periods={"rest_of_2022": ("2022-09", "2022-12"), "next_12_months": ("2022-10", "2023-09")},
    reported_usd={"rest_of_2022": 120e6, "next_12_months": 400e6},
)
"""Starlink in Ukraine, 2022-23 (terminal counts, costs and requests as reported 2022-23).

Assumptions:

- terminal cost $1,500: SpaceX's stated production cost per terminal in 2022, as SpaceX
  told USAID (USAID release, 5 Apr 2022, as reported by the Washington Post and others, N;
  USAID paid $1,999,993 for 1,333 units). The bill is SpaceX's cost, so production cost
  rather than the $599 retail price.
- service $500 per terminal-month: the 2022 "Premium" tier (MakeUseOf, "What is Starlink
  Premium", 2022, N), as a proxy for heavy military use ("up to 100x typical households",
  E. Musk tweet, 14 Oct 2022, as reported by CNN, N, qualitative). The tier choice is ours
  (**U**).
- 500 terminals destroyed and replaced per month (Gen. Zaluzhnyi's July 2022 request, CNN
  report of 13-14 Oct 2022, N).
- terminal counts: the dated counts above (USAID, Fedorov, CNN), linear between them
  (**D**), flat after Mar 2023 (**U**).

Reported (SpaceX's Sept 2022 letter to the Pentagon, reported by CNN 13-14 Oct 2022, N):
">$120 M for the rest of 2022" and "close to $400 M over the next 12 months". We take
"rest of 2022" as Sep-Dec 2022 and "next 12 months" as Oct 2022-Sep 2023.

Result (`run_scenario`): ~$52 M (Sep-Dec 2022) and ~$239 M (Oct 2022-Sep 2023), i.e. 0.43x
and 0.60x the reported figures -- the same order of magnitude, on the low side. The reported
figures imply $120 M / (4 x 20,000) = $1,500 and
$400 M / (12 x 20,000) = $1,667 per terminal-month all in (**D**), about three times the
Premium tier: the letter evidently priced more than list service (capacity, ground segment,
military-grade use), which no source here breaks down.
"""


def run_scenario(scenario: CostScenario) -> dict:
    """Bill every period of a scenario and compare with the reported totals.

    Returns ``{label: {"bill": monthly_bill(...), "total_usd", "reported_usd", "ratio"}}``;
    ``ratio`` = modelled / reported.
    """
    out = {}
    for label, (first, last) in scenario.periods.items():
        before = _format_month(_parse_month(first) - 1)
        series = interpolate_months(scenario.anchors, before, last)
        start = series.pop(before)
        if _parse_month(before) < min(_parse_month(m) for m in scenario.anchors):
            start = scenario.start_terminals
        bill = monthly_bill(series, scenario.params, start_terminals=start)
        total = float(bill["total_usd"].sum())
        reported = scenario.reported_usd.get(label)
        out[label] = {
            "bill": bill,
            "total_usd": total,
            "reported_usd": reported,
            "ratio": None if reported is None else total / reported,
        }
    return out
