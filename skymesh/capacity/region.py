"""How many terminals can a region carry at a target rate, and what binds first?

The engine of ``skymesh capacity REGION``. One 15 s slot, one region (a country or a polygon):

1. **Probe sample**: ``probes`` terminals placed by population inside the region
   (:func:`skymesh.ground.countries.sample_points` for a country, with the seed a scenario of
   ``seed = SEED`` gives its first terminal group, :func:`skymesh.capacity.demand.group_seed`;
   :func:`skymesh.capacity.demand.place_in_polygon` for a polygon), grouped into service
   cells (:func:`skymesh.capacity.slot_network.service_cells`).
2. **The slot's network** (:func:`slot_network`): at the start of the 15 s slot holding
   ``at`` (:mod:`skymesh.access.slots`) every satellite in view of a cell above the mask is a
   candidate beam and each satellite's traffic takes its shortest route to any listed gateway
   (no policy) -- built by :mod:`skymesh.capacity.slot_network`, as a scenario run's capacity
   pass builds it. Capacities are a scenario's ``[capacity]`` defaults
   (:data:`skymesh.capacity.slot_network.CAPACITY_DEFAULTS`) with each gateway's listed
   capacity where the file gives one. With rain, beam and feeder capacities are re-budgeted
   (:func:`skymesh.capacity.slot_network.faded_capacities`, :mod:`skymesh.links.rain`).
3. **The headline** (:mod:`skymesh.capacity.headline`, the one definition every face uses):
   terminals carried at the target rate, what binds, and the per-terminal rate.
4. **Secondary figures**: the load-aware assignment with elastic demand
   (:func:`skymesh.capacity.assignment.assign_cells`, max-min fair over cells weighted by
   their probes, so per terminal), giving each probe's rate with every probe demanding at
   once: its percentiles are ``fair_share_mbps``, their sum ``aggregate_gbps``.

Check between two formulations (tested): with these weights the first level of the max-min
progressive filling is the largest rate every covered probe can have at once, so it equals
the headline's ``per_terminal_mbps``.

Probes in cells no satellite sees above the mask, or whose satellites reach no gateway, are
not covered and cannot be carried; their number is reported.
"""

from __future__ import annotations

import time as _time
from pathlib import Path

import numpy as np

from skymesh.capacity.headline import KIND_LABELS, capacity_headline, capacity_inputs, slot_headline
from skymesh.capacity.network import NetworkCapacityParams
from skymesh.capacity.slot_network import (
    CAPACITY_DEFAULTS,
    antennas_note,
    backhaul_of_pairs,
    capacity_params,
    faded_capacities,
    ground_links,
    service_cells,
    slot_links,
)
from skymesh.errors import InputError

__all__ = ["KIND_LABELS", "faded_capacities", "load_region", "region_capacity", "slot_network"]

MAX_TARGET_MBPS = 100_000.0
"""Largest rate (Mbit/s) a terminal may be asked to get: 100 Gbit/s, above the whole
downlink of any one satellite (a Starlink V2 mini carries ~100 Gbit/s, SpaceX 2023), so a
larger target can only mean a typo; beyond it the LP's coefficients overflow to inf."""

MAX_SEED = 2**63 - 1
"""Largest seed (the scenario schema's bound; numpy takes any non-negative int)."""

DEFAULT_PROBES = 2000
"""Probe terminals placed in the region: enough that every populated cell of a mid-size
country holds several, few enough that one instant routes in about a second."""


# --- region ------------------------------------------------------------------------------------


