"""The double-clearing guard under generated forwarding chains."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flexcoord.coordination.ledger import ClearingLedger, DoubleClearingError, forwarded_id, root_of
from flexcoord.domain import Bid

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


def test_forwarded_ids_keep_their_root() -> None:
    assert root_of(forwarded_id(forwarded_id("b7", "tso-da"), "tso-nrt")) == "b7"


def test_a_cleared_bid_is_never_forwarded_nor_recorded_twice() -> None:
    ledger = ClearingLedger()
    bids = [_bid(i) for i in range(3)]
    ledger.offer("dso", [b.id for b in bids])
    ledger.record("dso", {"b0": 1.0, "b1": 0.0})
    forwarded = ledger.forward(bids, "tso")
    assert [b.id for b in forwarded] == ["b1>tso", "b2>tso"]
    with pytest.raises(DoubleClearingError, match="already cleared"):
        ledger.offer("tso", ["b0>tso"])
    with pytest.raises(DoubleClearingError, match="not offered"):
        ledger.record("tso", {"b0>tso": 0.5})
    assert ledger.cleared == {"b0": "dso"}  # nothing half-recorded


def test_forwarding_renames_xor_sets_and_links_and_drops_orphans() -> None:
    ledger = ClearingLedger()
    bids = [_bid(0, xor="x"), _bid(1, xor="x"), _bid(2), _bid(3, parent="b2")]
    ledger.offer("dso", [b.id for b in bids])
    ledger.record("dso", {"b2": 1.0})
    out = {b.id: b for b in ledger.forward(bids, "tso")}
    assert set(out) == {"b0>tso", "b1>tso"}  # b3's parent was cleared: b3 cannot clear alone
    assert {b.exclusive_set for b in out.values()} == {"x>tso"}


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
    originals = [_bid(i) for i in range(n_bids)]
    current = originals
    accepted_roots: list[str] = []
    for step, (market, volumes) in enumerate(chain):
        market_id = f"{market}#{step}"
        if step == 0:
            ledger.offer(market_id, [b.id for b in current])
        else:
            current = list(ledger.forward(current, market_id))
        assert all(root_of(b.id) not in ledger.cleared for b in current)
        accepted = {b.id: volumes[i] for i, b in enumerate(current)}
        ledger.record(market_id, accepted)
        accepted_roots += [root_of(b) for b, v in accepted.items() if v > 1e-6]
        # a market trying to clear again what an earlier one cleared is refused, atomically
        if accepted_roots and step > 0:
            before = dict(ledger.cleared)
            with pytest.raises(DoubleClearingError):
                again = {accepted_roots[0]: 1.0} | ({current[0].id: 1.0} if current else {})
                ledger.record(market_id, again)
            assert ledger.cleared == before
    assert len(accepted_roots) == len(set(accepted_roots))
    assert sorted(ledger.cleared) == sorted(accepted_roots)


def test_xor_siblings_of_a_cleared_bid_are_not_forwarded() -> None:
    ledger = ClearingLedger()
    bids = [_bid(0, xor="x"), _bid(1, xor="x"), _bid(2, xor="y")]
    ledger.offer("dso", [b.id for b in bids])
    ledger.record("dso", {"b0": 0.5})
    assert [b.id for b in ledger.unused(bids)] == ["b2"]
    assert [b.id for b in ledger.forward(bids, "tso")] == ["b2>tso"]


def test_xor_sibling_offered_elsewhere_is_kept_out_once_a_member_clears() -> None:
    """The sibling is never in the same pool as the cleared bid (one in a DSO area, one in the
    TSO area): the ledger remembers the set from the offer."""
    ledger = ClearingLedger()
    dso_bid, tso_bid = _bid(0, xor="x"), _bid(1, xor="x")
    ledger.offer("dso", [dso_bid.id], exclusive_sets={dso_bid.id: "x"})
    ledger.record("dso", {dso_bid.id: 1.0})
    assert ledger.unused([tso_bid]) == ()
