"""Traffic demand: where the terminals are, and how much each asks for at a given time.

Model
-----
``demand = busy_hour_mbps x multiplier x profile(local solar hour)`` per terminal (Mbit/s,
forward direction: internet -> terminal).

- **Busy-hour demand** ``busy_hour_mbps``: the average rate one terminal draws during the
  busiest hour. Default `DEFAULT_BUSY_HOUR_MBPS` (~2.35 Mbit/s), **D/U**: derived from an average
  fixed-broadband household volume of 453 GB/month (Ofcom, *Connected Nations* 2022, as
  reported by ISPreview, 12 Jul 2022 -- a news source, **N**) spread
  over a 30.44-day month (1.38 Mbit/s daily mean) and scaled by the default profile's
  peak-to-mean ratio (1 / 0.587). No source gives Starlink's own busy-hour rate per terminal;
  treat it as a placeholder and set it per scenario.
- **Multiplier**: the seeds' claim that a war-zone (military) terminal uses "up to 100x a
  household's data" -- Musk on X, 14 Oct 2022, as reported by CNN (13-14 Oct 2022), status
  **N**: a qualitative claim with no published data). `WAR_ZONE_MULTIPLIER` = 100 is
  that upper bound, not a measured mean.
- **Diurnal profile**: 24 hourly factors (peak 1.0) indexed by *local mean solar time*
  ``UTC + lon/15`` h (the equation of time, up to ±16 min, and time zones are ignored). The
  default `DEFAULT_DIURNAL_PROFILE` is an **assumption** (U) of the usual residential shape:
  trough ~0.2 at 04-05 h, daytime plateau ~0.6, evening peak at 21 h. Only its peak is
  anchored: Starlink reports US "peak hours" as 18-21 h local (Starlink network update,
  starlink.com/updates, Mar 2024, **P**). Factors are interpolated linearly between hour
  centres (``k + 0.5``), periodic over
  the day; ``interpolate=False`` holds each hour's factor constant instead.

Terminal placement: explicit points, or a count per country drawn by population with
:func:`skymesh.ground.countries.sample_points` (or inside any polygon with
:func:`place_in_polygon`); each terminal gets its H3 service cell (:mod:`skymesh.capacity.cells`).

Subscriber weights
------------------
A scenario's terminal group may be a *sample* standing for many subscribers
(``[[terminals]] country = "US", count = 5_000, subscribers = 2_000_000``): every sampled
terminal then has the weight ``w = subscribers / count`` (400 here) and

- its demand is ``w x`` the per-subscriber demand (``demand_mbps(..., subscribers=w)``): the
  sample carries the whole base's traffic, spread over the places the sample was drawn at;
- the allocation is weighted max-min fair (a sample of weight w gets w times the share of a
  single subscriber, ``max_min_fair(..., weights=w)``), so ``rate / w`` is the rate of each
  subscriber it stands for, and per-subscriber statistics weight each sample by w
  (:func:`weighted_percentiles`);
- counts at a target rate and costs count subscribers (:func:`subscribers_at_rate`, sum of w).

The model assumes the subscribers a sample stands for share that sample's place and route
(same cell, same satellite): a coarser sample spreads the base over fewer places; counts at a
target rate are then granular by one sample's weight (a sample is admitted whole or not).

Example
-------
>>> d = demand_mbps(3, busy_hour_mbps=2.0, multiplier=100.0,
...                 utc_time="2026-01-01T19:30:00Z", lon_deg=30.0)   # 21:30 local
>>> d.round(1).tolist()
[200.0, 200.0, 200.0]
"""

from __future__ import annotations

from datetime import datetime

import numpy as np

from skymesh.capacity.cells import DEFAULT_RESOLUTION, cells_of
from skymesh.errors import InputError
from skymesh.inputs import iso2_upper
from skymesh.timebase import parse_time

