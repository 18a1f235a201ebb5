"""Every document flexcoord writes validates against the official ENTSO-E XSD, and an import
checked against the schema names the element at fault (skipped without the XSD folder)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from flexcoord.operations import OrderEvent
from flexcoord.standards.iec62325 import (
    acknowledgement_xml,
    activation_order_document,
    activation_response_document,
    allocation_document,
    import_reserve_bids,
    reserve_bid_document,
    schema_violations,
)
from tests.standards.conftest import BSP, CREATED, TSO, header
from tests.standards.test_activation_allocation import AWARDS, ORDERS, REJECTIONS
from tests.standards.test_activation_allocation import BIDS as CLEARED
from tests.standards.test_bids import BIDS


def exported_documents() -> dict[str, bytes]:
    """One document of each kind flexcoord writes, by name (the binding check uses them too)."""
    events = (OrderEvent(order_id=ORDERS[0].id, status="failed", at=CREATED, detail="tripped"),)
    accepted = import_reserve_bids(
        reserve_bid_document(BIDS, header()).xml,
        acknowledger=TSO,
        acknowledgement_id="a1",
        now=CREATED,
    )
    rejected = import_reserve_bids(
        b"<x/>", acknowledger=TSO, acknowledgement_id="a2", now=CREATED + timedelta(seconds=1)
    )
    return {
        "bids": reserve_bid_document(BIDS, header()).xml,
        "orders": activation_order_document(ORDERS, header(sender=TSO, receiver=BSP)).xml,
        "responses": activation_response_document(events, {o.id: o for o in ORDERS}, header()).xml,
        "allocation": allocation_document(AWARDS, REJECTIONS, CLEARED, header()).xml,
        "ack-accepted": acknowledgement_xml(accepted.acknowledgement),
        "ack-rejected": acknowledgement_xml(rejected.acknowledgement),
    }


def test_every_exported_document_validates_against_its_xsd(xsd_dir: Path) -> None:
    documents = exported_documents()
    violations = {name: schema_violations(xml, xsd_dir) for name, xml in documents.items()}
    assert violations == dict.fromkeys(documents, ())


def test_an_import_checked_against_the_schema_names_the_element(xsd_dir: Path) -> None:
    xml = reserve_bid_document(BIDS[:1], header()).xml
    bad = xml.replace(b"<businessType>B74</businessType>", b"<businessType>ZZZ</businessType>")
    out = import_reserve_bids(
        bad, acknowledger=TSO, acknowledgement_id="a1", now=CREATED, schema_dir=xsd_dir
    )
    assert not out.accepted and out.objects == ()
    assert out.problems[0].startswith("Bid_TimeSeries[1]/businessType: violates the schema")
