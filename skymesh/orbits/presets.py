"""Named constellations: Walker shells from filings, and the newest real TLE snapshots.

Walker presets follow the regulatory filings; none of them publishes the
Walker phasing factor F, so F = 1 is assumed throughout (it shifts
neighbouring planes by one slot fraction and changes latencies by well
under a millisecond on long paths).

Every preset names its ``operator`` (``starlink``, ``oneweb``, ``kuiper``), whose user link,
beams, ISLs and gateways :mod:`skymesh.links.operators` holds; :func:`operator_of` tells it
for a preset or for a TLE set by its satellite names. A Starlink Walker preset also names
the satellite ``generation`` of the filing it models (the Gen1 filings: ``v1.0``), whose
figures :mod:`skymesh.orbits.generations` holds.

TLE presets (``starlink-tle``, ``oneweb-tle``) load the newest snapshot: the
real element sets shipped in the package (Starlink of 2025-12-04, OneWeb of
2025-10-07) unless the data directory (``SKYMESH_DATA`` or the user cache;
fill it with ``skymesh data update``) holds a newer one (:mod:`skymesh.shipped`
gives the order); they say which file and its epoch.
"""

from __future__ import annotations

from pathlib import Path

from skymesh.errors import InputError
from skymesh.orbits.constellation import Constellation, Shell
from skymesh.orbits.walker import walker_constellation

WALKER_EPOCH = "2026-01-01T00:00:00Z"
"""Element epoch of every Walker preset (UTC)."""

WALKER_PRESETS: dict[str, dict] = {
    "starlink-shell1": dict(
        shells=(Shell(550.0, 53.0, 72, 22, 1),),
        source="SpaceX Gen1 shell 1 as modified by FCC 21-48 (27 Apr 2021), "
        "SAT-MOD-20200417-00037: 1,584 satellites, 550 km, 53.0 deg, 72 planes x 22",
        prefix="STARLINK-S1",
        operator="starlink",
        generation="v1.0",
    ),
    "starlink-gen1": dict(
        shells=(
            Shell(550.0, 53.0, 72, 22, 1),
            Shell(540.0, 53.2, 72, 22, 1),
            Shell(570.0, 70.0, 36, 20, 1),
            Shell(560.0, 97.6, 6, 58, 1),
            Shell(560.0, 97.6, 4, 43, 1),
        ),
        source="SpaceX Gen1, all five shells of FCC 21-48 (27 Apr 2021), "
        "SAT-MOD-20200417-00037: 4,408 satellites",
        prefix="STARLINK",
        operator="starlink",
        generation="v1.0",
    ),
    "kuiper": dict(
        shells=(
            Shell(630.0, 51.9, 34, 34, 1),
            Shell(610.0, 42.0, 36, 36, 1),
            Shell(590.0, 33.0, 28, 28, 1),
        ),
        source="Amazon Kuiper, FCC 20-102 (30 Jul 2020), SAT-LOA-20190704-00057: "
        "3,236 satellites in three shells",
        prefix="KUIPER",
        operator="kuiper",
    ),
    "oneweb": dict(
        shells=(Shell(1200.0, 87.9, 18, 36, 1, raan_spread_deg=180.0),),
        source="OneWeb phase 1, FCC 17-77 (22 Jun 2017), SAT-LOI-20160428-00041: "
        "648 satellites, 1,200 km, 87.9 deg, 18 planes x 36 (near-polar: planes "
        "spread over 180 deg, Walker star)",
        prefix="ONEWEB",
        operator="oneweb",
    ),
}

TLE_PRESETS: dict[str, dict] = {
    "starlink-tle": dict(
        group="starlink",
        source="CelesTrak GROUP=starlink: the newest snapshot (shipped: 2025-12-04)",
        operator="starlink",
    ),
    "oneweb-tle": dict(
        group="oneweb",
        source="CelesTrak GROUP=oneweb: the newest snapshot (shipped: 2025-10-07)",
        operator="oneweb",
    ),
}


NAME_PREFIX_OPERATORS = {"STARLINK": "starlink", "ONEWEB": "oneweb", "KUIPER": "kuiper"}
"""Satellite-name prefix (CelesTrak's names: ``STARLINK-1007``, ``ONEWEB-0012``) -> operator."""


def operator_of(name_or_path, sat_names=None) -> str | None:
    """The operator of a preset (its ``operator`` field), else of a TLE set whose satellite
    names all begin with one operator's prefix (:data:`NAME_PREFIX_OPERATORS`); None when it
    cannot be told. The operator picks the row of :mod:`skymesh.links.operators`."""
    key = str(name_or_path).strip().lower()
    for table in (WALKER_PRESETS, TLE_PRESETS):
        if key in table:
            return table[key]["operator"]
    if sat_names is None or len(sat_names) == 0:
        return None
    found = set()
    for n in sat_names:
        head = str(n).strip().upper().split("-")[0].split(" ")[0]
        found.add(NAME_PREFIX_OPERATORS.get(head))
    return found.pop() if len(found) == 1 else None


def preset_names() -> list[str]:
    """Every preset name, Walker shells first."""
    return list(WALKER_PRESETS) + list(TLE_PRESETS)


def load_constellation(
    name_or_path, *, skip_bad: bool = False, j2: bool = False, report: list | None = None
) -> Constellation:
    """A preset by name, or a TLE file by path.

    ``report``, when given, receives human-readable notes (which snapshot was
    taken and its epoch, how many bad element sets were skipped).
    """
    text = str(name_or_path)
    key = text.strip().lower()
    if key in WALKER_PRESETS:
        p = WALKER_PRESETS[key]
        return walker_constellation(
            p["shells"],
            name=key,
            epoch=WALKER_EPOCH,
            j2=j2,
            source=p["source"],
            name_prefix=p["prefix"],
        )
    if key in TLE_PRESETS:
        from skymesh.orbits.snapshots import newest_snapshot

        path = newest_snapshot(TLE_PRESETS[key]["group"])
        const = _load_tle(path, skip_bad, report, name=key)
        if report is not None:
            from skymesh.shipped import describe

            report.append(
                f"{key}: {len(const):,} satellites from "
                f"{describe(path, f'{const.epoch:%Y-%m-%d}')}, "
                f"median element epoch {const.epoch:%Y-%m-%d %H:%M} UTC"
            )
        return const
    path = Path(text).expanduser()
    if path.is_file():
        return _load_tle(path, skip_bad, report, name=path.name)
    import difflib

    close = difflib.get_close_matches(key, preset_names(), n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise InputError(
        f"'{text}' is neither a constellation preset nor a TLE file.{hint} "
        f"Presets: {', '.join(preset_names())}.",
        field="constellation",
    )


def _load_tle(path: Path, skip_bad: bool, report, name: str) -> Constellation:
    from skymesh.orbits.planes import assign_planes
    from skymesh.orbits.tle import load_tle_constellation

    const, skipped = load_tle_constellation(path, skip_bad=skip_bad, name=name, notes=report)
    const = assign_planes(const)
    if report is not None and skipped:
        repeats = sum("appears twice" in e.message for e in skipped)
        also = f" ({repeats} of them later copies of a satellite)" if repeats else ""
        report.append(f"skipped {len(skipped)} bad element set(s) in {path}{also}")
    return const
