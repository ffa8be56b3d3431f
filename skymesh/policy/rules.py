"""Service policy as plain data: who may be served, where traffic may leave.

A policy is a TOML file (plain data, validated with pydantic) with three kinds
of rule:

* **Service** (the operator's geofence): each listed country has a timeline of
  ``active`` / ``inactive`` intervals. A terminal in a country that is
  inactive at ``t`` gets no service at ``t``. Instants a country's intervals
  do not cover, and countries not listed, take ``default_service``.
* **Landing rights**: where gateways may operate, also a timeline per country
  (``granted`` / ``denied``); a right can be withdrawn by ending its interval.
  Uncovered instants and unlisted countries take ``default_landing_rights``.
* **Exit rule**: traffic of a terminal in country X leaves the satellite
  network only at a gateway that (1) has landing rights at that instant,
  (2) is in X's ``exit_countries`` when given, else in the policy-level
  ``exit_countries`` (``"any"`` = any country with landing rights), and
  (3) is not in X itself when X is ``censoring = true`` (the shutdown case).

Layout (every key is optional except ``iso2`` and ``state``; times are TOML
datetimes or ISO 8601 strings, UTC when no offset is given; an interval is
``[from, until)``; a missing ``from`` means "since always" and a missing
``until`` "open-ended")::

    description = "Starlink in Iran and Poland"
    default_service = "active"          # or "inactive"
    default_landing_rights = true
    exit_countries = "any"              # or a list, e.g. ["DE", "NL"]

    [[country]]
    iso2 = "IR"
    censoring = true                    # never exit at a gateway in IR
    exit_countries = ["TR", "AE", "DE"] # optional, overrides the global set

    [[country.service]]
    state = "inactive"
    until = 2022-09-23T00:00:00Z

    [[country.service]]
    state = "active"
    from = 2022-09-23T00:00:00Z

    [[landing]]
    iso2 = "PL"
    state = "granted"                   # default; "denied" withdraws a default right
    from = 2022-03-01T00:00:00Z
    until = 2025-01-01T00:00:00Z        # withdrawn then

ISO codes are ISO 3166-1 alpha-2 (plus ``XK``, Kosovo). Anything malformed
(an unknown key, an unknown code, a reversed or overlapping range, a bad
state word, a wrong type, a missing key, a bad time) is an ``InputError``
naming the file, the line and the field (``country.0.service.1.until``,
list items counted from 0).

Queries take ``times`` as a :class:`~skymesh.timebase.TimeGrid`, a
``datetime64`` array or a sequence of datetimes / ISO strings, and return
boolean arrays with time on the last axis.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from typing import Annotated, Literal, Optional

import numpy as np
import pycountry
import pydantic
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from skymesh.errors import InputError
from skymesh.inputs import iso2_upper, loads_toml, read_input_text
from skymesh.policy.timeline import build_timeline, epoch_seconds, evaluate_many, to_epoch_seconds
from skymesh.policy.tomlerrors import find_toml_line, validation_error_to_input_error
from skymesh.timebase import parse_time

#: Codes accepted besides ISO 3166-1: user-assigned ones in common use.
EXTRA_ISO2 = {"XK": "Kosovo"}


# --------------------------------------------------------------------------- schema


def _iso2(value):
    if not isinstance(value, str):
        return value  # strict str then reports the wrong type
    code = iso2_upper(value)
    if code in EXTRA_ISO2 or (len(code) == 2 and pycountry.countries.get(alpha_2=code)):
        return code
    hint = ""
    if len(code) == 3:
        c = pycountry.countries.get(alpha_3=code)
        if c is not None:
            hint = f" ('{code}' is alpha-3; use '{c.alpha_2}' for {c.name})"
    elif len(code) > 3:  # a name: suggest the code
        try:
            c = pycountry.countries.search_fuzzy(value)[0]
            hint = f" (did you mean '{c.alpha_2}' for {c.name}?)"
        except LookupError:
            pass
    raise ValueError(f"unknown ISO 3166-1 alpha-2 country code '{value}'{hint}")


def _time(value):
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, time(0), tzinfo=timezone.utc)
    if isinstance(value, (datetime, str)):
        try:
            return parse_time(value)
        except InputError as exc:
            raise ValueError(exc.message) from None
    return value  # strict datetime then reports the wrong type


ISO2 = Annotated[str, BeforeValidator(_iso2)]
UTCTime = Annotated[datetime, BeforeValidator(_time)]


def _any_or_list(value):
    if isinstance(value, str) and value.strip().lower() == "any":
        return None
    if isinstance(value, str):
        raise ValueError(f"expected \"any\" or a list of ISO alpha-2 codes, got '{value}'")
    return value


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


class _Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid", strict=True, populate_by_name=True, use_attribute_docstrings=True
    )


class _Interval(_Strict):
    """An interval ``[from, until)`` of a timeline."""

    start: Optional[UTCTime] = Field(None, alias="from")
    """Written `from`: start of the interval (missing: since always)."""
    end: Optional[UTCTime] = Field(None, alias="until")
    """Written `until`: end of the interval, not included (missing: open-ended)."""

    @field_validator("end")
    @classmethod
    def _end_after_start(cls, end, info):
        start = info.data.get("start")
        if end is not None and start is not None and end <= start:
            raise ValueError(
                f"the range is reversed or empty: until {_iso(end)} is not after from {_iso(start)}"
            )
        return end


class ServiceInterval(_Interval):
    """One ``[[country.service]]`` table."""

    state: Literal["active", "inactive"]
    """Service in the country during the interval."""


class LandingInterval(_Interval):
    """One ``[[landing]]`` table."""

    iso2: ISO2
    """Country whose landing rights the interval sets."""
    state: Literal["granted", "denied"] = "granted"
    """Gateways there may (granted) or may not (denied) operate."""


class CountryRule(_Strict):
    """One ``[[country]]`` table."""

    iso2: ISO2
    """The country the rule is for."""
    censoring: bool = False
    """Never exit at a gateway in this country (a shutdown)."""
    exit_countries: Optional[list[ISO2]] = None
    """Countries this country's traffic may exit in (overrides the policy-level set)."""
    service: list[ServiceInterval] = []
    """Timeline of service (the operator's geofence)."""


