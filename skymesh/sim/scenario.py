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
    preset = "oneweb"                    # with its own user link, beams, ISLs (none) and
    gateways_file = "oneweb_gw.csv"      # gateways; or borrow_gateways = true: use the
                                         # scenario's gateways, and the run says so

    [metrics]
    wanted = ["service", "rtt", "hops", "gateways", "bent_pipe", "figures"]
                                         # default: all of these plus capacity and cost
    [output]
    chunk_steps = 600                    # steps per chunk written to disk

Unknown keys, wrong types and impossible values are ``InputError`` naming the
file, the line and the field (``terminals.1.count``), raised by
:func:`load_scenario` before anything runs; a file with several mistakes raises
them all at once (:class:`skymesh.errors.InputErrors`, up to 20).
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

from skymesh.errors import InputError, problems_of, raise_problems
from skymesh.inputs import check_nesting, iso2_upper, loads_toml, read_input_text
from skymesh.policy.rules import Policy, default_policy, policy_from_dict, toml_syntax_error
from skymesh.policy.tomlerrors import find_toml_line, validation_problems
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
        extra="forbid",
        strict=True,
        populate_by_name=True,
        frozen=True,
        allow_inf_nan=False,
        use_attribute_docstrings=True,  # each key's docstring: the reference and the schema
    )


class ConstellationSpec(_Strict):
    """The constellation: a preset or a TLE file, and optionally an ISL list."""

    preset: Optional[str] = None
    """A constellation preset (`skymesh constellations`); give `preset` or `file`."""
    file: Optional[str] = None
    """A 3-line TLE file, relative to the scenario file."""
    j2: bool = False
    """Walker presets: apply J2 drift of the orbits."""
    skip_bad: bool = False
    """TLE files: skip malformed element sets instead of stopping."""
    isls: Optional[str] = None
    """An ISL list (Hypatia `isls.txt` or a `sat_a,sat_b` CSV) instead of the inferred +Grid."""

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
    """The time window and step of the run."""

    start: Annotated[object, BeforeValidator(_time_or_epoch)]
    """First instant (UTC), or "epoch": the constellation's element epoch."""
    duration_s: float = Field(gt=0, le=30 * 86400)
    """Length of the window."""
    step_s: float = Field(1.0, ge=MIN_STEP_S, le=86400)
    """Time step."""
    force_epoch: bool = False
    """Propagate a TLE set further than 30 days from its element epoch (SGP4 degrades)."""

    @model_validator(mode="after")
    def _not_empty(self):
        if self.step_s > self.duration_s:
            raise ValueError(
                f"the time range is empty: step {self.step_s} s is longer than "
                f"duration {self.duration_s} s"
            )
        return self


class RoutingSpec(_Strict):
    """How traffic is routed (see :mod:`skymesh.network.routing`)."""

    mode: Literal["isl", "bent-pipe", "hybrid"] = "isl"
    """isl: over inter-satellite links; bent-pipe: up and down to a gateway; hybrid: either."""
    min_elevation_deg: float = Field(default=25.0, ge=0, lt=90)
    """Elevation mask of ground links (0 when only `max_gsl_range_km` is given)."""
    compare_bent_pipe: bool = True
    """Also route every step without ISLs, for comparison."""
    max_isl_range_km: Optional[float] = Field(default=5400.0, gt=0)
    """Longest inter-satellite link."""
    max_gsl_range_km: Optional[float] = Field(default=None, gt=0)
    """Hypatia's rule: ground links up to this slant range."""

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
    """User terminals: a count per country, points, the N largest places or a city list."""

    name: Optional[str] = None
    """Name of the group (terminal names derive from it)."""
    country: Optional[ISO2] = None
    """Country to place `count` terminals in (or of `points`, `largest`)."""
    count: Optional[int] = Field(None, gt=0, le=1_000_000)
    """Number of terminals placed in `country`."""
    placement: Literal["population", "area"] = "population"
    """Place terminals by population or uniformly by area."""
    points: Optional[list[LatLon]] = Field(None, min_length=1)
    """Explicit `[lat, lon]` points (deg)."""
    largest: Optional[int] = Field(None, gt=0, le=10_000)
    """The N most populous places (GeoNames), in `country` if given."""
    file: Optional[str] = None
    """A Hypatia city list (`id,name,lat,lon,elevation`), relative to the scenario file."""
    subscribers: Optional[int] = Field(None, gt=0, le=10_000_000_000)
    """The group's terminals stand for this many subscribers (capacity and cost)."""
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
    """A gateway listed inline (or use `gateways_file`)."""

    name: str
    """Unique gateway name."""
    lat: float = Field(ge=-90, le=90)
    """Latitude (deg)."""
    lon: float = Field(ge=-180, le=180)
    """Longitude (deg)."""
    country: ISO2
    """Country the gateway is in."""
    place: Optional[str] = None
    """Free text: where it is, for reports."""
    antennas: Optional[int] = Field(None, gt=0)
    """Antennas at the site (capacity model; default there 8)."""
    capacity_gbps: Optional[float] = Field(None, gt=0)
    """Site capacity (overrides antennas x per-antenna rate)."""


