"""What a job will cost before it starts: steps x satellites x ground points, memory, disk, time.

Nothing here propagates or routes: the sizes come from the scenario (or the
command's flags) and the constellation's satellite count, so an estimate takes
well under a second whatever the job's length. The CLI compares an estimate
with the machine (:func:`skymesh.cli.jobs.gate`) and refuses what cannot fit.

Memory figures are bytes of the arrays the job holds at once, from their
shapes and dtypes (float64 = 8 B): satellite positions are 3 float64 per
satellite-step (24 B); ground-satellite links are held per routing block, for
the satellites a point can see (a coverage cap from the orbit altitude and the
elevation mask, with a margin for inclined shells crowding their latitudes);
a routing study's shortest-path trees are distances and predecessors (2 x 8 B)
per ground point x node x step of a block; the time grid is one float64 per
step. Result rows are streamed to disk per chunk by ``run``, but
held whole by ``latency`` (a pyarrow table: ~102 B per row, measured with
``Table.nbytes`` on a Paris-Luanda series; times three for the block list,
the concatenation and the sort that build it).

Disk and time are rates, not physics: they were measured on the development
machine (2 shared x86-64 cores, 2026-12; SkyMesh's own runs of iran-2022,
starlink-100-cities-24h and ``latency`` over shell 1 and the real fleet) and
are meant to be right to a factor of about two, which is all a go/no-go needs.
Run times are CPU seconds (user + sys) of short windows, a quiet machine's wall time;
a loaded machine takes longer. benchmarks/estimate_measurements.toml holds measured
wall times of every built-in, and tests/sim/test_estimate_measured.py holds the
estimates within a factor of two of them.
A faster machine only makes the "slow" question err on the side of asking.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SLOW_S = 600.0
"""A job estimated to take longer than this (s) needs ``--yes``."""

POSITION_BYTES = 24.0
"""Bytes per satellite-step of positions (3 x float64 ECEF, km)."""
LINK_BYTES = 120.0
"""Bytes per ground-satellite link of one step while a block is routed: visible_pairs' five
arrays (3 x int64 + 2 x float64 = 40 B) and the graph edges built from them (source,
target, weight, then their CSR copy: ~80 B)."""
EARTH_RADIUS_KM = 6371.0
"""Mean Earth radius (IUGG), for the coverage cap of a satellite."""
DENSITY_MARGIN = 3.0
"""Satellites in view of a point, relative to a uniform spread: a circular orbit of
inclination i spends a share cos(lat) / (pi sqrt(sin^2 i - sin^2 lat)) of its time per unit
latitude, i.e. an areal density 2 / (pi sqrt(sin^2 i - sin^2 lat)) times the mean, which is
0.8 at the equator and 1.7-2.8 at 45-50 deg for a 53 deg shell; 3 bounds it away from the
singular latitude itself, averaged over a coverage cap."""
TLE_ALTITUDE_KM = 1200.0
"""Altitude assumed for a satellite whose mean motion cannot be read (OneWeb's 1,200 km:
the highest LEO broadband shell, so the most satellites in view)."""
ROUTE_BLOCK_STEPS = 20
"""Steps routed together in one block graph (``egress_chunk.ROUTE_STEPS``)."""
LATENCY_ROW_BYTES = 3 * 102.0
"""Memory per step-pair row of ``latency``'s table (Table.nbytes ~102 B, times 3 for
the parts, the concatenation and the sort; measured)."""
EGRESS_ROW_MEMORY_BYTES = 200.0
"""Memory per row of an egress chunk while it is built (~60 B of Arrow columns, per-step
arrays and their temporaries)."""
ROUTING_ROW_MEMORY_BYTES = 100.0
"""Memory per step-pair row of a routing chunk (rtt and forwarding tables with temporaries)."""

EGRESS_DISK_BYTES_PER_ROW = 20.0
"""Disk per egress row (terminal-step-operator), zstd Parquet: 20 B/row measured on a fully
served 400-terminal run; runs with service off compress to under 1 B/row (an upper value)."""
ROUTING_DISK_BYTES_PER_PAIR_STEP = 10.0
"""Disk of ``rtt.parquet`` per pair-step (measured 8-10 B, zstd)."""
ROUTING_DISK_BYTES_PER_NODE_SOURCE_STEP = 0.2
"""Disk of ``fstate_changes.parquet`` per satellite x destination x step (changes only; measured
0.1-0.2 B on the real fleet at 10 s steps)."""
LATENCY_DISK_BYTES_PER_ROW = 60.0
"""Disk per row of a ``latency --out`` table (CSV is the largest: ~60 B per row with its path)."""
PART_OVERHEAD_BYTES = 16384.0
"""Per part file: Parquet footer with every column's schema and statistics (measured ~8 KB
for an egress part of ~17 columns; twice that leaves room for added columns), bytes."""

EGRESS_S_PER_SAT_STEP = 1.2e-6
"""Egress run time per satellite-step (propagation, ISL lengths, visibility), s: iran-2022's
CPU time per step (7.3 ms, the difference of its 60 s and 600 s windows: 4.5 and 8.5 CPU s)
less its terminal part (:data:`EGRESS_S_PER_TERMINAL2_STEP` x 1,000^2), over 4,408 satellites.
Measured 2026-12-08 (see benchmarks/estimate_measurements.toml)."""
EGRESS_S_PER_TERMINAL_STEP = 0.0
"""Egress run time per terminal-step and operator that grows linearly, s: the CPU time per
step measured at 200 (taiwan-geofence), 1,000 (iran-2022) and 20,000 terminals (ukraine-2022)
is carried by the satellite and squared terms alone, so none."""
EGRESS_S_PER_TERMINAL2_STEP = 2.03e-9
"""Egress run time per step and operator that grows with the square of the terminals, s:
ukraine-2022's CPU time per step (0.816 s at 20,000 terminals, its 10 s and 60 s windows:
6.1 and 10.2 CPU s) less iran-2022's (7.3 ms at 1,000), over 20,000^2 - 1,000^2."""
CAPACITY_S_PER_TERMINAL_SAMPLE = 2e-4
"""The capacity pass (beams, max-min fair rates), per terminal and sampled instant: 2.6 s for
5,000 terminals x 3 samples of ukraine-2022."""
ROUTING_S_PER_SAT_SOURCE_STEP = 5.9e-8
"""Routing-study time per satellite x ground point x step (one Dijkstra per ground point), s:
starlink-100-cities-24h's CPU time per step (54 ms, the difference of its 60 s and 1,200 s
windows: 5.7 and 11.8 CPU s) over 9,042 satellites x 100 cities. Measured 2026-12-08."""
LATENCY_S_PER_SAT_STEP = 1.6e-6
"""``latency`` time per satellite-step for one pair (measured 1.2-2.6 ms per step over
shell 1's 1,584 satellites)."""
FIXED_S = 5.0
"""Start-up, summary, figures and report of a run (s; 4-7 s measured on small runs: the
intercepts of the two-window CPU times above were 3.7-5.3 s on 2026-12-08)."""
POP_ORDER_BYTES = 48.0
"""Memory per terminal x PoP of an egress run with PoPs: each terminal's PoPs in order of
preference (great-circle km and own-country flag, the sort's keys and its int64 result)."""
POP_BLOCK_BYTES = 2.0
"""Memory per terminal x PoP x step of a routing block (which PoPs are open, sorted per
terminal: bool, and its gather)."""
CAPACITY_LINK_BYTES = 256.0
"""Memory of the capacity model per ground point x satellite in view (:func:`visible_per_point`)
at its one instant: candidate and visible pairs with their ranges and angles, the beam
pairs and the backhaul built on them. Measured: ``skymesh capacity US`` over shell 1 (25.8
in view by this estimate) grew by 300 MB from 2,000 to 200,000 probes (58 B each), over the
real fleet (127 in view) past 6 GiB at 200,000 probes (250 B each); the larger is used."""
CAPACITY_S_PER_POINT_SAMPLE = CAPACITY_S_PER_TERMINAL_SAMPLE
"""The capacity model's time per ground point (probe or terminal) and sampled instant, s."""
CAPACITY_FIXED_S = 20.0
"""Start-up of ``skymesh capacity``: region, constellation, gateways and the LP (s; 19 s
measured for 2,000 probes over shell 1)."""


