"""Time grids: UTC instants as float seconds from a start epoch.

At the API SkyMesh takes ``datetime`` objects or ISO 8601 strings (always
UTC). Inside, a time grid is a start ``datetime`` plus an array of offsets
in seconds, from which the Julian date pair that sgp4 needs is derived.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np

from skymesh.errors import InputError, SkyMeshError

#: Julian date of the Unix epoch, 1970-01-01T00:00:00 UTC.
JD_UNIX_EPOCH = 2440587.5
SECONDS_PER_DAY = 86400.0


def parse_time(value, *, field: str = "time") -> datetime:
    """Return ``value`` as an aware UTC ``datetime``.

    Accepts a ``datetime`` (naive ones are taken as UTC) or an ISO 8601
    string such as ``2026-01-01T00:00:00Z`` or ``2026-01-01 12:00``.
    """
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            raise InputError(
                f"'{value}' is not an ISO 8601 time (for example 2026-01-01T00:00:00Z)", field=field
            ) from None
    else:
        raise InputError(f"expected a time, got {type(value).__name__}", field=field)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def start_or_epoch(constellation, start, flag: str = "--start") -> datetime:
    """The UTC instant ``start`` the user gave with ``flag``, else the constellation's element
    epoch to the minute (``constellation`` may be None when ``start`` is given)."""
    if start is not None:  # an empty --at "" is a mistake, not "default"
        try:
            return parse_time(start, field=flag)
        except SkyMeshError:
            raise SkyMeshError(
                f"{flag}: not a time: {start!r} (an ISO 8601 UTC time, for "
                "example 2026-01-01T00:00:00Z)"
            ) from None
    return constellation.epoch.replace(second=0, microsecond=0)


def julian_date(dt: datetime) -> tuple[float, float]:
    """Split Julian date ``(jd, fr)`` of a UTC datetime: whole part at midnight, day fraction."""
    dt = parse_time(dt)
    midnight = dt.replace(hour=0, minute=0, second=0, microsecond=0)
    jd = JD_UNIX_EPOCH + (midnight - datetime(1970, 1, 1, tzinfo=timezone.utc)).days
    fr = (dt - midnight).total_seconds() / SECONDS_PER_DAY
    return jd, fr


@dataclass(frozen=True)
class TimeGrid:
    """Instants ``start + offsets_s`` (UTC).

    Attributes
    ----------
    start : datetime
        Aware UTC datetime of offset zero.
    offsets_s : ndarray, shape (T,)
        Seconds from ``start``, increasing.

    Examples
    --------
    >>> import skymesh
    >>> g = skymesh.time_grid("2026-01-01T00:00:00Z", duration_s=60, step_s=30)
    >>> len(g), g.offsets_s.tolist(), g.start.isoformat()
    (3, [0.0, 30.0, 60.0], '2026-01-01T00:00:00+00:00')
    """

    start: datetime
    offsets_s: np.ndarray

    def __len__(self) -> int:
        return len(self.offsets_s)

    @property
    def jd_fr(self) -> tuple[np.ndarray, np.ndarray]:
        """Julian date pair arrays ``(jd, fr)`` as sgp4's ``SatrecArray.sgp4`` takes them."""
        jd0, fr0 = julian_date(self.start)
        fr = fr0 + self.offsets_s / SECONDS_PER_DAY
        whole = np.floor(fr)
        return jd0 + whole, fr - whole

    def datetimes(self) -> list[datetime]:
        """The instants as UTC datetimes (microsecond resolution)."""
        return [self.start + timedelta(seconds=float(s)) for s in self.offsets_s]

    def iso(self) -> list[str]:
        """The instants as ISO 8601 strings ending in ``Z``."""
        return [d.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z" for d in self.datetimes()]

    def subset(self, index) -> "TimeGrid":
        """The grid restricted to ``offsets_s[index]`` (a slice or index array)."""
        return TimeGrid(self.start, np.atleast_1d(self.offsets_s[index]))


def time_grid(start, duration_s: float = 0.0, step_s: float = 1.0) -> TimeGrid:
    """Instants from ``start`` for ``duration_s`` seconds every ``step_s`` seconds.

    The end is included when it falls on a step: ``duration_s=60, step_s=1``
    gives 61 instants. ``duration_s=0`` gives the single instant ``start``.
    """
    start = parse_time(start, field="start")
    if not np.isfinite(step_s) or step_s <= 0:
        raise InputError(f"step must be a positive number of seconds, got {step_s}", field="step")
    if not np.isfinite(duration_s) or duration_s < 0:
        raise InputError(
            f"duration must be zero or more seconds, got {duration_s}; the time range is empty",
            field="duration",
        )
    n = int(np.floor(duration_s / step_s + 1e-9)) + 1
    return TimeGrid(start, np.arange(n, dtype=float) * float(step_s))


def time_range(start, end, step_s: float = 1.0) -> TimeGrid:
    """Instants from ``start`` to ``end`` (inclusive where it falls on a step)."""
    t0 = parse_time(start, field="start")
    t1 = parse_time(end, field="end")
    if t1 < t0:
        raise InputError(
            f"the time range is empty: end {t1.isoformat()} is before start {t0.isoformat()}",
            field="end",
        )
    return time_grid(t0, (t1 - t0).total_seconds(), step_s)
