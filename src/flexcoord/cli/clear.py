"""``flexcoord clear``: clear a market file on a grid, print a summary, write the result JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from flexcoord.cli.output import console, error_console, run_user

__all__ = ["clear"]


def _run(
    market_file: Path,
    grid_code: str,
    pricing: str,
    ac_check: bool,
    ac_iterations: int,
    profile_start_step: int | None,
    areas: list[str] | None,
) -> tuple[Any, dict[str, Any]]:
    from flexcoord.clearing import ClearingOptions, PricingRule
    from flexcoord.clearing.ac import PgmAcCheck
    from flexcoord.clearing.grid_constraints import grid_constraints
    from flexcoord.clearing.market import clear as clear_market
    from flexcoord.clearing.report import result_document
    from flexcoord.domain import market_span
    from flexcoord.errors import InvalidInputError, Issue
    from flexcoord.grid.model import load_grid
    from flexcoord.grid.portfolio import build_portfolio
    from flexcoord.schemas import load_market_file

    try:
        rule = PricingRule(pricing)
    except ValueError:
        raise InvalidInputError(
            [
                Issue(
                    kind="Option",
                    object_id="--pricing",
                    field="pricing",
                    value=pricing,
                    message=f"must be one of {[str(r) for r in PricingRule]}",
                )
            ]
        ) from None
    market = load_market_file(market_file)
    grid = load_grid(grid_code)
    register, needs, bids = market.to_domain(build_portfolio(grid))
    intervals = market_span(needs, bids, source=str(market_file))
    gc = grid_constraints(
        grid,
        intervals=intervals,
        profile_start_step=(
            profile_start_step if profile_start_step is not None else market.profile_start_step
        ),
        areas=areas or market.areas,
        safety_margin=market.safety_margin,
        vm_min_pu=market.vm_min_pu,
        vm_max_pu=market.vm_max_pu,
    )
    options = ClearingOptions(pricing=rule, ac_max_iterations=ac_iterations if ac_check else 0)
    result = clear_market(
        register,
        needs,
        bids,
        gc,
        options,
        gate_closure_at=market.gate_closure_at,
        ac_checker=PgmAcCheck(grid, gc) if ac_check else None,
    )
    return result, result_document(result)


def _summary(doc: dict[str, Any]) -> None:
    needs = Table(title="needs")
    for col in ("need", "MTU", "required MW", "covered MW", "shortfall MW", "price €/MWh"):
        needs.add_column(col)
    for c in doc["needs"]:
        price = c["cleared_price_eur_per_mwh"]
        needs.add_row(
            c["need_id"],
            c["mtu"],
            f"{c['required_mw']:.3f}",
            f"{c['covered_mw']:.3f}",
            f"{c['shortfall_mw']:.3f}"
            + (f" ({c['shortfall_reason']})" if c["shortfall_mw"] else ""),
            "-" if price is None else f"{price:.2f}",
        )
    console.print(needs)
    awards = Table(title="accepted bids")
    for col in ("bid", "MTU", "MW", "price €/MWh", "payment €"):
        awards.add_column(col)
    for a in doc["awards"]:
        awards.add_row(
            a["bid_id"],
            a["mtu"],
            f"{a['quantity_mw']:.3f}",
            f"{a['price_eur_per_mwh']:.2f}",
            f"{a['payment_eur']:.2f}",
        )
    console.print(awards)
    binding = Table(title="binding constraints")
    binding.add_column("limit")
    binding.add_column("dual €/unit")
    for b in doc["binding"]:
        binding.add_row(b["text"], f"{b['dual_eur_per_unit']:.2f}")
    console.print(binding if doc["binding"] else "binding constraints: none")
    ac = doc["ac_check"]
    if ac is None:
        console.print("AC check: off")
    else:
        console.print(
            f"AC check: {'ok' if ac['converged'] else 'VIOLATIONS'} after {ac['iterations']} "
            f"re-clearing(s); linearisation error before re-clearing "
            f"{ac['initial_linearisation_error_flow_mw']:.4f} MW / "
            f"{ac['initial_linearisation_error_vm_pu']:.5f} pu, last "
            f"{ac['linearisation_error_flow_mw']:.4f} MW / "
            f"{ac['linearisation_error_vm_pu']:.5f} pu;"
            f" priced residuals {ac['priced_residuals']}"
        )
        for v in ac["violations"][:20]:
            console.print(f"  - {v}")
    console.print(
        f"cost: procurement {doc['procurement_cost_eur']:.2f} €, penalties "
        f"{doc['penalty_cost_eur']:.2f} €; {len(doc['rejections'])} bids rejected"
    )


def clear(
    market_file: Annotated[
        Path, typer.Argument(help="Market file: .json, or a folder (or .csv) of CSV files.")
    ],
    grid: Annotated[str, typer.Option("--grid", help="SimBench code or pandapower name.")],
    pricing: Annotated[
        str, typer.Option(help="pay-as-bid, pay-as-cleared or locational.")
    ] = "pay-as-bid",
    ac_check: Annotated[
        bool, typer.Option("--ac-check/--no-ac-check", help="AC check with power-grid-model.")
    ] = True,
    ac_iterations: Annotated[
        int, typer.Option(help="Re-clearings of the AC loop (0: check only).")
    ] = 3,
    profile_start_step: Annotated[
        int | None,
        typer.Option(help="SimBench profile step of the first MTU (default: the file's)."),
    ] = None,
    area: Annotated[
        list[str] | None, typer.Option("--area", help="Monitored area (repeatable).")
    ] = None,
    json_out: Annotated[
        str | None, typer.Option("--json", help="Write the result JSON here ('-': stdout).")
    ] = None,
) -> None:
    """Clear a market file on a grid: needs, accepted bids, binding limits and the AC check."""
    result, doc = run_user(
        lambda: _run(market_file, grid, pricing, ac_check, ac_iterations, profile_start_step, area)
    )
    del result
    if json_out == "-":
        _summary_to_stderr(doc)
        typer.echo(json.dumps(doc, indent=2))
        return
    _summary(doc)
    if json_out:
        Path(json_out).write_text(json.dumps(doc, indent=2) + "\n")
        console.print(f"result written to {json_out}")


def _summary_to_stderr(doc: dict[str, Any]) -> None:
    """With JSON on stdout, the tables go to stderr so stdout stays machine-readable."""
    from flexcoord.cli import output

    saved = output.console
    try:
        globals()["console"] = error_console
        _summary(doc)
    finally:
        globals()["console"] = saved
