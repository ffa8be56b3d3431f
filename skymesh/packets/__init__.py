"""Packet-level runs over SkyMesh's time-varying network in ns-3 (its pip wheel, ``ns3``).

:mod:`skymesh.packets.network` turns a window of SkyMesh's network (satellites, ISLs,
ground-satellite links, one-way delays, data rates and forwarding state, step by step) into
plain arrays without ns-3; :mod:`skymesh.packets.engine` builds that network in ns-3 and runs
TCP, UDP and ping flows over it (:mod:`skymesh.packets.flows`); :mod:`skymesh.packets.ns3`
loads ns-3 once per process and compiles the small C++ helpers the engine uses (``cxx/*.h``,
``cxx/*.cc``) through cppyy. :mod:`skymesh.packets.run` is a whole run as ``skymesh packets``
makes it (checks, set-up, cost from :mod:`skymesh.packets.estimate`, ns-3, results folder).
"""
