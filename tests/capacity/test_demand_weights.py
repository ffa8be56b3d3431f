"""Subscriber weights: a sampled terminal stands for many subscribers (hand-checked numbers)."""

import numpy as np
import pytest
import scipy.sparse as sp

from skymesh.capacity.allocation import max_min_fair
from skymesh.capacity.demand import (
    demand_mbps,
    subscribers_at_rate,
    terminal_weights,
    weighted_percentiles,
    weights_note,
)
from skymesh.capacity.network import NetworkCapacityParams
from skymesh.errors import InputError
from skymesh.sim.scenario import load_scenario

SCENARIO = """
name = "weights"
[constellation]
preset = "starlink-gen1"
[time]
start = 2022-10-15T12:00:00Z
duration_s = 60
step_s = 10
[[terminals]]
country = "UA"
count = 5
subscribers = 2000
[[terminals]]
name = "Kyiv"
points = [[50.45, 30.52], [50.40, 30.60]]
[[terminals]]
name = "Lviv"
points = [[49.84, 24.03], [49.80, 24.10], [49.90, 24.00], [49.85, 24.05]]
subscribers = 1000
[[gateways]]
name = "Kaunas"
lat = 54.88
lon = 23.84
country = "LT"
"""


def _loaded(tmp_path, text=SCENARIO):
    path = tmp_path / "w.toml"
    path.write_text(text)
    return load_scenario(path)


def test_weights_per_group(tmp_path):
    w = terminal_weights(_loaded(tmp_path))
    # 2000 / 5 = 400 for the UA sample, 1 for the plain Kyiv points, 1000 / 4 = 250 in Lviv
    assert w.tolist() == [400.0] * 5 + [1.0] * 2 + [250.0] * 4
    assert w.sum() == 2000 + 2 + 1000


def test_weights_note_says_what_a_sample_stands_for(tmp_path):
    loaded = _loaded(tmp_path)
    note = weights_note(loaded, terminal_weights(loaded))
    assert (
        "UA: one sampled terminal stands for 400 subscribers (2,000 subscribers, a sample of 5)"
    ) in note
    assert "Lviv: one sampled terminal stands for 250 subscribers" in note
    assert note.endswith("3,002 subscribers in all")


def test_no_subscribers_means_weight_one(tmp_path):
    text = SCENARIO.replace("subscribers = 2000\n", "").replace("subscribers = 1000\n", "")
    loaded = _loaded(tmp_path, text)
    assert terminal_weights(loaded, 11).tolist() == [1.0] * 11
    assert weights_note(loaded) == ""


def test_fewer_subscribers_than_samples_is_an_input_error(tmp_path):
    loaded = _loaded(tmp_path, SCENARIO.replace("subscribers = 2000", "subscribers = 3"))
    with pytest.raises(InputError, match="terminals.0.subscribers"):
        terminal_weights(loaded)


def test_zero_subscribers_rejected_by_the_scenario(tmp_path):
    with pytest.raises(InputError, match="subscribers"):
        _loaded(tmp_path, SCENARIO.replace("subscribers = 2000", "subscribers = 0"))


def test_demand_scales_by_the_weight():
    # 2 Mbit/s busy-hour per subscriber, a sample of 400 subscribers -> 800 Mbit/s
    d = demand_mbps(3, busy_hour_mbps=2.0, subscribers=np.array([400.0, 1.0, 250.0]))
    assert d.tolist() == [800.0, 2.0, 500.0]
    with pytest.raises(InputError, match="subscribers"):
        demand_mbps(1, busy_hour_mbps=2.0, subscribers=0.0)


def test_weighted_percentiles_equal_the_expanded_sample():
    values = np.array([1.0, 2.0, 3.0])
    weights = np.array([1, 1, 2])
    # cumulative weight 1, 2, 4 of 4: the median is the first value reaching 50 % -> 2
    assert weighted_percentiles(values, weights, [50, 75, 100]).tolist() == [2.0, 3.0, 3.0]
    expanded = np.repeat(values, weights)  # [1, 2, 3, 3]
    q = [5, 25, 50, 60, 95]
    assert np.allclose(
        weighted_percentiles(values, weights, q), np.percentile(expanded, q, method="inverted_cdf")
    )


def test_weighted_allocation_equals_the_expanded_network():
    # 4 subscribers at X (own link 1,000), 2 at Y (own link 100), all share a 1,200 link.
    # Expanded by hand: Y's two get 50 each on their 100 link; X's four then share
    # min(1,000, 1,200 - 100) = 1,000 -> 250 each.
    expanded = sp.csr_matrix(
        np.array(
            [
                [1, 1, 1, 1, 1, 1],  # shared 1,200
                [1, 1, 1, 1, 0, 0],  # X 1,000
                [0, 0, 0, 0, 1, 1],
            ]
        )
    )  # Y 100
    cap = np.array([1200.0, 1000.0, 100.0])
    per_sub = max_min_fair(expanded, cap)["rate_mbps"]
    assert np.allclose(per_sub, [250, 250, 250, 250, 50, 50])
    sample = sp.csr_matrix(np.array([[1, 1], [1, 0], [0, 1]]))
    w = np.array([4.0, 2.0])
    rate = max_min_fair(sample, cap, weights=w)["rate_mbps"]
    assert np.allclose(rate / w, [250.0, 50.0])


