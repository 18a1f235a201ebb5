"""``flexcoord plan PLAN``: flexibility against reinforcement over a growth path.

Runs :func:`flexcoord.planning.plan.run_plan`. The plan file is read and every key checked, the
growth path's grid and years checked and the output folder probed before any power flow runs
(exit 2 naming the key). A progress bar per planned year goes to stderr, the crossover table
(per congested asset and price scenario) to stdout, and the folder's path is printed last.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from flexcoord.cli.edge import check, options_folder_issues, progress_bar, stderr, stdout

__all__ = ["plan"]


@contextmanager
def _bar(total: int) -> Iterator[Callable[[str, int, int], None]]:
    with progress_bar(transient=False) as bar:
        task = bar.add_task("plan", total=total)

        def step(stage: str, done: int, _total: int) -> None:
            bar.update(task, description=stage, completed=done)

        yield step
        bar.update(task, completed=total)


def _money(value: float) -> str:
    return f"{value:,.0f}" if math.isfinite(value) else ""  # NaN: not available


def _summary(out: Console, crossover: Any) -> None:
    if not len(crossover):
        out.print("no asset is violated in any planned year")
        return
    table = Table(title="flexibility against reinforcement, per congested asset")
    for label, justify in (
        ("asset", "left"),
        ("kind", "left"),
        ("scenario", "left"),
        ("first", "right"),
        ("crossover", "right"),
        ("flex €/yr @horizon", "right"),
        ("reinf. €/yr", "right"),
        ("NPV deferral €", "right"),
    ):
        table.add_column(label, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for row in crossover.itertuples(index=False):
        table.add_row(
            row.asset,
            row.kind,
            row.scenario,
            str(row.first_violation_year),
            row.crossover,
            _money(row.flexibility_eur_per_year_at_horizon),
            _money(row.reinforcement_eur_per_year),
            _money(row.npv_of_deferral_eur),
        )
    out.print(table)


def plan(
    plan_file: Annotated[Path, typer.Argument(help="The plan file (TOML).")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Output folder (default: the plan's).")
    ] = None,
) -> None:
    """Plan a grid over a growth path: per congested asset, flexibility or reinforcement, and
    the crossover year."""
    from flexcoord.planning.plan import plan_issues, run_plan
    from flexcoord.schemas.plan import load_plan

    source = str(plan_file)
    spec = load_plan(plan_file)
    check(
        [
            *plan_issues(spec, source=source),
            *options_folder_issues(out, spec.outputs.folder, source),
        ]
    )
    target = out if out is not None else Path(spec.outputs.folder)
    with _bar(len(spec.years())) as step:
        result = run_plan(spec, source=source, folder=target, progress=step)
    wide = Console(highlight=False, width=max(stdout().width, 132))
    _summary(wide, result.tables["crossover"])
    stderr().print(
        f"{len(spec.years())} year(s) planned in {result.wall_s:.0f} s; results in "
        f"{result.folder}" + (f", report {result.report}" if result.report else "")
    )
    typer.echo(str(result.folder.resolve()))
