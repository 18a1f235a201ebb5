"""Properties of every coordination scheme on generated scenarios of the two-level test grid.

- the common (joint) scheme's total cost is never above any sequential scheme's: the joint clearing
  minimises the very function every outcome is priced with (divisible bids: an LP, no MIP gap);
- a sequential scheme whose TSO reaches DERs (or a fragmented one) leaves no DSO branch violated
  that the joint scheme keeps within its limit;
- a root bid is accepted in at most one market, and never above its offered quantity;
- no scheme takes a unit beyond its range, summed over its bids and markets (decision 006);
- a scheme run is deterministic.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from flexcoord.coordination import (
    PRESETS,
    CoordinationInput,
    DispatchKey,
    JointModel,
    MarketId,
    MarketModel,
    Mtu,
    SchemeOutcome,
    preset,
    run_scheme,
)
from tests.coordination.schemes_fixtures import TSO_LINE, scheme_outcomes, two_level_scenario

COMMON = "onenet-common"
SEQUENTIAL = tuple(c.id for c in PRESETS if c.sequential)
DSO_LIMIT_HOLDERS = tuple(
    c.id
    for c in PRESETS
    if c.sequential and (c.tso_access_to_ders or c.market_model == MarketModel.FRAGMENTED)
)
VIOLATION_TOL_MWH = 1e-6

seeds = st.integers(min_value=0, max_value=10_000)
tso_needs = st.sampled_from([1.0, 2.0, 5.0])
bid_counts = st.integers(min_value=10, max_value=30)


def _capability_excess_mw(scenario: CoordinationInput, outcome: SchemeOutcome) -> float:
    """The largest amount by which the dispatch exceeds a unit's capability in one MTU (the
    joint problem's hard capability rows)."""
    joint = JointModel.of(scenario)
    p = joint.problem
    if not len(p.cap_names):
        return 0.0
    accepted = np.zeros((len(p.bid_ids), len(p.mtu_labels)))
    np.add.at(accepted, (p.slot_bid, p.slot_mtu), joint.slot_vector(outcome.accepted_mw))
    use = np.zeros((len(p.cap_names), len(p.mtu_labels)))
    np.add.at(use, p.cap_use_cap, p.cap_use_weight[:, None] * accepted[p.cap_use_bid])
    return float(np.max(use - p.cap_limit_mw[:, None], initial=0.0))


def _outcomes(seed: int, tso_need_mw: float, n_bids: int) -> dict[str, SchemeOutcome]:
    """The runs of every preset; the aggregating presets' known failure is left out (pinned by
    :func:`test_aggregated_offers_survive_a_dso_branch_at_its_limit`)."""
    return scheme_outcomes(seed, tso_need_mw=tso_need_mw, n_bids=n_bids)


def test_the_test_scenario_is_congested_on_both_grids() -> None:
    scenario = two_level_scenario(0)
    areas = scenario.grid.asset_areas()
    overridden = {areas[b] for b in scenario.limit_overrides_mw}
    assert TSO_LINE in scenario.limit_overrides_mw
    assert "tso" in overridden and overridden - {"tso"}, scenario.limit_overrides_mw
    flows = dict(
        zip(
            scenario.forecast.branch_names,
            abs(scenario.forecast.branch_flow_mw).max(axis=1),
            strict=True,
        )
    )
    for branch, limit_mw in scenario.limit_overrides_mw.items():
        assert flows[branch] > limit_mw  # overloaded in the base case
    assert {n.buyer_id for n in scenario.needs} == {"tso", "dso", "brp"}
    assert all(b.divisible for b in scenario.bids)


@settings(max_examples=25, deadline=None)
@given(seed=seeds, tso_need_mw=tso_needs, n_bids=bid_counts)
def test_common_scheme_is_never_costlier_than_a_sequential_one(
    seed: int, tso_need_mw: float, n_bids: int
) -> None:
    outcomes = _outcomes(seed, tso_need_mw, n_bids)
    common = outcomes[COMMON].cost.total_eur
    tol = 1e-6 * abs(common) + 1e-3
    scenario = two_level_scenario(seed, tso_need_mw=tso_need_mw, n_bids=n_bids)
    for scheme_id in SEQUENTIAL:
        if scheme_id not in outcomes:
            continue
        # no scheme takes a unit beyond its range, summed over its bids and markets
        assert _capability_excess_mw(scenario, outcomes[scheme_id]) <= 1e-6, scheme_id
        assert outcomes[scheme_id].cost.total_eur >= common - tol, (
            scheme_id,
            outcomes[scheme_id].cost.total_eur,
            common,
        )


