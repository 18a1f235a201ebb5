"""The double-clearing guard under generated forwarding chains."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flexcoord.coordination import BidLineage, ClearingLedger, DoubleClearingError, MarketId
from flexcoord.domain import Bid, Timeframe

T0 = datetime(2026, 6, 2, 10, tzinfo=UTC)


def _bid(i: int, *, xor: str | None = None, parent: str | None = None) -> Bid:
    return Bid(
        id=f"b{i}",
        fsp_id="f",
        resource_id=f"u{i}",
        product_id="p",
        direction="up",
        activation_price_eur_per_mwh=50.0,
        exclusive_set=xor,
        parent_bid_id=parent,
        submitted_at=T0 - timedelta(days=1),
        quantities=[{"start": T0, "end": T0 + timedelta(minutes=15), "quantity": 1.0}],
    )


DSO, TSO = MarketId.dso("dso"), MarketId.tso()


def test_forwarded_ids_name_their_lineage_and_the_ledger_knows_the_root() -> None:
    ledger = ClearingLedger().offer(DSO, ["b7"])
    ledger, (once,) = ledger.forward([_bid(7)], MarketId.tso(Timeframe.DAY_AHEAD))
    ledger, (twice,) = ledger.forward([once], MarketId.tso(Timeframe.NEAR_REAL_TIME))
    assert twice.id == "b7>day_ahead:tso>near_real_time:tso"
    assert ledger.lineage(twice.id) == BidLineage(
        "b7", (MarketId.tso(Timeframe.DAY_AHEAD), MarketId.tso(Timeframe.NEAR_REAL_TIME))
    )
    assert ledger.root_of(twice.id) == "b7"
    # an id the ledger did not issue is a root of its own, whatever characters it holds
    assert ledger.root_of("b8>tso") == "b8>tso"


def test_a_cleared_bid_is_never_forwarded_nor_recorded_twice() -> None:
    bids = [_bid(i) for i in range(3)]
    ledger = ClearingLedger().offer(DSO, [b.id for b in bids]).record(DSO, {"b0": 1.0, "b1": 0.0})
    ledger, forwarded = ledger.forward(bids, TSO)
    assert [b.id for b in forwarded] == ["b1>tso", "b2>tso"]
    with pytest.raises(DoubleClearingError, match="already cleared"):
        ledger.offer(TSO, ["b0"])
    with pytest.raises(DoubleClearingError, match="not offered"):
        ledger.record(TSO, {"b0>tso": 0.5})
    assert ledger.cleared == {"b0": DSO}  # the ledger is a value: nothing half-recorded


def test_forwarding_renames_xor_sets_and_links_and_drops_orphans() -> None:
    bids = [_bid(0, xor="x"), _bid(1, xor="x"), _bid(2), _bid(3, parent="b2")]
    ledger = ClearingLedger().offer(DSO, [b.id for b in bids]).record(DSO, {"b2": 1.0})
    ledger, forwarded = ledger.forward(bids, TSO)
    out = {b.id: b for b in forwarded}
    assert set(out) == {"b0>tso", "b1>tso"}  # b3's parent was cleared: b3 cannot clear alone
    assert {b.exclusive_set for b in out.values()} == {"x>tso"}
    assert ledger.root_of("x>tso") == "x"


@settings(max_examples=300, deadline=None)
@given(
    n_bids=st.integers(1, 12),
    chain=st.lists(
        st.tuples(
            st.sampled_from(["dso", "tso-da", "tso-id", "tso-nrt"]),
            st.lists(st.floats(0.0, 2.0), min_size=12, max_size=12),
        ),
        min_size=1,
        max_size=6,
    ),
)
def test_no_bid_clears_twice_along_any_forwarding_chain(
    n_bids: int, chain: list[tuple[str, list[float]]]
) -> None:
    """Markets forward their unused bids to the next; each accepts arbitrary volumes of what it
    was offered. Whatever happens, every root bid is recorded as cleared at most once, and a market
    is never offered a cleared bid."""
    ledger = ClearingLedger()
    current = [_bid(i) for i in range(n_bids)]
    accepted_roots: list[str] = []
    for step, (name, volumes) in enumerate(chain):
        market = MarketId.dso(f"{name}#{step}")  # a market of its own per step
        if step == 0:
            ledger = ledger.offer(market, [b.id for b in current])
        else:
            ledger, forwarded = ledger.forward(current, market)
            current = list(forwarded)
        assert all(ledger.root_of(b.id) not in ledger.cleared for b in current)
        accepted = {b.id: volumes[i] for i, b in enumerate(current)}
        ledger = ledger.record(market, accepted)
        accepted_roots += [ledger.root_of(b) for b, v in accepted.items() if v > 1e-6]
        # a market trying to clear again what an earlier one cleared is refused
        if accepted_roots and step > 0:
            with pytest.raises(DoubleClearingError):
                again = {accepted_roots[0]: 1.0} | ({current[0].id: 1.0} if current else {})
                ledger.record(market, again)
    assert len(accepted_roots) == len(set(accepted_roots))
    assert sorted(ledger.cleared) == sorted(accepted_roots)
    assert [c.lineage.root for c in ledger.history] == accepted_roots


def test_xor_siblings_of_a_cleared_bid_are_not_forwarded() -> None:
    bids = [_bid(0, xor="x"), _bid(1, xor="x"), _bid(2, xor="y")]
    ledger = ClearingLedger().offer(DSO, [b.id for b in bids]).record(DSO, {"b0": 0.5})
    assert [b.id for b in ledger.unused(bids)] == ["b2"]
    assert [b.id for b in ledger.forward(bids, TSO)[1]] == ["b2>tso"]


def test_xor_sibling_offered_elsewhere_is_kept_out_once_a_member_clears() -> None:
    """The sibling is never in the same pool as the cleared bid (one in a DSO area, one in the
    TSO area): the ledger remembers the set from the offer."""
    dso_bid, tso_bid = _bid(0, xor="x"), _bid(1, xor="x")
    ledger = ClearingLedger().offer(DSO, [dso_bid.id], exclusive_sets={dso_bid.id: "x"})
    ledger = ledger.record(DSO, {dso_bid.id: 1.0})
    assert ledger.unused([tso_bid]) == ()


def test_two_bids_of_one_root_accepted_in_one_market_are_refused_by_root() -> None:
    ledger = ClearingLedger().offer(DSO, ["b1", "b2"])
    ledger, (b1_day_ahead,) = ledger.forward([_bid(1)], MarketId.tso(Timeframe.DAY_AHEAD))
    ledger, (b1_near_real_time,) = ledger.forward(
        [b1_day_ahead], MarketId.tso(Timeframe.NEAR_REAL_TIME)
    )
    ledger = ledger.offer(TSO, [b1_day_ahead.id, b1_near_real_time.id, "b2"])
    with pytest.raises(DoubleClearingError, match=r"two bids of root b1 accepted$"):
        ledger.record(TSO, {b1_day_ahead.id: 1.0, b1_near_real_time.id: 0.5, "b2": 1.0})
    assert ledger.record(TSO, {b1_day_ahead.id: 1.0, "b2": 1.0}).cleared == {"b1": TSO, "b2": TSO}
