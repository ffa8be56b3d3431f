"""Walker-delta shells: circular orbits generated from a few numbers, propagated in closed form.

A Walker-delta shell ``i: T/P/F`` has ``P`` planes with right ascensions of
the ascending node spread evenly over 360 deg, ``S = T/P`` satellites per
plane spread evenly in argument of latitude, and a phasing factor ``F``:
satellite ``k`` of plane ``p + 1`` leads satellite ``k`` of plane ``p`` by
``360 F / T`` deg (Walker, J. G., "Satellite constellations", J. Br.
Interplanet. Soc. 37, 1984).

The inertial frame of the elements is taken as TEME at the epoch, so the
same sidereal-time rotation that turns SGP4 output Earth-fixed serves here.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np

from skymesh.constants import J2, MU_EARTH_KM3_S2, WGS84_A_KM
from skymesh.errors import InputError
from skymesh.orbits.constellation import Constellation, Shell
from skymesh.timebase import parse_time


def walker_shell_elements(shell: Shell, raan_offset_deg: float = 0.0):
    """Elements of one shell, satellites ordered plane by plane then slot by slot.

    Returns
    -------
    plane, slot : ndarray of int, shape (P*S,)
    raan_deg, arg_latitude_deg : ndarray, shape (P*S,)
        RAAN and argument of latitude at epoch, in [0, 360).
    """
    _check_shell(shell)
    plane, slot = np.divmod(np.arange(shell.size), shell.sats_per_plane)
    raan = np.mod(raan_offset_deg + shell.raan_spread_deg * plane / shell.planes, 360.0)
    u = np.mod(
        360.0 * slot / shell.sats_per_plane + 360.0 * shell.phasing * plane / shell.size, 360.0
    )
    return plane, slot, raan, u


def _check_shell(shell: Shell) -> None:
    if not (shell.altitude_km > 100.0):
        raise InputError(
            f"altitude must be above 100 km, got {shell.altitude_km}", field="altitude_km"
        )
    if not (0.0 <= shell.inclination_deg <= 180.0):
        raise InputError(
            f"inclination must be within 0..180 deg, got {shell.inclination_deg}",
            field="inclination_deg",
        )
    if shell.planes < 1 or shell.sats_per_plane < 1:
        raise InputError(
            f"need at least one plane and one satellite per plane, got "
            f"{shell.planes}x{shell.sats_per_plane}",
            field="planes",
        )
    if not (0.0 < shell.raan_spread_deg <= 360.0):
        raise InputError(
            f"RAAN spread must be within (0, 360] deg, got {shell.raan_spread_deg}",
            field="raan_spread_deg",
        )
    if not (0 <= shell.phasing < shell.planes):
        raise InputError(
            f"phasing F must satisfy 0 <= F < planes ({shell.planes}), got {shell.phasing}",
            field="phasing",
        )


def walker_constellation(
    shells,
    *,
    name: str = "walker",
    epoch="2026-01-01T00:00:00Z",
    j2: bool = False,
    source: str = "",
    name_prefix: str = "SAT",
) -> Constellation:
    """A constellation of one or more Walker-delta shells.

    Parameters
    ----------
    shells : Shell or sequence of Shell
    epoch : datetime or ISO string
        UTC instant at which the elements hold.
    j2 : bool
        Propagate with the J2 secular drift of RAAN and argument of latitude.

    Satellite names are ``{name_prefix}-{shell}-{plane}-{slot}``.
    """
    if isinstance(shells, Shell):
        shells = [shells]
    shells = tuple(shells)
    if not shells:
        raise InputError("a Walker constellation needs at least one shell", field="shells")
    parts = []
    for s_idx, shell in enumerate(shells):
        plane, slot, raan, u = walker_shell_elements(shell)
        n = shell.size
        parts.append(
            dict(
                shell=np.full(n, s_idx),
                plane=plane,
                slot=slot,
                raan=raan,
                u=u,
                alt=np.full(n, float(shell.altitude_km)),
                inc=np.full(n, float(shell.inclination_deg)),
                names=np.char.add(
                    f"{name_prefix}-{s_idx}-",
                    np.char.add(np.char.add(plane.astype(str), "-"), slot.astype(str)),
                ),
            )
        )
    cat = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    return Constellation(
        name=name,
        sat_names=cat["names"].astype(str),
        shell=cat["shell"],
        plane=cat["plane"],
        slot=cat["slot"],
        altitude_km=cat["alt"],
        inclination_deg=cat["inc"],
        raan_deg=cat["raan"],
        arg_latitude_deg=cat["u"],
        epoch=parse_time(epoch),
        shells=shells,
        j2=j2,
        source=source,
    )


def circular_rates_rad_s(altitude_km, inclination_deg, j2: bool = False):
    """Angular rates of a circular orbit: ``(du/dt, dRAAN/dt)`` in rad/s.

    With ``j2`` the secular first-order J2 rates for e = 0 are added
    (Vallado, *Fundamentals of Astrodynamics*, eqs. 9-41 and 9-42):
    ``dRAAN/dt = -1.5 n J2 (Re/a)^2 cos i`` and
    ``du/dt = n [1 + 0.75 J2 (Re/a)^2 (5 cos^2 i - 1 + 3 cos^2 i - 1)]``.
    """
    a = WGS84_A_KM + np.asarray(altitude_km, dtype=float)
    n = np.sqrt(MU_EARTH_KM3_S2 / a**3)
    if not j2:
        return n, np.zeros_like(n)
    cos_i = np.cos(np.deg2rad(inclination_deg))
    k = J2 * (WGS84_A_KM / a) ** 2
    raan_rate = -1.5 * n * k * cos_i
    u_rate = n * (1.0 + 0.75 * k * (8.0 * cos_i**2 - 2.0))
    return u_rate, raan_rate


def circular_positions_inertial(
    constellation: Constellation, seconds_since_epoch: np.ndarray, with_velocity: bool = False
):
    """Inertial (TEME-like) positions (km) of circular orbits, shape (N, T, 3).

    ``seconds_since_epoch`` has shape (T,). With ``with_velocity`` also
    returns velocities (km/s), same shape.
    """
    c = constellation
    t = np.asarray(seconds_since_epoch, dtype=float)[None, :]
    u_rate, raan_rate = circular_rates_rad_s(c.altitude_km, c.inclination_deg, c.j2)
    u = np.deg2rad(c.arg_latitude_deg)[:, None] + u_rate[:, None] * t
    raan = np.deg2rad(c.raan_deg)[:, None] + raan_rate[:, None] * t
    inc = np.deg2rad(c.inclination_deg)[:, None]
    r = (WGS84_A_KM + c.altitude_km)[:, None]
    cos_u, sin_u = np.cos(u), np.sin(u)
    cos_o, sin_o = np.cos(raan), np.sin(raan)
    cos_i, sin_i = np.cos(inc), np.sin(inc)
    pos = np.empty(u.shape + (3,))
    pos[..., 0] = r * (cos_o * cos_u - sin_o * sin_u * cos_i)
    pos[..., 1] = r * (sin_o * cos_u + cos_o * sin_u * cos_i)
    pos[..., 2] = r * (sin_u * sin_i)
    if not with_velocity:
        return pos
    # d/dt of the above; the RAAN drift term is tiny but kept for consistency.
    du = u_rate[:, None]
    do = raan_rate[:, None]
    vel = np.empty_like(pos)
    vel[..., 0] = r * (
        du * (-cos_o * sin_u - sin_o * cos_u * cos_i)
        + do * (-sin_o * cos_u - cos_o * sin_u * cos_i)
    )
    vel[..., 1] = r * (
        du * (-sin_o * sin_u + cos_o * cos_u * cos_i) + do * (cos_o * cos_u - sin_o * sin_u * cos_i)
    )
    vel[..., 2] = r * du * cos_u * sin_i
    return pos, vel


def epoch_offset_s(constellation: Constellation, start: datetime) -> float:
    """Seconds from the constellation's element epoch to ``start``."""
    return (parse_time(start) - constellation.epoch).total_seconds()
