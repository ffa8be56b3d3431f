"""Validation cases: a published figure, its conditions and source, SkyMesh's figure for the
same conditions, the ratio, and a band chosen (with its justification) before the model ran.

A case is a :class:`Case` in the registry (:func:`register`); :func:`all_cases` returns the
built-in cases below plus those other modules register (``skymesh/validate/capacity_cases.py``
is the hook for capacity rows: see its docstring). :func:`run_cases` runs them.

Bands are on the ratio SkyMesh / published. They were written down with their one-line
justification before the model's figure was computed, and are not to be moved to make a
case pass: a case outside its band is reported as FAIL with the reason in the README.

Cases that need the curated reference data (the real 2025-12-04 Starlink TLE set, the
gateway + PoP list) find it in ``$SKYMESH_DATA`` (or the ``data_dir`` given) and are
skipped, said so in the table, when it is absent.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from skymesh.errors import InputError

TLE_FILE = "starlink_tle_20251204.txt"
GATEWAY_FILE = "starlink_gateways_starlinkviz_20260320.csv"


class CaseSkipped(Exception):
    """Raised by a case's computation when what it needs is absent (the reason is shown)."""


@dataclass(frozen=True)
class Case:
    """One validation case.

    Attributes
    ----------
    id : str
        Short stable name (lower case, dashes).
    title : str
        What is compared, a few words.
    published : float
        The published figure, in ``unit``.
    unit : str
    conditions : str
        The conditions of the published figure and how SkyMesh reproduces them.
    source : str
        The original source (paper, filing, report).
    status : str
        Source status tag: P (primary), A (academic), N (news), D (derived), U (unverified).
    band : (float, float)
        Accepted range of the ratio SkyMesh / published.
    justification : str
        One line: why this band (chosen before the model's figure was seen).
    compute : callable(Context) -> float or (float, str)
        SkyMesh's figure (and an optional note); raises :class:`CaseSkipped`.
    quick : bool
        Part of the fast subset (``skymesh validate --quick``, run in ``make test``).
    needs_data : bool
        Needs the curated reference data.
    figure : str
        The SkyMesh figure compared, by its name in :mod:`skymesh.metrics` (or an RTT
        component of :data:`skymesh.access.delay.COLUMNS`): ``rtt_ms`` for a measured
        RTT (what a user measures, with access), ``space_rtt_ms`` for a light-speed
        figure, ``fibre_ms`` for a ground leg. Like is compared with like.
    """

    id: str
    title: str
    published: float
    unit: str
    conditions: str
    source: str
    status: str
    band: tuple[float, float]
    justification: str
    compute: Callable
    quick: bool = False
    needs_data: bool = False
    figure: str = ""


_REGISTRY: dict[str, Case] = {}


def register(case: Case) -> Case:
    """Add a case to the registry; a second case with the same id is an error."""
    if case.id in _REGISTRY and _REGISTRY[case.id] is not case:
        raise InputError(f"validation case '{case.id}' is registered twice", field="id")
    lo, hi = case.band
    if not (np.isfinite(lo) and np.isfinite(hi) and 0 <= lo <= hi):
        raise InputError(
            f"case '{case.id}': band {case.band} is not 0 <= low <= high", field="band"
        )
    if not case.published > 0:
        raise InputError(f"case '{case.id}': the published figure must be > 0", field="published")
    _REGISTRY[case.id] = case
    return case


def all_cases() -> list[Case]:
    """Every registered case, built-in ones first, in registration order."""
    from skymesh.validate import capacity_cases  # noqa: F401  (registers its cases)

    return list(_REGISTRY.values())


@dataclass
class Context:
    """What a case's computation may use: the data folder and a cache shared by cases."""

    data_dir: Path | None = None
    cache: dict = field(default_factory=dict)

    def data(self, name: str) -> Path:
        """A curated reference file; :class:`CaseSkipped` when it is not there."""
        if self.data_dir is None or not (self.data_dir / name).is_file():
            raise CaseSkipped(f"needs {name} in $SKYMESH_DATA")
        return self.data_dir / name

    def cached(self, key, make):
        if key not in self.cache:
            self.cache[key] = make()
        return self.cache[key]


