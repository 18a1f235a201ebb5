"""``flexcoord coordinate``: run a scenario under one coordination scheme, or compare them all.

The scenario is a market file (needs posted by the buyers it names, bids on portfolio units) on a
SimBench grid, or — without a file — the seeded demo scenario of
:func:`~flexcoord.simulation.scenario.build_coordination_scenario`. The comparison table comes from
:mod:`flexcoord.simulation.report`, the runs from :func:`~flexcoord.coordination.runner.run_scheme`.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from flexcoord.cli.output import console, error_console, print_json, run_user
from flexcoord.errors import InvalidInputError, Issue, NotFoundError

if TYPE_CHECKING:
    from flexcoord.coordination.config import SchemeConfig
    from flexcoord.coordination.inputs import CoordinationInput
    from flexcoord.coordination.runner import SchemeOutcome

__all__ = ["coordinate", "market_file_input"]

_MTU = timedelta(minutes=15)
_FORECAST_LEAD = timedelta(hours=12)  # as the scenario builder: base case issued 12 h ahead


def _option_issue(option: str, value: object, message: str) -> InvalidInputError:
    return InvalidInputError(
        [
            Issue(
                kind="Option",
                object_id=option,
                field=option.lstrip("-"),
                value=value,
                message=message,
            )
        ]
    )


def _schemes(preset_id: str | None, all_schemes: bool) -> tuple[SchemeConfig, ...]:
    from flexcoord.coordination.presets import PRESETS, preset

    if all_schemes and preset_id is not None:
        raise _option_issue("--preset", preset_id, "cannot be combined with --all")
    if all_schemes:
        return PRESETS
    if preset_id is None:
        raise _option_issue("--preset", None, "give --preset ID or --all (see --list-presets)")
    try:
        return (preset(preset_id),)
    except NotFoundError:
        raise _option_issue(
            "--preset", preset_id, f"must be one of {[p.id for p in PRESETS]}"
        ) from None


def market_file_input(
    market_file: Path, grid_code: str, *, profile_start_step: int | None = None
) -> CoordinationInput:
    """A :class:`~flexcoord.coordination.inputs.CoordinationInput` from a market file on a grid.

    The register is the grid's portfolio (``build_portfolio``, as ``flexcoord clear``) plus the
    commercial buyer ``brp`` the scenario builder adds, plus the file's products. The base case is
    the SimBench profiles from ``profile_start_step`` (option, else the file's) on the file's MTUs,
    else the grid's snapshot. Thermal limits only (``voltages=False``, as the scenario builder);
    the file's ``areas``, ``vm_min_pu`` and ``vm_max_pu`` are not used: each scheme decides which
    areas its markets monitor. Every need's ``buyer_id`` must be an operator of the register.

    Raises:
        InvalidInputError: every issue of the file, or needs of unknown buyers.
    """
    import dataclasses

    from flexcoord.coordination.inputs import CoordinationInput
    from flexcoord.domain import OperatorRole, SystemOperator, market_span
    from flexcoord.grid.forecast import forecast_from_profiles, forecast_from_snapshot
    from flexcoord.grid.model import load_grid
    from flexcoord.grid.portfolio import build_portfolio
    from flexcoord.schemas import load_market_file

    market = load_market_file(market_file)
    grid = load_grid(grid_code)
    portfolio = build_portfolio(grid)
    if not any(o.id == "brp" for o in portfolio.operators):
        brp = SystemOperator(id="brp", name="Balance responsible party", role=OperatorRole.BRP)
        portfolio = dataclasses.replace(portfolio, operators=(*portfolio.operators, brp))
    register, needs, bids = market.to_domain(portfolio)
    operators = sorted(o.id for o in register.operators)
    unknown = [n for n in needs if n.buyer_id not in operators]
    if unknown:
        raise InvalidInputError(
            [
                Issue(
                    kind="Need",
                    object_id=n.id,
                    field="buyer_id",
                    value=n.buyer_id,
                    message=f"is not an operator of the register; operators: {operators}",
                )
                for n in unknown
            ]
        )
    intervals = market_span(needs, bids, source=str(market_file))
    issued = market.gate_closure_at or intervals[0].start - _FORECAST_LEAD
    step = profile_start_step if profile_start_step is not None else market.profile_start_step
    if step is None:
        forecast = forecast_from_snapshot(grid, intervals=intervals, issued_at=issued)
    else:
        forecast = forecast_from_profiles(
            grid, start_step=step, intervals=intervals, issued_at=issued, label="profiles"
        )
    return CoordinationInput(
        name=f"{market_file.name} on {grid.code} (base case {forecast.label})",
        grid=grid,
        register=register,
        needs=needs,
        bids=bids,
        intervals=intervals,
        forecast=forecast,
        safety_margin=market.safety_margin,
        gate_closure_at=market.gate_closure_at,
    )


def _scenario(
    market_file: Path | None,
    grid: str | None,
    n_bids: int | None,
    seed: int | None,
    n_mtu: int | None,
    profile_start_step: int | None,
) -> CoordinationInput:
    if grid is None:
        raise _option_issue("--grid", None, "is required: a SimBench code, e.g. 1-MV-rural--0-sw")
    if market_file is not None:
        for option, value in (("--bids", n_bids), ("--seed", seed), ("--mtus", n_mtu)):
            if value is not None:
                raise _option_issue(option, value, "applies to the generated scenario only")
        error_console.print(f"reading {market_file} on {grid} ...", highlight=False)
        return market_file_input(market_file, grid, profile_start_step=profile_start_step)
    if profile_start_step is not None:
        raise _option_issue("--profile-start-step", profile_start_step, "needs a market file")
    from flexcoord.simulation.scenario import build_coordination_scenario

    kwargs = _demo_kwargs(n_bids, seed, n_mtu)
    error_console.print(f"building the seeded scenario on {grid} ...", highlight=False)
    return build_coordination_scenario(grid, **kwargs)


def _demo_kwargs(n_bids: int | None, seed: int | None, n_mtu: int | None) -> dict[str, Any]:
    """Keyword arguments of the seeded demo scenario / chain from the CLI options."""
    kwargs: dict[str, Any] = {"seed": seed or 0, "n_mtu": n_mtu}
    if n_bids is not None:
        if n_bids < 1:
            raise _option_issue("--bids", n_bids, "must be at least 1")
        kwargs["n_bids"] = n_bids
    return kwargs


def _run_all(
    scenario: CoordinationInput, configs: tuple[SchemeConfig, ...], ac_check: bool
) -> list[SchemeOutcome]:
    from flexcoord.coordination.runner import JointModel, run_scheme

    joint = JointModel.of(scenario)
    outcomes = []
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} schemes"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=error_console, transient=True) as bar:
        task = bar.add_task("running", total=len(configs))
        for config in configs:
            bar.update(task, description=config.id)
            outcomes.append(run_scheme(config, scenario, joint=joint, ac_check=ac_check))
            bar.advance(task)
    return outcomes


def _scenario_summary(s: CoordinationInput) -> dict[str, Any]:
    buyers: dict[str, int] = {}
    for n in s.needs:
        buyers[n.buyer_id] = buyers.get(n.buyer_id, 0) + 1
    return {
        "name": s.name,
        "grid": str(s.grid.code),
        "mtus": len(s.intervals),
        "start": s.intervals[0].start.isoformat(),
        "end": s.intervals[-1].end.isoformat(),
        "needs_per_buyer": dict(sorted(buyers.items())),
        "bids": len(s.bids),
        "tightened_branches": len(s.limit_overrides_mw),
        "safety_margin": s.safety_margin,
        "voltages": s.voltages,
    }


def _money(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.2f}"


def _mwh(x: float) -> str:
    return f"{x:.3f}"


def _lin_ac(linear: float, ac: float | None) -> str:
    return f"{linear:.3f}/{'-' if ac is None else f'{ac:.3f}'}"


def _comparison_table(rows: list[dict[str, Any]], buyers: tuple[str, ...]) -> Table:
    table = Table(
        title="coordination schemes (energies MWh, money €)",
        caption="★ cheapest total cost (joint-objective yardstick)",
    )
    table.add_column("scheme", no_wrap=True)
    headers = ["total €", "bids €"]
    headers += [f"proc. {b} €" for b in buyers] + [f"short. {b}" for b in buyers]
    headers += ["activated", "fwd bids", "viol. TSO\nlin/AC", "viol. DSO\nlin/AC"]
    headers += ["DSO by TSO\nlin/AC"]
    headers += ["confl. d/c/l", "bids/need", "RES curt.", "mkts", "wall s", "solver s"]
    table.add_column(headers[0], justify="right", no_wrap=True, min_width=11)
    for h in headers[1:]:
        wide = h.endswith("lin/AC")  # two figures per cell: keep them whole
        table.add_column(h, justify="right", no_wrap=wide, min_width=11 if wide else None)
    for r in rows:
        cells = [_money(r["total_cost_eur"]), _money(r["bid_cost_eur"])]
        cells += [_money(r[f"procurement_{b}_eur"]) for b in buyers]
        cells += [_mwh(r[f"shortfall_{b}_mwh"]) for b in buyers]
        cells += [
            _mwh(r["activated_mwh"]),
            str(r["forwarded_bids"]),
            _lin_ac(r["residual_violation_tso_mwh"], r["ac_violation_tso_mwh"]),
            _lin_ac(r["residual_violation_dso_mwh"], r["ac_violation_dso_mwh"]),
            _lin_ac(r["dso_violation_caused_by_tso_mwh"], r["ac_dso_violation_caused_by_tso_mwh"]),
            f"{r['conflicts_double_activation']}/{r['conflicts_counter_activation']}/"
            f"{r['conflicts_dso_limit']}",
            f"{r['liquidity_bids_per_need']:.1f}",
            _mwh(r["curtailed_renewable_mwh"]),
            str(r["markets"]),
            f"{r['wall_s']:.2f}",
            f"{r['solver_s']:.3f}",
        ]
        name = f"★ {r['scheme']}" if r["cheapest"] else r["scheme"]
        table.add_row(name, *cells, style="bold green" if r["cheapest"] else None)
    return table


def _print_tables(out: Console, doc: dict[str, Any]) -> None:
    s = doc["scenario"]
    out.print(
        f"[bold]{s['name']}[/]: {s['mtus']} MTUs {s['start']} – {s['end']}, "
        f"{s['bids']} bids, needs per buyer {s['needs_per_buyer']}, "
        f"{s['tightened_branches']} tightened branches",
        highlight=False,
    )
    buyers = tuple(doc["buyers"])
    out.print(_comparison_table(doc["comparison"], buyers))
    if len(doc["schemes"]) != 1:
        return
    run = doc["schemes"][0]
    markets = Table(title=f"sub-markets of {run['scheme']}")
    for col in ("market", "buyers", "areas", "needs", "bids", "forwarded", "accepted", "solver s"):
        markets.add_column(col)
    for m in run["markets"]:
        markets.add_row(
            m["id"],
            ", ".join(m["buyer_ids"]),
            ", ".join(m["areas"]),
            str(m["needs"]),
            str(m["bids_offered"]),
            str(m["bids_forwarded"]),
            str(m["accepted_bids"]),
            f"{m['solver_s']:.3f}",
        )
    out.print(markets)
    if not run["conflicts"]:
        out.print("conflicts: none")
        return
    conflicts = Table(title=f"conflicts ({len(run['conflicts'])})")
    for col in ("kind", "area", "MTU", "action", "TSO MW before → after", "reason"):
        conflicts.add_column(col)
    for c in run["conflicts"][:20]:
        conflicts.add_row(
            c["kind"],
            c["area_id"],
            c["mtu"],
            c["action"],
            f"{c['tso_mw_before']:.3f} → {c['tso_mw_after']:.3f}",
            c["reason"],
        )
    out.print(conflicts)


def _chain_document(
    market_file: Path | None,
    grid: str | None,
    schemes: tuple[str | None, bool],
    n_bids: int | None,
    seed: int | None,
    n_mtu: int | None,
    ac_check: bool,
) -> dict[str, Any]:
    """Every scheme over the seeded timeframe chain (``--timeframes``)."""
    from flexcoord.coordination.timeframes import run_chain
    from flexcoord.simulation.scenario import build_timeframe_chain

    if market_file is not None:
        raise _option_issue("--timeframes", True, "applies to the generated scenario only")
    configs = _schemes(*schemes)
    if grid is None:
        raise _option_issue("--grid", None, "is required: a SimBench code, e.g. 1-MV-rural--0-sw")
    kwargs = _demo_kwargs(n_bids, seed, n_mtu)
    error_console.print(f"building the seeded timeframe chain on {grid} ...", highlight=False)
    chain = build_timeframe_chain(grid, **kwargs)
    rows = []
    for config in configs:
        outcome = run_chain(config, chain, ac_check=ac_check)
        k = outcome.kpis
        rows.append(
            {
                "scheme": config.id,
                "timeframes_run": [str(r.sub_market.timeframe) for r in outcome.rounds],
                "timeframes_skipped": [str(t) for t in outcome.skipped],
                "obliges_activation_bid": config.availability_obliges_activation_bid,
                **{key: value for key, value in k.items() if key != "round_kpis"},
                "wall_s": outcome.wall_s,
            }
        )
    return {
        "chain": {
            "name": chain.base.name,
            "bids": len(chain.base.bids),
            "rounds": [
                {
                    "timeframe": str(r.timeframe),
                    "product_id": r.product_id,
                    "kind": str(r.kind),
                    "gate_closure_at": r.gate_closure_at.isoformat(),
                    "needs": len(r.needs),
                    "new_bids": len(chain.new_bids(r)),
                }
                for r in chain.rounds
            ],
        },
        "comparison": rows,
    }


def _chain_table(doc: dict[str, Any]) -> Table:
    table = Table(title=f"timeframe chain: {doc['chain']['name']} (MW summed over MTUs, €)")
    for col in ("scheme", "rounds", "total €", "avail. €", "activation €", "avail. MW"):
        table.add_column(col, justify="left" if col in ("scheme", "rounds") else "right")
    for col in ("activated MW", "short. MWh", "obliged", "fwd bids", "wall s"):
        table.add_column(col, justify="right")
    for r in doc["comparison"]:
        table.add_row(
            r["scheme"],
            "/".join(t.replace("_", "-") for t in r["timeframes_run"]) or "-",
            _money(r["total_cost_eur"]),
            _money(r["availability_payment_eur"]),
            _money(r["activation_cost_eur"]),
            f"{r['availability_mw']:.3f}",
            f"{r['activated_mw']:.3f}",
            _mwh(r["activation_shortfall_mwh"]),
            str(r["obligated_bids"]),
            str(r["forwarded_bids"]),
            f"{r['wall_s']:.2f}",
        )
    return table


def _preset_rows() -> list[dict[str, Any]]:
    from flexcoord.coordination.presets import PRESETS

    return [
        {
            "id": p.id,
            "title": p.title,
            "market_model": str(p.market_model),
            "allocation": str(p.allocation),
            "tso_access_to_ders": p.tso_access_to_ders,
            "dso_grid_in_tso_market": str(p.dso_grid_in_tso_market),
            "source": p.source,
        }
        for p in PRESETS
    ]


def _print_presets(rows: list[dict[str, Any]]) -> None:
    table = Table(title="coordination presets")
    # the id is what users type: never wrapped nor cut; the title wraps instead
    table.add_column("id", no_wrap=True, min_width=max(len(r["id"]) for r in rows))
    for col in ("title", "model", "allocation", "TSO access", "source"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(
            r["id"],
            r["title"],
            r["market_model"],
            r["allocation"],
            "yes" if r["tso_access_to_ders"] else "no",
            r["source"],
        )
    console.print(table)


def coordinate(
    market_file: Annotated[
        Path | None,
        typer.Argument(
            help="Market file (.json, or a folder / .csv of CSV files). Without it: the seeded "
            "demo scenario on --grid."
        ),
    ] = None,
    grid: Annotated[
        str | None, typer.Option("--grid", help="SimBench code, e.g. 1-MV-rural--0-sw.")
    ] = None,
    preset_id: Annotated[
        str | None, typer.Option("--preset", help="Run one preset (see --list-presets).")
    ] = None,
    all_schemes: Annotated[
        bool, typer.Option("--all", help="Run every preset and compare them in one table.")
    ] = False,
    list_presets: Annotated[
        bool, typer.Option("--list-presets", help="List the presets and exit.")
    ] = False,
    json_out: Annotated[
        str | None, typer.Option("--json", help="Write the result JSON here ('-': stdout).")
    ] = None,
    n_bids: Annotated[
        int | None, typer.Option("--bids", help="Demo scenario: number of bids (default 1200).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Demo scenario: seed (default 0).")] = None,
    n_mtu: Annotated[
        int | None,
        typer.Option("--mtus", help="Demo scenario: only the first N MTUs of the day."),
    ] = None,
    ac_check: Annotated[
        bool,
        typer.Option(
            "--ac-check/--no-ac-check",
            help="Verify each final dispatch in AC (power-grid-model): residual AC violations.",
        ),
    ] = True,
    profile_start_step: Annotated[
        int | None,
        typer.Option(help="Market file: SimBench profile step of the first MTU (default: file's)."),
    ] = None,
    timeframes: Annotated[
        bool,
        typer.Option(
            "--timeframes",
            help="Demo scenario as a chain of sub-markets (long-term → day-ahead → intraday → "
            "near-real-time) run with each scheme's timeframes and availability obligation.",
        ),
    ] = False,
) -> None:
    """Run a scenario under a coordination scheme (--preset) or compare every scheme (--all)."""
    if list_presets:
        rows = _preset_rows()
        if json_out == "-":
            print_json(rows)
            return
        _print_presets(rows)
        if json_out:
            Path(json_out).write_text(json.dumps(rows, indent=2) + "\n")
        return

    if timeframes:
        chain_doc = run_user(
            lambda: _chain_document(
                market_file, grid, (preset_id, all_schemes), n_bids, seed, n_mtu, ac_check
            )
        )
        if json_out == "-":
            print_json(chain_doc)
            return
        console.print(_chain_table(chain_doc))
        if json_out:
            Path(json_out).write_text(json.dumps(chain_doc, indent=2, default=str) + "\n")
            console.print(f"result written to {json_out}")
        return

    def work() -> dict[str, Any]:
        from flexcoord.simulation.report import buyers_of, comparison_rows, scheme_document

        configs = _schemes(preset_id, all_schemes)
        scenario = _scenario(market_file, grid, n_bids, seed, n_mtu, profile_start_step)
        outcomes = _run_all(scenario, configs, ac_check)
        rows = comparison_rows(outcomes)
        by_id = {o.config.id: o for o in outcomes}
        return {
            "scenario": _scenario_summary(scenario),
            "buyers": list(buyers_of(outcomes)),
            "comparison": rows,
            "schemes": [scheme_document(by_id[r["scheme"]]) for r in rows],
        }

    doc = run_user(work)
    if json_out == "-":
        _print_tables(error_console, doc)
        print_json(doc)
        return
    _print_tables(console, doc)
    if json_out:
        Path(json_out).write_text(json.dumps(doc, indent=2, default=str) + "\n")
        console.print(f"result written to {json_out}")
