"""How many terminals can a region carry at a target rate, and what binds first?

The engine of ``skymesh capacity REGION``. One instant, one region (a country or a polygon):

1. **Probe sample**: ``probes`` terminals placed by population inside the region
   (:func:`skymesh.ground.countries.sample_points` for a country,
   :func:`skymesh.capacity.demand.place_in_polygon` for a polygon), grouped into H3 cells.
2. **Routes**: each probe's egress route at that instant (terminal -> satellites over ISLs ->
   gateway), exactly as a scenario run computes it (the probes become a one-step egress
   scenario with the default, unrestricted policy, handed to :mod:`skymesh.sim.prepare` and
   :func:`skymesh.sim.egress_chunk.route_block`).
3. **Capacity**: beams, satellite downlink, ISLs, feeders and gateway sites of those routes
   (:func:`skymesh.capacity.network.build_step_network`), optionally with the rain fade of
   ``rain_mmh`` over the region (:mod:`skymesh.links.rain`), and the max-min fair rates of the
   probes with elastic demand (:func:`skymesh.capacity.allocation.max_min_fair`).
4. **Terminals at the target rate**, demand spread like the population: every served probe
   stands for the same number s of terminals, each wanting ``target_mbps``. All fit iff
   ``s x target x n_l <= c_l`` on every link l (n_l = probes crossing l), so

       s* = min_l c_l / (target x n_l),   terminals carried = s* x (served probes),

   and the link reaching that minimum is the **binding constraint**. Two formulations give the
   same number and are checked against each other in the tests: the closed form above and the
   max-min fair allocation, whose smallest rate is the largest rate all probes can have at
   once (max-min fairness maximises the minimum first), ``s* = min_rate / target``.
   The same minimum taken over the links of one kind at a time gives, for each kind (beam,
   satellite downlink, ISL, feeder, gateway), the terminals at which it would bind if the
   others were unlimited: how much headroom each has.

Probes without a route (no satellite in view above the mask, or no gateway reachable) or
without a beam (their satellite's beams go to busier cells) cannot be carried at this instant;
their number is reported. The count depends on the routing layer's choice of satellite per
probe (shortest delay), as in a scenario run.
"""

from __future__ import annotations

import time as _time
from pathlib import Path

import numpy as np

from skymesh.capacity.allocation import max_min_fair
from skymesh.capacity.cells import DEFAULT_RESOLUTION, cells_of
from skymesh.capacity.network import LINK_KINDS, NetworkCapacityParams, build_step_network
from skymesh.errors import InputError

DEFAULT_PROBES = 2000
"""Probe terminals placed in the region: enough that every populated cell of a mid-size
country holds several, few enough that one instant routes in about a second."""

KIND_LABELS = {"beam": "user beams", "sat-downlink": "satellite downlink", "isl": "ISLs",
               "gsl-feeder": "gateway feeder links", "gateway": "gateway sites"}


# --- region ------------------------------------------------------------------------------------

def load_region(region: str, countries=None):
    """``(name, code, geometry)`` of a region: an ISO 3166-1 alpha-2 code or a GeoJSON file
    (a Polygon / MultiPolygon, a Feature or a FeatureCollection: the union of its polygons).
    ``code`` is the country code or '' for a polygon."""
    import shapely
    text = str(region).strip()
    path = Path(text).expanduser()
    if path.suffix.lower() in (".geojson", ".json") or path.is_file():
        try:
            raw = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"REGION: cannot read {path} ({exc.strerror})", file=path) from None
        try:
            import json
            doc = json.loads(raw)
            feats = doc.get("features") if isinstance(doc, dict) else None
            if feats is not None:
                geoms = [shapely.geometry.shape(f["geometry"]) for f in feats]
            elif isinstance(doc, dict) and doc.get("type") == "Feature":
                geoms = [shapely.geometry.shape(doc["geometry"])]
            else:
                geoms = [shapely.geometry.shape(doc)]
        except (ValueError, KeyError, TypeError, AttributeError,
                shapely.errors.GEOSException) as exc:
            raise InputError(f"REGION: {path} is not a GeoJSON polygon ({exc})",
                             file=path) from None
        polys = [g for g in geoms if g.geom_type in ("Polygon", "MultiPolygon") and not g.is_empty]
        if not polys:
            raise InputError(f"REGION: {path} holds no Polygon or MultiPolygon", file=path)
        geom = shapely.union_all(polys)
        x0, y0, x1, y1 = geom.bounds
        if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
            raise InputError(f"REGION: {path} has coordinates outside lon [-180, 180], "
                             "lat [-90, 90] (GeoJSON is [lon, lat])", file=path)
        return path.stem, "", geom
    from skymesh.ground.countries import country_geometry
    from skymesh.ground.places import is_iso2
    code = text.upper()
    if not is_iso2(code):
        raise InputError(f"REGION '{region}' is neither an ISO 3166-1 alpha-2 country code "
                         "nor a GeoJSON file (.geojson)", field="REGION")
    try:
        geom = country_geometry(code, countries)
    except InputError as exc:
        raise InputError(f"REGION: {exc.message}", field="REGION") from None
    return code, code, geom


