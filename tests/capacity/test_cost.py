"""Cost model: bill arithmetic by hand, and the Ukraine 2022 example against the reported
figures."""

import numpy as np
import pytest

from skymesh.capacity.cost import (
    CONSUMER_2022,
    UKRAINE_2022,
    CostParams,
    interpolate_months,
    monthly_bill,
    run_scenario,
)
from skymesh.errors import InputError


def test_bill_arithmetic_by_hand():
    p = CostParams(terminal_price_usd=600.0, monthly_service_usd=100.0, replacements_per_month=2)
    bill = monthly_bill([("2022-11", 10), ("2022-12", 15), ("2023-01", 12)], p, start_terminals=4)
    assert bill["month"].tolist() == ["2022-11", "2022-12", "2023-01"]
    # new: 10-4 = 6, 15-10 = 5, a shrinking fleet ships none; 2 replacements every month
    assert bill["new_terminals"].tolist() == [6, 5, 0]
    assert bill["replaced_terminals"].tolist() == [2, 2, 2]
    # hardware: (6+2)*600 = 4,800; (5+2)*600 = 4,200; 2*600 = 1,200
    assert bill["hardware_usd"].tolist() == [4_800, 4_200, 1_200]
    # service: 10*100, 15*100, 12*100
    assert bill["service_usd"].tolist() == [1_000, 1_500, 1_200]
    assert bill["total_usd"].tolist() == [5_800, 5_700, 2_400]
    assert bill["cumulative_usd"].tolist() == [5_800, 11_500, 13_900]


def test_consumer_prices():
    # CNET, "SpaceX Raises the Price of Starlink", Mar 2022 (N): $599 kit, $110/month from 22 Mar
    bill = monthly_bill({"2022-04": 1}, CONSUMER_2022)
    assert bill["total_usd"].tolist() == [599 + 110]


def test_interpolation_between_dated_counts():
    got = interpolate_months({"2022-05": 10_000, "2022-09": 20_000}, "2022-04", "2022-10")
    assert list(got.values()) == [10_000, 10_000, 12_500, 15_000, 17_500, 20_000, 20_000]


def test_ukraine_2022_order_of_magnitude():
    """SpaceX's Sept 2022 letter to the Pentagon, reported by CNN on 13-14 Oct 2022 (status N):
    >$120 M for the rest of 2022 and close to $400 M over the next 12 months."""
    res = run_scenario(UKRAINE_2022)
    rest, year = res["rest_of_2022"], res["next_12_months"]
    assert rest["reported_usd"] == 120e6 and year["reported_usd"] == 400e6
    for r in (rest, year):
        assert 0.1 < r["ratio"] < 10  # same order of magnitude
        assert 7.0 <= np.log10(r["total_usd"]) < 9.0  # tens to hundreds of millions
    # Sep-Dec 2022 by hand: terminals 20,000 -> 22,000 (CNN, Oct 2022; Fedorov, 20 Dec 2022), linear
    # Sept: 2,500 new since Aug (17,500 interpolated May->Sep) + 500 replaced, 20,000 served
    sept = rest["bill"]
    assert sept["terminals"][0] == 20_000 and sept["new_terminals"][0] == 2_500
    assert sept["total_usd"][0] == (2_500 + 500) * 1_500 + 20_000 * 500
    # four months: new terminals 2,500 + 2,000 (20,000 -> 22,000), 4 x 500 replaced,
    # service on 20,000 + 20,667 + 21,333 + 22,000 terminal-months
    hand = (2_500 + 2_000 + 4 * 500) * 1_500 + (20_000 + 20_667 + 21_333 + 22_000) * 500
    assert rest["total_usd"] == pytest.approx(hand)
    # the reported figures imply ~$1,500-1,700 per terminal-month all in, ~3x the $500 tier
    assert 120e6 / (4 * 20_000) == pytest.approx(1_500)
    assert 400e6 / (12 * 20_000) == pytest.approx(1_667, abs=1)


def test_input_errors():
    with pytest.raises(InputError) as err:
        monthly_bill({"2022-13": 1}, CONSUMER_2022)
    assert err.value.field == "month"
    with pytest.raises(InputError):
        monthly_bill([("2022-01", 1), ("2022-03", 1)], CONSUMER_2022)  # gap
    with pytest.raises(InputError) as err:
        CostParams(terminal_price_usd=-1.0, monthly_service_usd=1.0)
    assert err.value.field == "terminal_price_usd"
