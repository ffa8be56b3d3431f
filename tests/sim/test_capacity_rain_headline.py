"""The run's capacity pass: rain on beams and feeders against the same slots without it, and
headline minima taken over the samples at which the region has service."""

import pytest

from skymesh.sim.capacity_pass import capacity_pass
from skymesh.sim.prepare import prepare
from skymesh.sim.scenario import load_scenario

# Terminals around Kyiv; one gateway in Poland; 40 s from 12:00:12 UTC (slots :12, :27, :42).
BASE = """
name = "cap-test"
seed = 1
[constellation]
preset = "starlink-shell1"
[time]
start = 2026-01-01T12:00:12Z
duration_s = 40
step_s = 10
[routing]
mode = "isl"
[[terminals]]
points = [[50.45, 30.52], [50.40, 30.60], [50.50, 30.40], [49.99, 36.23], [47.91, 33.39]]
[[gateways]]
name = "Wola"
lat = 51.864
lon = 20.921
country = "PL"
[capacity]
target_mbps = 10
samples = 3
[demand]
busy_hour_mbps = 5000
diurnal = false
"""


def _run(tmp_path, extra=""):
    path = tmp_path / "s.toml"
    path.write_text(BASE + extra)
    return capacity_pass(prepare(load_scenario(path)))[0]


def test_rain_lowers_throughput_against_the_same_slots_dry(tmp_path):
    wet = _run(
        tmp_path,
        """
[[rain]]
rate_mmh = 150
box = [45.0, 20.0, 53.0, 40.0]     # Ukraine and the Polish gateway
""",
    )
    for x in wet["samples"]:
        dry = x["aggregate_gbps_without_rain"]
        assert dry is not None and dry > 0
        # ITU-R P.618: 150 mm/h fades Ku beams and Ka feeders; capacity can only drop
        assert x["aggregate_gbps"] <= dry * (1 + 1e-9)
    assert any(
        x["aggregate_gbps"] < 0.99 * x["aggregate_gbps_without_rain"] for x in wet["samples"]
    )
    assert any("without rain" in line for line in wet["markdown"])
    plain = _run(tmp_path)  # no [[rain]]: no comparison is made
    assert all(x["aggregate_gbps_without_rain"] is None for x in plain["samples"])


def test_headline_minima_skip_samples_switched_off_by_policy(tmp_path):
    cap = _run(
        tmp_path,
        """
[policy]
default_service = "active"
[[policy.country]]
iso2 = "UA"
[[policy.country.service]]
state = "inactive"
until = 2026-01-01T12:00:30Z
""",
    )
    off = [x for x in cap["samples"] if x["covered"] == 0]
    on = [x for x in cap["samples"] if x["covered"] > 0]
    assert off and on  # the window straddles the switch-on
    assert all(x["terminals_at_target"] == 0 for x in off)
    assert cap["samples_with_service"] == len(on)
    assert cap["terminals_at_target_min"] == min(x["terminals_at_target"] for x in on) > 0
    assert cap["served_fraction_min"] == pytest.approx(min(x["served_fraction"] for x in on))
    assert any("samples at which the region has service" in line for line in cap["markdown"])