def default_data_dir() -> Path | None:
    """``$SKYMESH_DATA`` when set, else None (data cases are then skipped)."""
    env = os.environ.get("SKYMESH_DATA")
    return Path(env).expanduser() if env else None


# ----------------------------------------------------------------------------- helpers


def _real_constellation(ctx: Context):
    from skymesh.orbits.presets import load_constellation

    path = ctx.data(TLE_FILE)
    return ctx.cached("tle", lambda: load_constellation(str(path)))


def _curated_sites(ctx: Context):
    import warnings

    from skymesh.ground.gateways import load_gateways
    from skymesh.ground.pops import load_pops

    path = ctx.data(GATEWAY_FILE)

    def make():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return load_gateways(path), load_pops(path)

    return ctx.cached("sites", make)


def _weighted_median(values, weights) -> float:
    v = np.asarray(values, dtype=float).ravel()
    w = np.broadcast_to(np.asarray(weights, dtype=float), np.shape(values)).ravel()
    ok = np.isfinite(v)
    v, w = v[ok], w[ok]
    if not len(v):
        return float("nan")
    order = np.argsort(v, kind="stable")
    cum = np.cumsum(w[order])
    return float(v[order][np.searchsorted(cum, 0.5 * cum[-1])])


def _population_median(
    ctx: Context, country: str, n_places: int, start: str, mode: str, minutes: float = 10.0
):
    """Population-weighted median RTT (ms) of the ``n_places`` largest places of a country."""
    from skymesh.access.terminal_path import terminals_path
    from skymesh.ground.places import largest_places
    from skymesh.timebase import time_grid

    c = _real_constellation(ctx)
    gw, pops = _curated_sites(ctx)
    _, lat, lon, cc, popn, _ = largest_places(n_places, country)
    grid = time_grid(start, minutes * 60.0, 15.0)
    res = terminals_path(c, grid, lat, lon, cc, gw, pops, mode=mode)
    served = float(np.isfinite(res["rtt_ms"]).mean())
    med = _weighted_median(res["rtt_ms"], popn[None, :])
    prop = _weighted_median(res["space_rtt_ms"], popn[None, :])
    return med, (
        f"{len(lat)} largest places weighted by population, {len(grid)} steps; "
        f"served {100 * served:.0f} %; space RTT (propagation only) median {prop:.1f} ms"
    )


FLOOR = dict(
    frames_per_crossing=1.0,
    grant_cycles=0.0,
    round_robin_ms=0.0,
    isl_hop_ms=0.01,
    gateway_ms=0.1,
    pop_ms=0.1,
)
"""Each access component at the low end of its range (skymesh.access.delay.COMPONENTS):
the like-for-like model of a *minimum* RTT."""


def _min_rtt(ctx: Context, lat, lon, country, start, minutes, pop_name=None):
    from skymesh.access.delay import DEFAULTS
    from skymesh.access.terminal_path import terminal_path
    from skymesh.timebase import time_grid

    c = _real_constellation(ctx)
    gw, pops = _curated_sites(ctx)
    fixed = -1 if pop_name is None else pops.index(pop_name)
    grid = time_grid(start, minutes * 60.0, 1.0)
    res = terminal_path(
        c, grid, lat, lon, country, gw, pops, terminal_pop=fixed, params=DEFAULTS.with_(**FLOOR)
    )
    rtt = res["rtt_ms"]
    if not np.isfinite(rtt).any():
        return float("nan"), "never served in the window"
    k = int(np.nanargmin(rtt))
    return float(rtt[k]), (
        f"min over {len(grid)} 1 s steps; at the minimum: space RTT "
        f"{res['space_rtt_ms'][k]:.1f} ms, fibre "
        f"{res['fibre_ms'][k]:.1f} ms, {int(res['isl_hops'][k])} ISL hops, "
        f"gateway {gw.name[res['gateway'][k]]}"
    )


