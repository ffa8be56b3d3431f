"""A run's results as files other tools open: CZML (Cesium, STK) and GeoJSON (QGIS, web maps).

:func:`export_run` reads a results folder (``skymesh run --out``) and writes one file:

``czml``
    A CZML document (a JSON array of packets, CZML 1.0) for CesiumJS viewers and STK:

    * every satellite of the run's constellation(s) as a point with **sampled
      positions in the Earth-fixed frame** (``referenceFrame: FIXED``, cartesian
      metres, ``epoch`` + seconds), Lagrange-interpolated, over the run's window at
      its step, decimated evenly (first and last kept) when the file would
      exceed ``max_mb``; the document's ``description`` says which step was kept;
    * terminals, gateways and PoPs as fixed points (``cartographicDegrees``, deg, m);
    * routes (egress runs) of up to ``max_routes`` terminals, spread evenly over the
      terminal indices: from the run's own rows, one packet per stretch of steps with
      the same ``serving_satellite``, ``gateway`` and ``pop``, whose ``availability``
      is that stretch and whose polyline references the moving positions
      terminal -> serving satellite -> ISL path -> gateway -> PoP. The results keep the
      serving satellite and the ISL hop count, not each satellite on the path: the path
      drawn is the shortest by length from the serving satellite to a satellite in view of
      the gateway, kept only when its hop count is the run's (else that leg is one
      straight segment, and the packet's description says so);
    * service states: each country polygon (Natural Earth 1:110m) coloured by its
      state under the run's policy (active, no-landing-rights, inactive: the colours
      of the report's maps), one packet per country part and stretch of one state.

``geojson``
    One RFC 7946 FeatureCollection (lon/lat degrees, WGS84), every feature with a
    ``kind`` property:

    * ``country``: one feature per country and stretch of one service state, with
      ``state``, ``start_utc``, ``end_utc`` (QGIS's temporal controller reads these) and
      ``fill`` (hex colour);
    * ``cell`` (runs with a capacity section): each H3 service cell holding terminals,
      per sampled slot: ``time_utc``, ``terminals``, ``demand_mbps`` and
      ``carried_mbps`` (sums over its terminals, Mbit/s), ``fair_share_mbps_mean`` (the mean
      of its terminals' rates with every terminal demanding at once, Mbit/s);
    * ``gateway`` and ``pop``: points with ``name``, ``country``, ``capacity_gbps``
      (gateways) and ``share_of_served`` (share of its operator's served terminal-steps
      exiting there);
    * ``terminal``: points with ``service_share`` and ``rtt_ms_p50`` (user RTT, ms) under
      the run's first operator.

The scenario is rebuilt from the folder's ``run.json`` (its source and ``--set`` /
``--policy`` overrides), so positions, terminals and the policy are the run's own.
Files are written atomically and never replace an existing file unless ``force``.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np

from skymesh.errors import InputError, SkyMeshError
from skymesh.files import atomic_path

FORMATS = ("czml", "geojson")
#: Default cap on an export's size (MB): CZML past ~100 MB loads slowly in a browser.
DEFAULT_MAX_MB = 50.0
#: Default number of terminals whose routes a CZML export draws.
DEFAULT_MAX_ROUTES = 10
#: Estimated CZML bytes per satellite sample (4 numbers) and per packet of each kind.
_BYTES_PER_SAMPLE = 48
_BYTES_PER_SAT = 280
_BYTES_PER_ROUTE = 520
_BYTES_PER_SITE = 260
_COORD_DECIMALS = 4  # 4 decimals of a degree: ~11 m
_EXTENSIONS = {"czml": (".czml", ".json"), "geojson": (".geojson", ".json")}


def _sat_id(operator_label: str, index: int) -> str:
    """CZML id of a satellite: ``sat-OPERATOR-INDEX``, the label reduced to [A-Za-z0-9_]."""
    slug = re.sub(r"[^A-Za-z0-9]+", "_", str(operator_label)).strip("_") or "op"
    return f"sat-{slug}-{index}"


def _ref(packet_id: str, prop: str = "position") -> str:
    """A CZML reference ``id#property``, with ``#`` and ``\\`` in the id escaped."""
    return packet_id.replace("\\", "\\\\").replace("#", "\\#") + "#" + prop


