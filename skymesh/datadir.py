"""The data directory, and downloads into it that never clobber a good file.

The data directory is ``$SKYMESH_DATA`` when set, else the per-user cache
directory (``platformdirs.user_cache_dir("skymesh")``, e.g.
``~/.cache/skymesh`` on Linux). Downloads go to a temporary file in the
same directory, are checked, and only then get their final name; an
existing file is never replaced.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import tempfile
import urllib.error
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

from skymesh.errors import NetworkUnavailableError, SkyMeshError

USER_AGENT = "skymesh (https://github.com/skymesh; data update)"


def data_dir(path=None) -> Path:
    """The data directory: ``path`` if given, else ``$SKYMESH_DATA``, else the user cache dir."""
    if path is not None:
        return Path(path).expanduser()
    env = os.environ.get("SKYMESH_DATA")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("skymesh"))


def sha256_file(path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def utc_now() -> datetime:
    """The current time as an aware UTC datetime, whole seconds."""
    return datetime.now(timezone.utc).replace(microsecond=0)


def _hint(dest: Path, hint: str | None) -> str:
    where = hint or f"save it by hand as {dest}"
    return f"To work offline, {where}."


def fetch_bytes(
    url: str,
    *,
    timeout_s: float = 30.0,
    hint: str | None = None,
    dest: Path | None = None,
    max_bytes: int | None = None,
) -> bytes:
    """GET ``url`` and return the body.

    With ``max_bytes``, at most ``max_bytes + 1`` bytes are read, so a caller
    can refuse an oversized body without holding all of it.

    Raises :class:`NetworkUnavailableError` (with ``hint`` on placing the
    file by hand) when the server cannot be reached, times out or answers
    with an HTTP error.
    """
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    tail = _hint(dest or Path("<data dir>"), hint)
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return response.read() if max_bytes is None else response.read(max_bytes + 1)
    except urllib.error.HTTPError as exc:
        raise NetworkUnavailableError(
            f"download of {url} failed: the server answered HTTP {exc.code} {exc.reason}. " + tail
        ) from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        raise NetworkUnavailableError(
            f"cannot reach {url} ({reason}); no network? " + tail
        ) from None
    except (TimeoutError, socket.timeout):
        raise NetworkUnavailableError(
            f"download of {url} timed out after {timeout_s:g} s. " + tail
        ) from None
    except (ConnectionError, OSError) as exc:
        raise NetworkUnavailableError(f"download of {url} failed ({exc}). " + tail) from None


def write_new_file(dest, data: bytes) -> Path:
    """Write ``data`` to ``dest`` through a temporary file; refuse if ``dest`` exists."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        try:
            os.link(tmp, dest)  # atomic, and fails if dest exists
        except FileExistsError:
            raise SkyMeshError(f"{dest} already exists; not overwriting it") from None
        except OSError:  # file system without hard links
            if dest.exists():
                raise SkyMeshError(f"{dest} already exists; not overwriting it") from None
            os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest


def write_sidecar(path, source_url: str, downloaded_at: datetime, **fields) -> Path:
    """Write ``{path}.json`` next to ``path``: source URL, UTC download time, SHA-256, extras."""
    path = Path(path)
    record = {
        "file": path.name,
        "source_url": source_url,
        "downloaded_at": downloaded_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "sha256": sha256_file(path),
        **fields,
    }
    sidecar = path.with_name(
        path.name[: -len(path.suffix)] + ".json" if path.suffix else path.name + ".json"
    )
    return write_new_file(sidecar, (json.dumps(record, indent=2) + "\n").encode())


def download_file(
    url: str,
    dest,
    *,
    timeout_s: float = 30.0,
    validate=None,
    sidecar: bool = True,
    hint: str | None = None,
    max_bytes: int | None = None,
    downloaded_at: datetime | None = None,
    **sidecar_fields,
) -> Path:
    """Download ``url`` to the new file ``dest`` (and ``dest``'s ``.json`` sidecar).

    ``validate(data: bytes)``, if given, runs before anything is written and
    raises to reject the download; it may return a dict of extra sidecar
    fields. An existing ``dest`` is never overwritten (:class:`SkyMeshError`).
    Network failures raise :class:`NetworkUnavailableError` carrying ``hint``.
    """
    dest = Path(dest)
    if dest.exists():
        raise SkyMeshError(f"{dest} already exists; not overwriting it")
    downloaded_at = downloaded_at or utc_now()
    data = fetch_bytes(url, timeout_s=timeout_s, hint=hint, dest=dest, max_bytes=max_bytes)
    fields = dict(sidecar_fields)
    if validate is not None:
        more = validate(data)
        if isinstance(more, dict):
            fields.update(more)
    write_new_file(dest, data)
    if sidecar:
        write_sidecar(dest, url, downloaded_at, **fields)
    return dest
