"""``flexcoord clear``: clear a market file on a grid, print a summary, write the result."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from flexcoord.cli.edge import (
    JsonOption,
    OutputFile,
    OutputFolder,
    OutputFormat,
    check,
    command_line,
    emit,
    format_output,
    int_range,
    loading,
    option_issue,
    output_issues,
    resolve_grid,
    stderr,
    write_atomic,
)
from flexcoord.cli.output import Column, print_table
from flexcoord.errors import InvalidInputError, Issue

if TYPE_CHECKING:
    from flexcoord.grid.model import GridModel
    from flexcoord.schemas import MarketFile

__all__ = ["clear"]

_PRICING = ("pay-as-bid", "pay-as-cleared", "locational")


def _clear(
    ctx: typer.Context,
    market: MarketFile,
    market_file: Path,
    grid: GridModel,
    pricing: str,
    ac_iterations: int | None,
    option_step: int | None,
    option_areas: list[str] | None,
    documents: _Documents | None = None,
) -> dict[str, Any]:
    profile_start_step = option_step if option_step is not None else market.profile_start_step
    areas = option_areas or market.areas
    from flexcoord.clearing import ClearingOptions, PricingRule
    from flexcoord.clearing.ac import PgmAcCheck
    from flexcoord.clearing.grid_constraints import grid_constraints
    from flexcoord.clearing.market import clear as clear_market
    from flexcoord.clearing.report import result_document
    from flexcoord.domain import market_span
    from flexcoord.grid.portfolio import build_portfolio
    from flexcoord.schemas import grid_option_issues

    register, needs, bids = market.to_domain(build_portfolio(grid), source=str(market_file))
    intervals = market_span(needs, bids, source=str(market_file))
    check(
        grid_option_issues(
            market,
            grid,
            n_mtu=len(intervals),
            source=market_file,
            profile_start_step=option_step,
            areas=option_areas,
        )
    )
    gc = grid_constraints(
        grid,
        intervals=intervals,
        profile_start_step=profile_start_step,
        areas=areas,
        safety_margin=market.safety_margin,
        vm_min_pu=market.vm_min_pu,
        vm_max_pu=market.vm_max_pu,
    )
    options = ClearingOptions(
        pricing=PricingRule(pricing),
        ac_max_iterations=ac_iterations if ac_iterations is not None else 0,
    )
    result = clear_market(
        register,
        needs,
        bids,
        gc,
        options,
        gate_closure_at=market.gate_closure_at,
        ac_checker=PgmAcCheck(grid, gc) if ac_iterations is not None else None,
    )
    from flexcoord.provenance import provenance

    if documents is not None:
        documents.write(result, bids, register)
    return result_document(
        result,
        options=options,
        provenance=provenance(
            grid_code=grid.code, input_path=market_file, command=command_line(ctx)
        ),
    )


def _file_safe(party_id: str) -> str:
    """A party id as part of a file name on any system (``fsp:MV1.101`` → ``fsp_MV1.101``)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", party_id)


@dataclass(frozen=True, slots=True)
class _Documents:
    """``--documents FOLDER``: each FSP's IEC 62325 documents of the clearing, sent by
    ``--document-party`` for the area ``--document-domain``."""

    folder: OutputFolder
    party: str
    domain: str

    def issues(self) -> list[Issue]:
        from flexcoord.standards.iec62325 import Party, area_code_issues

        found = self.folder.issues()
        try:
            Party(id=self.party, role="A04")
        except InvalidInputError as err:
            found += [option_issue("--document-party", self.party, i.message) for i in err.issues]
        found += [
            option_issue("--document-domain", self.domain, i.message)
            for i in area_code_issues(self.domain)
        ]
        return found

    def write(self, result: Any, bids: Any, register: Any) -> None:
        """Every document is built first, then written (nothing half-written on a bad id)."""
        from flexcoord.standards.iec62325 import Party, result_documents

        per_fsp = result_documents(
            result,
            bids,
            register,
            sender=Party(id=self.party, role="A04"),
            domain_id=self.domain,
            created_at=datetime.now(UTC),
        )
        files = {}
        for docs in per_fsp:
            name = _file_safe(docs.fsp_id)
            files[f"allocation-{name}.xml"] = docs.allocation.xml
            if docs.activation is not None:
                files[f"activation-orders-{name}.xml"] = docs.activation.xml
        self.folder.path.mkdir(exist_ok=True)
        for name, xml in files.items():
            write_atomic(self.folder.path / name, xml)
        stderr().print(
            f"{len(files)} IEC 62325 documents of {len(per_fsp)} FSPs written to {self.folder.path}"
        )


def _mtu(value: Any) -> str:
    return str(value)[5:16].replace("T", " ")


def _f(digits: int) -> Any:
    return lambda v: "-" if v is None else f"{v:.{digits}f}"


_NEED_COLUMNS = [
    Column("need_id", "need", keep=True),
    Column("mtu", "MTU", text=_mtu),
    Column("required_mw", "required MW", _f(3), right=True),
    Column("covered_mw", "covered MW", _f(3), right=True),
    Column("shortfall_mw", "shortfall MW", _f(3), right=True),
    Column("cleared_price_eur_per_mwh", "price €/MWh", _f(2), right=True),
    Column("shortfall_reason", "reason", wrap=True),
]
_AWARD_COLUMNS = [
    Column("bid_id", "bid", keep=True),
    Column("mtu", "MTU", text=_mtu),
    Column("quantity_mw", "MW", _f(3), right=True),
    Column("price_eur_per_mwh", "price €/MWh", _f(2), right=True),
    Column("payment_eur", "payment €", _f(2), right=True),
]


