"""An offline interactive map in ONE self-contained HTML file.

:func:`write_view_html` writes a page that needs nothing but a browser: the
script, the styles and every piece of data are inline, there is no URL in
it at all (no CDN, no web font, no tile server), and a Content-Security-
Policy forbids the page from fetching anything even by mistake.

What the page shows, on an equirectangular (lon/lat) canvas:

* countries from the bundled Natural Earth 1:110m file, simplified with
  shapely (0.1 deg by default) and shaded by service state, with a legend;
* satellites moving along their tracks as a time slider
  (``<input type="range" id="time-slider">``) or the play button advances;
  the current UTC instant is in ``#time-label``;
* optional ISLs (thin, behind a "links" checkbox, off by default when there
  are more than :data:`ISL_DEFAULT_ON_MAX` of them), the route between two
  places at the current step (none at steps where the caller says the policy
  forbids it, with the reason shown), endpoint and gateway markers labelled
  by name;
* under the map, RTT over time on a UTC time axis, with a cursor at the
  slider's step (click it to jump there); the page fills the window, map and
  chart together, with no blank band.

Colours follow :data:`skymesh.report.maps.ROLE_COLOURS` and
:data:`~skymesh.report.maps.SERVICE_STATES` (Okabe-Ito, colour-blind safe):
satellites, endpoints, gateways and each service state have their own
colour, and "inactive" countries are hatched as well.

Size: tracks are decimated to at most ``max_steps`` instants (120 by
default) and stored as centidegrees (coordinates rounded to 2 decimals) in
little-endian int16 arrays, base64-encoded inside the inline JSON. 1,584
satellites x 120 steps come to about 1 MB of HTML.
"""

from __future__ import annotations

import base64
import html
import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import shapely

from skymesh.errors import InputError
from skymesh.files import write_text_atomic
from skymesh.inputs import iso2_upper
from skymesh.metrics import RTT_LABEL, SPACE_RTT_LABEL
from skymesh.report.maps import (
    INACTIVE_HATCH,
    NO_DATA_STYLE,
    ROLE_COLOURS,
    SERVICE_STATES,
    _countries,
    _points,
    small_countries,
    wrap_lon,
)

DEFAULT_MAX_STEPS = 120
#: Above this many ISLs the page starts with the links hidden (the checkbox shows them).
ISL_DEFAULT_ON_MAX = 2000
DEFAULT_SIMPLIFY_DEG = 0.1
_MISSING = -32768  # int16 code for "no position" (failed propagation)


def decimate_steps(n_steps: int, max_steps: int = DEFAULT_MAX_STEPS) -> np.ndarray:
    """At most ``max_steps`` step indices spread evenly over ``n_steps``, first and last kept."""
    if n_steps <= max_steps:
        return np.arange(n_steps)
    return np.unique(np.round(np.linspace(0, n_steps - 1, max_steps)).astype(int))


def _b64_centideg(values: np.ndarray) -> str:
    v = np.asarray(values, dtype=float)
    out = np.full(v.shape, _MISSING, dtype="<i2")
    ok = np.isfinite(v)
    out[ok] = np.clip(np.round(v[ok] * 100.0), -32767, 32767).astype("<i2")
    return base64.b64encode(out.tobytes()).decode("ascii")


def _iso(value) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, np.datetime64):
        return str(value.astype("datetime64[s]")) + "Z"
    return str(value)


def country_shapes(
    iso2_states: dict | None = None, countries=None, simplify_deg: float = DEFAULT_SIMPLIFY_DEG
) -> list[dict]:
    """Simplified country outlines for the page: ``iso2``, ``name``, ``state`` and
    ``rings`` (flat ``[lon, lat, lon, lat, ...]`` lists, 2 decimals)."""
    cs = _countries(countries)
    states = {iso2_upper(k): str(v) for k, v in (iso2_states or {}).items()}
    out = []
    for code, name, geom in zip(cs.iso2, cs.name, cs.geometry):
        geom = shapely.simplify(geom, simplify_deg, preserve_topology=True)
        rings = []
        for poly in shapely.get_parts(geom):
            if not isinstance(poly, shapely.Polygon) or poly.is_empty:
                continue
            for ring in [poly.exterior, *poly.interiors]:
                xy = np.round(np.asarray(ring.coords)[:, :2], 2)
                if len(xy) >= 4:
                    rings.append(xy.ravel().tolist())
        if rings:
            out.append(
                {
                    "iso2": str(code),
                    "name": str(name),
                    "state": states.get(str(code), ""),
                    "rings": rings,
                }
            )
    return out


def _tracks(sat_tracks):
    if isinstance(sat_tracks, dict):
        times, lat, lon = sat_tracks["times"], sat_tracks["lat"], sat_tracks["lon"]
    else:
        times, lat, lon = sat_tracks
    if hasattr(times, "iso") and callable(times.iso):  # a TimeGrid
        times = times.iso()
    times = [_iso(t) for t in times]
    lat = np.asarray(lat, dtype=float)
    lon = np.asarray(lon, dtype=float)
    if lat.ndim == 1:
        lat, lon = lat[:, None], lon[:, None]
    if lat.shape != lon.shape or lat.ndim != 2:
        raise InputError(
            f"track latitudes {lat.shape} and longitudes {lon.shape} must both "
            "be (satellites, times)",
            field="sat_tracks",
        )
    if lat.shape[1] != len(times):
        raise InputError(
            f"tracks have {lat.shape[1]} instants but {len(times)} times are given",
            field="sat_tracks",
        )
    if len(times) == 0:
        raise InputError("the tracks have no instants", field="sat_tracks")
    return times, lat, lon


def _route_steps(route, steps, n_steps, n_sats):
    if route is None:
        return None
    route = list(route)
    if len(route) != n_steps:
        raise InputError(
            f"route has {len(route)} steps but the tracks have {n_steps}", field="route"
        )
    out = []
    for k in steps:
        r = route[k]
        if r is None or len(r) == 0:
            out.append(None)
            continue
        arr = np.asarray(r, dtype=float)
        if arr.ndim == 2 and arr.shape[1] == 2:  # a (lat, lon) polyline
            out.append({"line": np.round(arr, 2).tolist()})
        elif arr.ndim == 1:  # satellite indices
            idx = arr.astype(int)
            if idx.min() < 0 or idx.max() >= n_sats:
                raise InputError(
                    f"route at step {k} names satellite {int(idx.max())}, but there are {n_sats}",
                    field="route",
                )
            out.append({"sats": idx.tolist()})
        else:
            raise InputError(
                f"route at step {k} is neither satellite indices nor (lat, lon) pairs",
                field="route",
            )
    return out