def place_probes(code: str, geom, n: int, seed: int = 0, countries=None):
    """Probe terminals by population inside the region (lat_deg, lon_deg)."""
    from skymesh.capacity.demand import place_in_polygon
    from skymesh.ground.countries import sample_points
    if code:
        return sample_points(code, int(n), weight="population", seed=seed, countries=countries)
    return place_in_polygon(geom, int(n), seed=seed, weight="population")


# --- the answer ---------------------------------------------------------------------------------

def _geometry(sat_xyz, lat_deg, lon_deg):
    """Range (km) and elevation (deg) from ground points to satellites, pairwise."""
    from skymesh.links.visibility import local_frames
    from skymesh.orbits.frames import geodetic_to_ecef
    g = geodetic_to_ecef(lat_deg, lon_deg).reshape(-1, 3)
    _, _, up = local_frames(lat_deg, lon_deg)
    d = sat_xyz - g
    rng = np.linalg.norm(d, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        el = np.degrees(np.arcsin(np.clip(np.einsum("ik,ik->i", d, up) / rng, -1.0, 1.0)))
    return rng, el


def rain_capacities(net: dict, sat_ecef_km, cell_lat_deg, cell_lon_deg, gateway_lat_deg,
                    gateway_lon_deg, cell_rain_mmh, gateway_rain_mmh,
                    params: NetworkCapacityParams) -> np.ndarray:
    """Link capacities of a built step network (Mbit/s) under clear sky + rain.

    Beam links (satellite a, cell b) and feeder links (gateway a, satellite b) are re-budgeted
    with :func:`skymesh.links.rain.link_capacity_with_rain_mbps` at their geometry and the
    rain rate at their ground end (0 = clear sky); other links, and beams or feeders given a
    fixed capacity, keep theirs.
    """
    from skymesh.links.rain import link_capacity_with_rain_mbps
    cap = np.asarray(net["capacity_mbps"], dtype=float).copy()
    kind, a, b = net["kind"], net["a"], net["b"]
    sat = np.asarray(sat_ecef_km, dtype=float)
    clat, clon = np.asarray(cell_lat_deg, float), np.asarray(cell_lon_deg, float)
    glat, glon = np.asarray(gateway_lat_deg, float), np.asarray(gateway_lon_deg, float)
    crain = np.broadcast_to(np.asarray(cell_rain_mmh, float), clat.shape)
    grain = np.broadcast_to(np.asarray(gateway_rain_mmh, float), glat.shape)
    beam = np.flatnonzero(kind == LINK_KINDS.index("beam"))
    if beam.size and params.beam_capacity_mbps is None:
        s, c = a[beam], b[beam]
        rng, el = _geometry(sat[s], clat[c], clon[c])
        cap[beam] = link_capacity_with_rain_mbps(rng, el, params.beam_link, clat[c], clon[c],
                                                 crain[c]) \
            * params.channels_per_beam / params.frequency_reuse
    feed = np.flatnonzero(kind == LINK_KINDS.index("gsl-feeder"))
    if feed.size and params.feeder_capacity_mbps is None:
        g, s = a[feed], b[feed]
        rng, el = _geometry(sat[s], glat[g], glon[g])
        cap[feed] = link_capacity_with_rain_mbps(rng, el, params.feeder_link, glat[g], glon[g],
                                                 grain[g]) * params.feeder_carriers
    return cap


def carried_at_rate(R, capacity_mbps, kind, target_mbps: float) -> dict:
    """Terminals carried at ``target_mbps`` with demand spread like the probes (closed form).

    ``R`` (links x served probes), ``capacity_mbps`` and ``kind`` (int codes into
    `LINK_KINDS`) of a step network. Returns ``per_probe`` (s*, terminals each probe stands
    for), ``terminals`` (s* x probes), ``binding_link``, ``binding_kind`` and ``by_kind``:
    ``{kind: terminals at which that kind binds}`` (inf when no probe crosses it).
    """
    if not target_mbps > 0:
        raise InputError("target rate must be > 0 Mbit/s", field="target_mbps")
    n_probe = R.shape[1]
    users = np.diff(R.tocsr().indptr).astype(float)
    c = np.asarray(capacity_mbps, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_link = np.where(users > 0, c / (target_mbps * np.where(users > 0, users, 1.0)),
                            np.inf)
    by_kind = {}
    for k, name in enumerate(LINK_KINDS):
        m = kind == k
        by_kind[name] = float(per_link[m].min() * n_probe) if m.any() else float("inf")
    if n_probe == 0 or not np.isfinite(per_link).any():
        return {"per_probe": 0.0 if n_probe == 0 else float("inf"),
                "terminals": 0.0 if n_probe == 0 else float("inf"),
                "binding_link": -1, "binding_kind": "", "by_kind": by_kind}
    lim = int(np.argmin(per_link))
    s = float(per_link[lim])
    return {"per_probe": s, "terminals": s * n_probe, "binding_link": lim,
            "binding_kind": LINK_KINDS[int(kind[lim])], "by_kind": by_kind}


def _solve(net, cap, target_mbps):
    srv = net["served_index"]
    mm = max_min_fair(net["R"], cap, np.full(srv.size, np.inf))
    carried = carried_at_rate(net["R"], cap, net["kind"], target_mbps)
    rate = mm["rate_mbps"]
    q = np.percentile(rate, (5, 50, 95)) if rate.size else np.full(3, np.nan)
    return {"throughput_gbps": float(rate.sum() / 1e3),
            "min_rate_mbps": float(rate.min()) if rate.size else float("nan"),
            "rate_mbps": {"p5": float(q[0]), "p50": float(q[1]), "p95": float(q[2])},
            "terminals_at_target": carried["terminals"], "per_probe": carried["per_probe"],
            "binding_kind": carried["binding_kind"],
            "binds_at": {KIND_LABELS[k]: v for k, v in carried["by_kind"].items()
                         if np.isfinite(v)}}


def _loaded(name, constellation, at, gateways, lat, lon, mode, min_elevation_deg, seed):
    from skymesh.policy.rules import default_policy
    from skymesh.sim.scenario import LoadedScenario, Scenario
    from skymesh.orbits.presets import preset_names
    c = str(constellation)
    const = {"preset": c} if c.lower() in preset_names() else \
        {"file": str(Path(c).expanduser().resolve())}
    if "file" in const and not Path(const["file"]).is_file():
        raise InputError(f"--constellation: '{c}' is neither a preset ({', '.join(preset_names())}) "
                         "nor a TLE file", field="--constellation")
    data = {"name": "capacity", "seed": int(seed), "study": "egress", "constellation": const,
            "time": {"start": "epoch" if at is None else at, "duration_s": 1.0, "step_s": 1.0},
            "routing": {"mode": mode, "min_elevation_deg": float(min_elevation_deg),
                        "compare_bent_pipe": False},
            "terminals": [{"name": "probe",
                           "points": [(float(a), float(b)) for a, b in zip(lat, lon)]}],
            "gateways_file": str(Path(gateways).expanduser().resolve())}
    scenario = Scenario.model_validate(data)
    return LoadedScenario(scenario=scenario, policy=default_policy(), source=f"<capacity {name}>",
                          base_dir=Path.cwd(), text="", data=data, sha256="")


def region_capacity(region: str, *, constellation: str = "starlink-gen1", target_mbps=25.0,
                    at=None, gateways=None, rain_mmh: float | None = None,
                    probes: int = DEFAULT_PROBES, seed: int = 0, mode: str = "isl",
                    min_elevation_deg: float = 25.0, resolution: int = DEFAULT_RESOLUTION,
                    params: NetworkCapacityParams = NetworkCapacityParams(),
                    countries=None) -> dict:
    """How many terminals ``region`` can carry at ``target_mbps`` at instant ``at``.

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
    gateways : path
        Gateway list (CSV or TOML, :func:`skymesh.ground.gateways.load_gateways`).
    rain_mmh : float, optional
        Rain over the region (mm/h): user links of every cell and feeders of gateways inside
        the region fade (:mod:`skymesh.links.rain`); the result then holds ``clear_sky`` and
        ``rain`` figures. Without it the link presets' budgets (annual rain margin) are used.
    probes : int
        Probe terminals placed by population.

    Returns
    -------
    dict: ``region``, ``time_utc``, ``probes`` (placed / routed / no route / no beam),
    ``model`` (the default budget's figures, or clear sky when ``rain_mmh`` is set) and
    ``rain`` (with rain, or None), each with ``terminals_at_target``, ``binding_kind``,
    ``binds_at`` (terminals at which each kind binds), ``throughput_gbps``, ``rate_mbps``
    percentiles of the probes (max-min fair, elastic), ``per_probe``; ``elapsed_s``.
    """
    import shapely
    from skymesh.orbits.propagate import positions_ecef
    from skymesh.sim.egress_chunk import route_block
    from skymesh.sim.prepare import prepare
    t0 = _time.perf_counter()
    if not (isinstance(probes, (int, np.integer)) and 1 <= probes <= 200_000):
        raise InputError("--probes must be a whole number in 1..200000", field="--probes")
    if not target_mbps > 0:
        raise InputError("--target-mbps must be > 0", field="--target-mbps")
    if rain_mmh is not None and not 0 <= rain_mmh <= 300:
        raise InputError("--rain-mmh must be in 0..300 mm/h", field="--rain-mmh")
    if gateways is None:
        raise InputError("give a gateway list with --gateways FILE", field="--gateways")
    name, code, geom = load_region(region, countries)
    lat, lon = place_probes(code, geom, probes, seed, countries)
    loaded = _loaded(name, constellation, at, gateways, lat, lon, mode, min_elevation_deg, seed)
    prep = prepare(loaded)
    op = prep.operators[0]
    sub = prep.grid.subset(slice(0, 1))
    when = sub.datetimes()[0]
    pos = positions_ecef(op.constellation, sub, serving_only=True)
    groups, group_of = np.unique(prep.terminal_country, return_inverse=True)
    routes = route_block(prep, op, pos, sub, mode, groups, group_of)
    cells = cells_of(prep.terminal_lat, prep.terminal_lon, resolution)
    net = build_step_network(pos, routes, cells.index, cells.lat_deg, cells.lon_deg,
                             prep.gateway_lat, prep.gateway_lon, np.inf, params, step=0)
    reason = net["reason"]
    out = {"region": name, "country": code, "time_utc": when.isoformat().replace("+00:00", "Z"),
           "constellation": str(constellation), "target_mbps": float(target_mbps),
           "mode": mode,
           "probes": {"placed": int(prep.n_terminals), "cells": int(len(cells.ids)),
                      "served": int((reason == 0).sum()), "no_route": int((reason == 1).sum()),
                      "no_beam": int((reason == 2).sum())},
           "gateways": int(len(prep.gateway_name)), "rain_mmh": rain_mmh}
    sat = pos[:, 0, :]
    if rain_mmh is None:
        out["model"] = _solve(net, net["capacity_mbps"], target_mbps)
        out["model"]["budget"] = "link presets (annual rain margin)"
        out["rain"] = None
    else:
        from skymesh.links.rain import recommendations_text
        inside = shapely.contains_xy(geom, prep.gateway_lon, prep.gateway_lat)
        dry = rain_capacities(net, sat, cells.lat_deg, cells.lon_deg, prep.gateway_lat,
                              prep.gateway_lon, 0.0, 0.0, params)
        wet = rain_capacities(net, sat, cells.lat_deg, cells.lon_deg, prep.gateway_lat,
                              prep.gateway_lon, float(rain_mmh),
                              np.where(inside, float(rain_mmh), 0.0), params)
        out["model"] = _solve(net, dry, target_mbps)
        out["model"]["budget"] = "clear sky"
        out["rain"] = _solve(net, wet, target_mbps)
        out["rain"]["budget"] = f"rain {rain_mmh:g} mm/h over the region"
        out["rain"]["gateways_in_rain"] = int(inside.sum())
        out["rain"]["recommendations"] = recommendations_text()
    out["notes"] = list(prep.notes)
    out["elapsed_s"] = _time.perf_counter() - t0
    return out
