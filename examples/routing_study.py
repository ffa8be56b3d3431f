# %% [markdown]
# # A routing study: the eight largest cities, ISLs against bent pipe
#
# Questions: between the world's eight largest cities (GeoNames), what RTT does Starlink's
# first shell give over its laser links, how close is it to the speed-of-light bound over
# the great circle, how often does the forwarding state change, and what is lost without
# ISLs (bent pipe: a pair is reachable only when one satellite sees both ends)?
#
# A routing study is a scenario built in code (``study = "routing"``): every pair's
# shortest path at every step, the forwarding state, and per-pair statistics. Ten minutes
# every 10 s. Run: ``python examples/routing_study.py --out DIR``.

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

study = {
    "name": "largest-8",
    "study": "routing",
    "constellation": {"preset": "starlink-shell1"},
    "time": {"start": "2026-01-01T00:00:00Z", "duration_s": 600, "step_s": 10},
    "terminals": [{"largest": 8}],
}

# %%
runs = {
    mode: skymesh.run(study, args.out / mode, force=True, overrides={"routing.mode": mode})
    for mode in ("isl", "bent-pipe")
}
for mode, res in runs.items():
    s = res.summary
    print(
        f"{mode:>9}: {s['pairs']} pairs, reachable {100 * s['reachable_fraction']:.0f} % of "
        f"pair-steps, space RTT p50 {s['space_rtt_ms']['p50']} ms"
    )
fs = runs["isl"].summary["fstate_changes_per_step"]
print(f"forwarding-state changes per step (ISL): mean {fs['mean']:.0f}, max {fs['max']}")

# %% [markdown]
# Per pair: mean space RTT (propagation only) against the great-circle distance,
# with the vacuum bound (2 x distance / c) as the floor no path can beat.

# %%
C_KM_S = 299_792.458
fig = Figure(figsize=(7.5, 4.5), layout="constrained")
ax = fig.add_subplot()
for mode, res in runs.items():
    pairs = res.table("pairs").to_pylist()
    dist, rtt = [], []
    for p in pairs:
        a, b = skymesh.place(p["src"]), skymesh.place(p["dst"])
        lat1, lat2 = np.deg2rad([a.lat_deg, b.lat_deg])
        dlon = np.deg2rad(b.lon_deg - a.lon_deg)
        ang = np.arccos(
            np.clip(np.sin(lat1) * np.sin(lat2) + np.cos(lat1) * np.cos(lat2) * np.cos(dlon), -1, 1)
        )
        dist.append(6371.0 * ang)
        rtt.append(np.nan if p["space_rtt_ms_mean"] is None else p["space_rtt_ms_mean"])
    ax.plot(dist, rtt, "o", label=f"{mode}: mean space RTT of a pair", alpha=0.8)
d = np.linspace(0, 13000, 50)
ax.plot(d, 2e3 * d / C_KM_S, "k--", label="vacuum bound, great circle")
ax.set(
    xlabel="great-circle distance (km)",
    ylabel="space RTT, propagation only (ms)",
    ylim=(0, None),
    title="Largest 8 cities over Starlink shell 1 (space propagation)",
)
ax.legend(fontsize=8)
fig.savefig(args.out / "rtt_vs_distance.png", dpi=110)
print("wrote", args.out / "rtt_vs_distance.png")

# %%
runs["isl"].plot_rtt(args.out / "rtt_over_time.png")
print("wrote", args.out / "rtt_over_time.png")
