"""Reference frames: TEME -> Earth-fixed by sidereal time, and WGS84 geodetic.

sgp4 gives positions in TEME. Rotating TEME about the z axis by the
Greenwich Mean Sidereal Time (IAU 1982 model, the one SGP4 is defined
with; Vallado, *Fundamentals of Astrodynamics*, eq. 3-47) gives the
pseudo-Earth-fixed frame. Polar motion (up to ~15 m at the surface) is
ignored, so "Earth-fixed" here agrees with ITRS to tens of metres.
"""

from __future__ import annotations

import numpy as np

from skymesh.constants import EARTH_ROTATION_RAD_S, WGS84_A_KM, WGS84_B_KM, WGS84_E2


def gmst_rad(jd, fr=0.0) -> np.ndarray:
    """Greenwich Mean Sidereal Time (rad, in [0, 2 pi)) at UT1 Julian date ``jd + fr``.

    UT1 is taken equal to UTC (|UT1 - UTC| < 0.9 s, i.e. < 0.4 km along track
    at the equator on the ground frame, never on orbital geometry itself).
    """
    t = ((np.asarray(jd, dtype=float) - 2451545.0) + np.asarray(fr, dtype=float)) / 36525.0
    seconds = (
        67310.54841
        + (876600.0 * 3600.0 + 8640184.812866) * t
        + 0.093104 * t * t
        - 6.2e-6 * t * t * t
    )
    return np.mod(np.deg2rad(seconds / 240.0), 2.0 * np.pi)


def rotate_z(xyz: np.ndarray, angle_rad) -> np.ndarray:
    """Rotate vectors ``xyz`` (..., 3) by ``-angle_rad`` about z (inertial -> rotating frame).

    ``angle_rad`` broadcasts against ``xyz[..., 0]``.
    """
    c = np.cos(angle_rad)
    s = np.sin(angle_rad)
    out = np.empty(np.broadcast_shapes(np.shape(xyz), np.shape(c) + (3,)))
    x = xyz[..., 0]
    y = xyz[..., 1]
    out[..., 0] = c * x + s * y
    out[..., 1] = -s * x + c * y
    out[..., 2] = xyz[..., 2]
    return out


def teme_to_ecef(r_teme_km: np.ndarray, jd, fr) -> np.ndarray:
    """Earth-fixed positions (km) from TEME positions ``(..., T, 3)`` at times ``jd + fr`` (T,)."""
    return rotate_z(r_teme_km, gmst_rad(jd, fr))


def teme_to_ecef_state(r_teme_km, v_teme_km_s, theta_rad):
    """Earth-fixed positions (km) and velocities (km/s) from TEME ones, at sidereal angles
    ``theta_rad`` (from :func:`gmst_rad`, broadcasting like ``rotate_z``): the rotated
    velocity minus omega x r."""
    r = rotate_z(r_teme_km, theta_rad)
    v = rotate_z(v_teme_km_s, theta_rad)
    v[..., 0] += EARTH_ROTATION_RAD_S * r[..., 1]
    v[..., 1] -= EARTH_ROTATION_RAD_S * r[..., 0]
    return r, v


def geodetic_to_ecef(lat_deg, lon_deg, alt_km=0.0) -> np.ndarray:
    """Earth-fixed positions (km), shape (..., 3), of WGS84 geodetic coordinates."""
    lat = np.deg2rad(np.asarray(lat_deg, dtype=float))
    lon = np.deg2rad(np.asarray(lon_deg, dtype=float))
    alt = np.asarray(alt_km, dtype=float)
    sin_lat = np.sin(lat)
    n = WGS84_A_KM / np.sqrt(1.0 - WGS84_E2 * sin_lat * sin_lat)
    lat, lon, alt, n, sin_lat = np.broadcast_arrays(lat, lon, alt, n, sin_lat)
    out = np.empty(lat.shape + (3,))
    out[..., 0] = (n + alt) * np.cos(lat) * np.cos(lon)
    out[..., 1] = (n + alt) * np.cos(lat) * np.sin(lon)
    out[..., 2] = (n * (1.0 - WGS84_E2) + alt) * sin_lat
    return out


def ecef_to_geodetic(xyz_km: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """WGS84 geodetic ``(lat_deg, lon_deg, alt_km)`` of Earth-fixed positions ``(..., 3)`` (km).

    Bowring's method with two refinements: sub-millimetre for LEO altitudes.
    """
    x = xyz_km[..., 0]
    y = xyz_km[..., 1]
    z = xyz_km[..., 2]
    p = np.hypot(x, y)
    ep2 = (WGS84_A_KM**2 - WGS84_B_KM**2) / WGS84_B_KM**2
    beta = np.arctan2(WGS84_A_KM * z, WGS84_B_KM * p)
    for _ in range(2):
        lat = np.arctan2(
            z + ep2 * WGS84_B_KM * np.sin(beta) ** 3, p - WGS84_E2 * WGS84_A_KM * np.cos(beta) ** 3
        )
        beta = np.arctan2(WGS84_B_KM * np.tan(lat), WGS84_A_KM)
    sin_lat = np.sin(lat)
    n = WGS84_A_KM / np.sqrt(1.0 - WGS84_E2 * sin_lat * sin_lat)
    cos_lat = np.cos(lat)
    with np.errstate(divide="ignore", invalid="ignore"):
        alt = np.where(np.abs(cos_lat) > 1e-9, p / cos_lat - n, np.abs(z) - WGS84_B_KM)
    return np.rad2deg(lat), np.rad2deg(np.arctan2(y, x)), alt
