"""Routing cost of the access layer: 15 s slots, held paths, PoPs and delay components.

Issue: "Routing cost with the access layer on, against the propagation-only routing of
today, for starlink-shell1 with 100 cities and for the iran-2022 scenario (steps/s, both
modes)."

Two workloads, each computed twice in this process over the same steps, chunk by chunk as
``skymesh run`` does (scenario preparation, summaries and reports are not timed):

* ``starlink-shell1`` (Walker, 1,584 satellites) with the 100 cities of Hypatia's list as
  terminals, every operational gateway and PoP of the curated 2026-03 list, ISL routing;
* ``iran-2022`` as shipped (1,000 terminals, starlink-gen1, ISL and bent-pipe routing every
  step), its window moved to just after the service switch-on so terminals are served.

Mode ``propagation`` is today's model (shortest path at every step, exit at the gateway);
``slots`` the access layer (serving satellite and path held per 15 s slot under the
operator-preference policy, PoP exits, RTT components). Prints steps/s of both and the
ratio slots/propagation, and writes ``bench-out/access.json``. Timings are never asserted.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import DEFAULT_OUT_DIR, data_file  # noqa: E402

CITIES_FILE = "hypatia_ground_stations_cities_sorted_by_estimated_2025_pop_top_100.basic.txt"
GATEWAYS_FILE = "starlink_gateways_starlinkviz_20260320.csv"


def _cities_scenario(folder: Path, steps: int) -> Path:
    text = f"""
    name = "bench-access-shell1-100"
    seed = 0
    gateways_file = "{data_file(GATEWAYS_FILE)}"
    [constellation]
    preset = "starlink-shell1"
    [time]
    start = 2026-01-01T00:00:00Z
    duration_s = {steps - 1}
    step_s = 1
    [routing]
    mode = "isl"
    compare_bent_pipe = false
    [[terminals]]
    file = "{data_file(CITIES_FILE)}"
    """
    path = folder / "shell1-100.toml"
    path.write_text(textwrap.dedent(text))
    return path


def _loaded(source, model: str, steps: int | None = None, iran: bool = False):
    from skymesh.sim.scenario import load_scenario

    overrides = {"access.model": model}
    if iran:
        overrides.update({"time.start": "2022-09-23T00:00:00Z", "time.duration_s": steps - 1})
    return load_scenario(source, overrides)


def time_mode(loaded) -> dict:
    """Prepare (untimed), then compute every chunk of the run (timed)."""
    from skymesh.sim.egress_chunk import compute_chunk
    from skymesh.sim.prepare import prepare
    from skymesh.sim.run import plan_chunks

    prep = prepare(loaded)
    chunks = plan_chunks(loaded, len(prep.grid), prep.n_terminals * len(prep.operators))
    rows = 0
    t0 = time.perf_counter()
    for a, b in chunks:
        rows += compute_chunk(prep, a, b).num_rows
    wall = time.perf_counter() - t0
    steps = len(prep.grid)
    return dict(
        steps=steps,
        terminals=prep.n_terminals,
        rows=rows,
        wall_s=wall,
        steps_per_s=steps / wall,
        satellites=len(prep.operators[0].constellation),
        gateways=len(prep.gateway_name),
        pops=0 if prep.pops is None else len(prep.pops),
    )


def main(cities_steps: int = 300, iran_steps: int = 600, out_dir=DEFAULT_OUT_DIR) -> dict:
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        cities = _cities_scenario(Path(tmp), cities_steps)
        cases = {
            "starlink-shell1, 100 cities": (cities, cities_steps, False),
            "iran-2022": ("iran-2022", iran_steps, True),
        }
        for name, (source, steps, iran) in cases.items():
            res = {m: time_mode(_loaded(source, m, steps, iran)) for m in ("propagation", "slots")}
            res["ratio_slots_over_propagation_steps_per_s"] = (
                res["slots"]["steps_per_s"] / res["propagation"]["steps_per_s"]
            )
            figures[name] = res
            p, s = res["propagation"], res["slots"]
            print(
                f"{name}: {p['terminals']:,} terminals, {p['satellites']:,} satellites, "
                f"{p['gateways']} gateways, {s['pops']} PoPs, {p['steps']} steps of 1 s"
            )
            print(f"  propagation-only: {p['steps_per_s']:8.2f} steps/s ({p['wall_s']:.1f} s)")
            print(f"  access layer:     {s['steps_per_s']:8.2f} steps/s ({s['wall_s']:.1f} s)")
            print(
                f"  RATIO access/propagation (steps/s): "
                f"{res['ratio_slots_over_propagation_steps_per_s']:.2f}"
            )
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(exist_ok=True)
        (out / "access.json").write_text(json.dumps(figures, indent=1) + "\n")
    return figures


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cities-steps", type=int, default=300)
    ap.add_argument("--iran-steps", type=int, default=600)
    args = ap.parse_args()
    main(args.cities_steps, args.iran_steps)