def _markers(points, order):
    names, lat, lon = _points(points, order=order)
    return [
        {"name": str(n), "lat": round(float(a), 3), "lon": round(float(o), 3)}
        for n, a, o in zip(names, lat, wrap_lon(lon))
    ]


def view_data(
    *,
    sat_tracks,
    countries=None,
    isl_pairs=None,
    route=None,
    rtt_ms=None,
    space_rtt_ms=None,
    endpoints=None,
    gateways=None,
    title="SkyMesh",
    max_steps=DEFAULT_MAX_STEPS,
    simplify_deg=DEFAULT_SIMPLIFY_DEG,
    country_set=None,
    route_note=None,
    route_info=None,
    rtt_ms_p50=None,
    run=None,
    pops=None,
    terminals=None,
) -> dict:
    """The page's data as one JSON-able dict (see :func:`write_view_html`)."""
    times, lat, lon = _tracks(sat_tracks)
    n_sats, n_steps = lat.shape
    steps = decimate_steps(n_steps, max_steps)
    timelines = {}
    if isinstance(countries, (list, tuple)):
        # One {iso2: state} per step: countries whose state changes get a timeline of
        # [page step, state] pairs; the rest a fixed state.
        if len(countries) != n_steps:
            raise InputError(
                f"countries has {len(countries)} steps but the tracks have {n_steps}",
                field="countries",
            )
        per_step = [countries[k] for k in steps]
        codes = sorted(set().union(*per_step))
        for code in codes:
            seq = [str(d.get(code, "")) for d in per_step]
            changes = [[i, v] for i, v in enumerate(seq) if i == 0 or v != seq[i - 1]]
            if len(changes) > 1:
                timelines[iso2_upper(code)] = changes
        countries = dict(per_step[0])
        for d in per_step:
            countries.update(
                {k: v for k, v in d.items() if str(v) not in SERVICE_STATES}
            )  # reported just below
    bad = sorted({str(v) for v in (countries or {}).values()} - set(SERVICE_STATES))
    if bad:
        raise InputError(
            f"unknown service state '{bad[0]}'; use one of {', '.join(SERVICE_STATES)}",
            field="countries",
        )
    isl = (
        np.empty((0, 2), dtype=int)
        if isl_pairs is None
        else np.asarray(isl_pairs, dtype=int).reshape(-1, 2)
    )
    if isl.size and (isl.min() < 0 or isl.max() >= n_sats):
        raise InputError("an ISL names a satellite that does not exist", field="isl_pairs")
    if rtt_ms is not None and space_rtt_ms is not None:
        raise InputError("give rtt_ms or space_rtt_ms, not both", field="rtt_ms")
    rtt_key = "space_rtt_ms" if space_rtt_ms is not None else "rtt_ms"
    rtt_series = space_rtt_ms if space_rtt_ms is not None else rtt_ms
    rtt = None
    if rtt_series is not None:
        r = np.asarray([np.nan if v is None else v for v in rtt_series], dtype=float)
        if len(r) != n_steps:
            raise InputError(
                f"{rtt_key} has {len(r)} steps but the tracks have {n_steps}", field=rtt_key
            )
        rtt = [None if not np.isfinite(v) else round(float(v), 2) for v in r[steps]]
    p50 = None
    if rtt_ms_p50 is not None:
        q = np.asarray([np.nan if v is None else v for v in rtt_ms_p50], dtype=float)
        if len(q) != n_steps:
            raise InputError(
                f"rtt_ms_p50 has {len(q)} steps but the tracks have {n_steps}", field="rtt_ms_p50"
            )
        p50 = [None if not np.isfinite(v) else round(float(v), 2) for v in q[steps]]
    rinfo = None
    if route_info is not None:
        route_info = list(route_info)
        if len(route_info) != n_steps:
            raise InputError(
                f"route_info has {len(route_info)} steps but the tracks have {n_steps}",
                field="route_info",
            )
        rinfo = [route_info[k] for k in steps]
    note = None
    if route_note is not None:
        route_note = list(route_note)
        if len(route_note) != n_steps:
            raise InputError(
                f"route_note has {len(route_note)} steps but the tracks have {n_steps}",
                field="route_note",
            )
        note = [str(route_note[k] or "") for k in steps]
    # Step-major layout: the positions of step k are [k*N, (k+1)*N).
    shapes = country_shapes(countries, country_set, simplify_deg)
    # Small countries not active at some step get a marker (visible at world scale).
    seen: dict = {}
    for code, changes in timelines.items():
        for _, state in changes:
            if state and state != "active":
                seen.setdefault(code, state)
    for code, state in (countries or {}).items():
        if str(state) != "active":
            seen.setdefault(iso2_upper(code), str(state))
    small = {m["iso2"]: m for m in small_countries(seen, country_set)}
    lat_s = lat[:, steps].T
    lon_s = wrap_lon(lon[:, steps]).T
    return {
        "title": str(title),
        "times": [times[k] for k in steps],
        "n_sats": int(n_sats),
        "n_steps": int(len(steps)),
        "lat_b64": _b64_centideg(lat_s),
        "lon_b64": _b64_centideg(lon_s),
        "isl": isl.ravel().tolist(),
        "route": _route_steps(route, steps, n_steps, n_sats),
        "route_note": note,
        rtt_key: rtt,
        "rtt_label": SPACE_RTT_LABEL if rtt_key == "space_rtt_ms" else RTT_LABEL,
        "rtt_short": "space RTT" if rtt_key == "space_rtt_ms" else "user RTT",
        "rtt_ms_p50": p50,
        "route_info": rinfo,
        "run": run,
        "pops": _markers(pops, ("names", "lat", "lon")) if pops is not None else [],
        # (lat, lon) of every terminal, flat, 2 decimals: small dots under the markers.
        "terminals": []
        if terminals is None
        else np.round(
            np.column_stack(
                [np.asarray(terminals[0], float), wrap_lon(np.asarray(terminals[1], float))]
            ),
            2,
        )
        .ravel()
        .tolist(),
        "isl_on": bool(len(isl) <= ISL_DEFAULT_ON_MAX),
        "colours": dict(ROLE_COLOURS),
        "hatch": {"state": "inactive", "colour": INACTIVE_HATCH[1]},
        "endpoints": _markers(endpoints, ("names", "lat", "lon")) if endpoints is not None else [],
        "gateways": _markers(gateways, ("lat", "lon", "names")) if gateways is not None else [],
        "has_states": bool(countries),
        "states": {k: {"colour": c, "label": label} for k, (c, label) in SERVICE_STATES.items()},
        "no_data": {"colour": NO_DATA_STYLE[0], "label": NO_DATA_STYLE[1]},
        "countries": [
            dict(
                c,
                **({"timeline": timelines[c["iso2"]]} if c["iso2"] in timelines else {}),
                **(
                    {"marker": [small[c["iso2"]]["lon"], small[c["iso2"]]["lat"]]}
                    if c["iso2"] in small
                    else {}
                ),
            )
            for c in shapes
        ],
    }


