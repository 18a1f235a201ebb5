"""``flexcoord grid``: list the grids, inspect one, run the year-long congestion assessment."""

from __future__ import annotations

import contextlib
import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from flexcoord.cli.edge import (
    JsonOption,
    OutputFile,
    OutputFormat,
    check,
    command,
    command_line,
    emit,
    format_output,
    int_range,
    loading,
    option_issue,
    output_issues,
    resolve_grid,
    stderr,
)
from flexcoord.cli.output import Column, print_table

grid_app = typer.Typer(
    help="Grids: SimBench codes, pandapower networks and CGMES datasets (cgmes:PATH.zip).",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)

CodeArg = Annotated[
    str,
    typer.Argument(
        help="SimBench code (e.g. 1-MV-rural--0-sw; any case), pandapower network name, or "
        "cgmes:PATH.zip.",
        show_default=False,
    ),
]
FormatOpt = Annotated[
    OutputFormat, typer.Option("--format", help="How the result prints on stdout.")
]
TsoOpt = Annotated[
    float, typer.Option(help="Buses at or above this voltage (kV) form the TSO area.")
]


def _provenance(ctx: typer.Context, code: str) -> dict[str, Any]:
    from flexcoord.provenance import provenance

    return {"provenance": provenance(grid_code=code, input_path=None, command=command_line(ctx))}


def _tso_issue(value: float) -> Any:
    if math.isfinite(value) and value > 0:
        return None
    return option_issue("--tso-min-vn-kv", value, "must be a voltage in kV > 0")


@grid_app.command("list")
@command
def list_grids(
    match: Annotated[
        str | None, typer.Argument(help="Only codes containing this text (any case).")
    ] = None,
    json_out: JsonOption = None,
    output_format: FormatOpt = OutputFormat.TABLE,
) -> None:
    """Every grid flexcoord can load, and whether it has year-long profiles."""
    from flexcoord.grid.loading import grid_catalogue

    out = OutputFile.parse("--json", json_out)
    check(output_issues([out, format_output(output_format)]))
    wanted = (match or "").casefold()
    rows = [
        {"code": e.code, "source": e.source, "profiles": e.has_profiles}
        for e in grid_catalogue()
        if wanted in e.code.casefold()
    ]
    columns = [
        Column("code", "code", keep=True),
        Column("source", "source"),
        Column("profiles", "profiles"),
    ]
    emit(
        rows,
        rows,
        out,
        output_format,
        lambda console: print_table(console, rows, columns, title=f"{len(rows)} grids"),
    )


@grid_app.command("info")
@command
def info(
    ctx: typer.Context,
    code: CodeArg,
    json_out: JsonOption = None,
    output_format: FormatOpt = OutputFormat.TABLE,
    tso_min_vn_kv: TsoOpt = 110.0,
) -> None:
    """Size, voltage levels, DER and the TSO/DSO areas of a grid."""
    from flexcoord.grid.model import GridModel

    out = OutputFile.parse("--json", json_out)
    canonical, grid_issue = resolve_grid("CODE", code, needs_profiles=False)
    check(
        [grid_issue, _tso_issue(tso_min_vn_kv), *output_issues([out, format_output(output_format)])]
    )
    with loading(f"loading grid {canonical}"):
        data = GridModel.load(canonical, tso_min_vn_kv=tso_min_vn_kv).info()
    document = {**_provenance(ctx, canonical), **data}
    area_rows = [
        {
            "id": a["id"],
            "buses": a["buses"],
            "voltage_levels_kv": ", ".join(f"{v:g}" for v in a["voltage_levels_kv"]),
            "coupling_points": ", ".join(a["coupling_points"]),
            "coupling_mva": a["coupling_capacity_mva"],
        }
        for a in data["dso_areas"]
    ]
    facts = [{"key": k, "value": v} for k, v in data.items() if k != "dso_areas"]

    def human(console: Console) -> None:
        print_table(
            console,
            facts,
            [
                Column("key", "grid " + canonical, keep=True),
                Column("value", "", text=_fact, wrap=True),
            ],
        )
        print_table(
            console,
            area_rows,
            [
                Column("id", "DSO area", keep=True),
                Column("buses", "buses", right=True),
                Column("voltage_levels_kv", "kV"),
                Column("coupling_mva", "coupling MVA", right=True),
                Column("coupling_points", "coupling points"),
            ],
        )

    emit(document, area_rows, out, output_format, human)


