"""DVB-S2 / DVB-S2X MODCOD ladder and adaptive-coding-and-modulation (ACM) selection.

Values are the ideal Es/N0 thresholds (AWGN, perfect synchronisation, no implementation
margin) and spectral efficiencies (information bits per transmitted symbol, normal 64,800-bit
FECFRAME, no pilots) of:

- ETSI EN 302 307-1 (DVB-S2; V1.2.1, 2009-08), clause 6, Table 13 -- status P;
- ETSI EN 302 307-2 V1.1.1 (DVB-S2X, 2015-02), Table 20a -- status P.

The spectral efficiency in both tables is ``(K_bch - 80) / (64800 / log2(M) + 90)``: BCH
payload less the 80-bit BBHEADER, over the symbols of one PLFRAME (XFECFRAME plus the 90-symbol
PLHEADER). The tests check every row against that identity. Divide by ``1 + roll-off`` to get
bit/s/Hz of occupied bandwidth.

Starlink uses its own OFDM waveform (Humphreys et al., "Signal Structure of the Starlink
Ku-Band Downlink", IEEE TAES 59(5), 2023; A), so this ladder is a modelling proxy, as in
del Portillo et al. (Acta Astronautica 159, 2019).

Example
-------
>>> idx = select_modcod([5.0, -10.0], margin_db=0.5)
>>> [str(MODCOD_NAMES[i]) if i >= 0 else None for i in idx]
['QPSK 3/4', None]
"""

from __future__ import annotations

import numpy as np

from skymesh.errors import InputError

# (name, spectral efficiency in bit/symbol, ideal Es/N0 in dB, standard)
_DVB_S2_TABLE13 = (
    ("QPSK 1/4", 0.490243, -2.35),
    ("QPSK 1/3", 0.656448, -1.24),
    ("QPSK 2/5", 0.789412, -0.30),
    ("QPSK 1/2", 0.988858, 1.00),
    ("QPSK 3/5", 1.188304, 2.23),
    ("QPSK 2/3", 1.322253, 3.10),
    ("QPSK 3/4", 1.487473, 4.03),
    ("QPSK 4/5", 1.587196, 4.68),
    ("QPSK 5/6", 1.654663, 5.18),
    ("QPSK 8/9", 1.766451, 6.20),
    ("QPSK 9/10", 1.788612, 6.42),
    ("8PSK 3/5", 1.779991, 5.50),
    ("8PSK 2/3", 1.980636, 6.62),
    ("8PSK 3/4", 2.228124, 7.91),
    ("8PSK 5/6", 2.478562, 9.35),
    ("8PSK 8/9", 2.646012, 10.69),
    ("8PSK 9/10", 2.679207, 10.98),
    ("16APSK 2/3", 2.637201, 8.97),
    ("16APSK 3/4", 2.966728, 10.21),
    ("16APSK 4/5", 3.165623, 11.03),
    ("16APSK 5/6", 3.300184, 11.61),
    ("16APSK 8/9", 3.523143, 12.89),
    ("16APSK 9/10", 3.567342, 13.13),
    ("32APSK 3/4", 3.703295, 12.73),
    ("32APSK 4/5", 3.951571, 13.64),
    ("32APSK 5/6", 4.119540, 14.28),
    ("32APSK 8/9", 4.397854, 15.69),
    ("32APSK 9/10", 4.453027, 16.05),
)
_DVB_S2X_TABLE20A = (
    ("QPSK 2/9", 0.434841, -2.85),
    ("QPSK 13/45", 0.567805, -2.03),
    ("QPSK 9/20", 0.889135, 0.22),
    ("QPSK 11/20", 1.088581, 1.45),
    ("8APSK 5/9-L", 1.647211, 4.73),
    ("8APSK 26/45-L", 1.713601, 5.13),
    ("8PSK 23/36", 1.896173, 6.12),
    ("8PSK 25/36", 2.062148, 7.02),
    ("8PSK 13/18", 2.145136, 7.49),
    ("16APSK 1/2-L", 1.972253, 5.97),
    ("16APSK 8/15-L", 2.104850, 6.55),
    ("16APSK 5/9-L", 2.193247, 6.84),
    ("16APSK 26/45", 2.281645, 7.51),
    ("16APSK 3/5", 2.370043, 7.80),
    ("16APSK 3/5-L", 2.370043, 7.41),
    ("16APSK 28/45", 2.458441, 8.10),
    ("16APSK 23/36", 2.524739, 8.38),
    ("16APSK 2/3-L", 2.635236, 8.43),
    ("16APSK 25/36", 2.745734, 9.27),
    ("16APSK 13/18", 2.856231, 9.71),
    ("16APSK 7/9", 3.077225, 10.65),
    ("16APSK 77/90", 3.386618, 11.99),
    ("32APSK 2/3-L", 3.2895, 11.10),
    ("32APSK 32/45", 3.510192, 11.75),
    ("32APSK 11/15", 3.620536, 12.17),
    ("32APSK 7/9", 3.841226, 13.05),
    ("64APSK 32/45-L", 4.206428, 13.98),
    ("64APSK 11/15", 4.338659, 14.81),
    ("64APSK 7/9", 4.603122, 15.47),
    ("64APSK 4/5", 4.735354, 15.87),
    ("64APSK 5/6", 4.933701, 16.55),
    ("128APSK 3/4", 5.163248, 17.73),
    ("128APSK 7/9", 5.355556, 18.53),
    ("256APSK 29/45-L", 5.065690, 16.98),
    ("256APSK 2/3-L", 5.241514, 17.24),
    ("256APSK 31/45-L", 5.417338, 18.10),
    ("256APSK 32/45", 5.593162, 18.59),
    ("256APSK 11/15-L", 5.768987, 18.84),
    ("256APSK 3/4", 5.900855, 19.57),
)

