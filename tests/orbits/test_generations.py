"""Satellite generations from launch designators; the launch and generation tables; `info`."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from skymesh.cli import main
from skymesh.errors import InputError
from skymesh.orbits import generations as gen
from skymesh.orbits.presets import load_constellation
from skymesh.orbits.tle import tle_checksum_expected

SHIPPED = Path(gen.__file__).resolve().parent.parent / "data" / "starlink_tle_20251204.txt"


@pytest.mark.parametrize(
    "designator, launch",
    [
        ("23026A", "2023-026"),
        ("19074B  ", "2019-074"),
        ("98067A", "1998-067"),
        ("57001B", "1957-001"),
        ("25271ABC", "2025-271"),
        ("        ", None),
    ],
)
def test_designator_gives_the_launch(designator, launch):
    assert gen.launch_of(designator) == launch


@pytest.mark.parametrize("bad", ["2302A", "23026", "23O26A", "A23026"])
def test_malformed_designator_is_one_clear_error(bad):
    with pytest.raises(InputError, match="international designator"):
        gen.launch_of(bad)


def _with(line: str, catnum: int, designator: str | None = None) -> str:
    """A TLE line with another catalogue number (and designator on line 1), checksum fixed."""
    line = line[:2] + f"{catnum:05d}" + line[7:]
    if designator is not None:
        line = line[:9] + f"{designator:<8}" + line[17:]
    return line[:68] + str(tle_checksum_expected(line))


# (name, designator, generation from the public launch records: see starlink_launches.md)
HAND_BUILT = [
    ("STARLINK-1", "19074B", "v1.0"),  # L1, Nov 2019
    ("STARLINK-2", "20001A", "v1.0"),  # L2, Jan 2020
    ("STARLINK-3", "19029C", "v0.9"),  # the v0.9 launch, May 2019
    ("STARLINK-4", "21082A", "v1.5"),  # Group 2-1, Sept 2021, first v1.5
    ("STARLINK-5", "23026A", "v2 mini"),  # Group 6-1, first V2 Mini
    ("STARLINK-6", "23099A", "v1.5"),  # Group 5-15, the last v1.5
    ("STARLINK-7", "23056A", "v2 mini"),  # 19 in the 2025-12-04 set, inside 2023's overlap
    ("STARLINK-8", "23058A", "v1.5"),  # 45 in the 2025-12-04 set, inside 2023's overlap
    ("STARLINK-9", "24046B", "v2 mini"),
    ("STARLINK-10", "25271C", "v2 mini optimised"),  # 28 in the set
    ("STARLINK-11", "18020A", "unknown"),  # Tintin A/B era: no row
    ("STARLINK-12", "23040A", "unknown"),  # in the 2023 overlap, not listed: never guessed
    ("ONEWEB-0012", "23099B", "unknown"),  # another operator in a Starlink launch range
]


@pytest.fixture()
def hand_built_tle(tmp_path) -> Path:
    lines = SHIPPED.read_text().splitlines()
    l1, l2 = lines[1], lines[2]
    out = []
    for i, (name, des, _) in enumerate(HAND_BUILT):
        out += [name, _with(l1, 90001 + i, des), _with(l2, 90001 + i)]
    path = tmp_path / "hand.tle"
    path.write_text("\n".join(out) + "\n")
    return path


def test_hand_built_set_gets_the_generations_of_its_launches(hand_built_tle):
    con = load_constellation(str(hand_built_tle))
    got = dict(zip(con.sat_names, gen.satellite_generations(con)))
    assert got == {name: g for name, _, g in HAND_BUILT}


def test_generations_follow_a_subset(hand_built_tle):
    con = load_constellation(str(hand_built_tle))
    sub = con.subset([9, 0])
    assert list(gen.satellite_generations(sub)) == ["v2 mini optimised", "v1.0"]


def test_info_json_counts_generations_and_sums_downlink(hand_built_tle, capsys):
    assert main(["info", str(hand_built_tle), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    per_gen = doc["generations"]
    assert sum(per_gen.values()) == doc["satellites"] == len(HAND_BUILT)
    assert per_gen["unknown"] == 3 and per_gen["v1.5"] == 3 and per_gen["v1.0"] == 2
    table = gen.generation_table()
    expected = sum(
        table[g]["user_downlink_gbps"]["value"] for _, _, g in HAND_BUILT if g != "unknown"
    )
    assert doc["user_downlink_gbps"] == pytest.approx(expected)
    assert any("3 satellite(s) of unknown generation" in n for n in doc["notes"])


def test_info_text_has_a_generation_table_in_80_columns(hand_built_tle, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["info", str(hand_built_tle)]) == 0
    out = capsys.readouterr().out
    assert "v2 mini optimised" in out and "Generations" in out
    assert max(len(line) for line in out.splitlines()) <= 80


def test_walker_preset_takes_its_filings_generation(capsys):
    assert main(["info", "starlink-shell1", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["generations"] == {"v1.0": 1584}
    v10 = gen.generation_table()["v1.0"]["user_downlink_gbps"]["value"]
    assert doc["user_downlink_gbps"] == pytest.approx(1584 * v10)
    assert main(["info", "kuiper", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["generations"] == {"unknown": 3236}


def test_shipped_set_has_every_satellite_classified():
    """Every satellite of the shipped 2025-12-04 set is covered by a launch row."""
    from skymesh.orbits.tle import read_tle_file

    names, line1s, _, _ = read_tle_file(SHIPPED)
    counts = gen.generation_counts(gen.generations_of(names, [x[9:17] for x in line1s]))
    assert sum(counts.values()) == 9042 and "unknown" not in counts
    assert "v0.9" not in counts  # the 2019 v0.9 satellites have all re-entered


@pytest.mark.parametrize("table", [gen.LAUNCH_TABLE, gen.GENERATION_TABLE])
def test_every_table_row_has_a_source_and_a_status(table):
    with open(table, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows
    for row in rows:
        assert row["status"] in ("P", "A", "N", "D"), row
        assert len(row["source"].strip()) > 10, row


def test_generation_table_is_complete_and_lasers_start_at_v15():
    table = gen.generation_table()
    assert set(table) == set(gen.GENERATIONS)
    for g, pars in table.items():
        assert set(pars) == set(gen.PARAMETERS)
        beams, per_beam = pars["user_beams"]["value"], pars["downlink_per_beam_gbps"]["value"]
        assert beams * per_beam == pytest.approx(pars["user_downlink_gbps"]["value"], rel=0.02)
    assert table["v0.9"]["lasers"]["value"] == table["v1.0"]["lasers"]["value"] == 0
    assert table["v1.5"]["lasers"]["value"] > 0
    assert "E" in table["v2 mini"]["backhaul_band"]["value"]
    assert table["v1.0"]["backhaul_band"]["value"] == "Ka"


def test_a_row_without_source_is_refused_with_its_line(tmp_path):
    bad = tmp_path / "launches.csv"
    bad.write_text(
        "first_launch,last_launch,generation,status,source,note\n"
        "2019-074,2019-074,v1.0,N,launch list,\n"
        "2020-001,2020-001,v1.0,N,,\n"
    )
    with pytest.raises(InputError) as err:
        gen.launch_table(bad)
    assert err.value.line == 3 and err.value.field == "source"
    bad.write_text(
        "first_launch,last_launch,generation,status,source,note\n"
        "2019-074,2019-074,v1.0,U,launch list,\n"
    )
    gen.launch_table.cache_clear()
    with pytest.raises(InputError, match="status"):
        gen.launch_table(bad)
