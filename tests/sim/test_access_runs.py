"""Egress runs with the access layer: 15 s holds, PoPs, RTT components, policy on PoPs, resume."""

import json
import textwrap

import numpy as np
import pyarrow.parquet as pq
import pytest

from skymesh.access.slots import slot_index
from skymesh.constants import SPEED_OF_LIGHT_KM_S
from skymesh.ground.pops import fibre_rtt_ms, great_circle_km
from skymesh.sim.run import run_scenario
from skymesh.sim.scenario import load_scenario

START = "2026-01-01T00:00:05Z"
BASE = f"""
name = "access-test"
seed = 3
[constellation]
preset = "starlink-shell1"
[time]
start = {START}
duration_s = 75
step_s = 1
[routing]
compare_bent_pipe = false
[metrics]
wanted = ["service", "rtt", "hops", "gateways"]
[[terminals]]
name = "ir"
points = [[35.7, 51.4], [32.65, 51.67], [38.08, 46.29], [29.6, 52.53]]
country = "IR"
[[gateways]]
name = "Muallim"
lat = 40.789
lon = 29.509
country = "TR"
[[gateways]]
name = "Murayjat"
lat = 23.588
lon = 58.545
country = "OM"
[[gateways]]
name = "Foggia"
lat = 41.508
lon = 15.587
country = "IT"
"""
POPS = """
[[pops]]
name = "Doha"
lat = 25.2854
lon = 51.531
country = "QA"
[[pops]]
name = "Sofia"
lat = 42.6977
lon = 23.3219
country = "BG"
"""
GW = {"Muallim": (40.789, 29.509), "Murayjat": (23.588, 58.545), "Foggia": (41.508, 15.587)}
POP = {"Doha": (25.2854, 51.531), "Sofia": (42.6977, 23.3219)}


def _run(tmp_path, body="", name="s", **kw):
    path = tmp_path / f"{name}.toml"
    path.write_text(textwrap.dedent(BASE + body))
    summary = run_scenario(load_scenario(path), tmp_path / f"out-{name}", **kw)
    return summary, pq.read_table(tmp_path / f"out-{name}" / "timeseries.parquet")


def _col(t, name):
    return np.asarray(t[name].to_numpy(zero_copy_only=False))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("access")
    return _run(tmp, POPS + "\n[output]\nchunk_steps = 7\n")


def test_serving_changes_only_at_slot_boundaries_unless_forced(run):
    _, t = run
    G = 4
    served = _col(t, "served").reshape(-1, G)
    assert served.all()
    sat = _col(t, "serving_satellite").reshape(-1, G)
    forced = _col(t, "forced_handover").reshape(-1, G)
    slot = slot_index(START, np.arange(sat.shape[0], dtype=float))
    starts = np.r_[True, np.diff(slot) != 0]
    change = np.r_[np.zeros((1, G), bool), sat[1:] != sat[:-1]]
    assert change[starts].any()  # the hold does not freeze forever
    assert not (change & ~starts[:, None] & ~forced).any()
    assert np.array_equal(change, _col(t, "handover").reshape(-1, G))


def test_rtt_inside_a_slot_moves_only_as_fast_as_the_geometry(run):
    # Inside a slot (no boundary, no re-plan) the held path only stretches: each of its
    # links (up-link, ISLs, down-link) changes length by at most 2 x 7.9 km/s (both ends
    # at orbital speed), and the request/grant term follows the up-link once more.
    _, t = run
    G = 4
    rtt = _col(t, "rtt_ms").astype(float).reshape(-1, G)
    hops = _col(t, "sat_hops").astype(float).reshape(-1, G)
    replan = _col(t, "replanned").reshape(-1, G)
    slot = slot_index(START, np.arange(rtt.shape[0], dtype=float))
    inside = (np.diff(slot) == 0)[:, None] & ~replan[1:]
    links = hops[1:] + 1 + 1
    bound_ms = 2e3 * links * 2 * 7.9 / SPEED_OF_LIGHT_KM_S
    step = np.abs(np.diff(rtt, axis=0))
    assert inside.sum() > 100
    assert np.all(step[inside] <= bound_ms[inside])


