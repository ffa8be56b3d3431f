"""A packet run from Python, without the CLI: :func:`skymesh.packets.run.plan_packets` checks
and sets the run up before any work (no network built, no ns-3 loaded, nothing written), with
the same one-line refusals the command gives.
"""

from __future__ import annotations

import pytest

from skymesh.errors import SkyMeshError


@pytest.fixture
def ns3_found(monkeypatch):
    """ns-3 counts as installed (the plan only checks that it can be found)."""
    import skymesh.packets.ns3 as ns3

    monkeypatch.setattr(ns3, "available", lambda: True)


def test_plan_resolves_flows_and_estimates_without_work(tmp_path, ns3_found):
    from skymesh.packets.run import plan_packets

    out = tmp_path / "run"
    plan = plan_packets(
        ["Paris", "Luanda"],
        flows=["ping:0.5:Luanda->Paris", "tcp:cubic:Paris->Luanda@2-8"],
        duration_s=10.0,
        step_s=2.0,
        out=out,
    )
    assert [(f.kind, f.src, f.dst) for f in plan.flows] == [("ping", 1, 0), ("tcp", 0, 1)]
    assert sorted(set(plan.net_pairs)) == [(0, 1), (1, 0)]
    assert plan.steps == len(plan.grid) == 6  # 0, 2, ..., 10 s
    assert plan.min_elevation_deg == 25.0 and plan.constellation.name == "starlink-shell1"
    assert plan.estimate.seconds > 0 and plan.estimate.memory_bytes > 0
    assert plan.parameters["flows"] == ["ping:0.5:Luanda->Paris", "tcp:cubic:Paris->Luanda@2-8"]
    assert not out.exists()


@pytest.mark.parametrize(
    "kwargs,names",
    [
        (dict(flows=["tcp:newreno:Paris->Tokyo"]), "--flow"),
        (dict(cc="vegas"), "--cc"),
        (dict(serving="random"), "--serving"),
        (dict(flows=["udp:5:Paris->Luanda@5-50"], duration_s=10.0), "outside the 10 s window"),
    ],
)
def test_plan_refuses_with_the_flag_named(kwargs, names, tmp_path, ns3_found):
    from skymesh.packets.run import plan_packets

    with pytest.raises(SkyMeshError, match=names):
        plan_packets(["Paris", "Luanda"], out=tmp_path / "run", **kwargs)
    assert not (tmp_path / "run").exists()
