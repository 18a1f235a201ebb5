"""Timeframe chains: forwarding between rounds, gate closures, availability → activation, and the
double-clearing guard across every round (``flexcoord.coordination.timeframes``).

All chains live on the hand-built two-level grid of ``schemes_fixtures`` (snapshot base case, four
MTUs), built once per seed.
"""

from __future__ import annotations

import dataclasses
import functools
from collections import Counter
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flexcoord.coordination import (
    ChainOutcome,
    MarketId,
    Mtu,
    RoundKind,
    SchemeConfig,
    TimeframeChain,
    obligation_id,
    preset,
    run_chain,
)
from flexcoord.domain import Timeframe
from flexcoord.errors import InvalidInputError
from flexcoord.grid.portfolio import ScenarioAdditions
from flexcoord.simulation.scenario import build_timeframe_chain

from .schemes_fixtures import two_level_grid

LT, DA, ID, NRT = (
    Timeframe.LONG_TERM,
    Timeframe.DAY_AHEAD,
    Timeframe.INTRADAY,
    Timeframe.NEAR_REAL_TIME,
)
ALL = (LT, DA, ID, NRT)


@functools.cache
def chain(seed: int = 0, timeframes: tuple[Timeframe, ...] = ALL) -> TimeframeChain:
    return build_timeframe_chain(
        two_level_grid(),
        timeframes=timeframes,
        seed=seed,
        profile_day=None,
        n_mtu=4,
        n_bids=40,
        n_tso=1,
        n_dso=1,
        tso_tightening=0.9,
        dso_tightening=0.8,
        tso_need_mw=2.0,
        max_bid_mw=1.5,
        additions=ScenarioAdditions(batteries=2, ev_chargers=6, heat_pumps=4, seed=seed),
    )


def scheme(preset_id: str, **changes: object) -> SchemeConfig:
    return dataclasses.replace(preset(preset_id), **changes)  # type: ignore[arg-type]


def round_of(market: MarketId) -> Timeframe | None:
    return market.round


def assert_each_root_cleared_once(outcome: ChainOutcome) -> None:
    roots = Counter(c.lineage.root for c in outcome.ledger.history)
    assert [r for r, n in roots.items() if n > 1] == []
    assert set(outcome.ledger.cleared) == set(roots)


# --- (a) two rounds: cleared once, unused forwarded, late bids refused --------------------------
@pytest.mark.parametrize("preset_id", ["onenet-common", "onenet-multi-level", "onenet-fragmented"])
def test_two_rounds_forward_unused_bids_and_never_clear_a_bid_twice(preset_id: str) -> None:
    c = chain(0, (ID, NRT))
    outcome = run_chain(scheme(preset_id, timeframes=(ID, NRT)), c, ac_check=False)
    assert [str(r.sub_market.timeframe) for r in outcome.rounds] == ["intraday", "near_real_time"]
    history = outcome.ledger.history
    first = {c.lineage.root for c in history if round_of(c.market) is ID}
    second = {c.lineage.root for c in history if round_of(c.market) is NRT}
    assert first, "round 1 cleared nothing: the test would prove nothing"
    assert first.isdisjoint(second)
    assert_each_root_cleared_once(outcome)
    # every bid of round 1 that round 1 did not clear reaches round 2, forwarded under its root
    round_one = {b.id for b in c.new_bids(c.rounds[0])}
    ledger = outcome.ledger
    offered_two = {b for m, ids in ledger.offered.items() if round_of(m) is NRT for b in ids}
    from_round_one = {b for b in offered_two if ledger.root_of(b) in round_one}
    assert all(ledger.lineage(b).hops[0].round is NRT for b in from_round_one)
    forwarded = {ledger.root_of(b) for b in from_round_one}
    assert forwarded == round_one - first
    assert outcome.rounds[1].forwarded_in == len(forwarded) > 0
    assert not {ledger.root_of(b) for b in offered_two} & first


def test_a_bid_after_the_rounds_gate_closure_is_refused_by_name() -> None:
    c = chain(0, (ID, NRT))
    nrt = c.rounds[1]
    late = c.new_bids(nrt)[0]
    bids = tuple(
        dataclasses.replace(b, submitted_at=nrt.gate_closure_at + timedelta(seconds=1))
        if b.id == late.id
        else b
        for b in c.base.bids
    )
    broken = dataclasses.replace(c, base=dataclasses.replace(c.base, bids=bids))
    with pytest.raises(InvalidInputError) as caught:
        run_chain(scheme("onenet-common", timeframes=(ID, NRT)), broken, ac_check=False)
    assert late.id in str(caught.value)
    assert "near_real_time" in str(caught.value)
    assert len(caught.value.issues) == 1


def test_chain_gate_closures_increase() -> None:
    c = chain()
    gates = [r.gate_closure_at for r in c.rounds]
    assert gates == sorted(gates) and len(set(gates)) == 4
    with pytest.raises(InvalidInputError, match="must be after the gate closure"):
        TimeframeChain(base=c.base, rounds=(c.rounds[1], c.rounds[0], *c.rounds[2:]))