class PolicyModel(_Strict):
    """The whole policy file."""

    description: str = ""
    """What the policy says, for reports."""
    default_service: Literal["active", "inactive"] = "active"
    """Service in countries and instants no rule covers."""
    default_landing_rights: bool = True
    """Landing rights in countries and instants no rule covers."""
    exit_countries: Annotated[Optional[list[ISO2]], BeforeValidator(_any_or_list)] = None
    """"any" (any country with landing rights) or a list of countries traffic may exit in."""
    country: list[CountryRule] = []
    """Per-country rules."""
    landing: list[LandingInterval] = []
    """Landing-rights intervals."""


# --------------------------------------------------------------------------- compiled policy


@dataclass(frozen=True)
class Policy:
    """A validated policy, compiled into timelines for vectorised queries.

    Attributes
    ----------
    default_service, default_landing : bool
        States of unlisted countries and of instants no interval covers.
    service, landing : dict of str -> Timeline
        Per-country timelines (``True`` = active / landing granted).
    censoring : frozenset of str
        Countries whose own gateways never carry their terminals' traffic.
    exit_countries : dict of str -> frozenset of str
        Per-country allowed exit countries.
    global_exit : frozenset of str or None
        Allowed exit countries for everyone else; ``None`` = any with landing rights.
    source : str or None
        File the policy came from.
    """

    default_service: bool = True
    default_landing: bool = True
    service: dict = field(default_factory=dict)
    landing: dict = field(default_factory=dict)
    censoring: frozenset = frozenset()
    exit_countries: dict = field(default_factory=dict)
    global_exit: Optional[frozenset] = None
    description: str = ""
    source: Optional[str] = None


def default_policy() -> Policy:
    """No restrictions: service everywhere, landing rights everywhere, exit anywhere."""
    return Policy()


def _seconds(t) -> float:
    """Start instant (s since the Unix epoch); ``None`` is -inf (since always)."""
    return -np.inf if t is None else epoch_seconds(t)


def _end_seconds(t) -> float:
    """End instant (s since the Unix epoch); ``None`` is +inf (open-ended)."""
    return np.inf if t is None else epoch_seconds(t)


def _overlaps(items):
    """``(index, other)`` pairs of overlapping ``[start, end)`` spans, by start time."""
    spans = sorted((_seconds(iv.start), _end_seconds(iv.end), k) for k, iv in items)
    bad = []
    for (a0, b0, k0), (a1, _, k1) in zip(spans, spans[1:]):
        if a1 < b0:
            bad.append((k1, k0))
    return bad


def _semantic_checks(model: PolicyModel):
    """Cross-item problems pydantic does not see: ``(loc, message)`` of the first one."""
    seen: dict[str, int] = {}
    for i, rule in enumerate(model.country):
        if rule.iso2 in seen:
            return (
                ("country", i, "iso2"),
                f"country '{rule.iso2}' is listed twice (first as country {seen[rule.iso2]})",
            )
        seen[rule.iso2] = i
        for j, other in _overlaps(list(enumerate(rule.service))):
            return (
                ("country", i, "service", j, "from"),
                f"service interval {j} of '{rule.iso2}' overlaps interval {other}",
            )
    by_code: dict[str, list[tuple[int, LandingInterval]]] = {}
    for k, iv in enumerate(model.landing):
        by_code.setdefault(iv.iso2, []).append((k, iv))
    for code, items in by_code.items():
        for k, other in _overlaps(items):
            return (
                ("landing", k, "from"),
                f"landing interval {k} for '{code}' overlaps landing interval {other}",
            )
    return None


