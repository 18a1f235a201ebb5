"""Messaging: the transactional outbox, MQTT publication through a real mosquitto (QoS 1,
per-party topics and ACLs, at-least-once with de-duplication by message id), and the
acknowledgement lifecycle (accepted → delivered → acknowledged, or failed with an alert).

The broker tests (marked ``mqtt``) use ``FLEXCOORD_TEST_MQTT_URL`` (``.ci/run`` starts one with
``scripts/mosquitto``), else start ``scripts/mosquitto`` themselves, or a broker of their own
configured from the test's database; without mosquitto they skip, or fail when CI is set.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from flexcoord.cli.app import app as cli
from flexcoord.errors import InvalidInputError
from flexcoord.service import ServiceSettings, create_app
from flexcoord.service.audit import verify_chain
from flexcoord.service.broker_config import (
    MqttTarget,
    acl_text,
    mosquitto_hash,
    parse_mqtt_url,
    passwords_text,
)
from flexcoord.service.logs import JsonFormatter
from flexcoord.service.outbox import (
    DEADLINE_OPERATION,
    MessageKind,
    MessageStatus,
    acks_topic,
    enqueue,
    payload_of,
    topic_of,
)
from flexcoord.service.publisher import Publisher
from flexcoord.service.tables import AuditEventRow, BrokerCredentialRow, OutboxRow
from tests.service.brokers import PrivateBroker, Subscriber, free_port, mosquitto_or_skip
from tests.service.conftest import Api, Clock

ROOT = Path(__file__).parents[2]


def _party(api: Api, role: str = "fsp") -> str:
    """A party with a fresh id (a shared broker sees other tests' topics too)."""
    party_id = f"{role[:3]}-{uuid.uuid4().hex[:10]}"
    api.party(party_id, role)
    return party_id


def _enqueue(
    engine: Engine,
    clock: Clock,
    party_id: str,
    *,
    kind: MessageKind = MessageKind.ACTIVATIONS,
    ack_within: timedelta | None = timedelta(minutes=5),
    body: dict[str, Any] | None = None,
) -> str:
    with Session(engine) as session:
        row = enqueue(
            session,
            party_id=party_id,
            kind=kind,
            subject_id="activation:a7",
            body=body or {"unit_id": "bess-1", "p_mw": 1.5},
            now=clock(),
            ack_within=ack_within,
        )
        session.commit()
        return row.message_id


def _row(engine: Engine, message_id: str) -> OutboxRow:
    with Session(engine) as session:
        return session.scalars(select(OutboxRow).where(OutboxRow.message_id == message_id)).one()


# --- the pure parts: no broker ---


def test_topics_are_per_party_and_kind() -> None:
    assert topic_of("fsp-a", MessageKind.RESULTS) == "flexcoord/v1/fsp-a/results"
    assert topic_of("dso-n", MessageKind.ALERTS) == "flexcoord/v1/dso-n/alerts"
    assert acks_topic("fsp-a") == "flexcoord/v1/fsp-a/acks"
    assert [k.value for k in MessageKind] == ["results", "activations", "statements", "alerts"]


def test_the_payload_carries_the_message_fields_and_is_the_same_bytes_each_time(
    api: Api, engine: Engine, clock: Clock
) -> None:
    fsp = _party(api)
    message_id = _enqueue(engine, clock, fsp, body={"p_mw": 1.5, "unit_id": "bess-1"})
    row = _row(engine, message_id)
    payload = json.loads(payload_of(row))
    assert payload == {
        "message_id": message_id,
        "kind": "activations",
        "subject_id": "activation:a7",
        "party_id": fsp,
        "created_at": "2026-06-01T08:00:00.000000Z",
        "ack_deadline": "2026-06-01T08:05:00.000000Z",
        "body": {"p_mw": 1.5, "unit_id": "bess-1"},
    }
    assert len(message_id) == 32 and uuid.UUID(hex=message_id).version == 4
    assert payload_of(_row(engine, message_id)) == payload_of(row)
    assert row.status == MessageStatus.ACCEPTED


def test_enqueue_refuses_a_bad_deadline_or_body_naming_the_field(
    api: Api, engine: Engine, clock: Clock
) -> None:
    fsp = _party(api)
    with Session(engine) as session, pytest.raises(InvalidInputError) as caught:
        enqueue(
            session,
            party_id=fsp,
            kind=MessageKind.RESULTS,
            subject_id="session:s1",
            body={"price": float("nan")},
            now=clock(),
            ack_within=timedelta(0),
        )
    assert {(i.kind, i.field) for i in caught.value.issues} == {
        ("Message", "ack_within"),
        ("Message", "body"),
    }


def test_the_acl_gives_each_party_its_own_subtree_and_the_service_everything() -> None:
    text = acl_text("flexcoord-service", ["fsp-a", "dso-n"])
    blocks = [b.splitlines() for b in text.split("\n\n")]
    assert blocks[0][1:] == ["user flexcoord-service", "topic readwrite flexcoord/v1/#"]
    assert blocks[1] == [
        "user fsp-a",
        "topic read flexcoord/v1/fsp-a/#",
        "topic write flexcoord/v1/fsp-a/acks",
    ]
    assert blocks[2][0] == "user dso-n"
    assert passwords_text([("fsp-a", "$7$h")]) == "fsp-a:$7$h\n"


def test_the_password_hash_is_mosquittos_pbkdf2_format() -> None:
    hashed = mosquitto_hash("secret")
    _, seven, rounds, salt, digest = hashed.split("$")
    assert (seven, rounds, len(base64.b64decode(salt))) == ("7", "101", 12)
    expected = hashlib.pbkdf2_hmac("sha512", b"secret", base64.b64decode(salt), 101, 64)
    assert base64.b64decode(digest) == expected
    assert mosquitto_hash("secret") != hashed  # a fresh salt each time


def test_a_malformed_mqtt_url_is_refused_naming_each_part() -> None:
    assert parse_mqtt_url("mqtts://svc:pw@broker.example").port == 8883
    with pytest.raises(InvalidInputError) as caught:
        parse_mqtt_url("http://broker.example")
    assert {i.field for i in caught.value.issues} == {"scheme", "user"}


# --- the API: the acknowledgement lifecycle (no broker needed) ---


def test_a_party_lists_reads_and_acknowledges_only_its_own_messages(
    api: Api, engine: Engine, clock: Clock
) -> None:
    a, b = _party(api), _party(api)
    mine = _enqueue(engine, clock, a)
    _enqueue(engine, clock, a, kind=MessageKind.RESULTS, ack_within=None)
    theirs = _enqueue(engine, clock, b)

    listed = api.as_(a, "GET", "/v1/messages").json()
    assert [m["party_id"] for m in listed] == [a, a]
    assert [m["kind"] for m in api.as_(a, "GET", "/v1/messages?kind=results").json()] == ["results"]
    assert len(api.as_(a, "GET", "/v1/messages?limit=1&offset=1").json()) == 1
    read = api.as_(a, "GET", f"/v1/messages/{mine}").json()
    assert (read["status"], read["topic"]) == ("accepted", topic_of(a, MessageKind.ACTIVATIONS))

    foreign = api.as_(a, "POST", f"/v1/messages/{theirs}/ack")
    unknown = api.as_(a, "POST", f"/v1/messages/{'0' * 32}/ack")
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json()["detail"].replace(theirs, "X") == unknown.json()["detail"].replace(
        "0" * 32, "X"
    )
    assert api.as_(a, "GET", f"/v1/messages/{theirs}").status_code == 404
    assert _row(engine, theirs).status == MessageStatus.ACCEPTED

    clock.advance(timedelta(minutes=1))
    first = api.as_(a, "POST", f"/v1/messages/{mine}/ack")
    clock.advance(timedelta(minutes=1))
    again = api.as_(a, "POST", f"/v1/messages/{mine}/ack")
    assert first.status_code == again.status_code == 200
    assert first.json()["status"] == again.json()["status"] == "acknowledged"
    assert again.json()["acknowledged_at"] == first.json()["acknowledged_at"]
    assert [m["message_id"] for m in api.as_(a, "GET", "/v1/messages?status=acknowledged").json()]
    assert [m["message_id"] for m in api.as_(b, "GET", "/v1/messages").json()] == [theirs]

    with Session(engine) as session:
        events = session.scalars(
            select(AuditEventRow).where(AuditEventRow.operation == "message.ack")
        ).all()
        assert [(e.party_id, e.outcome, e.status) for e in events] == [
            (a, "denied", 404),
            (a, "denied", 404),
            (a, "accepted", 200),
            (a, "accepted", 200),
        ]
        assert verify_chain(session).intact


def test_a_failed_or_overdue_message_cannot_be_acknowledged(
    api: Api, engine: Engine, clock: Clock
) -> None:
    fsp = _party(api)
    message_id = _enqueue(engine, clock, fsp, ack_within=timedelta(minutes=5))
    clock.advance(timedelta(minutes=5))  # the deadline instant itself is too late
    overdue = api.as_(fsp, "POST", f"/v1/messages/{message_id}/ack")
    assert overdue.status_code == 409, overdue.text
    assert overdue.json()["errors"][0]["field"] == "ack_deadline"
    publisher = Publisher(engine, target=parse_mqtt_url("mqtt://u:p@127.0.0.1:1"), clock=clock)
    assert publisher.sweep() == 1
    failed = api.as_(fsp, "POST", f"/v1/messages/{message_id}/ack")
    assert failed.status_code == 409
    assert failed.json()["errors"][0] == {
        "kind": "Message",
        "object_id": message_id,
        "field": "status",
        "value": "'failed'",
        "message": "is failed: its deadline passed",
    }
    assert _row(engine, message_id).status == MessageStatus.FAILED


def test_a_missed_deadline_fails_the_message_alerts_the_market_operators_and_is_audited(
    api: Api, engine: Engine, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    fsp, mo = _party(api), _party(api, "market_operator")
    late = _enqueue(engine, clock, fsp, ack_within=timedelta(minutes=5))
    answered = _enqueue(engine, clock, fsp, ack_within=timedelta(minutes=5))
    no_deadline = _enqueue(engine, clock, fsp, ack_within=None)
    assert api.as_(fsp, "POST", f"/v1/messages/{answered}/ack").status_code == 200
    publisher = Publisher(engine, target=parse_mqtt_url("mqtt://u:p@127.0.0.1:1"), clock=clock)
    clock.advance(timedelta(minutes=4, seconds=59))
    assert publisher.sweep() == 0
    clock.advance(timedelta(seconds=1))
    with caplog.at_level(logging.ERROR, logger="flexcoord.service"):
        assert publisher.sweep() == 1
    assert publisher.sweep() == 0  # once
    assert [_row(engine, m).status for m in (late, answered, no_deadline)] == [
        "failed",
        "acknowledged",
        "accepted",
    ]
    [record] = [r for r in caplog.records if r.getMessage().startswith("message not ack")]
    line = json.loads(JsonFormatter().format(record))
    assert (line["level"], line["message_id"], line["party_id"]) == ("error", late, fsp)
    alerts = api.as_(mo, "GET", "/v1/messages?kind=alerts").json()
    assert [a["body"]["message_id"] for a in alerts] == [late]
    assert alerts[0]["subject_id"] == f"message:{late}"
    assert alerts[0]["ack_deadline"] is None
    with Session(engine) as session:
        event = session.scalars(
            select(AuditEventRow).where(AuditEventRow.operation == DEADLINE_OPERATION)
        ).one()
        assert (event.target, event.party_id, event.outcome) == (f"message:{late}", fsp, "failed")
        assert verify_chain(session).intact


def test_broker_credentials_are_issued_by_the_administrator_once_and_stored_hashed(
    api: Api, engine: Engine
) -> None:
    fsp = _party(api)
    r = api.as_("admin", "POST", f"/v1/parties/{fsp}/broker-credentials")
    assert r.status_code == 201, r.text
    issued = r.json()
    assert (issued["username"], issued["read_topics"], issued["ack_topic"]) == (
        fsp,
        f"flexcoord/v1/{fsp}/#",
        f"flexcoord/v1/{fsp}/acks",
    )
    assert api.as_("admin", "POST", "/v1/parties/nobody/broker-credentials").status_code == 404
    api.party("fsp:b", "fsp")  # a valid party id, but not a mosquitto user name
    colon = api.as_("admin", "POST", "/v1/parties/fsp:b/broker-credentials")
    assert colon.status_code == 422
    assert (colon.json()["errors"][0]["object_id"], colon.json()["errors"][0]["field"]) == (
        "fsp:b",
        "id",
    )
    assert api.as_(fsp, "POST", f"/v1/parties/{fsp}/broker-credentials").status_code == 403
    with Session(engine) as session:
        stored = session.get(BrokerCredentialRow, fsp)
        assert stored is not None and issued["password"] not in stored.password_hash
        _, _, rounds, salt, digest = stored.password_hash.split("$")
        again = hashlib.pbkdf2_hmac(
            "sha512", issued["password"].encode(), base64.b64decode(salt), int(rounds), 64
        )
        assert base64.b64encode(again).decode() == digest


def test_broker_config_writes_the_three_files_from_the_party_table(
    api: Api, database_url: str, tmp_path: Path
) -> None:
    a, b = _party(api), _party(api)
    api.as_("admin", "POST", f"/v1/parties/{a}/broker-credentials")
    result = CliRunner().invoke(
        cli,
        [
            "service",
            "broker-config",
            "--out",
            str(tmp_path / "broker"),
            "--database-url",
            database_url,
            "--mqtt-url",
            "mqtt://flexcoord-service:pw@127.0.0.1:18999",
        ],
    )
    assert result.exit_code == 0, result.output
    folder = tmp_path / "broker"
    conf = (folder / "mosquitto.conf").read_text()
    assert "listener 18999 127.0.0.1" in conf and "allow_anonymous false" in conf
    users = [line.split(":")[0] for line in (folder / "passwords").read_text().splitlines()]
    assert users == ["flexcoord-service", a]  # b has no broker credentials
    assert f"user {a}" in (folder / "acl").read_text()
    assert b not in (folder / "acl").read_text()
    assert oct((folder / "passwords").stat().st_mode & 0o777) == "0o600"
    missing = CliRunner().invoke(
        cli, ["service", "broker-config", "--out", str(folder), "--database-url", database_url]
    )
    assert missing.exit_code == 2 and "--mqtt-url" in missing.output
    not_a_folder = tmp_path / "a-file"
    not_a_folder.write_text("x")
    refused = CliRunner().invoke(
        cli,
        [
            *("service", "broker-config", "--out", str(not_a_folder)),
            *("--database-url", database_url),
            *("--mqtt-url", "mqtt://flexcoord-service:pw@127.0.0.1:18999"),
        ],
    )
    assert refused.exit_code == 2 and "is not a folder" in refused.output
    assert not_a_folder.read_text() == "x"


# --- through a real mosquitto ---


@pytest.fixture(scope="session")
def broker_url() -> Iterator[str]:
    """The shared test broker: $FLEXCOORD_TEST_MQTT_URL, else one of scripts/mosquitto."""
    given = os.environ.get("FLEXCOORD_TEST_MQTT_URL")
    if given:
        yield given
        return
    mosquitto_or_skip()
    folder = f"/tmp/flexcoord-mosquitto-pytest-{os.getpid()}"
    env = {**os.environ, "FLEXCOORD_MQTT_DIR": folder, "MQTT_PORT": str(free_port())}
    script = ROOT / "scripts" / "mosquitto"
    url = subprocess.run(
        ["bash", str(script), "start"], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    yield url
    subprocess.run(["bash", str(script), "stop"], env=env, check=False)


@pytest.fixture
def private_broker(tmp_path: Path, engine: Engine) -> Iterator[PrivateBroker]:
    broker = PrivateBroker.configured(mosquitto_or_skip(), tmp_path / "broker", engine)
    broker.start()
    yield broker
    broker.stop()


def _service(target: MqttTarget, topic_filter: str) -> Subscriber:
    """An observer with the service's user (it may read every flexcoord topic)."""
    return Subscriber(target, target.username, target.password, topic_filter)


@pytest.fixture
def publishers(engine: Engine, clock: Clock) -> Iterator[list[Publisher]]:
    made: list[Publisher] = []
    yield made
    for publisher in made:
        publisher.close()


def _publisher(
    made: list[Publisher], engine: Engine, clock: Clock, target: MqttTarget
) -> Publisher:
    publisher = Publisher(engine, target=target, clock=clock)
    made.append(publisher)
    assert publisher.connect(timeout_s=10), "the publisher could not connect"
    return publisher


@pytest.mark.mqtt
def test_the_outbox_row_commits_only_with_its_transaction(
    api: Api, engine: Engine, clock: Clock, broker_url: str, publishers: list[Publisher]
) -> None:
    target = parse_mqtt_url(broker_url)
    fsp = _party(api)
    publisher = _publisher(publishers, engine, clock, target)
    with _service(target, f"flexcoord/v1/{fsp}/#") as observer:
        with Session(engine) as session:
            dropped = enqueue(
                session,
                party_id=fsp,
                kind=MessageKind.RESULTS,
                subject_id="session:s1",
                body={"awarded_mw": 2.0},
                now=clock(),
                ack_within=None,
            ).message_id
            session.flush()  # written inside the transaction ...
            session.rollback()  # ... but the change failed: its message goes with it
        assert publisher.drain(timeout_s=5).published == 0
        kept = _enqueue(engine, clock, fsp, kind=MessageKind.RESULTS, ack_within=None)
        assert publisher.drain(timeout_s=10).delivered == 1
        assert observer.wait_for(kept)
        time.sleep(0.3)
        assert dropped not in observer.ids()
    with Session(engine) as session:
        assert session.scalars(select(OutboxRow.message_id)).all() == [kept]
    assert _row(engine, kept).status == MessageStatus.DELIVERED  # no deadline: done


@pytest.mark.mqtt
def test_a_party_receives_its_own_messages_at_qos_1_and_no_other_partys(
    api: Api,
    engine: Engine,
    clock: Clock,
    private_broker: PrivateBroker,
    publishers: list[Publisher],
) -> None:
    a, b = _party(api), _party(api)
    passwords = {
        p: api.as_("admin", "POST", f"/v1/parties/{p}/broker-credentials").json()["password"]
        for p in (a, b)
    }
    private_broker.reload(engine)  # the broker's files written again from the party table
    target = private_broker.target
    publisher = _publisher(publishers, engine, clock, target)
    with (
        Subscriber(target, a, passwords[a], f"flexcoord/v1/{a}/#") as own,
        Subscriber(target, b, passwords[b], f"flexcoord/v1/{a}/#") as spy,
        Subscriber(target, b, passwords[b], "flexcoord/v1/#") as b_all,
    ):
        message_id = _enqueue(engine, clock, a, body={"unit_id": "bess-1", "p_mw": 1.5})
        for_b = _enqueue(engine, clock, b, kind=MessageKind.RESULTS)
        assert publisher.drain(timeout_s=10).delivered == 2
        assert own.wait_for(message_id)
        got = own.received[0]
        assert (got.topic, got.qos) == (f"flexcoord/v1/{a}/activations", 1)
        assert got.payload["message_id"] == message_id
        assert got.payload["body"] == {"unit_id": "bess-1", "p_mw": 1.5}
        assert _row(engine, message_id).status == MessageStatus.DELIVERED

        spy.publish(acks_topic(a), {"message_id": message_id})  # a forged ack: the ACL drops it
        own.publish(acks_topic(b), {"message_id": message_id})
        assert b_all.wait_for(for_b)  # B is connected and gets its own messages ...
        time.sleep(0.5)
        assert spy.received == [] and b_all.ids() == [for_b]  # ... and nothing of A's
        assert own.ids() == [message_id]
        publisher.run_once()
        assert _row(engine, message_id).status == MessageStatus.DELIVERED

        own.publish(acks_topic(a), {"message_id": message_id})  # the recipient's own ack
        deadline = time.monotonic() + 5
        while _row(engine, message_id).status != "acknowledged" and time.monotonic() < deadline:
            publisher.run_once(wait_s=0.1)
            time.sleep(0.05)
        assert _row(engine, message_id).status == MessageStatus.ACKNOWLEDGED
    with Session(engine) as session:
        acks = session.scalars(
            select(AuditEventRow).where(AuditEventRow.operation == "message.ack")
        ).all()
        assert [(e.party_id, e.outcome) for e in acks] == [(a, "accepted")]


@pytest.mark.mqtt
def test_a_wrong_broker_password_is_refused(
    api: Api, engine: Engine, private_broker: PrivateBroker
) -> None:
    fsp = _party(api)
    api.as_("admin", "POST", f"/v1/parties/{fsp}/broker-credentials")
    private_broker.reload(engine)
    wrong = Subscriber(private_broker.target, fsp, "not-the-password", f"flexcoord/v1/{fsp}/#")
    with pytest.raises(ConnectionRefusedError, match=r"Not authorized|Bad user name"), wrong:
        pass


@pytest.mark.mqtt
def test_a_message_is_delivered_only_on_its_puback_and_survives_a_broker_outage(
    api: Api,
    engine: Engine,
    clock: Clock,
    private_broker: PrivateBroker,
    publishers: list[Publisher],
) -> None:
    fsp = _party(api)
    target = private_broker.target
    publisher = _publisher(publishers, engine, clock, target)

    private_broker.pause()  # connected but silent: the publish goes out, no PUBACK comes back
    silent = _enqueue(engine, clock, fsp)
    step = publisher.run_once(wait_s=1.0)
    assert (step.published, step.delivered, step.in_flight) == (1, 0, 1)
    assert _row(engine, silent).status == MessageStatus.ACCEPTED
    private_broker.resume()
    assert publisher.drain(timeout_s=10).delivered == 1
    assert _row(engine, silent).status == MessageStatus.DELIVERED

    private_broker.stop()  # the broker is down
    deadline = time.monotonic() + 5
    while publisher.connected and time.monotonic() < deadline:
        time.sleep(0.05)
    during = _enqueue(engine, clock, fsp)
    assert publisher.run_once(wait_s=0.5).published == 0
    assert _row(engine, during).status == MessageStatus.ACCEPTED
    private_broker.start()  # up again, same port and files
    assert publisher.wait_connected(40), "the publisher did not reconnect"
    with _service(target, f"flexcoord/v1/{fsp}/#") as observer:
        assert publisher.drain(timeout_s=10).delivered == 1
        assert observer.wait_for(during)
    assert _row(engine, during).status == MessageStatus.DELIVERED


@pytest.mark.mqtt
def test_a_publisher_crash_before_recording_the_puback_resends_with_the_same_message_id(
    api: Api, engine: Engine, clock: Clock, broker_url: str, publishers: list[Publisher]
) -> None:
    target = parse_mqtt_url(broker_url)
    fsp = _party(api)
    with _service(target, f"flexcoord/v1/{fsp}/#") as consumer:
        message_id = _enqueue(engine, clock, fsp)
        first = _publisher(publishers, engine, clock, target)
        assert first.publish_pending() == 1
        assert consumer.wait_for(message_id)
        first.close()  # dies before it records the delivery
        assert _row(engine, message_id).status == MessageStatus.ACCEPTED

        second = _publisher(publishers, engine, clock, target)
        assert second.drain(timeout_s=10).delivered == 1
        assert consumer.wait_for(message_id, count=2)
    assert consumer.ids().count(message_id) == 2  # at least once ...
    assert len(set(consumer.ids())) == 1  # ... and one message after de-duplication
    assert _row(engine, message_id).status == MessageStatus.DELIVERED


@pytest.mark.mqtt
def test_the_whole_lifecycle_with_the_alert_published_to_the_market_operator(
    api: Api, engine: Engine, clock: Clock, broker_url: str, publishers: list[Publisher]
) -> None:
    target = parse_mqtt_url(broker_url)
    fsp, mo = _party(api), _party(api, "market_operator")
    publisher = _publisher(publishers, engine, clock, target)
    with _service(target, f"flexcoord/v1/{mo}/alerts") as operator_feed:
        answered = _enqueue(engine, clock, fsp)
        ignored = _enqueue(engine, clock, fsp)
        publisher.drain(timeout_s=10)
        assert api.as_(fsp, "GET", f"/v1/messages/{answered}").json()["status"] == "delivered"
        assert api.as_(fsp, "POST", f"/v1/messages/{answered}/ack").json()["status"] == (
            "acknowledged"
        )
        clock.advance(timedelta(minutes=5))
        assert publisher.drain(timeout_s=10).failed == 1
        publisher.drain(timeout_s=10)  # publishes the alert enqueued by the sweep
        alerts = [r.payload for r in operator_feed.received]
        deadline = time.monotonic() + 5
        while not alerts and time.monotonic() < deadline:
            time.sleep(0.05)
            alerts = [r.payload for r in operator_feed.received]
    assert [a["body"]["message_id"] for a in alerts] == [ignored]
    assert [_row(engine, m).status for m in (answered, ignored)] == ["acknowledged", "failed"]


@pytest.mark.mqtt
def test_the_service_process_runs_the_publisher_when_a_broker_is_configured(
    database_url: str, engine: Engine, clock: Clock, broker_url: str, api: Api
) -> None:
    fsp = _party(api)
    message_id = _enqueue(engine, clock, fsp)
    app = create_app(ServiceSettings(database_url=database_url, mqtt_url=broker_url, clock=clock))
    with TestClient(app):
        deadline = time.monotonic() + 15
        while _row(engine, message_id).status == "accepted" and time.monotonic() < deadline:
            time.sleep(0.1)
    assert _row(engine, message_id).status == MessageStatus.DELIVERED
