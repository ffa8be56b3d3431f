"""TLE parsing and validation, on the real 9,042-satellite Starlink snapshot."""

from datetime import datetime, timezone

import numpy as np
import pytest

from skymesh.errors import InputError
from skymesh.orbits.tle import (
    constellation_from_tle,
    load_tle_constellation,
    parse_tle_text,
    read_tle_file,
)


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
    assert (
        abs((con.epoch - datetime(2025, 12, 4, 12, 11, tzinfo=timezone.utc)).total_seconds()) < 60
    )
    jd = con.extra["epoch_jd"]
    assert jd.min() >= 2461009.5 and jd.max() < 2461014.5  # 2025-11-30 .. 2025-12-05
    assert np.all(con.shell == -1)


def test_elements_of_first_satellite(constellation, real_lines):
    con, _ = constellation
    line2 = real_lines[2]
    # Altitude from mean motion (rev/day) in the TLE, by hand: a = (mu / n^2)^(1/3).
    n_rad_s = float(line2[52:63]) * 2 * np.pi / 86400
    a_km = (398600.4418 / n_rad_s**2) ** (1 / 3)
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
    line = lines[4]  # line 1 of the 2nd set
    wrong = (checksum(line) + 3) % 10
    lines[4] = line[:68] + str(wrong)
    path, err = _errors(tmp_path, lines)
    assert err.file == str(path) and err.line == 5 and err.field == "checksum"
    msg = str(err)
    assert str(path) in msg and ":5" in msg
    assert f"expected {checksum(line)}" in msg and f"found '{wrong}'" in msg


def test_truncated_line(tmp_path, real_lines):
    lines = list(real_lines[:9])
    lines[8] = lines[8][:60]  # line 2 of the 3rd set
    path, err = _errors(tmp_path, lines)
    assert err.line == 9 and err.field == "line length"
    assert "60 characters" in str(err) and "69" in str(err)


def test_wrong_line_number(tmp_path, real_lines):
    lines = list(real_lines[:9])
    lines[5] = with_checksum("3" + lines[5][1:])  # line 2 of the 2nd set
    path, err = _errors(tmp_path, lines)
    assert err.line == 6 and err.field == "line number"
    assert "'2'" in str(err) and "'3'" in str(err)
    lines = list(real_lines[:9])
    lines[1] = with_checksum("7" + lines[1][1:])  # line 1 of the 1st set
    _, err = _errors(tmp_path, lines)
    assert err.line == 2 and err.field == "line number"


def test_mismatched_catalogue_numbers(tmp_path, real_lines):
    lines = list(real_lines[:9])
    lines[8] = with_checksum(lines[8][:2] + "12345" + lines[8][7:])
    path, err = _errors(tmp_path, lines)
    assert err.line == 9 and err.field == "catalogue number"
    assert "12345" in str(err)


@pytest.mark.parametrize(
    "row, cols, garbage, field",
    [
        (1, (20, 32), "338.4971X068", "epoch day"),
        (2, (8, 16), " 53.0A58", "inclination"),
        (2, (52, 63), "15.06411X86", "mean motion"),
        (1, (53, 61), " 495Z9-3", "bstar"),
        (2, (26, 33), "00018a5", "eccentricity"),
        (2, (8, 16), "190.0558", "inclination"),  # parses, but out of range
    ],
)
def test_garbage_in_numeric_field(tmp_path, real_lines, row, cols, garbage, field):
    lines = list(real_lines[:6])
    idx = 3 + row  # 2nd set
    a, b = cols
    assert len(garbage) == b - a
    lines[idx] = with_checksum(lines[idx][:a] + garbage + lines[idx][b:])
    assert len(lines[idx]) == 69
    path, err = _errors(tmp_path, lines)
    assert err.line == idx + 1 and err.field == field
    assert garbage.strip() in str(err)


def test_missing_line_2(tmp_path, real_lines):
    lines = real_lines[:5] + real_lines[6:9]  # drop line 2 of the 2nd set
    path, err = _errors(tmp_path, lines)
    assert err.line == 5 and "not followed by a line 2" in str(err)
    # at the end of the file too
    _, err = _errors(tmp_path, real_lines[:5])
    assert err.line == 5


def test_skip_bad_counts_skipped(tmp_path, starlink_tle_path, real_lines):
    lines = list(real_lines)
    lines[4] = lines[4][:68] + str((checksum(lines[4]) + 1) % 10)  # set 2: checksum
    lines[8] = lines[8][:50]  # set 3: truncated
    del lines[3 * 100 + 2]  # set 101: no line 2
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


