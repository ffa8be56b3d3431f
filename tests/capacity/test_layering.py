"""Layering: nothing under skymesh/capacity imports skymesh.sim (sim builds on capacity).

Issue 21 §7: the circle ``capacity/region.py`` <-> ``sim/capacity_pass.py`` went through a
slot-network API below ``sim/`` (:mod:`skymesh.capacity.slot_network`). Every import
statement counts, at module level or inside a function.
"""

import ast
from pathlib import Path

import skymesh

PACKAGE = Path(skymesh.__file__).resolve().parent


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
            out += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            # relative: from ..sim import x inside skymesh/capacity reaches skymesh.sim
            base = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[: -node.level])
            out.append((node.lineno, f"{base}.{node.module or ''}".rstrip(".")))
    return out


def test_no_capacity_module_imports_sim():
    files = sorted((PACKAGE / "capacity").rglob("*.py"))
    assert any(f.name == "slot_network.py" for f in files)
    bad = [
        f"{f.relative_to(PACKAGE.parent)}:{line} imports {name}"
        for f in files
        for line, name in _imports(f)
        if name == "skymesh.sim" or name.startswith("skymesh.sim.")
    ]
    assert not bad, "\n".join(bad)


def test_the_run_uses_the_slot_network_below_it():
    names = {n for _, n in _imports(PACKAGE / "sim" / "capacity_pass.py")}
    assert "skymesh.capacity.slot_network" in names
    assert "skymesh.capacity.headline" in names
