"""The capacity headline's definition (skymesh.capacity.headline), on hand-made slots."""

import pytest

from skymesh.capacity.headline import capacity_headline, carried_share
from skymesh.capacity.slot_network import CAPACITY_DEFAULTS


def _slot(t, n, covered, kind="cell-beams", admitted=0):
    return {
        "slot_utc": t,
        "terminals_at_target": n,
        "terminals_covered": covered,
        "per_terminal_mbps": 25.0 * n / covered if covered else 0.0,
        "binding_constraint": kind,
        "binding_share": {kind: 1.0} if covered else {},
        "admitted_at_target": admitted,
        "alpha": n / covered if covered else 0.0,
    }


def test_the_fewest_over_slots_with_service_is_the_headline():
    slots = [
        _slot("T0", 900, 100, admitted=100),
        _slot("T1", 0, 0, kind="none"),  # switched off by policy: not a capacity answer
        _slot("T2", 400, 100, kind="gateway", admitted=80),
        _slot("T3", 400, 100, kind="isl"),  # a tie: the earlier slot stands
    ]
    h = capacity_headline(slots, 25.0)
    assert (h["terminals_at_target"], h["slot_utc"]) == (400, "T2")
    assert (h["binding_constraint"], h["binding_label"]) == ("gateway", "gateway sites")
    assert h["per_terminal_mbps"] == pytest.approx(100.0)
    assert h["secondary"] == {"admitted_at_target": 80}
    assert (h["slots_sampled"], h["slots_with_service"]) == (4, 3)


def test_no_service_anywhere_gives_zero_not_an_error():
    h = capacity_headline([_slot("T0", 0, 0, kind="none")], 10.0, counts_in="subscribers")
    assert h["terminals_at_target"] == 0 and h["counts_in"] == "subscribers"
    with pytest.raises(ValueError):
        capacity_headline([], 10.0)


def test_carried_share_is_capped_at_the_fleet():
    assert carried_share({"terminals_at_target": 4278}, 20000) == pytest.approx(0.2139)
    assert carried_share({"terminals_at_target": 50000}, 20000) == 1.0
    assert carried_share({"terminals_at_target": 5}, 0) == 0.0


def test_both_faces_default_to_the_same_capacities():
    from skymesh.sim.scenario import CapacitySpec

    spec = CapacitySpec()
    assert {k: getattr(spec, k) for k in CAPACITY_DEFAULTS} == CAPACITY_DEFAULTS
