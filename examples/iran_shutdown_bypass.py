# %% [markdown]
# # Iran, September 2022: reaching the internet around a shutdown
#
# Question: when Iran's terrestrial internet was cut and the US licence (OFAC General
# License D-2, 23 Sep 2022) let Starlink serve Iran, could terminals inside the country
# reach the open internet through gateways abroad, how fast, and through which gateways?
#
# We run the built-in ``iran-2022`` scenario on a short window around the licence's time
# (service off before 00:00 UTC, on after), with a small terminal sample so the script
# takes well under a minute. Run it with ``python examples/iran_shutdown_bypass.py --out DIR``.

# %%
import argparse
from pathlib import Path

import numpy as np

import skymesh

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument(
    "--out",
    type=Path,
    default=Path("build/examples") / Path(__file__).stem,
    help="folder for the figures and the results",
)
args = parser.parse_args()
args.out.mkdir(parents=True, exist_ok=True)

# %% [markdown]
# Shorten the window to four minutes straddling the switch-on, every 10 s, and place 40
# terminals by population (the built-in scenario uses 1,000 over an hour).

# %%
result = skymesh.run(
    "iran-2022",
    args.out / "run",
    force=True,
    overrides={
        "time.start": "2022-09-22T23:58:00Z",
        "time.duration_s": 240,
        "time.step_s": 10,
        "terminals.0.count": 40,
        "metrics.wanted": ["service", "rtt", "hops", "gateways"],
    },
)
op = result.summary["operators"][0]
print(f"service share over the window: {100 * op['service_share']:.0f} %")
print("median RTT to the internet when served:", op["rtt_ms"]["p50"], "ms")
print("exit gateways:", [(g["name"], f"{100 * g['share']:.0f} %") for g in op["gateways"]])

# %% [markdown]
# The timeseries table has one row per step and terminal. Before 00:00 UTC no terminal
# is served (service inactive), after it they are -- and never through the hypothetical
# gateway inside Iran (the country is censoring, so its gateway may not carry its traffic).

# %%
ts = result.table("timeseries", ["time_utc", "served", "gateway", "rtt_ms"])
gateways_used = {g for g in ts["gateway"].to_pylist() if g is not None}
assert "Tehran (hypothetical)" not in gateways_used, gateways_used
served = np.asarray(ts["served"].to_pylist(), dtype=bool)
times = ts["time_utc"].to_numpy(zero_copy_only=False)
before = times < np.datetime64("2022-09-23T00:00:00")
print(
    f"served before the licence: {served[before].mean():.0%}, after: {served[~before].mean():.0%}"
)

# %% [markdown]
# The figure: median RTT over time (gaps where nobody is served).

# %%
fig = result.plot_rtt(args.out / "iran_rtt.png")
print("wrote", args.out / "iran_rtt.png")

# %% [markdown]
# And the share of terminals served at each step: 0 % before the licence, then all of them.

# %%
from matplotlib.figure import Figure  # noqa: E402  (pyplot-free: works headless)

steps, index = np.unique(times, return_inverse=True)
share = np.bincount(index, weights=served) / np.bincount(index)
fig = Figure(figsize=(8, 3.5), layout="constrained")
ax = fig.add_subplot()
ax.step(steps, 100 * share, where="post")
ax.axvline(
    np.datetime64("2022-09-23T00:00:00"),
    color="grey",
    linestyle="--",
    label="General License D-2 (00:00 UTC, assumed)",
)
ax.set(
    ylabel="terminals served (%)",
    xlabel="time (UTC)",
    ylim=(0, 105),
    title="Iran, 22-23 Sep 2022: terminals reaching the internet via gateways abroad",
)
ax.legend(loc="center right")
fig.savefig(args.out / "iran_served.png", dpi=110)
print("wrote", args.out / "iran_served.png")