def test_components_sum_and_fibre_leg(run):
    summary, t = run
    parts = ["space_rtt_ms", "fibre_ms", "access_ms", "processing_ms", "queueing_ms"]
    total = sum(_col(t, p).astype(float) for p in parts)
    assert np.allclose(total, _col(t, "rtt_ms").astype(float), atol=1e-9)
    gw = t["gateway"].cast("string").to_pylist()
    pop = t["pop"].cast("string").to_pylist()
    # Homing, by hand: Murayjat (OM, no PoP there) is nearest Doha; Muallim and Foggia Sofia.
    home = {"Murayjat": "Doha", "Muallim": "Sofia", "Foggia": "Sofia"}
    assert all(home[g] == p for g, p in zip(gw, pop))
    expect = [float(fibre_rtt_ms(*GW[g], *POP[p])) for g, p in zip(gw, pop)]
    assert np.allclose(_col(t, "fibre_ms").astype(float), expect)
    # No PoP in Iran: each terminal uses the nearer of the two (great circle).
    lat = np.array([35.7, 32.65, 38.08, 29.6])
    lon = np.array([51.4, 51.67, 46.29, 52.53])
    d = np.stack([great_circle_km(lat, lon, *POP[n]) for n in ("Doha", "Sofia")], 1)
    nearest = np.array(["Doha", "Sofia"])[np.argmin(d, 1)]
    pops = np.array(pop).reshape(-1, 4)
    assert np.array_equal(pops, np.broadcast_to(nearest, pops.shape))
    assert _col(t, "space_rtt_ms").min() > 2e3 * 550 * 2 / SPEED_OF_LIGHT_KM_S
    op = summary["operators"][0]
    hph = op["handovers_per_hour"]
    assert hph["count"] == int(_col(t, "handover").sum())
    assert hph["all"] == pytest.approx(hph["count"] / (len(t) * 1.0 / 3600))
    assert set(op["rtt_components_ms"]) == set(parts)
    assert op["pops"][0]["name"] in ("Doha", "Sofia")


def test_chunking_and_resume_give_the_same_rows(tmp_path, run):
    _, whole = run
    body = POPS + "\n[output]\nchunk_steps = 11\n"
    first = _run(tmp_path, body, name="r", stop_after=2)
    assert first[0].get("interrupted")
    _, resumed = _run(tmp_path, body, name="r", resume=True)
    assert resumed.equals(whole)


def test_exit_rule_applies_to_the_pop_and_to_the_gateway(tmp_path):
    # Iran's traffic may leave to the internet only in BG (the Sofia PoP), and TR denies
    # landing: only Foggia (IT gateway, homed to Sofia) can carry it.
    policy = """
[policy]
exit_countries = ["BG", "IT", "TR", "OM"]
[[policy.landing]]
iso2 = "TR"
state = "denied"
"""
    _, t = _run(tmp_path, POPS + policy, name="p")
    served = _col(t, "served")
    assert served.any()
    assert set(t["pop"].cast("string").to_pylist()) - {None} == {"Sofia"}
    assert set(t["gateway"].cast("string").to_pylist()) - {None} == {"Foggia"}
    assert set(t["pop_country"].cast("string").to_pylist()) - {None} == {"BG"}


def test_without_pops_each_gateway_is_its_pop(tmp_path):
    summary, t = _run(tmp_path, "", name="n")
    assert np.all(_col(t, "fibre_ms")[_col(t, "served")] == 0.0)
    assert t["pop"].cast("string").to_pylist() == t["gateway"].cast("string").to_pylist()
    assert any("each gateway is its own PoP" in n for n in summary["notes"])
    report = (tmp_path / "out-n" / "report.md").read_text()
    assert "each gateway is its own PoP" in report


