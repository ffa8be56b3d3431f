"""Big jobs on the command line: their cost said before they start, their progress while they run.

:func:`gate` takes a :class:`skymesh.sim.estimate.JobEstimate` and, before
any work, refuses a job the machine cannot hold (memory, or disk where the
results go) with the estimate and a way forward, and asks for ``--yes`` when
the job would only be slow (on a terminal it asks; otherwise it refuses and
says to pass ``--yes``).

:class:`JobProgress` shows a job's progress on stderr: a rich bar (steps done,
elapsed, time left) on a terminal; one plain line per chunk otherwise (logs,
CI), once the job has run for :data:`PLAIN_AFTER_S` seconds, so quick jobs
stay quiet.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from skymesh.errors import SkyMeshError
from skymesh.sim.estimate import SLOW_S, JobEstimate, human_bytes, human_seconds

PLAIN_AFTER_S = 2.0
"""Plain progress lines start once a job has run this long (s): shorter jobs print none."""


def memory_budget_bytes() -> int:
    """Memory a job may plan to use before SkyMesh refuses it, bytes: half of what is free."""
    from skymesh.cli.common import _memory_budget_bytes

    return _memory_budget_bytes()


def free_disk_bytes(path) -> int:
    """Free bytes on the file system that holds ``path`` (or its nearest existing parent)."""
    probe = Path(path).absolute()
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    return int(shutil.disk_usage(probe).free)


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stderr.isatty()


def gate(est: JobEstimate, *, yes: bool, hint: str, out=None) -> None:
    """Refuse ``est`` before any work if it cannot fit, or if it is slow and not confirmed.

    ``hint`` is the way forward in the user's own flags ("use a shorter --duration
    or a coarser --step"); ``out`` is where its results go (for the disk check).
    """
    budget = memory_budget_bytes()
    if est.memory_bytes > budget:
        raise SkyMeshError(
            f"{est.what}: {est.describe()}; this machine can give "
            f"{human_bytes(budget)} of memory: {hint}"
        )
    if out is not None and est.disk_bytes > 0:
        free = free_disk_bytes(out)
        if est.disk_bytes > free:
            raise SkyMeshError(
                f"{est.what}: {est.describe()}; only {human_bytes(free)} "
                f"free where {out} goes: {hint}, or choose another --out"
            )
    if est.seconds > SLOW_S and not yes:
        line = f"{est.what}: {est.describe()}; pass --yes to start it anyway, or {hint}"
        if _interactive():
            import typer

            if typer.confirm(f"{line}. Start it now?", default=False, err=True):
                return
            raise SkyMeshError(f"{est.what}: not started")
        raise SkyMeshError(line)


class JobProgress:
    """Progress of a chunked job on stderr (see the module docstring).

    Call :meth:`update` with chunks and steps done so far, after each chunk.
    """

    def __init__(self, label: str, *, enabled: bool = True, stream=None, tty: bool | None = None):
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.enabled = enabled
        self._bar = None
        self._task = None
        self._t0: float | None = None
        self._steps0: int | None = None

    def __enter__(self):
        self._t0 = time.monotonic()
        if self.enabled and self.tty:
            from rich.console import Console

            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("steps"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=Console(file=self.stream),
                transient=True,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task(self.label, total=None)
        return self

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.__exit__(*exc)
        return False

    def relabel(self, label: str) -> None:
        """A new label (the next run of a sweep); the rate restarts."""
        self.label = label
        self._t0 = time.monotonic()
        self._steps0 = None
        if self._bar is not None:
            self._bar.reset(self._task, total=None, description=label)

    def update(
        self, done_chunks: int, total_chunks: int, done_steps: int, total_steps: int
    ) -> None:
        if not self.enabled:
            return
        if self._steps0 is None:  # steps already on disk (a resume) do not count for the rate
            self._steps0 = done_steps
            self._t0 = time.monotonic()
        if self._bar is not None:
            self._bar.update(self._task, completed=done_steps, total=total_steps)
            return
        assert self._t0 is not None  # set with _steps0 above
        elapsed = time.monotonic() - self._t0
        if elapsed < PLAIN_AFTER_S or done_steps == self._steps0:
            return
        rate = (done_steps - self._steps0) / elapsed if elapsed > 0 else 0.0
        left = (
            f", about {human_seconds((total_steps - done_steps) / rate)} left"
            if rate > 0 and done_steps < total_steps
            else ""
        )
        print(
            f"{self.label}: chunk {done_chunks}/{total_chunks}, {done_steps:,}/"
            f"{total_steps:,} steps, {human_seconds(elapsed)} elapsed{left}",
            file=self.stream,
            flush=True,
        )
