"""A constellation as a handful of arrays: names, shells, planes, slots, elements.

One ``Constellation`` holds every satellite on axis 0. Walker shells carry
circular elements that propagate in closed form; TLE sets also carry sgp4
records. The elements stored for every satellite (altitude, inclination,
RAAN, argument of latitude at ``epoch``) are what ISL planning and plane
inference read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from skymesh.constants import WGS84_A_KM

MIN_SERVICE_PERIGEE_KM = 300.0
"""Lowest mean perigee (km) of a TLE satellite counted as able to serve users."""
MAX_SERVICE_ECCENTRICITY = 0.01
"""Largest eccentricity of a TLE satellite counted as able to serve users (operational
Starlink orbits are near-circular; the data README flags e > 0.01 as decaying)."""


@dataclass(frozen=True)
class Shell:
    """One Walker-delta shell: ``planes`` x ``sats_per_plane`` satellites.

    Attributes
    ----------
    altitude_km : float
        Circular orbit altitude above the equatorial radius (km).
    inclination_deg : float
        Orbit inclination (deg).
    planes : int
        Number of orbital planes, RAANs spread evenly over 360 deg.
    sats_per_plane : int
        Satellites per plane, spread evenly in argument of latitude.
    phasing : int
        Walker phasing factor F, 0 <= F < planes: satellite k of plane p+1 leads
        satellite k of plane p by ``360 * F / (planes * sats_per_plane)`` deg.
    raan_spread_deg : float
        Arc over which the planes' RAANs are spread: 360 for a Walker delta,
        180 for a Walker star (near-polar shells such as OneWeb's), where
        the first and last planes counter-rotate across a seam.

    Examples
    --------
    >>> import skymesh
    >>> s = skymesh.Shell(550.0, 53.0, planes=72, sats_per_plane=22, phasing=17)
    >>> s.planes * s.sats_per_plane, s.raan_spread_deg
    (1584, 360.0)
    """

    altitude_km: float
    inclination_deg: float
    planes: int
    sats_per_plane: int
    phasing: int = 1
    raan_spread_deg: float = 360.0

    @property
    def size(self) -> int:
        return self.planes * self.sats_per_plane


@dataclass(frozen=True)
class Constellation:
    """Satellites on axis 0, as arrays.

    Attributes
    ----------
    name : str
        Preset name or file the constellation came from.
    sat_names : ndarray of str, shape (N,)
    shell, plane, slot : ndarray of int, shape (N,)
        Shell index, plane index within the shell and slot index within the
        plane; -1 where unknown (a TLE satellite outside every inferred shell).
    altitude_km, inclination_deg, raan_deg, arg_latitude_deg : ndarray, shape (N,)
        Mean circular elements at ``epoch``: altitude above the equatorial
        radius (km), inclination (deg), right ascension of the ascending node
        in the TEME/inertial frame (deg) and argument of latitude (deg).
    epoch : datetime
        UTC epoch of those elements (for TLE sets, the median element epoch).
    shells : tuple of Shell
        The Walker shells (empty for TLE sets).
    satrecs : sgp4.api.SatrecArray or None
        The sgp4 records of a TLE set, in the same order.
    j2 : bool
        Walker shells only: apply J2 secular drift of RAAN and argument of latitude.
    source : str
        Where the data came from, for reports (a citation or a file path).

    Examples
    --------
    >>> import skymesh
    >>> c = skymesh.walker(skymesh.Shell(550.0, 53.0, planes=6, sats_per_plane=4), name="toy")
    >>> len(c), c.name, c.plane.tolist()[:6], float(c.altitude_km[0])
    (24, 'toy', [0, 0, 0, 0, 1, 1], 550.0)
    """

    name: str
    sat_names: np.ndarray
    shell: np.ndarray
    plane: np.ndarray
    slot: np.ndarray
    altitude_km: np.ndarray
    inclination_deg: np.ndarray
    raan_deg: np.ndarray
    arg_latitude_deg: np.ndarray
    epoch: datetime
    shells: tuple = ()
    satrecs: object = None
    j2: bool = False
    source: str = ""
    extra: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.sat_names)

    def in_service(self) -> np.ndarray:
        """(N,) bool: satellites that can carry traffic.

        Every satellite of a Walker shell. For a TLE set, those with a mean
        perigee of at least ``MIN_SERVICE_PERIGEE_KM`` and an eccentricity of at
        most ``MAX_SERVICE_ECCENTRICITY``: re-entering and decaying objects
        (a real snapshot has a few dozen) carry no users, and a satellite at
        200 km would otherwise offer RTTs no operational one can.
        """
        if not self.is_tle:
            return np.ones(len(self), dtype=bool)
        ecc = np.asarray(self.extra.get("eccentricity", np.zeros(len(self))), dtype=float)
        a_km = WGS84_A_KM + np.asarray(self.altitude_km, dtype=float)
        perigee_km = a_km * (1.0 - ecc) - WGS84_A_KM
        with np.errstate(invalid="ignore"):
            return (perigee_km >= MIN_SERVICE_PERIGEE_KM) & (ecc <= MAX_SERVICE_ECCENTRICITY)

    @property
    def is_tle(self) -> bool:
        return self.satrecs is not None

    def subset(self, index) -> "Constellation":
        """The constellation restricted to satellites ``index`` (bool mask or indices)."""
        from sgp4.api import SatrecArray

        index = np.asarray(index)
        if index.dtype == bool:
            index = np.flatnonzero(index)
        satrecs = None
        if self.satrecs is not None:
            records = self.extra["satrec_list"]
            kept = [records[i] for i in index]
            satrecs = SatrecArray(kept)
            extra = dict(self.extra, satrec_list=kept)
        else:
            extra = dict(self.extra)
        return Constellation(
            name=self.name,
            sat_names=self.sat_names[index],
            shell=self.shell[index],
            plane=self.plane[index],
            slot=self.slot[index],
            altitude_km=self.altitude_km[index],
            inclination_deg=self.inclination_deg[index],
            raan_deg=self.raan_deg[index],
            arg_latitude_deg=self.arg_latitude_deg[index],
            epoch=self.epoch,
            shells=self.shells,
            satrecs=satrecs,
            j2=self.j2,
            source=self.source,
            extra=extra,
        )
