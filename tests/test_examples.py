"""The worked examples in examples/: each runs here, in bounded time, and writes its figures.

Each example is a percent-format script (``# %%`` cells) runnable as plain Python with
``--out DIR``; the run must finish in bounded time and write its figures.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
ALL = sorted(EXAMPLES.glob("*.py"))
ROUTING_FIGURES = ["rtt_vs_distance.png", "rtt_over_time.png"]


def test_every_example_is_a_percent_script_with_out():
    assert len(ALL) >= 5
    for path in ALL:
        text = path.read_text(encoding="utf-8")
        assert text.startswith("# %% [markdown]"), path.name
        assert "--out" in text, path.name


@pytest.mark.parametrize(
    "name, figures",
    [
        ("iran_shutdown_bypass.py", ["iran_rtt.png", "iran_served.png"]),
        ("taiwan_geofence_second_operator.py", ["taiwan_served.png", "taiwan_rtt.png"]),
        ("ukraine_capacity_cost.py", ["ukraine_capacity.png", "ukraine_bill.png"]),
        ("city_pair_coverage_latency.py", ["coverage.png", "rtt.png", "rtt_cdf.png", "route.png"]),
        ("routing_study.py", ROUTING_FIGURES),
    ],
)
def test_quick_example_runs_and_writes_its_figures(name, figures, tmp_path):
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    for f in figures:
        assert (tmp_path / f).stat().st_size > 1000, f


def test_docs_site_builds_strict(tmp_path):
    """`mkdocs build --strict` (what `make docs` runs): a warning or a broken reference fails.

    Skips when the docs extra (``pip install -e '.[docs]'``) is not installed.
    """
    import os

    for module in ("mkdocs", "mkdocstrings", "material"):
        pytest.importorskip(module, reason="docs extra not installed: pip install -e '.[docs]'")
    root = EXAMPLES.parent
    site = tmp_path / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(site)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, NO_MKDOCS_2_WARNING="1"),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (site / "api.html").is_file()
    api_page = (site / "api.html").read_text(encoding="utf-8")
    from skymesh import api

    for name in api.__all__:  # every stable name is in the reference
        assert f'id="skymesh.api.{name}"' in api_page, name
    for script in ALL:
        assert (site / "examples" / f"{script.stem}.html").is_file(), script.name


def test_ukraine_example_cost_per_carried_terminal_is_skymesh_costs(tmp_path, capsys):
    """The example's cost per carried terminal-month and its capacity headline are exactly
    `skymesh cost ukraine-2022`'s: the same inputs through the same function (they were
    $616 and $1,418 when the example ran its own smaller capacity pass)."""
    import json

    from skymesh.cli import main

    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "ukraine_capacity_cost.py"), "--out", str(tmp_path)]
        + ["--targets", "25"],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    example = json.loads((tmp_path / "figures.json").read_text())["cost"]
    assert main(["cost", "ukraine-2022", "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    per = {p["period"]: p["usd_per_carried_terminal_month"] for p in cli["periods"]}
    assert per == example["usd_per_carried_terminal_month"]
    assert all(v is not None and v > 0 for v in per.values())
    assert cli["carried"]["headline"] == example["headline"]
    assert f"{example['headline']['terminals_at_target']:,}" in proc.stdout
