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
* optional ISLs, the route between two places at the current step, and
  endpoint and gateway markers.

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
from skymesh.report.maps import NO_DATA_STYLE, SERVICE_STATES, _countries, _points, wrap_lon

DEFAULT_MAX_STEPS = 120
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


def country_shapes(iso2_states: dict | None = None, countries=None,
                   simplify_deg: float = DEFAULT_SIMPLIFY_DEG) -> list[dict]:
    """Simplified country outlines for the page: ``iso2``, ``name``, ``state`` and
    ``rings`` (flat ``[lon, lat, lon, lat, ...]`` lists, 2 decimals)."""
    cs = _countries(countries)
    states = {str(k).upper(): str(v) for k, v in (iso2_states or {}).items()}
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
            out.append({"iso2": str(code), "name": str(name),
                        "state": states.get(str(code), ""), "rings": rings})
    return out


def _tracks(sat_tracks):
    if isinstance(sat_tracks, dict):
        times, lat, lon = sat_tracks["times"], sat_tracks["lat"], sat_tracks["lon"]
    else:
        times, lat, lon = sat_tracks
    if hasattr(times, "iso") and callable(times.iso):        # a TimeGrid
        times = times.iso()
    times = [_iso(t) for t in times]
    lat = np.asarray(lat, dtype=float)
    lon = np.asarray(lon, dtype=float)
    if lat.ndim == 1:
        lat, lon = lat[:, None], lon[:, None]
    if lat.shape != lon.shape or lat.ndim != 2:
        raise InputError(f"track latitudes {lat.shape} and longitudes {lon.shape} must both "
                         "be (satellites, times)", field="sat_tracks")
    if lat.shape[1] != len(times):
        raise InputError(f"tracks have {lat.shape[1]} instants but {len(times)} times are "
                         "given", field="sat_tracks")
    if len(times) == 0:
        raise InputError("the tracks have no instants", field="sat_tracks")
    return times, lat, lon


def _route_steps(route, steps, n_steps, n_sats):
    if route is None:
        return None
    route = list(route)
    if len(route) != n_steps:
        raise InputError(f"route has {len(route)} steps but the tracks have {n_steps}",
                         field="route")
    out = []
    for k in steps:
        r = route[k]
        if r is None or len(r) == 0:
            out.append(None)
            continue
        arr = np.asarray(r, dtype=float)
        if arr.ndim == 2 and arr.shape[1] == 2:            # a (lat, lon) polyline
            out.append({"line": np.round(arr, 2).tolist()})
        elif arr.ndim == 1:                                 # satellite indices
            idx = arr.astype(int)
            if idx.min() < 0 or idx.max() >= n_sats:
                raise InputError(f"route at step {k} names satellite {int(idx.max())}, "
                                 f"but there are {n_sats}", field="route")
            out.append({"sats": idx.tolist()})
        else:
            raise InputError(f"route at step {k} is neither satellite indices nor "
                             "(lat, lon) pairs", field="route")
    return out


def _markers(points, order):
    names, lat, lon = _points(points, order=order)
    return [{"name": str(n), "lat": round(float(a), 3), "lon": round(float(o), 3)}
            for n, a, o in zip(names, lat, wrap_lon(lon))]


