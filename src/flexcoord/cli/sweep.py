"""``flexcoord sweep MATRIX``: one study per cell of a matrix, on Dask (``docs/sweeps.md``).

Runs :func:`flexcoord.simulation.sweep.run_sweep`. The sweep file is read and every key checked,
every cell's grid, year and preset resolved (issues named by the matrix key, e.g.
``matrix.grids[1]``) and the output folder probed before any grid loads or anything is written
(exit code 2). One line per cell goes to stderr as it finishes, a table of the cells' statuses
to stdout, and the folder's path is printed last; exit code 1 if any cell failed (each is
listed with its parameters and error).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from flexcoord.cli.edge import check, exclusive, int_range, options_folder_issues, stderr, stdout

__all__ = ["sweep"]

EXIT_CELLS_FAILED = 1


def _print_cell(record: Any, finished: int, total: int) -> None:
    extra = f" {record.wall_s:.1f} s" if record.status == "done" else ""
    error = f": {record.error}" if record.error else ""
    stderr().print(
        f"[{finished}/{total}] {record.cell.id} {record.status}{extra}{error}",
        soft_wrap=True,
        markup=False,
    )


def _summary(result: Any) -> None:
    """Cells per status, with their wall time (the cells themselves were printed as they
    finished)."""
    table = Table(title=f"{len(result.cells)} cell(s)")
    for column in ("status", "cells", "wall s"):
        table.add_column(column, justify="left" if column == "status" else "right")
    for status in ("done", "skipped", "failed"):
        members = [r for r in result.cells if r.status == status]
        if members:
            table.add_row(status, str(len(members)), f"{sum(r.wall_s for r in members):.1f}")
    stdout().print(table)


def sweep(
    matrix_file: Annotated[Path, typer.Argument(help="The sweep file (TOML, or YAML).")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Output folder (default: the sweep's).")
    ] = None,
    workers: Annotated[
        int, typer.Option("--workers", help="Processes of the local Dask cluster (1-64).")
    ] = 2,
    scheduler: Annotated[
        str | None,
        typer.Option("--scheduler", help="Run on this Dask scheduler (tcp://host:8786) instead."),
    ] = None,
    serial: Annotated[
        bool, typer.Option("--serial", help="Run the cells one by one in this process.")
    ] = False,
) -> None:
    """Run a sweep: one study per cell of grids × presets × years × forecast errors × seeds."""
    from flexcoord.schemas.sweep import load_sweep
    from flexcoord.simulation.sweep import check_sweep, run_sweep

    check(
        [
            int_range("--workers", workers, 1, 64),
            exclusive({"--serial": serial, "--scheduler": scheduler}, because="pick one"),
        ]
    )
    source = str(matrix_file)
    matrix = load_sweep(matrix_file)
    cells = check_sweep(matrix, source)
    target = out if out is not None else Path(matrix.outputs.folder)
    check(options_folder_issues(out, matrix.outputs.folder, source))
    where = "in this process" if serial else scheduler or f"{workers} local Dask worker(s)"
    stderr().print(f"sweep {matrix.name}: {len(cells)} cell(s), {where}", markup=False)
    result = run_sweep(
        matrix,
        source=source,
        folder=target,
        workers=workers,
        scheduler=scheduler,
        serial=serial,
        progress=_print_cell,
    )
    _summary(result)
    if result.failed:
        stderr().print(f"{len(result.failed)} cell(s) failed:", markup=False)
        for r in result.failed:
            stderr().print(f"- {r.cell.params()}: {r.error}", soft_wrap=True, markup=False)
    stderr().print(f"sweep done in {result.wall_s:.0f} s; results in {result.folder}")
    typer.echo(str(result.folder.resolve()))
    if result.failed:
        raise typer.Exit(code=EXIT_CELLS_FAILED)
