"""How many terminals can a region carry at a target rate, and what binds first?

The engine of ``skymesh capacity REGION``. One 15 s slot, one region (a country or a polygon):

1. **Probe sample**: ``probes`` terminals placed by population inside the region
   (:func:`skymesh.ground.countries.sample_points` for a country,
   :func:`skymesh.capacity.demand.place_in_polygon` for a polygon), grouped into service
   cells (:func:`skymesh.sim.capacity_pass.service_cells`).
2. **The slot's network** (:func:`slot_network`): the probes become a one-instant egress
   scenario with the default, unrestricted policy (:mod:`skymesh.sim.prepare`); at the start
   of the 15 s slot holding ``at`` (:mod:`skymesh.access.slots`) every satellite in view of
   a cell above the mask is a candidate beam (:func:`skymesh.capacity.beams.beam_pairs`) and
   each satellite's traffic takes its shortest route to a gateway
   (:func:`skymesh.capacity.network.satellite_routes` and ``backhaul_network``) -- the same
   set-up as a scenario run's capacity pass. With rain, beam and feeder capacities are
   re-budgeted (:func:`faded_capacities`, :mod:`skymesh.links.rain`).
3. **Terminals at the target rate** (:func:`skymesh.capacity.assignment.carry_at_rate`, one
   HiGHS LP): every covered cell's probe count is scaled by a common factor alpha, each
   terminal wanting ``target_mbps`` -- demand spread like the population -- and alpha is
   maximised under beam time, per-cell channels, satellite downlink, ISLs, feeders and
   gateway sites. The region carries ``alpha x covered probes`` terminals; the constraints
   with non-zero duals bind first (each kind's share of alpha is reported).
4. **Fair share and aggregate**: the load-aware assignment with elastic demand
   (:func:`skymesh.capacity.assignment.assign_cells`, max-min fair over cells weighted by
   their probes, so per terminal), giving each probe's rate with every probe demanding at
   once: its percentiles are ``fair_share_mbps``, their sum ``aggregate_gbps``.

Check between two formulations (tested): with these weights the first level of the max-min
progressive filling is the largest rate every covered probe can have at once, so it equals
``alpha x target`` from the separate LP.

Probes in cells no satellite sees above the mask, or whose satellites reach no gateway, are
not covered and cannot be carried; their number is reported.
"""

from __future__ import annotations

import time as _time
from pathlib import Path

import numpy as np

from skymesh.capacity.cells import DEFAULT_RESOLUTION
from skymesh.capacity.network import NetworkCapacityParams
from skymesh.errors import InputError

DEFAULT_PROBES = 2000
"""Probe terminals placed in the region: enough that every populated cell of a mid-size
country holds several, few enough that one instant routes in about a second."""

