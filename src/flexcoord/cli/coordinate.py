"""``flexcoord coordinate``: run a scenario under one coordination scheme, or compare them all.

The scenario is a market file (needs posted by the buyers it names, bids on portfolio units) on a
SimBench grid, or — without a file — the seeded demo scenario of
:func:`~flexcoord.simulation.scenario.build_coordination_scenario`. The comparison table comes from
:mod:`flexcoord.simulation.report`, the runs from :func:`~flexcoord.coordination.scheme.run_scheme`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from flexcoord.cli.coordinate_tables import CHAIN_COLUMNS, print_tables
from flexcoord.cli.edge import (
    JsonOption,
    OutputFile,
    OutputFolder,
    OutputFormat,
    check,
    command_line,
    emit,
    exclusive,
    format_output,
    int_range,
    loading,
    option_issue,
    output_issues,
    resolve_grid,
    stderr,
)
from flexcoord.cli.output import Column, print_table
from flexcoord.errors import InvalidInputError, Issue
from flexcoord.progress import ProgressEvent

if TYPE_CHECKING:
    from flexcoord.coordination import CoordinationInput, SchemeConfig, SchemeOutcome
    from flexcoord.grid.model import GridModel
    from flexcoord.schemas import MarketFile

__all__ = ["coordinate", "market_file_input"]

_MTU = timedelta(minutes=15)
_FORECAST_LEAD = timedelta(hours=12)  # as the scenario builder: base case issued 12 h ahead


def market_file_input(
    market: MarketFile,
    grid: GridModel,
    *,
    source: str,
    profile_start_step: int | None = None,
) -> CoordinationInput:
    """A :class:`~flexcoord.coordination.inputs.CoordinationInput` from a market file on a grid.

    ``market`` is the file as read by :func:`~flexcoord.schemas.load_market_file` from ``source``
    (named in errors), ``grid`` the loaded grid.

    The register is the grid's portfolio (``build_portfolio``, as ``flexcoord clear``) plus the
    commercial buyer ``brp`` the scenario builder adds, plus the file's products. The base case is
    the SimBench profiles from ``profile_start_step`` (option, else the file's) on the file's MTUs,
    else the grid's snapshot; the input's ``profile_start_step`` is that step, so the AC check
    starts from the base case the markets clear on. Thermal limits only (``voltages=False``, as
    the scenario builder); the file's ``areas``, ``vm_min_pu`` and ``vm_max_pu`` are not used:
    each scheme decides which areas its markets monitor. Every need's ``buyer_id`` must be an
    operator of the register.

    Raises:
        InvalidInputError: every issue of the file, or needs of unknown buyers.
    """
    import dataclasses

    from flexcoord.coordination import CoordinationInput
    from flexcoord.domain import OperatorRole, SystemOperator, market_span
    from flexcoord.grid.forecast import forecast_from_profiles, forecast_from_snapshot
    from flexcoord.grid.portfolio import build_portfolio

    portfolio = build_portfolio(grid)
    if not any(o.id == "brp" for o in portfolio.operators):
        brp = SystemOperator(id="brp", name="Balance responsible party", role=OperatorRole.BRP)
        portfolio = dataclasses.replace(portfolio, operators=(*portfolio.operators, brp))
    register, needs, bids = market.to_domain(portfolio, source=source)
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
    intervals = market_span(needs, bids, source=source)
    from flexcoord.schemas import grid_option_issues

    issues = grid_option_issues(
        market,
        grid,
        n_mtu=len(intervals),
        source=source,
        profile_start_step=profile_start_step,
        areas=[],  # each scheme decides which areas its markets monitor
    )
    if issues:
        raise InvalidInputError(issues)
    issued = market.gate_closure_at or intervals[0].start - _FORECAST_LEAD
    step = profile_start_step if profile_start_step is not None else market.profile_start_step
    if step is None:
        forecast = forecast_from_snapshot(grid, intervals=intervals, issued_at=issued)
    else:
        forecast = forecast_from_profiles(
            grid, start_step=step, intervals=intervals, issued_at=issued, label="profiles"
        )
    return CoordinationInput(
        name=f"{Path(source).name} on {grid.code} (base case {forecast.label})",
        grid=grid,
        register=register,
        needs=needs,
        bids=bids,
        intervals=intervals,
        forecast=forecast,
        safety_margin=market.safety_margin,
        gate_closure_at=market.gate_closure_at,
        profile_start_step=step,  # the AC check starts from the same base case as the markets
    )


#: The market day of the seeded demo scenario (:func:`build_coordination_scenario`'s default).
_DEMO_DAY = date(2026, 6, 2)
_MAX_BIDS = 1_000_000


def _schemes(
    preset_id: str | None, all_schemes: bool
) -> tuple[tuple[SchemeConfig, ...], list[Issue]]:
    from flexcoord.coordination import PRESETS

    if all_schemes and preset_id is not None:
        return (), [option_issue("--preset", preset_id, "cannot be combined with --all")]
    if all_schemes:
        return PRESETS, []
    if preset_id is None:
        return (), [
            option_issue("--preset", None, "give --preset ID or --all (see --list-presets)")
        ]
    by_id = {p.id: p for p in PRESETS}
    folded = {p.id.casefold(): p for p in PRESETS}
    found = by_id.get(preset_id) or folded.get(preset_id.casefold())
    if found is None:
        import difflib

        close = difflib.get_close_matches(preset_id.casefold(), list(folded), n=3, cutoff=0.6)
        hint = (
            f"did you mean {', '.join(close)}?"
            if close
            else f"presets: {', '.join(p.id for p in PRESETS)}"
        )
        return (), [option_issue("--preset", preset_id, f"is not a preset; {hint}")]
    return (found,), []


def _demo_issues(n_bids: int | None, seed: int | None, n_mtu: int | None) -> list[Issue | None]:
    from flexcoord.domain import market_time_units

    n_day = len(market_time_units(_DEMO_DAY))
    return [
        int_range("--bids", n_bids, 1, _MAX_BIDS),
        int_range("--seed", seed, 0, 2**32 - 1),
        int_range("--mtus", n_mtu, 1, n_day),
    ]


def _demo_kwargs(n_bids: int | None, seed: int | None, n_mtu: int | None) -> dict[str, Any]:
    """Keyword arguments of the seeded demo scenario / chain from the (checked) CLI options."""
    kwargs: dict[str, Any] = {"seed": seed or 0, "n_mtu": n_mtu}
    if n_bids is not None:
        kwargs["n_bids"] = n_bids
    return kwargs


class _SchemeProgress:
    """Two bars on stderr: the schemes, and the steps of the running one (the API's
    :class:`~flexcoord.progress.ProgressEvent`)."""

    def __init__(self, n_schemes: int) -> None:
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
        )
        self._bar = Progress(*columns, console=stderr(), transient=True)
        self._schemes = self._bar.add_task("schemes", total=n_schemes)
        self._steps = self._bar.add_task("", total=None)
        self._started = False

    def __enter__(self) -> _SchemeProgress:
        self._bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.__exit__(None, None, None)

    def scheme(self, scheme_id: str) -> Callable[[ProgressEvent], None]:
        """The progress callback of one scheme's run; advances the scheme bar when it starts."""
        if self._started:
            self._bar.advance(self._schemes)
        self._started = True
        self._bar.update(self._schemes, description=scheme_id)

        def step(event: ProgressEvent) -> None:
            self._bar.update(
                self._steps,
                description=f"  {event.message}",
                completed=event.step - 1,
                total=event.total,
            )

        return step


def _cluster(workers: int, scheduler: str | None) -> Any:
    """The Dask client the DSO markets are solved on (``--workers`` > 1: a local cluster,
    ``--scheduler``: an existing one), as a context manager; none (``None``) otherwise."""
    import contextlib

    if workers <= 1 and scheduler is None:
        return contextlib.nullcontext()
    from flexcoord.simulation.cluster import dask_client

    where = scheduler or f"{workers} local Dask worker(s)"
    stderr().print(f"DSO markets solved on {where}", markup=False)
    return dask_client(workers, scheduler)


def _run_all(
    scenario: CoordinationInput,
    configs: tuple[SchemeConfig, ...],
    ac_check: bool,
    cluster: tuple[int, str | None],
) -> list[SchemeOutcome]:
    """Every scheme on ``scenario``, each one's DSO markets on ``cluster`` (:func:`_cluster`)."""
    from flexcoord.coordination import JointModel, run_scheme

    with loading("building the joint problem (the yardstick of every scheme)"):
        joint = JointModel.of(scenario)
    with _cluster(*cluster) as client, _SchemeProgress(len(configs)) as bar:
        return [
            run_scheme(
                config,
                scenario,
                joint=joint,
                ac_check=ac_check,
                progress=bar.scheme(config.id),
                client=client,
            )
            for config in configs
        ]


def _chain_document(
    chain: Any,
    configs: tuple[SchemeConfig, ...],
    ac_check: bool,
    provenance: dict[str, Any],
    cluster: tuple[int, str | None],
) -> dict[str, Any]:
    """Every scheme over the seeded timeframe chain (``--timeframes``)."""
    from flexcoord.coordination import run_chain
    from flexcoord.simulation.report import chain_comparison_document

    with _cluster(*cluster) as client, _SchemeProgress(len(configs)) as bar:
        outcomes = [
            run_chain(
                config, chain, ac_check=ac_check, progress=bar.scheme(config.id), client=client
            )
            for config in configs
        ]
    return chain_comparison_document(chain, outcomes, provenance=provenance)


def _preset_rows() -> list[dict[str, Any]]:
    """One row per preset with **every** ``SchemeConfig`` field, in the dataclass's order (enums
    as their values, tuples as lists), then the registered market-model strategy it runs, so a
    preset can be checked against the seed without Python; a field added to ``SchemeConfig``
    shows here by itself."""
    import dataclasses

    from flexcoord.coordination import PRESETS, market_model_name

    return [
        {f.name: _field_value(getattr(p, f.name)) for f in dataclasses.fields(p)}
        | {"market_model_strategy": market_model_name(p)}
        for p in PRESETS
    ]


def _field_value(value: Any) -> Any:
    """A configuration value as JSON has it: an enum's value, a tuple as a list, a frozen value
    (the primacy rules) as an object of its fields."""
    import dataclasses
    import enum

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _field_value(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple | list | frozenset | set):
        items = [_field_value(v) for v in value]
        return sorted(items) if isinstance(value, frozenset | set) else items
    return value


_PRESET_COLUMNS = [
    Column("id", "id", keep=True),
    Column("market_model", "model"),
    Column("dso_grid_in_tso_market", "DSO grid in\nTSO market"),
    Column("tso_access_to_ders", "TSO\naccess"),
    Column("title", "title", wrap=True),
]


def coordinate(
    ctx: typer.Context,
    market_file: Annotated[
        Path | None,
        typer.Argument(
            help="Market file (.json, or a folder / .csv of CSV files). Without it: the seeded "
            "demo scenario on --grid.",
            show_default=False,
        ),
    ] = None,
    grid: Annotated[
        str | None, typer.Option("--grid", help="SimBench code, e.g. 1-MV-rural--0-sw (any case).")
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
    json_out: JsonOption = None,
    output_format: Annotated[
        OutputFormat,
        typer.Option("--format", help="stdout: tables, the comparison as CSV, or the document."),
    ] = OutputFormat.TABLE,
    n_bids: Annotated[
        int | None, typer.Option("--bids", help="Demo scenario: number of bids (default 1200).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Demo scenario: seed (default 0).")] = None,
    n_mtu: Annotated[
        int | None,
        typer.Option("--mtus", help="Demo scenario: only the first N MTUs of the day (1-96)."),
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
    tables: Annotated[
        Path | None,
        typer.Option(
            "--tables",
            help="Write the KPIs, awards, dispatch, coverage and conflicts as CSV and Parquet "
            "files into this folder.",
        ),
    ] = None,
    timeframes: Annotated[
        bool,
        typer.Option(
            "--timeframes",
            help="Demo scenario as a chain of sub-markets (long-term → day-ahead → intraday → "
            "near-real-time) run with each scheme's timeframes and availability obligation.",
        ),
    ] = False,
    dso_per_area: Annotated[
        bool,
        typer.Option(
            "--dso-per-area",
            help="Demo scenario: each DSO area run by its own DSO (one DSO market per area).",
        ),
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            help="Solve each scheme's DSO markets on a local Dask cluster of this many processes "
            "(1-64; 1: in this process).",
        ),
    ] = 1,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            help="Solve each scheme's DSO markets on this Dask scheduler (tcp://host:8786).",
        ),
    ] = None,
) -> None:
    """Run a scenario under a coordination scheme (--preset) or compare every scheme (--all)."""
    out = OutputFile.parse("--json", json_out)
    folder = OutputFolder.parse("--tables", tables)
    stdout_format = format_output(output_format)
    if list_presets:
        check(
            [
                exclusive(
                    {
                        "--list-presets": True,
                        "MARKET_FILE": None if market_file is None else str(market_file),
                        "--grid": grid,
                        "--preset": preset_id,
                        "--all": all_schemes,
                        "--bids": n_bids,
                        "--seed": seed,
                        "--mtus": n_mtu,
                        "--profile-start-step": profile_start_step,
                        "--timeframes": timeframes,
                        "--dso-per-area": dso_per_area,
                        "--workers": workers if workers > 1 else None,
                        "--scheduler": scheduler,
                        "--tables": tables,
                    },
                    because="--list-presets only lists the presets",
                ),
                *output_issues([out, stdout_format]),
            ]
        )
        rows = _preset_rows()
        emit(
            rows,
            rows,
            out,
            output_format,
            lambda console: print_table(
                console, rows, _PRESET_COLUMNS, title="coordination presets"
            ),
        )
        return
    configs, scheme_issues = _schemes(preset_id, all_schemes)
    demo = market_file is None
    canonical, grid_issue = resolve_grid("--grid", grid, needs_profiles=demo)
    issues: list[Issue | None] = [
        grid_issue,
        *scheme_issues,
        *output_issues([out, folder, stdout_format]),
    ]
    issues.append(int_range("--workers", workers, 1, 64))
    if demo:
        issues += _demo_issues(n_bids, seed, n_mtu)
        if profile_start_step is not None:
            issues.append(
                option_issue("--profile-start-step", profile_start_step, "needs a market file")
            )
    else:
        for option, value in (
            ("--bids", n_bids),
            ("--seed", seed),
            ("--mtus", n_mtu),
            ("--timeframes", timeframes or None),
            ("--dso-per-area", dso_per_area or None),
        ):
            if value is not None:
                issues.append(
                    option_issue(
                        option,
                        value,
                        "applies to the seeded demo scenario only, not to a market file",
                    )
                )
        issues.append(int_range("--profile-start-step", profile_start_step, 0))
    check(issues)

    if timeframes:
        from flexcoord.simulation.scenario import build_timeframe_chain

        with loading(f"building the seeded timeframe chain on {canonical}"):
            kwargs = _demo_kwargs(n_bids, seed, n_mtu) | {"dso_per_area": dso_per_area}
            chain = build_timeframe_chain(canonical, **kwargs)
        chain_doc = _chain_document(
            chain, configs, ac_check, _provenance(ctx, canonical, None), (workers, scheduler)
        )
        if folder is not None:
            _write_tables(chain_doc, folder)
        emit(
            chain_doc,
            chain_doc["comparison"],
            out,
            output_format,
            lambda console: print_table(
                console,
                chain_doc["comparison"],
                CHAIN_COLUMNS,
                title=f"timeframe chain: {chain_doc['chain']['name']} (MW summed over MTUs, €)",
            ),
        )
        return

    scenario = _scenario(
        market_file, canonical, n_bids, seed, n_mtu, profile_start_step, dso_per_area
    )
    from flexcoord.simulation.report import comparison_document

    outcomes = _run_all(scenario, configs, ac_check, (workers, scheduler))
    doc = comparison_document(
        outcomes, scenario=scenario, provenance=_provenance(ctx, canonical, market_file)
    )
    if folder is not None:
        _write_tables(doc, folder)
    emit(doc, doc["comparison"], out, output_format, lambda console: print_tables(console, doc))


