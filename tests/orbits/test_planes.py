"""Shell and plane inference, on synthetic shells and the real 2025-12-04 Starlink set.

Reference figures: the snapshot's provenance (CelesTrak's whole Starlink group,
9,042 objects; shared data README) and the FCC-authorised Gen1 design (FCC 21-48,
27 Apr 2021, P): shell 2 at 70 deg, 570 km, 36 planes x 20; shell 4 at 53.2 deg,
540 km, 72 planes x 22; polar shells at 97.6 deg.
"""

import numpy as np
import pytest

from skymesh.orbits.planes import cluster_raan, grid_slots, infer_planes, rank_within
from skymesh.orbits.tle import load_tle_constellation


def circ_mean_deg(a):
    return np.degrees(np.angle(np.mean(np.exp(1j * np.radians(a))))) % 360.0


def circ_spread_deg(a):
    m = circ_mean_deg(a)
    d = (np.asarray(a) - m + 180.0) % 360.0 - 180.0
    return d.max() - d.min()


def synthetic_shell(planes, per_plane, inc, alt, raan0, rng, jitter=0.2):
    p = np.repeat(np.arange(planes), per_plane)
    s = np.tile(np.arange(per_plane), planes)
    raan = (raan0 + 360.0 * p / planes + rng.uniform(-jitter, jitter, p.size)) % 360.0
    u = (360.0 * s / per_plane + 7.0 * p + rng.uniform(-1, 1, p.size)) % 360.0
    return (
        np.full(p.size, inc) + rng.normal(0, 0.005, p.size),
        np.full(p.size, alt) + rng.normal(0, 1.0, p.size),
        raan,
        u,
        p,
        s,
    )


def test_synthetic_shells_recovered():
    rng = np.random.default_rng(1)
    a = synthetic_shell(12, 10, 53.0, 550.0, 357.0, rng)  # wraps through 0 deg
    b = synthetic_shell(6, 15, 97.6, 560.0, 20.0, rng)
    inc, alt, raan, u, p_true, s_true = (np.concatenate(x) for x in zip(a, b))
    shell_true = np.repeat([0, 1], [120, 90])
    perm = rng.permutation(len(inc))
    shell, plane, slot = infer_planes(inc[perm], alt[perm], raan[perm], u[perm], min_shell_size=50)
    inv = np.argsort(perm)
    shell, plane, slot = shell[inv], plane[inv], slot[inv]
    assert np.array_equal(shell, shell_true)
    # shell 0: design plane 0 sits at RAAN ~357 deg, the highest -> inferred last.
    assert np.array_equal(plane[:120], (p_true[:120] - 1) % 12)
    assert np.array_equal(plane[120:], p_true[120:])
    # slot = rank by argument of latitude from the ascending node
    for sh, pl in {(s, q) for s, q in zip(shell, plane)}:
        m = (shell == sh) & (plane == pl)
        assert np.array_equal(slot[m], np.argsort(np.argsort(u[m])))


def test_outliers_and_nan_get_minus_one():
    rng = np.random.default_rng(2)
    inc, alt, raan, u, _, _ = synthetic_shell(10, 10, 53.0, 550.0, 0.0, rng)
    ecc = np.full(len(inc), 0.0001)
    ecc[3] = 0.02  # orbit raising on a transfer orbit
    alt[7] = 350.0  # a lone straggler far below
    raan[11] = np.nan  # failed to propagate
    shell, plane, slot = infer_planes(inc, alt, raan, u, ecc, min_shell_size=20)
    assert shell[3] == plane[3] == slot[3] == -1
    assert shell[7] == -1 and shell[11] == -1
    keep = np.setdiff1d(np.arange(len(inc)), [3, 7, 11])
    assert np.all(shell[keep] == 0) and plane.max() == 9


def test_cluster_raan_wraps_and_orders():
    raan = np.array([359.8, 0.1, 0.3, 120.2, 119.9, 240.0, 240.4])
    assert cluster_raan(raan, 1.0).tolist() == [0, 0, 0, 1, 1, 2, 2]
    raan = np.array([10.0, 10.2, 350.0, 349.7, 100.0])
    assert cluster_raan(raan, 1.0).tolist() == [0, 0, 2, 2, 1]


@pytest.fixture(scope="module")
def starlink(starlink_tle_path):
    con, _ = load_tle_constellation(starlink_tle_path)
    inc = con.extra["mean_inclination_deg"]
    shell, plane, slot = infer_planes(
        inc, con.altitude_km, con.raan_deg, con.arg_latitude_deg, con.extra["eccentricity"]
    )
    return con, inc, shell, plane, slot


def shell_near(starlink, inc_deg, alt_km):
    con, inc, shell, _, _ = starlink
    found = [
        s
        for s in range(shell.max() + 1)
        if abs(np.median(inc[shell == s]) - inc_deg) < 0.1
        and abs(np.median(con.altitude_km[shell == s]) - alt_km) < 8
    ]
    assert len(found) == 1, f"expected one shell near {inc_deg} deg, {alt_km} km"
    return found[0]


def test_shells_do_not_mix_inclinations(starlink):
    con, inc, shell, _, _ = starlink
    for s in range(shell.max() + 1):
        m = shell == s
        assert np.ptp(inc[m]) < 0.15 and np.ptp(con.altitude_km[m]) <= 10.0
    # README: 482 objects at 97.6 deg; their shells hold nothing else.
    polar = np.abs(inc - 97.6) < 0.1
    polar_shells = set(shell[polar & (shell >= 0)])
    assert len(polar_shells) >= 1
    for s in polar_shells:
        assert np.all(polar[shell == s])
    assert (polar & (shell >= 0)).sum() > 400


