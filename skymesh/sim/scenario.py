"""Scenario files: one TOML file describes a whole study, validated before any work starts.

Layout (see the built-in scenarios in ``skymesh/scenarios/`` for complete,
commented examples)::

    name = "iran-2022"
    description = "..."
    seed = 2022                          # every random draw derives from it
    study = "egress"                     # egress: terminals to the internet through gateways;
                                         # routing: all-pairs RTT and forwarding state among
                                         # the ground points every step

    [constellation]
    preset = "starlink-gen1"             # or: file = "starlink.tle" (relative to this file)
    isls = "isls.txt"                    # optional: an ISL list (Hypatia isls.txt or a
                                         # sat_a,sat_b CSV) instead of the inferred +Grid

    [time]
    start = 2022-09-24T12:00:00Z
    duration_s = 3600
    step_s = 1
    force_epoch = false                  # true: propagate TLEs > 30 days from their epoch

    [routing]
    mode = "isl"                         # isl | bent-pipe | hybrid
    min_elevation_deg = 25
    max_gsl_range_km = 1089.7            # optional: Hypatia's rule, links up to this slant
                                         # range (km); both rules apply when both are
                                         # given, the range alone when the mask is left out
    compare_bent_pipe = true             # also route every step without ISLs

    [[terminals]]                        # a count per country placed by population ...
    country = "IR"
    count = 1000
    placement = "population"             # or "area"
    [[terminals]]                        # ... or explicit points
    name = "Tehran"
    points = [[35.69, 51.39]]
    [[terminals]]                        # ... or the N most populous places (GeoNames)
    largest = 100                        # (or: file = "cities.basic.txt", a Hypatia list)

    [[gateways]]                         # and/or gateways_file = "gateways.csv"
    name = "Istanbul"
    place = "Istanbul, TR"
    lat = 41.01
    lon = 28.98
    country = "TR"

    [[pops]]                             # and/or pops_file = "pops.csv" (default: the pop
    name = "Sofia"                       # rows of gateways_file, else each gateway is its
    lat = 42.70                          # own PoP with no fibre leg)
    lon = 23.32
    country = "BG"
    [pop_overrides]                      # gateway name -> PoP name (default homing: the
    "Istanbul" = "Sofia"                 # nearest PoP in the gateway's country, else nearest)

    [access]
    model = "slots"                      # slots: 15 s serving-satellite hold, RTT to the PoP
                                         # with access delay; propagation: the idealised model
    serving = "operator"                 # operator | highest-elevation | longest-visibility |
                                         # nearest-to-gateway
    load = 0.0                           # user-link utilisation for queueing, [0, 1)

    [policy]                             # the layout of skymesh.policy.rules
    ...

    [[failures]]
    kind = "satellites"                  # satellites | isls | gateways
    fraction = 0.05                      # or ids = [...] / names = [...]
    seed = 7
    from = 2022-09-24T12:30:00Z          # optional; until = ... optional

    [second_operator]                    # optional: the same terminals on another network
    preset = "oneweb"

    [metrics]
    wanted = ["service", "rtt", "hops", "gateways", "bent_pipe", "figures"]
                                         # default: all of these plus capacity and cost
    [output]
    chunk_steps = 600                    # steps per chunk written to disk

Unknown keys, wrong types and impossible values are ``InputError`` naming the
file, the line and the field (``terminals.1.count``), raised by
:func:`load_scenario` before anything runs.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from datetime import date, datetime, time, timezone
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal, Optional, get_args

import pydantic
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from skymesh.errors import InputError
from skymesh.inputs import check_nesting, iso2_upper, loads_toml, read_input_text
from skymesh.policy.rules import Policy, default_policy, policy_from_dict, toml_syntax_error
from skymesh.policy.tomlerrors import find_toml_line, validation_error_to_input_error
from skymesh.timebase import parse_time

BUILTIN_PACKAGE = "skymesh.scenarios"


def _time(value):
    if isinstance(value, datetime):
        return parse_time(value)
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, time(0), tzinfo=timezone.utc)
    if isinstance(value, str):
        try:
            return parse_time(value)
        except InputError as exc:
            raise ValueError(exc.message) from None
    raise ValueError(
        f"expected a time (TOML datetime or ISO 8601 string), got {type(value).__name__}"
    )


def _iso2(value):
    from skymesh.ground.places import is_iso2

    if not isinstance(value, str):
        raise ValueError(f"expected an ISO 3166-1 alpha-2 code, got {type(value).__name__}")
    code = iso2_upper(value)
    if not is_iso2(code):
        raise ValueError(f"'{value}' is not an ISO 3166-1 alpha-2 country code")
    return code


UTCTime = Annotated[datetime, BeforeValidator(_time)]
ISO2 = Annotated[str, BeforeValidator(_iso2)]


def _list_as_tuple(value):
    """TOML has arrays, not tuples: a list becomes a tuple, its items stay strictly typed."""
    return tuple(value) if isinstance(value, list) else value


LatLon = Annotated[
    tuple[Annotated[float, Field(ge=-90, le=90)], Annotated[float, Field(ge=-180, le=180)]],
    BeforeValidator(_list_as_tuple),
]
"""A ``[lat, lon]`` pair (deg), lat in [-90, 90] and lon in [-180, 180]."""

MIN_STEP_S = 1e-3
"""Shortest time step (s) a scenario may ask for: 1 ms. A LEO satellite moves about 7.6 m
in 1 ms (v = sqrt(mu / a) ~ 7.6 km/s at 550 km), far below what any stage resolves (RTTs in
ms, 15 s access slots); shorter steps only multiply the work."""

MAX_SEED = 2**63 - 1
"""Largest seed: seeds are non-negative 64-bit integers (NumPy ``SeedSequence`` entropy)."""


class _Strict(BaseModel):
    # strict: no silent coercion ("3600" is not a number, true is not a count); an int is
    # still accepted for a float field, and NaN / infinity are refused everywhere.
    model_config = ConfigDict(
        extra="forbid", strict=True, populate_by_name=True, frozen=True, allow_inf_nan=False
    )


class ConstellationSpec(_Strict):
    preset: Optional[str] = None
    file: Optional[str] = None
    j2: bool = False
    skip_bad: bool = False
    isls: Optional[str] = None

    @model_validator(mode="after")
    def _one_source(self):
        if (self.preset is None) == (self.file is None):
            raise ValueError("give exactly one of 'preset' or 'file'")
        if self.preset is not None:
            from skymesh.orbits.presets import preset_names

            if self.preset.lower() not in preset_names():
                raise ValueError(
                    f"unknown preset '{self.preset}'; presets: {', '.join(preset_names())}"
                )
        return self


def _time_or_epoch(value):
    if isinstance(value, str) and value.strip().lower() == "epoch":
        return "epoch"
    return _time(value)


class TimeSpec(_Strict):
    start: Annotated[object, BeforeValidator(_time_or_epoch)]
    duration_s: float = Field(gt=0, le=30 * 86400)
    step_s: float = Field(1.0, ge=MIN_STEP_S, le=86400)
    force_epoch: bool = False

    @model_validator(mode="after")
    def _not_empty(self):
        if self.step_s > self.duration_s:
            raise ValueError(
                f"the time range is empty: step {self.step_s} s is longer than "
                f"duration {self.duration_s} s"
            )
        return self


class RoutingSpec(_Strict):
    mode: Literal["isl", "bent-pipe", "hybrid"] = "isl"
    min_elevation_deg: float = Field(default=25.0, ge=0, lt=90)
    compare_bent_pipe: bool = True
    max_isl_range_km: Optional[float] = Field(default=5400.0, gt=0)
    max_gsl_range_km: Optional[float] = Field(default=None, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _range_rule_mask(cls, data):
        # Hypatia's rule replaces the mask: without an explicit mask it is 0 deg.
        if (
            isinstance(data, dict)
            and data.get("max_gsl_range_km") is not None
            and "min_elevation_deg" not in data
        ):
            data = dict(data, min_elevation_deg=0.0)
        return data


class TerminalGroup(_Strict):
    name: Optional[str] = None
    country: Optional[ISO2] = None
    count: Optional[int] = Field(None, gt=0, le=1_000_000)
    placement: Literal["population", "area"] = "population"
    points: Optional[list[LatLon]] = Field(None, min_length=1)
    largest: Optional[int] = Field(None, gt=0, le=10_000)
    file: Optional[str] = None
    subscribers: Optional[int] = Field(None, gt=0, le=10_000_000_000)
    # subscribers: the group's terminals are a sample standing for this many subscribers
    # (see skymesh.capacity.demand.terminal_weights)

    @model_validator(mode="after")
    def _one_kind(self):
        kinds = sum(x is not None for x in (self.points, self.count, self.largest, self.file))
        if kinds != 1:
            raise ValueError(
                "give one of: 'country' with 'count', 'points', 'largest' (the N "
                "most populous places) or 'file' (a Hypatia city list)"
            )
        if self.count is not None and self.country is None:
            raise ValueError("'count' needs a 'country' to place terminals in")
        for lat, lon in self.points or ():
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise ValueError(f"point ({lat}, {lon}) is not a valid latitude, longitude")
        return self


class GatewaySpec(_Strict):
    name: str
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    country: ISO2
    place: Optional[str] = None
    antennas: Optional[int] = Field(None, gt=0)
    capacity_gbps: Optional[float] = Field(None, gt=0)


class PopSpec(_Strict):
    """A point of presence (see :mod:`skymesh.ground.pops`)."""

    name: str
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    country: ISO2
    place: Optional[str] = None


class AccessSpec(_Strict):
    """The access layer of an egress run (see :mod:`skymesh.sim.egress_chunk`).

    ``model = "slots"``: serving satellite chosen per 15 s slot by ``serving`` and held,
    RTT terminal -> PoP with the access-delay components; ``"propagation"``: the idealised
    model (nearest path at every step, propagation only, exit at the gateway).
    """

    model: Literal["slots", "propagation"] = "slots"
    serving: Literal[
        "operator", "highest-elevation", "longest-visibility", "nearest-to-gateway"
    ] = "operator"
    load: float = Field(default=0.0, ge=0, lt=1)


class FailureSpec(_Strict):
    kind: Literal["satellites", "isls", "gateways"]
    fraction: Optional[float] = Field(None, ge=0, le=1)
    ids: Optional[list[int]] = None
    names: Optional[list[str]] = None
    seed: int = Field(0, ge=0, le=MAX_SEED)
    start: Optional[UTCTime] = Field(None, alias="from")
    until: Optional[UTCTime] = None

    @model_validator(mode="after")
    def _what(self):
        given = [x is not None for x in (self.fraction, self.ids, self.names)]
        if sum(given) != 1:
            raise ValueError("give exactly one of 'fraction', 'ids' or 'names'")
        if self.start and self.until and self.until <= self.start:
            raise ValueError("'until' must be after 'from'")
        return self


LatLonBox = Annotated[
    tuple[float, float, float, float],
    BeforeValidator(lambda v: tuple(v) if isinstance(v, list) else v),
]
"""``[lat_min, lon_min, lat_max, lon_max]`` (deg); lon_min > lon_max crosses 180 deg."""


class RainSpec(_Strict):
    """Rain over a region and a time window (see :mod:`skymesh.links.rain`)."""

    rate_mmh: float = Field(ge=0, le=300)
    country: Optional[ISO2] = None
    box: Optional[LatLonBox] = None
    start: Optional[UTCTime] = Field(None, alias="from")
    until: Optional[UTCTime] = None

    @model_validator(mode="after")
    def _where(self):
        if self.country is not None and self.box is not None:
            raise ValueError("give 'country' or 'box', not both (neither: rain everywhere)")
        if self.box is not None:
            la0, lo0, la1, lo1 = self.box
            if not (-90 <= la0 < la1 <= 90 and -180 <= lo0 <= 180 and -180 <= lo1 <= 180):
                raise ValueError(
                    "box is [lat_min, lon_min, lat_max, lon_max] in degrees with lat_min < lat_max"
                )
        if self.start and self.until and self.until <= self.start:
            raise ValueError("'until' must be after 'from'")
        return self


class SecondOperatorSpec(_Strict):
    preset: Optional[str] = None
    file: Optional[str] = None
    label: str = "second operator"
    apply_policy: bool = False

    @model_validator(mode="after")
    def _one_source(self):
        ConstellationSpec(preset=self.preset, file=self.file)
        return self


class CapacitySpec(_Strict):
    """Capacities of the network (see :mod:`skymesh.capacity.network` for the model)."""

    target_mbps: float = Field(25.0, gt=0, le=100_000)  # capacity.region.MAX_TARGET_MBPS
    samples: int = Field(3, ge=1, le=100)
    cell_resolution: int = Field(5, ge=0, le=15)
    beams_per_sat: int = Field(16, ge=1)
    channels_per_beam: float = Field(1.0, gt=0)
    frequency_reuse: float = Field(1.0, ge=1)
    beam_capacity_mbps: Optional[float] = Field(None, gt=0)
    sat_downlink_mbps: Optional[float] = Field(None, gt=0)
    isl_capacity_gbps: float = Field(100.0, gt=0)
    gateway_antennas: int = Field(8, ge=1)
    gateway_antenna_gbps: float = Field(6.8, gt=0)


class DemandSpec(_Strict):
    """Traffic each terminal asks for (see :mod:`skymesh.capacity.demand`)."""

    busy_hour_mbps: Optional[float] = Field(None, gt=0)
    multiplier: float = Field(1.0, gt=0)
    diurnal: bool = True


class CostSpec(_Strict):
    """Unit costs and a dated fleet (see :mod:`skymesh.capacity.cost`)."""

    terminal_price_usd: float = Field(ge=0)
    monthly_service_usd: float = Field(ge=0)
    replacements_per_month: float = Field(0.0, ge=0)
    terminals_by_month: dict[str, float] = Field(min_length=1)
    start_terminals: float = Field(0.0, ge=0)
    periods: dict[str, Annotated[tuple[str, str], BeforeValidator(_list_as_tuple)]] = {}
    reported_usd: dict[str, float] = {}
    sources: list[str] = []


Metric = Literal["service", "rtt", "hops", "gateways", "bent_pipe", "capacity", "cost", "figures"]
METRICS: tuple[Metric, ...] = get_args(Metric)
"""What an egress run can report; ``[metrics] wanted`` picks among them (default: all)."""


class MetricsSpec(_Strict):
    wanted: list[Metric] = list(METRICS)


class OutputSpec(_Strict):
    chunk_steps: Optional[int] = Field(default=None, gt=0)
    timeseries: bool = True


def wants(scenario: "Scenario", metric: str) -> bool:
    """Whether the scenario asks for ``metric`` (see ``METRICS``)."""
    return metric in scenario.metrics.wanted


class Scenario(_Strict):
    name: str = Field(min_length=1)
    description: str = ""
    seed: int = Field(0, ge=0, le=MAX_SEED)
    study: Literal["egress", "routing"] = "egress"
    constellation: ConstellationSpec
    time: TimeSpec
    routing: RoutingSpec = RoutingSpec()
    terminals: list[TerminalGroup] = Field(min_length=1)
    gateways: list[GatewaySpec] = []
    gateways_file: Optional[str] = None
    pops: list[PopSpec] = []
    pops_file: Optional[str] = None
    pop_overrides: dict[str, str] = {}
    access: AccessSpec = AccessSpec()
    policy: Optional[dict] = None
    failures: list[FailureSpec] = []
    rain: list[RainSpec] = []
    second_operator: Optional[SecondOperatorSpec] = None
    output: OutputSpec = OutputSpec()
    metrics: MetricsSpec = MetricsSpec()
    assumptions: list[str] = []
    sources: list[str] = []
    capacity: Optional[CapacitySpec] = None
    demand: Optional[DemandSpec] = None
    cost: Optional[CostSpec] = None

    @model_validator(mode="after")
    def _has_gateways(self):
        if self.study == "egress" and not self.gateways and self.gateways_file is None:
            raise ValueError(
                "an egress study needs gateways: list [[gateways]] or set "
                'gateways_file (or set study = "routing")'
            )
        return self


class LoadedScenario(BaseModel):
    """A validated scenario with where it came from."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    scenario: Scenario
    policy: Policy
    source: str
    base_dir: Path
    text: str
    data: dict
    sha256: str

    def resolve(self, relative: str) -> Path:
        """A path written in the scenario, relative to the scenario file's folder."""
        p = Path(relative).expanduser()
        return p if p.is_absolute() else self.base_dir / p