_ROWS = [(n, e, t, "S2") for n, e, t in _DVB_S2_TABLE13] + [
    (n, e, t, "S2X") for n, e, t in _DVB_S2X_TABLE20A
]

MODCOD_NAMES = np.array([r[0] for r in _ROWS])
"""Every MODCOD of both tables (S2 Table 13 first, then S2X Table 20a), as in the standard."""
MODCOD_EFFICIENCY = np.array([r[1] for r in _ROWS])
"""Spectral efficiency per MODCOD (bit/symbol, normal frames, no pilots)."""
MODCOD_ESN0_DB = np.array([r[2] for r in _ROWS])
"""Ideal Es/N0 threshold per MODCOD (dB)."""
MODCOD_STANDARD = np.array([r[3] for r in _ROWS])
"""'S2' (EN 302 307-1 Table 13) or 'S2X' (EN 302 307-2 Table 20a) per MODCOD."""

MODCOD_SETS = ("s2", "s2x")
"""'s2': the 28 DVB-S2 MODCODs; 's2x': those plus the 39 DVB-S2X additions (EN 302 307-2
Table 20a on top of EN 302 307-1 Table 13)."""


def _ladder(modcod_set: str):
    """Indices (into MODCOD_*) of the efficient ladder, sorted by threshold.

    A MODCOD is kept only if no MODCOD with an equal or lower threshold has an equal or
    higher efficiency, so "highest efficiency whose threshold fits" becomes "last threshold
    that fits" and one ``searchsorted`` does the selection.
    """
    if modcod_set not in MODCOD_SETS:
        raise InputError(
            f"unknown MODCOD set {modcod_set!r}; expected one of {MODCOD_SETS}", field="modcod_set"
        )
    cand = np.flatnonzero((MODCOD_STANDARD == "S2") | (modcod_set == "s2x"))
    # threshold ascending; at equal threshold, higher efficiency first
    order = cand[np.lexsort((-MODCOD_EFFICIENCY[cand], MODCOD_ESN0_DB[cand]))]
    eff = MODCOD_EFFICIENCY[order]
    best_before = np.concatenate(([-np.inf], np.maximum.accumulate(eff)[:-1]))
    return order[eff > best_before]


_LADDERS = {s: _ladder(s) for s in MODCOD_SETS}


def ladder(modcod_set: str = "s2x") -> dict:
    """The efficient MODCOD ladder: names, efficiency (bit/symbol) and Es/N0 (dB), ascending."""
    idx = _LADDERS[modcod_set] if modcod_set in _LADDERS else _ladder(modcod_set)
    return {
        "index": idx,
        "name": MODCOD_NAMES[idx],
        "spectral_efficiency": MODCOD_EFFICIENCY[idx],
        "esn0_db": MODCOD_ESN0_DB[idx],
    }


def select_modcod(esn0_db, margin_db: float = 0.0, modcod_set: str = "s2x") -> np.ndarray:
    """Highest-efficiency MODCOD whose ideal threshold + margin <= Es/N0, vectorised.

    Parameters
    ----------
    esn0_db : array_like
        Available Es/N0 per link (dB). NaN counts as a closed link.
    margin_db : float
        Implementation margin added to every ideal threshold (dB); 0.5-1 dB is typical
        practice (status U: assumed, no published figure).
    modcod_set : {'s2x', 's2'}

    Returns
    -------
    ndarray of int
        Index into ``MODCOD_NAMES`` / ``MODCOD_EFFICIENCY`` per link; -1 where even the most
        robust MODCOD does not close (link closed, capacity 0).
    """
    lad = _LADDERS[modcod_set] if modcod_set in _LADDERS else _ladder(modcod_set)
    x = np.asarray(esn0_db, dtype=float)
    thr = MODCOD_ESN0_DB[lad] + float(margin_db)
    pos = np.searchsorted(thr, np.where(np.isnan(x), -np.inf, x), side="right") - 1
    return np.where(pos >= 0, lad[np.clip(pos, 0, None)], -1)


def spectral_efficiency(esn0_db, margin_db: float = 0.0, modcod_set: str = "s2x") -> np.ndarray:
    """Spectral efficiency (bit/symbol) of the MODCOD chosen by `select_modcod`; 0 if closed."""
    idx = select_modcod(esn0_db, margin_db, modcod_set)
    return np.where(idx >= 0, MODCOD_EFFICIENCY[np.clip(idx, 0, None)], 0.0)