DEFAULT_DIURNAL_PROFILE = np.array(
    [
        0.55,
        0.40,
        0.30,
        0.24,
        0.21,
        0.21,
        0.25,
        0.33,  # 00-07 h
        0.42,
        0.50,
        0.56,
        0.60,
        0.63,
        0.64,
        0.65,
        0.67,  # 08-15 h
        0.71,
        0.77,
        0.85,
        0.93,
        0.99,
        1.00,
        0.92,
        0.75,  # 16-23 h
    ]
)
"""Hourly demand factors by local solar hour (0 = 00:00-01:00), peak 1.0 at 21 h.
**Assumption (U)**; peak placed in Starlink's 18-21 h "peak hours" (Starlink network update,
Mar 2024, P)."""

HOUSEHOLD_GB_PER_MONTH = 453.0
"""Average UK fixed-broadband household volume (Ofcom Connected Nations 2022, via ISPreview;
N)."""

DEFAULT_BUSY_HOUR_MBPS = float(
    HOUSEHOLD_GB_PER_MONTH * 8e3 / (30.44 * 86400.0) / DEFAULT_DIURNAL_PROFILE.mean()
)
"""Busy-hour Mbit/s per household terminal: 453 GB/month as a mean rate (1.38 Mbit/s) divided
by the default profile's mean (0.587) -> ~2.35 Mbit/s. **D/U** (see the module docstring)."""

WAR_ZONE_MULTIPLIER = 100.0
"""'Up to 100x a household's data' (Musk on X, 14 Oct 2022, via CNN; N): an upper bound."""


def group_seed(seed: int, group: int) -> int:
    """Placement seed of terminal group ``group`` in a scenario of ``seed = seed``: every face
    that places a group's terminals (a run's :mod:`skymesh.sim.prepare`, ``skymesh capacity``'s
    probes) draws them with it, so equal inputs place equal points."""
    return int(np.random.SeedSequence([int(seed), int(group)]).generate_state(1)[0])


def _profile(profile) -> np.ndarray:
    p = DEFAULT_DIURNAL_PROFILE if profile is None else np.asarray(profile, dtype=float)
    if p.shape != (24,):
        raise InputError(
            f"a diurnal profile has 24 hourly factors, got shape {p.shape}", field="profile"
        )
    if not np.isfinite(p).all() or (p < 0).any():
        raise InputError("profile factors must be finite and >= 0", field="profile")
    return p


def local_solar_hour(utc_time, lon_deg) -> np.ndarray:
    """Local mean solar time (hours in [0, 24)) at longitudes ``lon_deg``: UTC + lon/15."""
    if isinstance(utc_time, (str, datetime)):
        t = parse_time(utc_time, field="utc_time")
        utc_h = t.hour + t.minute / 60.0 + (t.second + t.microsecond * 1e-6) / 3600.0
    elif isinstance(utc_time, np.datetime64):
        s = (utc_time - utc_time.astype("datetime64[D]")) / np.timedelta64(1, "s")
        utc_h = float(s) / 3600.0
    else:
        raise InputError(
            "utc_time must be a datetime, an ISO string or numpy datetime64", field="utc_time"
        )
    return np.mod(utc_h + np.asarray(lon_deg, dtype=float) / 15.0, 24.0)


def diurnal_factor(local_hour, profile=None, interpolate: bool = True) -> np.ndarray:
    """Profile factor at local solar hours (array_like, hours).

    ``interpolate=True``: linear between hour centres, periodic; else hour ``floor(h)``'s value.
    """
    p = _profile(profile)
    h = np.mod(np.asarray(local_hour, dtype=float), 24.0)
    if not interpolate:
        return p[np.floor(h).astype(int) % 24]
    x = h - 0.5
    k = np.floor(x).astype(int)
    f = x - k
    return p[k % 24] * (1.0 - f) + p[(k + 1) % 24] * f


