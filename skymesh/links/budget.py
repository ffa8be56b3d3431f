"""Ground-satellite link budget: path loss, atmosphere, C/N0, Es/N0, MODCOD and capacity.

Vectorised over arrays of slant range (km) and elevation (deg)::

    FSPL   = 92.45 + 20 log10(f_GHz) + 20 log10(d_km)            dB   (ITU-R P.525)
    C/N0   = EIRP - FSPL - A_atm - L_misc + G/T + 228.60          dB-Hz
    C/N    = C/N0 - 10 log10(B_Hz)                                dB
    Rs     = B / (1 + roll-off)                                   symbol/s
    Es/N0  = C/N0 - 10 log10(Rs)                                  dB
    capacity = eta(MODCOD) * Rs                                   Mbit/s

228.60 dB is -10 log10(k), k = 1.380649e-23 J/K (Boltzmann, exact SI).
The MODCOD is the most efficient DVB-S2/S2X one whose ideal threshold plus an implementation
margin fits the Es/N0 (see `skymesh.links.modcod`); below the lowest the link is closed (0).

Atmospheric loss (gas + cloud + rain + scintillation) has three models, chosen by
``LinkParams.atm_model``:

- ``"itur"``: ITU-R P.618-13 via the ``itur`` package (ITU-Rpy 0.4.0, Feb 2023; P) at the
  ground point, exceeded ``exceedance_pct`` % of an average year. itur costs milliseconds per call
  plus seconds for its first map load, so it is evaluated once per distinct ground point on an
  elevation grid (``elevation_bin_deg``), cached in memory, and interpolated linearly.
  Elevations below 5 deg are evaluated at 5 deg (P.618's lower limit).
- ``"simple"``: ``clear_sky_zenith_db / sin(el) + rain_margin_db`` (el clipped to >= 5 deg):
  gas and cloud scale with air mass, rain is a fixed margin. The preset values are fitted to
  itur at Washington DC, p = 0.5 %, el = 40 deg (within ~0.3 dB over 25-90 deg).
- ``"none"``: free space only.

Presets are frozen dataclasses; change them with ``dataclasses.replace`` or
`params_from_dict` (which rejects unknown keys). Each figure cites its original source with a
status letter: P primary (filing, licence, standard, official statement), A academic paper,
N news or secondary report, D derived here by arithmetic, U assumed (no published figure).

Example
-------
>>> import numpy as np
>>> cap = link_capacity_mbps(np.array([550.0, 1123.4]), np.array([90.0, 25.0]),
...                          STARLINK_USER_DOWNLINK_KU)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from skymesh.constants import SPEED_OF_LIGHT_KM_S
from skymesh.errors import InputError
from skymesh.links import modcod as _mc

BOLTZMANN_DBW_PER_K_HZ = 10.0 * np.log10(1.380649e-23)
"""10 log10(k) = -228.60 dB(W/K/Hz)."""

ATM_MODELS = ("itur", "simple", "none")


@dataclass(frozen=True)
class LinkParams:
    """Parameters of one kind of link (one carrier / channel).

    Attributes
    ----------
    name : str
    frequency_ghz : float
        Carrier frequency (GHz).
    bandwidth_mhz : float
        Occupied channel bandwidth B (MHz).
    eirp_dbw : float
        Transmit EIRP towards the receiver, per channel (dBW).
    gt_dbk : float
        Receive figure of merit G/T (dB/K).
    roll_off : float
        Excess bandwidth: symbol rate Rs = B / (1 + roll_off).
    implementation_margin_db : float
        Added to every ideal MODCOD threshold (dB).
    misc_loss_db : float
        Pointing, polarisation and other fixed losses (dB).
    atm_model : {'itur', 'simple', 'none'}
    clear_sky_zenith_db, rain_margin_db : float
        Parameters of the 'simple' model (dB).
    exceedance_pct : float
        Percentage of an average year the itur attenuation is exceeded (0.001-50 %).
    antenna_diameter_m, antenna_efficiency : float
        Receive (ground) antenna, for itur's scintillation term.
    elevation_bin_deg : float
        Elevation grid step for the cached itur evaluation (deg).
    modcod_set : {'s2x', 's2'}
    fixed_capacity_mbps : float or None
        If set, the link is not budgeted: capacity is this value up to ``max_range_km``.
    max_range_km : float
        Links longer than this are closed (km).
    """

    name: str
    frequency_ghz: float
    bandwidth_mhz: float
    eirp_dbw: float = 0.0
    gt_dbk: float = 0.0
    roll_off: float = 0.05
    implementation_margin_db: float = 0.5
    misc_loss_db: float = 0.0
    atm_model: str = "simple"
    clear_sky_zenith_db: float = 0.0
    rain_margin_db: float = 0.0
    exceedance_pct: float = 0.5
    antenna_diameter_m: float = 0.5
    antenna_efficiency: float = 0.5
    elevation_bin_deg: float = 1.0
    modcod_set: str = "s2x"
    fixed_capacity_mbps: float | None = None
    max_range_km: float = float("inf")

    def __post_init__(self):
        def bad(field, why):
            raise InputError(f"{self.name}: {field} = {getattr(self, field)!r} {why}", field=field)

        if not self.frequency_ghz > 0:
            bad("frequency_ghz", "must be > 0")
        if not self.bandwidth_mhz > 0:
            bad("bandwidth_mhz", "must be > 0")
        if not 0.0 <= self.roll_off <= 1.0:
            bad("roll_off", "must be in [0, 1]")
        if self.atm_model not in ATM_MODELS:
            bad("atm_model", f"must be one of {ATM_MODELS}")
        if self.modcod_set not in _mc.MODCOD_SETS:
            bad("modcod_set", f"must be one of {_mc.MODCOD_SETS}")
        if not 0.001 <= self.exceedance_pct <= 50.0:
            bad("exceedance_pct", "must be in [0.001, 50] %")
        if not 0.0 < self.elevation_bin_deg <= 10.0:
            bad("elevation_bin_deg", "must be in (0, 10] deg")
        if self.fixed_capacity_mbps is not None and not self.fixed_capacity_mbps >= 0:
            bad("fixed_capacity_mbps", "must be >= 0")
        if not self.max_range_km > 0:
            bad("max_range_km", "must be > 0")

    @property
    def symbol_rate_msps(self) -> float:
        """Symbol rate Rs = B / (1 + roll-off) (Msymbol/s)."""
        return self.bandwidth_mhz / (1.0 + self.roll_off)


def params_from_dict(data: dict, base: LinkParams | None = None, *, file=None) -> LinkParams:
    """Build `LinkParams` from a mapping (e.g. a parsed TOML/YAML section).

    Keys override ``base`` field by field; without ``base`` every required field must be given.
    Unknown keys and non-numeric values raise `InputError` naming the field (and ``file``).
    """
    fields = {f.name: f for f in dataclasses.fields(LinkParams)}
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in fields:
            raise InputError(
                f"unknown link parameter {key!r}; known: {', '.join(fields)}", file=file, field=key
            )
        if key in ("name", "atm_model", "modcod_set"):
            values[key] = str(value)
        elif key == "fixed_capacity_mbps" and value is None:
            values[key] = None
        else:
            try:
                values[key] = float(value)
            except (TypeError, ValueError):
                raise InputError(
                    f"expected a number, got {value!r}", file=file, field=key
                ) from None
    try:
        if base is not None:
            return dataclasses.replace(base, **values)
        return LinkParams(**values)
    except TypeError as exc:  # missing required fields
        raise InputError(f"incomplete link parameters: {exc}", file=file) from None
    except InputError as exc:
        raise InputError(exc.message, file=file, field=exc.field) from None


def eirp_dbw(tx_power_dbw, antenna_gain_dbi, losses_db=0.0):
    """EIRP = P_tx + G_tx - losses (back-off, feeder) (dBW)."""
    return np.asarray(tx_power_dbw, float) + antenna_gain_dbi - losses_db


def gt_dbk(antenna_gain_dbi, system_noise_temp_k):
    """G/T = G_rx - 10 log10(T_sys) (dB/K)."""
    return np.asarray(antenna_gain_dbi, float) - 10.0 * np.log10(system_noise_temp_k)


def fspl_db(range_km, frequency_ghz):
    """Free-space path loss (dB), ITU-R P.525: 20 log10(4 pi d f / c).

    ``92.45 + 20 log10(f_GHz) + 20 log10(d_km)``, with the constant computed from c exactly
    (92.4478 dB) rather than rounded.
    """
    d = np.asarray(range_km, dtype=float)
    const = 20.0 * np.log10(4.0 * np.pi * 1e9 / SPEED_OF_LIGHT_KM_S)  # km, GHz -> 92.4478
    with np.errstate(divide="ignore"):
        return const + 20.0 * np.log10(frequency_ghz) + 20.0 * np.log10(d)


# --- atmosphere -------------------------------------------------------------------------------

_ITUR_CACHE: dict[tuple, np.ndarray] = {}


def _elevation_grid(step_deg: float) -> np.ndarray:
    n = int(np.ceil((90.0 - 5.0) / step_deg)) + 1
    return np.linspace(5.0, 90.0, n)


def _itur_rows(points: np.ndarray, grid: np.ndarray, p: LinkParams) -> np.ndarray:
    """itur total slant-path attenuation (dB) for each (lat, lon) row of ``points`` on ``grid``."""
    keys = [
        (
            float(a),
            float(b),
            p.frequency_ghz,
            p.exceedance_pct,
            p.antenna_diameter_m,
            p.antenna_efficiency,
            p.elevation_bin_deg,
        )
        for a, b in points
    ]
    missing = [i for i, k in enumerate(keys) if k not in _ITUR_CACHE]
    if missing:
        try:
            import itur
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise InputError(
                "atm_model='itur' needs the 'itur' package (pip install itur); "
                "use atm_model='simple' instead",
                field="atm_model",
            ) from exc
        import warnings

        lat = np.repeat(points[missing, 0], grid.size)
        lon = np.repeat(points[missing, 1], grid.size)
        el = np.tile(grid, len(missing))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            att = itur.atmospheric_attenuation_slant_path(
                lat,
                lon,
                p.frequency_ghz,
                el,
                p.exceedance_pct,
                p.antenna_diameter_m,
                eta=p.antenna_efficiency,
            )
        att = np.clip(np.asarray(getattr(att, "value", att), float), 0.0, None)
        att = att.reshape(len(missing), grid.size)
        for row, i in enumerate(missing):
            _ITUR_CACHE[keys[i]] = att[row]
    return np.stack([_ITUR_CACHE[k] for k in keys])


def atmospheric_loss_db(elevation_deg, params: LinkParams, lat_deg=None, lon_deg=None):
    """Gas + cloud + rain + scintillation loss (dB) per link, by ``params.atm_model``.

    Parameters
    ----------
    elevation_deg : array_like
        Elevation of the satellite seen from the ground end (deg).
    lat_deg, lon_deg : array_like, optional
        Ground end of each link (deg); broadcast against ``elevation_deg``. Needed for 'itur'.
    """
    el = np.asarray(elevation_deg, dtype=float)
    if params.atm_model == "none":
        return np.zeros_like(el)
    e = np.clip(el, 5.0, 90.0)
    if params.atm_model == "simple":
        return params.clear_sky_zenith_db / np.sin(np.radians(e)) + params.rain_margin_db
    if lat_deg is None or lon_deg is None:
        raise InputError(
            "atm_model='itur' needs the ground point's lat_deg and lon_deg", field="lat_deg"
        )
    lat, lon, e = np.broadcast_arrays(np.asarray(lat_deg, float), np.asarray(lon_deg, float), e)
    if e.size == 0:
        return np.zeros(e.shape)
    grid = _elevation_grid(params.elevation_bin_deg)
    pts, inv = np.unique(np.stack([lat.ravel(), lon.ravel()], axis=1), axis=0, return_inverse=True)
    table = _itur_rows(pts, grid, params)  # (n_points, n_grid)
    x = e.ravel()
    k = np.clip(np.searchsorted(grid, x, side="right") - 1, 0, grid.size - 2)
    w = (x - grid[k]) / (grid[k + 1] - grid[k])
    inv = inv.ravel()
    out = table[inv, k] * (1.0 - w) + table[inv, k + 1] * w
    return out.reshape(e.shape)


# --- the budget ---------------------------------------------------------------------------------


def link_budget(
    range_km, elevation_deg, params: LinkParams, lat_deg=None, lon_deg=None, atm_db=None
) -> dict:
    """Every term of the link budget, per link (arrays broadcast together).

    Parameters
    ----------
    range_km : array_like
        Slant range (km).
    elevation_deg : array_like
        Elevation at the ground end (deg).
    params : LinkParams
    lat_deg, lon_deg : array_like, optional
        Ground end (deg), for ``atm_model='itur'``.
    atm_db : array_like, optional
        Precomputed atmospheric loss (dB); skips the atmosphere model (for hot loops).

    Returns
    -------
    dict of ndarray
        ``fspl_db``, ``atm_db``, ``eirp_dbw``, ``gt_dbk``, ``cn0_dbhz`` (dB-Hz), ``cn_db``,
        ``esn0_db``, ``modcod`` (name, '' if closed), ``modcod_index`` (-1 if closed),
        ``spectral_efficiency`` (bit/symbol), ``symbol_rate_msps``, ``capacity_mbps``
        (Mbit/s). For a fixed-capacity link (``fixed_capacity_mbps``) the radio terms are NaN.
    """
    d = np.asarray(range_km, dtype=float)
    el = np.asarray(elevation_deg, dtype=float)
    d, el = np.broadcast_arrays(d, el)
    in_range = d <= params.max_range_km
    if params.fixed_capacity_mbps is not None:
        nan = np.full(d.shape, np.nan)
        cap = np.where(in_range, float(params.fixed_capacity_mbps), 0.0)
        return {
            "fspl_db": nan,
            "atm_db": nan,
            "eirp_dbw": nan,
            "gt_dbk": nan,
            "cn0_dbhz": nan,
            "cn_db": nan,
            "esn0_db": nan,
            "modcod": np.where(in_range, "fixed", ""),
            "modcod_index": np.full(d.shape, -1),
            "spectral_efficiency": nan,
            "symbol_rate_msps": nan,
            "capacity_mbps": cap,
        }
    fspl = fspl_db(d, params.frequency_ghz)
    if atm_db is None:
        atm = atmospheric_loss_db(el, params, lat_deg, lon_deg)
    else:
        atm = np.broadcast_to(np.asarray(atm_db, float), d.shape)
    cn0 = (
        params.eirp_dbw - fspl - atm - params.misc_loss_db + params.gt_dbk - BOLTZMANN_DBW_PER_K_HZ
    )
    cn = cn0 - 10.0 * np.log10(params.bandwidth_mhz * 1e6)
    rs_msps = params.symbol_rate_msps
    esn0 = cn0 - 10.0 * np.log10(rs_msps * 1e6)
    idx = _mc.select_modcod(esn0, params.implementation_margin_db, params.modcod_set)
    idx = np.where(in_range, idx, -1)
    closed = idx < 0
    eta = np.where(closed, 0.0, _mc.MODCOD_EFFICIENCY[np.clip(idx, 0, None)])
    names = np.where(closed, "", _mc.MODCOD_NAMES[np.clip(idx, 0, None)])
    return {
        "fspl_db": fspl,
        "atm_db": atm,
        "eirp_dbw": np.full(d.shape, params.eirp_dbw),
        "gt_dbk": np.full(d.shape, params.gt_dbk),
        "cn0_dbhz": cn0,
        "cn_db": cn,
        "esn0_db": esn0,
        "modcod": names,
        "modcod_index": idx,
        "spectral_efficiency": eta,
        "symbol_rate_msps": np.full(d.shape, rs_msps),
        "capacity_mbps": eta * rs_msps,
    }


def link_capacity_mbps(
    range_km, elevation_deg, params: LinkParams, lat_deg=None, lon_deg=None, atm_db=None
):
    """Capacity of each link (Mbit/s): spectral efficiency x symbol rate; 0 where closed."""
    return link_budget(range_km, elevation_deg, params, lat_deg, lon_deg, atm_db)["capacity_mbps"]


# --- presets ------------------------------------------------------------------------------------

STARLINK_USER_DOWNLINK_KU = LinkParams(
    name="starlink_user_downlink_ku",
    frequency_ghz=11.7,
    bandwidth_mhz=240.0,
    eirp_dbw=21.9 + 10.0 * np.log10(240.0),
    gt_dbk=10.0,
    roll_off=32.0 / 1024.0,
    implementation_margin_db=0.5,
    misc_loss_db=0.0,
    atm_model="simple",
    clear_sky_zenith_db=0.37,
    rain_margin_db=0.9,
    exceedance_pct=0.5,
    antenna_diameter_m=0.5,
)
"""Starlink satellite -> user terminal, one Ku channel.

