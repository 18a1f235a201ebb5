"""``flexcoord pareto``: Industry4Redispatch over a market day, MTU by MTU.

On a SimBench grid's DSO area: seeded industrial sites with schedules and indivisible bids
(:func:`~flexcoord.simulation.industry.industrial_case`), the base case of the demo day from the
profiles plus the schedules, and per MTU the Pareto-optimal bid combinations the DSO forwards to
the TSO with what the margins rejected
(:func:`~flexcoord.coordination.aggregation.pareto_day.pareto_day`). The document and tables come
from :mod:`flexcoord.simulation.pareto_report`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any

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
    progress_bar,
    resolve_grid,
    stderr,
)
from flexcoord.cli.output import Column, print_table
from flexcoord.errors import Issue
from flexcoord.progress import ProgressEvent

__all__ = ["pareto"]

#: The demo day (as ``coordinate``'s seeded scenario): market day and SimBench profile day.
_MARKET_DAY = date(2026, 6, 2)
_PROFILE_DAY = date(2016, 6, 1)
_MAX_BIDS = 16  # the enumeration's limit (flexcoord.coordination.aggregation.pareto)
_DIRECTIONS = ("up", "down")
_LINEARISATIONS = ("shared", "per-mtu")


def _margin_issues(safety_margin: float, voltage_margin_pu: float) -> list[Issue | None]:
    return [
        None
        if math.isfinite(safety_margin) and 0.0 <= safety_margin < 1.0
        else option_issue("--safety-margin", safety_margin, "must be a number in [0, 1)"),
        None
        if math.isfinite(voltage_margin_pu) and 0.0 <= voltage_margin_pu < 0.5
        else option_issue("--voltage-margin-pu", voltage_margin_pu, "must be a number in [0, 0.5)"),
    ]


def _choice(option: str, value: str, allowed: tuple[str, ...]) -> Issue | None:
    if value.casefold() in allowed:
        return None
    return option_issue(option, value, f"must be one of {', '.join(allowed)}")


def _area_issue(grid: Any, area: str | None) -> Issue | None:
    ids = sorted(a.id for a in grid.areas.dso_areas)
    if area is None or area in ids:
        return None
    return option_issue(
        "--area", area, f"is not a DSO area of {grid.code}; areas: {', '.join(ids)}"
    )


@contextmanager
def _mtu_bar(total: int) -> Iterator[Callable[[ProgressEvent], None]]:
    """A bar over the day's steps on stderr (transient; nothing when not a terminal)."""
    with progress_bar(transient=True) as bar:
        task = bar.add_task("pareto", total=total + 1)

        def step(event: ProgressEvent) -> None:
            bar.update(task, description=event.message, completed=event.step - 1)

        yield step


def _money(v: Any) -> str:
    return "-" if v is None else f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.1f}"


def _count(v: Any) -> str:
    return "-" if v is None else f"{v:,}"


def _mw(v: Any) -> str:
    return "-" if v is None else f"{v:.2f}"


_MTU_COLUMNS = [
    Column("mtu", "MTU\nUTC", lambda v: str(v)[11:16], keep=True),
    Column("bids", "bids", right=True),
    Column("combinations", "combi-\nnations", _count, right=True),
    Column("linear_feasible", "linear\nok", _count, right=True),
    Column("ac_feasible", "AC\nok", _count, right=True),
    Column("margin_rejected", "margin\nrej.", _count, right=True),
    Column("margin_rejected_dominating", "rej.\ndom.", _count, right=True),
    Column("front_size", "front", right=True),
    Column("front_max_power_mw", "max\nMW", _mw, right=True),
    Column("front_max_cost_eur", "at\n€/h", _money, right=True),
    Column("base_loading_ratio", "base\nload %", lambda v: f"{100 * v:.0f}", right=True),
    Column("wall_s", "s", lambda v: f"{v:.2f}", right=True),
]
_FRONT_COLUMNS = [
    Column("point", "#", keep=True),
    Column("power_mw", "MW", _mw, right=True),
    Column("cost_eur", "€/h", _money, right=True),
    Column("interface_mw", "interface\nMW", _mw, right=True),
    Column("bid_ids", "bids", lambda v: ", ".join(v) or "(none)", wrap=True),
]


