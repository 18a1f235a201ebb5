"""InteGrid's intraday traffic light in the near-real-time round of a traffic-light scheme.

Seed L1214: "the TSO forwards a bid activation to the TLS. It evaluates the bids to be activated
and suggests an alternative bid activation to the FO if the activation would lead to network
constraints". On 1-MV-rural (day-ahead availability, then near-real-time activation), a TSO
activation that the DSO's day-ahead traffic light let through is checked again near real time at
an intraday forecast in which a line on its path carries more: the check cuts it, an unused bid
the assessment suggests is activated instead, and the line keeps its limit.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import numpy as np
import pytest

from flexcoord.clearing import shift_forecast
from flexcoord.coordination import JointModel, preset
from flexcoord.coordination.activation_check import ActivationVerdict
from flexcoord.coordination.rounds import TimeframeChain
from flexcoord.coordination.timeframes import ChainOutcome, run_chain
from flexcoord.domain import Timeframe

pytestmark = pytest.mark.slow
SCHEME = preset("onenet-multi-level")


@functools.cache
def chain() -> TimeframeChain:
    from flexcoord.grid.model import load_grid
    from flexcoord.simulation.scenario import build_timeframe_chain

    return build_timeframe_chain(
        load_grid("1-MV-rural--0-sw"),
        seed=0,
        n_bids=200,
        n_mtu=16,
        n_dso=0,
        tso_need_mw=1.0,
        timeframes=(Timeframe.DAY_AHEAD, Timeframe.NEAR_REAL_TIME),
    )


@functools.cache
def day_ahead_run() -> ChainOutcome:
    return run_chain(SCHEME, chain(), ac_check=False)


def shifted_case() -> dict[str, Any]:
    """A TSO activation of the NRT round, a line on its path whose intraday flow leaves half the
    activation's effect of room, and the NRT round's MTU; the chain with that forecast."""
    base = chain().base
    grid = base.grid
    ptdf = grid.ptdf()
    col = {int(b): i for i, b in enumerate(ptdf.bus_ids)}
    reg = base.register

    def bus(resource_id: str) -> int:
        unit = reg.units_of(resource_id)[0]
        return col[reg.connection_point(unit.connection_point_id).bus]

    outcome = day_ahead_run()
    nrt = outcome.rounds[-1]
    used = {k.root for r in outcome.rounds for k in r.accepted_mw}
    by_id = {b.id: b for b in base.bids}
    lines = [i for i, n in enumerate(ptdf.branch_names) if n.startswith("line:")]
    for record in sorted(nrt.activation_checks, key=lambda r: -r.requested_mw):
        t = next(i for i, iv in enumerate(base.intervals) if iv.start == record.mtu.start)
        here = bus(by_id[record.bid_id].resource_id)
        spare = [
            b
            for b in base.bids
            if b.id not in used
            and b.direction == record.direction
            and b.activation_price_eur_per_mwh is not None
            and any(q.interval == base.intervals[t] for q in b.quantities)
        ]
        path = [li for li in lines if abs(ptdf.matrix[li, here]) > 0.9]
        for li in sorted(path, key=lambda li: int(np.sum(np.abs(ptdf.matrix[li]) > 0.5))):
            if any(abs(ptdf.matrix[li, bus(b.resource_id)]) < 0.5 for b in spare):
                name = ptdf.branch_names[li]
                limits = grid.branch_limits()
                limit = dict(zip(limits.branch_names, limits.limit_mw.tolist(), strict=True))
                room = (1 - base.safety_margin) * {**limit, **base.limit_overrides_mw}[name]
                effect = float(ptdf.matrix[li, here]) * record.requested_mw
                row = base.forecast.branch_names.index(name)
                flows = base.forecast.branch_flow_mw.copy()
                flows[row, t] = np.sign(effect) * (room - 0.5 * abs(effect))
                intraday = dataclasses.replace(base.forecast, branch_flow_mw=flows)
                return {
                    "record": record,
                    "t": t,
                    "row": row,
                    "room": room,
                    "intraday": intraday,
                    "chain": dataclasses.replace(chain(), intraday_forecast=intraday),
                }
    raise AssertionError("no TSO activation with a spare bid off its path")


def test_every_tso_activation_is_checked_and_safe_at_the_day_ahead_forecast() -> None:
    outcome = day_ahead_run()
    nrt = outcome.rounds[-1]
    assert nrt.sub_market.timeframe is Timeframe.NEAR_REAL_TIME
    assert nrt.activation_checks
    assert all(r.verdict is ActivationVerdict.SAFE for r in nrt.activation_checks)
    assert not nrt.replacements
    assert all(r.activation_checks == () for r in outcome.rounds[:-1])


def test_an_activation_violating_intraday_is_replaced_by_an_alternative_bid() -> None:
    case = shifted_case()
    record, t, row = case["record"], case["t"], case["row"]
    before = day_ahead_run()
    after = run_chain(SCHEME, case["chain"], ac_check=False)
    nrt = after.rounds[-1]
    checked = {(r.bid_id, r.mtu): r for r in nrt.activation_checks}
    caught = checked[(record.bid_id, record.mtu)]
    assert caught.verdict in (ActivationVerdict.CURTAILED, ActivationVerdict.REFUSED)
    assert caught.activated_mw < caught.requested_mw - 1e-3
    assert caught.reasons and "distribution grid" in caught.reasons[0]
    assert nrt.replacements
    rep = nrt.replacements[0]
    assert rep.mtu == record.mtu and record.bid_id in rep.replaces and rep.activated_mw > 0
    assert rep.bid_id not in {k.root for r in before.rounds for k in r.accepted_mw}
    assert nrt.accepted_mw[next(k for k in nrt.accepted_mw if k.root == rep.bid_id)] > 0
    # the DSO limit holds at the intraday state with the checked dispatch, not without
    base = chain().base
    joint = JointModel.of(base)

    def flow(dispatch: Any) -> float:
        moved = shift_forecast(base.grid, case["intraday"], *joint.ptdf_injections(dispatch))
        return abs(float(moved.branch_flow_mw[row, t]))

    assert flow(before.rounds[-1].accepted_mw) > case["room"] + 1e-3
    assert flow(nrt.accepted_mw) <= case["room"] + 1e-6
    # the replacement is recorded: the bid is cleared once, in the round's TSO market
    assert str(after.ledger.cleared_in(rep.bid_id)) == "near_real_time:tso"
