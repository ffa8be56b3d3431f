"""The TLE writer, and the +Grid inferred from TLEs SkyMesh writes from Walker shells.

References: the TLE column layout (CelesTrak "Two-Line Element Set Format"),
read back independently by sgp4's ``twoline2rv``; the Walker +Grid written
out from Walker's design indices (Walker, J. Br. Interplanet. Soc. 37,
1984: satellite k of plane p+1 leads satellite k of plane p by 360 F / T
deg), and Hypatia's +Grid for its half-slot layout (satgenpy
``generate_plus_grid_isls``: satellite j of plane i to satellite j of plane
i+1 mod P).
"""

import math
from datetime import datetime, timezone

import numpy as np
import pytest
from sgp4.api import WGS72, Satrec, jday

from skymesh.constants import MU_EARTH_KM3_S2, WGS84_A_KM
from skymesh.errors import InputError
from skymesh.links.isl import plus_grid_pairs
from skymesh.orbits.constellation import Shell
from skymesh.orbits.planes import assign_planes
from skymesh.orbits.tle import load_tle_constellation, parse_tle_text
from skymesh.orbits.tle_writer import (
    mean_motion_rev_day,
    tle_lines,
    walker_tle_text,
    write_tle_file,
)

EPOCH = "2026-03-15T06:30:00Z"


def design_grid(planes, per_plane, seam_shift):
    """+Grid of satellite index p * S + k from design indices (an independent formulation)."""
    pairs = set()
    for p in range(planes):
        for k in range(per_plane):
            me = p * per_plane + k
            pairs.add(frozenset((me, p * per_plane + (k + 1) % per_plane)))
            if p + 1 < planes:
                pairs.add(frozenset((me, (p + 1) * per_plane + k)))
            elif planes > 2:
                pairs.add(frozenset((me, (k + seam_shift) % per_plane)))
    return pairs


def as_set(pairs):
    return {frozenset((int(a), int(b))) for a, b in pairs}


def inferred_grid(tmp_path, text, name="shell.tle"):
    path = tmp_path / name
    write_tle_file(path, text)
    con, skipped = load_tle_constellation(path)
    assert skipped == []
    con = assign_planes(con, min_shell_size=10)
    assert np.all(con.shell == 0)
    return con, plus_grid_pairs(con)


def test_lines_are_valid_and_sgp4_reads_back_the_elements():
    inc = np.array([53.0, 97.6, 0.0, 179.9])
    raan = np.array([0.0, 359.99999, 123.4567, 5.0])  # 359.99999 rounds to 0.0000
    mean_anomaly = np.array([10.0, 200.5, 0.0, 359.9])
    alt = np.array([550.0, 560.0, 1200.0, 340.0])
    motion = mean_motion_rev_day(alt)
    ecc = np.array([0.0, 1e-4, 0.0012345, 0.0])
    l1, l2 = tle_lines(
        inc,
        raan,
        mean_anomaly,
        motion,
        EPOCH,
        eccentricity=ecc,
        arg_perigee_deg=[0.0, 90.0, 45.0, 0.0],
        first_catalog_number=99996,
    )
    names, line1s, line2s, skipped = parse_tle_text("\n".join(a + "\n" + b for a, b in zip(l1, l2)))
    assert skipped == [] and len(line1s) == 4 and all(len(x) == 69 for x in l1 + l2)
    jd, fr = jday(2026, 3, 15, 6, 30, 0)
    for i in range(4):
        s = Satrec.twoline2rv(l1[i], l2[i], WGS72)
        assert s.satnum == 99996 + i
        assert math.degrees(s.inclo) == pytest.approx(inc[i], abs=5e-5)
        assert math.degrees(s.nodeo) % 360 == pytest.approx(
            raan[i] % 360 if i != 1 else 0.0, abs=5e-5
        )
        assert math.degrees(s.mo) == pytest.approx(mean_anomaly[i], abs=5e-5)
        assert s.ecco == pytest.approx(ecc[i], abs=5e-8)
        assert s.jdsatepoch + s.jdsatepochF == pytest.approx(jd + fr, abs=1e-8)
        # Kepler's third law by hand: n = sqrt(mu / a^3), a = R + h (rev/day)
        n_hand = math.sqrt(MU_EARTH_KM3_S2 / (WGS84_A_KM + alt[i]) ** 3) * 86400 / (2 * math.pi)
        assert s.no_kozai * 1440 / (2 * math.pi) == pytest.approx(n_hand, abs=1e-8)
    assert 15.0 < motion[0] < 15.1  # a 550 km orbit: ~95.6 min period


def test_bad_elements_are_refused():
    with pytest.raises(InputError, match="5-digit"):
        tle_lines([53.0, 53.0], [0, 0], [0, 0], [15.0, 15.0], EPOCH, first_catalog_number=99999)
    with pytest.raises(InputError, match="inclination"):
        tle_lines([190.0], [0], [0], [15.0], EPOCH)
    with pytest.raises(InputError, match="mean motion"):
        tle_lines([53.0], [0], [0], [25.0], EPOCH)
    with pytest.raises(InputError, match="1957-2056"):
        tle_lines([53.0], [0], [0], [15.0], datetime(2070, 1, 1, tzinfo=timezone.utc))