def _summary(console: Console, doc: dict[str, Any]) -> None:
    print_table(console, doc["needs"], _NEED_COLUMNS, title="needs")
    print_table(console, doc["awards"], _AWARD_COLUMNS, title="accepted bids")
    if doc["curtailments"]:
        print_table(
            console,
            doc["curtailments"],
            [
                Column("bid_id", "bid", keep=True),
                Column("mtu", "MTU", text=_mtu),
                Column("offered_mw", "offered MW", _f(3), right=True),
                Column("accepted_mw", "accepted MW", _f(3), right=True),
                Column("detail", "why cut", wrap=True),
            ],
            title="bids accepted in part",
        )
    if doc["rejections"]:
        print_table(
            console,
            doc["rejections"],
            [Column("bid_id", "bid", keep=True), Column("detail", "why rejected", wrap=True)],
            title="rejected bids",
        )
    if doc["binding"]:
        print_table(
            console,
            doc["binding"],
            [
                Column("text", "binding limit", keep=True),
                Column("dual_eur_per_unit", "dual €/unit", _f(2), right=True),
            ],
        )
    else:
        console.print("binding constraints: none")
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
    share = doc["penalty_share"]  # None when the total is zero
    console.print(
        f"cost: total {doc['total_cost_eur']:.2f} € = bids {doc['bid_cost_eur']:.2f} € + "
        f"shortfall penalty {doc['shortfall_penalty_eur']:.2f} € + violation penalty "
        f"{doc['violation_penalty_eur']:.2f} €"
        + ("" if share is None else f" ({100 * share:.1f} % penalties)")
        + f"; {len(doc['rejections'])} bids rejected"
    )


def clear(
    ctx: typer.Context,
    market_file: Annotated[
        Path,
        typer.Argument(
            help="Market file: .json, or a folder (or one of its .csv files) of CSV files.",
            show_default=False,
        ),
    ],
    grid: Annotated[
        str | None, typer.Option("--grid", help="SimBench code or pandapower name (any case).")
    ] = None,
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
        list[str] | None,
        typer.Option("--area", help="Monitored area, 'tso' or a DSO area id (repeatable)."),
    ] = None,
    json_out: JsonOption = None,
    output_format: Annotated[
        OutputFormat,
        typer.Option("--format", help="stdout: summary tables, awards as CSV, or the document."),
    ] = OutputFormat.TABLE,
    tables: Annotated[
        Path | None,
        typer.Option(
            "--tables",
            help="Write awards, needs, rejections, binding limits and costs as CSV and Parquet "
            "files into this folder.",
        ),
    ] = None,
    documents: Annotated[
        Path | None,
        typer.Option(
            "--documents",
            help="Write each FSP's IEC 62325 ReserveAllocationResult and activation orders "
            "(Activation_MarketDocument) into this folder.",
        ),
    ] = None,
    document_party: Annotated[
        str, typer.Option(help="EIC of the documents' sender (the system operator).")
    ] = "10X1001A1001A361",
    document_domain: Annotated[
        str, typer.Option(help="EIC of the area the documents concern.")
    ] = "10Y1001A1001A83F",
) -> None:
    """Clear a market file on a grid: needs, accepted bids, binding limits and the AC check."""
    from flexcoord.grid.model import load_grid
    from flexcoord.schemas import load_market_file

    out = OutputFile.parse("--json", json_out)
    folder = OutputFolder.parse("--tables", tables)
    doc_folder = OutputFolder.parse("--documents", documents)
    docs = (
        None
        if doc_folder is None
        else _Documents(doc_folder, document_party.strip(), document_domain.strip())
    )
    canonical, grid_issue = resolve_grid("--grid", grid, needs_profiles=False)
    check(
        [
            grid_issue,
            None
            if pricing in _PRICING
            else option_issue("--pricing", pricing, f"must be one of {list(_PRICING)}"),
            int_range("--ac-iterations", ac_iterations, 0, 20),
            int_range("--profile-start-step", profile_start_step, 0),
            *output_issues([out, folder, format_output(output_format)]),
            *(docs.issues() if docs is not None else []),
        ]
    )
    market = load_market_file(market_file)
    step = profile_start_step if profile_start_step is not None else market.profile_start_step
    if step is not None:
        _, profiles_issue = resolve_grid("--grid", canonical, needs_profiles=True)
        check([profiles_issue])
    with loading(f"loading grid {canonical}"):
        model = load_grid(canonical)
    doc = _clear(
        ctx,
        market,
        market_file,
        model,
        pricing,
        ac_iterations if ac_check else None,
        profile_start_step,
        area or None,
        docs,
    )
    if folder is not None:
        from flexcoord.simulation.tables import clearing_tables, write_tables

        paths = write_tables(clearing_tables(doc), folder.path)
        stderr().print(f"tables written to {folder.path}: {', '.join(p.name for p in paths)}")
    emit(doc, doc["awards"], out, output_format, lambda console: _summary(console, doc))
