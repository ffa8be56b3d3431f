"""Each operator's own user link, beams, ISLs and gateways: one table, one row per parameter.

A constellation's operator (``skymesh.orbits.presets.operator_of``) picks its row here; the
capacity model (:mod:`skymesh.capacity.region`, :mod:`skymesh.sim.capacity_pass`) and a run's
second operator (:mod:`skymesh.sim.prepare`) read their parameters from it and never from
another operator's row. Adding an operator, or a generation of one, is adding a row of data,
not a code branch.

Every parameter is ``(value, status, source)``. Status letters as in
:mod:`skymesh.links.budget`: P primary (filing, licence, regulation, official statement),
A academic paper, N news, reseller or secondary report, D derived here by arithmetic from the
cited figures, U assumed (no published figure). Units are in the parameter names.

Parameters
----------
``user_frequency_ghz``, ``user_bandwidth_mhz``, ``user_eirp_dbw``, ``user_gt_dbk``,
``user_roll_off``, ``user_modcod_set``
    One user-downlink channel (one beam's carrier), the :class:`~skymesh.links.budget.LinkParams`
    of :func:`user_link`; atmosphere: the 'simple' model fitted for each band (see the rows).
``beams_per_sat``
    User beams per satellite (each carries one channel at a time).
``max_beams_per_cell``
    Beams of the operator on one service cell at once.
``cell_resolution``
    H3 resolution of a service cell: the size of the area one beam serves at a time.
``user_min_elevation_deg``
    User-terminal elevation mask (deg).
``isls``
    Whether satellites relay traffic over inter-satellite links (False: bent pipe only).
``gateways``
    File name of the operator's gateway list (:func:`operator_gateway_file`: shipped in
    ``skymesh/data`` with its own provenance file, else in the data directory), or None: there
    is none and the caller must give one (``--gateways`` / a scenario's gateways).

The ``starlink`` row reproduces :data:`skymesh.links.budget.STARLINK_USER_DOWNLINK_KU` and the
defaults of :mod:`skymesh.capacity.beams` exactly (tested), so Starlink figures do not move.
"""

from __future__ import annotations

import dataclasses
import math

from skymesh.errors import InputError
from skymesh.links.budget import STARLINK_USER_DOWNLINK_KU, LinkParams

STATUSES = ("P", "A", "N", "D", "U")
"""Status letters a source may carry."""

_ITU_RR_21 = "ITU Radio Regulations Article 21, Table 21-4 (pfd limits for NGSO FSS space stations)"


def _pfd_eirp_dbw(pfd_dbw_m2_mhz: float, altitude_km: float, bandwidth_mhz: float) -> float:
    """EIRP (dBW) in ``bandwidth_mhz`` that puts ``pfd_dbw_m2_mhz`` on the ground at nadir
    from ``altitude_km``: pfd + 10 log10(4 pi d^2) + 10 log10(B) (spreading loss, d in m)."""
    d_m = altitude_km * 1e3
    return pfd_dbw_m2_mhz + 10 * math.log10(4 * math.pi * d_m**2) + 10 * math.log10(bandwidth_mhz)