def _iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _rgba(colour: str, alpha: int = 160) -> list[int]:
    """CZML ``rgba`` (0-255) of a matplotlib colour with opacity ``alpha`` (0-255)."""
    from matplotlib.colors import to_rgba

    r, g, b, _ = to_rgba(colour)
    return [round(255 * r), round(255 * g), round(255 * b), alpha]


def check_export_args(fmt: str, out, force: bool) -> None:
    """Before any work: a known format, an extension that fits it, no file replaced without
    ``force``. Raises :class:`SkyMeshError` naming the flag."""
    if fmt not in FORMATS:
        raise SkyMeshError(f"--format: unknown format '{fmt}'; use one of {', '.join(FORMATS)}")
    out = Path(out)
    if out.suffix.lower() not in _EXTENSIONS[fmt]:
        raise SkyMeshError(f"--out {out}: a {fmt} file ends in {' or '.join(_EXTENSIONS[fmt])}")
    if out.is_dir():
        raise SkyMeshError(f"--out {out}: is a folder, not a file")
    if out.exists() and not force:
        raise SkyMeshError(f"{out}: file exists; pass --force to replace it")
    if not out.parent.is_dir():
        raise SkyMeshError(f"--out {out}: folder {out.parent} does not exist")


def results_scenario(folder) -> tuple:
    """``(loaded scenario, summary dict)`` of a results folder, with the run's overrides.

    The scenario is read from its original source (a built-in, or its file when that still
    hashes the same) so that relative paths resolve as they did; otherwise from the
    folder's copy ``scenario.toml``.
    """
    from skymesh.sim.scenario import load_scenario

    folder = Path(folder)
    if not folder.is_dir():
        raise InputError("not a SkyMesh results folder (no such folder)", file=folder)
    for name in ("summary.json", "run.json", "scenario.toml"):
        if not (folder / name).is_file():
            raise InputError(f"not a SkyMesh results folder (no {name})", file=folder)
    try:
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        manifest = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:
        raise InputError(f"not a SkyMesh results folder ({exc})", file=folder) from None
    if not isinstance(summary, dict) or not isinstance(manifest, dict):
        raise InputError("not a SkyMesh results folder (summary/run.json not objects)", file=folder)
    if not manifest.get("finished"):
        raise InputError("the run in this folder did not finish (run.json)", file=folder)
    overrides = manifest.get("overrides") or {}
    src = str(manifest.get("scenario_source", ""))
    loaded = None
    if src.startswith("<built-in ") and src.endswith(">"):
        loaded = load_scenario(src[len("<built-in ") : -1], overrides)
    elif src and not src.startswith("<") and Path(src).is_file():
        candidate = load_scenario(src, overrides)
        if candidate.sha256 == manifest.get("scenario_sha256"):
            loaded = candidate
    if loaded is None:
        loaded = load_scenario(folder / "scenario.toml", overrides)
    return loaded, summary


def _keep_steps(n_steps: int, max_steps: int) -> np.ndarray:
    from skymesh.report.view import decimate_steps

    return decimate_steps(n_steps, max(2, max_steps))


def _state_runs(prep, codes: list[str]) -> dict[str, list[tuple[int, int, str]]]:
    """Per country: ``(first step, last step, state)`` stretches over the run's every step."""
    from skymesh.policy.rules import landing_allowed, service_active

    policy = prep.operators[0].policy
    times = prep.grid.datetimes()
    served = service_active(policy, codes, times)
    landing = landing_allowed(policy, codes, times)
    state = np.where(~served, "inactive", np.where(landing, "active", "no-landing-rights"))
    out: dict[str, list[tuple[int, int, str]]] = {}
    for code, row in zip(codes, state):
        change = np.flatnonzero(row[1:] != row[:-1]) + 1
        starts = np.r_[0, change]
        ends = np.r_[change - 1, len(row) - 1]
        out[code] = [(int(a), int(b), str(row[a])) for a, b in zip(starts, ends)]
    return out


def _step_end(times: list[datetime], step_s: float, k: int) -> datetime:
    """End of step ``k``'s stretch: the next step's instant (the last one's plus a step)."""
    return times[k + 1] if k + 1 < len(times) else times[k] + timedelta(seconds=step_s)


