"""Every command in README.md and docs/*.md runs as shown (in ``make test``).

The commands are extracted from the fenced blocks: each line of a ``sh``/``bash`` block
(``\\`` continuations joined, comment lines dropped), each ``$ `` line of a ``text`` block
(a session transcript), and each ``python`` block as one script. Each runs in its own
temporary folder (so ``results/...`` and ``rtt.png`` land there), with the CLI of this tree.

A command that takes long runs in a quick form, and one that needs the network, a server or
a cluster is skipped: both are listed below, each with its reason, and each entry must still
match a command of the docs (a stale entry fails). Everything else runs exactly as written.
A ``skymesh run`` shown without ``--yes`` must also pass the time gate as written (its
estimate under :data:`skymesh.sim.estimate.SLOW_S`), since that is what a reader meets.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, have_shared_data

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]

SKIP = {
    "make demo": "builds .venv and runs the tour; its commands are the README's own, run here",
    "make test": "this suite itself",
    "make examples": "run by tests/test_examples.py",
    "make docs": "needs the docs extras (mkdocs); built by `make docs`",
    "pip install 'skymesh[packets]'": "needs the network (PyPI)",
    "dask scheduler": "starts a long-running Dask scheduler (a server)",
    "dask worker tcp://HOST:8786": "needs a Dask scheduler at HOST (a server)",
    "skymesh run iran-2022 --scheduler tcp://HOST:8786": "needs a Dask scheduler at HOST",
    "skymesh serve [--db URL]": "a usage synopsis (options in brackets), and it starts a server",
    "skymesh audit verify [--db URL | --file audit.jsonl]": "a usage synopsis (options in "
    "brackets); `skymesh audit verify` is covered by tests/service",
}
"""Commands not run (prefix of the command as written -> why)."""

QUICK = {
    # a long window -> a short one (same command otherwise)
    "skymesh run taiwan-geofence": "skymesh run taiwan-geofence --set time.duration_s=600",
    "SKYMESH_DATA=../shared/data skymesh run starlink-100-cities-24h --scheduler processes": (
        "skymesh run starlink-100-cities-24h --scheduler processes --workers 2 "
        "--set time.duration_s=60"
    ),
    "skymesh run iran-2022 --out results/iran-2022": (
        "skymesh run iran-2022 --out results/iran-2022 --set time.duration_s=60"
    ),
    "skymesh packets Paris Luanda -c starlink-shell1 --duration 200 --step 0.1": (
        "skymesh packets Paris Luanda -c starlink-shell1 --duration 1 --step 0.1"
    ),
    "skymesh packets Paris Luanda -c starlink-shell1 --start 2026-01-01T00:00:00Z --duration 200": (
        "skymesh packets Paris Luanda -c starlink-shell1 --start 2026-01-01T00:00:00Z --duration 1"
    ),
    "skymesh packets taiwan-geofence --duration 60": (
        "skymesh packets taiwan-geofence --duration 10"
    ),
    "skymesh packets taiwan-geofence --start 2026-01-01T00:28:00Z --duration 240": (
        "skymesh packets taiwan-geofence --start 2026-01-01T00:28:00Z --duration 10"
    ),
    "skymesh packets Berlin --pop Warsaw --duration 60": (
        "skymesh packets Berlin --pop Warsaw --duration 1"
    ),
    # the service's default database is in the data directory (read-only shared data here)
    "skymesh serve --init": "skymesh serve --init --db sqlite:///service.sqlite3",
}
"""Long commands -> their quick form: the prefix as written -> the prefix that replaces it
(the rest of the command is kept)."""

PY_QUICK = {
    '"time.duration_s": 300': '"time.duration_s": 60',
}
"""Python blocks: a substring as written -> its quick form."""

SETUP = {
    "--gateways gw.csv": (
        "name,lat,lon,country,type\n"
        "Brussels,50.85,4.35,BE,gateway\n"
        "Frankfurt,50.11,8.68,DE,gateway\n"
    ),
}
"""Files a command reads that the docs ask the reader to bring (a flag as written -> the
content written as that file in the command's folder first)."""


def _blocks(path: Path):
    """(info string, first line number, lines) of each fenced block of ``path``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^```(\w*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        start, body = i + 2, []
        i += 1
        while i < len(lines) and not lines[i].startswith("```"):
            body.append(lines[i])
            i += 1
        i += 1
        yield m.group(1), start, body


def doc_commands() -> list[tuple[str, str, str, bool]]:
    """(where "FILE:LINE", kind "sh" or "python", text, whether it continues the session of
    the command before it: a later ``$`` line of the same ``text`` block) of every command."""
    out = []
    for path in DOCS:
        rel = path.relative_to(REPO)
        for info, start, body in _blocks(path):
            if info == "python":
                out.append((f"{rel}:{start}", "python", "\n".join(body), False))
            elif info in ("sh", "bash"):
                joined, first = "", None
                for k, line in enumerate(body):
                    if first is None:
                        if not line.strip() or line.lstrip().startswith("#"):
                            continue
                        first = start + k
                    if line.rstrip().endswith("\\"):
                        joined += line.rstrip()[:-1].rstrip() + " "
                        continue
                    joined += line.strip()
                    out.append((f"{rel}:{first}", "sh", " ".join(joined.split()), False))
                    joined, first = "", None
            elif info == "text":  # a session: its commands run in order, in one folder
                cmds, k = [], 0
                while k < len(body):
                    if body[k].startswith("$ "):
                        cmd, first = body[k][2:].strip(), start + k
                        while cmd.endswith("\\") and k + 1 < len(body):
                            k += 1
                            cmd = cmd[:-1].rstrip() + " " + body[k].strip()
                        cmds.append((f"{rel}:{first}", " ".join(cmd.split())))
                    k += 1
                out.extend((w, "sh", c, i > 0) for i, (w, c) in enumerate(cmds))
    return out


def _match(table: dict, text: str) -> str | None:
    return next((key for key in table if text.startswith(key)), None)


def quick_form(kind: str, text: str) -> str:
    """The command as this test runs it (the quick form where one is listed)."""
    if kind == "python":
        for old, new in PY_QUICK.items():
            text = text.replace(old, new)
        return text
    key = _match(QUICK, text)
    return QUICK[key] + text[len(key) :] if key else text


COMMANDS = doc_commands()


def _env(tmp: Path) -> dict:
    env = dict(os.environ)
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["MPLBACKEND"] = "Agg"
    env["COLUMNS"] = "100"
    env["XDG_CACHE_HOME"] = str(tmp / "cache")  # nothing lands in the user's own cache
    return env


def test_commands_found():
    """The extraction sees the docs' commands (a format change must not empty this test)."""
    texts = [t for _, kind, t, _ in COMMANDS if kind == "sh"]
    assert len(texts) >= 20
    assert any(
        t.startswith("skymesh run starlink-100-cities-24h") or "100-cities" in t for t in texts
    )
    assert sum(kind == "python" for _, kind, _, _ in COMMANDS) >= 2


@pytest.mark.parametrize("table", [SKIP, QUICK, SETUP])
def test_no_stale_entries(table):
    """Every skip, quick form and set-up still matches a command of the docs."""
    texts = [t for _, kind, t, _ in COMMANDS if kind == "sh"]
    for key in table:
        found = (
            any(t.startswith(key) for t in texts)
            if table is not SETUP
            else any(key in t for t in texts)
        )
        assert found, f"{key!r} matches no command in README.md or docs/*.md"


ITEMS: list[list[tuple[str, str, str]]] = []
for _w, _k, _t, _cont in COMMANDS:
    if _cont:
        ITEMS[-1].append((_w, _k, _t))
    else:
        ITEMS.append([(_w, _k, _t)])


def _run_one(where, kind, text, tmp_path):
    """Run one command in ``tmp_path`` (or skip it, saying why); fail if it exits non-zero."""
    if kind == "sh" and (key := _match(SKIP, text)):
        return f"{where}: {SKIP[key]}"
    first = next(
        w for w, k, t, _ in COMMANDS if (k, quick_form(k, t)) == (kind, quick_form(kind, text))
    )
    if first != where:
        return f"{where}: the same command as {first}, run there"
    if kind == "sh" and text.startswith("skymesh packets"):
        pytest.importorskip("ns", reason="skymesh packets needs the packets extra (ns-3)")
    for flag, content in SETUP.items():
        if kind == "sh" and flag in text:
            (tmp_path / flag.split()[-1]).write_text(content)
    run = quick_form(kind, text)
    if kind == "python":
        script = tmp_path / "block.py"
        script.write_text(run)
        argv = [sys.executable, str(script)]
    else:
        argv = ["bash", "-c", run]
    proc = subprocess.run(
        argv, cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, (
        f"{where}: `{run}` exited {proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    )
    return None


@pytest.mark.parametrize("item", ITEMS, ids=[i[0][0] for i in ITEMS])
def test_doc_command_runs(item, tmp_path):
    """The command (or a session's commands, in order, in one folder) runs as shown, or in
    its listed quick form, and exits 0."""
    if not have_shared_data():
        pytest.skip("the docs' commands use the curated reference data (SKYMESH_DATA)")
    skipped = [why for w, k, t in item if (why := _run_one(w, k, t, tmp_path))]
    if len(skipped) == len(item):
        pytest.skip("; ".join(skipped))


RUNS = [
    (w, t)
    for w, kind, t, _ in COMMANDS
    if kind == "sh" and re.match(r"^(\S+=\S+ )*skymesh run ", t) and not _match(SKIP, t)
]


@pytest.mark.parametrize(("where", "text"), RUNS, ids=[w for w, _ in RUNS])
def test_doc_run_passes_time_gate(where, text):
    """A `skymesh run` shown without --yes is not stopped for --yes as written: its
    estimate, full length, is within the documented threshold."""
    from skymesh.sim.estimate import SLOW_S, estimate_run
    from skymesh.sim.scenario import load_scenario

    if not have_shared_data():
        pytest.skip("the scenarios use the curated reference data (SKYMESH_DATA)")
    argv = shlex.split(text)
    argv = argv[argv.index("run") + 1 :]
    if "--yes" in argv or "-y" in argv:
        return
    from skymesh.cli.runs import _parse_sets

    scheduler, workers, sets = "sync", None, []
    for flag, value in zip(argv, argv[1:]):
        if flag == "--scheduler":
            scheduler = value
        elif flag == "--workers":
            workers = int(value)
        elif flag == "--set":
            sets.append(value)
    overrides = _parse_sets(sets, multi=False)
    est = estimate_run(load_scenario(argv[0], overrides), scheduler=scheduler, workers=workers)
    assert est.seconds <= SLOW_S, f"{where}: `{text}` would stop for --yes: {est.describe()}"