def view_data(*, sat_tracks, countries=None, isl_pairs=None, route=None, rtt_ms=None,
              endpoints=None, gateways=None, title="SkyMesh", max_steps=DEFAULT_MAX_STEPS,
              simplify_deg=DEFAULT_SIMPLIFY_DEG, country_set=None) -> dict:
    """The page's data as one JSON-able dict (see :func:`write_view_html`)."""
    times, lat, lon = _tracks(sat_tracks)
    n_sats, n_steps = lat.shape
    steps = decimate_steps(n_steps, max_steps)
    timelines = {}
    if isinstance(countries, (list, tuple)):
        # One {iso2: state} per step: countries whose state changes get a timeline of
        # [page step, state] pairs; the rest a fixed state.
        if len(countries) != n_steps:
            raise InputError(f"countries has {len(countries)} steps but the tracks have "
                             f"{n_steps}", field="countries")
        per_step = [countries[k] for k in steps]
        codes = sorted(set().union(*per_step))
        for code in codes:
            seq = [str(d.get(code, "")) for d in per_step]
            changes = [[i, v] for i, v in enumerate(seq) if i == 0 or v != seq[i - 1]]
            if len(changes) > 1:
                timelines[str(code).upper()] = changes
        countries = dict(per_step[0])
        for d in per_step:
            countries.update({k: v for k, v in d.items()
                              if str(v) not in SERVICE_STATES})   # reported just below
    bad = sorted({str(v) for v in (countries or {}).values()} - set(SERVICE_STATES))
    if bad:
        raise InputError(f"unknown service state '{bad[0]}'; use one of "
                         f"{', '.join(SERVICE_STATES)}", field="countries")
    isl = np.empty((0, 2), dtype=int) if isl_pairs is None else \
        np.asarray(isl_pairs, dtype=int).reshape(-1, 2)
    if isl.size and (isl.min() < 0 or isl.max() >= n_sats):
        raise InputError("an ISL names a satellite that does not exist", field="isl_pairs")
    rtt = None
    if rtt_ms is not None:
        r = np.asarray([np.nan if v is None else v for v in rtt_ms], dtype=float)
        if len(r) != n_steps:
            raise InputError(f"rtt_ms has {len(r)} steps but the tracks have {n_steps}",
                             field="rtt_ms")
        rtt = [None if not np.isfinite(v) else round(float(v), 2) for v in r[steps]]
    # Step-major layout: the positions of step k are [k*N, (k+1)*N).
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
        "rtt_ms": rtt,
        "endpoints": _markers(endpoints, ("names", "lat", "lon")) if endpoints is not None
        else [],
        "gateways": _markers(gateways, ("lat", "lon", "names")) if gateways is not None
        else [],
        "has_states": bool(countries),
        "states": {k: {"colour": c, "label": label} for k, (c, label) in SERVICE_STATES.items()},
        "no_data": {"colour": NO_DATA_STYLE[0], "label": NO_DATA_STYLE[1]},
        "countries": [dict(c, timeline=timelines[c["iso2"]]) if c["iso2"] in timelines else c
                      for c in country_shapes(countries, country_set, simplify_deg)],
    }