def write_view_html(
    path,
    *,
    sat_tracks,
    countries=None,
    isl_pairs=None,
    route=None,
    rtt_ms=None,
    space_rtt_ms=None,
    endpoints=None,
    gateways=None,
    title: str = "SkyMesh",
    max_steps: int = DEFAULT_MAX_STEPS,
    simplify_deg: float = DEFAULT_SIMPLIFY_DEG,
    country_set=None,
    route_note=None,
    route_info=None,
    rtt_ms_p50=None,
    run=None,
    pops=None,
    terminals=None,
) -> Path:
    """Write the offline interactive map to ``path`` (one self-contained HTML file).

    Parameters
    ----------
    path : str or Path
    sat_tracks : (times, lat_deg, lon_deg) or dict with those keys
        ``times``: T ISO 8601 strings (UTC), datetimes or a ``TimeGrid``;
        ``lat_deg``/``lon_deg``: arrays (N, T) of sub-satellite points (NaN = no
        position). Decimated to at most ``max_steps`` instants.
    countries : dict of ISO alpha-2 -> state, or a list of such dicts (one per step), optional
        With a list, countries whose state changes are shaded by the state at the
        slider's step (e.g. a geofence switching a country off mid-window).
        Service state per country (``"active"``, ``"no-landing-rights"``,
        ``"inactive"``; see :func:`skymesh.report.maps.policy_states`). Countries
        not listed are grey "no data"; without the dict, all land is plain.
    isl_pairs : array_like (L, 2) of int, optional
        Links drawn between the satellites' current positions.
    route : sequence of length T, optional
        Per step: satellite indices in path order (drawn from the first to
        the last endpoint through those satellites), or a polyline of
        ``(lat, lon)`` pairs, or ``None``/empty when unreachable.
    rtt_ms : sequence of length T, optional
        The user's RTT per step (``rtt_ms``, :mod:`skymesh.metrics`; NaN/None when
        unreachable), shown beside the time and plotted under the map on a UTC time
        axis, labelled "RTT (user, with access)".
    space_rtt_ms : sequence of length T, optional
        Instead of ``rtt_ms``: the propagation-only RTT, labelled "space RTT".
    route_note : sequence of str of length T, optional
        Why there is no route at a step ("" where there is nothing to say), e.g.
        "no service: the policy has IR switched off"; shown instead of
        "unreachable" and shaded on the RTT chart.
    route_info : sequence of length T of dict or None, optional
        What the route at each step is, for the status line (a run's view:
        :func:`skymesh.report.run_view.run_view`): ``gateway``, ``pop``,
        ``serving_satellite``, ``isl_hops``, ``components_ms`` (RTT components,
        ms) and ``dashed_leg`` (index of the route segment drawn dashed, the ISL
        hops not drawn one by one; -1 for none).
    rtt_ms_p50 : sequence of length T, optional
        A second RTT line on the chart: the run's median over its served terminals.
    run : dict, optional
        The run's headline figures (``rtt_ms_p50``, ``rtt_ms_p95``, ``service_share``,
        ``terminal_name``, ...; a routing study's ``space_rtt_ms_p50``,
        ``space_rtt_ms_p95``), shown in the header as ``summary.json`` has them.
    pops : (names, lat_deg, lon_deg), optional
        PoPs, drawn as squares.
    terminals : (lat_deg, lon_deg), optional
        Every terminal of a run, drawn as small dots.
    endpoints : (names, lat_deg, lon_deg) or GroundPoints, optional
    gateways : (lat_deg, lon_deg, names) or Gateways, optional
    title : str
    max_steps : int
        Most instants kept in the file.
    simplify_deg : float
        Tolerance of the country outline simplification (deg).
    country_set : Countries or path, optional
        Country polygons (default: the bundled 1:110m file).

    Returns
    -------
    Path of the file written.
    """
    data = view_data(
        sat_tracks=sat_tracks,
        countries=countries,
        isl_pairs=isl_pairs,
        route=route,
        rtt_ms=rtt_ms,
        space_rtt_ms=space_rtt_ms,
        endpoints=endpoints,
        gateways=gateways,
        title=title,
        max_steps=max_steps,
        simplify_deg=simplify_deg,
        country_set=country_set,
        route_note=route_note,
        route_info=route_info,
        rtt_ms_p50=rtt_ms_p50,
        run=run,
        pops=pops,
        terminals=terminals,
    )
    payload = json.dumps(data, separators=(",", ":"), allow_nan=False)
    # Safe inside <script>: no "</script>", no "<!--".
    payload = payload.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    page = (
        _TEMPLATE.replace("__TITLE__", html.escape(str(title)))
        .replace("__DATA__", payload)
        .replace("__SCRIPT__", _SCRIPT)
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, page)
    return path


_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
      content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>__TITLE__</title>
