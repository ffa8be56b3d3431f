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

Colours come from the Okabe-Ito palette (M. Okabe and K. Ito, "Color
Universal Design (CUD): how to make figures and presentations that are
friendly to colorblind people", 2008), which stays distinguishable under
the common colour-vision deficiencies; each role (satellite, route,
endpoint, gateway, terminal, service state) has its own colour, and the
"inactive" state is hatched as well, so no two roles share a colour.
Figures are saved through :func:`skymesh.files.atomic_path` (a temporary
file renamed into place), so a crash never leaves a truncated picture.

Example
-------
>>> from skymesh.report.maps import coverage_grid, coverage_map
>>> lat, lon, count = coverage_grid("starlink-shell1", "2026-01-01T00:00:00Z")
>>> fig = coverage_map(lat, lon, count, path="coverage.png")
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import shapely
from matplotlib.artist import Artist
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.path import Path as MplPath

from skymesh.errors import InputError
from skymesh.files import atomic_path
from skymesh.inputs import iso2_upper

if TYPE_CHECKING:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

#: File extensions figures can be saved as.
FIGURE_FORMATS = (".png", ".svg", ".pdf")

#: The Okabe-Ito colour-blind-safe palette (Okabe and Ito 2008).
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}


def tint(colour: str, white_fraction: float) -> str:
    """``colour`` (``#rrggbb``) mixed with ``white_fraction`` of white, as ``#rrggbb``."""
    rgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=float)
    mixed = np.round(rgb + (255.0 - rgb) * float(white_fraction)).astype(int)
    return "#" + "".join(f"{v:02x}" for v in mixed)


#: One colour per thing drawn; the same roles in the static maps and the HTML view.
ROLE_COLOURS = {
    "satellite": OKABE_ITO["blue"],
    "isl": OKABE_ITO["sky_blue"],
    "route": OKABE_ITO["black"],
    "route_satellite": OKABE_ITO["orange"],
    "endpoint": OKABE_ITO["vermillion"],
    "terminal": OKABE_ITO["vermillion"],
    "gateway": OKABE_ITO["yellow"],
}

#: Marker shape and edge of the roles drawn as outlined symbols (the others: plain dots).
ROLE_MARKERS = {
    "route_satellite": {"marker": "o", "edgecolors": "k"},
    "gateway": {"marker": "^", "edgecolors": "k"},
    "endpoint": {"marker": "*", "edgecolors": "k"},
}

OCEAN_COLOUR = "#dce9f5"
LAND_COLOUR = "#f2efe6"
BORDER_COLOUR = "#8c8c8c"

#: Service states of :func:`service_map`: state -> (fill colour, legend label).
#: Light tints of Okabe-Ito bluish green, orange and reddish purple, so that markers
#: drawn on top (satellites, terminals, gateways) stay visible; "inactive" is also hatched.
SERVICE_STATES = {
    "active": (tint(OKABE_ITO["bluish_green"], 0.55), "active"),
    "no-landing-rights": (tint(OKABE_ITO["orange"], 0.45), "no-landing-rights"),
    "inactive": (tint(OKABE_ITO["reddish_purple"], 0.35), "inactive"),
}
#: Hatch and hatch colour of "inactive" countries.
INACTIVE_HATCH = ("////", "#8a3d6b")
#: Countries missing from the states given to :func:`service_map`.
NO_DATA_STYLE = ("#d9d9d9", "no data")


# --------------------------------------------------------------------------- figures


class NotebookFigure(Figure):
    """A matplotlib Figure that shows itself in Jupyter without ``%matplotlib inline``.

    SkyMesh makes its figures without pyplot, so no backend is chosen on import and
    IPython has no display hook for them; ``_repr_png_`` is IPython's rich-display
    protocol (IPython's "Rich display" docs), rendering the figure as a PNG when it is
    a cell's value. Everything else is matplotlib's Figure.
    """

    def _repr_png_(self) -> bytes:
        import io

        buf = io.BytesIO()
        self.savefig(buf, format="png")
        return buf.getvalue()


