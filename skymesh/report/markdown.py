"""A Markdown report of a run: the headline numbers in tables, and its assumptions.

``report.md`` is written atomically (a temporary file renamed into place).
"""

from __future__ import annotations

from pathlib import Path

from skymesh.files import write_text_atomic
from skymesh.metrics import RTT_LABEL


def _f(x, fmt="{:.1f}"):
    return "n/a" if x is None else fmt.format(x)


def _pct(x):
    return "n/a" if x is None else f"{100 * x:.1f} %"


def _rtt_label(op: dict) -> str:
    """Which RTT the ``rtt_ms`` of an operator's summary is (:mod:`skymesh.metrics`)."""
    if "rtt_components_ms" in op and "access_ms" in op["rtt_components_ms"]:
        return f"{RTT_LABEL}, terminal -> PoP (internet),"
    return "RTT (propagation model: space only), terminal -> gateway,"


def operator_section(op: dict, wanted=None) -> list[str]:
    wanted = set(wanted or ("service", "rtt", "hops", "gateways", "bent_pipe"))
    r = op["rtt_ms"]
    net = op.get("network")
    lines = [f"## {op['operator']}", ""]
    if net:
        lines += [
            f"Network: {net['operator']}'s user link and beams, "
            + (f"{net['isls']:,} ISLs" if net["isls"] else "no ISLs (bent pipe)")
            + f", {net['gateways']} gateways ({net['gateways_from']}"
            + (", borrow_gateways = true" if net["gateways_from"] == "borrowed" else "")
            + ").",
            "",
        ]
    lines += [
        "| metric | value |",
        "|---|---|",
        f"| terminal-steps | {op['terminal_steps']:,} |",
        f"| share of time with service | {_pct(op['service_share'])} |",
        f"| geofenced (policy says no service) | {_pct(op['geofenced_share'])} |",
        f"| allowed but no route (coverage/gateways) | {_pct(op['no_coverage_share'])} |",
        f"| per-terminal service share p5 / p50 / p95 | "
        f"{_pct(op['per_terminal_service_share']['p5'])} / "
        f"{_pct(op['per_terminal_service_share']['p50'])} / "
        f"{_pct(op['per_terminal_service_share']['p95'])} |",
        f"| {_rtt_label(op)} "
        f"p50 / p95 / p99 | {_f(r['p50'])} / {_f(r['p95'])} / "
        f"{_f(r['p99'])} ms |",
        f"| satellites on the path, mean / max | {_f(op['sat_hops']['mean'])} / "
        f"{_f(op['sat_hops']['max'], '{}')} |",
        f"| exits inside the terminal's own country | {op['exits_inside_own_country']:,} |",
        f"| exits inside a censoring country (must be 0) | "
        f"{op['exits_inside_censoring_country']:,} |",
        "",
    ]
    drop = {"rtt": "| RTT (", "hops": "| satellites on", "service": "| share of time"}
    for metric, prefix in drop.items():
        if metric not in wanted:
            lines = [x for x in lines if not x.startswith(prefix)]
    if op["gateways"] and "gateways" in wanted:
        lines += [
            "Gateways carrying the traffic:",
            "",
            "| gateway | country | share |",
            "|---|---|---|",
        ]
        lines += [
            f"| {g['name']} | {g['country']} | {_pct(g['share'])} |" for g in op["gateways"][:15]
        ]
        lines.append("")
    if "bent_pipe" in op:
        b = op["bent_pipe"]
        lines += [
            "Without ISLs (bent-pipe: one satellite up and down to a gateway):",
            "",
            "| metric | with ISLs | bent-pipe |",
            "|---|---|---|",
            f"| share of time with service | {_pct(op['service_share'])} | "
            f"{_pct(b['service_share'])} |",
            f"| RTT (user, with access) p50 / p95 | {_f(r['p50'])} / {_f(r['p95'])} ms | "
            f"{_f(b['rtt_ms']['p50'])} / {_f(b['rtt_ms']['p95'])} ms |",
            f"| gateways used | {len(op['gateways'])} | {len(b['gateways'])} |",
            "",
        ]
    if "capacity" in op:  # a second operator's capacity on its own link, beams and gateways
        from skymesh.capacity.headline import headline_line, inputs_line

        cap = op["capacity"]
        lines += [
            f"Capacity on its own link, beams and gateways: {headline_line(cap['headline'])}.",
            "",
            f"Inputs: {inputs_line(cap['inputs'])}.",
            "",
        ]
    return lines