def demand_mbps(
    terminals,
    busy_hour_mbps=DEFAULT_BUSY_HOUR_MBPS,
    multiplier=1.0,
    utc_time=None,
    lon_deg=None,
    profile=None,
    interpolate: bool = True,
    subscribers=1.0,
):
    """Demand of each terminal (Mbit/s) at one instant.

    Parameters
    ----------
    terminals : int or array_like
        Number of terminals n, or an array (n,) whose length sets n (e.g. their longitudes).
    busy_hour_mbps : float or array_like (n,)
        Busy-hour rate per terminal (default `DEFAULT_BUSY_HOUR_MBPS`, D/U). ``inf`` = elastic.
    multiplier : float or array_like (n,)
        Scale per terminal (e.g. `WAR_ZONE_MULTIPLIER` for military terminals).
    utc_time : datetime, ISO string or numpy datetime64, optional
        Instant; when omitted (or ``lon_deg`` is), the busy hour is assumed (factor 1).
    lon_deg : float or array_like (n,), optional
        Terminal longitudes, for the local solar time.
    profile : array_like (24,), optional
        Hourly factors (default `DEFAULT_DIURNAL_PROFILE`).
    subscribers : float or array_like (n,)
        Subscribers each terminal stands for (its weight, see `terminal_weights`); the
        demand is that many times one subscriber's.

    Returns
    -------
    ndarray (n,)
    """
    if isinstance(terminals, (int, np.integer)):
        n = int(terminals)
        if n < 0:
            raise InputError("number of terminals must be >= 0", field="terminals")
    else:
        n = int(np.asarray(terminals).shape[0])
    busy = np.broadcast_to(np.asarray(busy_hour_mbps, dtype=float), (n,))
    mult = np.broadcast_to(np.asarray(multiplier, dtype=float), (n,))
    if (busy < 0).any() or np.isnan(busy).any():
        raise InputError("busy-hour demand must be >= 0 Mbit/s", field="busy_hour_mbps")
    if (mult < 0).any() or not np.isfinite(mult).all():
        raise InputError("multiplier must be finite and >= 0", field="multiplier")
    subs = np.broadcast_to(np.asarray(subscribers, dtype=float), (n,))
    if not (subs > 0).all() or not np.isfinite(subs).all():
        raise InputError("subscribers per terminal must be finite and > 0", field="subscribers")
    if utc_time is None or lon_deg is None:
        factor = np.ones(n)
    else:
        hours = np.broadcast_to(local_solar_hour(utc_time, lon_deg), (n,))
        factor = diurnal_factor(hours, profile, interpolate)
    with np.errstate(invalid="ignore"):
        out = busy * mult * factor * subs
    return np.where(np.isnan(out), 0.0, out)  # inf x 0 (no demand at all) -> 0


def place_terminals(
    counts_by_country: dict,
    seed: int = 0,
    weight: str = "population",
    resolution: int = DEFAULT_RESOLUTION,
    countries=None,
) -> dict:
    """Terminals spread over countries, with their H3 cells.

    Parameters
    ----------
    counts_by_country : dict
        ``{iso2: n_terminals}``; each country's points come from
        :func:`skymesh.ground.countries.sample_points` (seed ``seed + i`` for the i-th country).
    weight : {'population', 'area'}

    Returns
    -------
    dict
        ``lat_deg``, ``lon_deg``, ``country`` (n,) and the :class:`~skymesh.capacity.cells.Cells`
        fields ``cell_ids``, ``cell_index``, ``cell_lat_deg``, ``cell_lon_deg``.
    """
    from skymesh.ground.countries import sample_points

    lat_parts: list[np.ndarray] = []
    lon_parts: list[np.ndarray] = []
    code_parts: list[np.ndarray] = []
    for i, (iso2, n) in enumerate(counts_by_country.items()):
        a, b = sample_points(iso2, int(n), weight=weight, seed=seed + i, countries=countries)
        lat_parts.append(a)
        lon_parts.append(b)
        code_parts.append(np.full(len(a), iso2_upper(iso2), dtype=object))
    lat = np.concatenate(lat_parts) if lat_parts else np.empty(0)
    lon = np.concatenate(lon_parts) if lon_parts else np.empty(0)
    code = np.concatenate(code_parts) if code_parts else np.empty(0, dtype=object)
    return {
        "lat_deg": lat,
        "lon_deg": lon,
        "country": code,
        **terminals_in_cells(lat, lon, resolution),
    }


def terminals_in_cells(lat_deg, lon_deg, resolution: int = DEFAULT_RESOLUTION) -> dict:
    """Explicit terminal points -> ``cell_ids``, ``cell_index``, ``cell_lat_deg``,
    ``cell_lon_deg`` and ``terminals_per_cell`` (C,)."""
    c = cells_of(lat_deg, lon_deg, resolution)
    return {
        "cell_ids": c.ids,
        "cell_index": c.index,
        "cell_lat_deg": c.lat_deg,
        "cell_lon_deg": c.lon_deg,
        "terminals_per_cell": np.bincount(c.index, minlength=len(c.ids)),
    }