def new_figure(width_in: float = 11.0, height_in: float = 6.0, dpi: int = 110) -> Figure:
    """A pyplot-free figure (Agg for PNG, matplotlib's SVG/PDF backends on save) that a
    Jupyter notebook displays inline (:class:`NotebookFigure`)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = NotebookFigure(figsize=(width_in, height_in), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Figure, path) -> Path:
    """Save ``fig`` by extension (``.png``, ``.svg``, ``.pdf``); make parent folders."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FIGURE_FORMATS:
        raise InputError(
            f"cannot save a figure as '{suffix or path.name}'; "
            f"use one of {', '.join(FIGURE_FORMATS)}",
            file=path,
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=suffix[1:])
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
    lat1, lon1, lat2, lon2 = (
        np.atleast_1d(np.asarray(a, dtype=float)) for a in (lat1, lon1, lat2, lon2)
    )
    lon1, lon2 = wrap_lon(lon1), wrap_lon(lon2)
    ok = np.isfinite(lat1) & np.isfinite(lon1) & np.isfinite(lat2) & np.isfinite(lon2)
    lat1, lon1, lat2, lon2 = lat1[ok], lon1[ok], lat2[ok], lon2[ok]
    dlon = wrap_lon(lon2 - lon1)
    end = lon1 + dlon  # unwrapped end longitude
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
        xyz = (np.outer(np.sin((1 - f) * omega), a) + np.outer(np.sin(f * omega), b)) / np.sin(
            omega
        )
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
        sla, slo = np.concatenate(la), np.concatenate(lo)
        return split_segments(sla[:, 0], slo[:, 0], sla[:, 1], slo[:, 1])
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
    from skymesh.ground.countries import Countries, load_countries

    if countries is None:
        return load_countries()
    return countries if isinstance(countries, Countries) else load_countries(countries)


#: A country smaller than this (deg^2 of lon/lat area) is hard to see at world scale:
#: when its service state is not "active" it gets a marker (see :func:`small_countries`).
SMALL_COUNTRY_DEG2 = 4.0


def small_countries(iso2_states: dict, countries=None) -> list[dict]:
    """Countries too small to see at world scale whose state is not ``"active"``.

    One dict per country: ``iso2``, ``name``, ``state``, ``lon``/``lat`` (deg, a point
    inside its largest part, where a marker goes). "Small" is a lon/lat area under
    :data:`SMALL_COUNTRY_DEG2` (Taiwan is 3.0, Belgium 3.8, Switzerland 5.4), so a
    switched-off Taiwan stays visible on a world map.
    """
    import shapely

    cs = _countries(countries)
    states = {str(k).upper(): str(v) for k, v in dict(iso2_states or {}).items()}
    out = []
    for code, name, geom in zip(cs.iso2, cs.name, cs.geometry):
        state = states.get(str(code), "")
        if state in ("", "active") or geom is None or geom.area >= SMALL_COUNTRY_DEG2:
            continue
        largest = max(shapely.get_parts(geom), key=lambda g: g.area)
        pt = shapely.point_on_surface(largest)
        out.append(
            {
                "iso2": str(code),
                "name": str(name),
                "state": state,
                "lon": round(float(pt.x), 2),
                "lat": round(float(pt.y), 2),
            }
        )
    return out


def draw_small_countries(ax, marks: list[dict], *, size: float = 16.0, label: bool = True):
    """Ring markers (the state's colour, a dark edge) on the countries of
    :func:`small_countries`, named "Taiwan: inactive" beside them; gid ``"small-country"``."""
    for m in marks:
        colour = SERVICE_STATES[m["state"]][0]
        (h,) = ax.plot(
            [wrap_lon(m["lon"])],
            [m["lat"]],
            linestyle="none",
            marker="o",
            markersize=size,
            markerfacecolor="none",
            markeredgecolor=INACTIVE_HATCH[1] if m["state"] == "inactive" else "#8a5a00",
            markeredgewidth=2.2,
            zorder=6,
        )
        h.set_gid("small-country")
        if label:
            t = ax.annotate(
                f"{m['name']}: {SERVICE_STATES[m['state']][1]}",
                (wrap_lon(m["lon"]), m["lat"]),
                xytext=(size * 0.6 + 2, -size * 0.6 - 6),
                textcoords="offset points",
                fontsize=8.5,
                fontweight="bold",
                color="#222222",
                zorder=6,
                clip_on=True,
                path_effects=_halo(),
                bbox=dict(boxstyle="round,pad=0.2", fc=colour, ec="#555555", lw=0.6),
            )
            t.set_gid("small-country-name")


def draw_countries(
    ax,
    countries=None,
    *,
    facecolors=None,
    edgecolor=BORDER_COLOUR,
    linewidth: float = 0.4,
    zorder: float = 1.0,
) -> PathCollection:
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
    coll = PathCollection(
        paths, facecolors=facecolors, edgecolors=edgecolor, linewidths=linewidth, zorder=zorder
    )
    coll.set_gid("countries")
    ax.add_collection(coll)
    return coll


def world_axes(
    fig: Figure,
    *,
    title: str = "",
    extent=(-180.0, 180.0, -90.0, 90.0),
    ocean: str = OCEAN_COLOUR,
    spec=None,
):
    """Equirectangular lon/lat axes with a graticule every 30 deg (in ``spec``, a
    gridspec cell, when given; else the whole figure)."""
    ax = fig.add_subplot(spec) if spec is not None else fig.add_subplot(1, 1, 1)
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


