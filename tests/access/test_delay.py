"""Access-delay components: sums, broadcasting, and values against hand arithmetic."""

import numpy as np
import pytest

from skymesh.access import delay
from skymesh.access.delay import (
    COLUMNS,
    COMPONENTS,
    DEFAULTS,
    access_components_ms,
    queueing_ms,
    slant_range_km,
)
from skymesh.constants import SPEED_OF_LIGHT_KM_S
from skymesh.errors import InputError


def test_frame_period_is_750_hz():
    # Humphreys et al. 2023: frames of 1/750 s.
    assert delay.FRAME_MS == pytest.approx(4.0 / 3.0)


def test_slant_range_matches_the_geometry_formula_values():
    # Independent: the law of cosines in the triangle Earth centre - ground - satellite.
    R, h = 6378.137, 550.0
    for el in (25.0, 40.0, 90.0):
        d = slant_range_km(h, el)
        cos_angle = np.cos(np.deg2rad(90.0 + el))  # angle at the ground point
        assert (R + h) ** 2 == pytest.approx(R**2 + d**2 - 2 * R * d * cos_angle)


def test_columns_sum_and_broadcast():
    out = access_components_ms(
        np.array([0, 3, 10]),
        load=0.0,
        space_rtt_ms=np.array([8.0, 15.0, 40.0]),
        fibre_ms=np.array([5.0, 5.0, 7.0]),
    )
    assert tuple(out) == COLUMNS
    parts = sum(out[c] for c in COLUMNS[:-1])
    np.testing.assert_allclose(out["rtt_ms"], parts)
    np.testing.assert_array_equal(out["space_rtt_ms"], [8.0, 15.0, 40.0])
    # Per-hop processing grows with ISL hops, by the per-hop default.
    assert out["processing_ms"][1] - out["processing_ms"][0] == pytest.approx(
        3 * DEFAULTS.isl_hop_ms
    )
    two_d = access_components_ms(np.zeros((4, 5)), space_rtt_ms=1.0)
    assert all(v.shape == (4, 5) for v in two_d.values())


def test_defaults_by_hand():
    f = 1000.0 / 750.0
    user_rtt = 2e3 * slant_range_km(550.0, 45.0) / SPEED_OF_LIGHT_KM_S
    out = access_components_ms(0, space_rtt_ms=0.0, detail=True)
    assert out["frame_ms"] == pytest.approx(2 * 1.5 * f)
    assert out["grant_ms"] == pytest.approx(2 * f + user_rtt)
    assert out["access_ms"] == pytest.approx(2 * 1.5 * f + 2 * f + user_rtt + 3.0)
    assert out["processing_ms"] == pytest.approx(0.5 + 0.5)
    assert out["queueing_ms"] == 0.0
    # Ground to ground: two user links, no gateway or PoP.
    g2g = access_components_ms(0, user_links=2, gateway=False)
    assert g2g["access_ms"] == pytest.approx(2 * out["access_ms"])
    assert g2g["processing_ms"] == 0.0


def test_unserved_samples_are_nan_in_every_column():
    out = access_components_ms([1, 1], space_rtt_ms=[np.nan, 10.0])
    assert all(np.isnan(v[0]) and np.isfinite(v[1]) for v in out.values())


def test_queueing_mm1():
    f = 1000.0 / 750.0
    assert queueing_ms(0.0) == 0.0
    assert queueing_ms(0.5) == pytest.approx(2 * f)  # rho/(1-rho) = 1
    assert queueing_ms(0.9) == pytest.approx(2 * 9 * f)
    assert np.all(np.diff(queueing_ms(np.linspace(0, 0.95, 20))) > 0)
    with pytest.raises(InputError, match="load"):
        queueing_ms(1.0)
    with pytest.raises(InputError, match="load"):
        access_components_ms(0, load=-0.1)


def test_table_is_complete_and_ordered():
    for c in COMPONENTS:
        assert c["low_ms"] <= c["value_ms"] <= c["high_ms"]
        assert c["status"] in ("A", "D", "U") and c["source"]
        assert c["column"] in COLUMNS
    assert {c["name"] for c in COMPONENTS} >= set(delay.DETAIL_COLUMNS)


def test_params_override_checked():
    p = DEFAULTS.with_(round_robin_ms=0.0, grant_cycles=0.0)
    out = access_components_ms(0, params=p, detail=True)
    assert out["round_robin_ms"] == 0.0 and out["grant_ms"] == 0.0
    with pytest.raises(InputError, match="unknown access-delay parameter"):
        DEFAULTS.with_(nope=1.0)
    with pytest.raises(InputError):
        DEFAULTS.with_(frame_ms=-1.0)