def cell_demand_mbps(cell_index, demand, n_cells: int | None = None) -> np.ndarray:
    """Total demand per cell (Mbit/s); inf if any terminal of the cell is elastic."""
    idx = np.asarray(cell_index, dtype=int)
    d = np.broadcast_to(np.asarray(demand, dtype=float), idx.shape)
    n = int(idx.max(initial=-1) + 1) if n_cells is None else int(n_cells)
    fin = np.bincount(idx, weights=np.where(np.isinf(d), 0.0, d), minlength=n)
    has_inf = np.bincount(idx, weights=np.isinf(d).astype(float), minlength=n) > 0
    return np.where(has_inf, np.inf, fin)


def place_in_polygon(geom, n: int, seed: int = 0, weight: str = "population"):
    """``n`` points inside a shapely polygon (lat_deg, lon_deg), deterministic for ``seed``.

    ``"population"``: GeoNames places of 15,000+ people inside the polygon (any country),
    drawn with probability proportional to population and jittered by
    ``POPULATION_JITTER_KM`` as :func:`skymesh.ground.countries.sample_points` does (a jitter
    that leaves the polygon keeps the place itself). ``"area"``: uniform on the sphere.
    """
    import shapely

    from skymesh.ground.countries import (
        POPULATION_JITTER_KM,
        _geonames_places,
        _jitter,
        _sample_area,
    )

    if not isinstance(n, (int, np.integer)) or n < 0:
        raise InputError(f"n must be a whole number >= 0, got {n!r}", field="n")
    rng = np.random.default_rng(seed)
    if n == 0:
        return np.empty(0), np.empty(0)
    if weight == "area":
        return _sample_area(geom, int(n), rng)
    if weight != "population":
        raise InputError(f"unknown weight '{weight}'; use 'area' or 'population'", field="weight")
    _, plat, plon, ppop = _geonames_places()
    shapely.prepare(geom)
    sel = (ppop > 0) & shapely.contains_xy(geom, plon, plat)
    if not sel.any():
        raise InputError(
            "no GeoNames place of 15,000+ people lies inside the region; use area placement",
            field="region",
        )
    plat, plon, ppop = plat[sel], plon[sel], ppop[sel]
    pick = rng.choice(len(ppop), size=int(n), p=ppop / ppop.sum())
    lat, lon = plat[pick], plon[pick]
    jl, jo = _jitter(lat, lon, rng, POPULATION_JITTER_KM)
    inside = shapely.contains_xy(geom, jo, jl)
    return np.where(inside, jl, lat), np.where(inside, jo, lon)


# --- subscriber weights ----------------------------------------------------------------------


def group_sizes(loaded) -> list[int]:
    """Terminals each ``[[terminals]]`` group of a loaded scenario places, in order (the order
    :func:`skymesh.sim.prepare.prepare` concatenates them in)."""
    sizes = []
    for group in loaded.scenario.terminals:
        if group.points is not None:
            sizes.append(len(group.points))
        elif group.count is not None:
            sizes.append(int(group.count))
        elif group.largest is not None:
            from skymesh.ground.places import largest_places

            sizes.append(len(largest_places(group.largest, group.country)[0]))
        else:
            from skymesh.ground.places import load_hypatia_cities

            sizes.append(len(load_hypatia_cities(loaded.resolve(group.file))[1]))
    return sizes


