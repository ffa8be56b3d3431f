"""The habits that keep the code healthy: ruff (lint and format) and mypy over the tree.

ruff and mypy come with the test extra, pinned to a minor release because both change
their verdicts between releases; without them these tests skip with one line.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TREES = ["skymesh", "tests", "benchmarks", "examples", "docs"]


def _ruff() -> str:
    exe = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if exe is None:
        pytest.skip("ruff is not installed: pip install -e '.[test]' to run the lint checks")
    return exe


def test_ruff_lint():
    res = subprocess.run(
        [_ruff(), "check", "--output-format", "concise", *TREES],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-1000:]


def test_ruff_format():
    res = subprocess.run(
        [_ruff(), "format", "--check", *TREES], cwd=REPO, capture_output=True, text=True
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-1000:]


def test_mypy_over_skymesh():
    pytest.importorskip(
        "mypy", reason="mypy is not installed: pip install -e '.[test]' to type-check"
    )
    res = subprocess.run([sys.executable, "-m", "mypy"], cwd=REPO, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-1000:]
