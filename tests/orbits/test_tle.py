"""TLE parsing and validation, on the real 9,042-satellite Starlink snapshot."""

from datetime import datetime, timezone

import numpy as np
import pytest

from skymesh.errors import InputError
from skymesh.orbits.tle import (constellation_from_tle, load_tle_constellation,
                                parse_tle_text, read_tle_file)


def checksum(line):
    """Independent mod-10 TLE checksum of columns 1-68."""
    return sum(int(c) if c.isdigit() else (c == "-") for c in line[:68]) % 10


def with_checksum(line):
    return line[:68] + str(checksum(line))


@pytest.fixture(scope="module")
def real_lines(starlink_tle_path):
    return starlink_tle_path.read_text().splitlines()


@pytest.fixture(scope="module")
def constellation(starlink_tle_path):
    con, skipped = load_tle_constellation(starlink_tle_path)
    return con, skipped


def write(tmp_path, lines, name="bad.txt"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def test_real_file_loads(constellation, real_lines):
    con, skipped = constellation
    assert len(con) == 9042 and skipped == []
    assert len(real_lines) == 3 * 9042
    assert con.sat_names[0] == "STARLINK-1008"
    assert all(n.startswith("STARLINK-") for n in con.sat_names)
    assert con.extra["norad_id"][0] == 44714
    assert len(con.extra["satrec_list"]) == 9042
    # README: epochs 2025-11-30 ... 2025-12-04, median 2025-12-04 12:11 UTC
    assert abs((con.epoch - datetime(2025, 12, 4, 12, 11, tzinfo=timezone.utc))
               .total_seconds()) < 60
    jd = con.extra["epoch_jd"]
    assert jd.min() >= 2461009.5 and jd.max() < 2461014.5   # 2025-11-30 .. 2025-12-05
    assert np.all(con.shell == -1)


def test_elements_of_first_satellite(constellation, real_lines):
    con, _ = constellation
    line2 = real_lines[2]
    # Altitude from mean motion (rev/day) in the TLE, by hand: a = (mu / n^2)^(1/3).
    n_rad_s = float(line2[52:63]) * 2 * np.pi / 86400
    a_km = (398600.4418 / n_rad_s ** 2) ** (1 / 3)
    assert con.altitude_km[0] == pytest.approx(a_km - 6378.137, abs=0.01)
    # Osculating elements at the common epoch stay near the TLE mean elements
    # (the epoch is 0.3 h off, RAAN drifts ~ -4.5 deg/day at 53 deg, 550 km).
    assert con.inclination_deg[0] == pytest.approx(float(line2[8:16]), abs=0.1)
    assert con.raan_deg[0] == pytest.approx(float(line2[17:25]), abs=0.2)


def test_osculating_elements_from_skyfield_teme(constellation, real_lines):
    """RAAN, inclination, argument of latitude at the common epoch, against Skyfield's
    TEME state and the textbook formulas (node vector n = z x h, Vallado alg. 9)."""
    from skyfield.api import EarthSatellite, load
    from skyfield.sgp4lib import TEME

    con, _ = constellation
    ts = load.timescale(builtin=True)
    t = ts.from_datetime(con.epoch)
    for i in (0, 1000, 5000, 9041):
        sat = EarthSatellite(real_lines[3 * i + 1], real_lines[3 * i + 2], ts=ts)
        r, v = sat.at(t).frame_xyz_and_velocity(TEME)
        r = r.km
        v = v.km_per_s
        h = np.cross(r, v)
        node = np.array([-h[1], h[0], 0.0])
        raan = np.degrees(np.arccos(node[0] / np.linalg.norm(node)))
        if node[1] < 0:
            raan = 360 - raan
        u = np.degrees(np.arccos(node @ r / np.linalg.norm(node) / np.linalg.norm(r)))
        if r[2] < 0:
            u = 360 - u
        inc = np.degrees(np.arccos(h[2] / np.linalg.norm(h)))
        assert con.raan_deg[i] == pytest.approx(raan, abs=1e-4)
        assert con.arg_latitude_deg[i] == pytest.approx(u, abs=1e-4)
        assert con.inclination_deg[i] == pytest.approx(inc, abs=1e-4)


def test_two_line_text_and_crlf(real_lines):
    text = "\r\n".join(real_lines[1:3] + real_lines[4:6]) + "\r\n"
    names, l1, l2, skipped = parse_tle_text(text)
    assert names == ["44714", "44717"] and l1[0] == real_lines[1] and l2[1] == real_lines[5]
    # CelesTrak 3LE style "0 NAME" lines, trailing spaces
    text = "0 " + real_lines[0] + "\n" + real_lines[1] + "   \n" + real_lines[2] + "\n\n"
    names, _, _, _ = parse_tle_text(text)
    assert names == ["STARLINK-1008"]


def test_independent_checksums_agree_with_file(real_lines):
    for line in real_lines[1:3000]:
        if line[:1] in "12":
            assert int(line[68]) == checksum(line)


def _errors(tmp_path, lines):
    path = write(tmp_path, lines)
    with pytest.raises(InputError) as info:
        read_tle_file(path)
    return path, info.value


def test_wrong_checksum(tmp_path, real_lines):
    lines = list(real_lines[:9])
    line = lines[4]                                      # line 1 of the 2nd set
    wrong = (checksum(line) + 3) % 10
    lines[4] = line[:68] + str(wrong)
    path, err = _errors(tmp_path, lines)
    assert err.file == str(path) and err.line == 5 and err.field == "checksum"
    msg = str(err)
    assert str(path) in msg and ":5" in msg
    assert f"expected {checksum(line)}" in msg and f"found '{wrong}'" in msg


def test_truncated_line(tmp_path, real_lines):
    lines = list(real_lines[:9])
    lines[8] = lines[8][:60]                             # line 2 of the 3rd set
    path, err = _errors(tmp_path, lines)
    assert err.line == 9 and err.field == "line length"
    assert "60 characters" in str(err) and "69" in str(err)


def test_wrong_line_number(tmp_path, real_lines):
    lines = list(real_lines[:9])
    lines[5] = with_checksum("3" + lines[5][1:])         # line 2 of the 2nd set
    path, err = _errors(tmp_path, lines)
    assert err.line == 6 and err.field == "line number"
    assert "'2'" in str(err) and "'3'" in str(err)
    lines = list(real_lines[:9])
    lines[1] = with_checksum("7" + lines[1][1:])         # line 1 of the 1st set
    _, err = _errors(tmp_path, lines)
    assert err.line == 2 and err.field == "line number"


def test_mismatched_catalogue_numbers(tmp_path, real_lines):
    lines = list(real_lines[:9])
    lines[8] = with_checksum(lines[8][:2] + "12345" + lines[8][7:])
    path, err = _errors(tmp_path, lines)
    assert err.line == 9 and err.field == "catalogue number"
    assert "12345" in str(err)


@pytest.mark.parametrize("row, cols, garbage, field", [
    (1, (20, 32), "338.4971X068", "epoch day"),
    (2, (8, 16), " 53.0A58", "inclination"),
    (2, (52, 63), "15.06411X86", "mean motion"),
    (1, (53, 61), " 495Z9-3", "bstar"),
    (2, (26, 33), "00018a5", "eccentricity"),
    (2, (8, 16), "190.0558", "inclination"),          # parses, but out of range
])
def test_garbage_in_numeric_field(tmp_path, real_lines, row, cols, garbage, field):
    lines = list(real_lines[:6])
    idx = 3 + row                                       # 2nd set
    a, b = cols
    assert len(garbage) == b - a
    lines[idx] = with_checksum(lines[idx][:a] + garbage + lines[idx][b:])
    assert len(lines[idx]) == 69
    path, err = _errors(tmp_path, lines)
    assert err.line == idx + 1 and err.field == field
    assert garbage.strip() in str(err)


def test_missing_line_2(tmp_path, real_lines):
    lines = real_lines[:5] + real_lines[6:9]             # drop line 2 of the 2nd set
    path, err = _errors(tmp_path, lines)
    assert err.line == 5 and "not followed by a line 2" in str(err)
    # at the end of the file too
    _, err = _errors(tmp_path, real_lines[:5])
    assert err.line == 5


def test_skip_bad_counts_skipped(tmp_path, starlink_tle_path, real_lines):
    lines = list(real_lines)
    lines[4] = lines[4][:68] + str((checksum(lines[4]) + 1) % 10)     # set 2: checksum
    lines[8] = lines[8][:50]                                          # set 3: truncated
    del lines[3 * 100 + 2]                                            # set 101: no line 2
    path = write(tmp_path, lines, "many.txt")
    with pytest.raises(InputError):
        load_tle_constellation(path)
    con, skipped = load_tle_constellation(path, skip_bad=True)
    assert len(skipped) == 3 and len(con) == 9042 - 3
    assert [e.line for e in skipped] == [5, 9, 302]
    assert all(e.file == str(path) for e in skipped)
    assert "STARLINK-1011" not in set(con.sat_names)
    assert con.sat_names[0] == "STARLINK-1008" and con.sat_names[1] == real_lines[9].strip()


def test_empty_and_missing_files(tmp_path):
    empty = write(tmp_path, [""], "empty.txt")
    with pytest.raises(InputError, match="no TLE element sets") as info:
        load_tle_constellation(empty)
    assert str(empty) in str(info.value)
    with pytest.raises(InputError, match="not found") as info:
        load_tle_constellation(tmp_path / "nope.txt")
    assert "nope.txt" in str(info.value)
    only_bad = write(tmp_path, ["STARLINK-1", "1 44714U garbage"], "bad.txt")
    with pytest.raises(InputError, match="no valid TLE element sets"):
        read_tle_file(only_bad, skip_bad=True)


def test_failed_propagation_keeps_nan(real_lines):
    """A decayed satellite (mean motion 17 rev/day, huge drag) fails at the common epoch."""
    good = real_lines[1:3]
    l1 = real_lines[4]
    # Same satellite, epoch 5 days earlier than the other, heavy drag: SGP4 decays it.
    l1 = with_checksum(l1[:18] + "25333.25347182" + l1[32:53] + " 99999+0" + l1[61:])
    l2 = with_checksum(real_lines[5][:52] + "16.99000000" + real_lines[5][63:])
    con = constellation_from_tle(["A", "B"], [good[0], l1], [good[1], l2])
    err = con.extra["sgp4_error"]
    assert err[0] == 0 and err[1] != 0
    assert np.isfinite(con.raan_deg[0]) and np.isnan(con.raan_deg[1])
    assert np.isnan(con.altitude_km[1]) and con.shell[1] == -1
