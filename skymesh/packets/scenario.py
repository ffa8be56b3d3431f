"""A scenario's packet network: the run's held paths as links (``skymesh packets SCENARIO``).

A scenario run under the ``slots`` access model (:mod:`skymesh.sim.egress_chunk`) gives every
terminal, at every step, a held path to the internet: terminal -> serving satellite (chosen per
15 s slot) -> ISLs -> gateway -> fibre -> PoP, under the scenario's policy (service timelines and
geofences, landing rights, exit rules, censoring), and an RTT made of named components
(:func:`skymesh.access.delay.access_components_ms`). :func:`scenario_network` builds the packet
network from those same arrays, read from :func:`skymesh.sim.egress_chunk.held_segments` (the
function the run's rows come from), never recomputed:

* **Endpoints**: the chosen terminals, and for each its PoP, ``"<terminal> PoP"``: one node
  per terminal (the PoP the run assigns it, which may change with the policy), so two
  terminals' forwarding toward the internet never mix.
* **Links** (one-way delays, s): terminal - serving satellite: ``up_km`` / c plus half of the
  access layer's share of the RTT (``access_ms + processing_ms + queueing_ms``: frames,
  uplink scheduling, the on-satellite round robin, ISL/gateway/PoP processing; all of it on
  the terminal's own link); each ISL of the path: its length / c; last satellite - gateway:
  ``down_km`` / c; gateway - the terminal's PoP: ``fibre_ms`` / 2. A lone ping therefore sees
  the run's ``rtt_ms`` plus the serialisation of its packets on every hop.
* **Forwarding**: at a step the run marks the terminal unserved (no service, no allowed exit,
  nothing in view) neither direction has a next hop: ns-3 drops the packets (no route).
* **Data rates** as :mod:`skymesh.packets.network`: optical ISLs, the Ku user-downlink budget on
  the user link (at its slant range and elevation), the Ka gateway budget on the gateway link,
  the capacity model's gateway site on the fibre; or the fixed ISL / ground rates given.

Only the scenario's first operator is built (a packet network is one operator's).
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np

from skymesh.constants import SPEED_OF_LIGHT_KM_S
from skymesh.errors import InputError
from skymesh.links.budget import (
    OPTICAL_ISL,
    STARLINK_GATEWAY_KA,
    STARLINK_USER_DOWNLINK_KU,
    link_capacity_mbps,
)
from skymesh.packets.network import MIN_RATE_BPS, PacketNetwork, _hold

POP_SUFFIX = " PoP"
"""A terminal's PoP endpoint is named ``"<terminal> PoP"``."""


def pop_endpoint_name(terminal: str) -> str:
    """Name of the endpoint standing for ``terminal``'s PoP (the run's exit to the internet)."""
    return f"{terminal}{POP_SUFFIX}"


def held_series(prep, terminals) -> dict:
    """The run's held paths of ``terminals`` (indices) at every step of ``prep.grid``, operator 0.

    Arrays (T terminals, K steps): ``served``, ``serving``, ``gateway``, ``pop``, ``rtt_ms``,
    ``space_rtt_ms``, ``fibre_ms``, ``extra_ms`` (``rtt_ms`` less propagation and fibre:
    the access layer's share), ``up_km``, ``down_km``; ``path`` and ``isl_seg_km`` as lists per
    step of (T, L) arrays. Read from :func:`skymesh.sim.egress_chunk.held_segments` and
    :func:`skymesh.sim.egress_chunk.held_components`, as the run's rows are.
    """
    from skymesh.sim.egress_chunk import held_components, held_segments

    if prep.scenario.access.model != "slots":
        raise InputError(
            "packets follow a scenario's held paths under the 'slots' access model; this "
            f"scenario's [access] model is '{prep.scenario.access.model}'",
            field="access",
        )
    t_idx = np.asarray(terminals, dtype=np.int64)
    K = len(prep.grid)
    keys = ("served", "serving", "gateway", "pop", "up_km", "down_km")
    out: dict[str, Any] = {k: [None] * K for k in keys}
    for c in ("rtt_ms", "space_rtt_ms", "fibre_ms", "extra_ms"):
        out[c] = np.full((len(t_idx), K), np.nan)
    out["path"] = [None] * K
    out["isl_seg_km"] = [None] * K
    load = prep.scenario.access.load
    for _, _, k0, sub, res in held_segments(prep, 0, K, operators=[0]):
        seg = res["main"]
        comp = held_components(seg, load)
        n = len(sub)
        sl = slice(k0, k0 + n)
        for c in ("rtt_ms", "space_rtt_ms", "fibre_ms"):
            out[c][:, sl] = np.asarray(comp[c])[t_idx]
        extra = comp["access_ms"] + comp["processing_ms"] + comp["queueing_ms"]
        out["extra_ms"][:, sl] = np.asarray(extra)[t_idx]
        for j in range(n):
            for key in keys:
                out[key][k0 + j] = np.asarray(seg[key])[t_idx, j]
            out["path"][k0 + j] = seg["path"][t_idx, j]
            out["isl_seg_km"][k0 + j] = seg["isl_seg_km"][t_idx, j]
    for key in keys:
        out[key] = np.stack(out[key], axis=1)
    return out


