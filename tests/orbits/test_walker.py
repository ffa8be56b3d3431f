"""Walker shells: radius, inclination, plane spacing, phasing and J2 drift from first principles."""

import numpy as np
import pytest

from skymesh.constants import WGS84_A_KM
from skymesh.errors import InputError
from skymesh.orbits.constellation import Shell
from skymesh.orbits.presets import load_constellation
from skymesh.orbits.walker import (
    circular_positions_inertial,
    circular_rates_rad_s,
    walker_constellation,
)


def _angular_momentum(c, t):
    r, v = circular_positions_inertial(c, t, with_velocity=True)
    return r, v, np.cross(r, v)


def test_preset_sizes_match_the_filings():
    assert len(load_constellation("starlink-shell1")) == 72 * 22
    assert len(load_constellation("starlink-gen1")) == 4408
    assert len(load_constellation("kuiper")) == 34 * 34 + 36 * 36 + 28 * 28
    assert len(load_constellation("oneweb")) == 648


def test_radius_and_inclination():
    c = walker_constellation(Shell(550.0, 53.0, 72, 22, 1))
    t = np.linspace(0, 6000, 7)
    r, v, h = _angular_momentum(c, t)
    assert np.allclose(np.linalg.norm(r, axis=-1), WGS84_A_KM + 550.0, atol=1e-9)
    inc = np.rad2deg(np.arccos(h[..., 2] / np.linalg.norm(h, axis=-1)))
    assert np.allclose(inc, 53.0, atol=1e-9)
    # circular: speed is sqrt(mu / r)
    assert np.allclose(np.linalg.norm(v, axis=-1), np.sqrt(398600.4418 / (WGS84_A_KM + 550)))


def test_plane_spacing_and_phasing():
    shell = Shell(550.0, 53.0, 72, 22, 5)
    c = walker_constellation(shell)
    r, v, h = _angular_momentum(c, np.array([0.0]))
    raan = np.rad2deg(np.arctan2(h[:, 0, 0], -h[:, 0, 1])) % 360
    per_plane = raan.reshape(72, 22)
    spread = (per_plane - per_plane[:, :1] + 180) % 360 - 180
    assert np.allclose(spread, 0, atol=1e-9)  # one RAAN per plane
    assert np.allclose((np.diff(per_plane[:, 0]) + 180) % 360 - 180, 360 / 72, atol=1e-9)
    # argument of latitude from the ascending node direction
    node = np.stack([np.cos(np.deg2rad(raan)), np.sin(np.deg2rad(raan)), 0 * raan], -1)
    pos = r[:, 0]
    u = (
        np.rad2deg(
            np.arctan2(
                np.einsum("ij,ij->i", np.cross(node, pos), h[:, 0])
                / np.linalg.norm(h[:, 0], axis=-1),
                np.einsum("ij,ij->i", node, pos),
            )
        )
        % 360
    )
    u = u.reshape(72, 22)
    assert np.allclose(np.diff(u[0]) % 360, 360 / 22, atol=1e-9)
    # satellite k of plane p+1 leads satellite k of plane p by 360 F / T
    lead = (u[1:, :] - u[:-1, :] + 180) % 360 - 180
    assert np.allclose(lead, 360 * 5 / (72 * 22), atol=1e-9)


def test_walker_star_spreads_planes_over_half_a_turn():
    c = load_constellation("oneweb")
    assert np.isclose(c.raan_deg.max(), 170.0)  # 18 planes over 180 deg: 0, 10, ..., 170


def test_j2_makes_the_polar_shell_sun_synchronous():
    # A 560 km orbit at 97.6 deg is sun-synchronous: its node advances ~0.9856 deg/day
    # (360 deg per tropical year), the textbook design rule for such orbits.
    _, raan_rate = circular_rates_rad_s(560.0, 97.6, j2=True)
    deg_per_day = np.rad2deg(raan_rate) * 86400
    assert deg_per_day == pytest.approx(360 / 365.2422, rel=0.02)
    # and a 53 deg shell regresses (negative rate) by a few deg/day
    _, r53 = circular_rates_rad_s(550.0, 53.0, j2=True)
    assert -6 < np.rad2deg(r53) * 86400 < -3


def test_period_matches_keplers_third_law():
    u_rate, _ = circular_rates_rad_s(550.0, 53.0)
    period_min = 2 * np.pi / u_rate / 60
    assert period_min == pytest.approx(95.6, abs=0.2)  # 550 km LEO period, ~95.6 min


@pytest.mark.parametrize(
    "kwargs,field",
    [
        (dict(altitude_km=50.0), "altitude_km"),
        (dict(inclination_deg=200.0), "inclination_deg"),
        (dict(planes=0), "planes"),
        (dict(phasing=72), "phasing"),
    ],
)
def test_bad_shells_are_clear_errors(kwargs, field):
    base = dict(altitude_km=550.0, inclination_deg=53.0, planes=72, sats_per_plane=22, phasing=1)
    base.update(kwargs)
    with pytest.raises(InputError) as err:
        walker_constellation(Shell(**base))
    assert err.value.field == field


def test_unknown_preset_suggests_close_names():
    with pytest.raises(InputError, match="starlink-shell1"):
        load_constellation("starlink-shel1")
