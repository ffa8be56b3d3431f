"""The faces agree: one question through every face of SkyMesh gives one answer (issue 21 §6).

For the built-in scenarios (short windows, run once per session) and three regions (UA, IR,
TW), the same question asked of the CLI (``--json``), the Python API, a run's
``summary.json`` and ``report.md``, the HTML view's embedded data, the operations service's
read-outs and the example scripts gives identical figures when the inputs are identical; when
they are not, each face's ``inputs`` block says what differs.

Questions:

- a city pair's user RTT (``rtt_ms``) and space RTT (``space_rtt_ms``) at one instant:
  ``skymesh latency --json`` vs ``skymesh.latency`` vs the service's ``/readouts/rtt`` vs
  the route map's title (``map_route``);
- a run's RTT p50, service share and exit gateways: ``summary.json`` vs ``Result`` vs the
  statistics of its own rows vs ``report.md`` vs ``skymesh view RESULTS_DIR``'s data;
- the capacity headline: a run's ``summary.json`` vs ``Result.capacity`` vs ``skymesh cost
  --json`` (per carried terminal) on the same scenario; ``skymesh capacity REGION --json`` vs
  ``region_capacity`` on the same flags; and across the two (different inputs, stated).

The example's capacity and cost figures against ``skymesh cost`` (full size) are checked in
``tests/test_examples.py``; a scenario's capacity headline against ``skymesh capacity``
on identical inputs in ``tests/cli/test_capacity_faces.py``; ``skymesh packets SCENARIO``'s
ping against the run's ``rtt_ms`` in ``tests/packets/test_scenario.py``.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pyarrow.parquet as pq
import pytest

import skymesh
from skymesh.cli import main

pytestmark = pytest.mark.usefixtures("shared_data")

# Short windows: each straddles what makes its scenario (Iran's activation at 00:00,
# Taiwan's switch-off at 00:30); capacity on one or two sampled slots.
RUNS = {
    "iran-2022": {
        "time.start": "2022-09-22T23:58:00Z",
        "time.duration_s": 240,
        "time.step_s": 30,
        "terminals.0.count": 60,
    },
    "taiwan-geofence": {
        "time.start": "2026-01-01T00:28:00Z",
        "time.duration_s": 240,
        "time.step_s": 30,
        "terminals.0.count": 40,
        "capacity.samples": 1,
    },
    "ukraine-2022": {
        "time.duration_s": 120,
        "time.step_s": 30,
        "terminals.0.count": 1000,
        "capacity.samples": 1,
    },
    "starlink-100-cities-24h": {"time.duration_s": 60, "time.step_s": 30},
}
OPERATOR_RUNS = ["iran-2022", "taiwan-geofence", "ukraine-2022"]

# One city pair per region, asked at one instant of starlink-shell1 (the service's
# constellation).
PAIRS = {"UA": ("Kyiv", "Warsaw"), "IR": ("Tehran", "Muscat"), "TW": ("Taipei", "Tokyo")}
AT = "2026-01-01T00:00:00Z"


def _cli_json(capsys, args):
    capsys.readouterr()
    assert main(args) == 0
    return json.loads(capsys.readouterr().out)


def _sets(overrides):
    return [x for k, v in overrides.items() for x in ("--set", f"{k}={v}")]


CLI_RUN = "taiwan-geofence"  # run through `skymesh run` (its terminal summary is a face)


@pytest.fixture(scope="session")
def runs(shared_data, tmp_path_factory):
    """Each built-in scenario run once into its own results folder: taiwan-geofence through
    ``skymesh run`` (its terminal output kept as ``stdout``), the others through the API."""
    import contextlib
    import io

    root = tmp_path_factory.mktemp("faces-runs")
    folders = {}
    for name, over in RUNS.items():
        if name == CLI_RUN:
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                assert main(["run", name, "--out", str(root / name), *_sets(over)]) == 0
            folders["stdout"] = buf.getvalue()
            folders[name] = root / name
        else:
            folders[name] = skymesh.run(name, root / name, overrides=over).folder
    return folders


@pytest.fixture(scope="session")
def service(shared_data, tmp_path_factory):
    """A service client with a viewer's token (SQLite)."""
    from fastapi.testclient import TestClient

    from skymesh.service.app import create_app, init_admin

    db_url = f"sqlite:///{tmp_path_factory.mktemp('faces-service') / 'svc.sqlite3'}"
    admin = init_admin(db_url)
    app = create_app(db_url)
    client = TestClient(app, base_url="https://testserver")
    yield client, {"Authorization": f"Bearer {admin}"}
    client.close()
    app.state.engine.dispose()


