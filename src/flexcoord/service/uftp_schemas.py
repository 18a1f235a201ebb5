"""Bodies of the UFTP operations routes: flexcoord's published keys, the participants' key
table (administrator) and the UFTP outbox (operators' view)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from flexcoord.service.tables import UftpKeyRow, UftpOutboxRow
from flexcoord.service.uftp_delivery import DeliveryStatus
from flexcoord.service.uftp_keys import key_sha256

__all__ = [
    "PublishedKeyOut",
    "PublishedKeysOut",
    "UftpKeyIn",
    "UftpKeyOut",
    "UftpOutboxOut",
    "UftpOwnKeyIn",
    "UftpParticipantOut",
    "key_out",
    "outbox_out",
    "published_key_out",
]

_AT = "2026-06-01T08:00:00.000000Z"
_KEY = "Ht3wVdQ5k7mJ4f1gYbq2oZx8cR6sN0aPuL9eWiKjT3E="


def _config(example: dict[str, Any]) -> ConfigDict:
    return ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [example]})


class PublishedKeyOut(BaseModel):
    """One of flexcoord's public signing keys: ``current`` is the one it signs with now; a
    rotated one is announced until ``valid_until``."""

    model_config = _config(
        {
            "public_key": _KEY,
            "key_sha256": key_sha256(_KEY),
            "current": True,
            "valid_from": _AT,
            "valid_until": None,
        }
    )
    public_key: str
    key_sha256: str
    current: bool
    valid_from: datetime
    valid_until: datetime | None


class PublishedKeysOut(BaseModel):
    """flexcoord's UFTP identity and the public keys that verify its messages now (the current
    one first). flexcoord signs in every role (DSO, AGR, CRO) with the same key."""

    model_config = _config(
        {
            "domain": "flexcoord.example.org",
            "roles": ["AGR", "CRO", "DSO"],
            "keys": [PublishedKeyOut.model_config["json_schema_extra"]["examples"][0]],  # type: ignore[index]
        }
    )
    domain: str
    roles: list[str]
    keys: list[PublishedKeyOut]


def published_key_out(row: UftpKeyRow) -> PublishedKeyOut:
    """The published view of one of flexcoord's key rows."""
    return PublishedKeyOut(
        public_key=row.public_key,
        key_sha256=key_sha256(row.public_key),
        current=row.valid_until is None,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
    )


class UftpKeyIn(BaseModel):
    """A participant's new public key (administrator): it becomes the current key; the keys
    valid until now stay valid until ``previous_valid_until`` (a rotation with overlap) or, if
    it is left out, are retired at once (a replacement). ``role`` names which of the party's
    UFTP roles, needed only when it has several."""

    model_config = _config(
        {"public_key": _KEY, "role": "AGR", "previous_valid_until": "2026-06-02T08:00:00Z"}
    )
    public_key: Annotated[str, Field(min_length=1, max_length=200)]
    role: Literal["DSO", "AGR", "CRO"] | None = None
    previous_valid_until: AwareDatetime | None = None


class UftpOwnKeyIn(BaseModel):
    """Rotate flexcoord's own signing key to the one now in its ``private_key_file``
    (administrator): the keys it signed with until now stay published until
    ``previous_valid_until`` (a rotation with overlap, so messages in flight and participants
    still holding the old key verify) or, if it is left out, are retired at once (a
    compromised key)."""

    model_config = _config({"previous_valid_until": "2026-06-02T08:00:00Z"})
    previous_valid_until: AwareDatetime | None = None


class UftpKeyOut(BaseModel):
    """One key of a participant: ``valid_now`` while it verifies messages, ``current`` the
    one without an end; ``source`` who manages it (``config``: the configuration file at each
    start; ``admin``: the admin API)."""

    model_config = _config(
        {
            "public_key": _KEY,
            "key_sha256": key_sha256(_KEY),
            "current": True,
            "valid_now": True,
            "valid_from": _AT,
            "valid_until": None,
            "source": "admin",
        }
    )
    public_key: str
    key_sha256: str
    current: bool
    valid_now: bool
    valid_from: datetime
    valid_until: datetime | None
    source: Literal["config", "admin"]


