"""Work that slipped past the estimate (issue 20 §6): capacity, cost, and PoP homing.

A refusal must come before any work: the work itself is replaced by functions that
fail the test, and the machine's memory budget is pinned so the outcome does not
depend on the machine. The subprocess tests run the real command under an address-space
limit and a timeout, so the old behaviour (gigabytes within seconds) cannot eat the
machine: it fails the test instead.
"""

import resource
import subprocess
import sys
import textwrap
import time

import pytest

from skymesh.cli import main

GATEWAYS = """
[[gateway]]
name = "Hawthorne"
lat = 33.92
lon = -118.33
country = "US"
"""

COST = """
name = "cost-big"
seed = 1
[constellation]
preset = "starlink-gen1"
[time]
start = 2026-01-01T00:00:00Z
duration_s = 600
step_s = 10
[[terminals]]
country = "UA"
count = {count}
[[gateways]]
name = "Muallim"
lat = 40.789
lon = 29.509
country = "TR"
[metrics]
wanted = ["service", "capacity", "cost"]
[cost]
terminal_price_usd = 1500.0
monthly_service_usd = 500.0
replacements_per_month = 500.0
start_terminals = 0.0
[cost.terminals_by_month]
"2022-03" = 5000
"2022-09" = 20000
[capacity]
target_mbps = 25
samples = {samples}
"""

GiB = 2**30


@pytest.fixture()
def gateways(tmp_path):
    p = tmp_path / "gw.toml"
    p.write_text(textwrap.dedent(GATEWAYS))
    return p


@pytest.fixture()
def no_work(monkeypatch):
    """Placing probes, preparing a scenario or running the capacity model fails the test."""

    def forbidden(*args, **kwargs):
        raise AssertionError("work started before the job was refused")

    import skymesh.capacity.region as region
    import skymesh.sim.capacity_pass as capacity_pass
    import skymesh.sim.costs as costs
    import skymesh.sim.prepare as prepare

    monkeypatch.setattr(region, "region_capacity", forbidden)
    monkeypatch.setattr(region, "place_probes", forbidden)
    monkeypatch.setattr(prepare, "prepare", forbidden)
    monkeypatch.setattr(capacity_pass, "capacity_pass", forbidden)
    monkeypatch.setattr(costs, "carried_terminals", forbidden)


def _budget(monkeypatch, n_bytes):
    import skymesh.cli.jobs as jobs

    monkeypatch.setattr(jobs, "memory_budget_bytes", lambda: int(n_bytes))


def _one_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and "internal error" not in err
    return lines[0]


# --------------------------------------------------------------------------- capacity


def test_capacity_past_the_machine_is_refused_before_any_work(
    no_work, gateways, monkeypatch, capsys
):
    _budget(monkeypatch, 1 * GiB)
    args = ["capacity", "US", "--probes", "200000", "--gateways", str(gateways)]
    assert main(args) == 2
    line = _one_line(capsys)
    assert "200,000 probes" in line and "of memory" in line and "--probes" in line


def test_capacity_200000_probes_is_refused_quickly_under_a_memory_limit(tmp_path, gateways):
    """The real command, its address space capped at 2 GiB: refused in seconds, one line.
    (Before, it grew past any cap within seconds: MemoryError, or minutes of work.)"""
    limit = 2 * GiB

    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    cmd = [sys.executable, "-m", "skymesh.cli", "capacity", "US", "--probes", "200000"]
    t0 = time.monotonic()
    proc = subprocess.run(
        cmd + ["--gateways", str(gateways)],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=cap,
        cwd=tmp_path,
    )
    elapsed = time.monotonic() - t0
    lines = proc.stderr.splitlines()
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and "of memory" in lines[0], proc.stderr
    assert elapsed < 30, elapsed  # start-up only: nothing placed, propagated or solved


# --------------------------------------------------------------------------- cost


def _cost_scenario(tmp_path, count, samples):
    p = tmp_path / "cost.toml"
    p.write_text(textwrap.dedent(COST.format(count=count, samples=samples)))
    return p


def test_cost_capacity_past_the_machine_is_refused_before_any_work(
    no_work, tmp_path, monkeypatch, capsys
):
    _budget(monkeypatch, 1 * GiB)
    assert main(["cost", str(_cost_scenario(tmp_path, 200_000, 3))]) == 2
    line = _one_line(capsys)
    assert "capacity model" in line and "of memory" in line and "--no-capacity" in line