# ----------------------------------------------------------------------------- computations


def _us_peak(ctx: Context):
    # 02:00:05 UTC is 18:00-21:00 local from Pacific to Eastern time (peak hours); steps
    # at :05, :20, :35, :50 sit inside 15 s slots.
    return ctx.cached(
        "us-peak", lambda: _population_median(ctx, "US", 60, "2025-12-05T02:00:05Z", "isl")
    )


def _bent_pipe(country):
    def compute(ctx: Context):
        return _population_median(ctx, country, 20, "2025-12-04T12:00:05Z", "bent-pipe")

    return compute


def _gs_pop(north_america: bool):
    def compute(ctx: Context):
        from skymesh.ground.pops import gateway_pop_legs

        gw, pops = _curated_sites(ctx)
        _, rtt = gateway_pop_legs(gw, pops)
        na = np.isin(gw.country_iso2, ["US", "CA"])
        sel = na if north_america else ~na
        return float(np.median(rtt[sel])), f"median over {int(sel.sum())} operational gateways"

    return compute


def _seattle_min(ctx: Context):
    return _min_rtt(ctx, 47.6062, -122.3321, "US", "2025-12-04T12:00:00Z", 5.0)


def _ulukhaktok_min(ctx: Context):
    return _min_rtt(
        ctx, 70.7364, -117.7681, "CA", "2025-12-04T12:00:00Z", 5.0, pop_name="Seattle, WA"
    )


def _synthetic_sites(points):
    """A gateway 30 km east of each point and one PoP at each point (geometry only)."""
    from skymesh.ground.gateways import gateways_from_records
    from skymesh.ground.pops import pops_from_records

    gws, ps = [], []
    for i, (lat, lon, cc) in enumerate(points):
        d_lon = 30.0 / (111.195 * np.cos(np.deg2rad(lat)))
        gws.append(dict(name=f"gw{i}", lat=lat, lon=lon + d_lon, country=cc))
        ps.append(dict(name=f"pop{i}", lat=lat, lon=lon, country=cc))
    return gateways_from_records(gws), pops_from_records(ps)


def _light_floor(ctx: Context):
    from skymesh.access.terminal_path import terminal_path
    from skymesh.orbits.presets import load_constellation
    from skymesh.timebase import time_grid

    c = load_constellation("starlink-shell1")
    gw, pops = _synthetic_sites([(40.0, -100.0, "US")])
    grid = time_grid("2026-01-01T00:00:00Z", 600.0, 1.0)
    res = terminal_path(c, grid, 40.0, -100.0, "US", gw, pops, mode="bent-pipe")
    return float(np.nanmin(res["space_rtt_ms"])), (
        "Walker 550 km shell, terminal 30 km from its gateway, bent pipe, min over 10 min"
    )


JUMP_MS = 0.5
"""An RTT change between 1 s steps counted as a step: satellite motion alone moves a
550 km path by at most ~2 x 7.6 km/s x 1 s, ~0.05 ms of RTT, ten times less."""


def _slot_steps(ctx: Context):
    from skymesh.access.terminal_path import terminals_path
    from skymesh.orbits.presets import load_constellation
    from skymesh.timebase import time_grid

    c = load_constellation("starlink-shell1")
    pts = [(47.6, -122.3, "US"), (40.4, -3.7, "ES"), (-33.9, 151.2, "AU")]
    gw, pops = _synthetic_sites(pts)
    grid = time_grid("2026-01-01T00:00:00Z", 600.0, 1.0)
    lat, lon, cc = (list(x) for x in zip(*pts))
    res = terminals_path(c, grid, lat, lon, cc, gw, pops)
    rtt = res["rtt_ms"]
    jump = np.abs(np.diff(rtt, axis=0)) > JUMP_MS
    jump |= np.diff(np.isfinite(rtt), axis=0)
    at_boundary = (np.diff(res["slot"]) != 0)[:, None]
    n = int(jump.sum())
    if n == 0:
        return 0.0, "no RTT step at all in 10 min"
    share = float((jump & at_boundary).sum() / n)
    return share, (
        f"{n} RTT steps > {JUMP_MS} ms over 3 terminals x 10 min, "
        f"{int((jump & ~at_boundary).sum())} inside a slot"
    )


