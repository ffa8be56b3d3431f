"""Places: names resolve to the right GeoNames entries; points and city lists load."""

import csv

import numpy as np
import pytest

from skymesh.errors import InputError
from skymesh.ground.places import (
    fold_name,
    largest_places,
    load_hypatia_cities,
    resolve_country,
    resolve_pair,
    resolve_place,
    resolve_places,
)

HYPATIA_100 = "hypatia_ground_stations_cities_sorted_by_estimated_2025_pop_top_100.basic.txt"


def great_circle_km(lat1, lon1, lat2, lon2):
    lat1, lon1, lat2, lon2 = map(np.radians, (lat1, lon1, lat2, lon2))
    h = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0 * np.arcsin(np.sqrt(h))


# GeoNames ids (geonames.org) and atlas coordinates (deg, 2 decimals).
KNOWN = [
    ("Paris", 2988507, "FR", 48.86, 2.35),
    ("São Paulo", 3448439, "BR", -23.55, -46.63),
    ("Mumbai", 1275339, "IN", 19.08, 72.88),
    ("Beijing", 1816670, "CN", 39.90, 116.40),
    ("Sydney", 2147714, "AU", -33.87, 151.21),
    ("Kolkata", 1275004, "IN", 22.57, 88.36),
]


@pytest.mark.parametrize("text, geonameid, cc, lat, lon", KNOWN)
def test_known_cities(text, geonameid, cc, lat, lon):
    p = resolve_place(text)
    assert (p.geonameid, p.country_iso2) == (geonameid, cc)
    assert abs(p.lat_deg - lat) < 0.05 and abs(p.lon_deg - lon) < 0.05
    assert p.query == text


@pytest.mark.parametrize("text", ["Sao Paulo", "SÃO PAULO", "sao-paulo", "  são   paulo "])
def test_case_accents_and_separators_fold(text):
    assert resolve_place(text).geonameid == 3448439


@pytest.mark.parametrize(
    "text, geonameid, name",
    [
        ("Giessen", 2920512, "Gießen"),  # ß -> ss
        ("Lodz", 3093133, "Łódź"),  # ł has no NFKD decomposition
        ("Winston Salem", 4499612, "Winston-Salem"),
        ("winston-salem", 4499612, "Winston-Salem"),
        ("Dusseldorf", 2934246, "Düsseldorf"),
    ],
)
def test_special_letters_and_hyphens(text, geonameid, name):
    p = resolve_place(text)
    assert (p.geonameid, p.name) == (geonameid, name)


def test_fold_name():
    assert fold_name("Neustadt an der Weinstraße") == "neustadt an der weinstrasse"
    assert fold_name("Port-au-Prince") == fold_name("port au  prince") == "port au prince"


def test_most_populous_wins_and_note_counts_others():
    p = resolve_place("Springfield")
    # GeoNames cities15000 has eight Springfields, all in the US; Missouri's is the largest.
    assert (p.geonameid, p.country_iso2) == (4409896, "US")
    assert p.note.startswith("Springfield, US (pop ")
    assert "7 other places share the name" in p.note
    paris = resolve_place("Paris")
    assert paris.country_iso2 == "FR" and "Paris, FR (pop 2,138,551)" in paris.note


@pytest.mark.parametrize("text", ["Paris, US", "paris, us", "Paris, United States", "Paris,USA"])
def test_country_restricts(text):
    p = resolve_place(text)
    # Paris, Texas: 33.66 N, 95.56 W.
    assert p.country_iso2 == "US" and p.geonameid == 4717560
    assert abs(p.lat_deg - 33.66) < 0.05 and abs(p.lon_deg + 95.56) < 0.05


def test_country_by_name_and_kosovo():
    assert resolve_place("Paris, France").geonameid == 2988507
    assert resolve_place("Pristina, Kosovo").country_iso2 == "XK"
    assert resolve_place("Pristina, XK").geonameid == 786714
    assert resolve_country("Germany") == "DE"
    assert resolve_country("deu") == "DE"
    assert resolve_country("Russia") == "RU"


@pytest.mark.parametrize(
    "text, geonameid",
    [
        ("Bombay", 1275339),
        ("Peking", 1816670),
        ("Madras", 1264527),
        ("München", 2867714),
        ("Bombay, IN", 1275339),
        ("Mumbai (Bombay)", 1275339),
        ("Washington, D.C.", 4140963),
    ],
)
def test_alternate_names(text, geonameid):
    p = resolve_place(text)
    assert p.geonameid == geonameid
    if "(" not in text:
        assert "another name for" in p.note


def test_primary_name_beats_alternate_name():
    # Calcutta is a town in South Africa (primary name) and an old name of Kolkata.
    p = resolve_place("Calcutta")
    assert (p.country_iso2, p.geonameid) == ("ZA", 1014306)
    assert "Kolkata, IN" in p.note
    assert resolve_place("Calcutta, IN").geonameid == 1275004


@pytest.mark.parametrize(
    "text, lat, lon",
    [
        ("48.85,2.35", 48.85, 2.35),
        ("-8.83, 13.24", -8.83, 13.24),
        ("(10, -20.5)", 10.0, -20.5),
        ("90,180", 90.0, 180.0),
        ("-90,-180", -90.0, -180.0),
    ],
)
def test_coordinates(text, lat, lon):
    p = resolve_place(text)
    assert (p.lat_deg, p.lon_deg) == (lat, lon)
    assert p.geonameid is None and p.population is None and p.country_iso2 == ""


