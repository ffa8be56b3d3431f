"""Flows of a packet run: TCP bulk transfers, UDP constant-rate streams and pings.

Text form (``parse_flow``), one flow per string::

    tcp[:CC]:A->B[@START-STOP]       CC in newreno (default), cubic, bbr
    udp[:RATE_MBPS]:A->B[@START-STOP]   RATE_MBPS default 1
    ping[:INTERVAL_S]:A->B[@START-STOP] INTERVAL_S default 0.1

``A`` and ``B`` are ground points of the run (names as the run knows them, or 0-based
indices); ``START`` and ``STOP`` are seconds from the run's start (``STOP`` omitted: to the
end). Examples: ``tcp:cubic:Paris->Luanda``, ``udp:5:Paris->Luanda@10-60``,
``ping:0.01:Paris->Luanda``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from skymesh.errors import InputError

KINDS = ("tcp", "udp", "ping")
CCS = ("newreno", "cubic", "bbr")
DEFAULT_UDP_MBPS = 1.0
DEFAULT_PING_INTERVAL_S = 0.1


@dataclass(frozen=True)
class Flow:
    """One flow between two ground points (see the module docstring)."""

    kind: str
    src: str | int
    dst: str | int
    cc: str | None = None
    rate_mbps: float | None = None
    interval_s: float | None = None
    start_s: float = 0.0
    stop_s: float | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise InputError(
                f"unknown flow kind '{self.kind}'; choose one of {', '.join(KINDS)}", field="flow"
            )
        if self.kind == "tcp":
            if self.cc is None:
                object.__setattr__(self, "cc", "newreno")
            elif self.cc not in CCS:
                raise InputError(
                    f"unknown congestion control '{self.cc}'; choose one of {', '.join(CCS)}",
                    field="flow",
                )
        elif self.cc is not None:
            raise InputError(f"a {self.kind} flow takes no congestion control", field="flow")
        if self.kind == "udp":
            r = DEFAULT_UDP_MBPS if self.rate_mbps is None else self.rate_mbps
            if not (isinstance(r, (int, float)) and math.isfinite(r) and r > 0):
                raise InputError(f"UDP rate must be > 0 Mbit/s, got {r!r}", field="flow")
            object.__setattr__(self, "rate_mbps", float(r))
        if self.kind == "ping":
            i = DEFAULT_PING_INTERVAL_S if self.interval_s is None else self.interval_s
            if not (isinstance(i, (int, float)) and math.isfinite(i) and i > 0):
                raise InputError(f"ping interval must be > 0 s, got {i!r}", field="flow")
            object.__setattr__(self, "interval_s", float(i))
        if not (math.isfinite(self.start_s) and self.start_s >= 0):
            raise InputError(f"flow start must be >= 0 s, got {self.start_s!r}", field="flow")
        if self.stop_s is not None and not (
            math.isfinite(self.stop_s) and self.stop_s > self.start_s
        ):
            raise InputError(
                f"flow stop ({self.stop_s!r} s) must be after its start ({self.start_s} s)",
                field="flow",
            )
        if str(self.src) == str(self.dst):
            raise InputError(f"a flow's two ends are the same place ({self.src})", field="flow")

    @property
    def label(self) -> str:
        """Short text like ``tcp:cubic Paris->Luanda``."""
        if self.kind == "tcp":
            param = str(self.cc)
        elif self.kind == "udp":
            param = f"{self.rate_mbps:g}Mbps"
        else:
            param = f"{self.interval_s:g}s"
        return f"{self.kind}:{param} {self.src}->{self.dst}"


def _number(text: str, what: str, flow: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"'{flow}': {what} '{text}' is not a number", field="flow") from None
    if not math.isfinite(value):
        raise InputError(f"'{flow}': {what} '{text}' is not a finite number", field="flow")
    return value


def parse_flow(text: str) -> Flow:
    """A :class:`Flow` from its text form; :class:`InputError` (field ``flow``) when malformed."""
    raw = str(text).strip()
    if ":" not in raw or "->" not in raw:
        raise InputError(
            f"'{raw}' is not a flow; write KIND[:PARAM]:A->B[@START-STOP], "
            "e.g. tcp:cubic:Paris->Luanda",
            field="flow",
        )
    kind, rest = raw.split(":", 1)
    kind = kind.strip().lower()
    if kind not in KINDS:
        raise InputError(
            f"'{raw}': unknown flow kind '{kind}'; choose one of {', '.join(KINDS)}", field="flow"
        )
    start, stop = 0.0, None
    if "@" in rest:
        rest, timing = rest.rsplit("@", 1)
        if "-" not in timing:
            raise InputError(f"'{raw}': timing '@{timing}' must be @START-STOP", field="flow")
        a, b = timing.split("-", 1)
        start = _number(a, "start", raw) if a.strip() else 0.0
        stop = _number(b, "stop", raw) if b.strip() else None
    param = None
    arrow = rest.index("->")
    colon = rest.rfind(":", 0, arrow)
    if colon >= 0:
        param, rest = rest[:colon].strip(), rest[colon + 1 :]
    a_name, b_name = (s.strip() for s in rest.split("->", 1))
    if not a_name or not b_name:
        raise InputError(f"'{raw}': both ends of A->B must be named", field="flow")
    fields: dict = {}
    if param:
        if kind == "tcp":
            fields["cc"] = param.lower()
        elif kind == "udp":
            fields["rate_mbps"] = _number(param, "rate (Mbit/s)", raw)
        else:
            fields["interval_s"] = _number(param, "interval (s)", raw)
    try:
        return Flow(kind, a_name, b_name, start_s=start, stop_s=stop, **fields)
    except InputError as err:
        raise InputError(f"'{raw}': {err.message}", field="flow") from None


def endpoint_index(names, which: str | int) -> int:
    """Index of ground point ``which`` (a name or a 0-based index) in ``names``.

    Names match exactly first, then after folding case and accents
    (:func:`skymesh.ground.places.fold_name`), then by their part before a comma or a
    parenthesis, then by the alias in parentheses (Hypatia's "Moskva (Moscow)"), then as the
    first words of exactly one name ("New York" for "New York Newark").
    """
    names = np.asarray(names, dtype=str)
    if isinstance(which, (int, np.integer)) and not isinstance(which, bool):
        if 0 <= int(which) < len(names):
            return int(which)
        raise InputError(f"no ground point {which} (the run has {len(names)})", field="flow")
    text = str(which).strip()
    if text.isdigit() and text not in names:
        return endpoint_index(names, int(text))
    hit = np.flatnonzero(names == text)
    if len(hit):
        return int(hit[0])
    from skymesh.ground.places import fold_name

    keys = {fold_name(text), fold_name(text.split(",")[0])}
    alias = [n[n.index("(") + 1 : n.rindex(")")] if "(" in n and ")" in n else "" for n in names]
    for candidates in (
        [fold_name(n) for n in names],
        [fold_name(n.split(",")[0]) for n in names],
        [fold_name(n.split("(")[0]) for n in names],
        [fold_name(a) if a else "" for a in alias],
    ):
        for i, f in enumerate(candidates):
            if f in keys:
                return i
    key = fold_name(text)
    starts = [i for i, n in enumerate(names) if fold_name(n).startswith(key + " ")]
    if len(starts) == 1:
        return starts[0]
    shown = ", ".join(names[:8]) + (" ..." if len(names) > 8 else "")
    raise InputError(f"'{text}' is not a ground point of this run ({shown})", field="flow")
