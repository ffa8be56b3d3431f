# %% [markdown]
# # Ukraine, 2022: how many terminals at what rate, and what does it cost?
#
# Questions: how many terminals in Ukraine can Starlink's Gen1 constellation carry at a
# given rate through the gateways in the neighbouring countries, what binds first, and how
# does the bill of the dated 2022-23 fleet compare with the figures SpaceX reportedly gave
# (>$120M for the rest of 2022, ~$400M for the next 12 months)?
#
# Every capacity figure here is SkyMesh's one capacity headline
# (``skymesh.capacity.headline``: terminals carried at the target rate, what binds, the
# per-terminal rate), printed with the inputs it was computed from. Two questions, two sets
# of inputs: the region's capacity at four target rates (300 probe terminals placed by
# population, the scenario's gateways without its policy, one 15 s slot: what
# ``skymesh capacity UA`` answers with those flags); and the bill per terminal the
# built-in scenario's own capacity model carries at 25 Mbit/s (its 20,000 terminals, its
# policy's gateways, its three sampled slots: exactly ``skymesh cost ukraine-2022``, and the
# headline of ``skymesh run ukraine-2022``). Run:
# ``python examples/ukraine_capacity_cost.py --out DIR``; the figures are also written to
# ``DIR/figures.json``.

# %%
import argparse
import json
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

import skymesh

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument(
    "--out",
    type=Path,
    default=Path("build/examples") / Path(__file__).stem,
    help="folder for the figures",
)
parser.add_argument(
    "--targets",
    type=float,
    nargs="+",
    default=[10, 25, 50, 100],
    help="target rates of the region's capacity (Mbit/s)",
)
args = parser.parse_args()
args.out.mkdir(parents=True, exist_ok=True)
figures: dict = {}


def describe(inputs: dict) -> str:
    """The inputs block of a capacity answer in one line."""
    t, g = inputs["terminals"], inputs["gateways"]
    return (
        f"{inputs['source']}; {t['placed']:,} terminals, {g['sites']} gateway sites "
        f"({g['exits']}), {inputs['constellation']}, slots {', '.join(inputs['slots_utc'])}"
    )


# %% [markdown]
# ## Capacity of the region
# The gateways are the scenario's own (Poland, Lithuania, Germany, Romania, Slovakia), every
# one allowed (``region_capacity`` applies no policy); capacities are the ``[capacity]``
# defaults, not the scenario's overrides. The inputs block says so.

# %%
scenario = skymesh.load_scenario("ukraine-2022")
gw = [
    {"name": g.name, "lat": g.lat, "lon": g.lon, "country": g.country}
    for g in scenario.scenario.gateways
]
targets = list(args.targets)
answers = [
    skymesh.region_capacity(
        "UA",
        gateways=gw,
        constellation="starlink-gen1",
        target_mbps=t,
        probes=300,
        at="2022-10-15T12:00:00Z",
    )
    for t in targets
]
for t, a in zip(targets, answers):
    h = a["headline"]
    print(
        f"{t:>5g} Mbit/s: {h['terminals_at_target']:>9,} terminals, bound by "
        f"{h['binding_label']}; every covered terminal gets {h['per_terminal_mbps']:,.1f} "
        "Mbit/s at once"
    )
print("inputs:", describe(answers[0]["inputs"]))
figures["region"] = {f"{t:g}": a["headline"] for t, a in zip(targets, answers)}

# %%
fig = Figure(figsize=(6.5, 4), layout="constrained")
ax = fig.add_subplot()
ax.loglog(targets, [a["headline"]["terminals_at_target"] for a in answers], "o-")
ax.set(
    xlabel="rate every terminal gets (Mbit/s)",
    ylabel="terminals carried at once",
    title="Ukraine, 15 Oct 2022 12:00 UTC: Starlink Gen1 capacity",
)
ax.grid(True, which="both", alpha=0.3)
fig.savefig(args.out / "ukraine_capacity.png", dpi=110)
print("wrote", args.out / "ukraine_capacity.png")

# %% [markdown]
# ## The bill
# Terminals interpolated between the dated counts; new and replaced terminals at the
# terminal price, every terminal in service at the monthly service price. The scenario's
# capacity headline (its [capacity] section, its 20,000 terminals, its policy, three sampled
# slots) says which share of the fleet is carried at 25 Mbit/s; the bill per carried
# terminal-month spreads the cost over that share. Same inputs, same figure as
# ``skymesh cost ukraine-2022``.

# %%
bill = skymesh.scenario_cost(scenario, capacity=True)
head = bill["carried"]["headline"]
print(
    f"scenario headline: {head['terminals_at_target']:,} {head['counts_in']} at "
    f"{head['target_mbps']:g} Mbit/s, bound by {head['binding_label']} "
    f"({100 * bill['carried']['share']:.1f} % of the scenario's terminals)"
)
print("inputs:", describe(bill["carried"]["inputs"]))
for p in bill["periods"]:
    reported = "n/a" if p["reported_usd"] is None else f"${p['reported_usd'] / 1e6:,.0f}M"
    per = p["usd_per_carried_terminal_month"]
    print(
        f"{p['period']:>15}: modelled ${p['total_usd'] / 1e6:,.0f}M, reported {reported}, "
        f"ratio {p['ratio']:.2f}" + (f", ${per:,.0f} per carried terminal-month" if per else "")
    )
figures["cost"] = {
    "headline": head,
    "usd_per_carried_terminal_month": {
        p["period"]: p["usd_per_carried_terminal_month"] for p in bill["periods"]
    },
}
(args.out / "figures.json").write_text(json.dumps(figures, indent=1))

# %%
months = [m["month"] for m in bill["months"]]
hardware = np.array([m["hardware_usd"] for m in bill["months"]]) / 1e6
service = np.array([m["service_usd"] for m in bill["months"]]) / 1e6
fig = Figure(figsize=(9, 4), layout="constrained")
ax = fig.add_subplot()
ax.bar(months, hardware, label="terminals (new and replaced)")
ax.bar(months, service, bottom=hardware, label="service")
ax.set(ylabel="USD million per month", title="Ukraine: modelled bill by month")
ax.tick_params(axis="x", labelrotation=90, labelsize=7)
ax.legend()
fig.savefig(args.out / "ukraine_bill.png", dpi=110)
print("wrote", args.out / "ukraine_bill.png")