def _countries_and_states(prep, simplify_deg: float = 0.05):
    from skymesh.report.maps import _countries

    countries = _countries(None)
    keep = [i for i, c in enumerate(countries.iso2) if c]
    codes = sorted({str(countries.iso2[i]).upper() for i in keep})
    runs = _state_runs(prep, codes)
    geoms = []
    for i in keep:
        g = countries.geometry[i].simplify(simplify_deg, preserve_topology=True)
        geoms.append((str(countries.iso2[i]).upper(), str(countries.name[i]), g))
    return geoms, runs


def _polygons(geom):
    return list(geom.geoms) if geom.geom_type == "MultiPolygon" else [geom]


def _ring(coords) -> list[float]:
    flat: list[float] = []
    for x, y in coords:
        flat += [round(float(x), _COORD_DECIMALS), round(float(y), _COORD_DECIMALS), 0.0]
    return flat


def _timeseries(folder: Path, columns: list[str]):
    from skymesh.sim.results import read_table

    path = folder / "timeseries.parquet"
    if not path.exists():
        return None
    return read_table(path, columns=columns)


def _pick_terminals(n: int, max_routes: int) -> np.ndarray:
    if n <= max_routes:
        return np.arange(n)
    return np.unique(np.round(np.linspace(0, n - 1, max_routes)).astype(int))


def _route_stretches(folder: Path, prep, terminals: np.ndarray, steps: np.ndarray) -> list[dict]:
    """Stretches of kept steps over which a terminal's route (satellite, gateway, PoP) holds."""
    table = _timeseries(
        folder,
        [
            "step",
            "operator",
            "terminal",
            "served",
            "serving_satellite",
            "gateway",
            "pop",
            "isl_hops",
        ],
    )
    if table is None or len(terminals) == 0:
        return []
    cols = {name: table[name].to_numpy(zero_copy_only=False) for name in table.column_names}
    kept = np.zeros(len(prep.grid), bool)
    kept[steps] = True
    mask = np.isin(cols["terminal"], terminals) & kept[cols["step"]]
    rows = np.flatnonzero(mask)
    order = np.lexsort((cols["step"][rows], cols["terminal"][rows], cols["operator"][rows]))
    rows = rows[order]
    out: list[dict] = []
    current: dict | None = None
    for r in rows:
        served = bool(cols["served"][r])
        key = (
            str(cols["operator"][r]),
            int(cols["terminal"][r]),
            int(cols["serving_satellite"][r]) if served else -1,
            str(cols["gateway"][r]) if served else "",
            str(cols["pop"][r]) if served and cols["pop"][r] is not None else "",
            int(cols["isl_hops"][r]) if served else 0,
        )
        step = int(cols["step"][r])
        if current is not None and current["key"] == key and current["next"] == step:
            current["last"] = step
        else:
            hops = int(cols["isl_hops"][r]) if served else 0
            current = dict(key=key, first=step, last=step, isl_hops=hops)
            if served:
                out.append(current)
        pos = int(np.searchsorted(steps, step))
        current["next"] = int(steps[pos + 1]) if pos + 1 < len(steps) else -1
    return out


def _isl_path(pos_km, isl_pairs, sat: int, gateway_km, min_elevation_deg: float, hops: int):
    """Satellites from ``sat`` to the exit satellite over the ISLs, or None.

    The shortest path by length (km) from the serving satellite to a satellite in view of the
    gateway (elevation >= ``min_elevation_deg`` on the geocentric vertical), ISL length plus
    the down leg minimised; kept only when its hop count is the run's ``hops`` (the results
    store the count, not the satellites), so a path the run did not take is not drawn.
    """
    import scipy.sparse as sp
    from scipy.sparse.csgraph import dijkstra

    if hops == 0:
        return [sat]
    pairs = np.asarray(isl_pairs, dtype=int).reshape(-1, 2)
    if len(pairs) == 0 or not np.isfinite(pos_km[sat]).all():
        return None
    n = len(pos_km)
    ok = np.isfinite(pos_km[pairs]).all(axis=(1, 2))
    a, b = pairs[ok, 0], pairs[ok, 1]
    length = np.linalg.norm(pos_km[a] - pos_km[b], axis=1)
    graph = sp.csr_matrix((length, (a, b)), shape=(n, n))
    dist, pred = dijkstra(graph, directed=False, indices=sat, return_predecessors=True)
    g = np.asarray(gateway_km, dtype=float).reshape(3)
    v = pos_km - g
    rng = np.linalg.norm(v, axis=1)
    with np.errstate(invalid="ignore"):
        elevation = np.degrees(np.arcsin(np.einsum("ij,j->i", v, g / np.linalg.norm(g)) / rng))
    total = np.where(elevation >= min_elevation_deg, dist + rng, np.inf)
    exit_sat = int(np.argmin(total))
    if not np.isfinite(total[exit_sat]):
        return None
    path = [exit_sat]
    while path[-1] != sat:
        path.append(int(pred[path[-1]]))
        if path[-1] < 0 or len(path) > hops + 1:
            return None
    return path[::-1] if len(path) == hops + 1 else None