def _compile(model: PolicyModel, source) -> Policy:
    default_service = model.default_service == "active"
    service = {
        r.iso2: build_timeline(
            [(_seconds(iv.start), _end_seconds(iv.end), iv.state == "active") for iv in r.service],
            default_service,
        )
        for r in model.country
        if r.service
    }
    by_code: dict[str, list[tuple[float, float, bool]]] = {}
    for iv in model.landing:
        by_code.setdefault(iv.iso2, []).append(
            (_seconds(iv.start), _end_seconds(iv.end), iv.state == "granted")
        )
    landing = {
        code: build_timeline(spans, model.default_landing_rights) for code, spans in by_code.items()
    }
    return Policy(
        default_service=default_service,
        default_landing=model.default_landing_rights,
        service=service,
        landing=landing,
        censoring=frozenset(r.iso2 for r in model.country if r.censoring),
        exit_countries={
            r.iso2: frozenset(r.exit_countries)
            for r in model.country
            if r.exit_countries is not None
        },
        global_exit=None if model.exit_countries is None else frozenset(model.exit_countries),
        description=model.description,
        source=None if source is None else str(source),
    )


def policy_from_dict(data: dict, source=None, text: str = "", prefix_loc=()) -> Policy:
    """Validate and compile a policy given as plain data (as ``tomllib`` returns it).

    Parameters
    ----------
    data : dict
        The policy table.
    source : str or Path, optional
        File it came from, named in errors.
    text : str
        The TOML text ``data`` was parsed from, to find the line of a problem.
    prefix_loc : tuple
        Where ``data`` sits in the file (``("policy",)`` for a scenario's
        ``[policy]`` table), so lines and fields point at the right place.

    Raises
    ------
    InputError
        With file, line and field, for the first problem found.
    """
    if not isinstance(data, dict):
        raise InputError(
            f"a policy must be a table, got {type(data).__name__}",
            file=source,
            field=".".join(map(str, prefix_loc)) or None,
        )
    try:
        model = PolicyModel.model_validate(data)
    except pydantic.ValidationError as exc:
        raise validation_error_to_input_error(
            exc, source, text, prefix_loc, model=PolicyModel
        ) from None
    problem = _semantic_checks(model)
    if problem is not None:
        loc, message = problem
        raise InputError(
            message,
            file=source,
            line=find_toml_line(text, loc, prefix_loc),
            field=".".join(str(p) for p in tuple(prefix_loc) + loc),
        )
    return _compile(model, source)


def load_policy(path) -> Policy:
    """Read, validate and compile a policy TOML file (layout in the module docstring)."""
    text = read_input_text(path, "policy file")
    try:
        data = loads_toml(text, path, "policy file")
    except tomllib.TOMLDecodeError as exc:
        raise toml_syntax_error(exc, path) from None
    return policy_from_dict(data, source=path, text=text)


def toml_syntax_error(exc: tomllib.TOMLDecodeError, path) -> InputError:
    """``InputError`` with the line ``tomllib`` reports in its message."""
    msg = str(exc)
    m = re.search(r"\(at line (\d+), column \d+\)", msg)
    line = int(m.group(1)) if m else None
    msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", msg) if m else msg
    return InputError(f"not valid TOML: {msg}", file=path, line=line)


# --------------------------------------------------------------------------- queries


def _codes(countries) -> np.ndarray:
    return np.atleast_1d(np.asarray(countries, dtype=str))


def service_active(policy: Policy, country_iso2, times) -> np.ndarray:
    """Whether terminals in each country are served at each instant.

    Parameters
    ----------
    country_iso2 : array_like of str, shape (n,)
        ISO alpha-2 code per terminal (``""`` at sea: takes ``default_service``).
    times : TimeGrid, datetime64 array or sequence of datetimes / ISO strings, (T,)

    Returns
    -------
    ndarray of bool, shape (n, T)
    """
    return evaluate_many(
        policy.service, policy.default_service, _codes(country_iso2), to_epoch_seconds(times)
    )


def landing_allowed(policy: Policy, gateway_country, times) -> np.ndarray:
    """Whether a gateway in each country may operate at each instant, shape (n_gw, T)."""
    return evaluate_many(
        policy.landing, policy.default_landing, _codes(gateway_country), to_epoch_seconds(times)
    )


def exit_allowed(policy: Policy, terminal_country: str, gateway_country, times) -> np.ndarray:
    """Whether traffic of a terminal in ``terminal_country`` may leave at each gateway.

    Combines landing rights (at each instant), the allowed exit set (the
    terminal country's own ``exit_countries``, else the policy-level one) and
    the censoring rule (never a gateway in the terminal's own censoring
    country). Whether the terminal is served at all is :func:`service_active`.

    Returns
    -------
    ndarray of bool, shape (n_gw, T)
    """
    term = iso2_upper(terminal_country)
    gw = _codes(gateway_country)
    allowed = landing_allowed(policy, gw, times)
    exits = policy.exit_countries.get(term, policy.global_exit)
    if exits is not None:
        allowed &= np.isin(gw, sorted(exits))[:, None]
    if term and term in policy.censoring:
        allowed &= (gw != term)[:, None]
    return allowed
