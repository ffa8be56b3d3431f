"""Commands that run scenarios: scenarios, run, sweep, cost."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Optional

import typer

from skymesh.cli.common import (
    _metric_table,
    _notes,
    _print_json,
    _print_table,
    app,
    console,
    err_console,
)
from skymesh.errors import SkyMeshError


def _parse_value(text: str):
    """A --set value as TOML reads it (numbers, booleans, dates, lists), else a string."""
    import tomllib

    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _parse_sets(sets: list[str], multi: bool):
    """``key=value`` options -> {key: value} (``multi``: {key: [v1, v2, ...]})."""
    out = {}
    for item in sets or []:
        if "=" not in item:
            raise SkyMeshError(f"--set '{item}': expected key=value, e.g. time.duration_s=600")
        key, _, value = item.partition("=")
        key = key.strip()
        if multi:
            out[key] = [_parse_value(v.strip()) for v in _split_top(value)]
        else:
            out[key] = _parse_value(value.strip())
    return out


def _split_top(text: str) -> list[str]:
    """Split on commas outside brackets and quotes."""
    parts, depth, quote, cur = [], 0, None, ""
    for ch in text:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        cur += ch
    parts.append(cur)
    return [p for p in parts if p.strip()]


@app.command()
def scenarios(
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
    show: Optional[str] = typer.Option(
        None, "--show", help="Print the TOML of built-in scenario NAME (to copy and edit)."
    ),
    schema: bool = typer.Option(
        False, "--schema", help="Print the JSON Schema of a scenario file (for TOML editors)."
    ),
):
    """List the built-in scenarios (run one with `skymesh run NAME`).

    The built-ins ship in the package (skymesh/scenarios/); every key of a scenario file is
    in docs/scenarios-reference.md.
    """
    from skymesh.sim.scenario import builtin_names, builtin_text, load_scenario

    if schema:
        from skymesh.sim.reference import scenario_schema

        return _print_json(scenario_schema())
    if show is not None:
        if show not in builtin_names():
            import difflib

            close = difflib.get_close_matches(show, builtin_names(), n=3)
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            raise SkyMeshError(
                f"--show: '{show}' is not a built-in scenario.{hint} "
                f"Built-ins: {', '.join(builtin_names())}."
            )
        sys.stdout.write(builtin_text(show))
        sys.stdout.flush()
        return None

    rows: list[dict[str, Any]] = []
    for name in builtin_names():
        s = load_scenario(name).scenario
        rows.append(
            dict(
                name=name,
                constellation=s.constellation.preset or s.constellation.file,
                terminals=sum(
                    t.count or getattr(t, "largest", None) or len(t.points or [])
                    for t in s.terminals
                ),
                window=f"{s.time.duration_s:g} s, {s.time.step_s:g} s steps",
                description=" ".join(s.description.split()),
            )
        )
        rows[-1]["summary"] = rows[-1]["description"].split(". ")[0].rstrip(".") + "."
    if json_out:
        return _print_json(rows)
    _print_table(
        "Built-in scenarios",
        ("name", "constellation", "terminals", "window"),
        [(r["name"], r["constellation"], f"{r['terminals']:,}", r["window"]) for r in rows],
        right=("terminals",),
        keep=("name", "constellation"),
    )
    import textwrap

    width = max(40, min(console.width, 100))
    for r in rows:  # what each shows, below the table so names never wrap inside it
        console.print(
            textwrap.fill(f"{r['name']}: {r['summary']}", width=width, subsequent_indent="  "),
            highlight=False,
            markup=False,
        )


def _log_line(line: str) -> None:
    """A one-line notice of a run (a part recomputed on resume) on stderr."""
    err_console.print(line, markup=False, highlight=False, soft_wrap=True)


def _fmt(x) -> str:
    return "n/a" if x is None else f"{x:.1f}"


def _summary_table(summary: dict) -> None:
    if summary.get("study") == "routing":
        r = summary["space_rtt_ms"]
        _metric_table(
            f"{summary['scenario']}: routing study",
            [
                ("steps x pairs", f"{summary['steps']:,} x {summary['pairs']:,}"),
                (
                    "space RTT p50 / p95 / p99",
                    f"{_fmt(r['p50'])} / {_fmt(r['p95'])} / {_fmt(r['p99'])} ms",
                ),
                ("pair-steps reachable", f"{100 * summary['reachable_fraction']:.1f} %"),
                (
                    "forwarding changes per step (mean)",
                    f"{summary['fstate_changes_per_step']['mean']:,.0f} of "
                    f"{summary['fstate_entries']:,}",
                ),
            ],
        )
        return
    for op in summary["operators"]:
        r = op["rtt_ms"]
        top = ", ".join(
            f"{g['name']} ({g['country']}) {100 * g['share']:.0f}%" for g in op["gateways"][:3]
        )
        rows = [
            ("share of time with service", f"{100 * op['service_share']:.1f} %"),
            ("geofenced by policy", f"{100 * op['geofenced_share']:.1f} %"),
            (
                "RTT (user) p50 / p95 / p99",
                f"{_fmt(r['p50'])} / {_fmt(r['p95'])} / {_fmt(r['p99'])} ms",
            ),
            ("satellites on path (mean)", _fmt(op["sat_hops"]["mean"])),
            ("top gateways", top or "none"),
            ("exits in a censoring country", str(op["exits_inside_censoring_country"])),
        ]
        comp = op.get("rtt_components_ms") or {}
        if comp:  # the RTT as a user measures it, terminal -> PoP, by named component

            def mean(k):
                return _fmt((comp.get(k) or {}).get("mean"))

            rows.append(
                (
                    "RTT mean: space / fibre",
                    f"{mean('space_rtt_ms')} / {mean('fibre_ms')} ms",
                )
            )
            rows.append(
                (
                    "RTT mean: access / proc. / queue",
                    f"{mean('access_ms')} / {mean('processing_ms')} / {mean('queueing_ms')} ms",
                )
            )
        pops = [(p["name"], p["country"]) for p in op.get("pops") or []]
        if pops and pops != [(g["name"], g["country"]) for g in op["gateways"]][: len(pops)]:
            rows.append(
                (
                    "top PoPs",
                    ", ".join(
                        f"{p['name']} ({p['country']}) {100 * p['share']:.0f}%"
                        for p in op["pops"][:3]
                    ),
                )
            )
        ho = op.get("handovers_per_hour") or {}
        if ho.get("all") is not None:
            rows.append(
                (
                    "handovers per terminal-hour (forced)",
                    f"{ho['all']:.1f} ({ho.get('forced') or 0:.1f})",
                )
            )
        if "bent_pipe" in op:
            b = op["bent_pipe"]
            rows.append(
                (
                    "bent-pipe: service / RTT p50",
                    f"{100 * b['service_share']:.1f} % / {_fmt(b['rtt_ms']['p50'])} ms",
                )
            )
        _metric_table(f"{summary['scenario']}: {op['operator']}", rows)
    if summary.get("capacity"):
        _capacity_table(summary)


def _capacity_table(summary: dict) -> None:
    """The run's capacity headline (:mod:`skymesh.capacity.headline`), as ``skymesh capacity``
    prints it, and the inputs it was computed from."""
    from skymesh.capacity.headline import inputs_line

    cap = summary["capacity"]
    h = cap["headline"]
    t = h["target_mbps"]
    _metric_table(
        f"{summary['scenario']}: capacity",
        [
            (f"HEADLINE: {h['counts_in']} at {t:g} Mbit/s", f"{h['terminals_at_target']:,}"),
            ("binding constraint", h["binding_label"]),
            ("per terminal (every covered one at once)", f"{h['per_terminal_mbps']:,.2f} Mbit/s"),
            ("at slot (fewest of the samples)", h["slot_utc"]),
            ("secondary: admitted at that slot", f"{h['secondary']['admitted_at_target']:,}"),
            (
                "secondary: at target under fair sharing",
                f"{cap['terminals_at_target_min']:,} (busy-hour demand)",
            ),
        ],
    )
    console.print(f"Capacity inputs: {inputs_line(cap['inputs'])}.", markup=False, highlight=False)
    from skymesh.capacity.headline import headline_line

    for op in summary.get("operators", [])[1:]:
        if "capacity" in op:  # on its own link, beams and gateways
            console.print(
                f"Capacity, {op['operator']} (own link, beams, gateways): "
                f"{headline_line(op['capacity']['headline'])}. "
                f"Inputs: {inputs_line(op['capacity']['inputs'])}.",
                markup=False,
                highlight=False,
            )


@app.command("run")
def run_cmd(
    scenario: str = typer.Argument(..., help="Scenario file (.toml) or built-in name."),
    out: Optional[Path] = typer.Option(
        None, "--out", help="Results folder (default: results/NAME)."
    ),
    force: bool = typer.Option(False, "--force", help="Replace an existing results folder."),
    resume: bool = typer.Option(
        False, "--resume", help="Continue an interrupted run from its last completed chunk."
    ),
    scheduler: str = typer.Option(
        "sync", "--scheduler", help="sync, processes, or a Dask scheduler address tcp://host:8786."
    ),
    workers: Optional[int] = typer.Option(
        None,
        "--workers",
        min=1,
        help="Worker processes for --scheduler processes (default: every core).",
    ),
    set_: list[str] = typer.Option(
        [], "--set", help="Override a scenario key, e.g. --set time.duration_s=600 (repeatable)."
    ),
    yes: bool = typer.Option(
        False, "--yes", "-y", help="Start a job estimated to take long without asking."
    ),
    policy: Optional[Path] = typer.Option(
        None,
        "--policy",
        help="A policy TOML "
        "(e.g. the service's GET /policy/export) "
        "replacing the scenario's [policy].",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    force_epoch: bool = typer.Option(
        False,
        "--force-epoch",
        help="Propagate TLE sets more than 30 days from their element epoch "
        "(sets time.force_epoch = true).",
    ),
):
    """Run a scenario: Parquet time series, summary.json and a Markdown report.

    Before any work the run's cost (steps x satellites x ground points, memory, disk,
    time) is estimated: a run the machine cannot hold is refused, a long one needs --yes.
    """
    from skymesh.cli.jobs import JobProgress, gate
    from skymesh.sim.estimate import estimate_run
    from skymesh.sim.run import check_results_folder, run_scenario
    from skymesh.sim.scenario import load_scenario

    overrides = _parse_sets(set_, multi=False)
    if force_epoch:
        overrides["time.force_epoch"] = True
    if policy is not None:
        from skymesh.inputs import loads_toml, read_input_text
        from skymesh.policy.rules import load_policy

        load_policy(policy)  # errors name the policy file, line and field
        overrides["policy"] = loads_toml(read_input_text(policy, "policy file"), policy)
    loaded = load_scenario(scenario, overrides)
    out = out or Path("results") / loaded.scenario.name
    check_results_folder(out, loaded, force=force, resume=resume)
    # with --scheduler processes the chunks run side by side on the local cluster
    est = estimate_run(loaded, scheduler=scheduler, workers=workers)
    gate(
        est,
        yes=yes or resume,
        out=out,
        hint="shorten time.duration_s or coarsen time.step_s (--set), or use fewer terminals",
    )
    with JobProgress(f"run {loaded.scenario.name}", enabled=not json_out) as bar:
        summary = run_scenario(
            loaded,
            out,
            overrides=overrides,
            force=force,
            resume=resume,
            scheduler=scheduler,
            workers=workers,
            progress=bar.update,
            log=_log_line,
        )
    if json_out:
        return _print_json(summary)
    _notes(summary.get("notes", []), False)
    _summary_table(summary)
    console.print(
        f"results in {out}/ ("
        + ", ".join(sorted(p.name + ("/" if p.is_dir() else "") for p in out.iterdir()))
        + ")"
    )


@app.command()
def sweep(
    scenario: str = typer.Argument(..., help="Scenario file (.toml) or built-in name."),
    set_: list[str] = typer.Option(
        ..., "--set", help="key=v1,v2,... (repeatable; the runs are the cartesian product)."
    ),
    out: Optional[Path] = typer.Option(
        None,
        "--out",
        help="Folder for the runs and the comparison table (default: results/NAME-sweep).",
    ),
    force: bool = typer.Option(False, "--force", help="Replace existing results."),
    scheduler: str = typer.Option(
        "sync", "--scheduler", help="sync, processes or tcp://host:8786."
    ),
    yes: bool = typer.Option(
        False, "--yes", "-y", help="Start a sweep estimated to take long without asking."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the table as JSON."),
):
    """Run every combination of --set values and compare their headline metrics.

    The whole sweep's cost is estimated before any run starts (see `skymesh run --help`).
    """
    from skymesh.cli.jobs import JobProgress, gate
    from skymesh.sim.estimate import estimate_sweep
    from skymesh.sim.sweep import run_sweep

    grid = _parse_sets(set_, multi=True)

    def before(loaded_runs):
        gate(
            estimate_sweep(loaded_runs),
            yes=yes,
            out=out or Path("results"),
            hint="sweep fewer values, or shorten time.duration_s / coarsen time.step_s",
        )

    with JobProgress("sweep", enabled=not json_out) as bar:

        def progress(i, n, *counts):
            label = f"sweep run {i + 1}/{n}"
            if bar.label != label:
                bar.relabel(label)
            bar.update(*counts)

        table, folder = run_sweep(
            scenario,
            grid,
            out=out,
            force=force,
            scheduler=scheduler,
            progress=progress,
            before=before,
            log=_log_line,
        )
    rows = table.to_pylist()
    if json_out:
        return _print_json(rows)
    _sweep_table(f"sweep of {scenario}", rows, list(grid))
    console.print(f"table in {folder}/sweep.csv and sweep.parquet")


# (column, header, format, wide-only): what `skymesh sweep` shows of each run's headline.
_SWEEP_COLUMNS = (
    ("service_share", "service %", "pct", False),
    ("rtt_ms_p50", "RTT p50 ms", "ms", False),
    ("rtt_ms_p95", "p95 ms", "ms", False),
    ("rtt_ms_p99", "p99 ms", "ms", True),
    ("sat_hops_mean", "hops", "1f", False),
    ("gateways_used", "gateways", "int", True),
    ("exits_in_censoring_country", "censored exits", "int", True),
    ("bent_pipe_service_share", "bent-pipe %", "pct", False),
    ("bent_pipe_rtt_ms_p50", "bent-pipe p50 ms", "ms", True),
)


def _sweep_cell(value, kind: str) -> str:
    if value is None:
        return "n/a"
    if kind == "pct":  # 99.96 % must not read "100" and 0.996 must not read "1"
        pct = 100 * value
        return f"{pct:.2f}" if 99.0 < pct < 100.0 or 0.0 < pct < 1.0 else f"{pct:.1f}"
    if kind == "ms":
        return f"{value:.1f}"
    if kind == "1f":
        return f"{value:.1f}"
    return f"{int(value):,}"


def _sweep_table(title: str, rows: list[dict], keys: list[str]) -> None:
    """The sweep's comparison table: the swept values, then the headline metrics with units.

    Below 120 columns the less-read metrics are left out (all are in sweep.csv)."""
    wide = console.width >= 120
    shown = [c for c in _SWEEP_COLUMNS if (wide or not c[3]) and any(c[0] in r for r in rows)]
    headers = ["#"] + [k.split(".")[-1] if len(k) > 14 else k for k in keys] + [c[1] for c in shown]
    body = [
        [str(i)]
        + [str(r.get(k, "")) for k in keys]
        + [_sweep_cell(r.get(c[0]), c[2]) for c in shown]
        for i, r in enumerate(rows)
    ]
    _print_table(title, headers, body, right=[c[1] for c in shown] + ["#"])
    if not wide:
        left = [c[1] for c in _SWEEP_COLUMNS if c[3] and any(c[0] in r for r in rows)]
        if left:
            console.print(
                f"(not shown below 120 columns: {', '.join(left)})", highlight=False, markup=False
            )


@app.command()
def cost(
    scenario: str = typer.Argument(
        ..., help="Scenario file (.toml) or built-in name with a [cost] section, e.g. ukraine-2022."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
    capacity: bool = typer.Option(
        True,
        "--capacity/--no-capacity",
        help="With a [capacity] section, run the capacity "
        "model and bill per terminal carried at its target.",
    ),
    set_: list[str] = typer.Option(
        [],
        "--set",
        help="Override a scenario key, e.g. --set capacity.samples=1 (repeatable), as for run.",
    ),
    yes: bool = typer.Option(
        False, "--yes", "-y", help="Start a capacity model estimated to take long without asking."
    ),
):
    """The bill by month and its drivers: terminals shipped, replaced, and in service.

    Per carried terminal: the bill spread over the share of the scenario's terminals the
    capacity headline carries at the target rate (the run's and ``skymesh capacity``'s figure).

    With a [capacity] section its cost (terminals x satellites in view x samples) is
    estimated before any work: a model the machine cannot hold is refused, a long one
    needs --yes (or bill without it: --no-capacity).
    """
    from skymesh.sim.costs import carried_terminals, scenario_bill
    from skymesh.sim.scenario import load_scenario

    loaded = load_scenario(scenario, _parse_sets(set_, multi=False))
    carried = None
    if capacity and loaded.scenario.capacity is not None and loaded.scenario.cost is not None:
        from skymesh.cli.jobs import gate
        from skymesh.sim.estimate import estimate_cost

        gate(
            estimate_cost(loaded),
            yes=yes,
            hint="use fewer terminals or --set capacity.samples=1, or bill without it "
            "(--no-capacity)",
        )
        with err_console.status("capacity model (load-aware beam assignment)..."):
            carried = carried_terminals(loaded)
    result = scenario_bill(loaded, carried)
    if json_out:
        return _print_json(result)
    _print_table(
        f"{result['scenario']}: bill by month (USD)",
        ("month", "terminals", "new", "replaced", "hardware", "service", "total"),
        [
            (
                r["month"],
                f"{r['terminals']:,.0f}",
                f"{r['new_terminals']:,.0f}",
                f"{r['replaced_terminals']:,.0f}",
                f"{r['hardware_usd']:,.0f}",
                f"{r['service_usd']:,.0f}",
                f"{r['total_usd']:,.0f}",
            )
            for r in result["months"]
        ],
        right=True,
    )
    _print_table(
        "Periods against reported figures",
        ("period", "months", "modelled USD", "reported USD", "ratio", "hardware share"),
        [
            (
                r["period"],
                f"{r['first']}..{r['last']}",
                f"{r['total_usd']:,.0f}",
                "n/a" if r["reported_usd"] is None else f"{r['reported_usd']:,.0f}",
                "n/a" if r["ratio"] is None else f"{r['ratio']:.2f}",
                f"{100 * r['hardware_share']:.0f} %",
            )
            for r in result["periods"]
        ],
        right=True,
    )
    for line in result["assumptions"]:
        console.print(f"[dim]- {line}[/]")
