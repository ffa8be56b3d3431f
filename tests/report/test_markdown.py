"""report.md's operator table says which RTT it gives (issue 21) and honours [metrics]."""

from skymesh.report.markdown import operator_section


def _op(components: dict) -> dict:
    pct = {"p5": 0.5, "p50": 0.9, "p95": 1.0}
    return dict(
        operator="primary",
        terminal_steps=10,
        service_share=0.9,
        geofenced_share=0.1,
        no_coverage_share=0.0,
        per_terminal_service_share=pct,
        rtt_ms={"p50": 33.6, "p95": 42.1, "p99": 42.6},
        sat_hops={"mean": 2.2, "max": 4},
        exits_inside_own_country=0,
        exits_inside_censoring_country=0,
        gateways=[],
        rtt_components_ms=components,
    )


def test_the_rtt_row_names_the_users_rtt_or_the_propagation_model():
    slots = {"space_rtt_ms": {"p50": 18.0, "mean": 18.8}, "access_ms": {"p50": 13.0, "mean": 13.8}}
    row = [x for x in operator_section(_op(slots)) if "33.6" in x]
    assert row and row[0].startswith("| RTT (user, with access), terminal -> PoP")
    prop = {"space_rtt_ms": {"p50": 33.6, "mean": 33.0}}  # [access] model = "propagation"
    row = [x for x in operator_section(_op(prop)) if "33.6 /" in x]
    assert row and "propagation model: space only" in row[0]


def test_the_rtt_row_goes_when_rtt_is_not_wanted():
    lines = operator_section(_op({"space_rtt_ms": {"p50": 1.0, "mean": 1.0}}), ["service"])
    assert not [x for x in lines if "33.6" in x]
    assert [x for x in lines if x.startswith("| share of time with service")]