def write_view_html(path, *, sat_tracks, countries=None, isl_pairs=None, route=None,
                    rtt_ms=None, endpoints=None, gateways=None, title: str = "SkyMesh",
                    max_steps: int = DEFAULT_MAX_STEPS,
                    simplify_deg: float = DEFAULT_SIMPLIFY_DEG, country_set=None) -> Path:
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
        RTT per step (NaN/None when unreachable), shown beside the time.
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
    data = view_data(sat_tracks=sat_tracks, countries=countries, isl_pairs=isl_pairs,
                     route=route, rtt_ms=rtt_ms, endpoints=endpoints, gateways=gateways,
                     title=title, max_steps=max_steps, simplify_deg=simplify_deg,
                     country_set=country_set)
    payload = json.dumps(data, separators=(",", ":"), allow_nan=False)
    # Safe inside <script>: no "</script>", no "<!--".
    payload = payload.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    page = (_TEMPLATE.replace("__TITLE__", html.escape(str(title)))
            .replace("__DATA__", payload)
            .replace("__SCRIPT__", _SCRIPT))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
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
  body { margin: 0; font-family: system-ui, -apple-system, "Segoe UI", sans-serif;
         background: #f4f6f8; color: #222; }
  header { padding: 8px 14px; display: flex; flex-wrap: wrap; gap: 12px; align-items: center; }
  h1 { font-size: 17px; margin: 0 12px 0 0; }
  #controls { display: flex; gap: 10px; align-items: center; flex: 1; min-width: 320px; }
  #time-slider { flex: 1; }
  #time-label { font-variant-numeric: tabular-nums; min-width: 190px; font-weight: 600; }
  #info { font-size: 13px; color: #444; min-width: 160px; }
  button { font: inherit; padding: 2px 10px; }
  #wrap { position: relative; margin: 0 14px; }
  canvas { display: block; width: 100%; background: #dce9f5; border: 1px solid #b8c4cf; }
  #legend { display: flex; flex-wrap: wrap; gap: 14px; padding: 8px 14px; font-size: 13px; }
  .sw { display: inline-block; width: 14px; height: 10px; margin-right: 5px;
        border: 1px solid #666; vertical-align: middle; }
  .dot { display: inline-block; width: 7px; height: 7px; border-radius: 50%;
         margin-right: 5px; vertical-align: middle; }
  .ln { display: inline-block; width: 18px; height: 0; margin-right: 5px;
        vertical-align: middle; border-top: 3px solid; }
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
  <span id="info"></span>
</header>
<div id="wrap"><canvas id="map" width="1200" height="600"></canvas></div>
<div id="legend"></div>
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
  const N = D.n_sats, T = D.n_steps;

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
  const slider = document.getElementById("time-slider");
  const label = document.getElementById("time-label");
  const info = document.getElementById("info");
  const playBtn = document.getElementById("play");
  const base = document.createElement("canvas");
  let W = 1200, H = 600, step = 0, timer = null;

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
    b.lineWidth = Math.max(0.5, W / 2400); b.strokeStyle = "#ffffff";
    for (const c of D.countries) {
      b.beginPath();
      for (const r of c.rings) {
        b.moveTo(X(r[0]), Y(r[1]));
        for (let i = 2; i < r.length; i += 2) b.lineTo(X(r[i]), Y(r[i + 1]));
        b.closePath();
      }
      b.fillStyle = stateColour(c);
      b.fill("evenodd");
      b.strokeStyle = D.has_states ? "#ffffff" : "#9a9a9a";
      b.stroke();
    }
  }

  // A straight lon/lat segment the short way round, cut at the antimeridian.
  function segment(lat1, lon1, lat2, lon2) {
    if (!(isFinite(lat1) && isFinite(lon1) && isFinite(lat2) && isFinite(lon2))) return;
    let d = lon2 - lon1;
    if (d > 180) d -= 360; else if (d < -180) d += 360;
    const end = lon1 + d;
    if (end > 180 || end < -180) {
      const edge = end > 0 ? 180 : -180;
      const mid = lat1 + (edge - lon1) / d * (lat2 - lat1);
      ctx.moveTo(X(lon1), Y(lat1)); ctx.lineTo(X(edge), Y(mid));
      ctx.moveTo(X(-edge), Y(mid)); ctx.lineTo(X(lon2), Y(lat2));
    } else {
      ctx.moveTo(X(lon1), Y(lat1)); ctx.lineTo(X(lon2), Y(lat2));
    }
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
    } else {
      ctx.arc(x, y, size, 0, 2 * Math.PI);
    }
    ctx.fillStyle = fill; ctx.fill();
    ctx.lineWidth = 1; ctx.strokeStyle = "#222"; ctx.stroke();
  }

  function text(x, y, s, colour) {
    ctx.font = "600 " + Math.round(Math.max(11, W / 95)) + "px system-ui, sans-serif";
    ctx.lineWidth = 3; ctx.strokeStyle = "rgba(255,255,255,0.85)";
    ctx.strokeText(s, x, y); ctx.fillStyle = colour; ctx.fillText(s, x, y);
  }

  function draw() {
    const key = W + "x" + H + ":" + stateKey();
    if (key !== baseKey) { drawBase(); baseKey = key; }
    ctx.drawImage(base, 0, 0);
    const o = step * N;
    if (D.isl.length) {
      ctx.beginPath();
      for (let i = 0; i < D.isl.length; i += 2) {
        const a = o + D.isl[i], b = o + D.isl[i + 1];
        segment(LAT[a], LON[a], LAT[b], LON[b]);
      }
      ctx.strokeStyle = "rgba(59,111,182,0.45)"; ctx.lineWidth = 1; ctx.stroke();
    }
    const r = Math.max(1.5, W / 700);
    ctx.fillStyle = "#c0392b";
    for (let s = 0; s < N; s++) {
      const la = LAT[o + s], lo = LON[o + s];
      if (isFinite(la) && isFinite(lo)) ctx.fillRect(X(lo) - r, Y(la) - r, 2 * r, 2 * r);
    }
    const pts = routePoints(step);
    if (pts) {
      ctx.beginPath();
      for (let i = 0; i + 1 < pts.length; i++)
        segment(pts[i][0], pts[i][1], pts[i + 1][0], pts[i + 1][1]);
      ctx.strokeStyle = "#1f4e9c"; ctx.lineWidth = Math.max(2.5, W / 450); ctx.stroke();
      if (D.route[step].sats)
        for (let i = 1; i + 1 < pts.length; i++)
          marker(X(pts[i][1]), Y(pts[i][0]), "dot", Math.max(3, W / 320), "#e67e22");
    }
    for (const g of D.gateways) {
      marker(X(g.lon), Y(g.lat), "tri", Math.max(4, W / 260), "#7b3fa0");
    }
    for (const e of D.endpoints) {
      marker(X(e.lon), Y(e.lat), "dot", Math.max(4.5, W / 220), "#d62728");
      if (e.name) text(X(e.lon) + 8, Y(e.lat) - 8, e.name, "#111");
    }
  }

  function update() {
    step = Math.min(T - 1, Math.max(0, parseInt(slider.value, 10) || 0));
    label.textContent = D.times[step].replace("T", " ").replace(/\.\d+Z$|Z$/, "") + " UTC";
    let msg = "step " + (step + 1) + " of " + T;
    if (D.route) {
      const r = D.route[step];
      const rtt = D.rtt_ms ? D.rtt_ms[step] : null;
      if (!r) msg += " \u00b7 no route (unreachable)";
      else {
        if (r.sats) msg += " \u00b7 " + r.sats.length + " satellites";
        if (rtt !== null && rtt !== undefined) msg += " \u00b7 RTT " + rtt.toFixed(1) + " ms";
      }
    }
    info.textContent = msg;
    draw();
  }

  function resize() {
    const dpr = window.devicePixelRatio || 1;
    const cssW = Math.max(320, canvas.parentElement.clientWidth - 2);
    W = Math.round(cssW * dpr); H = Math.round(W / 2);
    canvas.width = W; canvas.height = H;
    canvas.style.height = Math.round(cssW / 2) + "px";
    drawBase();
    update();
  }

  function legend() {
    const el = document.getElementById("legend");
    const items = [];
    if (D.has_states) {
      const present = new Set(D.countries.map(c => c.state));
      for (const k of Object.keys(D.states))
        items.push(["sw", D.states[k].colour, D.states[k].label, "state-" + k]);
      if (present.has("") || [...present].some(s => s && !(s in D.states)))
        items.push(["sw", D.no_data.colour, D.no_data.label, "state-no-data"]);
    }
    items.push(["dot", "#c0392b", "satellite (" + N + ")", "sat"]);
    if (D.isl.length) items.push(["ln", "rgba(59,111,182,0.6)", "inter-satellite link", "isl"]);
    if (D.route) items.push(["ln", "#1f4e9c", "route", "route"]);
    if (D.endpoints.length) items.push(["dot", "#d62728", "endpoint", "endpoint"]);
    if (D.gateways.length) items.push(["dot", "#7b3fa0", "gateway", "gateway"]);
    for (const [cls, colour, text, key] of items) {
      const span = document.createElement("span");
      span.className = "legend-item";
      span.dataset.key = key;
      const sw = document.createElement("span");
      sw.className = cls;
      if (cls === "ln") sw.style.borderTopColor = colour; else sw.style.background = colour;
      span.appendChild(sw);
      span.appendChild(document.createTextNode(text));
      el.appendChild(span);
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

  slider.max = String(T - 1);
  slider.value = "0";
  slider.addEventListener("input", update);
  slider.addEventListener("change", update);
  playBtn.addEventListener("click", play);
  window.addEventListener("resize", resize);
  legend();
  resize();
})();
"""
