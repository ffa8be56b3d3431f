"""User beams: which satellite can point a beam at which service cell, at what capacity.

A Starlink satellite steers a small number of user beams; each beam points at one service
cell at a time and hops between cells, sharing its time among them. This module gives the
candidate (cell, satellite) pairs of one instant with each pair's beam capacity, and packs
fractional beam time (the assignment's output, :mod:`skymesh.capacity.assignment`) onto the
satellite's physical beams as a hopping schedule.

Model and sources
-----------------
- **Service cells** are H3 hexagons (:mod:`skymesh.capacity.cells`; resolution 5, 252.9 km²
  on average, the H3 level nearest the ~24 km / ~380 km² analyst figure for Starlink's cell:
  S. Pekhterev, "The Bandwidth of the StarLink Constellation", SatMagazine, Nov 2021).
- **Beams per satellite** `BEAMS_PER_SAT` = 16: 8 user beams per polarisation, 16 with both
  polarisations (Pekhterev 2021, reading SpaceX's Dec 2021 submission to India's TRAI; an
  analyst figure, not an official number). The 2016 Gen1 technical attachment
  (SAT-LOA-20161115-00118) describes steerable, shapeable user beams without a count we could
  read.
- **Beams on one cell at once** `MAX_BEAMS_PER_CELL` = 8: the 10.7-12.7 GHz user downlink
  holds 8 channels of 250 MHz (raster measured by Humphreys et al., "Signal Structure of the
  Starlink Ku-Band Downlink", IEEE TAES 2023; band from SAT-LOA-20161115-00118), and Gen1
  was designed for Nco = 1 -- no two co-frequency beams overlap at a location (M. Puchol,
  citing the filings) -- so a cell can have at most one beam per channel at a time. A
  terminal receives one channel from one satellite at a time (Pekhterev 2021; Tanveer et
  al., "Making Sense of Constellations", CoNEXT 2023 companion), so a cell with n terminals
  also uses at most n beams at once.
- **Beam capacity** of a pair is the link budget's capacity of one Ku channel
  (:func:`skymesh.links.budget.link_capacity_mbps`, DVB-S2X MODCOD at the slant range and
  elevation of the cell centre) x ``channels_per_beam`` / ``frequency_reuse``; with the
  default budget ~1.2-1.4 Gbit/s per beam, so 16 beams ~20 Gbit/s per satellite, the Gen1
  filing's 17-23 Gbit/s (SAT-LOA-20161115-00118, via del Portillo et al., Acta Astronautica
  159, 2019).
- **Coverage** is judged at the cell centre: a pair exists when the satellite is above the
  elevation mask (25 deg for user terminals, FCC 21-48, 2021) seen from the centre. A
  resolution-5 cell reaches ~9 km from its centre, against a ~940 km coverage radius at
  550 km, so cell-edge terminals differ by well under 1 deg of elevation.

Beam hopping
------------
Within a slot a beam may divide its time among several cells (time fractions), as the
on-satellite scheduler shares radio frames (1/750 s, Humphreys et al. 2023) among terminals.
:func:`hop_schedule` turns a satellite's fractions ``y_c <= 1`` with ``sum y_c <= n_beams``
into an explicit schedule on ``n_beams`` beams by McNaughton's wrap-around rule (R.
McNaughton, "Scheduling with deadlines and loss functions", Management Science 6(1), 1959):
fill beam 0 with cells end to end, wrap onto beam 1 when it is full, and so on. A wrapped
cell's two pieces never overlap in time because its fraction is <= 1, so no cell is ever
under two beams of one satellite at once.

Example
-------
>>> import numpy as np
>>> s = hop_schedule(np.array([0, 0, 0]), np.array([0.7, 0.6, 0.5]), n_beams=2)
>>> s["beam"].tolist(), np.round(s["start"], 2).tolist()
([0, 0, 1, 1], [0.0, 0.7, 0.0, 0.3])
"""

from __future__ import annotations

import numpy as np