def _fact(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items()) or "-"
    return str(value)


@grid_app.command("assess")
@command
def assess(
    ctx: typer.Context,
    code: CodeArg,
    json_out: JsonOption = None,
    output_format: FormatOpt = OutputFormat.TABLE,
    start: Annotated[
        int, typer.Option(help="First 15-min step of the year (0 = Jan 1, 00:00).")
    ] = 0,
    steps: Annotated[
        int | None, typer.Option(help="Number of steps (default: the whole year).")
    ] = None,
    violations_csv: Annotated[
        Path | None, typer.Option(help="Write every violation (asset × time) to this CSV.")
    ] = None,
    violations_parquet: Annotated[
        Path | None,
        typer.Option(
            help="Write every violation (asset × time) to this Parquet file (typed columns; "
            "a fraction of the CSV's size and time)."
        ),
    ] = None,
    tso_min_vn_kv: TsoOpt = 110.0,
) -> None:
    """Run a year of 15-min AC power flows and report overloads and voltage violations."""
    from flexcoord.grid.model import GridModel

    out = OutputFile.parse("--json", json_out)
    csv_out = None if violations_csv is None else OutputFile("--violations-csv", violations_csv)
    parquet_out = (
        None
        if violations_parquet is None
        else OutputFile("--violations-parquet", violations_parquet)
    )
    canonical, grid_issue = resolve_grid("CODE", code, needs_profiles=True)
    check(
        [
            grid_issue,
            _tso_issue(tso_min_vn_kv),
            int_range("--start", start, 0),
            int_range("--steps", steps, 1),
            *output_issues([out, csv_out, parquet_out, format_output(output_format)]),
        ]
    )
    with loading(f"loading grid {canonical}"):
        grid = GridModel.load(canonical, tso_min_vn_kv=tso_min_vn_kv)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} steps"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=stderr(), transient=True) as bar:
        task = bar.add_task(f"power flows on {canonical}", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        # the per-step violations table is never held: a year of HV/MV at SimBench's voltage
        # bands has about 58 million rows; they stream to the files chunk by chunk
        with (
            csv_out.stream() if csv_out is not None else contextlib.nullcontext() as sink,
            parquet_out.stream() if parquet_out is not None else contextlib.nullcontext() as pq,
        ):
            result = grid.assess(
                start=start,
                steps=steps,
                progress=progress,
                keep_violations=False,
                violations_csv=sink,
                violations_parquet=pq,
            )
    summary_rows = [_row(r) for r in result.summary.to_dict(orient="records")]
    document = {**_provenance(ctx, canonical), **result.to_dict(include_violations=False)}
    emit(
        document,
        summary_rows,
        out,
        output_format,
        lambda console: _print_assessment(console, canonical, result, summary_rows),
    )


_SUMMARY_COLUMNS = (
    Column("asset", "asset", keep=True),
    Column("area", "area"),
    Column("kind", "kind"),
    Column("steps", "steps", right=True),
    Column("hours", "hours", right=True, text=lambda v: f"{v:.4g}"),
    Column("worst_value", "worst", right=True, text=lambda v: f"{v:.4g}"),
    Column("limit", "limit", right=True, text=lambda v: f"{v:.4g}"),
    Column("first_time", "first UTC", text=lambda v: str(v)[5:16].replace("T", " ")),
)


def _row(record: dict[Any, Any]) -> dict[str, Any]:
    return {str(k): (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in record.items()}


def _print_assessment(console: Console, code: str, result: Any, rows: list[dict[str, Any]]) -> None:
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
    print_table(
        console,
        rows[:30],
        list(_SUMMARY_COLUMNS),
        title="violations per asset (the congestion to buy flexibility for)",
    )
    if len(rows) > 30:
        console.print(
            f"... and {len(rows) - 30} more (use --format csv, --json, --violations-csv or "
            "--violations-parquet)"
        )


@grid_app.command("check-cgmes")
@command
def check_cgmes(
    ctx: typer.Context,
    path: Annotated[
        Path,
        typer.Argument(
            help="CGMES 2.4.15 / 3.0 zip with the EQ, SSH, TP and SV profiles.", show_default=False
        ),
    ],
    json_out: JsonOption = None,
    output_format: FormatOpt = OutputFormat.TABLE,
) -> None:
    """Import a CGMES dataset and compare pandapower's power flow with its SV profile.

    The same file loads as a grid anywhere a grid code is taken: ``cgmes:PATH.zip``.
    """
    import time

    from flexcoord.grid.cgmes import check_cgmes as cgmes_issues
    from flexcoord.grid.cgmes import import_cgmes
    from flexcoord.grid.cgmes_check import compare_with_sv

    out = OutputFile.parse("--json", json_out)
    check([*output_issues([out, format_output(output_format)]), *cgmes_issues(path)])
    with loading(f"importing {path}"):
        started = time.perf_counter()
        imported = import_cgmes(path)
        import_s = time.perf_counter() - started
        comparison = compare_with_sv(imported)
    code = f"cgmes:{path}"
    facts: dict[str, Any] = {
        "source": imported.source,
        "cgmes_version": imported.cgmes_version,
        "profiles": imported.profiles,
        "buses": len(imported.net.bus),
        "regions": list(imported.regions),
        "control_areas": list(imported.control_areas),
        "import_s": round(import_s, 3),
        **comparison.as_dict(),
    }
    document = {**_provenance(ctx, code), **facts}
    rows = [{"key": k, "value": v} for k, v in facts.items()]

    def human(console: Console) -> None:
        print_table(
            console,
            rows,
            [
                Column("key", "CGMES " + path.name, keep=True),
                Column("value", "", text=_fact, wrap=True),
            ],
        )

    emit(document, rows, out, output_format, human)


@grid_app.command("export-cgmes")
@command
def export_cgmes(
    ctx: typer.Context,
    code: CodeArg,
    out_path: Annotated[
        Path,
        typer.Argument(
            metavar="OUT.zip", help="The CGMES zip to write (EQ, TP, SSH, SV).", show_default=False
        ),
    ],
    force: Annotated[bool, typer.Option("--force", help="Replace OUT.zip if it exists.")] = False,
    cgmes_version: Annotated[
        str, typer.Option("--cgmes-version", help="CGMES version to write: 2.4.15 or 3.0.")
    ] = "2.4.15",
    json_out: JsonOption = None,
    output_format: FormatOpt = OutputFormat.TABLE,
) -> None:
    """Write a grid as a CGMES dataset, through PowSyBl's pandapower converter and load flow.

    The file is read back through flexcoord's own import (as ``cgmes:OUT.zip`` loads) and solved
    before it is kept: an export that would not solve to the grid's state is refused, and
    nothing is written. Needs the optional ``cgmes`` extra (pypowsybl).
    """
    from flexcoord.grid.cgmes_export import CGMES_VERSIONS, export_issues
    from flexcoord.grid.cgmes_export import export_cgmes as write_cgmes

    out = OutputFile.parse("--json", json_out)
    canonical, grid_issue = resolve_grid("CODE", code, needs_profiles=False)
    path_issues = [
        option_issue("OUT.zip", str(out_path), i.message)
        for i in export_issues(out_path, force=force)
    ] + OutputFile("OUT.zip", out_path).issues()
    version_issue = (
        None
        if cgmes_version in CGMES_VERSIONS
        else option_issue("--cgmes-version", cgmes_version, f"must be one of {CGMES_VERSIONS}")
    )
    check(
        [
            grid_issue,
            version_issue,
            *path_issues,
            *output_issues([out, format_output(output_format)]),
        ]
    )
    with loading(f"writing {canonical} as CGMES {cgmes_version}"):
        written = write_cgmes(canonical, out_path, force=force, cgmes_version=cgmes_version)
    facts: dict[str, Any] = {
        "grid": canonical,
        "path": str(written.path),
        "cgmes_version": written.cgmes_version,
        "members": list(written.members),
        "size_bytes": written.size_bytes,
        "buses": written.buses,
        "lines": written.lines,
        "transformers": written.transformers,
        "written_s": round(written.written_s, 3),
        **{f"read_back_{k}": v for k, v in written.check.as_dict().items()},
    }
    document = {**_provenance(ctx, canonical), **facts}
    rows = [{"key": k, "value": v} for k, v in facts.items()]

    def human(console: Console) -> None:
        print_table(
            console,
            rows,
            [
                Column("key", f"CGMES {out_path.name}", keep=True),
                Column("value", "", text=_fact, wrap=True),
            ],
        )

    emit(document, rows, out, output_format, human)
