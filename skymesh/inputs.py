"""Reading the user's input files: only regular files, capped in size, UTF-8, shallowly nested.

Every file a scenario, a flag or a service request names (a constellation's
TLE file, an ISL list, terminals, gateways, PoPs, places, a policy, a GeoJSON
region, a scenario, an audit export) is read through :func:`read_input_bytes`
or :func:`read_input_text`, so that:

* only a regular file is read: a FIFO, a character device (``/dev/zero``,
  ``/dev/urandom``, a terminal), a socket or a folder is refused with one
  line, before a byte is read. The file is opened with ``O_NONBLOCK`` (opening
  a FIFO with no writer would otherwise wait for ever) and the check is made
  with ``fstat`` on the open descriptor, so the file read is the file checked;
* at most :data:`MAX_BYTES` of the kind are read (a file that is, or grows,
  larger is refused, naming the cap), so no input fills the memory;
* text is UTF-8 (a byte-order mark is dropped); anything else is one line
  naming the file, the line and the byte offset of the first bad byte;
* JSON and TOML documents nested deeper than :data:`MAX_NESTING` levels are
  one line (:func:`loads_json`, :func:`loads_toml`), never a ``RecursionError``.

Country codes typed by users go through :func:`iso2_upper`: only ASCII is
upper-cased, so Unicode case folding cannot turn ``"ß"`` into ``"SS"``
(South Sudan), ``"ﬁ"`` into ``"FI"`` or ``"ır"`` into ``"IR"``.

Symbolic links are followed: reading through a link the user made is what
they asked for; what is refused is what the link (or the path) leads to.
"""

from __future__ import annotations

import json
import os
import re
import stat
import tomllib
from pathlib import Path

from skymesh.errors import InputError

MIB = 1024 * 1024

MAX_BYTES = {
    "scenario": 1 * MIB,
    "policy": 4 * MIB,
    "TLE": 64 * MIB,
    "ISL": 64 * MIB,
    "places": 64 * MIB,
    "gateways": 16 * MIB,
    "PoPs": 16 * MIB,
    "GeoJSON": 64 * MIB,
    "audit export": 256 * MIB,
}
"""Size cap (bytes) of each kind of input file. A whole CelesTrak catalogue
(~30,000 objects x 3 lines x 70 B) is ~6 MB, Natural Earth's 1:10m country
file ~24 MB, a Hypatia ISL list of 10,000 satellites well under 1 MB: each cap
leaves an order of magnitude of room over the largest real file of its kind
while keeping a mistaken path (a disk image, a log) from filling the memory."""

DEFAULT_MAX_BYTES = 64 * MIB
"""Cap (bytes) for a kind not in :data:`MAX_BYTES`."""

MAX_NESTING = 64
"""Deepest nesting (arrays and tables/objects inside each other) a JSON or TOML
input may have. GeoJSON MultiPolygons are 5 levels deep, scenarios and
policies 4; CPython's own parsers fail with ``RecursionError`` near 1,000."""

_KIND_OF_FILE = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _not_regular(mode: int) -> str:
    for test, name in _KIND_OF_FILE:
        if test(mode):
            return name
    return "not a regular file"


def _size_text(n: int) -> str:
    return f"{n // MIB} MiB" if n % MIB == 0 else f"{n:,} bytes"


def read_input_bytes(path, what: str, max_bytes: int | None = None) -> bytes:
    """The bytes of the regular file at ``path``, at most ``max_bytes``.

    ``what`` names the kind of file in messages ("TLE file", "policy file") and,
    with its first word, picks the cap from :data:`MAX_BYTES` when ``max_bytes``
    is not given. Raises :class:`~skymesh.errors.InputError` naming ``path``
    for a missing file, a folder, a FIFO, a device, a socket, a file over the
    cap, or any error reading it.
    """
    path = Path(path)
    if max_bytes is None:
        max_bytes = MAX_BYTES.get(what.split(" ")[0], DEFAULT_MAX_BYTES)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise InputError(f"{what} not found", file=path) from None
    except OSError as exc:
        raise InputError(f"cannot read the {what}: {exc.strerror or exc}", file=path) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InputError(
                f"the {what} is {_not_regular(st.st_mode)}, not a regular file "
                "(SkyMesh reads only regular files)",
                file=path,
            )
        if st.st_size > max_bytes:
            raise InputError(
                f"{what} is {st.st_size:,} bytes, more than the {_size_text(max_bytes)} "
                "SkyMesh reads",
                file=path,
            )
        chunks, total = [], 0
        while total <= max_bytes:
            chunk = os.read(fd, min(max_bytes + 1 - total, 4 * MIB))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > max_bytes:
            raise InputError(
                f"{what} is more than the {_size_text(max_bytes)} SkyMesh reads", file=path
            )
        return b"".join(chunks)
    except OSError as exc:
        raise InputError(f"cannot read the {what}: {exc.strerror or exc}", file=path) from None
    finally:
        os.close(fd)