def _role_scatter(ax, lon_deg, lat_deg, role: str, gid: str, **style):
    """Markers in ``role``'s colour and symbol (:data:`ROLE_MARKERS`) at (lon, lat) deg,
    tagged ``gid`` for the SVG and tests; ``style`` adds to or overrides the role's."""
    style = {**ROLE_MARKERS.get(role, {}), **style}
    artist = ax.scatter(wrap_lon(lon_deg), lat_deg, c=ROLE_COLOURS[role], **style)
    artist.set_gid(gid)
    return artist


def constellation_map(
    sat_lat_deg,
    sat_lon_deg,
    isl_segments=None,
    *,
    title: str = "Satellites and inter-satellite links",
    path=None,
    countries=None,
    marker_size: float = 4.0,
) -> Figure:
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
        raise InputError(
            f"sat_lat_deg has {lat.size} values but sat_lon_deg has {lon.size}", field="sat_lon_deg"
        )
    ok = np.isfinite(lat) & np.isfinite(lon)
    fig = new_figure()
    ax = world_axes(fig, title=title)
    draw_countries(ax, countries)
    handles = []
    if isl_segments is not None:
        seg = np.asarray(isl_segments, dtype=float).reshape(-1, 2, 2)
        lines = split_segments(seg[:, 0, 0], seg[:, 0, 1], seg[:, 1, 0], seg[:, 1, 1])
        # matplotlib's stubs want a Sequence; an (N, 2, 2) array is what it documents
        lc = LineCollection(lines, colors=ROLE_COLOURS["isl"], linewidths=0.3, alpha=0.5, zorder=2)  # type: ignore[arg-type]
        lc.set_gid("isl")
        ax.add_collection(lc)
        handles.append(
            Line2D([], [], color=ROLE_COLOURS["isl"], lw=1.0, label=f"ISL ({len(seg):,})")
        )
    sc = _role_scatter(
        ax,
        lon[ok],
        lat[ok],
        "satellite",
        "satellites",
        s=marker_size,
        zorder=3,
        linewidths=0,
        label=f"satellites ({int(ok.sum()):,})",
    )
    handles.insert(0, sc)
    ax.legend(handles=handles, loc="lower left", fontsize=8, framealpha=0.9, markerscale=2.5)
    return _finish(fig, path)


# --------------------------------------------------------------------------- route


def _points(obj, order=("names", "lat", "lon")):
    """(names, lat, lon) from a tuple in ``order`` or an object with arrays."""
    if obj is None:
        return np.empty(0, str), np.empty(0), np.empty(0)
    if hasattr(obj, "lat_deg"):
        names = getattr(obj, "names", getattr(obj, "name", None))
        names = np.asarray([""] * len(obj.lat_deg) if names is None else names, dtype=str)
        return (
            names,
            np.atleast_1d(np.asarray(obj.lat_deg, float)),
            np.atleast_1d(np.asarray(obj.lon_deg, float)),
        )
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
    if x1 - x0 > 200.0:  # wraps or spans most of the map: the world
        return (-180.0, 180.0, -90.0, 90.0)
    # At least 60 x 30 deg, shaped 2:1 like the world, inside the world.
    w = max(x1 - x0, 2.0 * (y1 - y0), 60.0)
    h = w / 2.0
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    cx = float(np.clip(cx, -180.0 + w / 2, 180.0 - w / 2)) if w < 360 else 0.0
    cy = float(np.clip(cy, -90.0 + h / 2, 90.0 - h / 2)) if h < 180 else 0.0
    return (cx - w / 2, cx + w / 2, cy - h / 2, cy + h / 2)


def _halo(width: float = 2.5):
    from matplotlib import patheffects

    return [patheffects.withStroke(linewidth=width, foreground="white")]


def _label(ax, text: str, xy, offset_pt, gid: str, *, halo_pt: float = 2.5, **style):
    """``text`` at ``xy`` (lon, lat deg) shifted by ``offset_pt`` (points), clipped to the
    axes, with a white halo ``halo_pt`` wide; tagged ``gid`` for the SVG and tests."""
    t = ax.annotate(
        text,
        xy,
        xytext=offset_pt,
        textcoords="offset points",
        clip_on=True,
        path_effects=_halo(halo_pt),
        **style,
    )
    t.set_gid(gid)
    return t


