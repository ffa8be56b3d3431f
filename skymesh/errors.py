"""The one exception family SkyMesh raises for problems with what it was given.

Every input error says where the problem is: the file, the line and the
field, whenever those are known. The CLI prints ``str(error)`` as one line
(control characters from the user's text escaped) and exits with status 2;
a traceback is a bug.
"""

from __future__ import annotations


class SkyMeshError(Exception):
    """Base class for every error SkyMesh raises on purpose.

    Examples
    --------
    >>> import skymesh
    >>> try:
    ...     skymesh.load_constellation("nosuch")
    ... except skymesh.SkyMeshError as exc:
    ...     print(type(exc).__name__, exc.field)
    InputError constellation
    """


class InputError(SkyMeshError, ValueError):
    """Bad input: a malformed file, an unknown name, an impossible value.

    Parameters
    ----------
    message : str
        What is wrong, in words a user can act on.
    file, line, field : optional
        Where it is wrong. ``line`` is 1-based.

    Examples
    --------
    >>> import skymesh
    >>> try:
    ...     skymesh.place("91,0")
    ... except skymesh.InputError as exc:
    ...     print(exc.field, "|", exc.message)
    lat | latitude 91 in '91,0' is outside [-90, 90] deg
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


MAX_PROBLEMS = 20
"""Most problems one :class:`InputErrors` lists; the summary line says how many more."""


class InputErrors(InputError):
    """Several problems with one input (a scenario, policy, gateway or PoP file), all at once.

    ``problems`` are the :class:`InputError` of each (file, line, field), in file order, at
    most :data:`MAX_PROBLEMS`; ``total`` counts them all. ``str()`` is the summary line
    ``"N problems in FILE:"`` and then one line per problem; ``file``, ``line`` and ``field``
    are the first problem's.

    Example
    -------
    >>> a = InputError("expected a number", file="gw.csv", line=3, field="lat")
    >>> b = InputError("'XX' is not a country", file="gw.csv", line=5, field="country")
    >>> print(InputErrors([a, b], file="gw.csv"))
    2 problems in gw.csv:
    gw.csv:3, field 'lat': expected a number
    gw.csv:5, field 'country': 'XX' is not a country
    """

    def __init__(self, problems, *, file=None, total: int | None = None):
        problems = list(problems)
        if not problems:
            raise ValueError("InputErrors needs at least one problem")
        self.problems = problems[:MAX_PROBLEMS]
        self.total = max(total or 0, len(problems))
        where = file if file is not None else problems[0].file
        shown = (
            f" (the first {len(self.problems)} shown)" if self.total > len(self.problems) else ""
        )
        summary = f"{self.total} problems" + (f" in {where}" if where is not None else "")
        self.summary = f"{summary}{shown}:"
        lines = [self.summary] + [printable(str(p)) for p in self.problems]
        first = problems[0]
        self.message = "\n".join(lines)
        self.file = None if where is None else str(where)
        self.line = first.line
        self.field = first.field
        Exception.__init__(self, self.message)

    def _format(self) -> str:
        return self.message


def problems_of(err: InputError) -> list[InputError]:
    """The single problems inside ``err``: its ``problems`` for :class:`InputErrors`."""
    return list(err.problems) if isinstance(err, InputErrors) else [err]


def raise_problems(problems, *, file=None) -> None:
    """Raise nothing for no problem, the problem itself for one, :class:`InputErrors` for more.

    Problems are put in file order (by line; those without a line last, as found).
    """
    flat = [q for p in problems for q in problems_of(p)]
    if not flat:
        return
    if len(flat) == 1:
        raise flat[0]
    order = sorted(range(len(flat)), key=lambda i: (flat[i].line is None, flat[i].line or 0, i))
    raise InputErrors([flat[i] for i in order], file=file)


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
