import numpy as np

from skymesh.sim.stats import Histogram


def test_histogram_percentiles_match_numpy_to_a_bin():
    rng = np.random.default_rng(0)
    values = rng.gamma(4.0, 10.0, 200_000)
    h = Histogram()
    for part in np.array_split(values, 7):
        h.add(part)
    got = h.percentiles((5, 50, 95, 99))
    for q in (5, 50, 95, 99):
        assert abs(got[f"p{q}"] - np.percentile(values, q)) <= 0.011
    assert abs(h.mean() - values.mean()) < 1e-9
    assert h.n == len(values)
    h.add([np.nan, np.inf])
    assert h.n == len(values)


def test_the_mean_never_overflows():
    """The integer accumulator of 1e-6 units wrapped around in int64: 3,000,000 RTTs of
    5e6 ms averaged -1.1e6 ms, a run of the fleet far from its epoch -6.6e11 ms."""
    h = Histogram()
    h.add(np.full(3_000_000, 5e6))
    assert h.mean() == 5e6
    huge = Histogram()
    for _ in range(3):
        huge.add([1e308, 4e17, 1.0])
    assert abs(huge.mean() / ((1e308 + 4e17 + 1.0) / 3) - 1) < 1e-12
    assert huge.counts[-1] == 6 and huge.counts[0] == 0  # 1e308 is not cast into bin 0


def test_the_exact_sum_does_not_depend_on_batches():
    from skymesh.sim.stats import exact_units_sum

    v = np.array([1e308, -1e308, 3e12, 2.5, -7.25e9, 1e-7])
    assert exact_units_sum(v) == sum(exact_units_sum([x]) for x in v)
    assert exact_units_sum([2.5, 3e12]) == 2_500_000 + 3 * 10**18
