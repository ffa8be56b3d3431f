"""`skymesh validate`: the quick subset in band, the registry, files, exit codes."""

import json

import pytest

from skymesh.cli import main
from skymesh.validate import cases as vc
from skymesh.validate.report import to_markdown


def test_quick_subset_is_in_band(shared_data_or_none):
    """The fast cases (`skymesh validate --quick`) against their published figures.

    Each case states its independent source and a band chosen before the model ran;
    data cases skip without SKYMESH_DATA (their row says so).
    """
    rows = vc.run_cases(quick=True, data_dir=shared_data_or_none)
    assert rows and all(r["quick"] for r in rows)
    for r in rows:
        if r["outcome"] == "skipped":
            assert "SKYMESH_DATA" in r["note"]
            continue
        assert r["outcome"] == "pass", r


@pytest.fixture
def shared_data_or_none():
    """The curated data folder as tests/conftest.py finds it, or None (cases then skip)."""
    import os
    from pathlib import Path

    env = os.environ.get("SKYMESH_DATA")
    folder = Path(env) if env else Path(__file__).resolve().parents[2].parent / "shared" / "data"
    return folder if (folder / "starlink_tle_20251204.txt").is_file() else None


def test_registry_rejects_bad_cases():
    base = dict(
        title="t",
        published=1.0,
        unit="ms",
        conditions="c",
        source="s",
        status="A",
        justification="j",
        compute=lambda ctx: 1.0,
    )
    with pytest.raises(Exception, match="band"):
        vc.register(vc.Case(id="bad-band", band=(2.0, 1.0), **base))
    with pytest.raises(Exception, match="twice"):
        vc.register(vc.Case(id="slot-steps", band=(0.5, 2.0), **base))
    ids = [c.id for c in vc.all_cases()]
    assert len(ids) == len(set(ids))
    assert {
        "us-peak-2025",
        "us-peak-2024",
        "bent-pipe-2023-gb",
        "bent-pipe-2023-au",
        "gs-pop-us-ca",
        "min-rtt-ulukhaktok",
        "slot-steps",
    } <= set(ids)


def test_data_cases_skip_without_data():
    row = vc.run_case(
        next(c for c in vc.all_cases() if c.id == "gs-pop-us-ca"), vc.Context(data_dir=None)
    )
    assert row["outcome"] == "skipped" and row["model"] is None


@pytest.fixture
def fake_registry(monkeypatch):
    """Two trivial cases, one in band and one outside, instead of the real ones."""
    vc.all_cases()  # import the modules that register cases before the registry is swapped
    base = dict(unit="ms", conditions="c", source="s", status="A", justification="j", quick=True)
    fake = {
        "inside": vc.Case(
            id="inside",
            title="in",
            published=10.0,
            band=(0.9, 1.1),
            compute=lambda ctx: 10.5,
            **base,
        ),
        "outside": vc.Case(
            id="outside",
            title="out | pipe",
            published=10.0,
            band=(0.9, 1.1),
            compute=lambda ctx: (20.0, "twice the figure"),
            **base,
        ),
    }
    monkeypatch.setattr(vc, "_REGISTRY", fake)
    monkeypatch.setenv("COLUMNS", "80")
    return fake


def test_cli_exit_1_outside_band_and_files(fake_registry, tmp_path, capsys):
    code = main(["validate", "--out-dir", str(tmp_path / "v")])
    out, err = capsys.readouterr()
    assert code == 1
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "outside" in err and "twice the figure" in out
    doc = json.loads((tmp_path / "v" / "validation.json").read_text())
    assert doc["failed"] == ["outside"]
    assert {r["id"]: r["ratio"] for r in doc["cases"]} == {"inside": 1.05, "outside": 2.0}
    md = (tmp_path / "v" / "validation.md").read_text()
    assert "out \\| pipe" in md and "**FAIL**" in md
    # Existing files need --force; no temporary files are left behind.
    assert main(["validate", "--out-dir", str(tmp_path / "v")]) == 2
    assert main(["validate", "--out-dir", str(tmp_path / "v"), "--force"]) == 1
    assert sorted(p.name for p in (tmp_path / "v").iterdir()) == [
        "validation.json",
        "validation.md",
    ]


def test_cli_exit_0_json_stdout_and_usage_errors(fake_registry, tmp_path, capsys):
    del fake_registry["outside"]
    assert main(["validate", "--json", "-"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [r["outcome"] for r in doc["cases"]] == ["pass"]
    assert main(["validate", "--md", str(tmp_path / "x.txt")]) == 2
    assert "expected a .md file" in capsys.readouterr().err
    assert main(["validate", "--case", "nope"]) == 2
    err = capsys.readouterr().err
    assert "--case: no validation case 'nope'" in err and err.count("\n") == 1  # one line


def test_markdown_names_every_case(fake_registry):
    rows = vc.run_cases()
    md = to_markdown(rows)
    assert md.count("### `") == 2 and "band 0.9-1.1" in md


def test_native_output_does_not_reach_stdout(fake_registry, capfd):
    """A native library writing on descriptor 1 (an LP solver banner) lands on stderr."""
    import os

    del fake_registry["outside"]
    case = fake_registry["inside"]

    def noisy(ctx):
        os.write(1, b"SOLVER BANNER\n")
        return 10.0

    fake_registry["inside"] = vc.Case(**{**case.__dict__, "compute": noisy})
    assert main(["validate", "--json", "-"]) == 0
    out, err = capfd.readouterr()
    assert json.loads(out)["cases"][0]["outcome"] == "pass"
    assert "SOLVER BANNER" in err


def test_every_rtt_case_names_the_figure_it_compares():
    """Like with like: a measured RTT (what a user measures) is compared with SkyMesh's
    ``rtt_ms``, a light-speed figure with ``space_rtt_ms``, a ground leg with
    ``fibre_ms`` (issue 21: one name, one meaning)."""
    from skymesh.access.delay import COLUMNS
    from skymesh.metrics import FIGURES

    known = {f.name for f in FIGURES} | set(COLUMNS)
    ms = [c for c in vc.all_cases() if c.unit == "ms"]
    assert ms
    for c in ms:
        assert c.figure in known, c.id
    by_id = {c.id: c.figure for c in ms}
    assert by_id["light-speed-floor"] == "space_rtt_ms"
    assert by_id["us-peak-2025"] == by_id["min-rtt-near-pop"] == "rtt_ms"
    assert by_id["bent-pipe-2023-gb"] == "rtt_ms"
    assert by_id["gs-pop-us-ca"] == "fibre_ms"
