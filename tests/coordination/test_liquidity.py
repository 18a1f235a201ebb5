"""Liquidity counts distinct root bids, units and FSPs that could serve each need.

A forwarded copy or an aggregated interface step is not a new bid: a scheme that keeps the DSO's
bids from the TSO's need (fragmented) must score below one that shows them to it (common,
multi-level), however many copies it moves between markets.
"""

from __future__ import annotations

import pytest

from flexcoord.coordination import Liquidity
from flexcoord.coordination.liquidity import eligible_roots
from tests.coordination.schemes_fixtures import scheme_outcomes, two_level_scenario

JOINT_BUYERS = ("onenet-common", "onenet-multi-level", "onenet-fragmented", "smartnet-local")


def test_a_run_counts_each_root_bid_unit_and_fsp_once() -> None:
    scenario = two_level_scenario(0)
    units = {u.id for u in scenario.register.units}
    fsps = {b.fsp_id for b in scenario.bids}
    for scheme_id, outcome in scheme_outcomes(0).items():
        total = outcome.kpis.liquidity
        assert total.root_bids <= len(scenario.bids), scheme_id
        assert total.units <= len(units) and total.fsps <= len(fsps), scheme_id
        assert total.needs == sum(m.needs for m in outcome.markets), scheme_id
        for market in outcome.markets:
            assert market.liquidity is not None
            assert market.liquidity.root_bids <= total.root_bids, (scheme_id, market.id)
            roots = {r for rs in market.eligible_roots.values() for r in rs}
            assert roots <= {b.id for b in scenario.bids}, (scheme_id, market.id)


def test_keeping_the_dso_bids_from_the_tso_lowers_liquidity() -> None:
    """Same buyers, same bids: the common market shows every bid to every need it may serve, the
    sequential models at most that (a forwarded copy or an interface step counts as its root)."""
    outcomes = scheme_outcomes(0)
    per_need = {s: outcomes[s].kpis.liquidity.root_bids_per_need for s in JOINT_BUYERS}
    assert all(per_need[s] <= per_need["onenet-common"] + 1e-9 for s in JOINT_BUYERS), per_need
    assert per_need["onenet-fragmented"] < per_need["onenet-multi-level"], per_need
    tso = {
        s: next(m for m in outcomes[s].markets if str(m.id) in ("tso", "common"))
        for s in JOINT_BUYERS
    }
    fragmented, multi_level = (
        tso[s].liquidity for s in ("onenet-fragmented", "onenet-multi-level")
    )
    assert fragmented is not None and multi_level is not None
    assert fragmented.root_bids < multi_level.root_bids  # the DSO's leftovers reach the TSO


def test_an_interface_step_stands_for_the_bids_behind_it() -> None:
    outcome = scheme_outcomes(0)["smartnet-local"]
    tso = outcome.markets[-1]
    steps = {b.id for b in tso.offered if b.resource_id.startswith("interface:")}
    assert steps, "no aggregated offer: the test would prove nothing"
    roots = {r for rs in tso.eligible_roots.values() for r in rs}
    assert not roots & steps
    assert roots - {b.id for b in tso.offered}  # roots behind the steps, not offered themselves


def test_eligible_roots_and_liquidity_by_hand() -> None:
    outcome = scheme_outcomes(0)["onenet-common"]
    (market,) = outcome.markets
    problem = market.result.problem
    eligible = eligible_roots(problem, lambda bid_id: (bid_id,))
    assert set(eligible) == set(problem.need_ids)
    by_hand = {
        problem.need_ids[n]: {
            problem.bid_ids[problem.slot_bid[s]]
            for n_, s in zip(problem.eligible_need, problem.eligible_slot, strict=True)
            if n_ == n
        }
        for n in range(len(problem.need_ids))
    }
    assert {n: set(r) for n, r in eligible.items()} == by_hand
    scenario = two_level_scenario(0)
    liquidity = Liquidity.of(eligible, {b.id: b for b in scenario.bids}, scenario.register)
    assert liquidity == market.liquidity
    assert liquidity.root_bids_per_need == pytest.approx(
        sum(len(r) for r in by_hand.values()) / len(by_hand)
    )
