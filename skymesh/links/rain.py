"""Rain fade on user and feeder links: ITU-R P.618 with the rain rate of a weather event.

Model
-----
The link presets of :mod:`skymesh.links.budget` carry a *statistical* rain margin (the
attenuation exceeded 0.5 % of an average year). A rain *event* -- a rate R (mm/h) falling over
a region for a time window -- replaces that margin by the attenuation of this rain:

- **Attenuation of rain rate R** (dB): the ITU-R P.618-13 §2.2.1.1 slant-path method (steps
  1-9) with R as the point rain rate: rain height h_R from ITU-R P.839-4, station height from
  ITU-R P.1511-2, specific attenuation gamma_R = k R^alpha from ITU-R P.838-3 (at the link's
  frequency, elevation and polarisation tilt tau), horizontal reduction r and vertical
  adjustment v computed with that gamma_R, effective path length L_E, A = gamma_R L_E. This is
  P.618's A_0.01 evaluated with R_0.01 = R (``itur.models.itu618.rain_attenuation(...,
  p=0.01, R001=R)``): the procedure's effective-path-length model applied to the event's rate
  instead of the local 0.01 % climatological rate. It is zero for R = 0 and grows with R and
  as the elevation falls (longer path through the rain).
- **Polarisation**: tau = 45 deg (circular, P.838-3 §1) for both links: Starlink's user link is
  RHCP (del Portillo et al., Acta Astronautica 159, 2019, reading the 2016 filing); the
  feeders' polarisation is not published, so the same value is used (**U**).
- **Clear sky** (no rain): the preset's budget with its rain term removed -- for
  ``atm_model="simple"`` ``clear_sky_zenith_db / sin(el)`` (gas + cloud); for ``"itur"`` itur's
  slant-path total without rain (gas, cloud, scintillation); for ``"none"`` zero.
- **Total** loss = clear sky + rain, added in dB. P.618 §2.5 combines
  ``A_gas + sqrt((A_rain + A_cloud)^2 + A_scint^2)``; with the scintillation term (a few tenths
  of a dB) added linearly this is an upper bound within that term.

Zero rain therefore gives the clear-sky budget (a little *more* capacity than the presets'
annual-statistics margin); a scenario that sets ``[[rain]]`` models the weather explicitly, so
its without-rain figure is the clear-sky one.

Vectorised as :mod:`skymesh.links.budget` does for the atmosphere: itur is evaluated once per
distinct (ground point, rain rate) on an elevation grid (5-90 deg, ``elevation_bin_deg``
steps), cached in memory, and interpolated linearly; elevations below 5 deg are evaluated at
5 deg (P.618's lower limit for the slant path of Eq. 1).

Recommendation versions are those the installed ``itur`` implements (0.4.0: P.618-13,
P.838-3, P.839-4, P.1511-2; see `itur_versions`).

Scenario entries (``[[rain]]``, :class:`skymesh.sim.scenario.RainSpec`)::

    [[rain]]
    rate_mmh = 25                      # heavy rain
    country = "UA"                     # or box = [lat_min, lon_min, lat_max, lon_max]; or neither
    from = 2022-10-15T12:00:00Z        # optional; until = ... optional

Example
-------
>>> a = rain_attenuation_db(51.5, -0.14, 31.07699124, 26.48052, 14.25, tau_deg=0.0,
...                         hs_km=0.031382984)
>>> round(float(a), 3)          # ITU-R SG3 validation example (ValEx rev 5.1): 6.798072 dB
6.798
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np

from skymesh.errors import InputError
from skymesh.links.budget import LinkParams, link_budget

CIRCULAR_TAU_DEG = 45.0
"""Polarisation tilt for circular polarisation (ITU-R P.838-3 §1)."""

MIN_ELEVATION_DEG = 5.0
"""Lowest elevation evaluated (P.618-13 §2.2.1.1 Eq. 1 holds for el >= 5 deg)."""

_CACHE: dict[tuple, np.ndarray] = {}


def itur_versions() -> dict:
    """Versions of the ITU-R recommendations the installed itur uses: ``{"P.618": "P.618-13",
    ...}`` for P.618, P.838, P.839, P.1511 (rain), P.676 and P.840 (the clear-sky gas and
    cloud terms of ``atm_model="itur"``), and the itur version."""
    import itur
    from itur.models import itu618, itu676, itu838, itu839, itu840, itu1511

    out = {
        name: f"{name}-{mod.get_version()}"
        for name, mod in (
            ("P.618", itu618),
            ("P.838", itu838),
            ("P.839", itu839),
            ("P.1511", itu1511),
            ("P.676", itu676),
            ("P.840", itu840),
        )
    }
    out["itur"] = itur.__version__
    return out


def recommendations_text() -> str:
    """One line naming the recommendations used, e.g. for a report."""
    v = itur_versions()
    return (
        f"ITU-R {v['P.618']} §2.2.1.1 with the event's rain rate; {v['P.838']}, "
        f"{v['P.839']}, {v['P.1511']} (as implemented by itur {v['itur']})"
    )


def _grid(step_deg: float) -> np.ndarray:
    if not 0.0 < step_deg <= 10.0:
        raise InputError(
            f"elevation_bin_deg = {step_deg!r} must be in (0, 10] deg", field="elevation_bin_deg"
        )
    n = int(np.ceil((90.0 - MIN_ELEVATION_DEG) / step_deg)) + 1
    return np.linspace(MIN_ELEVATION_DEG, 90.0, n)


def _check_rate(rate):
    r = np.asarray(rate, dtype=float)
    if np.isnan(r).any() or (r < 0).any() or np.isinf(r).any():
        raise InputError("rain rates must be finite and >= 0 mm/h", field="rain_rate_mmh")
    return r


def rain_attenuation_db(
    lat_deg,
    lon_deg,
    elevation_deg,
    rain_rate_mmh,
    frequency_ghz,
    tau_deg=CIRCULAR_TAU_DEG,
    hs_km=None,
) -> np.ndarray:
    """Rain attenuation (dB) of a slant path through rain of ``rain_rate_mmh`` (direct itur).

    All arrays broadcast together; P.618-13 §2.2.1.1 steps 1-9 with R_0.01 = the given rate
    (see the module docstring). ``hs_km``: station height above sea level (default P.1511).
    Elevations are clipped to [5, 90] deg. Zero where the rate is zero.
    """
    from itur.models import itu618

    lat, lon, el, rate = np.broadcast_arrays(
        np.asarray(lat_deg, float),
        np.asarray(lon_deg, float),
        np.clip(np.asarray(elevation_deg, float), MIN_ELEVATION_DEG, 90.0),
        _check_rate(rain_rate_mmh),
    )
    if not frequency_ghz > 0:
        raise InputError("frequency must be > 0 GHz", field="frequency_ghz")
    out = np.zeros(lat.shape)
    wet = rate > 0
    if not wet.any():
        return out
    hs = None if hs_km is None else np.broadcast_to(np.asarray(hs_km, float), lat.shape)[wet]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        a = itu618.rain_attenuation(
            lat[wet],
            lon[wet],
            float(frequency_ghz),
            el[wet],
            hs=hs,
            p=0.01,
            R001=rate[wet],
            tau=float(tau_deg),
        )
    out[wet] = np.clip(np.asarray(getattr(a, "value", a), float).reshape(-1), 0.0, None)
    return out


def _rows(
    points: np.ndarray, grid: np.ndarray, frequency_ghz: float, tau_deg: float, step: float
) -> np.ndarray:
    """Attenuation table (n_points, n_grid) for rows (lat, lon, rate) of ``points``."""
    keys = [
        (float(a), float(b), float(r), float(frequency_ghz), float(tau_deg), step)
        for a, b, r in points
    ]
    missing = [i for i, k in enumerate(keys) if k not in _CACHE]
    if missing:
        m = np.asarray(missing)
        lat = np.repeat(points[m, 0], grid.size)
        lon = np.repeat(points[m, 1], grid.size)
        rate = np.repeat(points[m, 2], grid.size)
        el = np.tile(grid, m.size)
        att = rain_attenuation_db(lat, lon, el, rate, frequency_ghz, tau_deg)
        att = att.reshape(m.size, grid.size)
        for row, i in enumerate(missing):
            _CACHE[keys[i]] = att[row]
    if not keys:
        return np.zeros((0, grid.size))
    return np.stack([_CACHE[k] for k in keys])


def rain_loss_db(
    lat_deg,
    lon_deg,
    elevation_deg,
    rain_rate_mmh,
    frequency_ghz,
    tau_deg=CIRCULAR_TAU_DEG,
    elevation_bin_deg: float = 1.0,
) -> np.ndarray:
    """Rain attenuation (dB) per link, interpolated from a cached elevation grid.

    Same model as :func:`rain_attenuation_db`; itur runs once per distinct (lat, lon, rate)
    on the elevation grid, so a cell seen by many satellites over many steps costs one call.
    """
    lat, lon, el, rate = np.broadcast_arrays(
        np.asarray(lat_deg, float),
        np.asarray(lon_deg, float),
        np.clip(np.asarray(elevation_deg, float), MIN_ELEVATION_DEG, 90.0),
        _check_rate(rain_rate_mmh),
    )
    out = np.zeros(el.shape)
    wet = rate > 0
    if not wet.any():
        return out
    grid = _grid(elevation_bin_deg)
    pts, inv = np.unique(
        np.stack([lat[wet], lon[wet], rate[wet]], axis=1), axis=0, return_inverse=True
    )
    table = _rows(pts, grid, frequency_ghz, tau_deg, float(elevation_bin_deg))
    x = el[wet]
    k = np.clip(np.searchsorted(grid, x, side="right") - 1, 0, grid.size - 2)
    w = (x - grid[k]) / (grid[k + 1] - grid[k])
    inv = inv.ravel()
    out[wet] = table[inv, k] * (1.0 - w) + table[inv, k + 1] * w
    return out


def clear_sky_loss_db(elevation_deg, params: LinkParams, lat_deg=None, lon_deg=None):
    """The preset's atmospheric loss without its rain term (dB); see the module docstring."""
    el = np.asarray(elevation_deg, dtype=float)
    if params.atm_model == "none":
        return np.zeros(el.shape)
    e = np.clip(el, MIN_ELEVATION_DEG, 90.0)
    if params.atm_model == "simple":
        return params.clear_sky_zenith_db / np.sin(np.radians(e))
    if lat_deg is None or lon_deg is None:
        raise InputError(
            "atm_model='itur' needs the ground point's lat_deg and lon_deg", field="lat_deg"
        )
    import itur

    lat, lon, e = np.broadcast_arrays(np.asarray(lat_deg, float), np.asarray(lon_deg, float), e)
    if e.size == 0:
        return np.zeros(e.shape)
    grid = _grid(params.elevation_bin_deg)
    pts, inv = np.unique(np.stack([lat.ravel(), lon.ravel()], axis=1), axis=0, return_inverse=True)
    keys = [
        (
            "clear",
            float(a),
            float(b),
            params.frequency_ghz,
            params.exceedance_pct,
            params.antenna_diameter_m,
            params.antenna_efficiency,
            params.elevation_bin_deg,
        )
        for a, b in pts
    ]
    missing = [i for i, k in enumerate(keys) if k not in _CACHE]
    if missing:
        m = np.asarray(missing)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            att = itur.atmospheric_attenuation_slant_path(
                np.repeat(pts[m, 0], grid.size),
                np.repeat(pts[m, 1], grid.size),
                params.frequency_ghz,
                np.tile(grid, m.size),
                params.exceedance_pct,
                params.antenna_diameter_m,
                eta=params.antenna_efficiency,
                include_rain=False,
            )
        att = np.clip(np.asarray(getattr(att, "value", att), float), 0.0, None)
        att = att.reshape(m.size, grid.size)
        for row, i in enumerate(missing):
            _CACHE[keys[i]] = att[row]
    table = np.stack([_CACHE[k] for k in keys])
    x = e.ravel()
    k = np.clip(np.searchsorted(grid, x, side="right") - 1, 0, grid.size - 2)
    w = (x - grid[k]) / (grid[k + 1] - grid[k])
    inv = inv.ravel()
    return (table[inv, k] * (1.0 - w) + table[inv, k + 1] * w).reshape(e.shape)