def decode_utf8(data: bytes, source, what: str = "file") -> str:
    """``data`` as UTF-8 text (a leading byte-order mark dropped); anything else is one
    :class:`~skymesh.errors.InputError` naming ``source``, the line and the byte offset."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            f"the {what} is not UTF-8 text (byte 0x{data[exc.start]:02X} at byte offset "
            f"{exc.start:,})",
            file=source,
            line=line,
        ) from None


def read_input_text(path, what: str, max_bytes: int | None = None) -> str:
    """:func:`read_input_bytes` decoded with :func:`decode_utf8`."""
    return decode_utf8(read_input_bytes(path, what, max_bytes), path, what)


def _depth(doc) -> int:
    """Deepest nesting of lists and dicts in ``doc`` (a scalar is 0), without recursion;
    stops counting past :data:`MAX_NESTING`."""
    deepest = 0
    stack = [(doc, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            children = list(node.values())
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_NESTING:
            return deepest
        stack.extend((c, level + 1) for c in children if isinstance(c, (dict, list)))
    return deepest


def check_nesting(doc, source=None, what: str = "document") -> None:
    """Refuse ``doc`` (parsed JSON or TOML) nested deeper than :data:`MAX_NESTING`."""
    if _depth(doc) > MAX_NESTING:
        raise InputError(f"the {what} is nested more than {MAX_NESTING} levels deep", file=source)


def _too_deep(source, what: str) -> InputError:
    return InputError(
        f"the {what} is nested too deeply to read (more than {MAX_NESTING} levels)", file=source
    )


def loads_json(text, source=None, what: str = "JSON document"):
    """``json.loads(text)``, with nesting deeper than :data:`MAX_NESTING` one
    :class:`~skymesh.errors.InputError`; a syntax error still raises
    ``json.JSONDecodeError`` for the caller to word."""
    try:
        doc = json.loads(text)
    except RecursionError:
        raise _too_deep(source, what) from None
    check_nesting(doc, source, what)
    return doc


def loads_toml(text: str, source=None, what: str = "TOML document"):
    """``tomllib.loads(text)``, with nesting deeper than :data:`MAX_NESTING` one
    :class:`~skymesh.errors.InputError`; a syntax error still raises
    ``tomllib.TOMLDecodeError`` for the caller to word."""
    try:
        doc = tomllib.loads(text)
    except RecursionError:
        raise _too_deep(source, what) from None
    check_nesting(doc, source, what)
    return doc


_ASCII_CODE = re.compile(r"[A-Za-z]{2}")


def iso2_upper(value) -> str:
    """A typed country code stripped and upper-cased, ASCII only.

    Two ASCII letters come back upper-case (``" fi "`` -> ``"FI"``); anything
    else comes back stripped but otherwise as given, so it matches no ISO
    3166-1 alpha-2 code and the caller's "unknown code" error names what the
    user typed. ``str.upper`` alone would fold ``"ß"`` to ``"SS"``, the ligature
    ``"ﬁ"`` to ``"FI"`` and the dotless ``"ır"`` to ``"IR"``.
    """
    text = str(value).strip()
    if text.isascii():
        return text.upper()
    return text


def is_ascii_iso2_form(value) -> bool:
    """True when ``value`` is two ASCII letters (either case), the only form of a code."""
    return isinstance(value, str) and _ASCII_CODE.fullmatch(value.strip()) is not None
