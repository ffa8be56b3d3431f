"""On/off timelines: a boolean state per country that changes at given instants.

A :class:`Timeline` is a step function of time: sorted boundaries ``breaks_s``
(float seconds since 1970-01-01T00:00:00Z) and one state per segment
(``len(breaks_s) + 1`` of them). Segment ``k`` is ``[breaks_s[k-1], breaks_s[k])``:
a state takes effect exactly at its start instant and ends just before its
end instant. Evaluating many instants is one ``searchsorted``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np

from skymesh.timebase import TimeGrid, parse_time

_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Timeline:
    """A boolean step function of time.

    Attributes
    ----------
    breaks_s : ndarray of float, shape (K,)
        Increasing instants where the state may change (s since the Unix epoch, UTC).
    states : ndarray of bool, shape (K + 1,)
        State before ``breaks_s[0]``, between consecutive breaks, after the last.
    """

    breaks_s: np.ndarray
    states: np.ndarray

    def at(self, t_s) -> np.ndarray:
        """State at each instant ``t_s`` (s since the Unix epoch), same shape."""
        return self.states[np.searchsorted(self.breaks_s, np.asarray(t_s, float), side="right")]


def epoch_seconds(dt: datetime | str) -> float:
    """Seconds from 1970-01-01T00:00:00Z to ``dt`` (a datetime or ISO string)."""
    return (parse_time(dt) - _UNIX_EPOCH).total_seconds()


def to_epoch_seconds(times) -> np.ndarray:
    """Instants as float seconds since the Unix epoch (UTC), shape (T,).

    ``times`` is a :class:`~skymesh.timebase.TimeGrid`, a ``numpy.datetime64``
    array (taken as UTC), or one or a sequence of ``datetime`` / ISO strings.
    """
    if isinstance(times, TimeGrid):
        return epoch_seconds(times.start) + np.asarray(times.offsets_s, dtype=float)
    if isinstance(times, (datetime, str)):
        return np.array([epoch_seconds(times)])
    arr = np.asarray(times)
    if np.issubdtype(arr.dtype, np.datetime64):
        us = arr.astype("datetime64[us]").astype(np.int64)
        return np.atleast_1d(us / 1e6)
    return np.array([epoch_seconds(t) for t in np.atleast_1d(arr).tolist()], dtype=float)


def build_timeline(intervals, default: bool) -> Timeline:
    """Step function from non-overlapping ``(start_s, end_s, state)`` intervals.

    ``start_s`` may be ``-inf`` (always, until ``end_s``) and ``end_s`` ``+inf``
    (open-ended). Instants no interval covers take ``default``. Overlaps must
    have been rejected before (the policy loader does).
    """
    spans = sorted((float(a), float(b), bool(s)) for a, b, s in intervals)
    edges = sorted({x for a, b, _ in spans for x in (a, b) if np.isfinite(x)})
    breaks = np.array(edges, dtype=float)
    # The state of segment k is that of the interval covering its left edge.
    left = np.r_[-np.inf, breaks]
    states = np.full(left.shape, bool(default))
    for a, b, s in spans:
        states[(left >= a) & (left < b)] = s
    return Timeline(breaks, states)


def evaluate_many(timelines: dict, default: bool, codes, t_s) -> np.ndarray:
    """States of many keyed timelines at many instants, shape (n_codes, T).

    ``codes`` (n,) index ``timelines``; codes without a timeline take
    ``default``. The work is one ``searchsorted`` per distinct listed code.
    """
    codes = np.atleast_1d(np.asarray(codes, dtype=str))
    t_s = np.atleast_1d(np.asarray(t_s, dtype=float))
    uniq, inverse = np.unique(codes, return_inverse=True)
    rows = np.full((len(uniq), len(t_s)), bool(default))
    for k, code in enumerate(uniq.tolist()):
        tl = timelines.get(code)
        if tl is not None:
            rows[k] = tl.at(t_s)
    return rows[inverse.reshape(-1)]