def scenario_network(
    prep,
    terminals,
    pairs,
    *,
    isl_rate_bps: float | None = None,
    gsl_rate_bps: float | None = None,
    progress=None,
) -> PacketNetwork:
    """The packet network of ``terminals`` (indices into ``prep``'s terminals) and their PoPs.

    Endpoint ``i < T`` is terminal ``terminals[i]``, endpoint ``T + i`` its PoP
    (:func:`pop_endpoint_name`). ``pairs`` (P, 2) are endpoint indices, each a terminal and its
    own PoP (either way round). See the module for the links and delays.
    """
    from skymesh.capacity.network import NetworkCapacityParams
    from skymesh.links.visibility import look_angles
    from skymesh.orbits.propagate import positions_ecef

    t_idx = np.asarray(terminals, dtype=np.int64)
    T = len(t_idx)
    pairs = np.atleast_2d(np.asarray(pairs, dtype=np.int64))
    for a, b in pairs:
        if not (0 <= min(a, b) and max(a, b) < 2 * T and abs(int(a) - int(b)) == T):
            raise InputError(
                "in a scenario a flow runs between a terminal and its own PoP "
                "('TERMINAL->TERMINAL PoP' or the reverse)",
                field="flow",
            )
    op = prep.operators[0]
    const = op.constellation
    n_sats = len(const)
    W = len(prep.gateway_name)
    h = held_series(prep, t_idx)
    if progress is not None:
        progress(len(prep.grid))
    K = len(prep.grid)
    # node numbering: terminals, PoPs, gateways, then satellites (compacted below)
    term_node = np.arange(T)
    pop_node = T + np.arange(T)
    gw_base, sat_base = 2 * T, 2 * T + W
    link_delay: dict[tuple[int, int], np.ndarray] = {}
    link_kind: dict[tuple[int, int], str] = {}
    routes: list[list[list[int]]] = [[[] for _ in range(K)] for _ in range(T)]

    def add(a: int, b: int, k: int, delay_s: float, kind: str):
        key = (min(a, b), max(a, b))
        if key not in link_delay:
            link_delay[key] = np.full(K, np.nan)
            link_kind[key] = kind
        link_delay[key][k] = delay_s

    c = SPEED_OF_LIGHT_KM_S
    for i in range(T):
        for k in range(K):
            if not h["served"][i, k]:
                continue
            sats = [int(s) for s in h["path"][k][i] if s >= 0]
            gw = int(h["gateway"][i, k])
            nodes = [int(term_node[i])] + [sat_base + s for s in sats] + [gw_base + gw]
            nodes.append(int(pop_node[i]))
            routes[i][k] = nodes
            one_way_extra_s = h["extra_ms"][i, k] / 2e3
            add(nodes[0], nodes[1], k, h["up_km"][i, k] / c + one_way_extra_s, "gsl")
            for j in range(len(sats) - 1):
                add(nodes[1 + j], nodes[2 + j], k, h["isl_seg_km"][k][i, j] / c, "isl")
            add(nodes[-3], nodes[-2], k, h["down_km"][i, k] / c, "relay")
            add(nodes[-2], nodes[-1], k, h["fibre_ms"][i, k] / 2e3, "fibre")
    keys = sorted(link_delay)
    used = np.unique(np.array([n for key in keys for n in key] + list(range(2 * T)), np.int64))
    node_of = np.full(sat_base + n_sats, -1, np.int64)
    node_of[used] = np.arange(len(used))
    M = len(used)
    la = node_of[[a for a, _ in keys]].astype(np.int64)
    lb = node_of[[b for _, b in keys]].astype(np.int64)
    swap = la > lb
    la, lb = np.where(swap, lb, la), np.where(swap, la, lb)
    L = len(keys)
    delay = np.stack([link_delay[key] for key in keys], axis=1) if L else np.zeros((K, 0))
    kinds = np.array([link_kind[key] for key in keys], dtype=object).astype(str)
    # data rates (bit/s), per step
    rate = np.full((K, L), np.nan)
    isl = kinds == "isl"
    rate[:, isl] = isl_rate_bps or float(OPTICAL_ISL.fixed_capacity_mbps or 0.0) * 1e6
    params = NetworkCapacityParams()
    site_bps = (
        float(cast(float, params.gateway_antennas))
        * float(cast(float, params.gateway_antenna_mbps))
        * 1e6
    )
    rate[:, kinds == "fibre"] = site_bps
    ground_keys = [(j, key) for j, key in enumerate(keys) if link_kind[key] in ("gsl", "relay")]
    if gsl_rate_bps is not None:
        for j, _ in ground_keys:
            rate[:, j] = gsl_rate_bps
    elif ground_keys:
        pos = positions_ecef(const, prep.grid, serving_only=True)
        for j, (a, b) in ground_keys:
            if link_kind[(a, b)] == "gsl":
                ground, sat = a, b - sat_base
                lat, lon = prep.terminal_lat[t_idx[ground]], prep.terminal_lon[t_idx[ground]]
                params_l = STARLINK_USER_DOWNLINK_KU
            else:
                ground, sat = a - gw_base, b - sat_base
                lat, lon = prep.gateway_lat[ground], prep.gateway_lon[ground]
                params_l = STARLINK_GATEWAY_KA
            el, _, rng = look_angles(pos[sat][None], np.atleast_1d(lat), np.atleast_1d(lon))
            el, rng = np.asarray(el).reshape(-1), np.asarray(rng).reshape(-1)
            live = np.isfinite(delay[:, j])
            rate[live, j] = 1e6 * link_capacity_mbps(rng[live], el[live], params_l)
    if progress is not None:
        progress(K)
    up = np.isfinite(delay)
    delay = _hold(delay)
    rate = np.maximum(_hold(rate), MIN_RATE_BPS)
    # forwarding: toward each terminal's PoP along its held path, back toward the terminal
    dests = np.arange(2 * T)
    next_hop = np.full((K, M, 2 * T), -1, np.int32)
    P = len(pairs)
    rtt = np.full((K, P), np.nan)
    space = np.full((K, P), np.nan)
    hops = np.full((K, P), -1, np.int32)
    changed = np.zeros((K, P), bool)
    for i in range(T):
        for k in range(K):
            nodes = routes[i][k]
            if not nodes:
                continue
            m = node_of[nodes]
            next_hop[k, m[:-1], T + i] = m[1:]
            next_hop[k, m[1:], i] = m[:-1]
    for p, (a, b) in enumerate(pairs):
        i = int(min(a, b))
        for k in range(K):
            nodes = routes[i][k]
            if nodes:
                rtt[k, p] = h["rtt_ms"][i, k]
                space[k, p] = h["space_rtt_ms"][i, k] + h["fibre_ms"][i, k]
                hops[k, p] = len(nodes) - 1
            changed[k, p] = k > 0 and nodes != routes[i][k - 1]
    names = np.concatenate(
        [
            [str(prep.terminal_name[t]) for t in t_idx],
            [pop_endpoint_name(str(prep.terminal_name[t])) for t in t_idx],
            [f"gateway {g}" for g in prep.gateway_name],
            np.asarray(const.sat_names, dtype=str),
        ]
    ).astype(str)
    kind = np.array(["ground"] * T + ["pop"] * T + ["relay"] * W + ["satellite"] * n_sats)
    if isl_rate_bps is None and gsl_rate_bps is None:
        source = (
            "SkyMesh: optical ISL 100 Gbit/s; user link from the Ku user-downlink budget, "
            "gateway link from the Ka gateway budget; fibre at the capacity model's gateway site"
        )
    else:
        source = (
            f"fixed where given: ISL {isl_rate_bps or 0:.6g}, GSL {gsl_rate_bps or 0:.6g} bit/s"
        )
    grid = prep.grid
    step_s = float(np.median(np.diff(grid.offsets_s))) if K > 1 else 1.0
    return PacketNetwork(
        start=grid.start,
        t_s=np.asarray(grid.offsets_s, float) - float(grid.offsets_s[0]),
        step_s=step_s,
        mode=prep.scenario.routing.mode,
        node_name=names[used],
        node_kind=kind[used],
        node_compact=used,
        endpoint_name=names[: 2 * T],
        endpoint_node=node_of[: 2 * T].copy(),
        link_a=la,
        link_b=lb,
        link_kind=kinds,
        up=up,
        delay_s=delay,
        rate_bps=rate,
        dest_endpoint=dests,
        next_hop=next_hop,
        pairs=pairs,
        space_rtt_ms=space,
        hops=hops,
        path_changed=changed,
        rate_source=source,
        rtt_ms=rtt,
    )
