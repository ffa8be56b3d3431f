"""Data shipped inside the package (``skymesh/data/``), and when newer data replaces it.

SkyMesh works offline on a fresh install: the package carries, next to its
licence texts and ``NOTICE.md`` (provenance), the real element sets of the
``starlink-tle`` and ``oneweb-tle`` presets and one merged Starlink gateway +
PoP list, the default everywhere a gateway or PoP list is needed
(:func:`skymesh.ground.sites.default_sites`).

Which copy a run takes (the order is the same for every command):

1. a file the user names (``--gateways FILE``, ``-c FILE.tle``, a scenario's
   ``gateways_file``) is always taken as it is;
2. otherwise the *newest* copy by the date in its name, among the data
   directory (``$SKYMESH_DATA``, else the user cache, e.g. ``~/.cache/skymesh``;
   filled by ``skymesh data update``) and the package: element sets named
   ``{group}_tle_{YYYYMMDD}[THHMMSSZ].txt``, gateway lists named
   ``starlink_gateways_{YYYYMMDD}[THHMMSSZ].csv``. The shipped gateway list's date
   is the one in :data:`SHIPPED` (its file name carries no date);
3. on a tie the data directory's copy wins, so a file placed there by hand
   replaces the shipped one of the same date.

Every run says which copy it used and its date (:func:`describe`).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

SHIPPED: dict[str, dict[str, str]] = {
    "starlink_tle_20251204.txt": dict(
        what="Starlink element sets (CelesTrak GROUP=starlink), 9,042 satellites",
        date="2025-12-04",
        source="CLIS-WPI/FairShare data/tle/starlink_shell1.tle (CRLF -> LF)",
        licence="MIT (LICENSES/FairShare_MIT.txt); elements by the US Space Force via CelesTrak",
        sha256="5c63f4b12523f01f2dff3cf565b2965c3205dae6166be3f3b40be5447e4a1537",
    ),
    "oneweb_tle_20251007.txt": dict(
        what="OneWeb element sets (CelesTrak GROUP=oneweb), 651 satellites",
        date="2025-10-07",
        source="Neutrinonuub/tasa-satnet-pipeline data/oneweb.tle (byte for byte)",
        licence="Apache-2.0 (LICENSES/tasa-satnet-pipeline_Apache-2.0.txt); elements by the "
        "US Space Force via CelesTrak",
        sha256="56e8696c5efffc54ae66997764dbcb963f94601591b3935841db9ffc6f877248",
    ),
    "starlink_gateways_merged.csv": dict(
        what="Starlink gateways and PoPs, 357 sites (307 gateways, 50 PoPs; 249 operational)",
        date="2026-03-20",
        source="juliensimon/starlink-viz data/ground-stations.json (lastUpdated 2026-03-20) "
        "with SpaceNetLab/StarPerf_Simulator starlink_gateway/gw.txt (2022-12-03) site "
        "coordinates where the site matches (157 rows)",
        licence="MIT (LICENSES/starlink-viz_MIT.txt) + BSD-2-Clause "
        "(LICENSES/StarPerf_Simulator_BSD-2-Clause.txt)",
        sha256="fea76ebc0afc33f5f8703a9bb1fe4e52f3f8b0cdf19bea592da9de84e81c36a5",
    ),
}
"""Every data file of ``skymesh/data/`` SkyMesh reads by name: what it is, the date of
its data (UTC, ``YYYY-MM-DD``), source, licence and SHA-256. ``NOTICE.md`` says the same
in full."""

SHIPPED_SITES = "starlink_gateways_merged.csv"
"""The shipped gateway + PoP list (file name in ``skymesh/data/``)."""


def package_data_dir() -> Path:
    """The folder of the data shipped in the package (``skymesh/data``)."""
    return Path(str(resources.files("skymesh").joinpath("data")))


def shipped_path(name: str) -> Path:
    """Path of a shipped data file (a key of :data:`SHIPPED`)."""
    if name not in SHIPPED:
        raise KeyError(name)
    return package_data_dir() / name


def is_shipped(path) -> bool:
    """Whether ``path`` is one of the files shipped in the package."""
    try:
        return Path(path).resolve().parent == package_data_dir().resolve()
    except OSError:
        return False


def describe(path, date: str | None) -> str:
    """``'FILE (shipped with SkyMesh|in the data directory|given), data of DATE'``."""
    path = Path(path)
    if is_shipped(path):
        where = "shipped with SkyMesh"
    else:
        from skymesh.datadir import data_dir

        try:
            inside = path.resolve().parent == data_dir().resolve()
        except OSError:
            inside = False
        where = "in the data directory" if inside else "given"
    when = f"data of {date}" if date else "date not recorded"
    return f"{path.name} ({where}, {when})"


def elements_record(const) -> dict:
    """What a run records of the element data behind a constellation: the TLE file, whether
    it shipped with SkyMesh, and its date (median element epoch); for a Walker preset its
    epoch and source (no element file)."""
    if const.is_tle:
        return {
            "constellation": const.name,
            "file": const.source,
            "shipped": is_shipped(const.source),
            "date": f"{const.epoch:%Y-%m-%d}",
            "median_epoch_utc": f"{const.epoch:%Y-%m-%dT%H:%M:%SZ}",
        }
    return {
        "constellation": const.name,
        "file": None,
        "shipped": False,
        "date": None,
        "walker_epoch_utc": f"{const.epoch:%Y-%m-%dT%H:%M:%SZ}",
        "source": const.source,
    }


def data_line(records: dict) -> str:
    """One line naming each data file a run used and the date of its data."""
    parts = []
    for what, rec in records.items():
        if rec is None:
            continue
        if rec.get("file"):
            parts.append(f"{what} {describe(rec['file'], rec.get('date'))}")
        elif "walker_epoch_utc" in rec:
            parts.append(
                f"{what} Walker preset {rec['constellation']} (a filing's shells, no "
                f"element data; epoch {rec['walker_epoch_utc'][:10]})"
            )
        else:
            parts.append(f"{what} {rec.get('label', 'given inline')}")
    return "data: " + "; ".join(parts)