def load_region(region: str, countries=None):
    """``(name, code, geometry)`` of a region: an ISO 3166-1 alpha-2 code, a country name
    ("Ukraine") or a GeoJSON file
    (a Polygon / MultiPolygon, a Feature or a FeatureCollection: the union of its polygons).
    ``code`` is the country code or '' for a polygon."""
    import shapely

    text = str(region).strip()
    path = Path(text).expanduser()
    if path.suffix.lower() in (".geojson", ".json") or path.is_file():
        from skymesh.inputs import loads_json, read_input_text

        try:
            raw = read_input_text(path, "GeoJSON region file")
        except InputError as exc:
            raise InputError(f"REGION: {exc.message}", file=path, line=exc.line) from None
        try:
            doc = loads_json(raw, path, "GeoJSON region file")
            if isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
                feats = doc.get("features")
                if not isinstance(feats, list) or not all(
                    isinstance(f, dict) and isinstance(f.get("geometry"), dict) for f in feats
                ):
                    raise InputError(
                        "REGION: a FeatureCollection's 'features' must be a list of "
                        "Features, each with a geometry object",
                        file=path,
                    )
                geoms = [shapely.geometry.shape(f["geometry"]) for f in feats]
            elif isinstance(doc, dict) and doc.get("type") == "Feature":
                geoms = [shapely.geometry.shape(doc["geometry"])]
            else:
                geoms = [shapely.geometry.shape(doc)]
        except InputError:
            raise
        except (
            ValueError,
            KeyError,
            TypeError,
            AttributeError,
            shapely.errors.ShapelyError,
        ) as exc:
            raise InputError(f"REGION: not a GeoJSON polygon ({exc})", file=path) from None
        polys = [g for g in geoms if g.geom_type in ("Polygon", "MultiPolygon") and not g.is_empty]
        if not polys:
            raise InputError("REGION: the file holds no Polygon or MultiPolygon", file=path)
        geom = shapely.union_all(polys)
        x0, y0, x1, y1 = geom.bounds
        if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
            raise InputError(
                "REGION: coordinates outside lon [-180, 180], "
                "lat [-90, 90] (GeoJSON is [lon, lat])",
                file=path,
            )
        return path.stem, "", geom
    from skymesh.ground.countries import country_geometry
    from skymesh.ground.places import resolve_country

    try:  # an ISO 3166-1 alpha-2 code or a country name ("UA", "ua", "Ukraine")
        code = resolve_country(text)
    except InputError as exc:
        raise InputError(
            f"REGION '{region}' is neither a country (ISO 3166-1 alpha-2 code or name) "
            f"nor a GeoJSON file (.geojson): {exc.message}"
        ) from None
    try:
        geom = country_geometry(code, countries)
    except InputError as exc:
        raise InputError(f"REGION: {exc.message}") from None
    return code, code, geom


def place_probes(code: str, geom, n: int, seed: int = 0, countries=None):
    """Probe terminals by population inside the region (lat_deg, lon_deg), drawn with the
    seed a scenario of ``seed = SEED`` gives its first terminal group
    (:func:`skymesh.capacity.demand.group_seed`), so ``[[terminals]] country = CODE,
    count = n, placement = "population"`` places the same points."""
    from skymesh.capacity.demand import group_seed, place_in_polygon
    from skymesh.ground.countries import sample_points

    s = group_seed(seed, 0)
    if code:
        return sample_points(code, int(n), weight="population", seed=s, countries=countries)
    return place_in_polygon(geom, int(n), seed=s, weight="population")


# --- the answer ---------------------------------------------------------------------------------

STALE_TLE_DAYS = 7.0
"""Warn when the slot is this many days or more from the TLE snapshot's epoch (as a run does)."""


def _constellation(constellation, notes: list):
    from skymesh.orbits.presets import load_constellation, preset_names

    c = str(constellation)
    if c.lower() in preset_names():
        return load_constellation(c, report=notes)
    path = Path(c).expanduser().resolve()
    if not path.is_file():
        raise InputError(
            f"--constellation: '{c}' is neither a preset "
            f"({', '.join(preset_names())}) nor a TLE file",
            field="--constellation",
        )
    return load_constellation(str(path), report=notes)


