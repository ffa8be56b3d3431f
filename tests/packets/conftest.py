"""Shared packet-run fixtures: one small network (Paris-Luanda over Starlink shell 1), built
once, and the ns-3 runs over it, each done once per session (ns-3's import alone takes ~15 s).

Tests that need ns-3 take the ``ns3`` fixture, which skips with one line when it is absent.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

NS3_SKIP = "ns-3 not installed: pip install 'skymesh[packets]' to run the packet tests"
WINDOW_S = 40.0
START = "2026-01-01T00:00:00Z"
ISL_BPS = 25e6
GSL_BPS = 10e6


@pytest.fixture(scope="session")
def ns3():
    if importlib.util.find_spec("ns") is None:
        pytest.skip(NS3_SKIP)
    from skymesh.packets.ns3 import load_ns3

    return load_ns3()


@pytest.fixture(scope="session")
def shell1():
    from skymesh.orbits.presets import load_constellation

    return load_constellation("starlink-shell1")


@pytest.fixture(scope="session")
def paris_luanda_points():
    from skymesh.ground.places import resolve_places
    from skymesh.network.over_time import GroundPoints

    names, lat, lon, _ = resolve_places(["Paris", "Luanda"])
    return GroundPoints.of(names, lat, lon)


@pytest.fixture(scope="session")
def grid():
    from skymesh.timebase import time_grid

    return time_grid(START, WINDOW_S, 1.0)


@pytest.fixture(scope="session")
def net(shell1, grid, paris_luanda_points):
    """Paris -> Luanda (both directions routed), 40 steps of 1 s; ISLs 25, GSLs 10 Mbit/s."""
    from skymesh.packets.network import packet_network

    return packet_network(
        shell1, grid, paris_luanda_points, [[0, 1]], isl_rate_bps=ISL_BPS, gsl_rate_bps=GSL_BPS
    )


@pytest.fixture(scope="session")
def ping_run(ns3, net):
    from skymesh.packets.engine import simulate

    seen: list[float] = []
    out = simulate(net, ["ping:0.05:Paris->Luanda"], duration_s=WINDOW_S, progress=seen.append)
    out["_progress"] = seen  # type: ignore[assignment]
    return out


@pytest.fixture(scope="session")
def tcp_run(ns3, net):
    from skymesh.packets.engine import simulate

    return simulate(net, ["tcp:newreno:Paris->Luanda"], duration_s=WINDOW_S)


def column(table, name) -> np.ndarray:
    return table.column(name).to_numpy(zero_copy_only=False)
