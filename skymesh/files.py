"""Writing the user's files safely: atomic replacement and one writer per results folder.

Every file SkyMesh writes for the user (``--out`` tables, maps, plots, views,
JSON, results parts) goes through :func:`atomic_path`: the content is written
to a temporary file in the same folder and renamed over the target only once
complete, so a full disk, a crash or a kill never leaves a truncated file
under the user's name (POSIX ``rename`` within one file system is atomic).

:func:`folder_lock` holds an exclusive ``fcntl.flock`` on a lock file beside
a results folder (``.NAME.skymesh.lock``) for as long as a run writes there,
so a second run into the same folder, ``--force`` or not, is refused instead
of deleting the folder under the first. The lock file is opened with
``O_NOFOLLOW`` and must be a regular file: a symlink or special file planted
under its name is refused, never written through.

Nothing is written or deleted through a symlink inside a results folder:
:func:`check_tree` refuses a folder holding any symlink or special file, and
:func:`atomic_path` with ``within=FOLDER`` checks (``lstat``, no following)
every path component from ``FOLDER`` down to the target's folder just before
it writes. The results folder itself is the user's choice and may be reached
through symlinks; only what lies under it is checked.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from skymesh.errors import SkyMeshError

LOCK_SUFFIX = ".skymesh.lock"


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


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_error(path, exc: OSError) -> SkyMeshError:
    """A one-line :class:`SkyMeshError` naming ``path`` and why writing it failed."""
    return SkyMeshError(f"cannot write {path}: {_reason(exc)}")


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symlink"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"


def _not_ours(path, mode: int) -> SkyMeshError:
    return SkyMeshError(
        f"{path}: is {_kind(mode)} inside a results folder; SkyMesh neither writes nor "
        "deletes through it (remove it, or choose another --out)"
    )


def check_inside(root, path) -> None:
    """Refuse, one line naming it, any component from ``root`` (excluded) down to ``path``
    (included, when it exists) that is a symlink or not a plain folder / regular file.

    ``path`` must lie under ``root`` (lexically: no ``..``). Nothing is followed.
    """
    root, path = Path(root), Path(path)
    try:
        rel = path.relative_to(root)
    except ValueError:
        raise SkyMeshError(f"{path}: outside the results folder {root}") from None
    if ".." in rel.parts:
        raise SkyMeshError(f"{path}: outside the results folder {root}")
    probe = root
    for i, part in enumerate(rel.parts):
        probe = probe / part
        try:
            mode = os.lstat(probe).st_mode
        except FileNotFoundError:
            return
        except OSError as exc:
            raise write_error(probe, exc) from None
        last = i == len(rel.parts) - 1
        if stat.S_ISDIR(mode) or (last and stat.S_ISREG(mode)):
            continue
        if stat.S_ISREG(mode):
            raise SkyMeshError(f"{probe}: is a file, not a folder")
        raise _not_ours(probe, mode)


def check_tree(root) -> None:
    """Refuse a results folder ``root`` holding, at any depth, a symlink or anything but
    folders and regular files (one line naming the first found). Nothing is followed."""
    root = Path(root)
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise SkyMeshError(f"cannot read {folder}: {_reason(exc)}") from None
        for entry in entries:
            mode = entry.stat(follow_symlinks=False).st_mode
            if stat.S_ISDIR(mode):
                stack.append(Path(entry.path))
            elif not stat.S_ISREG(mode):
                raise _not_ours(entry.path, mode)


@contextlib.contextmanager
def atomic_path(path, *, suffix: str | None = None, within=None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it onto ``path``.

    The temporary file keeps ``path``'s suffix (or ``suffix``) so writers that
    choose a format by extension (matplotlib, pyarrow) still do. On any error
    the temporary file is removed and ``path`` is left as it was; an
    :class:`OSError` becomes a one-line :class:`SkyMeshError` naming ``path``.
    With ``within`` (a results folder holding ``path``), every component under it
    is checked first (:func:`check_inside`): nothing is written through a symlink.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_path(d / "a.txt") as tmp:
    ...     _ = tmp.write_text("done")
    >>> (d / "a.txt").read_text()
    'done'
    """
    path = Path(path)
    if within is not None:
        check_inside(within, path)
    if path.is_dir():
        raise SkyMeshError(f"cannot write {path}: it is a folder")
    try:
        fd, tmp_name = tempfile.mkstemp(
            dir=path.parent,
            prefix=f".{path.name}.",
            suffix=suffix if suffix is not None else path.suffix,
        )
    except OSError as exc:
        raise write_error(path, exc) from None
    try:
        # mkstemp makes the file 0600; the user's file gets the usual mode (0666 - umask).
        os.fchmod(fd, 0o666 & ~_umask())
    finally:
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