def _free_boxes(
    anchor_px: np.ndarray,
    texts,
    fontsize_pt: float,
    dpi: float,
    offset_pt=(5.0, 3.0),
    taken=(),
    return_boxes: bool = False,
    bounds=None,
):
    """Greedy de-cluttering of text labels, in priority order.

    Each label is tried at each offset of ``offset_pt`` (one ``(dx, dy)`` in points,
    or a list of them) from its anchor (display pixels): left-aligned there for
    ``dx >= 0``, right-aligned for ``dx < 0``. A label takes the first offset where
    it overlaps no label already placed nor any box in ``taken`` ((x0, y0, x1, y1)
    pixels) and lies inside ``bounds`` ((x0, y0, x1, y1) pixels, e.g. the axes) when
    given, else it is left off. A character is taken as 0.62 em wide and a line as
    1.25 em high (DejaVu Sans, matplotlib's default).

    Returns the offset chosen per label (``None`` = left off) and, with
    ``return_boxes``, every box taken so far.
    """
    em = fontsize_pt * dpi / 72.0
    offsets = [offset_pt] if np.ndim(offset_pt) == 1 else list(offset_pt)
    boxes = [tuple(b) for b in taken]
    chosen: list[tuple[Any, ...] | None] = [None] * len(texts)
    for k, ((x, y), text) in enumerate(zip(np.asarray(anchor_px, dtype=float), texts)):
        if not (np.isfinite(x) and np.isfinite(y)):
            continue
        w = 0.62 * em * len(str(text))
        for off in offsets:
            dx, dy = off[0] * dpi / 72.0, off[1] * dpi / 72.0
            x0 = x + dx if dx >= 0 else x + dx - w
            box = (x0, y + dy, x0 + w, y + dy + 1.25 * em)
            if bounds is not None and not (
                bounds[0] <= box[0]
                and box[2] <= bounds[2]
                and bounds[1] <= box[1]
                and box[3] <= bounds[3]
            ):
                continue
            if all(
                box[2] <= b[0] or b[2] <= box[0] or box[3] <= b[1] or b[3] <= box[1] for b in boxes
            ):
                chosen[k] = tuple(off)
                boxes.append(box)
                break
    return chosen if not return_boxes else (chosen, boxes)


def _point_boxes(px: np.ndarray, r: float = 5.0) -> list:
    """Small boxes (pixels) around markers, for :func:`_free_boxes`'s ``taken``."""
    return [(x - r, y - r, x + r, y + r) for x, y in np.asarray(px, dtype=float).reshape(-1, 2)]


def _away_offset(ax, origin, toward, dist_pt: float = 7.0):
    """(dx, dy) points, ha, va: a label offset from ``origin`` pointing away from ``toward``
    (both (lon, lat)), so an endpoint's name does not sit on its own route leg."""
    a = ax.transData.transform(origin)
    b = ax.transData.transform(toward)
    d = a - b
    n = np.hypot(*d)
    d = np.array([1.0, -1.0]) if not np.isfinite(n) or n < 1e-6 else d / n
    ha = "left" if d[0] >= 0 else "right"
    va = "bottom" if d[1] >= 0 else "top"
    return (dist_pt * d[0], dist_pt * d[1]), ha, va