# ----------------------------------------------------------------------------- the cases

SPACEX_UPDATE = "SpaceX, Starlink network update (starlink.com/updates/network-update)"
MOHAN = (
    'Mohan et al., "A Multifaceted Look at Starlink Performance", ACM WWW 2024, '
    "doi:10.1145/3589334.3645328"
)
LENS = (
    "LENS dataset (LEOScope), 10 ms RTT sampling; Shi, Zhang & Hu 2026 and Casparsen et "
    "al., arXiv:2601.08439, read via a digest"
)

register(
    Case(
        id="us-peak-2025",
        title="US median RTT, peak hours, June 2025",
        published=25.7,
        unit="ms",
        conditions="Router -> internet RTT, 15 s averages from millions of US routers, 18-21 h "
        "local. SkyMesh: 60 largest US places by population, real 2025-12-04 TLEs, "
        "curated gateways + PoPs, ISL routing, idle queueing (no published busy-hour "
        "load), 02:00-02:10 UTC.",
        source=SPACEX_UPDATE + ", July 2025",
        status="P",
        band=(0.75, 1.25),
        justification="the U-status access defaults span about +-5 ms (~20 % of the total) and "
        "peak-hour queueing is at idle here",
        compute=_us_peak,
        figure="rtt_ms",
        needs_data=True,
    )
)

register(
    Case(
        id="us-peak-2024",
        title="US median RTT, peak hours, March 2024",
        published=33.0,
        unit="ms",
        conditions="As us-peak-2025, March 2024 (after the drop from 48.5 ms). SkyMesh runs the "
        "same present-day model (2025-12 constellation and gateways).",
        source=SPACEX_UPDATE + ", March 2024",
        status="P",
        band=(0.5, 1.1),
        justification="a 2025 network (more satellites, gateways, PoPs; queue management) "
        "should measure lower than March 2024, by at most half",
        compute=_us_peak,
        figure="rtt_ms",
        needs_data=True,
    )
)

for _cc, _name in (("GB", "United Kingdom"), ("AU", "Australia")):
    register(
        Case(
            id=f"bent-pipe-2023-{_cc.lower()}",
            title=f"Bent-pipe dish -> PoP median, {_name}",
            published=40.0,
            unit="ms",
            conditions=f"RIPE Atlas probes behind Starlink, Dec 2022-Sep 2023; dish -> PoP "
            f"(bent pipe) median ~40 ms, 36-48 ms by country. SkyMesh: 20 largest "
            f"places of {_name} by population, real 2025-12-04 TLEs, curated gateways "
            f"+ PoPs, bent-pipe routing, idle.",
            source=MOHAN,
            status="A",
            band=(0.75, 1.25),
            justification="per-country medians span 36-48 ms (-10 %/+20 % of 40 ms); +-25 % "
            "covers that spread and the placement of terminals",
            compute=_bent_pipe(_cc),
            figure="rtt_ms",
            needs_data=True,
        )
    )

register(
    Case(
        id="gs-pop-us-ca",
        title="GS <-> PoP leg, US and Canada",
        published=7.5,
        unit="ms",
        conditions="Traceroute hop from the ground station to the PoP, 7-8 ms RTT in the US and "
        "Canada. SkyMesh: fibre RTT of each curated operational gateway to its home "
        "PoP (nearest in its country), median.",
        source=MOHAN,
        status="A",
        band=(0.5, 2.0),
        justification="community coordinates (some > 20 km off), an unpublished homing table, "
        "and router time in the measured hop: a factor of 2",
        compute=_gs_pop(True),
        figure="fibre_ms",
        quick=True,
        needs_data=True,
    )
)

