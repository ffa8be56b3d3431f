"""Figures and report of a packet run, on small synthetic tables of the engine's schema.

The tables are built here (no ns-3): a TCP NewReno flow and a ping flow over 60 s,
three path changes and the 15 s slot boundaries of a window starting on the minute.
The checks count what the figures draw against what the tables hold (a line per path
change, one per slot boundary, a sample per row), so they fail when a mark goes missing.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from skymesh.errors import InputError
from skymesh.packets import plots
from skymesh.packets.report import summarize, write_packets_report

DURATION_S = 60.0
CHANGES_S = (17.0, 33.0, 48.0)  # path changes of Paris->Luanda (not on a slot boundary)
SLOTS_S = (12.0, 27.0, 42.0, 57.0)  # :12, :27, :42, :57 of a window starting at :00


def synthetic_tables(duration_s: float = DURATION_S) -> dict[str, pa.Table]:
    """Tables with the contract's columns and units: flows, goodput, rtt, cwnd, events,
    path, stats. Flow 0 is TCP NewReno Paris -> Luanda, flow 1 a ping Rio -> Moscow."""
    rng = np.random.default_rng(7)
    step = 1.0
    t_path = np.arange(0.0, duration_s + step / 2, step)
    base = np.where(t_path < CHANGES_S[0], 90.0, 0.0)
    for k, (a, b) in enumerate(zip(CHANGES_S, CHANGES_S[1:] + (np.inf,))):
        base = np.where((t_path >= a) & (t_path < b), 95.0 + 4.0 * k, base)
    changed = np.isin(t_path, CHANGES_S)
    ping_rtt = 120.0 + 0.0 * t_path
    path = pa.table(
        {
            "pair": ["Paris->Luanda"] * len(t_path) + ["Rio de Janeiro->Moscow"] * len(t_path),
            "t_s": np.concatenate([t_path, t_path]),
            "space_rtt_ms": np.concatenate([base, ping_rtt]),
            "hops": pa.array(np.full(2 * len(t_path), 7), pa.int32()),
            "changed": np.concatenate([changed, np.zeros(len(t_path), bool)]),
        }
    )
    t_ack = np.sort(rng.uniform(0.5, duration_s, 3000))
    path_at = base[np.minimum(np.searchsorted(t_path, t_ack, side="right") - 1, len(base) - 1)]
    t_ping = np.arange(0.0, duration_s, 0.5)
    rtt = pa.table(
        {
            "flow_id": pa.array([0] * len(t_ack) + [1] * len(t_ping), pa.int32()),
            "t_s": np.concatenate([t_ack, t_ping]),
            "ns3_rtt_ms": np.concatenate(
                [path_at + rng.uniform(0, 25, len(t_ack)), 120.5 + 0 * t_ping]
            ),
        }
    )
    t_cwnd = np.arange(0.0, duration_s, 0.1)
    cwnd = (20_000 + 8_000 * (t_cwnd % 9.0)).astype(np.int64)
    losses = np.array([9.0, 18.0, 27.0, 36.0, 45.0, 54.0])
    ev_t = np.concatenate([losses, losses + 0.05, [17.02, 17.03], SLOTS_S])
    ev_kind = (["loss"] * len(losses) + ["retransmit"] * len(losses) + ["reorder"] * 2) + [
        "slot_boundary"
    ] * len(SLOTS_S)
    ev_flow = [0] * (2 * len(losses) + 2) + [-1] * len(SLOTS_S)
    t_bins = np.arange(0.0, duration_s, 0.1)
    flows = pa.table(
        {
            "flow_id": pa.array([0, 1], pa.int32()),
            "kind": ["tcp", "ping"],
            "cc": ["newreno", None],
            "src": ["Paris", "Rio de Janeiro"],
            "dst": ["Luanda", "Moscow"],
            "start_s": [0.0, 0.0],
            "stop_s": [duration_s, duration_s],
            "tx_packets": pa.array([50_000, 120], pa.int64()),
            "rx_packets": pa.array([49_700, 120], pa.int64()),
            "lost_packets": pa.array([300, 0], pa.int64()),
            "tx_bytes": pa.array([50_000 * 1448, 120 * 64], pa.int64()),
            "rx_bytes": pa.array([49_700 * 1448, 120 * 64], pa.int64()),
            "goodput_mbps": [9.6, 0.0],
            "ns3_mean_rtt_ms": [104.25, 120.5],
        }
    )
    return {
        "flows": flows,
        "goodput": pa.table(
            {
                "flow_id": pa.array(np.zeros(len(t_bins), np.int32)),
                "t_s": t_bins,
                "goodput_mbps": np.clip(9.6 + rng.normal(0, 0.3, len(t_bins)), 0, 10),
            }
        ),
        "rtt": rtt,
        "cwnd": pa.table(
            {
                "flow_id": pa.array(np.zeros(len(t_cwnd), np.int32)),
                "t_s": t_cwnd,
                "cwnd_bytes": cwnd,
            }
        ),
        "events": pa.table(
            {"flow_id": pa.array(ev_flow, pa.int32()), "t_s": ev_t, "kind": ev_kind}
        ),
        "path": path,
        "stats": pa.table(
            {
                "wall_s": [3.5],
                "sim_s": [duration_s],
                "events_processed": pa.array([1_000_000], pa.int64()),
                "packets": pa.array([100_000], pa.int64()),
                "packets_per_s": [100_000 / 3.5],
                "peak_rss_mb": [512.0],
            }
        ),
    }


def _vlines(ax, style) -> list[float]:
    """x of the axis' vertical lines drawn in ``style``'s colour and line style."""
    from matplotlib.colors import to_hex

    xs = []
    for line in ax.get_lines():
        x = np.asarray(line.get_xdata(), dtype=float)
        if (
            len(x) == 2
            and x[0] == x[1]
            and to_hex(line.get_color()) == to_hex(style["color"])
            and line.get_linestyle() == {"--": "--", ":": ":"}[style["linestyle"]]
        ):
            xs.append(float(x[0]))
    return sorted(xs)


def test_rtt_figure_marks_every_path_change_and_draws_every_sample(tmp_path):
    tables = synthetic_tables()
    fig = plots.rtt_figure(tables, 0, tmp_path / "rtt.png")
    ax = fig.axes[0]
    assert _vlines(ax, plots.PATH_CHANGE_STYLE) == list(CHANGES_S)
    n_samples = sum(len(c.get_offsets()) for c in ax.collections)
    assert n_samples == 3000  # every TCP RTT sample of flow 0, none of the ping flow
    assert "(ms)" in ax.get_ylabel() and "(s)" in ax.get_xlabel()
    assert "Paris -> Luanda" in ax.get_title()
    labels = ax.get_legend_handles_labels()[1]
    assert any("SkyMesh" in s for s in labels) and any("ns-3" in s for s in labels)
    assert (tmp_path / "rtt.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cwnd_figure_marks_path_changes_slot_boundaries_and_losses(tmp_path):
    tables = synthetic_tables()
    ax = plots.cwnd_figure(tables, 0, tmp_path / "cwnd.svg").axes[0]
    assert _vlines(ax, plots.PATH_CHANGE_STYLE) == list(CHANGES_S)
    assert _vlines(ax, plots.SLOT_STYLE) == list(SLOTS_S)
    labels = ax.get_legend_handles_labels()[1]
    assert "loss (6)" in labels and "retransmit (6)" in labels
    assert "(kB)" in ax.get_ylabel()
    seg = plots.cwnd_figure(tables, 0, mss_bytes=1448).axes[0]
    assert "segments" in seg.get_ylabel()
    assert (tmp_path / "cwnd.svg").read_text().lstrip().startswith("<?xml")


def test_cwnd_of_a_ping_flow_is_refused():
    with pytest.raises(InputError, match="not tcp"):
        plots.cwnd_figure(synthetic_tables(), 1)
    with pytest.raises(InputError, match="no flow 9"):
        plots.rtt_figure(synthetic_tables(), 9)


def test_goodput_figure_draws_the_bottleneck_and_only_flows_with_samples():
    ax = plots.goodput_figure(synthetic_tables(), bottleneck_mbps=10.0).axes[0]
    labels = ax.get_legend_handles_labels()[1]
    assert labels == ["flow 0: tcp newreno Paris -> Luanda", "bottleneck rate 10 Mbit/s"]
    assert "(Mbit/s)" in ax.get_ylabel()


def test_losses_figure_counts_each_kind(tmp_path):
    ax = plots.losses_figure(synthetic_tables()).axes[0]
    labels = ax.get_legend_handles_labels()[1]
    assert {"loss (6)", "retransmit (6)", "reorder (2)"} <= set(labels)
    heights = sum(p.get_height() for p in ax.patches)
    assert heights == 14  # 6 + 6 + 2 events in 1 s bins, slot boundaries not counted
    with pytest.raises(InputError, match="bin_s"):
        plots.losses_figure(synthetic_tables(), bin_s=0)


def test_losses_figure_says_so_when_there_are_none():
    tables = synthetic_tables()
    ev = tables["events"]
    tables["events"] = ev.slice(0, 0)
    ax = plots.losses_figure(tables).axes[0]
    assert any("no losses" in t.get_text() for t in ax.texts)


def test_packet_figures_writes_one_set_per_flow(tmp_path):
    written = plots.packet_figures(synthetic_tables(), tmp_path / "figures")
    names = sorted(p.name for p in written)
    assert names == [
        "flow-0-cwnd.png",
        "flow-0-rtt.png",
        "flow-1-rtt.png",
        "goodput.png",
        "losses.png",
    ]
    assert all(p.stat().st_size > 10_000 for p in written)


def test_summary_counts_from_the_tables():
    s = summarize(synthetic_tables())
    f0, f1 = s["flows"]
    assert f0["path_changes"] == 3 and f1["path_changes"] == 0
    assert f0["retransmits"] == 6 and f0["reorders"] == 2 and f0["losses"] == 6
    assert f0["loss_share"] == pytest.approx(300 / 50_000)
    # SkyMesh's RTT over the window, from the path built above: 90 ms, then 95, 99, 103
    assert f0["skymesh_space_rtt_ms"]["min"] == 90.0 and f0["skymesh_space_rtt_ms"]["max"] == 103.0
    assert s["slot_boundaries"] == 4
    assert s["engine"]["packets"] == 100_000


def test_report_links_figures_that_exist(tmp_path):
    tables = synthetic_tables()
    figs = plots.packet_figures(tables, tmp_path / "figures")
    meta = dict(
        title="Paris -> Luanda",
        constellation="starlink-shell1",
        start_utc="2026-01-01T00:00:00+00:00",
        duration_s=DURATION_S,
        ground_points=2,
        satellites=1584,
    )
    report = write_packets_report(tmp_path, tables, meta, figures=figs)
    text = report.read_text()
    assert text.startswith("# Packets: Paris -> Luanda")
    for p in figs:
        assert f"(figures/{p.name})" in text
    row = next(line for line in text.splitlines() if line.startswith("| 0 |"))
    assert "Paris -> Luanda" in row and "9.60" in row and "104.2" in row
    assert "starlink-shell1" in text


def _with_burst(tables, mbps=122.0, at=300):
    g = tables["goodput"]
    v = g.column("goodput_mbps").to_numpy().copy()
    v[at] = mbps  # one 0.1 s sample: bytes released together on a 10 Mbit/s path
    tables["goodput"] = g.set_column(
        g.schema.get_field_index("goodput_mbps"), "goodput_mbps", pa.array(v)
    )
    return tables


def test_goodput_burst_does_not_squash_the_curve():
    """One 122 Mbit/s sample on a ~10 Mbit/s flow once set the axis to 130 Mbit/s, the
    flow's curve a flat line at the bottom. Samples are averaged over 1 s, the axis ends
    near the rate, and what lies above is clipped, marked and said."""
    tables = _with_burst(synthetic_tables())
    ax = plots.goodput_figure(tables, bottleneck_mbps=10.0).axes[0]
    top = ax.get_ylim()[1]
    assert 10.0 < top < 20.0
    flow = next(ln for ln in ax.get_lines() if ln.get_label().startswith("flow 0"))
    assert np.nanmax(flow.get_ydata()) <= top
    note = [t.get_text() for t in ax.texts if t.get_gid() == "goodput-clipped"]
    assert len(note) == 1 and "1 bin above" in note[0] and "clipped" in note[0]
    # The same bytes, over 1 s: the mean goodput of the whole run is kept.
    t, v = plots.goodput_bins(
        tables["goodput"].column("t_s").to_numpy(),
        tables["goodput"].column("goodput_mbps").to_numpy(),
        1.0,
    )
    raw = tables["goodput"].column("goodput_mbps").to_numpy()
    assert len(t) == 60 and v.mean() == pytest.approx(raw.mean())
    assert "1 s" in ax.get_title()


def test_losses_figure_keeps_its_tallest_bar_inside():
    """A burst of 80 losses in the first second once reached the top edge exactly."""
    tables = synthetic_tables()
    ev = tables["events"]
    extra = np.linspace(0.05, 0.95, 80)
    tables["events"] = pa.table(
        {
            "flow_id": pa.array(ev.column("flow_id").to_pylist() + [0] * 80, pa.int32()),
            "t_s": ev.column("t_s").to_pylist() + list(extra),
            "kind": ev.column("kind").to_pylist() + ["loss"] * 80,
        }
    )
    ax = plots.losses_figure(tables).axes[0]
    tallest = max(p.get_y() + p.get_height() for p in ax.patches)
    assert tallest == 80  # the first second (the synthetic run has no other event there)
    assert ax.get_ylim()[1] >= 1.05 * tallest
