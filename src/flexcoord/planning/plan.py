"""A planning study: flexibility against reinforcement per congested asset over a growth path
(``docs/planning.md``; seed paper §7.22, TDFlex).

:func:`run_plan` takes a :class:`~flexcoord.schemas.plan.PlanFile` and, for every planned year
from the horizon back to the start (so each asset is first met in its last violating year):

1. builds the year's network on the growth path
   (:func:`~flexcoord.grid.growth_path.network_on_path`) and runs its whole year of 15-minute
   AC power flows (:func:`~flexcoord.grid.timeseries.assess`);
2. names the congested assets: every overloaded line or transformer; for voltage, each
   connected group of buses violating in the same direction is one problem named after its
   worst bus (reinforcing or relieving that bus, at the end of its feeder, is what a planner
   sizes; the ``violations`` table lists every bus with the problem it belongs to);
3. prices rule-based local flexibility for each congested asset in that year
   (:func:`~flexcoord.planning.local_flex.local_flexibility`: the mildest rules that remove the
   violation, only relieving DERs, verified by power flow), under every price scenario;
4. in the asset's last violating year, sizes the reinforcement that removes its violation
   (:func:`~flexcoord.grid.reinforcement.reinforce`, verified by the re-run year) and its yearly
   cost: annuity at the WACC over the lifetime plus OPEX (:mod:`flexcoord.planning.costs`).

**Decision**, per asset and price scenario: flexibility defers the reinforcement while it
removes the violation at a yearly cost at most the reinforcement's; the **crossover year** is
the first violating year where it no longer does (``"none in horizon"`` when it always does).
The **net present value of deferral** is, in the start year, the sum over the deferred calendar
years of (the reinforcement's yearly cost − the flexibility's), discounted at the WACC; a
planned year stands for the calendar years until the next one (``step_years``).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from flexcoord.domain import Technology
from flexcoord.errors import InvalidInputError, Issue
from flexcoord.grid.areas import connected_groups
from flexcoord.grid.growth_path import GrowthPath, network_on_path
from flexcoord.grid.loading import resolve_grid_code
from flexcoord.grid.reinforcement import Reinforcement, reinforce, reinforcement_table
from flexcoord.grid.timeseries import GridAssessment, assess
from flexcoord.planning.costs import annual_cost_eur, present_value_eur
from flexcoord.planning.local_flex import USES, LocalFlexOutcome, local_flexibility, use_rates
from flexcoord.planning.market_flex import MarketFlexOutcome, market_flexibility
from flexcoord.schemas.plan import PlanFile

__all__ = [
    "NONE_IN_HORIZON",
    "CongestedAsset",
    "PlanProgress",
    "PlanResult",
    "decide",
    "market_scenario",
    "plan_growth_path",
    "plan_issues",
    "reinforcement_eur_per_year",
    "run_plan",
]

#: The crossover of an asset whose flexibility stays cheaper until the horizon.
NONE_IN_HORIZON: Final = "none in horizon"
#: ``progress(stage, done, total)``: ``stage`` is ``"year 2040"`` or ``"report"``.
PlanProgress = Callable[[str, int, int], None]

_STEP: Final = pd.Timedelta(minutes=15)


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanResult:
    """What :func:`run_plan` computed and wrote.

    Attributes:
        folder: where the tables, ``plan.json`` and ``report.html`` are.
        tables: every table by name (``docs/planning.md`` lists their columns).
        report: the HTML report's path (``None`` when not written).
        wall_s: the run's wall time. year_s: per planned year, its seconds.
    """

    folder: Path
    tables: Mapping[str, pd.DataFrame]
    report: Path | None
    wall_s: float
    year_s: Mapping[int, float] = field(default_factory=dict)


@dataclass(slots=True)
class CongestedAsset:
    """One congested asset across the planned years (:func:`run_plan` fills it from the
    horizon back): its violating steps and local flexibility per violating year, and its
    reinforcement, sized in ``sized_in`` (its last violating year). ``members``: the assets of
    its problem (a voltage problem's buses)."""

    asset: str
    kind: str
    members: frozenset[str]
    steps: dict[int, int] = field(default_factory=dict)
    flex: dict[int, LocalFlexOutcome] = field(default_factory=dict)
    market: dict[int, MarketFlexOutcome] = field(default_factory=dict)
    reinforcement: Reinforcement | None = None
    sized_in: int | None = None


def plan_growth_path(plan: PlanFile) -> GrowthPath:
    """The plan's growth path (grid, per-technology factors, explicit heat pumps and EVs)."""
    return GrowthPath(
        code=plan.grid,
        factors={Technology(t): dict(points) for t, points in plan.growth.items()},
        heat_pump_mw=dict(plan.additions.heat_pump_mw),
        ev_mw=dict(plan.additions.ev_mw),
    )


def plan_issues(plan: PlanFile, *, source: str = "plan file") -> list[Issue]:
    """What stops ``plan`` from running, found before any power flow: its growth path's
    issues (the grid code, the growth and additions) and the market's preset and years."""
    out = plan_growth_path(plan).issues(plan.years(), source=source)
    if plan.market is not None:
        from flexcoord.coordination.presets import PRESETS  # noqa: PLC0415 - on use

        known = [c.id for c in PRESETS]
        if plan.market.preset not in known:
            out.append(
                Issue(
                    kind="",
                    object_id="",
                    field="market.preset",
                    value=plan.market.preset,
                    message=f"is not a preset (known: {', '.join(known)})",
                    source=source,
                )
            )
        out += [
            Issue(
                kind="",
                object_id="",
                field=f"market.years[{k}]",
                value=y,
                message="is not a planned year",
                source=source,
            )
            for k, y in enumerate(plan.market.years)
            if y not in plan.years()
        ]
        if plan.market.assets and not out:  # a line of the grid (the same lines every year)
            from flexcoord.grid.loading import load_network  # noqa: PLC0415 - only to name them

            lines = load_network(resolve_grid_code(plan.grid).code).line.index
            out += [
                Issue(
                    kind="",
                    object_id="",
                    field=f"market.assets[{k}]",
                    value=a,
                    message=f"is not a line of {plan.grid} (line:0 .. line:{lines.max()})",
                    source=source,
                )
                for k, a in enumerate(plan.market.assets)
                if not (a.startswith("line:") and a[5:].isdigit() and int(a[5:]) in lines)
            ]
    return out


def _rows(assessment: GridAssessment, times: pd.Series) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Profile rows (steps from the year's first) of violation times."""
    offset = (pd.DatetimeIndex(times) - assessment.start_time) // _STEP
    return np.asarray(offset, dtype=np.int64)


def _problems_of_year(
    net: Any, assessment: GridAssessment, known: dict[tuple[str, str], CongestedAsset]
) -> tuple[dict[tuple[str, str], np.ndarray[Any, np.dtype[np.int64]]], dict[str, str]]:
    """This year's violating steps per problem (known problems first, new ones added to
    ``known``), and which problem each violating asset belongs to."""
    summary = assessment.summary
    violations = assessment.violations
    v_asset = violations["asset"].astype(str).to_numpy()
    v_kind = violations["kind"].astype(str).to_numpy()
    steps: dict[tuple[str, str], np.ndarray[Any, np.dtype[np.int64]]] = {}
    belongs: dict[str, str] = {}
    for kind in ("overload", "overvoltage", "undervoltage"):
        rows = summary[summary["kind"] == kind]
        if not len(rows):
            continue
        assets = rows["asset"].astype(str).tolist()
        if kind == "overload":
            groups = [frozenset([a]) for a in assets]
        else:
            buses = [int(a.partition(":")[2]) for a in assets]
            groups = [frozenset(f"bus:{b}" for b in g) for g in connected_groups(net, buses)]
        worst = dict(zip(assets, rows["worst_value"].to_numpy(dtype=float), strict=True))
        for group in groups:
            match = next(
                (p for (k, _), p in known.items() if k == kind and p.members & group), None
            )
            if match is None:
                pick = min if kind == "undervoltage" else max
                name = pick(sorted(group), key=lambda a: worst[a])
                match = known.setdefault((kind, name), CongestedAsset(name, kind, group))
            else:
                match.members = match.members | group
            for a in group:
                belongs[a] = match.asset
            own = (v_asset == match.asset) & (v_kind == kind)
            if own.any():
                steps[(kind, match.asset)] = _rows(assessment, violations["time"][own])
    return steps, belongs


def _peaks(year: int, assessment: GridAssessment) -> pd.DataFrame:
    """Every branch's peak loading and every bus's voltage extremes of the year."""
    assert assessment.loading_percent is not None and assessment.vm_pu is not None
    loading = assessment.loading_percent.max()
    vm = assessment.vm_pu
    branches = pd.DataFrame(
        {"asset": loading.index.astype(str), "quantity": "loading_percent", "peak": loading.values}
    )
    highs = pd.DataFrame(
        {
            "asset": [f"bus:{b}" for b in vm.columns],
            "quantity": "vm_max_pu",
            "peak": vm.max().values,
        }
    )
    lows = pd.DataFrame(
        {
            "asset": [f"bus:{b}" for b in vm.columns],
            "quantity": "vm_min_pu",
            "peak": vm.min().values,
        }
    )
    out = pd.concat([branches, highs, lows], ignore_index=True)
    out.insert(0, "year", year)
    return out


def _violation_rows(
    year: int, assessment: GridAssessment, belongs: Mapping[str, str]
) -> pd.DataFrame:
    summary = assessment.summary.copy()
    summary.insert(0, "year", year)
    summary["asset"] = summary["asset"].astype(str)
    summary["kind"] = summary["kind"].astype(str)
    summary["problem"] = summary["asset"].map(belongs).fillna(summary["asset"])
    return summary


def _year(  # noqa: PLR0913 - private: one year's inputs, by keyword
    plan: PlanFile,
    path: GrowthPath,
    year: int,
    known: dict[tuple[str, str], CongestedAsset],
    peaks: list[pd.DataFrame],
    violations: list[pd.DataFrame],
) -> None:
    net = network_on_path(path, year)
    assessment = assess(net, keep_results=True)
    steps, belongs = _problems_of_year(net, assessment, known)
    peaks.append(_peaks(year, assessment))
    violations.append(_violation_rows(year, assessment, belongs))
    for (kind, asset), rows in steps.items():
        problem = known[(kind, asset)]
        problem.steps[year] = len(rows)
        problem.flex[year] = local_flexibility(
            net, asset, kind, rules=plan.flexibility, violation_steps=rows
        )
        if _priced_by_market(plan, problem, year):
            assert plan.market is not None
            problem.market[year] = market_flexibility(
                net,
                asset,
                preset=plan.market.preset,
                violation_steps=rows,
                seed=plan.market.seed,
            )
        if problem.reinforcement is None:  # first met going back: its last violating year
            problem.reinforcement = reinforce(net, asset, kind, costs=plan.costs)
            problem.sized_in = year


def _priced_by_market(plan: PlanFile, problem: CongestedAsset, year: int) -> bool:
    m = plan.market
    return (
        m is not None
        and problem.kind == "overload"
        and problem.asset.startswith("line:")
        and (not m.years or year in m.years)
        and (not m.assets or problem.asset in m.assets)
    )


def market_scenario(preset: str) -> str:
    """The scenario name of market-procured flexibility under ``preset``."""
    return f"market {preset}"


def reinforcement_eur_per_year(plan: PlanFile, r: Reinforcement | None) -> float:
    """A verified measure's yearly cost (annuity + OPEX); NaN for none or an unverified one."""
    if r is None or not r.verified:
        return math.nan
    c = plan.costs
    return annual_cost_eur(
        r.capex_eur, wacc=c.wacc, lifetime_years=r.lifetime_years, opex_share=c.opex_share_per_year
    )


def _calendar(plan: PlanFile, year: int) -> range:
    """The calendar years a planned year stands for (until the next planned year)."""
    years = plan.years()
    later = [y for y in years if y > year]
    return range(year, later[0] if later else plan.horizon + 1)


def decide(plan: PlanFile, assets: Sequence[CongestedAsset]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The decision per asset, price scenario and planned year (``decisions``: ``defer``,
    ``reinforce`` in the crossover year, ``reinforced`` after it, ``no violation`` before the
    first; ``unresolved`` where no verified reinforcement exists and flexibility does not
    suffice) and, per asset and scenario, the crossover and the NPV of deferral (``crossover``);
    see the module docstring."""
    decisions: list[dict[str, Any]] = []
    crossovers: list[dict[str, Any]] = []
    for a in assets:
        annual = reinforcement_eur_per_year(plan, a.reinforcement)
        violating = sorted(a.steps)
        scenarios: list[tuple[str, dict[int, float]]] = [
            (
                prices.name,
                {
                    y: a.flex[y].cost_eur(prices) if a.flex[y].removes_violation else math.nan
                    for y in violating
                },
            )
            for prices in plan.prices
        ]
        if a.market and plan.market is not None:
            scenarios.append(
                (
                    market_scenario(plan.market.preset),
                    {
                        y: o.paid_eur if o.removes_violation else math.nan
                        for y, o in a.market.items()
                    },
                )
            )
        for scenario, cost in scenarios:
            priced = [y for y in violating if y in cost]
            verified = math.isfinite(annual)
            crossover = (
                next((y for y in priced if not cost[y] <= annual), None) if verified else None
            )
            decision = "no violation"
            for y in plan.years():
                if decision in ("reinforce", "reinforced"):
                    decision = "reinforced"
                elif y == crossover:
                    decision = "reinforce"
                elif y in cost:
                    decision = "defer" if math.isfinite(cost[y]) else "unresolved"
                elif y in a.steps:
                    decision = "not priced"
                decisions.append(
                    {
                        "asset": a.asset,
                        "kind": a.kind,
                        "scenario": scenario,
                        "year": y,
                        "violating_steps": a.steps.get(y, 0),
                        "flexibility_eur_per_year": cost.get(y, math.nan if y in a.steps else 0.0),
                        "reinforcement_eur_per_year": annual,
                        "decision": decision,
                    }
                )
            deferred = {
                c: annual - cost[y]
                for y in priced
                for c in _calendar(plan, y)
                if verified and (crossover is None or c < crossover)
            }
            r = a.reinforcement
            label = (
                "reinforcement not verified"
                if not verified
                else (NONE_IN_HORIZON if crossover is None else str(crossover))
            )
            crossovers.append(
                {
                    "asset": a.asset,
                    "kind": a.kind,
                    "scenario": scenario,
                    "first_violation_year": violating[0],
                    "crossover_year": crossover,
                    "crossover": label,
                    "deferred_years": len(deferred),
                    "npv_of_deferral_eur": present_value_eur(
                        deferred, base_year=plan.start_year, wacc=plan.costs.wacc
                    )
                    if verified
                    else math.nan,
                    "reinforcement_capex_eur": r.capex_eur if r else math.nan,
                    "reinforcement_eur_per_year": annual,
                    "measure": r.description if r else "",
                    "flexibility_eur_per_year_at_horizon": cost.get(plan.horizon, math.nan),
                }
            )
    frame = pd.DataFrame(crossovers)
    if len(frame):
        frame["crossover_year"] = frame["crossover_year"].astype("Int64")
    return pd.DataFrame(decisions), frame


def _flex_tables(
    plan: PlanFile, problems: list[CongestedAsset]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    flex: list[dict[str, Any]] = []
    payments: list[pd.DataFrame] = []
    for p in problems:
        for year, o in sorted(p.flex.items()):
            for prices in plan.prices:
                flex.append(
                    {
                        "asset": p.asset,
                        "kind": p.kind,
                        "year": year,
                        "scenario": prices.name,
                        "strength": o.strength,
                        "removes_violation": o.removes_violation,
                        "steps_before": o.steps_before,
                        "steps_after": o.steps_after,
                        "days": o.days,
                        **{f"{u}_mwh": o.energy_mwh.get(u, 0.0) for u in USES},
                        "cost_eur": o.cost_eur(prices),
                    }
                )
                if len(o.payments):
                    paid = o.payments.assign(asset=p.asset, year=year, scenario=prices.name)
                    paid["eur"] = paid["mwh"] * paid["use"].map(use_rates(prices))
                    payments.append(paid)
    columns = ["asset", "year", "scenario", "table", "element", "use", "mwh", "eur"]
    pay = (
        pd.concat(payments, ignore_index=True)[columns]
        if payments
        else pd.DataFrame(columns=columns)
    )
    return pd.DataFrame(flex), pay


def _market_table(problems: Sequence[CongestedAsset]) -> pd.DataFrame:
    columns = [
        "asset",
        "year",
        "preset",
        "days",
        "paid_eur",
        "bid_cost_eur",
        "overload_before_mwh",
        "overload_after_mwh",
        "limit_mw",
        "removes_violation",
        "worst_residual_mw",
        "rounds",
        "tightening_mw",
        "wall_s",
    ]
    rows = [
        {c: getattr(o, c) for c in columns if c != "year"} | {"year": y}
        for p in problems
        for y, o in sorted(p.market.items())
    ]
    return pd.DataFrame(rows, columns=columns)


def _manifest(plan: PlanFile, source: str, result: dict[str, Any]) -> dict[str, Any]:
    return {
        "plan": plan.model_dump(mode="json"),
        "source": source,
        "years": list(plan.years()),
        **result,
    }


def run_plan(
    plan: PlanFile,
    *,
    source: str = "plan file",
    folder: Path | None = None,
    progress: PlanProgress | None = None,
    report: bool = True,
) -> PlanResult:
    """Run ``plan`` (module docstring) and write its tables (CSV and Parquet), ``plan.json``
    and, with ``report``, ``report.html`` into ``folder`` (default ``outputs.folder``).

    Raises:
        InvalidInputError: the plan's growth path cannot be built (its issues name the plan
            file's keys), before any power flow runs.
    """
    from flexcoord.simulation.tables import write_tables  # noqa: PLC0415 - the writer, on use

    start = time.perf_counter()
    path = plan_growth_path(plan)
    issues = plan_issues(plan, source=source)
    if issues:
        raise InvalidInputError(issues)
    folder = Path(folder if folder is not None else plan.outputs.folder)
    known: dict[tuple[str, str], CongestedAsset] = {}
    peaks: list[pd.DataFrame] = []
    violations: list[pd.DataFrame] = []
    year_s: dict[int, float] = {}
    years = plan.years()
    for done, year in enumerate(reversed(years)):
        if progress is not None:
            progress(f"year {year}", done, len(years))
        t0 = time.perf_counter()
        _year(plan, path, year, known, peaks, violations)
        year_s[year] = time.perf_counter() - t0
    problems = sorted(known.values(), key=lambda p: (p.kind, p.asset))
    decisions, crossover = decide(plan, problems)
    flexibility, payments = _flex_tables(plan, problems)
    measures = [p.reinforcement for p in problems if p.reinforcement is not None]
    reinforcement = reinforcement_table(measures)
    if len(reinforcement):
        reinforcement.insert(
            1, "sized_in_year", [p.sized_in for p in problems if p.reinforcement is not None]
        )
        reinforcement["eur_per_year"] = [reinforcement_eur_per_year(plan, r) for r in measures]
    tables = {
        "crossover": crossover,
        "decisions": decisions,
        "flexibility": flexibility,
        "payments": payments,
        "market": _market_table(problems),
        "reinforcement": reinforcement,
        "peaks": pd.concat(peaks, ignore_index=True).sort_values(["year", "asset", "quantity"]),
        "violations": pd.concat(violations, ignore_index=True).sort_values(
            ["year", "kind", "asset"]
        ),
    }
    tables = {k: v.reset_index(drop=True) for k, v in tables.items()}
    folder.mkdir(parents=True, exist_ok=True)
    write_tables(tables, folder, plan.outputs.formats)
    page: Path | None = None
    if report:
        from flexcoord.planning.report import write_plan_report  # noqa: PLC0415 - plotly, on use

        if progress is not None:
            progress("report", len(years), len(years))
        page = write_plan_report(folder / "report.html", plan, tables)
    wall = time.perf_counter() - start
    (folder / "plan.json").write_text(
        json.dumps(
            _manifest(plan, source, {"wall_s": round(wall, 1), "year_s": year_s}),
            indent=2,
            sort_keys=True,
        )
        + "\n",
        "utf-8",
    )
    return PlanResult(folder=folder, tables=tables, report=page, wall_s=wall, year_s=year_s)
