"""Figures of a packet-level run: RTT, congestion window, goodput and losses over time.

Plain functions over the tables :func:`skymesh.packets.engine.simulate` returns
(``flows``, ``goodput``, ``rtt``, ``cwnd``, ``events``, ``path``; column names
and units as that module's docstring gives them). Each returns a
:class:`matplotlib.figure.Figure` (no pyplot: the Agg canvas, as
:mod:`skymesh.report.plots` does) and saves it through an atomic rename when
given ``path`` (PNG, SVG or PDF by extension).

Time axes are seconds since the start of the simulated window. Two kinds of
instants are marked wherever they help to read a trace:

* **path changes** (red dashed): the steps at which SkyMesh's forwarding state
  gives the flow's pair a different path from the step before (the ``path``
  table's ``changed`` column); a packet-level trace shows an RTT jump there,
  and often a loss or reordering burst;
* **15 s slot boundaries** (grey dotted): Starlink's reconfiguration instants
  (the 12th, 27th, 42nd and 57th second of each minute, UTC;
  :mod:`skymesh.access.slots`), from the ``events`` table's ``slot_boundary``
  rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from matplotlib.figure import Figure

from skymesh.errors import InputError
from skymesh.report.maps import _finish, new_figure, save_figure

#: Colours of the flows in multi-flow figures (colour-blind safe, Okabe-Ito).
FLOW_COLOURS = (
    "#0072b2",
    "#e69f00",
    "#009e73",
    "#cc79a7",
    "#56b4e9",
    "#d55e00",
    "#f0e442",
    "#000000",
)
NS3_STYLE: dict[str, Any] = dict(color="#0072b2", s=4, alpha=0.5, linewidths=0)
SKYMESH_STYLE: dict[str, Any] = dict(color="#222222", linewidth=1.6, drawstyle="steps-post")
PATH_CHANGE_STYLE: dict[str, Any] = dict(color="#c0392b", linestyle="--", linewidth=0.9, alpha=0.8)
SLOT_STYLE: dict[str, Any] = dict(color="#888888", linestyle=":", linewidth=0.9, alpha=0.9)
EVENT_KINDS = ("loss", "retransmit", "reorder")
EVENT_COLOURS = {"loss": "#c0392b", "retransmit": "#e69f00", "reorder": "#6a3d9a"}
TIME_LABEL = "time since start (s)"
MAX_FLOW_FIGURES = 12
"""Per-flow figures drawn for at most this many flows (the tables hold every flow)."""


def _col(table: pa.Table, name: str) -> np.ndarray:
    if name not in table.column_names:
        raise InputError(f"table has no column '{name}'", field=name)
    return table.column(name).to_numpy(zero_copy_only=False)


def _rows(table: pa.Table | None, column: str, value) -> pa.Table | None:
    """The rows of ``table`` whose ``column`` equals ``value`` (None without a table)."""
    if table is None or table.num_rows == 0:
        return table
    return table.filter(pc.equal(table.column(column), pa.scalar(value)))


def flow_info(tables: dict, flow_id: int) -> dict:
    """The ``flows`` row of ``flow_id`` as a dict (an :class:`InputError` when absent)."""
    rows = _rows(tables["flows"], "flow_id", np.int32(flow_id))
    if rows is None or rows.num_rows == 0:
        raise InputError(f"no flow {flow_id} in the flows table", field="flow_id")
    return rows.slice(0, 1).to_pylist()[0]


def flow_label(info: dict) -> str:
    """``"flow 0: tcp newreno Paris -> Luanda"``."""
    kind = info["kind"] + (f" {info['cc']}" if info.get("cc") else "")
    return f"flow {info['flow_id']}: {kind} {info['src']} -> {info['dst']}"


def pair_of(info: dict) -> str:
    """The ``path`` table's pair key of a flow: ``"SRC->DST"``."""
    return f"{info['src']}->{info['dst']}"


def path_change_times(tables: dict, pair: str) -> np.ndarray:
    """Seconds at which SkyMesh's path for ``pair`` changed (first step excluded)."""
    rows = _rows(tables.get("path"), "pair", pair)
    if rows is None or rows.num_rows == 0:
        return np.empty(0)
    t = _col(rows, "t_s").astype(float)
    changed = _col(rows, "changed").astype(bool)
    if len(t):
        changed[np.argmin(t)] = False
    return np.sort(t[changed])


def slot_boundary_times(tables: dict) -> np.ndarray:
    """Seconds of the 15 s reconfiguration boundaries in the window (``events`` rows)."""
    ev = _rows(tables.get("events"), "kind", "slot_boundary")
    if ev is None or ev.num_rows == 0:
        return np.empty(0)
    return np.unique(_col(ev, "t_s").astype(float))