def budget_with_rain(
    range_km,
    elevation_deg,
    params: LinkParams,
    lat_deg,
    lon_deg,
    rain_rate_mmh=0.0,
    tau_deg=CIRCULAR_TAU_DEG,
) -> dict:
    """:func:`skymesh.links.budget.link_budget` with clear sky + the event's rain fade.

    Extra keys: ``rain_db`` and ``clear_sky_db`` (per link). Fixed-capacity links (optical
    ISLs) are not affected by rain.
    """
    if params.fixed_capacity_mbps is not None:
        out = link_budget(range_km, elevation_deg, params)
        shape = np.shape(out["capacity_mbps"])
        return {**out, "rain_db": np.zeros(shape), "clear_sky_db": np.zeros(shape)}
    el = np.asarray(elevation_deg, dtype=float)
    clear = clear_sky_loss_db(el, params, lat_deg, lon_deg)
    rain = rain_loss_db(
        lat_deg, lon_deg, el, rain_rate_mmh, params.frequency_ghz, tau_deg, params.elevation_bin_deg
    )
    out = link_budget(range_km, el, params, atm_db=clear + rain)
    return {**out, "rain_db": rain, "clear_sky_db": np.broadcast_to(clear, np.shape(rain))}


def link_capacity_with_rain_mbps(
    range_km,
    elevation_deg,
    params: LinkParams,
    lat_deg,
    lon_deg,
    rain_rate_mmh=0.0,
    tau_deg=CIRCULAR_TAU_DEG,
):
    """Capacity (Mbit/s) of each link under clear sky + the event's rain (0 where closed)."""
    return budget_with_rain(
        range_km, elevation_deg, params, lat_deg, lon_deg, rain_rate_mmh, tau_deg
    )["capacity_mbps"]


