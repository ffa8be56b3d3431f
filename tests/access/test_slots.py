"""The 15 s slot boundaries fall on the 12th, 27th, 42nd and 57th second of each minute."""

from datetime import datetime, timedelta, timezone

import numpy as np

from skymesh.access.slots import slot_boundaries_s, slot_index, slot_start_s


def test_boundaries_land_on_published_seconds():
    epoch = datetime(2026, 3, 1, 10, 0, 5, tzinfo=timezone.utc)
    for b in slot_boundaries_s(epoch, 3600.0):
        sec = (epoch + timedelta(seconds=float(b))).second
        assert sec in (12, 27, 42, 57)
    assert len(slot_boundaries_s(epoch, 3600.0)) == 240


def test_index_steps_only_at_boundaries():
    epoch = "2026-03-01T10:00:00Z"
    t = np.arange(0.0, 120.0, 0.5)
    idx = slot_index(epoch, t)
    steps = t[1:][np.diff(idx) != 0]
    assert steps.tolist() == [12.0, 27.0, 42.0, 57.0, 72.0, 87.0, 102.0, 117.0]
    assert np.all(slot_start_s(epoch, t) <= t)
    assert np.all(t - slot_start_s(epoch, t) < 15.0)


def test_epoch_on_a_boundary():
    assert slot_boundaries_s("2026-03-01T10:00:12Z", 30.0).tolist() == [15.0, 30.0]
    assert slot_index("2026-03-01T10:00:12Z", [0.0, 14.99, 15.0]).tolist() == [0, 0, 1]
