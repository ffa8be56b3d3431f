"""The examples in the public API's docstrings (and skymesh.files') run as doctests.

Each docstring is its own test, so a failure names the function whose example broke.
"""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ("skymesh.api", "skymesh.files")


def _cases():
    finder = doctest.DocTestFinder(exclude_empty=True)
    for name in MODULES:
        module = importlib.import_module(name)
        for test in finder.find(module, name, globs=dict(vars(module))):
            if test.examples:
                yield pytest.param(test, id=test.name)


@pytest.mark.parametrize("test", list(_cases()))
def test_docstring_example(test, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # an example that writes a file writes it here
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    out: list[str] = []
    runner.run(test, out=out.append)
    assert runner.failures == 0, "".join(out)


def test_every_public_function_has_an_example():
    """A stable name without a runnable example is a documentation bug."""
    import inspect

    from skymesh import api

    missing = [
        n
        for n in api.__all__
        if inspect.isfunction(getattr(api, n)) and ">>>" not in (getattr(api, n).__doc__ or "")
    ]
    assert not missing, missing