- band 10.7-12.7 GHz, P (SpaceX, SAT-LOA-20161115-00118 Attachment A, 2016; del Portillo
  et al., Acta Astronautica 159, 2019; SpaceX, SES-LIC-20230228-00228 narrative, 2023);
  carrier 11.7 GHz = band centre (D: (10.7 + 12.7) / 2).
- 240 MHz occupied in a 250 MHz slot, A (Humphreys et al., "Signal Structure of the Starlink
  Ku-Band Downlink", IEEE TAES 59(5), 2023).
- roll_off 1/32: the OFDM cyclic-prefix overhead (32 samples per 1,024-point symbol), so
  Rs = 240 / (1 + 1/32) = 232.7 Msym/s, D from the OFDM numerology of Humphreys et al.
  (2023, A).
- EIRP 45.7 dBW = 21.9 dBW/MHz x 240 MHz: **U** -- the low end of the 21.9-29.7 dBW/MHz that
  a secondary compilation quotes for SpaceX's 2020 modification (SAT-MOD-20200417-00037,
  Attachment A), whose EIRP tables we could not read (U). The real downlink is PFD-limited:
  power follows steering angle to hold a constant PFD at the ground (summary of the Gen1
  upgrade modification, aomway.com/?p=1604, N).
- G/T 10 dB/K: **U/D** -- no filing states it; derived: receive gain ~33-36 dBi (array factor
  10 log10(1,280 elements) = 31.1 dB plus a few dBi of element gain; element count from
  community teardowns, N) minus 10 log10(T_sys = 150-250 K) = 21.8-24.0 dB, i.e. ~9-14 dB/K;
  10 dB/K is 34 dBi - 10 log10(250 K).