def _print(out: Console, doc: dict[str, Any]) -> None:
    t, timing = doc["totals"], doc["timing"]
    out.print(
        f"[bold]Industry4Redispatch on {doc['grid']}[/], area {doc['area_id']}, "
        f"{doc['direction']}, {doc['day']['mtus']} MTUs from {doc['day']['start'][:16]} UTC: "
        f"margins {doc['safety_margin']:.0%} thermal / {doc['voltage_margin_pu']} pu"
        + ("" if doc["voltages"] else " (thermal limits only)")
    )
    print_table(out, doc["mtus"], _MTU_COLUMNS, title="Pareto front per MTU (€/h: € per MTU hour)")
    ac = (
        f"{_count(t['ac_feasible'])} AC-feasible; the margins rejected "
        f"{_count(t['margin_rejected'])} AC-feasible ones in {t['mtus_with_margin_rejections']} "
        f"MTUs, {_count(t['margin_rejected_dominating'])} of them dominating a front point"
        if doc["ac_check"]
        else "AC check off"
    )
    out.print(
        f"{_count(t['combinations'])} combinations, {_count(t['linear_feasible'])} linearly "
        f"feasible, {ac}. {timing['wall_s']:.1f} s ({1e3 * timing['seconds_per_mtu']:.0f} ms "
        f"per MTU, linearisation {timing['linearise_s']:.2f} s, {doc['linearisation']})."
    )
    if t["mtus_base_beyond_voltage_band"]:
        out.print(
            f"note: in {t['mtus_base_beyond_voltage_band']} MTUs the base case is already beyond "
            f"the voltage band (up to {t['worst_base_vm_excess_pu']:.3f} pu), so not even doing "
            "nothing is feasible there; --no-voltages checks thermal limits only "
            "(docs/decisions/005-coordination-schemes.md)"
        )
    worst = max(doc["mtus"], key=lambda r: (r["margin_rejected_dominating"] or 0, r["front_size"]))
    front = [f for f in doc["front"] if f["mtu"] == worst["mtu"]]
    why = "most rejections dominating it" if worst["margin_rejected_dominating"] else "largest"
    if front:
        print_table(out, front, _FRONT_COLUMNS, title=f"front at {worst['mtu'][11:16]} UTC ({why})")
    if doc["ac_check"]:
        out.print(
            "rej. dom.: AC-feasible combinations the margins rejected that are cheaper for their "
            "power than a front point (what the margins hid from the TSO)"
        )