# --------------------------------------------------------------------------- strict text
# Tests below make their own TLE text: the ISS element set of the sgp4 documentation
# (Rhodes, python-sgp4 README; Vallado et al. 2006 test set) and sets built field by field
# from the NORAD column layout, each cross-checked by parsing it with sgp4 itself.

ISS_L1 = "1 25544U 98067A   08264.51782528 -.00002182  00000-0 -11606-4 0  2927"
ISS_L2 = "2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.72125391563537"


def make_tle(
    satnum: int,
    year: int,
    day: float,
    *,
    intl: str = "19029A",
    raan: float = 10.0,
    mean_anomaly: float = 0.0,
    mean_motion: float = 15.06,
) -> tuple[str, str]:
    """TLE lines 1 and 2 in the fixed columns of the NORAD format, with checksums."""
    l1 = (
        f"1 {satnum:05d}U {intl:<8s} {year % 100:02d}{day:012.8f}  .00001000  00000-0 "
        f" 10000-3 0  999"
    )
    l2 = (
        f"2 {satnum:05d}  53.0000 {raan:8.4f} 0001000  90.0000 {mean_anomaly:8.4f} "
        f"{mean_motion:11.8f}    1"
    )
    assert len(l1) == len(l2) == 68
    return with_checksum(l1), with_checksum(l2)


def tle_text(sets) -> str:
    """Three-line text from ``(name, line1, line2)`` triples."""
    return "".join(f"{name}\n{l1}\n{l2}\n" for name, l1, l2 in sets)


def test_handmade_sets_agree_with_sgp4():
    """The helper's lines are what sgp4 reads: same satellite, same epoch."""
    from sgp4.api import Satrec

    from skymesh.orbits.tle import tle_epochs_utc

    l1, l2 = make_tle(44714, 2025, 338.25)
    sat = Satrec.twoline2rv(l1, l2)
    assert sat.satnum == 44714
    names, line1s, _, skipped = parse_tle_text(tle_text([("A", l1, l2), ("ISS", ISS_L1, ISS_L2)]))
    assert names == ["A", "ISS"] and skipped == []
    epochs = tle_epochs_utc(line1s)
    # Julian dates from sgp4 (jd 2440587.5 = 1970-01-01 00:00 UTC)
    for e, (a, b) in zip(epochs, [(l1, l2), (ISS_L1, ISS_L2)]):
        s = Satrec.twoline2rv(a, b)
        unix_s = (s.jdsatepoch - 2440587.5 + s.jdsatepochF) * 86400.0
        assert abs(e.astype("datetime64[us]").astype(np.int64) / 1e6 - unix_s) < 1e-3
    # the ISS set of the sgp4 documentation: 2008-09-20 12:25:40 UTC
    assert str(epochs[1])[:19] == "2008-09-20T12:25:40"


def _bad_text(tmp_path, text):
    path = tmp_path / "bad.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_tle_file(path)
    return path, info.value


@pytest.mark.parametrize(
    "row, col, char, shown",
    [
        (2, 55, "\uff15", "U+FF15"),  # fullwidth 5 inside the mean motion
        (1, 12, "\u00e9", "U+00E9"),  # é inside the international designator
        (1, 33, "\t", "a tab"),  # a tab for the blank before the first derivative
        (2, 9, "\u0665", "U+0665"),  # an Arabic-Indic digit in the inclination
    ],
)
def test_only_ascii_in_element_lines(tmp_path, row, col, char, shown):
    l1, l2 = make_tle(44714, 2025, 338.25)
    lines = [l1, l2]
    line = lines[row - 1]
    line = line[: col - 1] + char + line[col:]
    lines[row - 1] = with_checksum(line)  # a checksum that agrees: the character is the fault
    path, err = _bad_text(tmp_path, tle_text([("SAT", *lines)]))
    assert (err.file, err.line, err.field) == (str(path), row + 1, "characters")
    assert f"column {col}" in str(err) and shown in str(err) and "ASCII" in str(err)
    assert str(err).startswith(f"{path}:{row + 1}")


def test_trailing_tab_is_not_whitespace_to_drop(tmp_path):
    l1, l2 = make_tle(44714, 2025, 338.25)
    path, err = _bad_text(tmp_path, tle_text([("SAT", l1 + "\t", l2)]))
    assert err.line == 2 and err.field == "characters" and "a tab" in str(err)


@pytest.mark.parametrize(
    "row, first, value, field",
    [
        (1, 10, "98-67A  ", "international designator"),
        (1, 8, "X", "classification"),
        (1, 65, " 9a9", "element set number"),
        (2, 64, "  x 1", "revolution number"),
    ],
)
def test_code_fields_are_checked(tmp_path, row, first, value, field):
    lines = list(make_tle(44714, 2025, 338.25))
    line = lines[row - 1]
    lines[row - 1] = with_checksum(line[: first - 1] + value + line[first - 1 + len(value) : 68])
    path, err = _bad_text(tmp_path, tle_text([("SAT", *lines)]))
    assert (err.line, err.field) == (row + 1, field)
    assert value.strip() in str(err) and str(path) in str(err)