def _mark_instants(ax, changes: np.ndarray, slots: np.ndarray) -> None:
    """Vertical lines at path changes and slot boundaries, one legend entry each."""
    for k, t in enumerate(slots):
        ax.axvline(t, label="15 s slot boundary" if k == 0 else None, zorder=1, **SLOT_STYLE)
    for k, t in enumerate(changes):
        ax.axvline(
            t, label="SkyMesh path change" if k == 0 else None, zorder=2, **PATH_CHANGE_STYLE
        )


def _finish_axes(ax, title: str, ylabel: str, xlim=None) -> None:
    ax.set_xlabel(TIME_LABEL)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=11)
    ax.grid(True, alpha=0.3)
    if xlim is not None and xlim[1] > xlim[0]:
        ax.set_xlim(*xlim)
    handles, labels = ax.get_legend_handles_labels()
    if labels:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, framealpha=0.9)


def _window(tables: dict, info: dict | None = None) -> tuple[float, float]:
    """The x range: the simulated window (``stats.sim_s``), else the flow's active time."""
    stats = tables.get("stats")
    if stats is not None and stats.num_rows and "sim_s" in stats.column_names:
        sim = float(_col(stats, "sim_s")[0])
        if np.isfinite(sim) and sim > 0:
            return 0.0, sim
    if info is not None:
        return float(info["start_s"]), float(info["stop_s"])
    return 0.0, 1.0


def rtt_figure(tables: dict, flow_id: int, path=None) -> Figure:
    """One flow's RTT: ns-3's samples against SkyMesh's own path RTT, path changes marked.

    ns-3's samples (TCP's RTT estimates per ACK, or a ping's echo times) include
    serialisation and queueing; SkyMesh's line is the propagation RTT of the
    pair's path per step, so the samples sit on or above it.
    """
    info = flow_info(tables, flow_id)
    fig = new_figure(10.0, 4.5)
    ax = fig.add_subplot(1, 1, 1)
    pair = pair_of(info)
    prow = _rows(tables.get("path"), "pair", pair)
    if prow is not None and prow.num_rows:
        order = np.argsort(_col(prow, "t_s"))
        t = _col(prow, "t_s").astype(float)[order]
        r = _col(prow, "space_rtt_ms").astype(float)[order]
        end = _window(tables, info)[1]
        if len(t) and end > t[-1]:  # the last step holds to the end of the window
            t, r = np.append(t, end), np.append(r, r[-1])
        ax.plot(t, r, label="SkyMesh space RTT (propagation only)", zorder=4, **SKYMESH_STYLE)
    rows = _rows(tables.get("rtt"), "flow_id", np.int32(flow_id))
    what = "ping echo RTT" if info["kind"] == "ping" else "TCP RTT samples"
    if rows is not None and rows.num_rows:
        ax.scatter(
            _col(rows, "t_s"),
            _col(rows, "ns3_rtt_ms"),
            label=f"ns-3 {what}",
            zorder=3,
            rasterized=True,
            **NS3_STYLE,
        )
    else:
        ax.text(0.5, 0.5, f"no {what} in this run", transform=ax.transAxes, ha="center")
    _mark_instants(ax, path_change_times(tables, pair), np.empty(0))
    _finish_axes(ax, f"{flow_label(info)}: round-trip time", "RTT (ms)", _window(tables, info))
    return _finish(fig, path)


def _plot_cwnd(ax, tables: dict, flow_id: int, scale: float, label: str) -> bool:
    """A flow's congestion window on ``ax`` as steps, in bytes / ``scale``; False when the
    run has no cwnd samples of the flow (nothing drawn)."""
    rows = _rows(tables.get("cwnd"), "flow_id", np.int32(flow_id))
    if rows is None or not rows.num_rows:
        return False
    order = np.argsort(_col(rows, "t_s"), kind="stable")
    ax.plot(
        _col(rows, "t_s")[order],
        _col(rows, "cwnd_bytes").astype(float)[order] / scale,
        color=FLOW_COLOURS[0],
        linewidth=1.3,
        drawstyle="steps-post",
        label=label,
        zorder=3,
    )
    return True