- implementation margin 0.5 dB: **U** (assumed, no published figure; typical modem practice
  adds 0.5-1 dB to the ideal thresholds).
- simple atmosphere 0.37 dB zenith clear sky + 0.9 dB rain: D, fitted to itur 0.4.0 at
  Washington DC, p = 0.5 %, 40 deg (itur 0.4.0 total there 1.48 dB: gas 0.17, cloud 0.41,
  rain 0.89, scintillation 0.22 dB, rounded, combined as A_gas + sqrt((A_rain + A_cloud)^2
  + A_scint^2) per ITU-R P.618-13 §2.5; D).
- DVB-S2X ladder as a proxy: Starlink's waveform is OFDM (Humphreys et al., 2023, A); the
  thresholds are ETSI EN 302 307-1 Table 13 and EN 302 307-2 Table 20a (P).
"""

STARLINK_GATEWAY_KA = LinkParams(
    name="starlink_gateway_downlink_ka",
    frequency_ghz=18.5,
    bandwidth_mhz=250.0,
    eirp_dbw=48.0,
    gt_dbk=24.0,
    roll_off=0.05,
    implementation_margin_db=0.5,
    atm_model="simple",
    clear_sky_zenith_db=1.09,
    rain_margin_db=2.6,
    exceedance_pct=0.5,
    antenna_diameter_m=1.5,
)
"""Starlink satellite -> gateway (feeder downlink), one Ka channel.

