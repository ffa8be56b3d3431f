"""`skymesh capacity -c OPERATOR`: the operator's own gateways, or a one-line error (exit 2)."""

import json
import tomllib
from pathlib import Path

import skymesh
from skymesh.cli import main

AT = "2026-01-01T00:00:00Z"


def test_kuiper_without_gateways_is_a_one_line_error_naming_the_flag(capsys):
    assert main(["capacity", "TW", "-c", "kuiper", "--probes", "50"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "--gateways" in err and "kuiper" in err and "Traceback" not in err


def test_oneweb_uses_its_own_shipped_gateways_not_starlinks(capsys):
    shipped = Path(skymesh.__file__).parent / "data" / "oneweb_gateways.toml"
    sites = tomllib.loads(shipped.read_text())["gateway"]
    code = main(["capacity", "TW", "-c", "oneweb", "--probes", "100", "--at", AT, "--json"])
    assert code == 0
    res = json.loads(capsys.readouterr().out)
    assert res["gateways"] == len(sites)
    assert res["inputs"]["gateways"]["sites"] == len(sites)
    assert res["inputs"]["operator"]["operator"] == "oneweb"
    assert res["inputs"]["mode"] == "bent-pipe"
    assert not any("borrows" in n for n in res["notes"])


def test_an_explicit_borrowed_list_is_said(tmp_path, capsys):
    gw = tmp_path / "starlink_gateways_merged.csv"
    gw.write_text("name,lat,lon,country\nTaipei (test),25.03,121.56,TW\n")
    code = main(
        ["capacity", "TW", "-c", "oneweb", "--gateways", str(gw), "--probes", "50", "--json"]
    )
    assert code == 0
    res = json.loads(capsys.readouterr().out)
    assert any("borrows starlink's gateway list" in n for n in res["notes"])