def route_map(
    path_lat_deg,
    path_lon_deg,
    endpoints,
    gateways=None,
    sat_labels=None,
    *,
    title: str = "Route",
    path=None,
    countries=None,
    extent="auto",
    max_listed: int = 30,
    gateway_labels: int = 8,
) -> Figure:
    """A route between two places, satellite by satellite, with the hops numbered.

    The route is drawn from the first endpoint through the satellites in
    order to the last endpoint, each leg along a great circle (cut at the
    antimeridian). The satellites are numbered 1..K in path order on the map
    (a number is left off where it would overlap another label) and listed
    by number in a side panel; the two ends are labelled by place name, and
    gateways by name where there is room.

    Parameters
    ----------
    path_lat_deg, path_lon_deg : array_like, shape (K,)
        Sub-satellite points of the satellites on the path, in order
        (satellites only: the endpoints are given separately).
    endpoints : (names, lat_deg, lon_deg) or an object with ``names``/``lat_deg``/``lon_deg``
        Source first, destination last (``GroundPoints`` works).
    gateways : (lat_deg, lon_deg, names), optional
        Gateway sites to mark (a :class:`~skymesh.ground.gateways.Gateways` works too).
    sat_labels : sequence of str, shape (K,), optional
        Satellite names for the side list (one per satellite on the path).
    extent : "auto", "world" or (lon_min, lon_max, lat_min, lat_max)
        "auto" zooms on the route (the world when it crosses the antimeridian).
    max_listed : int
        Most satellites named in the side list (the rest are counted).
    gateway_labels : int
        Most gateways labelled by name (the nearest to the route first).

    Returns
    -------
    Figure; the map is ``fig.axes[0]``: the route line has gid ``"route"``, the
    satellites gid ``"route-satellites"``, the hop numbers gid ``"hop-number"``
    and the endpoint names gid ``"endpoint-name"``.
    """
    slat = np.atleast_1d(np.asarray(path_lat_deg, dtype=float))
    slon = np.atleast_1d(np.asarray(path_lon_deg, dtype=float))
    if slat.shape != slon.shape:
        raise InputError("path_lat_deg and path_lon_deg differ in length", field="path_lon_deg")
    if sat_labels is not None and len(sat_labels) != len(slat):
        raise InputError(
            f"{len(sat_labels)} satellite labels for {len(slat)} satellites on the path",
            field="sat_labels",
        )
    enames, elat, elon = _points(endpoints)
    if len(elat) < 2:
        raise InputError("a route needs two endpoints (source and destination)", field="endpoints")
    gnames, glat, glon = _points(gateways, order=("lat", "lon", "names"))
    lat = np.concatenate([elat[:1], slat, elat[-1:]])
    lon = np.concatenate([elon[:1], slon, elon[-1:]])
    if extent == "auto":
        crosses = np.any(np.abs(np.diff(wrap_lon(lon[np.isfinite(lon)]))) > 180.0)
        extent = (-180.0, 180.0, -90.0, 90.0) if crosses else _route_extent(lat, lon)
    elif extent == "world":
        extent = (-180.0, 180.0, -90.0, 90.0)
    extent = tuple(float(v) for v in extent)
    listed = sat_labels is not None and len(slat) > 0
    fig = new_figure(13.0 if listed else 11.0, 6.0)
    if listed:
        gs = fig.add_gridspec(1, 2, width_ratios=(4.6, 1.0))
        ax = world_axes(fig, title=title, extent=extent, spec=gs[0])
        side = fig.add_subplot(gs[1])
    else:
        ax = world_axes(fig, title=title, extent=extent)
        side = None
    draw_countries(ax, countries)
    seg = polyline_segments(lat, lon)
    lc = LineCollection(
        seg,  # type: ignore[arg-type]  # stubs want a Sequence; an (N, 2, 2) array works
        colors=ROLE_COLOURS["route"],
        linewidths=1.6,
        zorder=3,
        capstyle="round",
        joinstyle="round",
    )
    lc.set_gid("route")
    ax.add_collection(lc)
    n_sat = len(slat)
    handles = [
        Line2D(
            [],
            [],
            color=ROLE_COLOURS["route"],
            lw=1.6,
            label=f"route ({n_sat} satellite{'s' if n_sat != 1 else ''})",
        )
    ]
    if n_sat:
        sc = _role_scatter(
            ax,
            slon,
            slat,
            "route_satellite",
            "route-satellites",
            s=30,
            linewidths=0.5,
            zorder=4,
            label="satellite (numbered in path order)",
        )
        handles.append(sc)
    in_view = (
        ((glon >= extent[0]) & (glon <= extent[1]) & (glat >= extent[2]) & (glat <= extent[3]))
        if len(glat)
        else np.zeros(0, bool)
    )
    if len(glat):
        gs_ = _role_scatter(
            ax,
            glon,
            glat,
            "gateway",
            "gateways",
            s=48,
            linewidths=0.6,
            zorder=4,
            label="gateway",
        )
        handles.append(gs_)
    es = _role_scatter(
        ax,
        elon,
        elat,
        "endpoint",
        "endpoints",
        s=110,
        linewidths=0.6,
        zorder=5,
        label="endpoint",
    )
    handles.append(es)
    ax.legend(handles=handles, loc="lower left", fontsize=8, framealpha=0.9)

    # Labels, placed in display space once the layout is settled.
    fig.draw_without_rendering()
    to_px = ax.transData.transform
    ends_px = to_px(np.column_stack([wrap_lon(elon), elat]))
    end_texts = []
    for k, (la, lo, text) in enumerate(zip(elat, wrap_lon(elon), enames)):
        if not text:
            continue
        nb = (
            (slon[0], slat[0])
            if (k == 0 and n_sat)
            else (slon[-1], slat[-1])
            if n_sat
            else (wrap_lon(elon[1 - k]), elat[1 - k])
        )
        (dx, dy), ha, va = _away_offset(ax, (lo, la), (wrap_lon(nb[0]), nb[1]), 9.0)
        t = _label(
            ax,
            text,
            (lo, la),
            (dx, dy),
            "endpoint-name",
            halo_pt=3.0,
            fontsize=10,
            fontweight="bold",
            ha=ha,
            va=va,
            zorder=7,
        )
        end_texts.append(t)
    renderer = cast("FigureCanvasAgg", fig.canvas).get_renderer()  # see new_figure
    e = ax.get_window_extent(renderer)
    inside = (e.x0, e.y0, e.x1, e.y1)
    taken = _point_boxes(ends_px, 8.0)
    for t in end_texts:
        e = t.get_window_extent(renderer)
        taken.append((e.x0 - 1, e.y0 - 1, e.x1 + 1, e.y1 + 1))
    sat_px = to_px(np.column_stack([wrap_lon(slon), slat])) if n_sat else np.empty((0, 2))
    if n_sat:
        # Priority: the first and the last hop, then the others in order.
        prio = np.r_[0, n_sat - 1, np.arange(1, n_sat - 1)] if n_sat > 1 else np.r_[0]
        # Above right, below right, above left, below left of the marker.
        where, taken = _free_boxes(
            sat_px[prio],
            [str(k + 1) for k in prio],
            7.5 * 1.15,
            fig.dpi,
            [(4.0, 4.0), (4.0, -12.0), (-4.0, 4.0), (-4.0, -12.0)],
            taken=taken + _point_boxes(sat_px, 4.0),
            return_boxes=True,
            bounds=inside,
        )
        for k, off in zip(prio, where):
            if off is None:
                continue
            _label(
                ax,
                str(k + 1),
                (wrap_lon(slon[k]), slat[k]),
                off,
                "hop-number",
                fontsize=7.5,
                fontweight="bold",
                ha="left" if off[0] >= 0 else "right",
                va="baseline",
                color="#222222",
                zorder=6,
            )
    if len(glat) and gateway_labels > 0:
        # Nearest to the route first; a gateway's name only where there is room.
        d = np.min(
            np.hypot(
                wrap_lon(glon)[:, None] - wrap_lon(lon)[None, :], glat[:, None] - lat[None, :]
            ),
            axis=1,
        )
        order = [i for i in np.argsort(d, kind="stable") if in_view[i] and gnames[i]]
        order = order[:gateway_labels]
        gpx = (
            to_px(np.column_stack([wrap_lon(glon[order]), glat[order]]))
            if order
            else np.empty((0, 2))
        )
        ok = _free_boxes(
            gpx, [gnames[i] for i in order], 7.5, fig.dpi, (5.0, -9.0), taken=taken, bounds=inside
        )
        for i, keep in zip(order, ok):
            if keep is not None:
                _label(
                    ax,
                    gnames[i],
                    (wrap_lon(glon[i]), glat[i]),
                    (5, -9),
                    "gateway-name",
                    fontsize=7.5,
                    color="#333333",
                    zorder=6,
                )
    if side is not None:
        side.set_axis_off()
        names = [str(v) for v in sat_labels]
        shown = names[:max_listed]
        lines = [f"{k + 1:>3}  {n}" for k, n in enumerate(shown)]
        if len(names) > len(shown):
            lines.append(f"     ... and {len(names) - len(shown)} more")
        # Top-aligned with the map (the layout was settled by draw_without_rendering).
        side.text(
            side.get_position().x0,
            ax.get_position().y1,
            "Satellites in path order\n" + "\n".join(lines),
            transform=fig.transFigure,
            va="top",
            ha="left",
            family="monospace",
            fontsize=7.5 if len(lines) <= 34 else 6.5,
            gid="hop-list",
        )
    return _finish(fig, path)


