"""Turn a validated scenario into arrays: constellation, time grid, terminals, gateways, failures.

Everything random (terminal placement, failure picks) is drawn here from the
scenario's seeds, so every chunk of a run, on any worker, sees the same draw.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Optional

import numpy as np

from skymesh.capacity.demand import group_seed
from skymesh.errors import InputError
from skymesh.ground.countries import country_of, sample_points
from skymesh.links.isl import plus_grid_pairs
from skymesh.orbits.constellation import Constellation
from skymesh.orbits.presets import load_constellation
from skymesh.orbits.propagate import check_epoch_horizon
from skymesh.policy.rules import Policy
from skymesh.shipped import data_line, elements_record
from skymesh.sim.scenario import LoadedScenario
from skymesh.timebase import TimeGrid, time_grid

if TYPE_CHECKING:
    from skymesh.ground.pops import Pops

STALE_TLE_DAYS = 7.0
"""Warn when a run is this many days or more from its TLE snapshot's epoch."""


@dataclass(frozen=True)
class Failure:
    """Elements (satellites, ISLs or gateways) down from ``start_s`` to ``end_s`` (grid seconds)."""

    kind: str
    index: np.ndarray
    start_s: float
    end_s: float

    def mask(self, n: int, offsets_s: np.ndarray) -> np.ndarray:
        """(n, T) bool: True where the element is down."""
        out = np.zeros((n, len(offsets_s)), dtype=bool)
        active = (offsets_s >= self.start_s) & (offsets_s < self.end_s)
        out[np.ix_(self.index, np.flatnonzero(active))] = True
        return out


@dataclass(frozen=True)
class Operator:
    """One network the terminals may use: its constellation, ISLs, policy and failures.

    ``operator`` names its row of :mod:`skymesh.links.operators` (user link, beams, ISLs);
    ``gateway_mask`` (W,) bool marks the run's gateways it may exit at (None: all of them),
    applied by :func:`operator_exits`."""

    label: str
    constellation: Constellation
    isl_pairs: np.ndarray
    policy: Policy
    failures: tuple = ()
    operator: str = "starlink"
    gateway_mask: Optional[np.ndarray] = None


def operator_network(prep: "Prepared", op: Operator) -> dict:
    """What network ``op`` ran on, for the summary: its ``operator`` (row of
    :mod:`skymesh.links.operators`), ``isls`` (count used), ``gateways`` (how many it may exit
    at) and ``gateways_from``: ``"the scenario"`` (the primary's), ``"its own"`` or
    ``"borrowed"`` (another operator's, as ``borrow_gateways = true`` asked)."""
    n = len(prep.gateway_name) if op.gateway_mask is None else int(np.sum(op.gateway_mask))
    primary = prep.operators[0]
    if op is primary:
        origin = "the scenario"
    elif op.gateway_mask is not None:
        origin = "its own"
    elif op.operator != primary.operator:
        origin = "borrowed"
    else:
        origin = "the scenario"
    return {
        "operator": op.operator,
        "isls": int(len(op.isl_pairs)),
        "gateways": n,
        "gateways_from": origin,
    }


def operator_exits(op: Operator, terminal_country, gateway_country, times) -> np.ndarray:
    """(W, T) bool: gateways where ``op`` may let traffic of ``terminal_country`` out -- the
    policy's exit rules (:func:`skymesh.policy.rules.exit_allowed`) and only ``op``'s own
    gateways (``op.gateway_mask``)."""
    from skymesh.policy.rules import exit_allowed

    allowed = exit_allowed(op.policy, terminal_country, gateway_country, times)
    mask = getattr(op, "gateway_mask", None)  # stand-ins with only a policy: every gateway
    if mask is not None:
        allowed &= np.asarray(mask, dtype=bool)[:, None]
    return allowed


@dataclass(frozen=True)
class Prepared:
    """Everything a chunk of a run needs, as arrays."""

    loaded: LoadedScenario
    grid: TimeGrid
    operators: tuple
    terminal_name: np.ndarray
    terminal_lat: np.ndarray
    terminal_lon: np.ndarray
    terminal_country: np.ndarray
    gateway_name: np.ndarray
    gateway_lat: np.ndarray
    gateway_lon: np.ndarray
    gateway_country: np.ndarray
    gateway_capacity_gbps: np.ndarray
    notes: tuple = ()
    pops: Optional[Pops] = None
    """:class:`skymesh.ground.pops.Pops` of the run, or None (each gateway its own PoP)."""
    gateway_pop: Optional[np.ndarray] = None
    """(W,) index into ``pops`` of each gateway's home PoP (None without PoPs)."""
    gateway_fibre_ms: Optional[np.ndarray] = None
    """(W,) gateway -> home PoP fibre RTT, ms (zeros without PoPs)."""
    extra: dict = field(default_factory=dict)

    @property
    def scenario(self):
        return self.loaded.scenario

    @property
    def n_terminals(self) -> int:
        return len(self.terminal_lat)