def test_cost_capacity_that_would_take_long_needs_yes(no_work, tmp_path, monkeypatch, capsys):
    _budget(monkeypatch, 64 * GiB)
    monkeypatch.setattr("skymesh.cli.jobs._interactive", lambda: False)
    assert main(["cost", str(_cost_scenario(tmp_path, 50_000, 100))]) == 2
    line = _one_line(capsys)
    assert "--yes" in line and "100 instants" in line


# --------------------------------------------------------------------------- run: PoPs


def test_run_estimate_counts_terminals_times_pops(tmp_path, monkeypatch, capsys):
    """20,000 terminals x 2,000 PoPs: each terminal's PoPs in preference order (and their
    state per routing block) is gigabytes; the estimate must say so before any work."""
    import skymesh.sim.prepare as prepare
    import skymesh.sim.run as run

    def forbidden(*args, **kwargs):
        raise AssertionError("work started before the job was refused")

    monkeypatch.setattr(prepare, "prepare", forbidden)
    monkeypatch.setattr(run, "_prepared", forbidden)
    _budget(monkeypatch, 1 * GiB)
    pops = tmp_path / "pops.csv"
    rows = [f"p{i},{35 + (i % 40) * 0.5},{20 + (i // 40) * 0.5},UA" for i in range(2000)]
    pops.write_text("name,lat,lon,country\n" + "\n".join(rows) + "\n")
    scen = tmp_path / "pops.toml"
    scen.write_text(
        textwrap.dedent(f"""
        name = "many-pops"
        pops_file = "{pops}"
        [constellation]
        preset = "starlink-shell1"
        [time]
        start = 2026-01-01T00:00:00Z
        duration_s = 60
        step_s = 10
        [[terminals]]
        country = "UA"
        count = 20000
        [[gateways]]
        name = "Muallim"
        lat = 40.789
        lon = 29.509
        country = "TR"
        [metrics]
        wanted = ["service", "rtt"]
        """)
    )
    assert main(["run", str(scen), "--out", str(tmp_path / "res")]) == 2
    line = _one_line(capsys)
    assert "of memory" in line and "GiB" in line
    assert not (tmp_path / "res").exists()


HOMING = """
import numpy as np
from skymesh.ground.pops import Pops, great_circle_km, home_gateways
from skymesh.policy.rules import default_policy
from skymesh.sim.egress_chunk import _exit_groups
from skymesh.timebase import time_grid
from types import SimpleNamespace
from datetime import datetime, timezone

n = 30_000
rng = np.random.default_rng(1)
lat, lon = rng.uniform(-60, 60, n), rng.uniform(-180, 180, n)
country = np.array(["TR"] * n)
pops = Pops(
    name=np.array([f"p{i}" for i in range(n)]), lat_deg=lat + 0.1, lon_deg=lon.copy(),
    country_iso2=country.copy(), status=np.array(["operational"] * n), line=np.full(n, -1),
)
home = home_gateways(lat, lon, country, pops)
some = rng.choice(n, 300, replace=False)  # the nearest PoP, from the whole distance rows
d = great_circle_km(lat[some, None], lon[some, None], pops.lat_deg[None], pops.lon_deg[None])
assert np.array_equal(home[some], np.argmin(d, axis=1))
prep = SimpleNamespace(
    gateway_name=np.array([f"g{i}" for i in range(n)]), gateway_country=country,
    gateway_pop=home, n_terminals=2,
)
ground = SimpleNamespace(
    countries=np.array(["IR"]), cidx=np.zeros(2, dtype=int), pops=pops,
    pop_order=np.tile(np.arange(n), (2, 1)),
)
sub = time_grid(datetime(2026, 1, 1, tzinfo=timezone.utc), 190.0, 10.0)
group_of, mask, g_pop = _exit_groups(
    prep, SimpleNamespace(policy=default_policy()), ground, sub, np.zeros((n, len(sub)), bool)
)
assert group_of.shape == (2, len(sub)) and (group_of == 0).all() and g_pop.tolist() == [0]
print("ok")
"""


def test_30000_gateways_and_30000_pops_home_without_a_dense_matrix(tmp_path):
    """Homing and exit groups over 30,000 gateways x 30,000 PoPs under a 1.5 GiB address-space
    cap (the dense gateway x PoP matrices were 6.7 GiB of float64 and 3.4 GiB of int32)."""
    limit = 3 * GiB // 2

    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    proc = subprocess.run(
        [sys.executable, "-c", HOMING],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=cap,
        cwd=tmp_path,
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]
