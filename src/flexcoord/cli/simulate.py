"""``flexcoord simulate STUDY`` and ``flexcoord demo``: a study's days under its schemes.

Both run :func:`flexcoord.simulation.study_run.run_study`; ``demo`` on the built-in study
(one week on 1-HVMV-mixed, every preset). The study file is read and every key checked, the
grid code and presets resolved and the output folder probed before any grid loads. A progress
bar per day and scheme goes to stderr, a summary table (means over the days, per scheme) to
stdout, and the folder's path is printed last.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from flexcoord.cli.edge import (
    check,
    int_range,
    options_folder_issues,
    progress_bar,
    resolve_grid,
    stderr,
    stdout,
)

__all__ = ["DEMO_STUDY", "demo", "simulate"]

#: The built-in study of ``flexcoord demo``.
DEMO_STUDY: Mapping[str, Any] = {
    "name": "demo",
    "grid": "1-HVMV-mixed-all-0-sw",
    "start": date(2026, 6, 1),
    "days": 7,
    "seed": 0,
    "schemes": ["all"],
    "forecast_error": {"pv": 0.1, "wind": 0.1, "load": 0.03},
    "outputs": {"folder": "flexcoord-demo"},
}

_SUMMARY = (
    ("realised_cost_eur", "€/day", "{:,.0f}"),
    ("violation_mwh", "MWh>lim", "{:.2f}"),
    ("violation_bus_hours", "V bus-h", "{:.1f}"),
    ("unserved_mwh", "unserved", "{:.1f}"),
    ("delivery_ratio", "deliv.", "{:.0%}"),
)


@contextmanager
def _bar(days: int, schemes: int) -> Iterator[Callable[[int, int, str], None]]:
    with progress_bar(transient=False) as bar:
        task = bar.add_task("study", total=days * schemes)
        seen: dict[int, int] = {}

        def step(index: int, n_days: int, scheme: str) -> None:
            # a scheme's event advances the bar by one; a finished (or resumed) day by what
            # its schemes have not advanced yet, so serial and parallel runs both end full
            if scheme:
                seen[index] = seen.get(index, 0) + 1
                bar.update(task, description=f"day {index + 1}/{n_days} {scheme}", advance=1)
            else:
                bar.update(task, advance=schemes - seen.get(index, 0))
                seen[index] = schemes

        yield step


def _summary(out: Console, kpis: Any) -> None:
    if not len(kpis):
        out.print("no scheme ran")
        return
    means = kpis.groupby("scheme", sort=False).mean(numeric_only=True)
    table = Table(title=f"means over {kpis['day'].nunique()} day(s)")
    table.add_column("scheme", no_wrap=True)
    shown = [c for c in _SUMMARY if c[0] in means.columns]
    for _, label, _fmt in shown:
        table.add_column(label, justify="right")
    for scheme, row in means.iterrows():
        table.add_row(str(scheme), *(fmt.format(row[col]) for col, _, fmt in shown))
    out.print(table)


def _run(study: Any, source: str, folder: Path | None, workers: int) -> None:
    from flexcoord.simulation.study import check_study, study_presets
    from flexcoord.simulation.study_run import run_study

    check_study(study, source)
    target = folder if folder is not None else Path(study.outputs.folder)
    problems = options_folder_issues(folder, study.outputs.folder, source)
    check(problems)
    n_schemes = len(study_presets(study, source))
    with _bar(study.days, n_schemes) as step:
        result = run_study(study, source=source, folder=target, progress=step, workers=workers)
    _summary(stdout(), result.tables["kpis"])
    resumed = f", {result.days_resumed} resumed" if result.days_resumed else ""
    stderr().print(
        f"{result.days_run} day(s) run{resumed} in {result.wall_s:.0f} s; results in "
        f"{result.folder}" + (f", report {result.report}" if result.report else "")
    )
    typer.echo(str(result.folder.resolve()))


def simulate(
    study_file: Annotated[Path, typer.Argument(help="The study file (TOML, or YAML).")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Output folder (default: the study's).")
    ] = None,
    days: Annotated[
        int | None, typer.Option("--days", help="Run only the first N days of the study.")
    ] = None,
    workers: Annotated[
        int, typer.Option("--workers", help="Days run in parallel (Dask local cluster, 1-64).")
    ] = 1,
) -> None:
    """Run a study: every day under every scheme, with operations and the realised grid."""
    from flexcoord.schemas.study import load_study

    check([int_range("--days", days, 1, 366), int_range("--workers", workers, 1, 64)])
    study = load_study(study_file)
    if days is not None:
        study = study.model_copy(update={"days": min(days, study.days)})
    _run(study, str(study_file), out, workers)


def demo(
    days: Annotated[int, typer.Option("--days", help="Days to simulate (1-366).")] = 7,
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("flexcoord-demo"),
    grid: Annotated[
        str, typer.Option("--grid", help="SimBench code (default 1-HVMV-mixed-all-0-sw).")
    ] = "1-HVMV-mixed-all-0-sw",
    workers: Annotated[
        int, typer.Option("--workers", help="Days run in parallel (default: 2, one per core).")
    ] = 2,
) -> None:
    """One week on 1-HVMV-mixed: every scheme of the seed compared under forecast error."""
    from flexcoord.schemas.study import StudyFile

    code, grid_issue = resolve_grid("--grid", grid, needs_profiles=True)
    check([grid_issue, int_range("--days", days, 1, 366), int_range("--workers", workers, 1, 64)])
    study = StudyFile.model_validate(
        {**DEMO_STUDY, "days": days, "grid": code, "outputs": {"folder": str(out)}}
    )
    _run(study, "demo", out, workers)
