"""TLE snapshots in the data directory: download them from CelesTrak, find the newest.

A snapshot is a file ``{group}_tle_{stamp}.txt`` in the data directory
(see :func:`skymesh.datadir.data_dir`), where ``stamp`` is a UTC date
``YYYYMMDD`` or date and time ``YYYYMMDDTHHMMSSZ``. :func:`data_update`
writes timestamped snapshots with a ``.json`` sidecar (source URL, download
time, SHA-256, satellite count); files placed by hand need only the name.

Example
-------
>>> data_update(groups=("starlink",))              # doctest: +SKIP
>>> con, _ = load_tle_constellation(newest_snapshot("starlink"))  # doctest: +SKIP
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from skymesh.datadir import data_dir as resolve_data_dir
from skymesh.datadir import download_file, utc_now
from skymesh.errors import DataNotFoundError, InputError
from skymesh.orbits.tle import parse_tle_text

CELESTRAK_URL = "https://celestrak.org"
"""Default CelesTrak base URL; override with ``$SKYMESH_CELESTRAK_URL``."""
CELESTRAK_GP_PATH = "/NORAD/elements/gp.php?GROUP={group}&FORMAT=tle"

_STAMP = r"(\d{8})(?:T(\d{6})Z)?"


def celestrak_url(group: str, base_url: str | None = None) -> str:
    """URL of CelesTrak's current 3-line TLE set of ``group``."""
    base = base_url or os.environ.get("SKYMESH_CELESTRAK_URL") or CELESTRAK_URL
    return base.rstrip("/") + CELESTRAK_GP_PATH.format(group=group)


def snapshot_name(group: str, when) -> str:
    """File name ``{group}_tle_{YYYYMMDDTHHMMSSZ}.txt`` of a snapshot taken at UTC ``when``."""
    return f"{group}_tle_{when.strftime('%Y%m%dT%H%M%SZ')}.txt"


def _placement_hint(directory: Path, group: str) -> str:
    return (f"place the 3-line TLE text of CelesTrak group '{group}' by hand in {directory} "
            f"as {group}_tle_YYYYMMDD.txt (or {group}_tle_YYYYMMDDTHHMMSSZ.txt), "
            f"or set SKYMESH_DATA to a folder holding such files")


def _tle_validator(url: str):
    def validate(data: bytes) -> dict:
        text = data.decode("utf-8", errors="replace")
        try:
            names, _, _, _ = parse_tle_text(text, source=url)
        except InputError as exc:
            raise InputError(f"the download is not valid TLE text, nothing was saved: "
                             f"{exc.message}", file=exc.file, line=exc.line,
                             field=exc.field) from None
        return {"satellites": len(names)}
    return validate


def data_update(groups=("starlink", "oneweb"), base_url: str | None = None, data_dir=None,
                timeout_s: float = 30.0, extra_files=()) -> list[Path]:
    """Download current CelesTrak TLE groups (and other files) into the data directory.

    Parameters
    ----------
    groups : iterable of str
        CelesTrak ``GROUP`` names; each becomes ``{group}_tle_{YYYYMMDDTHHMMSSZ}.txt``
        plus a ``.json`` sidecar with ``source_url``, ``downloaded_at`` (UTC
        ISO), ``sha256``, ``satellites`` and ``group``. Every download is
        parsed as TLE text first; a bad one raises :class:`InputError` and
        writes nothing, so the previous snapshot stays the newest.
    base_url : str, optional
        CelesTrak base URL (default ``$SKYMESH_CELESTRAK_URL`` or
        https://celestrak.org).
    data_dir : path, optional
        Target folder (default :func:`skymesh.datadir.data_dir`).
    timeout_s : float
        Socket timeout of each request (s).
    extra_files : iterable of (url, filename)
        Other files to fetch as they are (e.g. Natural Earth borders). One
        that already exists is kept and not downloaded again.

    Returns
    -------
    list of Path
        The data files written (sidecars not listed).

    Raises
    ------
    NetworkUnavailableError
        No network, a timeout or an HTTP error; the message says where to put
        the files by hand.
    """
    directory = resolve_data_dir(data_dir)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for group in groups:
        url = celestrak_url(group, base_url)
        dest = directory / snapshot_name(group, utc_now())
        written.append(download_file(url, dest, timeout_s=timeout_s,
                                     validate=_tle_validator(url),
                                     hint=_placement_hint(directory, group), group=group))
    for url, filename in extra_files:
        dest = directory / filename
        if dest.exists():
            continue
        written.append(download_file(url, dest, timeout_s=timeout_s,
                                     hint=f"download {url} by hand and save it as {dest}"))
    return written


def list_snapshots(group: str, data_dir=None) -> list[Path]:
    """Snapshots ``{group}_tle_{stamp}.txt`` in the data directory, oldest first.

    Ordered by the UTC date/time in the name; a date-only stamp counts as
    midnight and sorts before a timestamped file of the same day.
    """
    directory = resolve_data_dir(data_dir)
    pattern = re.compile(rf"^{re.escape(group)}_tle_{_STAMP}\.txt$")
    found = []
    if directory.is_dir():
        for path in directory.iterdir():
            match = pattern.match(path.name)
            if match and path.is_file():
                date, time = match.groups()
                found.append(((date, time or "000000", time is not None), path))
    return [path for _, path in sorted(found)]


def newest_snapshot(group: str, data_dir=None) -> Path:
    """The newest snapshot of ``group`` by the date/time in its name.

    Raises :class:`DataNotFoundError` saying how to get one when there is none.
    """
    snapshots = list_snapshots(group, data_dir)
    if not snapshots:
        directory = resolve_data_dir(data_dir)
        raise DataNotFoundError(
            f"no '{group}' TLE snapshot in {directory}: run `skymesh data update` to "
            f"download one, or {_placement_hint(directory, group)}")
    return snapshots[-1]
