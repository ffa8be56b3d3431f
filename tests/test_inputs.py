"""Every input reader: only regular files, capped, UTF-8 with a place, nesting bounded.

Special files are given to each reader through its public entry point. A FIFO is
given a writer after a few seconds (a thread that opens it and closes it), so code
that would wait on it for ever fails the test instead of hanging the suite; /dev/null
(a character device) is read as empty by code that does not check, so the test sees
the wrong error. /dev/zero and /dev/urandom, which unchecked code reads until the
memory is gone, are only given to the checked reader itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from pathlib import Path

import pytest

from skymesh.errors import InputError


@contextlib.contextmanager
def fifo_with_late_writer(path: Path, after_s: float = 3.0):
    """A FIFO at ``path``; a thread opens it for writing after ``after_s`` and closes it,
    so a reader blocked in open() gets end-of-file instead of waiting for ever."""
    os.mkfifo(path)
    done = threading.Event()

    def writer():
        if not done.wait(after_s):
            with contextlib.suppress(OSError):
                fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
                os.close(fd)

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    try:
        yield path
    finally:
        done.set()
        t.join(timeout=5)


def _readers():
    from skymesh.capacity.region import load_region
    from skymesh.ground.countries import load_countries
    from skymesh.ground.gateways import load_gateways
    from skymesh.ground.places import load_hypatia_cities
    from skymesh.ground.pops import load_pops
    from skymesh.links.isl_file import load_isl_file
    from skymesh.orbits.tle import read_tle_file
    from skymesh.policy.rules import load_policy
    from skymesh.sim.scenario import load_scenario

    return {
        "tle": ("x.tle", read_tle_file),
        "isl": ("isls.txt", lambda p: load_isl_file(p, ["A", "B"])),
        "gateways": ("gw.csv", load_gateways),
        "gateways-toml": ("gw.toml", load_gateways),
        "pops": ("pops.toml", load_pops),
        "places": ("cities.txt", load_hypatia_cities),
        "policy": ("policy.toml", load_policy),
        "scenario": ("s.toml", load_scenario),
        "region": ("r.geojson", lambda p: load_region(str(p))),
        "countries": ("c.geojson", lambda p: load_countries(str(p))),
    }


READERS = sorted(_readers())


@pytest.mark.parametrize("kind", READERS)
def test_a_fifo_is_refused_without_waiting(kind, tmp_path):
    name, read = _readers()[kind]
    with fifo_with_late_writer(tmp_path / name) as path:
        with pytest.raises(InputError, match="FIFO") as info:
            read(path)
    assert "regular file" in str(info.value) and str(path) in str(info.value)


@pytest.mark.parametrize("kind", READERS)
def test_a_character_device_is_refused(kind, tmp_path):
    name, read = _readers()[kind]
    link = tmp_path / name  # the reader's own suffix, pointing at /dev/null
    link.symlink_to("/dev/null")
    with pytest.raises(InputError, match="character device") as info:
        read(link)
    assert str(link) in str(info.value) or "/dev/null:" in str(info.value)  # a resolved path


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_endless_devices_are_refused_before_reading(device):
    from skymesh.inputs import read_input_bytes

    with pytest.raises(InputError, match="character device"):
        read_input_bytes(device, "TLE file")


def test_a_file_over_the_cap_is_refused_unread(tmp_path):
    from skymesh.inputs import MAX_BYTES
    from skymesh.orbits.tle import read_tle_file

    path = tmp_path / "big.tle"
    with open(path, "wb") as fh:  # sparse: no disk used
        fh.truncate(MAX_BYTES["TLE"] + 1)
    with pytest.raises(InputError, match="more than the 64 MiB") as info:
        read_tle_file(path)
    assert info.value.file == str(path)


def test_the_estimator_reads_the_tle_file_through_the_checked_reader(tmp_path):
    """``estimate_run`` reads TLE line 2s itself (not through read_tle_file): a FIFO
    named as a scenario's constellation file is refused there too."""
    from skymesh.sim.estimate import estimate_run
    from skymesh.sim.scenario import load_scenario

    scenario = tmp_path / "s.toml"
    scenario.write_text(
        'name = "s"\nstudy = "routing"\n[constellation]\nfile = "fleet.tle"\n'
        '[time]\nstart = "epoch"\nduration_s = 60\n'
        "[[terminals]]\npoints = [[0.0, 0.0], [10.0, 10.0]]\n"
    )
    loaded = load_scenario(scenario)
    with fifo_with_late_writer(tmp_path / "fleet.tle"):
        with pytest.raises(InputError, match="FIFO"):
            estimate_run(loaded)


