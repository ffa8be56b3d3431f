"""Hexagonal service cells over the ground, on Uber's H3 grid (``h3`` package, v4 API).

A Starlink user beam serves one *cell* at a time. Analyst figures put the service cell at
~24 km across, a hexagon of ~380 km² (S. Pekhterev, "The Bandwidth of the StarLink
Constellation", SatMagazine, Nov 2021, status **N**; the H3-like grid itself is **U**: community
reports only, no published figure). H3 resolution 5 has hexagons of 252.9 km² on average
(``h3.average_hexagon_area(5, "km^2")``), the closest H3 level to that size (resolution 4 is
1,770 km²), so it is the default here; pass ``resolution`` to change it.

h3's Python binding is per point (about a microsecond each), which is fine for up to ~100k
points. To keep it cheap, identical coordinates are converted once (``np.unique``) and cell
centres are computed once per distinct cell (and cached across calls).

Example
-------
>>> import numpy as np
>>> c = cells_of(np.array([50.45, 50.4501, 49.84]), np.array([30.52, 30.5201, 24.03]))
>>> c.index.tolist(), len(c.ids)
([0, 0, 1], 2)
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import h3
import numpy as np

from skymesh.errors import InputError

DEFAULT_RESOLUTION = 5
"""H3 resolution of a service cell: 252.9 km² average hexagon (~380 km² analyst figure for
Starlink's cell: Pekhterev, SatMagazine, Nov 2021, N)."""


class Cells(NamedTuple):
    """Cells of a set of points; unpacks as ``ids, index, lat_deg, lon_deg``.

    ``ids`` (C,) int64 H3 indexes of the distinct cells, sorted; ``index`` (n,) int: each
    point's position in ``ids``; ``lat_deg``, ``lon_deg`` (C,): the cells' centres.
    """

    ids: np.ndarray
    index: np.ndarray  # type: ignore[assignment]  # public field name shadows tuple.index
    lat_deg: np.ndarray
    lon_deg: np.ndarray


def _check_resolution(resolution) -> int:
    if not isinstance(resolution, (int, np.integer)) or not 0 <= resolution <= 15:
        raise InputError(
            f"H3 resolution must be a whole number 0-15, got {resolution!r}", field="resolution"
        )
    return int(resolution)


@lru_cache(maxsize=1 << 20)
def _centre(cell_int: int) -> tuple[float, float]:
    return h3.cell_to_latlng(h3.int_to_str(cell_int))


def cells_of(lat_deg, lon_deg, resolution: int = DEFAULT_RESOLUTION) -> Cells:
    """The H3 cell of every point, and the distinct cells with their centres.

    Parameters
    ----------
    lat_deg, lon_deg : array_like, shape (n,)
        Geodetic coordinates (deg). Longitudes are wrapped to [-180, 180).
    resolution : int
        H3 resolution (default 5, ~253 km² cells).

    Returns
    -------
    Cells
        ``(ids, index, lat_deg, lon_deg)``: see :class:`Cells`.
    """
    res = _check_resolution(resolution)
    lat = np.atleast_1d(np.asarray(lat_deg, dtype=float)).ravel()
    lon = np.atleast_1d(np.asarray(lon_deg, dtype=float)).ravel()
    if lat.shape != lon.shape:
        raise InputError(f"{lat.size} latitudes but {lon.size} longitudes", field="lon_deg")
    if not (np.isfinite(lat).all() and np.isfinite(lon).all()):
        raise InputError("coordinates must be finite", field="lat_deg")
    if (np.abs(lat) > 90.0).any():
        raise InputError("latitudes must lie in [-90, 90] deg", field="lat_deg")
    lon = (lon + 180.0) % 360.0 - 180.0
    if lat.size == 0:
        e = np.empty(0)
        return Cells(np.empty(0, np.int64), np.empty(0, np.int64), e, e.copy())
    pts, inv = np.unique(np.stack([lat, lon], axis=1), axis=0, return_inverse=True)
    inv = inv.ravel()
    per_pt = np.fromiter(
        (h3.str_to_int(h3.latlng_to_cell(a, b, res)) for a, b in pts),
        dtype=np.int64,
        count=len(pts),
    )
    ids, cell_of_pt = np.unique(per_pt, return_inverse=True)
    centres = np.array([_centre(int(c)) for c in ids], dtype=float).reshape(-1, 2)
    return Cells(ids, cell_of_pt.ravel()[inv].astype(np.int64), centres[:, 0], centres[:, 1])


def cell_names(ids) -> np.ndarray:
    """H3 string names (e.g. ``'851e6a0bfffffff'``) of int64 cell indexes."""
    return np.array([h3.int_to_str(int(c)) for c in np.atleast_1d(ids)], dtype=object)


def cell_area_km2(ids) -> np.ndarray:
    """Exact area (km²) of each cell (int64 indexes or H3 strings)."""
    out = [
        h3.cell_area(c if isinstance(c, str) else h3.int_to_str(int(c)), unit="km^2")
        for c in np.atleast_1d(ids)
    ]
    return np.asarray(out, dtype=float)