def builtin_names() -> list[str]:
    """Names of the scenarios shipped with SkyMesh."""
    folder = resources.files(BUILTIN_PACKAGE)
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def builtin_text(name: str) -> str:
    return resources.files(BUILTIN_PACKAGE).joinpath(f"{name}.toml").read_text(encoding="utf-8")


def apply_overrides(data: dict, overrides: dict) -> dict:
    """A copy of ``data`` with dotted keys (``time.duration_s``, ``terminals.0.count``) set.

    A missing table on the way is created; a list takes an index ``0 .. n-1``. A key
    through a plain value (``seed.x``), a non-index in a list (``terminals.x``) or an
    empty part (``time..step_s``) is an ``InputError`` naming the key.
    """
    import copy

    out = copy.deepcopy(data)
    for dotted, value in (overrides or {}).items():
        parts = str(dotted).split(".")
        if not all(p.strip() for p in parts):
            raise InputError(
                f"cannot set '{dotted}': a dotted key needs a name between "
                "every two dots, e.g. time.duration_s",
                field=dotted,
            )
        node = out
        for i, part in enumerate(parts):
            where = ".".join(parts[:i]) or "the scenario"
            if isinstance(node, list):
                if not (part.isascii() and part.isdigit()) or int(part) >= len(node):
                    raise InputError(
                        f"cannot set '{dotted}': '{where}' is a list of "
                        f"{len(node)}; '{part}' is not an index 0..{len(node) - 1}",
                        field=dotted,
                    )
                key = int(part)
            elif isinstance(node, dict):
                key = part
            else:
                raise InputError(
                    f"cannot set '{dotted}': '{where}' is a value, not a table", field=dotted
                )
            if i == len(parts) - 1:
                node[key] = value
            else:
                if isinstance(node, dict) and key not in node:
                    node[key] = {}
                node = node[key]
    return out