# --- (b) availability → activation obligation ---------------------------------------------------
def test_every_availability_award_becomes_an_obligatory_activation_bid() -> None:
    c = chain()
    config = scheme("onenet-northern")
    assert config.availability_obliges_activation_bid
    outcome = run_chain(config, c, ac_check=False)
    awards: dict[str, dict[Mtu, float]] = {}
    for key, mw in outcome.availability_mw.items():
        awards.setdefault(key.root, {})[key.mtu] = mw
    assert awards, "no availability award: the test would prove nothing"
    intraday = next(r for r in outcome.rounds if r.sub_market.timeframe is ID)
    obliged = {b.id: b for b in intraday.obligation_bids}
    assert set(obliged) == {obligation_id(root) for root in awards}
    for root, per_mtu in awards.items():
        bid = obliged[obligation_id(root)]
        assert bid.product_id == intraday.sub_market.product_id
        assert {Mtu(mq.interval.start): mq.quantity for mq in bid.quantities} == (
            pytest.approx(per_mtu)
        )
        offered = outcome.ledger.offered
        assert any(bid.id in ids for m, ids in offered.items() if round_of(m) is ID)
        # the availability bid itself stays cleared: only the new commitment may clear again
        assert round_of(outcome.ledger.cleared[root]) in (LT, DA)
    assert outcome.kpis.obligated_bids == len(awards)
    assert_each_root_cleared_once(outcome)


def test_without_the_obligation_no_award_is_forwarded_to_activation() -> None:
    outcome = run_chain(
        scheme("onenet-northern", availability_obliges_activation_bid=False),
        chain(),
        ac_check=False,
    )
    assert outcome.availability_mw
    assert outcome.kpis.obligated_bids == 0
    assert all(not r.obligation_bids for r in outcome.rounds)
    awarded = {key.root for key in outcome.availability_mw}
    every_offer = {b for ids in outcome.ledger.offered.values() for b in ids}
    roots = {outcome.ledger.root_of(b) for b in every_offer}
    assert not {obligation_id(root) for root in awarded} & roots
    # the activation rounds stay open to new free bids
    intraday = next(r for r in outcome.rounds if r.sub_market.timeframe is ID)
    assert intraday.new_bids > 0


def test_availability_is_paid_and_only_activation_is_dispatched() -> None:
    outcome = run_chain(scheme("onenet-northern"), chain(), ac_check=False)
    assert outcome.availability_payment_eur > 0
    assert outcome.total_cost_eur == pytest.approx(
        outcome.cost.total_eur + outcome.availability_payment_eur
    )
    activation_rounds = [r for r in outcome.rounds if r.sub_market.kind is RoundKind.ACTIVATION]
    assert outcome.activation_mw == {
        k: v for r in activation_rounds for k, v in r.accepted_mw.items()
    }
    assert {key.root for key in outcome.activation_mw}.isdisjoint(
        {key.root for key in outcome.availability_mw}
    )


def test_a_skipped_rounds_needs_carry_over_to_the_next_round_of_their_kind() -> None:
    outcome = run_chain(scheme("onenet-common", timeframes=(DA, NRT)), chain(), ac_check=False)
    assert outcome.skipped == (LT, ID)
    by_tf = {r.sub_market.timeframe: r for r in outcome.rounds}
    c = chain()
    assert set(by_tf[DA].carried_needs) == {n.id for n in c.rounds[0].needs}
    assert set(by_tf[NRT].carried_needs) == {n.id for n in c.rounds[2].needs}


# --- (c) property: no root bid clears in two rounds, ever ---------------------------------------
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    seed=st.sampled_from([0, 1]),
    chain_tfs=st.sets(st.sampled_from(ALL), min_size=1),
    scheme_tfs=st.sets(st.sampled_from(ALL), min_size=1),
    preset_id=st.sampled_from(
        ["onenet-common", "onenet-multi-level", "onenet-fragmented", "onenet-poland"]
    ),
    obliged=st.booleans(),
)
def test_no_root_bid_is_accepted_in_two_rounds(
    seed: int,
    chain_tfs: set[Timeframe],
    scheme_tfs: set[Timeframe],
    preset_id: str,
    obliged: bool,
) -> None:
    c = chain(seed, tuple(t for t in ALL if t in chain_tfs))
    config = scheme(
        preset_id,
        timeframes=tuple(t for t in ALL if t in scheme_tfs),
        availability_obliges_activation_bid=obliged,
    )
    outcome = run_chain(config, c, ac_check=False)
    assert_each_root_cleared_once(outcome)
    rounds_of_root: dict[str, set[Timeframe | None]] = {}
    for cleared in outcome.ledger.history:
        rounds_of_root.setdefault(cleared.lineage.root, set()).add(round_of(cleared.market))
    assert all(len(r) == 1 for r in rounds_of_root.values())
    assert {r.sub_market.timeframe for r in outcome.rounds} == chain_tfs & scheme_tfs
    if not obliged:
        assert outcome.kpis.obligated_bids == 0


# --- (d) presets with different timeframes / obligations now differ -----------------------------
@pytest.mark.parametrize(
    ("a", "b"),
    [("onenet-northern", "onenet-common"), ("onenet-cyprus", "onenet-multi-level")],
)
def test_presets_with_different_timeframes_differ_on_one_chain(a: str, b: str) -> None:
    c = chain()
    first, second = (run_chain(preset(p), c, ac_check=False) for p in (a, b))
    ran = [tuple(r.sub_market.timeframe for r in o.rounds) for o in (first, second)]
    assert ran[0] != ran[1]
    assert first.total_cost_eur != pytest.approx(second.total_cost_eur)
    assert first.activation_mw != second.activation_mw


def test_obligation_changes_the_outcome_of_one_preset() -> None:
    c = chain()
    with_obligation = run_chain(preset("onenet-northern"), c, ac_check=False)
    without = run_chain(
        scheme("onenet-northern", availability_obliges_activation_bid=False), c, ac_check=False
    )
    assert with_obligation.kpis.obligated_bids > 0
    assert with_obligation.activation_mw != without.activation_mw


def test_ac_check_reports_the_final_dispatch() -> None:
    outcome = run_chain(preset("onenet-northern"), chain(), ac_check=True)
    ac = outcome.kpis.ac_violation
    assert ac is not None and ac.tso_mwh >= 0.0 and ac.dso_mwh >= 0.0
