"""Orbits: Walker shells, TLE sets, and their vectorised propagation."""
