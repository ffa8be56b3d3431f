"""The access network's own delay, as named components added to the propagation delay.

Propagation is a third to a half of a measured Starlink RTT (Mohan et al.,
WWW 2024: bent-pipe dish -> PoP ~40 ms median in 2023 against ~7-15 ms of
geometry); the rest is the access network. SkyMesh models that rest as named
components, each with a default, a low-high range, a source and a status, none
fitted to a measurement. Every RTT SkyMesh reports is the sum of the columns
:func:`access_components_ms` returns:

==========================  ===========================================================
column                      what it holds (ms of round trip)
==========================  ===========================================================
``space_rtt_ms``            terminal -> satellites -> gateway at c (passed in; the
                            propagation-only RTT, :mod:`skymesh.metrics`)
``fibre_ms``                gateway -> PoP over terrestrial fibre (passed in, from
                            :func:`skymesh.ground.pops.fibre_rtt_ms`; 0 without a PoP)
``access_ms``               user-link frame structure + uplink request/grant + the
                            on-satellite round-robin among terminals, per user link
``processing_ms``           forwarding per ISL hop, the gateway, the PoP
``queueing_ms``             queueing as a function of load (0 when idle, the default)
``rtt_ms``                  the sum of the five above: what a user measures
==========================  ===========================================================

Status tags: **A** a measured or published figure (paper), **D** derived here by
arithmetic from A figures (method in the note), **U** an engineering estimate no
source gives (treat as a placeholder; its range is wide on purpose).

Components (defaults, per round trip; :data:`COMPONENTS` is the machine-readable table):

- frame structure (D from A): the Ku downlink is framed at 750 Hz, 1/750 s =
  1.333 ms per frame (Humphreys et al., "Signal Structure of the Starlink
  Ku-Band Downlink", IEEE TAES 59(5), 2023); the uplink is taken to share the
  frame period. Each crossing of the user link waits for the next frame start
  (uniform, mean half a frame) and then one frame to carry and decode the
  packet: 1.5 frames = 2.0 ms a crossing, two crossings (up and down) per
  RTT: 4.0 ms. Low 2.667 ms (no wait), high 5.333 ms (a whole frame's wait).
- uplink request/grant (U): the terminal's uplink is scheduled by the
  satellite (Tanveer et al., "Making Sense of Constellations", CoNEXT 2023
  Companion: an on-satellite controller schedules user transmissions). A
  terminal without a standing grant sends a request in one uplink frame,
  hears the grant in a later downlink frame and sends in the uplink frame
  after: one user-link round trip of propagation plus two frames. Default
  2 frames + the user-link round trip (``user_link_rtt_ms``; nominal 550 km at
  45 deg elevation, 2 x 749.1 km / c = 5.00 ms, when not given) = 7.66 ms.
  Low 0 (a standing grant while a flow is active), high 4 frames + the user-link
  round trip. SpaceX publishes no uplink MAC; the mechanism is a generic
  demand-assigned access cycle (as in DVB-RCS2, ETSI EN 301 545-2).
- on-satellite round robin (U from A): an on-satellite controller shares radio
  frames among the terminals of a beam, seen as RTT bands "a few ms apart"
  (Tanveer et al. 2023). With bands 3 ms apart (2-4 ms) and a terminal equally
  likely in any of three bands, the mean added delay is 3 ms; low 0, high 6 ms.
- processing (U): per ISL hop 0.1 ms of round trip (optical terminal and
  on-board switching, 0.05 ms each way; low 0.01, high 0.5); at the gateway
  0.5 ms (modem and router, low 0.1, high 2.0: the high end allows a feeder-link
  frame); at the PoP 0.5 ms (router and carrier-grade NAT, low 0.1, high 2.0).
  No source publishes Starlink's switching delays; the values are typical of
  store-and-forward routers (tens to hundreds of microseconds a pass).
- queueing (D): an M/M/1 queue per user-link direction (Kleinrock, Queueing
  Systems vol. 1, 1975, eq. 3.26: mean wait rho/(1-rho) service times) with one
  frame (1.333 ms) as the service time; ``load`` = utilisation rho in [0, 1).
  0 ms idle (the default), 2.67 ms RTT at rho = 0.5, 24 ms at 0.9. Measured busy
  hours add far more where buffers are deep (+50-300 ms under load, Michel et
  al. IMC 2022), much less after SpaceX's 2024 queue-management work (US p99
  peak-hour < 65 ms, Starlink network update Mar 2024): the M/M/1 form is a
  lower envelope, not a bufferbloat model.

Not modelled: a gateway feeder-link frame structure (unpublished; inside the
gateway range), the sub-second disruption at slot boundaries, and loss/retransmission.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from skymesh.constants import SPEED_OF_LIGHT_KM_S, WGS84_A_KM
from skymesh.errors import InputError

FRAME_MS = 1000.0 / 750.0
"""Starlink Ku user-link frame period, ms (1/750 s; Humphreys et al., IEEE TAES 2023)."""


def slant_range_km(altitude_km, elevation_deg, radius_km: float = WGS84_A_KM) -> np.ndarray:
    """Ground-to-satellite range (km) on a spherical Earth; broadcasts.

    ``d = -R sin(el) + sqrt((R sin el)^2 + h^2 + 2 R h)`` (550 km: 550.0 km at 90 deg,
    812.1 km at 40 deg, 1,123.4 km at 25 deg).
    """
    r_sin = radius_km * np.sin(np.deg2rad(np.asarray(elevation_deg, dtype=float)))
    h = np.asarray(altitude_km, dtype=float)
    return -r_sin + np.sqrt(r_sin**2 + h**2 + 2.0 * radius_km * h)


NOMINAL_USER_SLANT_KM = float(slant_range_km(550.0, 45.0))
"""Slant range (km) from the ground to a 550 km satellite at 45 deg elevation, 749.1 km:
the user link used when the caller gives none."""

COLUMNS = (
    "space_rtt_ms",
    "fibre_ms",
    "access_ms",
    "processing_ms",
    "queueing_ms",
    "rtt_ms",
)
"""The stable component columns, in order; ``rtt_ms`` is the sum of the others."""
DETAIL_COLUMNS = (
    "frame_ms",
    "grant_ms",
    "round_robin_ms",
    "isl_processing_ms",
    "gateway_processing_ms",
    "pop_processing_ms",
)
"""Finer columns :func:`access_components_ms` adds with ``detail=True``."""


@dataclass(frozen=True)
class AccessDelayParams:
    """Defaults of the access-delay components (ms, per round trip unless noted).

    Sources and ranges: module docstring and :data:`COMPONENTS`.
    """

    frame_ms: float = FRAME_MS
    frames_per_crossing: float = 1.5
    """Mean frames a packet spends crossing the user link once (wait + one frame)."""
    grant_frames: float = 2.0
    """Frames of one uplink request/grant cycle, on top of its user-link round trip."""
    grant_cycles: float = 1.0
    """Request/grant cycles per RTT (0: a standing grant)."""
    round_robin_ms: float = 3.0
    isl_hop_ms: float = 0.1
    gateway_ms: float = 0.5
    pop_ms: float = 0.5
    queue_service_ms: float = FRAME_MS
    """Service time of the M/M/1 queue per user-link direction."""

    def with_(self, **changes) -> AccessDelayParams:
        """A copy with some defaults changed; unknown names are an InputError."""
        known = {f.name for f in fields(self)}
        for k, v in changes.items():
            if k not in known:
                raise InputError(
                    f"unknown access-delay parameter '{k}' (known: {', '.join(sorted(known))})",
                    field=k,
                )
            if not np.isfinite(v) or v < 0:
                raise InputError(f"{k} must be finite and zero or more, got {v}", field=k)
        return replace(self, **changes)


DEFAULTS = AccessDelayParams()

_NOMINAL_USER_RTT_MS = 2e3 * NOMINAL_USER_SLANT_KM / SPEED_OF_LIGHT_KM_S

COMPONENTS: tuple[dict, ...] = (
    dict(
        name="frame_ms",
        column="access_ms",
        value_ms=3 * FRAME_MS,
        low_ms=2 * FRAME_MS,
        high_ms=4 * FRAME_MS,
        status="D",
        source="Humphreys et al., IEEE TAES 59(5) 2023 (1/750 s frames)",
        note="2 user-link crossings x (half-frame wait + 1 frame)",
    ),
    dict(
        name="grant_ms",
        column="access_ms",
        value_ms=2 * FRAME_MS + _NOMINAL_USER_RTT_MS,
        low_ms=0.0,
        high_ms=4 * FRAME_MS + _NOMINAL_USER_RTT_MS,
        status="U",
        source="Tanveer et al., CoNEXT 2023 Companion (on-satellite scheduler); "
        "DVB-RCS2 (ETSI EN 301 545-2) style request/grant",
        note="2 frames + user-link RTT (5.00 ms at 550 km, 45 deg); 0 with a standing grant",
    ),
    dict(
        name="round_robin_ms",
        column="access_ms",
        value_ms=3.0,
        low_ms=0.0,
        high_ms=6.0,
        status="U",
        source="Tanveer et al., CoNEXT 2023 Companion (bands a few ms apart)",
        note="bands 3 ms apart, a terminal in any of 3 bands",
    ),
    dict(
        name="isl_processing_ms",
        column="processing_ms",
        value_ms=0.1,
        low_ms=0.01,
        high_ms=0.5,
        status="U",
        source="engineering estimate (router forwarding)",
        note="per ISL hop",
    ),
    dict(
        name="gateway_processing_ms",
        column="processing_ms",
        value_ms=0.5,
        low_ms=0.1,
        high_ms=2.0,
        status="U",
        source="engineering estimate (modem + router)",
        note="once per RTT through a gateway",
    ),
    dict(
        name="pop_processing_ms",
        column="processing_ms",
        value_ms=0.5,
        low_ms=0.1,
        high_ms=2.0,
        status="U",
        source="engineering estimate (router + CGNAT)",
        note="once per RTT through a PoP",
    ),
    dict(
        name="queueing_ms",
        column="queueing_ms",
        value_ms=0.0,
        low_ms=0.0,
        high_ms=2 * FRAME_MS * 0.9 / 0.1,
        status="D",
        source="M/M/1 (Kleinrock 1975), 1-frame service time",
        note="0 idle; rho/(1-rho) frames per direction; high = rho 0.9",
    ),
)
"""The component table: name, the column it adds to, default/low/high (ms of RTT,
nominal user link, one ISL hop for the per-hop row), status tag, source, note."""


def component_table() -> list[dict]:
    """:data:`COMPONENTS` as a list of fresh dicts (for printing or JSON)."""
    return [dict(c) for c in COMPONENTS]


def queueing_ms(load, user_links=1, params: AccessDelayParams = DEFAULTS) -> np.ndarray:
    """Mean M/M/1 waiting time (ms of RTT) at utilisation ``load`` in [0, 1); broadcasts.

    Two user-link directions per user link, each ``rho / (1 - rho)`` service times.
    """
    rho = np.asarray(load, dtype=float)
    if np.any(~np.isfinite(rho)) or np.any(rho < 0) or np.any(rho >= 1):
        raise InputError(f"load must be in [0, 1), got {load}", field="load")
    return 2.0 * np.asarray(user_links, dtype=float) * rho / (1.0 - rho) * params.queue_service_ms


def access_components_ms(
    n_isl_hops,
    load=0.0,
    *,
    space_rtt_ms=0.0,
    fibre_ms=0.0,
    user_link_rtt_ms=None,
    user_links=1,
    gateway=True,
    pop=None,
    params: AccessDelayParams = DEFAULTS,
    detail: bool = False,
) -> dict[str, np.ndarray]:
    """Per-sample RTT components (ms) of a path; every input broadcasts against the others.

    Parameters
    ----------
    n_isl_hops : int array
        ISL hops on the path (0 for bent pipe).
    load : float array in [0, 1)
        Utilisation of the user link for the queueing term; 0 (idle) by default.
    space_rtt_ms : float array
        Propagation RTT through space (c in vacuum), from routing. NaN (unserved)
        makes every column NaN for that sample.
    fibre_ms : float array
        Gateway -> PoP fibre RTT (:func:`skymesh.ground.pops.fibre_rtt_ms`); 0 without a PoP.
    user_link_rtt_ms : float array, optional
        Round-trip propagation of the terminal's user link (2 x slant range / c), for
        the request/grant cycle; nominal 550 km at 45 deg (5.00 ms) when not given.
        With ``user_links=2`` it is the mean of the two ends.
    user_links : 1 or 2
        User links on the path: 1 for terminal -> internet, 2 for terminal ->
        terminal (``skymesh latency A B``).
    gateway, pop : bool or int array
        Whether the path passes a gateway and a PoP (processing at each); a count
        (array) for paths through several (ground relays in bent-pipe mode). ``pop``
        defaults to ``gateway``.
    params : AccessDelayParams
        Component defaults.
    detail : bool
        Also return :data:`DETAIL_COLUMNS`.

    Returns
    -------
    dict of str -> np.ndarray (float, broadcast shape): :data:`COLUMNS` (and with
    ``detail`` the finer columns); ``rtt_ms`` is their sum.
    """
    pop = gateway if pop is None else pop
    hops = np.asarray(n_isl_hops, dtype=float)
    if np.any(hops[np.isfinite(hops)] < 0):
        raise InputError("ISL hop counts must be zero or more", field="n_isl_hops")
    if user_links not in (1, 2):
        raise InputError(f"user_links must be 1 or 2, got {user_links}", field="user_links")
    prop = np.asarray(space_rtt_ms, dtype=float)
    fibre = np.asarray(fibre_ms, dtype=float)
    user_rtt = (
        np.asarray(_NOMINAL_USER_RTT_MS)
        if user_link_rtt_ms is None
        else np.asarray(user_link_rtt_ms, dtype=float)
    )
    p = params
    frame = np.asarray(user_links * 2 * p.frames_per_crossing * p.frame_ms)
    grant = user_links * p.grant_cycles * (p.grant_frames * p.frame_ms + user_rtt)
    rr = np.asarray(user_links * p.round_robin_ms)
    isl = hops * p.isl_hop_ms
    gw = p.gateway_ms * np.asarray(gateway, dtype=float)
    pp = p.pop_ms * np.asarray(pop, dtype=float)
    queue = queueing_ms(load, user_links, p)
    parts = dict(
        frame_ms=frame,
        grant_ms=grant,
        round_robin_ms=rr,
        isl_processing_ms=isl,
        gateway_processing_ms=gw,
        pop_processing_ms=pp,
    )
    shape = np.broadcast_shapes(
        prop.shape, fibre.shape, queue.shape, *(v.shape for v in parts.values())
    )
    bad = np.broadcast_to(~np.isfinite(prop) | ~np.isfinite(hops) | ~np.isfinite(fibre), shape)

    def col(x):
        return np.where(bad, np.nan, np.broadcast_to(np.asarray(x, dtype=float), shape))

    out = dict(
        space_rtt_ms=col(prop),
        fibre_ms=col(fibre),
        access_ms=col(frame + grant + rr),
        processing_ms=col(isl + gw + pp),
        queueing_ms=col(queue),
    )
    out["rtt_ms"] = (
        out["space_rtt_ms"]
        + out["fibre_ms"]
        + out["access_ms"]
        + out["processing_ms"]
        + out["queueing_ms"]
    )
    if detail:
        out.update({k: col(v) for k, v in parts.items()})
    return out


def with_ground_to_ground_components(table):
    """A path series (:func:`skymesh.network.over_time.path_series`) with its RTT's parts.

    The path's ``space_rtt_ms`` is space propagation; the access network adds its delay at
    both ends (two user links) and processing per ISL hop and per ground relay passed
    (links on the one-way path = 2 + ISL hops + 2 per relay); no PoP or fibre on this
    path. Returns the table with ``space_rtt_ms`` replaced by :data:`COLUMNS` (null where
    unreachable): ``rtt_ms``, the user's RTT, last. The one place a place-to-place RTT
    is built: the API's ``latency``, ``skymesh latency`` and the service use it.
    """
    import pyarrow as pa

    prop = table.column("space_rtt_ms").to_numpy(zero_copy_only=False).astype(float)
    isl = table.column("isl_hops").to_numpy(zero_copy_only=False).astype(float)
    hops = table.column("hops").to_numpy(zero_copy_only=False).astype(float)
    relays = np.maximum((hops - isl - 2.0) / 2.0, 0.0)
    comp = access_components_ms(
        np.nan_to_num(isl),
        space_rtt_ms=prop,
        user_links=2,
        gateway=np.nan_to_num(relays),
        pop=False,
    )
    out = table.drop_columns(["space_rtt_ms"])
    for name in COLUMNS:
        v = comp[name]
        out = out.append_column(name, pa.array(v, mask=~np.isfinite(v)))
    return out


def ground_to_ground_components(table) -> dict:
    """Mean RTT components (ms) of a ground-to-ground path series, and the user RTT's median.

    ``table`` is a path series, with or without its components
    (:func:`with_ground_to_ground_components`). Keys ``{column}_mean`` for each of
    :data:`COLUMNS` and ``rtt_ms_p50``.
    """
    if "rtt_ms" not in table.column_names:
        table = with_ground_to_ground_components(table)
    comp = {k: table.column(k).to_numpy(zero_copy_only=False).astype(float) for k in COLUMNS}
    ok = np.isfinite(comp["rtt_ms"])
    out = {f"{k}_mean": (float(comp[k][ok].mean()) if ok.any() else None) for k in COLUMNS}
    out["rtt_ms_p50"] = float(np.median(comp["rtt_ms"][ok])) if ok.any() else None
    return out