def slot_network(
    constellation,
    at,
    gateways,
    lat_deg,
    lon_deg,
    *,
    weights=None,
    country: str = "",
    params_values: dict | None = None,
    params: NetworkCapacityParams | None = None,
    mode: str = "isl",
    min_elevation_deg: float | None = None,
    resolution: int | None = None,
    force_epoch: bool = False,
) -> dict:
    """The beam pairs and backhaul of the 15 s slot holding ``at`` for terminals at
    (``lat_deg``, ``lon_deg``), every listed gateway allowed
    (:mod:`skymesh.capacity.slot_network`, as a scenario run's capacity pass builds them).

    ``weights`` (n,): subscribers per terminal (default 1); ``country``: the terminals' exit
    group (a country code; '' = each terminal's country); ``params_values``: ``[capacity]``
    values (default :data:`~skymesh.capacity.slot_network.CAPACITY_DEFAULTS`) with each
    gateway's listed capacity; ``params`` replaces both. The constellation's operator
    (:func:`skymesh.links.operators.constellation_operator`) brings its own user link, beams
    per satellite, beams per cell, cell size (``resolution`` None), elevation mask
    (``min_elevation_deg`` None) and ISLs: an operator without ISLs is routed bent pipe,
    said in ``notes``. Returns ``operator`` (its :func:`~skymesh.links.operators.beam_model`),
    ``time_utc`` (slot start), ``constellation`` (its name and satellites), ``sat_ecef_km``
    (N, 3), ``cells``, ``heads`` (C,) subscribers per cell, ``cell_beam_cap`` (C,), ``pairs``,
    ``backhaul`` (:func:`~skymesh.capacity.slot_network.backhaul_of_pairs`), ``params``,
    ``gateway_lat`` / ``gateway_lon`` (W,), ``notes``. ``force_epoch`` propagates a TLE set
    past :data:`skymesh.orbits.propagate.EPOCH_HORIZON_DAYS`.
    """
    from skymesh.access.slots import slot_start_s
    from skymesh.ground.countries import country_of
    from skymesh.ground.gateways import load_gateways
    from skymesh.links.isl import plus_grid_pairs
    from skymesh.links.operators import beam_model, constellation_operator
    from skymesh.orbits.propagate import allow_far_epoch, positions_ecef
    from skymesh.timebase import TimeGrid, parse_time, time_grid

    notes: list[str] = []
    const = _constellation(constellation, notes)
    if force_epoch:
        allow_far_epoch(const)
    model = beam_model(constellation_operator(constellation, const.sat_names, notes))
    if min_elevation_deg is None:
        min_elevation_deg = float(model["user_min_elevation_deg"])
    if resolution is None:
        resolution = int(model["cell_resolution"])
    if not model["isls"] and mode != "bent-pipe":
        notes.append(f"{model['operator']} has no inter-satellite links: routed bent pipe")
        mode = "bent-pipe"
    if at is None:
        start = const.epoch.replace(second=0, microsecond=0)
        notes.append(f"start = the constellation's element epoch, {start:%Y-%m-%d %H:%M} UTC")
    else:
        start = parse_time(at, field="--at")
    grid = time_grid(start, 1.0, 1.0)
    if const.is_tle:
        days = abs((grid.start - const.epoch).total_seconds()) / 86400
        if days >= STALE_TLE_DAYS:
            notes.append(
                f"warning: the slot is {days:.0f} days from the TLE epoch "
                f"({const.epoch:%Y-%m-%d}); SGP4 positions that far out are "
                "not an ephemeris, only a plausible geometry"
            )
    sub = TimeGrid(grid.start, np.array([float(slot_start_s(grid.start, 0.0))]))
    gw = load_gateways(Path(gateways).expanduser())
    notes += borrowed_gateways_note(model["operator"], gateways)
    lat = np.asarray(lat_deg, dtype=float)
    lon = np.asarray(lon_deg, dtype=float)
    cc = np.full(lat.size, country) if country else country_of(lat, lon)
    groups, group_of = np.unique(cc, return_inverse=True)
    cells = service_cells(lat, lon, group_of, resolution)
    if params is None:
        from skymesh.ground.gateways import site_antennas

        values = {"beams_per_sat": int(model["beams_per_sat"]), **(params_values or {})}
        default_antennas = values.get("gateway_antennas", CAPACITY_DEFAULTS["gateway_antennas"])
        antennas, listed = site_antennas(gw, default_antennas)
        notes.append(antennas_note(listed, default_antennas))
        params = capacity_params(
            gw.capacity_gbps,
            beam_link=model["beam_link"],
            max_beams_per_cell=model["max_beams_per_cell"],
            site_antennas=antennas,
            **values,
        )
    pos = positions_ecef(const, sub, serving_only=True)
    links = ground_links(
        pos,
        gw.lat_deg,
        gw.lon_deg,
        min_elevation_deg=min_elevation_deg,
        isl_pairs=None if mode == "bent-pipe" else plus_grid_pairs(const),
    )
    exit_mask = np.ones((groups.size, len(gw.lat_deg)), dtype=bool)  # no policy
    net = slot_links(
        pos[:, 0],
        links,
        cells,
        exit_mask,
        gw.lat_deg,
        gw.lon_deg,
        params,
        mode=mode,
        min_elevation_deg=min_elevation_deg,
    )
    w = (
        np.ones(lat.size)
        if weights is None
        else np.broadcast_to(np.asarray(weights, dtype=float), (lat.size,))
    )
    heads = np.bincount(cells["index"], weights=w, minlength=cells["group"].size)
    return {
        "time_utc": sub.datetimes()[0],
        "constellation": (str(constellation), len(const)),
        "sat_ecef_km": pos[:, 0],
        "terminal_lat": lat,
        "terminal_lon": lon,
        "terminal_weight": w,
        "cells": cells,
        "heads": heads,
        "cell_beam_cap": np.minimum(params.max_beams_per_cell, heads),
        "pairs": net["pairs"],
        "backhaul": backhaul_of_pairs(cells, net["pairs"], net["bh"], net["n_sats"]),
        "params": params,
        "operator": model,
        "mode": mode,
        "min_elevation_deg": float(min_elevation_deg),
        "resolution": int(resolution),
        "gateway_lat": np.asarray(gw.lat_deg, float),
        "gateway_lon": np.asarray(gw.lon_deg, float),
        "notes": notes,
    }