def write_report(out: Path, summary: dict, loaded) -> Path:
    """Write ``report.md`` in the results folder ``out``."""
    s = loaded.scenario
    lines = _report_head("SkyMesh run", s, summary) + [
        f"| constellation | {s.constellation.preset or s.constellation.file} |",
        f"| routing mode | {summary['mode']} |",
        f"| terminals | {summary['terminals']:,} in {', '.join(summary['terminal_countries'])} |",
        f"| gateways | {summary['gateways']} |",
        _provenance_row(summary),
        "",
    ]
    from skymesh.report.components import access_section

    for op in summary["operators"]:
        lines += operator_section(op, s.metrics.wanted)
        lines += access_section(op)
    for key in ("capacity", "cost"):
        if key in summary:
            lines += [f"## {key.title()}", ""] + summary[key].get("markdown", []) + [""]
    if s.assumptions or s.sources:
        lines += ["## Assumptions and sources", ""]
        lines += [f"- {a}" for a in s.assumptions] + [f"- Source: {x}" for x in s.sources] + [""]
    return _write_report_md(out, lines, summary)


def write_routing_report(out: Path, summary: dict, loaded) -> Path:
    """Write ``report.md`` for a routing study."""
    s = loaded.scenario
    r = summary["space_rtt_ms"]
    lines = _report_head("SkyMesh routing study", s, summary) + [
        f"| constellation | {summary['constellation']} ({summary['satellites']:,} satellites) |",
        f"| routing mode | {summary['mode']} |",
        f"| ground points | {summary['ground_points']:,} ({summary['pairs']:,} pairs) |",
        f"| space RTT (propagation only) p50 / p95 / p99 | {_f(r['p50'])} / "
        f"{_f(r['p95'])} / {_f(r['p99'])} ms |",
        f"| pair-steps reachable | {_pct(summary['reachable_fraction'])} |",
        f"| forwarding entries per step | {summary['fstate_entries']:,} |",
        f"| forwarding changes per step, mean / max | "
        f"{summary['fstate_changes_per_step']['mean']:,.0f} / "
        f"{summary['fstate_changes_per_step']['max']:,} |",
        _provenance_row(summary),
        "",
        "Files: `rtt.parquet` (step, src, dst, space_rtt_ms), `fstate_changes.parquet` (step, "
        "node, dst, next_hop: every entry at the first step, then changes), "
        "`pairs.parquet` (per-pair statistics).",
        "",
    ]
    return _write_report_md(out, lines, summary)


def _report_head(title: str, s, summary: dict) -> list[str]:
    """A run report's title, the scenario's description and its table's first row (the
    window: start, duration and step in s, steps)."""
    return [
        f"# {title}: {s.name}",
        "",
        s.description.strip(),
        "",
        "| | |",
        "|---|---|",
        f"| window | {summary['start_utc']}, {summary['duration_s']:g} s every "
        f"{summary['step_s']:g} s ({summary['steps']:,} steps) |",
    ]


def _provenance_row(summary: dict) -> str:
    """The table row naming the SkyMesh version, the scenario's sha256 and the seed."""
    run = summary["run"]
    return (
        f"| SkyMesh | {run['skymesh_version']}, scenario sha256 "
        f"{run['scenario_sha256'][:12]}, seed {run['seed']} |"
    )


def _write_report_md(out: Path, lines: list[str], summary: dict) -> Path:
    """``lines``, then the run's notes and figures, written as ``report.md`` in ``out``."""
    if summary.get("notes"):
        lines += ["## Notes", ""] + [f"- {n}" for n in summary["notes"]] + [""]
    if summary.get("figures"):
        lines += ["## Figures", ""] + [f"![{f}]({f})" for f in summary["figures"]] + [""]
    path = Path(out) / "report.md"
    write_text_atomic(path, "\n".join(lines) + "\n")
    return path
