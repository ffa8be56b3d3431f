"""What a job will cost before it starts: steps x satellites x ground points, memory, disk, time.

Nothing here propagates or routes: the sizes come from the scenario (or the
command's flags) and the constellation's satellite count, so an estimate takes
well under a second whatever the job's length. The CLI compares an estimate
with the machine (:func:`skymesh.cli.jobs.gate`) and refuses what cannot fit.

Memory figures are bytes of the arrays the job holds at once, from their
shapes and dtypes (float64 = 8 B): satellite positions are 3 float64 per
satellite-step (24 B); look angles (elevation, azimuth, range) are 3 float64
per ground point x satellite x step of one routing block; the time grid is one
float64 per step. Result rows are streamed to disk per chunk by ``run``, but
held whole by ``latency`` (a pyarrow table: ~102 B per row, measured with
``Table.nbytes`` on a Paris-Luanda series; times three for the block list,
the concatenation and the sort that build it).

Disk and time are rates, not physics: they were measured on the development
machine (2 shared x86-64 cores, 2026-12; SkyMesh's own runs of iran-2022,
starlink-100-cities-24h and ``latency`` over shell 1 and the real fleet) and
are meant to be right to a factor of about two, which is all a go/no-go needs.
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
LOOK_ANGLE_BYTES = 24.0
"""Bytes per ground point x satellite x step of look angles (3 x float64)."""
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

EGRESS_S_PER_SAT_STEP = 2.7e-6
"""Egress run time per satellite-step (propagation, ISL lengths, visibility; measured 2.7 us
on iran-2022 with 100 terminals, 4,408 satellites)."""
EGRESS_S_PER_TERMINAL_STEP = 1.5e-5
"""Egress run time per terminal-step and operator (routing, with the bent-pipe comparison;
measured 15 us going from 100 to 1,000 terminals of iran-2022)."""
ROUTING_S_PER_SAT_SOURCE_STEP = 2.1e-7
"""Routing-study time per satellite x ground point x step (one Dijkstra per ground point;
measured on starlink-100-cities-24h, 9,042 satellites, 30 and 100 cities)."""
LATENCY_S_PER_SAT_STEP = 1.6e-6
"""``latency`` time per satellite-step for one pair (measured 1.2-2.6 ms per step over
shell 1's 1,584 satellites)."""
FIXED_S = 1.0
"""Start-up, summary and report of a run (s)."""


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

    def describe(self) -> str:
        """One phrase: the job's size and its estimated memory, disk and time."""
        disk = f", {human_bytes(self.disk_bytes)} of disk" if self.disk_bytes else ""
        chunks = f" in {self.chunks:,} chunks" if self.chunks > 1 else ""
        return (f"{self.steps:,} steps x {self.satellites:,} satellites x "
                f"{self.ground_points:,} ground points{chunks}: about "
                f"{human_bytes(self.memory_bytes)} of memory{disk} and "
                f"{human_seconds(self.seconds)}")


def human_bytes(n: float) -> str:
    """``n`` bytes as KiB/MiB/GiB/TiB with three significant figures."""
    for unit, size in (("TiB", 2 ** 40), ("GiB", 2 ** 30), ("MiB", 2 ** 20), ("KiB", 2 ** 10)):
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


def estimate_path_series(steps: int, n_sats: int, n_endpoints: int, n_pairs: int = 1, *,
                         what: str = "this job", to_disk: bool = False) -> JobEstimate:
    """Cost of :func:`skymesh.network.over_time.path_series` (``latency``, ``plot rtt``)."""
    from skymesh.network.over_time import _CHUNK_ELEMENTS
    chunk = max(1, min(steps, _CHUNK_ELEMENTS // max(1, n_sats)))
    memory = (8.0 * steps + POSITION_BYTES * chunk * n_sats
              + LOOK_ANGLE_BYTES * ROUTE_BLOCK_STEPS * n_sats * n_endpoints
              + LATENCY_ROW_BYTES * steps * n_pairs)
    disk = LATENCY_DISK_BYTES_PER_ROW * steps * n_pairs if to_disk else 0.0
    seconds = LATENCY_S_PER_SAT_STEP * steps * n_sats * n_pairs
    return JobEstimate(what, steps, n_sats, n_endpoints, memory, disk, seconds,
                       chunks=math.ceil(steps / chunk))


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


def _n_sats(loaded, preset, file, skip_bad=False) -> int:
    from skymesh.orbits.presets import WALKER_PRESETS, load_constellation
    if preset is not None and preset.lower() in WALKER_PRESETS:
        return int(sum(sh.size for sh in WALKER_PRESETS[preset.lower()]["shells"]))
    source = preset if preset is not None else str(loaded.resolve(file))
    return len(load_constellation(source, skip_bad=skip_bad))


def estimate_run(loaded) -> JobEstimate:
    """Cost of ``skymesh run`` of ``loaded`` (a :class:`~skymesh.sim.scenario.LoadedScenario`)."""
    s = loaded.scenario
    steps = n_steps(s.time.duration_s, s.time.step_s)
    sats = [_n_sats(loaded, s.constellation.preset, s.constellation.file,
                    s.constellation.skip_bad)]
    if s.second_operator is not None:
        sats.append(_n_sats(loaded, s.second_operator.preset, s.second_operator.file))
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
    memory = (8.0 * steps + POSITION_BYTES * chunk * big
              + LOOK_ANGLE_BYTES * block * big * ground
              + (ROUTING_ROW_MEMORY_BYTES if routing else EGRESS_ROW_MEMORY_BYTES)
              * chunk * rows_per_step)
    if routing:
        disk = steps * (ROUTING_DISK_BYTES_PER_PAIR_STEP * pairs
                        + ROUTING_DISK_BYTES_PER_NODE_SOURCE_STEP * big * terminals)
        seconds = ROUTING_S_PER_SAT_SOURCE_STEP * steps * big * terminals
        parts = 2 * chunks
    else:
        disk = EGRESS_DISK_BYTES_PER_ROW * steps * rows_per_step
        seconds = steps * sum(EGRESS_S_PER_SAT_STEP * n + EGRESS_S_PER_TERMINAL_STEP * terminals
                              for n in sats)
        parts = chunks
    disk += PART_OVERHEAD_BYTES * parts
    return JobEstimate(f"run {s.name}", steps, sum(sats), ground, memory, disk,
                       seconds + FIXED_S, chunks=chunks)


def estimate_sweep(loaded_runs) -> JobEstimate:
    """Cost of a sweep: the runs one after another (memory of the largest, disk and time summed)."""
    each = [estimate_run(x) for x in loaded_runs]
    return JobEstimate(f"sweep of {len(each)} runs", sum(e.steps for e in each),
                       max(e.satellites for e in each), max(e.ground_points for e in each),
                       max(e.memory_bytes for e in each), sum(e.disk_bytes for e in each),
                       sum(e.seconds for e in each), chunks=sum(e.chunks for e in each))