KIND_LABELS = {
    "beam-time": "beam time",
    "cell-beams": "beams per cell",
    "sat-downlink": "satellite downlink",
    "isl": "ISLs",
    "gsl-feeder": "gateway feeder links",
    "gateway": "gateway sites",
    "no-coverage": "no coverage",
}
"""Readable names of the assignment's resource kinds."""


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
            raise InputError(f"REGION: cannot read the file ({exc.strerror})", file=path) from None
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
        except (
            ValueError,
            KeyError,
            TypeError,
            AttributeError,
            shapely.errors.GEOSException,
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
    from skymesh.ground.places import is_iso2

    code = text.upper()
    if not is_iso2(code):
        raise InputError(
            f"REGION '{region}' is neither an ISO 3166-1 alpha-2 country code "
            "nor a GeoJSON file (.geojson)"
        )
    try:
        geom = country_geometry(code, countries)
    except InputError as exc:
        raise InputError(f"REGION: {exc.message}") from None
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


def faded_capacities(
    pairs: dict,
    backhaul: dict,
    sat_ecef_km,
    cell_lat_deg,
    cell_lon_deg,
    gateway_lat_deg,
    gateway_lon_deg,
    cell_rain_mmh,
    gateway_rain_mmh,
    params: NetworkCapacityParams,
) -> tuple[np.ndarray, np.ndarray]:
    """Beam-pair and backhaul capacities (Mbit/s) under clear sky + rain, as new arrays.

    ``pairs`` from :func:`skymesh.capacity.beams.beam_pairs` (``cell``, ``range_km``,
    ``elevation_deg``, ``capacity_mbps``), ``backhaul`` from
    :func:`skymesh.capacity.network.backhaul_network` (``kind`` str, ``a`` gateway and ``b``
    satellite for ``gsl-feeder`` links). Beams are re-budgeted at the cell centre with the
    cell's rain rate, feeders at the gateway with the gateway's
    (:func:`skymesh.links.rain.link_capacity_with_rain_mbps`; 0 mm/h = clear sky); ISLs,
    gateway sites and fixed capacities (``beam_capacity_mbps``, ``feeder_capacity_mbps``)
    are unchanged.
    """
    from skymesh.links.rain import link_capacity_with_rain_mbps

    clat, clon = np.asarray(cell_lat_deg, float), np.asarray(cell_lon_deg, float)
    glat, glon = np.asarray(gateway_lat_deg, float), np.asarray(gateway_lon_deg, float)
    crain = np.broadcast_to(np.asarray(cell_rain_mmh, float), clat.shape)
    grain = np.broadcast_to(np.asarray(gateway_rain_mmh, float), glat.shape)
    k = np.asarray(pairs["capacity_mbps"], dtype=float).copy()
    if k.size and params.beam_capacity_mbps is None:
        c = np.asarray(pairs["cell"], dtype=np.int64)
        k = (
            link_capacity_with_rain_mbps(
                pairs["range_km"],
                pairs["elevation_deg"],
                params.beam_link,
                clat[c],
                clon[c],
                crain[c],
            )
            * params.channels_per_beam
            / params.frequency_reuse
        )
    cap = np.asarray(backhaul["capacity_mbps"], dtype=float).copy()
    feed = np.flatnonzero(np.asarray(backhaul["kind"]).astype(str) == "gsl-feeder")
    if feed.size and params.feeder_capacity_mbps is None:
        g = np.asarray(backhaul["a"])[feed].astype(np.int64)
        s = np.asarray(backhaul["b"])[feed].astype(np.int64)
        rng, el = _geometry(np.asarray(sat_ecef_km, float)[s], glat[g], glon[g])
        cap[feed] = (
            link_capacity_with_rain_mbps(rng, el, params.feeder_link, glat[g], glon[g], grain[g])
            * params.feeder_carriers
        )
    return k, cap


def _loaded(name, constellation, at, gateways, lat, lon, mode, min_elevation_deg, seed):
    from skymesh.orbits.presets import preset_names
    from skymesh.policy.rules import default_policy
    from skymesh.sim.scenario import LoadedScenario, Scenario

    c = str(constellation)
    const = (
        {"preset": c}
        if c.lower() in preset_names()
        else {"file": str(Path(c).expanduser().resolve())}
    )
    if "file" in const and not Path(const["file"]).is_file():
        raise InputError(
            f"--constellation: '{c}' is neither a preset "
            f"({', '.join(preset_names())}) nor a TLE file",
            field="--constellation",
        )
    data = {
        "name": "capacity",
        "seed": int(seed),
        "study": "egress",
        "constellation": const,
        "time": {"start": "epoch" if at is None else at, "duration_s": 1.0, "step_s": 1.0},
        "routing": {
            "mode": mode,
            "min_elevation_deg": float(min_elevation_deg),
            "compare_bent_pipe": False,
        },
        "terminals": [
            {"name": "probe", "points": [(float(a), float(b)) for a, b in zip(lat, lon)]}
        ],
        "gateways_file": str(Path(gateways).expanduser().resolve()),
    }
    scenario = Scenario.model_validate(data)
    return LoadedScenario(
        scenario=scenario,
        policy=default_policy(),
        source=f"<capacity {name}>",
        base_dir=Path.cwd(),
        text="",
        data=data,
        sha256="",
    )


def slot_network(
    constellation,
    at,
    gateways,
    lat_deg,
    lon_deg,
    *,
    weights=None,
    params: NetworkCapacityParams = NetworkCapacityParams(),
    mode: str = "isl",
    min_elevation_deg: float = 25.0,
    resolution: int = DEFAULT_RESOLUTION,
    seed: int = 0,
    name: str = "region",
) -> dict:
    """The beam pairs and backhaul of the 15 s slot holding ``at`` for terminals at
    (``lat_deg``, ``lon_deg``), as a scenario run's capacity pass builds them.

    ``weights`` (n,): subscribers per terminal (default 1). Returns ``prep`` (the in-memory
    run), ``time_utc`` (slot start), ``sat_ecef_km`` (N, 3), ``cells``
    (:func:`skymesh.sim.capacity_pass.service_cells`), ``heads`` (C,) subscribers per cell,
    ``cell_beam_cap`` (C,), ``pairs`` (:func:`skymesh.capacity.beams.beam_pairs`) and
    ``backhaul`` (the ``backhaul`` argument of
    :func:`skymesh.capacity.assignment.assign_cells`, plus the links' ``a``/``b``).
    """
    from skymesh.access.slots import slot_start_s
    from skymesh.capacity.beams import MAX_BEAMS_PER_CELL
    from skymesh.sim.capacity_pass import service_cells, slot_links
    from skymesh.sim.prepare import prepare

    loaded = _loaded(
        name, constellation, at, gateways, lat_deg, lon_deg, mode, min_elevation_deg, seed
    )
    prep = prepare(loaded)
    op = prep.operators[0]
    t0 = float(slot_start_s(prep.grid.start, 0.0))
    groups, group_of = np.unique(prep.terminal_country, return_inverse=True)
    cells = service_cells(prep.terminal_lat, prep.terminal_lon, group_of, resolution)
    net = slot_links(prep, op, t0, cells, groups, params)
    sub, pos, n_sats, bh, pairs = net["sub"], net["pos"], net["n_sats"], net["bh"], net["pairs"]
    route = cells["group"][pairs["cell"]] * n_sats + pairs["sat"]
    route = np.where(bh["route_ok"][route], route, -1)
    w = (
        np.ones(prep.n_terminals)
        if weights is None
        else np.broadcast_to(np.asarray(weights, dtype=float), (prep.n_terminals,))
    )
    n_c = cells["group"].size
    heads = np.bincount(cells["index"], weights=w, minlength=n_c)
    backhaul = {
        "route_of_pair": route,
        "R": bh["R"],
        "capacity_mbps": bh["capacity_mbps"],
        "kind": bh["kind"],
        "a": bh["a"],
        "b": bh["b"],
    }
    return {
        "prep": prep,
        "time_utc": sub.datetimes()[0],
        "sat_ecef_km": pos[:, 0],
        "cells": cells,
        "heads": heads,
        "cell_beam_cap": np.minimum(MAX_BEAMS_PER_CELL, np.ceil(heads)),
        "pairs": pairs,
        "backhaul": backhaul,
    }


def _answer(
    net: dict, pair_cap, backhaul_cap, target_mbps: float, params: NetworkCapacityParams
) -> dict:
    """Terminals at the target (carry LP) and the elastic max-min assignment of one variant."""
    from skymesh.capacity.assignment import assign_cells, carry_at_rate

    pairs, cells, heads = net["pairs"], net["cells"], net["heads"]
    keep = np.asarray(pair_cap) > 0
    bh = dict(net["backhaul"], capacity_mbps=np.asarray(backhaul_cap, dtype=float))
    bh["route_of_pair"] = net["backhaul"]["route_of_pair"][keep]
    common = dict(
        beams_per_sat=params.beams_per_sat,
        cell_beam_cap=net["cell_beam_cap"],
        sat_downlink_mbps=params.sat_downlink_mbps,
        backhaul=bh,
    )
    pc, ps, k = pairs["cell"][keep], pairs["sat"][keep], np.asarray(pair_cap)[keep]
    carry = carry_at_rate(pc, ps, k, heads, target_mbps, **common)
    res = assign_cells(
        pc,
        ps,
        k,
        np.full(heads.size, np.inf),
        n_cells=heads.size,
        cell_weight=np.maximum(heads, 1e-12),
        **common,
    )
    level = np.asarray(res["cell_level"], dtype=float)
    reason = np.asarray(res["cell_reason"]).astype(str)
    covered = ~np.isin(reason, ("no-coverage", "no-route"))
    rate = level[cells["index"]]  # Mbit/s per probe terminal
    t_cov = covered[cells["index"]]
    q = np.percentile(rate[t_cov], (5, 50, 95)) if t_cov.any() else np.full(3, np.nan)
    share = carry["dual_by_kind"]
    tot = sum(share.values()) or 1.0
    levels = np.asarray(res["levels"], dtype=float)
    return {
        "terminals_at_target": float(carry["alpha"] * carry["n_covered"]),
        "n_at_target": int(carry["n_at_target"]),
        "n_more": int(carry["n_more"]),
        "per_probe": float(carry["alpha"]),
        "binding_kind": carry["binding_kind"],
        "binding_share": {
            KIND_LABELS.get(kk, kk): v / tot
            for kk, v in sorted(share.items(), key=lambda kv: -kv[1])
        },
        "aggregate_gbps": float(rate[t_cov].sum() / 1e3),
        "first_level_mbps": float(levels[0]) if levels.size else float("nan"),
        "fair_share_mbps": {"p5": float(q[0]), "p50": float(q[1]), "p95": float(q[2])},
        "covered_probes": int(t_cov.sum()),
        "cells_covered": int(covered.sum()),
        "lp_seconds": float(carry["lp_seconds"] + res["lp_seconds"]),
    }


def region_capacity(
    region: str,
    *,
    constellation: str = "starlink-gen1",
    target_mbps=25.0,
    at=None,
    gateways=None,
    rain_mmh: float | None = None,
    probes: int = DEFAULT_PROBES,
    seed: int = 0,
    mode: str = "isl",
    min_elevation_deg: float = 25.0,
    resolution: int = DEFAULT_RESOLUTION,
    params: NetworkCapacityParams = NetworkCapacityParams(),
    countries=None,
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
    gateways : path
        Gateway list (CSV or TOML, :func:`skymesh.ground.gateways.load_gateways`).
    rain_mmh : float, optional
        Rain over the region (mm/h): user links of every cell and feeders of gateways inside
        the region fade (:mod:`skymesh.links.rain`); the result then holds clear-sky
        (``model``) and ``rain`` figures. Without it the link presets' budgets (with their
        annual rain margin) are used.
    probes : int
        Probe terminals placed by population.

    Returns
    -------
    dict: ``region``, ``time_utc`` (slot start), ``probes`` (placed, cells, covered, not
    covered), ``model`` and ``rain`` (None without ``rain_mmh``), each with
    ``terminals_at_target`` (alpha x covered probes), ``n_more`` (beyond the probes),
    ``per_probe`` (alpha), ``binding_kind`` and ``binding_share`` (each kind's share of the
    LP's duals), ``aggregate_gbps`` (all probes' rates summed), ``fair_share_mbps`` (probe
    percentiles of the elastic max-min share, every probe demanding at once; not a speed
    one user measures: :mod:`skymesh.metrics`),
    ``first_level_mbps``; ``elapsed_s``.
    """
    import shapely

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
    net = slot_network(
        constellation,
        at,
        gateways,
        lat,
        lon,
        params=params,
        mode=mode,
        min_elevation_deg=min_elevation_deg,
        resolution=resolution,
        seed=seed,
        name=name,
    )
    prep, cells = net["prep"], net["cells"]
    # a probe stands for many terminals: a cell may use all its channels (8 beams at once)
    from skymesh.capacity.beams import MAX_BEAMS_PER_CELL

    net["cell_beam_cap"] = np.full(cells["group"].size, float(MAX_BEAMS_PER_CELL))
    out = {
        "region": name,
        "country": code,
        "time_utc": net["time_utc"].isoformat().replace("+00:00", "Z"),
        "constellation": str(constellation),
        "target_mbps": float(target_mbps),
        "mode": mode,
        "gateways": int(len(prep.gateway_name)),
        "rain_mmh": rain_mmh,
    }
    pc, bc = net["pairs"]["capacity_mbps"], net["backhaul"]["capacity_mbps"]
    if rain_mmh is None:
        out["model"] = _answer(net, pc, bc, target_mbps, params)
        out["model"]["budget"] = "link presets (annual rain margin)"
        out["rain"] = None
    else:
        from skymesh.links.rain import recommendations_text

        inside = shapely.contains_xy(geom, prep.gateway_lon, prep.gateway_lat)
        args = (
            net["pairs"],
            net["backhaul"],
            net["sat_ecef_km"],
            cells["lat_deg"],
            cells["lon_deg"],
            prep.gateway_lat,
            prep.gateway_lon,
        )
        out["model"] = _answer(net, *faded_capacities(*args, 0.0, 0.0, params), target_mbps, params)
        out["model"]["budget"] = "clear sky"
        wet = faded_capacities(
            *args, float(rain_mmh), np.where(inside, float(rain_mmh), 0.0), params
        )
        out["rain"] = _answer(net, *wet, target_mbps, params)
        out["rain"]["budget"] = f"rain {rain_mmh:g} mm/h over the region"
        out["rain"]["gateways_in_rain"] = int(inside.sum())
        out["rain"]["recommendations"] = recommendations_text()
    cov = out["model"]["covered_probes"]
    out["probes"] = {
        "placed": int(prep.n_terminals),
        "cells": int(cells["group"].size),
        "covered": cov,
        "not_covered": int(prep.n_terminals) - cov,
    }
    out["notes"] = list(prep.notes)
    out["elapsed_s"] = _time.perf_counter() - t0
    return out