class PopSpec(_Strict):
    """A point of presence (see :mod:`skymesh.ground.pops`)."""

    name: str
    """Unique PoP name."""
    lat: float = Field(ge=-90, le=90)
    """Latitude (deg)."""
    lon: float = Field(ge=-180, le=180)
    """Longitude (deg)."""
    country: ISO2
    """Country the PoP is in."""
    place: Optional[str] = None
    """Free text: where it is, for reports."""


class AccessSpec(_Strict):
    """The access layer of an egress run (see :mod:`skymesh.sim.egress_chunk`).

    ``model = "slots"``: serving satellite chosen per 15 s slot by ``serving`` and held,
    RTT terminal -> PoP with the access-delay components; ``"propagation"``: the idealised
    model (nearest path at every step, propagation only, exit at the gateway).
    """

    model: Literal["slots", "propagation"] = "slots"
    """slots: serving satellite held per 15 s slot; propagation: nearest path every step."""
    serving: Literal[
        "operator", "highest-elevation", "longest-visibility", "nearest-to-gateway"
    ] = "operator"
    """How the serving satellite of a slot is chosen."""
    load: float = Field(default=0.0, ge=0, lt=1)
    """User-link utilisation for queueing delay, [0, 1)."""


class FailureSpec(_Strict):
    """Elements that fail for a while: satellites, ISLs or gateways."""

    kind: Literal["satellites", "isls", "gateways"]
    """What fails."""
    fraction: Optional[float] = Field(None, ge=0, le=1)
    """Share of the elements that fail, drawn with `seed`."""
    ids: Optional[list[int]] = None
    """Indices of the elements that fail."""
    names: Optional[list[str]] = None
    """Names of the satellites or gateways that fail."""
    seed: int = Field(0, ge=0, le=MAX_SEED)
    """Seed of the draw (with the scenario's seed)."""
    start: Optional[UTCTime] = Field(None, alias="from")
    """Written `from`: when the failure starts (default: the run's start)."""
    until: Optional[UTCTime] = None
    """When it ends (default: the run's end)."""

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
    """Rain rate."""
    country: Optional[ISO2] = None
    """Rain over this country (or `box`; neither: everywhere)."""
    box: Optional[LatLonBox] = None
    """`[lat_min, lon_min, lat_max, lon_max]` (deg); lon_min > lon_max crosses 180 deg."""
    start: Optional[UTCTime] = Field(None, alias="from")
    """Written `from`: when the rain starts."""
    until: Optional[UTCTime] = None
    """When it stops."""

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
    """The same terminals on another network, for comparison. It brings its operator's own
    user link, beams, ISLs (none for OneWeb or Kuiper) and gateways: `gateways_file`, else
    its operator's shipped list, else -- only with `borrow_gateways = true` -- the
    scenario's gateways, and the run then says it borrows (skymesh.links.operators)."""

    preset: Optional[str] = None
    """The other network's constellation preset (or `file`)."""
    file: Optional[str] = None
    """Its TLE file."""
    label: str = "second operator"
    """Its name in reports."""
    apply_policy: bool = False
    """Whether the scenario's policy applies to it too."""
    gateways_file: Optional[str] = None
    """Its own gateway list (CSV or TOML, relative to the scenario file); each site is its
    own PoP. Default: its operator's shipped list (OneWeb: `oneweb_gateways.toml`)."""
    borrow_gateways: bool = False
    """Use the scenario's gateways (another operator's) instead; the run then says so."""

    @model_validator(mode="after")
    def _one_source(self):
        ConstellationSpec(preset=self.preset, file=self.file)
        if self.gateways_file is not None and self.borrow_gateways:
            raise ValueError("give 'gateways_file' or 'borrow_gateways = true', not both")
        return self


class CapacitySpec(_Strict):
    """Capacities of the network (see :mod:`skymesh.capacity.network` for the model)."""

    target_mbps: float = Field(25.0, gt=0, le=100_000)  # capacity.region.MAX_TARGET_MBPS
    """Rate every carried terminal gets."""
    samples: int = Field(3, ge=1, le=100)
    """Instants sampled for capacity."""
    cell_resolution: int = Field(5, ge=0, le=15)
    """H3 resolution of user cells."""
    beams_per_sat: int = Field(16, ge=1)
    """User beams per satellite."""
    channels_per_beam: float = Field(1.0, gt=0)
    """Channels per beam."""
    frequency_reuse: float = Field(1.0, ge=1)
    """Frequency reuse factor."""
    beam_capacity_mbps: Optional[float] = Field(None, gt=0)
    """Capacity of one beam (default: from the link budget)."""
    sat_downlink_mbps: Optional[float] = Field(None, gt=0)
    """A satellite's total downlink (default: beams x beam capacity)."""
    isl_capacity_gbps: float = Field(100.0, gt=0)
    """Capacity of one ISL."""
    gateway_antennas: int = Field(8, ge=1)
    """Antennas per gateway when the list gives none."""
    gateway_antenna_gbps: float = Field(6.8, gt=0)
    """Capacity of one gateway antenna."""