def test_control_character_in_a_name_line(tmp_path):
    l1, l2 = make_tle(44714, 2025, 338.25)
    text = tle_text([("SAT\x07ONE", l1, l2), ("B", *make_tle(44715, 2025, 338.25))])
    with pytest.raises(InputError) as info:  # text given directly
        parse_tle_text(text)
    err = info.value
    assert err.line == 1 and err.field == "name" and "control character" in str(err)
    names, _, _, skipped = parse_tle_text(text, skip_bad=True)  # the set goes with its name
    assert names == ["B"] and len(skipped) == 1
    path, err = _bad_text(tmp_path, text)  # in a file it is not text at all
    assert str(err) == f"{path}: not a TLE text file (binary data)"


def test_a_satellite_twice_names_both_lines(tmp_path):
    a = make_tle(44714, 2025, 338.25)
    b = make_tle(44715, 2025, 338.30)
    again = make_tle(44714, 2025, 337.00, raan=20.0)  # the same satellite, older set
    text = tle_text([("A", *a), ("B", *b), ("A AGAIN", *again)])
    path, err = _bad_text(tmp_path, text)
    assert (err.line, err.field) == (8, "catalogue number")
    assert "44714" in str(err) and "line 2" in str(err) and "line 8" in str(err)
    # skip_bad keeps the first copy and reports the later one
    names, line1s, _, skipped = read_tle_file(path, skip_bad=True)
    assert names == ["A", "B"] and line1s[0] == a[0]
    assert len(skipped) == 1 and skipped[0].line == 8


def test_satellite_numbers_compare_as_numbers(tmp_path):
    """'00123' and '  123' are one satellite (leading zeros or blanks, same number)."""
    l1, l2 = make_tle(123, 2025, 338.25)
    m1 = with_checksum(l1[:2] + "  123" + l1[7:68])
    m2 = with_checksum(l2[:2] + "  123" + l2[7:68])
    path, err = _bad_text(tmp_path, tle_text([("A", l1, l2), ("B", m1, m2)]))
    assert err.field == "catalogue number" and "appears twice" in str(err)


def _spread_file(tmp_path, days):
    sets = [
        ("NEW-1", *make_tle(44714, 2025, 338.25)),
        ("NEW-2", *make_tle(44715, 2025, 338.50, raan=40.0)),
    ]
    old = ("OLD-1", *make_tle(24000, 2025, 338.25 - days, raan=80.0))
    path = tmp_path / f"spread{days}.txt"
    path.write_text(tle_text(sets + [old]), encoding="utf-8")
    return path


def test_epoch_spread_over_30_days_is_one_warning(tmp_path):
    path = _spread_file(tmp_path, 200)
    notes = []
    con, skipped = load_tle_constellation(path, notes=notes)
    assert len(con) == 3 and skipped == []
    assert len(notes) == 1 and con.extra["notes"] == notes
    note = notes[0]
    assert "\n" not in note and note.startswith("warning:")
    # the oldest: day 138.25 of 2025 = 18 May 2025 06:00 UTC
    assert "OLD-1" in note and "2025-05-18 06:00" in note
    assert "200.2 days" in note  # 338.50 - 138.25


def test_epochs_within_30_days_load_silently(tmp_path):
    notes = []
    con, _ = load_tle_constellation(_spread_file(tmp_path, 29.5), notes=notes)
    assert notes == [] and con.extra["notes"] == []  # spread 29.75 days


def test_epoch_spread_across_the_century():
    """A 1995 set next to 2025 ones (two-digit years: 95 -> 1995, 25 -> 2025)."""
    from skymesh.orbits.tle import epoch_spread_note

    new = make_tle(44714, 2025, 338.25)
    old = make_tle(23000, 1995, 10.5)
    note = epoch_spread_note(["NEW", "OLD"], [new[0], old[0]])
    assert note is not None and "OLD at 1995-01-10 12:00 UTC" in note


def test_info_shows_the_epoch_warning(tmp_path, capsys):
    from skymesh.cli import main

    path = _spread_file(tmp_path, 200)
    assert main(["info", str(path)]) == 0
    err = capsys.readouterr().err
    warning = [ln for ln in err.splitlines() if "epochs spread" in ln]
    assert len(warning) == 1 and "OLD-1" in warning[0]