- band 17.8-18.6 / 18.8-19.3 GHz, P (FCC IBFS SES-AMD-20210409-00640, Kalama, WA Ka-band
  gateway, granted 10 Dec 2021); carrier 18.5 GHz, a round in-band value.
- channel 250 MHz down, A (del Portillo et al., Acta Astronautica 159, 2019, reading the
  2018 design's filing).
- gateway G/T 24 dB/K: **D/U** -- no published figure; derived: the Kalama licence's receive
  gain 46.9 dBi at 19 GHz (P) - 10 log10(200 K, an assumed T_sys) = 23.9 dB/K.
- satellite Ka EIRP 48 dBW per channel: **U** -- no source gives it; placeholder only.
- antenna 1.5 m: D -- the Kalama licence's gains (46.9 dBi at 19 GHz, 49.5 dBi at 28 GHz)
  imply ~1.3-1.6 m: D = (lambda / pi) sqrt(G / eta) with eta = 0.5-0.65.
- roll-off 0.05 (DVB-S2X option) and margin 0.5 dB: **U** modelling choices.
- simple atmosphere 1.09 dB zenith clear sky + 2.6 dB rain: D, itur 0.4.0 at Washington DC,
  p = 0.5 %, 40 deg, 18.5 GHz, D = 1.5 m (ITU-R P.618-13 via ITU-Rpy 0.4.0).
"""

STARLINK_GATEWAY_KA_UPLINK = LinkParams(
    name="starlink_gateway_uplink_ka",
    frequency_ghz=28.5,
    bandwidth_mhz=480.0,
    eirp_dbw=60.5,
    gt_dbk=13.0,
    roll_off=0.05,
    implementation_margin_db=0.5,
    atm_model="simple",
    clear_sky_zenith_db=2.11,
    rain_margin_db=6.1,
    exceedance_pct=0.5,
    antenna_diameter_m=1.5,
)
"""Gateway -> Starlink satellite (feeder uplink), one Ka carrier.

- band 27.5-29.1 / 29.5-30.0 GHz, P (FCC IBFS SES-AMD-20210409-00640, Kalama, WA, 2021);
  carrier 28.5 GHz, a round in-band value.
- 480 MHz per carrier (emission 480MD7W) and 60.5 dBW max EIRP per carrier, P (same Kalama
  licence).
- satellite Ka G/T 13 dB/K: **U** -- assumed, no published figure (no filing we could read
  gives the satellite's receive G/T).
- simple atmosphere 2.11 dB zenith clear sky + 6.1 dB rain: D, itur 0.4.0 at Washington DC,
  p = 0.5 %, 40 deg, 28.5 GHz, D = 1.5 m (itur 0.4.0 gives that case a total of 9.42 dB).
"""

OPTICAL_ISL = LinkParams(
    name="optical_isl",
    frequency_ghz=193_414.5,  # 1550 nm carrier; unused for a fixed-capacity link
    bandwidth_mhz=1.0,  # unused
    atm_model="none",
    fixed_capacity_mbps=100_000.0,
    max_range_km=5_400.0,
)
"""Optical inter-satellite link: fixed 100 Gbit/s sustained (P/N: SpaceX's C. Brashears at SPIE
Photonics West, reported by PCMag, "Starlink's Laser System Is Beaming 42 Million GB of Data
Per Day", 31 Jan 2024; Starlink X post, Sept 2023), closed beyond 5,400 km (N, same PCMag
report). Peak links reach 200 Gbit/s (PCMag, Jan 2024; Starlink technology page,
starlink.com/technology, for V2 Mini lasers; P/N); set ``fixed_capacity_mbps`` to model
that."""

PRESETS = {
    p.name: p
    for p in (
        STARLINK_USER_DOWNLINK_KU,
        STARLINK_GATEWAY_KA,
        STARLINK_GATEWAY_KA_UPLINK,
        OPTICAL_ISL,
    )
}
"""Presets by name."""
