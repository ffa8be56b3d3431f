"""Headline numbers of an egress run, streamed back from its time series a row group at a time.

Memory stays small whatever the run's length: counts are accumulated per
batch (by terminal, step, gateway, PoP) and RTTs and their components go into
fixed histograms (0.01 ms bins, :class:`skymesh.sim.stats.Histogram`) for
percentiles. Handovers are reported per served terminal-hour (a terminal-step
counts ``step_s`` seconds): all changes of serving satellite, the forced ones
(inside a slot) and the in-slot re-plans of a path (:mod:`skymesh.sim.egress_chunk`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from skymesh.sim.results import iter_batches
from skymesh.sim.stats import Histogram

COMPONENTS = ("space_rtt_ms", "fibre_ms", "access_ms", "processing_ms", "queueing_ms")
"""RTT component columns of a slots-model run (:mod:`skymesh.access.delay`), in stack order."""


def _pct(values: np.ndarray, q) -> dict:
    if len(values) == 0:
        return {f"p{p}": None for p in q}
    return {f"p{p}": float(v) for p, v in zip(q, np.percentile(values, q))}


def _codes(column: pa.Array, lookup: dict) -> np.ndarray:
    """Indices into our own name list for a (dictionary or string) column; -1 for null."""
    if not pa.types.is_dictionary(column.type):
        column = column.dictionary_encode()
    values = column.dictionary.to_pylist()
    mapping = np.array([lookup.get(v, -1) for v in values] + [-1], dtype=np.int64)
    idx = column.indices.to_numpy(zero_copy_only=False)
    idx = np.where(column.is_null().to_numpy(zero_copy_only=False), len(values), idx)
    return mapping[idx.astype(np.int64)]


@dataclass
class _Acc:
    """Running totals of one operator."""

    n_term: int
    n_steps: int
    n_gw: int
    rows: int = 0
    served: int = 0
    allowed: int = 0
    term_served: np.ndarray = field(init=False)
    term_rows: np.ndarray = field(init=False)
    step_served: np.ndarray = field(init=False)
    step_rows: np.ndarray = field(init=False)
    gw_count: np.ndarray = field(init=False)
    bp_gw_count: np.ndarray = field(init=False)
    bp_served: int = 0
    has_bp: bool = False
    own: int = 0
    own_censored: int = 0
    hops_sum: float = 0.0
    hops_max: int = 0
    isl_hist: dict = field(default_factory=dict)
    rtt: Histogram = field(default_factory=Histogram)
    bp_rtt: Histogram = field(default_factory=Histogram)
    parts: dict = field(default_factory=dict)
    pop_count: dict = field(default_factory=dict)
    handovers: int = 0
    forced: int = 0
    replanned: int = 0
    has_handovers: bool = False

    def __post_init__(self):
        self.term_served = np.zeros(self.n_term)
        self.term_rows = np.zeros(self.n_term)
        self.step_served = np.zeros(self.n_steps)
        self.step_rows = np.zeros(self.n_steps)
        self.gw_count = np.zeros(self.n_gw, dtype=np.int64)
        self.bp_gw_count = np.zeros(self.n_gw, dtype=np.int64)


def _np(batch, name):
    return batch.column(name).to_numpy(zero_copy_only=False)


def _add(acc: _Acc, b: pa.RecordBatch, gw_lookup: dict, censoring: np.ndarray) -> None:
    served = _np(b, "served").astype(bool)
    allowed = _np(b, "service_allowed").astype(bool)
    term = _np(b, "terminal")
    step = _np(b, "step")
    acc.rows += len(served)
    acc.served += int(served.sum())
    acc.allowed += int(allowed.sum())
    acc.term_served += np.bincount(term, weights=served, minlength=acc.n_term)
    acc.term_rows += np.bincount(term, minlength=acc.n_term)
    acc.step_served += np.bincount(step, weights=served, minlength=acc.n_steps)
    acc.step_rows += np.bincount(step, minlength=acc.n_steps)
    gw = _codes(b.column("gateway"), gw_lookup)
    acc.gw_count += np.bincount(gw[gw >= 0], minlength=acc.n_gw)
    acc.rtt.add(_np(b, "rtt_ms")[served])
    hops = _np(b, "sat_hops")[served].astype(np.int64)
    acc.hops_sum += float(hops.sum())
    acc.hops_max = max(acc.hops_max, int(hops.max(initial=0)))
    for k, v in zip(*np.unique(_np(b, "isl_hops")[served].astype(np.int64), return_counts=True)):
        acc.isl_hist[int(k)] = acc.isl_hist.get(int(k), 0) + int(v)
    own = _np(b, "exit_in_own_country").astype(bool)
    acc.own += int(own.sum())
    if "gateway_in_own_country" in b.schema.names:
        own = own | _np(b, "gateway_in_own_country").astype(bool)
    country = _codes(b.column("country"), {c: i for i, c in enumerate(censoring)})
    acc.own_censored += int((own & (country >= 0)).sum())
    for name in COMPONENTS:
        if name in b.schema.names:
            acc.parts.setdefault(name, Histogram()).add(_np(b, name)[served].astype(float))
    if "pop" in b.schema.names:
        pops = b.column("pop").cast(pa.string()).to_pylist()
        pcs = b.column("pop_country").cast(pa.string()).to_pylist()
        for key in zip(pops, pcs):
            if key[0] is not None:
                acc.pop_count[key] = acc.pop_count.get(key, 0) + 1
    if "handover" in b.schema.names:
        acc.has_handovers = True
        acc.handovers += int(_np(b, "handover").sum())
        acc.forced += int(_np(b, "forced_handover").sum())
        if "replanned" in b.schema.names:
            acc.replanned += int(_np(b, "replanned").sum())
    if "bent_pipe_served" in b.schema.names:
        acc.has_bp = True
        bs = _np(b, "bent_pipe_served").astype(bool)
        acc.bp_served += int(bs.sum())
        acc.bp_rtt.add(_np(b, "bent_pipe_rtt_ms")[bs])
        bgw = _codes(b.column("bent_pipe_gateway"), gw_lookup)
        acc.bp_gw_count += np.bincount(bgw[bgw >= 0], minlength=acc.n_gw)


def _gateway_shares(counts: np.ndarray, prep) -> list[dict]:
    total = counts.sum()
    if total == 0:
        return []
    order = np.lexsort((prep.gateway_name, -counts))
    return [
        dict(
            name=str(prep.gateway_name[i]),
            country=str(prep.gateway_country[i]),
            share=float(counts[i] / total),
        )
        for i in order
        if counts[i] > 0
    ]


def _finish(acc: _Acc, prep, label: str, step_s: float) -> tuple[dict, dict]:
    rows = max(acc.rows, 1)
    rtt = acc.rtt
    per_term = acc.term_served / np.maximum(acc.term_rows, 1)
    per_step = acc.step_served / np.maximum(acc.step_rows, 1)
    gws = _gateway_shares(acc.gw_count, prep)
    by_country: dict = {}
    for g in gws:
        by_country[g["country"]] = by_country.get(g["country"], 0.0) + g["share"]
    out = dict(
        operator=label,
        terminal_steps=int(acc.rows),
        service_share=acc.served / rows,
        geofenced_share=(acc.rows - acc.allowed) / rows,
        no_coverage_share=(acc.allowed - acc.served) / rows,
        per_terminal_service_share=_pct(per_term, (5, 50, 95)),
        served_fraction_by_step=dict(min=float(per_step.min()), max=float(per_step.max())),
        rtt_ms=dict(
            rtt.percentiles((50, 95, 99)),
            mean=rtt.mean(),
            min=rtt.lo if rtt.n else None,
            max=rtt.hi if rtt.n else None,
        ),
        sat_hops=dict(
            mean=acc.hops_sum / acc.served if acc.served else None,
            max=acc.hops_max if acc.served else None,
        ),
        isl_hops_histogram={str(k): v for k, v in sorted(acc.isl_hist.items())},
        gateways=gws,
        exit_countries=[
            dict(country=c, share=s)
            for c, s in sorted(by_country.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        exits_inside_own_country=acc.own,
        exits_inside_censoring_country=acc.own_censored,
    )
    if acc.parts:
        out["rtt_components_ms"] = {
            name: dict(p50=h.percentiles((50,))["p50"], mean=h.mean())
            for name, h in ((n, acc.parts[n]) for n in COMPONENTS if n in acc.parts)
        }
    if acc.pop_count:
        total = sum(acc.pop_count.values())
        out["pops"] = [
            dict(name=n, country=c, share=v / total)
            for (n, c), v in sorted(acc.pop_count.items(), key=lambda kv: (-kv[1], kv[0]))
        ]
    if acc.has_handovers:
        hours = acc.served * step_s / 3600.0

        def rate(x):
            return x / hours if hours > 0 else None

        out["handovers_per_hour"] = dict(
            all=rate(acc.handovers),
            forced=rate(acc.forced),
            replanned=rate(acc.replanned),
            count=acc.handovers,
            forced_count=acc.forced,
        )
    if acc.has_bp:
        out["bent_pipe"] = dict(
            service_share=acc.bp_served / rows,
            rtt_ms=acc.bp_rtt.percentiles((50, 95, 99)),
            gateways=_gateway_shares(acc.bp_gw_count, prep),
        )
    return out, dict(
        rtt_ms=rtt.quantile_sample(),
        served_by_step=per_step,
        components=out.get("rtt_components_ms"),
    )


def summarize_run(path: Path, prep) -> tuple[dict, dict]:
    """Summary of a finished run's ``timeseries.parquet``, and per-operator series for plots.

    Returns ``(summary, series)``; ``series[label]`` holds ``rtt_ms`` (a
    2,001-value sample following the served RTTs' distribution, for CDF plots),
    ``served_by_step`` (fraction of terminals served per step) and ``components``
    (median and mean of each RTT component, or None).
    """
    labels = [op.label for op in prep.operators]
    accs = {lab: _Acc(prep.n_terminals, len(prep.grid), len(prep.gateway_name)) for lab in labels}
    gw_lookup = {str(n): i for i, n in enumerate(prep.gateway_name)}
    censoring = np.array(sorted(prep.operators[0].policy.censoring), dtype=object)
    op_lookup = {lab: i for i, lab in enumerate(labels)}
    for batch in iter_batches(path):
        op = _codes(batch.column("operator"), op_lookup)
        for i, lab in enumerate(labels):
            mask = op == i
            if mask.any():
                _add(accs[lab], batch.filter(pa.array(mask)), gw_lookup, censoring)
    s = prep.scenario
    ops, series = [], {}
    for lab in labels:
        summary, extra = _finish(accs[lab], prep, lab, s.time.step_s)
        ops.append(summary)
        series[lab] = extra
    summary = dict(
        scenario=s.name,
        description=s.description,
        start_utc=prep.grid.start.isoformat().replace("+00:00", "Z"),
        duration_s=s.time.duration_s,
        step_s=s.time.step_s,
        steps=len(prep.grid),
        mode=s.routing.mode,
        access_model=s.access.model,
        serving_policy=s.access.serving if s.access.model == "slots" else None,
        terminals=prep.n_terminals,
        terminal_countries=sorted(set(prep.terminal_country.tolist())),
        gateways=len(prep.gateway_name),
        operators=ops,
    )
    return summary, series
