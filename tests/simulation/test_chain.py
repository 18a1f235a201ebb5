"""The seeded timeframe chain offers what a preset's timeframes need: a chain that starts at
intraday (Cyprus) buys availability there, and the obliged bids are activated near real time."""

from __future__ import annotations

import functools

from flexcoord.coordination import DispatchKey
from flexcoord.coordination.presets import preset
from flexcoord.coordination.rounds import obligation_id
from flexcoord.coordination.timeframes import RoundKind, TimeframeChain, run_chain
from flexcoord.domain import Timeframe
from flexcoord.grid.portfolio import ScenarioAdditions
from flexcoord.simulation.scenario import build_timeframe_chain
from tests.coordination.schemes_fixtures import two_level_grid

LT, DA, ID, NRT = (
    Timeframe.LONG_TERM,
    Timeframe.DAY_AHEAD,
    Timeframe.INTRADAY,
    Timeframe.NEAR_REAL_TIME,
)


@functools.cache
def _chain(timeframes: tuple[Timeframe, ...]) -> TimeframeChain:
    return build_timeframe_chain(
        two_level_grid(),
        timeframes=timeframes,
        profile_day=None,
        n_mtu=4,
        n_bids=40,
        n_tso=1,
        n_dso=1,
        tso_tightening=0.9,
        dso_tightening=0.8,
        tso_need_mw=2.0,
        max_bid_mw=1.5,
        additions=ScenarioAdditions(batteries=2, ev_chargers=6, heat_pumps=4, seed=0),
    )


def test_availability_rounds_are_lt_and_da_else_the_first_of_a_later_chain() -> None:
    def kinds(timeframes: tuple[Timeframe, ...]) -> list[tuple[Timeframe, RoundKind]]:
        return [(r.timeframe, r.kind) for r in _chain(timeframes).rounds]

    avail, act = RoundKind.AVAILABILITY, RoundKind.ACTIVATION
    assert kinds((LT, DA, ID, NRT)) == [(LT, avail), (DA, avail), (ID, act), (NRT, act)]
    assert kinds((DA, NRT)) == [(DA, avail), (NRT, act)]
    assert kinds((ID, NRT)) == [(ID, avail), (NRT, act)]
    assert kinds((NRT,)) == [(NRT, act)]
    assert [r.product_id for r in _chain((ID, NRT)).rounds] == [
        "p-id-availability",
        "p-nrt-activation",
    ]


def test_cyprus_buys_intraday_availability_then_activates_the_obliged_bids_near_real_time() -> None:
    cyprus = preset("onenet-cyprus")
    assert cyprus.timeframes == (ID, NRT) and cyprus.availability_obliges_activation_bid
    chain = _chain(cyprus.timeframes)
    outcome = run_chain(cyprus, chain, ac_check=False)
    assert outcome.skipped == () and outcome.kpis.capacity_not_procured_mw == 0.0
    intraday, near_real_time = outcome.rounds
    assert intraday.sub_market.kind is RoundKind.AVAILABILITY
    awarded = {key.root for key in intraday.accepted_mw}
    assert awarded and outcome.availability_payment_eur > 0.0
    assert set(outcome.availability_mw) == set(intraday.accepted_mw)  # reserved, not dispatched
    # every intraday award is an obligatory bid near real time, and the NRT round activates some
    obliged = {b.id for b in near_real_time.obligation_bids}
    assert obliged == {obligation_id(root) for root in awarded}
    assert outcome.kpis.obligated_bids == len(obliged)
    activated = {key.root for key in near_real_time.accepted_mw}
    assert activated & obliged
    assert {key.root for key in outcome.activation_mw} == activated  # the physical dispatch
    for key, mw in near_real_time.accepted_mw.items():
        if key.root in obliged:  # never above the reserved MW of that MTU
            reserved = intraday.accepted_mw[
                DispatchKey(key.root.removesuffix(":activation"), key.mtu)
            ]
            assert mw <= reserved + 1e-9
