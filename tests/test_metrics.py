"""skymesh.metrics: one name, one meaning, and docs/figures.md says the same (issue 21)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import numpy as np
import pytest

from skymesh import metrics

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "figures.md"


def _page_rows() -> dict[str, list[str]]:
    """The rows of the page's "Every headline figure" table, by the figure's name."""
    text = PAGE.read_text(encoding="utf-8")
    section = text.split("## Every headline figure", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        m = re.fullmatch(r"`([a-z0-9_]+)`", cells[0]) if line.startswith("| `") else None
        if m:
            assert m.group(1) not in rows, f"{m.group(1)} twice on the page"
            rows[m.group(1)] = cells
    return rows


def test_the_page_lists_every_figure_and_nothing_else():
    rows = _page_rows()
    names = [f.name for f in metrics.FIGURES]
    assert len(names) == len(set(names))
    assert set(rows) == set(names)


def test_the_page_gives_each_figure_its_unit_and_function():
    rows = _page_rows()
    for f in metrics.FIGURES:
        cells = rows[f.name]
        assert cells[1] == f.unit, f.name
        assert cells[3] == f"`{f.computed_by}`", f.name


def test_each_figure_names_a_function_that_exists():
    for f in metrics.FIGURES:
        module, _, attr = f.computed_by.rpartition(".")
        assert callable(getattr(importlib.import_module(module), attr)), f.computed_by
        assert f.faces and f.meaning and f.unit


def test_the_two_rtts_and_their_labels():
    assert "with access" in metrics.figure("rtt_ms").meaning
    assert "Propagation only" in metrics.figure("space_rtt_ms").meaning
    text = PAGE.read_text(encoding="utf-8")
    assert metrics.RTT_LABEL in text and metrics.SPACE_RTT_LABEL in text
    with pytest.raises(KeyError):
        metrics.figure("throughput_gbps")  # renamed: aggregate_gbps


def test_the_page_is_in_the_site_navigation():
    assert "figures.md" in (ROOT / "mkdocs.yml").read_text(encoding="utf-8")


def test_percentile_summary_is_numpys():
    v = np.array([5.0, np.nan, 1.0, 3.0, 2.0, 4.0])
    s = metrics.percentile_summary("rtt_ms", v)
    ok = v[np.isfinite(v)]
    assert list(s) == [
        "rtt_ms_min",
        "rtt_ms_p50",
        "rtt_ms_mean",
        "rtt_ms_p95",
        "rtt_ms_p99",
        "rtt_ms_max",
    ]
    assert s["rtt_ms_p50"] == 3.0 and s["rtt_ms_mean"] == 3.0
    assert s["rtt_ms_p95"] == pytest.approx(np.percentile(ok, 95))
    assert (s["rtt_ms_min"], s["rtt_ms_max"]) == (1.0, 5.0)
    empty = metrics.percentile_summary("space_rtt_ms", [np.nan])
    assert set(empty.values()) == {None} and "space_rtt_ms_p99" in empty
