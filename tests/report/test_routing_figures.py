"""A routing study's results folder carries figures, and they show the folder's data."""

import textwrap

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from matplotlib.image import imread

from skymesh.report import pictures
from skymesh.report.plots import great_circle_km, vacuum_rtt_ms
from skymesh.sim.run import _prepared, run_scenario
from skymesh.sim.scenario import load_scenario

STUDY = """
name = "routing-figures-test"
study = "routing"
[constellation]
preset = "starlink-shell1"
[time]
start = 2026-01-01T00:00:00Z
duration_s = 300
step_s = 30
[[terminals]]
name = "city"
points = [[48.85, 2.35], [51.51, -0.13], [40.71, -74.0], [35.69, 139.69], [-33.87, 151.2]]
[output]
chunk_steps = 4
"""


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    folder = tmp_path_factory.mktemp("routing")
    p = folder / "study.toml"
    p.write_text(textwrap.dedent(STUDY))
    loaded = load_scenario(p)
    summary = run_scenario(loaded, folder / "r")
    return loaded, summary, folder / "r"


def test_report_lists_figures_that_exist(study):
    _, summary, out = study
    figs = summary["figures"]
    assert figs == [
        "figures/rtt_cdf_pairs.png",
        "figures/rtt_over_time.png",
        "figures/fstate_changes.png",
    ]
    report = (out / "report.md").read_text()
    assert "## Figures" in report
    for f in figs:
        assert f"![{f}]({f})" in report
        img = imread(out / f)[..., :3]
        assert img.std() > 0.05  # not blank
        assert len(np.unique(np.round(img.reshape(-1, 3) * 255), axis=0)) > 20
    assert not list((out / "figures").glob(".*"))  # no temporary left