def _constellation(loaded: LoadedScenario, preset, file, j2, skip_bad, notes) -> Constellation:
    source = preset if preset is not None else str(loaded.resolve(file))
    const = load_constellation(source, skip_bad=skip_bad, j2=j2, report=notes)
    if loaded.scenario.time.force_epoch:  # the run may go past the element epoch's horizon
        from skymesh.orbits.propagate import allow_far_epoch

        allow_far_epoch(const)
    return const


def _terminals(loaded: LoadedScenario):
    s = loaded.scenario
    names, lat, lon, country = [], [], [], []
    for i, group in enumerate(s.terminals):
        if group.points is not None:
            pts = np.asarray(group.points, dtype=float).reshape(-1, 2)
            la, lo = pts[:, 0], pts[:, 1]
            cc = np.full(len(pts), group.country) if group.country else country_of(la, lo)
            base = group.name or f"group{i}"
        elif group.largest is not None or group.file is not None:
            from skymesh.ground.places import largest_places, load_hypatia_cities

            if group.file is not None:
                _, place_names, la, lo, _ = load_hypatia_cities(loaded.resolve(group.file))
                cc = country_of(la, lo)
            else:
                assert group.largest is not None  # the branch's condition, file being None
                place_names, la, lo, cc, _, _ = largest_places(group.largest, group.country)
            names += list(place_names)
            lat.append(np.asarray(la, float))
            lon.append(np.asarray(lo, float))
            country.append(np.asarray(cc, dtype="<U2"))
            continue
        else:
            # TerminalGroup._one_kind: neither points, largest nor file, so count and country
            assert group.count is not None and group.country is not None
            la, lo = sample_points(
                group.country,
                group.count,
                weight=group.placement,
                seed=group_seed(s.seed, i),
            )
            cc = np.full(len(la), group.country)
            base = group.name or group.country
        names += [base if len(la) == 1 else f"{base}-{k}" for k in range(len(la))]
        lat.append(la)
        lon.append(lo)
        country.append(np.asarray(cc, dtype="<U2"))
    return (np.asarray(names), np.concatenate(lat), np.concatenate(lon), np.concatenate(country))


def _gateways(loaded: LoadedScenario):
    s = loaded.scenario
    name = [g.name for g in s.gateways]
    lat = [g.lat for g in s.gateways]
    lon = [g.lon for g in s.gateways]
    country = [g.country for g in s.gateways]
    cap = [g.capacity_gbps if g.capacity_gbps is not None else np.nan for g in s.gateways]
    if s.gateways_file:
        from skymesh.ground.gateways import load_gateways

        gw = load_gateways(loaded.resolve(s.gateways_file))
        name += list(gw.name)
        lat += list(gw.lat_deg)
        lon += list(gw.lon_deg)
        country += list(gw.country_iso2)
        cap += list(gw.capacity_gbps)
    if len(set(name)) != len(name):
        dup = sorted({n for n in name if name.count(n) > 1})
        raise InputError(
            f"gateway names must be unique; repeated: {', '.join(dup[:5])}",
            file=loaded.source,
            field="gateways",
        )
    return (
        np.asarray(name),
        np.asarray(lat, float),
        np.asarray(lon, float),
        np.asarray(country, dtype="<U2"),
        np.asarray(cap, float),
    )


def _gateway_antennas(loaded: LoadedScenario) -> np.ndarray:
    """Antennas at each of the scenario's gateways, in :func:`_gateways`' order: an inline
    gateway's ``antennas``, a file's ``num_antennas`` / ``num_antennas_2022``
    (:func:`skymesh.ground.gateways.site_antennas`); NaN where not listed."""
    s = loaded.scenario
    out = [np.nan if g.antennas is None else float(g.antennas) for g in s.gateways]
    if s.gateways_file:
        from skymesh.ground.gateways import load_gateways, site_antennas

        out += list(site_antennas(load_gateways(loaded.resolve(s.gateways_file)), np.nan)[0])
    return np.asarray(out, dtype=float)