# --------------------------------------------------------------------------- coverage


def coverage_grid(constellation, when, step_deg: float = 2.0, min_elevation_deg: float = 25.0):
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
        raise InputError(
            f"grid step must be between 0.1 and 45 deg, got {step_deg}", field="step_deg"
        )
    if not isinstance(constellation, Constellation):
        constellation = load_constellation(constellation)
    lat = np.arange(-90.0 + step_deg / 2, 90.0, step_deg)
    lon = np.arange(-180.0 + step_deg / 2, 180.0, step_deg)
    glat, glon = np.meshgrid(lat, lon, indexing="ij")
    pos = positions_ecef(constellation, time_grid(when), serving_only=True)
    g, _, _, _, _ = visible_pairs(
        pos, glat.ravel(), glon.ravel(), min_elevation_deg=min_elevation_deg
    )
    count = np.bincount(g, minlength=glat.size).reshape(glat.shape)
    return lat, lon, count


def coverage_map(
    lat_grid,
    lon_grid,
    count,
    *,
    title: str = "Satellites in view",
    path=None,
    countries=None,
    cmap: str = "viridis",
    label: str = "satellites in view",
) -> Figure:
    """Number of satellites in view over a lat/lon grid, with a colour bar.

    ``lat_grid``/``lon_grid`` are 1-D cell centres (or 2-D arrays shaped like
    ``count``); ``count`` is (n_lat, n_lon). Countries are drawn as outlines.
    """
    count = np.asarray(count, dtype=float)
    lat = np.asarray(lat_grid, dtype=float)
    lon = np.asarray(lon_grid, dtype=float)
    if count.ndim != 2:
        raise InputError(f"count must be 2-D (lat x lon), got shape {count.shape}", field="count")
    if lat.ndim == 1 and (lat.size, lon.size) != count.shape:
        raise InputError(
            f"count has shape {count.shape} but the grid is {lat.size} x {lon.size}", field="count"
        )
    fig = new_figure()
    ax = world_axes(fig, title=title)
    vmax = max(1.0, float(np.nanmax(count)) if np.isfinite(count).any() else 1.0)
    mesh = ax.pcolormesh(lon, lat, count, shading="nearest", cmap=cmap, vmin=0, vmax=vmax, zorder=1)
    mesh.set_gid("coverage")
    draw_countries(ax, countries, facecolors="none", edgecolor="white", linewidth=0.5, zorder=2)
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
    codes = sorted({iso2_upper(c) for c in codes if c})
    if not codes:
        return {}
    t = [parse_time(when, field="when")]
    served = service_active(policy, codes, t)[:, 0]
    landing = landing_allowed(policy, codes, t)[:, 0]
    state = np.where(~served, "inactive", np.where(landing, "active", "no-landing-rights"))
    return dict(zip(codes, state.tolist()))


