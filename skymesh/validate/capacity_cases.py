"""Validation rows for the capacity model, registered in :mod:`skymesh.validate.cases`.

Each row is a :class:`skymesh.validate.cases.Case` (published figure, conditions, source,
status, a band on the ratio SkyMesh / published with its one-line justification, and the
computation), registered at import time; ``skymesh validate`` runs them.

The bands were written down before the model's figures were computed and are not tuned to
them. (For the first case the capacity module's docstring already said "~1.37 Gbit/s per
beam, ~22 Gbit/s for 16 beams" when the band was chosen; the band is the filing's own range,
unchanged, so it could not be fitted.)

``sat-downlink-gen1`` -- an input check
    SpaceX's 2016 Gen1 technical attachment (IBFS SAT-LOA-20161115-00118, Attachment A) gives
    17-23 Gbit/s of user downlink per satellite, depending on the user terminal's gain (as
    read by del Portillo, Cameron and Crawley, Acta Astronautica 159, 2019). SkyMesh's figure
    is ``beams_per_sat`` x the link-budget capacity of one user beam (the Ku preset), averaged
    over a satellite's coverage area at 550 km above the 25 deg mask (cells uniform in ground
    area). Band = the published range itself, 17-23 Gbit/s, i.e. a ratio of 0.85-1.15 to its
    20 Gbit/s middle: an input check must land inside the filing's own spread.

``us-busy-hour-median-2025``
    Ookla's 2025 US median Starlink download, 117.7 Mbit/s (Ookla, "2025 Global Satellite
    Broadband Performance Report", via Telecompetitor; status N). SkyMesh: a sample of 5,000
    terminals over the US placed by population stands for 2,000,000 subscribers (">2 M in the
    US", Starlink network update, July 2025, status P: a lower bound), 400 each
    (:mod:`skymesh.capacity.demand` subscriber weights); the real constellation (CelesTrak
    TLEs of 2025-12-04) at 02:00 UTC the next day (21:00 local in the Eastern, 20:00 in the
    Central time zone: Starlink's 18-21 h "peak hours"), the community gateway list, and the
    load-aware beam assignment (:func:`skymesh.capacity.assignment.assign_cells`) with every
    cell's fairness weight = its subscribers and elastic demand, giving each cell its
    busy-hour share x_c of the satellites in view. A speed test in cell c (n_c subscribers,
    the others drawing the busy-hour demand d of :mod:`skymesh.capacity.demand`) then gets the
    water-filling level of one elastic flow among them, ``max(x_c - (n_c - 1) d, x_c / n_c)``,
    capped at one channel's capacity (a terminal decodes one 240 MHz channel). The figure is
    the subscriber-weighted median over cells.
    Band 0.5x-2x on the ratio (58.9-235.4 Mbit/s): the inputs that set a per-user rate are
    uncertain by tens of percent to ~4x each (satellite EIRP and terminal G/T are
    placeholders; 16 beams per satellite is an analyst figure; the busy-hour demand per
    subscriber is derived from UK household volumes; V2 Mini's ~4x capacity is not modelled,
    all satellites get the Gen1 budget; the subscriber count is a lower bound), so a factor-2
    band tests whether the capacity model is in the right regime without claiming precision
    it does not have.
"""

from __future__ import annotations

import numpy as np

from skymesh.validate.cases import GATEWAY_FILE, TLE_FILE, Case, register

US_SUBSCRIBERS = 2_000_000
"""Starlink subscribers in the US: ">2 M" (Starlink network update, July 2025; status P)."""

US_SAMPLE = 5_000
"""Sampled terminals standing for `US_SUBSCRIBERS` (400 subscribers each)."""

US_BUSY_HOUR_UTC = "2025-12-05T02:00:00Z"
"""21:00 EST / 20:00 CST / 18:00 PST: the US evening peak, a day after the TLE epoch."""


def per_sat_downlink_gbps(
    params=None, altitude_km: float = 550.0, min_elevation_deg: float = 25.0, n: int = 2001
) -> dict:
    """Model per-satellite user downlink (Gbit/s): beams x mean beam capacity over the
    coverage area (uniform in ground area), with the beam's minimum (mask edge) and maximum
    (nadir) capacity (Mbit/s)."""
    from skymesh.capacity.network import NetworkCapacityParams
    from skymesh.links.budget import link_capacity_mbps

    p = NetworkCapacityParams() if params is None else params
    R, h = 6378.137, float(altitude_km)  # WGS84 equatorial radius (km)
    e0 = np.radians(min_elevation_deg)
    lam_max = np.arccos(R * np.cos(e0) / (R + h)) - e0  # central angle of the edge
    lam = np.linspace(0.0, lam_max, n)
    rng = np.sqrt(R**2 + (R + h) ** 2 - 2 * R * (R + h) * np.cos(lam))
    el = np.degrees(np.arctan2(np.cos(lam) - R / (R + h), np.sin(lam)))
    beam = link_capacity_mbps(rng, el, p.beam_link) * p.channels_per_beam / p.frequency_reuse
    w = np.sin(lam)  # area element on the sphere
    mean = float(np.sum(beam * w) / np.sum(w))
    return {
        "gbps": p.beams_per_sat * mean / 1e3,
        "beams_per_sat": p.beams_per_sat,
        "beam_mean_mbps": mean,
        "beam_min_mbps": float(beam.min()),
        "beam_max_mbps": float(beam.max()),
    }