@pytest.mark.parametrize(
    "policy", ["highest-elevation", "longest-visibility", "nearest-to-gateway"]
)
def test_other_policies_run(tmp_path, policy):
    body = POPS + f'\n[access]\nserving = "{policy}"\n'
    summary, t = _run(tmp_path, body.replace("duration_s = 75", "duration_s = 20"), name=policy)
    assert _col(t, "served").all()
    assert summary["serving_policy"] == policy
    if policy == "highest-elevation":
        # At each slot's first step the chosen satellite is the highest one in view
        # (elevations recomputed here with look_angles; with ISLs every one has a route).
        from skymesh.links.visibility import look_angles
        from skymesh.orbits.propagate import positions_ecef
        from skymesh.sim.prepare import prepare

        prep = prepare(load_scenario(tmp_path / f"{policy}.toml"))
        pos = positions_ecef(prep.operators[0].constellation, prep.grid)
        el, _, _ = look_angles(pos, prep.terminal_lat, prep.terminal_lon)  # (G, N, K)
        sat = _col(t, "serving_satellite").reshape(-1, 4)  # (K, G)
        slot = slot_index(START, prep.grid.offsets_s)
        for k in np.flatnonzero(np.r_[True, np.diff(slot) != 0]):
            chosen = el[np.arange(4), sat[k], k]
            assert np.allclose(chosen, np.nanmax(el[:, :, k], axis=1))


def test_propagation_model_keeps_the_old_rows(tmp_path):
    _, t = _run(tmp_path, POPS + '\n[access]\nmodel = "propagation"\n', name="old")
    assert "handover" not in t.schema.names
    assert np.allclose(_col(t, "space_rtt_ms").astype(float), _col(t, "rtt_ms").astype(float))
    assert (
        json.loads((tmp_path / "out-old" / "summary.json").read_text())["access_model"]
        == "propagation"
    )


def test_components_chart_stacks_the_means(tmp_path):
    from skymesh.report.components import components_chart, components_markdown

    comps = {
        "a": {
            "space_rtt_ms": {"p50": 20.0, "mean": 21.0},
            "fibre_ms": {"p50": 5.0, "mean": 5.0},
            "access_ms": {"p50": 13.0, "mean": 13.5},
        },
        "b": {"space_rtt_ms": {"p50": 8.0, "mean": 8.0}},
    }
    fig = components_chart(comps, path=tmp_path / "c.png")
    assert (tmp_path / "c.png").stat().st_size > 0
    bars = fig.axes[0].patches
    widths = {}
    for bar in bars:
        y = round(bar.get_y() + bar.get_height() / 2)
        widths[y] = widths.get(y, 0.0) + bar.get_width()
    assert sorted(widths.values()) == pytest.approx([8.0, 39.5])
    table = components_markdown(comps)
    assert table[2].startswith("| space propagation | 20.0 / 21.0 ms | 8.0 / 8.0 ms |")


def test_pop_overrides_rehome_a_gateway(tmp_path):
    # Murayjat re-homed to Sofia: Doha keeps no gateway, so Iran's traffic goes to Sofia,
    # and Murayjat's fibre leg is its great-circle leg to Sofia.
    body = POPS + '\n[pop_overrides]\n"Murayjat" = "Sofia"\n'
    _, t = _run(tmp_path, body.replace("duration_s = 75", "duration_s = 10"), name="o")
    assert set(t["pop"].cast("string").to_pylist()) == {"Sofia"}
    gw = np.array(t["gateway"].cast("string").to_pylist())
    fibre = _col(t, "fibre_ms").astype(float)
    for name in set(gw):
        assert np.allclose(fibre[gw == name], fibre_rtt_ms(*GW[name], *POP["Sofia"]))
    from skymesh.errors import InputError

    bad = tmp_path / "bad.toml"
    bad.write_text(textwrap.dedent(BASE + POPS + '\n[pop_overrides]\n"Murayjat" = "Paris"\n'))
    with pytest.raises(InputError, match="Paris"):
        from skymesh.sim.prepare import prepare

        prepare(load_scenario(bad))