def pareto(
    ctx: typer.Context,
    grid: Annotated[
        str | None, typer.Option("--grid", help="SimBench code, e.g. 1-MV-rural--0-sw (any case).")
    ] = None,
    area: Annotated[
        str | None, typer.Option("--area", help="DSO area id (default: the one with most buses).")
    ] = None,
    n_bids: Annotated[
        int, typer.Option("--bids", help="Industrial bids per direction (1-16).")
    ] = 12,
    seed: Annotated[int, typer.Option(help="Seed of the industrial sites and bids.")] = 0,
    n_mtu: Annotated[
        int | None, typer.Option("--mtus", help="Only the first N MTUs of the day (1-96).")
    ] = None,
    direction: Annotated[
        str, typer.Option("--direction", help="Which bids to combine: up or down.")
    ] = "up",
    safety_margin: Annotated[
        float,
        typer.Option("--safety-margin", help="Share of each branch limit kept free (0 to <1)."),
    ] = 0.1,
    voltage_margin_pu: Annotated[
        float,
        typer.Option("--voltage-margin-pu", help="Kept free inside each bus's voltage band (pu)."),
    ] = 0.004,
    linearisation: Annotated[
        str,
        typer.Option(
            "--linearisation",
            help="shared: sensitivities at the day's mean point, each MTU's own base flows; "
            "per-mtu: one full linearisation per MTU.",
        ),
    ] = "shared",
    voltages: Annotated[
        bool,
        typer.Option(
            "--voltages/--no-voltages",
            help="Check voltage limits (--no-voltages: thermal only, for SimBench HV/MV).",
        ),
    ] = True,
    ac_check: Annotated[
        bool,
        typer.Option(
            "--ac-check/--no-ac-check",
            help="AC-check every combination (power-grid-model): the margin-rejected counts.",
        ),
    ] = True,
    json_out: JsonOption = None,
    output_format: Annotated[
        OutputFormat,
        typer.Option("--format", help="stdout: tables, the per-MTU rows as CSV, or the document."),
    ] = OutputFormat.TABLE,
    tables: Annotated[
        Path | None,
        typer.Option(
            "--tables",
            help="Write the per-MTU rows, front points, sites and bids as CSV and Parquet files "
            "into this folder.",
        ),
    ] = None,
) -> None:
    """Industry4Redispatch: the DSO's Pareto-optimal industrial bid combinations per MTU."""
    from flexcoord.domain import market_time_units

    out = OutputFile.parse("--json", json_out)
    folder = OutputFolder.parse("--tables", tables)
    canonical, grid_issue = resolve_grid("--grid", grid, needs_profiles=True)
    n_day = len(market_time_units(_MARKET_DAY))
    check(
        [
            grid_issue,
            int_range("--bids", n_bids, 1, _MAX_BIDS),
            int_range("--seed", seed, 0, 2**32 - 1),
            int_range("--mtus", n_mtu, 1, n_day),
            _choice("--direction", direction, _DIRECTIONS),
            _choice("--linearisation", linearisation, _LINEARISATIONS),
            *_margin_issues(safety_margin, voltage_margin_pu),
            *output_issues([out, folder, format_output(output_format)]),
        ]
    )
    from flexcoord.grid.model import load_grid

    with loading(f"loading grid {canonical}"):
        model = load_grid(canonical)
    check([_area_issue(model, area)])
    doc = _run(
        ctx,
        model,
        area,
        n_bids=n_bids,
        seed=seed,
        n_mtu=n_mtu or n_day,
        direction=direction.casefold(),
        safety_margin=safety_margin,
        voltage_margin_pu=voltage_margin_pu,
        linearisation=linearisation.casefold(),
        voltages=voltages,
        ac_check=ac_check,
    )
    if folder is not None:
        from flexcoord.simulation.pareto_report import pareto_tables
        from flexcoord.simulation.tables import write_tables

        paths = write_tables(pareto_tables(doc), folder.path)
        stderr().print(f"tables written to {folder.path}: {', '.join(p.name for p in paths)}")
    emit(doc, doc["mtus"], out, output_format, lambda console: _print(console, doc))


def _run(ctx: typer.Context, grid: Any, area: str | None, **o: Any) -> dict[str, Any]:
    """Sites and bids, the base case, the day's Pareto fronts, and the document."""
    from flexcoord.coordination.aggregation.day_models import Linearisation
    from flexcoord.coordination.aggregation.pareto_day import pareto_day
    from flexcoord.domain import Direction, market_time_units
    from flexcoord.grid.forecast import profile_operating_points
    from flexcoord.grid.portfolio import build_portfolio
    from flexcoord.provenance import provenance
    from flexcoord.simulation.industry import industrial_case
    from flexcoord.simulation.pareto_report import pareto_document
    from flexcoord.simulation.scenario import profile_step_of

    whole_day = market_time_units(_MARKET_DAY)
    with loading(f"placing {o['n_bids']} industrial bids per direction (seed {o['seed']})"):
        base = profile_operating_points(
            grid, start_step=profile_step_of(_PROFILE_DAY), steps=len(whole_day)
        )
        case = industrial_case(  # on the whole day, so --mtus N runs its first N MTUs
            grid,
            build_portfolio(grid),
            intervals=whole_day,
            base_points=base,
            area_id=area,
            n_bids=o["n_bids"],
            seed=o["seed"],
        )
    intervals = whole_day[: o["n_mtu"]]
    with _mtu_bar(len(intervals)) as progress:
        day = pareto_day(
            grid,
            case.bids,
            case.register,
            intervals=intervals,
            operating_points=case.operating_points.take(range(len(intervals))),
            area_id=case.area_id,
            direction=Direction(o["direction"]),
            safety_margin=o["safety_margin"],
            voltage_margin_pu=o["voltage_margin_pu"],
            linearisation=Linearisation(o["linearisation"]),
            voltages=o["voltages"],
            check_ac=o["ac_check"],
            progress=progress,
        )
    return pareto_document(
        day,
        case,
        grid_code=grid.code,
        seed=o["seed"],
        provenance=provenance(grid_code=grid.code, input_path=None, command=command_line(ctx)),
    )
