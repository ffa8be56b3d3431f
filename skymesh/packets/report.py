"""The summary and ``report.md`` of a packet-level run (``skymesh packets``).

:func:`summarize` turns the tables of :func:`skymesh.packets.engine.simulate`
into a JSON-ready dict: per flow its goodput (Mbit/s), RTT (ms) against
SkyMesh's own path RTT for the pair, packets sent, received and lost, the
losses, retransmits and reorderings the engine saw, and the path changes of
the pair in the window; the engine's own figures (wall time, packets per
second, peak memory). :func:`write_packets_report` writes the same as a
Markdown page with the run's figures, atomically.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from skymesh.files import write_text_atomic

EVENT_KINDS = ("loss", "retransmit", "reorder")


def _num(x):
    """A float for JSON (None for NaN / missing)."""
    if x is None:
        return None
    x = float(x)
    return x if np.isfinite(x) else None


def _pair_path(path: pa.Table | None, pair: str) -> dict:
    """SkyMesh's space RTT (ms) min / mean / max (``rtt``), a scenario run's ``rtt_ms`` the same
    way (``user_rtt``, None elsewhere), and the path changes for ``pair`` in the window."""
    if path is None or path.num_rows == 0:
        return dict(rtt=None, user_rtt=None, changes=0, hops=None)
    rows = path.filter(pc.equal(path.column("pair"), pa.scalar(pair)))
    if rows.num_rows == 0:
        return dict(rtt=None, user_rtt=None, changes=0, hops=None)
    t = rows.column("t_s").to_numpy(zero_copy_only=False).astype(float)
    rtt = rows.column("space_rtt_ms").to_numpy(zero_copy_only=False).astype(float)
    changed = rows.column("changed").to_numpy(zero_copy_only=False).astype(bool)
    changed[np.argmin(t)] = False  # the first step has no step before it
    hops = rows.column("hops").to_numpy(zero_copy_only=False).astype(float)

    def spread(x):
        finite = x[np.isfinite(x)]
        if not len(finite):
            return None
        return dict(min=float(finite.min()), mean=float(finite.mean()), max=float(finite.max()))

    user = None
    if "rtt_ms" in rows.column_names:  # a scenario's network: the run's rtt_ms, with access
        user = spread(rows.column("rtt_ms").to_numpy(zero_copy_only=False).astype(float))
    return dict(
        rtt=spread(rtt),
        user_rtt=user,
        changes=int(changed.sum()),
        hops=float(np.nanmean(hops)) if len(hops) else None,
        reachable_share=float(np.isfinite(rtt).mean()),
    )


def _event_counts(events: pa.Table | None) -> dict[int, dict[str, int]]:
    """{flow_id: {kind: count}} over the loss / retransmit / reorder events."""
    out: dict[int, dict[str, int]] = {}
    if events is None or events.num_rows == 0:
        return out
    fid = events.column("flow_id").to_numpy(zero_copy_only=False)
    kind = events.column("kind").to_numpy(zero_copy_only=False).astype(str)
    for k in EVENT_KINDS:
        ids, counts = np.unique(fid[kind == k], return_counts=True)
        for i, c in zip(ids, counts):
            out.setdefault(int(i), {})[k] = int(c)
    return out


def summarize(tables: dict, meta: dict | None = None) -> dict:
    """The headline numbers of a packet run, JSON-ready (see the module docstring)."""
    events = tables.get("events")
    counts = _event_counts(events)
    flows = []
    for row in tables["flows"].to_pylist():
        fid = int(row["flow_id"])
        pair = f"{row['src']}->{row['dst']}"
        p = _pair_path(tables.get("path"), pair)
        c = counts.get(fid, {})
        tx = int(row["tx_packets"] or 0)
        mean_rtt = _num(row.get("ns3_mean_rtt_ms"))
        sky = p["rtt"]
        flows.append(
            dict(
                flow_id=fid,
                kind=row["kind"],
                cc=row.get("cc"),
                src=row["src"],
                dst=row["dst"],
                start_s=_num(row["start_s"]),
                stop_s=_num(row["stop_s"]),
                goodput_mbps=_num(row.get("goodput_mbps")),
                ns3_mean_rtt_ms=mean_rtt,
                skymesh_space_rtt_ms=sky,
                skymesh_rtt_ms=p["user_rtt"],
                rtt_excess_ms=(
                    mean_rtt - sky["mean"] if mean_rtt is not None and sky is not None else None
                ),
                tx_packets=tx,
                rx_packets=int(row["rx_packets"] or 0),
                lost_packets=int(row["lost_packets"] or 0),
                loss_share=(int(row["lost_packets"] or 0) / tx) if tx else None,
                losses=c.get("loss", 0),
                retransmits=c.get("retransmit", 0),
                reorders=c.get("reorder", 0),
                path_changes=p["changes"],
                hops_mean=p["hops"],
            )
        )
    stats = tables.get("stats")
    engine = stats.to_pylist()[0] if stats is not None and stats.num_rows else {}
    slots = 0
    if events is not None and events.num_rows:
        kinds = events.column("kind").to_numpy(zero_copy_only=False).astype(str)
        slots = int((kinds == "slot_boundary").sum())
    return dict(**(meta or {}), flows=flows, engine=engine, slot_boundaries=slots)


def _f(x, fmt: str = "{:.1f}") -> str:
    return "n/a" if x is None else fmt.format(x)


def _flow_rows(summary: dict) -> list[str]:
    lines = [
        "| flow | kind | pair | goodput Mbit/s | RTT mean ms | SkyMesh space RTT min / max ms "
        "| sent / lost packets | retransmits | reorders | path changes |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for f in summary["flows"]:
        sky = f["skymesh_space_rtt_ms"]
        kind = f["kind"] + (f" {f['cc']}" if f.get("cc") else "")
        lines.append(
            f"| {f['flow_id']} | {kind} | {f['src']} -> {f['dst']} | "
            f"{_f(f['goodput_mbps'], '{:.2f}')} | {_f(f['ns3_mean_rtt_ms'])} | "
            f"{_f(sky and sky['min'])} / {_f(sky and sky['max'])} | "
            f"{f['tx_packets']:,} / {f['lost_packets']:,} | {f['retransmits']:,} | "
            f"{f['reorders']:,} | {f['path_changes']} |"
        )
    return lines


def write_packets_report(out, tables: dict, meta: dict, *, figures=(), notes=()) -> Path:
    """Write ``out/report.md`` for a packet run; returns its path.

    ``meta`` describes the run (``title``, ``constellation``, ``start_utc``,
    ``duration_s``, ``satellites``, ``ground_points``, anything else is listed
    as given); ``figures`` are files under ``out/figures`` to embed.
    """
    out = Path(out)
    summary = summarize(tables, meta)
    e = summary["engine"]
    lines = [
        f"# Packets: {meta.get('title', 'run')}",
        "",
        "A packet-level run in ns-3 over SkyMesh's time-varying network: link delays "
        "and forwarding updated every step from SkyMesh's geometry and routing state.",
        "",
        "| setting | value |",
        "|---|---|",
    ]
    for key in (
        "constellation",
        "start_utc",
        "duration_s",
        "step_s",
        "satellites",
        "ground_points",
        "isl_rate_mbps",
        "gsl_rate_mbps",
        "queue_packets",
        "tcp_profile",
        "seed",
    ):
        if meta.get(key) is not None:
            value = meta[key]
            lines.append(f"| {key} | {f'{value:,}' if isinstance(value, int) else value} |")
    lines += ["", "## Flows", ""] + _flow_rows(summary)
    lines += [
        "",
        "RTT mean is ns-3's (TCP RTT samples, ping echo times: propagation, serialisation "
        "and queueing); SkyMesh space RTT is the propagation-only RTT of the pair's path over the "
        "window, so the first sits on or above the second.",
        "",
        "## Engine",
        "",
        "| metric | value |",
        "|---|---|",
        f"| simulated time | {_f(e.get('sim_s'), '{:.1f}')} s |",
        f"| engine wall time (build, run, read-out) | {_f(e.get('wall_s'), '{:.1f}')} s |",
        f"| of which the event loop | {_f(e.get('run_wall_s'), '{:.1f}')} s |",
        f"| packets sent by the flows | {e.get('packets', 0) or 0:,} |",
        f"| link transmissions (packet-hops) | {e.get('hop_packets', 0) or 0:,} |",
        f"| packets per event-loop second | {_f(e.get('packets_per_s'), '{:,.0f}')} |",
        f"| drops: queue / no route | {e.get('queue_drops', 'n/a')} / "
        f"{e.get('no_route_drops', 'n/a')} |",
        f"| events processed | {e.get('events_processed', 0) or 0:,} |",
        f"| peak memory (RSS) | {_f(e.get('peak_rss_mb'), '{:,.0f}')} MB |",
        f"| 15 s slot boundaries in the window | {summary['slot_boundaries']} |",
    ]
    figs = [Path(p) for p in figures]
    if figs:
        lines += ["", "## Figures", ""]
        for p in figs:
            lines += [f"![{p.stem}](figures/{p.name})", ""]
    if notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    path = out / "report.md"
    write_text_atomic(path, "\n".join(lines).rstrip() + "\n")
    return path
