"""SkyMesh: simulate and plan a Starlink-class LEO broadband network.

Data flows through one folder per stage, each importing only from the
stages before it: ``orbits`` -> ``ground`` -> ``links`` -> ``network`` ->
``policy`` -> ``capacity`` -> ``sim`` -> ``report`` -> ``cli``.
"""

__version__ = "0.1.0"
