"""The validation table as text: rows for the terminal, Markdown and JSON documents."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from skymesh import __version__


def _num(x, unit: str = "") -> str:
    if x is None:
        return "-"
    text = f"{x:.3g}" if abs(x) < 10 else f"{x:.1f}"
    return f"{text} {unit}".strip()


def band_text(row: dict) -> str:
    return f"{row['band_low']:g}-{row['band_high']:g}"


def terminal_rows(rows: list[dict]) -> list[tuple[str, ...]]:
    """(case, published, SkyMesh, ratio, band, result) strings for the 80-column table."""
    unit = {"share": ""}
    return [
        (
            r["id"],
            _num(r["published"], unit.get(r["unit"], r["unit"])),
            _num(r["model"], unit.get(r["unit"], r["unit"])),
            "-" if r["ratio"] is None else f"{r['ratio']:.2f}",
            band_text(r),
            r["outcome"],
        )
        for r in rows
    ]


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(rows: list[dict], *, quick: bool = False) -> str:
    """The full table (conditions, sources, justifications, notes) as Markdown."""
    n_fail = sum(r["outcome"] == "FAIL" for r in rows)
    n_skip = sum(r["outcome"] == "skipped" for r in rows)
    lines = [
        f"# SkyMesh validation{' (quick subset)' if quick else ''}",
        "",
        f"SkyMesh {__version__}, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC: "
        f"{len(rows)} cases, {len(rows) - n_fail - n_skip} in band, {n_fail} outside, "
        f"{n_skip} skipped. Ratio = SkyMesh / published; bands were chosen before the "
        "model ran.",
        "",
        "| case | published | SkyMesh | ratio | band | result |",
        "|---|---:|---:|---:|---|---|",
    ]
    for r, t in zip(rows, terminal_rows(rows)):
        lines.append(
            "| " + " | ".join(_cell(x) for x in (r["title"] + f" (`{r['id']}`)", *t[1:])) + " |"
        )
    lines += ["", "## Cases", ""]
    for r in rows:
        lines += [
            f"### `{r['id']}`: {_cell(r['title'])}",
            "",
            f"- published: {_num(r['published'], r['unit'])} — {r['source']} "
            f"(status {r['status']})",
            f"- conditions: {r['conditions']}",
            f"- band {band_text(r)}: {r['justification']}",
            f"- SkyMesh: {_num(r['model'], r['unit'])}, ratio "
            f"{'-' if r['ratio'] is None else format(r['ratio'], '.2f')}: "
            f"**{r['outcome']}**" + (f" ({r['note']})" if r["note"] else ""),
            "",
        ]
    return "\n".join(lines)


def to_json(rows: list[dict], *, quick: bool = False) -> str:
    from skymesh.report.tables import jsonable

    doc = dict(
        skymesh=__version__,
        generated_utc=datetime.now(timezone.utc),
        quick=quick,
        cases=rows,
        failed=[r["id"] for r in rows if r["outcome"] == "FAIL"],
    )
    return json.dumps(jsonable(doc), indent=1) + "\n"
