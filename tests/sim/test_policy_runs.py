"""Service policy in runs: the geofence, the exit rule, landing-right withdrawal."""

import textwrap

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from skymesh.sim.run import run_scenario
from skymesh.sim.scenario import load_scenario

BASE = """
name = "test"
seed = 3
[constellation]
preset = "starlink-shell1"
[time]
start = 2026-01-01T00:00:00Z
duration_s = 120
step_s = 20
[routing]
compare_bent_pipe = false
"""

# Points a few km either side of the Iran-Turkey border near Bazargan/Gurbulak.
IRAN_SIDE = (39.37, 44.43)
TURKEY_SIDE = (39.50, 44.20)

GATEWAYS = """
[[gateways]]
name = "Muallim"
lat = 40.789
lon = 29.509
country = "TR"
[[gateways]]
name = "Tehran"
lat = 35.69
lon = 51.39
country = "IR"
[[gateways]]
name = "Murayjat"
lat = 23.588
lon = 58.545
country = "OM"
"""


def _run(tmp_path, body, name="s.toml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(BASE + body))
    loaded = load_scenario(path)
    run_scenario(loaded, tmp_path / f"out-{name}")
    return pq.read_table(tmp_path / f"out-{name}" / "timeseries.parquet")


def test_inactive_country_gets_no_service_but_across_the_border_does(tmp_path):
    table = _run(
        tmp_path,
        GATEWAYS
        + f"""
[[terminals]]
name = "iran-side"
country = "IR"
points = [[{IRAN_SIDE[0]}, {IRAN_SIDE[1]}]]
[[terminals]]
name = "turkey-side"
country = "TR"
points = [[{TURKEY_SIDE[0]}, {TURKEY_SIDE[1]}]]
[policy]
[[policy.country]]
iso2 = "IR"
[[policy.country.service]]
state = "inactive"
""",
    )
    ir = table.filter(pc.equal(table["terminal"], 0))
    tr = table.filter(pc.equal(table["terminal"], 1))
    assert not any(ir["served"].to_pylist())
    assert not any(ir["service_allowed"].to_pylist())
    assert all(tr["served"].to_pylist())


def test_censoring_country_never_exits_at_home_and_would_without_the_rule(tmp_path):
    terminals = """
[[terminals]]
name = "tehran-users"
country = "IR"
points = [[35.70, 51.40], [35.60, 51.30], [35.80, 51.50]]
"""
    censored = _run(
        tmp_path,
        GATEWAYS
        + terminals
        + """
[policy]
[[policy.country]]
iso2 = "IR"
censoring = true
""",
        "censored.toml",
    )
    assert all(censored["served"].to_pylist())
    gw = set(censored["gateway"].cast("string").to_pylist())
    assert "Tehran" not in gw
    assert not any(censored["exit_in_own_country"].to_pylist())
    # Same terminals without the censoring flag: the Tehran gateway, overhead, wins.
    free = _run(tmp_path, GATEWAYS + terminals, "free.toml")
    assert "Tehran" in set(free["gateway"].cast("string").to_pylist())


def test_withdrawn_landing_rights_move_traffic_never_through_the_withdrawn(tmp_path):
    table = _run(
        tmp_path,
        GATEWAYS
        + """
[[terminals]]
country = "TR"
count = 40
[policy]
[[policy.landing]]
iso2 = "TR"
state = "granted"
until = 2026-01-01T00:01:00Z
[[policy.landing]]
iso2 = "TR"
state = "denied"
from = 2026-01-01T00:01:00Z
""",
    )
    t = table["time_utc"].to_numpy()
    gw_country = np.asarray(table["gateway_country"].cast("string").to_pylist(), dtype=object)
    after = t >= np.datetime64("2026-01-01T00:01:00")
    assert np.any(gw_country[~after] == "TR")  # used before the withdrawal
    assert not np.any(gw_country[after] == "TR")  # never after it
    served_after = np.asarray(table["served"].to_pylist())[after]
    assert served_after.any()  # moved to other gateways (IR, OM)


def test_runs_are_deterministic(tmp_path):
    body = (
        GATEWAYS
        + """
[[terminals]]
country = "IR"
count = 30
[[failures]]
kind = "satellites"
fraction = 0.2
seed = 5
"""
    )
    a = _run(tmp_path, body, "a.toml")
    b = _run(tmp_path, body, "b.toml")
    assert a.equals(b)


def test_capacity_and_metrics_sections(tmp_path):
    path = tmp_path / "cap.toml"
    path.write_text(
        textwrap.dedent(
            BASE
            + GATEWAYS
            + """
[[terminals]]
country = "TR"
count = 60
[capacity]
target_mbps = 10
samples = 2
[demand]
multiplier = 10
[metrics]
wanted = ["service", "rtt", "capacity"]
"""
        )
    )
    summary = run_scenario(load_scenario(path), tmp_path / "out")
    cap = summary["capacity"]
    assert len(cap["samples"]) == 2
    assert 0 <= cap["terminals_at_target_min"] <= 60
    assert (
        cap["fair_share_mbps"]["p5"]
        <= cap["fair_share_mbps"]["p50"]
        <= cap["fair_share_mbps"]["p95"]
    )
    assert "figures" not in summary  # not wanted
    assert "bent_pipe" not in summary["operators"][0]  # not wanted
    report = (tmp_path / "out" / "report.md").read_text()
    assert "## Capacity" in report and "Gateways carrying" not in report
    assert (tmp_path / "out" / "capacity.parquet").exists()


def test_capacity_section_typo_is_an_error(tmp_path):
    from skymesh.errors import InputError

    path = tmp_path / "bad.toml"
    path.write_text(
        textwrap.dedent(
            BASE
            + GATEWAYS
            + """
[[terminals]]
country = "TR"
count = 6
[capacity]
beams_per_satelite = 8
"""
        )
    )
    with pytest.raises(InputError) as err:
        load_scenario(path)
    assert err.value.field == "capacity.beams_per_satelite" and err.value.line is not None