def _sat_downlink(ctx):
    r = per_sat_downlink_gbps()
    return r["gbps"], (
        f"{r['beams_per_sat']} beams x {r['beam_mean_mbps']:,.0f} Mbit/s mean "
        f"over the coverage area (beam {r['beam_min_mbps']:,.0f}-"
        f"{r['beam_max_mbps']:,.0f} Mbit/s from the 25 deg edge to nadir)"
    )


def us_busy_hour(
    tle_path,
    gateways_path,
    sample: int = US_SAMPLE,
    subscribers: int = US_SUBSCRIBERS,
    when: str = US_BUSY_HOUR_UTC,
    seed: int = 0,
) -> dict:
    """Busy-hour per-subscriber speed-test rates in the US (see the module docstring)."""
    from skymesh.capacity.assignment import assign_cells
    from skymesh.capacity.demand import DEFAULT_BUSY_HOUR_MBPS, demand_mbps, weighted_percentiles
    from skymesh.capacity.network import NetworkCapacityParams
    from skymesh.capacity.region import place_probes, slot_network
    from skymesh.ground.countries import country_geometry

    lat, lon = place_probes("US", country_geometry("US"), sample, seed)
    w = np.full(sample, subscribers / sample)
    params = NetworkCapacityParams()
    net = slot_network(
        str(tle_path),
        when,
        str(gateways_path),
        lat,
        lon,
        weights=w,
        params=params,
    )
    pairs, subs = net["pairs"], net["heads"]
    res = assign_cells(
        pairs["cell"],
        pairs["sat"],
        pairs["capacity_mbps"],
        np.full(subs.size, np.inf),
        n_cells=subs.size,
        cell_weight=np.maximum(subs, 1e-12),
        cell_beam_cap=net["cell_beam_cap"],
        beams_per_sat=params.beams_per_sat,
        sat_downlink_mbps=params.sat_downlink_mbps,
        backhaul=net["backhaul"],
    )
    x = np.asarray(res["cell_rate_mbps"], dtype=float)
    # busy-hour demand of one subscriber at each cell's local solar time
    d = demand_mbps(
        subs.size, DEFAULT_BUSY_HOUR_MBPS, utc_time=when, lon_deg=net["cells"]["lon_deg"]
    )
    share = np.where(subs > 0, x / np.where(subs > 0, subs, 1.0), 0.0)
    test = np.maximum(x - (subs - 1.0) * d, share)
    k_max = np.zeros(subs.size)
    np.maximum.at(k_max, pairs["cell"], pairs["capacity_mbps"])
    test = np.clip(np.minimum(test, k_max), 0.0, None)
    has = subs > 0
    q = weighted_percentiles(test[has], subs[has], [5, 25, 50, 75, 95])
    return {
        "median_mbps": float(q[2]),
        "percentiles_mbps": [float(v) for v in q],
        "cells": int(has.sum()),
        "cells_at_zero": int((has & (x <= 0)).sum()),
        "aggregate_gbps": float(x.sum() / 1e3),
        "busy_hour_demand_gbps": float((subs * d).sum() / 1e3),
        "subscribers_per_sample": subscribers / sample,
    }


def _us_busy_hour(ctx):
    r = us_busy_hour(ctx.data(TLE_FILE), ctx.data(GATEWAY_FILE))
    p = r["percentiles_mbps"]
    return r["median_mbps"], (
        f"{US_SAMPLE:,} samples x {r['subscribers_per_sample']:,.0f} subscribers in "
        f"{r['cells']:,} cells; p5/p25/p75/p95 {p[0]:.0f}/{p[1]:.0f}/{p[3]:.0f}/{p[4]:.0f} "
        f"Mbit/s; assigned {r['aggregate_gbps']:,.0f} Gbit/s vs busy-hour demand "
        f"{r['busy_hour_demand_gbps']:,.0f} Gbit/s; {r['cells_at_zero']} cells at 0"
    )


register(
    Case(
        id="sat-downlink-gen1",
        title="User downlink per satellite (input check)",
        published=20.0,
        unit="Gbit/s",
        conditions="Gen1 satellite, 17-23 Gbit/s by terminal gain; SkyMesh: 16 beams x the Ku "
        "beam budget averaged over the coverage area above 25 deg at 550 km",
        source="SpaceX Gen1 technical attachment, IBFS SAT-LOA-20161115-00118 (2016), via del "
        "Portillo et al., Acta Astronautica 159 (2019)",
        status="P/A",
        band=(0.85, 1.15),
        justification="the filing's own range (17-23 Gbit/s): an input check must land inside it",
        compute=_sat_downlink,
        quick=True,
    )
)

register(
    Case(
        id="us-busy-hour-median-2025",
        title="US per-user downlink median, busy hour",
        published=117.7,
        unit="Mbit/s",
        conditions=f"US, {US_SUBSCRIBERS:,} subscribers (Starlink, Jul 2025: '>2 M'), a "
        f"{US_SAMPLE:,}-terminal population sample, {US_BUSY_HOUR_UTC}, real TLEs; "
        "speed test = an elastic flow among its cell's busy-hour users",
        source="Ookla, 2025 Global Satellite Broadband Performance Report (via Telecompetitor)",
        status="N",
        band=(0.5, 2.0),
        justification="EIRP, G/T placeholders; 16 beams analyst figure; V2 Mini capacity not "
        "modelled; subscriber base a lower bound: factor 2",
        compute=_us_busy_hour,
        needs_data=True,
    )
)