def _summary(folder):
    return json.loads((folder / "summary.json").read_text())


def _rows(folder, operator):
    rows = pq.read_table(folder / "timeseries.parquet").to_pylist()
    return [r for r in rows if r["operator"] == operator]


# --------------------------------------------------------------------------- city pairs


@pytest.mark.parametrize("region", sorted(PAIRS))
def test_city_pair_rtt_is_one_answer_on_cli_api_and_service(region, capsys, service):
    """``rtt_ms`` (the user's, both access legs) and ``space_rtt_ms`` (propagation only) of
    one pair at one instant: the CLI's JSON (summary and series), the API's summary and
    table, and the service's read-out are the same numbers under the same names."""
    a, b = PAIRS[region]
    cli = _cli_json(
        capsys,
        ["latency", a, b, "-c", "starlink-shell1", "--start", AT, "--duration", "0", "--json"],
    )
    api = skymesh.latency(a, b, constellation="starlink-shell1", start=AT, duration_s=0.0)
    client, h = service
    r = client.get("/readouts/rtt", params={"a": a, "b": b, "at": AT}, headers=h)
    assert r.status_code == 200, r.text
    svc = r.json()

    table = api.table.to_pylist()
    assert len(table) == 1 and len(cli["series"]) == 1
    for name in ("rtt_ms", "space_rtt_ms"):
        want = table[0][name]
        assert want is not None and np.isfinite(want), name
        assert cli["series"][0][name] == pytest.approx(want, rel=1e-12), name
        assert cli["summary"][f"{name}_p50"] == pytest.approx(want, rel=1e-12), name
        assert api.summary[f"{name}_p50"] == pytest.approx(want, rel=1e-12), name
        assert svc[name] == pytest.approx(want, rel=1e-12), name
    # the same question: the inputs each names are the same
    for key in ("constellation", "mode", "min_elevation_deg"):
        assert svc[key] == cli[key], key
    # the route map's title gives the same two figures under their names (it once said
    # "RTT 42.7 ms" of London - New York's space RTT beside a 72.3 ms user RTT)
    title = skymesh.map_route(a, b, constellation="starlink-shell1", at=AT).axes[0].get_title()
    assert (
        f"RTT (user, with access) {table[0]['rtt_ms']:.1f} ms "
        f"(space RTT {table[0]['space_rtt_ms']:.1f} ms)" in title
    ), title
    # the user's RTT carries the access legs the space RTT does not
    assert table[0]["rtt_ms"] > table[0]["space_rtt_ms"]
    # and its components are the same on the API's table and the service's read-out
    for comp, value in svc["components_ms"].items():
        if comp in table[0]:
            assert value == pytest.approx(table[0][comp], rel=1e-9, abs=1e-9), comp


# --------------------------------------------------------------------------- a run's figures


@pytest.mark.parametrize("name", sorted(RUNS))
def test_summary_json_is_the_result_api(name, runs):
    """``summary.json`` on disk, ``skymesh.run``'s Result and ``open_run`` hold one summary."""
    folder = runs[name]
    on_disk = _summary(folder)
    assert skymesh.open_run(folder).summary == on_disk
    if "capacity" in on_disk:
        cap = on_disk["capacity"]
        assert skymesh.open_run(folder).capacity == dict(cap["headline"], inputs=cap["inputs"])