def test_info_and_skip_bad_with_a_repeated_satellite(tmp_path, capsys):
    from skymesh.cli import main

    a = make_tle(44714, 2025, 338.25)
    b = make_tle(44715, 2025, 338.30, raan=40.0)
    path = tmp_path / "dup.txt"
    path.write_text(tle_text([("A", *a), ("B", *b), ("A", *a)]), encoding="utf-8")
    assert main(["info", str(path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "appears twice" in err[0] and "line 2" in err[0]
    assert main(["info", str(path), "--skip-bad"]) == 0
    out, err = capsys.readouterr()
    assert "2 satellites" in out
    assert "skipped 1 bad element set(s)" in err and "later cop" in err


PNG_HEADER = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x02"


@pytest.mark.parametrize("kind", ["png", "random", "utf16", "utf32", "nul"])
def test_binary_file_is_one_line(tmp_path, capsys, kind):
    from skymesh.cli import main

    text = tle_text([("ISS", ISS_L1, ISS_L2)])
    data = {
        "png": PNG_HEADER + bytes(range(256)) * 4,
        "random": np.random.default_rng(9).integers(0, 256, 4096, dtype=np.uint8).tobytes(),
        "utf16": text.encode("utf-16"),
        "utf32": text.encode("utf-32"),
        "nul": text.encode() + b"\x00",
    }[kind]
    path = tmp_path / f"sats.{kind}"
    path.write_bytes(data)
    with pytest.raises(InputError) as info:
        read_tle_file(path)
    assert str(info.value) == f"{path}: not a TLE text file (binary data)"
    assert main(["info", str(path)]) == 2
    out, err = capsys.readouterr()
    assert err == f"error: {path}: not a TLE text file (binary data)\n"


def test_latin1_text_names_the_byte(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes(tle_text([("CAF\u00c9", ISS_L1, ISS_L2)]).encode("latin-1"))
    with pytest.raises(InputError, match=r"not UTF-8: byte 0xC9") as info:
        read_tle_file(path)
    assert info.value.line == 1


def test_utf8_bom_and_crlf_are_fine(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes(
        b"\xef\xbb\xbf" + tle_text([("ISS", ISS_L1, ISS_L2)]).replace("\n", "\r\n").encode()
    )
    names, l1, l2, _ = read_tle_file(path)
    assert names == ["ISS"] and l1 == [ISS_L1] and l2 == [ISS_L2]


def test_notes_keep_brackets_in_names_and_paths(tmp_path, capsys):
    """A note is printed as text: '[bold]' in a satellite name or '[x]' in a folder name
    is not taken for rich markup (and the warning stays one line, however long)."""
    from skymesh.cli import main

    folder = tmp_path / "[x]"
    folder.mkdir()
    path = folder / "sats.txt"
    path.write_text(
        tle_text(
            [
                ("NEW [bold]", *make_tle(44714, 2025, 338.25)),
                ("OLD [TEST]", *make_tle(24000, 2025, 100.0, raan=80.0)),
            ]
        ),
        encoding="utf-8",
    )
    assert main(["info", str(path)]) == 0
    err = capsys.readouterr().err
    warning = [ln for ln in err.splitlines() if "epochs spread" in ln]
    assert len(warning) == 1 and "OLD [TEST]" in warning[0] and str(path) in warning[0]


def test_cr_line_ends_and_a_long_stray_line(tmp_path):
    """Old Mac line ends (CR only) are line ends; a stray line is quoted clipped, not whole."""
    sets = [("A", *make_tle(44714, 2025, 338.25)), ("B", *make_tle(44715, 2025, 338.3))]
    names, _, _, _ = parse_tle_text(tle_text(sets).replace("\n", "\r"))
    assert names == ["A", "B"]
    with pytest.raises(InputError) as info:
        parse_tle_text("x" * 5000 + "\n")
    assert len(str(info.value)) < 200 and "..." in str(info.value)


def test_a_blank_padded_epoch_year_is_refused_not_read_two_ways(tmp_path):
    """' 5338.5' is year 2005 to a plain int() and 2053 to sgp4 (its %2d skips the
    blank and reads '53'): the file is refused at line 1, columns 19-20."""
    from sgp4.api import Satrec

    l1, l2 = make_tle(44714, 2005, 338.5)
    padded = with_checksum(l1[:18] + " 5" + l1[20:68])
    assert padded[18:32] == " 5338.50000000"
    assert Satrec.twoline2rv(padded, l2).epochyr == 53  # what sgp4 makes of it
    path = tmp_path / "padded.tle"
    path.write_text(f"SAT\n{padded}\n{l2}\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"epoch year \(columns 19-20\)") as info:
        read_tle_file(path)
    assert info.value.file == str(path) and info.value.line == 2
    assert info.value.field == "epoch year" and "two-digit" in str(info.value)