OPERATORS: dict[str, dict[str, tuple]] = {
    "starlink": {
        "name": ("SpaceX Starlink", "P", "Space Exploration Holdings LLC, SAT-LOA-20161115-00118"),
        "user_frequency_ghz": (
            11.7,
            "D",
            "centre of the 10.7-12.7 GHz user downlink (P: SAT-LOA-20161115-00118 Attachment A)",
        ),
        "user_bandwidth_mhz": (
            240.0,
            "A",
            "Humphreys et al., 'Signal Structure of the Starlink Ku-Band Downlink', "
            "IEEE TAES 59(5), 2023: 240 MHz occupied in a 250 MHz slot",
        ),
        "user_eirp_dbw": (
            21.9 + 10 * math.log10(240.0),
            "U",
            "21.9 dBW/MHz x 240 MHz: low end of a secondary compilation of "
            "SAT-MOD-20200417-00037 Attachment A (see skymesh.links.budget)",
        ),
        "user_gt_dbk": (
            10.0,
            "U",
            "34 dBi - 10 log10(250 K): community teardown element count (see skymesh.links.budget)",
        ),
        "user_roll_off": (
            32.0 / 1024.0,
            "D",
            "OFDM cyclic prefix 32 / 1,024 samples (Humphreys et al., IEEE TAES 2023, A)",
        ),
        "user_modcod_set": (
            "s2x",
            "U",
            "DVB-S2X ladder as a proxy for Starlink's OFDM (ETSI EN 302 307-2, P)",
        ),
        "user_implementation_margin_db": (
            0.5,
            "U",
            "assumed; typical modem practice adds 0.5-1 dB to the ideal thresholds",
        ),
        "user_clear_sky_zenith_db": (
            0.37,
            "D",
            "itur 0.4.0 (ITU-R P.618-13) at Washington DC, p = 0.5 %, 40 deg, 11.7 GHz, fitted "
            "as zenith x 1/sin(el) (see skymesh.links.budget)",
        ),
        "user_rain_margin_db": (
            0.9,
            "D",
            "itur 0.4.0 rain term at Washington DC, p = 0.5 %, 40 deg, 11.7 GHz",
        ),
        "beams_per_sat": (
            16,
            "N",
            "8 per polarisation x 2: S. Pekhterev, 'The Bandwidth of the StarLink "
            "Constellation', SatMagazine, Nov 2021",
        ),
        "max_beams_per_cell": (
            8,
            "D",
            "8 x 250 MHz channels in 10.7-12.7 GHz (Humphreys et al. 2023, A), Nco = 1 "
            "(see skymesh.capacity.beams)",
        ),
        "cell_resolution": (
            5,
            "D",
            "H3 level nearest the ~380 km2 analyst cell (Pekhterev, SatMagazine, Nov 2021, N)",
        ),
        "user_min_elevation_deg": (25.0, "P", "FCC 21-48 (27 Apr 2021), fn. 3"),
        "isls": (
            True,
            "P",
            "optical ISLs across the fleet: Starlink X post, Sept 2023; C. Brashears, SPIE "
            "Photonics West, via PCMag, 31 Jan 2024 (P/N)",
        ),
        "gateways": (
            "starlink_gateways_merged.csv",
            "N",
            "the default gateway + PoP list, shipped (or a newer one in the data directory), "
            "found by skymesh.ground.sites.default_sites; provenance in skymesh/data/NOTICE.md",
        ),
    },
    "oneweb": {
        "name": ("Eutelsat OneWeb (Gen1)", "P", "WorldVu Satellites Ltd, FCC 17-77"),
        "user_frequency_ghz": (
            11.7,
            "D",
            "centre of the 10.7-12.7 GHz user downlink (P: FCC 17-77, 22 Jun 2017, OneWeb "
            "market access; SES-LIC-20190930-01217 narrative, 2019)",
        ),
        "user_bandwidth_mhz": (
            250.0,
            "N",
            "one forward carrier of 250 MHz per user beam (kusat.com, 'OneWeb Resources', a "
            "OneWeb reseller's technical page)",
        ),
        "user_eirp_dbw": (
            _pfd_eirp_dbw(-116.0, 1200.0, 250.0),
            "D",
            "the most the Ku pfd limit allows at nadir: -116 dB(W/m2) in 1 MHz above 25 deg "
            f"elevation ({_ITU_RR_21}, 10.7-11.7 GHz, P) + 10 log10(4 pi (1,200 km)^2) "
            "+ 10 log10(250 MHz) = 40.6 dBW. An upper bound: the EPFD limits of Article 22 "
            "hold OneWeb below it (progressive pitch, FCC 17-77, P)",
        ),
        "user_gt_dbk": (
            12.5,
            "D",
            "a 0.7 m dish (Intellian OW70L, OneWeb's parabolic user terminal, N) at 11.7 GHz, "
            "efficiency 0.6 (U): 36.5 dBi, minus 10 log10(250 K, U) = 24.0 dB",
        ),
        "user_roll_off": (0.05, "U", "DVB-S2X roll-off option (ETSI EN 302 307-2, P); assumed"),
        "user_modcod_set": (
            "s2x",
            "U",
            "DVB-S2X ladder (ETSI EN 302 307-2, P); OneWeb's waveform is not published",
        ),
        "user_implementation_margin_db": (0.5, "U", "assumed, as Starlink's row"),
        "user_clear_sky_zenith_db": (
            0.37,
            "D",
            "the Ku fit of Starlink's row: same band (11.7 GHz), itur 0.4.0 at Washington DC",
        ),
        "user_rain_margin_db": (0.9, "D", "the Ku fit of Starlink's row (11.7 GHz)"),
        "beams_per_sat": (
            16,
            "N",
            "16 fixed Ku user beams per satellite, stacked north-south ('venetian blind'): "
            "kusat.com 'OneWeb Resources' (reseller); satsig.net forum, Dec 2021",
        ),
        "max_beams_per_cell": (
            1,
            "D",
            "the 16 fixed beams tile the footprint without overlap, one forward carrier each "
            "(kusat.com, N): a place is under one beam of one satellite at a time",
        ),
        "cell_resolution": (
            2,
            "D",
            "one fixed beam covers ~1,600 km x 65 km ~ 104,000 km2 (kusat.com, N); the H3 "
            "level whose mean cell is nearest is 2 (86,745 km2), so a cell is one beam's area",
        ),
        "user_min_elevation_deg": (
            25.0,
            "U",
            "no published mask for the Gen1 terminal we could read; the filing's 55 deg "
            "(Attachment A p. 13, quoted in the FCC's letter of 10 Jun 2016, P) is the full "
            "constellation's minimum seen elevation, not a terminal mask",
        ),
        "isls": (
            False,
            "P",
            "Gen1 has no inter-satellite links: bent pipe through its gateways (FCC 17-77; "
            "OneWeb SAT-LOI-20160428-00041 Attachment A)",
        ),
        "gateways": (
            "oneweb_gateways.toml",
            "P/N",
            "shipped, INCOMPLETE: the 2 of OneWeb's ~40-44 SNPs a public source names and "
            "places -- Talkeetna AK (FCC SES-LIC-20180604-01082, P) and Ubon Ratchathani TH "
            "(Bangkok Post 2023; Light Reading, 16 Jan 2024, N); coordinates approximate; "
            "provenance in skymesh/data/oneweb_gateways.md",
        ),
    },
    "kuiper": {
        "name": ("Amazon Project Kuiper", "P", "Kuiper Systems LLC, FCC 20-102"),
        "user_frequency_ghz": (
            18.95,
            "D",
            "centre of the 17.7-20.2 GHz Ka user downlink (P: FCC 20-102, 30 Jul 2020, "
            "SAT-LOA-20190704-00057)",
        ),
        "user_bandwidth_mhz": (
            250.0,
            "U",
            "channel width not read from the filing's technical annex; 250 MHz assumed",
        ),
        "user_eirp_dbw": (
            _pfd_eirp_dbw(-105.0, 630.0, 250.0),
            "D",
            "the most the Ka pfd limit allows at nadir: -105 dB(W/m2) in 1 MHz above 25 deg "
            f"elevation ({_ITU_RR_21}, 17.7-19.3 GHz, P) + 10 log10(4 pi (630 km)^2) "
            "+ 10 log10(250 MHz), from the highest shell (630 km, FCC 20-102, P)",
        ),
        "user_gt_dbk": (
            15.0,
            "U",
            "no published figure; a Ka flat panel of ~0.5 m (Kuiper 'standard' terminal, "
            "~28 cm x 28 cm to 0.5 m reported, N) assumed at 15 dB/K",
        ),
        "user_roll_off": (0.05, "U", "DVB-S2X roll-off option (ETSI EN 302 307-2, P); assumed"),
        "user_modcod_set": ("s2x", "U", "DVB-S2X ladder (ETSI EN 302 307-2, P); assumed"),
        "user_implementation_margin_db": (0.5, "U", "assumed, as Starlink's row"),
        "user_clear_sky_zenith_db": (
            1.09,
            "D",
            "itur 0.4.0 at Washington DC, p = 0.5 %, 40 deg, 18.5 GHz (the Ka gateway preset's "
            "fit, skymesh.links.budget.STARLINK_GATEWAY_KA; a 1.5 m antenna, U for a terminal)",
        ),
        "user_rain_margin_db": (2.6, "D", "the same Ka fit's rain term (18.5 GHz)"),
        "beams_per_sat": (
            16,
            "U",
            "no beam count read from the filing; Starlink's analyst figure used as a "
            "placeholder (a stated assumption, not borrowed silently)",
        ),
        "max_beams_per_cell": (
            8,
            "D",
            "2.5 GHz of Ka user downlink (17.7-20.2 GHz, FCC 20-102, P) / 250 MHz channels "
            "(U) = 10, of which 8 taken as usable at once (U)",
        ),
        "cell_resolution": (5, "U", "same cell size as Starlink's; no published figure"),
        "user_min_elevation_deg": (
            35.0,
            "P",
            "FCC 20-102 (30 Jul 2020): Kuiper user terminals operate at or above 35 deg",
        ),
        "isls": (
            False,
            "P",
            "the 2019 application (SAT-LOA-20190704-00057) describes a bent-pipe system; "
            "optical links were tested in 2023 (Amazon, N) but are not in the filing",
        ),
        "gateways": (
            None,
            "U",
            "no public list of Kuiper gateway sites with coordinates; give --gateways FILE",
        ),
    },
}
"""The table: operator -> parameter -> (value, status, source)."""