register(
    Case(
        id="gs-pop-elsewhere",
        title="GS <-> PoP leg, outside US and Canada",
        published=5.0,
        unit="ms",
        conditions="As gs-pop-us-ca: ~5 ms RTT almost everywhere else.",
        source=MOHAN,
        status="A",
        band=(0.5, 2.0),
        justification="as gs-pop-us-ca",
        compute=_gs_pop(False),
        figure="fibre_ms",
        quick=True,
        needs_data=True,
    )
)

register(
    Case(
        id="min-rtt-near-pop",
        title="Minimum RTT, dish near its PoP (Seattle)",
        published=16.5,
        unit="ms",
        conditions="Minimum RTT 15-18 ms for dishes near their PoP (Bruehl, Seattle, Victoria). "
        "SkyMesh: a terminal in Seattle, real TLEs, curated gateways + PoPs, each "
        "access component at its low value (the floor), min over 5 min.",
        source=LENS,
        status="A",
        band=(0.75, 1.33),
        justification="the published minimum spans 15-18 ms (+-9 %); the model floor and the "
        "5 min window add up to a quarter either way",
        compute=_seattle_min,
        figure="rtt_ms",
        needs_data=True,
    )
)

register(
    Case(
        id="min-rtt-ulukhaktok",
        title="Minimum RTT, far from the PoP (Ulukhaktok -> Seattle)",
        published=37.5,
        unit="ms",
        conditions="Minimum RTT 35-40 ms for a dish in Ulukhaktok (NT, Canada, 70.7 N) served "
        "by the Seattle PoP over lasers. SkyMesh: that terminal, PoP fixed to "
        "Seattle, ISL routing, each access component at its low value, min over 5 min.",
        source=LENS,
        status="A",
        band=(0.75, 1.33),
        justification="as min-rtt-near-pop; the long ISL route adds its geometry, not new "
        "uncertainty in the access terms",
        compute=_ulukhaktok_min,
        figure="rtt_ms",
        needs_data=True,
    )
)

register(
    Case(
        id="light-speed-floor",
        title="Light-speed minimum RTT at 550 km",
        published=8.0,
        unit="ms",
        conditions='"~8 ms is the light-speed minimum at 550 km" (Musk, SpaceX update, Jan '
        "2024). SkyMesh: space propagation only, Walker 550 km shell, terminal 30 km "
        "from its gateway, bent pipe, min over 10 min (no reference data needed).",
        source="SpaceX update, Jan 2024, reported by cis471.blogspot.com (11 Mar 2024)",
        status="P (via N)",
        band=(0.9, 1.25),
        justification="4 x 550 km / c = 7.34 ms with both legs at zenith (-8 %); a 10 min "
        "minimum seldom has both legs that high",
        compute=_light_floor,
        figure="space_rtt_ms",
        quick=True,
    )
)

register(
    Case(
        id="slot-steps",
        title="RTT steps only at the 15 s boundaries (:12/:27/:42/:57)",
        published=1.0,
        unit="share",
        conditions="Measured RTT steps at globally synchronised 15 s boundaries, stable within "
        "a slot. SkyMesh: share of RTT changes > 0.5 ms between 1 s steps that fall "
        "on a boundary; Walker 550 km shell, 3 terminals, a gateway 30 km from each, "
        "ISL routing, 10 min (no reference data needed).",
        source="Tanveer et al., CoNEXT 2023 Companion, doi:10.1145/3624354.3630586; " + MOHAN,
        status="A",
        band=(0.9, 1.0),
        justification="routing is re-optimised each step while the satellite is held, so a "
        "gateway switch may step inside a slot; at most 1 in 10",
        compute=_slot_steps,
        figure="rtt_ms",
        quick=True,
    )
)


# ----------------------------------------------------------------------------- generations
# Bands set from the sources' own spread before the model's figures were computed.

