"""What the policy in force means for people, at an instant, computed by the engine.

For a country at UTC ``at``: a sample of terminals placed by population
(:func:`skymesh.capacity.demand.place_terminals`, fixed seed), the
constellation's positions at ``at`` (SGP4 or Walker, Earth-fixed), every
terminal's and gateway's satellites above the elevation mask, and one
Dijkstra over the snapshot graph (satellites, +Grid ISLs, terminals and the
gateways the exit rule allows them at ``at``) give each terminal one of:

* ``geofenced``: the policy has the country switched off at ``at``;
* ``no_coverage``: no satellite above the mask;
* ``no_exit``: covered, switched on, but no allowed gateway reachable;
* ``served``: covered, switched on, and an allowed gateway reachable; its
  exit gateway is the one at least RTT (space propagation only).

Results are cached per policy version, country and 15 s slot
(:mod:`skymesh.access.slots`): the scheduler reassigns satellites at those
boundaries, so a read-out holds for the slot. :func:`proposal_effect`
compares the read-out under the policy in force with that under the policy
a pending proposal would make.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import numpy as np
from scipy.sparse.csgraph import dijkstra

from skymesh.access.slots import SLOT_S
from skymesh.errors import InputError
from skymesh.service.auth import ServiceError

if TYPE_CHECKING:
    from skymesh.ground.gateways import Gateways

DEFAULT_TERMINALS = 300
DEFAULT_MIN_ELEVATION_DEG = 25.0
"""The elevation mask of the FCC 2018 Starlink modification (25 deg; FCC 18-38)."""
_SLOT_EPOCH = datetime(2000, 1, 1, 0, 0, 12, tzinfo=timezone.utc)  # a :12 boundary


class ReadoutEngine:
    """The engine's inputs the service keeps loaded, and a cache of read-outs."""

    def __init__(
        self,
        constellation: str = "starlink-shell1",
        gateways=None,
        terminals_per_country: int = DEFAULT_TERMINALS,
        min_elevation_deg: float = DEFAULT_MIN_ELEVATION_DEG,
        cache_size: int = 512,
    ):
        from skymesh.links.isl import plus_grid_pairs
        from skymesh.orbits.presets import load_constellation

        self.constellation_name = constellation
        self.constellation = load_constellation(constellation)
        self.isl_pairs = plus_grid_pairs(self.constellation)
        from skymesh.ground.gateways import gateways_from_records

        self.gateways = gateways if gateways is not None else gateways_from_records([])
        self.n_terminals = int(terminals_per_country)
        self.min_elevation_deg = float(min_elevation_deg)
        self._terminals: dict[str, dict] = {}
        self._cache: OrderedDict = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def set_gateways(self, gateways) -> None:
        """Replace the gateway sites (and drop cached read-outs)."""
        with self._lock:
            self.gateways = gateways
            self._cache.clear()

    def terminals(self, iso2: str) -> dict:
        if iso2 not in self._terminals:
            from skymesh.capacity.demand import place_terminals

            try:
                self._terminals[iso2] = place_terminals({iso2: self.n_terminals}, seed=0)
            except InputError as exc:
                raise ServiceError(422, f"iso2: {exc.message}", "iso2") from None
        return self._terminals[iso2]

    def country(self, doc: dict, version, iso2: str, at: datetime) -> dict:
        """The read-out of ``iso2`` at ``at`` under policy ``doc`` (cached per slot)."""
        iso2 = _check_iso2(iso2)
        at = _utc(at)
        slot = int((at - _SLOT_EPOCH).total_seconds() // SLOT_S)
        key = (version, _doc_key(doc) if version is None else None, iso2, slot)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return dict(self._cache[key], cached=True)
        result = self._compute(doc, iso2, at)
        with self._lock:
            self._cache[key] = result
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return dict(result, cached=False)

    def _compute(self, doc: dict, iso2: str, at: datetime) -> dict:
        from skymesh.links.isl import isl_lengths_km
        from skymesh.links.visibility import visible_pairs
        from skymesh.network.snapshot import NodeLayout, snapshot_graph
        from skymesh.orbits.propagate import positions_ecef
        from skymesh.policy.rules import exit_allowed, policy_from_dict, service_active
        from skymesh.timebase import time_grid

        policy = policy_from_dict(doc, source="policy")
        term = self.terminals(iso2)
        n_t = len(term["lat_deg"])
        gw = self.gateways
        grid = time_grid(at, 0.0, 1.0)
        pos = positions_ecef(self.constellation, grid, serving_only=True)
        n_s = pos.shape[0]
        active = bool(service_active(policy, [iso2], grid)[0, 0])
        allowed = exit_allowed(policy, iso2, gw.country_iso2, grid)[:, 0]
        lat = np.concatenate([term["lat_deg"], gw.lat_deg[allowed]])
        lon = np.concatenate([term["lon_deg"], gw.lon_deg[allowed]])
        g, s, k, r, _ = visible_pairs(pos, lat, lon, min_elevation_deg=self.min_elevation_deg)
        covered = np.zeros(len(lat), bool)
        covered[g] = True
        layout = NodeLayout(n_s, len(lat))
        isl_km = isl_lengths_km(pos, self.isl_pairs)[:, 0] if len(self.isl_pairs) else None
        graph = snapshot_graph(
            layout, "isl", isl_pairs=self.isl_pairs, isl_km=isl_km, endpoint_links=(g, s, k, r)
        )
        state = np.full(n_t, "no_coverage", dtype=object)
        exits = {}
        gw_names = gw.name[allowed]
        gw_country = gw.country_iso2[allowed]
        if not active:
            state[:] = "geofenced"
        elif covered[:n_t].any():
            state[covered[:n_t]] = "no_exit"
            if len(gw_names):
                src = np.flatnonzero(covered[:n_t])
                dist = dijkstra(graph, directed=True, indices=layout.up(src))
                to_gw = dist[:, layout.down(np.arange(n_t, len(lat)))]
                best = np.argmin(to_gw, axis=1)
                ok = np.isfinite(to_gw[np.arange(len(src)), best])
                state[src[ok]] = "served"
                names, counts = np.unique(gw_names[best[ok]], return_counts=True)
                for name, count in sorted(zip(names, counts), key=lambda x: (-x[1], x[0])):
                    where = gw_country[list(gw_names).index(name)]
                    exits[f"{name} ({where})"] = int(count)
        shares = {
            k: float(np.mean(state == k)) for k in ("served", "geofenced", "no_coverage", "no_exit")
        }
        return {
            "iso2": iso2,
            "at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "slot_start": _slot_start(at),
            "constellation": self.constellation_name,
            "terminals": n_t,
            "service_active": active,
            "shares": shares,
            "counts": {k: int(np.sum(state == k)) for k in shares},
            "exits": exits,
            "inputs": self.inputs(iso2, at, n_sats=n_s),
        }

    def inputs(self, iso2: str, at: datetime, *, n_sats: int) -> dict:
        """The ``inputs`` block of a country read-out: what it was computed from, in the
        fields (and fingerprints) of a capacity answer's
        (:func:`skymesh.capacity.headline.capacity_inputs`), so a read-out and a run or
        ``skymesh capacity`` asked of other terminals or gateways say how they differ."""
        from skymesh.capacity.headline import digest

        term = self.terminals(iso2)
        n_t = len(term["lat_deg"])
        gw = self.gateways
        return {
            "source": (
                f"service read-out {iso2}: {n_t:,} terminals placed by population, seed 0; "
                "the service's gateway sites under its current policy"
            ),
            "terminals": {
                "placed": int(n_t),
                "counts_in": "terminals",
                "represents": float(n_t),
                "digest": digest(term["lat_deg"], term["lon_deg"], np.ones(n_t)),
            },
            "gateways": {
                "sites": int(len(gw.lat_deg)),
                "exits": "the service's policy: service, landing rights, exit rules",
                "digest": digest(gw.lat_deg, gw.lon_deg),
            },
            "constellation": self.constellation_name,
            "satellites": int(n_sats),
            "slots_utc": [at.strftime("%Y-%m-%dT%H:%M:%SZ")],
            "mode": "isl",
            "min_elevation_deg": self.min_elevation_deg,
        }


def proposal_effect(
    engine: ReadoutEngine, doc_now: dict, version, doc_after: dict, iso2: str, at: datetime
) -> dict:
    """Read-outs of ``iso2`` now and under the proposed policy, and what changes."""
    before = engine.country(doc_now, version, iso2, at)
    after = engine.country(doc_after, None, iso2, at)
    lost = before["counts"]["served"] - after["counts"]["served"]
    sentence = (
        f"stops service for {lost} of {before['terminals']} sampled terminals in {iso2}"
        if lost > 0
        else f"starts service for {-lost} of {before['terminals']} sampled terminals in {iso2}"
        if lost < 0
        else f"changes no sampled terminal's service in {iso2}"
    )
    if lost > 0 and before["exits"]:
        sentence += "; their traffic would have exited at " + ", ".join(list(before["exits"])[:3])
    return {"before": before, "after": after, "served_change": -lost, "summary": sentence}


def gateways_from_sites(rows) -> "Gateways":
    """The service's gateway sites (rows with name, kind, lat_deg, lon_deg, iso2) as
    :class:`~skymesh.ground.gateways.Gateways` (PoPs left out: traffic lands at gateways)."""
    from skymesh.ground.gateways import gateways_from_records

    return gateways_from_records(
        [
            {"name": r.name, "lat": r.lat_deg, "lon": r.lon_deg, "country": r.iso2}
            for r in rows
            if r.kind == "gateway"
        ]
    )


def _check_iso2(iso2: str) -> str:
    import pycountry

    from skymesh.inputs import iso2_upper

    code = iso2_upper(iso2) if isinstance(iso2, str) else ""
    if len(code) != 2 or (pycountry.countries.get(alpha_2=code) is None and code != "XK"):
        raise ServiceError(422, f"iso2: {iso2!r} is not an ISO 3166-1 alpha-2 country code", "iso2")
    return code


READOUT_EARLIEST = datetime(1900, 1, 1, tzinfo=timezone.utc)
READOUT_LATEST = datetime(2200, 1, 1, tzinfo=timezone.utc)
"""Read-outs are computed for instants in ``[READOUT_EARLIEST, READOUT_LATEST)`` only (the
engine's own horizon around the element epochs applies on top); others are a 422."""


def _utc(at) -> datetime:
    if isinstance(at, str):
        from skymesh.timebase import parse_time

        try:
            at = parse_time(at, field="at")
        except InputError:
            raise ServiceError(422, f"at: not a time: {at!r} (ISO 8601 UTC)", "at") from None
        except OverflowError:
            raise ServiceError(
                422, f"at: {at!r} lies outside years 1 to 9999 in UTC", "at"
            ) from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    try:
        at = at.astimezone(timezone.utc)
    except OverflowError:
        raise ServiceError(422, f"at: {at.isoformat()} lies outside years 1 to 9999 in UTC", "at")
    if not READOUT_EARLIEST <= at < READOUT_LATEST:
        raise ServiceError(
            422,
            f"at: read-outs are computed for {READOUT_EARLIEST.year} to "
            f"{READOUT_LATEST.year - 1} only",
            "at",
        )
    return at


def _slot_start(at: datetime) -> str:
    k = (at - _SLOT_EPOCH).total_seconds() // SLOT_S
    from datetime import timedelta

    start = _SLOT_EPOCH + timedelta(seconds=k * SLOT_S)
    return start.strftime("%Y-%m-%dT%H:%M:%SZ")


def _doc_key(doc: dict) -> str:
    import json

    return json.dumps(doc, sort_keys=True)
