"""Every mistake at once: a scenario, policy, gateway or PoP file with several mistakes
reports each (file, line, field), up to MAX_PROBLEMS; the CLI prints the summary line
"N problems in FILE:" then one line per mistake, and exits 2."""

from __future__ import annotations

import pytest

from skymesh.errors import MAX_PROBLEMS, InputError, InputErrors

SCENARIO = """\
name = "three-mistakes"
seed = 1
[constellation]
preset = "starlink-shell1"
[time]
start = 2026-01-01T00:00:00Z
duraton_s = 60
step_s = 10
[[terminals]]
country = "IR"
count = "five"
[[gateways]]
name = "Muallim"
lat = 140.8
lon = 29.5
country = "TR"
"""


def _fields(err: InputError) -> list[tuple]:
    assert isinstance(err, InputErrors), str(err)
    return [(p.line, p.field) for p in err.problems]


def test_scenario_reports_all_three(tmp_path):
    from skymesh.sim.scenario import load_scenario

    path = tmp_path / "s.toml"
    path.write_text(SCENARIO)
    with pytest.raises(InputError) as info:
        load_scenario(path)
    err = info.value
    # the typo'd key is one mistake: its "missing duration_s" is not a second one
    assert _fields(err) == [
        (7, "time.duraton_s"),
        (11, "terminals.0.count"),
        (14, "gateways.0.lat"),
    ]
    assert all(p.file == str(path) for p in err.problems)
    assert str(err).splitlines()[0] == f"3 problems in {path}:"
    assert "more problem" not in str(err)


def test_scenario_and_its_policy_together(tmp_path):
    from skymesh.sim.scenario import load_scenario

    text = SCENARIO.replace('count = "five"', "count = 5").replace("lat = 140.8", "lat = 40.8")
    text += '[policy]\ncensoring = ["IR"]\n[[policy.country]]\niso2 = "IR"\nmodee = "x"\n'
    path = tmp_path / "s.toml"
    path.write_text(text)
    with pytest.raises(InputErrors) as info:
        load_scenario(path)
    fields = [p.field for p in info.value.problems]
    assert fields[0] == "time.duraton_s" and any(f.startswith("policy.") for f in fields)


def test_policy_file_reports_every_mistake(tmp_path):
    from skymesh.policy.rules import load_policy

    path = tmp_path / "p.toml"
    path.write_text('censoring = "IR"\n[[country]]\niso2 = "IR"\nfrm = 2022-01-01\nmode = 3\n')
    with pytest.raises(InputErrors) as info:
        load_policy(path)
    lines = [p.line for p in info.value.problems]
    assert len(lines) >= 2 and lines == sorted(lines) and lines[0] == 1


def test_gateway_csv_and_toml_report_every_mistake(tmp_path):
    from skymesh.ground.gateways import load_gateways

    csv_path = tmp_path / "gw.csv"
    csv_path.write_text(
        "name,lat,lon,country\n"
        "A,91,2,FR\n"  # line 2: lat
        "B,1,2,XX\n"  # line 3: country
        "C,1,2\n"  # line 4: too few fields
        "D,1,2,FR\n"
        ",1,abc,FR\n"  # line 6: name and lon, both
    )
    with pytest.raises(InputErrors) as info:
        load_gateways(csv_path)
    assert _fields(info.value) == [(2, "lat"), (3, "country"), (4, None), (6, "name"), (6, "lon")]
    toml_path = tmp_path / "gw.toml"
    toml_path.write_text(
        '[[gateway]]\nname = "A"\nlat = 95\nlon = 2\ncountry = "FR"\n'
        '[[gateway]]\nname = "B"\nlat = 1\nlon = 2\ncountry = "FR"\nsize = 3\n'
    )
    with pytest.raises(InputErrors) as info:
        load_gateways(toml_path)
    assert _fields(info.value) == [(3, "lat"), (11, "size")]


def test_pop_file_reports_every_mistake(tmp_path):
    from skymesh.ground.pops import load_pops

    path = tmp_path / "pops.toml"
    path.write_text(
        '[[pop]]\nname = "A"\nlat = 95\nlon = 2\ncountry = "FR"\n'
        '[[pop]]\nname = "B"\nlat = 1\nlon = 2\ncountry = "FR"\n'
        '[[pop]]\nname = "C"\nlat = 1\nlon = 200\ncountry = "FR"\n'
    )
    with pytest.raises(InputErrors) as info:
        load_pops(path)
    assert [p.field for p in info.value.problems] == ["lat", "lon"]
    assert [p.line for p in info.value.problems] == [1, 11]


def test_at_most_max_problems_are_listed(tmp_path):
    from skymesh.ground.gateways import load_gateways

    path = tmp_path / "gw.csv"
    path.write_text("name,lat,lon,country\n" + "A,99,2,FR\n" * (MAX_PROBLEMS + 5))
    with pytest.raises(InputErrors) as info:
        load_gateways(path)
    err = info.value
    assert len(err.problems) == MAX_PROBLEMS and err.total == MAX_PROBLEMS + 5
    assert str(err).splitlines()[0] == (
        f"{MAX_PROBLEMS + 5} problems in {path} (the first {MAX_PROBLEMS} shown):"
    )


def test_cli_prints_one_line_per_problem_and_exits_2(tmp_path, capsys):
    from skymesh.cli import main

    path = tmp_path / "s.toml"
    path.write_text(SCENARIO)
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"error: 3 problems in {path}:"
    assert err[1].startswith(f"{path}:7, field 'time.duraton_s': unknown key")
    assert err[2].startswith(f"{path}:11, field 'terminals.0.count'")
    assert err[3].startswith(f"{path}:14, field 'gateways.0.lat'")
    assert len(err) == 4
