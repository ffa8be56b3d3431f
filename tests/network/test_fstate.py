"""Forwarding-state changes: the compiled pass lists what np.nonzero lists, in its order."""

import numpy as np
import pytest

from skymesh.network import fstate


@pytest.mark.parametrize("seed", range(5))
def test_changes_match_nonzero_order(seed):
    rng = np.random.default_rng(seed)
    n_dst, n = int(rng.integers(1, 40)), int(rng.integers(1, 500))
    prev = rng.integers(-1, 50, (n, n_dst)).astype(np.int32)  # node-major, as routing gives
    new = prev.copy()
    flip = rng.random(prev.shape) < rng.uniform(0, 0.3)
    new[flip] = rng.integers(-1, 50, flip.sum())
    # the reference: the entries that differ, in C order of the node-major table
    node_ref, dst_ref = np.nonzero(new != prev)
    # the tables as routing_state holds them: destination-major, possibly strided views
    wide_new = np.zeros((n_dst, n + 7), np.int32)
    wide_new[:, :n] = new.T
    node, dst, hop = fstate.changes(wide_new[:, :n], np.ascontiguousarray(prev.T))
    assert np.array_equal(node, node_ref)
    assert np.array_equal(dst, dst_ref)
    assert np.array_equal(hop, new[node_ref, dst_ref])


def test_no_changes_and_shape_mismatch():
    t = np.arange(12, dtype=np.int32).reshape(3, 4)
    node, dst, hop = fstate.changes(t, t.copy())
    assert len(node) == len(dst) == len(hop) == 0
    with pytest.raises(ValueError):
        fstate.changes(t, t[:, :3])
