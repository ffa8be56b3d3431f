"""benchmarks/compare_hypatia.py skips with one line when Hypatia or its venv is missing."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import compare_hypatia  # noqa: E402


def test_skips_without_the_venv(tmp_path, capsys):
    assert compare_hypatia.main(["--hypatia-python", str(tmp_path / "no-python")]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("compare_hypatia: skipped:")


def test_skips_without_the_anchor(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(compare_hypatia, "ANCHORS", tmp_path / "no-anchors")
    assert compare_hypatia.main([]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "no Hypatia anchor" in out[0]
