"""What each headline figure means: one name, one unit, one definition, for every face.

Every face of SkyMesh (the Python API, the CLI's text and ``--json``, a run's tables,
``summary.json`` and ``report.md``, figure titles, the HTML view, the service) names a
headline figure by the name in :data:`FIGURES`, and that name means the same thing
everywhere. The two that used to be confused:

* ``rtt_ms`` is always what a user measures: the round trip from the terminal to its PoP
  (the internet) with the access network (frames, request/grant, round robin),
  processing and queueing added to the propagation; between two places it includes
  both access legs (two user links). It is the sum of the components of
  :func:`skymesh.access.delay.access_components_ms`.
* ``space_rtt_ms`` is always the propagation-only round trip through space at c in
  vacuum (terminal -> satellites -> gateway or the other terminal), the figure the
  vacuum bound compares with. Nothing else is called by it.

Percentiles of a figure take a suffix: ``rtt_ms_p50``, ``space_rtt_ms_p95``, ... (flat
keys, :func:`percentile_summary`); a run's ``summary.json`` nests them
(``"rtt_ms": {"p50": ...}``). docs/figures.md is the same table in prose; a test
checks the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RTT_LABEL = "RTT (user, with access)"
"""Axis and title wording for ``rtt_ms``."""
SPACE_RTT_LABEL = "space RTT (propagation only)"
"""Axis and title wording for ``space_rtt_ms``."""

PERCENTILES = (50, 95, 99)
"""The percentiles every face reports of a distribution (with min, mean and max)."""


@dataclass(frozen=True)
class Figure:
    """One headline figure.

    Attributes
    ----------
    name : str
        The key/column name every face uses (unit in the name).
    unit : str
        Its unit.
    meaning : str
        What it measures and what it includes.
    computed_by : str
        Dotted path of the function that computes it.
    faces : tuple of str
        Where it is shown.
    """

    name: str
    unit: str
    meaning: str
    computed_by: str
    faces: tuple[str, ...]


FIGURES: tuple[Figure, ...] = (
    Figure(
        "rtt_ms",
        "ms",
        "What a user measures: round trip terminal -> serving satellite -> (ISLs) -> gateway "
        "-> fibre -> PoP, with access (frames, request/grant, round robin), processing and "
        "queueing; between two places, both access legs and no PoP. Under a run's "
        '`[access] model = "propagation"` the access components are zero.',
        "skymesh.access.delay.access_components_ms",
        (
            "latency()/internet_path() tables",
            "skymesh latency/access (text, --json)",
            "run timeseries.parquet",
            "summary.json operators[].rtt_ms",
            "report.md",
            "figures titled RTT (user, with access)",
            "view",
            "service",
        ),
    ),
    Figure(
        "rtt_ms_p50",
        "ms",
        "Median of `rtt_ms` over the served samples (also `_min`, `_mean`, `_p95`, `_p99`, "
        "`_max`); equals the median of the table's `rtt_ms` column.",
        "skymesh.metrics.percentile_summary",
        ("latency().summary", "skymesh latency --json", "summary.json (nested p50)"),
    ),
    Figure(
        "space_rtt_ms",
        "ms",
        "Propagation only: round trip through space at c in vacuum (terminal -> satellites "
        "-> gateway, or -> the other place); no fibre, access, processing or queueing. "
        "Never below the great-circle vacuum bound `vacuum_rtt_ms`.",
        "skymesh.network.over_time.path_series",
        (
            "latency()/internet_path() tables",
            "routing study rtt.parquet and summary.json",
            "summary.json rtt_components_ms",
            "figures titled space RTT",
            "packets network",
        ),
    ),
    Figure(
        "space_rtt_ms_p50",
        "ms",
        "Median of `space_rtt_ms` (also `_min`, `_mean`, `_p95`, `_p99`, `_max`).",
        "skymesh.metrics.percentile_summary",
        ("latency().summary", "skymesh latency --json", "routing study summary.json"),
    ),
    Figure(
        "vacuum_rtt_ms",
        "ms",
        "Lower bound: the great-circle distance between two places, there and back, at c "
        "in vacuum.",
        "skymesh.report.plots.vacuum_rtt_ms",
        ("latency().summary", "skymesh latency", "RTT figures (dashed line)"),
    ),
    Figure(
        "bent_pipe_rtt_ms",
        "ms",
        "`rtt_ms` of the same terminal without ISLs (one satellite up and down to a gateway).",
        "skymesh.sim.egress_chunk.compute_chunk",
        ("run timeseries.parquet", "summary.json operators[].bent_pipe", "report.md"),
    ),
    Figure(
        "service_share",
        "fraction 0-1",
        "Share of terminal-steps with a route to the internet (served), over all terminals "
        "and steps of the run.",
        "skymesh.sim.summary.summarize_run",
        ("summary.json operators[]", "report.md", "skymesh run/compare", "service"),
    ),
    Figure(
        "per_terminal_service_share",
        "fraction 0-1",
        "Each terminal's share of steps served; reported as p5 / p50 / p95 over terminals.",
        "skymesh.sim.summary.summarize_run",
        ("summary.json operators[]", "report.md"),
    ),
    Figure(
        "handovers_per_hour",
        "per served terminal-hour",
        "Changes of serving satellite per hour of service of one terminal (all; `forced` "
        "inside a 15 s slot; `replanned` in-slot path re-plans).",
        "skymesh.sim.summary.summarize_run",
        ("summary.json operators[]", "report.md", "skymesh run"),
    ),
    Figure(
        "terminals_at_target",
        "terminals",
        "The capacity headline: how many terminals the region carries at the target rate "
        "at once, demand spread like its terminals (uniform growth), every resource of the "
        "slot counted; over sampled slots the fewest. With its `binding_constraint`.",
        "skymesh.capacity.headline.capacity_headline",
        (
            "skymesh capacity (table, --json headline)",
            "summary.json capacity.headline",
            "report.md",
            "skymesh cost",
            "region_capacity()",
            "Result.capacity",
        ),
    ),
    Figure(
        "per_terminal_mbps",
        "Mbit/s",
        "The capacity headline's per-user figure: the rate every covered terminal gets at "
        "once when each wants as much as it can (alpha x target), per terminal as placed.",
        "skymesh.capacity.headline.capacity_headline",
        ("skymesh capacity", "summary.json capacity.headline", "report.md", "region_capacity()"),
    ),
    Figure(
        "fair_share_mbps",
        "Mbit/s",
        "Secondary to the capacity headline: a covered terminal's max-min fair share when "
        "every terminal of the region demands at once at the busy-hour rate: a planning "
        "share, not the "
        "speed one user measures; reported as p5 / p50 / p95 over terminals and slots.",
        "skymesh.capacity.region.region_capacity",
        ("skymesh capacity", "summary.json capacity", "report.md", "region_capacity()"),
    ),
    Figure(
        "aggregate_gbps",
        "Gbit/s",
        "Sum of the rates assigned to all terminals of the region in one slot: what the "
        "constellation delivers there in total.",
        "skymesh.capacity.region.region_capacity",
        ("skymesh capacity", "summary.json capacity", "report.md", "region_capacity()"),
    ),
)
"""Every headline figure, with its unit, meaning, the function computing it and its faces."""


def figure(name: str) -> Figure:
    """The :class:`Figure` called ``name`` (KeyError if there is none)."""
    for f in FIGURES:
        if f.name == name:
            return f
    raise KeyError(name)


def percentile_summary(name: str, values) -> dict:
    """``{name}_min, _p50, _mean, _p95, _p99, _max`` (ms) of the finite ``values``.

    All None when no value is finite. The one place a flat percentile summary of a
    figure is made, so a summary's ``rtt_ms_p50`` is the median of the column it
    summarises.
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    keys = ("min", "p50", "mean", *(f"p{p}" for p in PERCENTILES[1:]), "max")
    if len(v) == 0:
        return {f"{name}_{k}": None for k in keys}
    pct = dict(zip((f"p{p}" for p in PERCENTILES), np.percentile(v, PERCENTILES)))
    stats = dict(pct, min=v.min(), mean=v.mean(), max=v.max())
    return {f"{name}_{k}": float(stats[k]) for k in keys}
