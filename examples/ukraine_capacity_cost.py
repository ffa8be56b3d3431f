# %% [markdown]
# # Ukraine, 2022: how many terminals at what rate, and what does it cost?
#
# Questions: how many terminals in Ukraine can Starlink's Gen1 constellation carry at a
# given rate through the gateways in the neighbouring countries, what binds first, and how
# does the bill of the dated 2022-23 fleet compare with the figures SpaceX reportedly gave
# (>$120M for the rest of 2022, ~$400M for the next 12 months)?
#
# Three steps, each bounded for a laptop: the region's capacity at four target rates (300
# probe terminals placed by population, one 15 s slot); the bill by month; and the bill per
# terminal the network can actually carry at 25 Mbit/s, from the built-in scenario's own
# capacity model run on 2,000 terminals. Run:
# ``python examples/ukraine_capacity_cost.py --out DIR``.

# %%
import argparse
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
args = parser.parse_args()
args.out.mkdir(parents=True, exist_ok=True)

# %% [markdown]
# ## Capacity of the region
# The gateways are the scenario's own (Poland, Lithuania, Germany, Romania, Slovakia).
# ``region_capacity`` uses the link presets' budgets, not the scenario's ``[capacity]``
# overrides.

# %%
scenario = skymesh.load_scenario("ukraine-2022")
gw = [
    {"name": g.name, "lat": g.lat, "lon": g.lon, "country": g.country}
    for g in scenario.scenario.gateways
]
targets = [10, 25, 50, 100]
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
    m = a["model"]
    print(
        f"{t:>4} Mbit/s: {m['terminals_at_target']:>9,.0f} terminals, bound by "
        f"{m['binding_kind']}, {m['aggregate_gbps']:.0f} Gbit/s in all"
    )

# %%
fig = Figure(figsize=(6.5, 4), layout="constrained")
ax = fig.add_subplot()
ax.loglog(targets, [a["model"]["terminals_at_target"] for a in answers], "o-")
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
# terminal price, every terminal in service at the monthly service price. The capacity pass
# of the scenario (its [capacity] section, 2,000 of its terminals, one sample) says which
# share of the fleet can all get 25 Mbit/s at once; the bill per carried terminal-month
# spreads the cost over that share.

# %%
small = skymesh.load_scenario("ukraine-2022", {"terminals.0.count": 2000, "capacity.samples": 1})
bill = skymesh.scenario_cost(small, capacity=True)
for p in bill["periods"]:
    reported = "n/a" if p["reported_usd"] is None else f"${p['reported_usd'] / 1e6:,.0f}M"
    per = p["usd_per_carried_terminal_month"]
    print(
        f"{p['period']:>15}: modelled ${p['total_usd'] / 1e6:,.0f}M, reported {reported}, "
        f"ratio {p['ratio']:.2f}" + (f", ${per:,.0f} per carried terminal-month" if per else "")
    )

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