# ----------------------------------------------------------------------------- encodings


def _latin1(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("latin-1"))
    return path


def test_non_utf8_scenario_names_file_line_and_offset(tmp_path):
    from skymesh.sim.scenario import load_scenario

    path = _latin1(tmp_path / "s.toml", 'name = "s"\ndescription = "Zürich"\n')
    with pytest.raises(InputError, match=r"not UTF-8 text \(byte 0xFC at byte offset 27\)") as info:
        load_scenario(path)
    assert info.value.file == str(path) and info.value.line == 2


def test_non_utf8_policy_is_one_input_error(tmp_path):
    from skymesh.policy.rules import load_policy

    path = _latin1(tmp_path / "p.toml", '# Politique de réseau\ndefault_service = "active"\n')
    with pytest.raises(InputError, match="not UTF-8") as info:
        load_policy(path)
    assert info.value.file == str(path) and info.value.line == 1


def test_non_utf8_geojson_region_is_one_input_error(tmp_path):
    from skymesh.capacity.region import load_region

    path = _latin1(tmp_path / "r.geojson", '{"type": "Polygon", "name": "Bogotá"}')
    with pytest.raises(InputError, match="not UTF-8") as info:
        load_region(str(path))
    assert info.value.file == str(path)


def test_non_utf8_audit_export_is_one_input_error(tmp_path):
    from skymesh.service import audit

    path = _latin1(tmp_path / "audit.jsonl", '{"seq": 1, "actor": "José"}\n')
    with pytest.raises(InputError, match="not UTF-8") as info:
        audit.verify_entries(audit.jsonl_entries(path))
    assert info.value.file == str(path)


# ----------------------------------------------------------------------------- nesting

DEEP = 3000


def test_deep_toml_and_json_are_one_line_not_recursion_error():
    from skymesh.inputs import MAX_NESTING, loads_json, loads_toml

    for text in ("a = " + "[" * DEEP + "]" * DEEP, "a = " + "{b = " * DEEP + "1" + "}" * DEEP):
        with pytest.raises(InputError, match="nested"):
            loads_toml(text, "x.toml")
    with pytest.raises(InputError, match="nested"):
        loads_json("[" * DEEP + "]" * DEEP, "x.json")
    # dotted keys parse without recursion, but nothing downstream could walk the result
    with pytest.raises(InputError, match="nested"):
        loads_toml("a" + ".a" * DEEP + " = 1", "x.toml")
    assert loads_json("[" * MAX_NESTING + "]" * MAX_NESTING) is not None


def _deep_files(tmp_path):
    from skymesh.capacity.region import load_region
    from skymesh.ground.countries import load_countries
    from skymesh.ground.gateways import load_gateways
    from skymesh.ground.pops import load_pops
    from skymesh.policy.rules import load_policy
    from skymesh.sim.scenario import load_scenario

    toml_deep = "x = " + "[" * DEEP + "]" * DEEP + "\n"
    json_deep = '{"type": "FeatureCollection", "features": ' + "[" * DEEP + "]" * DEEP + "}"
    dotted = "name" + ".a" * DEEP + ' = "s"\n'
    return [
        ("s.toml", toml_deep, load_scenario),
        ("s2.toml", dotted, load_scenario),
        ("p.toml", toml_deep, load_policy),
        ("gw.toml", toml_deep, load_gateways),
        ("pops.toml", toml_deep, load_pops),
        ("r.geojson", json_deep, lambda p: load_region(str(p))),
        ("c.geojson", json_deep, lambda p: load_countries(str(p))),
    ]


def test_deep_nesting_in_every_structured_input_is_one_input_error(tmp_path):
    for name, text, read in _deep_files(tmp_path):
        path = tmp_path / name
        path.write_text(text)
        with pytest.raises(InputError, match="nested") as info:
            read(path)
        assert str(path) in str(info.value), name


