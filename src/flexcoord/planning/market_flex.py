"""Market-procured flexibility for one congested branch and year: the simulator's market days
under a coordination preset on the planning year's grid (``docs/planning.md``, way 2).

:func:`market_flexibility` runs the study simulator (:mod:`flexcoord.simulation`: device bids,
the preset's timeframe chain and clearing, activation, delivery, verification, settlement, the
realised AC power flow; one engine with ``flexcoord simulate`` and the service) on the days
the branch is violated, with:

- the year's network on its growth path as the grid (its portfolio: every unit SimBench and the
  growth path put there; no units added);
- one DSO congestion, the branch at its **own thermal limit** (no congestion by design), to be
  relieved on the side it feeds (more injection there for a demand-driven overload, less for an
  export-driven one);
- no TSO balancing need and no voltage needs, so what is bought is bought for this branch;
- a perfect forecast (a planning comparison of remedies, not of forecasts).

The year's cost is what the DSO paid the FSPs (activation and availability payments of the
settlement); whether the market removes the violation is judged on the realised power flow.
FSPs deliver what they are ordered (no failures, no noise: a comparison of remedies).
Only branch overloads are priced this way (voltage problems have no single branch to relieve).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Final

import numpy as np
import pandas as pd

from flexcoord.domain import Direction
from flexcoord.errors import InvalidInputError, Issue
from flexcoord.grid.areas import dead_end_side
from flexcoord.grid.model import GridModel
from flexcoord.planning.local_flex import export_driven
from flexcoord.schemas.study import StudyFile
from flexcoord.simulation.day_run import run_day, run_no_flexibility
from flexcoord.simulation.scenario import DsoCongestion
from flexcoord.simulation.study import day_market, plan_on_grid

__all__ = ["MarketFlexOutcome", "market_days", "market_flexibility"]

_DAY: Final = 96
_STEP_H: Final = 0.25
#: The residual overload, as a share of the branch's limit in every MTU, up to which the market
#: counts as removing it (1 % of the rating: below what a thermal rating's accuracy resolves).
_TOLERANCE_SHARE: Final = 0.01
_MARKET_YEAR: Final = 2026
_ROUNDS: Final = 2


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketFlexOutcome:
    """One branch-year of market-procured flexibility (module docstring).

    Attributes:
        paid_eur: what the DSO paid FSPs (activation + availability), the year's cost.
        bid_cost_eur: the delivered energy at the bids' prices (the FSPs' cost).
        overload_before_mwh / overload_after_mwh: the branch's realised overload on those days
            without any market, and after the preset's dispatch was delivered.
        limit_mw: the branch's own thermal limit (MW, as the market sees it).
        removes_violation / worst_residual_mw: whether no MTU stays more than 1 % of the
            branch's limit above it, and the largest residual MW of any MTU.
        rounds / tightening_mw: the markets' linear grid model misses part of the AC flow
            (reactive power, losses), so when a residual overload remains the days are run
            again with the market's limit tightened by the worst residual (offset
            correction, as the clearing's AC loop does), up to two rounds; the last
            round's costs count.
    """

    asset: str
    preset: str
    days: int
    paid_eur: float
    bid_cost_eur: float
    overload_before_mwh: float
    overload_after_mwh: float
    limit_mw: float
    removes_violation: bool
    worst_residual_mw: float
    rounds: int
    tightening_mw: float
    wall_s: float


def market_days(violation_steps: np.ndarray[Any, np.dtype[np.int64]]) -> tuple[date, ...]:
    """The market days (of 2026, the simulator's calendar) whose SimBench profile days hold
    ``violation_steps`` (rows of the 2016 profile year; 29 February stands on the 28th).

    Example:
        >>> market_days(np.array([0, 95, 96 * 59 + 3]))
        (datetime.date(2026, 1, 1), datetime.date(2026, 2, 28))
    """
    out: list[date] = []
    for k in np.unique(np.asarray(violation_steps, dtype=np.int64) // _DAY).tolist():
        day = date(2016, 1, 1) + timedelta(days=int(k))
        moved = (
            date(_MARKET_YEAR, 2, 28)
            if (day.month, day.day) == (2, 29)
            else date(_MARKET_YEAR, day.month, day.day)
        )
        if moved not in out:
            out.append(moved)
    return tuple(out)


def _congestion(grid: GridModel, asset: str, export: bool) -> DsoCongestion:
    table, _, number = asset.partition(":")
    area = grid.asset_areas().get(asset)
    side = (
        dead_end_side(grid.net, int(number), grid.areas.dso_area(area))
        if table == "line" and area not in (None, "tso")
        else None
    )
    if side is None:
        raise InvalidInputError(
            [
                Issue(
                    kind="Asset",
                    object_id=asset,
                    field="asset",
                    value=asset,
                    message="is not a radial DSO line: the market cannot be told which side "
                    "relieves it",
                )
            ]
        )
    limits = grid.branch_limits()
    limit = float(limits.limit_mw[limits.branch_names.index(asset)])
    return DsoCongestion(
        branch=asset,
        limit_mw=round(limit, 4),
        buses=side[0],
        direction=Direction.DOWN if export else Direction.UP,
    )


def _above_limit_mw(
    violations: pd.DataFrame, asset: str, tightening: float
) -> np.ndarray[Any, np.dtype[np.float64]]:
    """MW above the branch's own limit per violating MTU, from a day's violations above the
    market's limit (its own less ``tightening``)."""
    mine = violations[(violations["element"] == asset) & (violations["kind"] == "branch-flow")]
    return np.maximum(mine["value"].to_numpy(dtype=float) - tightening, 0.0)


def market_flexibility(
    net: Any,
    asset: str,
    *,
    preset: str,
    violation_steps: np.ndarray[Any, np.dtype[np.int64]],
    seed: int = 0,
) -> MarketFlexOutcome:
    """The preset's markets on ``asset``'s violating days of ``net``'s year (module
    docstring).

    Raises:
        InvalidInputError: ``asset`` is not a radial DSO line, or ``preset`` is unknown.
    """
    t0 = time.perf_counter()
    grid = GridModel(net, code=str(net.name))
    congestion = _congestion(grid, asset, export_driven(net, asset, "overload", violation_steps))
    study = StudyFile.model_validate(
        {
            "name": f"market flexibility {asset} {net.name}",
            "grid": str(net.name),
            "schemes": [preset],
            "seed": seed,
            "growth": {"batteries": 0, "ev_chargers": 0, "heat_pumps": 0},
            "forecast_error": {"pv": 0, "wind": 0, "load": 0, "ev": 0, "heat_pump": 0},
            "needs": {"tso_balancing_mw": 0, "dso_voltage": False},
            "fsp": {"delivery_noise": 0, "failure_rate": 0},
        }
    )
    days = market_days(violation_steps)
    before = tightening = 0.0
    for rounds in range(1, _ROUNDS + 1):
        limited = dataclasses.replace(congestion, limit_mw=congestion.limit_mw - tightening)
        plan = plan_on_grid(study, grid, days=days, congestion=(limited,), source=preset)
        config = plan.presets[0]
        paid = bid_cost = after = worst = 0.0
        for index in range(len(days)):
            market = day_market(plan, index)
            outcome = run_day(plan, market, config)
            paid += float(outcome.kpis["activation_paid_eur"]) + float(
                outcome.kpis["availability_cost_eur"]
            )
            bid_cost += float(outcome.kpis["bid_cost_eur"])
            above = _above_limit_mw(outcome.violations, asset, tightening)
            after += float(above.sum()) * _STEP_H
            worst = max(worst, float(above.max(initial=0.0)))
            if rounds == 1:  # the days without any market, at the branch's own limit
                nothing = run_no_flexibility(plan, market).violations
                before += float(_above_limit_mw(nothing, asset, 0.0).sum()) * _STEP_H
        if worst <= _TOLERANCE_SHARE * congestion.limit_mw:
            break
        tightening += worst  # offset correction: the market's limit by the worst AC residual
    return MarketFlexOutcome(
        asset=asset,
        preset=config.id,
        days=len(days),
        paid_eur=paid,
        bid_cost_eur=bid_cost,
        overload_before_mwh=before,
        overload_after_mwh=after,
        limit_mw=congestion.limit_mw,
        removes_violation=worst <= _TOLERANCE_SHARE * congestion.limit_mw,
        worst_residual_mw=worst,
        rounds=rounds,
        tightening_mw=tightening,
        wall_s=time.perf_counter() - t0,
    )