def test_example_pairs_are_shortest_median_longest(study):
    loaded, _, _ = study
    prep = _prepared(loaded)
    lat, lon = prep.terminal_lat, prep.terminal_lon
    picks = pictures._example_pairs(lat, lon, 3)
    iu, ju = np.triu_indices(len(lat), 1)
    # Brute force, pair by pair.
    d = [great_circle_km(lat[i], lon[i], lat[j], lon[j]) for i, j in zip(iu, ju)]
    assert d[picks[0]] == min(d) and d[picks[-1]] == max(d)
    assert sorted(d)[len(d) // 2 - 1] <= d[picks[1]] <= sorted(d)[len(d) // 2]
    # Paris-London is the shortest pair (~340 km), Paris/London-Sydney the longest.
    assert {iu[picks[0]], ju[picks[0]]} == {0, 1}


def test_pair_series_read_from_parquet(study):
    loaded, _, out = study
    prep = _prepared(loaded)
    picks = pictures._example_pairs(prep.terminal_lat, prep.terminal_lon, 3)
    series = pictures._pair_rtt_series(out, prep, picks)
    table = pq.read_table(out / "rtt.parquet")
    iu, ju = np.triu_indices(prep.n_terminals, 1)
    for row, p in enumerate(picks):
        t = table.filter(pc.and_(pc.equal(table["src"], iu[p]), pc.equal(table["dst"], ju[p])))
        expect = np.full(len(prep.grid), np.nan)
        expect[t["step"].to_numpy()] = np.asarray(t["space_rtt_ms"].to_pylist(), dtype=float)
        np.testing.assert_array_equal(series[row], expect)
        # Physics: no step beats the vacuum bound of the pair's great-circle distance.
        bound = vacuum_rtt_ms(
            prep.terminal_lat[iu[p]],
            prep.terminal_lon[iu[p]],
            prep.terminal_lat[ju[p]],
            prep.terminal_lon[ju[p]],
        )
        assert np.nanmin(series[row]) >= bound


def test_figures_do_not_lose_a_run(study, tmp_path, monkeypatch):
    """A figure that fails becomes a note; the numbers are still written."""
    loaded, _, _ = study

    def broken(*a, **k):
        raise RuntimeError("no figures today")

    monkeypatch.setattr(pictures, "routing_figures", broken)
    summary = run_scenario(loaded, tmp_path / "r2")
    assert "figures" not in summary
    assert any("no figures today" in n for n in summary["notes"])
    assert (tmp_path / "r2" / "summary.json").is_file()


def test_cdf_compares_one_pair_set():
    """Every curve of rtt_cdf_pairs.png is over the same pairs: those reachable at some
    step. The figure once drew RTTs over the reachable pairs against the vacuum bound of
    all pairs, so a bent-pipe study (short pairs reachable only) beat light."""
    import pyarrow as pa

    lat = np.array([48.85, 51.51, 40.71, 35.69])  # Paris, London, New York, Tokyo
    lon = np.array([2.35, -0.13, -74.0, 139.69])
    iu, ju = np.triu_indices(4, 1)
    vac = vacuum_rtt_ms(lat[iu], lon[iu], lat[ju], lon[ju])
    reach = np.array([True, False, False, False, False, True])  # Paris-London, NY-Tokyo
    mean = np.where(reach, vac * 1.6, np.nan)
    pairs = pa.table(
        {
            "rtt_ms_min": pa.array(mean * 0.9, mask=~reach),
            "rtt_ms_mean": pa.array(mean, mask=~reach),
            "rtt_ms_max": pa.array(mean * 1.1, mask=~reach),
        }
    )
    series, drawn, total = pictures.pair_cdf_series(pairs, lat, lon)
    assert (drawn, total) == (2, 6)
    assert {len(v) for v in series.values()} == {2}
    assert np.allclose(series["vacuum bound (great circle)"], vac[reach])
    # No pair beats light: each pair's minimum is above its own vacuum bound.
    assert np.all(series["per-pair minimum"] > series["vacuum bound (great circle)"])


def test_bent_pipe_study_cdf_and_example_pairs(tmp_path):
    """A bent-pipe study with no gateways reaches only close pairs: the CDF figure draws
    those pairs only, and the example pairs over time are reachable ones."""
    p = tmp_path / "bp.toml"
    p.write_text(
        textwrap.dedent(STUDY).replace("[output]", '[routing]\nmode = "bent-pipe"\n[output]')
    )
    loaded = load_scenario(p)
    run_scenario(loaded, tmp_path / "r")
    pairs = pq.read_table(tmp_path / "r" / "pairs.parquet")
    prep = _prepared(loaded)
    series, drawn, total = pictures.pair_cdf_series(pairs, prep.terminal_lat, prep.terminal_lon)
    reachable = np.isfinite(pictures._pair_stat(pairs, "mean"))
    assert 0 < drawn == reachable.sum() < total
    assert np.all(series["per-pair minimum"] >= series["vacuum bound (great circle)"])
    picks = pictures._example_pairs(prep.terminal_lat, prep.terminal_lon, 3, among=reachable)
    assert len(picks) and reachable[picks].all()


def test_view_of_a_routing_study_draws_its_rows(study, tmp_path):
    """A routing study's view: the pair's space RTT at each step is its rtt.parquet row,
    the chart's median is the median over the step's rows, and a route (recomputed: the
    study stores no paths) is drawn only where its RTT is the run's."""
    import json
    import re

    from skymesh.errors import SkyMeshError
    from skymesh.report.run_view import run_view

    _, summary, folder = study
    run_view(folder, tmp_path / "v.html")
    text = (tmp_path / "v.html").read_text()
    data = json.loads(re.search(r'id="skymesh-data">(.*?)</script>', text, re.S).group(1))
    assert data["run"]["study"] == "routing" and "rtt_ms" not in data  # space RTT only
    rows = pq.read_table(folder / "rtt.parquet").to_pylist()
    col = "space_rtt_ms" if "space_rtt_ms" in rows[0] else "rtt_ms"
    names = [e["name"] for e in data["endpoints"]]
    prep = _prepared(load_scenario(folder / "scenario.toml"))
    a, b = (list(prep.terminal_name).index(n) for n in names)
    n_drawn = 0
    for k in range(len(data["times"])):
        mine = [r[col] for r in rows if r["step"] == k and (r["src"], r["dst"]) == (a, b)]
        want = mine[0] if mine else None
        got = data["space_rtt_ms"][k]
        assert (got is None) == (want is None)
        if want is not None:
            assert got == pytest.approx(want, abs=0.006)
        step_rows = [r[col] for r in rows if r["step"] == k and r[col] is not None]
        assert data["rtt_ms_p50"][k] == pytest.approx(float(np.median(step_rows)), abs=0.006)
        if data["route"][k] is not None:
            n_drawn += 1
        else:
            assert data["route_note"][k]
    assert n_drawn >= 1
    with pytest.raises(SkyMeshError, match="routing study"):
        run_view(folder, tmp_path / "w.html", terminal=1)
