"""Fuzz suite plumbing: Hypothesis profiles, the clean-rejection check and the tally.

Every fuzz test hands each generated input to :meth:`Fuzz.check` (a parser) or
:meth:`Fuzz.cli` (the command line), which sorts it into one of three outcomes:

* **accepted**: the parser returned (and the input was not built to be invalid;
  tests add their own checks on what came back);
* **rejected**: a clean rejection, an :class:`~skymesh.errors.InputError` (or
  another ``SkyMeshError``) whose message is one non-empty line; for the CLI, exit
  status 2 and exactly one non-empty stderr line starting ``error:``, with no
  "Traceback" or "internal error";
* **bad**: anything else: any other exception (a traceback for a user), a message
  on several lines, an invalid input accepted, a CLI crash or a wrong exit status.

Profiles (``SKYMESH_FUZZ_PROFILE``):

* ``ci`` (default): a fixed, small number of examples per test, derandomized, so
  ``make test`` costs a few seconds and always runs the same cases. A bad case
  fails the test at once and Hypothesis shrinks it to a minimal example.
* ``fuzz``: the long campaign of ``make fuzz``: :data:`FUZZ_FACTOR` times the
  examples, a fresh random seed, and bad cases *collected* (the test goes on and
  fails at its end listing up to five of them), so the counts are those of the
  cases generated, not of shrinking. ``SKYMESH_FUZZ_FACTOR`` changes the factor.

At the end of the session the counts per parser are printed as a table and, when
``SKYMESH_FUZZ_REPORT`` names a file, written there as JSON.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
from collections import defaultdict
from pathlib import Path

import pytest

from skymesh.errors import SkyMeshError


def _load_kit():
    """tests/fuzz/fuzzkit.py (profiles, budgets, strategies), imported once by name."""
    import importlib.util
    import sys

    name = "skymesh_tests_fuzzkit"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("fuzzkit.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


kit = _load_kit()
PROFILE = kit.PROFILE
COLLECT = PROFILE == "fuzz"
"""Collect bad cases instead of failing at the first (the campaign's counts)."""


class BadCase(AssertionError):
    """A fuzz input that was neither accepted correctly nor rejected cleanly."""


def one_clean_line(message: str) -> bool:
    """A message a user can read: one non-empty printable line (no CR, tab or other
    control character echoed raw), no traceback, not a dump."""
    body = message[:-1] if message.endswith("\n") else message
    return (
        bool(body.strip())
        and body.isprintable()
        and "Traceback" not in body
        and "internal error" not in body
        and len(body) <= 2000
    )


def clean_lines(message: str) -> bool:
    """One clean line, or several problems at once (``skymesh.errors.InputErrors``): the
    summary ``N problems in FILE:`` then at most MAX_PROBLEMS clean lines, one each."""
    from skymesh.errors import MAX_PROBLEMS

    body = message[:-1] if message.endswith("\n") else message
    lines = body.split("\n")
    if len(lines) == 1:
        return one_clean_line(body)
    head = lines[0].removeprefix("error: ")
    return (
        re.match(r"^\d+ problems( in .*)?( \(the first \d+ shown\))?:$", head) is not None
        and 2 <= len(lines) <= MAX_PROBLEMS + 1
        and all(one_clean_line(line) for line in lines)
    )


class Fuzz:
    """Outcome counts per parser, and the checks that produce them."""

    def __init__(self):
        self.counts = defaultdict(lambda: {"tried": 0, "accepted": 0, "rejected": 0, "bad": 0})
        self.bad_examples = defaultdict(list)
        self.bad_log: list[str] = []  # every bad case, in order (for the test's report)

    # -- bookkeeping
    def _record(self, parser: str, outcome: str, detail: str = "") -> str:
        c = self.counts[parser]
        c["tried"] += 1
        c[outcome] += 1
        if outcome == "bad":
            self.bad_log.append(f"{parser}: {detail}")
            if len(self.bad_examples[parser]) < 5:
                self.bad_examples[parser].append(detail)
            if not COLLECT:
                raise BadCase(f"{parser}: {detail}")
        return outcome

    # -- parsers
    def check(
        self,
        parser: str,
        call,
        *,
        invalid: bool = False,
        valid: bool = False,
        why: str = "",
        accept_check=None,
        reject_check=None,
    ):
        """Run ``call()``; sort the outcome. ``invalid``: the input was built to be wrong,
        so accepting it is bad; ``valid``: built to be right, so rejecting it is bad.
        ``accept_check(result)`` / ``reject_check(error)`` return a reason string when an
        accepted result / a rejection is wrong (or None).
        Returns ``(outcome, result_or_error)``."""
        try:
            result = call()
        except SkyMeshError as exc:
            if valid:
                return self._record(parser, "bad", f"{why}: rejected a valid input: {exc}"), exc
            reason = reject_check(exc) if reject_check is not None else None
            if reason:
                return self._record(parser, "bad", f"{why}: {reason}: {exc}"[:1200]), exc
            if clean_lines(str(exc)):
                return self._record(parser, "rejected"), exc
            return self._record(parser, "bad", f"{why}: unclean message {str(exc)!r}"), exc
        except Exception as exc:  # noqa: BLE001 - any other exception is what we look for
            return self._record(parser, "bad", f"{why}: {type(exc).__name__}: {exc}"[:1200]), exc
        if invalid:
            return self._record(parser, "bad", f"{why}: accepted an invalid input"), result
        if accept_check is not None:
            reason = accept_check(result)
            if reason:
                return self._record(parser, "bad", f"{why}: accepted but {reason}"), result
        return self._record(parser, "accepted"), result

    # -- command line
    def cli(
        self, argv: list[str], *, invalid: bool = False, valid: bool = False, parser: str = "cli"
    ):
        """Run ``skymesh.cli.main(argv)`` in-process, capturing stdout and stderr.

        Exit 0 is accepted (bad when ``invalid``); exit 2 with exactly one stderr line
        starting ``error:`` is a clean rejection (bad when ``valid``); anything else is
        bad."""
        from skymesh.cli import main

        out, err = io.StringIO(), io.StringIO()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main(list(argv))
        except BaseException as exc:  # noqa: BLE001 - main() must never raise
            if isinstance(exc, KeyboardInterrupt):
                raise
            return self._record(
                parser, "bad", f"{argv!r}: main raised {type(exc).__name__}: {exc}"[:500]
            ), None
        stderr = err.getvalue()
        lines = [ln for ln in stderr.splitlines() if ln.strip()]
        if code == 0:
            if invalid:
                return self._record(parser, "bad", f"{argv!r}: exit 0 for an invalid input"), 0
            if "Traceback" in stderr or "internal error" in stderr:
                return self._record(parser, "bad", f"{argv!r}: exit 0 but {stderr!r}"[:500]), 0
            return self._record(parser, "accepted"), 0
        if (
            code == 2
            and len(lines) == len(stderr.splitlines()) >= 1
            and lines[0].startswith("error: ")
            and clean_lines(stderr)
        ):
            if valid:
                return self._record(
                    parser, "bad", f"{argv!r}: valid arguments refused: {stderr.strip()}"[:500]
                ), code
            return self._record(parser, "rejected"), code
        return self._record(parser, "bad", f"{argv!r}: exit {code}, stderr {stderr[:300]!r}"), code

    # -- report
    def table(self) -> str:
        rows = [("parser", "tried", "accepted", "rejected cleanly", "bad")]
        total = {"tried": 0, "accepted": 0, "rejected": 0, "bad": 0}
        for parser in sorted(self.counts):
            c = self.counts[parser]
            rows.append((parser, *(f"{c[k]:,}" for k in ("tried", "accepted", "rejected", "bad"))))
            for k in total:
                total[k] += c[k]
        rows.append(("total", *(f"{total[k]:,}" for k in ("tried", "accepted", "rejected", "bad"))))
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        lines = []
        for n, r in enumerate(rows):
            lines.append(
                "  ".join(
                    r[0].ljust(widths[0]) if i == 0 else r[i].rjust(widths[i]) for i in range(5)
                )
            )
            if n == 0 or n == len(rows) - 2:
                lines.append("  ".join("-" * w for w in widths))
        return "\n".join(lines)


FUZZ = Fuzz()


@pytest.fixture(scope="session")
def fuzz() -> Fuzz:
    """The session's tally and checks (session-scoped, so Hypothesis may use it)."""
    return FUZZ


@pytest.fixture(scope="session")
def scratch(tmp_path_factory) -> Path:
    """A folder for the files fuzz cases write (one name per parser, overwritten)."""
    return tmp_path_factory.mktemp("fuzz")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """In the campaign, a test that collected bad cases fails at its end, listing them."""
    before = len(FUZZ.bad_log)
    result = yield
    new = FUZZ.bad_log[before:]
    if COLLECT and new:
        raise BadCase(f"{len(new)} bad case(s), e.g.:\n" + "\n".join(new[:5]))
    return result


def pytest_terminal_summary(terminalreporter):
    if not FUZZ.counts:
        return
    terminalreporter.write_sep("-", f"fuzz counts (profile '{PROFILE}')")
    terminalreporter.write_line(FUZZ.table())
    report = os.environ.get("SKYMESH_FUZZ_REPORT")
    if report:
        doc = {
            "profile": PROFILE,
            "counts": {k: dict(v) for k, v in FUZZ.counts.items()},
            "bad_examples": {k: v for k, v in FUZZ.bad_examples.items() if v},
        }
        Path(report).parent.mkdir(parents=True, exist_ok=True)
        Path(report).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        terminalreporter.write_line(f"fuzz counts written to {report}")
