"""Service policy: timelines, landing rights, exit rules, and errors in policy files."""

import textwrap
import tomllib
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from skymesh.errors import InputError
from skymesh.policy import (
    default_policy,
    exit_allowed,
    landing_allowed,
    load_policy,
    policy_from_dict,
    service_active,
)
from skymesh.policy.tomlerrors import find_toml_line
from skymesh.timebase import time_range

UTC = timezone.utc
ACTIVATION = datetime(2022, 9, 23, tzinfo=UTC)  # Starlink switched on for Iran
WITHDRAWN = datetime(2025, 1, 1, tzinfo=UTC)

POLICY = """\
description = "Iran activation, Polish landing rights"
default_service = "active"
default_landing_rights = false
exit_countries = "any"

[[country]]
iso2 = "IR"
censoring = true
exit_countries = ["TR", "DE", "IR", "PL"]

[[country.service]]
state = "inactive"
until = 2022-09-23T00:00:00Z

[[country.service]]
state = "active"
from = "2022-09-23T00:00:00Z"

[[country]]
iso2 = "RU"

[[country.service]]
state = "inactive"
from = 2022-03-01T00:00:00Z

[[landing]]
iso2 = "PL"
from = 2022-03-01T00:00:00Z
until = 2025-01-01T00:00:00Z

[[landing]]
iso2 = "TR"

[[landing]]
iso2 = "IR"

[[landing]]
iso2 = "DE"
"""


