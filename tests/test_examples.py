"""The worked examples in examples/: the quickest run here (all run with `make examples`).

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


def test_every_example_is_a_percent_script_with_out():
    assert len(ALL) >= 5
    for path in ALL:
        text = path.read_text(encoding="utf-8")
        assert text.startswith("# %% [markdown]"), path.name
        assert "--out" in text, path.name


@pytest.mark.parametrize("name, figures", [
    ("iran_shutdown_bypass.py", ["iran_rtt.png", "iran_served.png"]),
    ("taiwan_geofence_second_operator.py", ["taiwan_served.png", "taiwan_rtt.png"]),
])
def test_quick_example_runs_and_writes_its_figures(name, figures, tmp_path):
    proc = subprocess.run([sys.executable, str(EXAMPLES / name), "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=180, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for f in figures:
        assert (tmp_path / f).stat().st_size > 1000, f