from skymesh.errors import InputError
from skymesh.links.budget import STARLINK_USER_DOWNLINK_KU, LinkParams, link_capacity_mbps
from skymesh.links.visibility import visible_pairs

BEAMS_PER_SAT = 16
"""User beams per satellite: 8 per polarisation x 2 (Pekhterev, SatMagazine, Nov 2021)."""

MAX_BEAMS_PER_CELL = 8
"""Beams on one cell at once: 8 x 250 MHz channels in 10.7-12.7 GHz, Nco = 1 (see above)."""

USER_MIN_ELEVATION_DEG = 25.0
"""User terminal elevation mask after the 2020 modification (FCC 21-48, 27 Apr 2021, fn. 3)."""


def beam_pairs(
    sat_ecef_km,
    cell_lat_deg,
    cell_lon_deg,
    *,
    min_elevation_deg=USER_MIN_ELEVATION_DEG,
    link: LinkParams = STARLINK_USER_DOWNLINK_KU,
    channels_per_beam: float = 1.0,
    frequency_reuse: float = 1.0,
    beam_capacity_mbps: float | None = None,
    sat_usable=None,
    capacity_fn=None,
) -> dict:
    """Every (cell, satellite) pair in view at one instant, with its beam capacity.

    Parameters
    ----------
    sat_ecef_km : (N, 3) km
        Earth-fixed satellite positions; NaN rows (failed, de-orbiting) are never in view.
    cell_lat_deg, cell_lon_deg : (C,) deg
        Cell centres (:func:`skymesh.capacity.cells.cells_of`).
    min_elevation_deg : float or (C,) deg
        Elevation mask seen from the cell centre.
    link : LinkParams
        One user-downlink channel (default the Ku preset).
    channels_per_beam, frequency_reuse : float
        Beam capacity = channel capacity x channels_per_beam / frequency_reuse.
    beam_capacity_mbps : float, optional
        A fixed beam capacity (Mbit/s) instead of the link budget.
    sat_usable : (N,) bool, optional
        Satellites allowed to serve users (default all with finite positions).
    capacity_fn : callable, optional
        ``capacity_fn(range_km, elevation_deg, lat_deg, lon_deg, cell) -> Mbit/s`` per pair,
        replacing ``link_capacity_mbps(..., link)`` (e.g. with rain fade per cell,
        :func:`skymesh.links.rain.link_capacity_with_rain_mbps`).

    Returns
    -------
    dict of (P,) arrays, sorted by cell then satellite: ``cell``, ``sat`` (int64),
    ``range_km``, ``elevation_deg``, ``capacity_mbps`` (pairs whose link does not close are
    dropped).
    """
    sat = np.asarray(sat_ecef_km, dtype=float)
    if sat.ndim != 2 or sat.shape[1] != 3:
        raise InputError(
            f"satellite positions must be (N, 3) km, got shape {sat.shape}", field="sat_ecef_km"
        )
    clat = np.asarray(cell_lat_deg, dtype=float).reshape(-1)
    clon = np.asarray(cell_lon_deg, dtype=float).reshape(-1)
    if clat.shape != clon.shape:
        raise InputError(
            f"{clat.size} cell latitudes but {clon.size} longitudes", field="cell_lon_deg"
        )
    if not channels_per_beam > 0 or not frequency_reuse > 0:
        raise InputError(
            "channels_per_beam and frequency_reuse must be > 0", field="channels_per_beam"
        )
    if sat_usable is not None:
        ok = np.asarray(sat_usable, dtype=bool).reshape(-1)
        if ok.shape != (sat.shape[0],):
            raise InputError("sat_usable must have one entry per satellite", field="sat_usable")
        sat = np.where(ok[:, None], sat, np.nan)
    empty = {
        "cell": np.empty(0, np.int64),
        "sat": np.empty(0, np.int64),
        "range_km": np.empty(0),
        "elevation_deg": np.empty(0),
        "capacity_mbps": np.empty(0),
    }
    if clat.size == 0 or sat.shape[0] == 0:
        return empty
    g, s, _, rng, el = visible_pairs(
        sat[:, None, :], clat, clon, min_elevation_deg=min_elevation_deg
    )
    if beam_capacity_mbps is not None:
        if not beam_capacity_mbps > 0:
            raise InputError("beam_capacity_mbps must be > 0", field="beam_capacity_mbps")
        cap = np.full(g.size, float(beam_capacity_mbps))
    elif capacity_fn is not None:
        cap = (
            np.asarray(capacity_fn(rng, el, clat[g], clon[g], g), dtype=float)
            * channels_per_beam
            / frequency_reuse
        )
    else:
        cap = (
            link_capacity_mbps(rng, el, link, clat[g], clon[g])
            * channels_per_beam
            / frequency_reuse
        )
    keep = cap > 0
    order = np.lexsort((s[keep], g[keep]))
    return {
        "cell": g[keep][order],
        "sat": s[keep][order],
        "range_km": rng[keep][order],
        "elevation_deg": el[keep][order],
        "capacity_mbps": cap[keep][order],
    }


