"""The two aggregation projects as schemes: Industry4Redispatch's Pareto set (L1047) and the
Redispatch 3.0 cascade (L2113), on the 1-MV-rural demo scenario and a hand-built front."""

from __future__ import annotations

import functools
from collections import defaultdict
from typing import Any

import numpy as np
import pytest

from flexcoord.coordination import JointModel, preset, run_scheme
from flexcoord.coordination.aggregation.cascade import Cascade, CascadeNode, with_virtual_units
from flexcoord.coordination.identities import BidInMtu, Mtu
from flexcoord.coordination.ledger import ClearingLedger
from flexcoord.coordination.market_models import (
    dso_markets,
    forward_all_to_tso,
    transmission_bids,
    tso_market,
)
from flexcoord.coordination.markets import MarketsState, SchemeContext, accepted_by_bid_mtu
from flexcoord.coordination.pareto_offers import ParetoOffers, build_pareto_offers, pareto_offers
from flexcoord.coordination.scheme import default_options
from flexcoord.domain import Direction, Interval
from flexcoord.grid.areas import CouplingPoint, DsoArea
from tests.conftest import MV_RURAL
from tests.coordination.test_aggregation_fixtures import MTU, bid, lossless_model, register_for


@functools.cache
def _scenario() -> tuple[Any, JointModel]:
    from flexcoord.simulation.scenario import build_coordination_scenario

    scenario = build_coordination_scenario(MV_RURAL, n_bids=1200, seed=0)
    return scenario, JointModel.of(scenario)


def _pareto_run() -> tuple[SchemeContext, ParetoOffers, MarketsState]:
    """The steps of the ``pareto_set`` market model, keeping the offers."""
    scenario, joint = _scenario()
    ctx = SchemeContext.of(preset("industry4redispatch"), scenario, joint, default_options())
    state = dso_markets(ctx, MarketsState(ledger=ClearingLedger()))
    direct = transmission_bids(ctx, state)
    state, forwarded = forward_all_to_tso(ctx, state)
    offers = pareto_offers(ctx, state, forwarded)
    return ctx, offers, tso_market(ctx, state, direct, offers)


@pytest.mark.slow
def test_the_tso_award_in_each_mtu_is_one_pareto_point() -> None:
    ctx, offers, state = _pareto_run()
    tso = state.markets[-1]
    assert offers.bids and offers.fronts
    accepted = accepted_by_bid_mtu(tso.result)
    chosen: dict[str, list[str]] = defaultdict(list)
    sets = {b.id: b.exclusive_set for b in offers.bids}
    quantity = {b.id: b.quantities[0].quantity for b in offers.bids}
    for key, mw in accepted.items():
        if key.bid_id in sets:
            assert mw == pytest.approx(quantity[key.bid_id], rel=1e-6)  # whole
            chosen[str(sets[key.bid_id])].append(key.bid_id)
    assert chosen and all(len(points) == 1 for points in chosen.values())
    # the DSO bids the TSO's market awarded are exactly the chosen points' combinations
    expected: dict[BidInMtu, float] = defaultdict(float)
    for (point,) in chosen.values():
        mtu = next(k.mtu for k in accepted if k.bid_id == point)
        for bid_id, mw in offers.points[point].items():
            expected[BidInMtu(bid_id, mtu)] += mw
    awarded = {
        (k.root, k.mtu): mw
        for k, mw in tso.accepted_mw.items()
        if ctx.joint.bid_area[k.root] not in ctx.tso_areas
    }
    assert awarded == pytest.approx(
        {(state.ledger.root_of(k.bid_id), k.mtu): v for k, v in expected.items()}
    )
    # each chosen combination is a linearly feasible front row of its area and MTU
    for xor, (point,) in chosen.items():
        area = xor.split(":")[1]
        mtu = next(k.mtu for k in accepted if k.bid_id == point)
        front = offers.fronts[(area, mtu, Direction.UP)]
        combo = set(offers.points[point])
        rows = [
            r
            for r in front.front.tolist()
            if {front.bid_ids[j] for j in np.flatnonzero(front.accepted[r])} == combo
        ]
        assert len(rows) == 1 and front.linear_feasible[rows[0]]
    # and the scheme run gives the very same awards
    outcome = run_scheme(preset("industry4redispatch"), *_scenario()[:1], joint=_scenario()[1])
    assert outcome.markets[-1].accepted_mw == tso.accepted_mw