def default_gateways(constellation) -> Path:
    """The gateway list a capacity question takes when given none: the constellation's
    operator's own (:func:`skymesh.links.operators.operator_gateway_file`), Starlink's the
    default list (:func:`skymesh.ground.sites.default_sites`); an operator without one is an
    error naming ``--gateways``, never another operator's list."""
    from skymesh.links.operators import (
        UNKNOWN_OPERATOR_MODEL,
        guess_operator,
        operator_gateway_file,
    )

    op = guess_operator(constellation) or UNKNOWN_OPERATOR_MODEL
    own = operator_gateway_file(op)
    if own is None:
        raise InputError(
            f"{op} has no gateway list of its own here and SkyMesh will not lend it another "
            "operator's; give --gateways FILE (CSV or TOML) with its sites",
            field="--gateways",
        )
    return own


def borrowed_gateways_note(operator: str, gateways) -> list[str]:
    """A note when the gateway file is another operator's shipped list (by file name):
    asked for explicitly, so allowed, but said."""
    from skymesh.links.operators import OPERATORS

    name = Path(str(gateways)).name
    for other, row in OPERATORS.items():
        if other != operator and row["gateways"][0] == name:
            return [f"{operator} borrows {other}'s gateway list ({name}), as asked"]
    return []


def operator_summary(model: dict) -> dict:
    """The ``operator`` block of an answer: whose user link, beams and ISLs were used, each
    value with its status and source (:data:`skymesh.links.operators.OPERATORS`)."""
    from skymesh.links.operators import OPERATORS

    row = OPERATORS[model["operator"]]
    return {
        "operator": model["operator"],
        "name": str(row["name"][0]),
        "beam_link": model["beam_link"].name,
        "parameters": {
            k: {"value": v[0], "status": v[1], "source": v[2]}
            for k, v in row.items()
            if k != "name"
        },
    }


