"""What an RTT is made of: a stacked bar chart and a Markdown table of its named components.

The components are the columns of a slots-model egress run
(:mod:`skymesh.access.delay`): space propagation, terrestrial fibre, access (frames,
request/grant, round robin), processing and queueing. Bars stack the components' *means*,
which add up to the mean RTT (medians do not add up); the median of each component is in
the table beside it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from skymesh.report.maps import _finish, new_figure

ORDER = ("space_rtt_ms", "fibre_ms", "access_ms", "processing_ms", "queueing_ms")
LABELS = {
    "space_rtt_ms": "space propagation",
    "fibre_ms": "fibre gateway-PoP",
    "access_ms": "access (frames, grant, round robin)",
    "processing_ms": "processing",
    "queueing_ms": "queueing",
}
COLOURS = {
    "space_rtt_ms": "#1f4e9c",
    "fibre_ms": "#a05a00",
    "access_ms": "#2c7a2c",
    "processing_ms": "#7b4ea3",
    "queueing_ms": "#d9534f",
}


def components_chart(components: dict, *, title: str = "RTT components", path=None) -> Figure:
    """Stacked horizontal bars, one per label, of the mean of each component (ms).

    ``components`` maps a bar label (an operator) to ``{component: {"mean": ms, ...}}``
    (the ``rtt_components_ms`` of a run summary); components missing from a bar count 0.
    """
    labels = [k for k, v in components.items() if v]
    fig = new_figure(10.0, 1.6 + 0.7 * max(1, len(labels)))
    ax = fig.add_subplot(1, 1, 1)
    left = np.zeros(len(labels))
    for name in ORDER:
        vals = np.array(
            [float((components[lab].get(name) or {}).get("mean") or 0.0) for lab in labels]
        )
        if not vals.any():
            continue
        ax.barh(labels, vals, left=left, color=COLOURS[name], label=LABELS[name])
        for y, (x0, v) in enumerate(zip(left, vals)):
            if v >= 2.0:
                ax.text(
                    x0 + v / 2, y, f"{v:.1f}", ha="center", va="center", color="white", fontsize=8
                )
        left += vals
    for y, total in enumerate(left):
        ax.text(total, y, f"  {total:.1f} ms", va="center", fontsize=9)
    ax.set_xlabel("mean RTT (ms): terminal -> PoP, stacked by component")
    ax.set_xlim(0, max(1.0, float(left.max(initial=0.0))) * 1.18)
    ax.invert_yaxis()
    fig.legend(
        *ax.get_legend_handles_labels(),
        loc="outside lower center",
        fontsize=8,
        ncols=3,
        frameon=False,
    )
    ax.set_title(title)
    return _finish(fig, path)


def components_markdown(components: dict) -> list[str]:
    """Markdown table lines: one row per component, median and mean (ms), per operator."""
    labels = [k for k, v in components.items() if v]
    if not labels:
        return []
    head = "| component | " + " | ".join(f"{lab} p50 / mean" for lab in labels) + " |"
    lines = [head, "|---|" + "---|" * len(labels)]
    for name in ORDER:
        cells = []
        for lab in labels:
            c = components[lab].get(name)
            cells.append(
                "n/a" if not c or c.get("p50") is None else f"{c['p50']:.1f} / {c['mean']:.1f} ms"
            )
        lines.append(f"| {LABELS[name]} | " + " | ".join(cells) + " |")
    return lines


def run_components_figure(out: Path, summary_or_series: dict, name: str) -> list[str]:
    """Draw ``figures/rtt_components.png`` for a run; returns its relative path (or [])."""
    comps = {lab: s.get("components") for lab, s in summary_or_series.items()}
    if not any(comps.values()):
        return []
    f = "figures/rtt_components.png"
    (Path(out) / "figures").mkdir(exist_ok=True)
    components_chart(
        comps, title=f"{name}: what the RTT is made of (mean per component)", path=Path(out) / f
    )
    return [f]


def access_section(op: dict) -> list[str]:
    """Report lines of one operator's access layer: PoPs, handovers, the RTT components."""
    lines = []
    if op.get("rtt_components_ms"):
        lines += ["RTT from the terminal to its PoP (the internet), by component (ms):", ""]
        lines += components_markdown({op["operator"]: op["rtt_components_ms"]}) + [""]
    h = op.get("handovers_per_hour")
    if h:

        def f(x):
            return "n/a" if x is None else f"{x:.1f}"

        lines += [
            f"Serving-satellite handovers per served terminal-hour: {f(h['all'])} "
            f"(forced inside a slot: {f(h['forced'])}; in-slot path re-plans: "
            f"{f(h['replanned'])}).",
            "",
        ]
    if op.get("pops"):
        lines += [
            "PoPs where the traffic reaches the internet:",
            "",
            "| PoP | country | share |",
            "|---|---|---|",
        ]
        lines += [
            f"| {p['name']} | {p['country']} | {100 * p['share']:.1f} % |" for p in op["pops"][:15]
        ] + [""]
    return lines
