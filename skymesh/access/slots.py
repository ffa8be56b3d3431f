"""Starlink's globally synchronised 15 s reconfiguration slots.

Starlink reassigns each terminal's serving satellite at boundaries 15 s apart, at the
12th, 27th, 42nd and 57th second of every UTC minute, and holds the assignment for the slot
(Pan, Zhao & Varvello, "Measuring a Low-Earth-Orbit Satellite Network", PIMRC 2023; Tanveer
et al., "Making Sense of Constellations", IMC 2023: RTT steps at those seconds). Times here
are float seconds from a start epoch (``skymesh.timebase``), as everywhere in SkyMesh.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np

from skymesh.timebase import parse_time

#: Length of one reconfiguration slot, s.
SLOT_S = 15.0
#: Offset of the first boundary in each minute, s past the minute (12, 27, 42, 57).
SLOT_OFFSET_S = 12.0


def _phase_s(epoch) -> float:
    """Seconds from the slot boundary at or before ``epoch`` to ``epoch``, in [0, 15)."""
    dt: datetime = parse_time(epoch, field="epoch")
    sec = dt.second + dt.microsecond * 1e-6
    return float((sec - SLOT_OFFSET_S) % SLOT_S)


def slot_index(epoch, t_s) -> np.ndarray:
    """Slot number of each offset ``t_s`` (s from ``epoch``); slot 0 holds ``t_s = 0``.

    Times in one slot share an index; the index steps by one at every boundary.

    >>> slot_index("2026-01-01T00:00:10Z", [0.0, 1.9, 2.0, 16.9, 17.0]).tolist()
    [0, 0, 1, 1, 2]
    """
    t = np.asarray(t_s, dtype=float)
    return np.floor((t + _phase_s(epoch)) / SLOT_S + 1e-9).astype(np.int64)


def slot_boundaries_s(epoch, duration_s: float) -> np.ndarray:
    """Offsets (s from ``epoch``) of the boundaries in ``(0, duration_s]``, ascending.

    >>> slot_boundaries_s("2026-01-01T00:00:10Z", 40.0).tolist()
    [2.0, 17.0, 32.0]
    """
    first = SLOT_S - _phase_s(epoch)
    if first >= SLOT_S - 1e-9:  # the epoch sits on a boundary: the next is a slot away
        first = SLOT_S
    return np.arange(first, float(duration_s) + 1e-9, SLOT_S)


def slot_start_s(epoch, t_s) -> np.ndarray:
    """Offset (s from ``epoch``) of the start of the slot holding each ``t_s``; may be < 0."""
    idx = slot_index(epoch, t_s)
    return idx * SLOT_S - _phase_s(epoch)
