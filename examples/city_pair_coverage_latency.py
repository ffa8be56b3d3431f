# %% [markdown]
# # Coverage and latency over a city pair: London - New York
#
# Questions: how many satellites does each city see over ten minutes, how does the RTT
# between them through the constellation's laser links compare with the speed-of-light
# bound and with terrestrial fibre, and what does it add up to once the access network is
# counted? Starlink's first shell (1,584 satellites, 550 km, 53 deg, FCC 21-48). Run:
# ``python examples/city_pair_coverage_latency.py --out DIR``.

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

shell1 = skymesh.load_constellation("starlink-shell1")
grid = skymesh.time_grid("2026-01-01T00:00:00Z", duration_s=600, step_s=10)

# %% [markdown]
# ## Coverage: satellites above the 25 deg mask

# %%
fig = Figure(figsize=(8, 3.5), layout="constrained")
ax = fig.add_subplot()
for city in ("London, GB", "New York, US"):
    view = skymesh.satellites_in_view(shell1, city, grid, min_elevation_deg=25)
    times, counts = np.unique(view["time_utc"].to_numpy(zero_copy_only=False), return_counts=True)
    print(f"{city}: {counts.min()}-{counts.max()} satellites in view, mean {counts.mean():.1f}")
    ax.step(times, counts, where="post", label=city)
ax.set(
    ylabel="satellites above 25 deg",
    xlabel="time (UTC)",
    ylim=(0, None),
    title="Starlink shell 1: satellites in view",
)
ax.legend()
fig.savefig(args.out / "coverage.png", dpi=110)
print("wrote", args.out / "coverage.png")

# %% [markdown]
# ## Latency over the window, and its components
# ``space_rtt_ms`` is the path at the speed of light; ``rtt_ms`` adds the access
# network at both ends (frames, request/grant, scheduling) and processing per hop.

# %%
r = skymesh.latency(
    "London, GB", "New York, US", constellation=shell1, start=grid.start, duration_s=600, step_s=10
)
s = r.summary
print(f"great circle {s['great_circle_km']:,.0f} km, vacuum bound {s['vacuum_rtt_ms']:.1f} ms")
print(
    f"RTT (user, with access) p50 {s['rtt_ms_p50']:.1f} ms; space RTT p50 "
    f"{s['space_rtt_ms_p50']:.1f} ms (min {s['space_rtt_ms_min']:.1f}), "
    f"{s['path_changes']} path changes"
)
comp = s["components"]
print("mean components (ms):", {k: round(v, 2) for k, v in comp.items() if v is not None})
r.plot_rtt(args.out / "rtt.png", cdf_path=args.out / "rtt_cdf.png")
r.plot_rtt(args.out / "rtt_total.png", total=True)
print("wrote", args.out / "rtt.png", args.out / "rtt_cdf.png", args.out / "rtt_total.png")

# %% [markdown]
# The route at the first instant, satellite by satellite:

# %%
skymesh.map_route(
    "London, GB", "New York, US", constellation=shell1, at=grid.start, path=args.out / "route.png"
)
print("wrote", args.out / "route.png")

# %% [markdown]
# The tables are pyarrow; with pandas installed ``r.table.to_pandas()`` gives a DataFrame.