def _front_case() -> tuple[Any, Any, list[Any]]:
    """One branch (2 MVA, 10 % margin) carries bus 1's injection; bus 2 is free."""
    model = lossless_model(s_max_mva=2.0, safety_margin=0.1)
    register = register_for(
        [{"id": "u1", "bus": 1, "p_max_mw": 5.0}, {"id": "u2", "bus": 2, "p_max_mw": 5.0}]
    )
    area = DsoArea(
        id="dso-a",
        bus_ids=frozenset({1, 2}),
        coupling_points=(CouplingPoint(id="trafo:0", hv_bus=None, lv_bus=1, rating_mva=10.0),),
        voltage_levels_kv=(20.0,),
    )
    cascade = Cascade(
        thresholds_kv=(110.0,),
        tso_bus_ids=frozenset(),
        nodes=(CascadeNode(id="dso-a", level=1, parent_id=None, area=area),),
    )
    bids = [
        bid("cheap-infeasible", "u1", 3.0, 10.0, divisible=False),  # 3 MW > 1.8 MW
        bid("margin-only", "u1", 1.9, 5.0, divisible=False),  # ≤ 2 MW, > 1.8 MW: the margin
        bid("c", "u1", 1.5, 30.0, divisible=False),
        bid("b", "u2", 2.0, 50.0, divisible=False),
    ]
    return model, with_virtual_units(register, cascade), bids


def test_a_cheaper_infeasible_combination_is_never_offered() -> None:
    model, register, bids = _front_case()
    interval = Interval(start=MTU["start"], end=MTU["end"])
    offers = build_pareto_offers(register, [(model, bids, interval, Direction.UP)])
    combos = {frozenset(c) for c in offers.points.values()}
    assert combos == {frozenset({"c"}), frozenset({"b"}), frozenset({"b", "c"})}
    assert all("cheap-infeasible" not in c and "margin-only" not in c for c in combos)
    assert len({b.exclusive_set for b in offers.bids}) == 1
    assert all(not b.divisible for b in offers.bids)
    price = {frozenset(offers.points[b.id]): b.activation_price_eur_per_mwh for b in offers.bids}
    assert price[frozenset({"b"})] == pytest.approx(50.0)
    assert price[frozenset({"b", "c"})] == pytest.approx((100.0 + 45.0) / 3.5)
    # an accepted point expands to its whole combination
    point = next(b for b in offers.bids if set(offers.points[b.id]) == {"b", "c"})
    mtu = Mtu(interval.start)
    assert offers.expand({BidInMtu(point.id, mtu): 3.5}) == {
        BidInMtu("b", mtu): 2.0,
        BidInMtu("c", mtu): 1.5,
    }
    # the margin is what rejects "margin-only": without it, it is on the front
    loose = build_pareto_offers(
        register, [(model.with_margin(safety_margin=0.0), bids, interval, Direction.UP)]
    )
    assert any("margin-only" in c for c in loose.points.values())


@pytest.mark.slow
def test_the_cascade_scheme_meets_its_targets_and_respects_the_dso_grid() -> None:
    """On the demo scenario the cascade's TSO awards reach the bids through the disaggregation
    LP: the DSO grid's linear residual violation is that of the offer-curve scheme (none left
    beyond the LP tolerance), and the TSO's shortfall matches it."""
    scenario, joint = _scenario()
    cascade = run_scheme(preset("redispatch-3.0-cascade"), scenario, joint=joint, ac_check=False)
    local = run_scheme(preset("smartnet-local"), scenario, joint=joint, ac_check=False)
    assert [str(m.id) for m in cascade.markets] == ["dso:dso", "tso"]
    tso = cascade.markets[-1]
    offered = {b.resource_id for b in tso.offered if b.resource_id.startswith("aggregate:")}
    assert offered == {"aggregate:MV1.101"}
    assert sum(tso.accepted_mw.values()) > 1.0
    assert cascade.kpis.residual_violation_dso_mwh <= 1e-5
    assert cascade.kpis.shortfall_mwh["tso"] == pytest.approx(
        local.kpis.shortfall_mwh["tso"], abs=1e-3
    )
