"""compare_results.py: identical folders pass, a changed row fails, bad folders exit 2."""

import importlib.util
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "compare_results.py"


def _load():
    spec = importlib.util.spec_from_file_location("compare_results", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _folder(root: Path, rtt_value: float = 40.0) -> Path:
    root.mkdir()
    for name in ("rtt", "fstate_changes"):
        (root / f"{name}.parquet").mkdir()
    for i in range(2):
        pq.write_table(
            pa.table(
                {"step": [i, i], "src": [0, 0], "dst": [1, 2], "space_rtt_ms": [rtt_value, 50.0]}
            ),
            root / "rtt.parquet" / f"part-{i:05d}.parquet",
        )
        pq.write_table(
            pa.table({"step": [i], "node": [3], "dst": [1], "next_hop": [4]}),
            root / "fstate_changes.parquet" / f"part-{i:05d}.parquet",
        )
    pq.write_table(pa.table({"src": ["a"], "dst": ["b"]}), root / "pairs.parquet")
    (root / "summary.json").write_text(json.dumps({"space_rtt_ms": {"p50": 45.0}, "steps": 2}))
    return root


def test_identical_folders_pass(tmp_path, capsys):
    mod = _load()
    a, b = _folder(tmp_path / "a"), _folder(tmp_path / "b")
    assert mod.main([str(a), str(b)]) == 0
    assert "rtt: 2 parts, 4 rows identical" in capsys.readouterr().out


def test_one_changed_row_fails(tmp_path):
    mod = _load()
    a, b = _folder(tmp_path / "a"), _folder(tmp_path / "b", rtt_value=40.000001)
    try:
        mod.main([str(a), str(b)])
    except SystemExit as exc:
        assert exc.code == 1
    else:
        raise AssertionError("a changed RTT went unnoticed")


def test_not_a_results_folder_exits_2(tmp_path, capsys):
    mod = _load()
    a = _folder(tmp_path / "a")
    b = tmp_path / "b"
    shutil.copytree(a, b)
    (b / "summary.json").unlink()
    assert mod.main([str(a), str(b)]) == 2
    assert "not a finished routing study" in capsys.readouterr().err
    assert mod.main([str(a)]) == 2
