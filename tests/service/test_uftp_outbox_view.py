"""The operators' view of the UFTP outbox: every message flexcoord delivers with its status,
attempts, next attempt and last error; filtered by status, recipient and type; paged; for the
administrator and the market operator only."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from shapeshifter_uftp.uftp import TestMessage
from sqlalchemy.orm import Session

from flexcoord.service.tables import UftpOutboxRow
from flexcoord.service.uftp_config import load_uftp_config
from flexcoord.service.uftp_delivery import UftpDelivery
from flexcoord.standards import uftp
from tests.service.conftest import START, Api, Clock
from tests.service.test_uftp_config import _config
from tests.service.test_uftp_day import AGR, DSO, FLEX, _meta

OUTBOX = "/v1/uftp/outbox"
AGR_B = "agr-b.example"


def _row(message_id: str, party_id: str, domain: str, status: str, **extra: Any) -> UftpOutboxRow:
    message = TestMessage(**{**_meta(FLEX), "recipient_domain": domain, "message_id": message_id})
    fields: dict[str, Any] = {
        "message_type": "FlexOrder",
        "subject_id": "session:s1",
        "attempts": 0,
        "next_attempt_at": START,
        "created_at": START,
        **extra,
    }
    return UftpOutboxRow(
        message_id=message_id,
        party_id=party_id,
        recipient_domain=domain,
        recipient_role="AGR",
        payload=uftp.to_xml(message).decode(),
        status=status,
        **fields,
    )


def test_operators_see_every_message_where_it_is_and_filter_and_page(
    api: Api, tmp_path: Path, clock: Clock
) -> None:
    for party, role in (("fsp-a", "fsp"), ("fsp-b", "fsp"), ("mo", "market_operator")):
        api.party(party, role)
    api.party("dso-a", "dso")
    engine = api.app.state.services.engine
    later = START + timedelta(minutes=20)
    with Session(engine) as s, s.begin():
        s.add(_row("m1", "fsp-a", AGR, "pending"))
        s.add(_row("m2", "fsp-a", AGR, "accepted", attempts=1, sent_at=START, answered_at=later))
        s.add(
            _row(
                "m3",
                "fsp-b",
                AGR_B,
                "rejected",
                message_type="FlexSettlement",
                attempts=2,
                sent_at=START,
                answered_at=later,
                rejection_reason="Unknown Reference",
            )
        )
        s.add(_row("m4", "fsp-b", AGR_B, "expired", attempts=3, sent_at=START))
    # one real attempt of m1: the AGR's endpoint refuses the connection
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
    delivery = UftpDelivery(engine=engine, endpoint=endpoint, clock=clock, timeout_s=2)
    (attempt,) = delivery.run_once()
    assert attempt.message_id == "m1" and attempt.status is None

    everything = api.as_("mo", "GET", OUTBOX).json()
    assert [(m["message_id"], m["status"], m["attempts"]) for m in everything] == [
        ("m1", "pending", 1),
        ("m2", "accepted", 1),
        ("m3", "rejected", 2),
        ("m4", "expired", 3),
    ]
    pending = everything[0]
    assert pending["recipient_party_id"] == "fsp-a" and pending["recipient_domain"] == AGR
    assert pending["next_attempt_at"] == "2026-06-01T08:00:30Z"  # the first backoff, 30 s
    assert pending["last_error"].startswith("ConnectionError")
    assert [m["next_attempt_at"] for m in everything[1:]] == [None, None, None]  # final
    assert everything[2]["rejection_reason"] == "Unknown Reference"
    assert api.as_("admin", "GET", OUTBOX).json() == everything

    def ids(**query: Any) -> list[str]:
        r = api.as_("admin", "GET", OUTBOX, params=query)
        assert r.status_code == 200, r.text
        return [m["message_id"] for m in r.json()]

    assert ids(status="pending") == ["m1"]
    assert ids(status="sent") == []
    assert ids(recipient="fsp-b") == ["m3", "m4"]
    assert ids(recipient="fsp-b", status="expired") == ["m4"]
    assert ids(message_type="FlexSettlement") == ["m3"]
    assert ids(limit=2) == ["m1", "m2"]
    assert ids(limit=2, offset=2) == ["m3", "m4"]
    assert ids(offset=4) == []

    r = api.as_("admin", "GET", OUTBOX, params={"status": "queued"})
    assert r.status_code == 422
    assert [(e["object_id"], e["field"]) for e in r.json()["errors"]] == [("status", "value")]
    for party in ("fsp-a", "dso-a"):
        assert api.as_(party, "GET", OUTBOX).status_code == 403
    assert api.client.get(OUTBOX).status_code == 401