SHIPPED_TLE = Path(__file__).resolve().parent.parent / "data" / TLE_FILE
PROGRESS_2024 = (
    "SpaceX, Starlink Progress Report (Dec 2024, published Jan 2025), via PCMag and r/spacex"
)


def _fleet_downlink_tbps(ctx: Context):
    from skymesh.orbits.generations import (
        fleet_user_downlink_gbps,
        generation_counts,
        generations_of,
    )
    from skymesh.orbits.tle import read_tle_file

    names, line1s, _, _ = read_tle_file(SHIPPED_TLE)
    gens = generations_of(names, [line[9:17] for line in line1s])
    counts = ", ".join(f"{g} {n:,}" for g, n in generation_counts(gens).items())
    return fleet_user_downlink_gbps(gens) / 1000.0, counts


def _beam_budget(gen: str):
    def compute(ctx: Context):
        from skymesh.orbits.generations import generation_table

        p = generation_table()[gen]
        return (
            p["user_beams"]["value"] * p["downlink_per_beam_gbps"]["value"],
            f"{p['user_beams']['value']:g} beams x {p['downlink_per_beam_gbps']['value']:g} "
            f"Gbit/s; table's per-satellite figure {p['user_downlink_gbps']['value']:g} "
            f"({p['user_downlink_gbps']['status']})",
        )

    return compute


def _v2_over_v15(ctx: Context):
    from skymesh.orbits.generations import generation_table

    t = generation_table()
    return t["v2 mini"]["user_downlink_gbps"]["value"] / t["v1.5"]["user_downlink_gbps"]["value"]


register(
    Case(
        id="fleet-downlink-2025",
        title="Fleet user downlink, all satellites, vs SpaceX's network total",
        published=350.0,
        unit="Tbit/s",
        conditions="SpaceX: ~350 Tbit/s total network capacity (January 2025). SkyMesh: the "
        "shipped 2025-12-04 CelesTrak set (9,042 satellites), each satellite's generation "
        "from its launch (skymesh/data/starlink_launches.csv) and that generation's user "
        "downlink (starlink_generations.csv), summed; unknown generation adds 0.",
        source=PROGRESS_2024,
        status="P",
        band=(0.75, 3.0),
        justification="the fleet is 11 months younger than the figure: SpaceX gave ~450 Tbit/s "
        "launched by July 2025, so ~1.5x by December at that pace; V2 Mini's 96 Gbit/s is a "
        "press back-calculation, so a factor 2 either side of 1.5",
        compute=_fleet_downlink_tbps,
        quick=True,
    )
)

_GEN_CASES = (
    (
        "v0.9",
        1000.0 / 60.0,
        "Musk, May 2019: ~1 Tbit/s usable per 60-satellite v0.9 launch (tweet and media "
        "call), i.e. 16.7 Gbit/s per satellite",
        "P",
        (0.9, 1.1),
        "an input check: the table must reproduce its source up to rounding",
    ),
    (
        "v1.0",
        20.0,
        "SpaceX Gen1 technical attachment, IBFS SAT-LOA-20161115-00118, as read by del "
        "Portillo, Cameron & Crawley, Acta Astronautica 159 (2019): 17-23 Gbit/s",
        "P",
        (0.85, 1.15),
        "the filing's own range, 17-23 Gbit/s, around its 20 Gbit/s middle",
    ),
    (
        "v2 mini",
        100.0,
        "SpaceX Progress Report Dec 2024: a V3 satellite (1 Tbit/s) carries 10x a V2 Mini, "
        "i.e. ~100 Gbit/s",
        "P",
        (0.8, 1.25),
        "'10x' is a round multiple: +-25 %",
    ),
    (
        "v2 mini optimised",
        100.0,
        "as V2 Mini (no separate figure for the optimised bus was found): SpaceX Progress "
        "Report Dec 2024, V3 = 10x a V2 Mini",
        "D",
        (0.8, 1.25),
        "as the V2 Mini row",
    ),
    (
        "v3",
        1000.0,
        "SpaceX Progress Report Dec 2024, p. 62: 1 Tbit/s downlink per V3 satellite",
        "P",
        (0.95, 1.05),
        "an input check against an exact operator figure",
    ),
)