def _failures(loaded: LoadedScenario, const: Constellation, isl_pairs, gateway_name, grid):
    s = loaded.scenario
    out = []
    for i, f in enumerate(s.failures):
        n = {"satellites": len(const), "isls": len(isl_pairs), "gateways": len(gateway_name)}[
            f.kind
        ]
        if f.fraction is not None:
            rng = np.random.default_rng([s.seed, f.seed, i])
            k = int(round(f.fraction * n))
            index = np.sort(rng.choice(n, size=k, replace=False)) if k else np.empty(0, int)
        elif f.ids is not None:
            index = np.asarray(f.ids, dtype=int)
            if len(index) and (index.min() < 0 or index.max() >= n):
                raise InputError(
                    f"failure ids must be within 0..{n - 1} for {f.kind}",
                    file=loaded.source,
                    field=f"failures.{i}.ids",
                )
        else:
            pool = const.sat_names if f.kind == "satellites" else gateway_name
            if f.kind == "isls":
                raise InputError(
                    "ISL failures take 'fraction' or 'ids', not names",
                    file=loaded.source,
                    field=f"failures.{i}.names",
                )
            assert f.names is not None  # FailureSpec._what: exactly one of fraction, ids, names
            lookup = {str(v): j for j, v in enumerate(pool)}
            missing = [v for v in f.names if v not in lookup]
            if missing:
                raise InputError(
                    f"unknown {f.kind[:-1]} name(s): {', '.join(missing[:5])}",
                    file=loaded.source,
                    field=f"failures.{i}.names",
                )
            index = np.asarray([lookup[v] for v in f.names], dtype=int)
        start = -np.inf if f.start is None else (f.start - grid.start).total_seconds()
        end = np.inf if f.until is None else (f.until - grid.start).total_seconds()
        out.append(Failure(f.kind, index, start, end))
    return tuple(out)


