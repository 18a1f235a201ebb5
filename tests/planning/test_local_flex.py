"""Flexibility for a congested cable on the 2045 growth path of 1-MV-rural, both ways: TDFlex's
rule-based local flexibility removes the overload with the mildest rules, uses and pays only the
DERs that relieve it, and costs its energies at the owner's opportunity cost; the simulator's
DSO market relieves it too, paid as settled."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from flexcoord.errors import InvalidInputError
from flexcoord.grid.flex_series import relieving_elements
from flexcoord.grid.growth_path import GrowthPath, network_on_path
from flexcoord.grid.timeseries import assess
from flexcoord.planning import local_flexibility
from flexcoord.planning.local_flex import use_rates
from flexcoord.planning.market_flex import market_days, market_flexibility
from flexcoord.schemas.plan import FlexibilitySection, PriceScenarioSection

pytestmark = pytest.mark.slow

ASSET = "line:44"


@pytest.fixture(scope="module")
def year() -> tuple[Any, np.ndarray[Any, Any]]:
    net = network_on_path(GrowthPath(code="1-MV-rural--0-sw", heat_pump_mw={2045: 8.0}), 2045)
    result = assess(net)
    mine = result.violations[
        (result.violations["asset"] == ASSET) & (result.violations["kind"] == "overload")
    ]
    rows = (pd.DatetimeIndex(mine["time"]) - result.start_time) // pd.Timedelta(minutes=15)
    return net, np.asarray(rows, dtype=np.int64)


def test_the_mildest_rules_remove_the_overload_using_only_relieving_ders(
    year: tuple[Any, np.ndarray[Any, Any]],
) -> None:
    net, rows = year
    assert len(rows) > 0
    out = local_flexibility(
        net, ASSET, "overload", rules=FlexibilitySection(), violation_steps=rows
    )
    assert out.removes_violation and out.steps_before == len(rows) and out.steps_after == 0
    assert 0 < out.strength < 1  # the mildest, not the strongest rules
    relieving = relieving_elements(net, ASSET)
    used = out.payments
    assert len(used) > 0
    for table, elements in used.groupby("table")["element"]:
        assert set(elements) <= set(relieving[str(table)].tolist()), table
    pv = set(net.sgen[net.sgen["technology"] == "pv"].index)
    elsewhere = pv - set(relieving["sgen"].tolist())
    assert elsewhere, "PV outside the cable's feeder exists"
    assert not elsewhere & set(used.loc[used["table"] == "sgen", "element"]), "and is not used"
    by_use = used.groupby("use")["mwh"].sum().to_dict()
    assert by_use == pytest.approx(out.energy_mwh)


def test_the_cost_is_each_use_at_the_owners_opportunity_cost(
    year: tuple[Any, np.ndarray[Any, Any]],
) -> None:
    net, rows = year
    out = local_flexibility(
        net, ASSET, "overload", rules=FlexibilitySection(), violation_steps=rows
    )
    base = PriceScenarioSection(name="base")
    rate = use_rates(base)
    paid = out.payments
    expected = sum(rate[str(u)] * m for u, m in zip(paid["use"], paid["mwh"], strict=True))
    assert out.cost_eur(base) == pytest.approx(expected)
    dearer = PriceScenarioSection(name="dear", feed_in_eur_per_mwh=2 * base.feed_in_eur_per_mwh)
    pv = out.energy_mwh.get("pv_curtailed", 0.0)
    assert pv > 0
    assert out.cost_eur(dearer) - out.cost_eur(base) == pytest.approx(pv * base.feed_in_eur_per_mwh)


def test_without_any_rule_nothing_is_used_and_the_asset_needs_reinforcement(
    year: tuple[Any, np.ndarray[Any, Any]],
) -> None:
    net, rows = year
    none = FlexibilitySection(
        pv_curtailment=False, ev_night_charging=False, heat_pump_shift=False, bess="none"
    )
    out = local_flexibility(net, ASSET, "overload", rules=none, violation_steps=rows)
    assert not out.removes_violation and out.steps_after == out.steps_before
    assert out.energy_mwh == {} and len(out.payments) == 0


def test_market_procured_flexibility_relieves_the_cable_and_is_paid_by_the_dso(
    year: tuple[Any, np.ndarray[Any, Any]],
) -> None:
    """Way 2: the simulator's DSO market (OneNet fragmented) on the cable's violating days, at
    its own thermal limit, with the year's own units."""
    net, rows = year
    out = market_flexibility(net, ASSET, preset="onenet-fragmented", violation_steps=rows)
    assert out.days == len(np.unique(rows // 96)) == len(market_days(rows))
    assert out.overload_before_mwh > 0
    assert out.overload_after_mwh < 0.5 * out.overload_before_mwh
    assert out.paid_eur > 0 and out.bid_cost_eur > 0
    assert out.limit_mw > 0
    assert out.removes_violation == (out.worst_residual_mw <= 0.01 * out.limit_mw)
    with pytest.raises(InvalidInputError, match="trafo:0"):
        market_flexibility(net, "trafo:0", preset="onenet-fragmented", violation_steps=rows)
