"""The decision per asset: defer while flexibility removes the violation for at most the
reinforcement's yearly cost; the crossover year; the NPV of deferral; price scenarios."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from flexcoord.grid.reinforcement import Reinforcement
from flexcoord.planning import NONE_IN_HORIZON, CongestedAsset, LocalFlexOutcome, decide
from flexcoord.planning.costs import annual_cost_eur
from flexcoord.planning.market_flex import MarketFlexOutcome
from flexcoord.schemas.plan import PlanFile

CAPEX = 100_000.0
ANNUAL = annual_cost_eur(CAPEX, wacc=0.05, lifetime_years=40, opex_share=0.01)  # 6,827.82


def _plan(**extra: object) -> PlanFile:
    return PlanFile.model_validate(
        {
            "name": "p",
            "grid": "1-MV-rural--0-sw",
            "start_year": 2030,
            "horizon": 2034,
            "prices": [
                {"name": "base", "feed_in_eur_per_mwh": 100.0},
                {"name": "cheap", "feed_in_eur_per_mwh": 10.0},
            ],
            **extra,
        }
    )


def _flex(mwh: float, *, removes: bool = True) -> LocalFlexOutcome:
    return LocalFlexOutcome(
        asset="line:1",
        kind="overload",
        strength=0.5,
        removes_violation=removes,
        steps_before=10,
        steps_after=0 if removes else 3,
        days=2,
        energy_mwh={"pv_curtailed": mwh},
        payments=pd.DataFrame(columns=["table", "element", "use", "mwh"]),
    )


def _asset(curtailed: dict[int, float], *, verified: bool = True) -> CongestedAsset:
    asset = CongestedAsset("line:1", "overload", frozenset({"line:1"}))
    for year, mwh in curtailed.items():
        asset.steps[year] = 10
        asset.flex[year] = _flex(mwh, removes=not math.isnan(mwh))
    asset.reinforcement = Reinforcement(
        asset="line:1",
        kind="overload",
        measure="replace_type",
        branches=(("line", 1, "NA2XS2Y 1x240 RM/25 12/20 kV", 1),),
        length_km=1.25,
        capex_eur=CAPEX,
        verified=verified,
        steps_before=10,
        steps_after=0 if verified else 4,
        description="…",
        lifetime_years=40,
    )
    return asset


def _row(frame: pd.DataFrame, scenario: str) -> pd.Series:
    return frame[frame["scenario"] == scenario].iloc[0]


def test_flexibility_defers_until_it_costs_more_than_the_annuity() -> None:
    # base 100 €/MWh: 1,000 €, 5,000 €, 8,000 € (> 6,828: crossover), 9,000 €
    decisions, crossover = decide(_plan(), [_asset({2031: 10, 2032: 50, 2033: 80, 2034: 90})])
    base = _row(crossover, "base")
    assert (base["first_violation_year"], base["crossover_year"], base["crossover"]) == (
        2031,
        2033,
        "2033",
    )
    expected = (ANNUAL - 1_000) / 1.05 + (ANNUAL - 5_000) / 1.05**2  # in 2030 €
    assert base["npv_of_deferral_eur"] == pytest.approx(expected)
    assert base["deferred_years"] == 2
    mine = decisions[decisions["scenario"] == "base"]
    assert mine["decision"].tolist() == [
        "no violation",
        "defer",
        "defer",
        "reinforce",
        "reinforced",
    ]
    assert mine["flexibility_eur_per_year"].tolist()[:3] == pytest.approx([0.0, 1_000, 5_000])
    cheap = _row(crossover, "cheap")  # 10 €/MWh: 900 € at most, always cheaper
    assert (cheap["crossover"], pd.isna(cheap["crossover_year"])) == (NONE_IN_HORIZON, True)
    assert cheap["deferred_years"] == 4


def test_flexibility_that_cannot_remove_the_violation_is_the_crossover() -> None:
    _, crossover = decide(_plan(), [_asset({2031: 1.0, 2032: math.nan, 2033: 1.0})])
    assert _row(crossover, "cheap")["crossover_year"] == 2032


def test_a_planned_year_stands_for_the_calendar_years_until_the_next() -> None:
    plan = _plan(step_years=2)  # 2030, 2032, 2034
    _, crossover = decide(plan, [_asset({2030: 10, 2032: 10, 2034: 10})])
    base = _row(crossover, "base")
    assert base["crossover"] == NONE_IN_HORIZON
    assert base["deferred_years"] == 5  # 2030..2034
    expected = sum((ANNUAL - 1_000) / 1.05 ** (y - 2030) for y in range(2030, 2035))
    assert base["npv_of_deferral_eur"] == pytest.approx(expected)


def test_an_unverified_reinforcement_decides_nothing_it_cannot_back() -> None:
    decisions, crossover = decide(_plan(), [_asset({2033: 10, 2034: math.nan}, verified=False)])
    base = _row(crossover, "base")
    assert base["crossover"] == "reinforcement not verified"
    assert pd.isna(base["crossover_year"]) and math.isnan(base["npv_of_deferral_eur"])
    mine = decisions[decisions["scenario"] == "base"]["decision"].tolist()
    assert mine[-2:] == ["defer", "unresolved"]


def test_market_flexibility_is_another_scenario_priced_only_where_it_ran() -> None:
    plan = _plan(market={"preset": "onenet-fragmented", "years": [2032, 2034]})
    asset = _asset({2031: 10, 2032: 10, 2033: 10, 2034: 10})
    asset.market = {
        2032: _market(2_000.0, removes=True),
        2034: _market(9_000.0, removes=True),
    }
    decisions, crossover = decide(plan, [asset])
    market = _row(crossover, "market onenet-fragmented")
    assert market["crossover_year"] == 2034  # 9,000 € > 6,828 €
    mine = decisions[decisions["scenario"] == "market onenet-fragmented"]["decision"].tolist()
    assert mine == ["no violation", "not priced", "defer", "not priced", "reinforce"]
    asset.market[2032] = _market(100.0, removes=False)
    _, crossover = decide(plan, [asset])
    assert _row(crossover, "market onenet-fragmented")["crossover_year"] == 2032


def _market(paid: float, *, removes: bool) -> MarketFlexOutcome:
    return MarketFlexOutcome(
        asset="line:1",
        preset="onenet-fragmented",
        days=3,
        paid_eur=paid,
        bid_cost_eur=paid * 0.8,
        overload_before_mwh=5.0,
        overload_after_mwh=0.0 if removes else 1.0,
        limit_mw=10.0,
        removes_violation=removes,
        worst_residual_mw=0.0 if removes else 0.5,
        rounds=1,
        tightening_mw=0.0,
        wall_s=1.0,
    )
