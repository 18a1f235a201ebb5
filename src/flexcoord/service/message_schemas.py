"""Bodies of the messaging endpoints: a party's messages, and its broker credentials."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from flexcoord.service.outbox import (
    TOPIC_ROOT,
    MessageKind,
    MessageStatus,
    acks_topic,
    topic_of,
)
from flexcoord.service.tables import OutboxRow

__all__ = ["BrokerCredentialIssued", "MessageOut", "message_out"]

_AT = "2026-06-01T08:00:00.000000Z"


def _config(example: dict[str, Any]) -> ConfigDict:
    return ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [example]})


class MessageOut(BaseModel):
    """A message to the calling party, as published on ``topic`` (the payload's fields), with
    where it is in its lifecycle (``accepted`` → ``delivered`` → ``acknowledged``, or
    ``failed`` when ``ack_deadline`` passed unacknowledged)."""

    model_config = _config(
        {
            "message_id": "6f1d0c3a9b2e4d7f8a1b2c3d4e5f6a7b",
            "party_id": "fsp-a",
            "kind": "activations",
            "subject_id": "activation:a7",
            "topic": "flexcoord/v1/fsp-a/activations",
            "status": "delivered",
            "created_at": _AT,
            "ack_deadline": "2026-06-01T08:05:00.000000Z",
            "delivered_at": "2026-06-01T08:00:00.250000Z",
            "acknowledged_at": None,
            "failed_at": None,
            "body": {"unit_id": "bess-1", "p_mw": 1.5},
        }
    )
    message_id: str
    party_id: str
    kind: MessageKind
    subject_id: str
    topic: str
    status: MessageStatus
    created_at: datetime
    ack_deadline: datetime | None
    delivered_at: datetime | None
    acknowledged_at: datetime | None
    failed_at: datetime | None
    body: dict[str, Any]


def message_out(row: OutboxRow) -> MessageOut:
    """The API view of an outbox row."""
    kind = MessageKind(row.kind)
    return MessageOut(
        message_id=row.message_id,
        party_id=row.party_id,
        kind=kind,
        subject_id=row.subject_id,
        topic=topic_of(row.party_id, kind),
        status=MessageStatus(row.status),
        created_at=row.created_at,
        ack_deadline=row.ack_deadline,
        delivered_at=row.delivered_at,
        acknowledged_at=row.acknowledged_at,
        failed_at=row.failed_at,
        body=row.body,
    )


class BrokerCredentialIssued(BaseModel):
    """A party's MQTT broker password: shown this once (only mosquitto's hash of it is kept).
    The user name is the party id; it may subscribe to ``read_topics`` and publish
    acknowledgements (``{"message_id": ...}``) to ``ack_topic``."""

    model_config = _config(
        {
            "party_id": "fsp-a",
            "username": "fsp-a",
            "password": "Qx" * 21 + "Q",
            "read_topics": "flexcoord/v1/fsp-a/#",
            "ack_topic": "flexcoord/v1/fsp-a/acks",
            "created_at": _AT,
        }
    )
    party_id: str
    username: str
    password: str
    read_topics: str
    ack_topic: str
    created_at: datetime

    @classmethod
    def of(cls, party_id: str, password: str, created_at: datetime) -> BrokerCredentialIssued:
        """The answer for ``party_id``'s new ``password``."""
        return cls(
            party_id=party_id,
            username=party_id,
            password=password,
            read_topics=f"{TOPIC_ROOT}/{party_id}/#",
            ack_topic=acks_topic(party_id),
            created_at=created_at,
        )