<style>
  html, body { height: 100%; }
  body { margin: 0; font-family: system-ui, -apple-system, "Segoe UI", sans-serif;
         background: #f4f6f8; color: #222; display: flex; flex-direction: column;
         overflow-x: hidden; overflow-y: auto; }
  header { padding: 6px 14px; display: flex; flex-wrap: wrap; gap: 10px 14px;
           align-items: center; flex: none; }
  h1 { font-size: 17px; margin: 0 8px 0 0; }
  #controls { display: flex; gap: 10px; align-items: center; flex: 1 1 360px;
              min-width: min-content; }
  #time-slider { flex: 1; }
  #time-label { font-variant-numeric: tabular-nums; font-weight: 600; white-space: nowrap;
                flex: none; }
  #info { font-size: 13px; color: #444; min-width: 160px; }
  #run-info { font-size: 13px; color: #222; flex-basis: 100%; }
  #run-info:empty { display: none; }
  #isl-toggle { font-size: 13px; white-space: nowrap; }
  button { font: inherit; padding: 2px 10px; }
  #wrap { flex: none; padding: 0 14px; }
  canvas { display: block; margin: 0 auto; }
  #map { background: #dce9f5; border: 1px solid #b8c4cf; }
  #legend { flex: none; display: flex; flex-wrap: wrap; gap: 4px 14px; padding: 5px 14px;
            font-size: 13px; justify-content: center; }
  #chart-wrap { flex: 1 1 auto; min-height: 0; padding: 0 14px 6px; }
  #rtt-chart { background: #ffffff; border: 1px solid #d0d7de; cursor: pointer; }
  .sw { display: inline-block; width: 14px; height: 10px; margin-right: 5px;
        border: 1px solid #666; vertical-align: middle; }
  .dot { display: inline-block; width: 8px; height: 8px; border-radius: 50%;
         margin-right: 5px; vertical-align: middle; border: 1px solid #222; }
  .tri { display: inline-block; width: 0; height: 0; margin-right: 5px; vertical-align: middle;
         border-left: 6px solid transparent; border-right: 6px solid transparent;
         border-bottom: 10px solid; }
  .ln { display: inline-block; width: 18px; height: 0; margin-right: 5px;
        vertical-align: middle; border-top: 3px solid; }
  .dl { display: inline-block; width: 18px; height: 0; margin-right: 5px;
        vertical-align: middle; border-top: 3px dashed; }
  .sq { display: inline-block; width: 8px; height: 8px; margin-right: 5px;
        vertical-align: middle; border: 1px solid #222; }
</style>
</head>
<body>
<header>
  <h1 id="title">__TITLE__</h1>
  <div id="controls">
    <button id="play" type="button" title="play / pause">&#9654;</button>
    <input type="range" id="time-slider" min="0" max="0" step="1" value="0"
           aria-label="time step">
    <span id="time-label"></span>
  </div>
  <label id="isl-toggle"><input type="checkbox" id="show-isl"> inter-satellite links</label>
  <span id="info"></span>
  <span id="run-info"></span>
</header>
<div id="wrap"><canvas id="map" width="1200" height="600"></canvas></div>
<div id="legend"></div>
<div id="chart-wrap"><canvas id="rtt-chart" width="1200" height="160"
     aria-label="RTT over time (UTC)"></canvas></div>
<script type="application/json" id="skymesh-data">__DATA__</script>
<script>
__SCRIPT__
</script>
</body>
</html>
"""

_SCRIPT = r"""
"use strict";
(function () {
  const D = JSON.parse(document.getElementById("skymesh-data").textContent);
  const N = D.n_sats, T = D.n_steps, C = D.colours;

  function decode(b64) {
    const bin = atob(b64), n = bin.length >> 1, out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      let v = bin.charCodeAt(2 * i) | (bin.charCodeAt(2 * i + 1) << 8);
      if (v >= 32768) v -= 65536;
      out[i] = (v === -32768) ? NaN : v / 100;
    }
    return out;
  }
  const LAT = decode(D.lat_b64), LON = decode(D.lon_b64);

  const canvas = document.getElementById("map");
  const ctx = canvas.getContext("2d");
  const chart = document.getElementById("rtt-chart");
  const cctx = chart.getContext("2d");
  const chartWrap = document.getElementById("chart-wrap");
  const slider = document.getElementById("time-slider");
  const label = document.getElementById("time-label");
  const info = document.getElementById("info");
  const playBtn = document.getElementById("play");
  const islBox = document.getElementById("show-isl");
  const legendEl = document.getElementById("legend");
  const base = document.createElement("canvas");
  let W = 1200, H = 600, dpr = 1, step = 0, timer = null;
  const RTT = D.rtt_ms || D.space_rtt_ms || null;  // one of the two, named by D.rtt_label
  const hasChart = !!(RTT && RTT.some(v => v !== null));
  const RUN_RTT = D.rtt_short;  // "user RTT" (rtt_ms, with access) or "space RTT"
  const ROUTING = !!(D.run && D.run.study === "routing");

  const X = lon => (lon + 180) / 360 * W;
  const Y = lat => (90 - lat) / 180 * H;

  function stateAt(c, k) {
    if (!c.timeline) return c.state;
    let st = c.timeline[0][1];
    for (const [at, v] of c.timeline) { if (at <= k) st = v; else break; }
    return st;
  }

  function stateColour(c) {
    if (!D.has_states) return "#f2efe6";
    const s = D.states[stateAt(c, step)];
    return s ? s.colour : D.no_data.colour;
  }

  function hatchPattern(g, colour) {
    const t = document.createElement("canvas");
    const n = Math.max(6, Math.round(7 * dpr));
    t.width = n; t.height = n;
    const h = t.getContext("2d");
    h.strokeStyle = colour; h.lineWidth = Math.max(1, dpr * 0.9);
    h.beginPath(); h.moveTo(0, n); h.lineTo(n, 0);
    h.moveTo(-1, 1); h.lineTo(1, -1); h.moveTo(n - 1, n + 1); h.lineTo(n + 1, n - 1);
    h.stroke();
    return g.createPattern(t, "repeat");
  }

  let baseKey = null;
  function stateKey() {
    return D.countries.filter(c => c.timeline).map(c => stateAt(c, step)).join("|");
  }

  function drawBase() {
    base.width = W; base.height = H;
    const b = base.getContext("2d");
    b.fillStyle = "#dce9f5"; b.fillRect(0, 0, W, H);
    b.strokeStyle = "rgba(255,255,255,0.9)"; b.lineWidth = 1;
    b.beginPath();
    for (let lo = -150; lo < 180; lo += 30) { b.moveTo(X(lo), 0); b.lineTo(X(lo), H); }
    for (let la = -60; la < 90; la += 30) { b.moveTo(0, Y(la)); b.lineTo(W, Y(la)); }
    b.stroke();
    const hatch = hatchPattern(b, D.hatch.colour);
    b.lineWidth = Math.max(0.5, W / 2400);
    for (const c of D.countries) {
      b.beginPath();
      for (const r of c.rings) {
        b.moveTo(X(r[0]), Y(r[1]));
        for (let i = 2; i < r.length; i += 2) b.lineTo(X(r[i]), Y(r[i + 1]));
        b.closePath();
      }
      b.fillStyle = stateColour(c);
      b.fill("evenodd");
      if (D.has_states && stateAt(c, step) === D.hatch.state) {
        b.fillStyle = hatch; b.fill("evenodd");
      }
      b.strokeStyle = D.has_states ? "#ffffff" : "#9a9a9a";
      b.stroke();
    }
    // Small countries (Taiwan) whose state is not "active": a ring in the state's colour
    // with the name and state, so a switched-off island is visible at world scale.
    const small = [];
    for (const c of D.countries) {
      if (!c.marker || !D.has_states) continue;
      const st = stateAt(c, step);
      if (!st || st === "active" || !D.states[st]) continue;
      const x = X(c.marker[0]), y = Y(c.marker[1]), rr = Math.max(9, W / 110);
      b.beginPath(); b.arc(x, y, rr, 0, 2 * Math.PI);
      b.lineWidth = Math.max(2.5, W / 500);
      b.strokeStyle = st === D.hatch.state ? D.hatch.colour : "#8a5a00"; b.stroke();
      const fs = Math.round(Math.max(11, W / 110));
      b.font = "700 " + fs + "px system-ui, sans-serif";
      const text = c.name + ": " + D.states[st].label;
      const tw = b.measureText(text).width;
      const tx = Math.min(x + rr + 4, W - tw - 6), ty = y + rr + fs;
      b.fillStyle = D.states[st].colour; b.strokeStyle = "#555"; b.lineWidth = 1;
      b.fillRect(tx - 3, ty - fs, tw + 6, fs + 5); b.strokeRect(tx - 3, ty - fs, tw + 6, fs + 5);
      b.fillStyle = "#111"; b.fillText(text, tx, ty);
      small.push(c.iso2 + ":" + st);
    }
    canvas.dataset.smallCountries = JSON.stringify(small);
  }

  // A straight lon/lat segment the short way round, cut at the antimeridian.
  function segment(g, lat1, lon1, lat2, lon2) {
    if (!(isFinite(lat1) && isFinite(lon1) && isFinite(lat2) && isFinite(lon2))) return 0;
    let d = lon2 - lon1;
    if (d > 180) d -= 360; else if (d < -180) d += 360;
    const end = lon1 + d;
    if (end > 180 || end < -180) {
      const edge = end > 0 ? 180 : -180;
      const mid = lat1 + (edge - lon1) / d * (lat2 - lat1);
      g.moveTo(X(lon1), Y(lat1)); g.lineTo(X(edge), Y(mid));
      g.moveTo(X(-edge), Y(mid)); g.lineTo(X(lon2), Y(lat2));
    } else {
      g.moveTo(X(lon1), Y(lat1)); g.lineTo(X(lon2), Y(lat2));
    }
    return 1;
  }

  function routePoints(k) {
    if (!D.route) return null;
    const r = D.route[k];
    if (!r) return null;
    if (r.line) return r.line;
    const pts = [];
    const e = D.endpoints;
    if (e.length) pts.push([e[0].lat, e[0].lon]);
    for (const s of r.sats) pts.push([LAT[k * N + s], LON[k * N + s]]);
    if (e.length > 1) pts.push([e[e.length - 1].lat, e[e.length - 1].lon]);
    return pts;
  }

  function marker(x, y, shape, size, fill) {
    ctx.beginPath();
    if (shape === "tri") {
      ctx.moveTo(x, y - size); ctx.lineTo(x + size, y + size * 0.8);
      ctx.lineTo(x - size, y + size * 0.8); ctx.closePath();
    } else if (shape === "square") {
      ctx.rect(x - size * 0.8, y - size * 0.8, size * 1.6, size * 1.6);
    } else if (shape === "diamond") {
      ctx.moveTo(x, y - size); ctx.lineTo(x + size, y); ctx.lineTo(x, y + size);
      ctx.lineTo(x - size, y); ctx.closePath();
    } else {
      ctx.arc(x, y, size, 0, 2 * Math.PI);
    }
    ctx.fillStyle = fill; ctx.fill();
    ctx.lineWidth = Math.max(1, dpr); ctx.strokeStyle = "#111"; ctx.stroke();
  }

  // Labels: try right, left, above, below; a label that fits nowhere is left off
  // (endpoint names are always drawn, first).
  function placeLabels(items) {
    const boxes = [], placed = [];
    for (const it of items) {
      ctx.font = it.font;
      const w = ctx.measureText(it.text).width, h = it.size, o = it.offset;
      const options = [[it.x + o, it.y + h / 3], [it.x - o - w, it.y + h / 3],
                       [it.x - w / 2, it.y - o], [it.x - w / 2, it.y + o + h],
                       [it.x + o, it.y - o], [it.x + o, it.y + o + h],
                       [it.x - o - w, it.y - o], [it.x - o - w, it.y + o + h]];
      const boxOf = (x, y) => [x - 2, y - h, x + w + 2, y + 3];
      const free = box => boxes.every(q => box[2] <= q[0] || q[2] <= box[0] ||
                                           box[3] <= q[1] || q[3] <= box[1]);
      let pick = null;
      for (const [x, y] of options) {
        const box = boxOf(x, y);
        const inside = box[0] >= 0 && box[2] <= W && box[1] >= 0 && box[3] <= H;
        if (inside && free(box)) { pick = [x, y, box]; break; }
      }
      if (!pick && it.always) {      // an endpoint's name: pulled inside, free if it can be
        const clamp = ([x, y]) => [Math.min(Math.max(2, x), W - w - 2),
                                   Math.min(Math.max(h + 2, y), H - 4)];
        const moved = options.map(clamp);
        const ok = moved.find(([x, y]) => free(boxOf(x, y))) || moved[0];
        pick = [ok[0], ok[1], boxOf(ok[0], ok[1])];
      }
      if (!pick) continue;
      boxes.push(pick[2]);
      placed.push(it.text);
      ctx.lineWidth = Math.max(3, 3 * dpr); ctx.strokeStyle = "rgba(255,255,255,0.9)";
      ctx.strokeText(it.text, pick[0], pick[1]);
      ctx.fillStyle = it.colour; ctx.fillText(it.text, pick[0], pick[1]);
    }
    canvas.dataset.labels = JSON.stringify(placed);
    canvas.dataset.labelBoxes = JSON.stringify(boxes.map(b => b.map(v => Math.round(v))));
  }

  function draw() {
    const key = W + "x" + H + ":" + stateKey();
    if (key !== baseKey) { drawBase(); baseKey = key; }
    ctx.drawImage(base, 0, 0);
    const o = step * N;
    if (D.isl.length && islBox.checked) {
      ctx.beginPath();
      for (let i = 0; i < D.isl.length; i += 2) {
        const a = o + D.isl[i], b = o + D.isl[i + 1];
        segment(ctx, LAT[a], LON[a], LAT[b], LON[b]);
      }
      ctx.globalAlpha = 0.35;
      ctx.strokeStyle = C.isl; ctx.lineWidth = Math.max(0.5, 0.6 * dpr); ctx.stroke();
      ctx.globalAlpha = 1;
    }
    const r = Math.max(1.2, W / 900);
    ctx.fillStyle = C.satellite;
    for (let s = 0; s < N; s++) {
      const la = LAT[o + s], lo = LON[o + s];
      if (isFinite(la) && isFinite(lo)) ctx.fillRect(X(lo) - r, Y(la) - r, 2 * r, 2 * r);
    }
    const pts = routePoints(step);
    let routeSegments = 0;
    if (pts) {
      const ri = D.route_info ? D.route_info[step] : null;
      const dashed = ri ? ri.dashed_leg : -1;
      for (const pass of [false, true]) {   // solid legs, then the dashed one
        ctx.beginPath();
        for (let i = 0; i + 1 < pts.length; i++)
          if ((i === dashed) === pass)
            routeSegments += segment(ctx, pts[i][0], pts[i][1], pts[i + 1][0], pts[i + 1][1]);
        ctx.setLineDash(pass ? [8 * dpr, 5 * dpr] : []);
        ctx.lineWidth = Math.max(4.5, W / 300); ctx.strokeStyle = "rgba(255,255,255,0.9)";
        ctx.stroke();
        ctx.strokeStyle = C.route; ctx.lineWidth = Math.max(2.2, W / 600); ctx.stroke();
      }
      ctx.setLineDash([]);
      if (ri && ri.serving_satellite >= 0 && pts.length > 1)
        marker(X(pts[1][1]), Y(pts[1][0]), "dot", Math.max(3, W / 360), C.route_satellite);
      if (D.route[step].sats)
        for (let i = 1; i + 1 < pts.length; i++)
          marker(X(pts[i][1]), Y(pts[i][0]), "dot", Math.max(3, W / 360), C.route_satellite);
    }
    canvas.dataset.routeSegments = String(routeSegments);
    const tr = Math.max(1.5, W / 700);
    ctx.fillStyle = C.terminal;
    for (let i = 0; i + 1 < D.terminals.length; i += 2) {
      ctx.beginPath(); ctx.arc(X(D.terminals[i + 1]), Y(D.terminals[i]), tr, 0, 2 * Math.PI);
      ctx.fill();
    }
    for (const g of D.gateways)
      marker(X(g.lon), Y(g.lat), "tri", Math.max(5, W / 220), C.gateway);
    for (const p of D.pops)
      marker(X(p.lon), Y(p.lat), "square", Math.max(4.5, W / 240), C.route_satellite);
    for (const e of D.endpoints)
      marker(X(e.lon), Y(e.lat), "diamond", Math.max(5.5, W / 190), C.endpoint);
    const big = Math.round(Math.max(12, W / 85)), small = Math.round(Math.max(10, W / 115));
    const items = [];
    for (const e of D.endpoints) if (e.name)
      items.push({x: X(e.lon), y: Y(e.lat), text: e.name, colour: "#111", always: true,
                  font: "700 " + big + "px system-ui, sans-serif", size: big,
                  offset: Math.max(8, W / 140)});
    // A gateway that is also an endpoint already carries the endpoint's name.
    const atEnd = g => D.endpoints.some(e => Math.abs(e.lat - g.lat) < 0.01 &&
                                             Math.abs(e.lon - g.lon) < 0.01);
    if (D.gateways.length <= 40)
      for (const g of D.gateways.concat(D.pops)) if (g.name && !atEnd(g))
        items.push({x: X(g.lon), y: Y(g.lat), text: g.name, colour: "#333", always: false,
                    font: "500 " + small + "px system-ui, sans-serif", size: small,
                    offset: Math.max(7, W / 170)});
    placeLabels(items);
  }

  // ---------------------------------------------------------------- RTT chart (UTC axis)
  const PAD = {l: 56, r: 14, t: 10, b: 34};
  function niceStep(span, n) {
    const raw = span / Math.max(1, n), mag = Math.pow(10, Math.floor(Math.log10(raw)));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * mag >= raw) return m * mag;
    return 10 * mag;
  }
  const tMs = D.times.map(t => Date.parse(t));
  function chartX(k, cw) {
    const t0 = tMs[0], t1 = tMs[T - 1];
    const f = t1 > t0 ? (tMs[k] - t0) / (t1 - t0) : 0.5;
    return PAD.l * dpr + f * (cw - (PAD.l + PAD.r) * dpr);
  }
  function drawChart() {
    if (!hasChart) return;
    const cw = chart.width, ch = chart.height, g = cctx;
    g.clearRect(0, 0, cw, ch);
    const vals = RTT.concat(D.rtt_ms_p50 || []).filter(v => v !== null);
    const ymax = Math.max(1, Math.max(...vals) * (D.rtt_ms_p50 ? 1.35 : 1.15));  // room for the key
    const y0 = ch - PAD.b * dpr, y1 = PAD.t * dpr;
    const Yc = v => y0 - v / ymax * (y0 - y1);
    const half = T > 1 ? (chartX(1, cw) - chartX(0, cw)) / 2 : 4;
    const why = k => (D.route_note ? D.route_note[k] : "") ? "policy" : "none";
    for (let k = 0; k < T; k++) {        // runs of steps without a route, shaded by the reason
      if (RTT[k] !== null) continue;
      let e = k;
      while (e + 1 < T && RTT[e + 1] === null && why(e + 1) === why(k)) e++;
      const xa = Math.max(PAD.l * dpr, chartX(k, cw) - half);
      const xb = Math.min(cw - PAD.r * dpr, chartX(e, cw) + half);
      g.fillStyle = why(k) === "policy" ? D.states.inactive.colour : "#e6e6e6";
      g.fillRect(Math.floor(xa), y1, Math.ceil(xb - xa), y0 - y1);
      const text = why(k) === "policy" ? D.route_note[k] : "unreachable";
      g.font = Math.round(11 * dpr) + "px system-ui, sans-serif";
      if (g.measureText(text).width + 12 * dpr < xb - xa) {
        g.fillStyle = "#333"; g.textAlign = "center"; g.textBaseline = "top";
        g.fillText(text, (xa + xb) / 2, y1 + 6 * dpr);
      }
      k = e;
    }
    const fs = Math.round(11 * dpr);
    g.font = fs + "px system-ui, sans-serif"; g.fillStyle = "#333";
    g.strokeStyle = "#e3e3e3"; g.lineWidth = 1;
    const ys = niceStep(ymax, 4);
    g.textAlign = "right"; g.textBaseline = "middle";
    for (let v = 0; v <= ymax + 1e-9; v += ys) {
      g.beginPath(); g.moveTo(PAD.l * dpr, Yc(v)); g.lineTo(cw - PAD.r * dpr, Yc(v)); g.stroke();
      g.fillText(String(Math.round(v * 10) / 10), PAD.l * dpr - 6 * dpr, Yc(v));
    }
    g.save(); g.translate(14 * dpr, (y0 + y1) / 2); g.rotate(-Math.PI / 2);
    // The short name fits the chart's height; the header and legend give the full meaning.
    g.textAlign = "center"; g.fillText(D.rtt_short + " (ms)", 0, 0); g.restore();
    // Time ticks: whole minutes (or hours) in UTC.
    const t0 = tMs[0], t1 = tMs[T - 1], span = Math.max(1, t1 - t0);
    const choices = [1e3, 5e3, 1e4, 3e4, 6e4, 3e5, 6e5, 9e5, 18e5, 36e5, 108e5, 216e5,
                     432e5, 864e5];                   // 1 s ... 1 day, in ms
    let tick = choices[choices.length - 1];
    for (const c of choices) if (span / c <= 8) { tick = c; break; }
    g.textAlign = "center"; g.textBaseline = "top";
    for (let t = Math.ceil(t0 / tick) * tick; t <= t1; t += tick) {
      const f = (t - t0) / span, x = PAD.l * dpr + f * (cw - (PAD.l + PAD.r) * dpr);
      g.beginPath(); g.moveTo(x, y0); g.lineTo(x, y0 + 4 * dpr); g.strokeStyle = "#888"; g.stroke();
      const iso = new Date(t).toISOString();
      const txt = tick < 6e4 ? iso.slice(11, 19) : iso.slice(11, 16);
      const hw = g.measureText(txt).width / 2;        // keep the label inside the canvas
      g.fillText(txt, Math.min(Math.max(x, hw + 2), cw - hw - 2), y0 + 6 * dpr);
    }
    g.textAlign = "left";
    g.fillText("time (UTC), " + D.times[0].slice(0, 10), PAD.l * dpr, y0 + 19 * dpr);
    g.beginPath(); let pen = false;
    for (let k = 0; k < T; k++) {
      const v = RTT[k];
      if (v === null) { pen = false; continue; }
      if (pen) g.lineTo(chartX(k, cw), Yc(v)); else g.moveTo(chartX(k, cw), Yc(v));
      pen = true;
    }
    g.strokeStyle = C.satellite; g.lineWidth = 1.6 * dpr; g.stroke();
    if (D.rtt_ms_p50) {                  // the run's median over its served terminals
      g.beginPath(); pen = false;
      for (let k = 0; k < T; k++) {
        const v = D.rtt_ms_p50[k];
        if (v === null) { pen = false; continue; }
        if (pen) g.lineTo(chartX(k, cw), Yc(v)); else g.moveTo(chartX(k, cw), Yc(v));
        pen = true;
      }
      g.setLineDash([6 * dpr, 4 * dpr]); g.strokeStyle = "#555"; g.lineWidth = 1.4 * dpr;
      g.stroke(); g.setLineDash([]);
      const keys = [[C.satellite, [], D.run ? D.run.terminal_name : "this terminal"],
                    ["#555", [6 * dpr, 4 * dpr], ROUTING ? "median over the reachable pairs"
                                                         : "median over the run's served terminals"]];
      g.textAlign = "left"; g.textBaseline = "middle";
      const kw = keys.reduce((a, k) => a + g.measureText(k[2]).width + 44 * dpr, 0);
      let kx = Math.max(PAD.l * dpr, cw - PAD.r * dpr - kw - 4 * dpr);   // top right, boxed
      g.fillStyle = "rgba(255,255,255,0.92)";
      g.fillRect(kx - 4 * dpr, y1, kw + 4 * dpr, 17 * dpr);
      kx += 4 * dpr;
      for (const [col, dash, text] of keys) {
        g.beginPath(); g.moveTo(kx, y1 + 8 * dpr); g.lineTo(kx + 22 * dpr, y1 + 8 * dpr);
        g.setLineDash(dash); g.strokeStyle = col; g.lineWidth = 1.8 * dpr; g.stroke();
        g.setLineDash([]); g.fillStyle = "#222"; g.fillText(text, kx + 26 * dpr, y1 + 8 * dpr);
        kx += g.measureText(text).width + 44 * dpr;
      }
    }
    const cx = chartX(step, cw);                      // the slider's step
    g.beginPath(); g.moveTo(cx, y1); g.lineTo(cx, y0);
    g.strokeStyle = C.endpoint; g.lineWidth = 2 * dpr; g.stroke();
  }

  let headerH = -1;
  function update() {
    updateText();
    // A longer or shorter status line can re-wrap the header: lay the page out again.
    if (document.querySelector("header").offsetHeight !== headerH) { resize(); return; }
    draw();
    drawChart();
  }

  function updateText() {
    step = Math.min(T - 1, Math.max(0, parseInt(slider.value, 10) || 0));
    label.textContent = D.times[step].replace("T", " ").replace(/\.\d+Z$|Z$/, "") + " UTC";
    let msg = "step " + (step + 1) + " of " + T;
    if (D.route) {
      const r = D.route[step];
      const rtt = RTT ? RTT[step] : null;
      const why = D.route_note ? D.route_note[step] : "";
      const ri = D.route_info ? D.route_info[step] : null;
      if (!r) msg += " \u00b7 no route (" + (why || "unreachable") + ")";
      else if (ri) {
        const short = {space_propagation_ms: "space", space_rtt_ms: "space", fibre_ms: "fibre",
                       access_ms: "access", processing_ms: "processing",
                       queueing_ms: "queueing"};
        const parts = Object.entries(ri.components_ms || {}).filter(([, v]) => v > 0.005)
          .map(([k, v]) => (short[k] || k) + " " + v.toFixed(1));
        if (ri.serving_satellite >= 0) msg += " \u00b7 satellite #" + ri.serving_satellite;
        if (ri.isl_hops >= 0)
          msg += (ri.serving_satellite >= 0 ? ", " : " \u00b7 ") + ri.isl_hops + " ISL hop" +
                 (ri.isl_hops === 1 ? "" : "s");
        msg += " \u00b7 gateway " + ri.gateway + (ri.pop !== ri.gateway ? ", PoP " + ri.pop : "");
        if (rtt !== null && rtt !== undefined)
          msg += " \u00b7 " + RUN_RTT + " " + rtt.toFixed(1) + " ms" +
                 (parts.length ? " (" + parts.join(" + ") + ")" : "");
      } else {
        if (r.sats) msg += " \u00b7 " + r.sats.length +
                           (r.sats.length === 1 ? " satellite" : " satellites");
        if (rtt !== null && rtt !== undefined)
          msg += " \u00b7 " + D.rtt_short + " " + rtt.toFixed(1) + " ms";
      }
    }
    info.textContent = msg;
  }

  function resize() {
    dpr = window.devicePixelRatio || 1;
    updateText();          // the header's height depends on the text it holds
    const header = headerH = document.querySelector("header").offsetHeight;
    const chartMin = hasChart ? 140 : 0;
    const avail = window.innerHeight - header - legendEl.offsetHeight - chartMin - 6;
    const wrapW = document.getElementById("wrap").clientWidth - 28;
    const cssW = Math.max(320, Math.min(wrapW - 2, 2 * Math.max(160, avail)));
    W = Math.round(cssW * dpr); H = Math.round(W / 2);
    canvas.width = W; canvas.height = H;
    canvas.style.width = cssW + "px"; canvas.style.height = Math.round(cssW / 2) + "px";
    if (hasChart) {
      // What is left of the window under the legend (padding 6 px, border 2 px).
      const top = chartWrap.getBoundingClientRect().top;
      const chH = Math.max(110, Math.floor(window.innerHeight - top - 9));
      chart.width = Math.round(cssW * dpr); chart.height = Math.round(chH * dpr);
      chart.style.width = cssW + "px"; chart.style.height = chH + "px";
    }
    baseKey = null;
    update();
  }

  function legend() {
    const items = [];
    if (D.has_states) {
      const present = new Set(D.countries.map(c => c.state));
      for (const k of Object.keys(D.states))
        items.push(["sw", D.states[k].colour, D.states[k].label, "state-" + k]);
      if (present.has("") || [...present].some(s => s && !(s in D.states)))
        items.push(["sw", D.no_data.colour, D.no_data.label, "state-no-data"]);
    }
    const fmt = n => n.toLocaleString("en-US");
    items.push(["dot", C.satellite, "satellite (" + fmt(N) + ")", "sat"]);
    if (D.isl.length)
      items.push(["ln", C.isl, "inter-satellite link (" + fmt(D.isl.length / 2) + ")", "isl"]);
    if (D.route) items.push(["ln", C.route, "route", "route"]);
    if (D.route) items.push(["dot", C.route_satellite, "satellite on the route", "route-sat"]);
    if (D.endpoints.length)
      items.push(["dot", C.endpoint, !D.run ? "endpoint" : ROUTING ? "the pair drawn"
                                                                    : "terminal followed",
                  "endpoint"]);
    if (D.terminals.length)
      items.push(["dot", C.terminal, (ROUTING ? "ground point (" : "terminal (") +
                  fmt(D.terminals.length / 2) + ")", "terminals"]);
    if (D.gateways.length) items.push(["tri", C.gateway, "gateway", "gateway"]);
    if (D.pops.length) items.push(["sq", C.route_satellite, "PoP", "pop"]);
    if (D.route_info && D.route_info.some(r => r && r.dashed_leg >= 0))
      items.push(["dl", C.route, "ISL hops (not drawn one by one)", "route-isl"]);
    if (hasChart && D.route_note && D.route_note.some(s => s))
      items.push(["sw", D.states.inactive.colour, "chart: no route by policy", "chart-policy"]);
    for (const [cls, colour, text, key] of items) {
      const span = document.createElement("span");
      span.className = "legend-item";
      span.dataset.key = key;
      span.dataset.colour = colour;
      const sw = document.createElement("span");
      sw.className = cls;
      if (cls === "ln" || cls === "dl") sw.style.borderTopColor = colour;
      else if (cls === "tri") sw.style.borderBottomColor = colour;
      else sw.style.background = colour;
      if (key === "state-inactive")
        sw.style.backgroundImage = "repeating-linear-gradient(135deg, " + D.hatch.colour +
                                   " 0 1px, transparent 1px 4px)";
      span.appendChild(sw);
      span.appendChild(document.createTextNode(text));
      legendEl.appendChild(span);
    }
  }

  function play() {
    if (timer) { clearInterval(timer); timer = null; playBtn.innerHTML = "&#9654;"; return; }
    playBtn.innerHTML = "&#10074;&#10074;";
    timer = setInterval(function () {
      slider.value = String((step + 1) % T);
      update();
    }, 150);
  }

  function chartClick(ev) {
    const rect = chart.getBoundingClientRect();
    const x = (ev.clientX - rect.left) * dpr;
    let best = 0, bestD = Infinity;
    for (let k = 0; k < T; k++) {
      const d = Math.abs(chartX(k, chart.width) - x);
      if (d < bestD) { bestD = d; best = k; }
    }
    slider.value = String(best);
    update();
  }

  if (D.run) {
    const R = D.run, pct = v => (v === null || v === undefined) ? "n/a"
                                                                : (100 * v).toFixed(1) + " %";
    const f1 = v => (v === null || v === undefined) ? "n/a" : v.toFixed(1);
    const gws = (R.gateways || []).slice(0, 3)
      .map(g => g.name + " (" + g.country + ") " + Math.round(100 * g.share) + " %").join(", ");
    document.getElementById("run-info").textContent = R.study === "routing" ?
      "The routing study (" + R.terminals.toLocaleString("en-US") + " ground points): " +
      "space RTT over all pairs p50 " + f1(R.space_rtt_ms_p50) + " ms, p95 " +
      f1(R.space_rtt_ms_p95) +
      " ms; pair-steps reachable " + pct(R.service_share) + ". Pair drawn: " +
      R.terminal_name + " (its route recomputed, drawn where its RTT is the run's)." :
      "The run (" + R.operator + ", " + R.terminals.toLocaleString("en-US") +
      " terminals" + (R.access_model === "propagation" ? ", propagation model" : "") + "): " +
      RUN_RTT + " p50 " + f1(R.rtt_ms_p50) + " ms, p95 " + f1(R.rtt_ms_p95) +
      " ms; served " + pct(R.service_share) + " of the time" +
      (gws ? "; exits at " + gws : "") + ". Route drawn: " + R.terminal_name + ".";
  }
  if (!D.isl.length) document.getElementById("isl-toggle").style.display = "none";
  islBox.checked = !!D.isl_on;
  if (!hasChart) chartWrap.style.display = "none";
  slider.max = String(T - 1);
  slider.value = "0";
  slider.addEventListener("input", update);
  slider.addEventListener("change", update);
  islBox.addEventListener("change", update);
  playBtn.addEventListener("click", play);
  chart.addEventListener("click", chartClick);
  window.addEventListener("resize", resize);
  legend();
  resize();
})();
"""
