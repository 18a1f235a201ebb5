"""Activation orders and responses ↔ Activation_MarketDocument; a clearing's awards and
rejections ↔ ReserveAllocationResult_MarketDocument; acknowledgements both ways."""

from __future__ import annotations

from datetime import timedelta

import pytest

from flexcoord.clearing.result import Award, Rejection, RejectionReason
from flexcoord.coordination.identities import Mtu
from flexcoord.domain import Direction, Interval
from flexcoord.errors import InvalidInputError
from flexcoord.operations import ActivationOrder, OrderEvent, OrderId, OrderStatus
from flexcoord.standards.iec62325 import (
    Acknowledgement,
    AckReason,
    AllocationResult,
    acknowledgement_xml,
    activation_order_document,
    activation_response_document,
    allocation_document,
    import_activation_orders,
    import_activation_responses,
    import_allocation_result,
    parse_acknowledgement,
)
from tests.standards.conftest import BSP, CREATED, T0, TSO, bid, header, mtu


def order(
    bid_id: str, unit_id: str, k: int, mw: float, direction: str = "up", buyer: str | None = "dso-1"
) -> ActivationOrder:
    interval = Interval(
        start=T0 + timedelta(minutes=15 * k), end=T0 + timedelta(minutes=15 * (k + 1))
    )
    return ActivationOrder(
        id=OrderId(bid_id, unit_id, Mtu(interval.start)),
        bid_id=bid_id,
        unit_id=unit_id,
        fsp_id="fsp-1",
        buyer_id=buyer,
        interval=interval,
        direction=Direction(direction),
        quantity_mw=mw,
        energy_mwh=mw * 0.25,
        issued_at=CREATED,
    )


ORDERS = (
    order("b1", "u1", 0, 0.75),
    order("b1", "u2", 0, 2.25, buyer=None),
    order("b2", "u1", 3, 1.0, "down"),
)
KW = {"acknowledger": BSP, "acknowledgement_id": "ack-9", "now": CREATED}


def test_activation_orders_come_back_equal() -> None:
    doc = activation_order_document(ORDERS, header(sender=TSO, receiver=BSP))
    out = import_activation_orders(doc.xml, **KW)  # type: ignore[arg-type]
    assert doc.not_carried == () and out.accepted
    assert out.objects == ORDERS


def test_activation_responses_come_back_equal_and_a_request_is_not_a_response() -> None:
    events = (
        OrderEvent(order_id=ORDERS[0].id, status="acknowledged", at=CREATED),
        OrderEvent(order_id=ORDERS[2].id, status="failed", at=CREATED, detail="unit tripped"),
    )
    by_id = {o.id: o for o in ORDERS}
    doc = activation_response_document(events, by_id, header())
    out = import_activation_responses(doc.xml, **KW)  # type: ignore[arg-type]
    assert out.accepted and out.objects == events
    orders_doc = activation_order_document(ORDERS, header()).xml
    rejected = import_activation_responses(orders_doc, **KW)  # type: ignore[arg-type]
    assert not rejected.accepted and rejected.objects == ()
    assert rejected.problems[0].startswith("type: is 'A40', expected one of ['A41']")


def test_a_response_needs_an_answer_status_and_a_known_order() -> None:
    ordered = OrderEvent(order_id=ORDERS[0].id, status=OrderStatus.ORDERED, at=CREATED)
    with pytest.raises(InvalidInputError) as err:
        activation_response_document([ordered], {}, header())
    assert {i.field for i in err.value.issues} == {"status", "order_id"}


def test_an_order_of_two_mtus_in_one_series_is_rejected_naming_it() -> None:
    xml = activation_order_document(ORDERS[:1], header()).xml
    bad = xml.replace(b"10:15Z", b"10:30Z").replace(
        b"</Point>", b"</Point><Point><position>2</position><quantity>1</quantity></Point>"
    )
    out = import_activation_orders(bad, **KW)  # type: ignore[arg-type]
    assert not out.accepted and out.objects == ()
    assert out.acknowledgement.reasons[1].code == "A59"
    assert out.problems[0].startswith("TimeSeries[1]/Period: holds more than one MTU")


AWARDS = (
    Award(
        bid_id="b1",
        mtu=Mtu(T0).label,
        quantity_mw=0.75,
        price_eur_per_mwh=120.5,
        payment_eur=22.59375,
    ),
    Award(
        bid_id="b1",
        mtu=Mtu(T0 + timedelta(minutes=15)).label,
        quantity_mw=2.5,
        price_eur_per_mwh=130.0,
        payment_eur=81.25,
    ),
)
REJECTIONS = (
    Rejection(
        bid_id="b2",
        reason=RejectionReason.GRID_LIMIT,
        detail="line_3 upper limit at 2026-06-01T10:00:00+00:00",
    ),
    Rejection(
        bid_id="b3", reason=RejectionReason.PARENT_NOT_ACCEPTED, detail="parent bid b2 not accepted"
    ),
)
BIDS = (
    bid("b1"),
    bid("b2", direction="down", quantities=[mtu(0, 1.0)]),
    bid("b3", quantities=[mtu(0, 1.0), mtu(1, 1.0)], parent_bid_id="b2"),
)


def test_awards_and_rejections_come_back_equal() -> None:
    doc = allocation_document(AWARDS, REJECTIONS, BIDS, header(sender=TSO, receiver=BSP))
    out = import_allocation_result(doc.xml, **KW)  # type: ignore[arg-type]
    assert out.accepted
    assert out.objects == (AllocationResult(awards=AWARDS, rejections=REJECTIONS),)


def test_an_award_outside_its_bid_is_refused_on_export() -> None:
    stray = Award(
        bid_id="b1",
        mtu=Mtu(T0 + timedelta(hours=5)).label,
        quantity_mw=1.0,
        price_eur_per_mwh=1.0,
        payment_eur=0.25,
    )
    with pytest.raises(InvalidInputError, match="is not an MTU of bid 'b1'"):
        allocation_document([stray], [], BIDS, header())


def test_an_unknown_rejection_reason_is_rejected_naming_the_text() -> None:
    xml = allocation_document(AWARDS, REJECTIONS, BIDS, header()).xml
    bad = xml.replace(b"grid-limit:", b"weather:")
    out = import_allocation_result(bad, **KW)  # type: ignore[arg-type]
    assert not out.accepted and out.objects == ()
    assert out.acknowledgement.reasons[1].code == "A59"
    assert out.problems[0].startswith("TimeSeries[2]/Reason[1]/text: starts with 'weather'")


def test_an_acknowledgement_comes_back_equal() -> None:
    ack = Acknowledgement(
        document_id="ack-1",
        created_at=CREATED,
        sender=TSO,
        receiver=BSP,
        reasons=(
            AckReason(code="A02", text="Message fully rejected"),
            AckReason(code="A57", text="createdDateTime: after the gate closure"),
        ),
        received_document_id="doc-1",
        received_revision=1,
        received_type="A37",
        received_created_at=CREATED,
    )
    back = parse_acknowledgement(acknowledgement_xml(ack))
    assert back == ack and not back.accepted


def test_a_hostile_acknowledgement_is_an_input_error() -> None:
    with pytest.raises(InvalidInputError, match="document type"):
        parse_acknowledgement(b'<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>')
