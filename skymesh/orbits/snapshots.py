"""TLE snapshots in the data directory: download them from CelesTrak, find the newest.

A snapshot is a file ``{group}_tle_{stamp}.txt`` in the data directory
(see :func:`skymesh.datadir.data_dir`) or shipped in the package (``starlink`` of
2025-12-04, ``oneweb`` of 2025-10-07; :mod:`skymesh.shipped`), where ``stamp`` is a UTC date
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
import urllib.parse
from datetime import datetime
from pathlib import Path

import numpy as np

from skymesh.datadir import data_dir as resolve_data_dir
from skymesh.datadir import download_file, utc_now
from skymesh.errors import DataNotFoundError, InputError
from skymesh.inputs import loads_json, read_input_bytes, read_input_text
from skymesh.orbits.tle import parse_tle_text, tle_epochs_utc

CELESTRAK_URL = "https://celestrak.org"
"""Default CelesTrak base URL; override with ``$SKYMESH_CELESTRAK_URL``."""
CELESTRAK_GP_PATH = "/NORAD/elements/gp.php"

GROUP_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
"""CelesTrak group names SkyMesh accepts (``starlink``, ``oneweb``, ``gps-ops``, ...).

A group becomes part of a file name and of a URL, so only lower-case
letters, digits and inner hyphens pass; nothing can climb out of the data
folder or inject a query parameter."""

MAX_DOWNLOAD_BYTES = 32 * 1024 * 1024
"""Size cap of one TLE download (bytes). CelesTrak's largest GP group
("active", ~12,000 objects x 3 lines of <= 70 characters) is about 2.5 MB;
32 MiB leaves more than tenfold room while refusing a runaway response."""

MAX_EPOCH_AGE_DAYS = 30.0
"""Element epochs must lie within this many days of the download (d). SGP4's
error grows by kilometres per day away from epoch (Vallado et al. 2006,
"Revisiting Spacetrack Report #3", AIAA 2006-6753), so month-old elements
are not a fresh snapshot."""

MIN_COUNT_RATIO = 0.5
"""A download must hold at least this share of the previous snapshot's satellites."""

_STAMP = r"(\d{8})(?:T(\d{6})Z)?"


def check_group(group: str, flag: str = "--groups") -> str:
    """``group`` if it matches :data:`GROUP_RE`, else an :class:`InputError` naming ``flag``."""
    if not isinstance(group, str) or not GROUP_RE.match(group):
        raise InputError(
            f"{flag}: {group!r} is not a CelesTrak group name (lower-case letters, "
            "digits and '-', up to 40 characters, e.g. starlink)"
        )
    return group


def celestrak_url(group: str, base_url: str | None = None) -> str:
    """URL of CelesTrak's current 3-line TLE set of ``group`` (query properly encoded)."""
    check_group(group)
    base = base_url or os.environ.get("SKYMESH_CELESTRAK_URL") or CELESTRAK_URL
    query = urllib.parse.urlencode({"GROUP": group, "FORMAT": "tle"})
    return base.rstrip("/") + CELESTRAK_GP_PATH + "?" + query


def snapshot_name(group: str, when) -> str:
    """File name ``{group}_tle_{YYYYMMDDTHHMMSSZ}.txt`` of a snapshot taken at UTC ``when``."""
    return f"{group}_tle_{when.strftime('%Y%m%dT%H%M%SZ')}.txt"


def _placement_hint(directory: Path, group: str) -> str:
    return (
        f"place the 3-line TLE text of CelesTrak group '{group}' by hand in {directory} "
        f"as {group}_tle_YYYYMMDD.txt (or {group}_tle_YYYYMMDDTHHMMSSZ.txt), "
        f"or set SKYMESH_DATA to a folder holding such files"
    )


def _previous_count(directory: Path, group: str) -> tuple[int, Path] | None:
    snapshots = list_snapshots(group, directory, shipped=True)
    if not snapshots:
        return None
    last = snapshots[-1]
    sidecar = last.with_suffix(".json")
    try:
        doc = loads_json(read_input_text(sidecar, "snapshot sidecar"), sidecar)
        return int(doc["satellites"]), last
    except (ValueError, KeyError, TypeError):  # InputError is a ValueError
        pass
    try:
        text = read_input_bytes(last, "TLE file").decode("utf-8", errors="replace")
        names, _, _, _ = parse_tle_text(text, source=str(last), skip_bad=True)
    except InputError:
        return None
    return len(names), last