@pytest.mark.parametrize("name", OPERATOR_RUNS)
def test_run_summary_figures_are_the_statistics_of_its_rows(name, runs):
    """Each operator's RTT p50, service share and exit gateways in ``summary.json`` are
    those of its own ``timeseries.parquet`` rows (p50 within the 0.01 ms histogram bins)."""
    folder = runs[name]
    for op in _summary(folder)["operators"]:
        rows = _rows(folder, op["operator"])
        served = [r for r in rows if r["served"]]
        assert served, f"{name}/{op['operator']}: no served row in the window"
        assert op["service_share"] == pytest.approx(len(served) / len(rows), abs=1e-12)
        p50 = float(np.median([r["rtt_ms"] for r in served]))
        assert op["rtt_ms"]["p50"] == pytest.approx(p50, abs=0.0101)
        names, counts = np.unique([r["gateway"] for r in served], return_counts=True)
        share = dict(zip(names.tolist(), (counts / counts.sum()).tolist()))
        got = {g["name"]: g["share"] for g in op["gateways"]}
        assert set(got) == set(share)
        for g, s in share.items():
            assert got[g] == pytest.approx(s, abs=1e-4), g


@pytest.mark.parametrize("name", OPERATOR_RUNS)
def test_report_md_states_the_summary_figures(name, runs):
    """``report.md`` prints each operator's p50 / p95 user RTT, service share and gateway
    shares as ``summary.json`` has them (not a figure of its own)."""
    folder = runs[name]
    report = (folder / "report.md").read_text()
    for op in _summary(folder)["operators"]:
        r = op["rtt_ms"]
        assert f"{r['p50']:.1f} / {r['p95']:.1f}" in report, op["operator"]
        assert f"| share of time with service | {100 * op['service_share']:.1f} %" in report
        for g in op["gateways"]:
            assert re.search(
                rf"\| {re.escape(g['name'])} \| {g['country']} \| {100 * g['share']:.1f} % \|",
                report,
            ), g


def test_run_terminal_summary_prints_the_summary_figures(runs):
    """``skymesh run``'s terminal summary shows each operator's p50 / p95 / p99 user RTT,
    service share and the capacity headline as ``summary.json`` has them."""
    out = " ".join(runs["stdout"].split())
    summary = _summary(runs[CLI_RUN])
    for op in summary["operators"]:
        r = op["rtt_ms"]
        assert f"{r['p50']:.1f} / {r['p95']:.1f} / {r['p99']:.1f} ms" in out, op["operator"]
        assert f"{100 * op['service_share']:.1f} %" in out, op["operator"]
    head = summary["capacity"]["headline"]
    assert re.search(
        rf"HEADLINE: terminals at {head['target_mbps']:g} Mbit/s .{{0,3}} "
        rf"{head['terminals_at_target']:,} ",
        out,
    ), "the headline in the terminal summary"


def test_service_country_readout_states_its_inputs(runs, service):
    """The service's country read-out (service share and exits now) answers from its own
    terminals and gateway sites: its ``inputs`` block names them in the fields of a run's
    capacity ``inputs`` (the same fingerprints), so the two say how their inputs differ."""
    client, h = service
    at = "2026-01-01T00:29:00Z"
    r = client.get("/readouts/country/TW", params={"at": at}, headers=h)
    assert r.status_code == 200, r.text
    got = r.json()
    inputs = got["inputs"]
    run = _summary(runs["taiwan-geofence"])["capacity"]["inputs"]
    for key in ("terminals", "gateways", "constellation", "satellites", "mode"):
        assert key in inputs, key
    assert set(inputs["terminals"]) == set(run["terminals"])
    assert inputs["terminals"]["placed"] == got["terminals"]
    assert inputs["terminals"]["digest"] != run["terminals"]["digest"]
    assert inputs["gateways"]["digest"] != run["gateways"]["digest"]
    assert inputs["source"].startswith("service read-out TW")
    assert inputs["constellation"] == got["constellation"]


def _view(folder, out, capsys):
    capsys.readouterr()
    code = main(["view", str(folder), "--out", str(out)])
    capsys.readouterr()
    assert code == 0, "skymesh view RESULTS_DIR refused a finished run"
    html = out.read_text()
    m = re.search(r'<script type="application/json" id="skymesh-data">(.*?)</script>', html, re.S)
    assert m, "the view embeds no data"
    return json.loads(m.group(1))


