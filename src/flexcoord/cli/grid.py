"""``flexcoord grid``: inspect a grid and run the year-long congestion assessment."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.box import SIMPLE
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from flexcoord.cli.output import console, print_json, run_user

grid_app = typer.Typer(help="Grids: SimBench codes and pandapower networks.", no_args_is_help=True)

CodeArg = Annotated[
    str, typer.Argument(help="SimBench code (e.g. 1-MV-rural--0-sw) or pandapower network name.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON to stdout instead of tables.")]
TsoOpt = Annotated[
    float, typer.Option(help="Buses at or above this voltage (kV) form the TSO area.")
]


@grid_app.command("info")
def info(code: CodeArg, json_output: JsonOpt = False, tso_min_vn_kv: TsoOpt = 110.0) -> None:
    """Size, voltage levels, DER and the TSO/DSO areas of a grid."""
    from flexcoord.grid.model import GridModel

    data = run_user(lambda: GridModel.load(code, tso_min_vn_kv=tso_min_vn_kv).info())
    if json_output:
        print_json(data)
        return
    table = Table(title=f"grid {code}", show_header=False)
    for key, value in data.items():
        if key != "dso_areas":
            table.add_row(key, str(value))
    console.print(table)
    areas = Table(title="DSO areas")
    for col in ("id", "buses", "voltage levels kV", "coupling points", "coupling MVA"):
        areas.add_column(col)
    for a in data["dso_areas"]:
        areas.add_row(
            a["id"],
            str(a["buses"]),
            ", ".join(f"{v:g}" for v in a["voltage_levels_kv"]),
            ", ".join(a["coupling_points"]),
            f"{a['coupling_capacity_mva']:g}",
        )
    console.print(areas)


@grid_app.command("assess")
def assess(
    code: CodeArg,
    json_output: JsonOpt = False,
    start: Annotated[
        int, typer.Option(help="First 15-min step of the year (0 = Jan 1, 00:00).")
    ] = 0,
    steps: Annotated[
        int | None, typer.Option(help="Number of steps (default: the whole year).")
    ] = None,
    violations_csv: Annotated[
        Path | None, typer.Option(help="Write every violation (asset × time) to this CSV.")
    ] = None,
    tso_min_vn_kv: TsoOpt = 110.0,
) -> None:
    """Run a year of 15-min AC power flows and report overloads and voltage violations."""
    from flexcoord.grid.model import GridModel

    def work() -> Any:
        grid = GridModel.load(code, tso_min_vn_kv=tso_min_vn_kv)
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} steps"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=console, transient=True, disable=json_output) as bar:
            task = bar.add_task(f"power flows on {code}", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            return grid, grid.assess(start=start, steps=steps, progress=progress)

    _, result = run_user(work)
    if violations_csv is not None:
        result.violations.to_csv(violations_csv, index=False)
    if json_output:
        print_json(result.to_dict(include_violations=False))
        return
    _print_assessment(code, result)


_SUMMARY_COLUMNS = (
    "asset",
    "area",
    "kind",
    "steps",
    "hours",
    "worst_value",
    "limit",
    "first_time",
)


def _print_assessment(code: str, result: Any) -> None:
    totals = result.totals()
    console.print(
        f"[bold]{code}[/]: {totals['steps']} steps in {totals['elapsed_s']:.2f} s "
        f"({totals['steps_per_s']:,.0f} steps/s); "
        f"max loading {totals['max_loading_percent']:.1f} % ({totals['max_loading_asset']}), "
        f"vm {totals['min_vm_pu']:.4f}–{totals['max_vm_pu']:.4f} pu; "
        f"{totals['violating_assets']} assets with violations in "
        f"{totals['steps_with_violations']} steps"
    )
    summary = result.summary
    if summary.empty:
        console.print("no overloads or voltage violations")
        return
    by_operator = summary.groupby(["operator", "kind"], observed=True)["asset"].nunique()
    for (operator, kind), count in by_operator.items():
        console.print(f"  {operator.upper()} grid: {count} assets with {kind}")
    table = Table(
        title="violations per asset (the congestion to buy flexibility for)",
        box=SIMPLE,
        pad_edge=False,
    )
    shown = summary.loc[:, [c for c in _SUMMARY_COLUMNS if c in summary.columns]].head(30)
    headers = {"operator": "op", "worst_value": "worst", "first_time": "first UTC"}
    cells = [[_cell(v) for v in row] for row in shown.itertuples(index=False)]
    for k, col in enumerate(shown.columns):
        header = headers.get(str(col), str(col))
        width = max([len(header), *(len(r[k]) for r in cells)])
        table.add_column(header, no_wrap=True, min_width=width)
    for r in cells:
        table.add_row(*r)
    console.print(table)
    if len(summary) > 30:
        console.print(f"... and {len(summary) - 30} more (use --json or --violations-csv)")


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if hasattr(value, "strftime"):
        return str(value.strftime("%m-%d %H:%M"))
    return str(value)
