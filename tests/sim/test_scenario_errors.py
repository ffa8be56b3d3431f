"""Malformed scenario files: each is a clear error naming file, line and field, before any work."""

import pytest

from skymesh.errors import InputError
from skymesh.sim.scenario import builtin_names, load_scenario

GOOD = """\
name = "ok"
seed = 1
[constellation]
preset = "starlink-shell1"
[time]
start = 2026-01-01T00:00:00Z
duration_s = 60
step_s = 10
[[terminals]]
country = "IR"
count = 5
[[gateways]]
name = "Muallim"
lat = 40.8
lon = 29.5
country = "TR"
"""


def test_the_good_file_loads(tmp_path):
    p = tmp_path / "good.toml"
    p.write_text(GOOD)
    assert load_scenario(p).scenario.name == "ok"


CASES = [
    # (description, edit, expected line, expected field, expected message part)
    ("typo'd top-level key", lambda t: t.replace("seed = 1", "sed = 1"), 2, "sed", "unknown key"),
    (
        "typo'd key in a table",
        lambda t: t.replace("duration_s = 60", "duraton_s = 60"),
        7,
        "time.duraton_s",
        "unknown key",
    ),
    (
        "wrong type",
        lambda t: t.replace("count = 5", 'count = "five"'),
        11,
        "terminals.0.count",
        "integer",
    ),
    (
        "negative duration",
        lambda t: t.replace("duration_s = 60", "duration_s = -60"),
        7,
        "time.duration_s",
        "greater than 0",
    ),
    (
        "empty time range",
        lambda t: t.replace("step_s = 10", "step_s = 600"),
        5,
        "time",
        "time range is empty",
    ),
    (
        "unknown preset",
        lambda t: t.replace('"starlink-shell1"', '"starlink-shel1"'),
        3,
        "constellation",
        "unknown preset",
    ),
    (
        "unknown country code",
        lambda t: t.replace('country = "IR"', 'country = "XX"'),
        10,
        "terminals.0.country",
        "not an ISO 3166-1",
    ),
    (
        "latitude out of range",
        lambda t: t.replace("lat = 40.8", "lat = 140.8"),
        14,
        "gateways.0.lat",
        "less than or equal to 90",
    ),
    (
        "bad time",
        lambda t: t.replace("start = 2026-01-01T00:00:00Z", 'start = "yesterday"'),
        6,
        "time.start",
        "ISO 8601",
    ),
    (
        "missing required table",
        lambda t: t.replace(
            "[time]\nstart = 2026-01-01T00:00:00Z\nduration_s = 60\nstep_s = 10\n", ""
        ),
        None,
        "time",
        "missing",
    ),
    (
        "count without country",
        lambda t: t.replace('country = "IR"\n', ""),
        9,
        "terminals.0",
        "needs a 'country'",
    ),
    ("bad routing mode", lambda t: t + '[routing]\nmode = "laser"\n', 18, "routing.mode", "isl"),
    (
        "failure with two selectors",
        lambda t: t + '[[failures]]\nkind = "satellites"\nfraction = 0.1\nids = [1, 2]\n',
        17,
        "failures.0",
        "exactly one",
    ),
    (
        "policy typo",
        lambda t: t + '[policy]\ndefault_servce = "active"\n',
        18,
        "policy.default_servce",
        "unknown key",
    ),
    (
        "policy unknown ISO code",
        lambda t: t + '[policy]\n[[policy.country]]\niso2 = "QQ"\n',
        19,
        "policy.country.0.iso2",
        "QQ",
    ),
    (
        "duplicate gateway names",
        lambda t: t + '[[gateways]]\nname = "Muallim"\nlat = 1\nlon = 2\ncountry = "TR"\n',
        18,
        "gateways.1.name",
        "used twice",
    ),
    ("not TOML at all", lambda t: t + "this is not = = toml\n", 17, None, "not valid TOML"),
    # strict types (issue 9 section 5): no silent coercion of strings or booleans
    (
        "duration as a string",
        lambda t: t.replace("duration_s = 60", 'duration_s = "3600"'),
        7,
        "time.duration_s",
        "valid number",
    ),
    (
        "count as a boolean",
        lambda t: t.replace("count = 5", "count = true"),
        11,
        "terminals.0.count",
        "valid integer",
    ),
    (
        "seed as a boolean",
        lambda t: t.replace("seed = 1", "seed = true"),
        2,
        "seed",
        "valid integer",
    ),
    ("seed as a float", lambda t: t.replace("seed = 1", "seed = 1.0"), 2, "seed", "valid integer"),
    (
        "negative seed",
        lambda t: t.replace("seed = 1", "seed = -3"),
        2,
        "seed",
        "greater than or equal to 0",
    ),
    (
        "failure fraction as a boolean",
        lambda t: t + '[[failures]]\nkind = "satellites"\nfraction = true\n',
        19,
        "failures.0.fraction",
        "valid number",
    ),
    (
        "negative failure seed",
        lambda t: t + '[[failures]]\nkind = "satellites"\nfraction = 0.1\nseed = -1\n',
        20,
        "failures.0.seed",
        "greater than or equal to 0",
    ),
    (
        "gateway latitude as a string",
        lambda t: t.replace("lat = 40.8", 'lat = "41.5"'),
        14,
        "gateways.0.lat",
        "valid number",
    ),
    (
        "gateway longitude as a boolean",
        lambda t: t.replace("lon = 29.5", "lon = false"),
        15,
        "gateways.0.lon",
        "valid number",
    ),
    (
        "gateway latitude nan",
        lambda t: t.replace("lat = 40.8", "lat = nan"),
        14,
        "gateways.0.lat",
        "finite",
    ),
    (
        "flag as a number",
        lambda t: t.replace('preset = "starlink-shell1"', 'preset = "starlink-shell1"\nj2 = 1'),
        5,
        "constellation.j2",
        "valid boolean",
    ),
    ("name as a number", lambda t: t.replace('name = "ok"', "name = 7"), 1, "name", "valid string"),
    (
        "empty points",
        lambda t: t.replace('country = "IR"\ncount = 5', "points = []"),
        10,
        "terminals.0.points",
        "at least 1",
    ),
    (
        "point as strings",
        lambda t: t.replace('country = "IR"\ncount = 5', 'points = [["35.7", 51.4]]'),
        10,
        "terminals.0.points.0.0",
        "valid number",
    ),
    (
        "absurd step",
        lambda t: t.replace("step_s = 10", "step_s = 1e-300"),
        8,
        "time.step_s",
        "greater than or equal to 0.001",
    ),
    (
        "zero step",
        lambda t: t.replace("step_s = 10", "step_s = 0"),
        8,
        "time.step_s",
        "greater than or equal to 0.001",
    ),
    (
        "infinite step",
        lambda t: t.replace("step_s = 10", "step_s = inf"),
        8,
        "time.step_s",
        "finite",
    ),
    (
        "nan duration",
        lambda t: t.replace("duration_s = 60", "duration_s = nan"),
        7,
        "time.duration_s",
        "finite",
    ),
]