@pytest.mark.parametrize(
    "text, field", [("95,10", "lat"), ("-90.5, 0", "lat"), ("10,200", "lon"), ("0,-180.01", "lon")]
)
def test_coordinates_out_of_range(text, field):
    with pytest.raises(InputError, match="outside") as err:
        resolve_place(text)
    assert err.value.field == field


def test_unknown_name_lists_closest_candidates():
    with pytest.raises(InputError) as err:
        resolve_place("Pariss")
    msg = str(err.value)
    assert "unknown place 'Pariss'" in msg and "closest" in msg
    assert "Paris, FR (pop 2,138,551)" in msg
    with pytest.raises(InputError, match="Lyon, FR"):
        resolve_place("Lyonn, FR")


def test_unknown_country_is_an_error():
    with pytest.raises(InputError, match="unknown country code 'ZZ'") as err:
        resolve_place("Paris, ZZ")
    assert err.value.field == "country"
    with pytest.raises(InputError, match="unknown country 'Narnia'"):
        resolve_place("Paris, Narnia")
    with pytest.raises(InputError, match="in DE.*FR"):
        resolve_place("Paris, DE")


@pytest.mark.parametrize("bad", ["", "   ", ", FR"])
def test_empty_is_an_error(bad):
    with pytest.raises(InputError):
        resolve_place(bad)


def test_resolve_places_arrays():
    names, lat, lon, cc = resolve_places(["Paris, FR", "Bombay", "-8.83, 13.24"])
    assert list(names) == ["Paris", "Mumbai", "-8.8300,13.2400"]
    assert list(cc) == ["FR", "IN", ""]
    assert lat.dtype == float and lat.shape == (3,)
    np.testing.assert_allclose(lat, [48.86, 19.08, -8.83], atol=0.05)
    np.testing.assert_allclose(lon, [2.35, 72.88, 13.24], atol=0.05)
    with pytest.raises(InputError, match="place 2: unknown place"):
        resolve_places(["Paris", "Qqqzzxx"])


def test_largest_places_match_the_reference_csv(shared_data):
    with open(shared_data / "geonames_cities15000.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(largest_places(10**6)[0]) == len(rows) == 34006  # README section 3
    name, lat, lon, cc, pop, gid = largest_places(20)
    assert list(gid) == [int(r["geonameid"]) for r in rows[:20]]
    assert list(pop) == [int(r["population"]) for r in rows[:20]]
    assert np.all(np.diff(pop) <= 0)
    name, lat, lon, cc, pop, gid = largest_places(3, "DE")
    assert list(name) == ["Berlin", "Hamburg", "Munich"]
    assert set(cc) == {"DE"}


def test_hypatia_top_100(shared_data):
    gid, name, lat, lon, alt_km = load_hypatia_cities(shared_data / HYPATIA_100)
    assert len(gid) == 100 and list(gid) == list(range(100))
    assert name[0] == "Tokyo" and (lat[0], lon[0]) == (35.6895, 139.69171)
    assert "São Paulo" in name and "Washington, D.C." in name and "Buenos Aires" in name
    assert np.all(alt_km == 0.0)
    # Independent check: most Hypatia cities resolve by name to a GeoNames place
    # within 30 km of Hypatia's own coordinates.
    close = 0
    for n, la, lo in zip(name, lat, lon):
        try:
            p = resolve_place(n)
        except InputError:
            continue
        close += great_circle_km(la, lo, p.lat_deg, p.lon_deg) < 30.0
    assert close >= 85


@pytest.mark.parametrize(
    "content, line, field, message",
    [
        ("0,Tokyo,35.7,139.7,0\n1,Delhi,28.7\n", 2, None, "expected 5"),
        ("0,Tokyo,35.7,139.7,0\nx,Delhi,28.7,77.2,0\n", 2, "id", "not an integer"),
        ("0,Tokyo,35.7,139.7,0\n\n1,Delhi,north,77.2,0\n", 3, "lat", "not a number"),
        ("0,Tokyo,35.7,139.7,0\n1,Delhi,28.7,277.2,0\n", 2, "lon", "outside"),
        ("0,Tokyo,35.7,139.7,0\n0,Delhi,28.7,77.2,0\n", 2, "id", "already used on line 1"),
        ("0,Tokyo,35.7,139.7,high\n", 1, "elevation", "not a number"),
        ("0,,35.7,139.7,0\n", 1, "name", "empty name"),
    ],
)
def test_hypatia_bad_rows(tmp_path, content, line, field, message):
    path = tmp_path / "cities.basic.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=message) as err:
        load_hypatia_cities(path)
    assert (err.value.file, err.value.line, err.value.field) == (str(path), line, field)
    assert f"{path}:{line}" in str(err.value)


def test_hypatia_missing_or_empty_file(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        load_hypatia_cities(tmp_path / "nope.txt")
    (tmp_path / "empty.txt").write_text("\n", encoding="utf-8")
    with pytest.raises(InputError, match="no cities"):
        load_hypatia_cities(tmp_path / "empty.txt")


def test_pair_refuses_one_place_twice_and_keeps_two():
    with pytest.raises(InputError, match="same place"):
        resolve_pair("London, GB", "london")
    with pytest.raises(InputError, match="same place"):
        resolve_pair("0,0", "0.001,0.001")  # 157 m apart
    a, b = resolve_pair("London, GB", "Paris, FR")
    assert (a.country_iso2, b.country_iso2) == ("GB", "FR")
    assert resolve_pair("0,0", "0,0.01")[1].lon_deg == 0.01  # 1.1 km apart: two places
