"""Changes to the policy document, and whether each reduces service.

The policy the service holds is the document :mod:`skymesh.policy.rules`
reads (a scenario's ``[policy]`` table, or a policy file), kept as JSON with
times as ISO 8601 UTC strings. A change is one of:

* ``service``: country ``iso2`` is ``active`` / ``inactive`` over
  ``[from, until)`` (``from`` missing: from the moment it is approved;
  ``until`` missing: open-ended). Earlier intervals of that country are cut
  where the new one lies, so the new state holds over exactly its window.
* ``landing``: landing rights of gateways in ``iso2`` ``granted`` /
  ``denied`` over ``[from, until)``, edited the same way.
* ``censoring``: ``iso2``'s own gateways may (``false``) or may not
  (``true``) carry its terminals' traffic.
* ``exit``: the exit countries of ``iso2`` (or, without ``iso2``, of
  everyone): a list, or ``"any"``.
* ``import``: a whole policy TOML replaces the current one.

Whether a change reduces service is decided by :func:`reduces_service` from
the *effective* policy before and after it, never from the change's form: it
reduces service when, for some country and some instant (past, present or
future), terminals that were served are not any more, a gateway country that
had landing rights has none, or a terminal country's traffic loses a gateway
country it could exit at (its own exit list, the global one it falls back to,
landing rights and censoring together). Such changes need two people (see
:mod:`skymesh.service.proposals`). So "IR's exits become ``"any"``" reduces
service when the global list is narrower than IR's own, and an import that
only restores service does not.
"""

from __future__ import annotations

import copy
import json
import re
import tomllib
from datetime import datetime, timezone
from typing import Annotated, Literal, Optional, Union

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from skymesh.errors import InputError
from skymesh.inputs import iso2_upper, loads_toml
from skymesh.policy.rules import policy_from_dict
from skymesh.service.auth import ServiceError

EMPTY_POLICY = {"default_service": "active", "default_landing_rights": True}


