"""Explicit ISL lists: Hypatia's ``isls.txt`` and a two-column CSV, instead of the inferred +Grid.

Two formats, told apart by the first non-blank, non-comment line:

**Hypatia** (``isls.txt`` of satgenpy, Kassing et al., IMC 2020): one link
per line, two 0-based satellite indices separated by blanks::

    0 1
    0 22

**CSV**: a header line ``sat_a,sat_b``, then one link per row; each cell is
a 0-based satellite index (digits only) or a satellite name exactly as in
the TLE file or the constellation (a name made only of digits is read as
an index)::

    sat_a,sat_b
    STARLINK-1008,STARLINK-1012
    17,18

In both, blank lines and lines starting with ``#`` are ignored. Indices
count satellites in the order of the constellation (the TLE file's order,
after any element sets ``--skip-bad`` left out: give names when skipping).
A link is undirected: ``a b`` and ``b a`` are the same link, and giving it
twice, or linking a satellite to itself, is an error. Every problem is one
:class:`~skymesh.errors.InputError` naming the file and the 1-based line.

Links from a list are used like +Grid links: each is usable while its line
of sight clears the Earth and it is within the ISL range
(:func:`skymesh.links.isl.isl_lengths_km`); Hypatia instead stops with an
error when a listed link is longer than its maximum ISL length.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np

from skymesh.errors import InputError

CSV_HEADER = ("sat_a", "sat_b")
_INDEX = re.compile(r"^[0-9]+$")


def _read_text(path: Path) -> str:
    from skymesh.inputs import decode_utf8, read_input_bytes

    data = read_input_bytes(path, "ISL file")
    if b"\x00" in data[:4096]:
        raise InputError("not a text file (binary data)", file=path)
    return decode_utf8(data, path, "ISL file")


def _content_lines(text: str):
    """(1-based line number, stripped text) of every line that is not blank or a comment."""
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line and not line.startswith("#"):
            yield number, line


def parse_isl_text(text: str, sat_names, source: str = "<text>") -> np.ndarray:
    """Links of an ISL list (either format) as an (L, 2) int array, ``a < b``, sorted.

    Parameters
    ----------
    text : str
        The file's contents.
    sat_names : array_like of str, shape (N,)
        The constellation's satellite names, in order (their count bounds the indices).
    source : str
        File name for error messages.
    """
    names = [str(n) for n in np.asarray(sat_names)]
    n_sats = len(names)
    lines = list(_content_lines(text))
    if not lines:
        raise InputError("no links in the ISL file (empty, or only comments)", file=source)
    first = [c.strip().lower() for c in lines[0][1].split(",")]
    if "," in lines[0][1] or first[0] in CSV_HEADER:
        rows = _csv_rows(text, lines, names, source)
    else:
        rows = _hypatia_rows(lines, source)
    pairs: list[tuple[int, int]] = []
    seen: dict[tuple[int, int], int] = {}
    for number, a, b, field in rows:
        for value in (a, b):
            if value >= n_sats:
                raise InputError(
                    f"satellite index {value} does not exist: the constellation "
                    f"has {n_sats:,} satellites (indices 0..{n_sats - 1})",
                    file=source,
                    line=number,
                    field=field,
                )
        if a == b:
            raise InputError(
                f"satellite {a} is linked to itself", file=source, line=number, field=field
            )
        key = (min(a, b), max(a, b))
        if key in seen:
            raise InputError(
                f"link {key[0]}-{key[1]} is listed twice (first on line {seen[key]})",
                file=source,
                line=number,
                field=field,
            )
        seen[key] = number
        pairs.append(key)
    return np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)


def _hypatia_rows(lines, source: str):
    rows = []
    for number, line in lines:
        parts = line.split()
        if len(parts) != 2:
            raise InputError(
                f"expected two satellite indices 'a b', found {len(parts)} field(s): '{line[:40]}'",
                file=source,
                line=number,
                field="isl",
            )
        values = []
        for part in parts:
            if not _INDEX.match(part):
                raise InputError(
                    f"'{part[:30]}' is not a satellite index (a whole number >= 0)",
                    file=source,
                    line=number,
                    field="isl",
                )
            values.append(int(part))
        rows.append((number, values[0], values[1], "isl"))
    return rows


def _csv_rows(text: str, lines, names, source: str):
    header_line = lines[0][0]
    lookup: dict[str, int] = {}
    repeated: set[str] = set()
    for i, name in enumerate(names):
        if name in lookup:
            repeated.add(name)
        lookup.setdefault(name, i)
    reader = csv.reader(io.StringIO(text))
    rows = []
    for cells in reader:
        number = reader.line_num
        stripped = [c.strip() for c in cells]
        if not any(stripped) or stripped[0].startswith("#"):
            continue
        if number == header_line:
            if tuple(c.lower() for c in stripped) != CSV_HEADER:
                raise InputError(
                    f"the CSV header must be '{','.join(CSV_HEADER)}', found "
                    f"'{','.join(stripped)[:60]}'",
                    file=source,
                    line=number,
                    field="header",
                )
            continue
        if len(stripped) != 2:
            raise InputError(
                f"expected 2 columns (sat_a,sat_b), found {len(stripped)}",
                file=source,
                line=number,
                field="sat_a",
            )
        values = []
        for column, cell in zip(CSV_HEADER, stripped):
            if not cell:
                raise InputError("empty cell", file=source, line=number, field=column)
            if _INDEX.match(cell):
                values.append(int(cell))
            elif cell in repeated:
                raise InputError(
                    f"'{cell[:40]}' names more than one satellite; give its index instead",
                    file=source,
                    line=number,
                    field=column,
                )
            elif cell in lookup:
                values.append(lookup[cell])
            else:
                raise InputError(
                    f"no satellite named '{cell[:40]}' in the constellation",
                    file=source,
                    line=number,
                    field=column,
                )
        rows.append((number, values[0], values[1], "sat_a"))
    return rows


def load_isl_file(path, sat_names) -> np.ndarray:
    """Read an ISL list (Hypatia ``isls.txt`` or CSV); see :func:`parse_isl_text`."""
    path = Path(path).expanduser()
    return parse_isl_text(_read_text(path), sat_names, source=str(path))