UNKNOWN_OPERATOR_MODEL = "starlink"
"""Row used, and said to be used, for a TLE file whose operator cannot be told."""


def operator_names() -> list[str]:
    """Operators in the table."""
    return list(OPERATORS)


def _row(operator: str) -> dict:
    key = str(operator).strip().lower()
    if key not in OPERATORS:
        raise InputError(
            f"unknown operator '{operator}'; known: {', '.join(OPERATORS)}", field="operator"
        )
    return OPERATORS[key]


def operator_param(operator: str, name: str):
    """One parameter's value for ``operator``."""
    row = _row(operator)
    if name not in row:
        raise InputError(f"operator parameter '{name}' is not in the table", field=name)
    return row[name][0]


def operator_sources(operator: str) -> dict[str, tuple[str, str]]:
    """``{parameter: (status, source)}`` of ``operator``."""
    return {k: (v[1], v[2]) for k, v in _row(operator).items()}


def user_link(operator: str) -> LinkParams:
    """The operator's user-downlink channel as :class:`LinkParams`, built from its row alone
    (the ``user_*`` parameters; 'simple' atmosphere). Starlink's row gives
    :data:`~skymesh.links.budget.STARLINK_USER_DOWNLINK_KU` field for field (tested)."""
    key = str(operator).strip().lower()
    row = _row(key)
    return dataclasses.replace(
        STARLINK_USER_DOWNLINK_KU,
        name=f"{key}_user_downlink",
        frequency_ghz=float(row["user_frequency_ghz"][0]),
        bandwidth_mhz=float(row["user_bandwidth_mhz"][0]),
        eirp_dbw=float(row["user_eirp_dbw"][0]),
        gt_dbk=float(row["user_gt_dbk"][0]),
        roll_off=float(row["user_roll_off"][0]),
        modcod_set=str(row["user_modcod_set"][0]),
        implementation_margin_db=float(row["user_implementation_margin_db"][0]),
        atm_model="simple",
        clear_sky_zenith_db=float(row["user_clear_sky_zenith_db"][0]),
        rain_margin_db=float(row["user_rain_margin_db"][0]),
    )


