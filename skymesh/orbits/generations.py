"""Satellite generations (bus versions) and their per-generation capacity figures.

Every satellite of a Starlink TLE set gets a generation (``v0.9``, ``v1.0``, ``v1.5``,
``v2 mini``, ``v2 mini optimised``, ``v3``) from its launch. The launch comes from the
international designator (TLE line 1, columns 10-17: ``23026A`` = the 26th launch of 2023,
piece A); the table ``skymesh/data/starlink_launches.csv`` maps launches (single launches
or ranges ``first_launch``..``last_launch``, the narrowest matching row wins) to a
generation, each row with its source and status (P operator, A academic, N press,
D derived; the derivation rules are in ``skymesh/data/starlink_launches.md``). A satellite
whose launch no row covers, whose designator is blank, or whose CelesTrak name does not
start with ``STARLINK`` (a designator range also holds other operators' payloads) is
``"unknown"``: counted, never guessed.

The per-generation figures (user beams, user downlink / uplink per satellite and per beam
in Gbit/s, laser links and their rate in Gbit/s, backhaul band and capacity in Gbit/s) are
the long table ``skymesh/data/starlink_generations.csv``: one row per (generation,
parameter) with its unit, status and source, read by :func:`generation_table` so that the
capacity model can take them per satellite (:func:`per_satellite`).

A Walker preset takes the generation of the filing it models (``generation`` in
:data:`skymesh.orbits.presets.WALKER_PRESETS`: the Gen1 filing presets are ``v1.0``).

Example
-------
>>> launch_of("23026A")
'2023-026'
>>> launch_of("98067A  ")
'1998-067'
"""

from __future__ import annotations

import csv
import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from skymesh.errors import InputError

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
LAUNCH_TABLE = DATA_DIR / "starlink_launches.csv"
GENERATION_TABLE = DATA_DIR / "starlink_generations.csv"

GENERATIONS = ("v0.9", "v1.0", "v1.5", "v2 mini", "v2 mini optimised", "v3")
"""Known generations, oldest first."""
UNKNOWN = "unknown"
STATUSES = ("P", "A", "N", "D")
"""Source status: P operator, A academic, N press, D derived (with its evidence)."""
PARAMETERS = {
    "user_beams": "beams",
    "user_downlink_gbps": "Gbit/s",
    "user_uplink_gbps": "Gbit/s",
    "downlink_per_beam_gbps": "Gbit/s",
    "uplink_per_beam_gbps": "Gbit/s",
    "lasers": "links",
    "laser_gbps": "Gbit/s",
    "backhaul_band": "band",
    "backhaul_gbps": "Gbit/s",
}
"""Every generation's parameters and their units (``backhaul_band`` is text)."""

_DESIGNATOR = re.compile(r"^([0-9]{2})([0-9]{3})([A-Z]{1,3})$")
_LAUNCH = re.compile(r"^[0-9]{4}-[0-9]{3}$")
STARLINK_NAME_PREFIX = "STARLINK"


def launch_of(designator: str) -> str | None:
    """The launch ``YYYY-NNN`` of an international designator like ``"23026A"``.

    Two-digit years 57-99 are 1957-1999, 00-56 are 2000-2056 (the catalogue starts in
    1957). A blank designator gives None; anything else that is not two year digits,
    three launch digits and a 1-3 letter piece raises :class:`InputError`.
    """
    text = str(designator).strip().upper()
    if not text:
        return None
    m = _DESIGNATOR.match(text)
    if not m:
        raise InputError(
            f"international designator '{designator}' is not YYNNNP (year, launch number, "
            "piece, like '23026A')",
            field="international designator",
        )
    yy = int(m.group(1))
    return f"{1900 + yy if yy >= 57 else 2000 + yy}-{m.group(2)}"


def _rows(path: Path) -> list[tuple[int, dict]]:
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            return [(i + 2, row) for i, row in enumerate(csv.DictReader(fh))]
    except OSError as exc:
        raise InputError(f"cannot read the table: {exc.strerror}", file=str(path)) from None


def _check_provenance(path: Path, line: int, row: dict) -> None:
    if row.get("status") not in STATUSES:
        raise InputError(
            f"status '{row.get('status')}' is not one of {', '.join(STATUSES)}",
            file=str(path),
            line=line,
            field="status",
        )
    if not (row.get("source") or "").strip():
        raise InputError("every row needs a source", file=str(path), line=line, field="source")


@lru_cache(maxsize=4)
def launch_table(path: str | Path = LAUNCH_TABLE) -> tuple[dict, ...]:
    """Rows of the launch table: ``first_launch``, ``last_launch`` (``YYYY-NNN``),
    ``generation``, ``status``, ``source``, ``note``; checked, bad rows raise
    :class:`InputError` naming the file, line and field."""
    path = Path(path)
    out = []
    for line, row in _rows(path):
        for key in ("first_launch", "last_launch"):
            if not _LAUNCH.match(row.get(key) or ""):
                raise InputError(
                    f"'{row.get(key)}' is not a launch YYYY-NNN",
                    file=str(path),
                    line=line,
                    field=key,
                )
        if row["first_launch"] > row["last_launch"]:
            raise InputError(
                "first_launch is after last_launch", file=str(path), line=line, field="first_launch"
            )
        if row.get("generation") not in GENERATIONS:
            raise InputError(
                f"generation '{row.get('generation')}' is not one of {', '.join(GENERATIONS)}",
                file=str(path),
                line=line,
                field="generation",
            )
        _check_provenance(path, line, row)
        out.append(dict(row))
    return tuple(out)


