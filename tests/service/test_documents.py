"""Bids as an IEC 62325-451 ReserveBid_MarketDocument at the API: stored whole through the
same rules as JSON bids and acknowledged ``A01``, or refused whole with an ``A02``
acknowledgement naming each element at fault, nothing written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from flexcoord.domain import Bid
from flexcoord.service import ServiceSettings
from flexcoord.service.tables import AuditEventRow, BidRow
from flexcoord.service.worker import Worker
from flexcoord.standards.iec62325 import (
    Acknowledgement,
    Header,
    Party,
    import_activation_orders,
    parse_acknowledgement,
    reserve_bid_document,
)
from tests.service.conftest import Api, Clock
from tests.service.markets import FIRST_MTU, GATE_CLOSES, bid_body, market
from tests.service.platform import GRID, bid, need, open_session, register_grid

PATH = "/v1/sessions/s1/documents/reserve-bids"
XML = {"Content-Type": "application/xml"}
FSP = Party(id="fsp-a", role="A46")
PLATFORM = Party(id="10X1001A1001A361", role="A04")


def _bid(bid_id: str, k: int = 40, **kw: Any) -> Bid:
    start = FIRST_MTU + k * timedelta(minutes=15)
    fields: dict[str, Any] = {
        "id": bid_id,
        "fsp_id": "fsp-a",
        "resource_id": "u1",
        "product_id": "da-cm",
        "direction": "up",
        "quantities": [{"start": start, "end": start + timedelta(minutes=15), "quantity": 0.4}],
        "submitted_at": datetime(2026, 6, 1, 8, 30, tzinfo=UTC),
        "activation_price_eur_per_mwh": 100.0,
    }
    return Bid(**{**fields, **kw})


def _document(*bids: Bid, document_id: str = "doc-1") -> bytes:
    head = Header(
        document_id=document_id,
        created_at=datetime(2026, 6, 1, 8, 30, tzinfo=UTC),
        sender=FSP,
        receiver=PLATFORM,
        domain_id="10YNL----------L",
    )
    return reserve_bid_document(bids, head).xml


def _post(api: Api, data: bytes, party: str = "fsp-a") -> tuple[int, Acknowledgement]:
    r = api.as_(party, "POST", PATH, content=data, headers=XML)
    assert r.headers["content-type"].startswith("application/xml"), r.text
    return r.status_code, parse_acknowledgement(r.content)


def _stored(engine: Engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(BidRow)) or 0


def test_a_document_is_stored_as_the_same_bids_json_gives_and_acknowledged(api: Api) -> None:
    market(api)
    linked = _bid("b2", k=41, parent_bid_id="b1", divisible=False)
    status, ack = _post(api, _document(_bid("b1", exclusive_set="x1"), linked))
    assert status == 201, ack.reasons
    assert [r.code for r in ack.reasons] == ["A01"]
    assert ack.received_document_id == "doc-1" and ack.receiver == FSP
    stored = {b["id"]: b for b in api.as_("fsp-a", "GET", "/v1/sessions/s1/bids").json()}
    assert sorted(stored) == ["b1", "b2"]
    assert stored["b2"]["parent_bid_id"] == "b1" and stored["b2"]["divisible"] is False
    # the same bid through the JSON route is stored with the same fields
    json_bid = api.as_("fsp-a", "POST", "/v1/sessions/s1/bids", json=bid_body("b3", k=40))
    assert json_bid.status_code == 201, json_bid.text
    keep = ("resource_id", "direction", "quantities", "activation_price_eur_per_mwh", "block")
    assert {k: stored["b1"][k] for k in keep} == {k: json_bid.json()[k] for k in keep}


def test_a_bid_breaking_a_rule_refuses_the_whole_document(api: Api, engine: Engine) -> None:
    market(api)
    start = FIRST_MTU + 40 * timedelta(minutes=15)
    too_big = [{"start": start, "end": start + timedelta(minutes=15), "quantity": 0.9}]
    data = _document(_bid("b1"), _bid("b2", quantities=too_big), _bid("b3", resource_id="ub"))
    status, ack = _post(api, data)
    assert status == 422
    assert [r.code for r in ack.reasons] == ["A02", "A59", "A59"]
    texts = [r.text for r in ack.reasons[1:]]
    assert texts[0].startswith("Bid_TimeSeries[2]/quantities[0].quantity: 0.9 exceeds")
    assert texts[1] == "Bid_TimeSeries[3]/resource_id: 'ub' is not a registered unit or group"
    assert _stored(engine) == 0
    with Session(engine) as session:
        refused = session.scalars(
            select(AuditEventRow.status).where(AuditEventRow.operation == "bid.submit_document")
        ).all()
    assert refused == [422]


def test_bids_of_another_fsp_or_product_are_refused(api: Api, engine: Engine) -> None:
    market(api)
    status, ack = _post(api, _document(_bid("b1", fsp_id="fsp-b"), _bid("b2", product_id="x")))
    assert status == 422
    assert [r.text.split(":")[0] for r in ack.reasons[1:]] == [
        "Bid_TimeSeries[1]/provider_MarketParticipant.mRID",
        "Bid_TimeSeries[2]/auction.mRID",
    ]
    assert _stored(engine) == 0


def test_a_sealed_session_and_a_resent_document_are_refused(api: Api, clock: Clock) -> None:
    market(api)
    data = _document(_bid("b1"))
    assert _post(api, data)[0] == 201
    status, ack = _post(api, data)
    assert status == 409 and [r.code for r in ack.reasons] == ["A02", "A55"]
    assert ack.reasons[1].text.startswith("Bid_TimeSeries[1]/id: 'b1' is already used")
    clock.now = GATE_CLOSES
    status, ack = _post(api, _document(_bid("b9"), document_id="doc-2"))
    assert status == 409 and [r.code for r in ack.reasons] == ["A02", "A57"]
    assert "sealed" in ack.reasons[1].text


def test_a_hostile_or_broken_document_is_refused_and_nothing_written(
    api: Api, engine: Engine
) -> None:
    market(api)
    good = _document(_bid("b1")).decode()
    xxe = good.replace(
        "<?xml version='1.0' encoding='UTF-8'?>",
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
    ).replace("<mRID>b1</mRID>", "<mRID>&x;</mRID>")
    no_id = good.replace("<mRID>b1</mRID>", "").encode()
    for data, reason in (
        (xxe.encode(), "document: declares a document type (DTD)"),
        (b"not xml", "line 1: is not well-formed XML"),
        (no_id, "Bid_TimeSeries[1]/mRID: is required"),
    ):
        status, ack = _post(api, data)
        assert status == 422 and ack.reasons[0].code == "A02"
        assert ack.reasons[1].text.startswith(reason), ack.reasons
    assert _stored(engine) == 0


def test_who_may_not_send_or_where_to_is_still_a_problem(api: Api) -> None:
    market(api)
    r = api.as_("dso-a", "POST", PATH, content=_document(_bid("b1")), headers=XML)
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
    r = api.as_("fsp-a", "POST", PATH.replace("s1", "s9"), content=b"<x/>", headers=XML)
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"


@pytest.mark.slow
def test_the_activation_orders_a_party_may_see_are_read_as_a_document(
    api: Api, engine: Engine, clock: Clock
) -> None:
    units = register_grid(api)
    open_session(api)
    need(api, mw=0.5)
    for n, (fsp, unit_id) in enumerate(units):
        bid(api, fsp, unit_id, f"b{n}", price=50.0 + 10 * n)
    path = "/v1/sessions/s1/documents/activation-orders"
    assert api.as_("fsp-a", "GET", path).status_code == 404  # not cleared yet: none
    clock.now = GATE_CLOSES
    Worker(engine=engine, settings=ServiceSettings(grid_code=GRID, clock=clock)).run_once()
    seen = 0
    for party in ("fsp-a", "fsp-b", "dso", "tso", "mo"):
        listed = api.as_(party, "GET", "/v1/activations", params={"session_id": "s1"}).json()
        r = api.as_(party, "GET", path)
        if not listed:  # nothing this party may see: no document
            assert r.status_code == 404, (party, r.text)
            assert r.headers["content-type"] == "application/problem+json"
            continue
        assert r.status_code == 200, (party, r.text)
        assert r.headers["content-type"].startswith(XML["Content-Type"])
        read = import_activation_orders(
            r.content, acknowledger=PLATFORM, acknowledgement_id="a", now=clock.now, schema_dir=None
        )
        assert read.accepted, read.problems
        assert read.header is not None and read.header.receiver.id == party
        assert sorted(
            (str(o.id), o.fsp_id, o.direction.value, round(o.quantity_mw, 6), o.issued_at)
            for o in read.objects
        ) == sorted(
            (
                f"{o['bid_id']}/{o['unit_id']}/{datetime.fromisoformat(o['mtu_start']).isoformat()}",
                o["owner_id"],
                o["direction"],
                round(o["quantity_mw"], 6),
                datetime.fromisoformat(o["issued_at"]),
            )
            for o in listed
        )
        seen += len(listed)
    assert seen > 0
