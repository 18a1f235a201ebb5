"""Bids ↔ ReserveBid_MarketDocument: round trips, what is not carried, rejected documents."""

from __future__ import annotations

from datetime import timedelta

import pytest

from flexcoord.errors import InvalidInputError
from flexcoord.standards.iec62325 import (
    import_reserve_bids,
    reserve_bid_document,
)
from tests.standards.conftest import CREATED, TSO, bid, header, mtu


def _import(xml: bytes, **kw: object):  # type: ignore[no-untyped-def]
    return import_reserve_bids(xml, acknowledger=TSO, acknowledgement_id="ack-1", now=CREATED, **kw)  # type: ignore[arg-type]


BIDS = (
    # a divisible up bid with both prices, a minimum, a gap and a change of resolution
    bid(
        "b1",
        quantities=[mtu(0, 1.0), mtu(1, 2.5), mtu(4, 1.5), mtu(2, 3.0, minutes=60)],
        availability_price_eur_per_mw_h=3.25,
        min_acceptance=0.5,
        exclusive_set="x1",
    ),
    # an indivisible block down bid with a negative price, linked to b1, in b1's XOR set
    bid(
        "b2",
        resource_id="u2",
        direction="down",
        quantities=[mtu(0, 1.0)],
        activation_price_eur_per_mwh=-10.0,
        divisible=False,
        block=True,
        parent_bid_id="b1",
        exclusive_set="x1",
    ),
    # availability only, a tiny quantity
    bid(
        "b3",
        quantities=[mtu(3, 0.00001)],
        activation_price_eur_per_mwh=None,
        availability_price_eur_per_mw_h=0.0,
    ),
)


def test_bids_linked_and_exclusive_come_back_equal() -> None:
    doc = reserve_bid_document(BIDS, header())
    out = _import(doc.xml)
    assert doc.not_carried == ()
    assert out.accepted and out.acknowledgement.reasons[0].code == "A01"
    assert out.objects == BIDS
    assert out.acknowledgement.received_document_id == "doc-1"
    assert out.acknowledgement.receiver == header().sender


def test_what_the_document_cannot_hold_is_listed_and_lost_as_said() -> None:
    later = CREATED + timedelta(minutes=5)
    doc = reserve_bid_document([bid(q_mvar_per_mw=0.3), bid("b2", submitted_at=later)], header())
    assert len(doc.not_carried) == 2
    assert "q_mvar_per_mw=0.3" in doc.not_carried[0]
    assert "submitted_at" in doc.not_carried[1]
    back = _import(doc.xml).objects
    assert back[0].q_mvar_per_mw is None
    assert back[1].submitted_at == CREATED


def test_export_refuses_values_the_document_cannot_hold() -> None:
    with pytest.raises(InvalidInputError) as err:
        reserve_bid_document([bid(fsp_id="an-fsp-id-of-many-characters")], header())
    assert err.value.issues[0].field == "fsp_id"
    assert "16 characters" in err.value.issues[0].message


def _rejected(xml: bytes, **kw: object) -> list[tuple[str, str]]:
    out = _import(xml, **kw)
    assert not out.accepted and out.objects == () and out.header is None
    assert out.acknowledgement.reasons[0].code == "A02"
    return [(r.code, r.text) for r in out.acknowledgement.reasons[1:]]


def test_a_bad_value_is_rejected_naming_its_element_and_reason() -> None:
    xml = reserve_bid_document(BIDS, header()).xml
    bad = xml.replace(b"<divisible>A02</divisible>", b"<divisible>maybe</divisible>")
    assert _rejected(bad) == [
        ("999", "Bid_TimeSeries[2]/divisible: is 'maybe', expected one of ['A01', 'A02']")
    ]


def test_a_missing_required_element_and_a_negative_quantity_are_named() -> None:
    xml = reserve_bid_document(BIDS[:1], header()).xml
    bad = xml.replace(b"<quantity.quantity>2.5<", b"<quantity.quantity>-2.5<")
    bad = bad.replace(b"<auction.mRID>p-da</auction.mRID>", b"")
    reasons = _rejected(bad)
    assert ("999", "Bid_TimeSeries[1]/auction.mRID: is required and missing") in reasons
    bad = xml.replace(b"<quantity.quantity>2.5<", b"<quantity.quantity>-2.5<")
    ((code, text),) = _rejected(bad)
    assert (code, text) == (
        "A42",
        "Bid_TimeSeries[1]/Period[1]/Point[2]/quantity.quantity: is -2.5: a bid offers > 0 MW",
    )


def test_prices_that_differ_between_points_are_rejected() -> None:
    xml = reserve_bid_document(BIDS[:1], header()).xml
    bad = xml.replace(b"<energy_Price.amount>120.5<", b"<energy_Price.amount>99<", 1)
    ((code, text),) = _rejected(bad)
    assert code == "A59" and "energy_Price.amount" in text and "one activation price" in text


def test_a_duplicate_bid_id_and_a_late_document_get_their_codes() -> None:
    xml = reserve_bid_document([bid("b1"), bid("b2")], header()).xml
    dup = xml.replace(b"<mRID>b2</mRID>", b"<mRID>b1</mRID>")
    assert [c for c, _ in _rejected(dup)] == ["A55"]
    late = _rejected(xml, gate_closure=CREATED - timedelta(hours=1))
    assert [c for c, _ in late] == ["A57"]


def test_a_resolution_that_does_not_divide_its_period_is_rejected() -> None:
    xml = reserve_bid_document([bid()], header()).xml
    ((code, text),) = _rejected(xml.replace(b"<resolution>PT15M<", b"<resolution>PT20M<"))
    assert code == "A41" and text.startswith("Bid_TimeSeries[1]/Period[1]/resolution")


def test_another_document_type_is_rejected() -> None:
    ((code, text),) = _rejected(b"<Publication_MarketDocument/>")
    assert code == "999" and "is not a ReserveBid_MarketDocument" in text
