"""--force may only replace a results folder SkyMesh made (issue 9 §3)."""

from types import SimpleNamespace

import pytest

from skymesh.errors import SkyMeshError
from skymesh.sim.run import _open_results, check_replaceable


def _loaded():
    return SimpleNamespace(
        text="name = 'tiny'\n",
        source="tiny.toml",
        sha256="abc",
        scenario=SimpleNamespace(
            name="tiny",
            seed=1,
            constellation=SimpleNamespace(preset="starlink-shell1", file=None, isls=None),
            second_operator=None,
            terminals=[],
            gateways_file=None,
            pops_file=None,
        ),
    )


def test_force_refuses_user_folder_and_file_survives(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    with pytest.raises(SkyMeshError, match="did not create"):
        _open_results(out, _loaded(), None, [(0, 1)], force=True, resume=False)
    assert (out / "thesis.tex").read_text() == "precious"


def test_force_replaces_skymesh_folder(tmp_path):
    out = tmp_path / "res"
    _open_results(out, _loaded(), None, [(0, 1)], force=False, resume=False)
    (out / "old.parquet").write_text("x")
    _open_results(out, _loaded(), None, [(0, 1)], force=True, resume=False)
    assert (out / "run.json").exists() and not (out / "old.parquet").exists()


def test_empty_existing_folder_is_used(tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    _open_results(out, _loaded(), None, [(0, 1)], force=False, resume=False)
    assert (out / "run.json").exists()


@pytest.mark.parametrize("which", ["cwd", "parent", "home"])
def test_force_refuses_cwd_parent_home(tmp_path, monkeypatch, which):
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    monkeypatch.chdir(work)
    target = {"cwd": work, "parent": work.parent, "home": tmp_path / "home"}[which]
    # even a folder holding a genuine manifest is refused
    (target / "run.json").write_text(
        '{"skymesh_version": "1", "scenario_sha256": "abc", "seed": 1}'
    )
    with pytest.raises(SkyMeshError, match="refusing"):
        check_replaceable(target)
    assert (target / "run.json").exists()


@pytest.mark.parametrize("bad", ["../../x", "/tmp/abs", "a/b", ".hidden", "a..b"])
def test_scenario_name_must_be_a_safe_slug(tmp_path, bad):
    from skymesh.errors import InputError
    from skymesh.sim.scenario import load_scenario
    from tests.sim.test_scenario_errors import GOOD

    p = tmp_path / "s.toml"
    p.write_text(GOOD.replace('name = "ok"', f'name = "{bad}"', 1))
    with pytest.raises(InputError) as err:
        load_scenario(p)
    assert err.value.field == "name" and err.value.line == 1
    assert "safe folder name" in str(err.value)
