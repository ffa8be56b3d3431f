"""Physical constants, in km and s.

WGS84 ellipsoid (NIMA TR8350.2), Earth's rotation rate and GM from the same
system, J2 from EGM96, and the speed of light in vacuum (exact, SI).
"""

WGS84_A_KM = 6378.137
"""Equatorial radius of the WGS84 ellipsoid (km)."""
WGS84_F = 1.0 / 298.257223563
"""Flattening of the WGS84 ellipsoid."""
WGS84_B_KM = WGS84_A_KM * (1.0 - WGS84_F)
"""Polar radius of the WGS84 ellipsoid (km)."""
WGS84_E2 = WGS84_F * (2.0 - WGS84_F)
"""First eccentricity squared of the WGS84 ellipsoid."""
EARTH_MEAN_RADIUS_KM = 6371.0088
"""IUGG mean Earth radius (km), used for great-circle distances."""
EARTH_ROTATION_RAD_S = 7.2921150e-5
"""Earth's rotation rate relative to the stars (rad/s)."""
MU_EARTH_KM3_S2 = 398600.4418
"""Earth's gravitational parameter GM (km^3/s^2)."""
J2 = 1.08262668e-3
"""Earth's second zonal harmonic (EGM96, unnormalised)."""
SPEED_OF_LIGHT_KM_S = 299792.458
"""Speed of light in vacuum (km/s)."""