def check_download(
    data: bytes,
    url: str,
    *,
    downloaded_at: datetime,
    previous: tuple[int, Path] | None = None,
    force: bool = False,
) -> dict:
    """Check a TLE download before it may become the newest snapshot.

    It must parse as TLE text (always), and unless ``force``: be at most
    :data:`MAX_DOWNLOAD_BYTES`, hold at least :data:`MIN_COUNT_RATIO` of the
    ``previous`` snapshot's satellite count, and have every element epoch
    within :data:`MAX_EPOCH_AGE_DAYS` of ``downloaded_at``. Returns the
    sidecar fields; raises :class:`InputError` saying nothing was saved.
    """
    override = "; nothing was saved (--force to take it anyway)"
    if not force and len(data) > MAX_DOWNLOAD_BYTES:
        raise InputError(
            f"{url}: the download is {len(data):,} bytes, over the "
            f"{MAX_DOWNLOAD_BYTES:,}-byte cap{override}"
        )
    text = data.decode("utf-8", errors="replace")
    try:
        names, line1s, _, _ = parse_tle_text(text, source=url)
    except InputError as exc:
        raise InputError(
            f"the download is not valid TLE text, nothing was saved: {exc.message}",
            file=exc.file,
            line=exc.line,
            field=exc.field,
        ) from None
    fields = {"satellites": len(names)}
    if force:
        return fields
    if previous is not None and len(names) < MIN_COUNT_RATIO * previous[0]:
        raise InputError(
            f"{url}: the download holds {len(names):,} satellites, fewer than "
            f"half of the previous snapshot's {previous[0]:,} ({previous[1].name})"
            f"{override}"
        )
    epochs = tle_epochs_utc(line1s)
    now = np.datetime64(downloaded_at.replace(tzinfo=None), "us")
    # numpy's stubs type datetime64 - datetime64[] as datetime64, not timedelta64
    age_days = np.abs((now - epochs) / np.timedelta64(1, "D"))  # type: ignore[operator]
    stale = age_days > MAX_EPOCH_AGE_DAYS
    if stale.any():
        worst = int(np.argmax(age_days))
        raise InputError(
            f"{url}: {int(stale.sum()):,} of {len(names):,} element epochs are more "
            f"than {MAX_EPOCH_AGE_DAYS:g} days from the download (the farthest: "
            f"{names[worst].strip()} at {str(epochs[worst])[:16]} UTC){override}"
        )
    return fields


def _tle_validator(url: str, directory: Path, group: str, force: bool, now: datetime):
    previous = _previous_count(directory, group)

    def validate(data: bytes) -> dict:
        return check_download(data, url, downloaded_at=now, previous=previous, force=force)

    return validate


def data_update(
    groups=("starlink", "oneweb"),
    base_url: str | None = None,
    data_dir=None,
    timeout_s: float = 30.0,
    extra_files=(),
    *,
    force: bool = False,
    on_file=None,
) -> list[Path]:
    """Download current CelesTrak TLE groups (and other files) into the data directory.

    Parameters
    ----------
    groups : iterable of str
        CelesTrak ``GROUP`` names; each becomes ``{group}_tle_{YYYYMMDDTHHMMSSZ}.txt``
        plus a ``.json`` sidecar with ``source_url``, ``downloaded_at`` (UTC
        ISO), ``sha256``, ``satellites`` and ``group``. Names must match
        :data:`GROUP_RE`. Every download is checked first
        (:func:`check_download`: TLE text, size cap, satellite count against
        the previous snapshot, epochs near the download); a bad one raises
        :class:`InputError` and writes nothing, so the previous snapshot
        stays the newest.
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
    force : bool
        Take a download that fails the size, count or epoch checks (it must
        still be TLE text).
    on_file : callable, optional
        Called with each written path as soon as it is written (progress).

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
    groups = [check_group(g) for g in groups]
    directory = resolve_data_dir(data_dir)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    cap = None if force else MAX_DOWNLOAD_BYTES
    for group in groups:
        url = celestrak_url(group, base_url)
        now = utc_now()  # one clock: the file's stamp, its sidecar, the epoch check
        dest = directory / snapshot_name(group, now)
        written.append(
            download_file(
                url,
                dest,
                timeout_s=timeout_s,
                validate=_tle_validator(url, directory, group, force, now),
                hint=_placement_hint(directory, group),
                max_bytes=cap,
                downloaded_at=now,
                group=group,
            )
        )
        if on_file is not None:
            on_file(written[-1])
    for url, filename in extra_files:
        dest = directory / filename
        if dest.exists():
            continue
        written.append(
            download_file(
                url, dest, timeout_s=timeout_s, hint=f"download {url} by hand and save it as {dest}"
            )
        )
        if on_file is not None:
            on_file(written[-1])
    return written


def _stamped(group: str, directory: Path) -> list[tuple]:
    pattern = re.compile(rf"^{re.escape(group)}_tle_{_STAMP}\.txt$")
    found = []
    if directory.is_dir():
        for path in directory.iterdir():
            match = pattern.match(path.name)
            if match and path.is_file():
                date, time = match.groups()
                found.append((date, time or "000000", time is not None, path))
    return found


def list_snapshots(group: str, data_dir=None, *, shipped: bool = False) -> list[Path]:
    """Snapshots ``{group}_tle_{stamp}.txt`` in the data directory, oldest first.

    Ordered by the UTC date/time in the name; a date-only stamp counts as
    midnight and sorts before a timestamped file of the same day. ``shipped``
    also lists the element sets shipped in the package (:mod:`skymesh.shipped`);
    of two with the same stamp the data directory's sorts last (it wins).
    """
    from skymesh.shipped import package_data_dir

    found = [(*k[:3], 1, k[3]) for k in _stamped(group, resolve_data_dir(data_dir))]
    if shipped:
        found += [(*k[:3], 0, k[3]) for k in _stamped(group, package_data_dir())]
    return [k[-1] for k in sorted(found, key=lambda k: k[:4])]


def newest_snapshot(group: str, data_dir=None) -> Path:
    """The newest snapshot of ``group`` by the date/time in its name, in the data
    directory or shipped in the package (on a tie, the data directory's).

    Raises :class:`DataNotFoundError` saying how to get one when there is none.
    """
    snapshots = list_snapshots(group, data_dir, shipped=True)
    if not snapshots:
        directory = resolve_data_dir(data_dir)
        raise DataNotFoundError(
            f"no '{group}' TLE snapshot in {directory} (and none ships with SkyMesh): run "
            f"`skymesh data update` to download one, or {_placement_hint(directory, group)}"
        )
    return snapshots[-1]
