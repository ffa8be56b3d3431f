"""SkyMesh: simulate and plan a Starlink-class LEO broadband network.

Data flows through one folder per stage, each importing only from the
stages before it: ``orbits`` -> ``ground`` -> ``links`` -> ``network`` ->
``policy`` -> ``capacity`` -> ``sim`` -> ``report`` -> ``cli``.

The stable Python API is :mod:`skymesh.api`; its names are available here too
(``skymesh.latency(...)``), loaded on first use so that ``import skymesh`` stays light.
Everything else is internal.
"""

__version__ = "0.1.0"

_API_NAMES = (
    "Constellation",
    "Gateways",
    "GatewaysLike",
    "InputError",
    "LatencySeries",
    "Place",
    "Pops",
    "PopsLike",
    "Result",
    "Scenario",
    "ScenarioLike",
    "Shell",
    "SkyMeshError",
    "TimeGrid",
    "TimeLike",
    "gateways",
    "internet_path",
    "latency",
    "load_constellation",
    "load_scenario",
    "map_route",
    "open_run",
    "place",
    "positions_ecef",
    "positions_geodetic",
    "pops",
    "region_capacity",
    "rtt_components",
    "run",
    "satellites_in_view",
    "scenario_cost",
    "time_grid",
    "walker",
)

__all__ = ["__version__", *_API_NAMES]


def __getattr__(name: str):
    if name in _API_NAMES:
        from skymesh import api

        return getattr(api, name)
    raise AttributeError(f"module 'skymesh' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_API_NAMES))
