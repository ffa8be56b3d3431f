"""Gateways: the real Starlink list loads with the right counts; bad files say where."""

import csv
import math

import numpy as np
import pytest

from skymesh.constants import WGS84_A_KM, WGS84_B_KM
from skymesh.errors import InputError
from skymesh.ground.gateways import Gateways, gateways_from_records, load_gateways

MERGED = "starlink_gateways_merged.csv"


@pytest.fixture(scope="module")
def merged_rows(shared_data):
    with open(shared_data / MERGED, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_merged_file_counts(shared_data, merged_rows):
    path = shared_data / MERGED
    assert len(merged_rows) == 357
    everything = load_gateways(path, include_planned=True, include_pops=True)
    assert len(everything) == 357
    # README section 4: 249 operational / 108 planned; 307 gateways / 50 PoPs.
    assert len(load_gateways(path, include_pops=True)) == 249
    assert len(load_gateways(path, include_planned=True)) == 307
    # The default keeps rows that are both operational and gateways.
    default = load_gateways(path)
    expected = sum(r["type"] == "gateway" and r["status"] == "operational" for r in merged_rows)
    assert len(default) == expected
    assert len(default) < min(249, 307)
    assert set(default.type) == {"gateway"} and set(default.status) == {"operational"}
    # README: US 189, AU 35, BR 25 over the whole list.
    counts = {cc: int(np.sum(everything.country_iso2 == cc)) for cc in ("US", "AU", "BR")}
    assert counts == {"US": 189, "AU": 35, "BR": 25}


def test_known_site_aerzen(shared_data):
    gw = load_gateways(shared_data / MERGED)
    (i,) = np.flatnonzero(np.char.startswith(gw.name, "Aerzen"))
    # Aerzen gateway, Lower Saxony: about 52.06 N, 9.33 E.
    assert abs(gw.lat_deg[i] - 52.06) < 0.02 and abs(gw.lon_deg[i] - 9.33) < 0.02
    assert gw.country_iso2[i] == "DE"
    assert gw.line[i] == 3  # header, Adelanto, then Aerzen
    assert gw.extra["num_antennas_2022"][i] == "8"
    assert math.isnan(gw.min_elevation_deg[i])
    xyz = gw.ecef_km()
    assert xyz.shape == (len(gw), 3)
    r = np.linalg.norm(xyz, axis=1)
    assert np.all((r > WGS84_B_KM - 1e-6) & (r < WGS84_A_KM + 1e-6))
    # Spherical estimate of the direction is good to ~0.2 deg of latitude.
    lat, lon = np.radians(52.06), np.radians(9.33)
    unit = np.array([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
    assert np.dot(xyz[i] / r[i], unit) > np.cos(np.radians(0.25))


def test_subset(shared_data):
    gw = load_gateways(shared_data / MERGED)
    de = gw.subset(gw.country_iso2 == "DE")
    assert isinstance(de, Gateways) and len(de) >= 1 and set(de.country_iso2) == {"DE"}
    assert set(de.extra) == set(gw.extra)
    assert len(de.extra["coord_source"]) == len(de)
    first_two = gw.subset([0, 1])
    assert list(first_two.name) == list(gw.name[:2])


def test_csv_minimal_and_aliases(tmp_path):
    path = tmp_path / "gw.csv"
    path.write_text(
        "# my sites\n"
        "Name, Lat_deg, lon_deg, country_iso2, min_elevation_deg, operator\n"
        "\n"
        '"Aerzen, Germany", 52.06, 9.33, de, 25, x\n'
        "Usingen, 50.33, 8.53, DE, , y\n",
        encoding="utf-8",
    )
    gw = load_gateways(path)
    assert list(gw.name) == ["Aerzen, Germany", "Usingen"]
    assert list(gw.country_iso2) == ["DE", "DE"]
    assert list(gw.line) == [4, 5]
    assert gw.min_elevation_deg[0] == 25.0 and math.isnan(gw.min_elevation_deg[1])
    assert list(gw.type) == ["gateway", "gateway"]  # no type column: all gateways
    assert list(gw.status) == ["operational", "operational"]
    assert list(gw.extra["operator"]) == ["x", "y"]
    assert gw.source == str(path)


def test_toml(tmp_path):
    path = tmp_path / "gw.toml"
    path.write_text(
        "# two sites\n"
        "[[gateway]]\n"
        'name = "Aerzen"\n'
        "lat = 52.06\n"
        "lon = 9.33\n"
        'country = "DE"\n'
        "num_antennas = 8\n"
        "capacity_gbps = 20.5\n"
        "min_elevation_deg = 25\n"
        "\n"
        "[[gateway]]\n"
        'name = "Future"\n'
        "lat_deg = -33.0\n"
        "lon_deg = 151\n"
        'country_iso2 = "AU"\n'
        'status = "planned"\n',
        encoding="utf-8",
    )
    gw = load_gateways(path)
    assert list(gw.name) == ["Aerzen"]
    assert (gw.num_antennas[0], gw.capacity_gbps[0], gw.min_elevation_deg[0]) == (8, 20.5, 25)
    both = load_gateways(path, include_planned=True)
    assert list(both.name) == ["Aerzen", "Future"]
    assert list(both.line) == [2, 11]
    assert list(both.status) == ["operational", "planned"]
    assert math.isnan(both.num_antennas[1])


def test_records():
    gw = gateways_from_records(
        [
            {"name": "A", "lat": 10, "lon": 20, "country": "KE"},
            {"name": "B", "lat": 1.5, "lon": -2, "country": "XK", "type": "pop"},
        ],
        include_pops=True,
    )
    assert list(gw.name) == ["A", "B"] and list(gw.country_iso2) == ["KE", "XK"]
    assert list(gw.line) == [-1, -1]
    assert (
        len(
            gateways_from_records(
                [{"name": "B", "lat": 1, "lon": 2, "country": "FR", "type": "pop"}]
            )
        )
        == 0
    )


@pytest.mark.parametrize(
    "records, field, message",
    [
        ([{"name": "A", "lat": 1, "lon": 2}], "country", "missing required field 'country'"),
        ([{"name": "A", "lat": True, "lon": 2, "country": "FR"}], "lat", "expected a number"),
        (
            [{"name": "A", "lat": "1.5", "lon": 2, "country": "FR"}],
            "lat",
            "expected a number, got text '1.5'",
        ),
        (
            [{"name": "A", "lat": 1, "lon": 2, "country": "FR", "num_antennas": 2.0}],
            "num_antennas",
            "whole number",
        ),
        ([{"name": "", "lat": 1, "lon": 2, "country": "FR"}], "name", "empty"),
        ([{"name": "A", "lat": 1, "lon": 2, "country": "FR", "elev": 3}], "elev", "unknown key"),
        ([{"name": "A", "lat": 1, "lon": 2, "country": "France"}], "country", "use 'FR'"),
        ([{"name": "A", "lat": 1, "lon": 2, "lon_deg": 2, "country": "FR"}], "lon_deg", "repeats"),
    ],
)
def test_records_errors(records, field, message):
    with pytest.raises(InputError, match=message) as err:
        gateways_from_records(records, file="scenario.toml")
    assert err.value.field == field and err.value.file == "scenario.toml"
    assert "gateway 1:" in str(err.value)


GOOD = "name,lat,lon,country\n"


@pytest.mark.parametrize(
    "name, content, line, field, message",
    [
        ("nolon.csv", "name,lat,country\nA,1,DE\n", 1, "lon", "missing required column 'lon'"),
        (
            "latword.csv",
            GOOD + "A,1,2,DE\nB,north,2,DE\n",
            3,
            "lat",
            "expected a number, got 'north'",
        ),
        ("lat91.csv", GOOD + "# c\nA,91,2,DE\n", 3, "lat", r"latitude 91 is outside \[-90, 90\]"),
        ("lon.csv", GOOD + "A,1,-181,DE\n", 2, "lon", "longitude -181 is outside"),
        ("zz.csv", GOOD + "A,1,2,ZZ\n", 2, "country", "unknown country code 'ZZ'"),
        ("uk.csv", GOOD + "A,1,2,UK\n", 2, "country", "did you mean GB"),
        ("blank.csv", GOOD + "A,,2,DE\n", 2, "lat", "missing required field 'lat'"),
        ("cells.csv", GOOD + "A,1,2\n", 2, None, "expected 4 fields"),
        (
            "status.csv",
            "name,lat,lon,country,status\nA,1,2,DE,running\n",
            2,
            "status",
            "'running' is not one of operational, planned",
        ),
        (
            "elev.csv",
            "name,lat,lon,country,min_elevation_deg\nA,1,2,DE,95\n",
            2,
            "min_elevation_deg",
            "outside",
        ),
        (
            "ants.csv",
            "name,lat,lon,country,num_antennas\nA,1,2,DE,2.5\n",
            2,
            "num_antennas",
            "whole number",
        ),
        ("dupcol.csv", "name,lat,lat_deg,lon,country\n", 1, "lat_deg", "repeats 'lat'"),
        ("header.csv", "\n# only a comment\n", None, None, "empty file"),
        ("norows.csv", GOOD, None, None, "no gateways"),
        (
            "key.toml",
            '[[gateway]]\nname = "A"\nlat = 1\nlon = 2\ncountry = "DE"\n\n'
            '[[gateway]]\nname = "B"\nlat = 1\nlon = 2\nelevation_mask = 25\n'
            'country = "DE"\n',
            11,
            "elevation_mask",
            "unknown key 'elevation_mask'",
        ),
        (
            "top.toml",
            'title = "x"\n[[gateway]]\nname = "A"\nlat = 1\nlon = 2\ncountry = "DE"\n',
            1,
            "title",
            "unknown key 'title'",
        ),
        ("plural.toml", '[[gateways]]\nname = "A"\n', 1, "gateways", r"\[\[gateway\]\]"),
        (
            "latstr.toml",
            '[[gateway]]\nname = "A"\n\nlat = "north"\nlon = 2\ncountry = "DE"\n',
            4,
            "lat",
            "expected a number",
        ),
        (
            "missing.toml",
            '[[gateway]]\nname = "A"\nlat = 1\ncountry = "DE"\n',
            1,
            "lon",
            "missing required field 'lon'",
        ),
        ("syntax.toml", '[[gateway]]\nname = "A\nlat = 1\n', 2, None, "not valid TOML"),
        ("empty.toml", "# nothing\n", None, None, r"no \[\[gateway\]\] tables"),
        # strict types (issue 9 section 5): no string or boolean where a number belongs
        (
            "latnum.toml",
            '[[gateway]]\nname = "A"\nlat = "41.5"\nlon = 2\ncountry = "DE"\n',
            3,
            "lat",
            "expected a number, got text '41.5'",
        ),
        (
            "lonbool.toml",
            '[[gateway]]\nname = "A"\nlat = 41\nlon = true\ncountry = "DE"\n',
            4,
            "lon",
            "expected a number, got a boolean true",
        ),
        (
            "antbool.toml",
            '[[gateway]]\nname = "A"\nlat = 41\nlon = 2\ncountry = "DE"\nnum_antennas = false\n',
            6,
            "num_antennas",
            "got a boolean false",
        ),
        (
            "antfloat.toml",
            '[[gateway]]\nname = "A"\nlat = 41\nlon = 2\ncountry = "DE"\nnum_antennas = 8.0\n',
            6,
            "num_antennas",
            "whole number",
        ),
        (
            "capstr.toml",
            '[[gateway]]\nname = "A"\nlat = 41\nlon = 2\ncountry = "DE"\ncapacity_gbps = ""\n',
            6,
            "capacity_gbps",
            "expected a number",
        ),
        (
            "latnan.toml",
            '[[gateway]]\nname = "A"\nlat = nan\nlon = 2\ncountry = "DE"\n',
            3,
            "lat",
            "finite",
        ),
        (
            "country.toml",
            '[[gateway]]\nname = "A"\nlat = 1\nlon = 2\ncountry = 49\n',
            5,
            "country",
            "expected text",
        ),
        (
            "name.toml",
            '[[gateway]]\nname = 7\nlat = 1\nlon = 2\ncountry = "DE"\n',
            2,
            "name",
            "expected text",
        ),
        ("latbool.csv", GOOD + "A,true,2,DE\n", 2, "lat", "expected a number, got 'true'"),
        ("latinf.csv", GOOD + "A,inf,2,DE\n", 2, "lat", "expected a number, got 'inf'"),
        ("latunderscore.csv", GOOD + "A,4_1,2,DE\n", 2, "lat", "expected a number"),
        ("latarabic.csv", GOOD + "A,\u0664\u0661,2,DE\n", 2, "lat", "expected a number"),
        (
            "antdecimal.csv",
            "name,lat,lon,country,num_antennas\nA,1,2,DE,8.0\n",
            2,
            "num_antennas",
            "whole number",
        ),
    ],
)
def test_bad_files(tmp_path, name, content, line, field, message):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=message) as err:
        load_gateways(path)
    assert (err.value.file, err.value.line, err.value.field) == (str(path), line, field)
    assert str(err.value).startswith(str(path) if line is None else f"{path}:{line}")


def test_duplicate_name_is_a_warning(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text(GOOD + "A,1,2,DE\nB,3,4,DE\nA,5,6,FR\n", encoding="utf-8")
    with pytest.warns(
        UserWarning,
        match=r"dup.csv:4: gateway name 'A' is used twice "
        r"\(first at line 2\)",
    ):
        gw = load_gateways(path)
    assert len(gw) == 3


def test_file_problems(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        load_gateways(tmp_path / "none.csv")
    (tmp_path / "gw.json").write_text("{}", encoding="utf-8")
    with pytest.raises(InputError, match="expected .csv or .toml"):
        load_gateways(tmp_path / "gw.json")


def test_strict_types_still_take_plain_numbers(tmp_path):
    """An int is a fine latitude in TOML; CSV numbers may carry a sign and an exponent."""
    toml = tmp_path / "ok.toml"
    toml.write_text(
        '[[gateway]]\nname = "A"\nlat = 41\nlon = -2.5\ncountry = "DE"\nnum_antennas = 8\n',
        encoding="utf-8",
    )
    gw = load_gateways(toml)
    assert gw.lat_deg[0] == 41.0 and gw.lon_deg[0] == -2.5 and gw.num_antennas[0] == 8
    csv_path = tmp_path / "ok.csv"
    csv_path.write_text(GOOD + "A,+4.1e1,-.5,DE\n", encoding="utf-8")
    gw = load_gateways(csv_path)
    assert gw.lat_deg[0] == 41.0 and gw.lon_deg[0] == -0.5