def test_deep_audit_line_is_a_broken_entry(tmp_path):
    from skymesh.service import audit

    path = tmp_path / "audit.jsonl"
    path.write_text("[" * DEEP + "]" * DEEP + "\n" + json.dumps({"seq": 1}) + "\n")
    result = audit.verify_entries(audit.jsonl_entries(path))
    assert result["ok"] is False


def test_deep_policy_toml_in_a_service_import_is_a_422():
    from skymesh.service.auth import ServiceError
    from skymesh.service.changes import policy_toml_to_doc

    with pytest.raises(ServiceError) as info:
        policy_toml_to_doc("x = " + "[" * DEEP + "]" * DEEP)
    assert info.value.status == 422 and "nested" in str(info.value)


# ----------------------------------------------------------------------------- country codes

# Unicode case folding turns each into a real code: "ß" -> "SS" (South Sudan), the
# ligature "ﬁ" -> "FI" (Finland), the dotless "ır" -> "IR" (Iran). A code is two ASCII
# letters, nothing else.
LOOKALIKES = ["ß", "ﬁ", "ır"]

SCENARIO = """\
name = "codes"
[constellation]
preset = "starlink-shell1"
[time]
start = 2026-01-01T00:00:00Z
duration_s = 60
[[terminals]]
country = {terminal}
count = 5
[[gateways]]
name = "G"
lat = 40.8
lon = 29.5
country = "TR"
[[rain]]
rate_mmh = 10
country = {rain}
"""


@pytest.mark.parametrize("code", LOOKALIKES)
def test_lookalike_terminal_and_rain_countries_are_refused(tmp_path, code):
    from skymesh.sim.scenario import load_scenario

    for terminal, rain, line in ((json.dumps(code), '"UA"', 8), ('"IR"', json.dumps(code), 17)):
        path = tmp_path / "s.toml"
        path.write_text(SCENARIO.format(terminal=terminal, rain=rain), encoding="utf-8")
        with pytest.raises(InputError, match="not an ISO 3166-1 alpha-2") as info:
            load_scenario(path)
        assert info.value.line == line
    path.write_text(SCENARIO.format(terminal='" ir "', rain='"ua"'), encoding="utf-8")
    loaded = load_scenario(path)  # ASCII in any case still reads
    assert loaded.scenario.terminals[0].country == "IR" and loaded.scenario.rain[0].country == "UA"


@pytest.mark.parametrize("code", LOOKALIKES)
def test_lookalike_policy_codes_are_refused(code):
    from skymesh.policy.rules import policy_from_dict

    with pytest.raises(InputError, match="alpha-2"):
        policy_from_dict({"country": [{"iso2": code, "service": "inactive"}]})
    with pytest.raises(InputError, match="alpha-2"):
        policy_from_dict({"exit_countries": ["US", code]})


@pytest.mark.parametrize("code", LOOKALIKES)
def test_lookalike_capacity_regions_and_country_lookups_are_refused(code):
    from skymesh.capacity.region import load_region
    from skymesh.ground.countries import country_geometry
    from skymesh.ground.places import resolve_country

    with pytest.raises(InputError, match="REGION"):
        load_region(code)
    with pytest.raises(InputError, match="unknown"):
        country_geometry(code)
    with pytest.raises(InputError, match="alpha-2"):
        resolve_country(code, codes_only=True)


def test_lookalike_codes_in_service_changes_are_a_422():
    """The API's changes take exactly two characters: "ır" passed that and was upper-cased
    to IR before the policy loader saw it."""
    from datetime import datetime

    from skymesh.service.auth import ServiceError
    from skymesh.service.changes import EMPTY_POLICY, apply_change, parse_change

    now = datetime(2026, 1, 1)
    for change in (
        {"kind": "service", "iso2": "ır", "state": "inactive"},
        {"kind": "censoring", "iso2": "ır", "censoring": True},
        {"kind": "exit", "iso2": "TR", "exit_countries": ["US", "ır"]},
    ):
        with pytest.raises(ServiceError) as info:
            apply_change(dict(EMPTY_POLICY), parse_change(change), now)
        assert info.value.status == 422


def test_iso2_upper_folds_ascii_only():
    from skymesh.inputs import iso2_upper

    assert [iso2_upper(c) for c in (" fi ", "Ir", "gbr")] == ["FI", "IR", "GBR"]
    assert [iso2_upper(c) for c in LOOKALIKES + ["ｆｉ"]] == LOOKALIKES + ["ｆｉ"]
