"""Built-in scenarios: what their assumptions say agrees with the data they list.

The assumptions are read as a person would read them: country names are
found in the text with pycountry's names (plus the Natural Earth names the
maps use, e.g. "Turkey" where ISO now says "Türkiye") and compared with the
ISO codes of the gateways, the terminals and the policy; counts written in
words ("1,000 placed by population") are compared with the terminal groups.
"""

import csv
import re

import numpy as np
import pycountry
import pytest

from skymesh.policy.rules import landing_allowed
from skymesh.sim.scenario import builtin_names, load_scenario


def _country_names() -> dict[str, str]:
    from skymesh.ground.countries import load_countries

    names = {}
    for c in pycountry.countries:
        for attr in ("name", "common_name", "official_name"):
            value = getattr(c, attr, None)
            if value:
                names[value] = c.alpha_2
    cs = load_countries()
    for code, name in zip(cs.iso2, cs.name):
        if code and str(name):
            names.setdefault(str(name), str(code))
    return names


NAMES = _country_names()
# Longest first, so "Papua New Guinea" is taken before "Guinea".
_PATTERN = re.compile(
    r"\b(" + "|".join(re.escape(n) for n in sorted(NAMES, key=len, reverse=True)) + r")\b"
)


def countries_named(text: str) -> set[str]:
    return {NAMES[m] for m in _PATTERN.findall(text)}


def test_country_name_parser():
    assert countries_named("sites in Turkey and Oman, one in Tehran, Iran") == {"TR", "OM", "IR"}
    assert countries_named("Papua New Guinea and the Philippines") == {"PG", "PH"}
    assert countries_named("Nigeria") == {"NG"}  # not Niger


SCENARIOS = builtin_names()


@pytest.mark.parametrize("name", SCENARIOS)
def test_gateway_countries_in_assumptions_match_the_gateways(name):
    s = load_scenario(name).scenario
    said = [a for a in s.assumptions if a.lower().startswith("gateway")]
    listed = {g.country for g in s.gateways}
    if not listed:
        assert not said, f"{name}: assumptions describe gateways it does not list"
        return
    assert len(said) == 1, f"{name}: one assumption starting 'Gateway...' describes the sites"
    assert countries_named(said[0]) == listed, (name, said[0])


@pytest.mark.parametrize("name", SCENARIOS)
def test_terminal_counts_and_policy_words_match(name):
    loaded = load_scenario(name)
    s = loaded.scenario
    text = " ".join(s.assumptions)
    m = re.search(r"([\d,]+) (?:terminals )?placed by population", text)
    if m:
        total = sum(g.count for g in s.terminals if g.placement == "population")
        assert int(m.group(1).replace(",", "")) == total, name
    times = [s.time.start] if s.time.start != "epoch" else []
    for m in re.finditer(r"Landing rights granted everywhere except ([A-Z][a-z]+)", text):
        (code,) = countries_named(m.group(1))
        assert not landing_allowed(loaded.policy, [code], times).any(), (name, code)
        others = sorted({g.country for g in s.gateways} - {code})
        assert landing_allowed(loaded.policy, others, times).all(), (name, others)
    for m in re.finditer(r"([A-Z][a-z]+) is censoring", text):
        (code,) = countries_named(m.group(1))
        assert code in loaded.policy.censoring, (name, code)


def test_iran_policy_sets_what_its_text_says():
    loaded = load_scenario("iran-2022")
    t = ["2022-09-22T23:30:00Z", "2022-09-23T00:30:00Z"]
    assert not landing_allowed(loaded.policy, ["IR"], t).any()
    assert landing_allowed(loaded.policy, ["TR", "OM", "IT"], t).all()
    assert "IR" in loaded.policy.censoring


def _rows(path, lat, lon):
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return np.array([[float(r[lat]), float(r[lon])] for r in rows])


@pytest.mark.parametrize("name", [n for n in SCENARIOS if load_scenario(n).scenario.gateways])
def test_gateway_sites_come_from_the_lists_the_text_names(name, shared_data):
    """Every site not marked assumed/hypothetical sits (within 0.01 deg) on a row of
    the gateway list its scenario says it comes from."""
    lists = {
        "StarPerf": _rows(shared_data / "starlink_gateways_starperf_20221203.csv", "lat", "lon"),
        "2026 community list": _rows(
            shared_data / "starlink_gateways_starlinkviz_20260320.csv", "lat", "lon"
        ),
    }
    s = load_scenario(name).scenario
    (said,) = [a for a in s.assumptions if a.lower().startswith("gateway")]
    for g in s.gateways:
        if re.search(r"assumed|hypothetical", g.name):
            continue
        found = [
            label
            for label, xy in lists.items()
            if np.any(np.all(np.abs(xy - [g.lat, g.lon]) < 0.01, axis=1))
        ]
        assert found, f"{name}: {g.name} is in neither gateway list"
        assert any(label in said for label in found), (name, g.name, found)


def _instant(text: str, day: str | None = None):
    from skymesh.timebase import parse_time

    return parse_time(text if day is None else f"{day}T{text}:00Z")


def test_times_written_in_the_assumptions_are_the_policy_s():
    """Each time an assumption states is where the policy (or the failure) switches."""
    from datetime import timedelta

    from skymesh.policy.rules import service_active

    minute = timedelta(minutes=1)

    loaded = load_scenario("iran-2022")
    text = " ".join(loaded.scenario.assumptions)
    t = _instant(re.search(r"Service activated at (\S+?Z)", text).group(1))
    assert service_active(loaded.policy, ["IR"], [t - minute, t]).tolist() == [[False, True]]

    loaded = load_scenario("taiwan-geofence")
    text = " ".join(loaded.scenario.assumptions)
    t = _instant(re.search(r"Geofence time (\S+?Z)", text).group(1))
    assert service_active(loaded.policy, ["TW"], [t - minute, t]).tolist() == [[True, False]]

    loaded = load_scenario("ukraine-2022")
    s = loaded.scenario
    text = " ".join(s.assumptions)
    day = s.time.start.strftime("%Y-%m-%d")
    m = re.search(r"withdrawal of landing rights at (\d\d:\d\d) UTC", text)
    t = _instant(m.group(1), day)
    assert landing_allowed(loaded.policy, ["PL"], [t - minute, t]).tolist() == [[True, False]]
    m = re.search(r"the (\d+) % satellite failure at (\d\d:\d\d) UTC", text)
    (failure,) = [f for f in s.failures if f.kind == "satellites"]
    assert failure.fraction == pytest.approx(int(m.group(1)) / 100)
    assert failure.start == _instant(m.group(2), day)