for _gen, _pub, _src, _status, _band, _why in _GEN_CASES:
    register(
        Case(
            id=f"sat-downlink-{_gen.replace(' ', '-')}",
            title=f"User downlink of one {_gen} satellite",
            published=_pub,
            unit="Gbit/s",
            conditions="SkyMesh: user beams x downlink per beam of the generation table "
            "(skymesh/data/starlink_generations.csv), the figures the capacity model reads.",
            source=_src,
            status=_status,
            band=_band,
            justification=_why,
            compute=_beam_budget(_gen),
            quick=True,
        )
    )

register(
    Case(
        id="v2-mini-over-v1.5",
        title="V2 Mini / v1.5 user downlink per satellite",
        published=4.0,
        unit="ratio",
        conditions="SpaceX, Feb 2023: V2 Mini has about four times the communications "
        "capacity of v1.5. SkyMesh: the two rows of the generation table.",
        source="SpaceX via UPI (27 Feb 2023) and Ars Technica (Mar 2023)",
        status="P",
        band=(0.75, 1.25),
        justification="'about four times': 3x-5x",
        compute=_v2_over_v15,
        quick=True,
    )
)


# ----------------------------------------------------------------------------- running


@contextlib.contextmanager
def _native_stdout_to_stderr():
    """Send what native libraries write on file descriptor 1 (an LP solver's banner) to
    stderr while a case runs, so stdout holds only SkyMesh's table or JSON."""
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (AttributeError, OSError, ValueError):  # no descriptor 1 to redirect
        yield
        return
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def run_case(case: Case, ctx: Context) -> dict:
    """Run one case: a result dict (the case's fields, model, ratio, outcome, note, seconds)."""
    t0 = time.perf_counter()
    row = dict(
        id=case.id,
        title=case.title,
        published=case.published,
        unit=case.unit,
        conditions=case.conditions,
        source=case.source,
        status=case.status,
        band_low=case.band[0],
        band_high=case.band[1],
        justification=case.justification,
        quick=case.quick,
        model=None,
        ratio=None,
        outcome=None,
        note="",
    )
    try:
        with _native_stdout_to_stderr():
            value = case.compute(ctx)
    except CaseSkipped as skip:
        row.update(outcome="skipped", note=str(skip))
    else:
        value, note = value if isinstance(value, tuple) else (value, "")
        value = float(value)
        ratio = value / case.published
        ok = np.isfinite(ratio) and case.band[0] <= ratio <= case.band[1]
        row.update(
            model=value if np.isfinite(value) else None,
            ratio=float(ratio) if np.isfinite(ratio) else None,
            outcome="pass" if ok else "FAIL",
            note=note,
        )
    row["seconds"] = round(time.perf_counter() - t0, 2)
    return row


def run_cases(*, quick: bool = False, data_dir=None, only=None, progress=None) -> list[dict]:
    """Run the registered cases (the quick subset with ``quick``; ``only``: ids), in order."""
    ctx = Context(data_dir=Path(data_dir) if data_dir is not None else default_data_dir())
    cases = [c for c in all_cases() if (c.quick or not quick)]
    if only:
        known = {c.id for c in all_cases()}
        for name in only:
            if name not in known:
                raise InputError(
                    f"no validation case '{name}' (cases: {', '.join(sorted(known))})", field="case"
                )
        cases = [c for c in all_cases() if c.id in set(only)]
    rows = []
    for case in cases:
        rows.append(run_case(case, ctx))
        if progress is not None:
            progress(case)
    return rows


def failed(rows: list[dict]) -> list[dict]:
    """The rows outside their band."""
    return [r for r in rows if r["outcome"] == "FAIL"]
