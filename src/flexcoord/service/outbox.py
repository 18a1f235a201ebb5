"""The transactional outbox: messages to parties, written in the transaction of their change.

Code that changes state and must tell a party (market results, activation orders, statements)
calls :func:`enqueue` with the *same* session, before it commits: the message is committed
with the change or rolled back with it, never one without the other. The publisher
(:mod:`flexcoord.service.publisher`) sends accepted messages over MQTT afterwards.

Topics: ``flexcoord/v1/<party id>/<kind>`` (:func:`topic_of`), one per party and kind, so the
broker's ACL gives each party its own subtree and nothing else. The payload
(:func:`payload_of`) is JSON with ``message_id`` (a uuid4 hex, the consumer's de-duplication
key: delivery is at least once), ``kind``, ``subject_id``, ``party_id``, ``created_at`` (UTC
ISO 8601), ``ack_deadline`` (or ``null``) and ``body``; a re-send is the same bytes.

The lifecycle (:class:`MessageStatus`): ``accepted`` (in the outbox) → ``delivered`` (the
broker's PUBACK at QoS 1, :func:`mark_delivered`) → ``acknowledged`` (the party's ack,
:func:`acknowledge`), or ``failed`` when its ``ack_deadline`` passed unacknowledged
(:func:`expire_overdue`, which logs an ERROR line, alerts every market operator with an
``alerts`` message and writes an audit event). A message without a deadline is done once
delivered (an ack is still taken). The deadline is the server clock's, like a gate: an ack at
or after it is refused (409) even before the sweep has marked the message failed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from flexcoord.errors import InvalidInputError, Issue, NotFoundError
from flexcoord.service.audit import AuditRecord, Outcome, append_event
from flexcoord.service.logs import LOGGER_NAME
from flexcoord.service.problems import ServiceProblem
from flexcoord.service.roles import Role
from flexcoord.service.tables import OutboxRow, PartyRow

__all__ = [
    "DEADLINE_OPERATION",
    "TOPIC_ROOT",
    "MessageKind",
    "MessageStatus",
    "acknowledge",
    "acks_topic",
    "enqueue",
    "expire_overdue",
    "get_message",
    "list_messages",
    "mark_delivered",
    "payload_of",
    "pending",
    "topic_of",
]

_LOG = logging.getLogger(LOGGER_NAME)
#: Every flexcoord topic lies under this root (the version is the payload format's).
TOPIC_ROOT: Final = "flexcoord/v1"
#: The audit operation of a message that missed its acknowledgement deadline.
DEADLINE_OPERATION: Final = "message.deadline_missed"
#: The audit status of a missed deadline: no request was answered; the party did not answer in
#: time (504 Gateway Timeout says that of an upstream).
_DEADLINE_STATUS: Final = 504


class MessageKind(StrEnum):
    """What a message carries; each kind is a topic of its own."""

    RESULTS = "results"
    ACTIVATIONS = "activations"
    STATEMENTS = "statements"
    ALERTS = "alerts"


class MessageStatus(StrEnum):
    """Where a message is in its lifecycle."""

    ACCEPTED = "accepted"  # in the outbox, not yet confirmed by the broker
    DELIVERED = "delivered"  # the broker acknowledged it (PUBACK, QoS 1)
    ACKNOWLEDGED = "acknowledged"  # the party acknowledged it (API or MQTT)
    FAILED = "failed"  # its acknowledgement deadline passed without an ack


_OPEN: Final = (MessageStatus.ACCEPTED.value, MessageStatus.DELIVERED.value)


def topic_of(party_id: str, kind: MessageKind) -> str:
    """The topic of ``party_id``'s messages of ``kind``.

    Example:
        >>> topic_of("fsp-a", MessageKind.ACTIVATIONS)
        'flexcoord/v1/fsp-a/activations'
    """
    return f"{TOPIC_ROOT}/{party_id}/{kind.value}"


def acks_topic(party_id: str) -> str:
    """The topic on which ``party_id`` may publish acknowledgements (``{"message_id": ...}``).

    Example:
        >>> acks_topic("fsp-a")
        'flexcoord/v1/fsp-a/acks'
    """
    return f"{TOPIC_ROOT}/{party_id}/acks"


def _iso(at: datetime | None) -> str | None:
    if at is None:
        return None
    return at.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def payload_of(row: OutboxRow) -> bytes:
    """The MQTT payload of a message: canonical JSON (sorted keys), the same bytes on every send.

    Example:
        >>> row = OutboxRow(message_id="ab" * 16, party_id="fsp-a", kind="results",
        ...     subject_id="session:s1", body={"awarded_mw": 1.5},
        ...     created_at=datetime(2026, 6, 1, 8, tzinfo=UTC), ack_deadline=None)
        >>> json.loads(payload_of(row))["created_at"]
        '2026-06-01T08:00:00.000000Z'
    """
    data = {
        "message_id": row.message_id,
        "kind": row.kind,
        "subject_id": row.subject_id,
        "party_id": row.party_id,
        "created_at": _iso(row.created_at),
        "ack_deadline": _iso(row.ack_deadline),
        "body": row.body,
    }
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def enqueue(  # noqa: PLR0913 - the message's fields, as keywords
    session: Session,
    *,
    party_id: str,
    kind: MessageKind,
    subject_id: str,
    body: Mapping[str, Any],
    now: datetime,
    ack_within: timedelta | None,
) -> OutboxRow:
    """Put a message to ``party_id`` into the outbox, inside the caller's transaction.

    Not committed here: it commits with the caller's change, or not at all. Not flushed either
    (the session inserts the messages of a transaction together, in the order enqueued), so
    ``seq`` is set from the next flush on; ``message_id`` at once.

    Args:
        session: The session of the change the message reports.
        party_id: The recipient (a registered party).
        kind: What it carries (its topic).
        subject_id: What it is about (``session:s1``, ``activation:a7``), for the recipient.
        body: JSON-serialisable content.
        now: The server clock (``created_at``).
        ack_within: How long the party has to acknowledge it (``None``: no acknowledgement
            needed; the message is done once delivered).

    Raises:
        InvalidInputError: ``ack_within`` is not positive, or the body is not JSON.
    """
    issues = _enqueue_issues(subject_id, body, ack_within)
    if issues:
        raise InvalidInputError(issues)
    row = OutboxRow(
        message_id=uuid.uuid4().hex,
        party_id=party_id,
        kind=MessageKind(kind).value,
        subject_id=subject_id,
        body=dict(body),
        status=MessageStatus.ACCEPTED.value,
        created_at=now,
        ack_deadline=None if ack_within is None else now + ack_within,
    )
    session.add(row)  # inserted at the session's next flush, in the order enqueued
    return row


def _enqueue_issues(
    subject_id: str, body: Mapping[str, Any], ack_within: timedelta | None
) -> list[Issue]:
    def issue(field: str, value: object, message: str) -> Issue:
        return Issue(
            kind="Message", object_id=subject_id, field=field, value=value, message=message
        )

    issues = []
    if ack_within is not None and ack_within <= timedelta(0):
        issues.append(issue("ack_within", ack_within, "must be positive (or None: no ack)"))
    if not 1 <= len(subject_id) <= 200:
        issues.append(issue("subject_id", subject_id, "must have 1 to 200 characters"))
    try:
        json.dumps(body, allow_nan=False)
    except (TypeError, ValueError) as error:
        issues.append(issue("body", type(error).__name__, f"is not JSON: {error}"))
    return issues


def pending(session: Session, *, limit: int, skip: Sequence[str] = ()) -> list[OutboxRow]:
    """Accepted messages in creation order (at most ``limit``; not those in ``skip``)."""
    query = select(OutboxRow).where(OutboxRow.status == MessageStatus.ACCEPTED.value)
    if skip:
        query = query.where(OutboxRow.message_id.not_in(list(skip)))
    return list(session.scalars(query.order_by(OutboxRow.seq).limit(limit)))


def mark_delivered(session: Session, message_ids: Sequence[str], *, now: datetime) -> int:
    """Mark accepted messages delivered (the broker's PUBACK came); returns how many changed.

    A message acknowledged (read over the API) or failed meanwhile keeps its status.
    """
    if not message_ids:
        return 0
    result = session.execute(
        update(OutboxRow)
        .where(
            OutboxRow.message_id.in_(list(message_ids)),
            OutboxRow.status == MessageStatus.ACCEPTED.value,
        )
        .values(status=MessageStatus.DELIVERED.value, delivered_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def get_message(
    session: Session, party_id: str, message_id: str, *, for_update: bool = False
) -> OutboxRow:
    """One of ``party_id``'s messages.

    Raises:
        NotFoundError: none, or another party's (the same words either way).
    """
    query = select(OutboxRow).where(
        OutboxRow.message_id == message_id, OutboxRow.party_id == party_id
    )
    if for_update:
        query = query.with_for_update()
    row = session.scalars(query).one_or_none()
    if row is None:
        raise NotFoundError(f"Message {message_id!r} is not known")
    return row


def list_messages(  # noqa: PLR0913 - the party, two filters, paging
    session: Session,
    party_id: str,
    *,
    status: MessageStatus | None,
    kind: MessageKind | None,
    limit: int,
    offset: int,
) -> list[OutboxRow]:
    """``party_id``'s messages in creation order, optionally of one status and kind."""
    query = select(OutboxRow).where(OutboxRow.party_id == party_id)
    if status is not None:
        query = query.where(OutboxRow.status == status.value)
    if kind is not None:
        query = query.where(OutboxRow.kind == kind.value)
    return list(session.scalars(query.order_by(OutboxRow.seq).limit(limit).offset(offset)))


def _refused(row: OutboxRow, field: str, value: object, message: str) -> ServiceProblem:
    return ServiceProblem(
        409,
        f"Message {row.message_id!r} cannot be acknowledged: {field} {message}",
        [
            Issue(
                kind="Message", object_id=row.message_id, field=field, value=value, message=message
            )
        ],
    )


def acknowledge(session: Session, party_id: str, message_id: str, *, now: datetime) -> OutboxRow:
    """The party acknowledges one of its messages (not committed here).

    Idempotent: an acknowledged message stays so (its first ``acknowledged_at``). An accepted
    message may be acknowledged too (the party read it over the API before the broker had it;
    it is then not published).

    Raises:
        NotFoundError: no such message of ``party_id`` (another party's too).
        ServiceProblem: 409, the message failed or its deadline has passed.
    """
    row = get_message(session, party_id, message_id, for_update=True)
    if row.status == MessageStatus.ACKNOWLEDGED.value:
        return row
    if row.status == MessageStatus.FAILED.value:
        raise _refused(row, "status", row.status, "is failed: its deadline passed")
    if row.ack_deadline is not None and now >= row.ack_deadline:
        deadline = _iso(row.ack_deadline)
        raise _refused(row, "ack_deadline", deadline, f"passed at {deadline}")
    row.status = MessageStatus.ACKNOWLEDGED.value
    row.acknowledged_at = now
    session.flush()
    return row


def _alert_body(row: OutboxRow) -> dict[str, Any]:
    return {
        "reason": "not acknowledged by its deadline",
        "message_id": row.message_id,
        "party_id": row.party_id,
        "kind": row.kind,
        "subject_id": row.subject_id,
        "ack_deadline": _iso(row.ack_deadline),
    }


def _fail(session: Session, row: OutboxRow, operators: Sequence[str], now: datetime) -> None:
    row.status = MessageStatus.FAILED.value
    row.failed_at = now
    _LOG.error(
        "message not acknowledged by its deadline",
        extra={"message_id": row.message_id, "party_id": row.party_id},
    )
    for operator in operators:
        enqueue(
            session,
            party_id=operator,
            kind=MessageKind.ALERTS,
            subject_id=f"message:{row.message_id}",
            body=_alert_body(row),
            now=now,
            ack_within=None,
        )
    append_event(
        session,
        AuditRecord(
            at=now,
            party_id=row.party_id,
            credential_id=None,
            operation=DEADLINE_OPERATION,
            target=f"message:{row.message_id}",
            request_id=uuid.uuid4().hex,
            payload_sha256=hashlib.sha256(payload_of(row)).hexdigest(),
            outcome=Outcome.FAILED,
            status=_DEADLINE_STATUS,
        ),
    )


def expire_overdue(session: Session, *, now: datetime, limit: int = 1000) -> list[str]:
    """The deadline sweep: every open message whose ``ack_deadline`` is at or before ``now``
    becomes failed, with an ERROR log line, an ``alerts`` message to every market operator
    and an audit event each (not committed here). Returns the failed message ids."""
    overdue = list(
        session.scalars(
            select(OutboxRow)
            .where(
                OutboxRow.status.in_(_OPEN),
                OutboxRow.ack_deadline.is_not(None),
                OutboxRow.ack_deadline <= now,
            )
            .order_by(OutboxRow.seq)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if not overdue:
        return []
    operators = list(
        session.scalars(
            select(PartyRow.id)
            .where(PartyRow.role == Role.MARKET_OPERATOR.value)
            .order_by(PartyRow.id)
        )
    )
    for row in overdue:
        _fail(session, row, operators, now)
    session.flush()
    return [row.message_id for row in overdue]