def write(tmp_path, text, name="policy.toml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def policy(tmp_path):
    return load_policy(write(tmp_path, POLICY))


def test_inactive_country_served_only_after_activation(policy):
    grid = time_range(ACTIVATION - timedelta(days=2), ACTIVATION + timedelta(days=2), 3600)
    got = service_active(policy, ["IR", "FR", ""], grid)
    assert got.shape == (3, len(grid))
    before = grid.offsets_s < 2 * 86400
    np.testing.assert_array_equal(got[0], ~before)  # IR: off until the instant, on from it
    assert got[1].all() and got[2].all()  # FR and sea take the default


def test_open_start_and_open_end(policy):
    times = [
        "1990-01-01T00:00:00Z",
        "2022-02-28T23:59:59Z",
        "2022-03-01T00:00:00Z",
        "2090-01-01T00:00:00Z",
    ]
    np.testing.assert_array_equal(
        service_active(policy, ["RU", "IR"], times),
        [[True, True, False, False], [False, False, False, True]],
    )


def test_datetime64_times(policy):
    times = np.array(["2022-09-22T23:59:59", "2022-09-23T00:00:00"], dtype="datetime64[s]")
    np.testing.assert_array_equal(service_active(policy, "IR", times), [[False, True]])


def test_censoring_country_never_exits_at_home(policy):
    grid = time_range("2020-01-01T00:00:00Z", "2030-01-01T00:00:00Z", 86400 * 30)
    # IR has landing rights all the time, and IR is in its own exit list ...
    assert landing_allowed(policy, ["IR"], grid).all()
    got = exit_allowed(policy, "IR", ["IR", "TR", "DE"], grid)
    assert not got[0].any()  # ... yet never an exit for IR terminals
    assert got[1].all() and got[2].all()
    # Terminals elsewhere may leave through Iran's gateways.
    assert exit_allowed(policy, "FR", ["IR"], grid).all()


def test_withdrawn_landing_rights(policy):
    t = [WITHDRAWN - timedelta(seconds=1), WITHDRAWN, WITHDRAWN + timedelta(days=400)]
    np.testing.assert_array_equal(landing_allowed(policy, ["PL"], t), [[True, False, False]])
    np.testing.assert_array_equal(exit_allowed(policy, "FR", ["PL"], t), [[True, False, False]])
    np.testing.assert_array_equal(exit_allowed(policy, "IR", ["PL"], t), [[True, False, False]])
    # Before the grant there were no rights either (default_landing_rights = false).
    assert not landing_allowed(policy, ["PL"], ["2022-02-28T00:00:00Z"]).any()


def test_exit_sets(policy):
    t = ["2023-06-01T00:00:00Z"]
    gws = ["TR", "DE", "PL", "FR", "US"]
    # IR's own list; FR, US have no landing rights (default false).
    np.testing.assert_array_equal(
        exit_allowed(policy, "IR", gws, t)[:, 0], [True, True, True, False, False]
    )
    strict = policy_from_dict(
        {"exit_countries": ["DE"], "country": [{"iso2": "BR", "exit_countries": ["US"]}]}
    )
    np.testing.assert_array_equal(
        exit_allowed(strict, "FR", gws, t)[:, 0], [False, True, False, False, False]
    )
    np.testing.assert_array_equal(
        exit_allowed(strict, "BR", gws, t)[:, 0], [False, False, False, False, True]
    )


def test_denied_interval_on_default_rights():
    p = policy_from_dict(
        {"landing": [{"iso2": "IN", "state": "denied", "from": "2024-01-01T00:00:00Z"}]}
    )
    np.testing.assert_array_equal(
        landing_allowed(p, ["IN", "US"], ["2023-12-31T23:00:00Z", "2024-01-01T00:00:00Z"]),
        [[True, False], [True, True]],
    )


def test_default_policy_allows_everything():
    p = default_policy()
    assert service_active(p, ["IR", "KP"], ["2024-01-01T00:00:00Z"]).all()
    assert exit_allowed(p, "IR", ["IR", "US"], ["2024-01-01T00:00:00Z"]).all()


def test_default_inactive():
    p = policy_from_dict(
        {
            "default_service": "inactive",
            "country": [{"iso2": "US", "service": [{"state": "active"}]}],
        }
    )
    np.testing.assert_array_equal(
        service_active(p, ["US", "FR"], ["2024-01-01T00:00:00Z"]), [[True], [False]]
    )


# --------------------------------------------------------------------------- malformed files

BAD = {
    "typo_key": (
        """\
        default_service = "active"

        [[country]]
        iso2 = "IR"
        censorng = true
        """,
        5,
        "country.0.censorng",
        "unknown key 'censorng' (did you mean 'censoring'?)",
    ),
    "top_level_typo": (
        """\
        default_servce = "active"
        """,
        1,
        "default_servce",
        "did you mean 'default_service'",
    ),
    "unknown_iso": (
        """\
        [[country]]
        iso2 = "XX"
        """,
        2,
        "country.0.iso2",
        "unknown ISO 3166-1 alpha-2 country code 'XX'",
    ),
    "alpha3_code": (
        """\
        [[landing]]
        iso2 = "DE"

        [[landing]]
        iso2 = "TUR"
        """,
        5,
        "landing.1.iso2",
        "use 'TR'",
    ),
    "unknown_iso_in_list": (
        """\
        [[country]]
        iso2 = "IR"
        exit_countries = ["TR", "QQ"]
        """,
        3,
        "country.0.exit_countries.1",
        "'QQ'",
    ),
    "reversed_range": (
        """\
        [[country]]
        iso2 = "IR"

        [[country.service]]
        state = "inactive"
        from = 2023-01-01T00:00:00Z
        until = 2022-01-01T00:00:00Z
        """,
        7,
        "country.0.service.0.until",
        "reversed",
    ),
    "overlapping_ranges": (
        """\
        [[country]]
        iso2 = "UA"

        [[country]]
        iso2 = "IR"

        [[country.service]]
        state = "inactive"
        until = 2022-09-23T00:00:00Z

        [[country.service]]
        state = "active"
        from = 2022-09-01T00:00:00Z
        """,
        13,
        "country.1.service.1.from",
        "overlaps interval 0",
    ),
    "overlapping_landing": (
        """\
        [[landing]]
        iso2 = "PL"
        from = 2022-01-01T00:00:00Z

        [[landing]]
        iso2 = "PL"
        from = 2021-01-01T00:00:00Z
        until = 2022-06-01T00:00:00Z
        """,
        3,
        "landing.0.from",
        "overlaps landing interval 1",
    ),
    "bad_state_word": (
        """\
        [[country]]
        iso2 = "IR"

        [[country.service]]
        state = "activ"
        """,
        5,
        "country.0.service.0.state",
        "'active' or 'inactive'",
    ),
    "wrong_type_bool": (
        """\
        [[country]]
        iso2 = "IR"
        censoring = "yes"
        """,
        3,
        "country.0.censoring",
        "valid boolean",
    ),
    "wrong_type_top": (
        """\
        default_service = "active"
        default_landing_rights = 1
        """,
        2,
        "default_landing_rights",
        "valid boolean",
    ),
    "wrong_type_iso": (
        """\
        [[landing]]
        iso2 = 48
        """,
        2,
        "landing.0.iso2",
        "valid string",
    ),
    "missing_state": (
        """\
        [[country]]
        iso2 = "IR"

        [[country.service]]
        from = 2022-09-23T00:00:00Z
        """,
        4,
        "country.0.service.0.state",
        "missing required key 'state'",
    ),
    "missing_iso2": (
        """\
        [[landing]]
        iso2 = "TR"

        [[landing]]
        from = 2022-09-23T00:00:00Z
        """,
        4,
        "landing.1.iso2",
        "missing required key 'iso2'",
    ),
    "bad_datetime": (
        """\
        [[landing]]
        iso2 = "TR"
        from = "2022-13-45T00:00:00Z"
        """,
        3,
        "landing.0.from",
        "is not an ISO 8601 time",
    ),
    "datetime_wrong_type": (
        """\
        [[landing]]
        iso2 = "TR"
        until = 2022
        """,
        3,
        "landing.0.until",
        "valid datetime",
    ),
    "duplicate_country": (
        """\
        [[country]]
        iso2 = "IR"

        [[country]]
        iso2 = "ir"
        """,
        5,
        "country.1.iso2",
        "listed twice",
    ),
    "bad_global_exit": (
        """\
        exit_countries = "anywhere"
        """,
        1,
        "exit_countries",
        'expected "any"',
    ),
    "service_not_tables": (
        """\
        [[country]]
        iso2 = "IR"
        service = "active"
        """,
        3,
        "country.0.service",
        "valid list",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_malformed_policy_files(tmp_path, case):
    text, line, field, fragment = BAD[case]
    path = write(tmp_path, text, name=f"{case}.toml")
    with pytest.raises(InputError) as info:
        load_policy(path)
    err = info.value
    assert err.file == str(path)
    assert err.line == line
    assert err.field == field
    assert fragment in err.message
    assert str(err).startswith(f"{path}:{line}, field '{field}': ")


def test_toml_syntax_error_has_line(tmp_path):
    path = write(
        tmp_path,
        """\
        default_service = "active"
        [[country]]
        iso2 = "IR
        """,
    )
    with pytest.raises(InputError, match="not valid TOML") as info:
        load_policy(path)
    assert info.value.line == 3 and info.value.file == str(path)


def test_missing_file_is_input_error(tmp_path):
    with pytest.raises(InputError, match="policy file not found"):
        load_policy(tmp_path / "nope.toml")


def test_policy_inside_a_larger_file(tmp_path):
    text = textwrap.dedent("""\
        name = "scenario"

        [policy]
        default_service = "active"

        [[policy.country]]
        iso2 = "IR"

        [[policy.country]]
        iso2 = "CN"
        censorng = true
        """)
    data = tomllib.loads(text)
    with pytest.raises(InputError) as info:
        policy_from_dict(data["policy"], source="scenario.toml", text=text, prefix_loc=("policy",))
    assert (info.value.line, info.value.field) == (11, "policy.country.1.censorng")


def test_find_toml_line_nested_arrays_and_fallbacks():
    text = textwrap.dedent("""\
        top = 1                      # line 1
        [[a]]                        # line 2
        x = 1
        [[a.b]]                      # line 4
        y = 2
        [[a]]                        # line 6
        [[a.b]]                      # line 7
        [[a.b]]                      # line 8
        "quoted key" = 3
        s = '''
        [[a]]
        fake = 1
        '''
        z.w = 4
        """)
    assert find_toml_line(text, ("top",)) == 1
    assert find_toml_line(text, ("a", 0, "x")) == 3
    assert find_toml_line(text, ("a", 0, "b", 0, "y")) == 5
    assert find_toml_line(text, ("a", 1, "b", 1)) == 8
    assert find_toml_line(text, ("a", 1, "b", 1, "quoted key")) == 9
    assert find_toml_line(text, ("a", 1, "b", 1, "z", "w")) == 14
    assert find_toml_line(text, ("a", 1, "b", 0, "missing")) == 7  # falls back to its table
    assert find_toml_line(text, ("a", 2)) is None  # not in the text
    assert find_toml_line("", ("top",)) is None
