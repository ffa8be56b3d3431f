"""Ground: places, city lists, countries and gateway sites on the WGS84 ellipsoid."""
