"""Every usage mistake is one line on stderr and exit status 2, on the installed typer.

The expected messages come from the issue that reported them (typo'd command, bad values,
unknown flag, missing argument), not from the CLI's own output.
"""

import pytest

from skymesh.cli import main

USAGE_MISTAKES = [
    ["visble", "Paris"],
    ["visible", "Paris", "--limit", "abc"],
    ["visible", "Paris", "--limit", "0"],
    ["latency", "Paris", "Luanda", "--duration", "abc"],
    ["latency", "Paris", "Luanda", "--duration", "inf"],
    ["latency", "Paris", "Luanda", "--step", "0"],
    ["run", "iran-2022", "--workers", "0"],
    ["visible"],
    ["visible", "--nosuchflag"],
    ["visible", "Paris", "--min-elevation", "90"],
    ["visible", "Paris", "--min-elevation", "-1"],
    ["visible", "Paris", "--at", "yesterday"],
    ["visible", "45,"],
    ["visible", "45,abc"],
    ["map", "route", "Paris", "Luanda", "--out", "r.jpg"],
    ["view", "iran-2022", "--out", "v.png"],
    ["plot", "rtt", "Paris", "Luanda", "--out", "a.png", "--cdf", "a.png"],
    ["cost", "iran-2022"],
    ["latency", "Paris", "Paris"],
    ["latency", "Paris", "48.8566,2.3522"],
    ["plot", "rtt", "Paris", "paris", "--out", "a.png"],
]


@pytest.mark.parametrize("argv", USAGE_MISTAKES, ids=" ".join)
def test_usage_mistake_is_one_line_exit_2(argv, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    out, err = capsys.readouterr()
    lines = [ln for ln in err.splitlines()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert "internal error" not in err and "Traceback" not in err
    assert not list(tmp_path.iterdir()), "a refused command wrote a file"


def test_errors_name_the_flag_the_user_typed(capsys):
    assert main(["visible", "Paris", "--at", "yesterday"]) == 2
    assert capsys.readouterr().err.startswith("error: --at: not a time")
    assert main(["latency", "Paris", "Luanda", "--duration", "inf"]) == 2
    err = capsys.readouterr().err
    assert "--duration" in err and "finite" in err


def test_markup_does_not_eat_brackets(capsys):
    assert main(["cost", "iran-2022"]) == 2
    assert "[cost]" in capsys.readouterr().err
    assert main(["cost", "--help"]) == 0
    assert "[cost]" in capsys.readouterr().out


def test_bare_skymesh_prints_help(capsys):
    assert main([]) in (0, 2)
    captured = capsys.readouterr()
    assert "Usage" in captured.out + captured.err
    assert "internal error" not in captured.out + captured.err


def test_huge_window_refused_before_work(capsys):
    assert main(["latency", "Paris", "Luanda", "--duration", "1e9"]) == 2
    err = capsys.readouterr().err
    assert "GiB" in err and "--duration" in err


def test_malformed_coordinates_are_not_place_names():
    from skymesh.errors import InputError
    from skymesh.ground.places import resolve_place

    for text in ("45,", "45,abc", "1.2.3,4"):
        with pytest.raises(InputError, match="lat,lon"):
            resolve_place(text)
    assert resolve_place(" -22.9,-43.2").lat_deg == pytest.approx(-22.9)


def test_negative_latitude_is_an_argument(capsys):
    assert (
        main(["visible", "-22.9,-43.2", "--at", "2026-01-01T00:00:00Z", "--limit", "1", "--json"])
        == 0
    )
    assert "-22.9" in capsys.readouterr().out


def test_a_path_from_a_place_to_itself_says_so(capsys):
    assert main(["latency", "Paris", "Paris"]) == 2
    assert "same place" in capsys.readouterr().err