@dataclass(frozen=True)
class JobEstimate:
    """The cost of one job, before it starts."""

    what: str
    steps: int
    satellites: int
    ground_points: int
    memory_bytes: float
    disk_bytes: float
    seconds: float
    chunks: int = 1
    steps_word: str = "steps"

    def describe(self) -> str:
        """One phrase: the job's size and its estimated memory, disk and time."""
        disk = f", {human_bytes(self.disk_bytes)} of disk" if self.disk_bytes else ""
        chunks = f" in {self.chunks:,} chunks" if self.chunks > 1 else ""
        return (
            f"{self.steps:,} {self.steps_word} x {self.satellites:,} satellites x "
            f"{self.ground_points:,} ground points{chunks}: about "
            f"{human_bytes(self.memory_bytes)} of memory{disk} and "
            f"{human_seconds(self.seconds)}"
        )


def human_bytes(n: float) -> str:
    """``n`` bytes as KiB/MiB/GiB/TiB with three significant figures."""
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:,.3g} {unit}" if n / size < 1000 else f"{n / size:,.0f} {unit}"
    return f"{n:.0f} B"


def human_seconds(s: float) -> str:
    """A duration in s, min, h or days, rounded for people."""
    if not math.isfinite(s):
        return "forever"
    if s < 90:
        return f"{s:.0f} s"
    if s < 5400:
        return f"{s / 60:.0f} min"
    if s < 3 * 86400:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:,.0f} days"