@pytest.mark.parametrize("what,edit,line,field,message", CASES, ids=[c[0] for c in CASES])
def test_malformed_scenarios(tmp_path, what, edit, line, field, message):
    p = tmp_path / "bad.toml"
    p.write_text(edit(GOOD))
    with pytest.raises(InputError) as err:
        load_scenario(p)
    e = err.value
    assert e.file == str(p)
    assert e.line == line, str(e)
    assert e.field == field, str(e)
    assert message.lower() in str(e).lower()
    assert str(p) in str(e)


def test_unknown_scenario_name_suggests_builtins():
    with pytest.raises(InputError, match="iran-2022"):
        load_scenario("iran-2021")


@pytest.mark.parametrize("name", builtin_names())
def test_builtins_validate_and_list_their_gateways(name):
    loaded = load_scenario(name)
    s = loaded.scenario
    if s.study == "egress":
        assert s.gateways and all(g.place for g in s.gateways)
    assert s.assumptions and s.sources


def test_overrides_are_validated_too():
    with pytest.raises(InputError) as err:
        load_scenario("iran-2022", {"time.step_s": -1})
    assert err.value.field == "time.step_s"


def test_strict_mode_still_takes_ints_for_floats_and_toml_datetimes(tmp_path):
    """An int where a float is expected is fine (TOML writes 60, not 60.0), and so is a
    TOML datetime; explicit points come back as (lat, lon) tuples of floats."""
    p = tmp_path / "good.toml"
    p.write_text(
        GOOD.replace('country = "IR"\ncount = 5', "points = [[35, 51.4]]").replace(
            "lat = 40.8", "lat = 40"
        )
    )
    s = load_scenario(p).scenario
    assert s.time.duration_s == 60.0 and isinstance(s.time.duration_s, float)
    assert s.time.start.year == 2026 and s.time.start.utcoffset().total_seconds() == 0
    assert s.terminals[0].points == [(35.0, 51.4)]
    assert s.gateways[0].lat == 40.0


def test_the_shortest_step_is_accepted(tmp_path):
    from skymesh.sim.scenario import MIN_STEP_S

    p = tmp_path / "fine.toml"
    p.write_text(GOOD.replace("step_s = 10", f"step_s = {MIN_STEP_S!r}"))
    assert load_scenario(p).scenario.time.step_s == MIN_STEP_S


