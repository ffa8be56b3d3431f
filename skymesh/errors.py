"""The one exception family SkyMesh raises for problems with what it was given.

Every input error says where the problem is: the file, the line and the
field, whenever those are known. The CLI prints ``str(error)`` as one line
(control characters from the user's text escaped) and exits with status 2;
a traceback is a bug.
"""

from __future__ import annotations


class SkyMeshError(Exception):
    """Base class for every error SkyMesh raises on purpose."""


class InputError(SkyMeshError, ValueError):
    """Bad input: a malformed file, an unknown name, an impossible value.

    Parameters
    ----------
    message : str
        What is wrong, in words a user can act on.
    file, line, field : optional
        Where it is wrong. ``line`` is 1-based.
    """

    def __init__(
        self, message: str, *, file=None, line: int | None = None, field: str | None = None
    ):
        self.message = message
        self.file = None if file is None else str(file)
        self.line = line
        self.field = field
        super().__init__(self._format())

    def _format(self) -> str:
        where = []
        if self.file is not None:
            where.append(self.file if self.line is None else f"{self.file}:{self.line}")
        elif self.line is not None:
            where.append(f"line {self.line}")
        if self.field is not None:
            where.append(f"field '{self.field}'")
        text = (", ".join(where) + ": " + self.message) if where else self.message
        return printable(text)


def printable(text: str) -> str:
    """``text`` as one printable line: control and other invisible characters a user
    typed (a CR, a tab, a NUL, U+2028) are shown as escapes (``\\r``, ``\\x00``), so a
    message never breaks a line or moves the cursor."""
    if text.isprintable():
        return text
    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text
    )


class DataNotFoundError(SkyMeshError):
    """A data file SkyMesh needs is not in the data directory."""


class NetworkUnavailableError(SkyMeshError):
    """A download failed because the network could not be reached."""
