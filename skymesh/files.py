"""Writing the user's files safely: atomic replacement and one writer per results folder.

Every file SkyMesh writes for the user (``--out`` tables, maps, plots, views,
JSON, results parts) goes through :func:`atomic_path`: the content is written
to a temporary file in the same folder and renamed over the target only once
complete, so a full disk, a crash or a kill never leaves a truncated file
under the user's name (POSIX ``rename`` within one file system is atomic).

:func:`folder_lock` holds an exclusive ``fcntl.flock`` on a lock file inside
a results folder for as long as a run writes there, so a second run into the
same folder is refused instead of deleting it under the first.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from skymesh.errors import SkyMeshError

LOCK_NAME = ".skymesh.lock"


def _reason(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "no space left on the device"
    if exc.errno == errno.EDQUOT:
        return "disk quota exceeded"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "permission denied (read-only folder?)"
    if exc.errno == errno.ENOTDIR:
        return "a part of the path is a file, not a folder"
    if exc.errno == errno.EISDIR:
        return "it is a folder"
    return exc.strerror or str(exc)


def write_error(path, exc: OSError) -> SkyMeshError:
    """A one-line :class:`SkyMeshError` naming ``path`` and why writing it failed."""
    return SkyMeshError(f"cannot write {path}: {_reason(exc)}")


@contextlib.contextmanager
def atomic_path(path, *, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it onto ``path``.

    The temporary file keeps ``path``'s suffix (or ``suffix``) so writers that
    choose a format by extension (matplotlib, pyarrow) still do. On any error
    the temporary file is removed and ``path`` is left as it was; an
    :class:`OSError` becomes a one-line :class:`SkyMeshError` naming ``path``.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_path(d / "a.txt") as tmp:
    ...     _ = tmp.write_text("done")
    >>> (d / "a.txt").read_text()
    'done'
    """
    path = Path(path)
    if path.is_dir():
        raise SkyMeshError(f"cannot write {path}: it is a folder")
    try:
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                        suffix=suffix if suffix is not None else path.suffix)
    except OSError as exc:
        raise write_error(path, exc) from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise write_error(path, exc) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path, text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding=encoding)


def write_bytes_atomic(path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


@contextlib.contextmanager
def folder_lock(folder) -> Iterator[Path]:
    """Hold an exclusive lock on ``folder`` (created if needed) for the ``with`` body.

    A second holder, in this process or another, gets a one-line
    :class:`SkyMeshError` at once rather than waiting. The lock is released
    when the body ends or the process dies (the kernel drops ``flock`` locks
    with the file descriptor).
    """
    folder = Path(folder)
    lock = folder / LOCK_NAME
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise write_error(folder, exc) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SkyMeshError(f"{folder}: another SkyMesh run is writing there; "
                               "wait for it to finish or choose another --out") from None
        yield lock
    finally:
        os.close(fd)
