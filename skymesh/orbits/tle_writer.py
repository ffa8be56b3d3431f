"""Write two-line element sets for designed shells (Walker, or Hypatia's half-slot layout).

The text follows the fixed-column TLE layout (NORAD / Space-Track TLE
definition; CelesTrak, "FAQs: Two-Line Element Set Format", T.S. Kelso):
69 columns, mod-10 checksum in column 69, epoch as two-digit year and
fractional day of year, angles in degrees to 4 decimals, eccentricity with
an assumed leading decimal point, mean motion in revolutions per day to 8
decimals. Every set is 3 lines: a name line (``0 NAME``, CelesTrak's 3LE
style), line 1 and line 2. :func:`skymesh.orbits.tle.parse_tle_text` reads
it back (and validates every column), and so does sgp4's ``twoline2rv``.

Elements: circular orbits (eccentricity 0 unless given, argument of
perigee 0), so the mean anomaly is the argument of latitude; drag terms
(first and second derivative of mean motion, B*) are 0: a designed shell,
not a fitted orbit. The mean motion comes from the altitude by Kepler's
third law, ``n = sqrt(mu / a^3)`` with ``a = R_WGS84 + altitude_km``, the
inverse of what :func:`skymesh.orbits.tle.constellation_from_tle` reads, so
a round trip keeps ``altitude_km`` (to ~1 m at the 8 printed decimals). The
TLE mean motion is SGP4's Kozai mean motion; SGP4's own mean semi-major axis
differs from this ``a`` by J2 terms (~1 km at 550 km and 53 deg), which only
matters when comparing altitudes with another tool's.

Precision: 1e-4 deg in angles (about 12 m along a 550 km orbit), 1e-8 day
(0.9 ms) in the epoch. Satellite numbers run from ``first_catalog_number``
(default 1) and must stay within 5 digits (no Alpha-5); the international
designator is left blank (these are not real objects).

Example
-------
>>> from skymesh.orbits.constellation import Shell
>>> text = walker_tle_text(Shell(550.0, 53.0, 72, 22, 1))        # doctest: +SKIP
>>> write_tle_file("shell.tle", text)                             # doctest: +SKIP
"""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np

from skymesh.constants import MU_EARTH_KM3_S2, WGS84_A_KM
from skymesh.errors import InputError
from skymesh.orbits.constellation import Constellation, Shell
from skymesh.orbits.tle import tle_checksum_expected
from skymesh.orbits.walker import walker_constellation
from skymesh.timebase import parse_time

SECONDS_PER_DAY = 86400.0
MAX_CATALOG_NUMBER = 99999


def mean_motion_rev_day(altitude_km) -> np.ndarray:
    """Mean motion (rev/day) of a circular orbit ``altitude_km`` above the WGS84 equator."""
    a_km = WGS84_A_KM + np.asarray(altitude_km, dtype=float)
    n_rad_s = np.sqrt(MU_EARTH_KM3_S2 / a_km**3)
    return n_rad_s * SECONDS_PER_DAY / (2.0 * np.pi)


def _epoch_field(epoch: datetime) -> str:
    """Columns 19-32 of line 1: ``YYDDD.DDDDDDDD`` (UTC)."""
    t = parse_time(epoch).astimezone(timezone.utc)
    if not 1957 <= t.year <= 2056:
        raise InputError(
            f"TLE epochs cover 1957-2056 (two-digit years), got {t.year}", field="epoch"
        )
    start = datetime(t.year, 1, 1, tzinfo=timezone.utc)
    day = 1.0 + (t - start).total_seconds() / SECONDS_PER_DAY
    return f"{t.year % 100:02d}{day:012.8f}"


def _angle(values, name: str) -> np.ndarray:
    """Angles (deg) in [0, 360) after rounding to the 4 printed decimals."""
    v = np.asarray(values, dtype=float)
    if not np.isfinite(v).all():
        raise InputError(f"{name} must be finite", field=name)
    return np.mod(np.round(np.mod(v, 360.0), 4), 360.0)


