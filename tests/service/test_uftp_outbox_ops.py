"""Operators act on the UFTP outbox: an expired or failed message is sent again as the same
message (same MessageID), a rejected one as a new message (new MessageID, naming the rejected
one); a pending message is cancelled and never sent. Administrator only; every call audited,
a refused one changes nothing."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from flexcoord.service import verify_chain
from flexcoord.service.tables import UftpOutboxRow
from flexcoord.service.uftp_config import load_uftp_config
from flexcoord.service.uftp_delivery import UftpDelivery
from flexcoord.service.uftp_endpoint import DeliveryPolicy
from flexcoord.standards import uftp
from tests.service.conftest import START, Api, Clock, audit_events
from tests.service.test_uftp_config import _config
from tests.service.test_uftp_day import AGR, DSO
from tests.service.test_uftp_delivery import Day, _agr, _serving
from tests.service.test_uftp_outbox_view import _row

OUTBOX = "/v1/uftp/outbox"


def _world(api: Api, tmp_path: Path, clock: Clock) -> UftpDelivery:
    """fsp-a (an AGR whose endpoint refuses connections) and four messages in the outbox."""
    for party, role in (("fsp-a", "fsp"), ("mo", "market_operator"), ("dso-a", "dso")):
        api.party(party, role)
    engine = api.app.state.services.engine
    with Session(engine) as s, s.begin():
        s.add(_row("m1", "fsp-a", AGR, "pending"))
        s.add(_row("m2", "fsp-a", AGR, "accepted", attempts=1, sent_at=START))
        s.add(_row("m3", "fsp-a", AGR, "rejected", attempts=1, rejection_reason="No"))
        s.add(_row("m4", "fsp-a", AGR, "expired", attempts=3, sent_at=START))
        s.add(_row("m5", "fsp-a", AGR, "failed", attempts=3, last_error="ConnectionError"))
    keys = {who: uftp.generate_keypair() for who in ("flexcoord", "dso", "agr")}
    participants = [
        {"party_id": "dso-a", "domain": DSO, "role": "DSO", "public_key": keys["dso"][1]},
        {
            "party_id": "fsp-a",
            "domain": AGR,
            "role": "AGR",
            "public_key": keys["agr"][1],
            "endpoint": "http://127.0.0.1:9/shapeshifter/api/v3/message",
        },
    ]
    endpoint = load_uftp_config(_config(tmp_path, keys, participants=participants))
    return UftpDelivery(engine=engine, endpoint=endpoint, clock=clock, timeout_s=2)


def _rows(api: Api) -> dict[str, UftpOutboxRow]:
    with Session(api.app.state.services.engine) as s:
        return {r.message_id: r for r in s.scalars(select(UftpOutboxRow))}


def _chain_intact(api: Api) -> bool:
    with Session(api.app.state.services.engine) as s:
        return verify_chain(s).intact


def _fields(r: Any) -> list[tuple[str, str]]:
    return [(e["object_id"], e["field"]) for e in r.json()["errors"]]


def test_a_pending_message_cancelled_is_never_sent(api: Api, tmp_path: Path, clock: Clock) -> None:
    delivery = _world(api, tmp_path, clock)
    r = api.as_("admin", "POST", f"{OUTBOX}/m1/cancel")
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["next_attempt_at"]) == ("cancelled", None)
    assert delivery.run_once() == []  # m1 was due: cancelled, it is not attempted
    assert _rows(api)["m1"].attempts == 0
    assert api.as_("mo", "GET", OUTBOX).json()[0]["status"] == "cancelled"  # mo sees it
    assert audit_events(api, "uftp_outbox.cancel") == [("uftp:m1", "accepted", 200)]

    before = {k: (r.status, r.attempts) for k, r in _rows(api).items()}
    for message in ("m1", "m2", "m3", "m4"):  # only a pending message can be cancelled
        r = api.as_("admin", "POST", f"{OUTBOX}/{message}/cancel")
        assert r.status_code == 409, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert _fields(r) == [(message, "status")]
    r = api.as_("admin", "POST", f"{OUTBOX}/nope/cancel")
    assert r.status_code == 404 and _fields(r) == [("nope", "message_id")]
    assert {k: (r.status, r.attempts) for k, r in _rows(api).items()} == before
    assert [(o, st) for _, o, st in audit_events(api, "uftp_outbox.cancel")] == [
        ("accepted", 200),
        *[("rejected", 409)] * 4,
        ("denied", 404),
    ]
    assert _chain_intact(api)


def test_expired_and_failed_go_again_as_the_same_message_rejected_as_a_new_one(
    api: Api, tmp_path: Path, clock: Clock
) -> None:
    delivery = _world(api, tmp_path, clock)
    payloads = {k: r.payload for k, r in _rows(api).items()}
    for message in ("m4", "m5"):
        r = api.as_("admin", "POST", f"{OUTBOX}/{message}/resend")
        assert r.status_code == 200, r.text
        out = r.json()
        assert (out["message_id"], out["status"], out["attempts"]) == (message, "pending", 0)
        assert out["next_attempt_at"] == "2026-06-01T08:00:00Z" and out["last_error"] is None
    r = api.as_("admin", "POST", f"{OUTBOX}/m3/resend")
    assert r.status_code == 200, r.text
    new = r.json()
    assert new["message_id"] not in payloads and new["replaces_message_id"] == "m3"
    assert (new["status"], new["attempts"], new["rejection_reason"]) == ("pending", 0, None)
    rows = _rows(api)
    assert rows["m3"].status == "rejected"  # the answered message stays as it was answered
    old, renewed = (
        uftp.parse_xml(p.encode()) for p in (payloads["m3"], rows[new["message_id"]].payload)
    )
    assert renewed.message_id == new["message_id"] != old.message_id
    assert renewed.conversation_id == old.conversation_id
    assert renewed.time_stamp != old.time_stamp
    assert [rows[m].payload for m in ("m4", "m5")] == [payloads["m4"], payloads["m5"]]

    # the delivery picks the three up with the pending m1 (the AGR is down: one attempt each)
    attempted = [a.message_id for a in delivery.run_once()]
    assert attempted == ["m1", "m4", "m5", new["message_id"]]  # in the outbox's order
    assert audit_events(api, "uftp_outbox.resend") == [
        ("uftp:m4", "accepted", 200),
        ("uftp:m5", "accepted", 200),
        ("uftp:m3", "accepted", 200),
    ]

    before = {k: (r.status, r.attempts) for k, r in _rows(api).items()}
    r = api.as_("admin", "POST", f"{OUTBOX}/m3/resend")  # re-sent once: the new one is the one
    assert r.status_code == 409 and _fields(r) == [("m3", "message_id")]
    assert new["message_id"] in r.json()["detail"]
    for message in ("m1", "m2"):  # pending (the delivery has it), accepted
        r = api.as_("admin", "POST", f"{OUTBOX}/{message}/resend")
        assert r.status_code == 409 and _fields(r) == [(message, "status")]
    r = api.as_("admin", "POST", f"{OUTBOX}/nope/resend")
    assert r.status_code == 404 and _fields(r) == [("nope", "message_id")]
    assert {k: (r.status, r.attempts) for k, r in _rows(api).items()} == before
    assert _chain_intact(api)


def test_only_the_administrator_acts_on_the_outbox(api: Api, tmp_path: Path, clock: Clock) -> None:
    _world(api, tmp_path, clock)
    for party in ("mo", "fsp-a", "dso-a"):
        for action in ("resend", "cancel"):
            r = api.as_(party, "POST", f"{OUTBOX}/m4/{action}")
            assert r.status_code == 403, (party, action, r.text)
    for action in ("resend", "cancel"):
        assert api.client.post(f"{OUTBOX}/m1/{action}").status_code == 401
    rows = _rows(api)
    assert (rows["m1"].status, rows["m4"].status) == ("pending", "expired")


@pytest.mark.slow
def test_a_real_agr_takes_the_re_sent_messages_rejected_then_expired(
    api: Api, engine: Engine, clock: Clock
) -> None:
    """Over HTTP, with an AGR built from shapeshifter-uftp: the FlexOrder it rejected is re-sent
    as a new FlexOrder (new MessageID, same conversation and order) and accepted; then one it
    never answered expires and is re-sent under its own MessageID, and answered."""
    policy = DeliveryPolicy(answer_deadline=timedelta(minutes=5), max_attempts=1)
    day = Day(api, engine, clock, policy)
    verdicts = iter(["Requested ISPs unknown", None, None])
    with (
        _serving(api.app, day.flexcoord_port),
        _agr(day.keys, day.agr_port, day.flexcoord_url, lambda _: next(verdicts)) as agr,
    ):
        day.delivery.run_once()
        (rejected,) = day.wait_for("rejected")
        r = api.as_("admin", "POST", f"{OUTBOX}/{rejected.message_id}/resend")
        assert r.status_code == 200, r.text
        (attempt,) = day.delivery.run_once()
        assert attempt.message_id == r.json()["message_id"] and attempt.status == 200
        rows = day.wait_for("accepted")
        assert [(x.status, x.replaces_message_id) for x in rows] == [
            ("rejected", None),
            ("accepted", rejected.message_id),
        ]
        first, second = agr.received
        assert second.message_id == rows[1].message_id != first.message_id
        assert second.conversation_id == first.conversation_id
        assert second.order_reference == first.order_reference
        assert second.isps == first.isps

        # the accepted order again, unanswered this time: expired after its one attempt
        with Session(engine) as s, s.begin():
            s.get(UftpOutboxRow, rows[1].seq).status = "expired"  # type: ignore[union-attr]
        agr.silent = 1
        r = api.as_("admin", "POST", f"{OUTBOX}/{rows[1].message_id}/resend")
        assert r.json()["message_id"] == rows[1].message_id
        day.delivery.run_once()
        clock.advance(policy.answer_deadline)
        assert day.delivery.run_once() == []  # no attempt left: expired again
        assert day.rows()[1].status == "expired"
        api.as_("admin", "POST", f"{OUTBOX}/{rows[1].message_id}/resend")
        day.delivery.run_once()
        rows = day.wait_for("accepted")
        assert [m.message_id for m in agr.received[2:]] == [rows[1].message_id] * 2
    assert day.audit("uftp_outbox.resend") == [("uftp_outbox.resend", "accepted", 200)] * 3
    assert day.audit("uftp.expire.") == [("uftp.expire.FlexOrder", "failed", 504)]
    with Session(engine) as s:
        assert verify_chain(s).intact