def operator_inputs(model: dict, params: NetworkCapacityParams) -> dict:
    """The operator part of the ``inputs`` block: what two faces must share to agree."""
    return {
        "operator": model["operator"],
        "beam_link": params.beam_link.name,
        "beams_per_sat": int(params.beams_per_sat),
        "max_beams_per_cell": int(params.max_beams_per_cell),
        "isls": bool(model["isls"]),
    }


def _answer(net: dict, pair_cap, backhaul_cap, target_mbps: float) -> dict:
    """The headline's slot figures (:func:`skymesh.capacity.headline.slot_headline`) and
    the elastic max-min assignment (secondary) of one variant (clear sky or rain)."""
    from skymesh.capacity.assignment import assign_cells

    params = net["params"]
    pairs, cells, heads = net["pairs"], net["cells"], net["heads"]
    keep = np.asarray(pair_cap) > 0
    bh = dict(net["backhaul"], capacity_mbps=np.asarray(backhaul_cap, dtype=float))
    bh["route_of_pair"] = net["backhaul"]["route_of_pair"][keep]
    pc, ps, k = pairs["cell"][keep], pairs["sat"][keep], np.asarray(pair_cap)[keep]
    slot_utc = net["time_utc"].isoformat().replace("+00:00", "Z")
    head = slot_headline(
        pc,
        ps,
        k,
        heads,
        target_mbps,
        params=params,
        backhaul=bh,
        admit_cell_beam_cap=net["cell_beam_cap"],
        slot_utc=slot_utc,
    )
    # a probe stands for many terminals: a cell may use all its channels (8 beams at once)
    res = assign_cells(
        pc,
        ps,
        k,
        np.full(heads.size, np.inf),
        n_cells=heads.size,
        cell_weight=np.maximum(heads, 1e-12),
        cell_beam_cap=params.max_beams_per_cell,
        beams_per_sat=params.beams_per_sat,
        sat_downlink_mbps=params.sat_downlink_mbps,
        backhaul=bh,
    )
    level = np.asarray(res["cell_level"], dtype=float)
    reason = np.asarray(res["cell_reason"]).astype(str)
    covered = ~np.isin(reason, ("no-coverage", "no-route"))
    rate = level[cells["index"]]  # Mbit/s per probe terminal
    t_cov = covered[cells["index"]]
    q = np.percentile(rate[t_cov], (5, 50, 95)) if t_cov.any() else np.full(3, np.nan)
    levels = np.asarray(res["levels"], dtype=float)
    return {
        "slot": head,
        "terminals_at_target": head["terminals_at_target"],
        "admitted_at_target": head["admitted_at_target"],
        "n_more": head["terminals_at_target"] - head["terminals_covered"],
        "per_probe": head["alpha"],
        "binding_kind": head["binding_constraint"],
        "binding_share": {KIND_LABELS.get(kk, kk): v for kk, v in head["binding_share"].items()},
        "aggregate_gbps": float(rate[t_cov].sum() / 1e3),
        "first_level_mbps": float(levels[0]) if levels.size else float("nan"),
        "fair_share_mbps": {"p5": float(q[0]), "p50": float(q[1]), "p95": float(q[2])},
        "covered_probes": int(t_cov.sum()),
        "cells_covered": int(covered.sum()),
        "lp_seconds": float(head["lp_seconds"] + res["lp_seconds"]),
    }