class _Change(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", populate_by_name=True)


class _WindowChange(_Change):
    """A state of country ``iso2`` over ``[from, until)``."""

    iso2: str = Field(min_length=2, max_length=2)
    start: Optional[datetime] = Field(None, alias="from")
    end: Optional[datetime] = Field(None, alias="until")


class ServiceChange(_WindowChange):
    kind: Literal["service"]
    state: Literal["active", "inactive"]


class LandingChange(_WindowChange):
    kind: Literal["landing"]
    state: Literal["granted", "denied"]


class CensoringChange(_Change):
    kind: Literal["censoring"]
    iso2: str = Field(min_length=2, max_length=2)
    censoring: bool


class ExitChange(_Change):
    kind: Literal["exit"]
    iso2: Optional[str] = Field(None, min_length=2, max_length=2)
    exit_countries: Union[Literal["any"], list[str]]


class ImportChange(_Change):
    kind: Literal["import"]
    policy_toml: str = Field(max_length=200_000)


Change = Annotated[
    Union[ServiceChange, LandingChange, CensoringChange, ExitChange, ImportChange],
    Field(discriminator="kind"),
]
_adapter = pydantic.TypeAdapter(Change)


def parse_change(data) -> _Change:
    """Validate a change given as JSON-like data (times as ISO strings); 422 naming the field."""
    if isinstance(data, dict):
        data = dict(data)
        for key in ("from", "until"):
            if isinstance(data.get(key), str):
                try:
                    data[key] = _parse_iso(data[key])
                except OutOfRange as exc:
                    raise ServiceError(422, f"change.{key}: {exc}", f"change.{key}") from None
                except ValueError:
                    raise ServiceError(
                        422, f"change.{key}: not an ISO 8601 time: {data[key]!r}", f"change.{key}"
                    ) from None
    try:
        return _adapter.validate_python(data)
    except pydantic.ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(
            str(p)
            for p in err["loc"]
            if p not in ("service", "landing", "censoring", "exit", "import")
        )
        field = "change" + (f".{loc}" if loc else "")
        raise ServiceError(422, f"{field}: {err['msg']}", field) from None


def _parse_iso(text: str) -> datetime:
    """An ISO 8601 time as aware UTC; ``ValueError`` when it is not one, or when it lies
    outside what a ``datetime`` holds once moved to UTC (years 1 to 9999 with an offset)."""
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if when.tzinfo is None:
        return when.replace(tzinfo=timezone.utc)
    try:
        return when.astimezone(timezone.utc)
    except OverflowError:
        raise OutOfRange(f"{text!r} lies outside years 1 to 9999 in UTC") from None


class OutOfRange(ValueError):
    """A well-formed time that no ``datetime`` holds once moved to UTC."""


def iso(when: datetime) -> str:
    """``when`` as ISO 8601 UTC (``...Z``), to the microsecond when it has a fraction of a
    second, so that two changes within one second stay apart; years are always 4 digits."""
    t = when.astimezone(timezone.utc).replace(tzinfo=None)
    return t.isoformat(timespec="microseconds" if t.microsecond else "seconds") + "Z"


def change_json(change: _Change) -> dict:
    """The change as plain JSON (aliases ``from``/``until``; times ISO)."""
    return json.loads(change.model_dump_json(by_alias=True, exclude_none=True))


def reduces_service(before: dict, after: dict) -> bool:
    """Whether policy document ``after`` serves less than ``before`` anywhere, at any time.

    Both documents are compiled by the engine's own loader and compared on every
    country either names plus one country neither names (standing for all the
    others, and for terminals at sea), at every instant where either policy's
    service or landing timelines change and once before the first such instant
    (the states are constant in between). Compared: service (terminal country x
    time), landing rights (gateway country x time) and where traffic may exit
    (terminal country x gateway country x time, from exit lists, landing rights
    and censoring together). ``True`` when any of them is ``True`` before and
    ``False`` after.
    """
    import numpy as np

    from skymesh.policy.rules import exit_allowed, landing_allowed, service_active

    pa, pb = policy_from_dict(before, source="policy"), policy_from_dict(after, source="policy")
    named = _named_countries(before) | _named_countries(after)
    codes = sorted(named) + [_unnamed_country(named)]
    breaks = [
        float(x)
        for p in (pa, pb)
        for table in (p.service, p.landing)
        for tl in table.values()
        for x in tl.breaks_s
    ]
    edges = sorted(set(breaks))
    t_s = np.array(([edges[0] - 1.0] + edges) if edges else [0.0])
    times = (t_s * 1e6).astype("datetime64[us]")
    if np.any(service_active(pa, codes, times) & ~service_active(pb, codes, times)):
        return True
    if np.any(landing_allowed(pa, codes, times) & ~landing_allowed(pb, codes, times)):
        return True
    for term in codes:
        if np.any(exit_allowed(pa, term, codes, times) & ~exit_allowed(pb, term, codes, times)):
            return True
    return False


def _named_countries(doc: dict) -> set[str]:
    """Every ISO code a policy document names (rules, exit lists, landing rights)."""
    out: set[str] = set()
    if isinstance(doc.get("exit_countries"), list):
        out |= {str(c).strip().upper() for c in doc["exit_countries"]}
    for rule in doc.get("country", []):
        out.add(str(rule["iso2"]).strip().upper())
        if isinstance(rule.get("exit_countries"), list):
            out |= {str(c).strip().upper() for c in rule["exit_countries"]}
    out |= {str(item["iso2"]).strip().upper() for item in doc.get("landing", [])}
    return out


def _unnamed_country(named: set[str]) -> str:
    """An ISO code in neither document: it behaves like every other unnamed country."""
    import pycountry

    for c in pycountry.countries:
        if c.alpha_2 not in named:
            return c.alpha_2
    return ""  # every code named: "" (at sea) takes the defaults


_MIN = datetime.min.replace(tzinfo=timezone.utc)
_MAX = datetime.max.replace(tzinfo=timezone.utc)


def _bounds(item: dict) -> tuple[datetime, datetime]:
    """``[from, until)`` of a stored interval as aware UTC times (open ends: the limits)."""
    a = _parse_iso(item["from"]) if item.get("from") else _MIN
    b = _parse_iso(item["until"]) if item.get("until") else _MAX
    return a, b


def _cut(items: list[dict], start: datetime, end: datetime) -> list[dict]:
    """``items`` with ``[start, end)`` removed (intervals split where needed; a piece left
    empty is dropped)."""
    out = []
    for item in items:
        a, b = _bounds(item)
        if b <= start or a >= end:
            out.append(item)
            continue
        if a < start:
            left = dict(item)
            left["until"] = iso(start)
            out.append(left)
        if b > end:
            right = dict(item)
            right["from"] = iso(end)
            out.append(right)
    return out


def _window(change, effective_at: datetime) -> tuple[dict, datetime, datetime]:
    start = change.start or effective_at
    new = {"state": change.state, "from": iso(start)}
    if change.end is not None:
        if change.end <= start:
            raise ServiceError(422, "change.until: must be after change.from", "change.until")
        new["until"] = iso(change.end)
    return new, start, (change.end if change.end is not None else _MAX)


def _country(doc: dict, iso2: str) -> dict:
    for rule in doc.setdefault("country", []):
        if rule["iso2"] == iso2:
            return rule
    rule = {"iso2": iso2}
    doc["country"].append(rule)
    doc["country"].sort(key=lambda r: r["iso2"])
    return rule


def _sort(items: list[dict]) -> list[dict]:
    return sorted(items, key=lambda it: _bounds(it)[0])


def apply_change(doc: dict, change: _Change, effective_at: datetime) -> dict:
    """A new policy document: ``doc`` with ``change`` applied (``doc`` is not modified).

    The result is validated by the policy loader itself; a change that would
    make an invalid policy is a 422 naming what is wrong.
    """
    if isinstance(change, ImportChange):
        new = policy_toml_to_doc(change.policy_toml)
    else:
        new = copy.deepcopy(doc)
        iso2 = getattr(change, "iso2", None)
        if iso2 is not None:
            iso2 = iso2_upper(iso2)  # ASCII only: 'ß' must not become SS
        if isinstance(change, ServiceChange):
            assert iso2 is not None  # a required field of ServiceChange
            rule = _country(new, iso2)
            item, a, b = _window(change, effective_at)
            rule["service"] = _sort(_cut(rule.get("service", []), a, b) + [item])
        elif isinstance(change, LandingChange):
            item, a, b = _window(change, effective_at)
            mine = [x for x in new.get("landing", []) if x["iso2"] == iso2]
            others = [x for x in new.get("landing", []) if x["iso2"] != iso2]
            new["landing"] = others + _sort(_cut(mine, a, b) + [dict(item, iso2=iso2)])
        elif isinstance(change, CensoringChange):
            assert iso2 is not None  # a required field of CensoringChange
            _country(new, iso2)["censoring"] = change.censoring
        elif isinstance(change, ExitChange):
            value = change.exit_countries
            if iso2 is None:
                new["exit_countries"] = value
            else:
                rule = _country(new, iso2)
                if value == "any":
                    rule.pop("exit_countries", None)
                else:
                    rule["exit_countries"] = [iso2_upper(c) for c in value]
    check_doc(new)
    return new


def check_doc(doc: dict) -> None:
    """Validate a policy document with the engine's own loader (422 on a problem)."""
    try:
        policy_from_dict(doc, source="policy")
    except InputError as exc:
        raise ServiceError(
            422, f"the change makes an invalid policy: {exc.message}", exc.field
        ) from None


MAX_TOML_NESTING = 64
"""Deepest nesting of arrays and inline tables the service parses in a TOML text (a
policy or a scenario nests a few levels; thousands would exhaust Python's stack)."""

_TOML_SPECIAL = re.compile(r"[#\"'\[\]{}\\\n]")


def toml_nesting(text: str) -> int:
    """The deepest nesting of ``[``/``{`` in TOML ``text``, strings and comments skipped.

    A linear scan that does not parse (so it cannot recurse): table headers count one
    level (``[[x]]`` two); a malformed text may be over- or under-counted, which the
    parser then reports."""
    depth = deepest = 0
    state, skip = "", 0
    for m in _TOML_SPECIAL.finditer(text):
        i, c = m.start(), m.group()
        if i < skip:
            continue
        if state == "":
            if c == "#":
                state = "#"
            elif c in "\"'":
                state = c * 3 if text.startswith(c * 3, i) else c
                skip = i + len(state)
            elif c in "[{":
                depth += 1
                deepest = max(deepest, depth)
            elif c in "]}":
                depth = max(depth - 1, 0)
        elif state == "#":
            if c == "\n":
                state = ""
        elif c == "\\" and state[0] == '"':
            skip = i + 2
        elif c == "\n" and len(state) == 1:
            state = ""  # an unterminated one-line string: the parser reports it
        elif c == state[0] and text.startswith(state, i):
            skip, state = i + len(state), ""
    return deepest


def check_nesting(text: str, field: str) -> None:
    """422 naming ``field`` when TOML ``text`` nests deeper than :data:`MAX_TOML_NESTING`."""
    if toml_nesting(text) > MAX_TOML_NESTING:
        raise ServiceError(
            422,
            f"{field}: arrays or inline tables nested deeper than {MAX_TOML_NESTING} levels",
            field,
        )


def policy_toml_to_doc(text: str) -> dict:
    """A policy TOML (a policy file, or a scenario's ``[policy]`` table) as a document."""
    check_nesting(text, "policy_toml")
    try:
        data = loads_toml(text, "policy_toml", "policy TOML")
    except tomllib.TOMLDecodeError as exc:
        raise ServiceError(422, f"policy_toml: not TOML: {exc}", "policy_toml") from None
    except InputError as exc:  # nested too deeply for the parser (skymesh.inputs)
        raise ServiceError(422, str(exc), "policy_toml") from None
    if "policy" in data and isinstance(data["policy"], dict):
        data = data["policy"]
    try:
        policy_from_dict(data, source="policy_toml", text=text)
    except InputError as exc:
        raise ServiceError(422, str(exc), "policy_toml") from None
    return json.loads(
        json.dumps(data, default=lambda v: iso(v) if isinstance(v, datetime) else str(v))
    )


def doc_to_toml(doc: dict) -> str:
    """The policy document as a policy TOML file (``skymesh run --policy`` reads it)."""
    import tomli_w

    def times(value):
        if isinstance(value, dict):
            return {
                k: (_parse_iso(v) if k in ("from", "until") and isinstance(v, str) else times(v))
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [times(v) for v in value]
        return value

    head = (
        "# SkyMesh policy exported by the operations service; the layout of skymesh.policy.rules.\n"
    )
    return head + tomli_w.dumps(times(doc))
