"""World maps: satellites and ISLs, a route, coverage, service availability.

Static figures drawn with matplotlib on the bundled Natural Earth 1:110m
countries, on plain equirectangular axes (x = longitude, y = latitude, deg).
No cartopy and no downloads: country polygons are turned into matplotlib
paths straight from their shapely geometries.

Every function takes arrays, returns a :class:`matplotlib.figure.Figure`
(never touching pyplot's global state) and, when ``path`` is given, saves it:
PNG or SVG (or PDF) by the file's extension.

Lines are straight in lon/lat, except route legs, which follow great
circles; both are cut where they cross the antimeridian so that no line is
drawn across the whole map.

Example
-------
>>> from skymesh.report.maps import coverage_grid, coverage_map
>>> lat, lon, count = coverage_grid("starlink-shell1", "2026-01-01T00:00:00Z")
>>> fig = coverage_map(lat, lon, count, path="coverage.png")
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import shapely
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.path import Path as MplPath

from skymesh.errors import InputError

#: File extensions figures can be saved as.
FIGURE_FORMATS = (".png", ".svg", ".pdf")

OCEAN_COLOUR = "#dce9f5"
LAND_COLOUR = "#f2efe6"
BORDER_COLOUR = "#8c8c8c"

#: Service states of :func:`service_map`: state -> (fill colour, legend label).
SERVICE_STATES = {
    "active": ("#6cbf72", "active"),
    "no-landing-rights": ("#f4b042", "no-landing-rights"),
    "inactive": ("#e0605c", "inactive"),
}
#: Countries missing from the states given to :func:`service_map`.
NO_DATA_STYLE = ("#d0d0d0", "no data")


# --------------------------------------------------------------------------- figures

def new_figure(width_in: float = 11.0, height_in: float = 6.0, dpi: int = 110) -> Figure:
    """A pyplot-free figure (Agg for PNG, matplotlib's SVG/PDF backends on save)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    fig = Figure(figsize=(width_in, height_in), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Figure, path) -> Path:
    """Save ``fig`` by extension (``.png``, ``.svg``, ``.pdf``); make parent folders."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FIGURE_FORMATS:
        raise InputError(f"cannot save a figure as '{suffix or path.name}'; "
                         f"use one of {', '.join(FIGURE_FORMATS)}", file=path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format=suffix[1:])
    return path


def _finish(fig: Figure, path) -> Figure:
    if path is not None:
        save_figure(fig, path)
    return fig


# --------------------------------------------------------------------------- geometry helpers

def wrap_lon(lon_deg):
    """Longitudes taken into [-180, 180)."""
    return (np.asarray(lon_deg, dtype=float) + 180.0) % 360.0 - 180.0


def split_segments(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Straight lon/lat segments, cut in two where they cross the antimeridian.

    A segment is taken the short way round (``|dlon| <= 180``). Returns an
    array of shape (S, 2, 2) of ``[(lon, lat), (lon, lat)]`` segments ready
    for a :class:`~matplotlib.collections.LineCollection`. Segments with a NaN
    end are dropped.
    """
    lat1, lon1, lat2, lon2 = (np.atleast_1d(np.asarray(a, dtype=float))
                              for a in (lat1, lon1, lat2, lon2))
    lon1, lon2 = wrap_lon(lon1), wrap_lon(lon2)
    ok = np.isfinite(lat1) & np.isfinite(lon1) & np.isfinite(lat2) & np.isfinite(lon2)
    lat1, lon1, lat2, lon2 = lat1[ok], lon1[ok], lat2[ok], lon2[ok]
    dlon = wrap_lon(lon2 - lon1)
    end = lon1 + dlon                                   # unwrapped end longitude
    cross = np.abs(end) > 180.0
    whole = np.stack([np.stack([lon1, lat1], -1), np.stack([lon2, lat2], -1)], axis=1)[~cross]
    if not cross.any():
        return whole
    a_lat, a_lon, b_lat, b_lon = lat1[cross], lon1[cross], lat2[cross], lon2[cross]
    d = dlon[cross]
    edge = np.where(end[cross] > 0, 180.0, -180.0)
    frac = (edge - a_lon) / d
    mid_lat = a_lat + frac * (b_lat - a_lat)
    first = np.stack([np.stack([a_lon, a_lat], -1), np.stack([edge, mid_lat], -1)], axis=1)
    second = np.stack([np.stack([-edge, mid_lat], -1), np.stack([b_lon, b_lat], -1)], axis=1)
    return np.concatenate([whole, first, second])


def great_circle_points(lat1, lon1, lat2, lon2, n: int = 24) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points (lat, lon deg) along the great circle from point 1 to point 2."""
    p = np.deg2rad([lat1, lon1, lat2, lon2])
    a = np.array([np.cos(p[0]) * np.cos(p[1]), np.cos(p[0]) * np.sin(p[1]), np.sin(p[0])])
    b = np.array([np.cos(p[2]) * np.cos(p[3]), np.cos(p[2]) * np.sin(p[3]), np.sin(p[2])])
    omega = np.arccos(np.clip(a @ b, -1.0, 1.0))
    f = np.linspace(0.0, 1.0, n)
    if omega < 1e-9:
        xyz = np.outer(1 - f, a) + np.outer(f, b)
    else:
        xyz = (np.outer(np.sin((1 - f) * omega), a) + np.outer(np.sin(f * omega), b)) \
            / np.sin(omega)
    lat = np.rad2deg(np.arctan2(xyz[:, 2], np.hypot(xyz[:, 0], xyz[:, 1])))
    lon = np.rad2deg(np.arctan2(xyz[:, 1], xyz[:, 0]))
    return lat, lon


def polyline_segments(lat_deg, lon_deg, *, great_circle: bool = True, n: int = 24) -> np.ndarray:
    """Segments (S, 2, 2) of a lon/lat polyline, along great circles, antimeridian-safe."""
    lat = np.asarray(lat_deg, dtype=float)
    lon = np.asarray(lon_deg, dtype=float)
    if len(lat) < 2:
        return np.empty((0, 2, 2))
    if great_circle:
        la, lo = [], []
        for k in range(len(lat) - 1):
            if not np.all(np.isfinite([lat[k], lon[k], lat[k + 1], lon[k + 1]])):
                continue
            gl, go = great_circle_points(lat[k], lon[k], lat[k + 1], lon[k + 1], n)
            la.append(np.stack([gl[:-1], gl[1:]], -1))
            lo.append(np.stack([go[:-1], go[1:]], -1))
        if not la:
            return np.empty((0, 2, 2))
        la, lo = np.concatenate(la), np.concatenate(lo)
        return split_segments(la[:, 0], lo[:, 0], la[:, 1], lo[:, 1])
    return split_segments(lat[:-1], lon[:-1], lat[1:], lon[1:])


def geometry_path(geom) -> MplPath | None:
    """A matplotlib path (even-odd holes) of a shapely (multi)polygon in lon/lat."""
    verts, codes = [], []
    for poly in shapely.get_parts(geom):
        if not isinstance(poly, shapely.Polygon):
            continue
        for ring in [poly.exterior, *poly.interiors]:
            xy = np.asarray(ring.coords)[:, :2]
            if len(xy) < 3:
                continue
            c = np.full(len(xy), MplPath.LINETO, dtype=np.uint8)
            c[0] = MplPath.MOVETO
            c[-1] = MplPath.CLOSEPOLY
            verts.append(xy)
            codes.append(c)
    if not verts:
        return None
    return MplPath(np.concatenate(verts), np.concatenate(codes))


def _countries(countries):
    from skymesh.ground.countries import load_countries
    from skymesh.ground.countries import Countries
    if countries is None:
        return load_countries()
    return countries if isinstance(countries, Countries) else load_countries(countries)


def draw_countries(ax, countries=None, *, facecolors=None, edgecolor=BORDER_COLOUR,
                   linewidth: float = 0.4, zorder: float = 1.0) -> PathCollection:
    """Country polygons on lon/lat axes, one path per feature, as a collection.

    ``facecolors``: one colour for all, a sequence with one colour per feature
    of ``countries``, or ``"none"`` for outlines only.
    """
    cs = _countries(countries)
    paths, keep = [], []
    for k, geom in enumerate(cs.geometry):
        p = geometry_path(geom)
        if p is not None:
            paths.append(p)
            keep.append(k)
    if facecolors is None:
        facecolors = LAND_COLOUR
    if not isinstance(facecolors, str):
        facecolors = [facecolors[k] for k in keep]
    coll = PathCollection(paths, facecolors=facecolors, edgecolors=edgecolor,
                          linewidths=linewidth, zorder=zorder)
    coll.set_gid("countries")
    ax.add_collection(coll)
    return coll


def world_axes(fig: Figure, *, title: str = "", extent=(-180.0, 180.0, -90.0, 90.0),
               ocean: str = OCEAN_COLOUR):
    """Equirectangular lon/lat axes with a graticule every 30 deg."""
    ax = fig.add_subplot(1, 1, 1)
    ax.set_facecolor(ocean)
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_aspect("equal", adjustable="box")
    span = max(extent[1] - extent[0], (extent[3] - extent[2]) * 2)
    step = 30 if span > 150 else 10 if span > 50 else 5
    ax.set_xticks(np.arange(np.ceil(extent[0] / step) * step, extent[1] + 1e-9, step))
    ax.set_yticks(np.arange(np.ceil(extent[2] / step) * step, extent[3] + 1e-9, step))
    ax.grid(True, color="white", linewidth=0.6, zorder=0.5)
    ax.set_axisbelow(True)
    ax.set_xlabel("longitude (deg)")
    ax.set_ylabel("latitude (deg)")
    if title:
        ax.set_title(title)
    return ax


# --------------------------------------------------------------------------- constellation

def constellation_map(sat_lat_deg, sat_lon_deg, isl_segments=None, *,
                      title: str = "Satellites and inter-satellite links", path=None,
                      countries=None, marker_size: float = 4.0) -> Figure:
    """Satellites (sub-satellite points) and ISLs on a world map.

    Parameters
    ----------
    sat_lat_deg, sat_lon_deg : array_like, shape (N,)
        Sub-satellite points (deg); NaN entries are left out.
    isl_segments : array_like, shape (L, 2, 2), optional
        Each link's two ends as ``((lat_a, lon_a), (lat_b, lon_b))`` (deg);
        cut at the antimeridian.
    path : str or Path, optional
        Save as PNG/SVG/PDF by extension.

    Returns
    -------
    Figure. The satellites are the axes' only ``PathCollection`` with gid
    ``"satellites"`` (one offset per plotted satellite); links are a
    ``LineCollection`` with gid ``"isl"``.
    """
    lat = np.asarray(sat_lat_deg, dtype=float).ravel()
    lon = np.asarray(sat_lon_deg, dtype=float).ravel()
    if lat.shape != lon.shape:
        raise InputError(f"sat_lat_deg has {lat.size} values but sat_lon_deg has {lon.size}",
                         field="sat_lon_deg")
    ok = np.isfinite(lat) & np.isfinite(lon)
    fig = new_figure()
    ax = world_axes(fig, title=title)
    draw_countries(ax, countries)
    handles = []
    if isl_segments is not None:
        seg = np.asarray(isl_segments, dtype=float).reshape(-1, 2, 2)
        lines = split_segments(seg[:, 0, 0], seg[:, 0, 1], seg[:, 1, 0], seg[:, 1, 1])
        lc = LineCollection(lines, colors="#3b6fb6", linewidths=0.4, alpha=0.55, zorder=2)
        lc.set_gid("isl")
        ax.add_collection(lc)
        handles.append(Line2D([], [], color="#3b6fb6", lw=1.0, label=f"ISL ({len(seg):,})"))
    sc = ax.scatter(wrap_lon(lon[ok]), lat[ok], s=marker_size, c="#c0392b", zorder=3,
                    linewidths=0, label=f"satellites ({int(ok.sum()):,})")
    sc.set_gid("satellites")
    handles.insert(0, sc)
    ax.legend(handles=handles, loc="lower left", fontsize=8, framealpha=0.9)
    return _finish(fig, path)


# --------------------------------------------------------------------------- route

def _points(obj, order=("names", "lat", "lon")):
    """(names, lat, lon) from a tuple in ``order`` or an object with arrays."""
    if obj is None:
        return np.empty(0, str), np.empty(0), np.empty(0)
    if hasattr(obj, "lat_deg"):
        names = getattr(obj, "names", getattr(obj, "name", None))
        names = np.asarray([""] * len(obj.lat_deg) if names is None else names, dtype=str)
        return names, np.atleast_1d(np.asarray(obj.lat_deg, float)), \
            np.atleast_1d(np.asarray(obj.lon_deg, float))
    parts = dict(zip(order, obj))
    lat = np.atleast_1d(np.asarray(parts["lat"], dtype=float))
    lon = np.atleast_1d(np.asarray(parts["lon"], dtype=float))
    names = parts.get("names")
    names = np.asarray([""] * len(lat) if names is None else np.atleast_1d(names), dtype=str)
    if not (len(names) == len(lat) == len(lon)):
        raise InputError("names, latitudes and longitudes differ in length", field="endpoints")
    return names, lat, lon


def _route_extent(lat, lon, margin_deg: float = 12.0):
    lat, lon = lat[np.isfinite(lat)], wrap_lon(lon[np.isfinite(lon)])
    if lat.size == 0:
        return (-180.0, 180.0, -90.0, 90.0)
    x0, x1 = lon.min() - margin_deg, lon.max() + margin_deg
    y0, y1 = lat.min() - margin_deg, lat.max() + margin_deg
    if x1 - x0 > 200.0:                      # wraps or spans most of the map: the world
        return (-180.0, 180.0, -90.0, 90.0)
    # At least 60 x 30 deg, shaped 2:1 like the world, inside the world.
    w = max(x1 - x0, 2.0 * (y1 - y0), 60.0)
    h = w / 2.0
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    cx = float(np.clip(cx, -180.0 + w / 2, 180.0 - w / 2)) if w < 360 else 0.0
    cy = float(np.clip(cy, -90.0 + h / 2, 90.0 - h / 2)) if h < 180 else 0.0
    return (cx - w / 2, cx + w / 2, cy - h / 2, cy + h / 2)


def route_map(path_lat_deg, path_lon_deg, endpoints, gateways=None, sat_labels=None, *,
              title: str = "Route", path=None, countries=None, extent="auto") -> Figure:
    """A route between two places, satellite by satellite.

    The route is drawn from the first endpoint through the satellites in
    order to the last endpoint, each leg along a great circle (cut at the
    antimeridian).

    Parameters
    ----------
    path_lat_deg, path_lon_deg : array_like, shape (K,)
        Sub-satellite points of the satellites on the path, in order.
    endpoints : (names, lat_deg, lon_deg) or an object with ``names``/``lat_deg``/``lon_deg``
        Source first, destination last (``GroundPoints`` works).
    gateways : (lat_deg, lon_deg, names), optional
        Gateway sites to mark (a :class:`~skymesh.ground.gateways.Gateways` works too).
    sat_labels : sequence of str, shape (K,), optional
        Text next to each satellite (names or indices).
    extent : "auto", "world" or (lon_min, lon_max, lat_min, lat_max)
        "auto" zooms on the route (the world when it crosses the antimeridian).

    Returns
    -------
    Figure; the route line has gid ``"route"`` and the satellites gid ``"route-satellites"``.
    """
    slat = np.atleast_1d(np.asarray(path_lat_deg, dtype=float))
    slon = np.atleast_1d(np.asarray(path_lon_deg, dtype=float))
    if slat.shape != slon.shape:
        raise InputError("path_lat_deg and path_lon_deg differ in length", field="path_lon_deg")
    enames, elat, elon = _points(endpoints)
    if len(elat) < 2:
        raise InputError("a route needs two endpoints (source and destination)",
                         field="endpoints")
    gnames, glat, glon = _points(gateways, order=("lat", "lon", "names"))
    lat = np.concatenate([elat[:1], slat, elat[-1:]])
    lon = np.concatenate([elon[:1], slon, elon[-1:]])
    if extent == "auto":
        crosses = np.any(np.abs(np.diff(wrap_lon(lon[np.isfinite(lon)]))) > 180.0)
        extent = (-180.0, 180.0, -90.0, 90.0) if crosses else _route_extent(lat, lon)
    elif extent == "world":
        extent = (-180.0, 180.0, -90.0, 90.0)
    fig = new_figure()
    ax = world_axes(fig, title=title, extent=tuple(extent))
    draw_countries(ax, countries)
    seg = polyline_segments(lat, lon)
    lc = LineCollection(seg, colors="#1f4e9c", linewidths=1.8, zorder=3)
    lc.set_gid("route")
    ax.add_collection(lc)
    handles = [Line2D([], [], color="#1f4e9c", lw=1.8, label=f"route ({len(slat)} satellites)")]
    if len(slat):
        sc = ax.scatter(wrap_lon(slon), slat, s=28, marker="o", c="#e67e22", edgecolors="k",
                        linewidths=0.5, zorder=4, label="satellite")
        sc.set_gid("route-satellites")
        handles.append(sc)
        if sat_labels is not None:
            for la, lo, text in zip(slat, wrap_lon(slon), sat_labels):
                ax.annotate(str(text), (lo, la), xytext=(3, 3), textcoords="offset points",
                            fontsize=7, color="#333333", zorder=5, clip_on=True)
    if len(glat):
        gs = ax.scatter(wrap_lon(glon), glat, s=36, marker="^", c="#7b3fa0", edgecolors="k",
                        linewidths=0.4, zorder=4, label="gateway")
        gs.set_gid("gateways")
        handles.append(gs)
        for la, lo, text in zip(glat, wrap_lon(glon), gnames):
            if text:
                ax.annotate(text, (lo, la), xytext=(4, 4), textcoords="offset points",
                            fontsize=7, color="#5a2d78", zorder=5, clip_on=True)
    es = ax.scatter(wrap_lon(elon), elat, s=70, marker="*", c="#d62728", edgecolors="k",
                    linewidths=0.5, zorder=5, label="endpoint")
    es.set_gid("endpoints")
    handles.append(es)
    for la, lo, text in zip(elat, wrap_lon(elon), enames):
        if text:
            ax.annotate(text, (lo, la), xytext=(5, -10), textcoords="offset points",
                        fontsize=9, fontweight="bold", zorder=6, clip_on=True)
    ax.legend(handles=handles, loc="lower left", fontsize=8, framealpha=0.9)
    return _finish(fig, path)


# --------------------------------------------------------------------------- coverage

def coverage_grid(constellation, when, step_deg: float = 2.0,
                  min_elevation_deg: float = 25.0):
    """Number of satellites in view at each point of a lat/lon grid, at one instant.

    Parameters
    ----------
    constellation : Constellation or preset name / TLE path
    when : datetime or ISO string (UTC)
    step_deg : float
        Grid spacing; points sit at cell centres (``-90 + step/2``, ...).
    min_elevation_deg : float
        Elevation mask (default 25 deg, FCC 21-48).

    Returns
    -------
    lat_deg : ndarray (n_lat,), lon_deg : ndarray (n_lon,), count : ndarray of int (n_lat, n_lon)
    """
    from skymesh.links.visibility import visible_pairs
    from skymesh.orbits.constellation import Constellation
    from skymesh.orbits.presets import load_constellation
    from skymesh.orbits.propagate import positions_ecef
    from skymesh.timebase import time_grid

    if not (np.isfinite(step_deg) and 0.1 <= step_deg <= 45.0):
        raise InputError(f"grid step must be between 0.1 and 45 deg, got {step_deg}",
                         field="step_deg")
    if not isinstance(constellation, Constellation):
        constellation = load_constellation(constellation)
    lat = np.arange(-90.0 + step_deg / 2, 90.0, step_deg)
    lon = np.arange(-180.0 + step_deg / 2, 180.0, step_deg)
    glat, glon = np.meshgrid(lat, lon, indexing="ij")
    pos = positions_ecef(constellation, time_grid(when), serving_only=True)
    g, _, _, _, _ = visible_pairs(pos, glat.ravel(), glon.ravel(),
                                  min_elevation_deg=min_elevation_deg)
    count = np.bincount(g, minlength=glat.size).reshape(glat.shape)
    return lat, lon, count


def coverage_map(lat_grid, lon_grid, count, *, title: str = "Satellites in view",
                 path=None, countries=None, cmap: str = "viridis",
                 label: str = "satellites in view") -> Figure:
    """Number of satellites in view over a lat/lon grid, with a colour bar.

    ``lat_grid``/``lon_grid`` are 1-D cell centres (or 2-D arrays shaped like
    ``count``); ``count`` is (n_lat, n_lon). Countries are drawn as outlines.
    """
    count = np.asarray(count, dtype=float)
    lat = np.asarray(lat_grid, dtype=float)
    lon = np.asarray(lon_grid, dtype=float)
    if count.ndim != 2:
        raise InputError(f"count must be 2-D (lat x lon), got shape {count.shape}",
                         field="count")
    if lat.ndim == 1 and (lat.size, lon.size) != count.shape:
        raise InputError(f"count has shape {count.shape} but the grid is "
                         f"{lat.size} x {lon.size}", field="count")
    fig = new_figure()
    ax = world_axes(fig, title=title)
    vmax = max(1.0, float(np.nanmax(count)) if np.isfinite(count).any() else 1.0)
    mesh = ax.pcolormesh(lon, lat, count, shading="nearest", cmap=cmap, vmin=0, vmax=vmax,
                         zorder=1)
    mesh.set_gid("coverage")
    draw_countries(ax, countries, facecolors="none", edgecolor="white", linewidth=0.5,
                   zorder=2)
    cbar = fig.colorbar(mesh, ax=ax, shrink=0.8, pad=0.01)
    cbar.set_label(label)
    ax.grid(False)
    return _finish(fig, path)


# --------------------------------------------------------------------------- service

def policy_states(policy, when, countries=None) -> dict[str, str]:
    """Service state of every country under ``policy`` at the instant ``when``.

    ``"active"`` when terminals are served and gateways may land traffic,
    ``"no-landing-rights"`` when terminals are served but gateways there may
    not operate, ``"inactive"`` when terminals are not served.

    ``countries``: ISO alpha-2 codes, or a Countries set / path (default: every
    code in the bundled Natural Earth file).
    """
    from skymesh.policy.rules import landing_allowed, service_active
    from skymesh.timebase import parse_time

    if countries is None or not isinstance(countries, (list, tuple, np.ndarray, set)):
        codes = _countries(countries).iso2
    else:
        codes = np.asarray(list(countries), dtype=str)
    codes = sorted({str(c).upper() for c in codes if c})
    if not codes:
        return {}
    t = [parse_time(when, field="when")]
    served = service_active(policy, codes, t)[:, 0]
    landing = landing_allowed(policy, codes, t)[:, 0]
    state = np.where(~served, "inactive", np.where(landing, "active", "no-landing-rights"))
    return dict(zip(codes, state.tolist()))


def service_map(iso2_states: dict, *, title: str = "Service availability", path=None,
                countries=None) -> Figure:
    """Countries shaded by service state, with a legend of the states.

    ``iso2_states`` maps ISO alpha-2 codes to a state of :data:`SERVICE_STATES`
    (``"active"``, ``"no-landing-rights"``, ``"inactive"``). Countries not in
    the dict are grey ("no data"). The legend always lists the three states.
    """
    states = {str(k).upper(): str(v) for k, v in dict(iso2_states).items()}
    bad = sorted({v for v in states.values() if v not in SERVICE_STATES})
    if bad:
        raise InputError(f"unknown service state '{bad[0]}'; use one of "
                         f"{', '.join(SERVICE_STATES)}", field="iso2_states")
    cs = _countries(countries)
    colours = [SERVICE_STATES[states[c]][0] if c in states else NO_DATA_STYLE[0]
               for c in cs.iso2]
    fig = new_figure()
    ax = world_axes(fig, title=title)
    draw_countries(ax, cs, facecolors=colours, edgecolor="white", linewidth=0.4)
    handles = [Patch(facecolor=colour, edgecolor="#555555", label=label)
               for colour, label in SERVICE_STATES.values()]
    if any(c not in states for c in cs.iso2):
        handles.append(Patch(facecolor=NO_DATA_STYLE[0], edgecolor="#555555",
                             label=NO_DATA_STYLE[1]))
    ax.legend(handles=handles, loc="lower left", fontsize=9, framealpha=0.9,
              title="service state")
    return _finish(fig, path)