def beam_model(operator: str) -> dict:
    """The capacity model's per-operator values: ``beams_per_sat``, ``max_beams_per_cell``,
    ``cell_resolution``, ``user_min_elevation_deg``, ``isls``, ``gateways`` and
    ``beam_link`` (:func:`user_link`)."""
    row = _row(operator)
    keys = (
        "beams_per_sat",
        "max_beams_per_cell",
        "cell_resolution",
        "user_min_elevation_deg",
        "isls",
        "gateways",
    )
    out = {k: row[k][0] for k in keys}
    out["beam_link"] = user_link(operator)
    out["operator"] = str(operator).strip().lower()
    return out


def constellation_operator(constellation, sat_names=None, notes: list | None = None) -> str:
    """The operator row a constellation (preset name or TLE file) takes: its own
    (:func:`skymesh.orbits.presets.operator_of`), else :data:`UNKNOWN_OPERATOR_MODEL`, said in
    ``notes`` (never silently)."""
    from skymesh.orbits.presets import operator_of

    op = operator_of(constellation, sat_names)
    if op is None or op not in OPERATORS:
        op = UNKNOWN_OPERATOR_MODEL
        if notes is not None:
            notes.append(
                f"operator of {constellation} unknown (neither a preset nor one operator's "
                f"satellite names): {OPERATORS[op]['name'][0]}'s user link, beams and "
                "gateway list assumed"
            )
    return op


def operator_gateway_file(operator: str):
    """Path of ``operator``'s own gateway list: Starlink's is the default list
    (:func:`skymesh.ground.sites.default_sites`, unchanged); others are shipped in the package
    (``skymesh/data``, e.g. ``oneweb_gateways.toml`` with its provenance
    ``oneweb_gateways.md``), else in the data directory; None when the table names none or
    the file is absent."""

    name = operator_param(operator, "gateways")
    if name is None:
        return None
    from skymesh.shipped import SHIPPED_SITES, package_data_dir

    if name == SHIPPED_SITES:  # the default list: found as every command finds it
        from skymesh.ground.sites import default_sites

        return default_sites().path
    shipped = package_data_dir() / str(name)
    if shipped.is_file():
        return shipped
    from skymesh.datadir import data_dir

    path = data_dir() / str(name)
    return path if path.is_file() else None


def guess_operator(constellation) -> str | None:
    """The operator of a preset name, or of a TLE file by its satellite names (read without
    parsing the elements); None if it cannot be told
    (:func:`skymesh.orbits.presets.operator_of`)."""
    from pathlib import Path

    from skymesh.orbits.presets import operator_of

    op = operator_of(constellation)
    if op is not None:
        return op
    path = Path(str(constellation)).expanduser()
    try:
        if not path.is_file() or path.stat().st_size > 64 * 1024 * 1024:
            return None
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    names = [
        line.strip().removeprefix("0 ")
        for line in lines
        if line.strip() and not line.startswith(("1 ", "2 "))
    ]
    return operator_of(constellation, names)