def test_subscribers_at_rate_counts_subscribers():
    R = sp.csr_matrix(np.array([[1, 1]]))  # two samples on one 1,000 Mbit/s link
    w = np.array([100.0, 300.0])
    # 2 Mbit/s each: 100 x 2 + 300 x 2 = 800 <= 1,000 -> all 400 subscribers
    out = subscribers_at_rate(R, [1000.0], 2.0, weights=w)
    assert (out["n_samples"], out["n_subscribers"], out["limiting_link"]) == (2, 400.0, -1)
    # 3 Mbit/s each: 300 + 900 = 1,200 > 1,000 -> only the first sample's 100 subscribers
    out = subscribers_at_rate(R, [1000.0], 3.0, weights=w)
    assert (out["n_samples"], out["n_subscribers"], out["limiting_link"]) == (1, 100.0, 0)
    # a sample asking for less than w x target needs only its demand: 300 + 500 <= 1,000
    out = subscribers_at_rate(R, [1000.0], 3.0, demand_mbps=[1e9, 500.0], weights=w)
    assert out["n_subscribers"] == 400.0


def test_place_in_polygon_by_population_is_inside_and_deterministic():
    import shapely

    from skymesh.capacity.demand import place_in_polygon

    box = shapely.box(2.0, 48.0, 3.0, 49.5)  # around Paris
    lat, lon = place_in_polygon(box, 200, seed=3)
    assert shapely.contains_xy(box, lon, lat).all()
    again = place_in_polygon(box, 200, seed=3)
    assert np.array_equal(lat, again[0]) and np.array_equal(lon, again[1])
    # population weighting: most points within ~25 km of the centre of Paris (48.86N 2.35E)
    near = np.hypot(lat - 48.86, (lon - 2.35) * np.cos(np.radians(48.86))) < 0.25
    assert near.mean() > 0.5
    with pytest.raises(InputError, match="no GeoNames place"):
        place_in_polygon(shapely.box(-30.0, -50.0, -29.0, -49.0), 5)  # open ocean


def test_a_weighted_sample_equals_the_expanded_terminals_in_a_slot(tmp_path):
    """Two sampled terminals standing for 30 subscribers each get the same per-subscriber
    rates and the same count at a target as the 60 terminals written out, in the run's
    slot capacity (beam pairs, backhaul, load-aware assignment). Each cell asks for
    30 x 5,000 Mbit/s, far beyond its 8 beams (~8 x 1.37 Gbit/s): ignoring the weights would
    give a lone terminal a whole beam instead of a thirtieth of eight."""
    from skymesh.policy.rules import default_policy
    from skymesh.sim.capacity_pass import service_cells, slot_capacity
    from skymesh.sim.prepare import prepare
    from skymesh.sim.scenario import LoadedScenario, Scenario

    def _loaded(lat, lon):
        data = {
            "name": "w",
            "study": "egress",
            "constellation": {"preset": "starlink-shell1"},
            "time": {"start": "2022-10-15T12:00:00Z", "duration_s": 1.0, "step_s": 1.0},
            "routing": {"mode": "isl", "compare_bent_pipe": False},
            "terminals": [
                {"name": "t", "points": [(float(a), float(b)) for a, b in zip(lat, lon)]}
            ],
            "gateways_file": str(gw),
        }
        return LoadedScenario(
            scenario=Scenario.model_validate(data),
            policy=default_policy(),
            source="<test>",
            base_dir=tmp_path,
            text="",
            data=data,
            sha256="",
        )

    gw = tmp_path / "gw.csv"
    gw.write_text("name,lat,lon,country\nAerzen,52.06,9.329,DE\nKaunas,54.88,23.84,LT\n")
    pts = np.array([[50.45, 30.52], [49.84, 24.03]])
    out = {}
    for label, lat, lon, w in (
        ("sample", pts[:, 0], pts[:, 1], np.array([30.0, 30.0])),
        ("expanded", np.repeat(pts[:, 0], 30), np.repeat(pts[:, 1], 30), None),
    ):
        prep = prepare(_loaded(lat, lon))
        groups, group_of = np.unique(prep.terminal_country, return_inverse=True)
        cells = service_cells(prep.terminal_lat, prep.terminal_lon, group_of, 5)
        demand = np.full(prep.n_terminals, 5000.0)  # Mbit/s per subscriber
        res = slot_capacity(
            prep,
            prep.operators[0],
            0.0,
            cells,
            groups,
            demand,
            NetworkCapacityParams(),
            100.0,
            terminal_weight=w,
        )
        out[label] = res
    rs, re = out["sample"]["terminal_rate_mbps"], out["expanded"]["terminal_rate_mbps"]
    assert np.allclose(rs, re[::30]) and np.allclose(re[0::30], re[1::30])
    assert (rs < 1373.0 / 2).all()  # a share of the cell, not a beam
    hs, he = out["sample"]["headline"], out["expanded"]["headline"]
    assert hs["terminals_at_target"] == he["terminals_at_target"]
    assert hs["admitted_at_target"] == he["admitted_at_target"]