class DemandSpec(_Strict):
    """Traffic each terminal asks for (see :mod:`skymesh.capacity.demand`)."""

    busy_hour_mbps: Optional[float] = Field(None, gt=0)
    """Busy-hour demand per terminal (default: the demand model's)."""
    multiplier: float = Field(1.0, gt=0)
    """Scale of the demand."""
    diurnal: bool = True
    """Whether demand follows the local time of day."""


class CostSpec(_Strict):
    """Unit costs and a dated fleet (see :mod:`skymesh.capacity.cost`)."""

    terminal_price_usd: float = Field(ge=0)
    """Price of one terminal."""
    monthly_service_usd: float = Field(ge=0)
    """Monthly service fee per terminal."""
    replacements_per_month: float = Field(0.0, ge=0)
    """Share of the fleet replaced each month."""
    terminals_by_month: dict[str, float] = Field(min_length=1)
    """Fleet size by month (`"2022-03" = 5000`)."""
    start_terminals: float = Field(0.0, ge=0)
    """Terminals at the start."""
    periods: dict[str, Annotated[tuple[str, str], BeforeValidator(_list_as_tuple)]] = {}
    """Named periods, `name = ["YYYY-MM", "YYYY-MM"]`."""
    reported_usd: dict[str, float] = {}
    """Reported figures to compare with, by period name."""
    sources: list[str] = []
    """Where the figures come from."""


Metric = Literal["service", "rtt", "hops", "gateways", "bent_pipe", "capacity", "cost", "figures"]
METRICS: tuple[Metric, ...] = get_args(Metric)
"""What an egress run can report; ``[metrics] wanted`` picks among them (default: all)."""


class MetricsSpec(_Strict):
    """What the run reports."""

    wanted: list[Metric] = list(METRICS)
    """What the run reports."""


class OutputSpec(_Strict):
    """How results are written."""

    chunk_steps: Optional[int] = Field(default=None, gt=0)
    """Steps per chunk written to disk (default: from the run's size)."""
    timeseries: bool = True
    """Whether to write the per-step time series."""


def wants(scenario: "Scenario", metric: str) -> bool:
    """Whether the scenario asks for ``metric`` (see ``METRICS``)."""
    return metric in scenario.metrics.wanted


class Scenario(_Strict):
    """A whole study: what, where, when, under which policy."""

    name: str = Field(min_length=1)
    """The scenario's name; also its results folder (letters, digits, `.`, `_`, `-`)."""
    description: str = ""
    """What the scenario shows, for reports."""
    seed: int = Field(0, ge=0, le=MAX_SEED)
    """Every random draw derives from it."""
    study: Literal["egress", "routing"] = "egress"
    """egress: terminals to the internet via gateways; routing: all-pairs RTT of ground points."""
    constellation: ConstellationSpec
    time: TimeSpec
    routing: RoutingSpec = RoutingSpec()
    terminals: list[TerminalGroup] = Field(min_length=1)
    gateways: list[GatewaySpec] = []
    gateways_file: Optional[str] = None
    """A gateway list (CSV or TOML, with PoP rows or not), relative to the scenario file."""
    pops: list[PopSpec] = []
    pops_file: Optional[str] = None
    """A PoP list (default: the PoP rows of `gateways_file`)."""
    pop_overrides: dict[str, str] = {}
    """Gateway name -> PoP name (default: nearest PoP in the gateway's country, else nearest)."""
    access: AccessSpec = AccessSpec()
    policy: Optional[dict] = None
    failures: list[FailureSpec] = []
    rain: list[RainSpec] = []
    second_operator: Optional[SecondOperatorSpec] = None
    output: OutputSpec = OutputSpec()
    metrics: MetricsSpec = MetricsSpec()
    assumptions: list[str] = []
    """Assumptions, listed in the report."""
    sources: list[str] = []
    """Sources, listed in the report."""
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
    """A validated scenario with where it came from.

    Examples
    --------
    ``skymesh.Scenario`` is this class (what ``skymesh.load_scenario`` returns).

    >>> import skymesh
    >>> s = skymesh.load_scenario("iran-2022")
    >>> isinstance(s, skymesh.Scenario), s.source, s.scenario.name
    (True, '<built-in iran-2022>', 'iran-2022')
    """

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
    # Every mistake at once: the scenario's tables, its [policy] and its names are each
    # checked even when another part is wrong, and all problems are raised together.
    problems: list[InputError] = []
    scenario = None
    try:
        scenario = Scenario.model_validate(data)
    except pydantic.ValidationError as exc:
        problems += validation_problems(exc, source, text_for_lines, model=Scenario)
    policy = default_policy()
    if isinstance(data.get("policy"), dict):
        try:
            policy = policy_from_dict(
                data["policy"], source=source, text=text_for_lines, prefix_loc=("policy",)
            )
        except InputError as exc:
            problems += problems_of(exc)
    if scenario is not None:
        try:
            _check_names(scenario, source, text_for_lines)
        except InputError as exc:
            problems.append(exc)
    raise_problems(problems, file=source)
    assert scenario is not None  # no problems: it validated
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
