"""One capacity answer: the same inputs through every face give the identical headline.

``skymesh capacity REGION --json``, the API's ``region_capacity``, a run's ``summary.json``
(and ``Result.capacity``) all compute the headline with
:func:`skymesh.capacity.headline.capacity_headline`; given the same terminals, gateways,
constellation, slot and capacities (the scenario below is ``skymesh capacity BE``'s question
written as a scenario, as docs/capacity.md shows) their headlines and ``inputs`` blocks are
identical, and each names where its inputs came from.
"""

import json

import pytest

import skymesh
from skymesh.cli import main

AT = "2022-10-15T12:00:00Z"
GATEWAYS = "name,lat,lon,country\nAerzen,52.06,9.329,DE\nBrussels (assumed),50.85,4.35,BE\n"
SCENARIO = f"""
name = "be-capacity"
seed = 7
gateways_file = "gw.csv"

[constellation]
preset = "starlink-shell1"

[time]
start = {AT}
duration_s = 10
step_s = 10

[[terminals]]
country = "BE"
count = 120
placement = "population"

[capacity]
samples = 1
target_mbps = 20

[metrics]
wanted = ["service", "capacity"]
"""
FLAGS = ["-c", "starlink-shell1", "--probes", "120", "--seed", "7", "--at", AT]


@pytest.fixture(scope="module")
def faces(shared_data, tmp_path_factory):
    root = tmp_path_factory.mktemp("faces")
    (root / "gw.csv").write_text(GATEWAYS)
    (root / "be.toml").write_text(SCENARIO)
    return root


def _cli_json(capsys, args):
    assert main(args) == 0
    return json.loads(capsys.readouterr().out)


def _same_inputs(a, b):
    strip = lambda d: {k: v for k, v in d.items() if k != "source"}  # noqa: E731
    assert strip(a) == strip(b)


def test_capacity_json_api_and_run_summary_give_one_headline(faces, capsys):
    gw = str(faces / "gw.csv")
    cli = _cli_json(
        capsys, ["capacity", "BE", *FLAGS, "--gateways", gw, "--target-mbps", "20", "--json"]
    )
    api = skymesh.region_capacity(
        "BE",
        gateways=gw,
        constellation="starlink-shell1",
        probes=120,
        seed=7,
        at=AT,
        target_mbps=20,
    )
    out = faces / "run"
    assert main(["run", str(faces / "be.toml"), "--out", str(out)]) == 0
    run_out = capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())["capacity"]

    head = cli["headline"]
    assert head["terminals_at_target"] > 0 and head["binding_constraint"] != "none"
    assert api["headline"] == head
    assert summary["headline"] == head
    assert skymesh.open_run(out).capacity == dict(head, inputs=summary["inputs"])
    _same_inputs(cli["inputs"], summary["inputs"])
    _same_inputs(api["inputs"], cli["inputs"])
    # each face says where its inputs came from
    assert cli["inputs"]["source"].startswith("skymesh capacity BE")
    assert summary["inputs"]["source"].startswith("scenario be-capacity")
    # the run's terminal summary and report show the same headline
    assert f"{head['terminals_at_target']:,}" in run_out and "HEADLINE" in run_out
    report = (out / "report.md").read_text()
    assert f"**Headline: {head['terminals_at_target']:,} terminals at 20 Mbit/s" in report


def test_different_inputs_say_so(faces, capsys):
    """The run under a policy that denies Belgium's own gateway: the inputs block says the
    policy decided the exits, so the two headlines are not compared as equal inputs."""
    text = (faces / "be.toml").read_text() + (
        '\n[policy]\n[[policy.landing]]\niso2 = "BE"\nstate = "denied"\n'
    )
    (faces / "be-policy.toml").write_text(text)
    out = faces / "run-policy"
    assert main(["run", str(faces / "be-policy.toml"), "--out", str(out), "--json"]) == 0
    capsys.readouterr()
    inputs = json.loads((out / "summary.json").read_text())["capacity"]["inputs"]
    assert inputs["gateways"]["exits"].startswith("the scenario's policy")


def test_cli_and_api_ask_the_same_question_by_default():
    """Left at their defaults, `skymesh capacity` and `region_capacity` take the same
    constellation, target, probes, seed, mode and mask (the API's constellation used to be
    starlink-gen1 against the CLI's starlink-shell1)."""
    import inspect

    from skymesh.cli.capacity import capacity

    cli = {k: v.default.default for k, v in inspect.signature(capacity).parameters.items()}
    api = {k: v.default for k, v in inspect.signature(skymesh.region_capacity).parameters.items()}
    for c_name, a_name in (
        ("constellation", "constellation"),
        ("target_mbps", "target_mbps"),
        ("probes", "probes"),
        ("seed", "seed"),
        ("mode", "mode"),
        ("min_elevation", "min_elevation_deg"),
    ):
        assert cli[c_name] == api[a_name], c_name