def test_overrides_are_strict_too():
    with pytest.raises(InputError) as err:
        load_scenario("iran-2022", {"time.duration_s": "3600"})
    assert err.value.field == "time.duration_s" and "valid number" in str(err.value)


@pytest.mark.parametrize(
    "key, words",
    [
        ("terminals.x.count", "not an index"),  # found by tests/fuzz: was a ValueError
        ("terminals.9.count", "is a list of 1; '9' is not an index 0..0"),
        ("terminals.-1.count", "not an index"),
        ("seed.x", "is a value, not a table"),  # found by tests/fuzz: was a TypeError
        ("time..step_s", "between every two dots"),
        ("", "between every two dots"),
    ],
)
def test_bad_override_keys_are_named(key, words):
    with pytest.raises(InputError) as err:
        load_scenario("iran-2022", {key: 5})
    assert err.value.field == key and words in str(err.value) and f"'{key}'" in str(err.value)


def test_control_characters_in_an_error_are_escaped(tmp_path):
    """A value with a CR or a line separator is echoed escaped: the error stays one line
    (found by tests/fuzz: a CR in a time string moved the cursor back over the message)."""
    p = tmp_path / "bad.toml"
    p.write_text(GOOD.replace("start = 2026-01-01T00:00:00Z", 'start = "x\\r\\u2028y"'))
    with pytest.raises(InputError) as err:
        load_scenario(p)
    text = str(err.value)
    assert text.isprintable() and "x\\r\\u2028y" in text and err.value.line == 6


# ----------------------------------------------------------------------------- pop_overrides

POPS = """\
[[pops]]
name = "Frankfurt"
lat = 50.1
lon = 8.7
country = "DE"
"""


def test_pop_override_naming_a_missing_gateway_is_an_error(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text(GOOD + POPS + '[pop_overrides]\nMualim = "Frankfurt"\n')
    with pytest.raises(InputError, match="gateway 'Mualim' is not one of") as info:
        load_scenario(p)
    assert info.value.file == str(p) and info.value.line == 23
    assert info.value.field == "pop_overrides.Mualim"


def test_pop_override_naming_a_missing_pop_is_an_error(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text(GOOD + POPS + '[pop_overrides]\nMuallim = "Frankfort"\n')
    with pytest.raises(InputError, match="PoP 'Frankfort' is not one of") as info:
        load_scenario(p)
    assert info.value.line == 23 and info.value.field == "pop_overrides.Muallim"
    # without any PoP the override was silently dropped ("each gateway is its own PoP")
    p.write_text(GOOD + '[pop_overrides]\nMuallim = "Frankfurt"\n')
    with pytest.raises(InputError, match="PoP 'Frankfurt' is not one of the scenario's PoPs"):
        load_scenario(p)
    p.write_text(GOOD + POPS + '[pop_overrides]\nMuallim = "Frankfurt"\n')
    assert load_scenario(p).scenario.pop_overrides == {"Muallim": "Frankfurt"}


def test_pop_override_in_a_routing_study_is_an_error(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text('study = "routing"\n' + GOOD + POPS + '[pop_overrides]\nMuallim = "Frankfurt"\n')
    with pytest.raises(InputError, match="egress study only") as info:
        load_scenario(p)
    assert info.value.line == 24


def test_pop_override_checked_against_a_pops_file_when_the_run_reads_it(tmp_path):
    from skymesh.sim.prepare import _pops

    (tmp_path / "pops.csv").write_text("name,lat,lon,country\nFrankfurt,50.1,8.7,DE\n")
    p = tmp_path / "s.toml"
    p.write_text('pops_file = "pops.csv"\n' + GOOD + '[pop_overrides]\nMuallim = "Paris"\n')
    loaded = load_scenario(p)  # the file is read by the run, not by the loader
    with pytest.raises(InputError, match="'Paris'") as info:
        _pops(loaded, ["Muallim"], [40.8], [29.5], ["TR"], [])
    assert info.value.file == str(p) and info.value.line == 19


# ----------------------------------------------------------------------------- built-in names


def test_a_builtin_name_is_not_shadowed_by_a_folder_of_that_name(tmp_path, monkeypatch):
    """`skymesh run iran-2022` writes results/iran-2022; a folder (or file) called iran-2022
    in the current directory used to be taken for the scenario file."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "iran-2022").mkdir()
    (tmp_path / "ukraine-2022").write_text("not a scenario")
    assert load_scenario("iran-2022").source == "<built-in iran-2022>"
    assert load_scenario("ukraine-2022").source == "<built-in ukraine-2022>"
    (tmp_path / "iran-2022.toml").write_text(GOOD)
    assert load_scenario("./iran-2022.toml").scenario.name == "ok"  # a path is the file
    with pytest.raises(InputError, match="a folder"):
        load_scenario("./iran-2022")
