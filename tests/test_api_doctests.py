"""The examples in the public API's docstrings (and skymesh.files') run as doctests.

Each docstring is its own test, so a failure names the function whose example broke.
"""

from __future__ import annotations

import ast
import doctest
import importlib
import inspect
from pathlib import Path

import pytest

MODULES = ("skymesh.api", "skymesh.files")


def _alias_docs() -> dict[str, str]:
    """The attribute docstrings of ``skymesh.api`` (a string right after ``NAME = ...``): how
    the type aliases (``TimeLike`` ...) are documented; ``__doc__`` does not hold them."""
    from skymesh import api

    body = ast.parse(Path(api.__file__).read_text(encoding="utf-8")).body
    docs = {}
    for node, after in zip(body, body[1:], strict=False):
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            docs[node.targets[0].id] = after.value.value
    return docs


def _public_docs() -> dict[str, str]:
    """Every name of ``skymesh.__all__`` (but ``__version__``, a string) -> its docstring."""
    import skymesh

    aliases = _alias_docs()
    docs = {}
    for name in skymesh.__all__:
        if name == "__version__":
            continue
        obj = getattr(skymesh, name)
        own = inspect.isclass(obj) or inspect.isfunction(obj)
        docs[name] = (obj.__doc__ if own else aliases.get(name)) or ""
    return docs


def _cases():
    finder = doctest.DocTestFinder(exclude_empty=True)
    seen = set()
    for name in MODULES:
        module = importlib.import_module(name)
        for test in finder.find(module, name, globs=dict(vars(module))):
            if test.examples:
                seen.add(test.name)
                yield pytest.param(test, id=test.name)
    # Public names defined outside skymesh.api (Constellation, Place, InputError ...) and the
    # type aliases, whose docstrings the module finder above does not reach.
    import skymesh
    from skymesh import api

    parser = doctest.DocTestParser()
    for name, doc in _public_docs().items():
        obj = getattr(skymesh, name)
        if f"skymesh.api.{name}" in seen or getattr(obj, "__module__", "") == "skymesh.api":
            continue
        test = parser.get_doctest(doc, dict(vars(api)), f"skymesh.{name}", None, 0)
        if test.examples:
            yield pytest.param(test, id=test.name)


@pytest.mark.parametrize("test", list(_cases()))
def test_docstring_example(test, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # an example that writes a file writes it here
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    out: list[str] = []
    runner.run(test, out=out.append)
    assert runner.failures == 0, "".join(out)


def test_every_public_name_has_an_example():
    """A stable name (function, class, error or type alias) without a runnable example is a
    documentation bug (issue 23: 11 of 29 names had none)."""
    docs = _public_docs()
    assert "Constellation" in docs and "TimeLike" in docs
    missing = [n for n, doc in docs.items() if ">>>" not in doc]
    assert not missing, missing
