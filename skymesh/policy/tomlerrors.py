"""Turn pydantic validation errors on TOML data into ``InputError`` with a line.

``tomllib`` gives plain dicts with no positions, so the line of a problem is
found again in the raw text: :func:`toml_key_lines` scans the headers
(``[table]``, ``[[array.of.tables]]``) and ``key = value`` lines and maps each
*resolved path* to its 1-based line, with array-of-tables occurrences
numbered the way pydantic numbers list items::

    [[country]]            -> ("country", 0)
    iso2 = "IR"            -> ("country", 0, "iso2")
    [[country.service]]    -> ("country", 0, "service", 0)
    from = 2022-09-23      -> ("country", 0, "service", 0, "from")
    [[country]]            -> ("country", 1)

:func:`find_toml_line` then takes a pydantic ``loc`` such as
``("country", 1, "service", 0, "from")`` and returns the line of the deepest
part of it that is written in the file: the key itself, else the table
header it belongs to (a missing key), else ``None``. Items of inline arrays
(``exit_countries = ["TR", "XX"]``) resolve to the key's line.

The scanner is not a TOML parser: it skips multi-line strings and relies on
keys starting their line, which covers files ``tomllib`` has already accepted.
"""

from __future__ import annotations

import difflib
import re
import typing

import pydantic

from skymesh.errors import InputError, InputErrors

_BARE = r"[A-Za-z0-9_\-]+"
_QUOTED = r"\"(?:[^\"\\]|\\.)*\"|'[^']*'"
_KEY = rf"(?:{_BARE}|{_QUOTED})"
_DOTTED = rf"{_KEY}(?:\s*\.\s*{_KEY})*"
_HEADER_RE = re.compile(rf"^\s*(\[\[?)\s*({_DOTTED})\s*\]\]?\s*(?:#.*)?$")
_KEYLINE_RE = re.compile(rf"^\s*({_DOTTED})\s*=")
_PART_RE = re.compile(_KEY)


def _split_key(dotted: str) -> tuple[str, ...]:
    parts = []
    for m in _PART_RE.finditer(dotted):
        p = m.group(0)
        if p[0] in "\"'":
            p = p[1:-1]
        parts.append(p)
    return tuple(parts)


def toml_key_lines(text: str) -> dict[tuple, int]:
    """Map every table header and key of a TOML text to its 1-based line.

    Keys are resolved paths: strings for keys, integers (0-based) for the
    occurrence of an ``[[array of tables]]`` under its parent.
    """
    lines: dict[tuple, int] = {}
    counts: dict[tuple, int] = {}  # array-of-tables path -> occurrences so far
    current: tuple = ()
    in_string = None  # delimiter of an open multi-line string
    for number, raw in enumerate(text.splitlines(), start=1):
        if in_string is not None:
            if raw.count(in_string) % 2 == 1:
                in_string = None
            continue
        header = _HEADER_RE.match(raw)
        if header:
            keys = _split_key(header.group(2))
            path: tuple = ()
            for key in keys[:-1]:  # a parent that is an array means its last item
                path += (key,)
                if path in counts:
                    path += (counts[path] - 1,)
            path += (keys[-1],)
            if header.group(1) == "[[":
                counts[path] = counts.get(path, 0) + 1
                path += (counts[path] - 1,)
            current = path
            lines.setdefault(path, number)
            continue
        keyline = _KEYLINE_RE.match(raw)
        if keyline:
            lines.setdefault(current + _split_key(keyline.group(1)), number)
            rest = raw[keyline.end() :]
            for delim in ('"""', "'''"):
                if rest.count(delim) % 2 == 1:
                    in_string = delim
                    break
    return lines


def find_toml_line(text: str, loc, prefix_loc=()) -> int | None:
    """Best 1-based line in ``text`` for the pydantic location ``prefix_loc + loc``.

    The deepest written part of the location wins: the key itself, else the
    table it is (or should be) in. Location parts that name no key (pydantic's
    union tags such as ``'list[str]'``) are skipped. ``None`` when nothing of the
    location is in the text, or when ``text`` is empty.
    """
    if not text:
        return None
    table = toml_key_lines(text)
    full = tuple(prefix_loc) + tuple(loc)
    path: tuple = ()
    best = table.get(path)
    for part in full:
        candidate = path + (part,)
        if candidate in table:
            path, best = candidate, table[candidate]
        elif any(k[: len(candidate)] == candidate for k in table):
            path = candidate  # an array of tables: its items are numbered
        else:
            continue
    return best


# --------------------------------------------------------------------------- messages