@settings(max_examples=25, deadline=None)
@given(seed=seeds, tso_need_mw=tso_needs, n_bids=bid_counts)
def test_sequential_schemes_keep_the_dso_limits_the_joint_one_keeps(
    seed: int, tso_need_mw: float, n_bids: int
) -> None:
    """A DSO branch the joint scheme keeps within its limit stays within it — in every
    sequential scheme, shared balancing included (its interface schedule is priced below the
    branch limits: ``scheme.default_options``)."""
    outcomes = _outcomes(seed, tso_need_mw, n_bids)
    scenario = two_level_scenario(seed, tso_need_mw=tso_need_mw, n_bids=n_bids)
    areas = scenario.grid.asset_areas()
    joint_violated = outcomes[COMMON].cost.branch_violation_mwh
    for scheme_id in DSO_LIMIT_HOLDERS:
        if scheme_id not in outcomes:
            continue
        outcome = outcomes[scheme_id]
        extra = {
            branch: mwh
            for branch, mwh in outcome.cost.branch_violation_mwh.items()
            if areas[branch] != "tso"
            and joint_violated.get(branch, 0.0) <= VIOLATION_TOL_MWH
            and mwh > VIOLATION_TOL_MWH
        }
        assert not extra, (scheme_id, extra)


@settings(max_examples=25, deadline=None)
@given(seed=seeds, tso_need_mw=tso_needs, n_bids=bid_counts)
def test_a_root_bid_clears_in_one_market_and_never_above_its_quantity(
    seed: int, tso_need_mw: float, n_bids: int
) -> None:
    scenario = two_level_scenario(seed, tso_need_mw=tso_need_mw, n_bids=n_bids)
    offered = {
        DispatchKey(b.id, Mtu(q.interval.start)): q.quantity
        for b in scenario.bids
        for q in b.quantities
    }
    roots = {b.id for b in scenario.bids}
    for scheme_id, outcome in _outcomes(seed, tso_need_mw, n_bids).items():
        market_of: dict[str, MarketId] = {}
        for market in outcome.markets:
            for key in market.accepted_mw:
                assert key.root in roots, (scheme_id, market.id, key)
                first = market_of.setdefault(key.root, market.id)
                assert first == market.id, f"{scheme_id}: {key} cleared in {first} and {market.id}"
        for key, mw in outcome.accepted_mw.items():
            assert key in offered, (scheme_id, key)
            assert -1e-9 <= mw <= offered[key] + 1e-6, (scheme_id, key, mw, offered[key])
        for market in outcome.markets:
            for key, mw in market.accepted_mw.items():
                assert mw <= offered[key] + 1e-6, (scheme_id, market.id, key, mw)


def test_multi_level_schemes_forward_unused_bids_to_the_tso_market() -> None:
    outcome = _outcomes(0, 2.0, 24)["onenet-multi-level"]
    assert [m.id for m in outcome.markets] == [MarketId.dso("dso"), MarketId.tso()]
    assert outcome.kpis.forwarded_bids == outcome.markets[1].bids_forwarded > 0


def test_a_scheme_run_is_deterministic() -> None:
    scenario = two_level_scenario(3, tso_need_mw=5.0)
    first, second = JointModel.of(scenario), JointModel.of(scenario)
    for config in PRESETS:
        if config.aggregate_at_interface:
            continue  # covered below on a seed where aggregation runs
        a = run_scheme(config, scenario, joint=first)
        b = run_scheme(config, scenario, joint=second)
        assert a.accepted_mw == b.accepted_mw, config.id
        assert a.cost.total_eur == b.cost.total_eur, config.id
        assert [c.reason for c in a.conflicts] == [c.reason for c in b.conflicts], config.id


def test_the_default_joint_model_gives_the_same_outcome() -> None:
    scenario = two_level_scenario(5)
    config = preset("smartnet-local")
    built = run_scheme(config, scenario)
    shared = run_scheme(config, scenario, joint=JointModel.of(scenario))
    assert built.accepted_mw == shared.accepted_mw
    assert built.cost.total_eur == shared.cost.total_eur


def test_aggregating_schemes_are_deterministic_where_they_run() -> None:
    scenario = two_level_scenario(0)
    for scheme_id in ("smartnet-local", "onenet-poland"):
        a = run_scheme(preset(scheme_id), scenario)
        b = run_scheme(preset(scheme_id), scenario)
        assert a.accepted_mw == b.accepted_mw and a.cost.total_eur == b.cost.total_eur


def test_aggregated_offers_keep_every_unit_within_its_capability() -> None:
    """Regression (seed 200, found by the cost property): the aggregated offer curve once left
    out the unit-capability rule, so smartnet-local took ~1 MW more of bess:0 than it has and
    beat the joint clearing."""
    scenario = two_level_scenario(200, tso_need_mw=5.0, n_bids=10)
    outcomes = _outcomes(200, 5.0, 10)
    assert _capability_excess_mw(scenario, outcomes["smartnet-local"]) <= 1e-6
    assert outcomes["smartnet-local"].cost.total_eur >= outcomes[COMMON].cost.total_eur - 1e-3


def test_aggregated_offers_survive_a_dso_branch_at_its_limit() -> None:
    """A DSO branch the DSO market relieved to exactly its MW limit still carries reactive flow:
    the interface model's apparent-power limit must admit that point (regression: it once made
    the offer curve's least-cost LP infeasible)."""
    scenario = two_level_scenario(1, tso_need_mw=1.0, n_bids=11)
    outcome = run_scheme(preset("onenet-poland"), scenario)
    assert outcome.markets[-1].id == MarketId.tso()
