"""A cleared session's IEC 62325 documents at the API: the allocation result each party may
read (what each bid got, or why nothing), and the FSPs' answers to their activation orders
(an ``A41`` Activation_MarketDocument), recorded all or none against the order lifecycle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from flexcoord.operations import ActivationOrder, OrderEvent, OrderStatus
from flexcoord.service import ServiceSettings
from flexcoord.service.tables import OrderEventRow
from flexcoord.service.worker import Worker
from flexcoord.standards.iec62325 import (
    Header,
    Party,
    activation_response_document,
    import_activation_orders,
    import_allocation_result,
    parse_acknowledgement,
)
from tests.service.conftest import Api, Clock
from tests.service.markets import GATE_CLOSES
from tests.service.platform import GRID, bid, need, open_session, register_grid

pytestmark = pytest.mark.slow  # each test clears a session with the real worker

PLATFORM = Party(id="10X1001A1001A361", role="A04")
XML = {"Content-Type": "application/xml"}
ALLOCATION = "/v1/sessions/s1/documents/allocation-result"
ORDERS = "/v1/sessions/s1/documents/activation-orders"
RESPONSES = "/v1/sessions/s1/documents/activation-responses"


def _cleared(api: Api, engine: Engine, clock: Clock) -> list[tuple[str, str]]:
    """Six 0.2 MW bids at rising prices against one 0.5 MW need: three win, three do not."""
    units = register_grid(api)
    open_session(api)
    need(api, mw=0.5)
    for n, (fsp, unit_id) in enumerate(units):
        bid(api, fsp, unit_id, f"b{n}", price=50.0 + 10 * n)
    clock.now = GATE_CLOSES
    Worker(engine=engine, settings=ServiceSettings(grid_code=GRID, clock=clock)).run_once()
    return units


def test_each_party_reads_what_its_bids_got_or_why_not(
    api: Api, engine: Engine, clock: Clock
) -> None:
    units = register_grid(api)
    open_session(api)
    need(api, mw=0.5)
    for n, (fsp, unit_id) in enumerate(units):
        bid(api, fsp, unit_id, f"b{n}", price=50.0 + 10 * n)
    r = api.as_("fsp-a", "GET", ALLOCATION)
    assert r.status_code == 404 and "not cleared" in r.json()["detail"]  # before the clearing
    clock.now = GATE_CLOSES
    Worker(engine=engine, settings=ServiceSettings(grid_code=GRID, clock=clock)).run_once()
    everyone_rejected: set[str] = set()
    for party in ("fsp-a", "fsp-b", "dso", "mo"):
        r = api.as_(party, "GET", ALLOCATION)
        assert r.status_code == 200, (party, r.text)
        assert r.headers["content-type"].startswith("application/xml")
        read = import_allocation_result(
            r.content, acknowledger=PLATFORM, acknowledgement_id="a", now=clock.now
        )
        assert read.accepted, read.problems
        assert read.header is not None and read.header.receiver.id == party
        (result,) = read.objects
        listed = api.as_(party, "GET", "/v1/sessions/s1/awards").json()
        summed: dict[tuple[str, str], float] = {}
        for a in listed:
            key = (a["bid_id"], datetime.fromisoformat(a["mtu_start"]).isoformat())
            summed[key] = summed.get(key, 0.0) + a["quantity_mw"]
        assert {(a.bid_id, a.mtu): round(a.quantity_mw, 6) for a in result.awards} == {
            k: round(v, 6) for k, v in summed.items()
        }
        rejected = {x.bid_id: x.reason.value for x in result.rejections}
        if party == "dso":
            assert rejected == {}  # no one bought them: the buyer sees only what it bought
        else:
            assert set(rejected.values()) == {"need-covered-by-cheaper-bids"}, rejected
            assert not rejected.keys() & {a.bid_id for a in result.awards}
            everyone_rejected |= rejected.keys()
    assert everyone_rejected == {"b3", "b4", "b5"}  # the dearest three: the need was covered
    r = api.as_("tso", "GET", ALLOCATION)  # the TSO bought nothing here
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    r = api.as_("mo", "GET", ALLOCATION, params={"fsp": "fsp-b"})
    (only_b,) = import_allocation_result(
        r.content, acknowledger=PLATFORM, acknowledgement_id="a", now=clock.now
    ).objects
    fsp_b = {f"b{n}" for n, (fsp, _) in enumerate(units) if fsp == "fsp-b"}
    named = {a.bid_id for a in only_b.awards} | {x.bid_id for x in only_b.rejections}
    assert named == fsp_b


def _orders(api: Api, party: str, now: datetime) -> list[ActivationOrder]:
    r = api.as_(party, "GET", ORDERS)
    assert r.status_code == 200, r.text
    read = import_activation_orders(
        r.content, acknowledger=PLATFORM, acknowledgement_id="a", now=now
    )
    assert read.accepted, read.problems
    return list(read.objects)


def _answers(
    orders: list[ActivationOrder], status: str, at: datetime, *, sender: str, doc: str
) -> bytes:
    head = Header(
        document_id=doc,
        created_at=at,
        sender=Party(id=sender, role="A46"),
        receiver=PLATFORM,
        domain_id="10YNL----------L",
    )
    events = [OrderEvent(order_id=o.id, status=status, at=at) for o in orders]
    return activation_response_document(events, {o.id: o for o in orders}, head).xml


def _events(engine: Engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(OrderEventRow)) or 0


def _post(api: Api, party: str, data: bytes) -> tuple[int, list[str]]:
    r = api.as_(party, "POST", RESPONSES, content=data, headers=XML)
    assert r.headers["content-type"].startswith("application/xml"), r.text
    first, *rest = parse_acknowledgement(r.content).reasons
    assert first.code == ("A01" if r.status_code == 201 else "A02")
    return r.status_code, [f"{p.code} {p.text}" for p in rest]


def test_an_fsp_answers_its_orders_with_a_document_checked_against_their_lifecycle(
    api: Api, engine: Engine, clock: Clock
) -> None:
    _cleared(api, engine, clock)
    at = (GATE_CLOSES + timedelta(minutes=2)).astimezone(UTC)
    mine, theirs = _orders(api, "fsp-a", clock.now), _orders(api, "fsp-b", clock.now)
    assert mine and theirs

    # another FSP's orders, or a document sent in another's name: refused whole, nothing kept
    status, why = _post(
        api, "fsp-a", _answers(mine + theirs[:1], "acknowledged", at, sender="fsp-a", doc="r0")
    )
    assert status == 422 and len(why) == 1 and "names no activation order of yours" in why[0], why
    status, why = _post(api, "fsp-a", _answers(mine, "acknowledged", at, sender="fsp-b", doc="r0"))
    assert status == 422 and "is not the sending party" in why[0], why
    # an answer before the order was issued breaks the lifecycle
    early = GATE_CLOSES - timedelta(hours=1)
    status, why = _post(
        api, "fsp-a", _answers(mine, "acknowledged", early, sender="fsp-a", doc="r0")
    )
    assert status == 422 and len(why) == len(mine), why
    assert _events(engine) == 0

    status, why = _post(api, "fsp-a", _answers(mine, "acknowledged", at, sender="fsp-a", doc="r1"))
    assert (status, why) == (201, [])
    listed = api.as_("fsp-a", "GET", "/v1/activations", params={"session_id": "s1"}).json()
    assert {o["status"] for o in listed} == {"acknowledged"}
    everyone = api.as_("mo", "GET", "/v1/activations", params={"session_id": "s1"}).json()
    assert {o["status"] for o in everyone} == {"acknowledged", "ordered"}  # fsp-b: silent

    status, why = _post(api, "fsp-a", _answers(mine, "acknowledged", at, sender="fsp-a", doc="r1"))
    assert status == 409 and why[0].startswith("A55"), why  # the same document again
    status, why = _post(api, "fsp-a", _answers(mine, "acknowledged", at, sender="fsp-a", doc="r2"))
    assert status == 422 and "cannot follow" in why[0], why  # acknowledged twice
    status, why = _post(
        api, "fsp-a", _answers(mine[:1], OrderStatus.FAILED, at, sender="fsp-a", doc="r3")
    )
    assert (status, why) == (201, [])  # an acknowledged order may still fail
    assert _events(engine) == len(mine) + 1
    listed = api.as_("fsp-a", "GET", "/v1/activations", params={"session_id": "s1"}).json()
    assert sorted(o["status"] for o in listed) == sorted(
        ["failed"] + ["acknowledged"] * (len(mine) - 1)
    )
    r = api.as_("dso", "POST", RESPONSES, content=b"<x/>", headers=XML)
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