@pytest.mark.parametrize("name", OPERATOR_RUNS)
def test_view_embeds_the_runs_figures(name, runs, tmp_path, capsys):
    """``skymesh view RESULTS_DIR`` draws the run: its header p50, service share and gateway
    shares are ``summary.json``'s, and every gateway its route passes is one the run's
    terminals exited through (the Iran view once drew Shiraz -> Muallim at ~20 ms against
    a run exiting 100 % at Murayjat with a p50 of 47.5 ms). taiwan-geofence is run by
    ``skymesh run --set time.start=...``: its view once refused the run, reloading the
    datetime override as text and getting another scenario hash."""
    folder = runs[name]
    data = _view(folder, tmp_path / "view.html", capsys)
    op = _summary(folder)["operators"][0]
    assert data["run"]["rtt_ms_p50"] == op["rtt_ms"]["p50"]
    assert data["run"]["service_share"] == op["service_share"]
    assert data["run"]["gateways"] == op["gateways"]
    drawn = {i["gateway"] for i in data.get("route_info") or [] if i}
    assert drawn <= {g["name"] for g in op["gateways"]}


def test_view_of_a_routing_study_names_its_space_rtt(runs, tmp_path, capsys):
    """A routing study has only a space RTT: the view embeds its ``space_rtt_ms`` p50 under
    that name, never as ``rtt_ms`` (§1: one name, one meaning)."""
    folder = runs["starlink-100-cities-24h"]
    data = _view(folder, tmp_path / "view.html", capsys)
    summary = _summary(folder)
    assert data["run"]["space_rtt_ms_p50"] == summary["space_rtt_ms"]["p50"]
    assert "rtt_ms_p50" not in data["run"]
    assert data["run"]["service_share"] == summary["reachable_fraction"]


def test_routing_study_summary_is_the_statistics_of_its_rows(runs):
    """A routing study's ``summary.json`` space RTT p50 and reachable share are those of
    its ``rtt.parquet``."""
    folder = runs["starlink-100-cities-24h"]
    summary = _summary(folder)
    rtt = pq.read_table(folder / "rtt.parquet").to_pydict()
    assert "rtt_ms" not in rtt, "a routing study has no user RTT: its column is space_rtt_ms"
    vals = np.asarray([np.nan if v is None else v for v in rtt["space_rtt_ms"]], float)
    ok = np.isfinite(vals)
    assert summary["reachable_fraction"] == pytest.approx(ok.mean(), abs=1e-12)
    assert summary["space_rtt_ms"]["p50"] == pytest.approx(np.median(vals[ok]), abs=0.0101)


# --------------------------------------------------------------------------- capacity


def _same_inputs(a, b):
    strip = lambda d: {k: v for k, v in d.items() if k != "source"}  # noqa: E731
    assert strip(a) == strip(b)


def test_run_and_cost_give_one_capacity_headline(runs, capsys):
    """ukraine-2022 with the same overrides: the run's ``summary.json`` capacity headline,
    ``Result.capacity``, its ``report.md`` headline line and ``skymesh cost --json``'s carried
    headline are one figure on identical inputs; the bill per carried terminal-month is the
    bill over that share (it was $1,418 from ``skymesh cost`` against $616 from the
    example when each ran its own capacity pass)."""
    folder = runs["ukraine-2022"]
    cap = _summary(folder)["capacity"]
    head = cap["headline"]
    assert head["terminals_at_target"] > 0 and head["binding_constraint"] not in ("none", "")
    cost = _cli_json(capsys, ["cost", "ukraine-2022", "--json", *_sets(RUNS["ukraine-2022"])])
    carried = cost["carried"]
    assert carried["headline"] == head
    assert carried["inputs"] == cap["inputs"]  # the same scenario: even the source agrees
    share = min(1.0, head["terminals_at_target"] / carried["terminals"])
    assert carried["share"] == pytest.approx(share, rel=1e-12)
    months = {m["month"]: m for m in cost["months"]}
    for p in cost["periods"]:
        span = [m for k, m in months.items() if p["first"] <= k <= p["last"]]
        fleet = sum(m["terminals"] for m in span)
        want = p["total_usd"] / (fleet * share)
        assert p["usd_per_carried_terminal_month"] == pytest.approx(want, rel=1e-9)
    report = (folder / "report.md").read_text()
    assert f"**Headline: {head['terminals_at_target']:,} terminals at " in report


