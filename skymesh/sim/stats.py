"""Streaming statistics with bounded memory: exact-to-a-bin percentiles of any number of values."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

BIN_MS = 0.01
MAX_MS = 5000.0

_SAFE_UNITS = 2**40
"""Values below this many units (1e-6 of the value's unit, ~1.1e6 of the unit) are summed
in int64 in blocks of :data:`_SAFE_BLOCK`: 2**40 x 2**22 = 2**62 < 2**63, no overflow."""
_SAFE_BLOCK = 2**22


def exact_units_sum(values) -> int:
    """Sum of ``round(value x 1e6)`` over finite ``values``, as an exact Python int.

    Ordinary values are summed in int64 blocks that cannot overflow; the rare huge
    ones (beyond ~1.1e6 of the unit, up to 1.8e308) one by one as Python ints, so no
    statistic ever wraps around (an int64 sum of a run's RTTs in 1900 wrapped to a mean
    of -6.6e11 ms).
    """
    v = np.asarray(values, dtype=float).ravel()
    v = v[np.isfinite(v)]
    with np.errstate(over="ignore", invalid="ignore"):
        units = np.round(v * 1e6)
    small = np.abs(units) < _SAFE_UNITS
    total = 0
    ok = units[small].astype(np.int64)
    for i in range(0, len(ok), _SAFE_BLOCK):
        total += int(ok[i : i + _SAFE_BLOCK].sum())
    for x in v[~small].tolist():
        u = x * 1e6
        total += round(u) if abs(u) < float("inf") else int(x) * 10**6
    return total


@dataclass
class Histogram:
    """Counts of values in ``bin_width`` bins from 0 to ``max_value`` (larger values clip).

    Percentiles come back to within one bin (0.01 ms by default), whatever
    the number of values added: memory does not grow with a run's length.
    """

    bin_width: float = BIN_MS
    max_value: float = MAX_MS
    counts: Optional[np.ndarray] = field(default=None)  # None: __post_init__ sizes it
    total_units: int = 0
    n: int = 0
    lo: float = np.inf
    hi: float = -np.inf

    def __post_init__(self):
        if self.counts is None:
            self.counts = np.zeros(int(np.ceil(self.max_value / self.bin_width)) + 1, np.int64)

    def add(self, values) -> None:
        v = np.asarray(values, dtype=float).ravel()
        v = v[np.isfinite(v)]
        if not len(v):
            return
        assert self.counts is not None  # set by __post_init__
        with np.errstate(over="ignore"):  # clip before the cast: 1e308 goes to the last bin
            idx = np.clip(v / self.bin_width, 0, len(self.counts) - 1).astype(np.int64)
        self.counts += np.bincount(idx, minlength=len(self.counts))
        # Integer sum (in 1e-6 of the value's unit) so the mean does not depend on how
        # the values were split into batches; exact and overflow-free for any size.
        self.total_units += exact_units_sum(v)
        self.n += len(v)
        self.lo = min(self.lo, float(v.min()))
        self.hi = max(self.hi, float(v.max()))

    def percentiles(self, qs) -> dict:
        """``{"p50": value, ...}``: the centre of the bin holding each percentile.

        None where the histogram is empty.
        """
        if self.n == 0:
            return {f"p{q}": None for q in qs}
        assert self.counts is not None  # set by __post_init__
        cum = np.cumsum(self.counts)
        out = {}
        for q in qs:
            k = int(np.searchsorted(cum, q / 100.0 * self.n, side="left"))
            value = (k + 0.5) * self.bin_width
            out[f"p{q}"] = float(min(max(value, self.lo), self.hi))
        return out

    def mean(self):
        # int / int: exact up to the final rounding, whatever the size of the sum
        return self.total_units / (1_000_000 * self.n) if self.n else None

    def quantile_sample(self, n: int = 2001) -> np.ndarray:
        """``n`` values whose empirical distribution follows the histogram's (for CDF plots)."""
        if self.n == 0:
            return np.empty(0)
        assert self.counts is not None  # set by __post_init__
        cum = np.cumsum(self.counts) / self.n
        centres = (np.arange(len(self.counts)) + 0.5) * self.bin_width
        q = np.linspace(0.0, 1.0, n)
        idx = np.minimum(np.searchsorted(cum, q, side="left"), len(centres) - 1)
        return np.clip(centres[idx], self.lo, self.hi)