def cwnd_figure(tables: dict, flow_id: int, path=None, *, mss_bytes: float | None = None) -> Figure:
    """One TCP flow's congestion window, with path changes and 15 s slot boundaries marked.

    In kB (1 kB = 1,000 bytes), or in segments when ``mss_bytes`` is given.
    Losses and retransmits of the flow are ticks along the bottom.
    """
    info = flow_info(tables, flow_id)
    if info["kind"] != "tcp":
        raise InputError(
            f"flow {flow_id} is {info['kind']}, not tcp: it has no cwnd", field="flow_id"
        )
    fig = new_figure(10.0, 4.5)
    ax = fig.add_subplot(1, 1, 1)
    scale, unit = (mss_bytes, "segments") if mss_bytes else (1e3, "kB")
    if not _plot_cwnd(ax, tables, flow_id, scale, f"cwnd ({info['cc'] or 'tcp'})"):
        ax.text(0.5, 0.5, "no cwnd samples in this run", transform=ax.transAxes, ha="center")
    ev = _rows(tables.get("events"), "flow_id", np.int32(flow_id))
    if ev is not None and ev.num_rows:
        kinds = _col(ev, "kind").astype(str)
        t = _col(ev, "t_s").astype(float)
        for kind, marker in (("retransmit", "|"), ("loss", "x")):
            sel = t[kinds == kind]
            if len(sel):
                ax.plot(
                    sel,
                    np.zeros(len(sel)),
                    linestyle="none",
                    marker=marker,
                    markersize=9,
                    color=EVENT_COLOURS[kind],
                    label=f"{kind} ({len(sel):,})",
                    zorder=4,
                    clip_on=False,
                )
    ax.set_ylim(bottom=0)
    _mark_instants(ax, path_change_times(tables, pair_of(info)), slot_boundary_times(tables))
    _finish_axes(
        ax,
        f"{flow_label(info)}: congestion window",
        f"congestion window ({unit})",
        _window(tables, info),
    )
    return _finish(fig, path)


#: Goodput figures average the engine's samples (0.1 s by default) over bins this long (s).
GOODPUT_BIN_S = 1.0
#: The goodput axis ends this far above the 90th percentile of the bins (or the bottleneck
#: rate, when higher); bins above it are clipped, marked and counted in a note.
GOODPUT_HEADROOM = 1.5


def goodput_bins(t_s, goodput_mbps, bin_s: float = GOODPUT_BIN_S) -> tuple[np.ndarray, np.ndarray]:
    """Mean goodput (Mbit/s) over bins of ``bin_s`` seconds from samples at ``t_s`` (s,
    evenly spaced, each the goodput of its own sample interval). Bins start at the first
    sample; samples coarser than ``bin_s`` are returned as they are.

    A 0.1 s sample can hold a burst that arrived at once (segments held back after a loss
    or reordering, released together): 122 Mbit/s on a 10 Mbit/s path. Over 1 s the same
    bytes read as the rate the flow achieved.
    """
    t = np.asarray(t_s, dtype=float)
    v = np.asarray(goodput_mbps, dtype=float)
    order = np.argsort(t, kind="stable")
    t, v = t[order], v[order]
    if len(t) < 2:
        return t, v
    dt = float(np.median(np.diff(t)))
    if not (dt > 0) or dt >= bin_s:
        return t, v
    k = np.floor((t - t[0]) / bin_s + 1e-9).astype(np.int64)
    sums = np.bincount(k, weights=v * dt)
    spans = np.bincount(k, weights=np.full(len(v), dt))
    keep = spans > 0
    return t[0] + np.flatnonzero(keep) * bin_s, sums[keep] / spans[keep]