@lru_cache(maxsize=4)
def generation_table(path: str | Path = GENERATION_TABLE) -> dict[str, dict[str, dict]]:
    """``{generation: {parameter: {"value", "unit", "status", "source", "note"}}}``.

    Values are floats except ``backhaul_band`` (text). Every generation of
    :data:`GENERATIONS` must give every parameter of :data:`PARAMETERS`, each row with a
    status and a source; a gap or a bad row raises :class:`InputError`.
    """
    path = Path(path)
    table: dict[str, dict[str, dict]] = {g: {} for g in GENERATIONS}
    for line, row in _rows(path):
        gen, par = row.get("generation"), row.get("parameter")
        if gen not in table:
            raise InputError(
                f"generation '{gen}' is not one of {', '.join(GENERATIONS)}",
                file=str(path),
                line=line,
                field="generation",
            )
        if par not in PARAMETERS:
            raise InputError(
                f"parameter '{par}' is not one of {', '.join(PARAMETERS)}",
                file=str(path),
                line=line,
                field="parameter",
            )
        _check_provenance(path, line, row)
        value: float | str = row.get("value") or ""
        if PARAMETERS[par] != "band":
            try:
                value = float(value)
            except ValueError:
                raise InputError(
                    f"'{value}' is not a number", file=str(path), line=line, field="value"
                ) from None
            if not (np.isfinite(value) and value >= 0):
                raise InputError(
                    f"{value} is not a finite number >= 0", file=str(path), line=line, field="value"
                )
        table[gen][par] = dict(
            value=value,
            unit=row.get("unit", ""),
            status=row["status"],
            source=row["source"],
            note=row.get("note", ""),
        )
    for gen, pars in table.items():
        missing = [p for p in PARAMETERS if p not in pars]
        if missing:
            raise InputError(
                f"generation '{gen}' lacks {', '.join(missing)}", file=str(path), field="parameter"
            )
    return table


def generation_of_launch(launch: str | None, table=None) -> str:
    """The generation of launch ``YYYY-NNN`` (narrowest matching row), or ``"unknown"``."""
    if launch is None:
        return UNKNOWN
    rows = launch_table() if table is None else table
    best, width = UNKNOWN, None
    for row in rows:
        if row["first_launch"] <= launch <= row["last_launch"]:
            w = _span(row["first_launch"], row["last_launch"])
            if width is None or w < width:
                best, width = row["generation"], w
    return best


def _span(first: str, last: str) -> int:
    return (int(last[:4]) - int(first[:4])) * 1000 + int(last[5:]) - int(first[5:])


def designators(constellation) -> list[str]:
    """International designators (``"23026A"``; ``""`` when blank) of a TLE set's satellites,
    from their sgp4 records (so a subset keeps them aligned); empty strings for Walker."""
    records = constellation.extra.get("satrec_list") if constellation.is_tle else None
    if records is None:
        return [""] * len(constellation)
    return [str(getattr(r, "intldesg", "") or "").strip() for r in records]


def satellite_generations(constellation) -> np.ndarray:
    """(N,) str: each satellite's generation, ``"unknown"`` where the table has none.

    TLE sets: from the launch of each satellite's designator, for satellites whose name
    starts with ``STARLINK``. Walker presets: the ``generation`` of the filing the preset
    models (:data:`skymesh.orbits.presets.WALKER_PRESETS`); other Walker shells: unknown.
    """
    n = len(constellation)
    if not constellation.is_tle:
        from skymesh.orbits.presets import WALKER_PRESETS

        gen = WALKER_PRESETS.get(str(constellation.name).lower(), {}).get("generation", UNKNOWN)
        return np.full(n, gen, dtype=object).astype(str)
    return generations_of(constellation.sat_names, designators(constellation))


def generations_of(names, intl_designators) -> np.ndarray:
    """(N,) str: generations of satellites given their names and international designators
    (TLE line 1, columns 10-17); ``"unknown"`` for non-``STARLINK`` names, blank or
    malformed designators and launches the table does not cover."""
    rows = launch_table()
    cache: dict[str | None, str] = {}
    out = np.full(len(names), UNKNOWN, dtype=object)
    for i, (name, des) in enumerate(zip(names, intl_designators)):
        if not str(name).strip().upper().startswith(STARLINK_NAME_PREFIX):
            continue
        try:
            launch = launch_of(des)
        except InputError:
            launch = None
        if launch not in cache:
            cache[launch] = generation_of_launch(launch, rows)
        out[i] = cache[launch]
    return out.astype(str)


def generation_counts(generations) -> dict[str, int]:
    """Satellites per generation, oldest first, ``"unknown"`` last; only those present."""
    gens = np.asarray(generations, dtype=str)
    names, counts = np.unique(gens, return_counts=True)
    found = dict(zip(names.tolist(), counts.tolist()))
    order = [g for g in GENERATIONS if g in found] + sorted(
        g for g in found if g not in GENERATIONS
    )
    return {g: int(found[g]) for g in order}


def per_satellite(generations, parameter: str, table=None) -> np.ndarray:
    """(N,) float: ``parameter`` of each satellite's generation; NaN where unknown."""
    if parameter not in PARAMETERS or PARAMETERS[parameter] == "band":
        raise InputError(f"'{parameter}' is not a numeric generation parameter", field="parameter")
    tab = generation_table() if table is None else table
    lookup = {g: float(p[parameter]["value"]) for g, p in tab.items()}
    return np.array([lookup.get(str(g), np.nan) for g in np.asarray(generations)], dtype=float)


def fleet_user_downlink_gbps(generations, table=None) -> float:
    """Sum over satellites of their generation's user downlink (Gbit/s); unknown add 0."""
    return float(np.nansum(per_satellite(generations, "user_downlink_gbps", table)))