def region_capacity(
    region: str,
    *,
    constellation: str = "starlink-shell1",
    target_mbps=25.0,
    at=None,
    gateways=None,
    rain_mmh: float | None = None,
    probes: int = DEFAULT_PROBES,
    seed: int = 0,
    mode: str = "isl",
    min_elevation_deg: float | None = None,
    resolution: int | None = None,
    params: NetworkCapacityParams | None = None,
    countries=None,
    force_epoch: bool = False,
) -> dict:
    """How many terminals ``region`` can carry at ``target_mbps`` in the slot holding ``at``.

    Parameters
    ----------
    region : str
        ISO alpha-2 code or a GeoJSON polygon file.
    constellation : str
        Preset name or TLE file.
    target_mbps : float
        Rate every carried terminal gets (Mbit/s).
    at : datetime or ISO string, optional
        Instant (UTC); default the constellation's element epoch.
    gateways : path, optional
        Gateway list (CSV or TOML, :func:`skymesh.ground.gateways.load_gateways`); default
        the gateway + PoP list shipped with SkyMesh (:func:`skymesh.ground.sites.default_sites`).
        Every listed gateway may be used (no policy).
    rain_mmh : float, optional
        Rain over the region (mm/h): user links of every cell and feeders of gateways inside
        the region fade (:mod:`skymesh.links.rain`); the headline is then the rain answer and
        ``model`` the clear-sky one. Without it the link presets' budgets (with their annual
        rain margin) are used.
    probes : int
        Probe terminals placed by population (the seed of a scenario's first terminal group).
    seed : int
        Seed of the probe placement, 0 .. 2**63 - 1.
    force_epoch : bool
        Propagate a TLE set past :data:`skymesh.orbits.propagate.EPOCH_HORIZON_DAYS`.
    params : NetworkCapacityParams, optional
        Replaces the capacities built from
        :data:`~skymesh.capacity.slot_network.CAPACITY_DEFAULTS` and the gateway list.
    min_elevation_deg, resolution : optional
        Elevation mask (deg) and H3 cell resolution; default the operator's
        (:mod:`skymesh.links.operators`). ``mode`` falls back to bent pipe for an operator
        without ISLs (said in ``notes``).

    Returns
    -------
    dict: ``headline`` (:func:`skymesh.capacity.headline.capacity_headline`: the answer),
    ``inputs`` (:func:`skymesh.capacity.headline.capacity_inputs`), ``region``,
    ``time_utc`` (slot start), ``operator`` (the operator whose user link, beams and
    ISLs were used, with each parameter's source), ``probes`` (placed, cells, covered, not
    covered), ``model``
    and ``rain`` (None without ``rain_mmh``): each variant's figures, secondary to the
    headline -- ``terminals_at_target``, ``admitted_at_target``, ``n_more`` (beyond the
    probes), ``per_probe`` (alpha), ``binding_kind`` and ``binding_share`` (each kind's
    share of the LP's duals), ``aggregate_gbps`` (all probes' rates summed),
    ``fair_share_mbps`` (probe percentiles of the elastic max-min share, every probe
    demanding at once; not a speed one user measures), ``first_level_mbps``; ``elapsed_s``.
    """
    import shapely

    t0 = _time.perf_counter()
    if not (isinstance(probes, (int, np.integer)) and 1 <= probes <= 200_000):
        raise InputError("--probes must be a whole number in 1..200000", field="--probes")
    try:
        target_ok = 0 < float(target_mbps) <= MAX_TARGET_MBPS
    except (TypeError, ValueError):
        target_ok = False
    if not target_ok:
        raise InputError(
            f"--target-mbps must be > 0 and at most {MAX_TARGET_MBPS:,.0f} Mbit/s",
            field="--target-mbps",
        )
    if not (isinstance(seed, (int, np.integer)) and 0 <= seed <= MAX_SEED):
        raise InputError(f"--seed must be a whole number in 0..{MAX_SEED}", field="--seed")
    if rain_mmh is not None and not 0 <= rain_mmh <= 300:
        raise InputError("--rain-mmh must be in 0..300 mm/h", field="--rain-mmh")
    from skymesh.ground.sites import sites_file
    from skymesh.shipped import data_line

    if gateways is None:  # the operator's own list; Starlink's: the default (ground.sites)
        gateways = default_gateways(constellation)
    name, code, geom = load_region(region, countries)
    lat, lon = place_probes(code, geom, probes, seed, countries)
    net = slot_network(
        constellation,
        at,
        gateways,
        lat,
        lon,
        country=code,
        params=params,
        mode=mode,
        min_elevation_deg=min_elevation_deg,
        resolution=resolution,
        force_epoch=force_epoch,
    )
    cells = net["cells"]
    n_gw = net["gateway_lat"].size
    mode, min_elevation_deg, resolution = net["mode"], net["min_elevation_deg"], net["resolution"]
    out = {
        "region": name,
        "country": code,
        "time_utc": net["time_utc"].isoformat().replace("+00:00", "Z"),
        "constellation": str(constellation),
        "operator": operator_summary(net["operator"]),
        "target_mbps": float(target_mbps),
        "mode": mode,
        "gateways": int(n_gw),
        "rain_mmh": rain_mmh,
    }
    pc, bc = net["pairs"]["capacity_mbps"], net["backhaul"]["capacity_mbps"]
    if rain_mmh is None:
        out["model"] = _answer(net, pc, bc, target_mbps)
        out["model"]["budget"] = "link presets (annual rain margin)"
        out["rain"] = None
        answer = out["model"]
    else:
        from skymesh.links.rain import recommendations_text

        inside = shapely.contains_xy(geom, net["gateway_lon"], net["gateway_lat"])
        args = (
            net["pairs"],
            net["backhaul"],
            net["sat_ecef_km"],
            cells["lat_deg"],
            cells["lon_deg"],
            net["gateway_lat"],
            net["gateway_lon"],
        )
        clear = faded_capacities(*args, 0.0, 0.0, net["params"])
        out["model"] = _answer(net, *clear, target_mbps)
        out["model"]["budget"] = "clear sky"
        wet = faded_capacities(
            *args, float(rain_mmh), np.where(inside, float(rain_mmh), 0.0), net["params"]
        )
        out["rain"] = _answer(net, *wet, target_mbps)
        out["rain"]["budget"] = f"rain {rain_mmh:g} mm/h over the region"
        out["rain"]["gateways_in_rain"] = int(inside.sum())
        out["rain"]["recommendations"] = recommendations_text()
        answer = out["rain"]
    slot = answer.pop("slot")
    if out["rain"] is not None:
        out["model"].pop("slot")
    out["headline"] = capacity_headline([slot], target_mbps, counts_in="terminals")
    p = net["params"]
    out["inputs"] = capacity_inputs(
        source=f"skymesh capacity {name}: {probes:,} probes placed by population, seed {seed}",
        terminal_lat_deg=net["terminal_lat"],
        terminal_lon_deg=net["terminal_lon"],
        terminal_weight=net["terminal_weight"],
        counts_in="terminals",
        gateway_lat_deg=net["gateway_lat"],
        gateway_lon_deg=net["gateway_lon"],
        gateway_site_mbps=np.broadcast_to(np.asarray(p.gateway_antenna_mbps, float), (n_gw,)),
        gateway_exits="every listed gateway, no policy",
        constellation=net["constellation"][0],
        satellites=net["constellation"][1],
        slots_utc=[out["time_utc"]],
        mode=mode,
        min_elevation_deg=min_elevation_deg,
        cell_resolution=resolution,
        capacity=dict(CAPACITY_DEFAULTS, beams_per_sat=int(p.beams_per_sat))
        if params is None
        else {"params": repr(params)},
        operator=operator_inputs(net["operator"], p),
        rain=None if rain_mmh is None else f"{rain_mmh:g} mm/h over the region",
    )
    cov = out["model"]["covered_probes"]
    out["probes"] = {
        "placed": int(lat.size),
        "cells": int(cells["group"].size),
        "covered": cov,
        "not_covered": int(lat.size) - cov,
    }
    out["notes"] = list(net["notes"])
    out["data"] = {"gateways": sites_file(gateways).record()}
    out["notes"].append(data_line(out["data"]))
    out["elapsed_s"] = _time.perf_counter() - t0
    return out
