"""Bids: gate boundaries by the server clock, domain validation, bulk all-or-nothing,
idempotency, ownership, replacement and withdrawal, the sealed session."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from flexcoord.service import bid_store
from flexcoord.service.tables import AuditEventRow, BidRow
from tests.service.conftest import Api, Clock
from tests.service.markets import GATE_CLOSES, GATE_OPENS, bid_body, market

BIDS = "/v1/sessions/s1/bids"
DOCUMENTS = "/v1/sessions/s1/bid-documents"
MICROSECOND = timedelta(microseconds=1)


def _fields(r: Any) -> list[tuple[str, str, str]]:
    return [(e["kind"], e["object_id"], e["field"]) for e in r.json()["errors"]]


def test_the_gate_accepts_until_one_microsecond_before_closure(api: Api, clock: Clock) -> None:
    market(api)
    clock.now = GATE_OPENS - MICROSECOND
    r = api.as_("fsp-a", "POST", BIDS, json=bid_body("early"))
    assert r.status_code == 409
    assert _fields(r) == [("MarketSession", "s1", "gate_opens_at")]
    clock.now = GATE_OPENS
    assert api.as_("fsp-a", "POST", BIDS, json=bid_body("first")).status_code == 201
    clock.now = GATE_CLOSES - MICROSECOND
    r = api.as_("fsp-a", "POST", BIDS, json=bid_body("last"))
    assert r.status_code == 201, r.text
    assert r.json()["submitted_at"].startswith("2026-06-01T09:59:59.999999")
    clock.now = GATE_CLOSES
    r = api.as_("fsp-a", "POST", BIDS, json=bid_body("late"))
    assert r.status_code == 409
    assert _fields(r) == [("MarketSession", "s1", "gate_closes_at")]
    assert "sealed" in r.json()["errors"][0]["message"]
    ids = [b["id"] for b in api.as_("fsp-a", "GET", BIDS).json()]
    assert ids == ["first", "last"]


def test_a_bid_is_checked_by_the_domain_against_the_fsps_register(api: Api) -> None:
    market(api)
    body = bid_body("b1", quantities=[{**bid_body("x")["quantities"][0], "quantity": 0.9}])
    r = api.as_("fsp-a", "POST", BIDS, json=body)
    assert r.status_code == 422
    assert _fields(r) == [("Bid", "b1", "quantities[0].quantity")]
    assert "exceeds the 0.5 MW range of Unit 'u1'" in r.json()["errors"][0]["message"]
    r = api.as_("fsp-a", "POST", BIDS, json={**bid_body("b2"), "fsp_id": "fsp-b"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "fsp_id"


def test_a_foreign_resource_reads_as_an_unknown_one(api: Api) -> None:
    market(api)
    foreign = api.as_("fsp-a", "POST", BIDS, json=bid_body("b1", resource="ub"))
    unknown = api.as_("fsp-a", "POST", BIDS, json=bid_body("b1", resource="nope"))
    assert foreign.status_code == unknown.status_code == 422
    assert _fields(foreign) == [("Bid", "b1", "resource_id")]
    message = foreign.json()["errors"][0]["message"]
    assert message == unknown.json()["errors"][0]["message"] == "is not a registered unit or group"
    assert api.as_("fsp-b", "POST", BIDS, json=bid_body("b1", resource="ub")).status_code == 201


def test_a_bulk_document_is_stored_whole_or_not_at_all(api: Api, engine: Engine) -> None:
    market(api)
    bids = [bid_body(f"b{n}", k=n) for n in range(10)]
    bids[3] = {**bids[3], "resource_id": "ub"}
    bids[7] = {**bids[7], "activation_price_eur_per_mwh": None}
    r = api.as_("fsp-a", "POST", DOCUMENTS, json={"bids": bids})
    assert r.status_code == 422, r.text
    assert sorted(_fields(r)) == [
        ("Bid", "b3", "resource_id"),
        ("Bid", "b7", "activation_price_eur_per_mwh"),
    ]
    assert api.as_("fsp-a", "GET", BIDS).json() == []
    good = [bid_body(f"b{n}", k=n) for n in range(10)]
    r = api.as_("fsp-a", "POST", DOCUMENTS, json={"bids": good})
    assert r.status_code == 201, r.text
    assert r.json()["bid_ids"] == [f"b{n}" for n in range(10)]
    assert len(api.as_("fsp-a", "GET", BIDS).json()) == 10
    with Session(engine) as session:
        events = session.scalars(
            select(AuditEventRow.outcome).where(AuditEventRow.operation == "bid.submit_bulk")
        ).all()
    assert events == ["rejected", "accepted"]
    r = api.as_("fsp-a", "POST", DOCUMENTS, json={"bids": [bid_body("b0"), bid_body("new")]})
    assert r.status_code == 409
    assert _fields(r) == [("Bid", "b0", "id")]
    assert len(api.as_("fsp-a", "GET", BIDS).json()) == 10


def test_a_schema_error_in_a_document_names_the_bid(api: Api) -> None:
    market(api)
    bad = bid_body("b1")
    bad["quantities"][0]["quantity"] = "lots"
    r = api.as_("fsp-a", "POST", DOCUMENTS, json={"bids": [bid_body("b0"), bad]})
    assert r.status_code == 422
    assert _fields(r) == [("Bid", "b1", "quantities[0].quantity")]
    assert api.as_("fsp-a", "GET", BIDS).json() == []


def test_a_document_holds_at_most_4000_bids(api: Api) -> None:
    market(api)
    r = api.as_("fsp-a", "POST", DOCUMENTS, json={"bids": [bid_body("b")] * 4001})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "bids"
    r = api.as_("fsp-a", "POST", DOCUMENTS, json={"bids": [bid_body("b"), bid_body("b", k=3)]})
    assert r.status_code == 422
    assert _fields(r) == [("Bid", "b", "id")]


def test_an_idempotency_key_replays_the_answer_and_refuses_another_body(
    api: Api, engine: Engine
) -> None:
    market(api)
    key = {"Idempotency-Key": "doc-1"}
    body = {"bids": [bid_body(f"b{n}", k=n) for n in range(5)]}
    first = api.as_("fsp-a", "POST", DOCUMENTS, json=body, headers=key)
    assert first.status_code == 201
    again = api.as_("fsp-a", "POST", DOCUMENTS, json=body, headers=key)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    other = api.as_("fsp-a", "POST", DOCUMENTS, json={"bids": body["bids"][:4]}, headers=key)
    assert other.status_code == 422
    assert _fields(other) == [("header", "Idempotency-Key", "value")]
    assert len(api.as_("fsp-a", "GET", BIDS).json()) == 5
    single = {"Idempotency-Key": "bid-9"}
    r1 = api.as_("fsp-a", "POST", BIDS, json=bid_body("b9", k=9), headers=single)
    r2 = api.as_("fsp-a", "POST", BIDS, json=bid_body("b9", k=9), headers=single)
    assert (r1.status_code, r2.status_code) == (201, 201)
    assert r2.json() == r1.json()
    with Session(engine) as session:
        replayed = session.scalar(select(func.count()).where(AuditEventRow.outcome == "replayed"))
    assert replayed == 2
    withdraw = {"Idempotency-Key": "withdraw-1"}
    assert api.as_("fsp-a", "DELETE", f"{BIDS}/b1", headers=withdraw).status_code == 200
    r = api.as_("fsp-a", "DELETE", f"{BIDS}/b2", headers=withdraw)
    assert r.status_code == 422, "the same key on another bid is another request"
    assert api.as_("fsp-a", "GET", f"{BIDS}/b2").json()["status"] == "submitted"


def test_another_fsps_bid_does_not_exist_and_operators_see_as_documented(api: Api) -> None:
    market(api)
    assert api.as_("fsp-a", "POST", BIDS, json=bid_body("b1")).status_code == 201
    assert api.as_("fsp-b", "POST", BIDS, json=bid_body("b2", resource="ub")).status_code == 201
    mine = api.as_("fsp-a", "GET", f"{BIDS}/b1")
    assert mine.status_code == 200
    assert mine.json()["owner_id"] == "fsp-a"
    for method, json in (("GET", None), ("PUT", bid_body("b1", resource="ub")), ("DELETE", None)):
        r = api.as_("fsp-b", method, f"{BIDS}/b1", json=json)
        missing = api.as_("fsp-b", method, f"{BIDS}/zz", json=json and {**json, "id": "zz"})
        assert r.status_code == missing.status_code == 404, (method, r.text)
        assert r.json()["detail"].replace("b1", "zz") == missing.json()["detail"]
    assert [b["id"] for b in api.as_("fsp-b", "GET", BIDS).json()] == ["b2"]
    everyone = api.as_("mo", "GET", BIDS).json()
    assert [(b["owner_id"], b["id"]) for b in everyone] == [("fsp-a", "b1"), ("fsp-b", "b2")]
    only_b = api.as_("mo", "GET", BIDS, params={"owner_id": "fsp-b"}).json()
    assert [b["id"] for b in only_b] == ["b2"]
    assert api.as_("dso-a", "GET", BIDS).status_code == 403
    assert api.as_("fsp-a", "GET", f"{BIDS}/b1").json()["status"] == "submitted"


def test_replace_and_withdraw_until_closure_then_the_session_is_sealed(
    api: Api, clock: Clock
) -> None:
    market(api)
    assert api.as_("fsp-a", "POST", BIDS, json=bid_body("b1")).status_code == 201
    assert api.as_("fsp-a", "POST", BIDS, json=bid_body("b2")).status_code == 201
    clock.advance(timedelta(minutes=30))
    changed = bid_body("b1", activation_price_eur_per_mwh=80.0)
    r = api.as_("fsp-a", "PUT", f"{BIDS}/b1", json=changed)
    assert r.status_code == 200, r.text
    assert (r.json()["version"], r.json()["activation_price_eur_per_mwh"]) == (2, 80.0)
    r = api.as_("fsp-a", "PUT", f"{BIDS}/b1", json=bid_body("other"))
    assert r.status_code == 422
    assert _fields(r) == [("Bid", "other", "id")]
    bad = bid_body("b1", quantities=[{**changed["quantities"][0], "quantity": 0.01}])
    assert api.as_("fsp-a", "PUT", f"{BIDS}/b1", json=bad).status_code == 422
    assert api.as_("fsp-a", "DELETE", f"{BIDS}/b2").json()["status"] == "withdrawn"
    assert api.as_("fsp-a", "PUT", f"{BIDS}/b2", json=bid_body("b2")).status_code == 409
    clock.now = GATE_CLOSES
    assert api.as_("fsp-a", "GET", "/v1/sessions/s1").json()["state"] == "sealed"
    for method, json in (("PUT", bid_body("b1")), ("DELETE", None)):
        r = api.as_("fsp-a", method, f"{BIDS}/b1", json=json)
        assert r.status_code == 409, (method, r.text)
        assert _fields(r) == [("MarketSession", "s1", "gate_closes_at")]
    stored = api.as_("fsp-a", "GET", f"{BIDS}/b1").json()
    assert (stored["version"], stored["status"], stored["activation_price_eur_per_mwh"]) == (
        2,
        "submitted",
        80.0,
    )


def test_a_child_bid_may_name_a_stored_parent_of_its_fsp(api: Api) -> None:
    market(api)
    assert api.as_("fsp-a", "POST", BIDS, json=bid_body("parent")).status_code == 201
    child = bid_body("child", k=41, direction="down", parent_bid_id="parent")
    r = api.as_("fsp-a", "POST", BIDS, json=child)
    assert r.status_code == 201, r.text
    orphan = bid_body("orphan", parent_bid_id="nope")
    r = api.as_("fsp-a", "POST", BIDS, json=orphan)
    assert r.status_code == 422
    assert _fields(r) == [("Bid", "orphan", "parent_bid_id")]
    assert (
        api.as_(
            "fsp-b", "POST", BIDS, json=bid_body("c", resource="ub", parent_bid_id="parent")
        ).status_code
        == 422
    )


def test_a_resource_with_submitted_bids_cannot_be_deleted(api: Api) -> None:
    market(api)
    assert api.as_("fsp-a", "POST", BIDS, json=bid_body("b1")).status_code == 201
    r = api.as_("fsp-a", "DELETE", "/v1/units/u1")
    assert r.status_code == 409
    assert _fields(r) == [("Unit", "u1", "id")]
    assert api.as_("fsp-a", "DELETE", f"{BIDS}/b1").status_code == 200
    assert api.as_("fsp-a", "DELETE", "/v1/units/u1").status_code == 204


def test_a_retry_landing_after_closure_while_its_first_attempt_is_in_flight_gets_its_answer(
    api: Api, clock: Clock, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first attempt took the write just before closure and is slow to commit; its client
    gave up and retried, and the retry arrives after closure. The retry waits for the first
    attempt (its key's lock) and answers its acknowledgement, not "gate closed" for a bid that
    is stored (found by the gate-closure rush under load, T1)."""
    market(api)
    entered, release = threading.Event(), threading.Event()
    submit = bid_store.submit_bids

    def slow_first(*args: Any, **kwargs: Any) -> Any:
        if not entered.is_set():
            entered.set()
            assert release.wait(10)
        return submit(*args, **kwargs)

    monkeypatch.setattr(bid_store, "submit_bids", slow_first)
    key, body = {"Idempotency-Key": "rush-1"}, bid_body("b1")
    answers: dict[str, Any] = {}

    def send(name: str) -> None:
        answers[name] = api.as_("fsp-a", "POST", BIDS, json=body, headers=key)

    clock.now = GATE_CLOSES - MICROSECOND
    first = threading.Thread(target=send, args=("first",))
    first.start()
    assert entered.wait(10)
    clock.now = GATE_CLOSES + timedelta(seconds=1)
    retry = threading.Thread(target=send, args=("retry",))
    retry.start()
    retry.join(0.5)
    assert retry.is_alive(), "the retry must wait for the attempt in flight"
    release.set()
    first.join(10)
    retry.join(10)
    assert answers["first"].status_code == 201, answers["first"].text
    assert answers["retry"].status_code == 201, answers["retry"].text
    assert answers["retry"].content == answers["first"].content
    assert answers["retry"].headers["Idempotent-Replayed"] == "true"
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(BidRow)) == 1
    late = api.as_("fsp-a", "POST", BIDS, json=bid_body("b2"), headers={"Idempotency-Key": "r2"})
    assert _fields(late) == [("MarketSession", "s1", "gate_closes_at")]