def test_70_deg_shell(starlink):
    con, inc, shell, plane, slot = starlink
    s = shell_near(starlink, 70.0, 572.0)
    m = shell == s
    # README: 575 satellites near 570 km at 70 deg (10 km bins)
    assert 550 <= m.sum() <= 585
    planes = plane[m]
    raan = con.raan_deg[m]
    n_planes = planes.max() + 1
    assert sorted(set(planes)) == list(range(n_planes))
    means = np.array([circ_mean_deg(raan[planes == p]) for p in range(n_planes)])
    spreads = np.array([circ_spread_deg(raan[planes == p]) for p in range(n_planes)])
    assert spreads.max() < 2.0
    # numbered in RAAN order: plane p+1 east of plane p
    assert np.all(np.diff(means) > 0)
    # FCC design: 36 planes, 10 deg apart. Every step between occupied planes is a
    # whole number of design steps, and those steps add up to 36 around the circle.
    steps = np.diff(np.append(means, means[0] + 360.0)) / 10.0
    assert np.all(np.abs(steps - np.round(steps)) < 0.06)
    assert np.round(steps).sum() == 36
    # the snapshot has ~30 of the 36 planes occupied (575 satellites, ~20 per plane)
    assert 28 <= n_planes <= 36
    # slots rank the argument of latitude within each plane
    u = con.arg_latitude_deg[m]
    for p in range(n_planes):
        k = planes == p
        assert np.array_equal(slot[m][k], np.argsort(np.argsort(u[k])))


def test_53_2_deg_shell_has_72_planes(starlink):
    """Gen1 shell 4 (53.2 deg, 540 km; FCC 72 x 22): all 72 planes are occupied."""
    con, inc, shell, plane, _ = starlink
    s = shell_near(starlink, 53.22, 540.0)
    m = shell == s
    assert 1300 <= m.sum() <= 1400  # README: 1,387 at 530-540 km, 53.1-53.4 deg
    assert plane[m].max() + 1 == 72
    raan = con.raan_deg[m]
    means = np.array([circ_mean_deg(raan[plane[m] == p]) for p in range(72)])
    steps = np.diff(np.append(means, means[0] + 360.0))
    assert np.all(np.abs(steps - 5.0) < 0.5)


def test_unassigned_are_few(starlink):
    con, _, shell, plane, slot = starlink
    out = shell < 0
    assert np.all(plane[out] == -1) and np.all(slot[out] == -1)
    # README: a few hundred satellites are orbit raising or decaying
    assert 100 < out.sum() < 1000


def test_oneweb_walker_star(shared_data):
    """OneWeb: 12 planes x 49 at 87.9 deg, ~1200 km, over 180 deg of RAAN (15 deg steps).

    Its planes are staggered in altitude by ~40 km, hence the wider window."""
    con, _ = load_tle_constellation(shared_data / "oneweb_tle_20251007.txt")
    shell, plane, _ = infer_planes(
        con.extra["mean_inclination_deg"],
        con.altitude_km,
        con.raan_deg,
        con.arg_latitude_deg,
        con.extra["eccentricity"],
        altitude_window_km=60.0,
    )
    assert shell.max() == 0 and 640 <= (shell == 0).sum() <= 651  # README: 648 at 87.9 deg
    assert plane.max() + 1 == 12
    means = np.array([circ_mean_deg(con.raan_deg[plane == p]) for p in range(12)])
    steps = np.sort(np.diff(np.append(means, means[0] + 360.0)))
    assert np.all(np.abs(steps[:11] - 15.0) < 0.75)  # ~180 deg / 12 apart
    assert steps[11] > 180.0  # the seam


def walker_u(planes, per_plane, phasing, rng, noise_slots=0.01, start_deg=-0.05):
    """Walker design arguments of latitude (deg), plane-major, with a little noise."""
    p = np.repeat(np.arange(planes), per_plane)
    k = np.tile(np.arange(per_plane), planes)
    slot_deg = 360.0 / per_plane
    u = start_deg + slot_deg * (k + phasing * p / planes)
    u += rng.uniform(-noise_slots, noise_slots, p.size) * slot_deg
    return p, k, np.mod(u, 360.0)


@pytest.mark.parametrize("phasing", [0, 1, 3, 7])
def test_grid_slots_are_walkers_numbering(phasing):
    """Slot 0 a hair before the ascending node ranks last by argument of latitude, but
    its grid slot is still 0; phasing F moves the seam by F slots (Walker 1984)."""
    p, k, u = walker_u(8, 5, phasing, np.random.default_rng(phasing))
    slot, seam, kind = grid_slots(p, u)
    assert kind == "walker" and seam == phasing % 5
    assert np.array_equal(slot, k)
    # the old rank-from-node numbering is not consistent here
    assert not np.array_equal(rank_within(p, u), k)


def test_grid_slots_half_slot_alternation_numbers_from_the_node():
    p, k, u = walker_u(6, 7, 0, np.random.default_rng(3))
    u = np.mod(u + np.where(p % 2 == 1, 180.0 / 7, 0.0), 360.0)
    slot, seam, kind = grid_slots(p, u)
    assert kind == "half-slot" and seam == 0 and np.array_equal(slot, k)


def test_grid_slots_irregular_shells():
    rng = np.random.default_rng(4)
    p, k, u = walker_u(6, 7, 1, rng)
    keep = np.arange(len(p)) != 9  # one satellite missing
    assert grid_slots(p[keep], u[keep])[2] == "irregular"
    u2 = u.copy()
    u2[5] += 0.2 * 360.0 / 7  # one satellite a fifth of a slot off
    assert grid_slots(p, u2)[2] == "irregular"
    steps = np.where(p >= 3, 0.3 * 360.0 / 7, 0.0)  # the phase step changes mid-shell
    assert grid_slots(p, np.mod(u + steps, 360.0))[2] == "irregular"