def test_round_trip_keeps_altitude_and_epoch(tmp_path):
    con, _ = inferred_grid(tmp_path, walker_tle_text(Shell(550.0, 53.0, 6, 4, 1), epoch=EPOCH))
    assert np.allclose(con.altitude_km, 550.0, atol=1e-3)
    # the epoch field holds 1e-8 day (0.86 ms)
    error_s = (con.epoch - datetime(2026, 3, 15, 6, 30, tzinfo=timezone.utc)).total_seconds()
    assert abs(error_s) < 0.5e-8 * 86400
    assert list(con.sat_names[:2]) == ["SAT-0-0-0", "SAT-0-0-1"]


@pytest.mark.parametrize(
    "planes, per_plane, phasing",
    [
        (6, 4, 0),
        (6, 4, 1),
        (6, 4, 2),
        (6, 4, 4),
        (6, 4, 5),
        (12, 8, 0),
        (12, 8, 1),
        (12, 8, 5),
        (12, 8, 7),
        (12, 8, 11),
        (72, 22, 1),
        (72, 22, 17),
        (72, 22, 37),
        (72, 22, 71),
    ],
)
def test_inferred_grid_is_the_walker_grid(tmp_path, planes, per_plane, phasing):
    text = walker_tle_text(Shell(550.0, 53.0, planes, per_plane, phasing), epoch=EPOCH)
    _, got = inferred_grid(tmp_path, text)
    assert as_set(got) == design_grid(planes, per_plane, phasing)


@pytest.mark.parametrize(
    "planes, per_plane, inc, raan_offset",
    [
        (72, 22, 53.0, 0.0),
        (6, 4, 53.0, 0.0),
        (7, 5, 53.0, 0.0),
        (7, 5, 53.0, -1.0),
        (27, 13, 98.98, -1.0),
        (72, 22, 53.0, -1.0),
    ],
)
def test_inferred_grid_of_the_half_slot_layout_is_hypatias(
    tmp_path, planes, per_plane, inc, raan_offset
):
    """Alternate planes half a slot apart: every cross-plane partner is an exact tie in
    argument of latitude; the grid must still be j -> j (and j -> j across the seam).
    A RAAN offset of -1 deg makes design plane 0 the last plane by RAAN, so the
    inferred numbering starts elsewhere (with an odd plane count, between two planes
    of the same phase)."""
    text = walker_tle_text(
        Shell(550.0, inc, planes, per_plane, 0),
        epoch=EPOCH,
        half_slot=True,
        raan_offset_deg=raan_offset,
    )
    _, got = inferred_grid(tmp_path, text)
    assert as_set(got) == design_grid(planes, per_plane, 0)


def test_walker_f_half_p_takes_the_half_slot_grid(tmp_path):
    """Walker F = P/2 is the same set of points as the half-slot layout; the documented
    convention gives it Hypatia's grid. Compare by position, not by index."""
    planes, per_plane = 12, 8
    con_f, got_f = inferred_grid(
        tmp_path, walker_tle_text(Shell(550.0, 53.0, planes, per_plane, 6), epoch=EPOCH)
    )
    con_h, got_h = inferred_grid(
        tmp_path,
        walker_tle_text(Shell(550.0, 53.0, planes, per_plane, 0), epoch=EPOCH, half_slot=True),
        "half.tle",
    )

    def keys(con):
        half_slots = np.round(con.arg_latitude_deg * 2 * per_plane / 360.0).astype(int)
        return [(int(p), int(h) % (2 * per_plane)) for p, h in zip(con.plane, half_slots)]

    lookup = {k: i for i, k in enumerate(keys(con_h))}
    to_h = np.array([lookup[k] for k in keys(con_f)])
    assert as_set(to_h[got_f]) == as_set(got_h)
    assert as_set(got_f) != design_grid(planes, per_plane, 6)


def test_a_missing_satellite_falls_back_to_the_nearest_rule(tmp_path):
    text = walker_tle_text(Shell(550.0, 53.0, 12, 8, 1), epoch=EPOCH)
    lines = text.splitlines()
    del lines[3 * 20 : 3 * 21]  # drop satellite 20 (plane 2, slot 4)
    _, got = inferred_grid(tmp_path, "\n".join(lines) + "\n")
    full = design_grid(12, 8, 1)
    renumber = lambda i: i if i < 20 else i - 1  # noqa: E731
    expected = {frozenset(map(renumber, pair)) for pair in full if 20 not in pair}
    # every design link not touching the lost satellite survives, and its plane's ring closes
    assert expected <= as_set(got)
    assert frozenset((renumber(19), renumber(21))) in as_set(got)