def write_text_atomic(path, text: str, encoding: str = "utf-8", *, within=None) -> None:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path, within=within) as tmp:
        tmp.write_text(text, encoding=encoding)


def write_bytes_atomic(path, data: bytes, *, within=None) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path, within=within) as tmp:
        tmp.write_bytes(data)


def lock_path(folder) -> Path:
    """The lock file of the results folder ``folder``: ``.NAME.skymesh.lock`` beside it.

    It lives in the parent, not inside ``folder``, so it survives ``--force``
    deleting and re-creating ``folder`` (a lock file inside would be deleted
    with the folder, and a second run would lock a fresh file of the same name).
    """
    folder = Path(folder).absolute()
    return folder.parent / f".{folder.name}{LOCK_SUFFIX}"


@contextlib.contextmanager
def folder_lock(folder) -> Iterator[Path]:
    """Hold an exclusive lock on the results folder ``folder`` for the ``with`` body.

    The lock is an ``fcntl.flock`` on :func:`lock_path` (beside the folder; the
    parent is created if needed, ``folder`` itself is not). A second holder, in
    this process or another, gets a one-line :class:`SkyMeshError` at once
    rather than waiting. The kernel drops the lock when the body ends or the
    process dies, even by SIGKILL, so a killed run never leaves a stale lock.

    The lock file is opened with ``O_NOFOLLOW`` (and ``O_NONBLOCK``, so a FIFO
    never hangs) and must be a regular file with one link: a symlink, hard link,
    FIFO or device planted under its name is refused with one line, and nothing
    is written through it.

    No race: the holder removes the lock file while still holding it, and a
    newcomer that got its lock on a file which is no longer the one at
    :func:`lock_path` (same device and inode) lets it go and tries again, so
    two processes never both believe they hold the folder.
    """
    folder = Path(folder)
    lock = lock_path(folder)
    try:
        lock.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_error(lock.parent, exc) from None
    while True:
        try:
            mode = os.lstat(lock).st_mode
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise write_error(folder, exc) from None
        else:
            if not stat.S_ISREG(mode):
                raise _lock_not_a_file(lock, _kind(mode))
        try:
            fd = os.open(
                lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o644
            )
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise _lock_not_a_file(lock, "a symlink") from None
            if exc.errno in (errno.ENXIO, errno.EISDIR):
                raise _lock_not_a_file(lock, "a special file") from None
            raise write_error(folder, exc) from None
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode) or opened.st_nlink > 1:
            os.close(fd)
            what = "a hard link to another file" if stat.S_ISREG(opened.st_mode) else None
            raise _lock_not_a_file(lock, what or _kind(opened.st_mode))
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise SkyMeshError(
                f"{folder}: another SkyMesh run is writing there; "
                "wait for it to finish or choose another --out"
            ) from None
        try:
            now = os.lstat(lock)
        except FileNotFoundError:
            now = None
        held = os.fstat(fd)
        if now is not None and (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino):
            break
        os.close(fd)  # the previous holder removed that file as we locked it: retry
    try:
        os.write(fd, f"{os.getpid()}\n".encode())
        yield lock
    finally:
        with contextlib.suppress(OSError):
            os.unlink(lock)
        os.close(fd)


def _lock_not_a_file(lock: Path, what: str) -> SkyMeshError:
    return SkyMeshError(
        f"{lock}: the lock file is {what}, not a regular file; SkyMesh will not write "
        "through it (remove it and run again)"
    )


def file_sha256(path) -> str:
    """SHA-256 of the file at ``path``, hex."""
    import hashlib

    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def check_out_folder(path, flag: str = "--out") -> None:
    """Before any work: ``path`` can become (or already is) a folder SkyMesh may write in.

    Refuses, with one line naming ``path`` and the reason, an existing regular
    file, a folder (or the nearest existing parent) that is not writable, and a
    path through a file.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise SkyMeshError(f"{flag} {path}: is a file, not a folder")
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise SkyMeshError(f"{flag} {path}: {probe} is a file, not a folder")
    if probe.exists() and not os.access(probe, os.W_OK | os.X_OK):
        raise SkyMeshError(f"cannot write {path}: permission denied ({probe} is read-only)")