def _pops(loaded: LoadedScenario, g_name, g_lat, g_lon, g_country, notes):
    """The run's PoPs, each gateway's home PoP and its fibre RTT (ms).

    PoPs are the scenario's ``[[pops]]`` plus ``pops_file``; when it gives none, the PoP
    rows of its ``gateways_file`` (a mixed list such as the curated one); when there are
    none either, each gateway is its own PoP with a zero fibre leg (said in the notes).
    """
    from skymesh.ground.pops import fibre_rtt_ms, home_gateways, load_pops, pops_from_records
    from skymesh.sim.scenario import check_pop_overrides

    s = loaded.scenario
    parts = []
    if s.pops:
        parts.append(
            pops_from_records(
                [p.model_dump(exclude_none=True, exclude={"place"}) for p in s.pops],
                file=loaded.source,
            )
        )
    if s.pops_file:
        parts.append(load_pops(loaded.resolve(s.pops_file)))
    origin = "the scenario"
    if not parts and s.gateways_file:
        import warnings

        from skymesh.ground.gateways import load_gateways

        path = loaded.resolve(s.gateways_file)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            listed = load_gateways(path, include_pops=True)
        if np.any(np.asarray(listed.type) == "pop"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                parts.append(load_pops(path))
            origin = f"the pop rows of {s.gateways_file}"
    if s.pop_overrides and not parts:
        check_pop_overrides(s, g_name, [], loaded.source, loaded.text)
    if not parts or not len(g_name):
        notes.append("no PoPs given: each gateway is its own PoP (zero fibre leg)")
        return None, None, np.zeros(len(g_name))
    pops = parts[0]
    if len(parts) > 1:
        from skymesh.ground.pops import Pops

        pops = Pops(
            **{k: np.concatenate([getattr(p, k) for p in parts]) for k in Pops._ARRAYS},
            source=pops.source,
        )
    check_pop_overrides(s, g_name, pops.name, loaded.source, loaded.text)
    home = home_gateways(
        g_lat, g_lon, g_country, pops, dict(s.pop_overrides), gw_name=g_name, file=loaded.source
    )
    fibre = fibre_rtt_ms(g_lat, g_lon, pops.lat_deg[home], pops.lon_deg[home])
    notes.append(
        f"{len(pops)} PoPs from {origin}; gateways homed to the nearest PoP in "
        "their country, else the nearest" + (" (with overrides)" if s.pop_overrides else "")
    )
    return pops, home, np.asarray(fibre, dtype=float)


def _operator_isls(loaded, op_name: str, const, label: str, notes) -> np.ndarray:
    """The +Grid ISLs of ``const``, or none when its operator has no ISLs (said in notes)."""
    from skymesh.links.operators import operator_param

    if operator_param(op_name, "isls"):
        return plus_grid_pairs(const)
    notes.append(f"{label}: {op_name} has no inter-satellite links, so its traffic goes bent pipe")
    return np.empty((0, 2), dtype=np.int64)


def _second_gateways(loaded: LoadedScenario, so, op2: str, primary: str, notes):
    """The second operator's own gateways: ``(name, lat, lon, country, capacity_gbps, path)`` to
    append to the run's list, or None when it uses the scenario's (same operator, or
    ``borrow_gateways = true``, said in notes). Never another operator's silently."""
    from skymesh.ground.gateways import load_gateways
    from skymesh.links.operators import operator_param

    if so.gateways_file is not None:
        path = loaded.resolve(so.gateways_file)
        origin = so.gateways_file
    elif so.borrow_gateways:
        notes.append(
            f"{so.label} ({op2}) borrows the scenario's gateways ({primary}'s), as its "
            "borrow_gateways = true says; its own gateway sites are not modelled"
        )
        return None
    elif op2 == primary:
        return None
    else:
        from skymesh.links.operators import operator_gateway_file

        path = operator_gateway_file(op2)
        origin = f"{operator_param(op2, 'gateways')} (its operator's list)"
        if path is None:
            raise InputError(
                f"second_operator: {op2} has no gateways here and will not use {primary}'s "
                "silently: give it its own (gateways_file = ...) or set borrow_gateways = true",
                file=loaded.source,
                field="second_operator.gateways_file",
            )
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        gw = load_gateways(path)
    notes.append(
        f"{so.label} ({op2}): its own {len(gw.name)} gateways from {origin}, each its own PoP"
    )
    return (
        np.asarray(gw.name),
        np.asarray(gw.lat_deg, float),
        np.asarray(gw.lon_deg, float),
        np.asarray(gw.country_iso2, dtype="<U2"),
        np.asarray(gw.capacity_gbps, float),
        path,
    )


def prepare(loaded: LoadedScenario) -> Prepared:
    """Arrays for a run of ``loaded``: deterministic for its seeds."""
    from skymesh.links.operators import constellation_operator

    s = loaded.scenario
    notes: list[str] = []
    c = s.constellation
    const = _constellation(loaded, c.preset, c.file, c.j2, c.skip_bad, notes)
    primary = constellation_operator(
        c.preset if c.preset is not None else loaded.resolve(str(c.file)).name,
        const.sat_names,
        notes,
    )
    start = s.time.start
    if start == "epoch":
        start = const.epoch.replace(second=0, microsecond=0)
        notes.append(f"start = the constellation's element epoch, {start:%Y-%m-%d %H:%M} UTC")
    grid = time_grid(start, s.time.duration_s, s.time.step_s)
    check_epoch_horizon(const, grid)  # before any work; force_epoch = true in [time] lifts it
    if const.is_tle:
        days = abs((grid.start - const.epoch).total_seconds()) / 86400
        if days >= STALE_TLE_DAYS:
            notes.append(
                f"warning: the run starts {days:.0f} days from the TLE epoch "
                f"({const.epoch:%Y-%m-%d}); SGP4 positions that far out are "
                "not an ephemeris, only a plausible geometry"
            )
    t_name, t_lat, t_lon, t_country = _terminals(loaded)
    g_name, g_lat, g_lon, g_country, g_cap = _gateways(loaded)
    pops, g_pop, g_fibre = (
        _pops(loaded, g_name, g_lat, g_lon, g_country, notes)
        if s.study == "egress"
        else (None, None, np.zeros(len(g_name)))
    )
    if s.routing.mode == "bent-pipe" and not s.routing.compare_bent_pipe:
        isl_pairs = np.empty((0, 2), int)
    elif c.isls is not None:
        from skymesh.links.isl_file import load_isl_file

        isl_pairs = load_isl_file(loaded.resolve(c.isls), const.sat_names)
        notes.append(f"{len(isl_pairs):,} ISLs from {c.isls} (instead of the +Grid)")
    else:
        isl_pairs = _operator_isls(loaded, primary, const, "primary", notes)
    operators = [
        Operator(
            "primary",
            const,
            isl_pairs,
            loaded.policy,
            _failures(loaded, const, isl_pairs, g_name, grid),
            operator=primary,
        )
    ]
    own_path = None
    if s.second_operator is not None:
        from skymesh.links.operators import constellation_operator as _op_of

        so = s.second_operator
        const2 = _constellation(loaded, so.preset, so.file, False, False, notes)
        check_epoch_horizon(const2, grid)
        op2 = _op_of(
            so.preset if so.preset is not None else loaded.resolve(str(so.file)).name,
            const2.sat_names,
            notes,
        )
        policy2 = (
            loaded.policy
            if so.apply_policy
            else replace(Policy(), censoring=loaded.policy.censoring)
        )
        mask2 = None
        own = _second_gateways(loaded, so, op2, primary, notes) if s.study == "egress" else None
        if own is not None:
            own_path, own = own[-1], own[:-1]
            w0, n2 = len(g_name), len(own[0])
            clash = sorted(set(own[0]) & set(g_name))
            if clash:
                raise InputError(
                    f"second_operator: gateway names repeat the scenario's: {', '.join(clash[:5])}",
                    file=loaded.source,
                    field="second_operator.gateways_file",
                )
            g_name, g_lat, g_lon, g_country, g_cap = (
                np.concatenate([a, b])
                for a, b in zip((g_name, g_lat, g_lon, g_country, g_cap), own)
            )
            g_fibre = np.concatenate([g_fibre, np.zeros(n2)])
            if pops is not None:
                from skymesh.ground.pops import Pops

                p0 = len(pops)
                pops = Pops(
                    name=np.concatenate([pops.name, own[0]]),
                    lat_deg=np.concatenate([pops.lat_deg, own[1]]),
                    lon_deg=np.concatenate([pops.lon_deg, own[2]]),
                    country_iso2=np.concatenate([pops.country_iso2, own[3]]),
                    status=np.concatenate([pops.status, np.full(n2, "operational")]),
                    line=np.concatenate([pops.line, np.full(n2, -1)]),
                    source=pops.source,
                )
                g_pop = np.concatenate([np.asarray(g_pop), p0 + np.arange(n2)])
            mask2 = np.r_[np.zeros(w0, bool), np.ones(n2, bool)]
            operators[0] = replace(
                operators[0], gateway_mask=np.r_[np.ones(w0, bool), np.zeros(n2, bool)]
            )
        operators.append(
            Operator(
                so.label,
                const2,
                _operator_isls(loaded, op2, const2, so.label, notes),
                policy2,
                (),
                operator=op2,
                gateway_mask=mask2,
            )
        )
    data = _data_used(loaded, operators)
    if own_path is not None:
        from skymesh.ground.sites import sites_file

        data["second operator gateways"] = sites_file(own_path).record()
    notes.append(data_line(data))
    g_antennas = _gateway_antennas(loaded)
    g_antennas = np.concatenate([g_antennas, np.full(len(g_name) - g_antennas.size, np.nan)])
    return Prepared(
        loaded=loaded,
        grid=grid,
        operators=tuple(operators),
        terminal_name=t_name,
        terminal_lat=t_lat,
        terminal_lon=t_lon,
        terminal_country=t_country,
        gateway_name=g_name,
        gateway_lat=g_lat,
        gateway_lon=g_lon,
        gateway_country=g_country,
        gateway_capacity_gbps=g_cap,
        pops=pops,
        gateway_pop=g_pop,
        gateway_fibre_ms=g_fibre,
        notes=tuple(notes),
        extra={"data": data, "gateway_antennas": g_antennas},
    )


def _data_used(loaded: LoadedScenario, operators) -> dict:
    """The data files a run uses and the date of each (run.json, summary.json, a note)."""
    from skymesh.ground.sites import sites_file

    s = loaded.scenario
    data: dict = {"elements": elements_record(operators[0].constellation)}
    if len(operators) > 1:
        data["second operator elements"] = elements_record(operators[1].constellation)
    if s.gateways_file:
        data["gateways"] = sites_file(loaded.resolve(s.gateways_file)).record()
    elif s.gateways:
        data["gateways"] = {"file": None, "date": None, "label": "the scenario's [[gateways]]"}
    if s.pops_file:
        data["pops"] = sites_file(loaded.resolve(s.pops_file)).record()
    return data
