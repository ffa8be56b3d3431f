"""`skymesh capacity REGION`: table within 80 columns, --json, one-line errors (exit 2)."""

import json

import pytest

from skymesh.cli import main

AT = "2022-10-15T12:00:00Z"


@pytest.fixture(scope="module")
def gw_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("gw") / "gw.csv"
    path.write_text(
        "name,lat,lon,country\nAerzen,52.06,9.329,DE\nBrussels (assumed),50.85,4.35,BE\n"
    )
    return str(path)


def test_table_fits_80_columns(gw_file, capsys):
    assert (
        main(
            [
                "capacity",
                "BE",
                "--gateways",
                gw_file,
                "--probes",
                "150",
                "--at",
                AT,
                "--rain-mmh",
                "20",
                "-q",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "HEADLINE: terminals at 25 Mbit/s" in out and "binding constraint" in out
    assert "Inputs: skymesh capacity BE" in out
    assert "P.618-13" in out
    assert max(len(line) for line in out.splitlines()) <= 80


def test_json(gw_file, capsys):
    assert (
        main(
            [
                "capacity",
                "BE",
                "--gateways",
                gw_file,
                "--probes",
                "150",
                "--at",
                AT,
                "--target-mbps",
                "10",
                "--json",
            ]
        )
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert doc["target_mbps"] == 10.0 and doc["probes"]["placed"] == 150
    m, h = doc["model"], doc["headline"]
    assert h["per_terminal_mbps"] == pytest.approx(m["first_level_mbps"], rel=1e-5)
    assert h["terminals_at_target"] == pytest.approx(
        m["first_level_mbps"] / 10.0 * doc["probes"]["covered"], abs=1.0
    )
    assert doc["inputs"]["terminals"]["placed"] == 150


@pytest.mark.parametrize(
    "extra, flag",
    [
        (["ZZ"], "REGION"),
        (["BE", "--target-mbps", "0"], "--target-mbps"),
        (["BE", "--rain-mmh", "-3"], "--rain-mmh"),
        (["BE", "--at", "yesterday"], "--at"),
        (["BE", "--mode", "laser"], "--mode"),
        (["BE", "--probes", "0"], "--probes"),
        (["BE", "-c", "nosuch-preset"], "--constellation"),
        # these three were internal errors (numpy's seed, pydantic's bound, an inf in the LP)
        (["BE", "--probes", "20", "--seed", "-1"], "--seed"),
        (["BE", "--probes", "20", "--seed", str(2**64)], "--seed"),
        (["BE", "--probes", "20", "--target-mbps", "1e308"], "--target-mbps"),
        (["ß"], "REGION"),  # not SS (South Sudan) by case folding
    ],
)
def test_mistakes_are_one_line_exit_2(gw_file, extra, flag, capsys):
    assert main(["capacity", *extra, "--gateways", gw_file]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and flag in err[0], err


def test_capacity_runs_on_a_fresh_install_and_says_its_data(tmp_path, monkeypatch, capsys):
    import json as _json

    from skymesh.cli import main as _main

    monkeypatch.setenv("SKYMESH_DATA", str(tmp_path / "empty"))  # no curated data at all
    assert _main(["capacity", "UA", "--probes", "60", "--json"]) == 0
    res = _json.loads(capsys.readouterr().out)
    assert res["data"]["gateways"]["shipped"] and res["data"]["gateways"]["date"] == "2026-03-20"
    line = next(n for n in res["notes"] if n.startswith("data: "))
    assert "starlink_gateways_merged.csv (shipped with SkyMesh, data of 2026-03-20)" in line


@pytest.mark.parametrize("features", ["null", "{}", '[{"type": "Feature"}]', '["x"]'])
def test_a_feature_collection_without_a_list_of_features_is_one_line(
    gw_file, features, tmp_path, capsys
):
    region = tmp_path / "region.geojson"
    region.write_text(f'{{"type": "FeatureCollection", "features": {features}}}')
    assert main(["capacity", str(region), "--gateways", gw_file]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "features" in err[0], err


def test_a_country_name_is_accepted_as_region(gw_file, capsys):
    """`skymesh capacity Belgium` is `skymesh capacity BE` (issue 23 §7: "Ukraine" failed)."""
    args = ["--gateways", gw_file, "--probes", "60", "--at", AT, "--json", "-q"]
    assert main(["capacity", "Belgium", *args]) == 0
    by_name = json.loads(capsys.readouterr().out)
    assert main(["capacity", "BE", *args]) == 0
    by_code = json.loads(capsys.readouterr().out)
    assert by_name["region"] == by_code["region"] == "BE"
    assert by_name["headline"] == by_code["headline"]


def test_a_misspelt_country_suggests_the_closest_names(gw_file, capsys):
    assert main(["capacity", "Ukrane", "--gateways", gw_file]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "REGION 'Ukrane'" in err[0], err
    assert "Ukraine (UA)" in err[0], err