def _sites_extent(
    lat, lon, margin_deg: float = 4.0, max_lon_span: float = 60.0, max_lat_span: float = 40.0
):
    """(lon0, lon1, lat0, lat1) around regional sites, or None when they are global
    (wider than ``max_lon_span`` x ``max_lat_span`` deg, or across the antimeridian)."""
    ok = np.isfinite(lat) & np.isfinite(lon)
    if not ok.any():
        return None
    la, lo = lat[ok], wrap_lon(lon[ok])
    if lo.max() - lo.min() > max_lon_span or la.max() - la.min() > max_lat_span:
        return None
    return (
        max(-180.0, lo.min() - margin_deg),
        min(180.0, lo.max() + margin_deg),
        max(-90.0, la.min() - margin_deg),
        min(90.0, la.max() + margin_deg),
    )


def _widen_to_ratio(box, ratio: float):
    """``box`` (lon0, lon1, lat0, lat1) widened about its centre to ``ratio`` = width /
    height (deg / deg), kept inside the world where it can be."""
    x0, x1, y0, y1 = box
    w, h = x1 - x0, y1 - y0
    if w < ratio * h:
        w = ratio * h
    else:
        h = w / ratio
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    cx = float(np.clip(cx, -180 + w / 2, 180 - w / 2)) if w < 360 else 0.0
    cy = float(np.clip(cy, -90 + h / 2, 90 - h / 2)) if h < 180 else 0.0
    return (cx - w / 2, cx + w / 2, cy - h / 2, cy + h / 2)


def _draw_sites(
    fig, ax, tlat, tlon, gnames, glat, glon, gateway_labels: int, *, small: bool
) -> None:
    """Terminals (dots) and gateways (triangles, the first ``gateway_labels`` named where
    there is room) on ``ax``."""
    if len(tlat):
        size = (6.0 if len(tlat) <= 500 else 2.0) if small else (10.0 if len(tlat) <= 500 else 3.0)
        _role_scatter(
            ax,
            tlon,
            tlat,
            "terminal",
            "terminals",
            s=size,
            linewidths=0,
            alpha=0.8,
            zorder=3,
        )
    if len(glat):
        _role_scatter(
            ax,
            glon,
            glat,
            "gateway",
            "gateways",
            s=50 if small else 70,
            linewidths=0.7,
            zorder=4,
        )
    if len(glat) and gateway_labels > 0:
        fig.draw_without_rendering()
        gpx = ax.transData.transform(np.column_stack([wrap_lon(glon), glat]))
        e = ax.get_window_extent()
        where = _free_boxes(
            gpx[:gateway_labels],
            gnames[:gateway_labels],
            7.5,
            fig.dpi,
            [(5.0, 3.0), (-5.0, 3.0), (5.0, -11.0), (-5.0, -11.0)],
            taken=_point_boxes(gpx),
            bounds=(e.x0, e.y0, e.x1, e.y1),
        )
        for la, lo, text, off in zip(glat, wrap_lon(glon), gnames, where):
            if text and off is not None:
                _label(
                    ax,
                    text,
                    (lo, la),
                    off,
                    "gateway-name",
                    ha="left" if off[0] >= 0 else "right",
                    fontsize=7.5,
                    zorder=5,
                )


def _hatch(ax, paths) -> PathCollection:
    """The "inactive" countries' hatching (:data:`INACTIVE_HATCH`) over ``paths`` on ``ax``."""
    hc = PathCollection(
        paths,
        facecolors="none",
        edgecolors=INACTIVE_HATCH[1],
        linewidths=0.0,
        hatch=INACTIVE_HATCH[0],
        zorder=1.5,
    )
    ax.add_collection(hc)
    return hc


