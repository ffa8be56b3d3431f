"""The built wheel installs (not editable) and works from its own package data.

The wheel is built from a copy of the package sources (``pip wheel``: an isolated build, as
``python -m build`` makes), installed with ``--no-deps`` into a fresh venv, and run
from a folder outside the tree. The fresh venv reaches the already-installed
third-party dependencies through one ``.pth`` path line (a plain path: the source
tree's editable-install hook is not loaded), so the test needs no download beyond the
build backend and proves that SkyMesh itself runs from the wheel alone: the bundled
borders, the built-in scenarios, the shipped element sets and gateway + PoP list, the
packet engine's C++ sources, the console script. Also: the version the package, its metadata,
``skymesh --version`` and pyproject.toml give is one version.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SMOKE = r"""
import sys
from importlib.metadata import version
import skymesh
assert "site-packages" in skymesh.__file__ and "{root}" not in skymesh.__file__, skymesh.__file__
assert version("skymesh") == skymesh.__version__, (version("skymesh"), skymesh.__version__)
from skymesh.ground.countries import country_of, load_countries
cs = load_countries()                                  # the bundled Natural Earth file
assert len(cs) > 150, len(cs)
assert list(country_of([48.85, -33.87], [2.35, 151.21], cs)) == ["FR", "AU"]
from skymesh.sim.scenario import builtin_names
assert {{"iran-2022", "taiwan-geofence", "ukraine-2022"}} <= set(builtin_names())
s = skymesh.load_scenario("taiwan-geofence")
assert s.scenario.second_operator is not None
r = skymesh.run("iran-2022", overrides={{"time.duration_s": 10, "time.step_s": 10,
    "terminals.0.count": 3, "constellation.preset": "starlink-shell1",
    "metrics.wanted": ["service"]}})
assert r.table("timeseries").num_rows == 2 * 3            # 2 steps x 3 terminals
from skymesh.shipped import SHIPPED, package_data_dir      # the shipped data and licences
assert all((package_data_dir() / n).is_file() for n in SHIPPED), list(package_data_dir().iterdir())
assert (package_data_dir() / "LICENSES" / "starlink-viz_MIT.txt").is_file()
from skymesh.ground.sites import load_sites
gw, pops, found = load_sites(package_data_dir() / "starlink_gateways_merged.csv")
assert (len(gw), len(pops)) == (214, 35), (len(gw), len(pops))
from skymesh.orbits.presets import load_constellation
assert len(load_constellation(str(package_data_dir() / "oneweb_tle_20251007.txt"))) == 651
from skymesh.packets.ns3 import CXX_DIR, CXX_FILES       # the packet engine's C++ sources
missing = [n for n in CXX_FILES if not (CXX_DIR / n).is_file()]
assert "site-packages" in str(CXX_DIR) and not missing, (CXX_DIR, missing)
print("ok", skymesh.__version__)
"""


def _pyproject_version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "version"
    ]


def test_one_version_everywhere():
    from typer.testing import CliRunner

    import skymesh
    from skymesh.cli import app

    out = CliRunner().invoke(app, ["--version"]).output.strip()
    assert out == f"skymesh {skymesh.__version__}"
    assert skymesh.__version__ == _pyproject_version()
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"## {skymesh.__version__}" in changelog


def test_wheel_installs_and_runs_from_its_package_data(tmp_path):
    dist, venv, work = tmp_path / "dist", tmp_path / "venv", tmp_path / "work"
    work.mkdir()
    # Build from a copy of what the sdist holds, so no build/ or egg-info of the working
    # tree (stale modules) can reach the wheel.
    src = tmp_path / "src"
    shutil.copytree(
        ROOT / "skymesh", src / "skymesh", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", str(src), "-w", str(dist)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    unreachable = (
        "Could not find a version",
        "No matching distribution",
        "Failed to establish a new connection",
        "Temporary failure in name resolution",
    )
    if build.returncode != 0 and any(text in build.stderr for text in unreachable):
        pytest.skip("the build backend (setuptools) could not be fetched: no package registry")
    assert build.returncode == 0, build.stderr[-3000:]
    wheels = list(dist.glob("skymesh-*.whl"))
    assert len(wheels) == 1, wheels
    assert wheels[0].name.startswith(f"skymesh-{_pyproject_version()}-")
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
    )
    py = venv / "bin" / "python"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(py),
            "install",
            "-q",
            "--no-deps",
            str(wheels[0]),
        ],
        check=True,
        timeout=300,
    )
    purelib = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(purelib) / "_skymesh_test_deps.pth").write_text("\n".join(sorted(deps)) + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SKYMESH_DATA")}
    env["SKYMESH_DATA"] = str(tmp_path / "no-data")  # the wheel alone, no curated data
    smoke = subprocess.run(
        [str(py), "-c", SMOKE.format(root=str(ROOT))],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert smoke.returncode == 0, smoke.stderr[-3000:]
    assert smoke.stdout.strip().endswith(_pyproject_version())
    cli = subprocess.run(
        [str(venv / "bin" / "skymesh"), "--version"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cli.returncode == 0 and cli.stdout.strip() == f"skymesh {_pyproject_version()}"
