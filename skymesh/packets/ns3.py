"""Load ns-3 (the ``ns3`` pip wheel, 3.44) once per process, quietly, with SkyMesh's C++ helpers.

The helpers are C++ files in this package, ``cxx/engine.h``, ``cxx/engine.cc`` and
``cxx/fwd_routing.h`` (what must be C++, and why, is in ``engine.h``): cppyy compiles them
into the process when ns-3 is loaded (``#include "engine.cc"``, with ``cxx/`` on the include
path), against the wheel's own headers, so no compiler or build step is needed at install.

``from ns import ns`` takes ~13-17 s (cppyy parses the ns-3 headers) and prints "Failed to
materialize symbols" lines from the JIT on stderr, harmless; they are silenced here by
pointing file descriptor 2 at /dev/null for the import. The wheel's loader also looks for
ns-3 libraries under the *current directory*, recursively (``ns/__init__.py``,
``_search_libraries``): started from a large tree it crawls all of it, and if that tree holds
another ns-3 install (another virtualenv) it refuses to load ("multiple build profiles for
module ..."). The import therefore runs with the working directory set to the wheel's own
package directory.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

from skymesh.errors import SkyMeshError

INSTALL_HINT = "ns-3 is not installed: pip install 'skymesh[packets]'"
CXX_DIR = Path(__file__).resolve().parent / "cxx"
"""The folder of the C++ helpers (shipped as package data)."""
CXX_FILES = ("fwd_routing.h", "engine.h", "engine.cc")
"""The C++ helpers' files in :data:`CXX_DIR`; ``engine.cc`` includes the two headers."""

_NS: Any = None


def available() -> bool:
    """True when the ``ns3`` wheel is importable (without importing it)."""
    return importlib.util.find_spec("ns") is not None


@contextlib.contextmanager
def _quiet_fd2():
    """Send file descriptor 2 (C++ and Python stderr) to /dev/null for the block."""
    sys.stderr.flush()
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def load_ns3() -> Any:
    """The ``ns`` namespace of ns-3 with SkyMesh's helpers defined (``ns.cppyy.gbl.skymesh_pk``).

    Raises :class:`skymesh.errors.SkyMeshError` with an install hint when ns-3 is absent.
    """
    global _NS
    if _NS is not None:
        return _NS
    spec = importlib.util.find_spec("ns")
    if spec is None or spec.origin is None:
        raise SkyMeshError(INSTALL_HINT)
    here = os.getcwd()
    try:
        os.chdir(Path(spec.origin).resolve().parent)
        with _quiet_fd2():
            from ns import ns

            ns.cppyy.add_include_path(str(CXX_DIR))
            ns.cppyy.cppdef('#include "engine.cc"')
    except ImportError as err:
        raise SkyMeshError(f"{INSTALL_HINT} (importing it failed: {err})") from None
    finally:
        os.chdir(here)
    _NS = ns
    return ns


def helpers() -> Any:
    """The ``skymesh_pk`` C++ namespace (after :func:`load_ns3`)."""
    return load_ns3().cppyy.gbl.skymesh_pk