class UftpParticipantOut(BaseModel):
    """A UFTP participant of the configuration and every key of it in the key table, the
    newest first (retired ones too)."""

    model_config = _config(
        {
            "party_id": "fsp-a",
            "domain": "agr.example.org",
            "role": "AGR",
            "endpoint": "https://agr.example.org/shapeshifter/api/v3/message",
            "keys": [UftpKeyOut.model_config["json_schema_extra"]["examples"][0]],  # type: ignore[index]
        }
    )
    party_id: str
    domain: str
    role: str
    endpoint: str | None
    keys: list[UftpKeyOut]


def key_out(row: UftpKeyRow, now: datetime) -> UftpKeyOut:
    """The admin view of a participant's key row at ``now``."""
    return UftpKeyOut(
        public_key=row.public_key,
        key_sha256=key_sha256(row.public_key),
        current=row.valid_until is None,
        valid_now=row.valid_from <= now and (row.valid_until is None or row.valid_until > now),
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        source="admin" if row.source == "admin" else "config",
    )


#: The states in which the delivery thread still acts on a message at ``next_attempt_at``.
_WAITING = frozenset({DeliveryStatus.PENDING, DeliveryStatus.SENT})


class UftpOutboxOut(BaseModel):
    """A UFTP message flexcoord delivers (operators' view, without the XML): ``pending`` (to
    send at ``next_attempt_at``) → ``sent`` (HTTP 200; re-sent at ``next_attempt_at`` if
    unanswered) → ``accepted`` / ``rejected`` (the recipient's signed response), or ``failed``
    (last attempt undelivered) / ``expired`` (delivered, never answered) / ``cancelled`` (by an
    operator, before it was sent). ``next_attempt_at``
    is ``null`` once nothing more will be sent; ``last_error`` is the latest transport
    failure (``null`` after a delivered attempt)."""

    model_config = _config(
        {
            "message_id": "0b5f3c1e-8d2a-4f6b-9c7e-1a2b3c4d5e6f",
            "message_type": "FlexOrder",
            "subject_id": "session:s1",
            "recipient_party_id": "fsp-a",
            "recipient_domain": "agr.example.org",
            "recipient_role": "AGR",
            "status": "pending",
            "attempts": 2,
            "next_attempt_at": "2026-06-01T08:01:30.000000Z",
            "created_at": _AT,
            "sent_at": None,
            "answered_at": None,
            "last_error": "ConnectionError: connection refused",
            "rejection_reason": None,
            "replaces_message_id": None,
        }
    )
    message_id: str
    message_type: str
    subject_id: str
    recipient_party_id: str
    recipient_domain: str
    recipient_role: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    created_at: datetime
    sent_at: datetime | None
    answered_at: datetime | None
    last_error: str | None
    rejection_reason: str | None
    replaces_message_id: str | None = Field(
        description="The rejected message an operator re-sent as this new one."
    )


def outbox_out(row: UftpOutboxRow) -> UftpOutboxOut:
    """The operators' view of a UFTP outbox row."""
    status = DeliveryStatus(row.status)
    return UftpOutboxOut(
        message_id=row.message_id,
        message_type=row.message_type,
        subject_id=row.subject_id,
        recipient_party_id=row.party_id,
        recipient_domain=row.recipient_domain,
        recipient_role=row.recipient_role,
        status=status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at if status in _WAITING else None,
        created_at=row.created_at,
        sent_at=row.sent_at,
        answered_at=row.answered_at,
        last_error=row.last_error,
        rejection_reason=row.rejection_reason,
        replaces_message_id=row.replaces_message_id,
    )