def n_steps(duration_s: float, step_s: float) -> int:
    """Instants of :func:`skymesh.timebase.time_grid` for this window (end included)."""
    return int(np.floor(duration_s / step_s + 1e-9)) + 1


def estimate_path_series(
    steps: int,
    n_sats: int,
    n_endpoints: int,
    n_pairs: int = 1,
    *,
    what: str = "this job",
    to_disk: bool = False,
) -> JobEstimate:
    """Cost of :func:`skymesh.network.over_time.path_series` (``latency``, ``plot rtt``)."""
    from skymesh.network.over_time import _CHUNK_ELEMENTS

    chunk = max(1, min(steps, _CHUNK_ELEMENTS // max(1, n_sats)))
    memory = (
        8.0 * steps
        + POSITION_BYTES * chunk * n_sats
        + LINK_BYTES * ROUTE_BLOCK_STEPS * n_sats * n_endpoints
        + LATENCY_ROW_BYTES * steps * n_pairs
    )
    disk = LATENCY_DISK_BYTES_PER_ROW * steps * n_pairs if to_disk else 0.0
    seconds = LATENCY_S_PER_SAT_STEP * steps * n_sats * n_pairs
    return JobEstimate(
        what, steps, n_sats, n_endpoints, memory, disk, seconds, chunks=math.ceil(steps / chunk)
    )


def _count_ground(loaded) -> tuple[int, int]:
    """(terminals, gateways) of a scenario, read from its spec and files (no sampling)."""
    s = loaded.scenario
    terminals = 0
    for group in s.terminals:
        if group.points is not None:
            terminals += len(group.points)
        elif group.count is not None:
            terminals += group.count
        elif group.largest is not None:
            terminals += group.largest
        else:
            from skymesh.ground.places import load_hypatia_cities

            terminals += len(load_hypatia_cities(loaded.resolve(group.file))[1])
    gateways = len(s.gateways)
    if s.gateways_file:
        from skymesh.ground.gateways import load_gateways

        gateways += len(load_gateways(loaded.resolve(s.gateways_file)))
    return terminals, gateways


def _count_pops(loaded) -> int:
    """PoPs of an egress scenario, as :func:`skymesh.sim.prepare.prepare` gathers them: its
    ``[[pops]]`` and ``pops_file``, else the PoP rows of its ``gateways_file``."""
    s = loaded.scenario
    if s.study != "egress":
        return 0
    n = len(s.pops)
    if s.pops_file:
        from skymesh.ground.pops import load_pops

        n += len(load_pops(loaded.resolve(s.pops_file)))
    if not n and s.gateways_file:
        import warnings

        from skymesh.ground.gateways import load_gateways

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            listed = load_gateways(loaded.resolve(s.gateways_file), include_pops=True)
        n = int(np.sum(np.asarray(listed.type) == "pop"))
    return n


def cap_fraction(altitude_km, min_elevation_deg: float) -> np.ndarray:
    """Share of the Earth's surface that sees a satellite at ``altitude_km`` above
    ``min_elevation_deg``: a spherical cap of Earth-central half-angle
    ``acos(R cos e / (R + h)) - e``, area share ``(1 - cos half-angle) / 2``."""
    e = np.deg2rad(min_elevation_deg)
    r = EARTH_RADIUS_KM + np.asarray(altitude_km, dtype=float)
    half = np.arccos(np.clip(EARTH_RADIUS_KM * np.cos(e) / r, -1.0, 1.0)) - e
    return (1.0 - np.cos(np.maximum(half, 0.0))) / 2.0


def _tle_altitudes_km(path) -> np.ndarray:
    """Altitudes (km) of a TLE file's element sets, from line 2's mean motion (rev/day),
    without parsing the rest: a = (mu / n^2)^(1/3), WGS-84 mu = 398,600.4418 km^3/s^2."""
    from skymesh.inputs import read_input_bytes

    mu = 398_600.4418
    alts = []
    # the checked reader: a FIFO or /dev/zero named as the TLE file is refused, not read
    text = read_input_bytes(path, "TLE file").decode("ascii", errors="replace")
    for line in text.splitlines():
        if line.startswith("2 ") and len(line) >= 63:
            try:
                n = float(line[52:63]) * 2.0 * np.pi / 86400.0
                alts.append((mu / n**2) ** (1.0 / 3.0) - 6378.137)
            except (ValueError, ZeroDivisionError, OverflowError):
                alts.append(TLE_ALTITUDE_KM)
    return np.asarray(alts, dtype=float)


def _sats(loaded, preset, file) -> np.ndarray:
    """Altitude (km) of every satellite of a constellation, without building it."""
    from skymesh.orbits.presets import TLE_PRESETS, WALKER_PRESETS

    key = preset.lower() if preset is not None else None
    if key in WALKER_PRESETS:
        return np.concatenate(
            [np.full(sh.size, sh.altitude_km) for sh in WALKER_PRESETS[key]["shells"]]
        )
    if key in TLE_PRESETS:
        from skymesh.orbits.snapshots import newest_snapshot

        return _tle_altitudes_km(newest_snapshot(TLE_PRESETS[key]["group"]))
    return _tle_altitudes_km(loaded.resolve(file))


def visible_per_point(altitudes_km, min_elevation_deg: float) -> float:
    """Satellites a ground point sees at once, an upper estimate (see :data:`DENSITY_MARGIN`)."""
    n = len(altitudes_km)
    return float(min(n, DENSITY_MARGIN * cap_fraction(altitudes_km, min_elevation_deg).sum()))


def estimate_run(loaded, *, scheduler: str = "sync", workers: int | None = None) -> JobEstimate:
    """Cost of ``skymesh run`` of ``loaded`` (a :class:`~skymesh.sim.scenario.LoadedScenario`).

    With ``scheduler="processes"`` the chunks run side by side on ``workers`` processes
    (default: every core), so the time of the chunks is divided by the workers (the fixed
    start-up and report are not)."""
    s = loaded.scenario
    steps = n_steps(s.time.duration_s, s.time.step_s)
    alts = [_sats(loaded, s.constellation.preset, s.constellation.file)]
    if s.second_operator is not None:
        alts.append(_sats(loaded, s.second_operator.preset, s.second_operator.file))
    sats = [len(a) for a in alts]
    in_view = max(visible_per_point(a, s.routing.min_elevation_deg) for a in alts)
    terminals, gateways = _count_ground(loaded)
    routing = s.study == "routing"
    from skymesh.sim.run import default_chunk_steps

    pairs = terminals * (terminals - 1) // 2
    rows_per_step = pairs if routing else terminals * len(sats)
    chunk = s.output.chunk_steps or default_chunk_steps(rows_per_step, max(sats))
    chunk = min(chunk, steps)
    chunks = math.ceil(steps / chunk)
    block = min(chunk, ROUTE_BLOCK_STEPS)
    ground = terminals + gateways
    big = max(sats)
    memory = (
        8.0 * steps
        + POSITION_BYTES * chunk * big
        + LINK_BYTES * block * in_view * ground
        + (ROUTING_ROW_MEMORY_BYTES if routing else EGRESS_ROW_MEMORY_BYTES) * chunk * rows_per_step
    )
    if routing:
        memory += 16.0 * block * terminals * (big + terminals)
    else:  # each terminal's PoPs in order of preference, and their state per block step
        pops = _count_pops(loaded)
        memory += (POP_ORDER_BYTES + POP_BLOCK_BYTES * block) * terminals * pops
    if s.capacity is not None and "capacity" in s.metrics.wanted and not routing:
        memory = max(memory, _capacity_memory(terminals + gateways, in_view, big))
    if routing:
        disk = steps * (
            ROUTING_DISK_BYTES_PER_PAIR_STEP * pairs
            + ROUTING_DISK_BYTES_PER_NODE_SOURCE_STEP * big * terminals
        )
        seconds = ROUTING_S_PER_SAT_SOURCE_STEP * steps * big * terminals
        parts = 2 * chunks
    else:
        disk = EGRESS_DISK_BYTES_PER_ROW * steps * rows_per_step
        seconds = steps * sum(
            EGRESS_S_PER_SAT_STEP * n
            + EGRESS_S_PER_TERMINAL_STEP * terminals
            + EGRESS_S_PER_TERMINAL2_STEP * terminals**2
            for n in sats
        )
        if s.capacity is not None and "capacity" in s.metrics.wanted:
            seconds += CAPACITY_S_PER_TERMINAL_SAMPLE * terminals * s.capacity.samples
        parts = chunks
    disk += PART_OVERHEAD_BYTES * parts
    if scheduler == "processes":
        import os

        seconds /= max(1, min(workers or os.cpu_count() or 1, chunks))
    return JobEstimate(
        f"run {s.name}", steps, sum(sats), ground, memory, disk, seconds + FIXED_S, chunks=chunks
    )


def estimate_sweep(loaded_runs) -> JobEstimate:
    """Cost of a sweep: the runs one after another (memory of the largest, disk and time summed)."""
    each = [estimate_run(x) for x in loaded_runs]
    return JobEstimate(
        f"sweep of {len(each)} runs",
        sum(e.steps for e in each),
        max(e.satellites for e in each),
        max(e.ground_points for e in each),
        max(e.memory_bytes for e in each),
        sum(e.disk_bytes for e in each),
        sum(e.seconds for e in each),
        chunks=sum(e.chunks for e in each),
    )


def _capacity_memory(points: int, in_view: float, n_sats: int) -> float:
    return CAPACITY_LINK_BYTES * points * in_view + POSITION_BYTES * n_sats


def constellation_altitudes(constellation: str) -> np.ndarray | None:
    """Altitude (km) of every satellite of a preset name or TLE file (mean motion only);
    None when it is neither a preset nor a regular file (the loader then says why)."""
    import os
    import stat
    from pathlib import Path

    from skymesh.orbits.presets import TLE_PRESETS, WALKER_PRESETS

    if constellation.lower() in WALKER_PRESETS or constellation.lower() in TLE_PRESETS:
        return _sats(None, constellation, None)
    path = Path(constellation).expanduser()
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
    except OSError:
        return None
    return _tle_altitudes_km(path)


def estimate_capacity(
    points: int,
    altitudes_km,
    min_elevation_deg: float,
    *,
    gateways: int = 0,
    samples: int = 1,
    variants: int = 1,
    what: str = "capacity",
) -> JobEstimate:
    """Cost of the capacity model (``skymesh capacity``, ``cost``'s ``[capacity]``): ``points``
    probes or terminals at ``samples`` instants, each solved ``variants`` times (clear sky and
    rain). Memory is that of one instant (they are solved one after another)."""
    n = len(altitudes_km)
    in_view = visible_per_point(altitudes_km, min_elevation_deg)
    memory = _capacity_memory(points + gateways, in_view, n)
    seconds = CAPACITY_FIXED_S + CAPACITY_S_PER_POINT_SAMPLE * points * samples * variants
    return JobEstimate(
        what, samples, n, points + gateways, memory, 0.0, seconds, steps_word="instants"
    )


def estimate_cost(loaded) -> JobEstimate:
    """Cost of ``skymesh cost`` of ``loaded``: its ``[capacity]`` model over the scenario's
    terminals at ``capacity.samples`` instants (the bill alone is instant)."""
    s = loaded.scenario
    terminals, gateways = _count_ground(loaded)
    alts = _sats(loaded, s.constellation.preset, s.constellation.file)
    samples = s.capacity.samples if s.capacity is not None else 0
    if not samples:
        return JobEstimate(f"cost {s.name}", 0, len(alts), terminals + gateways, 0.0, 0.0, 0.0)
    variants = 2 if s.rain else 1
    return estimate_capacity(
        terminals,
        alts,
        s.routing.min_elevation_deg,
        gateways=gateways,
        samples=samples,
        variants=variants,
        what=f"cost {s.name} (capacity model)",
    )
