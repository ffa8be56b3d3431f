# %% [markdown]
# # Taiwan: an operator's geofence, and what a second operator keeps
#
# Question: if the operator geofences Taiwan off (a hypothetical switch at 00:30 UTC), what
# happens to terminals on the island, and how much service would the same terminals keep on
# a second constellation (OneWeb's phase 1, under no geofence) on OneWeb's own user link,
# beams and gateways? No gateway is on the island: Starlink's traffic exits in Japan, the
# Philippines or Guam; OneWeb has no inter-satellite links, so its traffic goes bent pipe to
# the one OneWeb site in reach that a public source places, Ubon Ratchathani in Thailand
# (OneWeb's Japan and Guam sites are reported, not located: a lower bound).
#
# The built-in ``taiwan-geofence`` scenario, on a six-minute window around the switch with
# 30 terminals. Run: ``python examples/taiwan_geofence_second_operator.py --out DIR``.

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
    help="folder for the figures and the results",
)
args = parser.parse_args()
args.out.mkdir(parents=True, exist_ok=True)

# %%
result = skymesh.run(
    "taiwan-geofence",
    args.out / "run",
    force=True,
    overrides={
        "time.start": "2026-01-01T00:27:00Z",
        "time.duration_s": 360,
        "time.step_s": 10,
        "terminals.0.count": 30,
        "metrics.wanted": ["service", "rtt", "gateways"],
    },
)
for op in result.summary["operators"]:
    print(
        f"{op['operator']:>22}: served {100 * op['service_share']:5.1f} % of terminal-steps, "
        f"geofenced {100 * op['geofenced_share']:5.1f} %, no coverage "
        f"{100 * op['no_coverage_share']:5.1f} %, median RTT {op['rtt_ms']['p50']} ms"
    )

# %% [markdown]
# Per operator and step, the share of Taiwan's terminals served. The primary network drops
# to zero at the geofence; the second operator is unaffected by it, and is limited only by
# its own coverage (648 satellites at 1,200 km, 87.9 deg) and its own gateways.

# %%
ts = result.table("timeseries", ["time_utc", "operator", "served"])
times = ts["time_utc"].to_numpy(zero_copy_only=False)
operators = np.asarray(ts["operator"].to_pylist())
served = np.asarray(ts["served"].to_pylist(), dtype=bool)
fig = Figure(figsize=(8, 3.8), layout="constrained")
ax = fig.add_subplot()
for name in dict.fromkeys(operators.tolist()):
    sel = operators == name
    steps, index = np.unique(times[sel], return_inverse=True)
    share = np.bincount(index, weights=served[sel]) / np.bincount(index)
    ax.step(steps, 100 * share, where="post", label=name)
ax.axvline(
    np.datetime64("2026-01-01T00:30:00"),
    color="grey",
    linestyle="--",
    label="geofence (00:30 UTC, hypothetical)",
)
ax.set(
    ylabel="terminals served (%)",
    xlabel="time (UTC)",
    ylim=(0, 105),
    title="Taiwan: served share, primary operator vs a second operator",
)
ax.legend(loc="center left", fontsize=8)
fig.savefig(args.out / "taiwan_served.png", dpi=110)
print("wrote", args.out / "taiwan_served.png")

# %%
result.plot_rtt(args.out / "taiwan_rtt.png")
print("wrote", args.out / "taiwan_rtt.png")