def _names_builtin(text_name: str) -> bool:
    """Whether ``text_name`` means a built-in scenario: a built-in's bare name (no folder
    part, no ``.toml``) always does, even when the current folder holds a file or folder
    of that name (a run's results folder is named after its scenario); write it as a
    path (``./iran-2022.toml``) to mean the file."""
    return text_name in builtin_names() and Path(text_name).name == text_name


def load_scenario(name_or_path, overrides: dict | None = None) -> LoadedScenario:
    """Read and validate a scenario file (or a built-in by name); nothing runs yet.

    A built-in's bare name (``iran-2022``) is the built-in, whatever the current folder
    holds; anything else is a path to a scenario file.
    """
    text_name = str(name_or_path)
    path = Path(text_name).expanduser()
    if _names_builtin(text_name):
        text = builtin_text(text_name)
        source, base_dir = f"<built-in {text_name}>", Path.cwd()
    elif path.suffix.lower() == ".toml" or path.exists():
        text = read_input_text(path, "scenario file")
        source, base_dir = str(path), path.resolve().parent
    else:
        import difflib

        close = difflib.get_close_matches(text_name, builtin_names(), n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise InputError(
            f"SCENARIO '{text_name}' is neither a scenario file nor a built-in "
            f"scenario.{hint} Built-ins: {', '.join(builtin_names())}."
        )
    try:
        data = loads_toml(text, source, "scenario")
    except tomllib.TOMLDecodeError as exc:
        raise toml_syntax_error(exc, source) from None
    if overrides:
        data = apply_overrides(data, overrides)
        check_nesting(data, source, "scenario with its --set overrides")
        text_for_lines = text
    else:
        text_for_lines = text
    try:
        scenario = Scenario.model_validate(data)
    except pydantic.ValidationError as exc:
        raise validation_error_to_input_error(exc, source, text_for_lines, model=Scenario) from None
    if scenario.policy is not None:
        policy = policy_from_dict(
            scenario.policy, source=source, text=text_for_lines, prefix_loc=("policy",)
        )
    else:
        policy = default_policy()
    _check_names(scenario, source, text_for_lines)
    digest = hashlib.sha256((text + repr(sorted((overrides or {}).items()))).encode()).hexdigest()
    return LoadedScenario(
        scenario=scenario,
        policy=policy,
        source=source,
        base_dir=base_dir,
        text=text,
        data=data,
        sha256=digest,
    )


SCENARIO_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def _check_names(s: Scenario, source: str, text: str) -> None:
    # the scenario name becomes a results folder name: keep it a safe slug
    if not SCENARIO_NAME_RE.match(s.name) or ".." in s.name:
        raise InputError(
            f"scenario name '{s.name}' is not a safe folder name: use letters, "
            "digits, '.', '_' and '-' (at most 64, starting with a letter or "
            "digit, no '..')",
            file=source,
            line=find_toml_line(text, ("name",)),
            field="name",
        )
    seen: dict[str, int] = {}
    for i, g in enumerate(s.gateways):
        if g.name in seen:
            raise InputError(
                f"gateway name '{g.name}' is used twice (also gateways.{seen[g.name]})",
                file=source,
                line=find_toml_line(text, ("gateways", i, "name")),
                field=f"gateways.{i}.name",
            )
        seen[g.name] = i
    _check_pop_overrides(s, source, text)


def pop_override_error(message: str, key: str, source, text: str) -> InputError:
    """An ``InputError`` at the ``[pop_overrides]`` entry ``key`` (file, line, field)."""
    return InputError(
        message,
        file=source,
        line=find_toml_line(text, ("pop_overrides", key)),
        field=f"pop_overrides.{key}",
    )


def check_pop_overrides(s: Scenario, gateway_names, pop_names, source, text: str) -> None:
    """Every ``[pop_overrides]`` entry names a gateway in ``gateway_names`` and a PoP in
    ``pop_names`` (None: not known yet, unchecked); else one error at its line."""
    gws = None if gateway_names is None else {str(n) for n in gateway_names}
    pops = None if pop_names is None else {str(n) for n in pop_names}
    for key, pop in s.pop_overrides.items():
        if gws is not None and key not in gws:
            raise pop_override_error(
                f"gateway '{key}' is not one of the scenario's gateways", key, source, text
            )
        if pops is not None and pop not in pops:
            shown = ", ".join(sorted(pops)[:8]) or "none"
            raise pop_override_error(
                f"PoP '{pop}' is not one of the scenario's PoPs ({shown})", key, source, text
            )


def _check_pop_overrides(s: Scenario, source: str, text: str) -> None:
    """What can be checked before any file is read: an override in a study that homes no
    gateways, or naming an inline gateway or PoP that is not there."""
    if not s.pop_overrides:
        return
    if s.study != "egress":
        key = next(iter(s.pop_overrides))
        raise pop_override_error(
            "[pop_overrides] applies to an egress study only (gateways are homed to PoPs "
            'there); remove it or set study = "egress"',
            key,
            source,
            text,
        )
    gateway_names = None if s.gateways_file else [g.name for g in s.gateways]
    if s.pops_file or (not s.pops and s.gateways_file):
        pop_names = None  # in a file: checked when the run reads it
    else:
        pop_names = [p.name for p in s.pops]
    check_pop_overrides(s, gateway_names, pop_names, source, text)