def _provenance(ctx: typer.Context, grid_code: str, market_file: Path | None) -> dict[str, Any]:
    from flexcoord.provenance import provenance

    return provenance(grid_code=grid_code, input_path=market_file, command=command_line(ctx))


def _write_tables(doc: dict[str, Any], folder: OutputFolder) -> None:
    from flexcoord.simulation.tables import coordination_tables, write_tables

    paths = write_tables(coordination_tables(doc), folder.path)
    stderr().print(f"tables written to {folder.path}: {', '.join(p.name for p in paths)}")


def _scenario(
    market_file: Path | None,
    grid_code: str,
    n_bids: int | None,
    seed: int | None,
    n_mtu: int | None,
    profile_start_step: int | None,
    dso_per_area: bool = False,
) -> CoordinationInput:
    from flexcoord.grid.model import load_grid

    if market_file is None:
        from flexcoord.simulation.scenario import build_coordination_scenario

        kwargs = _demo_kwargs(n_bids, seed, n_mtu) | {"dso_per_area": dso_per_area}
        with loading(f"building the seeded scenario on {grid_code}"):
            return build_coordination_scenario(grid_code, **kwargs)
    from flexcoord.schemas import load_market_file

    market = load_market_file(market_file)
    step = profile_start_step if profile_start_step is not None else market.profile_start_step
    if step is not None:
        _, profiles_issue = resolve_grid("--grid", grid_code, needs_profiles=True)
        check([profiles_issue])
    with loading(f"loading grid {grid_code}"):
        grid = load_grid(grid_code)
    return market_file_input(
        market, grid, source=str(market_file), profile_start_step=profile_start_step
    )