def goodput_figure(
    tables: dict, path=None, *, flow_ids=None, bottleneck_mbps=None, bin_s: float = GOODPUT_BIN_S
) -> Figure:
    """Goodput over time (Mbit/s, mean over ``bin_s`` bins, :func:`goodput_bins`) of every
    flow (or ``flow_ids``).

    ``bottleneck_mbps``, when given, is drawn as a dashed line: no flow's goodput
    may sit above the path's bottleneck rate. The axis ends at :data:`GOODPUT_HEADROOM`
    times the larger of the bins' 90th percentile and the bottleneck rate, so one
    burst does not squash the curves; bins above are drawn at the top edge, marked,
    and a note gives their number and the highest value.
    """
    if not (np.isfinite(bin_s) and bin_s > 0):
        raise InputError(f"bin_s must be greater than zero, got {bin_s}", field="bin_s")
    flows = tables["flows"]
    ids = list(_col(flows, "flow_id")) if flow_ids is None else list(flow_ids)
    fig = new_figure(10.0, 4.5)
    ax = fig.add_subplot(1, 1, 1)
    good = tables.get("goodput")
    curves = []
    for k, fid in enumerate(ids[:MAX_FLOW_FIGURES]):
        rows = _rows(good, "flow_id", np.int32(fid))
        if rows is None or rows.num_rows == 0:
            continue
        t, v = goodput_bins(_col(rows, "t_s"), _col(rows, "goodput_mbps"), bin_s)
        curves.append((k, fid, t, v))
    drawn = len(curves)
    values = np.concatenate([c[3] for c in curves]) if curves else np.empty(0)
    values = values[np.isfinite(values)]
    top = float(np.percentile(values, 90)) if len(values) else 1.0
    if bottleneck_mbps is not None and np.isfinite(bottleneck_mbps):
        top = max(top, float(bottleneck_mbps))
    top = max(top, 1e-3) * GOODPUT_HEADROOM
    n_over = 0
    for k, fid, t, v in curves:
        colour = FLOW_COLOURS[k % len(FLOW_COLOURS)]
        over = v > top
        n_over += int(over.sum())
        ax.plot(  # the last bin held to its end
            np.r_[t, t[-1] + bin_s] if len(t) else t,
            np.minimum(np.r_[v, v[-1]] if len(v) else v, top),
            color=colour,
            linewidth=1.2,
            drawstyle="steps-post",
            label=flow_label(flow_info(tables, int(fid))),
        )
        if over.any():
            ax.plot(
                t[over] + bin_s / 2,
                np.full(int(over.sum()), top),
                linestyle="none",
                marker="^",
                markersize=7,
                color=colour,
                clip_on=False,
                zorder=4,
            )
    if n_over:
        note = ax.text(
            0.01,
            0.97,
            f"{n_over} bin{'s' if n_over > 1 else ''} above {top:.3g} Mbit/s clipped (^; "
            f"highest {values.max():.3g} Mbit/s: bytes delivered together)",
            transform=ax.transAxes,
            va="top",
            fontsize=8,
            color="#333333",
            bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="#aaaaaa", alpha=0.9),
        )
        note.set_gid("goodput-clipped")
    if bottleneck_mbps is not None and np.isfinite(bottleneck_mbps):
        ax.axhline(
            float(bottleneck_mbps),
            color="#555555",
            linestyle="--",
            linewidth=1.0,
            label=f"bottleneck rate {bottleneck_mbps:g} Mbit/s",
        )
    if not drawn:
        ax.text(0.5, 0.5, "no goodput samples in this run", transform=ax.transAxes, ha="center")
    ax.set_ylim(0, top)  # headroom above the rate: a flat line at the rate shows
    more = f" (first {MAX_FLOW_FIGURES} of {len(ids)} flows)" if len(ids) > MAX_FLOW_FIGURES else ""
    _finish_axes(
        ax,
        f"Goodput per flow, mean over {bin_s:g} s{more}",
        f"goodput (Mbit/s), mean per {bin_s:g} s",
        _window(tables),
    )
    return _finish(fig, path)


def losses_figure(tables: dict, path=None, *, bin_s: float = 1.0) -> Figure:
    """Losses, retransmits and reordering over time: counts per ``bin_s`` over all flows.

    Path changes of every flow's pair and the 15 s slot boundaries are marked,
    so a burst at a reconfiguration instant reads at a glance.
    """
    if not (np.isfinite(bin_s) and bin_s > 0):
        raise InputError(f"bin_s must be greater than zero, got {bin_s}", field="bin_s")
    fig = new_figure(10.0, 4.5)
    ax = fig.add_subplot(1, 1, 1)
    lo, hi = _window(tables)
    ev = tables.get("events")
    total = 0
    bottom = np.zeros(0)  # events per bin, stacked over the kinds
    if ev is not None and ev.num_rows:
        kinds = _col(ev, "kind").astype(str)
        t = _col(ev, "t_s").astype(float)
        edges = np.arange(lo, max(hi, lo + bin_s) + bin_s, bin_s)
        bottom = np.zeros(len(edges) - 1)
        for kind in EVENT_KINDS:
            sel = t[kinds == kind]
            if not len(sel):
                continue
            counts, _ = np.histogram(sel, bins=edges)
            ax.bar(
                edges[:-1],
                counts,
                width=bin_s,
                bottom=bottom,
                align="edge",
                color=EVENT_COLOURS[kind],
                label=f"{kind} ({len(sel):,})",
                zorder=3,
            )
            bottom += counts
            total += len(sel)
    if not total:
        ax.text(
            0.5,
            0.5,
            "no losses, retransmits or reordering in this run",
            transform=ax.transAxes,
            ha="center",
        )
    changes = [path_change_times(tables, pair_of(r)) for r in tables["flows"].to_pylist()]
    ch = np.unique(np.concatenate(changes)) if changes else np.empty(0)
    _mark_instants(ax, ch, slot_boundary_times(tables))
    highest = float(bottom.max()) if total else 0.0
    ax.set_ylim(0, max(1.0, highest * 1.1 + 0.5))  # room above the tallest bar
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    _finish_axes(
        ax,
        "Losses, retransmits and reordering, all flows",
        f"events per {bin_s:g} s",
        (lo, hi),
    )
    return _finish(fig, path)


