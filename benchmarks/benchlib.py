"""Shared helpers of the SkyMesh benchmarks: data paths, timing, memory, tables, JSON.

Memory is reported two ways:

* **tracemalloc peak**: the largest amount of Python-tracked heap (numpy
  arrays included: numpy reports its buffers to tracemalloc) held at once
  during a phase, relative to what was held when the phase began. Measured
  in a separate pass from the timed one, because tracing slows pure-Python
  code down.
* **RSS**: resident set size from psutil, and the peak RSS of a phase read
  from ``VmHWM`` in ``/proc/self/status`` after resetting it through
  ``/proc/self/clear_refs`` (Linux); where that reset is not possible the
  peak is the process-lifetime ``VmHWM`` (or ``ru_maxrss``) and says so.

No figure here is ever asserted: timings depend on the machine.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import sys
import time
import tracemalloc
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT_DIR = REPO / "bench-out"
MIB = 1024.0 * 1024.0


def data_dir() -> Path:
    """The reference data folder: ``$SKYMESH_DATA``, else ``../shared/data`` beside the checkout."""
    return Path(os.environ.get("SKYMESH_DATA") or REPO.parent / "shared" / "data").expanduser()


def data_file(name: str) -> Path:
    path = data_dir() / name
    if not path.is_file():
        raise SystemExit(
            f"reference file not found: {path} (set SKYMESH_DATA to the shared data folder)"
        )
    return path


# --------------------------------------------------------------------------- time


def timed(fn, *args, **kwargs):
    """``(result, seconds)`` of one call."""
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def summary(seconds) -> dict:
    """Median, min, max and count of a list of timings (s)."""
    seconds = [float(s) for s in seconds]
    return {
        "median_s": statistics.median(seconds),
        "min_s": min(seconds),
        "max_s": max(seconds),
        "n": len(seconds),
    }


# --------------------------------------------------------------------------- memory


def rss_bytes() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


def _vmhwm_bytes() -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark of this process; False where not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def peak_rss_bytes() -> int:
    hwm = _vmhwm_bytes()
    if hwm is not None:
        return hwm
    scale = 1 if sys.platform == "darwin" else 1024
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * scale


class PhaseMemory:
    """tracemalloc peaks of consecutive phases, and the RSS peak over all of them.

    Use as a context manager; call :meth:`phase` to close one phase and start
    the next. Peaks are relative to the traced memory at the start of the
    phase (what the phase itself added at worst).
    """

    def __init__(self):
        self.phases: dict[str, float] = {}
        self._was_tracing = False

    def __enter__(self):
        self._was_tracing = tracemalloc.is_tracing()
        if not self._was_tracing:
            tracemalloc.start()
        self.rss_start = rss_bytes()
        self.peak_reset = reset_peak_rss()
        self._restart()
        return self

    def _restart(self):
        tracemalloc.reset_peak()
        self._base = tracemalloc.get_traced_memory()[0]

    def phase(self, name: str):
        current, peak = tracemalloc.get_traced_memory()
        self.phases[name] = max(self.phases.get(name, 0.0), (peak - self._base) / MIB)
        self._restart()

    def __exit__(self, *exc):
        self.rss_end = rss_bytes()
        self.rss_peak = peak_rss_bytes()
        if not self._was_tracing:
            tracemalloc.stop()
        return False

    def figures(self) -> dict:
        return {
            "tracemalloc_peak_mib_by_phase": {k: round(v, 2) for k, v in self.phases.items()},
            "tracemalloc_peak_mib": round(max(self.phases.values(), default=0.0), 2),
            "rss_start_mib": round(self.rss_start / MIB, 1),
            "rss_end_mib": round(self.rss_end / MIB, 1),
            "rss_peak_mib": round(self.rss_peak / MIB, 1),
            "rss_peak_scope": "this pass (VmHWM reset)"
            if self.peak_reset
            else "process lifetime so far",
        }


# --------------------------------------------------------------------------- output


def fmt_s(seconds: float) -> str:
    if seconds >= 1.0:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} us"


def print_table(title: str, header, rows, file=None) -> None:
    """A plain-text table: ``header`` a list of column names, ``rows`` lists of cells."""
    file = file or sys.stdout
    cells = [[str(c) for c in header]] + [[str(c) for c in r] for r in rows]
    width = [max(len(r[i]) for r in cells) for i in range(len(header))]

    def line(r):
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, width))
        )

    print(f"\n{title}", file=file)
    print("-" * max(len(title), len(line(cells[0]))), file=file)
    print(line(cells[0]), file=file)
    print("  ".join("-" * w for w in width), file=file)
    for r in cells[1:]:
        print(line(r), file=file)


def machine() -> dict:
    import psutil

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
    }


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, float) and not np.isfinite(x):
        return None
    if isinstance(x, Path):
        return str(x)
    return x


def write_json(name: str, figures: dict, out_dir=DEFAULT_OUT_DIR) -> Path | None:
    """Write ``figures`` to ``out_dir/<name>.json`` (the folder is created); None to skip."""
    if out_dir is None:
        return None
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    doc = {
        "benchmark": name,
        "written_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        **figures,
    }
    path = out_dir / f"{name}.json"
    path.write_text(json.dumps(_jsonable(doc), indent=2) + "\n")
    return path


@contextmanager
def quiet_numpy():
    with np.errstate(invalid="ignore", divide="ignore"):
        yield


def phase_marker(times: dict, memory=None):
    """``mark(name, t0)``: record the time since ``t0`` as phase ``name``; return a new t0."""

    def mark(name, t0):
        times[name] = time.perf_counter() - t0
        if memory is not None:
            memory.phase(name)
        return time.perf_counter()

    return mark


def finish(name: str, figures: dict, out_dir, verbose: bool, report) -> dict:
    """Print the report (when verbose), write the figures' JSON and say where."""
    if verbose:
        report(figures)
    path = write_json(name, figures, out_dir)
    if path and verbose:
        print(f"\nfigures written to {path}")
    return figures