def clear_sky(params: LinkParams) -> LinkParams:
    """The preset without its statistical rain margin ('simple' model): for code that calls
    :func:`skymesh.links.budget.link_capacity_mbps` directly."""
    if params.atm_model == "simple":
        return dataclasses.replace(params, rain_margin_db=0.0)
    return params


# --- events -> rain rate per ground point and time ------------------------------------------


def rain_rates_mmh(events, lat_deg, lon_deg, when=None, countries=None) -> np.ndarray:
    """Rain rate (mm/h) at ground points at instant ``when`` from scenario ``[[rain]]`` entries.

    ``events``: :class:`skymesh.sim.scenario.RainSpec` items (or objects with ``rate_mmh``,
    ``country``, ``box``, ``start``, ``until``). An event applies where the point lies in its
    country (:func:`skymesh.ground.countries.country_of`) or box (both ends included; a box
    with lon_min > lon_max crosses 180 deg), or everywhere when it names neither, and while
    ``start <= when < until`` (either end open when unset; always when ``when`` is None).
    Where events overlap the heaviest rate counts.
    """
    lat = np.asarray(lat_deg, dtype=float).reshape(-1)
    lon = np.asarray(lon_deg, dtype=float).reshape(-1)
    out = np.zeros(lat.shape)
    codes = None
    for ev in events or ():
        if when is not None and (
            (ev.start is not None and when < ev.start)
            or (ev.until is not None and when >= ev.until)
        ):
            continue
        if ev.country is not None:
            if codes is None:
                from skymesh.ground.countries import country_of

                codes = np.asarray(country_of(lat, lon, countries)).astype(str)
            inside = codes == ev.country
        elif ev.box is not None:
            la0, lo0, la1, lo1 = ev.box
            in_lon = (lon >= lo0) & (lon <= lo1) if lo0 <= lo1 else (lon >= lo0) | (lon <= lo1)
            inside = (lat >= la0) & (lat <= la1) & in_lon
        else:
            inside = np.ones(lat.shape, dtype=bool)
        out = np.where(inside, np.maximum(out, float(ev.rate_mmh)), out)
    return out