def estimate_czml_bytes(n_sats: int, n_steps: int, n_sites: int, n_routes: int) -> int:
    """Rough size (bytes) of a CZML export: satellites' samples dominate."""
    return (
        n_sats * (_BYTES_PER_SAT + _BYTES_PER_SAMPLE * n_steps)
        + n_sites * _BYTES_PER_SITE
        + n_routes * _BYTES_PER_ROUTE
        + 350_000  # country polygons at 1:110m, simplified (~290 kB measured)
    )


def _czml_steps(prep, n_sats: int, n_sites: int, max_mb: float, max_steps: int | None):
    """Kept step indices so the estimate fits ``max_mb``; raises when even two do not."""
    n = len(prep.grid)
    budget = max_mb * 1e6
    if estimate_czml_bytes(n_sats, min(n, 2), n_sites, 0) > budget:
        raise SkyMeshError(
            f"--max-mb {max_mb:g}: a CZML of {n_sats:,} satellites needs about "
            f"{estimate_czml_bytes(n_sats, 2, n_sites, 0) / 1e6:.1f} MB even at two instants; "
            "raise --max-mb"
        )
    fit = int((budget - estimate_czml_bytes(n_sats, 0, n_sites, 0)) // (_BYTES_PER_SAMPLE * n_sats))
    fit = min(n, fit, max_steps or n)
    return _keep_steps(n, fit)


def _sites(prep):
    """``[(id, name, kind, lat_deg, lon_deg, country)]`` of terminals, gateways and PoPs."""
    sites = []
    for i, (lat, lon, cc) in enumerate(
        zip(prep.terminal_lat, prep.terminal_lon, prep.terminal_country)
    ):
        label = str(prep.terminal_name[i]) if len(prep.terminal_name) > i else ""
        name = f"terminal {i}" + (f" ({label})" if label and label != str(i) else "")
        sites.append((f"terminal-{i}", name, "terminal", lat, lon, str(cc)))
    for name, lat, lon, cc in zip(
        prep.gateway_name, prep.gateway_lat, prep.gateway_lon, prep.gateway_country
    ):
        sites.append((f"gateway-{name}", str(name), "gateway", lat, lon, str(cc)))
    if prep.pops is not None:
        for name, lat, lon, cc in zip(
            prep.pops.name, prep.pops.lat_deg, prep.pops.lon_deg, prep.pops.country_iso2
        ):
            sites.append((f"pop-{name}", str(name), "pop", lat, lon, str(cc)))
    return sites


def czml_document(
    folder,
    *,
    max_mb: float = DEFAULT_MAX_MB,
    max_steps: int | None = None,
    max_routes: int = DEFAULT_MAX_ROUTES,
) -> tuple[list[dict], dict]:
    """The CZML packets of a run (a list of dicts) and a note of what was kept.

    ``max_mb`` caps the estimated size (MB) by decimating the satellites' samples;
    ``max_steps`` caps the kept steps too; ``max_routes`` terminals get routes.
    """
    from skymesh.orbits.frames import geodetic_to_ecef
    from skymesh.orbits.propagate import positions_ecef
    from skymesh.report.maps import ROLE_COLOURS, SERVICE_STATES
    from skymesh.sim.prepare import prepare

    folder = Path(folder)
    loaded, summary = results_scenario(folder)
    prep = prepare(loaded)
    grid = prep.grid
    n_sats = sum(len(op.constellation) for op in prep.operators)
    sites = _sites(prep)
    steps = _czml_steps(prep, n_sats, len(sites), max_mb, max_steps)
    times = grid.datetimes()
    step_s = float(prep.scenario.time.step_s)
    start, end = times[0], _step_end(times, step_s, len(times) - 1)
    window = f"{_iso(start)}/{_iso(end)}"
    kept_step_s = float(np.median(np.diff(grid.offsets_s[steps]))) if len(steps) > 1 else step_s
    note: dict[str, Any] = dict(
        steps=len(times),
        steps_kept=int(len(steps)),
        step_s=step_s,
        kept_step_s=kept_step_s,
        satellites=n_sats,
    )
    decimated = (
        f"; satellites sampled about every {kept_step_s:g} s of the run's {step_s:g} s "
        f"({len(steps)} of {len(times)} steps, to keep the file under {max_mb:g} MB)"
        if len(steps) < len(times)
        else ""
    )
    packets: list[dict] = [
        {
            "id": "document",
            "name": f"SkyMesh: {summary.get('scenario', prep.scenario.name)}",
            "version": "1.0",
            "clock": {
                "interval": window,
                "currentTime": _iso(start),
                "multiplier": 10,
                "range": "LOOP_STOP",
                "step": "SYSTEM_CLOCK_MULTIPLIER",
            },
        }
    ]
    sub = grid.subset(steps)
    offsets = [round(float(s), 3) for s in sub.offsets_s - sub.offsets_s[0]]
    epoch = _iso(sub.datetimes()[0])
    sat_colour = _rgba(ROLE_COLOURS["satellite"], 255)
    pos_km_by_op: dict[str, np.ndarray] = {}
    for op in prep.operators:
        pos_m = np.asarray(positions_ecef(op.constellation, sub), dtype=float) * 1000.0
        pos_km_by_op[op.label] = pos_m / 1000.0
        for i, name in enumerate(op.constellation.sat_names):
            samples: list[float] = []
            for t, xyz in zip(offsets, pos_m[i]):
                if np.isfinite(xyz).all():
                    samples += [t, round(xyz[0], 1), round(xyz[1], 1), round(xyz[2], 1)]
            if not samples:
                continue
            packets.append(
                {
                    "id": _sat_id(op.label, i),
                    "name": str(name),
                    "description": f"{op.label} satellite {i} ({name})",
                    "availability": window,
                    "position": {
                        "epoch": epoch,
                        "referenceFrame": "FIXED",
                        "interpolationAlgorithm": "LAGRANGE",
                        "interpolationDegree": 5,
                        "cartesian": samples,
                    },
                    "point": {"pixelSize": 3, "color": {"rgba": sat_colour}},
                }
            )
    kinds = {"terminal": "terminal", "gateway": "gateway", "pop": "route_satellite"}
    for sid, name, kind, lat, lon, cc in sites:
        colour = ROLE_COLOURS[kinds[kind]]
        packets.append(
            {
                "id": sid,
                "name": name,
                "description": f"{kind} {name} ({cc or 'at sea'})",
                "position": {
                    "cartographicDegrees": [
                        round(float(lon), _COORD_DECIMALS),
                        round(float(lat), _COORD_DECIMALS),
                        0.0,
                    ]
                },
                "point": {
                    "pixelSize": 4 if kind == "terminal" else 8,
                    "color": {"rgba": _rgba(colour, 255)},
                },
            }
        )
    pop_ids = {s[1] for s in sites if s[2] == "pop"}
    operators = {op.label: op for op in prep.operators}
    gateway_ecef_km = {
        str(n): geodetic_to_ecef(lat, lon)
        for n, lat, lon in zip(prep.gateway_name, prep.gateway_lat, prep.gateway_lon)
    }
    note["routes_with_isl_path"] = 0
    picks = _pick_terminals(prep.n_terminals, max_routes)
    stretches = _route_stretches(folder, prep, picks, steps)
    route_colour = _rgba(ROLE_COLOURS["route"], 255)
    for k, s in enumerate(stretches):
        op_label, term, sat, gw, pop, hops = s["key"]
        op = operators[op_label]
        path = _isl_path(
            pos_km_by_op[op_label][:, int(np.searchsorted(steps, s["first"]))],
            op.isl_pairs,
            sat,
            gateway_ecef_km[gw],
            float(prep.scenario.routing.min_elevation_deg),
            hops,
        )
        if path is not None:
            note["routes_with_isl_path"] += 1
        refs = [_ref(f"terminal-{term}")]
        refs += [_ref(_sat_id(op_label, i)) for i in (path or [sat])]
        refs.append(_ref(f"gateway-{gw}"))
        how = (
            "the ISL path drawn is the shortest (by length) from the serving satellite to one "
            f"in view of the gateway at the stretch's first step, with the run's {hops} hop(s)"
            if path is not None
            else "the results keep the hop count, not each satellite, and no shortest path "
            "with that count was found, so the serving satellite to gateway leg is straight"
        )
        if pop and pop in pop_ids:
            refs.append(_ref(f"pop-{pop}"))
        a = times[s["first"]]
        b = times[s["next"]] if s["next"] >= 0 else end
        packets.append(
            {
                "id": f"route-{_sat_id(op_label, term)[4:]}-{k}",
                "name": f"route of terminal {term}",
                "description": (
                    f"terminal {term} -> satellite {sat} -> {hops} ISL hop(s) -> "
                    f"gateway {gw} -> PoP {pop or '(gateway)'}; {how}"
                ),
                "availability": f"{_iso(a)}/{_iso(b)}",
                "polyline": {
                    "positions": {"references": refs},
                    "width": 2,
                    "arcType": "NONE",
                    "material": {"solidColor": {"color": {"rgba": route_colour}}},
                },
            }
        )
    note["routes"] = len(stretches)
    note["route_terminals"] = [int(t) for t in picks] if _timeseries_exists(folder) else []
    geoms, runs = _countries_and_states(prep)
    for code, name, geom in geoms:
        for j, (k0, k1, state) in enumerate(runs[code]):
            rgba = _rgba(SERVICE_STATES[state][0], 150)
            interval = f"{_iso(times[k0])}/{_iso(_step_end(times, step_s, k1))}"
            for p, poly in enumerate(_polygons(geom)):
                packet: dict = {
                    "id": f"country-{code}-{j}-{p}",
                    "name": f"{name} ({code}): {state}",
                    "description": f"{name}: service {state}",
                    "availability": interval,
                    "polygon": {
                        "positions": {"cartographicDegrees": _ring(poly.exterior.coords[:-1])},
                        "material": {"solidColor": {"color": {"rgba": rgba}}},
                        "height": 0,
                        "outline": True,
                        "outlineColor": {"rgba": [60, 60, 60, 255]},
                    },
                }
                holes = [_ring(h.coords[:-1]) for h in poly.interiors]
                if holes:
                    packet["polygon"]["holes"] = {"cartographicDegrees": holes}
                packets.append(packet)
    packets[0]["description"] = (
        f"Run of {prep.scenario.name}: {len(times)} steps of {step_s:g} s from {_iso(start)}"
        f"{decimated}. Routes of {len(note['route_terminals'])} terminal(s); ISL paths "
        "rebuilt as the shortest with the run's hop count (the results store the count). "
        "Countries "
        "coloured by service state: " + ", ".join(SERVICE_STATES) + "."
    )
    return packets, note


def _timeseries_exists(folder: Path) -> bool:
    return (folder / "timeseries.parquet").exists()


def _colour_hex(colour: str) -> str:
    from matplotlib.colors import to_hex

    return to_hex(colour)


def geojson_document(folder) -> tuple[dict, dict]:
    """The RFC 7946 FeatureCollection of a run and a note of what it holds."""
    from shapely.geometry import mapping

    from skymesh.report.maps import SERVICE_STATES
    from skymesh.sim.prepare import prepare

    folder = Path(folder)
    loaded, summary = results_scenario(folder)
    prep = prepare(loaded)
    times = prep.grid.datetimes()
    step_s = float(prep.scenario.time.step_s)
    features: list[dict] = []
    geoms, runs = _countries_and_states(prep)
    for code, name, geom in geoms:
        for a, b, state in runs[code]:
            features.append(
                {
                    "type": "Feature",
                    "geometry": _round_geometry(mapping(geom)),
                    "properties": {
                        "kind": "country",
                        "iso2": code,
                        "name": name,
                        "state": state,
                        "start_utc": _iso(times[a]),
                        "end_utc": _iso(_step_end(times, step_s, b)),
                        "fill": _colour_hex(SERVICE_STATES[state][0]),
                    },
                }
            )
    cells = _cell_features(folder, prep, summary)
    features += cells
    served_gw, served_pop, per_terminal = _usage(folder, prep)
    unused = 0.0 if _timeseries_exists(folder) else None  # never used, or no egress rows
    for name, lat, lon, cc, cap in zip(
        prep.gateway_name,
        prep.gateway_lat,
        prep.gateway_lon,
        prep.gateway_country,
        prep.gateway_capacity_gbps,
    ):
        features.append(
            _point(
                lat,
                lon,
                kind="gateway",
                name=str(name),
                country=str(cc),
                capacity_gbps=_num(cap),
                share_of_served=served_gw.get(str(name), unused),
            )
        )
    if prep.pops is not None:
        for name, lat, lon, cc in zip(
            prep.pops.name, prep.pops.lat_deg, prep.pops.lon_deg, prep.pops.country_iso2
        ):
            features.append(
                _point(
                    lat,
                    lon,
                    kind="pop",
                    name=str(name),
                    country=str(cc),
                    share_of_served=served_pop.get(str(name), unused),
                )
            )
    for i, (lat, lon, cc) in enumerate(
        zip(prep.terminal_lat, prep.terminal_lon, prep.terminal_country)
    ):
        share, rtt = per_terminal.get(i, (None, None))
        features.append(
            _point(
                lat,
                lon,
                kind="terminal",
                terminal=i,
                country=str(cc),
                service_share=share,
                rtt_ms_p50=rtt,
            )
        )
    doc = {
        "type": "FeatureCollection",
        "name": f"SkyMesh: {summary.get('scenario', prep.scenario.name)}",
        "features": features,
    }
    kinds: dict[str, int] = {}
    for f in features:
        kinds[f["properties"]["kind"]] = kinds.get(f["properties"]["kind"], 0) + 1
    return doc, dict(features=kinds)


def _num(v) -> float | None:
    v = float(v)
    return round(v, 6) if np.isfinite(v) else None


def _point(lat, lon, **props) -> dict:
    return {
        "type": "Feature",
        "geometry": {
            "type": "Point",
            "coordinates": [round(float(lon), _COORD_DECIMALS), round(float(lat), _COORD_DECIMALS)],
        },
        "properties": props,
    }


def _round_geometry(geom: dict) -> dict:
    def rnd(c):
        if isinstance(c, (list, tuple)) and c and isinstance(c[0], (int, float)):
            return [round(float(x), _COORD_DECIMALS) for x in c]
        return [rnd(x) for x in c]

    return {"type": geom["type"], "coordinates": rnd(geom["coordinates"])}


def _usage(folder: Path, prep):
    """Shares of served terminal-steps per gateway and PoP, each within its operator's served
    rows; per terminal under the first operator (service share, RTT p50 ms)."""
    table = _timeseries(folder, ["operator", "terminal", "served", "rtt_ms", "gateway", "pop"])
    if table is None or len(table) == 0:
        return {}, {}, {}
    operator = np.asarray([str(o) for o in table["operator"].to_pylist()])
    term = table["terminal"].to_numpy(zero_copy_only=False)
    served = table["served"].to_numpy(zero_copy_only=False).astype(bool)
    rtt = table["rtt_ms"].to_numpy(zero_copy_only=False).astype(float)
    columns = {c: np.asarray([str(v) for v in table[c].to_pylist()]) for c in ("gateway", "pop")}
    shares: dict[str, dict[str, float]] = {"gateway": {}, "pop": {}}
    for label in dict.fromkeys(operator.tolist()):
        mine = served & (operator == label)
        n_served = max(int(mine.sum()), 1)
        for col, values in columns.items():
            names, counts = np.unique(values[mine], return_counts=True)
            for n, c in zip(names, counts):
                shares[col][str(n)] = round(float(c) / n_served, 6)
    first = operator == prep.operators[0].label
    per_terminal = {}
    for t in np.unique(term[first]):
        rows = first & (term == t)
        ok = rows & served & np.isfinite(rtt)
        per_terminal[int(t)] = (
            round(float(served[rows].mean()), 6),
            round(float(np.median(rtt[ok])), 3) if ok.any() else None,
        )
    return shares["gateway"], shares["pop"], per_terminal


def _cell_features(folder: Path, prep, summary: dict) -> list[dict]:
    """H3 cells of the terminals with their demand and carried rate per sampled slot."""
    import h3

    from skymesh.capacity.cells import cell_names, cells_of
    from skymesh.sim.results import read_table

    path = folder / "capacity.parquet"
    if not path.exists() or prep.n_terminals == 0:
        return []
    import pyarrow.parquet as pq

    from skymesh.sim.results import part_files

    parts = part_files(path)
    columns = set(pq.read_schema(parts[0]).names) if parts else set()
    # Each terminal's rate with every terminal demanding at once (named fair_share_mbps since
    # the RTT/capacity renames; rate_mbps before).
    rate_col = "fair_share_mbps" if "fair_share_mbps" in columns else "rate_mbps"
    cap = read_table(path, columns=["time_utc", "terminal", "demand_mbps", rate_col])
    res = int(((summary.get("capacity") or {}).get("inputs") or {}).get("cell_resolution", 5))
    cells = cells_of(prep.terminal_lat, prep.terminal_lon, res)
    names = cell_names(cells.ids)
    boundary = {}
    for c, name in enumerate(names):
        ring = [
            [round(lng, _COORD_DECIMALS), round(lat, _COORD_DECIMALS)]
            for lat, lng in h3.cell_to_boundary(name)
        ]
        boundary[c] = ring + [ring[0]]
    times = cap["time_utc"].to_pylist()
    term = cap["terminal"].to_numpy(zero_copy_only=False)
    demand = np.nan_to_num(cap["demand_mbps"].to_numpy(zero_copy_only=False).astype(float))
    rate = np.nan_to_num(cap[rate_col].to_numpy(zero_copy_only=False).astype(float))
    cell_of = cells.index[term]
    out = []
    for when in sorted(set(times)):
        rows = np.asarray([t == when for t in times])
        for c in np.unique(cell_of[rows]):
            sel = rows & (cell_of == c)
            n = int(sel.sum())
            out.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Polygon", "coordinates": [boundary[int(c)]]},
                    "properties": {
                        "kind": "cell",
                        "h3": str(names[int(c)]),
                        "time_utc": _iso(when),
                        "terminals": n,
                        "demand_mbps": round(float(demand[sel].sum()), 3),
                        "carried_mbps": round(float(rate[sel].sum()), 3),
                        "fair_share_mbps_mean": round(float(rate[sel].mean()), 3),
                    },
                }
            )
    return out