def _unwrap_models(annotation) -> list[type[pydantic.BaseModel]]:
    """The pydantic models inside an annotation (through list, Optional, Annotated...)."""
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return [annotation]
    found = []
    for arg in typing.get_args(annotation):
        found += _unwrap_models(arg)
    return found


def _field_by_key(model: type[pydantic.BaseModel], key):
    for name, info in model.model_fields.items():
        if key in (name, info.alias, info.validation_alias):
            return info
    return None


def allowed_keys(model: type[pydantic.BaseModel] | None, loc) -> list[str]:
    """The keys the (sub-)model at ``loc`` accepts; empty when unknown."""
    current = model
    for part in loc:
        if current is None:
            return []
        if not isinstance(part, str):
            continue
        info = _field_by_key(current, part)
        if info is None:
            continue
        models = _unwrap_models(info.annotation)
        current = models[0] if models else None
    if current is None:
        return []
    return [info.alias or name for name, info in current.model_fields.items()]


def _message(err: typing.Mapping[str, typing.Any], model) -> str:
    kind = err.get("type", "")
    loc = err.get("loc", ())
    if kind == "extra_forbidden" and loc:
        key = loc[-1]
        keys = allowed_keys(model, loc[:-1])
        close = difflib.get_close_matches(str(key), keys, n=1, cutoff=0.6)
        hint = (
            f" (did you mean '{close[0]}'?)"
            if close
            else (f" (allowed: {', '.join(keys)})" if keys else "")
        )
        return f"unknown key '{key}'{hint}"
    if kind == "missing" and loc:
        return f"missing required key '{loc[-1]}'"
    msg = err.get("msg", "invalid value")
    if kind == "value_error" and msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if kind not in ("value_error", "assertion_error") and "input" in err:
        got = err["input"]
        shown = repr(got) if not isinstance(got, (dict, list)) else type(got).__name__
        if len(shown) > 60:
            shown = shown[:57] + "..."
        msg = f"{msg}, got {shown}"
    return msg


def validation_problems(
    exc: pydantic.ValidationError, path, text: str, prefix_loc=(), model=None
) -> list[InputError]:
    """One ``InputError`` (file, line, field) per problem in ``exc``, in file order.

    A typo'd key also makes the key it meant "missing": that "missing" is dropped, the
    "unknown key ... (did you mean ...?)" says it. A field pydantic reports more than once
    (a union's branches) is reported once.
    """
    errors = list(exc.errors())
    typos: set[tuple] = set()
    for err in errors:
        loc = tuple(err.get("loc", ()))
        if err.get("type") == "extra_forbidden" and loc:
            keys = allowed_keys(model, loc[:-1])
            for close in difflib.get_close_matches(str(loc[-1]), keys, n=1, cutoff=0.6):
                typos.add(loc[:-1] + (close,))
    out, seen = [], set()
    for err in errors:
        loc = tuple(err.get("loc", ()))
        if err.get("type") == "missing" and loc in typos:
            continue
        key = tuple(p for p in loc if isinstance(p, (str, int)))
        if key in seen:
            continue
        seen.add(key)
        full = tuple(prefix_loc) + loc
        out.append(
            InputError(
                _message(err, model),
                file=path,
                line=find_toml_line(text, loc, prefix_loc),
                field=".".join(str(p) for p in full) or None,
            )
        )
    order = sorted(range(len(out)), key=lambda i: (out[i].line is None, out[i].line or 0, i))
    return [out[i] for i in order]


def validation_error_to_input_error(
    exc: pydantic.ValidationError, path, text: str, prefix_loc=(), model=None
) -> InputError:
    """The problems in ``exc`` as one error: file, line and field of each.

    Parameters
    ----------
    exc : pydantic.ValidationError
        From ``Model.model_validate(data)`` where ``data`` came from ``text``.
    path : str or Path or None
        The file, for the message.
    text : str
        The TOML text ``data`` was parsed from (``""`` if none: no line then).
    prefix_loc : tuple
        Where the validated data sits in the file, e.g. ``("policy",)`` when
        only the ``[policy]`` section of a scenario was validated.
    model : pydantic model class, optional
        The model validated; lets an unknown key suggest the closest allowed one.

    The field is ``prefix_loc + loc`` joined with ``'.'`` (list items 0-based). One
    problem is an ``InputError``; several are an :class:`~skymesh.errors.InputErrors`
    listing each (up to :data:`~skymesh.errors.MAX_PROBLEMS`), see
    :func:`validation_problems`.
    """
    problems = validation_problems(exc, path, text, prefix_loc, model)
    if len(problems) == 1:
        return problems[0]
    return InputErrors(problems, file=path)


__all__ = [
    "toml_key_lines",
    "find_toml_line",
    "allowed_keys",
    "validation_problems",
    "validation_error_to_input_error",
]