def terminal_weights(loaded, n_terminals: int | None = None) -> np.ndarray:
    """Subscribers each placed terminal stands for (n,): ``subscribers / group size`` in a
    group that sets ``subscribers``, 1 elsewhere.

    ``n_terminals`` (the prepared run's count) is checked against the groups' sizes.
    """
    groups = loaded.scenario.terminals
    if all(g.subscribers is None for g in groups):
        if n_terminals is None:
            return np.ones(sum(group_sizes(loaded)))
        return np.ones(int(n_terminals))
    sizes = group_sizes(loaded)
    w = (
        np.concatenate(
            [
                np.full(k, 1.0 if g.subscribers is None else g.subscribers / k)
                for g, k in zip(groups, sizes)
            ]
        )
        if sizes
        else np.empty(0)
    )
    if n_terminals is not None and w.size != int(n_terminals):
        raise InputError(
            f"the terminal groups place {w.size} terminals, the run has {n_terminals}",
            file=loaded.source,
            field="terminals",
        )
    for i, (g, k) in enumerate(zip(groups, sizes)):
        if g.subscribers is not None and g.subscribers < k:
            raise InputError(
                f"subscribers = {g.subscribers:,} is fewer than the group's "
                f"{k:,} sampled terminals (a sample stands for >= 1 subscriber)",
                file=loaded.source,
                field=f"terminals.{i}.subscribers",
            )
    return w


def weights_note(loaded, weights=None) -> str:
    """One line for a report: what one sampled terminal stands for, group by group ('' when
    no group sets ``subscribers``)."""
    parts = []
    for g, k in zip(loaded.scenario.terminals, group_sizes(loaded)):
        if g.subscribers is None:
            continue
        where = g.name or g.country or "group"
        parts.append(
            f"{where}: one sampled terminal stands for {g.subscribers / k:,.4g} "
            f"subscribers ({g.subscribers:,} subscribers, a sample of {k:,})"
        )
    if not parts:
        return ""
    total = "" if weights is None else f"; {float(np.sum(weights)):,.0f} subscribers in all"
    return "; ".join(parts) + total


def weighted_percentiles(values, weights, q) -> np.ndarray:
    """Percentiles ``q`` (0-100) of ``values`` where value i counts ``weights[i]`` times.

    Inverted-CDF definition (numpy's ``method="inverted_cdf"``): the smallest value whose
    cumulative weight reaches q % of the total. NaN for no weight at all.
    """
    v = np.asarray(values, dtype=float).reshape(-1)
    w = np.broadcast_to(np.asarray(weights, dtype=float), v.shape)
    qs = np.atleast_1d(np.asarray(q, dtype=float))
    if (w < 0).any() or not np.isfinite(w).all():
        raise InputError("weights must be finite and >= 0", field="weights")
    keep = w > 0
    if not keep.any():
        return np.full(qs.shape, np.nan)
    return np.percentile(v[keep], qs, weights=w[keep], method="inverted_cdf")


def subscribers_at_rate(
    R, capacity_mbps, target_mbps, demand_mbps=None, weights=None, order=None
) -> dict:
    """How many subscribers can all get ``target_mbps`` each, samples admitted in ``order``.

    Sample f (a column of the routes ``R``) stands for ``weights[f]`` subscribers and needs
    ``min(weights[f] x target, demand[f])`` on every link of its route (its demand is already
    the sum over its subscribers). Exactly :func:`skymesh.capacity.allocation.max_terminals_at_rate`
    on the routes scaled column by column by the weights, with the per-subscriber target and
    demand ``demand / w``.

    Returns
    -------
    dict: ``n_samples`` (admitted samples), ``n_subscribers`` (sum of their weights),
    ``admitted`` (sample indices), ``limiting_link`` (-1 if all fit).
    """
    import scipy.sparse as sp

    from skymesh.capacity.allocation import max_terminals_at_rate

    R = sp.csr_matrix(R, dtype=float)
    n = R.shape[1]
    w = (
        np.ones(n)
        if weights is None
        else np.broadcast_to(np.asarray(weights, dtype=float), (n,)).copy()
    )
    if not (w > 0).all() or not np.isfinite(w).all():
        raise InputError("weights must be finite and > 0", field="weights")
    d = (
        None
        if demand_mbps is None
        else np.broadcast_to(np.asarray(demand_mbps, dtype=float), (n,)) / w
    )
    out = max_terminals_at_rate(R @ sp.diags(w), capacity_mbps, target_mbps, d, order=order)
    return {
        "n_samples": out["n_terminals"],
        "n_subscribers": float(w[out["admitted"]].sum()),
        "admitted": out["admitted"],
        "limiting_link": out["limiting_link"],
    }