def export_run(
    folder,
    fmt: str,
    out,
    *,
    force: bool = False,
    max_mb: float = DEFAULT_MAX_MB,
    max_steps: int | None = None,
    max_routes: int = DEFAULT_MAX_ROUTES,
) -> dict:
    """Write a run's results folder as ``fmt`` (``"czml"`` or ``"geojson"``) to ``out``.

    Returns a note: ``path``, ``bytes`` and what was kept (steps, routes, features).
    Raises :class:`SkyMeshError` (one line) for an unknown format, a folder that is not a results
    folder, or an existing ``out`` without ``force``; the file is written atomically.
    """
    check_export_args(fmt, out, force)
    if not (np.isfinite(max_mb) and max_mb > 0):
        raise SkyMeshError(f"--max-mb must be a positive number, got {max_mb}")
    doc: Any
    if fmt == "czml":
        doc, note = czml_document(folder, max_mb=max_mb, max_steps=max_steps, max_routes=max_routes)
    else:
        doc, note = geojson_document(folder)
    text = json.dumps(doc, separators=(",", ":"), allow_nan=False)
    if fmt == "czml" and len(text) > 1.25 * max_mb * 1e6:
        raise SkyMeshError(
            f"the CZML came to {len(text) / 1e6:.1f} MB, over --max-mb {max_mb:g}; "
            "lower --max-steps"
        )
    out = Path(out)
    with atomic_path(out) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return dict(note, path=str(out), bytes=len(text.encode("utf-8")), format=fmt)