def hypatia_figure(
    tables: dict,
    flow_id: int,
    *,
    rate_bps: float,
    queue_pkts: int,
    segment_bytes: float = 1448.0,
    packet_bytes: float | None = None,
    title: str = "",
    path=None,
) -> Figure:
    """RTT and congestion window of one TCP flow over fixed-rate links, in the layout of
    Hypatia's TCP figure (Kassing et al., IMC 2020, §5): RTT over time above, cwnd in
    packets against BDP + queue below.

    BDP + queue (packets) is ``rate_bps x path RTT / (8 x packet_bytes) + queue_pkts``: the
    most a loss-based TCP can keep in flight on the path before its bottleneck queue
    overflows (every link at ``rate_bps``, the path's propagation RTT from SkyMesh);
    ``packet_bytes`` defaults to a segment on the wire (``segment_bytes`` + 52 B of IPv4,
    TCP and timestamp headers + 2 B PPP). cwnd is ``cwnd_bytes / segment_bytes``.
    """
    if packet_bytes is None:
        packet_bytes = segment_bytes + 54.0
    info = flow_info(tables, flow_id)
    if info["kind"] != "tcp":
        raise InputError(f"flow {flow_id} is {info['kind']}, not tcp", field="flow_id")
    fig = new_figure(10.0, 7.0)
    top, bottom = fig.subplots(2, 1, sharex=True)
    pair = pair_of(info)
    lo, hi = _window(tables, info)
    changes = path_change_times(tables, pair)
    prow = _rows(tables.get("path"), "pair", pair)
    t_path = r_path = np.empty(0)
    if prow is not None and prow.num_rows:
        order = np.argsort(_col(prow, "t_s"))
        t_path = _col(prow, "t_s").astype(float)[order]
        r_path = _col(prow, "space_rtt_ms").astype(float)[order]
        if hi > t_path[-1]:
            t_path, r_path = np.append(t_path, hi), np.append(r_path, r_path[-1])
    rows = _rows(tables.get("rtt"), "flow_id", np.int32(flow_id))
    if rows is not None and rows.num_rows:
        top.scatter(
            _col(rows, "t_s"),
            _col(rows, "ns3_rtt_ms"),
            label="ns-3 TCP RTT samples",
            zorder=3,
            rasterized=True,
            **NS3_STYLE,
        )
    if len(t_path):
        top.plot(
            t_path, r_path, label="SkyMesh space RTT (propagation only)", zorder=4, **SKYMESH_STYLE
        )
    _mark_instants(top, changes, np.empty(0))
    _finish_axes(top, title or f"{flow_label(info)}", "RTT (ms)", (lo, hi))
    top.set_xlabel("")
    _plot_cwnd(bottom, tables, flow_id, segment_bytes, f"cwnd ({info['cc']})")
    if len(t_path):
        bdp = rate_bps * r_path / 1e3 / (8.0 * packet_bytes)
        bottom.plot(
            t_path,
            bdp + queue_pkts,
            color="#d55e00",
            linewidth=1.3,
            drawstyle="steps-post",
            label=f"BDP + queue ({rate_bps / 1e6:g} Mbit/s, {queue_pkts} packets)",
            zorder=4,
        )
    _mark_instants(bottom, changes, np.empty(0))
    bottom.set_ylim(bottom=0)
    _finish_axes(bottom, "", "congestion window (packets)", (lo, hi))
    return _finish(fig, path)


def packet_figures(tables: dict, folder) -> list[Path]:
    """Every figure of a run into ``folder``; returns the files written.

    ``goodput.png`` and ``losses.png`` over all flows; ``flow-N-rtt.png`` for
    each flow with RTT samples and ``flow-N-cwnd.png`` for each TCP flow (the
    first :data:`MAX_FLOW_FIGURES` flows).
    """
    folder = Path(folder)
    written = []
    for name, draw in (("goodput.png", goodput_figure), ("losses.png", losses_figure)):
        written.append(save_figure(draw(tables), folder / name))
    for info in tables["flows"].to_pylist()[:MAX_FLOW_FIGURES]:
        fid = int(info["flow_id"])
        written.append(save_figure(rtt_figure(tables, fid), folder / f"flow-{fid}-rtt.png"))
        if info["kind"] == "tcp":
            written.append(save_figure(cwnd_figure(tables, fid), folder / f"flow-{fid}-cwnd.png"))
    return written
