"""The packet engine's C++ helpers are real C++ files (``skymesh/packets/cxx``) that compile
cleanly: a syntax-and-warnings pass with the system's g++ against the ns3 wheel's own headers
(``-Wall -Wextra -Werror``; ns-3's headers as system headers). It skips with one line where
g++ or the wheel's headers are missing; loading the helpers through cppyy is covered by every
engine test (``tests/packets/test_engine.py``).
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path

import pytest

from skymesh.packets.ns3 import CXX_DIR, CXX_FILES


def _ns3_include() -> Path | None:
    spec = importlib.util.find_spec("ns3")
    for where in (spec and spec.submodule_search_locations) or []:
        if (Path(where) / "include" / "ns3" / "core-module.h").is_file():
            return Path(where) / "include"
    return None


def test_the_helpers_are_files_of_the_package():
    assert sorted(p.name for p in CXX_DIR.iterdir() if p.suffix in (".h", ".cc")) == sorted(
        CXX_FILES
    )


def test_the_helpers_compile_without_warnings():
    gxx, include = shutil.which("g++"), _ns3_include()
    if gxx is None or include is None:
        pytest.skip("g++ or the ns3 wheel's headers are missing: the C++ lint pass is skipped")
    done = subprocess.run(
        [gxx, "-std=c++20", "-fsyntax-only", "-Wall", "-Wextra", "-Werror"]
        + ["-isystem", str(include), str(CXX_DIR / "engine.cc")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
