"""Packet networks under the access model's 15 s scheduler (serving=POLICY): a ground point's
user link changes only at Starlink's slot boundaries or when the held satellite sets, and a
held path is never shorter than the per-step shortest one."""

from __future__ import annotations

import numpy as np
import pytest

from skymesh.access.slots import slot_index
from skymesh.errors import InputError
from skymesh.links.visibility import visible_pairs
from skymesh.orbits.propagate import positions_ecef
from skymesh.packets.network import packet_network

from .conftest import GSL_BPS, ISL_BPS


@pytest.fixture(scope="module")
def long_grid():
    from skymesh.timebase import time_grid

    return time_grid("2026-01-01T00:00:00Z", 180, 2.0)  # 12 slot boundaries


@pytest.fixture(scope="module")
def held(shell1, grid, paris_luanda_points):
    return _held(shell1, grid, paris_luanda_points)


def _held(shell1, grid, paris_luanda_points):
    return packet_network(
        shell1,
        grid,
        paris_luanda_points,
        [[0, 1]],
        isl_rate_bps=ISL_BPS,
        gsl_rate_bps=GSL_BPS,
        serving="operator",
    )


def _first_hops(net):
    """Compact satellite id of each ground point's first hop toward the other, per step."""
    out = np.full((net.n_steps, 2), -1)
    for k in range(net.n_steps):
        for src, dst in ((0, 1), (1, 0)):
            path = net.path(k, src, dst)
            if len(path) > 1:
                out[k, src] = net.node_compact[path[1]]
    return out


def test_user_link_changes_only_at_slot_boundaries_or_when_it_sets(
    shell1, long_grid, paris_luanda_points
):
    grid = long_grid
    held = _held(shell1, grid, paris_luanda_points)
    hops = _first_hops(held)
    assert (hops >= 0).all()
    slot = slot_index(grid.start, grid.offsets_s)
    pos = positions_ecef(shell1, grid, serving_only=True)
    changes = 0
    for k in range(1, held.n_steps):
        for g in (0, 1):
            if hops[k, g] == hops[k - 1, g]:
                continue
            changes += 1
            if slot[k] != slot[k - 1]:
                continue  # a boundary: a new choice
            # inside a slot: only when the held satellite is no longer in view
            vg, vs, *_ = visible_pairs(
                pos[:, k], paris_luanda_points.lat_deg, paris_luanda_points.lon_deg
            )
            assert hops[k - 1, g] not in set(vs[vg == g].tolist())
    assert changes > 0  # 3 minutes: the serving satellites change


def test_a_held_path_is_never_shorter_than_the_shortest(held, net):
    ok = np.isfinite(held.space_rtt_ms) & np.isfinite(net.space_rtt_ms)
    assert ok.all()
    assert np.all(held.space_rtt_ms >= net.space_rtt_ms - 1e-9)
    assert np.any(held.space_rtt_ms > net.space_rtt_ms + 1e-6)  # the hold costs something somewhere


def test_unknown_policy_is_an_input_error(shell1, grid, paris_luanda_points):
    with pytest.raises(InputError):
        packet_network(shell1, grid, paris_luanda_points, [[0, 1]], serving="nearest-pony")