@pytest.mark.parametrize("name", ["iran-2022", "taiwan-geofence"])
def test_each_operators_capacity_headline_is_in_report_and_result(name, runs):
    """Every run with a [capacity] section shows the summary's headline in ``report.md``
    and through ``Result.capacity``, with the inputs it came from."""
    folder = runs[name]
    cap = _summary(folder)["capacity"]
    head = cap["headline"]
    report = (folder / "report.md").read_text()
    assert (
        f"**Headline: {head['terminals_at_target']:,} terminals at {head['target_mbps']:g} Mbit/s"
        in report
    )
    assert cap["inputs"]["source"].startswith(f"scenario {name}")
    assert f"Inputs: {cap['inputs']['source']}" in report


@pytest.mark.parametrize("region", ["UA", "IR", "TW"])
def test_capacity_cli_and_api_agree_and_a_run_says_how_its_inputs_differ(region, runs, capsys):
    """``skymesh capacity REGION --json`` and ``region_capacity(REGION)`` at their defaults
    ask the same question: identical headline and inputs. The region's scenario run asks
    it of other inputs (its terminals, its policy's gateways, its constellation and slots),
    and the two ``inputs`` blocks name each difference; nothing else in them differs."""
    at = "2026-01-01T00:00:00Z"
    cli = _cli_json(capsys, ["capacity", region, "--at", at, "--probes", "200", "--json"])
    api = skymesh.region_capacity(region, at=at, probes=200)
    assert api["headline"] == cli["headline"]
    _same_inputs(api["inputs"], cli["inputs"])
    assert cli["inputs"]["source"].startswith(f"skymesh capacity {region}")

    name = {"UA": "ukraine-2022", "IR": "iran-2022", "TW": "taiwan-geofence"}[region]
    run = _summary(runs[name])["capacity"]["inputs"]
    assert run["source"].startswith(f"scenario {name}")
    differ = {k for k in cli["inputs"] if cli["inputs"][k] != run.get(k)} - {"source"}
    assert differ, "different inputs must show in the inputs block"
    # the faces' own descriptions say what differs: where the terminals and exits came from
    assert cli["inputs"]["gateways"]["exits"] != run["gateways"]["exits"]
    assert cli["inputs"]["terminals"]["digest"] != run["terminals"]["digest"]
    assert set(run) == set(cli["inputs"]), "both faces describe the same fields"


def test_example_region_capacity_is_skymesh_capacitys(tmp_path, capsys):
    """``examples/ukraine_capacity_cost.py``'s region headline at 25 Mbit/s is ``skymesh
    capacity UA --json``'s on the inputs the example states (the scenario's gateways without
    its policy, starlink-gen1, 300 probes, the scenario's instant); its cost per carried
    terminal is checked against ``skymesh cost`` in tests/test_examples.py."""
    import subprocess
    import sys
    from pathlib import Path

    example = Path(__file__).resolve().parents[1] / "examples" / "ukraine_capacity_cost.py"
    proc = subprocess.run(
        [sys.executable, str(example), "--out", str(tmp_path), "--targets", "25"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    figures = json.loads((tmp_path / "figures.json").read_text())
    scenario = skymesh.load_scenario("ukraine-2022").scenario
    gw = tmp_path / "gw.csv"
    gw.write_text(
        "name,lat,lon,country\n"
        + "".join(f'"{g.name}",{g.lat},{g.lon},{g.country}\n' for g in scenario.gateways)
    )
    cli = _cli_json(
        capsys,
        ["capacity", "UA", "-c", "starlink-gen1", "--gateways", str(gw), "--probes", "300"]
        + ["--at", "2022-10-15T12:00:00Z", "--target-mbps", "25", "--json"],
    )
    assert figures["region"]["25"] == cli["headline"]
    assert f"{cli['headline']['terminals_at_target']:,} terminals" in proc.stdout
    # the example's bill is on the scenario's inputs, and says so
    assert figures["cost"]["headline"]["terminals_at_target"] > 0
    assert "inputs: scenario ukraine-2022" in proc.stdout
