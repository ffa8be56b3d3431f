"""Explicit ISL lists: Hypatia's isls.txt and the sat_a,sat_b CSV; strict one-line errors."""

import numpy as np
import pytest

from skymesh.errors import InputError
from skymesh.links.isl_file import load_isl_file, parse_isl_text

NAMES = np.array(["SAT-A", "SAT-B", "SAT-C", "SAT-D", "1234"])


def test_hypatia_format(tmp_path):
    path = tmp_path / "isls.txt"
    path.write_text("0 1\n# a comment\n\n3   2\n1 4\n")
    got = load_isl_file(path, NAMES)
    assert got.tolist() == [[0, 1], [1, 4], [2, 3]]


def test_csv_with_names_and_indices(tmp_path):
    path = tmp_path / "isls.csv"
    path.write_text('sat_a,sat_b\nSAT-A,SAT-C\n3, 4\n"SAT-D",SAT-B\n')
    assert load_isl_file(path, NAMES).tolist() == [[0, 2], [1, 3], [3, 4]]


@pytest.mark.parametrize(
    "text, line, words",
    [
        ("0 1\n0 1 2\n", 2, "two satellite indices"),
        ("0 1\n0 x\n", 2, "not a satellite index"),
        ("0 -1\n", 1, "not a satellite index"),
        ("0 1\n1 0\n", 2, "listed twice (first on line 1)"),
        ("2 2\n", 1, "linked to itself"),
        ("0 5\n", 1, "index 5 does not exist"),
        ("sat_a,sat_b\nSAT-A,SAT-Z\n", 2, "no satellite named 'SAT-Z'"),
        ("sat_a,sat_c\n0,1\n", 1, "header must be"),
        ("sat_a,sat_b\n0,1,2\n", 2, "expected 2 columns"),
        ("sat_a,sat_b\n0,\n", 2, "empty cell"),
    ],
)
def test_errors_name_the_line(text, line, words):
    with pytest.raises(InputError) as info:
        parse_isl_text(text, NAMES, source="links.txt")
    message = str(info.value)
    assert message.startswith(f"links.txt:{line}") and words in message
    assert "\n" not in message


def test_a_repeated_name_is_refused():
    names = np.array(["X", "Y", "X"])
    with pytest.raises(InputError, match=r"f.csv:2.*more than one satellite"):
        parse_isl_text("sat_a,sat_b\nX,Y\n", names, source="f.csv")
    assert parse_isl_text("sat_a,sat_b\n2,Y\n", names).tolist() == [[1, 2]]


def test_empty_missing_and_binary_files(tmp_path):
    with pytest.raises(InputError, match="no links"):
        parse_isl_text("# nothing\n\n", NAMES)
    with pytest.raises(InputError, match="not found"):
        load_isl_file(tmp_path / "nope.txt", NAMES)
    (tmp_path / "bin.txt").write_bytes(b"\x00\x01\x02")
    with pytest.raises(InputError, match="binary"):
        load_isl_file(tmp_path / "bin.txt", NAMES)
