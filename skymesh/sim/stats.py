"""Streaming statistics with bounded memory: exact-to-a-bin percentiles of any number of values."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

BIN_MS = 0.01
MAX_MS = 5000.0


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
        idx = np.clip((v / self.bin_width).astype(np.int64), 0, len(self.counts) - 1)
        self.counts += np.bincount(idx, minlength=len(self.counts))
        # Integer sum (in 1e-6 of the value's unit) so the mean does not depend on how
        # the values were split into batches.
        self.total_units += int(np.round(v * 1e6).astype(np.int64).sum())
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
        return self.total_units / 1e6 / self.n if self.n else None

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
