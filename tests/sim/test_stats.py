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