def hop_schedule(pair_sat, beam_time, n_beams=BEAMS_PER_SAT, *, tol: float = 1e-9) -> dict:
    """Pack each satellite's beam-time fractions onto its beams (McNaughton's wrap-around).

    Parameters
    ----------
    pair_sat : (P,) int
        The satellite of each (cell, satellite) pair.
    beam_time : (P,) float in [0, 1]
        Fraction of the slot the pair's cell has a beam of that satellite; per satellite the
        fractions must sum to <= ``n_beams``.
    n_beams : int or (N,) int
        Beams per satellite.

    Returns
    -------
    dict of (Q,) arrays, one row per piece (a pair may be split into two pieces on two beams
    of its satellite, never overlapping in time): ``pair`` (index into the inputs), ``sat``,
    ``beam`` (0..n_beams-1), ``start``, ``stop`` (fractions of the slot, 0..1).
    """
    s = np.asarray(pair_sat, dtype=np.int64).reshape(-1)
    y = np.asarray(beam_time, dtype=float).reshape(-1)
    if s.shape != y.shape:
        raise InputError("pair_sat and beam_time must have the same length", field="beam_time")
    if (y < -tol).any() or (y > 1 + tol).any():
        raise InputError("beam-time fractions must lie in [0, 1]", field="beam_time")
    y = np.clip(y, 0.0, 1.0)
    nb = np.broadcast_to(np.asarray(n_beams, dtype=np.int64), (int(s.max()) + 1 if s.size else 0,))
    used = np.flatnonzero(y > tol)
    order = used[np.lexsort((used, s[used]))]
    ss, yy = s[order], y[order]
    first = np.r_[True, ss[1:] != ss[:-1]] if ss.size else np.zeros(0, bool)
    cum = np.cumsum(yy)
    base = np.repeat(cum[first] - yy[first], np.diff(np.r_[np.flatnonzero(first), ss.size]))
    end = cum - base  # per-satellite running total, beam-slots
    start = end - yy
    if ss.size and (end > nb[ss] + 1e-6).any():
        bad = int(ss[np.argmax(end > nb[ss] + 1e-6)])
        raise InputError(
            f"satellite {bad} has more beam time than its {int(nb[bad])} beams", field="beam_time"
        )
    b0 = np.floor(start + tol).astype(np.int64)
    b1 = np.floor(end - tol).astype(np.int64)
    split = b1 > b0
    # first piece: [start - b0, min(end, b0 + 1) - b0) on beam b0
    p_pair = [order, order[split]]
    p_beam = [b0, b1[split]]
    p_start = [start - b0, np.zeros(split.sum())]
    p_stop = [np.where(split, 1.0, end - b0), end[split] - b1[split]]
    pair = np.concatenate(p_pair)
    out = {
        "pair": pair,
        "sat": s[pair],
        "beam": np.concatenate(p_beam),
        "start": np.concatenate(p_start),
        "stop": np.concatenate(p_stop),
    }
    srt = np.lexsort((out["start"], out["beam"], out["sat"]))
    return {k: v[srt] for k, v in out.items()}
