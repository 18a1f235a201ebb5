"""From a real clearing: its awards and rejections, and the orders they give, through the
documents and back (linked and exclusive bids included)."""

from __future__ import annotations

from datetime import timedelta

from flexcoord.clearing.market import clear
from flexcoord.clearing.result import RejectionReason
from flexcoord.operations import activation_orders
from flexcoord.standards.iec62325 import (
    AllocationResult,
    activation_order_document,
    allocation_document,
    import_activation_orders,
    import_allocation_result,
    import_reserve_bids,
    reserve_bid_document,
)
from tests.clearing.test_market import SUBMITTED, bid, need, register
from tests.standards.conftest import BSP, TSO, Header

KW = {"acknowledger": TSO, "acknowledgement_id": "ack-1", "now": SUBMITTED}


def _header(document_id: str) -> Header:
    return Header(
        document_id=document_id,
        created_at=SUBMITTED,
        sender=TSO,
        receiver=BSP,
        domain_id="10YNL----------L",
    )


def test_a_clearing_goes_through_the_documents_and_comes_back_equal() -> None:
    bids = [
        bid("cheap", "u1", activation_price_eur_per_mwh=10.0, exclusive_set="x"),
        bid("rival", "u2", activation_price_eur_per_mwh=20.0, exclusive_set="x"),
        bid("child", "u3", activation_price_eur_per_mwh=30.0, parent_bid_id="rival"),
        bid("dear", "u3", activation_price_eur_per_mwh=40.0),
    ]
    sent = import_reserve_bids(reserve_bid_document(bids, _header("bids-1")).xml, **KW)
    assert sent.accepted and list(sent.objects) == bids
    reg = register()
    result = clear(reg, [need(mw=1.5)], list(sent.objects))
    assert {(r.bid_id, r.reason) for r in result.rejections()} == {
        ("rival", RejectionReason.EXCLUDED_BY_XOR),
        ("child", RejectionReason.PARENT_NOT_ACCEPTED),
    }

    doc = allocation_document(result.awards(), result.rejections(), bids, _header("alloc-1"))
    back = import_allocation_result(doc.xml, **KW)
    assert back.accepted
    assert back.objects == (
        AllocationResult(
            awards=tuple(sorted(result.awards(), key=lambda a: (a.bid_id, a.mtu))),
            rejections=tuple(sorted(result.rejections(), key=lambda r: r.bid_id)),
        ),
    )

    orders = activation_orders(result.awards(), bids, reg, issued_at=SUBMITTED + timedelta(days=1))
    header = Header(
        document_id="act-1",
        created_at=SUBMITTED + timedelta(days=1),
        sender=TSO,
        receiver=BSP,
        domain_id="10YNL----------L",
    )
    got = import_activation_orders(activation_order_document(orders, header).xml, **KW)
    assert got.accepted and got.objects == orders