def test_default_pops_are_the_pop_rows_of_the_gateway_file(tmp_path, shared_data):
    import csv

    from skymesh.sim.prepare import prepare

    path = shared_data / "starlink_gateways_starlinkviz_20260320.csv"
    with open(path, newline="", encoding="utf-8") as fh:
        rows = [
            r for r in csv.DictReader(fh) if r["type"] == "pop" and r["status"] == "operational"
        ]
    scen = tmp_path / "curated.toml"
    scen.write_text(
        textwrap.dedent(f"""
        name = "curated"
        gateways_file = "{path}"
        [constellation]
        preset = "starlink-shell1"
        [time]
        start = {START}
        duration_s = 1
        [[terminals]]
        points = [[35.7, 51.4]]
        """)
    )
    prep = prepare(load_scenario(scen))
    assert sorted(prep.pops.name) == sorted(r["name"] for r in rows)
    assert any("pop rows of" in n for n in prep.notes)


def test_held_paths_never_beat_the_shortest_path_and_match_it_when_chosen(tmp_path):
    # Independent formulation: the propagation model routes from terminal nodes with one
    # Dijkstra per step. No PoPs, so both exit at any allowed gateway with no fibre leg.
    _, old = _run(tmp_path, '\n[access]\nmodel = "propagation"\n', name="shortest")
    shortest = _col(old, "rtt_ms").astype(float)
    for policy in ("operator", "nearest-to-gateway"):
        _, t = _run(tmp_path, f'\n[access]\nserving = "{policy}"\n', name=f"held-{policy}")
        space = _col(t, "space_rtt_ms").astype(float)
        assert np.all(space >= shortest - 1e-6)  # ms: float rounding of ranges
        if policy == "nearest-to-gateway":
            G = 4
            slot = slot_index(START, np.arange(len(space) // G, dtype=float))
            starts = np.repeat(np.r_[True, np.diff(slot) != 0], G)
            assert np.allclose(space[starts], shortest[starts], rtol=0, atol=1e-6)


def test_summary_figures_are_the_statistics_of_the_columns_of_the_same_name(run, tmp_path):
    """Issue 21: a run's summary.json names each figure as its timeseries column does,
    and its percentiles are the column's (0.01 ms histogram bins): ``rtt_ms`` the user's
    RTT, the component ``space_rtt_ms`` the propagation-only part."""
    summary, t = run
    served = _col(t, "served").astype(bool)
    op = summary["operators"][0]
    rtt = _col(t, "rtt_ms").astype(float)[served]
    for p in (50, 95, 99):
        assert abs(op["rtt_ms"][f"p{p}"] - np.percentile(rtt, p)) <= 0.05, p
    assert op["rtt_ms"]["mean"] == pytest.approx(rtt.mean(), abs=0.01)
    assert op["rtt_ms"]["min"] == pytest.approx(rtt.min(), abs=0.01)
    assert op["rtt_ms"]["max"] == pytest.approx(rtt.max(), abs=0.01)
    parts = op["rtt_components_ms"]
    assert set(parts) == {"space_rtt_ms", "fibre_ms", "access_ms", "processing_ms", "queueing_ms"}
    for name, stats in parts.items():
        col = _col(t, name).astype(float)[served]
        assert abs(stats["p50"] - np.median(col)) <= 0.05, name
        assert stats["mean"] == pytest.approx(col.mean(), abs=0.01), name
    # the user's RTT is the space RTT plus the access network: larger at every sample
    assert np.all(rtt > _col(t, "space_rtt_ms").astype(float)[served])