def service_map(
    iso2_states: dict,
    *,
    title: str = "Service availability",
    path=None,
    countries=None,
    terminals=None,
    gateways=None,
    gateway_labels: int = 12,
) -> Figure:
    """Countries shaded by service state, with a legend of the states.

    ``iso2_states`` maps ISO alpha-2 codes to a state of :data:`SERVICE_STATES`
    (``"active"``, ``"no-landing-rights"``, ``"inactive"``). Countries not in
    the dict are grey ("no data"). The legend always lists the three states.

    ``terminals``: ``(lat_deg, lon_deg)`` arrays of user terminals, drawn as
    small dots; ``gateways``: ``(lat_deg, lon_deg, names)``, drawn as
    triangles, the first ``gateway_labels`` named where there is room. Both
    are counted in the legend. When they all lie in one region (within 60 x 40
    deg), an inset (gid ``"zoom"``) shows that region larger, with the gateway
    names there. "inactive" countries are hatched as well as tinted.
    """
    states = {iso2_upper(k): str(v) for k, v in dict(iso2_states).items()}
    bad = sorted({v for v in states.values() if v not in SERVICE_STATES})
    if bad:
        raise InputError(
            f"unknown service state '{bad[0]}'; use one of {', '.join(SERVICE_STATES)}",
            field="iso2_states",
        )
    cs = _countries(countries)
    colours = [SERVICE_STATES[states[c]][0] if c in states else NO_DATA_STYLE[0] for c in cs.iso2]
    fig = new_figure()
    ax = world_axes(fig, title=title)
    draw_countries(ax, cs, facecolors=colours, edgecolor="white", linewidth=0.4)
    inactive = [
        geometry_path(g) for c, g in zip(cs.iso2, cs.geometry) if states.get(c) == "inactive"
    ]
    hatched = [p for p in inactive if p is not None]
    if hatched:
        _hatch(ax, hatched).set_gid("inactive-hatch")
    handles: list[Artist] = [
        Patch(
            facecolor=colour,
            edgecolor="#555555",
            label=label,
            hatch=INACTIVE_HATCH[0] if state == "inactive" else None,
        )
        for state, (colour, label) in SERVICE_STATES.items()
    ]
    if any(c not in states for c in cs.iso2):
        handles.append(
            Patch(facecolor=NO_DATA_STYLE[0], edgecolor="#555555", label=NO_DATA_STYLE[1])
        )
    tlat = tlon = np.empty(0)
    if terminals is not None:
        tlat = np.atleast_1d(np.asarray(terminals[0], dtype=float))
        tlon = np.atleast_1d(np.asarray(terminals[1], dtype=float))
        if tlat.shape != tlon.shape:
            raise InputError(
                "terminal latitudes and longitudes differ in length", field="terminals"
            )
        handles.append(
            Line2D(
                [],
                [],
                linestyle="none",
                marker="o",
                markersize=4,
                markerfacecolor=ROLE_COLOURS["terminal"],
                markeredgewidth=0,
                label=f"terminal ({len(tlat):,})",
            )
        )
    gnames, glat, glon = (
        (np.empty(0, str), np.empty(0), np.empty(0))
        if gateways is None
        else _points(gateways, order=("lat", "lon", "names"))
    )
    if gateways is not None:
        handles.append(
            Line2D(
                [],
                [],
                linestyle="none",
                marker="^",
                markersize=7,
                markerfacecolor=ROLE_COLOURS["gateway"],
                markeredgecolor="k",
                markeredgewidth=0.7,
                label=f"gateway ({len(glat):,})",
            )
        )
    box = _sites_extent(np.r_[tlat, glat], np.r_[tlon, glon])
    _draw_sites(
        fig, ax, tlat, tlon, gnames, glat, glon, gateway_labels if box is None else 0, small=True
    )
    if box is not None:
        # A regional study: the terminals and gateways again, zoomed, with the names.
        rect = (0.615, 0.015, 0.375, 0.48)  # axes fraction; the world axes is 2:1
        box = _widen_to_ratio(box, rect[2] * 2.0 / rect[3])
        inset = ax.inset_axes(list(rect), xlim=box[:2], ylim=box[2:])
        inset.set_gid("zoom")
        inset.set_facecolor(OCEAN_COLOUR)
        inset.set_aspect("equal", adjustable="box", anchor="SE")
        inset.set_xticks([])
        inset.set_yticks([])
        draw_countries(inset, cs, facecolors=colours, edgecolor="white", linewidth=0.5)
        if hatched:
            _hatch(inset, hatched)
        ax.indicate_inset_zoom(inset, edgecolor="#333333", alpha=0.8)
        _draw_sites(fig, inset, tlat, tlon, gnames, glat, glon, gateway_labels, small=False)
    marks = small_countries(states, cs)
    draw_small_countries(ax, marks, label=box is None)
    if box is not None:
        draw_small_countries(inset, marks, size=22.0)
    ax.legend(handles=handles, loc="lower left", fontsize=9, framealpha=0.9, title="service state")
    return _finish(fig, path)
