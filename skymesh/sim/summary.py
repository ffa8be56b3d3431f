"""Headline numbers of an egress run, read back from its time series a column at a time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq


def _pct(values: np.ndarray, q) -> dict:
    if len(values) == 0:
        return {f"p{p}": None for p in q}
    return {f"p{p}": float(v) for p, v in zip(q, np.percentile(values, q))}


def _shares(names: np.ndarray, countries: np.ndarray, total: int) -> list[dict]:
    if total == 0:
        return []
    uniq, counts = np.unique(names, return_counts=True)
    order = np.lexsort((uniq, -counts))
    c_of = dict(zip(names, countries))
    return [dict(name=str(uniq[i]), country=str(c_of[uniq[i]]), share=float(counts[i] / total))
            for i in order]


def summarize_operator(table, prep, label: str) -> dict:
    """Summary of one operator's rows (a pyarrow table of the time series)."""
    t = table.filter(pc.equal(table["operator"].cast("string"), label))
    n_rows = t.num_rows
    served = t["served"].to_numpy(zero_copy_only=False)
    allowed = t["service_allowed"].to_numpy(zero_copy_only=False)
    rtt = t["rtt_ms"].to_numpy(zero_copy_only=False).astype(float)[served]
    term = t["terminal"].to_numpy()
    per_term = np.bincount(term, weights=served, minlength=prep.n_terminals) / \
        np.maximum(1, np.bincount(term, minlength=prep.n_terminals))
    sat_hops = t["sat_hops"].to_numpy(zero_copy_only=False).astype(float)[served]
    isl_hops = t["isl_hops"].to_numpy(zero_copy_only=False).astype(float)[served]
    gw = np.asarray(t["gateway"].cast("string").to_numpy(zero_copy_only=False))[served]
    gwc = np.asarray(t["gateway_country"].cast("string").to_numpy(zero_copy_only=False))[served]
    own = t["exit_in_own_country"].to_numpy(zero_copy_only=False)
    countries = t["country"].cast("string").to_numpy(zero_copy_only=False)
    censoring = sorted(prep.operators[0].policy.censoring)
    own_censored = int(np.sum(own & np.isin(countries, censoring)))
    steps = t["step"].to_numpy()
    n_steps = int(steps.max() + 1) if len(steps) else 0
    per_step = np.bincount(steps, weights=served, minlength=n_steps) / \
        np.maximum(1, np.bincount(steps, minlength=n_steps))
    out = dict(
        operator=label, terminal_steps=int(n_rows),
        service_share=float(served.mean()) if n_rows else 0.0,
        geofenced_share=float((~allowed).mean()) if n_rows else 0.0,
        no_coverage_share=float((allowed & ~served).mean()) if n_rows else 0.0,
        per_terminal_service_share=_pct(per_term, (5, 50, 95)),
        served_fraction_by_step=dict(min=float(per_step.min()) if n_steps else None,
                                     max=float(per_step.max()) if n_steps else None),
        rtt_ms=dict(_pct(rtt, (50, 95, 99)), mean=float(rtt.mean()) if len(rtt) else None,
                    min=float(rtt.min()) if len(rtt) else None,
                    max=float(rtt.max()) if len(rtt) else None),
        sat_hops=dict(mean=float(sat_hops.mean()) if len(sat_hops) else None,
                      max=int(sat_hops.max()) if len(sat_hops) else None),
        isl_hops_histogram={str(int(k)): int(v) for k, v in
                            zip(*np.unique(isl_hops, return_counts=True))},
        gateways=_shares(gw, gwc, len(gw)),
        exit_countries=[dict(country=c["name"], share=c["share"])
                        for c in _shares(gwc, gwc, len(gwc))],
        exits_inside_own_country=int(own.sum()),
        exits_inside_censoring_country=own_censored,
    )
    if "bent_pipe_served" in t.column_names:
        b_served = t["bent_pipe_served"].to_numpy(zero_copy_only=False)
        b_rtt = t["bent_pipe_rtt_ms"].to_numpy(zero_copy_only=False).astype(float)[b_served]
        b_gw = np.asarray(t["bent_pipe_gateway"].cast("string")
                          .to_numpy(zero_copy_only=False))[b_served]
        gw_country = dict(zip(prep.gateway_name, prep.gateway_country))
        out["bent_pipe"] = dict(
            service_share=float(b_served.mean()) if n_rows else 0.0,
            rtt_ms=dict(_pct(b_rtt, (50, 95, 99))),
            gateways=_shares(b_gw, np.array([gw_country[g] for g in b_gw]), len(b_gw)))
    return out


def summarize_run(path: Path, prep) -> dict:
    """Summary of a finished run's ``timeseries.parquet``."""
    cols = ["step", "operator", "terminal", "country", "service_allowed", "served", "rtt_ms",
            "gateway", "gateway_country", "sat_hops", "isl_hops", "exit_in_own_country"]
    schema = pq.read_schema(path)
    cols += [c for c in ("bent_pipe_served", "bent_pipe_rtt_ms", "bent_pipe_gateway")
             if c in schema.names]
    table = pq.read_table(path, columns=cols)
    s = prep.scenario
    return dict(
        scenario=s.name, description=s.description,
        start_utc=prep.grid.start.isoformat().replace("+00:00", "Z"),
        duration_s=s.time.duration_s, step_s=s.time.step_s, steps=len(prep.grid),
        mode=s.routing.mode, terminals=prep.n_terminals,
        terminal_countries=sorted(set(prep.terminal_country.tolist())),
        gateways=len(prep.gateway_name),
        operators=[summarize_operator(table, prep, op.label) for op in prep.operators],
    )