def tle_lines(
    inclination_deg,
    raan_deg,
    mean_anomaly_deg,
    mean_motion,
    epoch,
    *,
    eccentricity=0.0,
    arg_perigee_deg=0.0,
    first_catalog_number: int = 1,
):
    """Lines 1 and 2 of one element set per satellite, checksums included.

    Parameters
    ----------
    inclination_deg, raan_deg, mean_anomaly_deg : array_like, shape (N,)
        Degrees; inclination within [0, 180) (as the reader checks), the others mod 360.
    mean_motion : array_like, shape (N,)
        Revolutions per day (see :func:`mean_motion_rev_day`), within (0, 20).
    epoch : datetime or ISO string
        UTC element epoch, the same for every satellite.
    eccentricity, arg_perigee_deg : float or array_like (N,)
    first_catalog_number : int
        Satellite number of the first set; the others follow in order.

    Returns
    -------
    line1s, line2s : list of str, 69 characters each
    """
    inc = np.asarray(inclination_deg, dtype=float).ravel()
    n = len(inc)
    if not (np.isfinite(inc).all() and np.all((inc >= 0.0) & (np.round(inc, 4) < 180.0))):
        raise InputError("inclination must be within [0, 180) deg", field="inclination_deg")
    raan = _angle(np.broadcast_to(raan_deg, (n,)), "raan_deg")
    mean_anomaly = _angle(np.broadcast_to(mean_anomaly_deg, (n,)), "mean_anomaly_deg")
    argp = _angle(np.broadcast_to(arg_perigee_deg, (n,)), "arg_perigee_deg")
    motion = np.broadcast_to(np.asarray(mean_motion, dtype=float), (n,))
    if not (np.isfinite(motion).all() and np.all((motion > 0.0) & (motion < 20.0))):
        raise InputError(
            "mean motion must be within (0, 20) rev/day (altitude above ~100 km)",
            field="mean_motion",
        )
    ecc = np.broadcast_to(np.asarray(eccentricity, dtype=float), (n,))
    ecc_digits = np.round(ecc * 1e7).astype(np.int64)
    if not (np.isfinite(ecc).all() and np.all((ecc_digits >= 0) & (ecc_digits < 10**7))):
        raise InputError("eccentricity must be within [0, 1)", field="eccentricity")
    first = int(first_catalog_number)
    if first < 1 or first + n - 1 > MAX_CATALOG_NUMBER:
        raise InputError(
            f"satellite numbers {first}..{first + n - 1} do not fit the "
            f"5-digit field (1..{MAX_CATALOG_NUMBER})",
            field="first_catalog_number",
        )
    inc = np.round(inc, 4)
    epoch_text = _epoch_field(epoch)
    line1s, line2s = [], []
    for i in range(n):
        num = first + i
        body1 = f"1 {num:05d}U          {epoch_text}  .00000000  00000-0  00000-0 0    1"
        body2 = (
            f"2 {num:05d} {inc[i]:8.4f} {raan[i]:8.4f} {ecc_digits[i]:07d} "
            f"{argp[i]:8.4f} {mean_anomaly[i]:8.4f} {motion[i]:11.8f}    0"
        )
        line1s.append(body1 + str(tle_checksum_expected(body1)))
        line2s.append(body2 + str(tle_checksum_expected(body2)))
    return line1s, line2s


def constellation_tle_text(constellation: Constellation, *, first_catalog_number: int = 1) -> str:
    """3-line TLE text of a circular (Walker) constellation at its element epoch.

    Uses ``altitude_km``, ``inclination_deg``, ``raan_deg`` and
    ``arg_latitude_deg`` (as the mean anomaly, the orbits being circular) of
    every satellite, and its name.
    """
    c = constellation
    if c.is_tle:
        raise InputError(
            "this constellation already comes from TLEs; write the original file instead",
            field="constellation",
        )
    line1s, line2s = tle_lines(
        c.inclination_deg,
        c.raan_deg,
        c.arg_latitude_deg,
        mean_motion_rev_day(c.altitude_km),
        c.epoch,
        first_catalog_number=first_catalog_number,
    )
    out = []
    for name, l1, l2 in zip(c.sat_names, line1s, line2s):
        out += [f"0 {name}", l1, l2]
    return "\n".join(out) + "\n"


def half_slot_alternate(constellation: Constellation) -> Constellation:
    """A copy with the satellites of odd planes moved half a slot ahead in argument of latitude.

    The layout Hypatia's generator writes for its paper shells (Kassing et al.,
    "Exploring the 'Internet from space' with Hypatia", IMC 2020; satgenpy
    ``generate_tles_from_scratch_*``, ``phase_diff=True``): plane ``p`` at RAAN
    ``360 p / P``, alternate planes shifted by ``360 / (2 S)`` deg. Apply it to a
    shell built with phasing F = 0 to get Hypatia's layout.
    """
    from dataclasses import replace

    c = constellation
    if not c.shells:
        raise InputError("half-slot alternation needs a Walker constellation", field="shells")
    shift = np.zeros(len(c))
    for s_idx, shell in enumerate(c.shells):
        odd = (c.shell == s_idx) & (c.plane % 2 == 1)
        shift[odd] = 180.0 / shell.sats_per_plane
    return replace(c, arg_latitude_deg=np.mod(c.arg_latitude_deg + shift, 360.0))


def walker_tle_text(
    shells,
    *,
    epoch="2026-01-01T00:00:00Z",
    half_slot: bool = False,
    name_prefix: str = "SAT",
    first_catalog_number: int = 1,
    raan_offset_deg: float = 0.0,
) -> str:
    """3-line TLE text of Walker shells (see :func:`skymesh.orbits.walker.walker_constellation`).

    Satellites are written plane by plane, slot by slot (satellite ``p * S + k``
    of a one-shell file is slot ``k`` of plane ``p``), named
    ``{name_prefix}-{shell}-{plane}-{slot}``. With ``half_slot`` the odd planes
    are moved half a slot ahead (:func:`half_slot_alternate`). ``raan_offset_deg``
    turns every plane's RAAN by that much (deg).
    """
    from dataclasses import replace

    if isinstance(shells, Shell):
        shells = [shells]
    c = walker_constellation(shells, epoch=epoch, name_prefix=name_prefix)
    if raan_offset_deg:
        c = replace(c, raan_deg=np.mod(c.raan_deg + float(raan_offset_deg), 360.0))
    if half_slot:
        c = half_slot_alternate(c)
    return constellation_tle_text(c, first_catalog_number=first_catalog_number)


def write_tle_file(path, text: str) -> None:
    """Write TLE text to ``path`` atomically (:func:`skymesh.files.write_text_atomic`)."""
    from skymesh.files import write_text_atomic

    write_text_atomic(path, text)
